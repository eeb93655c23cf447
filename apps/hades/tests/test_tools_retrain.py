"""`hades retrain`: traced per-member lr/steps, the top half per width, the CSV and the box plot."""

from __future__ import annotations

import csv
import json

import jax
import numpy as np
import pytest

from hades.cli import main
from hades.retrain import (
    CSV_COLUMNS,
    RetrainProtocol,
    retrain_figure,
    sample_hyperparameters,
    top_half_mask,
)
from hades.tool_io import parse_int_list, parse_range
from hades_dataset_io import SyntheticDataset, save_dataset

FIT = {"steps": 30, "lr": 0.03, "optimizer": "adam", "adam_eps": 1e-5, "loss_scale": 1.0}


def cartpole_dataset() -> SyntheticDataset:
    """Two hand-made pairs: pole falling right -> push right, falling left -> push left."""
    return SyntheticDataset(
        states=np.array([[0, 0, 0.1, 0.5], [0, 0, -0.1, -0.5]], np.float32),
        labels=[1, 0],
        meta={
            "env_id": "CartPole-v1",
            "variant": "R",
            "obs_shape": [4],
            "action": {"kind": "discrete", "num_actions": 2},
            "obs_norm": "none",
            "policy": {"width": 16, "depth": 2, "activation": "relu"},
            "fit": FIT,
            "eval": {"num_envs": 1, "num_steps": 40, "greedy": True},
        },
    )


@pytest.fixture(scope="module")
def retrained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("retrain")
    path = save_dataset(folder / "cartpole.npz", cartpole_dataset())
    out = folder / "out"
    argv = ["retrain", str(path), "--widths", "8,16", "--policies", "3", "--steps-range", "5,20",
            "--lr-range", "1e-3,1e-1", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    with open(out / "retrain.csv") as f:
        rows = list(csv.DictReader(f))
    return out, rows


def test_csv_has_every_policy_with_its_hyperparameters(retrained):
    _, rows = retrained
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(int(r["width"]), int(r["member"])) for r in rows] == [
        (w, i) for w in (8, 16) for i in range(3)
    ]
    for row in rows:
        assert 1e-3 <= float(row["lr"]) <= 1e-1
        assert 5 <= int(row["bc_steps"]) <= 20
        assert 1.0 <= float(row["return"]) <= 40.0  # CartPole, 40 eval steps
        assert row["evolved_width"] == str(row["width"] == "16")
    for width in ("8", "16"):
        of_width = [r for r in rows if r["width"] == width]
        kept = [float(r["return"]) for r in of_width if r["top_half"] == "True"]
        dropped = [float(r["return"]) for r in of_width if r["top_half"] == "False"]
        assert len(kept) == 1 and all(k >= d for k in kept for d in dropped)


def test_summary_and_png(retrained):
    out, _ = retrained
    summary = json.loads((out / "retrain.json").read_text())
    assert summary["widths"] == [8, 16] and summary["evolved_width"] == 16
    assert summary["lr_range"] == [1e-3, 1e-1] and summary["steps_range"] == [5, 20]
    assert set(summary["per_width"]) == {"8", "16"}
    assert (out / "retrain.png").read_bytes()[:4] == b"\x89PNG"


def test_box_plot_has_one_box_per_width_and_marks_the_evolved_one():
    rows = [[w, i, 0.01, 100, float(r), i < 2, w == 64] for w in (32, 64, 128) for i, r in
            enumerate((10, 20, 30, 40))]  # fmt: skip
    fig = retrain_figure(rows, 64, "t", (1e-3, 1e-1), (100, 500))
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["32", "64\n(evolved for)", "128"]
    boxes = [p for p in ax.patches if p.get_facecolor()[:3] != (1.0, 1.0, 1.0)]
    assert len([p for p in boxes if type(p).__name__ == "PathPatch"]) == 3


def test_hyperparameters_are_log_uniform_and_integer_steps():
    lrs, steps = sample_hyperparameters(jax.random.key(0), 2000, (1e-4, 1e-1), (100, 500))
    assert lrs.min() >= 1e-4 and lrs.max() <= 1e-1
    # Log-uniform: each decade holds about a third of the draws.
    decades = np.histogram(np.log10(lrs), bins=[-4, -3, -2, -1])[0] / len(lrs)
    np.testing.assert_allclose(decades, 1 / 3, atol=0.05)
    assert steps.dtype == np.int32 and steps.min() >= 100 and steps.max() <= 500
    assert len(np.unique(steps)) > 300


def test_top_half_and_default_lr_range():
    mask = top_half_mask(np.array([3.0, 9.0, 1.0, 7.0, 5.0]))
    assert mask.tolist() == [False, True, False, True, False]
    assert top_half_mask(np.array([2.0])).tolist() == [True]
    low, high = RetrainProtocol().lr_bounds(0.03)
    assert low == pytest.approx(0.001) and high == pytest.approx(0.9)  # ~3 orders of magnitude


def test_bad_option_values_are_clear_errors(tmp_path, capsys):
    for text in ("32,abc", "0,64", "64,64", ""):
        with pytest.raises(ValueError, match="--widths must be distinct positive integers"):
            parse_int_list(text, "--widths")
    with pytest.raises(ValueError, match="--lr-range must be LOW,HIGH"):
        parse_range("0.1,0.01", "--lr-range")
    path = save_dataset(tmp_path / "d.npz", cartpole_dataset())
    assert main(["retrain", str(path), "--widths", "32,x", "--out", str(tmp_path)]) == 2
    assert "--widths must be" in capsys.readouterr().err
    assert main(["retrain", str(tmp_path / "missing.npz")]) == 2
    assert "missing.npz" in capsys.readouterr().err
