"""Multi-process runs: one `hades distill` per host (or per group of devices), one global mesh.

Every process runs the same command with `--coordinator HOST:PORT --num-processes N
--process-id I` (or the environment variables JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES,
JAX_PROCESS_ID; jax 0.10 reads only the first itself, hades reads the other two). On Slurm or
Open MPI, `--coordinator auto` lets JAX detect all three. Process 0 hosts the coordinator.

A process that dies or stops answering ends the run on every other process, within about
`--heartbeat-timeout` seconds, with a message naming it, the last complete checkpoint and the
command to resume (exit status 3). Every process runs a watchdog thread that publishes a counter
in the coordination service's key-value store and watches the others' counters; a counter that
stops changing names its process, a coordinator that stops answering names process 0. A
collective that fails first (gloo sees the peer's socket close at once) waits for that verdict.
JAX's own heartbeat timeout is set to twice hades's plus 10 s, as a backstop: JAX aborts the
process when it fires, with a log line that names the process but no checkpoint. When process 0
(the coordinator) dies, JAX aborts the others at once with its own message; jax 0.10 offers no
Python hook to replace it (jaxlib's `missed_heartbeat_callback` raises std::bad_cast when
called).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import sys
import threading
import time
from pathlib import Path

EXIT_PEER_FAILED = 3
DEFAULT_HEARTBEAT_TIMEOUT = 60


class DistributedError(RuntimeError):
    """The multi-process run could not start."""


@dataclasses.dataclass(frozen=True)
class DistributedOptions:
    coordinator: str | None  # HOST:PORT, or "auto" (Slurm, Open MPI, ...)
    num_processes: int | None
    process_id: int | None
    heartbeat_timeout: int = DEFAULT_HEARTBEAT_TIMEOUT
    initialization_timeout: int = 300

    def resume_flags(self) -> str:
        if self.coordinator == "auto":
            return "--coordinator auto"
        return (
            f"--coordinator {self.coordinator} --num-processes {self.num_processes} --process-id I"
        )


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not an integer") from None


def options_from(
    coordinator: str | None,
    num_processes: int | None,
    process_id: int | None,
    heartbeat_timeout: int | None = None,
) -> DistributedOptions | None:
    """Command-line values, else the environment; None for a single-process run."""
    coordinator = coordinator or os.environ.get("JAX_COORDINATOR_ADDRESS") or None
    if num_processes is None:
        num_processes = _env_int("JAX_NUM_PROCESSES")
    if process_id is None:
        process_id = _env_int("JAX_PROCESS_ID")
    given = [x is not None for x in (coordinator, num_processes, process_id)]
    if not any(given):
        return None
    hb = DEFAULT_HEARTBEAT_TIMEOUT if heartbeat_timeout is None else heartbeat_timeout
    if hb < 1:
        raise ValueError(f"--heartbeat-timeout must be at least 1 second, got {hb}")
    if coordinator == "auto":
        return DistributedOptions("auto", num_processes, process_id, hb)
    if not all(given):
        raise ValueError(
            "a multi-process run needs --coordinator HOST:PORT, --num-processes N and "
            "--process-id I on every process (or JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, "
            "JAX_PROCESS_ID); use --coordinator auto on Slurm / Open MPI"
        )
    if num_processes < 1 or not 0 <= process_id < num_processes:
        raise ValueError(
            f"--process-id must be in 0..{num_processes - 1}, got {process_id} "
            f"(--num-processes {num_processes})"
        )
    if ":" not in coordinator:
        raise ValueError(f"--coordinator takes HOST:PORT, got {coordinator!r}")
    return DistributedOptions(coordinator, num_processes, process_id, hb)


class _Context:
    """What the failure message needs; written by the run as it goes."""

    options: DistributedOptions | None = None
    command: str = "distill"
    run_path: Path | None = None
    last_checkpoint: int | None = None
    watchdog: _Watchdog | None = None
    lock = threading.Lock()


def set_run(command: str, run_path: Path) -> None:
    _Context.command, _Context.run_path = command, Path(run_path)


def note_checkpoint(generation: int) -> None:
    _Context.last_checkpoint = generation


def initialize(options: DistributedOptions) -> None:
    """Start jax.distributed; must run before anything touches a JAX device."""
    import jax

    # Cross-process collectives on CPU (the default in jax 0.10; set so that it stays so).
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    # Not jax_share_binary_between_hosts (process 0 compiles, the others fetch the binary):
    # with jax 0.10 on CPU the others waited for a binary that never came while process 0 sat
    # in a collective with them (tested). Every process compiles; the compile cache is shared.
    kwargs = dict(
        initialization_timeout=options.initialization_timeout,
        # A backstop behind the watchdog, which must speak first (JAX aborts the process).
        heartbeat_timeout_seconds=2 * options.heartbeat_timeout + 10,
    )
    if options.coordinator != "auto":
        kwargs.update(
            coordinator_address=options.coordinator,
            num_processes=options.num_processes,
            process_id=options.process_id,
        )
    try:
        jax.distributed.initialize(**kwargs)
    except Exception as err:
        where = "" if options.coordinator == "auto" else f" at {options.coordinator}"
        raise DistributedError(
            f"could not join the multi-process run{where} as process {options.process_id} of "
            f"{options.num_processes} within {options.initialization_timeout}s: "
            f"{str(err).splitlines()[0]}"
        ) from err
    _Context.options = options
    from jax._src import distributed as jax_distributed  # the client: no public accessor

    _Context.watchdog = _Watchdog(
        jax_distributed.global_state.client,
        jax.process_index(),
        jax.process_count(),
        options.heartbeat_timeout,
    )
    _Context.watchdog.start()


def barrier(name: str, timeout_s: float = 3600.0) -> None:
    """Wait until every process gets here (multi-process runs; no-op otherwise). Waits through
    JAX's coordination service, not a device collective, so it has no 30 s limit."""
    if _Context.options is None:
        return
    from jax._src import distributed as jax_distributed

    jax_distributed.global_state.client.wait_at_barrier(name, int(timeout_s * 1000))


