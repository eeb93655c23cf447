"""Behaviour of `fit` and `make_optimizer`. Each jitted function is compiled once per module."""

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import hades_bc_inner as hbc

N_FEATURES = 3
CATEGORICAL = hbc.CategoricalPolicy(2, width=16, depth=2)
CE_CONFIG = hbc.FitConfig(steps=200, lr=0.03)
NOISY_CONFIG = hbc.FitConfig(steps=30, lr=0.03, data_noise=0.1, loss_scale=0.5)
GAUSSIAN = hbc.GaussianPolicy(2, width=32, depth=2)
NLL_CONFIG = hbc.FitConfig(steps=300, lr=0.01, max_grad_norm=10.0)


def _states(key, n):
    return jax.random.normal(key, (n, N_FEATURES))


def _params(net, key):
    return hbc.init_params(net, key, (N_FEATURES,))


@jax.jit
def fit_ce(params, inputs, labels):
    return hbc.fit(CATEGORICAL.apply, params, inputs, labels, hbc.cross_entropy, CE_CONFIG, None)


def fit_noisy(params, inputs, labels, key):
    loss_fn = hbc.make_policy_loss("categorical")
    return hbc.fit(CATEGORICAL.apply, params, inputs, labels, loss_fn, NOISY_CONFIG, key)


@pytest.fixture(scope="module")
def tiny_dataset():
    return _states(jax.random.key(0), 4), hbc.balanced_labels(4, 2)


@pytest.fixture(scope="module")
def ce_result(tiny_dataset):
    inputs, labels = tiny_dataset
    return fit_ce(_params(CATEGORICAL, jax.random.key(1)), inputs, labels)


def test_fits_tiny_dataset_to_near_zero_cross_entropy(tiny_dataset, ce_result):
    inputs, labels = tiny_dataset
    chex.assert_shape(ce_result.losses, (CE_CONFIG.steps,))
    np.testing.assert_allclose(ce_result.losses[0], np.log(2.0), atol=0.05)  # head init ~ 0
    assert ce_result.losses[-1] < 1e-3
    logits = CATEGORICAL.apply(ce_result.params, inputs)
    np.testing.assert_array_equal(jnp.argmax(logits, -1), labels)


def test_gaussian_nll_fit_recovers_target_actions():
    inputs = _states(jax.random.key(0), 8)
    actions = jax.random.uniform(jax.random.key(2), (8, 2), minval=-1.0, maxval=1.0)
    loss_fn = hbc.make_policy_loss("gaussian")
    fit = jax.jit(lambda p: hbc.fit(GAUSSIAN.apply, p, inputs, actions, loss_fn, NLL_CONFIG, None))
    result = fit(_params(GAUSSIAN, jax.random.key(1)))
    mean, _ = GAUSSIAN.apply(result.params, inputs)
    np.testing.assert_allclose(mean, actions, atol=0.1)
    assert jnp.all(result.params["params"]["log_std"] < -1.0)  # from 0: ever more certain
    assert result.losses[-1] < result.losses[0] - 5.0


@pytest.fixture(scope="module")
def population():
    size = 3
    keys = jax.random.split(jax.random.key(3), 3 * size).reshape(3, size)
    params = jax.jit(jax.vmap(lambda k: _params(CATEGORICAL, k)))(keys[0])
    inputs = jax.vmap(lambda k: _states(k, 6))(keys[1])
    labels = jnp.stack([hbc.balanced_labels(6, 2)] * size)
    return params, inputs, labels, keys[2]


def _assert_member_equals_unvmapped(batched, i, unvmapped):
    member = jax.tree.map(lambda x: x[i], batched)
    chex.assert_trees_all_close(member, unvmapped, rtol=1e-4, atol=1e-5)


def test_fit_vmaps_over_a_population_of_datasets(population):
    params, inputs, labels, keys = population
    batched = jax.jit(jax.vmap(fit_noisy))(params, inputs, labels, keys)
    chex.assert_shape(batched.losses, (3, NOISY_CONFIG.steps))
    fit_one = jax.jit(fit_noisy)
    for i in range(3):
        member = jax.tree.map(lambda x: x[i], (params, inputs, labels, keys))  # noqa: B023
        _assert_member_equals_unvmapped(batched, i, fit_one(*member))


def test_fit_vmaps_over_init_keys(population):
    params, inputs, labels, keys = population  # params: one init per key of a batch of keys
    fit_inits = jax.jit(jax.vmap(fit_noisy, in_axes=(0, None, None, None)))
    batched = fit_inits(params, inputs[0], labels[0], keys[0])
    fit_one = jax.jit(fit_noisy)
    for i in range(3):
        member_params = jax.tree.map(lambda x: x[i], params)  # noqa: B023
        _assert_member_equals_unvmapped(
            batched, i, fit_one(member_params, inputs[0], labels[0], keys[0])
        )


