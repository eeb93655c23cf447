"""Constant observation statistics: the paper's, shipped as package data, or computed by rollout.

Files are `.npz` with float32 `mean` and `var`, flat (obs_dim,) in the adapters' layout (C-order
ravel of MinAtar's (10, 10, C) boards). Shipped files live in `hades_env_adapters/obs_stats/`.
"""

from __future__ import annotations

import os
from importlib import resources

import jax
import numpy as np

from hades_env_adapters._src.adapter import EnvAdapter
from hades_env_adapters._src.evaluate import ActFn
from hades_env_adapters._src.obs_norm import ObsNorm, merge_stats
from hades_env_adapters._src.rollout import fold_observations

_SHIPPED_DIR = "obs_stats"
_SUFFIX = ".npz"


class MissingObsStatsError(LookupError):
    """No observation statistics ship for an env id."""


def shipped_obs_stats_ids() -> tuple[str, ...]:
    """Env ids with shipped statistics (the envs the paper normalised with constant stats)."""
    folder = resources.files("hades_env_adapters").joinpath(_SHIPPED_DIR)
    names = (entry.name for entry in folder.iterdir())
    return tuple(sorted(name[: -len(_SUFFIX)] for name in names if name.endswith(_SUFFIX)))


def obs_stats_for(env_id: str) -> tuple[np.ndarray, np.ndarray]:
    """The shipped (mean, var) for `env_id`: float32, flat (obs_dim,)."""
    if env_id not in shipped_obs_stats_ids():
        raise MissingObsStatsError(
            f"No observation statistics ship for {env_id!r} (shipped: "
            f"{', '.join(shipped_obs_stats_ids())}). Compute them with `hades obs-stats "
            f"{env_id}` (or `compute_obs_stats`) and pass the file to ObsNorm.const."
        )
    entry = resources.files("hades_env_adapters").joinpath(_SHIPPED_DIR, env_id + _SUFFIX)
    with resources.as_file(entry) as path:
        return load_obs_stats(path)


def save_obs_stats(path: str | os.PathLike, mean: np.ndarray, var: np.ndarray) -> None:
    """Write (mean, var) as float32 to an `.npz` file (the shipped files' format)."""
    mean, var = _checked(np.asarray(mean), np.asarray(var), str(path))
    with open(path, "wb") as file:  # a file object: np.savez won't append ".npz" to the name
        np.savez(file, mean=mean, var=var)


def load_obs_stats(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """(mean, var) from a file written by `save_obs_stats`: float32, flat (obs_dim,)."""
    with np.load(path, allow_pickle=False) as data:
        missing = {"mean", "var"} - set(data.files)
        if missing:
            raise ValueError(f"{path}: not an obs-stats file, missing {sorted(missing)}")
        return _checked(data["mean"], data["var"], str(path))


def compute_obs_stats(
    env: EnvAdapter,
    key: jax.Array,
    act_fn: ActFn | None = None,
    num_envs: int = 64,
    num_steps: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(mean, var) of the raw observations `act_fn` acts on (uniformly random by default) over
    `num_envs` envs x `num_steps` steps (default `env.max_episode_steps`).

    Pooled like purejaxrl's running normaliser, which is how the paper's shipped statistics were
    made: a prior of mean 0, var 1 with weight 1e-4, so constant features get a tiny positive
    variance (1e-4 / count) rather than 0. The policy sees raw observations.
    """
    num_steps = env.max_episode_steps if num_steps is None else num_steps

    def fold(stats, step, obs_batch):
        del step
        return merge_stats(stats, obs_batch)

    @jax.jit
    def rollout(key):
        init = ObsNorm.running().init(env.obs_shape)
        return fold_observations(env, key, num_envs, num_steps, fold, init, act_fn)

    stats = rollout(key)
    return _checked(np.asarray(stats.mean), np.asarray(stats.var), env.env_id)


def _checked(mean: np.ndarray, var: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    mean, var = mean.astype(np.float32), var.astype(np.float32)
    if mean.ndim != 1 or mean.shape != var.shape:
        raise ValueError(
            f"{where}: mean and var must be flat and of one shape, got {mean.shape}, {var.shape}"
        )
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(var)) and np.all(var >= 0)):
        raise ValueError(f"{where}: mean and var must be finite, with var >= 0")
    return mean, var
