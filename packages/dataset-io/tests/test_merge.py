"""merge_datasets: zero-padding layout, label shifts, provenance, and the exact inverse."""

from __future__ import annotations

import numpy as np
import pytest

from hades_dataset_io import (
    DatasetError,
    MergeError,
    SyntheticDataset,
    is_merged,
    load_dataset,
    merge_all,
    merge_datasets,
    merged_sources,
    save_dataset,
    select_rows,
    split_merged,
)


def discrete(env_id: str, n: int, d: int, num_actions: int, seed: int = 0, **extra):
    rng = np.random.default_rng(seed)
    return SyntheticDataset(
        states=rng.normal(size=(n, d)).astype(np.float32),
        labels=np.arange(n) % num_actions,
        meta={
            "env_id": env_id,
            "variant": "R",
            "obs_shape": [d],
            "action": {"kind": "discrete", "num_actions": num_actions},
            "obs_norm": "none",
            "policy": {"width": 64, "depth": 2, "activation": "relu"},
            "fit": {"steps": 100, "lr": 0.03},
            "fitness_history": {"mean": [1.0, 2.0]},
            **extra,
        },
    )


def continuous(env_id: str, n: int, d: int, dim: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return SyntheticDataset(
        states=rng.normal(size=(n, d)).astype(np.float32),
        actions=rng.uniform(-1, 1, size=(n, dim)).astype(np.float32),
        meta={
            "env_id": env_id,
            "obs_shape": [d],
            "action": {"kind": "continuous", "dim": dim, "low": [-1.0] * dim, "high": [2.0] * dim},
            "obs_norm": "none",
        },
    )


def with_const_stats(ds: SyntheticDataset) -> SyntheticDataset:
    d = ds.states.shape[1]
    return SyntheticDataset(
        states=ds.states,
        labels=ds.labels,
        actions=ds.actions,
        obs_mean=np.linspace(-1, 1, d, dtype=np.float32) / 3,
        obs_var=np.full(d, 0.7, np.float32),
        meta={**ds.meta, "obs_norm": "const"},
    )


CARTPOLE = discrete("CartPole-v1", 4, 4, 2)
ACROBOT = discrete("Acrobot-v1", 3, 6, 3, seed=1)


def test_discrete_merge_pads_states_and_shifts_labels():
    merged = merge_datasets(CARTPOLE, ACROBOT)
    assert merged.states.shape == (7, 10)
    # A's pairs first, A's features left; zeros wherever the other task's features are.
    np.testing.assert_array_equal(merged.states[:4, :4], CARTPOLE.states)
    np.testing.assert_array_equal(merged.states[4:, 4:], ACROBOT.states)
    assert not merged.states[:4, 4:].any() and not merged.states[4:, :4].any()
    # B's logits sit right of A's: its labels are shifted by A's action count.
    assert merged.labels.tolist() == [0, 1, 0, 1, 2, 3, 4]
    assert merged.actions is None
    assert merged.meta["action"] == {"kind": "discrete", "num_actions": 5}
    assert merged.meta["obs_shape"] == [10] and merged.meta["env_id"] == "CartPole-v1+Acrobot-v1"


def test_provenance_records_where_each_source_lives():
    merged = merge_datasets(CARTPOLE, ACROBOT)
    assert is_merged(merged) and not is_merged(CARTPOLE)
    a, b = merged.meta["merged"]
    assert (a["env_id"], a["rows"], a["obs_slice"], a["action_slice"]) == (
        "CartPole-v1", [0, 4], [0, 4], [0, 2],
    )  # fmt: skip
    assert (b["env_id"], b["rows"], b["obs_slice"], b["action_slice"]) == (
        "Acrobot-v1", [4, 7], [4, 10], [2, 5],
    )  # fmt: skip
    assert b["obs_shape"] == [6] and b["action"] == ACROBOT.meta["action"]
    assert b["meta"] == ACROBOT.meta  # the whole source metadata, fitness curve included
    # The multi-task policy uses the first source's recipe by default.
    assert merged.meta["policy"] == CARTPOLE.meta["policy"]


def test_continuous_merge_pads_actions_with_zeros():
    hopper, walker = continuous("hopper", 2, 11, 3), continuous("walker2d", 3, 17, 6, seed=2)
    merged = merge_datasets(hopper, walker)
    assert merged.actions.shape == (5, 9) and merged.labels is None
    np.testing.assert_array_equal(merged.actions[:2, :3], hopper.actions)
    np.testing.assert_array_equal(merged.actions[2:, 3:], walker.actions)
    assert not merged.actions[:2, 3:].any() and not merged.actions[2:, :3].any()
    spec = merged.meta["action"]
    assert spec["dim"] == 9 and spec["low"] == [-1.0] * 9 and spec["high"] == [2.0] * 9


def test_split_is_the_exact_inverse_through_a_file(tmp_path):
    a, b = with_const_stats(CARTPOLE), ACROBOT
    path = save_dataset(tmp_path / "merged.npz", merge_datasets(a, b))
    merged = load_dataset(path)
    # Each source keeps its own normalisation; the merged file's columns are as stored.
    assert merged.meta["obs_norm"] == "none" and merged.obs_mean is None
    back_a, back_b = split_merged(merged)
    for original, back in ((a, back_a), (b, back_b)):
        for name, array in original.arrays().items():
            np.testing.assert_array_equal(back.arrays()[name], array, err_msg=name)
        assert back.arrays().keys() == original.arrays().keys()
        assert back.meta == original.meta


def test_merging_three_extends_the_provenance():
    pendulum_like = discrete("MountainCar-v0", 2, 2, 3, seed=3)
    merged = merge_all([CARTPOLE, ACROBOT, pendulum_like])
    assert [e["env_id"] for e in merged_sources(merged)] == [
        "CartPole-v1", "Acrobot-v1", "MountainCar-v0",
    ]  # fmt: skip
    third = merged.meta["merged"][2]
    assert third["rows"] == [7, 9] and third["obs_slice"] == [10, 12]
    assert third["action_slice"] == [5, 8]
    assert merged.labels[7:].tolist() == [5, 6]
    envs = ["CartPole-v1", "Acrobot-v1", "MountainCar-v0"]
    assert [s.env_id for s in split_merged(merged)] == envs


def test_select_rows_keeps_the_padding():
    merged = merge_datasets(CARTPOLE, ACROBOT)
    only_b = select_rows(merged, slice(4, 7))
    assert only_b.states.shape == (3, 10) and only_b.labels.tolist() == [2, 3, 4]
    assert only_b.meta == merged.meta


def test_mixed_action_kinds_are_refused_with_both_names():
    with pytest.raises(MergeError, match=r"CartPole-v1 \(discrete\).*hopper \(continuous\)"):
        merge_datasets(CARTPOLE, continuous("hopper", 2, 11, 3))


def test_image_states_and_missing_action_space_are_refused():
    images = SyntheticDataset(
        states=np.zeros((2, 28, 28, 1)), labels=[0, 1], meta={"env_id": "mnist"}
    )
    with pytest.raises(MergeError, match="image datasets cannot be merged"):
        merge_datasets(images, CARTPOLE)
    bare = SyntheticDataset(states=np.zeros((2, 3)), labels=[0, 1], meta={"env_id": "x"})
    with pytest.raises(MergeError, match=r"meta\['action'\] is missing"):
        merge_datasets(CARTPOLE, bare)
    assert issubclass(MergeError, DatasetError)


def test_soft_discrete_targets_are_refused():
    soft = SyntheticDataset(
        states=np.zeros((2, 3)),
        actions=np.full((2, 2), 0.5),
        meta={"env_id": "x", "action": {"kind": "discrete", "num_actions": 2}},
    )
    with pytest.raises(MergeError, match="labels only"):
        merge_datasets(CARTPOLE, soft)
    with pytest.raises(MergeError, match="at least two"):
        merge_all([CARTPOLE])
    with pytest.raises(MergeError, match="not merged"):
        split_merged(CARTPOLE)
