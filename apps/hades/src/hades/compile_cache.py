"""JAX's persistent compilation cache for hades commands: a second run of the same shapes loads
its compiled programs from disk instead of compiling them again.

Where: `$HADES_COMPILE_CACHE` if set, else `$XDG_CACHE_HOME/hades/jax` (default
`~/.cache/hades/jax`). `HADES_COMPILE_CACHE=off` (or `0`, `none`, empty) disables it. A cache
directory set through JAX's own `JAX_COMPILATION_CACHE_DIR` is respected as it is.

The cache key includes the XLA flags, so executables compiled with hades's CPU scheduler
workaround (see `hades/__init__.py`) are only ever reused by programs that have it too.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "HADES_COMPILE_CACHE"
_OFF = {"", "0", "off", "none", "false", "no"}


def cache_dir() -> Path | None:
    """The directory hades would cache compiled programs in; None when disabled."""
    value = os.environ.get(ENV_VAR)
    if value is not None:
        return None if value.strip().lower() in _OFF else Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hades" / "jax"


def enable_compile_cache() -> Path | None:
    """Point JAX's persistent cache at `cache_dir()`. Call before the first compilation (JAX
    decides whether to use the cache once per process). Returns the directory in use."""
    import jax

    if jax.config.jax_compilation_cache_dir:  # the user set JAX's own option: keep it
        return Path(jax.config.jax_compilation_cache_dir)
    path = cache_dir()
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # e.g. a read-only home: run without a cache rather than fail
    jax.config.update("jax_compilation_cache_dir", str(path))
    # Cache every program, not only those that took over a second to compile: a hades run
    # compiles a few dozen small eager programs besides the generation, and together they cost
    # seconds at start-up.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)  # -1: any size
    return path
