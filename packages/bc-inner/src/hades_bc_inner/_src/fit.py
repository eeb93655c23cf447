"""Full-batch supervised fitting: the HaDES inner loop, as one `lax.scan`."""

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax

from hades_bc_inner._src.losses import LossFn

ApplyFn = Callable[[Any, jax.Array], chex.ArrayTree]
ArrayLike = jax.Array | float | int

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


def make_lr_schedule(
    config: FitConfig, lr: ArrayLike | None = None, num_steps: ArrayLike | None = None
) -> optax.ScalarOrSchedule:
    """Constant `lr`, or with `anneal_lr` lr * (1 - count / steps): exactly 0 after `steps`.

    lr, num_steps: override `config.lr` / `config.steps`; may be traced (jax) scalars, so one
    compiled function serves many learning rates and step counts (see `fit_with`).
    """
    if lr is None and num_steps is None:
        if config.anneal_lr:
            return optax.linear_schedule(config.lr, 0.0, transition_steps=config.steps)
        return config.lr
    lr = config.lr if lr is None else lr
    if not config.anneal_lr:
        return lr
    horizon = config.steps if num_steps is None else num_steps
    # optax.linear_schedule checks its horizon in Python, so it cannot take a traced one.
    return lambda count: lr * jnp.clip(1.0 - count / horizon, 0.0, 1.0)


def make_optimizer(
    config: FitConfig, lr: ArrayLike | None = None, num_steps: ArrayLike | None = None
) -> optax.GradientTransformation:
    """Adam (eps=adam_eps) or SGD (with momentum if > 0), after optional global-norm clipping.

    lr, num_steps: optional (possibly traced) overrides of the schedule, see `make_lr_schedule`.
    """
    lr = make_lr_schedule(config, lr, num_steps)
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
    return fit_with(apply_fn, params, inputs, targets, loss_fn, config, key)


def fit_with(
    apply_fn: ApplyFn,
    params: Any,
    inputs: jax.Array,
    targets: chex.ArrayTree,
    loss_fn: LossFn,
    config: FitConfig,
    key: jax.Array | None,
    lr: ArrayLike | None = None,
    num_steps: ArrayLike | None = None,
) -> FitResult:
    """`fit` whose learning rate and step count may be traced values (vmap over them).

    lr: the learning rate (the initial one with `anneal_lr`) instead of `config.lr`.
    num_steps: how many updates to apply, at most `config.steps`. The scan always runs
      `config.steps` steps (its length must be static) and leaves params and optimizer state
      unchanged after step `num_steps`, so members of one vmapped batch can train for different
      numbers of steps: the result equals `fit` with `steps=num_steps`. With `anneal_lr` the
      learning rate reaches 0 at `num_steps`. A traced value above `config.steps` acts as
      `config.steps`.

    Returns `FitResult(params, losses)` with losses of shape (config.steps,); after `num_steps`
    they repeat the loss of the final params. With lr and num_steps None this is `fit`.
    """
    chex.assert_tree_shape_prefix(targets, inputs.shape[:1])
    if config.data_noise > 0 and key is None:
        raise ValueError("fit: config.data_noise > 0 needs a PRNG key, got key=None")
    _check_num_steps(num_steps, config.steps)
    optimizer = make_optimizer(config, lr, num_steps)

    def batch_loss(params, inputs):
        outputs = jax.vmap(apply_fn, in_axes=(None, 0))(params, inputs)
        losses = jax.vmap(loss_fn)(outputs, targets)
        chex.assert_shape(losses, inputs.shape[:1])  # loss_fn must return a scalar
        return config.loss_scale * jnp.mean(losses)

    def step(carry, xs):
        params, opt_state = carry
        index, step_key = xs
        step_inputs = inputs
        if config.data_noise > 0:
            noise = jax.random.normal(step_key, inputs.shape, inputs.dtype)
            step_inputs = inputs + config.data_noise * noise
        loss, grads = jax.value_and_grad(batch_loss)(params, step_inputs)
        updates, new_opt_state = optimizer.update(grads, opt_state, params)
        new_carry = (optax.apply_updates(params, updates), new_opt_state)
        if num_steps is not None:
            # Past this member's step count: keep everything (Adam's count included) as it is.
            active = index < num_steps
            new_carry = jax.tree.map(lambda new, old: jnp.where(active, new, old), new_carry, carry)
        return new_carry, loss

    step_keys = jax.random.split(key, config.steps) if config.data_noise > 0 else None
    carry = (params, optimizer.init(params))
    xs = (jnp.arange(config.steps), step_keys)
    (params, _), losses = jax.lax.scan(step, carry, xs, length=config.steps)
    return FitResult(params, losses)


def _check_num_steps(num_steps: ArrayLike | None, max_steps: int) -> None:
    """Concrete step counts must lie in [1, config.steps]; traced ones cannot be checked."""
    if num_steps is None or isinstance(num_steps, jax.core.Tracer):
        return
    values = np.asarray(num_steps)
    if values.size and (values.min() < 1 or values.max() > max_steps):
        raise ValueError(
            f"fit_with: num_steps must be in [1, config.steps={max_steps}], got {num_steps}; "
            "raise config.steps to the largest step count"
        )
