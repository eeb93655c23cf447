"""Retraining the paper's published datasets reproduces their recorded fitness (>= 90%).

Data: $HADES_SHARED/reference (default: the `shared` folder next to the repository); skipped when
it is absent. The code path is `hades evaluate`'s (open_dataset -> task_from_dataset -> the
task's train + evaluate) with each file's recorded recipe and the paper's evaluation: brax on
the positional backend, 4 envs x 1024 steps, sampled actions, constant observation statistics
shipped with the file; MinAtar 8 envs x 1024 steps, sampled actions.

Cheapest faithful protocol: per environment, ONE jitted function vmapped over the three seeds'
datasets and a few retrainings each (the recipes, statistics and shapes of the three seeds are
equal, which is asserted), so each environment compiles once. Cost on the 2-core machine (load
average ~6 from other jobs): 162 s CPU / 273 s wall with a cold compile cache, 61 s CPU / 102 s
wall with a warm one (see conftest.py).

* brax hopper / walker2d D4 are HaDES-R datasets: every retraining starts from a fresh init.
* SpaceInvaders-MinAtar D16 HaDES-F datasets retrain from their recorded fixed init
  (PRNGKey(OVERFIT_SEED), drawn with jax 0.4's PRNG) on gymnax 0.0.x's SpaceInvaders rules,
  which `load_reference` records in the file's env_options. With gymnax 1.0's rules the same
  policies score 3 / 7 / 14 (checked below); with both that and today's PRNG for the init,
  seed 0 "retrained to 0.0" before (packages/env-adapters/README.md).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hades.evaluate import (
    genome_of,
    open_dataset,
    recorded_fixed_init_seed,
    task_from_dataset,
)
from hades_env_adapters import make_env

pytestmark = pytest.mark.reference

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("HADES_SHARED", REPO_ROOT.parent / "shared"))
REFERENCE = SHARED / "reference"
BRAX = "brax/distill/{env}/D4/seed{seed}.npz"
INVADERS = (
    "minatar/virtual_batch_norm/overfit/SpaceInvaders-MinAtar/D16/greedy_actFalse/seed{seed}.npz"
)
SEEDS = (0, 1, 2)
BRAX_INITS = 4  # fresh inits per brax dataset (their returns vary by ~1-3%)
INVADERS_EPISODES = 2  # evaluation seeds per SpaceInvaders dataset (one fixed init each)
FRACTION = 0.9

if not (REFERENCE / BRAX.format(env="hopper", seed=0)).is_file():
    pytest.skip(f"no reference datasets at {REFERENCE}", allow_module_level=True)


def _load(pattern: str, **names) -> list:
    return [open_dataset(REFERENCE / pattern.format(seed=seed, **names)) for seed in SEEDS]


def _one_task(datasets):
    """The task all seeds share (asserted): one compiled function serves them all."""
    tasks = [task_from_dataset(ds) for ds in datasets]
    assert all(task == tasks[0] for task in tasks)
    for ds in datasets[1:]:
        np.testing.assert_array_equal(ds.obs_mean, datasets[0].obs_mean)
        np.testing.assert_array_equal(ds.obs_var, datasets[0].obs_var)
    return tasks[0]


def _stacked_genomes(datasets):
    return jax.tree.map(lambda *xs: jnp.stack(xs), *[genome_of(ds) for ds in datasets])


def _recorded(ds) -> float:
    return float(ds.meta["source"]["final_mean_fitness"])


def _check(datasets, returns, label: str) -> None:
    figures = [
        f"seed{seed}: {r.mean():.1f} (recorded {_recorded(ds):.1f}, "
        f"{100 * r.mean() / _recorded(ds):.0f}%)"
        for seed, ds, r in zip(SEEDS, datasets, returns, strict=True)
    ]
    print(f"{label}: " + "; ".join(figures))
    for seed, ds, r in zip(SEEDS, datasets, returns, strict=True):
        assert r.mean() >= FRACTION * _recorded(ds), f"{label} seed{seed}: " + "; ".join(figures)


@pytest.mark.parametrize("env_id", ["hopper", "walker2d"])
def test_brax_d4_hades_r_datasets_reach_their_recorded_fitness(env_id):
    datasets = _load(BRAX, env=env_id)
    task = _one_task(datasets)
    assert task.env == make_env(env_id, backend="positional")
    assert (task.num_envs, task.num_steps, task.greedy, task.obs_norm_mode) == (
        4,
        1024,
        False,
        "const",
    )
    assert all(recorded_fixed_init_seed(ds) is None for ds in datasets)  # HaDES-R

    per_dataset = jax.vmap(task.dataset_return, in_axes=(None, 0, 0, 0, None))
    fn = jax.jit(jax.vmap(per_dataset, in_axes=(0, 0, 0, 0, None)))
    keys = jax.random.split(jax.random.key(0), (3, len(SEEDS), BRAX_INITS))
    returns, _ = fn(_stacked_genomes(datasets), keys[0], keys[1], keys[2], None)
    _check(datasets, np.asarray(returns), f"{env_id} D4")


@pytest.fixture(scope="module")
def invaders():
    datasets = _load(INVADERS)
    task = _one_task(datasets)
    init_keys = jnp.stack([jax.random.key(recorded_fixed_init_seed(ds)) for ds in datasets])
    labels = jnp.asarray(datasets[0].labels, jnp.int32)
    for ds in datasets:
        np.testing.assert_array_equal(ds.labels, labels)  # 4 x noop, left, right, fire

    def returns(task):
        def one(genome, init_key, eval_key):
            return task.dataset_return(genome, init_key, eval_key, eval_key, labels)[0]

        per_dataset = jax.vmap(one, in_axes=(None, None, 0))
        fn = jax.jit(jax.vmap(per_dataset, in_axes=(0, 0, 0)))
        keys = jax.random.split(jax.random.key(0), (len(SEEDS), INVADERS_EPISODES))
        return np.asarray(fn(_stacked_genomes(datasets), init_keys, keys))

    return datasets, task, returns


def test_space_invaders_hades_f_d16_retrains_from_its_recorded_init(invaders):
    datasets, task, returns = invaders
    assert [recorded_fixed_init_seed(ds) for ds in datasets] == [420, 421, 422]
    assert all(ds.meta["env_options"] == {"dynamics": "gymnax-0.0"} for ds in datasets)
    assert task.env == make_env("SpaceInvaders-MinAtar", dynamics="gymnax-0.0")
    assert (task.num_envs, task.num_steps, task.greedy, task.obs_norm_mode) == (
        8,
        1024,
        False,
        "const",
    )
    _check(datasets, returns(task), "SpaceInvaders-MinAtar HaDES-F D16")


def test_space_invaders_fails_on_gymnax_1_rules(invaders):
    """The documented cause: the same policies on gymnax 1.0's SpaceInvaders score far less."""
    datasets, task, returns = invaders
    current = dataclasses.replace(task, env=make_env("SpaceInvaders-MinAtar"))
    scores = returns(current).mean(axis=1)
    print("SpaceInvaders-MinAtar HaDES-F D16 on gymnax 1.0 rules:", np.round(scores, 1))
    assert all(s < 0.5 * _recorded(ds) for s, ds in zip(scores, datasets, strict=True))
