"""Per-member keys, population fitness from a per-member function, and a simple run loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from hades_es_core._src.strategy import METRIC_NAMES, Genome, Population, State, Strategy

FitnessFn = Callable[[jax.Array, Population], jax.Array]  # (key, population) -> (popsize,)
Callback = Callable[[int, State, dict[str, jax.Array]], Any]


def member_keys(key: jax.Array, popsize: int) -> jax.Array:
    """`fold_in(key, i)` for each member i: member i's randomness is the same however the
    population is batched, chunked or sharded."""
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(popsize))


def population_fitness(
    member_fitness_fn: Callable[[jax.Array, Genome], jax.Array], batch_size: int | None = None
) -> FitnessFn:
    """Lifts `member_fitness_fn(member_key, genome) -> scalar` to a `fitness_fn(key, population)`.

    Member i gets `member_keys(key, popsize)[i]`. `batch_size=None` vmaps the whole population;
    an int evaluates `batch_size` members at a time (`lax.map`) to bound memory, same result.
    """

    def fitness_fn(key: jax.Array, population: Population) -> jax.Array:
        popsize = jax.tree.leaves(population)[0].shape[0]
        keys = member_keys(key, popsize)
        if batch_size is None:
            return jax.vmap(member_fitness_fn)(keys, population)
        return jax.lax.map(
            lambda args: member_fitness_fn(*args), (keys, population), batch_size=batch_size
        )

    return fitness_fn


def generation_step(
    strategy: Strategy, fitness_fn: FitnessFn, key: jax.Array, state: State
) -> tuple[State, dict[str, jax.Array]]:
    """One generation, pure (jit it, or `lax.scan` it): ask, evaluate, tell."""
    ask_key, fitness_key, tell_key = jax.random.split(key, 3)
    population, state = strategy.ask(ask_key, state)
    fitness = fitness_fn(fitness_key, population)
    return strategy.tell(tell_key, population, fitness, state)


# Module-level jits: repeated `evolve` calls with the same strategy and fitness_fn compile once.
_jit_generation_step = eqx.filter_jit(generation_step)
_jit_ask = eqx.filter_jit(Strategy.ask)
_jit_tell = eqx.filter_jit(Strategy.tell)


def _host_generation_step(strategy, fitness_fn, key, state):
    # For fitness functions JAX cannot trace (simulators, numpy code): only ask/tell are jitted.
    ask_key, fitness_key, tell_key = jax.random.split(key, 3)
    population, state = _jit_ask(strategy, ask_key, state)
    fitness = jnp.asarray(fitness_fn(fitness_key, population))
    return _jit_tell(strategy, tell_key, population, fitness, state)


def evolve(
    strategy: Strategy,
    fitness_fn: FitnessFn,
    key: jax.Array,
    genome: Genome,
    num_generations: int,
    callback: Callback | None = None,
    *,
    state: State | None = None,
    jit_fitness: bool = True,
) -> tuple[State, dict[str, np.ndarray]]:
    """Runs `num_generations` of ask / `fitness_fn(key, population)` (maximised) / tell.

    Generation g's randomness derives from `(key, g)` alone, so resuming from a saved `state` (its
    generation counter says where it stopped) with the same key reproduces the uninterrupted run.
    `callback(generation, state, metrics)` runs after each generation, for logging or
    checkpointing. `jit_fitness=False` calls `fitness_fn` eagerly on the host.

    Returns the final state and the metrics history: name -> numpy array over the generations.
    """
    init_key, run_key = jax.random.split(key)
    if state is None:
        state = strategy.init(init_key, genome)
    step = _jit_generation_step if jit_fitness else _host_generation_step
    start = int(state.generation_counter)
    history = []
    for generation in range(start, start + num_generations):
        state, metrics = step(strategy, fitness_fn, jax.random.fold_in(run_key, generation), state)
        if callback is not None:
            callback(generation, state, metrics)
        history.append(metrics)
    history = jax.device_get(history)
    return state, {
        name: np.asarray([metrics[name] for metrics in history]) for name in METRIC_NAMES
    }
