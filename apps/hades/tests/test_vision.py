"""`hades vision` end to end on a tiny MNIST-format dataset written to tmp_path."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from hades.vision import (
    VisionConfig,
    add_vision_parser,
    config_from_args,
    dataset_from,
    recipe_from,
    resolve_vision_config,
    run_vision,
)
from hades_dataset_io import load_dataset
from hades_distill_vision import ImageDistillation, ImageSplit, write_idx_dataset


def tiny_split(per_class: int, seed: int):
    """uint8 images (N, 28, 28): class c is a bright 7x7 square at a class-specific spot."""
    labels = np.tile(np.arange(10, dtype=np.uint8), per_class)
    images = np.random.default_rng(seed).integers(0, 40, (len(labels), 28, 28), dtype=np.uint8)
    for i, c in enumerate(labels):
        images[i, 7 * (c // 4) : 7 * (c // 4) + 7, 7 * (c % 4) : 7 * (c % 4) + 7] = 255
    return images, labels


@pytest.fixture
def data_dir(tmp_path):
    for name in ("mnist", "fashion-mnist"):
        write_idx_dataset(tmp_path / "data" / name, tiny_split(3, 0), tiny_split(2, 1))
    return tmp_path / "data"


TINY = dict(
    dataset="mnist",
    conv_features=2,
    width=8,
    steps=5,
    num_inits=1,
    fitness_batch=16,
    popsize=4,
    generations=3,
    eval_classifiers=2,
    eval_every=2,
    curve_classifiers=2,  # as many as eval_classifiers: one compile serves both
    chunk_size=1,
)


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_run_vision_end_to_end(tmp_path, data_dir, dataset):
    config = VisionConfig(**{**TINY, "dataset": dataset}, data_dir=str(data_dir), per_class=2)
    out = tmp_path / "run"
    summary = run_vision(config, out, quiet=True)

    assert {p.name for p in out.iterdir()} >= {
        "config.json",
        "metrics.jsonl",
        "dataset.npz",
        "summary.json",
        "images.png",
    }
    assert json.loads((out / "config.json").read_text())["command"] == "vision"
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["generation"] for r in rows] == [0, 1, 2]
    assert "test_accuracy" in rows[1] and "test_accuracy" not in rows[0]
    assert all(
        np.isfinite(r["es_mean_fitness"]) and 0 <= r["real_accuracy_mean"] <= 1 for r in rows
    )

    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert summary["generations"] == 3 and not summary["stopped_by_time_limit"]
    assert summary["num_images"] == 20 and summary["eval_classifiers"] == 2
    assert len(summary["test_accuracies"]) == len(summary["init_test_accuracies"]) == 2
    for key in ("test_accuracy_mean", "init_test_accuracy_mean"):
        assert 0.0 <= summary[key] <= 1.0
    assert [p["generation"] for p in summary["test_accuracy_curve"]] == [0, 2]

    ds = load_dataset(out / "dataset.npz")
    assert ds.states.shape == (20, 28, 28, 1) and ds.actions is None
    np.testing.assert_array_equal(ds.labels, np.repeat(np.arange(10), 2))
    assert ds.meta["env_id"] == dataset
    assert ds.meta["action"] == {"kind": "discrete", "num_actions": 10}
    assert ds.meta["policy"]["kind"] == "cnn" and ds.meta["fit"]["steps"] == 5
    assert (out / "images.png").read_bytes()[:4] == b"\x89PNG"


def test_learned_labels_are_saved_as_logits():
    config = VisionConfig(learn_labels=True, per_class=2)
    recipe = recipe_from(config)
    problem = ImageDistillation(recipe, ImageSplit(np.zeros((0, 28, 28, 1)), np.zeros(0)), 2)
    genome = {"images": np.zeros((20, 28, 28, 1)), "label_logits": np.ones((20, 10))}
    ds = dataset_from(config, problem, recipe, genome, {})
    assert ds.actions.shape == (20, 10) and ds.labels.shape == (20,)
    assert ds.meta["policy"]["conv_features"] == 16 and ds.meta["fit"]["lr"] == config.lr


def test_cli_options_override_the_preset(data_dir):
    parser = argparse.ArgumentParser()
    add_vision_parser(parser.add_subparsers(dest="command"))
    argv = "vision --preset cpu --dataset fashion-mnist --per-class 2 --steps 7 "
    argv += "--fitness-batch 0 --no-learn-labels --data-dir"
    config = config_from_args(parser.parse_args([*argv.split(), str(data_dir)]))
    assert (config.dataset, config.per_class, config.steps) == ("fashion-mnist", 2, 7)
    assert config.full_fitness_set and config.chunk_size == 1  # 0 = whole set; rest from cpu
    paper = resolve_vision_config("paper", {})
    assert (paper.popsize, paper.generations, paper.num_inits) == (512, 1000, 2)
    assert (paper.loss_scale, paper.bias_init, paper.sigma_init) == (0.1, 0.05, 0.02)
    with pytest.raises(ValueError, match="unknown preset"):
        resolve_vision_config("gpu", {})
