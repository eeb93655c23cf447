"""A run stopped after a checkpoint and resumed ends with the same dataset, bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hades.cli import main
from hades_dataset_io import load_dataset

TINY = [
    "--env", "CartPole-v1", "--dataset-size", "4", "--popsize", "8", "--bc-steps", "10",
    "--num-envs", "2", "--num-steps", "40", "--retrain-inits", "2", "--width", "16", "--quiet",
]  # fmt: skip


def test_resume_equals_uninterrupted_run(tmp_path):
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert main(["distill", *TINY, "--generations", "4", "--out", str(whole)]) == 0
    assert main(["distill", *TINY, "--generations", "2", "--out", str(part)]) == 0
    assert main(["distill", "--resume", str(part), "--generations", "4", "--quiet"]) == 0
    a, b = load_dataset(whole / "dataset.npz"), load_dataset(part / "dataset.npz")
    np.testing.assert_array_equal(a.states, b.states)
    assert a.meta["fitness_history"] == b.meta["fitness_history"]
    rows = [json.loads(x) for x in (part / "metrics.jsonl").read_text().splitlines()]
    assert [r["generation"] for r in rows] == [0, 1, 2, 3]


def test_resume_refuses_a_changed_config(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["distill", *TINY, "--generations", "1", "--out", str(out)]) == 0
    assert main(["distill", "--resume", str(out), "--dataset-size", "8"]) == 2
    assert "differs" in capsys.readouterr().err


def test_new_run_refuses_to_overwrite_checkpoints(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["distill", *TINY, "--generations", "1", "--out", str(out)]) == 0
    assert main(["distill", *TINY, "--generations", "1", "--out", str(out)]) == 2
    assert "--resume" in capsys.readouterr().err


@pytest.mark.parametrize("missing", ["nowhere"])
def test_resume_of_a_missing_run_is_a_clear_error(tmp_path, capsys, missing):
    assert main(["distill", "--resume", str(tmp_path / missing)]) == 2
    assert "config.json" in capsys.readouterr().err
