"""Action selection for ONE observation's policy output."""

import chex
import jax
import jax.numpy as jnp


def categorical_action(logits: jax.Array, key: jax.Array | None, greedy: bool) -> jax.Array:
    """argmax of logits (num_actions,) if greedy, else a sample; an int32 scalar.

    `greedy` may be a Python bool (then `key` may be None when True) or a traced bool.
    """
    chex.assert_rank(logits, 1)
    best = jnp.argmax(logits).astype(jnp.int32)
    if greedy is True:
        return best
    sample = jax.random.categorical(key, logits).astype(jnp.int32)
    return jnp.where(greedy, best, sample)


def gaussian_action(
    mean: jax.Array, log_std: jax.Array, key: jax.Array | None, greedy: bool
) -> jax.Array:
    """`mean` if greedy, else mean + exp(log_std) * standard normal noise (no clipping)."""
    chex.assert_equal_shape([mean, log_std])
    if greedy is True:
        return mean
    sample = mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape, mean.dtype)
    return jnp.where(greedy, mean, sample)
