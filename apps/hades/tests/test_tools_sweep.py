"""`hades sweep`: one distillation per dataset size in sub-runs, the Fig 6 plot, the baseline."""

from __future__ import annotations

import csv
import json

import pytest

from hades.cli import main
from hades.config import DistillConfig
from hades.sweep import CSV_COLUMNS, read_baseline, run_sweep
from hades_dataset_io import load_dataset

TINY = [
    "--env", "CartPole-v1", "--popsize", "4", "--generations", "2", "--bc-steps", "5",
    "--num-envs", "1", "--num-steps", "20", "--retrain-inits", "2", "--width", "8",
]  # fmt: skip


def fake_baseline(folder, env="CartPole-v1"):
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"command": "neuroevolve", "env": env}))
    summary = {"env": env, "retrain_return_mean": 12.5, "retrain_return_std": 1.5,
               "num_params": 4610}  # fmt: skip
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    baseline = fake_baseline(root / "ne")
    out = root / "sweep"
    argv = ["sweep", "--dataset-sizes", "2", *TINY, "--baseline", str(baseline), "--out", str(out)]
    assert main(argv) == 0
    return out


def test_real_distillation_in_a_sub_run(sweep_dir):
    assert load_dataset(sweep_dir / "D2" / "dataset.npz").size == 2
    config = json.loads((sweep_dir / "D2" / "config.json").read_text())
    assert config["dataset_size"] == 2 and config["popsize"] == 4  # distill options pass through
    with open(sweep_dir / "sweep.csv") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_COLUMNS and [r["dataset_size"] for r in rows] == ["2"]
    summary = json.loads((sweep_dir / "D2" / "summary.json").read_text())
    assert float(rows[0]["retrain_return_mean"]) == pytest.approx(summary["retrain_return_mean"])
    result = json.loads((sweep_dir / "sweep.json").read_text())
    assert result["baseline"]["mean"] == 12.5 and "4610 weights" in result["baseline"]["label"]
    assert (sweep_dir / "sweep.png").read_bytes()[:4] == b"\x89PNG"


def test_finished_sizes_are_reused_and_new_ones_run(sweep_dir):
    """Extending the sweep runs only the new sizes (here: a stand-in for run_distill)."""
    ran = []

    def fake_distill(config, out, quiet):
        ran.append(config.dataset_size)
        return {"retrain_return_mean": 10.0 * config.dataset_size, "retrain_return_std": 1.0,
                "retrain_inits": 2}  # fmt: skip

    base = DistillConfig(**{k: v for k, v in json.loads(
        (sweep_dir / "D2" / "config.json").read_text()).items() if k != "command"})  # fmt: skip
    logs = []
    result = run_sweep(base, [2, 8, 32], sweep_dir, run_distill=fake_distill, log=logs.append)
    assert ran == [8, 32]
    assert any("reusing" in line for line in logs)
    means = [r["retrain_return_mean"] for r in result["results"]]
    assert means[1:] == [80.0, 320.0]
    assert [r["run_dir"] for r in result["results"]] == [
        str(sweep_dir / f"D{n}") for n in (2, 8, 32)
    ]


def test_bad_inputs_are_clear_errors(tmp_path, capsys):
    assert main(["sweep", "--dataset-sizes", "4,x", "--out", str(tmp_path / "s")]) == 2
    assert "--dataset-sizes must be" in capsys.readouterr().err
    assert main(["sweep", "--dataset-sizes", "4", "--dataset-size", "8"]) == 2
    assert "--dataset-sizes" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match=r"no summary\.json"):
        read_baseline(tmp_path)
    other = fake_baseline(tmp_path / "pendulum", env="Pendulum-v1")
    with pytest.raises(ValueError, match="Pendulum-v1 run but the sweep is on CartPole-v1"):
        run_sweep(DistillConfig(), [4], tmp_path / "s2", baseline=other)
