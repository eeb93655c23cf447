import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hades_distill_vision as dv
from hades_bc_inner import FitConfig

# A classifier small enough that every test compiles and runs in seconds.
TINY = dv.Recipe(conv_features=2, width=16, fit=FitConfig(steps=10, lr=0.1, optimizer="sgd"))


@pytest.fixture
def data(tiny_mnist):
    return dv.load_image_dataset("mnist", tiny_mnist, download=False)


def test_paper_recipe_is_the_published_one():
    recipe = dv.paper_recipe()
    assert recipe.net == "cnn" and recipe.conv_features == 16 and recipe.width == 128
    assert (recipe.fit.optimizer, recipe.fit.lr, recipe.fit.steps) == ("sgd", 0.1, 1000)
    assert recipe.fit.loss_scale == 0.1 and recipe.fit.momentum == 0.0
    params = jax.jit(dv.init_classifier, static_argnums=0)(recipe, jax.random.key(0))["params"]
    for hidden in ("Conv_0", "Dense_0"):
        bias = params[hidden]["bias"]
        assert float(bias.min()) >= 0.0 and float(bias.max()) < 0.05
        assert float(jnp.std(bias)) > 0.005  # drawn, not constant
    assert not params["Dense_1"]["bias"].any()  # the output layer keeps flax's zeros
    default = jax.jit(dv.init_classifier, static_argnums=0)(dv.Recipe(), jax.random.key(0))
    default = default["params"]
    np.testing.assert_array_equal(default["Dense_0"]["kernel"], params["Dense_0"]["kernel"])
    assert not default["Dense_0"]["bias"].any()


def test_chunked_loss_matches_one_batch(data):
    params = dv.init_classifier(TINY, jax.random.key(0))
    loss, accuracy = dv.chunked_loss_and_accuracy(TINY, params, dv.chunk_split(data.train, 7))
    total, correct, count = dv.batch_loss_and_accuracy(TINY, params, *data.train)
    assert count == 40
    np.testing.assert_allclose(loss, total / count, rtol=1e-5)
    np.testing.assert_allclose(accuracy, correct / count, rtol=1e-6)


@pytest.mark.parametrize(("fitness_batch", "learn_labels"), [(None, False), (16, True)])
def test_fitness_is_finite_under_jit_and_vmap(data, fitness_batch, learn_labels):
    problem = dv.ImageDistillation(
        TINY,
        data.train,
        per_class=2,
        learn_labels=learn_labels,
        fitness_batch=fitness_batch,
        eval_chunk=16,
    )
    genome = problem.initial_genome(jax.random.key(0))
    assert genome["images"].shape == (20, 28, 28, 1)
    assert ("label_logits" in genome) == learn_labels
    population = jax.tree.map(lambda x: jnp.stack([x, x + 0.1, x - 0.1]), genome)
    score = jax.jit(jax.vmap(problem.member_fitness, in_axes=(0, 0, None)))
    scores = score(population, jax.random.split(jax.random.key(1), 3), jax.random.key(2))
    assert set(scores) == {"fitness", "train_loss", "real_accuracy"}
    for value in scores.values():
        assert value.shape == (3,) and np.all(np.isfinite(value))
    assert np.all(scores["fitness"] < 0)
    # Common random numbers: a member's score depends on its genome, not on its own key.
    again = score(population, jax.random.split(jax.random.key(9), 3), jax.random.key(2))
    np.testing.assert_allclose(scores["fitness"], again["fitness"], rtol=1e-5)


def test_fitness_is_minus_the_scaled_real_loss(data):
    recipe = dataclasses.replace(TINY, fit=dataclasses.replace(TINY.fit, loss_scale=0.1))
    problem = dv.ImageDistillation(recipe, data.train, num_inits=1, init_mode="fixed")
    genome = problem.initial_genome(jax.random.key(0))
    fitness = jax.jit(problem.member_fitness)(genome, jax.random.key(1), jax.random.key(2))
    fitness = fitness["fitness"]
    params = dv.train_classifier(recipe, genome["images"], problem.labels, problem.fixed_init_key)
    loss, _ = dv.chunked_loss_and_accuracy(recipe, params.params, dv.chunk_split(data.train, 64))
    np.testing.assert_allclose(fitness, -0.1 * loss, rtol=1e-5)


def open_es(fitness_fn, genome, key, generations, popsize=16, sigma=0.05, lr=0.05):
    """A minimal antithetic OpenES (centred ranks, sign-normalised step), only for this test."""
    flat, unravel = jax.flatten_util.ravel_pytree(genome)
    score = jax.jit(jax.vmap(lambda x, k: fitness_fn(unravel(x), k), in_axes=(0, None)))
    for g in range(generations):
        generation_key = jax.random.fold_in(key, g)
        noise = jax.random.normal(generation_key, (popsize // 2, flat.size))
        noise = jnp.concatenate([noise, -noise])
        fitness = score(flat + sigma * noise, generation_key)
        ranks = jnp.argsort(jnp.argsort(fitness)) / (popsize - 1) - 0.5
        flat = flat + lr * jnp.sign(ranks @ noise)
    return unravel(flat)


def test_a_few_es_steps_lower_the_real_loss(data):
    # One fixed classifier init (HaDES-F): the objective is deterministic, so a few ES steps
    # must lower it. Seed 0's init learns the class means poorly: room to improve.
    problem = dv.ImageDistillation(TINY, data.train, num_inits=1, init_mode="fixed", seed=0)
    fitness = lambda genome, key: problem.member_fitness(genome, key, key)["fitness"]
    genome = problem.initial_genome(jax.random.key(0))
    evolved = open_es(fitness, genome, jax.random.key(3), generations=6)
    before, after = fitness(genome, jax.random.key(0)), fitness(evolved, jax.random.key(0))
    assert after > before + 0.1, (before, after)


def test_test_accuracy_and_summary(data):
    images = dv.initial_images("mean", data.train, 1, jax.random.key(0))
    labels = dv.synthetic_labels(1)
    accuracies = dv.test_accuracy(images, labels, TINY, jax.random.key(0), 3, data.test)
    assert accuracies.shape == (3,) and np.all((accuracies >= 0) & (accuracies <= 1))
    assert accuracies.mean() > 0.5  # class means of the tiny classes are easy to learn from
    summary = dv.accuracy_summary(np.array([[0.9, 0.8], [0.7, 0.6]]))
    assert summary["mean"] == pytest.approx(0.75)
    assert summary["seed_means"] == pytest.approx([0.85, 0.65])
    assert summary["seed_std"] == pytest.approx(0.1) and summary["num_classifiers"] == 2
