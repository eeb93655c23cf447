"""Every published reference dataset loads with load_reference into our meta schema and validates.

Data: $HADES_SHARED/reference (default: the `shared` folder next to the repository); the tests
skip when it is absent.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from hades_dataset_io import (
    SyntheticDataset,
    check_compatible,
    load_dataset,
    load_reference,
    save_dataset,
    validate_dataset,
)

pytestmark = pytest.mark.reference

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("HADES_SHARED", REPO_ROOT.parent / "shared"))
REFERENCE = SHARED / "reference"
MANIFEST = REFERENCE / "MANIFEST.json"
MINATAR_NUM_ACTIONS = {
    "Asterix-MinAtar": 5,
    "Breakout-MinAtar": 3,
    "Freeway-MinAtar": 3,
    "SpaceInvaders-MinAtar": 4,
}

if not MANIFEST.is_file():
    pytest.skip(f"no reference datasets at {REFERENCE}", allow_module_level=True)


@pytest.fixture(scope="module")
def runs() -> list[dict]:
    return json.loads(MANIFEST.read_text())["runs"]


@pytest.fixture(scope="module")
def loaded(runs) -> dict[str, SyntheticDataset]:
    return {run["file"]: load_reference(REFERENCE / run["file"]) for run in runs}


def test_every_manifest_run_loads_and_validates(runs, loaded):
    assert len(loaded) == len(runs) > 0
    for run in runs:
        ds = validate_dataset(loaded[run["file"]], where=run["file"])
        meta = ds.meta
        assert ds.size == run["n_used"], run["file"]
        assert meta["obs_shape"] == list(ds.states.shape[1:]) == run["obs_shape"], run["file"]
        assert meta["variant"] == ("F" if run["inner_loop"]["OVERFIT"] else "R"), run["file"]
        assert meta["fit"]["steps"] == run["inner_loop"]["UPDATE_EPOCHS"], run["file"]
        assert meta["source"]["run"] == run
        assert meta["source"]["rows_dropped"] == run["dataset_size"] - run["n_used"]
        mean_history = meta["fitness_history"]["mean"]
        assert len(mean_history) == run["arrays"]["fitness_over_gen"][0]
        assert mean_history[-1] == run["fitness"]["final_mean_fitness"]
        assert meta["source"]["final_mean_fitness"] == run["fitness"]["final_mean_fitness"]


def test_meta_per_domain(runs, loaded):
    for run in runs:
        meta = loaded[run["file"]].meta
        if run["domain"] == "brax":
            assert meta["env_id"] == run["env"]
            assert meta["action"]["kind"] == "continuous"
            assert meta["action"]["dim"] == run["action_dim"]
            assert meta["fit"]["max_grad_norm"] == 0.5 and meta["fit"]["loss_scale"] == 1.0
            assert meta["policy"] == {
                "kind": "gaussian",
                "width": 512,
                "depth": 2,
                "activation": "tanh",
            }
        elif run["domain"] == "minatar":
            num_actions = MINATAR_NUM_ACTIONS[run["env"]]
            assert meta["action"] == {"kind": "discrete", "num_actions": num_actions}
            assert meta["fit"]["max_grad_norm"] is None
            assert meta["fit"]["loss_scale"] == pytest.approx(1 / num_actions)
            assert meta["obs_norm"] == "const"
        elif run["domain"] == "mnist":
            assert meta["env_id"] in ("mnist", "fashion-mnist")
            assert meta["fit"]["optimizer"] == "sgd" and meta["policy"]["kind"] == "cnn"
        assert meta["fit"]["anneal_lr"] is False


def test_brax_hopper_d4_seed0(loaded):
    ds = loaded["brax/distill/hopper/D4/seed0.npz"]
    assert ds.states.shape == (4, 11) and ds.actions.shape == (4, 3)
    assert ds.obs_mean.shape == (11,) and ds.obs_var.shape == (11,)
    assert ds.labels is None
    assert ds.meta["obs_norm"] == "const" and ds.meta["env_id"] == "hopper"
    expected = np.load(REFERENCE / "normalize_params" / "mean_hopper.npy").astype(np.float32)
    np.testing.assert_array_equal(ds.obs_mean, expected.ravel())
    check_compatible(ds, (11,), {"kind": "continuous", "dim": 3, "low": [-1] * 3, "high": [1] * 3})


def test_space_invaders_hades_f_d16(runs, loaded):
    files = [
        run["file"]
        for run in runs
        if run["env"] == "SpaceInvaders-MinAtar"
        and run["variant"] == "HaDES-F"
        and run["dataset_size"] == 16
    ]
    assert files
    for file in files:
        ds = loaded[file]
        assert ds.size == 16 and ds.labels.shape == (16,)
        np.testing.assert_array_equal(np.bincount(ds.labels), [4, 4, 4, 4])
        assert ds.meta["action"] == {"kind": "discrete", "num_actions": 4}
        assert ds.meta["variant"] == "F"
        assert ds.states.shape == (16, 600)


def test_three_action_games_drop_the_untrained_row(runs, loaded):
    for run in runs:
        if run["env"] in ("Asterix-MinAtar", "Breakout-MinAtar") and run["dataset_size"] == 16:
            ds = loaded[run["file"]]
            assert ds.size == 15 and ds.meta["source"]["rows_dropped"] == 1


def test_reference_round_trips_through_our_format(loaded, tmp_path):
    ds = loaded[
        "minatar/virtual_batch_norm/overfit/SpaceInvaders-MinAtar/D16/greedy_actFalse/seed0.npz"
    ]
    copy = load_dataset(save_dataset(tmp_path / "si.npz", ds))
    assert copy.meta == ds.meta
    np.testing.assert_array_equal(copy.states, ds.states)
    np.testing.assert_array_equal(copy.labels, ds.labels)
