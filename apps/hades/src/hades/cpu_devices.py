"""One JAX CPU device per core, so a population is evaluated on every core at once (opt-in).

On CPU, XLA runs one program on one device and parallelises only inside each op; a member's ops
(a 64x4 matmul, a gymnax step over 8 envs) are far too small for that, so a single device keeps
about one core busy. Splitting the host into one CPU device per core and sharding the population
over them (as on GPUs) runs members on every core. Measured on the 2-core machine of
benchmarks/: Breakout-MinAtar popsize 256 52 -> 32 s per generation, hopper 27 -> 17 s, CartPole
0.25 -> 0.13 s, `hades vision --preset cpu-mlp` 0.92 -> 0.6 s. Results do not depend on the device
count (tests/test_sharding_invariance.py), so this changes speed only.

Not the default, because jaxlib 0.10 can deadlock with it: a program that calls a batched LAPACK
kernel (e.g. the QR of the orthogonal policy init that HaDES-R and neuroevolution draw inside the
generation) waits for helper tasks on XLA's CPU thread pool, whose threads are all busy running
the other devices' programs. `hades distill` (HaDES-R, CartPole) hung this way at generation 13
with 2 devices on 2 cores; HaDES-F (its init is drawn once, outside the generation) and `hades
vision` ran thousands of generations without it. Use it for those.

The count must be fixed before JAX starts its CPU backend, so `hades` commands decide it first:
`--cpu-devices N|auto`, else `$HADES_CPU_DEVICES`, else 1 (JAX's default). A device count the user
already gave XLA (`--xla_force_host_platform_device_count` in XLA_FLAGS, or JAX's
`jax_num_cpu_devices`) is kept. Accelerators are unaffected: JAX uses them, not the CPU devices.
"""

from __future__ import annotations

import os

ENV_VAR = "HADES_CPU_DEVICES"
_XLA_FLAG = "xla_force_host_platform_device_count"


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, e.g. a Slurm or taskset allocation)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def resolve_cpu_devices(requested: str | int | None, environ=os.environ) -> int | None:
    """How many CPU devices to ask JAX for; None when the user already told XLA, or asked for
    nothing (a count set through JAX's own `jax_num_cpu_devices` is kept by
    configure_cpu_devices).

    requested: the `--cpu-devices` value: an int >= 1, "auto" (one per usable core) or None
    (then `$HADES_CPU_DEVICES`, else nothing: JAX's one device)."""
    if _XLA_FLAG in environ.get("XLA_FLAGS", ""):
        return None
    if requested is None:
        requested = environ.get(ENV_VAR)
        if not requested:
            return None
    if str(requested).strip().lower() == "auto":
        return usable_cores()
    try:
        count = int(requested)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(
            f"--cpu-devices / ${ENV_VAR} must be a positive integer or 'auto', got {requested!r}"
        )
    return count


def configure_cpu_devices(requested: str | int | None = None) -> int | None:
    """Give JAX's CPU backend `resolve_cpu_devices(requested)` devices. Call before any JAX
    operation. Returns the count set, or None when it was left alone (the user's own setting,
    or a backend that has already started, e.g. inside a test process)."""
    import jax
    from jax._src import xla_bridge

    count = resolve_cpu_devices(requested)
    if count is None or xla_bridge.backends_are_initialized():
        return None
    if jax.config.jax_num_cpu_devices not in (-1, count):  # set through jax.config: keep it
        return None
    jax.config.update("jax_num_cpu_devices", count)
    return count
