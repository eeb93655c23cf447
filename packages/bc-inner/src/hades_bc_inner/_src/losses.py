"""Per-example supervised losses; the caller (e.g. `fit`) vmaps over the batch."""

from collections.abc import Callable

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax

from hades_bc_inner._src.networks import canonical_policy_kind

LossFn = Callable[[chex.ArrayTree, chex.ArrayTree], jax.Array]

_HALF_LOG_2PI = 0.5 * float(np.log(2.0 * np.pi))


def cross_entropy(logits: jax.Array, label: jax.Array) -> jax.Array:
    """Softmax cross-entropy of logits (num_classes,) against an integer label ()."""
    chex.assert_rank([logits, label], [1, 0])
    return optax.softmax_cross_entropy_with_integer_labels(logits, label)


def gaussian_nll(mean: jax.Array, log_std: jax.Array, action: jax.Array) -> jax.Array:
    """Negative log-likelihood of `action` under N(mean, exp(log_std)^2), summed over dims."""
    chex.assert_equal_shape([mean, log_std, action])
    z = (action - mean) * jnp.exp(-log_std)
    return jnp.sum(0.5 * jnp.square(z) + log_std + _HALF_LOG_2PI)


def _gaussian_policy_nll(output: tuple[jax.Array, jax.Array], action: jax.Array) -> jax.Array:
    mean, log_std = output
    return gaussian_nll(mean, log_std, action)


def make_policy_loss(kind: str) -> LossFn:
    """`fit` loss_fn(output, target) for a policy of `kind` (as in `make_policy`).

    categorical: `cross_entropy(logits, label)`; gaussian: `gaussian_nll(*output, action)`.
    """
    if canonical_policy_kind(kind) == "categorical":
        return cross_entropy
    return _gaussian_policy_nll
