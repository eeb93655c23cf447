"""The outer loop shared by every hades command that evolves something.

A *problem* says how to score one genome: `member_fitness(genome, member_key, shared_key)` returns
a dict of scalars with at least "fitness" (maximised). The engine turns it into one jitted function
per generation — ask, score every member on its shard of the mesh, tell, score the new ES mean —
and drives it, streaming metrics to the run directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from hades.parallel import (
    auto_chunk_size,
    check_population,
    map_members,
    member_ids,
    process_flags,
    replicate,
    replicated,
)


class Problem(Protocol):
    def initial_genome(self, key: jax.Array) -> Any: ...

    def member_fitness(self, genome, member_key, shared_key) -> dict[str, jax.Array]: ...


class RunStart(NamedTuple):
    run_key: jax.Array
    genome0: Any  # the problem's initial genome: the ES mean at generation 0
    strategy: Any
    es_state: Any


def start_run(problem: Problem, es_config, seed: int) -> RunStart:
    """A run's key, initial genome, strategy and ES state, all derived from `seed`: the same
    for every command that evolves (distill, neuroevolve, vision, the benchmarks) and every
    process."""
    from hades_es_core import make_strategy

    run_key = jax.random.key(seed)
    genome0 = problem.initial_genome(jax.random.fold_in(run_key, 0xDA7A))
    strategy = make_strategy(es_config, genome0)
    es_state = strategy.init(jax.random.fold_in(run_key, 0xE5), genome0)
    return RunStart(run_key, genome0, strategy, es_state)


def generation_keys(run_key: jax.Array, generation) -> tuple[jax.Array, ...]:
    """Everything random in generation g derives from (run key, g): resume and any sharding
    reproduce it exactly. Returns (ask, tell, member_root, shared, mean)."""
    return tuple(jax.random.split(jax.random.fold_in(run_key, generation), 5))


def make_generation_fn(strategy, problem: Problem, mesh, popsize: int, chunk_size: int | None):
    """(es_state, run_key, generation[, flags]) -> (es_state, metrics): one whole generation,
    jitted. In a multi-process run es_state and run_key must be global arrays (`replicate`).

    `flags` (optional, bool (devices, k) sharded over the mesh, from `process_flags`) carries
    each process's requests (stop, checkpoint due); `metrics["control"]` is their OR over all
    processes, so every process takes the same decision at the same generation."""
    check_population(popsize, mesh, chunk_size)
    if chunk_size is None:  # results do not depend on it; speed and memory do
        member_bytes = getattr(problem, "member_param_bytes", None)
        chunk_size = auto_chunk_size(popsize // mesh.size, member_bytes)

    def member(genome, member_id, member_root, shared_key):
        return problem.member_fitness(
            genome, jax.random.fold_in(member_root, member_id), shared_key
        )

    score_population = map_members(member, mesh, chunk_size)
    ids = member_ids(popsize)
    rep = replicated(mesh)

    def generation(es_state, run_key, generation, flags=None):
        ask_key, tell_key, member_root, shared_key, mean_key = generation_keys(run_key, generation)
        population, es_state = strategy.ask(ask_key, es_state)
        # Keep the population replicated (shard_map slices it locally): otherwise the sharding
        # propagates into tell's population-weighted sums and their order depends on devices.
        population = jax.lax.with_sharding_constraint(population, rep)
        scores = score_population(population, ids, member_root, shared_key)
        # Gather before any reduction: the ES update and the metrics then see the same array,
        # summed in the same order, whatever the device count.
        scores = jax.lax.with_sharding_constraint(scores, rep)
        es_state, metrics = strategy.tell(tell_key, population, scores["fitness"], es_state)
        # The ES mean is the product (the dataset we save), so its own score is the curve users
        # care about; one extra member's work, replicated.
        mean_scores = problem.member_fitness(strategy.mean(es_state), mean_key, shared_key)
        metrics = dict(metrics)
        metrics["es_mean_fitness"] = mean_scores["fitness"]
        for name, value in scores.items():
            if name != "fitness":
                metrics[f"{name}_mean"] = jnp.nanmean(value)
        if flags is not None:
            metrics["control"] = jnp.any(flags, axis=0)
        return es_state, metrics

    # No donation: the ES state is a few thousand numbers, and the driver hands generation g's
    # state to the callback (checkpoints) after g+1 has been dispatched.
    return jax.jit(generation, out_shardings=(rep, rep))


class NoProgress:
    """Processes other than 0 of a multi-process run stay silent."""

    def update(self, generation: int, row: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


class ProgressBar:
    """A live progress line (tqdm) or, with quiet, a log line every `every` generations."""

    def __init__(self, total: int, initial: int = 0, quiet: bool = False, every: int = 10):
        self.quiet, self.every = quiet, every
        self._bar = None
        if not quiet:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=initial, unit="gen", dynamic_ncols=True)

    def update(self, generation: int, row: dict[str, Any]) -> None:
        text = (
            f"pop {row['fitness_mean']:.1f} (max {row['fitness_max']:.1f})  "
            f"mean {row['es_mean_fitness']:.1f}  sigma {row['sigma']:.3g}"
        )
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)
            self._bar.update(1)
        elif generation % self.every == 0:
            print(f"gen {generation:5d}  {text}  {row['seconds']:.2f}s", flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def to_row(generation: int, metrics: dict[str, Any], seconds: float) -> dict[str, Any]:
    row: dict[str, Any] = {"generation": generation}
    for name, value in metrics.items():
        value = np.asarray(value)
        if value.ndim == 0:
            row[name] = value.item()
    row["seconds"] = seconds
    return row


def run_generations(
    generation_fn: Callable,
    es_state,
    run_key: jax.Array,
    start: int,
    stop: int,
    on_generation: Callable[..., None],
    flags_fn: Callable[[], jax.Array] | None = None,
):
    """Drive generations [start, stop). Metrics of generation g are fetched while g+1 runs, so
    the device never waits for the host. With `flags_fn`, each generation gets this process's
    flags and `on_generation(g, state, row, control)` the OR of every process's."""
    pending = None
    t_prev = time.perf_counter()
    for generation in range(start, stop):
        args = (es_state, run_key, np.uint32(generation))
        if flags_fn is not None:
            args += (flags_fn(),)
        es_state, metrics = generation_fn(*args)
        if pending is not None:
            t_prev = _emit(pending, t_prev, on_generation)
        pending = (generation, es_state, metrics)
    if pending is not None:
        _emit(pending, t_prev, on_generation)
    return es_state


