"""hades: behaviour distillation (HaDES) in JAX — the orchestrator and the `hades` command."""

import os as _os

# jaxlib 0.10's CPU "concurrency optimized" scheduler deadlocks (all threads idle, never
# returns) on vmapped inner loops of width-512 policies; the plain scheduler is as fast here.
# Must be set before JAX creates its CPU client, hence at import.
_FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler=false"
if _FLAG.split("=")[0] not in _os.environ.get("XLA_FLAGS", ""):
    _os.environ["XLA_FLAGS"] = (_os.environ.get("XLA_FLAGS", "") + " " + _FLAG).strip()

from hades._threefry import use_unrolled_threefry_on_cpu as _unrolled_threefry  # noqa: E402

_unrolled_threefry()

__version__ = "0.1.0"
