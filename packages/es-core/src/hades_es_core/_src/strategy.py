"""`Strategy`: pure, jittable ask/tell over any pytree genome, maximising fitness."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from evosax.algorithms.base import EvolutionaryAlgorithm
from evosax.algorithms.population_based.base import PopulationBasedAlgorithm
from jax import flatten_util

from hades_es_core._src.algorithms import make_algorithm, sigma_schedule
from hades_es_core._src.config import ESConfig

Genome = Any  # a pytree of arrays
Population = Any  # a genome pytree with a leading popsize axis
State = Any  # the evosax algorithm's state (a pytree)

METRIC_NAMES = (
    "fitness_mean",
    "fitness_max",
    "fitness_min",
    "fitness_std",
    "num_nonfinite",
    "sigma",
    "best_fitness",
)


def _flip_sign(fitness: jax.Array) -> jax.Array:
    """Users maximise, evosax minimises: every conversion between the two goes through here."""
    return -fitness


def _evosax_fitness(fitness: jax.Array) -> tuple[jax.Array, jax.Array]:
    """User fitness (maximised, maybe non-finite) -> (evosax fitness, whether every member failed).

    A non-finite member (nan, and +-inf alike) gets the worst finite value of its generation, so
    it ranks last under any shaping and can never become the best. If every member failed they
    all get +inf, which leaves evosax's best-so-far archive alone.
    """
    loss = _flip_sign(fitness)
    finite = jnp.isfinite(loss)
    all_failed = ~jnp.any(finite)
    worst = jnp.where(all_failed, jnp.inf, jnp.max(loss, where=finite, initial=-jnp.inf))
    return jnp.where(finite, loss, worst), all_failed


def fitness_metrics(fitness: jax.Array) -> dict[str, jax.Array]:
    """Scalars over the finite members, in the user's (maximised) sign; nan when none is finite."""
    finite = jnp.isfinite(fitness)
    any_finite = jnp.any(finite)
    nan = jnp.asarray(jnp.nan, fitness.dtype)
    return {
        "fitness_mean": jnp.mean(fitness, where=finite),
        "fitness_max": jnp.where(any_finite, jnp.max(fitness, where=finite, initial=-jnp.inf), nan),
        "fitness_min": jnp.where(any_finite, jnp.min(fitness, where=finite, initial=jnp.inf), nan),
        "fitness_std": jnp.std(fitness, where=finite),
        "num_nonfinite": jnp.sum(~finite, dtype=jnp.int32),
    }


def _keep_if(condition: jax.Array, old: State, new: State) -> State:
    return jax.tree.map(lambda o, n: jnp.where(condition, o, n), old, new)