def _emit(pending, t_prev, on_generation) -> float:
    generation, es_state, metrics = pending
    metrics = dict(jax.device_get(metrics))
    control = metrics.pop("control", None)
    now = time.perf_counter()
    row = to_row(generation, metrics, now - t_prev)
    if control is None:
        on_generation(generation, es_state, row)
    else:
        on_generation(generation, es_state, row, tuple(bool(c) for c in control))
    return now


class RunInterrupted(Exception):
    """SIGINT/SIGTERM arrived; the state after `generation` generations is checkpointed."""

    def __init__(self, generation: int, run_path, command: str = "<command>", flags: str = ""):
        super().__init__(
            f"interrupted after generation {generation}; checkpoint saved. "
            f"Resume with: hades {command} --resume {run_path}{flags}"
        )
        self.generation = generation


@dataclasses.dataclass(frozen=True)
class CheckpointPolicy:
    """When a run saves its state: once `every_seconds` have passed since the last save (0:
    after every generation), every `every_generations` generations, at the end, and on
    SIGINT/SIGTERM. The `keep` most recent checkpoints stay on disk."""

    every_seconds: float = 60.0
    every_generations: int | None = None
    keep: int = 3

    def __post_init__(self):
        if self.every_seconds < 0:
            raise ValueError(f"--checkpoint-every must be >= 0 seconds, got {self.every_seconds}")
        if self.every_generations is not None and self.every_generations < 1:
            raise ValueError(
                f"--checkpoint-every-generations must be >= 1, got {self.every_generations}"
            )
        if self.keep < 1:
            raise ValueError(f"--keep-checkpoints must be >= 1, got {self.keep}")


STOP, CHECKPOINT_DUE = 0, 1  # columns of the per-process flags


@dataclasses.dataclass
class EvolveResult:
    strategy: Any
    es_state: Any
    history: dict[str, list[float]]
    seconds: float
    devices: int = 1  # devices the population was sharded over


