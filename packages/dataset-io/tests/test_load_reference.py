"""load_reference on a small fake reference folder built like the paper's (npz + MANIFEST.json)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hades_dataset_io import (
    DatasetShapeError,
    ManifestError,
    NotADatasetError,
    find_manifest,
    load_dataset,
    load_reference,
    save_dataset,
)

RECIPES = {
    "brax_bc_gaussian": {"optimizer": "adam + clip"},
    "minatar_bc_categorical": {"optimizer": "adam"},
    "mnist_cnn_sgd": {"optimizer": "sgd"},
}


def inner_loop(**changes) -> dict:
    config = {
        "ACTIVATION": "relu",
        "ANNEAL_LR": True,
        "CONST_NORMALIZE_OBS": True,
        "DATA_NOISE": 0.0,
        "GREEDY_ACT": True,
        "LR": 0.03,
        "MAX_GRAD_NORM": 0.5,
        "NORMALIZE_OBS": False,
        "NUM_ENVS": 8,
        "NUM_STEPS": 1024,
        "OVERFIT": True,
        "OVERFIT_SEED": 421,
        "UPDATE_EPOCHS": 32,
        "WIDTH": 256,
    }
    return {**config, **changes}


def minatar_run() -> tuple[dict, dict]:
    """Breakout-like (3 actions), D4: 4 // 3 = 1 target per action, so row 3 is never trained."""
    arrays = {
        "states": np.arange(4 * 6, dtype=np.float32).reshape(4, 6),
        "labels": np.array([0, 1, 2, -1], np.int32),
        "obs_mean": np.full(6, 0.5, np.float32),
        "obs_var": np.full(6, 2.0, np.float32),
        "fitness_over_gen": np.array([1.0, 2.0, 3.0], np.float32),
        "max_fitness_over_gen": np.array([2.0, 3.0, 4.5], np.float32),
    }
    run = {
        "file": "minatar/overfit/Breakout-MinAtar/D4/seed1.npz",
        "domain": "minatar",
        "env": "Breakout-MinAtar",
        "variant": "HaDES-F",
        "recipe": "minatar_bc_categorical",
        "dataset_size": 4,
        "n_used": 3,
        "n_actions": 3,
        "obs_shape": [6],
        "obs_shape_unflattened": [1, 2, 3],
        "obs_normalization": "const",
        "inner_loop": inner_loop(FFWD_LAYERS=2),
        "es": {
            "strategy": "SNES",
            "popsize": 2048,
            "rollouts_per_candidate": 1,
            "n_generations": 3,
            "sigma_init": 0.5,
            "sigma_decay": 1.0,
            "sigma_limit": 0.01,
            "lrate_init": 0.05,
            "lrate_decay": 1.0,
            "temperature": 20.0,
        },
        "fitness": {"final_mean_fitness": 3.0, "final_max_fitness": 4.5},
    }
    return run, arrays


def brax_run() -> tuple[dict, dict]:
    arrays = {
        "states": np.ones((2, 3), np.float32),
        "actions": np.full((2, 2), 0.5, np.float32),
        "fitness_over_gen": np.array([10.0, 20.0], np.float32),
        "max_fitness_over_gen": np.array([15.0, 25.0], np.float32),
    }
    run = {
        "file": "brax/distill/reacher/D2/seed0.npz",
        "domain": "brax",
        "env": "reacher",
        "variant": "HaDES-R",
        "recipe": "brax_bc_gaussian",
        "dataset_size": 2,
        "n_used": 2,
        "action_dim": 2,
        "obs_shape": [3],
        "obs_normalization": "running",
        "inner_loop": inner_loop(
            ACTIVATION="tanh",
            ANNEAL_LR=False,
            CONST_NORMALIZE_OBS=False,
            NORMALIZE_OBS=True,
            GREEDY_ACT=False,
            LR=0.005,
            NUM_ENVS=4,
            OVERFIT=False,
            OVERFIT_SEED=0,
            UPDATE_EPOCHS=400,
            WIDTH=512,
        ),
        "es": {
            "strategy": "OpenES",
            "popsize": 2048,
            "rollouts_per_candidate": 2,
            "n_generations": 2,
            "sigma_init": 0.03,
            "sigma_decay": 1.0,
            "lrate_init": 0.05,
        },
        "fitness": {"final_mean_fitness": 20.0, "final_max_fitness": 25.0},
    }
    return run, arrays


