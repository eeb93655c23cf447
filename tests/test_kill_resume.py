"""Exact resume under kill -9, and the persistent compile cache.

A run checkpointing every generation is killed with SIGKILL at random moments (delays from a
seeded RNG; with a save every generation many land in the middle of one) and resumed each time;
its final dataset equals the uninterrupted run's bit for bit. Every run after the first of the
same shapes loads the compiled generation from the cache instead of compiling it.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import time

import numpy as np
import pytest

from hades_dataset_io import load_dataset

KILLS = 3


def latest_step(out) -> int:
    steps = [int(p.name) for p in (out / "checkpoints").glob("*") if p.name.isdigit()]
    return max(steps, default=0)


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory, compile_cache, reference_run, hades_proc):
    """(run directory, what happened at each kill, stderr of the final resume)."""
    h = hades_proc
    out = tmp_path_factory.mktemp("killed") / "run"
    env = h.env(compile_cache, 4)
    rng = random.Random(20240504)
    first = h.cmd("distill", *h.TINY, "--checkpoint-every", "0", "--out", str(out))
    resume = h.cmd("distill", "--resume", str(out), "--checkpoint-every", "0", "--quiet")
    kills = []
    for attempt in range(KILLS):
        before = latest_step(out) if out.exists() else 0
        proc = subprocess.Popen(
            first if attempt == 0 else resume,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 300
        # Wait for this attempt to save a new checkpoint, then kill after a random delay.
        while (not out.exists() or latest_step(out) <= before) and proc.poll() is None:
            assert time.monotonic() < deadline, "no new checkpoint after 300 s"
            time.sleep(0.02)
        delay = rng.uniform(0.0, 0.6)
        time.sleep(delay)
        alive = proc.poll() is None
        proc.kill()
        stderr = proc.communicate()[1]
        assert alive, f"attempt {attempt} finished before its kill:\n{stderr[-2000:]}"
        tmp = sorted(p.name for p in (out / "checkpoints").glob("*tmp*"))
        kills.append({"delay": delay, "step": latest_step(out), "half_written": tmp})
    final = subprocess.run(resume, env=env, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr[-3000:]
    return out, kills, final.stderr


def test_killed_run_resumes_to_the_uninterrupted_dataset(killed_and_resumed, reference_run):
    out, kills, _ = killed_and_resumed
    print("kills:", kills)
    assert len(kills) == KILLS
    steps = [k["step"] for k in kills]
    assert steps == sorted(steps) and steps[-1] < 40, steps  # each kill landed mid-run
    a, b = load_dataset(out / "dataset.npz"), load_dataset(reference_run[0] / "dataset.npz")
    np.testing.assert_array_equal(a.states, b.states)
    assert a.meta["fitness_history"] == b.meta["fitness_history"]
    rows = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["generation"] for r in rows] == list(range(40))
    # --keep-checkpoints default: 3 complete steps stay, the last is the end of the run.
    assert (
        sorted(int(p.name) for p in (out / "checkpoints").iterdir() if p.name.isdigit())[-1] == 40
    )


def compile_seconds(stderr: str, name: str = "generation") -> list[float]:
    pattern = rf"Finished XLA compilation of jit\({name}\) in ([0-9.]+) sec"
    return [float(x) for x in re.findall(pattern, stderr)]


def test_second_run_loads_the_generation_from_the_compile_cache(
    killed_and_resumed, reference_run, compile_cache
):
    """The final resume has the reference run's shapes: JAX finds the compiled generation in
    HADES_COMPILE_CACHE (a cache hit, no new cache entry) instead of compiling it."""
    _, _, warm = killed_and_resumed
    assert "Persistent compilation cache hit for 'jit_generation'" in warm
    entries = [p.name for p in compile_cache.iterdir() if p.name.startswith("jit_generation")]
    cold, hot = compile_seconds(reference_run[1]), compile_seconds(warm)
    print(f"jit(generation): first run {cold} s, cached run {hot} s; entries {entries}")
    # 1 process x 4 devices and 2 x 2 (test_multiprocess) are the only generation programs.
    assert 1 <= len(entries) <= 2
