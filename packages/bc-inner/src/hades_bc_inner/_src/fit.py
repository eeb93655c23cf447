"""Full-batch supervised fitting: the HaDES inner loop, as one `lax.scan`."""

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import optax

from hades_bc_inner._src.losses import LossFn

ApplyFn = Callable[[Any, jax.Array], chex.ArrayTree]

OPTIMIZERS = ("adam", "sgd")


@dataclasses.dataclass(frozen=True)
class FitConfig:
    """Static, hashable settings of `fit` (pass as a static argument under jit).

    steps: number of full-batch gradient steps.
    lr: learning rate (the initial one when `anneal_lr`).
    optimizer: "adam" | "sgd".
    momentum: SGD momentum (0 = plain SGD); ignored by Adam.
    adam_eps: Adam epsilon.
    max_grad_norm: clip gradients to this global norm before the optimizer; None = no clipping.
    anneal_lr: anneal the learning rate linearly from `lr` to exactly 0 after `steps` updates.
    data_noise: std of Gaussian noise added to the inputs, freshly drawn at every step.
    loss_scale: multiplies the batch-mean loss (1/num_classes reproduces the paper's CE/A).
    """

    steps: int = 100
    lr: float = 0.03
    optimizer: str = "adam"
    momentum: float = 0.0
    adam_eps: float = 1e-5
    max_grad_norm: float | None = None
    anneal_lr: bool = False
    data_noise: float = 0.0
    loss_scale: float = 1.0

    def __post_init__(self):
        if self.steps < 1:
            raise ValueError(f"steps must be >= 1, got {self.steps}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Unknown optimizer {self.optimizer!r}; expected one of {OPTIMIZERS}")
        if self.max_grad_norm is not None and self.max_grad_norm <= 0:
            raise ValueError(f"max_grad_norm must be > 0 or None, got {self.max_grad_norm}")
        if self.data_noise < 0:
            raise ValueError(f"data_noise must be >= 0, got {self.data_noise}")


class FitResult(NamedTuple):
    """Trained params and the loss before each step, shape (steps,)."""

    params: Any
    losses: jax.Array


def make_lr_schedule(config: FitConfig) -> optax.ScalarOrSchedule:
    """Constant `lr`, or with `anneal_lr` lr * (1 - count / steps): exactly 0 after `steps`."""
    if config.anneal_lr:
        return optax.linear_schedule(config.lr, 0.0, transition_steps=config.steps)
    return config.lr


def make_optimizer(config: FitConfig) -> optax.GradientTransformation:
    """Adam (eps=adam_eps) or SGD (with momentum if > 0), after optional global-norm clipping."""
    lr = make_lr_schedule(config)
    if config.optimizer == "adam":
        optimizer = optax.adam(lr, eps=config.adam_eps)
    else:
        optimizer = optax.sgd(lr, momentum=config.momentum or None)
    if config.max_grad_norm is not None:
        optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optimizer)
    return optimizer


def fit(
    apply_fn: ApplyFn,
    params: Any,
    inputs: jax.Array,
    targets: chex.ArrayTree,
    loss_fn: LossFn,
    config: FitConfig,
    key: jax.Array | None,
) -> FitResult:
    """Trains `params` on (inputs, targets) with full-batch steps, as one `lax.scan`.

    Args:
      apply_fn: apply_fn(params, x) -> output for ONE input x (e.g. `net.apply`).
      params: initial params (e.g. from `init_params`).
      inputs: (n, *input_shape) batch of inputs.
      targets: batch of targets with leading dim n (array or pytree).
      loss_fn: loss_fn(output, target) -> scalar loss for ONE example.
      config: static `FitConfig`.
      key: PRNG key for the input noise; unused (may be None) when `config.data_noise == 0`.

    Returns:
      `FitResult(params, losses)`, losses[t] = loss_scale * mean loss at the params before step t.

    Pure and jit-friendly (with apply_fn, loss_fn and config static); vmap it over a population
    of params / datasets / keys.
    """
    chex.assert_tree_shape_prefix(targets, inputs.shape[:1])
    if config.data_noise > 0 and key is None:
        raise ValueError("fit: config.data_noise > 0 needs a PRNG key, got key=None")
    optimizer = make_optimizer(config)

    def batch_loss(params, inputs):
        outputs = jax.vmap(apply_fn, in_axes=(None, 0))(params, inputs)
        losses = jax.vmap(loss_fn)(outputs, targets)
        chex.assert_shape(losses, inputs.shape[:1])  # loss_fn must return a scalar
        return config.loss_scale * jnp.mean(losses)

    def step(carry, step_key):
        params, opt_state = carry
        step_inputs = inputs
        if config.data_noise > 0:
            noise = jax.random.normal(step_key, inputs.shape, inputs.dtype)
            step_inputs = inputs + config.data_noise * noise
        loss, grads = jax.value_and_grad(batch_loss)(params, step_inputs)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    step_keys = jax.random.split(key, config.steps) if config.data_noise > 0 else None
    carry = (params, optimizer.init(params))
    (params, _), losses = jax.lax.scan(step, carry, step_keys, length=config.steps)
    return FitResult(params, losses)