def mnist_run() -> tuple[dict, dict]:
    arrays = {
        "states": np.zeros((10, 28, 28, 1), np.float32),
        "labels": np.arange(10, dtype=np.int32),
        "fitness_over_gen": np.array([0.2, 0.1], np.float32),
    }
    inner = {
        "ACTIVATION": "relu",
        "ANNEAL_LR": False,
        "DATA_NOISE": 0.0,
        "LR": 0.1,
        "MOMENTUM": 0,
        "NET": "CNN",
        "OVERFIT": False,
        "OVERFIT_SEED": 0,
        "UPDATE_EPOCHS": 1000,
        "WIDTH": 128,
    }
    run = {
        "file": "mnist/FashionMNIST/D10/seed2.npz",
        "domain": "mnist",
        "env": "FashionMNIST",
        "variant": "HaDES-R (image classification; random init)",
        "recipe": "mnist_cnn_sgd",
        "dataset_size": 10,
        "n_used": 10,
        "n_classes": 10,
        "obs_shape": [28, 28, 1],
        "obs_normalization": "pixels in [0,1] scale",
        "inner_loop": inner,
        "es": {"strategy": "OpenES", "popsize": 512, "rollouts_per_candidate": 2},
        "fitness": {"final_mean_fitness": 0.1},
    }
    return run, arrays


@pytest.fixture
def reference_dir(tmp_path):
    """A fake reference folder: MANIFEST.json at the top, one npz per run below it."""
    root = tmp_path / "reference"
    runs = []
    for run, arrays in (minatar_run(), brax_run(), mnist_run()):
        run["arrays"] = {name: list(array.shape) for name, array in arrays.items()}
        path = root / run["file"]
        path.parent.mkdir(parents=True)
        np.savez_compressed(path, **arrays)
        runs.append(run)
    manifest = {"repo": "https://example.org/repo", "commit": "abc", "recipes": RECIPES}
    (root / "MANIFEST.json").write_text(json.dumps({**manifest, "runs": runs}))
    return root


def test_minatar_run_drops_untrained_rows(reference_dir):
    ds = load_reference(reference_dir / "minatar/overfit/Breakout-MinAtar/D4/seed1.npz")
    np.testing.assert_array_equal(ds.labels, [0, 1, 2])
    np.testing.assert_array_equal(ds.states, np.arange(18, dtype=np.float32).reshape(3, 6))
    np.testing.assert_array_equal(ds.obs_mean, np.full(6, 0.5))
    np.testing.assert_array_equal(ds.obs_var, np.full(6, 2.0))
    assert ds.actions is None
    meta = ds.meta
    assert meta["env_id"] == "Breakout-MinAtar" and meta["variant"] == "F"
    assert meta["obs_shape"] == [6] and meta["obs_norm"] == "const"
    assert meta["action"] == {"kind": "discrete", "num_actions": 3}
    assert meta["policy"] == {"kind": "categorical", "width": 256, "depth": 2, "activation": "relu"}
    assert meta["fit"] == {
        "steps": 32,
        "lr": 0.03,
        "optimizer": "adam",
        "momentum": 0.0,
        "adam_eps": 1e-5,
        "max_grad_norm": None,
        "anneal_lr": False,
        "data_noise": 0.0,
        "loss_scale": 1 / 3,
    }
    assert meta["eval"] == {"num_envs": 8, "num_steps": 1024, "greedy": True}
    assert meta["es"] == {
        "strategy": "snes",
        "popsize": 2048,
        "sigma_init": 0.5,
        "sigma_decay": 1.0,
        "sigma_limit": 0.01,
        "lr_init": 0.05,
        "lr_decay": 1.0,
        "temperature": 20.0,
    }
    assert meta["fitness_history"] == {"mean": [1.0, 2.0, 3.0], "max": [2.0, 3.0, 4.5]}
    source = meta["source"]
    assert source["kind"] == "reference" and source["variant_name"] == "HaDES-F"
    assert (source["rows_stored"], source["rows_used"], source["rows_dropped"]) == (4, 3, 1)
    assert "never trained" in source["rows_dropped_reason"]
    assert source["inner_init"] == {"mode": "fixed", "seed": 421}
    assert (source["final_mean_fitness"], source["final_max_fitness"]) == (3.0, 4.5)
    assert source["raw_obs_shape"] == [1, 2, 3]
    assert source["recipe"] == RECIPES["minatar_bc_categorical"]
    assert source["run"]["file"] == "minatar/overfit/Breakout-MinAtar/D4/seed1.npz"
    assert source["commit"] == "abc"


