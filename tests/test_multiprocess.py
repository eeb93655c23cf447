"""Multi-process runs: 2 processes x 2 CPU devices (jax.distributed on localhost, gloo
collectives). A process that dies ends the run on the others with a clear message within a
bounded time; the run resumes from its (multi-process) checkpoint, and ends with the same
dataset, bit for bit, as 1 process x 4 devices."""

from __future__ import annotations

import json
import subprocess
import time

import numpy as np
import pytest

from hades_dataset_io import load_dataset

HEARTBEAT = 5  # seconds: --heartbeat-timeout of the failure test


def launch(h, out, compile_cache, *extra: str):
    """Start processes 0 and 1 of a 2-process run; returns their Popen objects."""
    procs, port = [], h.free_port()
    for pid in (0, 1):
        args = h.cmd(
            "distill", *extra, "--out", str(out), "--coordinator", f"localhost:{port}",
            "--num-processes", "2", "--process-id", str(pid),
        )  # fmt: skip
        log = open(out.parent / f"p{pid}.log", "a")  # noqa: SIM115 - closed with the process
        procs.append(subprocess.Popen(args, env=h.env(compile_cache, 2), stdout=log, stderr=log))
    return procs


def finish(procs, timeout=600) -> list[int]:
    return [p.wait(timeout=timeout) for p in procs]


def same_dataset(a_dir, b_dir) -> None:
    a, b = load_dataset(a_dir / "dataset.npz"), load_dataset(b_dir / "dataset.npz")
    assert a.meta["fitness_history"] == b.meta["fitness_history"]
    np.testing.assert_array_equal(a.states, b.states)


@pytest.fixture(scope="module")
def interrupted_run(tmp_path_factory, compile_cache, reference_run, hades_proc):
    """A 2-process run (checkpoint every generation) whose process 1 is killed with SIGKILL
    mid-run, then resumed by both processes to the end. Returns (run directory, process 0's
    exit status and seconds to exit after the kill, its log up to then). Two launches, not
    three: the uninterrupted 2-process run is implied by the exact resume (below)."""
    tmp = tmp_path_factory.mktemp("two")
    out = tmp / "run"
    every_gen = ["--checkpoint-every", "0", "--heartbeat-timeout", str(HEARTBEAT)]
    p0, p1 = launch(hades_proc, out, compile_cache, *hades_proc.TINY, *every_gen)
    try:
        deadline = time.monotonic() + 400
        while not (out / "checkpoints" / "4").exists():
            assert p0.poll() is None and p1.poll() is None, (tmp / "p0.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint 4 after 400 s"
            time.sleep(0.05)
        p1.kill()
        killed_at = time.monotonic()
        code = p0.wait(timeout=HEARTBEAT + 60)
        waited = time.monotonic() - killed_at
    finally:
        for p in (p0, p1):
            if p.poll() is None:
                p.kill()
    log = (tmp / "p0.log").read_text()
    codes = finish(launch(hades_proc, out, compile_cache, "--resume", str(out), "--quiet"))
    assert codes == [0, 0], (tmp / "p0.log").read_text()[-3000:]
    return out, code, waited, log


def test_a_dead_process_ends_the_run_with_a_clear_message(interrupted_run):
    """Process 0 exits (status 3) within the heartbeat timeout plus a margin, naming process 1,
    the last complete checkpoint and the command that resumes the run."""
    out, code, waited, log = interrupted_run
    assert code == 3, log[-3000:]
    assert waited < HEARTBEAT + 20, f"process 0 took {waited:.1f}s to stop"
    assert "multi-process run ended: process 1 stopped" in log
    safe = int(log.split("The checkpoint at generation ")[1].split()[0])
    assert safe >= 3
    assert f"hades distill --resume {out} --coordinator localhost:" in log


def test_two_processes_give_the_same_dataset_as_one(interrupted_run, reference_run):
    """2 processes x 2 devices, interrupted and resumed, end with the dataset, fitness history
    and retrained returns of 1 process x 4 devices, bit for bit."""
    out = interrupted_run[0]
    same_dataset(out, reference_run[0])
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["processes"], summary["devices"]) == (2, 4)
    reference = json.loads((reference_run[0] / "summary.json").read_text())
    assert summary["retrain_returns"] == reference["retrain_returns"]
