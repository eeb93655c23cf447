"""`fit_with`: traced learning rates and step counts, one compile for a whole sweep."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hades_bc_inner as hbc

NET = hbc.CategoricalPolicy(2, width=8, depth=2)
MAX_STEPS = 12
CONFIG = hbc.FitConfig(steps=MAX_STEPS, lr=0.03)
ANNEAL = hbc.FitConfig(steps=MAX_STEPS, lr=0.05, optimizer="sgd", momentum=0.5, anneal_lr=True)


@pytest.fixture(scope="module")
def data():
    inputs = jax.random.normal(jax.random.key(0), (4, 3))
    params = hbc.init_params(NET, jax.random.key(1), (3,))
    return params, inputs, hbc.balanced_labels(4, 2)


def _fit(config, data, **kwargs):
    params, inputs, labels = data
    return hbc.fit(NET.apply, params, inputs, labels, hbc.cross_entropy, config, None, **kwargs)


def _fit_with(config, data, lr, num_steps):
    params, inputs, labels = data
    return hbc.fit_with(
        NET.apply, params, inputs, labels, hbc.cross_entropy, config, None, lr, num_steps
    )


@pytest.fixture(scope="module")
def sweep(data):
    """Three members with their own lr and step count, vmapped under ONE jit per config."""
    lrs = jnp.array([0.003, 0.03, 0.1])
    steps = jnp.array([3, MAX_STEPS, 7])
    run = lambda config: jax.jit(jax.vmap(lambda lr, n: _fit_with(config, data, lr, n)))(lrs, steps)
    return lrs, steps, run(CONFIG), run(ANNEAL)


@pytest.mark.parametrize("which", [2, 3])
def test_each_member_equals_fit_with_its_own_lr_and_steps(data, sweep, which):
    lrs, steps, *results = sweep
    config = (CONFIG, ANNEAL)[which - 2]
    batched = results[which - 2]
    for i in range(3):
        own = dataclasses.replace(config, lr=float(lrs[i]), steps=int(steps[i]))
        expected = _fit(own, data)
        member = jax.tree.map(lambda x: x[i], batched.params)  # noqa: B023
        for got, want in zip(jax.tree.leaves(member), jax.tree.leaves(expected.params)):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        n = int(steps[i])
        np.testing.assert_allclose(batched.losses[i, :n], expected.losses, rtol=1e-5, atol=1e-6)


def test_losses_stay_flat_after_the_members_last_step(sweep):
    _, _, result, _ = sweep
    assert result.losses.shape == (3, MAX_STEPS)
    first_member = result.losses[0]
    # Params frozen after step 3: every later loss is the loss of the same params.
    np.testing.assert_allclose(first_member[3:], first_member[3], rtol=1e-6)
    assert first_member[2] != first_member[3]


def test_without_overrides_it_is_fit(data):
    a = _fit(CONFIG, data)
    b = _fit_with(CONFIG, data, None, None)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(x, y)


def test_traced_schedule_matches_the_static_one():
    static = hbc.make_lr_schedule(ANNEAL)
    traced = hbc.make_lr_schedule(ANNEAL, lr=jnp.float32(ANNEAL.lr), num_steps=jnp.int32(6))
    assert float(traced(0)) == pytest.approx(ANNEAL.lr)
    assert float(traced(3)) == pytest.approx(ANNEAL.lr / 2)  # half-way to 6, not to 12
    assert float(traced(9)) == 0.0
    assert float(static(6)) == pytest.approx(ANNEAL.lr / 2)
    assert hbc.make_lr_schedule(CONFIG, lr=0.5) == 0.5


def test_concrete_step_counts_out_of_range_are_errors(data):
    with pytest.raises(ValueError, match="num_steps must be in"):
        _fit_with(CONFIG, data, None, MAX_STEPS + 1)
    with pytest.raises(ValueError, match="num_steps must be in"):
        _fit_with(CONFIG, data, None, 0)
