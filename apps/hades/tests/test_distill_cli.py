"""`hades distill` and `hades evaluate` end to end on a tiny CartPole config (one compile)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hades.cli import main
from hades_dataset_io import load_dataset

TINY = [
    "--env", "CartPole-v1", "--variant", "R", "--dataset-size", "4", "--popsize", "8",
    "--generations", "3", "--bc-steps", "10", "--num-envs", "2", "--num-steps", "50",
    "--retrain-inits", "3", "--width", "16", "--quiet",
]  # fmt: skip


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["distill", *TINY, "--out", str(out)]) == 0
    return out


def test_run_directory_contents(run_dir):
    config = json.loads((run_dir / "config.json").read_text())
    assert config["env"] == "CartPole-v1" and config["popsize"] == 8 and config["width"] == 16
    rows = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["generation"] for r in rows] == [0, 1, 2]
    for row in rows:
        for key in ("fitness_mean", "fitness_max", "fitness_min", "es_mean_fitness",
                    "bc_loss_mean", "sigma", "seconds", "num_nonfinite"):  # fmt: skip
            assert key in row, key
        # CartPole returns per step are 1: any return lies in [1, 500].
        assert 1.0 <= row["fitness_min"] <= row["fitness_mean"] <= row["fitness_max"] <= 500.0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["retrain_inits"] == 3 and len(summary["retrain_returns"]) == 3
    assert summary["retrain_return_mean"] == pytest.approx(np.mean(summary["retrain_returns"]))


def test_final_dataset_file(run_dir):
    ds = load_dataset(run_dir / "dataset.npz")
    assert ds.states.shape == (4, 4) and ds.actions is None
    assert ds.labels.tolist() == [0, 0, 1, 1]  # every state labelled, balanced
    assert ds.meta["env_id"] == "CartPole-v1" and ds.meta["variant"] == "R"
    assert ds.meta["policy"] == {"width": 16, "depth": 2, "activation": "relu"}
    assert ds.meta["fit"]["steps"] == 10
    assert len(ds.meta["fitness_history"]["es_mean"]) == 3


def test_evaluate_retrains_from_saved_dataset(run_dir, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["evaluate", str(run_dir / "dataset.npz"), "--inits", "3", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["env"] == "CartPole-v1" and len(result["returns"]) == 3
    assert 1.0 <= result["return_mean"] <= 500.0
    assert "fresh inits" in capsys.readouterr().out


def test_unknown_env_is_a_clear_error(tmp_path, capsys):
    assert main(["distill", "--env", "CartPoel-v1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "CartPoel-v1" in err and "CartPole-v1" in err


def test_corrupt_dataset_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    assert main(["evaluate", str(bad)]) == 2
    assert "bad.npz" in capsys.readouterr().err
