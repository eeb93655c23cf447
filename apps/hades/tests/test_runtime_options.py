"""Where the compile cache lives, and how multi-process options are read and checked (no JAX
devices touched; the multi-process runs themselves are in tests/test_multiprocess.py)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from hades import compile_cache, distributed
from hades.cli import build_parser, main


def test_compile_cache_dir_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("HADES_COMPILE_CACHE", str(tmp_path / "c"))
    assert compile_cache.cache_dir() == tmp_path / "c"
    for off in ("off", "0", "none", ""):
        monkeypatch.setenv("HADES_COMPILE_CACHE", off)
        assert compile_cache.cache_dir() is None
    monkeypatch.delenv("HADES_COMPILE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert compile_cache.cache_dir() == tmp_path / "xdg" / "hades" / "jax"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert compile_cache.cache_dir() == Path.home() / ".cache" / "hades" / "jax"


def test_compile_cache_keys_include_the_deadlock_workaround(monkeypatch):
    """hades/__init__.py's XLA flag is part of JAX's cache key: a cached executable compiled
    without the workaround is never loaded by hades (and the flag stays set)."""
    from jax._src import cache_key

    flag = "--xla_cpu_enable_concurrency_optimized_scheduler=false"
    assert flag in os.environ["XLA_FLAGS"]

    def key() -> str:
        digest = hashlib.sha256()
        cache_key._hash_xla_flags(digest, [])
        return digest.hexdigest()

    with_flag = key()
    monkeypatch.setenv("XLA_FLAGS", os.environ["XLA_FLAGS"].replace(flag, ""))
    assert key() != with_flag


def test_single_process_when_nothing_is_given(monkeypatch):
    for name in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    assert distributed.options_from(None, None, None) is None


def test_multi_process_options_from_flags_or_environment(monkeypatch):
    options = distributed.options_from("10.0.0.1:1234", 4, 2, 30)
    assert (options.coordinator, options.num_processes, options.process_id) == (
        "10.0.0.1:1234",
        4,
        2,
    )
    assert options.heartbeat_timeout == 30
    monkeypatch.setenv("JAX_COORDINATOR_ADDRESS", "host:99")
    monkeypatch.setenv("JAX_NUM_PROCESSES", "2")
    monkeypatch.setenv("JAX_PROCESS_ID", "1")
    options = distributed.options_from(None, None, None)
    assert (options.coordinator, options.num_processes, options.process_id) == ("host:99", 2, 1)
    assert options.heartbeat_timeout == distributed.DEFAULT_HEARTBEAT_TIMEOUT
    assert "--num-processes 2" in options.resume_flags()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--coordinator", "localhost:1234"], "needs --coordinator"),
        (["--coordinator", "h:1", "--num-processes", "2", "--process-id", "2"], "0..1"),
        (["--coordinator", "nohost", "--num-processes", "2", "--process-id", "0"], "HOST:PORT"),
        (
            [
                "--coordinator",
                "h:1",
                "--num-processes",
                "2",
                "--process-id",
                "0",
                "--heartbeat-timeout",
                "0",
            ],
            "at least 1",
        ),
    ],
)
def test_bad_multi_process_options_are_clear_errors(monkeypatch, capsys, argv, message):
    for name in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    assert main(["distill", *argv]) == 2
    assert message in capsys.readouterr().err


def test_checkpoint_options_are_checked(capsys, tmp_path):
    assert main(["distill", "--keep-checkpoints", "0", "--out", str(tmp_path / "r")]) == 2
    assert "--keep-checkpoints" in capsys.readouterr().err


def test_neuroevolve_has_the_same_run_options():
    args = build_parser().parse_args(
        [
            "neuroevolve",
            "--coordinator",
            "h:1",
            "--num-processes",
            "2",
            "--process-id",
            "1",
            "--checkpoint-every",
            "0",
            "--keep-checkpoints",
            "5",
        ]
    )
    assert (args.coordinator, args.num_processes, args.process_id) == ("h:1", 2, 1)
    assert (args.checkpoint_every, args.keep) == (0.0, 5)
