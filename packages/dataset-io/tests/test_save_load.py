"""Round trips of save_dataset/load_dataset and the metadata conversion."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from hades_dataset_io import (
    META_KEY,
    SCHEMA_VERSION,
    InvalidMetaError,
    SyntheticDataset,
    __version__,
    load_dataset,
    save_dataset,
)


def discrete_meta() -> dict:
    return {
        "schema_version": 1,
        "hades_version": "0.1.0",
        "env_id": "SpaceInvaders-MinAtar",
        "variant": "F",
        "obs_shape": [6],
        "action": {"kind": "discrete", "num_actions": 4},
        "obs_norm": "none",
        "policy": {"kind": "categorical", "width": 64, "depth": 2, "activation": "relu"},
        "fit": {
            "steps": 64,
            "lr": 0.03,
            "optimizer": "adam",
            "momentum": 0.0,
            "adam_eps": 1e-5,
            "max_grad_norm": None,
            "anneal_lr": False,
            "data_noise": 0.0,
            "loss_scale": 1 / 3,
        },
        "eval": {"num_envs": 8, "num_steps": 1024, "greedy": False},
        "es": {"strategy": "snes", "popsize": 64, "sigma_init": 0.5, "temperature": 20.0},
        "fitness_history": {"mean": [0.1, 0.2, 1e-300, -3.5], "max": [1.0, 2.0, 3.0, 4.0]},
        "source": {"note": "ünïcode ✓", "nested": [[1, 2], {"a": None}], "empty": {}},
    }


def continuous_meta() -> dict:
    return {
        "schema_version": 1,
        "env_id": "hopper",
        "variant": "R",
        "obs_shape": [3],
        "action": {"kind": "continuous", "dim": 2, "low": [-1.0, -1.0], "high": [1.0, 1.0]},
        "obs_norm": "const",
    }


def discrete_dataset() -> SyntheticDataset:
    rng = np.random.default_rng(0)
    return SyntheticDataset(
        states=rng.normal(size=(8, 6)).astype(np.float32),
        labels=np.repeat(np.arange(4), 2),
        meta=discrete_meta(),
    )


def continuous_dataset() -> SyntheticDataset:
    rng = np.random.default_rng(1)
    return SyntheticDataset(
        states=rng.normal(size=(4, 3)),
        actions=rng.uniform(-1, 1, size=(4, 2)),
        obs_mean=np.array([0.5, -1.0, 2.0]),
        obs_var=np.array([1.0, 0.25, 4.0]),
        meta=continuous_meta(),
    )


def test_discrete_round_trip(tmp_path):
    ds = discrete_dataset()
    path = save_dataset(tmp_path / "ds.npz", ds)
    loaded = load_dataset(path)
    np.testing.assert_array_equal(loaded.states, ds.states)
    np.testing.assert_array_equal(loaded.labels, ds.labels)
    assert loaded.states.dtype == np.float32 and loaded.labels.dtype == np.int32
    assert loaded.actions is None and loaded.obs_mean is None and loaded.obs_var is None
    assert loaded.meta == ds.meta
    assert loaded.size == 8 and loaded.env_id == "SpaceInvaders-MinAtar"


def test_continuous_round_trip_with_obs_stats(tmp_path):
    ds = continuous_dataset()
    loaded = load_dataset(save_dataset(tmp_path / "ds.npz", ds))
    for name in ("states", "actions", "obs_mean", "obs_var"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(ds, name))
        assert getattr(loaded, name).dtype == np.float32
    assert loaded.labels is None
    assert loaded.meta == {**ds.meta, "hades_version": __version__}


def test_meta_survives_exactly(tmp_path):
    meta = discrete_meta()
    loaded = load_dataset(save_dataset(tmp_path / "ds.npz", discrete_dataset()))
    assert loaded.meta == meta
    assert loaded.meta["fit"]["loss_scale"] == 1 / 3
    assert loaded.meta["fit"]["max_grad_norm"] is None
    assert loaded.meta["fitness_history"]["mean"][2] == 1e-300
    assert loaded.meta["source"]["note"] == "ünïcode ✓"


def test_meta_arrays_and_tuples_become_lists():
    meta = {
        **discrete_meta(),
        "fitness_history": {"mean": np.array([1.5, 2.5], np.float32)},
        "obs_shape": (6,),
        "es": {"popsize": np.int64(64), "sigma_init": np.float32(0.5)},
    }
    ds = SyntheticDataset(np.zeros((4, 6)), labels=np.arange(4), meta=meta)
    assert ds.meta["fitness_history"]["mean"] == [1.5, 2.5]
    assert ds.meta["obs_shape"] == [6]
    assert ds.meta["es"] == {"popsize": 64, "sigma_init": 0.5}
    assert type(ds.meta["es"]["popsize"]) is int


def test_non_finite_fitness_history_survives(tmp_path):
    meta = {**discrete_meta(), "fitness_history": {"mean": [1.0, float("nan"), float("-inf")]}}
    ds = SyntheticDataset(np.zeros((8, 6)), labels=np.repeat(np.arange(4), 2), meta=meta)
    history = load_dataset(save_dataset(tmp_path / "ds.npz", ds)).meta["fitness_history"]["mean"]
    assert history[0] == 1.0 and math.isnan(history[1]) and history[2] == -math.inf


def test_meta_that_json_cannot_store_is_rejected():
    with pytest.raises(InvalidMetaError, match=r"meta\['source'\]\['when'\].*JSON"):
        SyntheticDataset(np.zeros((1, 2)), labels=[0], meta={"source": {"when": object()}})
    with pytest.raises(InvalidMetaError, match="non-string key"):
        SyntheticDataset(np.zeros((1, 2)), labels=[0], meta={"source": {1: "x"}})


def test_meta_none_is_empty_and_non_dict_meta_is_rejected():
    assert SyntheticDataset(np.zeros((1, 2)), labels=[0], meta=None).meta == {}
    with pytest.raises(InvalidMetaError, match="meta must be a dict"):
        SyntheticDataset(np.zeros((1, 2)), labels=[0], meta=[("env_id", "x")])


def test_save_fills_versions_and_writes_exact_path(tmp_path):
    ds = SyntheticDataset(np.zeros((2, 3)), labels=[0, 1], meta={"env_id": "x"})
    path = save_dataset(tmp_path / "sub" / "dir" / "my_dataset", ds)
    assert path == tmp_path / "sub" / "dir" / "my_dataset" and path.is_file()
    meta = load_dataset(path).meta
    assert meta == {"schema_version": SCHEMA_VERSION, "hades_version": __version__, "env_id": "x"}
    assert ds.meta == {"env_id": "x"}  # the caller's dataset is not modified


def test_file_is_plain_npz_loadable_without_pickle(tmp_path):
    path = save_dataset(tmp_path / "ds.npz", continuous_dataset())
    with np.load(path, allow_pickle=False) as npz:
        assert set(npz.files) == {"states", "actions", "obs_mean", "obs_var", META_KEY}
        assert npz[META_KEY].dtype.kind == "U" and npz[META_KEY].shape == ()
    with zipfile.ZipFile(path) as archive:
        assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())


def test_save_is_atomic_and_overwrites(tmp_path):
    path = tmp_path / "ds.npz"
    save_dataset(path, discrete_dataset())
    save_dataset(path, continuous_dataset())
    assert load_dataset(path).env_id == "hopper"
    assert os.listdir(tmp_path) == ["ds.npz"]  # no temporary files left behind


def test_failed_save_leaves_previous_file(tmp_path):
    path = save_dataset(tmp_path / "ds.npz", discrete_dataset())
    bad = SyntheticDataset(np.full((8, 6), np.nan), labels=np.zeros(8), meta=discrete_meta())
    with pytest.raises(ValueError):
        save_dataset(path, bad)
    assert load_dataset(path).env_id == "SpaceInvaders-MinAtar"
    assert os.listdir(tmp_path) == ["ds.npz"]


def test_accepts_array_likes_and_converts_dtypes():
    ds = SyntheticDataset([[1, 2], [3, 4]], labels=np.array([0.0, 1.0]), meta={})
    assert ds.states.dtype == np.float32 and ds.labels.dtype == np.int32
    assert ds.obs_shape == (2,) and ds.size == 2
    assert set(ds.arrays()) == {"states", "labels"}


def test_package_does_not_import_jax():
    code = "import sys, hades_dataset_io; assert 'jax' not in sys.modules, 'jax imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