class Strategy(eqx.Module):
    """An evosax algorithm made pure, maximising and NaN-safe; build it with `make_strategy`.

    A pytree: `algorithm` (the evosax object) and `config` are static, `params` (evosax params)
    are leaves, so `jax.jit(strategy.tell)`, `eqx.filter_jit`, `vmap` and `lax.scan` all work.
    """

    algorithm: EvolutionaryAlgorithm = eqx.field(static=True)
    params: Any
    config: ESConfig = eqx.field(static=True)

    # Hash the static parts only (equal strategies share them), so bound methods are hashable
    # and `jax.jit(strategy.tell)` works despite the array leaves.
    def __hash__(self) -> int:
        return hash((type(self), self.algorithm, self.config))

    @property
    def popsize(self) -> int:
        return self.algorithm.population_size

    @property
    def num_dims(self) -> int:
        return self.algorithm.num_dims

    @property
    def population_based(self) -> bool:
        """GA/PSO/DE-style strategies, whose state is a population rather than a distribution."""
        return isinstance(self.algorithm, PopulationBasedAlgorithm)

    def init(self, key: jax.Array, genome: Genome) -> State:
        """The state whose search starts at `genome`.

        Population-based strategies start from `popsize` members sampled around `genome` with
        `sigma_init`, marked unevaluated; use `init_population` to seed them with evaluated ones.
        """
        if not self.population_based:
            state = self.algorithm.init(key, genome, self.params)
            return self._constrain_std(state)
        sample_key, init_key = jax.random.split(key)
        flat_genome, unravel = flatten_util.ravel_pytree(genome)
        noise = jax.random.normal(sample_key, (self.popsize, flat_genome.size), flat_genome.dtype)
        population = jax.vmap(unravel)(flat_genome + self.config.sigma_init * noise)
        # nan is evosax's "failed evaluation": ranked last, never archived.
        unevaluated = jnp.full((self.popsize,), jnp.nan)
        state = self.algorithm.init(init_key, population, unevaluated, self.params)
        return self._constrain_std(state)

    def init_population(self, key: jax.Array, population: Population, fitness: jax.Array):
        """Population-based strategies only: start from an evaluated population (maximised)."""
        if not self.population_based:
            raise ValueError(
                f"{type(self.algorithm).__name__} is distribution-based: use init(key, genome)"
            )
        loss, _ = _evosax_fitness(jnp.asarray(fitness, jnp.result_type(float)))
        state = self.algorithm.init(key, population, loss, self.params)
        return self._constrain_std(state)

    def ask(self, key: jax.Array, state: State) -> tuple[Population, State]:
        """`popsize` candidates: a genome pytree with a leading popsize axis."""
        return self.algorithm.ask(key, state, self.params)

    def tell(
        self, key: jax.Array, population: Population, fitness: jax.Array, state: State
    ) -> tuple[State, dict[str, jax.Array]]:
        """Update `state` with the population's `fitness`, which is MAXIMISED.

        Non-finite fitness counts as the generation's worst; a generation in which every member
        failed carries no information and leaves the state as it was (its counter still advances).
        Returns the new state and scalar metrics (see `METRIC_NAMES`).
        """
        fitness = jnp.asarray(fitness, jnp.result_type(float))
        loss, all_failed = _evosax_fitness(fitness)
        told, _ = self.algorithm.tell(key, population, loss, state, self.params)
        told = _keep_if(all_failed, state, told).replace(generation_counter=told.generation_counter)
        told = self._constrain_std(told)
        metrics = fitness_metrics(fitness) | {
            "sigma": self.sigma(told),
            "best_fitness": _flip_sign(told.best_fitness),
        }
        return told, metrics

    def mean(self, state: State) -> Genome:
        """The search distribution's mean (population-based: the population's mean)."""
        if self.population_based:
            return self._unravel(jnp.mean(state.population, axis=0))
        return self.algorithm.get_mean(state)

    def sigma(self, state: State) -> jax.Array:
        """Mean search std; nan for strategies without one (PSO, DE)."""
        if not hasattr(state, "std"):
            return jnp.asarray(jnp.nan)
        return jnp.mean(state.std)

    def best(self, state: State) -> tuple[Genome, jax.Array]:
        """Best member evaluated so far and its (maximised) fitness; -inf before any tell."""
        return self._unravel(state.best_solution), _flip_sign(state.best_fitness)

    def _unravel(self, flat: jax.Array) -> Genome:
        return flatten_util.ravel_pytree(self.algorithm.solution)[1](flat)

    def _constrain_std(self, state: State) -> State:
        """Applies the sigma schedule and its floor, sigma_limit, to strategies with a std."""
        if not hasattr(state, "std"):
            return state
        if hasattr(self.algorithm, "std_schedule"):
            # evosax evaluates std_schedule at the counter *before* its increment, so generations
            # 0 and 1 would both sample with sigma_init. Re-evaluating it at the new counter gives
            # generation g exactly max(sigma_init * sigma_decay**g, sigma_limit) (evosax<=0.1).
            std = sigma_schedule(self.config)(state.generation_counter)
            return state.replace(std=jnp.broadcast_to(std, jnp.shape(state.std)))
        # Self-adapting strategies (SNES, CMA-ES...) can shrink std to nothing: floor it.
        return state.replace(std=jnp.maximum(state.std, self.config.sigma_limit))


def make_strategy(config: ESConfig, genome_template: Genome, **algorithm_kwargs: Any) -> Strategy:
    """The `Strategy` described by `config`, searching genomes shaped like `genome_template`.

    `algorithm_kwargs` go to the evosax constructor as they are and win over the config (e.g.
    `subspace_dims` for GuidedES, or a custom `fitness_shaping_fn` in evosax's minimising sign).
    """
    algorithm, params = make_algorithm(config, genome_template, **algorithm_kwargs)
    return Strategy(algorithm=algorithm, params=params, config=config)
