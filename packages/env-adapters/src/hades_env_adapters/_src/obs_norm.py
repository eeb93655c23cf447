"""Observation normalisation applied between the environment and the policy.

`ObsNorm` is the (immutable) choice of scheme; `ObsStats` is the state it carries through a
rollout. Running statistics follow purejaxrl's NormalizeVecObservation: they start at mean 0,
var 1, count 1e-4, are updated with every batch of observations the policy is about to see, and
live for one evaluation only.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

_KINDS = ("none", "const", "running")
_VAR_EPS = 1e-8  # inside the sqrt, as in purejaxrl / gym's NormalizeObservation
_INITIAL_COUNT = 1e-4  # a near-zero prior weight: the first batch all but replaces the prior


class ObsStats(NamedTuple):
    mean: jax.Array  # (d,)
    var: jax.Array  # (d,)
    count: jax.Array  # scalar float32: observations folded in (+ the 1e-4 prior); 0 if fixed


class ObsNorm(eqx.Module):
    """How observations are normalised: `ObsNorm.none()`, `.const(mean, var)` or `.running()`."""

    kind: str = eqx.field(static=True)
    mean: jax.Array | None = None  # const only
    var: jax.Array | None = None  # const only

    def __check_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"unknown obs norm kind {self.kind!r}; expected one of {_KINDS}")
        if (self.kind == "const") != (self.mean is not None and self.var is not None):
            raise ValueError("mean and var are given exactly for kind='const'")

    @classmethod
    def none(cls) -> ObsNorm:
        return cls("none")

    @classmethod
    def const(cls, mean: jax.Array, var: jax.Array) -> ObsNorm:
        """Fixed statistics, e.g. shipped with a dataset: obs -> (obs - mean) / sqrt(var + 1e-8)."""
        return cls("const", jnp.asarray(mean, jnp.float32), jnp.asarray(var, jnp.float32))

    @classmethod
    def running(cls) -> ObsNorm:
        return cls("running")

    def init(self, obs_shape: tuple[int, ...]) -> ObsStats:
        """Statistics at the start of a rollout."""
        if self.kind == "const":
            # Accept the raw (e.g. (10, 10, 4)) layout too: same C-order ravel as the obs.
            mean, var = (_as_obs_shape(x, obs_shape) for x in (self.mean, self.var))
            return ObsStats(mean, var, jnp.zeros((), jnp.float32))
        count = _INITIAL_COUNT if self.kind == "running" else 0.0
        return ObsStats(
            jnp.zeros(obs_shape, jnp.float32),
            jnp.ones(obs_shape, jnp.float32),
            jnp.asarray(count, jnp.float32),
        )

    def update(self, stats: ObsStats, obs_batch: jax.Array) -> ObsStats:
        """Fold a (batch, d) block of observations into the statistics (running only)."""
        if self.kind != "running":
            return stats
        return merge_stats(stats, obs_batch)

    def normalize(self, stats: ObsStats, obs: jax.Array) -> jax.Array:
        if self.kind == "none":
            return obs  # exactly the raw observation, not (obs - 0) / sqrt(1 + eps)
        return (obs - stats.mean) / jnp.sqrt(stats.var + _VAR_EPS)


def merge_stats(stats: ObsStats, obs_batch: jax.Array) -> ObsStats:
    """Parallel (Chan et al.) mean/variance update with a batch, as purejaxrl does it."""
    batch_mean = jnp.mean(obs_batch, axis=0)
    batch_var = jnp.var(obs_batch, axis=0)
    batch_count = obs_batch.shape[0]

    delta = batch_mean - stats.mean
    total_count = stats.count + batch_count
    mean = stats.mean + delta * batch_count / total_count
    m2 = (
        stats.var * stats.count
        + batch_var * batch_count
        + jnp.square(delta) * stats.count * batch_count / total_count
    )
    return ObsStats(mean, m2 / total_count, total_count)


def _as_obs_shape(x: jax.Array, obs_shape: tuple[int, ...]) -> jax.Array:
    if x.ndim > 0 and x.size == math.prod(obs_shape):
        return jnp.reshape(x, obs_shape)
    return jnp.broadcast_to(x, obs_shape)
