"""brax (>= 0.14) environments as an `EnvAdapter` backend.

The wrapping is the paper's (purejaxrl's `BraxGymnaxWrapper`): brax's own `EpisodeWrapper`
(truncation at `episode_length`, `done` set then) and `AutoResetWrapper` (a finished env restarts
from *its own first start state*, which brax caches at reset; the step key is unused). Actions
are clipped to [-1, 1] by the adapter, as the paper's `ClipAction` did.
"""

from __future__ import annotations

import contextlib
import functools
import io
from typing import Any

import jax

with contextlib.redirect_stdout(io.StringIO()):
    # mujoco.mjx prints "Failed to import warp" (its GPU-only backend) to stdout on import;
    # that would pollute a CLI's machine-readable output, and the message means nothing here.
    from brax import envs as brax_envs
    from brax.envs.wrappers.training import AutoResetWrapper, EpisodeWrapper

PHYSICS_BACKENDS = ("positional", "spring", "generalized", "mjx")
DEFAULT_PHYSICS = "positional"  # what the paper used
# brax's swimmer only supports generalized; every other env supports all four.
_DEFAULT_PHYSICS_OVERRIDES = {"swimmer": "generalized"}
ACTION_BOUND = 1.0


def default_physics(env_id: str) -> str:
    return _DEFAULT_PHYSICS_OVERRIDES.get(env_id, DEFAULT_PHYSICS)


class BraxBackend:
    """`brax.envs.get_environment(env_id, backend=physics, **options)`, episode- and reset-wrapped.

    Equality and hashing go by the construction recipe, so adapters made from the same id and
    options share jit caches.
    """

    discrete = False
    num_actions = None

    def __init__(
        self,
        env_id: str,
        backend: str | None = None,
        episode_length: int = 1000,
        **options: Any,
    ):
        physics = default_physics(env_id) if backend is None else backend
        if physics not in PHYSICS_BACKENDS:
            raise ValueError(
                f"{env_id}: unknown brax backend {physics!r}; expected one of {PHYSICS_BACKENDS}"
            )
        if int(episode_length) < 1:
            raise ValueError(f"{env_id}: episode_length must be >= 1, got {episode_length}")
        self.physics = physics
        self.max_episode_steps = int(episode_length)
        self._recipe = (env_id, physics, self.max_episode_steps, tuple(sorted(options.items())))
        try:
            hash(self._recipe)
        except TypeError as error:
            raise TypeError(f"{env_id}: options must be hashable, got {options!r}") from error

        self.env = _wrapped_env(*self._recipe)
        self.action_dim = int(self.env.action_size)  # sys.act_size(): cheap, unlike obs size
        self.action_low = (-ACTION_BOUND,) * self.action_dim
        self.action_high = (ACTION_BOUND,) * self.action_dim

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BraxBackend) and self._recipe == other._recipe

    def __hash__(self) -> int:
        return hash(self._recipe)

    def __repr__(self) -> str:
        return f"BraxBackend{self._recipe!r}"

    def reset(self, key: jax.Array):
        state = self.env.reset(key)
        return state.obs, state

    def step(self, key: jax.Array, state, action: jax.Array):
        del key  # brax dynamics and its auto-reset are deterministic
        state = self.env.step(state, action)
        return state.obs, state, state.reward, state.done


@functools.cache
def _wrapped_env(env_id: str, physics: str, episode_length: int, options: tuple):
    # Cached: loading the MJCF model takes up to ~1 s (ant), and brax envs are not mutated
    # after construction, so equal recipes can share one.
    try:
        env = brax_envs.get_environment(env_id, backend=physics, **dict(options))
    except ValueError as error:  # e.g. swimmer with backend="positional"
        raise ValueError(f"brax {env_id!r} with backend={physics!r}: {error}") from error
    return AutoResetWrapper(EpisodeWrapper(env, episode_length, action_repeat=1))
