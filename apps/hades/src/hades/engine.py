"""The outer loop shared by every hades command that evolves something.

A *problem* says how to score one genome: `member_fitness(genome, member_key, shared_key)` returns
a dict of scalars with at least "fitness" (maximised). The engine turns it into one jitted function
per generation — ask, score every member on its shard of the mesh, tell, score the new ES mean —
and drives it, streaming metrics to the run directory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from hades.parallel import check_population, map_members, member_ids, replicated


class Problem(Protocol):
    def initial_genome(self, key: jax.Array) -> Any: ...

    def member_fitness(self, genome, member_key, shared_key) -> dict[str, jax.Array]: ...


def generation_keys(run_key: jax.Array, generation) -> tuple[jax.Array, ...]:
    """Everything random in generation g derives from (run key, g): resume and any sharding
    reproduce it exactly. Returns (ask, tell, member_root, shared, mean)."""
    return tuple(jax.random.split(jax.random.fold_in(run_key, generation), 5))


def make_generation_fn(strategy, problem: Problem, mesh, popsize: int, chunk_size: int | None):
    """(es_state, run_key, generation) -> (es_state, metrics): one whole generation, jitted."""
    check_population(popsize, mesh, chunk_size)

    def member(genome, member_id, member_root, shared_key):
        return problem.member_fitness(
            genome, jax.random.fold_in(member_root, member_id), shared_key
        )

    score_population = map_members(member, mesh, chunk_size)
    ids = member_ids(popsize)
    rep = replicated(mesh)

    def generation(es_state, run_key, generation):
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
        return es_state, metrics

    # No donation: the ES state is a few thousand numbers, and the driver hands generation g's
    # state to the callback (checkpoints) after g+1 has been dispatched.
    return jax.jit(generation, out_shardings=(rep, rep))


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
    on_generation: Callable[[int, Any, dict[str, Any]], None],
):
    """Drive generations [start, stop). Metrics of generation g are fetched while g+1 runs, so
    the device never waits for the host."""
    pending = None
    t_prev = time.perf_counter()
    for generation in range(start, stop):
        es_state, metrics = generation_fn(es_state, run_key, jnp.uint32(generation))
        if pending is not None:
            t_prev = _emit(pending, t_prev, on_generation)
        pending = (generation, es_state, metrics)
    if pending is not None:
        _emit(pending, t_prev, on_generation)
    return es_state


def _emit(pending, t_prev, on_generation) -> float:
    generation, es_state, metrics = pending
    metrics = jax.device_get(metrics)
    now = time.perf_counter()
    on_generation(generation, es_state, to_row(generation, metrics, now - t_prev))
    return now
