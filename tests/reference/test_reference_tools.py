"""retrain, merge, evaluate --env and show on the paper's published MinAtar datasets.

Data: $HADES_SHARED/reference (default: the `shared` folder next to the repository); skipped when
it is absent. Tiny settings (few policies, short rollouts): this checks the plumbing on real
files (const observation statistics, width 512, dropped -1 rows), not the paper's numbers.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from hades.cli import main
from hades_dataset_io import load_dataset, load_reference, split_merged

pytestmark = pytest.mark.reference

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("HADES_SHARED", REPO_ROOT.parent / "shared"))
REFERENCE = SHARED / "reference"
RUNS = "minatar/virtual_batch_norm/distill/{}/D16/greedy_actFalse/seed0.npz"
BREAKOUT = REFERENCE / RUNS.format("Breakout-MinAtar")
SPACE_INVADERS = REFERENCE / RUNS.format("SpaceInvaders-MinAtar")

if not (BREAKOUT.is_file() and SPACE_INVADERS.is_file()):
    pytest.skip(f"no reference MinAtar datasets at {REFERENCE}", allow_module_level=True)

FAST_EVAL = ["--num-envs", "1", "--num-steps", "30"]


@pytest.fixture(scope="module")
def merged(tmp_path_factory):
    out = tmp_path_factory.mktemp("merged") / "breakout_space_invaders.npz"
    assert main(["merge", str(BREAKOUT), str(SPACE_INVADERS), "-o", str(out)]) == 0
    return out


def test_merged_reference_datasets_keep_their_own_statistics(merged):
    breakout, invaders = load_reference(BREAKOUT), load_reference(SPACE_INVADERS)
    ds = load_dataset(merged)
    assert (breakout.size, invaders.size) == (15, 16)  # Breakout's -1 row was dropped
    assert ds.states.shape == (31, 400 + 600)
    assert ds.labels.tolist() == breakout.labels.tolist() + (invaders.labels + 3).tolist()
    assert ds.meta["action"] == {"kind": "discrete", "num_actions": 7}
    assert ds.meta["policy"]["width"] == 512
    for original, back in zip((breakout, invaders), split_merged(ds)):
        np.testing.assert_array_equal(back.states, original.states)
        np.testing.assert_array_equal(back.obs_mean, original.obs_mean)  # const statistics
        assert back.meta == original.meta
    assert merged.with_suffix(".png").stat().st_size > 10_000


def test_merged_policy_is_evaluated_per_game(merged):
    argv = ["evaluate", str(merged), "--env", "Breakout-MinAtar", "--inits", "1", *FAST_EVAL]
    assert main(argv) == 0
    with open(merged.parent / "evaluate_merged.csv") as f:
        rows = {r["condition"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"single", "merged", "wrong", "random"}
    assert all(r["env"] == "Breakout-MinAtar" for r in rows.values())
    assert all(np.isfinite(float(r["return_mean"])) for r in rows.values())


def test_retrain_reference_dataset_across_widths(tmp_path):
    argv = ["retrain", str(BREAKOUT), "--widths", "16,512", "--policies", "2",
            "--steps-range", "5,10", *FAST_EVAL, "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    with open(tmp_path / "retrain.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["width"] for r in rows] == ["16", "16", "512", "512"]
    assert [r["evolved_width"] for r in rows] == ["False", "False", "True", "True"]
    summary = json.loads((tmp_path / "retrain.json").read_text())
    # Default learning rates: centred on the run's own (0.03), ~three orders of magnitude.
    assert summary["lr_range"] == pytest.approx([0.001, 0.9])
    assert (tmp_path / "retrain.png").stat().st_size > 10_000


def test_show_reference_dataset(tmp_path, capsys):
    assert main(["show", str(SPACE_INVADERS), "--out", str(tmp_path)]) == 0
    assert "boards view" in capsys.readouterr().out
    with open(tmp_path / "dataset.csv") as f:
        table = list(csv.reader(f))
    assert len(table) == 17 and table[0][3] == "y0_x0_cannon"
    with open(tmp_path / "fitness.csv") as f:
        assert len(list(csv.DictReader(f))) == len(load_reference(SPACE_INVADERS).meta[
            "fitness_history"]["mean"])  # fmt: skip
