"""Retrain-and-evaluate from any saved dataset: ours, or the paper's published ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hades.distill import retrain_returns
from hades.task import BCTask, fit_config_from
from hades_dataset_io import NotADatasetError, SyntheticDataset, load_dataset, load_reference
from hades_env_adapters import make_env


def open_dataset(path: str | Path) -> SyntheticDataset:
    """A hades dataset file, or one of the paper's reference npz files (detected)."""
    try:
        return load_dataset(path)
    except NotADatasetError:
        return load_reference(path)


def task_from_dataset(ds: SyntheticDataset, **eval_overrides: Any) -> BCTask:
    meta = ds.meta
    env = make_env(meta["env_id"], **meta.get("env_options", {}))
    policy = meta.get("policy", {})
    evaluation = {
        **meta.get("eval", {}),
        **{k: v for k, v in eval_overrides.items() if v is not None},
    }
    obs_stats = None
    if ds.obs_mean is not None and ds.obs_var is not None:
        obs_stats = (ds.obs_mean, ds.obs_var)
    return BCTask(
        env=env,
        width=int(policy.get("width", 64)),
        depth=int(policy.get("depth", 2)),
        activation=policy.get("activation", "relu"),
        fit_config=fit_config_from(meta.get("fit", {})),
        num_envs=int(evaluation.get("num_envs", 4)),
        num_steps=evaluation.get("num_steps"),
        greedy=bool(evaluation.get("greedy", True)),
        obs_norm_mode=meta.get("obs_norm", "none"),
        obs_stats=obs_stats,
    )


def genome_of(ds: SyntheticDataset) -> dict[str, jax.Array]:
    genome = {"states": jnp.asarray(ds.states, jnp.float32)}
    if ds.actions is not None:
        genome["actions"] = jnp.asarray(ds.actions, jnp.float32)
    return genome


def evaluate_dataset(
    path: str | Path, inits: int = 20, seed: int = 0, **eval_overrides: Any
) -> dict[str, Any]:
    ds = open_dataset(path)
    task = task_from_dataset(ds, **eval_overrides)
    labels = None if ds.labels is None else jnp.asarray(ds.labels, jnp.int32)
    returns = retrain_returns(task, genome_of(ds), labels, jax.random.key(seed), inits)
    recorded = ds.meta.get("source", {}).get("final_mean_fitness")
    return {
        "dataset": str(path),
        "env": task.env.env_id,
        "inits": inits,
        "return_mean": float(np.mean(returns)),
        "return_std": float(np.std(returns)),
        "returns": returns.tolist(),
        "recorded_fitness": recorded,
    }