def finish() -> None:
    """Tell the other processes that this one ends on purpose (not a failure)."""
    if _Context.watchdog is not None:
        _Context.watchdog.finish()


class _Watchdog(threading.Thread):
    """Publishes this process's heartbeat counter; ends the process with a clear message when
    another process's counter stops changing for `timeout` seconds (or the coordinator stops
    answering for as long)."""

    PREFIX = "hades/alive/"

    def __init__(self, client, me: int, count: int, timeout: float):
        super().__init__(name="hades-watchdog", daemon=True)
        self.client, self.me, self.count, self.timeout = client, me, count, timeout
        self.interval = max(0.25, min(2.0, timeout / 8))
        self._ended = threading.Event()

    def _key(self, process: int) -> str:
        return f"{self.PREFIX}{process}"

    def finish(self) -> None:
        self._ended.set()
        with contextlib.suppress(Exception):  # a coordinator already gone needs no telling
            self.client.key_value_set(self._key(self.me), "done", allow_overwrite=True)

    def run(self) -> None:
        now = time.monotonic()
        last_value: dict[int, str | None] = {p: None for p in range(self.count) if p != self.me}
        last_change = dict.fromkeys(last_value, now)
        unreachable_since = None
        beat = 0
        looked = now
        while not self._ended.wait(self.interval):
            beat += 1
            now = time.monotonic()
            if now - looked > 3 * self.interval + 1:
                # This thread itself was held up (a long call holding the GIL, a suspended
                # process): what the others did meanwhile was not watched; start afresh.
                last_change = dict.fromkeys(last_change, now)
            looked = now
            try:
                self.client.key_value_set(self._key(self.me), str(beat), allow_overwrite=True)
                values = dict(self.client.key_value_dir_get(self.PREFIX))
                unreachable_since = None
            except Exception as err:
                if self._ended.is_set():
                    return
                unreachable_since = unreachable_since or now
                if self.me != 0 and now - unreachable_since > self.timeout:
                    _exit_with(failure_message(str(err), [0]))
                continue
            stale = []
            for process in last_value:
                value = values.get(self._key(process))
                if value == "done":
                    last_change[process] = now
                elif value != last_value[process]:
                    last_value[process], last_change[process] = value, now
                elif now - last_change[process] > self.timeout:
                    stale.append(process)
            if stale and not self._ended.is_set():
                _exit_with(failure_message(f"no heartbeat for over {self.timeout:g}s", stale))


def failure_message(detail: str, named: list[int]) -> str:
    """What every surviving process prints: who stopped, what is safe, how to resume."""
    options = _Context.options
    me = None if options is None else options.process_id
    named = [p for p in named if p != me]
    if named:
        who = ", ".join(f"process {p}" for p in named) + (
            " (the coordinator)" if named == [0] else ""
        )
        what = f"{who} stopped (died or stopped answering)"
    else:
        what = f"process {me} failed"
    lines = [f"hades: error: multi-process run ended: {what}."]
    if _Context.run_path is not None:
        last = _Context.last_checkpoint
        if last is None:
            lines.append(f"No checkpoint of {_Context.run_path} was complete yet.")
        else:
            lines.append(
                f"The checkpoint at generation {last} in {_Context.run_path}/checkpoints is "
                "complete and safe."
            )
        lines.append(
            f"Resume on every process with: hades {_Context.command} --resume "
            f"{_Context.run_path}{resume_flags()}"
        )
    first = detail.strip().splitlines()[0] if detail.strip() else ""
    lines.append(f"({first[:300]})")
    return "\n".join(lines)


def _exit_with(message: str) -> None:
    with _Context.lock:  # one message, even if both the collective and the service report
        sys.stdout.flush()
        print(message, file=sys.stderr, flush=True)
        # Not sys.exit: JAX's shutdown at interpreter exit would wait on the dead process and
        # then abort; every checkpoint is already written synchronously.
        os._exit(EXIT_PEER_FAILED)


def resume_flags() -> str:
    """What a resume command needs besides --resume (multi-process runs: where to meet)."""
    options = _Context.options
    return "" if options is None else " " + options.resume_flags()


# How a collective or the coordination service fails when a peer is gone.
_PEER_TROUBLE = re.compile(r"Gloo|[Cc]onnection|peer|UNAVAILABLE|DEADLINE|[Bb]arrier|[Hh]eartbeat")


def fail_on_runtime_error(err: BaseException) -> None:
    """A JAX runtime error in a multi-process run (e.g. a gloo collective whose peer has gone):
    give the watchdog the heartbeat timeout (+ a margin) to name the process that stopped, then
    exit with the message either way. Does nothing in a single-process run."""
    options = _Context.options
    if options is None:
        return
    if not _PEER_TROUBLE.search(str(err)):
        _exit_with(failure_message(f"{type(err).__name__}: {err}", []))
    print(
        f"hades: a collective failed ({str(err).splitlines()[0][:200]}); waiting up to "
        f"{options.heartbeat_timeout}s to learn which process stopped",
        file=sys.stderr,
        flush=True,
    )
    deadline = time.monotonic() + options.heartbeat_timeout + 10
    while time.monotonic() < deadline:
        time.sleep(0.2)  # the watchdog exits the process from its own thread
    _exit_with(failure_message(str(err), []))
