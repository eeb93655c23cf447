"""Whole runs through `evolve`: strategies reach the optimum of a pytree problem despite failing
members; schedules, floors, callbacks, resuming, scan and host-side fitness."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hades_es_core import (
    METRIC_NAMES,
    ESConfig,
    evolve,
    generation_step,
    make_strategy,
    population_fitness,
)

TARGET = {"w": jnp.array([0.5, -1.0, 2.0]), "b": jnp.array([1.0, -0.5])}
GENOME = jax.tree.map(jnp.zeros_like, TARGET)


def objective(genome):
    """-||genome - TARGET||^2: maximum 0 at TARGET."""
    return -sum(
        jnp.sum((x - t) ** 2) for x, t in zip(jax.tree.leaves(genome), jax.tree.leaves(TARGET))
    )


def flaky_member_fitness(member_key, genome):
    """The objective, but ~20% of members fail with nan, +inf or -inf (by their member key)."""
    u = jax.random.uniform(member_key)
    failure = jnp.select([u < 0.1, u < 0.15, u < 0.2], [jnp.nan, jnp.inf, -jnp.inf], 0.0)
    return objective(genome) + failure


FLAKY_FITNESS = population_fitness(flaky_member_fitness)

RUNS = {
    "open_es": (ESConfig(popsize=32, sigma_init=0.1, sigma_decay=0.98, sigma_limit=0.03), 150),
    "snes": (
        ESConfig(
            strategy="snes",
            popsize=16,
            sigma_init=0.5,
            sigma_limit=1e-3,
            temperature=20.0,
            optimizer="sgd",
            lr_init=1.0,
        ),
        100,
    ),
    "cma_es": (ESConfig(strategy="cma_es", popsize=16, sigma_init=0.5), 100),
    "pso": (ESConfig(strategy="pso", popsize=32, sigma_init=1.0), 100),
}


@functools.cache
def evolved(name):
    """(strategy, final state, history) of RUNS[name], run once per module."""
    config, num_generations = RUNS[name]
    strategy = make_strategy(config, GENOME)
    state, history = evolve(strategy, FLAKY_FITNESS, jax.random.key(0), GENOME, num_generations)
    return strategy, state, history


@pytest.fixture(params=list(RUNS))
def run(request):
    return evolved(request.param)


@pytest.fixture
def open_es_run():
    return evolved("open_es")


def test_reaches_the_maximum_despite_failing_members(run):
    strategy, state, history = run
    start = float(objective(GENOME))
    assert objective(strategy.mean(state)) > -1e-2 > start
    best_genome, best_fitness = strategy.best(state)
    # +inf members never count as the best: the archive holds a real, finite member.
    np.testing.assert_allclose(best_fitness, objective(best_genome), rtol=1e-5)
    assert history["fitness_max"][-1] > history["fitness_max"][0]
    assert np.all(np.isfinite(history["fitness_mean"]))
    assert 0 < history["num_nonfinite"].mean() / strategy.popsize < 0.4


def test_history_is_numpy_per_generation(run):
    _, state, history = run
    assert set(history) == set(METRIC_NAMES)
    for values in history.values():
        assert isinstance(values, np.ndarray) and values.shape == (int(state.generation_counter),)


def test_sigma_schedule_decays_per_generation_down_to_its_limit(open_es_run):
    strategy, _, history = open_es_run
    config = strategy.config
    # history[g] is the sigma after generation g's tell, i.e. the one generation g + 1 samples with.
    generations = np.arange(1, len(history["sigma"]) + 1)
    expected = np.maximum(config.sigma_init * config.sigma_decay**generations, config.sigma_limit)
    np.testing.assert_allclose(history["sigma"], expected, rtol=1e-5)
    assert history["sigma"][-1] == pytest.approx(config.sigma_limit)

    # Generation 0 samples with sigma_init itself.
    state = strategy.init(jax.random.key(1), GENOME)
    assert strategy.sigma(state) == pytest.approx(config.sigma_init)
    population, _ = strategy.ask(jax.random.key(2), state)
    spread = np.std(np.asarray(population["w"]))
    assert spread == pytest.approx(config.sigma_init, rel=0.25)


@pytest.mark.parametrize("name", ["open_es", "snes"])
def test_sigma_ends_on_its_floor(name):
    # OpenES's schedule decays onto sigma_limit; SNES shrinks its own std near the optimum and
    # would keep shrinking without the floor.
    strategy, state, history = evolved(name)
    limit = strategy.config.sigma_limit
    assert history["sigma"].min() >= limit * (1 - 1e-6)
    np.testing.assert_allclose(state.std, limit, rtol=1e-6)


def test_callback_and_resume_reproduce_the_uninterrupted_run(open_es_run):
    strategy, _, _ = open_es_run
    key = jax.random.key(3)
    seen = []
    full, full_history = evolve(
        strategy, FLAKY_FITNESS, key, GENOME, 6, callback=lambda g, s, m: seen.append((g, m))
    )
    assert [g for g, _ in seen] == list(range(6))
    assert float(seen[-1][1]["fitness_mean"]) == full_history["fitness_mean"][-1]

    half, _ = evolve(strategy, FLAKY_FITNESS, key, GENOME, 3)
    resumed, resumed_history = evolve(strategy, FLAKY_FITNESS, key, None, 3, state=half)
    jax.tree.map(np.testing.assert_array_equal, resumed, full)
    np.testing.assert_array_equal(resumed_history["sigma"], full_history["sigma"][3:])


def test_generation_step_scans_like_evolve(open_es_run):
    strategy, _, _ = open_es_run
    key = jax.random.key(4)
    looped, _ = evolve(strategy, FLAKY_FITNESS, key, GENOME, 5)

    init_key, run_key = jax.random.split(key)

    @jax.jit
    def scanned(state):
        def body(state, generation):
            gen_key = jax.random.fold_in(run_key, generation)
            return generation_step(strategy, FLAKY_FITNESS, gen_key, state)

        return jax.lax.scan(body, state, jnp.arange(5))

    state, metrics = scanned(strategy.init(init_key, GENOME))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), state, looped)
    assert metrics["sigma"].shape == (5,)


def test_host_side_fitness_function(open_es_run):
    strategy, _, _ = open_es_run

    def numpy_fitness(key, population):  # not traceable: forces real arrays
        return -np.sum((np.asarray(population["w"]) - np.asarray(TARGET["w"])) ** 2, axis=-1)

    state, history = evolve(
        strategy, numpy_fitness, jax.random.key(5), GENOME, 3, jit_fitness=False
    )
    assert int(state.generation_counter) == 3 and history["fitness_max"].shape == (3,)
