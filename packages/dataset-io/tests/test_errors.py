"""Each way a dataset file can be wrong raises its own error class, naming the file and the fix."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest

from hades_dataset_io import (
    META_KEY,
    CorruptDatasetError,
    DatasetError,
    DatasetNotFoundError,
    DatasetShapeError,
    IncompatibleDatasetError,
    InvalidMetaError,
    NonFiniteValuesError,
    NotADatasetError,
    PickledDataError,
    SchemaVersionError,
    SyntheticDataset,
    check_compatible,
    env_action_spec,
    load_dataset,
    save_dataset,
    validate_dataset,
)


def good_meta(**changes) -> dict:
    meta = {
        "schema_version": 1,
        "env_id": "Breakout-MinAtar",
        "obs_shape": [5],
        "action": {"kind": "discrete", "num_actions": 3},
        "obs_norm": "const",
    }
    return {**meta, **changes}


def good_arrays(**changes) -> dict:
    arrays = {
        "states": np.ones((6, 5), np.float32),
        "labels": np.array([0, 0, 1, 1, 2, 2], np.int32),
        "obs_mean": np.zeros(5, np.float32),
        "obs_var": np.ones(5, np.float32),
    }
    arrays.update(changes)
    return {name: array for name, array in arrays.items() if array is not None}


def write_raw(path, meta, **arrays):
    """An npz written without save_dataset's checks, as a buggy or foreign writer would."""
    with open(path, "wb") as file:
        np.savez_compressed(file, **arrays, **{META_KEY: np.array(json.dumps(meta))})
    return path


def load_error(path, error_class) -> str:
    with pytest.raises(error_class) as info:
        load_dataset(path)
    message = str(info.value)
    assert str(path) in message
    assert isinstance(info.value, DatasetError) and isinstance(info.value, ValueError)
    return message


def test_the_raw_writer_makes_valid_files(tmp_path):
    ds = load_dataset(write_raw(tmp_path / "ok.npz", good_meta(), **good_arrays()))
    assert ds.size == 6


def test_missing_file(tmp_path):
    message = load_error(tmp_path / "nope.npz", DatasetNotFoundError)
    assert "check the path" in message
    with pytest.raises(FileNotFoundError):
        load_dataset(tmp_path / "nope.npz")


def test_directory_is_not_a_file(tmp_path):
    assert "pass the path of the .npz file" in load_error(tmp_path, DatasetNotFoundError)


