"""gymnax environments as an `EnvAdapter` backend (gymnax >= 1.0: step returns 6 values)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hades_env_adapters._src.deferred_imports import deferred

# gymnax imports its plotting libraries at module level (~120 MB resident, seconds of start-up);
# they load only if something renders.
with deferred("matplotlib", "seaborn"):
    import gymnax
    from gymnax.environments import spaces

from hades_env_adapters._src.gymnax_legacy import DEFAULT_DYNAMICS, make_legacy


def gymnax_env_ids() -> tuple[str, ...]:
    return tuple(gymnax.registered_envs)


class GymnaxBackend:
    """Wraps `gymnax.make(env_id)`; gymnax's own `step` does the auto-reset.

    Options that name an `EnvParams` field (e.g. `max_steps_in_episode`) override the default
    params; the rest go to the environment constructor (e.g. `use_minimal_action_set`), except
    `dynamics`: "gymnax-1.0" (the installed gymnax, default) or "gymnax-0.0" (the rules of
    gymnax 0.0.6-0.0.9, which the paper used; SpaceInvaders-MinAtar only, see gymnax_legacy).
    """

    def __init__(self, env_id: str, **options: Any):
        if options.get("dynamics") == DEFAULT_DYNAMICS:
            options.pop("dynamics")  # the default: same recipe, same jit caches
        dynamics = options.get("dynamics", DEFAULT_DYNAMICS)
        other = {k: v for k, v in options.items() if k != "dynamics"}
        param_fields = _param_fields(env_id) if other else frozenset()
        param_options = {k: v for k, v in other.items() if k in param_fields}
        env_options = {k: v for k, v in other.items() if k not in param_fields}
        env, params = gymnax.make(env_id, **env_options)
        legacy = make_legacy(env_id, dynamics, **env_options)
        if legacy is not None:
            env = legacy
        self.env = env
        self.params = params.replace(**param_options)
        # Equality by construction recipe, not identity: equal adapters share jit caches.
        # (gymnax params can hold arrays, e.g. Acrobot's, so they can't be hashed themselves.)
        self._recipe = (env_id, tuple(sorted(options.items())))
        try:
            hash(self._recipe)
        except TypeError as error:
            raise TypeError(f"{env_id}: options must be hashable, got {options!r}") from error

        self.max_episode_steps = int(self.params.max_steps_in_episode)
        action_space = env.action_space(self.params)
        if isinstance(action_space, spaces.Discrete):
            self.discrete = True
            # MinAtar uses a reduced action set: n is the number of indices the env accepts.
            self.num_actions = int(action_space.n)
            self.action_dim = self.action_low = self.action_high = None
        elif isinstance(action_space, spaces.Box):
            shape = tuple(action_space.shape)
            self.discrete = False
            self.num_actions = None
            self.action_dim = math.prod(shape)
            self.action_low = _bound_tuple(action_space.low, shape)
            self.action_high = _bound_tuple(action_space.high, shape)
            self._action_shape = shape
        else:
            raise ValueError(f"{env_id}: unsupported action space {action_space!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GymnaxBackend) and self._recipe == other._recipe

    def __hash__(self) -> int:
        return hash(self._recipe)

    def __repr__(self) -> str:
        return f"GymnaxBackend{self._recipe!r}"

    def reset(self, key: jax.Array):
        return self.env.reset(key, self.params)

    def step(self, key: jax.Array, state, action: jax.Array):
        if not self.discrete:
            action = jnp.reshape(action, self._action_shape)
        obs, state, reward, terminated, truncated, _ = self.env.step(
            key, state, action, self.params
        )
        return obs, state, reward, jnp.logical_or(terminated, truncated)


def _param_fields(env_id: str) -> frozenset[str]:
    _, default_params = gymnax.make(env_id)
    return frozenset(f.name for f in dataclasses.fields(default_params))


def _bound_tuple(bound: Any, shape: tuple[int, ...]) -> tuple[float, ...]:
    return tuple(float(x) for x in np.broadcast_to(np.asarray(bound), shape).ravel())
