"""The paper's baseline: ES neuroevolution, evolving the policy weights themselves.

Same ES, same evaluation, same run directory and report as `hades distill`, so the two compare
on equal terms (`hades compare`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hades.config import DistillConfig
from hades.distill import (
    _first_reaching,
    es_config_from,
    open_run,
    run_fingerprint,
    task_from_config,
)
from hades.engine import CheckpointPolicy, evolve_run
from hades.task import BCTask


@dataclasses.dataclass(frozen=True)
class NeuroevolutionProblem:
    task: BCTask

    def initial_genome(self, key):
        return self.task.net.init(key, jnp.zeros(self.task.env.obs_shape, jnp.float32))

    def member_fitness(self, params, member_key, shared_key):
        return {"fitness": self.task.episode_return(params, jax.random.fold_in(member_key, 1))}


def flatten_params(params) -> dict[str, np.ndarray]:
    """{'params/Dense_0/kernel': array, ...}: an npz-friendly view of a flax params tree."""
    leaves = jax.tree_util.tree_flatten_with_path(jax.device_get(params))[0]
    return {
        "/".join(str(getattr(k, "key", k)) for k in path): np.asarray(leaf) for path, leaf in leaves
    }


def policy_returns(task: BCTask, params, key: jax.Array, num_seeds: int) -> np.ndarray:
    fn = jax.jit(jax.vmap(task.episode_return, in_axes=(None, 0)))
    return np.asarray(fn(params, jax.random.split(key, num_seeds)))


def run_neuroevolve(
    config: DistillConfig,
    out: str | Path,
    quiet: bool = False,
    resume: bool = False,
    checkpoint: CheckpointPolicy | None = None,
) -> dict[str, Any]:
    run = open_run(config, out, resume, "neuroevolve")
    problem = NeuroevolutionProblem(task_from_config(config))
    result = evolve_run(
        problem,
        es_config_from(config),
        run,
        generations=config.generations,
        seed=config.seed,
        chunk_size=config.chunk_size,
        quiet=quiet,
        resume=resume,
        checkpoint=checkpoint,
        fingerprint=run_fingerprint(config),
        command="neuroevolve",
    )
    params = result.strategy.mean(result.es_state)
    if jax.process_index() == 0:
        np.savez_compressed(run.path / "policy.npz", **flatten_params(params))
    returns = policy_returns(
        problem.task, params, jax.random.fold_in(jax.random.key(config.seed), 0x5E7),
        config.retrain_inits,
    )  # fmt: skip
    history = result.history
    summary = {
        "env": config.env,
        "variant": "neuroevolution",
        "policy": str(run.path / "policy.npz"),
        "num_params": int(sum(np.size(x) for x in jax.tree.leaves(params))),
        "generations": config.generations,
        "final_es_mean_fitness": history["es_mean"][-1] if history["es_mean"] else None,
        "first_generation_es_mean_reached_max": _first_reaching(history["es_mean"]),
        # Same key names as distill's report: here the ES mean policy on fresh eval seeds.
        "retrain_inits": config.retrain_inits,
        "retrain_return_mean": float(returns.mean()),
        "retrain_return_std": float(returns.std()),
        "retrain_returns": returns.tolist(),
        "evolve_seconds": result.seconds,
        "devices": result.devices,
        "processes": jax.process_count(),
    }
    run.write_summary(summary)
    return summary