def test_not_a_zip(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("hello, not a zip")
    assert "not a zip/npz" in load_error(path, CorruptDatasetError)


def test_truncated_file(tmp_path):
    path = write_raw(tmp_path / "ds.npz", good_meta(), **good_arrays())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert "restore the file from a copy" in load_error(path, CorruptDatasetError)


def test_damaged_compressed_data(tmp_path):
    rng = np.random.default_rng(0)
    states = rng.normal(size=(6, 5)).astype(np.float32)
    path = write_raw(tmp_path / "ds.npz", good_meta(), **good_arrays(states=states))
    data = bytearray(path.read_bytes())
    start = data.index(b"states.npy") + 80  # inside the deflated states member
    data[start : start + 16] = bytes(16)
    path.write_bytes(bytes(data))
    assert "damaged" in load_error(path, CorruptDatasetError)


def test_meta_not_json(tmp_path):
    path = tmp_path / "ds.npz"
    np.savez_compressed(path, states=np.ones((1, 2)), **{META_KEY: np.array("{not json")})
    assert "not valid JSON" in load_error(path, CorruptDatasetError)


def test_npz_without_meta(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, x=np.ones(3))
    message = load_error(path, NotADatasetError)
    assert "save_dataset" in message and "load_reference" not in message


def test_reference_style_npz_points_to_load_reference(tmp_path):
    path = tmp_path / "seed0.npz"
    np.savez(path, states=np.ones((2, 3)), fitness_over_gen=np.ones(10))
    assert "load_reference" in load_error(path, NotADatasetError)


def test_lone_npy_file(tmp_path):
    path = tmp_path / "array.npz"
    with open(path, "wb") as file:
        np.save(file, np.ones(3))
    assert "single .npy" in load_error(path, NotADatasetError)


class MakesDirectoryWhenUnpickled:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_pickle_inside_npz_is_rejected_not_loaded(tmp_path):
    marker = tmp_path / "unpickled"
    payload = np.array([MakesDirectoryWhenUnpickled(marker)], dtype=object)
    path = tmp_path / "evil.npz"
    with open(path, "wb") as file:
        arrays = {**good_arrays(), "labels": payload}
        np.savez(file, **arrays, **{META_KEY: np.array(json.dumps(good_meta()))})
    assert "never loaded" in load_error(path, PickledDataError)
    assert not marker.exists()


def test_raw_pickle_file_is_rejected_not_loaded(tmp_path):
    marker = tmp_path / "unpickled"
    path = tmp_path / "data_final.pkl"
    path.write_bytes(pickle.dumps(MakesDirectoryWhenUnpickled(marker), protocol=4))
    assert "load_reference" in load_error(path, PickledDataError)
    assert not marker.exists()


def test_newer_schema_version(tmp_path):
    path = write_raw(tmp_path / "ds.npz", good_meta(schema_version=2), **good_arrays())
    assert "upgrade hades-dataset-io" in load_error(path, SchemaVersionError)


@pytest.mark.parametrize("version", [None, "1", 0, 1.0])
def test_bad_schema_version(tmp_path, version):
    meta = {k: v for k, v in good_meta(schema_version=version).items() if v is not None}
    path = write_raw(tmp_path / "ds.npz", meta, **good_arrays())
    assert "save_dataset" in load_error(path, SchemaVersionError)


def test_save_refuses_newer_schema(tmp_path):
    ds = SyntheticDataset(np.ones((1, 2)), labels=[0], meta={"schema_version": 99})
    with pytest.raises(SchemaVersionError, match="upgrade"):
        save_dataset(tmp_path / "ds.npz", ds)


SHAPE_CASES = {
    "states_vs_obs_shape": (good_meta(obs_shape=[4]), {}, r"meta\['obs_shape'\] is \[4\]"),
    "labels_length": ({}, {"labels": np.zeros(5, np.int32)}, "one per state"),
    "labels_out_of_range": ({}, {"labels": np.array([0, 1, 2, 3, 0, 1])}, r"in \[0, 2\]"),
    "negative_labels": ({}, {"labels": np.array([0, 1, 2, 0, 1, -1])}, "drop those rows"),
    "obs_mean_shape": ({}, {"obs_mean": np.zeros(4, np.float32)}, r"must be \(5,\)"),
    "obs_var_missing": ({}, {"obs_var": None}, "give both"),
    "const_without_stats": ({}, {"obs_mean": None, "obs_var": None}, "obs_norm"),
    "stats_without_const": (good_meta(obs_norm="running"), {}, "set obs_norm to 'const'"),
    "no_targets": ({}, {"labels": None}, "neither labels nor actions"),
    "states_1d": (good_meta(obs_shape=[]), {"states": np.ones(6, np.float32)}, "leading axis"),
    "actions_dim": (
        good_meta(action={"kind": "continuous", "dim": 2}),
        {"labels": None, "actions": np.zeros((6, 3), np.float32)},
        r"must be \(n, 2\)",
    ),
    "labels_for_continuous": (
        good_meta(action={"kind": "continuous", "dim": 2}),
        {"actions": np.zeros((6, 2), np.float32)},
        "no `labels`",
    ),
    "unexpected_array": ({}, {"extra": np.ones(2)}, "unexpected arrays"),
}


@pytest.mark.parametrize("case", sorted(SHAPE_CASES))
def test_arrays_contradicting_meta(tmp_path, case):
    meta, changes, fix = SHAPE_CASES[case]
    path = write_raw(tmp_path / "ds.npz", meta or good_meta(), **good_arrays(**changes))
    load_error(path, DatasetShapeError)
    with pytest.raises(DatasetShapeError, match=fix):
        load_dataset(path)


@pytest.mark.parametrize("name", ["states", "actions", "obs_var"])
def test_non_finite_values(tmp_path, name):
    meta = good_meta(action={"kind": "discrete", "num_actions": 3})
    arrays = good_arrays(actions=np.zeros((6, 3), np.float32))
    arrays[name] = arrays[name].copy()
    arrays[name].flat[1] = np.nan if name != "obs_var" else np.inf
    path = write_raw(tmp_path / "ds.npz", meta, **arrays)
    assert "NaN/inf" in load_error(path, NonFiniteValuesError)


def test_save_refuses_non_finite(tmp_path):
    states = np.ones((6, 5), np.float32)
    states[0, 0] = np.inf
    ds = SyntheticDataset(**good_arrays(states=states), meta=good_meta())
    with pytest.raises(NonFiniteValuesError, match=str(tmp_path)):
        save_dataset(tmp_path / "ds.npz", ds)
    assert not (tmp_path / "ds.npz").exists()


@pytest.mark.parametrize(
    ("changes", "fix"),
    [
        ({"obs_norm": "batch"}, "use one of"),
        ({"action": {"kind": "discrete"}}, "positive int"),
        ({"action": {"kind": "beta"}}, "must be"),
        ({"obs_shape": [5.0]}, "positive ints"),
        ({"fit": [1, 2]}, "must be a dict"),
        ({"env_id": 3}, "must be a string"),
    ],
)
def test_malformed_meta(tmp_path, changes, fix):
    path = write_raw(tmp_path / "ds.npz", good_meta(**changes), **good_arrays())
    load_error(path, InvalidMetaError)
    with pytest.raises(InvalidMetaError, match=fix):
        load_dataset(path)


def test_construction_checks_structure():
    with pytest.raises(DatasetShapeError, match="SyntheticDataset: labels"):
        SyntheticDataset(np.ones((3, 2)), labels=[0, 1])
    with pytest.raises(DatasetShapeError, match="non-integer"):
        SyntheticDataset(np.ones((2, 2)), labels=[0.5, 1])
    with pytest.raises(DatasetShapeError, match="real numbers"):
        SyntheticDataset(np.array([["a"]]), labels=[0])


def test_validate_dataset_returns_the_dataset():
    ds = SyntheticDataset(**good_arrays(), meta=good_meta())
    assert validate_dataset(ds) is ds
    in_memory = SyntheticDataset(np.ones((2, 3)), labels=[0, 1])  # no meta yet: fine
    assert validate_dataset(in_memory) is in_memory
    two_actions = good_meta(action={"kind": "discrete", "num_actions": 2})
    with pytest.raises(DatasetShapeError, match="in memory: labels go up to 2"):
        validate_dataset(SyntheticDataset(**good_arrays(), meta=two_actions), "in memory")


def continuous_ds() -> SyntheticDataset:
    action = {"kind": "continuous", "dim": 2, "low": [-1.0, -1.0], "high": [1.0, 1.0]}
    return SyntheticDataset(
        np.zeros((3, 4)), actions=np.zeros((3, 2)), meta={"env_id": "reacher", "action": action}
    )


def test_check_compatible_accepts_matching_env():
    discrete = SyntheticDataset(**good_arrays(), meta=good_meta())
    check_compatible(discrete, (5,), {"kind": "discrete", "num_actions": 3})
    check_compatible(
        continuous_ds(), [4], {"kind": "continuous", "dim": 2, "low": (-1, -1), "high": (1, 1)}
    )


@pytest.mark.parametrize(
    ("obs_shape", "spec", "fix"),
    [
        ((6,), {"kind": "discrete", "num_actions": 3}, "obs_shape"),
        ((1, 5), {"kind": "discrete", "num_actions": 3}, "reshape"),
        ((5,), {"kind": "discrete", "num_actions": 4}, "meta\\['action'\\]"),
        ((5,), {"kind": "continuous", "dim": 3}, "meta\\['action'\\]"),
    ],
)
def test_check_compatible_rejects_other_env(obs_shape, spec, fix):
    ds = SyntheticDataset(**good_arrays(), meta=good_meta())
    with pytest.raises(IncompatibleDatasetError, match=fix) as info:
        check_compatible(ds, obs_shape, spec)
    assert "Breakout-MinAtar" in str(info.value) and "distil" in str(info.value)


def test_check_compatible_without_meta_action_uses_targets():
    ds = SyntheticDataset(np.zeros((3, 4)), labels=[0, 1, 4])
    with pytest.raises(IncompatibleDatasetError, match="labels go up to 4"):
        check_compatible(ds, (4,), {"kind": "discrete", "num_actions": 3})
    with pytest.raises(IncompatibleDatasetError, match="continuous"):
        check_compatible(ds, (4,), {"kind": "continuous", "dim": 2})


def test_check_compatible_bounds_and_env_adapter_spec():
    class FakeBraxAdapter:
        discrete = False
        action_dim = 2
        action_low = -1.0
        action_high = np.array([1.0, 1.0], np.float32)

    spec = env_action_spec(FakeBraxAdapter())
    assert spec == {"kind": "continuous", "dim": 2, "low": [-1.0, -1.0], "high": [1.0, 1.0]}
    check_compatible(continuous_ds(), (4,), spec)
    with pytest.raises(IncompatibleDatasetError, match="reacher"):
        check_compatible(continuous_ds(), (4,), {**spec, "high": [2.0, 2.0]})

    class FakeMinAtarAdapter:
        discrete = True
        num_actions = np.int32(6)

    assert env_action_spec(FakeMinAtarAdapter()) == {"kind": "discrete", "num_actions": 6}
