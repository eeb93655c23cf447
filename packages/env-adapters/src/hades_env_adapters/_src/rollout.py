"""Rollouts that keep only a summary of the observations they visit (never the trajectory).

`fold_observations` is the loop; `sample_states` (initial synthetic datasets) and
`compute_obs_stats` (observation statistics) are folds over it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import jax
import jax.numpy as jnp

from hades_env_adapters._src.adapter import EnvAdapter
from hades_env_adapters._src.evaluate import ActFn, _positive_int, random_act_fn

Acc = TypeVar("Acc")
# (accumulator, step index, (num_envs, d) raw obs the policy is about to act on) -> accumulator
ObsFold = Callable[[Any, jax.Array, jax.Array], Any]


def fold_observations(
    env: EnvAdapter,
    key: jax.Array,
    num_envs: int,
    num_steps: int,
    fold: ObsFold,
    init: Acc,
    act_fn: ActFn | None = None,
) -> Acc:
    """Run `num_envs` envs for `num_steps` steps under `act_fn` (uniformly random by default),
    folding every batch of observations the policy acts on into `init`.

    The policy sees raw observations. Keys are split exactly as in `evaluate`, so a fold sees
    the same observations as `evaluate(act_fn, env, key, num_envs, num_steps)` with no norm.
    """
    num_envs = _positive_int("num_envs", num_envs)
    num_steps = _positive_int("num_steps", num_steps)
    act_batch = jax.vmap(random_act_fn(env) if act_fn is None else act_fn)
    step_batch = jax.vmap(env.step)
    reset_key, rollout_key = jax.random.split(key)
    obs, env_state = jax.vmap(env.reset)(jax.random.split(reset_key, num_envs))

    def one_step(carry, step):
        key, env_state, obs, acc = carry
        key, act_key, step_key = jax.random.split(key, 3)
        acc = fold(acc, step, obs)
        actions = act_batch(obs, jax.random.split(act_key, num_envs))
        obs, env_state, _, _ = step_batch(jax.random.split(step_key, num_envs), env_state, actions)
        return (key, env_state, obs, acc), None

    steps = jnp.arange(num_steps, dtype=jnp.int32)
    (_, _, _, acc), _ = jax.lax.scan(one_step, (rollout_key, env_state, obs, init), steps)
    return acc


def sample_states(
    env: EnvAdapter,
    key: jax.Array,
    n: int,
    num_steps: int | None = None,
    act_fn: ActFn | None = None,
) -> jax.Array:
    """`n` raw flat observations visited by `act_fn` (uniformly random by default): (n, d).

    Each comes from its own env, at a step picked uniformly from [0, num_steps) (default
    `env.max_episode_steps`; auto-resets included, so later episodes count too). Only the `n`
    picked observations are kept. Independent envs make the states distinct almost surely in
    continuous envs; in envs with few states (MinAtar starts) duplicates are possible.
    `n` and `num_steps` must be static.
    """
    n = _positive_int("n", n)
    num_steps = env.max_episode_steps if num_steps is None else num_steps
    pick_key, rollout_key = jax.random.split(key)
    picked_step = jax.random.randint(pick_key, (n,), 0, num_steps)

    def keep_picked(kept: jax.Array, step: jax.Array, obs: jax.Array) -> jax.Array:
        return jnp.where((step == picked_step)[:, None], obs, kept)

    kept = jnp.zeros((n, *env.obs_shape), jnp.float32)
    return fold_observations(env, rollout_key, n, num_steps, keep_picked, kept, act_fn)
