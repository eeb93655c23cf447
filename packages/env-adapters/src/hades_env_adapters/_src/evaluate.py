"""Streaming policy evaluation: vectorised rollouts in one `lax.scan`, returns kept in the carry.

Nothing per-step is stored, so memory is O(num_envs) whatever the horizon, and the whole thing
vmaps over a population whose `act_fn`s close over per-member parameters.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from hades_env_adapters._src.adapter import EnvAdapter, EnvState
from hades_env_adapters._src.obs_norm import ObsNorm, ObsStats

ActFn = Callable[[jax.Array, jax.Array], jax.Array]  # (one normalised obs, key) -> action


class EvalResult(NamedTuple):
    mean_return: jax.Array  # float32 scalar: the fitness
    num_episodes: jax.Array  # int32 scalar: completed episodes; 0 means mean_return is in-progress


class _Carry(NamedTuple):
    key: jax.Array
    env_state: EnvState  # batched over envs
    obs: jax.Array  # (num_envs, d) raw flat obs the policy acts on next
    obs_stats: ObsStats
    episode_return: jax.Array  # (num_envs,) return so far of each env's current episode
    completed_return: jax.Array  # scalar: sum of returns of completed episodes
    num_completed: jax.Array  # scalar int32


def evaluate(
    act_fn: ActFn,
    env: EnvAdapter,
    key: jax.Array,
    num_envs: int,
    num_steps: int | None = None,
    obs_norm: ObsNorm = ObsNorm.none(),  # noqa: B008 - immutable module, safe as a default
) -> EvalResult:
    """Mean episodic return of `act_fn` over `num_envs` parallel envs run for `num_steps` steps.

    The mean is over episodes completed within the budget; if none completed, it is the mean
    return of the episodes in progress (so it is never a silent zero). `num_steps` defaults to
    `env.max_episode_steps`, enough for every env to finish an episode on fixed-length envs.
    `num_envs` and `num_steps` must be static (Python ints) under jit/vmap.
    """
    result, _ = evaluate_with_obs_stats(act_fn, env, key, num_envs, num_steps, obs_norm)
    return result


def evaluate_with_obs_stats(
    act_fn: ActFn,
    env: EnvAdapter,
    key: jax.Array,
    num_envs: int,
    num_steps: int | None = None,
    obs_norm: ObsNorm = ObsNorm.none(),  # noqa: B008
) -> tuple[EvalResult, ObsStats]:
    """`evaluate`, also returning the observation statistics at the end of the rollout.

    With `ObsNorm.running()` these are the statistics the policy last saw, e.g. to freeze into an
    `ObsNorm.const` for later evaluations.
    """
    num_envs = _positive_int("num_envs", num_envs)
    num_steps = _positive_int(
        "num_steps", env.max_episode_steps if num_steps is None else num_steps
    )
    reset_key, rollout_key = jax.random.split(key)
    obs, env_state = jax.vmap(env.reset)(jax.random.split(reset_key, num_envs))
    act_batch = jax.vmap(act_fn)
    step_batch = jax.vmap(env.step)

    def one_step(carry: _Carry, _) -> tuple[_Carry, None]:
        key, act_key, step_key = jax.random.split(carry.key, 3)
        # Stats first, then normalise: the policy sees obs under stats that include them.
        obs_stats = obs_norm.update(carry.obs_stats, carry.obs)
        actions = act_batch(
            obs_norm.normalize(obs_stats, carry.obs), jax.random.split(act_key, num_envs)
        )
        obs, env_state, reward, done = step_batch(
            jax.random.split(step_key, num_envs), carry.env_state, actions
        )
        episode_return = carry.episode_return + reward
        carry = _Carry(
            key=key,
            env_state=env_state,
            obs=obs,
            obs_stats=obs_stats,
            episode_return=jnp.where(done, 0.0, episode_return),
            completed_return=carry.completed_return + jnp.sum(jnp.where(done, episode_return, 0.0)),
            num_completed=carry.num_completed + jnp.sum(done, dtype=jnp.int32),
        )
        return carry, None  # no per-step outputs: nothing grows with num_steps

    init = _Carry(
        key=rollout_key,
        env_state=env_state,
        obs=obs,
        obs_stats=obs_norm.init(env.obs_shape),
        episode_return=jnp.zeros(num_envs, jnp.float32),
        completed_return=jnp.zeros((), jnp.float32),
        num_completed=jnp.zeros((), jnp.int32),
    )
    final, _ = jax.lax.scan(one_step, init, None, length=num_steps)

    completed_mean = final.completed_return / jnp.maximum(final.num_completed, 1)
    # Every env is mid-episode here (none finished), each with num_steps steps of return.
    in_progress_mean = jnp.mean(final.episode_return)
    mean_return = jnp.where(final.num_completed > 0, completed_mean, in_progress_mean)
    return EvalResult(mean_return, final.num_completed), final.obs_stats


def random_act_fn(env: EnvAdapter) -> ActFn:
    """A uniformly random policy (ignores the observation): baselines and tests."""

    def act(obs: jax.Array, key: jax.Array) -> jax.Array:
        del obs
        return env.sample_action(key)

    return act


def _positive_int(name: str, value: int) -> int:
    try:
        value = operator.index(value)
    except TypeError as error:
        raise TypeError(f"{name} must be a static Python int, got {value!r}") from error
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value
