"""One small interface over simulators: flat float32 observations, bounded actions, auto-reset.

A simulator family (gymnax, brax) plugs in as a *backend*: an object that knows how to
reset and step its raw environment and what its spaces are. Everything that should behave the same
across families (flattening, dtypes, action clipping) lives once, here, in `EnvAdapter`.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import equinox as eqx
import jax
import jax.numpy as jnp

EnvState = Any  # a backend's own state pytree; opaque to callers


class Backend(Protocol):
    """What a simulator family provides. Must be hashable: it is a static field of the adapter."""

    discrete: bool
    num_actions: int | None  # discrete only
    action_dim: int | None  # continuous only
    action_low: tuple[float, ...] | None  # continuous only, length action_dim
    action_high: tuple[float, ...] | None
    max_episode_steps: int

    def reset(self, key: jax.Array) -> tuple[jax.Array, EnvState]:
        """Raw (unflattened) observation and the initial state."""
        ...

    def step(
        self, key: jax.Array, state: EnvState, action: jax.Array
    ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array]:
        """(raw obs, state, reward, done); must auto-reset when done."""
        ...


class EnvAdapter(eqx.Module):
    """A single (unbatched) environment; vmap `reset`/`step` for many.

    All fields are static, so an adapter is a leaf-less pytree: close over it or pass it to `jit`
    freely. Adapters made from the same id and options compare equal (no recompilation).
    """

    env_id: str = eqx.field(static=True)
    obs_shape: tuple[int] = eqx.field(static=True)  # flattened: (d,)
    raw_obs_shape: tuple[int, ...] = eqx.field(static=True)  # as the simulator emits it
    discrete: bool = eqx.field(static=True)
    num_actions: int | None = eqx.field(static=True)  # None for continuous envs
    action_dim: int | None = eqx.field(static=True)  # None for discrete envs
    action_low: tuple[float, ...] | None = eqx.field(static=True)  # None for discrete envs
    action_high: tuple[float, ...] | None = eqx.field(static=True)
    max_episode_steps: int = eqx.field(static=True)
    backend: Backend = eqx.field(static=True, repr=False)

    @classmethod
    def from_backend(cls, env_id: str, backend: Backend) -> EnvAdapter:
        """Read the spaces off a backend; the observation shape comes from tracing one reset."""
        raw_obs = jax.eval_shape(backend.reset, jax.random.key(0))[0]
        if not isinstance(raw_obs, jax.ShapeDtypeStruct):
            raise ValueError(f"{env_id}: observations must be one array, got {raw_obs!r}")
        raw_obs_shape = tuple(int(n) for n in raw_obs.shape)
        return cls(
            env_id=env_id,
            obs_shape=(math.prod(raw_obs_shape),),
            raw_obs_shape=raw_obs_shape,
            discrete=bool(backend.discrete),
            num_actions=backend.num_actions,
            action_dim=backend.action_dim,
            action_low=backend.action_low,
            action_high=backend.action_high,
            max_episode_steps=int(backend.max_episode_steps),
            backend=backend,
        )

    @property
    def action_shape(self) -> tuple[int, ...]:
        """Shape of one action: () for a discrete index, (action_dim,) for continuous."""
        return () if self.discrete else (self.action_dim,)

    def reset(self, key: jax.Array) -> tuple[jax.Array, EnvState]:
        raw_obs, state = self.backend.reset(key)
        return self.flatten_obs(raw_obs), state

    def step(
        self, key: jax.Array, state: EnvState, action: jax.Array
    ) -> tuple[jax.Array, EnvState, jax.Array, jax.Array]:
        """One transition; a finished episode is reset in the same call (obs is the new start)."""
        raw_obs, state, reward, done = self.backend.step(key, state, self.clip_action(action))
        reward = jnp.reshape(reward, ()).astype(jnp.float32)
        done = jnp.reshape(done, ()).astype(bool)
        return self.flatten_obs(raw_obs), state, reward, done

    def flatten_obs(self, raw_obs: jax.Array) -> jax.Array:
        # C-order ravel, the same layout as gymnax's FlattenObservationWrapper.
        return jnp.reshape(raw_obs, self.obs_shape).astype(jnp.float32)

    def clip_action(self, action: jax.Array) -> jax.Array:
        """Coerce an action into the env's format and bounds (int32 index or float32 vector)."""
        if self.discrete:
            index = jnp.reshape(jnp.asarray(action), ()).astype(jnp.int32)
            return jnp.clip(index, 0, self.num_actions - 1)
        # Broadcasting lets a 1-d env take a scalar action.
        action = jnp.broadcast_to(jnp.asarray(action, jnp.float32), self.action_shape)
        low = jnp.asarray(self.action_low, jnp.float32)
        high = jnp.asarray(self.action_high, jnp.float32)
        return jnp.clip(action, low, high)

    def sample_action(self, key: jax.Array) -> jax.Array:
        """A uniformly random valid action."""
        if self.discrete:
            return jax.random.randint(key, (), 0, self.num_actions, dtype=jnp.int32)
        low = jnp.asarray(self.action_low, jnp.float32)
        high = jnp.asarray(self.action_high, jnp.float32)
        return jax.random.uniform(key, self.action_shape, jnp.float32, low, high)
