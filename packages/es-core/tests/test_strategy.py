"""Strategy behaviour on single ask/tell steps: names, knobs, sign, non-finite fitness, weights,
batching invariance and jit-friendliness."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized
from evosax.algorithms import SNES, Open_ES, Sep_CMA_ES, SimpleGA, xNES
from evosax.algorithms.distribution_based.discovered_es import get_weights

from hades_es_core import (
    METRIC_NAMES,
    ESConfig,
    available_strategies,
    make_strategy,
    member_keys,
    population_fitness,
)

GENOME = {"w": jnp.zeros(3), "b": jnp.zeros(2)}
DIRECTION = {"w": jnp.array([1.0, -2.0, 0.5]), "b": jnp.array([-1.0, 1.5])}


@functools.cache
def strategy_for(**config):
    # One Strategy (and so one evosax jit cache) per config for the whole module.
    return make_strategy(ESConfig(**config), GENOME)


def linear_fitness(population):
    """x . DIRECTION: maximised by moving the mean along +DIRECTION."""
    return sum(
        jnp.sum(x * d, axis=-1)
        for x, d in zip(jax.tree.leaves(population), jax.tree.leaves(DIRECTION))
    )


def dot(a, b):
    return sum(jnp.vdot(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def ask_and_tell(strategy, fitness_fn, seed=0):
    key_init, key_ask, key_tell = jax.random.split(jax.random.key(seed), 3)
    state = strategy.init(key_init, GENOME)
    population, state = strategy.ask(key_ask, state)
    return strategy.tell(key_tell, population, fitness_fn(population), state)


# --- names and knobs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, cls",
    [
        ("open_es", Open_ES),
        ("OpenES", Open_ES),
        ("snes", SNES),
        ("sep_cma_es", Sep_CMA_ES),
        ("SEPCMAES", Sep_CMA_ES),
        ("xnes", xNES),
        ("simple_ga", SimpleGA),
    ],
)
def test_strategy_names_ignore_case_and_underscores(name, cls):
    assert type(make_strategy(ESConfig(strategy=name, popsize=8), GENOME).algorithm) is cls


def test_unknown_strategy_lists_available_names():
    with pytest.raises(ValueError, match=r"unknown strategy 'nope'.*Open_ES.*SNES"):
        make_strategy(ESConfig(strategy="nope"), GENOME)
    assert {"Open_ES", "SNES", "CMA_ES", "SimpleGA"} <= set(available_strategies())


@pytest.mark.parametrize(
    "config, match",
    [
        (dict(strategy="snes", fitness_shaping="centered_rank"), "fitness_shaping must be None"),
        (dict(strategy="open_es", temperature=20.0), "temperature applies to"),
        (dict(strategy="snes", sigma_decay=0.99), "sigma_decay must be 1.0"),
        (dict(strategy="random_search"), "needs.*sampling_fn"),
    ],
)
def test_knobs_a_strategy_cannot_honour_are_errors(config, match):
    with pytest.raises(ValueError, match=match):
        make_strategy(ESConfig(**config), GENOME)


@pytest.mark.parametrize(
    "config", [dict(optimizer="rmsprop"), dict(fitness_shaping="ranks"), dict(popsize=1)]
)
def test_invalid_config_values_are_errors(config):
    with pytest.raises(ValueError):
        ESConfig(**config)


def test_std_init_is_sigma_init():
    strategy = strategy_for(strategy="snes", popsize=8, sigma_init=0.3)
    state = strategy.init(jax.random.key(0), GENOME)
    np.testing.assert_allclose(state.std, 0.3)


def test_population_based_strategies_seed_from_an_evaluated_population():
    strategy = strategy_for(strategy="simple_ga", popsize=8)
    population = {"w": jnp.arange(24.0).reshape(8, 3), "b": jnp.zeros((8, 2))}
    fitness = jnp.array([0.0, 5.0, jnp.inf, 1.0, 2.0, jnp.nan, 3.0, 4.0])
    state = strategy.init_population(jax.random.key(0), population, fitness)
    best_genome, best_fitness = strategy.best(state)
    assert best_fitness == 5.0  # the maximum; +inf is a failure, not a winner
    np.testing.assert_array_equal(best_genome["w"], population["w"][1])
    with pytest.raises(ValueError, match="distribution-based"):
        strategy_for(popsize=8).init_population(jax.random.key(0), population, fitness)


# --- the sign convention ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        dict(strategy="open_es"),  # centered ranks, evosax's default
        dict(strategy="open_es", fitness_shaping="z_score"),
        dict(strategy="open_es", fitness_shaping="raw"),
        dict(strategy="snes", sigma_init=0.5),
    ],
    ids=lambda c: "-".join(map(str, c.values())),
)
def test_maximising_moves_the_mean_towards_higher_fitness(config):
    strategy = strategy_for(popsize=16, **config)
    state, metrics = ask_and_tell(strategy, linear_fitness)
    assert dot(strategy.mean(state), DIRECTION) > 0
    # Metrics are in the user's sign: the best member beats the worst.
    assert metrics["fitness_max"] > metrics["fitness_min"]
    assert metrics["best_fitness"] == metrics["fitness_max"]


# --- non-finite fitness ----------------------------------------------------------------------


class NonFiniteFitnessTest(chex.TestCase):
    """nan and +-inf members count as the worst of their generation; never as the best."""

    def tell_fn(self, strategy):
        return self.variant(lambda key, pop, fit, state: strategy.tell(key, pop, fit, state))

    def setup_generation(self, strategy):
        state = strategy.init(jax.random.key(0), GENOME)
        population, state = strategy.ask(jax.random.key(1), state)
        return population, linear_fitness(population), state

    # shaping None is OpenES's default, centered ranks.
    @parameterized.product(bad_value=(jnp.nan, jnp.inf, -jnp.inf), shaping=("raw", None))
    def test_non_finite_member_counts_as_worst(self, bad_value, shaping):
        strategy = strategy_for(popsize=16, fitness_shaping=shaping)
        population, fitness, state = self.setup_generation(strategy)
        best = jnp.argmax(fitness)  # breaking the best member is the strongest test
        broken = fitness.at[best].set(bad_value).at[3].set(bad_value)
        as_worst = broken.at[best].set(jnp.nan).at[3].set(jnp.nan)
        as_worst = jnp.where(jnp.isnan(as_worst), jnp.nanmin(as_worst), as_worst)

        got_state, got_metrics = strategy.tell(jax.random.key(2), population, broken, state)
        want_state, _ = strategy.tell(jax.random.key(2), population, as_worst, state)

        chex.assert_trees_all_close(got_state, want_state)
        assert got_metrics["num_nonfinite"] == 2
        finite = np.delete(np.asarray(fitness), [int(best), 3])
        np.testing.assert_allclose(got_metrics["fitness_mean"], finite.mean(), rtol=1e-6)
        np.testing.assert_allclose(got_metrics["fitness_max"], finite.max())
        assert np.isfinite(got_metrics["best_fitness"])

    @chex.variants(with_jit=True, without_jit=True)
    def test_all_failed_generation_leaves_the_state_alone(self):
        strategy = strategy_for(popsize=16)
        population, _, state = self.setup_generation(strategy)
        # Move first, so adam's momentum would carry the mean if the generation were not skipped.
        state, _ = strategy.tell(jax.random.key(2), population, linear_fitness(population), state)
        failed = jnp.full((16,), jnp.nan).at[0].set(jnp.inf)

        new_state, metrics = self.tell_fn(strategy)(jax.random.key(3), population, failed, state)

        chex.assert_trees_all_equal(new_state.mean, state.mean)
        chex.assert_trees_all_equal(new_state.opt_state, state.opt_state)
        assert new_state.generation_counter == state.generation_counter + 1
        assert metrics["num_nonfinite"] == 16
        assert np.isnan(metrics["fitness_mean"]) and np.isnan(metrics["fitness_max"])


# --- SNES temperature ------------------------------------------------------------------------


def test_snes_temperature_uses_evosax_0_1_rank_weights():
    config = dict(strategy="snes", popsize=8, sigma_init=0.5, optimizer="sgd", lr_init=1.0)
    default = strategy_for(**config)
    tempered = strategy_for(temperature=20.0, **config)
    weights = get_weights(8, 20.0)  # softmax(-20 sigmoid(20 centered_ranks)), best first
    np.testing.assert_allclose(tempered.params.weights, weights)
    assert not np.allclose(default.params.weights, weights)

    state = tempered.init(jax.random.key(0), GENOME)
    population, state = tempered.ask(jax.random.key(1), state)
    fitness = linear_fitness(population)
    new_state, _ = tempered.tell(jax.random.key(2), population, fitness, state)

    # SNES with sgd(lr=1): mean += std * sum_i weights[rank_i] z_i, rank 0 = highest fitness.
    z = jax.vmap(lambda m: jax.flatten_util.ravel_pytree(m)[0])(population) - state.mean
    z = z / state.std
    expected = state.mean + state.std * (weights @ z[jnp.argsort(-fitness)])
    np.testing.assert_allclose(new_state.mean, expected, rtol=1e-5, atol=1e-6)


# --- member keys and batching ----------------------------------------------------------------


def test_member_keys_depend_only_on_the_member_index():
    key = jax.random.key(7)
    keys = member_keys(key, 8)
    chex.assert_trees_all_equal(
        jax.random.key_data(keys[:4]), jax.random.key_data(member_keys(key, 4))
    )
    chex.assert_trees_all_equal(
        jax.random.key_data(keys[5]), jax.random.key_data(jax.random.fold_in(key, 5))
    )


def take(population, index):
    return jax.tree.map(lambda x: x[index], population)


def noisy_member_fitness(member_key, genome):
    return linear_fitness(genome) + jax.random.normal(member_key)


def test_fitness_and_tell_are_invariant_to_batching():
    strategy = strategy_for(popsize=16)
    state = strategy.init(jax.random.key(0), GENOME)
    population, state = strategy.ask(jax.random.key(1), state)
    key = jax.random.key(2)

    whole = jax.jit(population_fitness(noisy_member_fitness))(key, population)
    mapped = jax.jit(population_fitness(noisy_member_fitness, batch_size=5))(key, population)
    keys = member_keys(key, 16)
    chunks = [
        jax.vmap(noisy_member_fitness)(keys[i : i + 4], take(population, slice(i, i + 4)))
        for i in range(0, 16, 4)
    ]
    chunked = jnp.concatenate(chunks)
    chex.assert_trees_all_close(whole, mapped, chunked, rtol=1e-6)

    told_whole = strategy.tell(jax.random.key(3), population, whole, state)
    told_chunked = strategy.tell(jax.random.key(3), population, chunked, state)
    chex.assert_trees_all_close(told_whole, told_chunked, rtol=1e-6)


# --- jax transformations ---------------------------------------------------------------------


def test_bound_methods_jit_and_metrics_are_scalars():
    strategy = strategy_for(popsize=16)
    state = jax.jit(strategy.init)(jax.random.key(0), GENOME)
    population, state = jax.jit(strategy.ask)(jax.random.key(1), state)
    fitness = linear_fitness(population)
    jitted = jax.jit(strategy.tell)(jax.random.key(2), population, fitness, state)
    eager = strategy.tell(jax.random.key(2), population, fitness, state)
    chex.assert_trees_all_close(jitted, eager, rtol=1e-6)
    state, metrics = jitted
    assert set(metrics) == set(METRIC_NAMES)
    chex.assert_rank(list(metrics.values()), 0)
    chex.assert_trees_all_equal_structs(strategy.mean(state), GENOME)
    assert strategy.sigma(state).shape == ()