def test_fit_is_jittable_with_static_config(tiny_dataset, ce_result):
    inputs, labels = tiny_dataset
    jitted = jax.jit(hbc.fit, static_argnames=("apply_fn", "loss_fn", "config"))
    result = jitted(
        CATEGORICAL.apply,
        _params(CATEGORICAL, jax.random.key(1)),
        inputs,
        labels,
        loss_fn=hbc.cross_entropy,
        config=CE_CONFIG,
        key=None,
    )
    chex.assert_trees_all_close(result, ce_result, rtol=1e-5, atol=1e-6)


def test_data_noise_is_added_and_keyed(population):
    params, inputs, labels, keys = population
    member = jax.tree.map(lambda x: x[0], (params, inputs, labels))
    fit_one = jax.jit(fit_noisy)
    a, b, a_again = (fit_one(*member, k) for k in (keys[0], keys[1], keys[0]))
    chex.assert_trees_all_equal(a, a_again)
    assert not np.allclose(a.losses, b.losses)
    clean_loss = (
        NOISY_CONFIG.loss_scale
        * jax.vmap(hbc.cross_entropy)(CATEGORICAL.apply(member[0], member[1]), member[2]).mean()
    )
    assert not np.isclose(a.losses[0], clean_loss)
    with pytest.raises(ValueError, match="needs a PRNG key"):
        fit_noisy(*member, None)


def test_loss_scale_multiplies_the_loss(tiny_dataset):
    inputs, labels = tiny_dataset
    params = _params(CATEGORICAL, jax.random.key(1))

    def first_loss(loss_scale):
        config = hbc.FitConfig(steps=1, loss_scale=loss_scale)
        return hbc.fit(CATEGORICAL.apply, params, inputs, labels, hbc.cross_entropy, config, None)

    np.testing.assert_allclose(first_loss(0.5).losses, 0.5 * first_loss(1.0).losses, rtol=1e-6)


# make_optimizer


def _updates(config, grads):
    """Successive updates of `make_optimizer(config)` fed the given sequence of gradients."""
    optimizer = hbc.make_optimizer(config)
    params = jnp.zeros_like(grads[0])
    state = optimizer.init(params)
    updates = []
    for grad in grads:
        update, state = optimizer.update(grad, state, params)
        updates.append(update)
    return jnp.stack(updates)


def test_lr_anneals_linearly_to_zero_by_the_end():
    config = hbc.FitConfig(steps=4, lr=1.0, optimizer="sgd", anneal_lr=True)
    schedule = hbc.make_lr_schedule(config)
    assert schedule(0) == 1.0
    assert schedule(2) == 0.5  # the paper's lr * (1 - count // steps) would still be 1 here
    assert schedule(config.steps) == 0.0
    updates = _updates(config, jnp.ones((config.steps + 2, 1)))
    np.testing.assert_allclose(updates[:, 0], [-1.0, -0.75, -0.5, -0.25, 0.0, 0.0])


def test_lr_is_constant_without_anneal():
    config = hbc.FitConfig(steps=4, lr=0.5, optimizer="sgd")
    assert hbc.make_lr_schedule(config) == 0.5
    np.testing.assert_allclose(_updates(config, jnp.ones((6, 1))), -0.5)


def test_grad_clipping_is_active_when_set():
    grads = jnp.full((1, 4), 50.0)  # global norm 100
    clipped = hbc.FitConfig(lr=1.0, optimizer="sgd", max_grad_norm=2.0)
    np.testing.assert_allclose(jnp.linalg.norm(_updates(clipped, grads)), 2.0, rtol=1e-6)
    unclipped = dataclasses.replace(clipped, max_grad_norm=None)
    np.testing.assert_allclose(jnp.linalg.norm(_updates(unclipped, grads)), 100.0, rtol=1e-6)


def test_sgd_momentum():
    config = hbc.FitConfig(lr=1.0, optimizer="sgd", momentum=0.9)
    np.testing.assert_allclose(_updates(config, jnp.ones((2, 1)))[:, 0], [-1.0, -1.9])


def test_adam_eps_is_configurable():
    config = hbc.FitConfig(lr=1.0, adam_eps=1.0)
    grads = jnp.full((1, 1), 1.0)
    # First Adam step: lr * g_hat / (|g_hat| + eps) = 1 / 2 with bias-corrected moments.
    np.testing.assert_allclose(_updates(config, grads), -0.5, rtol=1e-5)
    default = optax.adam(1.0, eps=1e-5)
    state = default.init(grads[0])
    np.testing.assert_allclose(
        _updates(dataclasses.replace(config, adam_eps=1e-5), grads)[0],
        default.update(grads[0], state)[0],
    )


def test_fit_config_is_frozen_hashable_and_validated():
    assert hash(hbc.FitConfig()) == hash(hbc.FitConfig())
    with pytest.raises(dataclasses.FrozenInstanceError):
        hbc.FitConfig().steps = 3  # type: ignore[misc]
    assert hbc.FitConfig(**dataclasses.asdict(NLL_CONFIG)) == NLL_CONFIG
    with pytest.raises(ValueError, match="optimizer"):
        hbc.FitConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="steps"):
        hbc.FitConfig(steps=0)
    with pytest.raises(ValueError, match="max_grad_norm"):
        hbc.FitConfig(max_grad_norm=0.0)