def history_from_rows(rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    return {
        "mean": [r["fitness_mean"] for r in rows],
        "max": [r["fitness_max"] for r in rows],
        "es_mean": [r["es_mean_fitness"] for r in rows],
    }


def evolve_run(
    problem: Problem,
    es_config,
    run,
    *,
    generations: int,
    seed: int,
    chunk_size: int | None = None,
    quiet: bool = False,
    resume: bool = False,
    checkpoint: CheckpointPolicy | None = None,
    fingerprint: dict[str, Any] | None = None,
    command: str = "distill",
) -> EvolveResult:
    """Evolve `problem` for `generations`, logging to and checkpointing into `run` (a RunDir).

    Multi-process runs: every process calls this with the same arguments; the population is
    sharded over the devices of all of them, process 0 writes the run directory, and every
    process takes part in each (synchronous) checkpoint. The returned ES state is on the host
    (numpy), the same on every process."""
    from hades import distributed
    from hades.checkpoint import Checkpointer, CheckpointError
    from hades.parallel import population_mesh

    policy = checkpoint or CheckpointPolicy()
    mesh = population_mesh(popsize=es_config.popsize)
    run_key, _, strategy, es_state = start_run(problem, es_config, seed)
    # Computed by every process alike, then laid out as global arrays replicated on every
    # device: what the jitted generation takes in a multi-process run (and in a single one).
    es_state = replicate(es_state, mesh)
    run_key = replicate(run_key, mesh)
    fingerprint = fingerprint or {}
    checkpointer = Checkpointer(run.path, max_to_keep=policy.keep)
    distributed.set_run(command, run.path)
    start = 0
    if resume:
        try:
            es_state, start = checkpointer.restore(es_state, fingerprint)
        except CheckpointError:
            if checkpointer.latest_generation() is not None:
                checkpointer.close()
                raise
            # Stopped before its first checkpoint: generation 0 is where it was.
            print(f"hades: {run.path} has no checkpoint yet; starting at generation 0")
        run.truncate_metrics(start)
    distributed.note_checkpoint(checkpointer.last_saved)
    history = history_from_rows([r for r in run.read_metrics() if r["generation"] < start])

    generation_fn = make_generation_fn(strategy, problem, mesh, es_config.popsize, chunk_size)
    if jax.process_index() == 0:
        progress = ProgressBar(generations, initial=start, quiet=quiet)
    else:
        progress = NoProgress()
    stop_signal: list[int] = []
    last_save = [time.monotonic()]

    def local_flags():
        flags = np.zeros(2, bool)
        flags[STOP] = bool(stop_signal)
        flags[CHECKPOINT_DUE] = time.monotonic() - last_save[0] >= policy.every_seconds
        return process_flags(mesh, flags)

    def on_generation(generation, state, row, control):
        done = generation + 1
        run.log_metrics(row)
        progress.update(generation, row)
        for name, values in history_from_rows([row]).items():
            history[name].extend(values)
        stop = control[STOP]
        due = control[CHECKPOINT_DUE] or stop or done == generations
        if policy.every_generations and done % policy.every_generations == 0:
            due = True
        if due:  # the same decision on every process: orbax saves are collective
            checkpointer.save(done, state, fingerprint)
            distributed.note_checkpoint(done)
            last_save[0] = time.monotonic()
        if stop:
            raise RunInterrupted(done, run.path, command, distributed.resume_flags())

    t0 = time.perf_counter()
    with _stop_on_signals(stop_signal):
        try:
            if jax.process_count() > 1 and start < generations:
                # Compile, then meet: gloo gives processes 30 s to join a collective they use
                # for the first time, and compiling (or loading from the cache) can take one
                # process much longer than another.
                generation_fn = generation_fn.lower(
                    es_state, run_key, np.uint32(start), local_flags()
                ).compile()
                distributed.barrier(f"hades/compiled/{start}")
            es_state = run_generations(
                generation_fn, es_state, run_key, start, generations, on_generation, local_flags
            )
        finally:
            progress.close()
            checkpointer.close()
    es_state = jax.device_get(es_state)  # replicated: every process holds all of it
    return EvolveResult(strategy, es_state, history, time.perf_counter() - t0, mesh.size)


@contextlib.contextmanager
def _stop_on_signals(flag: list[int]):
    """SIGINT/SIGTERM set `flag`; the loop checkpoints at the end of the generation and stops."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda signum, frame: flag.append(signum))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
