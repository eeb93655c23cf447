"""Helpers for tests that run `hades` in subprocesses (XLA fixes the CPU device count at start-up,
and multi-process runs and kill -9 need real processes).

All of them share one compile cache per test session (`HADES_COMPILE_CACHE`), so only the first
run of each program shape compiles; `reference_run` is the uninterrupted single-process run the
multi-process and kill/resume tests compare against, bit for bit.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import types
from pathlib import Path

import pytest

# 40 generations: long enough to kill a run several times in the middle (see test_kill_resume).
TINY = [
    "--env", "CartPole-v1", "--variant", "R", "--dataset-size", "4", "--popsize", "8",
    "--generations", "40", "--bc-steps", "10", "--num-envs", "2", "--num-steps", "50",
    "--retrain-inits", "2", "--width", "16", "--quiet",
]  # fmt: skip


def hades_env(cache: Path, devices: int) -> dict[str, str]:
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "HADES_COMPILE_CACHE": str(cache)}
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["JAX_LOG_COMPILES"] = "1"  # logs compile times and persistent-cache hits to stderr
    for name in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        env.pop(name, None)  # single-process unless a test asks otherwise
    return env


def hades_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "hades.cli", *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def hades_proc():
    """The helpers above, for test modules (pytest imports them with importlib: no `import
    conftest`)."""
    return types.SimpleNamespace(TINY=TINY, env=hades_env, cmd=hades_cmd, free_port=free_port)


@pytest.fixture(scope="session")
def compile_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("jax-compile-cache")


@pytest.fixture(scope="session")
def reference_run(tmp_path_factory, compile_cache):
    """One process, 4 devices, no interruption: (run directory, stderr)."""
    out = tmp_path_factory.mktemp("reference") / "run"
    proc = subprocess.run(
        hades_cmd("distill", *TINY, "--out", str(out)),
        env=hades_env(compile_cache, 4),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc.stderr
