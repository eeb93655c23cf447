"""The final dataset does not depend on how many devices the population is sharded over.

Each run is a separate process because XLA fixes the CPU device count at start-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from hades_dataset_io import load_dataset

TINY = [
    "--env", "CartPole-v1", "--variant", "R", "--dataset-size", "4", "--popsize", "8",
    "--generations", "3", "--bc-steps", "10", "--num-envs", "2", "--num-steps", "60",
    "--retrain-inits", "2", "--width", "16", "--quiet",
]  # fmt: skip


def distill(out, devices: int, *extra: str):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    cmd = [sys.executable, "-m", "hades.cli", "distill", *TINY, *extra, "--out", str(out)]
    # A timeout: split CPU devices can deadlock in jaxlib 0.10 (see hades/cpu_devices.py); a
    # hang must fail the test, not stall CI.
    subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, timeout=600)
    return load_dataset(out / "dataset.npz")


@pytest.fixture(scope="module")
def one_device(tmp_path_factory):
    return distill(tmp_path_factory.mktemp("d1"), 1)


def test_four_devices_give_the_same_dataset(one_device, tmp_path):
    four = distill(tmp_path, 4)
    assert four.meta["fitness_history"] == one_device.meta["fitness_history"]
    np.testing.assert_array_equal(four.states, one_device.states)


def test_chunked_evaluation_gives_the_same_dataset(one_device, tmp_path):
    chunked = distill(tmp_path, 2, "--chunk-size", "2")
    assert chunked.meta["fitness_history"] == one_device.meta["fitness_history"]
    np.testing.assert_array_equal(chunked.states, one_device.states)


def test_cpu_devices_option_splits_the_host_and_keeps_the_dataset(tmp_path):
    """`--cpu-devices 3` (no XLA_FLAGS): 3 CPU devices, cut to 2 because 8 members do not split
    over 3; the dataset is the one-device one. HaDES-F: its init is drawn outside the generation
    (with orthogonal inits drawn inside it, jaxlib 0.10 can deadlock on split CPU devices)."""
    one = distill(tmp_path / "one", 1, "--variant", "F")
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "HADES_CPU_DEVICES")}
    env["JAX_PLATFORMS"] = "cpu"
    out = tmp_path / "split"
    cmd = [sys.executable, "-m", "hades.cli", "distill", *TINY, "--variant", "F"]
    cmd += ["--cpu-devices", "3", "--out", str(out)]
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
    assert json.loads((out / "summary.json").read_text())["devices"] == 2
    split = load_dataset(out / "dataset.npz")
    assert split.meta["fitness_history"] == one.meta["fitness_history"]
    np.testing.assert_array_equal(split.states, one.states)
