"""Checkpoint cadence and retention, and what resume does with damaged, half-written and newer
checkpoints (one tiny run; the damage is done to copies of it)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from hades.cli import main
from hades_dataset_io import load_dataset

# Orbax, failing to read a damaged step, leaves an asyncio callback behind that fires on a closed
# event loop when garbage-collected ("Event loop is closed"): noise, not a hades error.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

TINY = [
    "--env", "CartPole-v1", "--dataset-size", "4", "--popsize", "8", "--bc-steps", "10",
    "--num-envs", "2", "--num-steps", "40", "--retrain-inits", "2", "--width", "16", "--quiet",
]  # fmt: skip


def steps(run) -> list[int]:
    return sorted(int(p.name) for p in (run / "checkpoints").iterdir() if p.name.isdigit())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """5 generations, saved every 2 generations (and at the end), keeping the last 2."""
    out = tmp_path_factory.mktemp("ckpt") / "run"
    args = ["--checkpoint-every", "1e9", "--checkpoint-every-generations", "2"]
    assert main(["distill", *TINY, "--generations", "5", *args, "--keep-checkpoints", "2",
                 "--out", str(out)]) == 0  # fmt: skip
    return out


@pytest.fixture
def copy(run, tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(run, dst)
    return dst


def test_cadence_and_retention(run):
    assert steps(run) == [4, 5]  # saved at 2, 4 and 5 (the end); only the last 2 kept


def resume_error(copy, capsys) -> str:
    assert main(["distill", "--resume", str(copy)]) == 2
    return capsys.readouterr().err


def test_truncated_state_file_is_a_clear_error(copy, capsys):
    files = [p for p in (copy / "checkpoints" / "5" / "state").rglob("*") if p.is_file()]
    for path in files:  # every file cut short, as by a full disk
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    err = resume_error(copy, capsys)
    assert "checkpoints/5 is damaged" in err
    assert f"delete {copy / 'checkpoints' / '5'} to resume from generation 4" in err


def test_corrupted_state_bytes_are_a_clear_error(copy, capsys):
    data = [
        p
        for p in (copy / "checkpoints" / "5" / "state").rglob("*")
        if p.is_file() and p.parent.name == "d"
    ]
    assert data
    for path in data:  # flip bits in the middle of every data file
        raw = bytearray(path.read_bytes())
        for i in range(len(raw) // 3, 2 * len(raw) // 3):
            raw[i] ^= 0x5A
        path.write_bytes(bytes(raw))
    assert "checkpoints/5 is damaged" in resume_error(copy, capsys)


def test_state_that_does_not_match_its_checksum_is_damaged(tmp_path):
    """Bit rot that orbax itself reads without complaint: a step's metadata with another run's
    (valid, different) state files. The SHA-256 in the metadata catches it."""
    import jax.numpy as jnp

    from hades.checkpoint import Checkpointer, CheckpointError

    for name, offset in (("a", 0.0), ("b", 1.0)):
        checkpointer = Checkpointer(tmp_path / name)
        checkpointer.save(1, {"mean": jnp.arange(4.0) + offset}, {"seed": 0})
        checkpointer.close()
    step_a, step_b = (tmp_path / name / "checkpoints" / "1" for name in ("a", "b"))
    shutil.rmtree(step_a / "state")
    shutil.copytree(step_b / "state", step_a / "state")
    checkpointer = Checkpointer(tmp_path / "a")
    with pytest.raises(CheckpointError, match="checksum does not match"):
        checkpointer.restore({"mean": jnp.zeros(4)}, {"seed": 0})
    checkpointer.close()


def test_checkpoint_of_a_newer_hades_is_a_clear_error(copy, capsys):
    meta = copy / "checkpoints" / "5" / "meta" / "metadata"
    data = json.loads(meta.read_text())
    data["schema"] = 99
    meta.write_text(json.dumps(data))
    err = resume_error(copy, capsys)
    assert "schema 99" in err and "newer hades" in err


def test_half_written_step_is_ignored_and_resume_is_exact(run, copy):
    """A kill during the save of step 5 leaves it under orbax's temporary name: resume starts
    from step 4 and ends with the same dataset."""
    (copy / "checkpoints" / "5").rename(copy / "checkpoints" / "5.orbax-checkpoint-tmp-1234")
    assert main(["distill", "--resume", str(copy), "--quiet"]) == 0
    a, b = load_dataset(run / "dataset.npz"), load_dataset(copy / "dataset.npz")
    np.testing.assert_array_equal(a.states, b.states)
    assert a.meta["fitness_history"] == b.meta["fitness_history"]
    assert steps(copy)[-1] == 5
