"""`hades show`: the dataset table/picture per env family and a run's fitness curves."""

from __future__ import annotations

import csv
import json

import numpy as np

from hades.cli import main
from hades.show import raw_obs_shape_of
from hades_dataset_io import SyntheticDataset, save_dataset

PNG = b"\x89PNG"


def cartpole_run(folder):
    """A run directory as `hades distill` leaves it (config, metrics, dataset)."""
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"command": "distill", "env": "CartPole-v1"}))
    rows = [
        {"generation": g, "fitness_mean": 10.0 * g, "fitness_max": 20.0 * g,
         "es_mean_fitness": 15.0 * g, "sigma": 0.5 * 0.9**g, "seconds": 0.1}
        for g in range(5)
    ]  # fmt: skip
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ds = SyntheticDataset(
        states=np.array([[0, 0, 0.1, 0.5], [0, 0, -0.1, -0.5]], np.float32),
        labels=[1, 0],
        meta={
            "env_id": "CartPole-v1",
            "variant": "R",
            "obs_shape": [4],
            "action": {"kind": "discrete", "num_actions": 2},
        },
    )
    save_dataset(folder / "dataset.npz", ds)
    return folder


def test_run_directory_gets_dataset_and_fitness_files(tmp_path, capsys):
    run = cartpole_run(tmp_path / "run")
    assert main(["show", str(run)]) == 0
    assert "table view" in capsys.readouterr().out
    with open(run / "dataset.csv") as f:
        table = list(csv.reader(f))
    assert table[0][:4] == ["pair", "label", "action_name", "cart x"]
    assert table[1][:3] == ["0", "1", "right"] and len(table) == 3
    with open(run / "fitness.csv") as f:
        curves = list(csv.DictReader(f))
    assert list(curves[0]) == [
        "generation", "fitness_mean", "fitness_max", "es_mean_fitness", "sigma",
    ]  # fmt: skip
    assert [int(r["generation"]) for r in curves] == list(range(5))
    assert float(curves[4]["es_mean_fitness"]) == 60.0
    for name in ("dataset.png", "fitness.png"):
        assert (run / name).read_bytes()[:4] == PNG


def test_minatar_dataset_file_is_drawn_as_boards(tmp_path, capsys):
    rng = np.random.default_rng(0)
    ds = SyntheticDataset(
        states=rng.normal(size=(3, 400)).astype(np.float32),
        labels=[0, 1, 2],
        meta={
            "env_id": "Breakout-MinAtar",
            "action": {"kind": "discrete", "num_actions": 3},
            "fitness_history": {"mean": [1.0, 2.0, 3.0], "max": [2.0, 3.0, 5.0]},
        },
    )
    assert raw_obs_shape_of(ds) == (10, 10, 4)  # from the env: (H, W, C)
    path = save_dataset(tmp_path / "breakout.npz", ds)
    out = tmp_path / "shown"
    assert main(["show", str(path), "--out", str(out)]) == 0
    assert "boards view" in capsys.readouterr().out
    with open(out / "dataset.csv") as f:
        header = next(csv.reader(f))
    assert header[3:5] == ["y0_x0_paddle", "y0_x0_ball"]
    # A dataset file with a fitness history (the paper's have one) gets the curves too.
    with open(out / "fitness.csv") as f:
        assert [r["fitness_max"] for r in csv.DictReader(f)] == ["2.0", "3.0", "5.0"]
    assert (out / "dataset.png").read_bytes()[:4] == PNG


def test_missing_target_is_a_clear_error(tmp_path, capsys):
    assert main(["show", str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["show", str(tmp_path)]) == 2
    assert "without a dataset.npz" in capsys.readouterr().err
