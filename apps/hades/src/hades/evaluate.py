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


def recorded_fixed_init_seed(ds: SyntheticDataset) -> int | None:
    """The one init a HaDES-F dataset was evolved for, when its file records it."""
    inner_init = ds.meta.get("source", {}).get("inner_init", {})
    return inner_init.get("seed") if inner_init.get("mode") == "fixed" else None


def evaluate_dataset(
    path: str | Path,
    inits: int = 20,
    seed: int = 0,
    fixed_init_seed: int | None = None,
    fresh_inits: bool = False,
    **eval_overrides: Any,
) -> dict[str, Any]:
    """Retrain `inits` policies from the dataset and evaluate them. A HaDES-F dataset is
    retrained from its recorded fixed init unless `fresh_inits` (then: its transfer)."""
    ds = open_dataset(path)
    task = task_from_dataset(ds, **eval_overrides)
    labels = None if ds.labels is None else jnp.asarray(ds.labels, jnp.int32)
    if fixed_init_seed is None and not fresh_inits:
        fixed_init_seed = recorded_fixed_init_seed(ds)
    returns = retrain_returns(
        task, genome_of(ds), labels, jax.random.key(seed), inits, fixed_init_seed
    )
    recorded = ds.meta.get("source", {}).get("final_mean_fitness")
    return {
        "dataset": str(path),
        "env": task.env.env_id,
        "inits": inits,
        "fixed_init_seed": fixed_init_seed,
        "return_mean": float(np.mean(returns)),
        "return_std": float(np.std(returns)),
        "returns": returns.tolist(),
        "recorded_fitness": recorded,
    }