def test_brax_run(reference_dir):
    ds = load_reference(reference_dir / "brax/distill/reacher/D2/seed0.npz")
    assert ds.states.shape == (2, 3) and ds.actions.shape == (2, 2) and ds.labels is None
    assert ds.obs_mean is None and ds.obs_var is None
    meta = ds.meta
    assert (meta["env_id"], meta["variant"], meta["obs_norm"]) == ("reacher", "R", "running")
    assert meta["action"] == {"kind": "continuous", "dim": 2, "low": [-1.0] * 2, "high": [1.0] * 2}
    assert meta["policy"] == {"kind": "gaussian", "width": 512, "depth": 2, "activation": "tanh"}
    fit = meta["fit"]
    assert (fit["steps"], fit["lr"], fit["max_grad_norm"], fit["loss_scale"]) == (
        400,
        0.005,
        0.5,
        1,
    )
    assert fit["anneal_lr"] is False and fit["optimizer"] == "adam"
    assert meta["eval"] == {"num_envs": 4, "num_steps": 1024, "greedy": False}
    assert meta["es"]["strategy"] == "open_es" and meta["es"]["antithetic"] is True
    assert meta["source"]["inner_init"] == {"mode": "random", "rollouts_per_candidate": 2}
    assert meta["source"]["rows_dropped"] == 0 and "rows_dropped_reason" not in meta["source"]


def test_mnist_run(reference_dir):
    ds = load_reference(reference_dir / "mnist/FashionMNIST/D10/seed2.npz")
    assert ds.states.shape == (10, 28, 28, 1)
    np.testing.assert_array_equal(ds.labels, np.arange(10))
    meta = ds.meta
    assert meta["env_id"] == "fashion-mnist" and meta["obs_norm"] == "none"
    assert meta["action"] == {"kind": "discrete", "num_actions": 10}
    assert meta["policy"]["kind"] == "cnn"
    assert meta["fit"]["optimizer"] == "sgd" and meta["fit"]["momentum"] == 0.0
    assert meta["fit"]["loss_scale"] == 0.1 and meta["fit"]["steps"] == 1000
    assert meta["fitness_history"] == {"mean": pytest.approx([0.2, 0.1])}
    assert meta["source"]["objective"] == "minimise"
    assert meta["source"]["final_mean_fitness"] == pytest.approx(0.1)
    assert "final_max_fitness" not in meta["source"]


def test_reference_survives_save_and_load(reference_dir, tmp_path):
    ds = load_reference(reference_dir / "minatar/overfit/Breakout-MinAtar/D4/seed1.npz")
    loaded = load_dataset(save_dataset(tmp_path / "copy.npz", ds))
    assert loaded.meta == ds.meta
    np.testing.assert_array_equal(loaded.states, ds.states)


def test_explicit_manifest_path(reference_dir):
    npz = reference_dir / "brax/distill/reacher/D2/seed0.npz"
    assert find_manifest(npz) == reference_dir.resolve() / "MANIFEST.json"
    ds = load_reference(npz, manifest_path=reference_dir / "MANIFEST.json")
    assert ds.env_id == "reacher"


def test_reference_npz_is_not_a_hades_dataset(reference_dir):
    with pytest.raises(NotADatasetError, match="load_reference"):
        load_dataset(reference_dir / "brax/distill/reacher/D2/seed0.npz")


def test_no_manifest_above(tmp_path):
    path = tmp_path / "lonely.npz"
    np.savez(path, states=np.ones((1, 2)))
    with pytest.raises(ManifestError, match="manifest_path="):
        load_reference(path)


def test_npz_not_in_manifest(reference_dir):
    path = reference_dir / "brax/distill/reacher/D2/seed9.npz"
    np.savez(path, states=np.ones((1, 2)))
    with pytest.raises(
        ManifestError, match=r"no run with file 'brax/distill/reacher/D2/seed9\.npz'"
    ):
        load_reference(path)


def test_npz_that_differs_from_its_manifest_entry(reference_dir):
    path = reference_dir / "brax/distill/reacher/D2/seed0.npz"
    np.savez(path, states=np.ones((3, 3), np.float32), actions=np.ones((3, 2), np.float32))
    with pytest.raises(DatasetShapeError, match="re-fetch the reference folder"):
        load_reference(path)
