"""Observation normalisation as pure functions."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hades_env_adapters import ObsNorm, merge_stats


def test_running_stats_start_like_purejaxrl():
    stats = ObsNorm.running().init((3,))
    np.testing.assert_array_equal(stats.mean, 0.0)
    np.testing.assert_array_equal(stats.var, 1.0)
    np.testing.assert_allclose(stats.count, 1e-4)


def test_running_stats_converge_to_the_data_stats():
    norm = ObsNorm.running()
    true_mean = np.array([3.0, -1.0, 0.0], np.float32)
    true_std = np.array([2.0, 0.5, 10.0], np.float32)

    def one_batch(stats, key):
        batch = true_mean + true_std * jax.random.normal(key, (16, 3))
        return norm.update(stats, batch), None

    stats, _ = jax.lax.scan(one_batch, norm.init((3,)), jax.random.split(jax.random.key(0), 500))
    assert np.all(np.abs(np.asarray(stats.mean) - true_mean) < 0.05 * true_std)
    np.testing.assert_allclose(stats.var, true_std**2, rtol=0.05)
    np.testing.assert_allclose(stats.count, 500 * 16 + 1e-4, rtol=1e-6)
    normalised = norm.normalize(stats, true_mean + true_std)
    np.testing.assert_allclose(normalised, 1.0, atol=0.05)


def test_one_merge_equals_pooled_stats_of_prior_and_batch():
    batch = jax.random.normal(jax.random.key(1), (8, 2)) * 3 + 1
    stats = merge_stats(ObsNorm.running().init((2,)), batch)
    # Whole-batch merging is exact, so two half merges give the same as one.
    halves = merge_stats(merge_stats(ObsNorm.running().init((2,)), batch[:4]), batch[4:])
    np.testing.assert_allclose(stats.mean, halves.mean, rtol=1e-5)
    np.testing.assert_allclose(stats.var, halves.var, rtol=1e-5)
    # The 1e-4 prior barely moves the first batch's stats.
    np.testing.assert_allclose(stats.mean, batch.mean(0), rtol=1e-3)
    np.testing.assert_allclose(stats.var, batch.var(0), rtol=1e-3)


def test_none_is_the_identity_and_const_is_fixed():
    obs = jnp.array([1.0, -2.0, 3.0])
    none = ObsNorm.none()
    stats = none.init((3,))
    assert none.normalize(none.update(stats, obs[None]), obs) is obs

    const = ObsNorm.const(jnp.array([1.0, 0.0, 1.0]), jnp.array([4.0, 1.0, 0.0]))
    stats = const.init((3,))
    assert const.update(stats, obs[None] * 100) is stats
    expected = (obs - jnp.array([1.0, 0.0, 1.0])) / jnp.sqrt(jnp.array([4.0, 1.0, 0.0]) + 1e-8)
    np.testing.assert_array_equal(const.normalize(stats, obs), expected)


def test_const_accepts_raw_obs_layout():
    mean = jnp.arange(8.0).reshape(2, 2, 2)
    stats = ObsNorm.const(mean, jnp.ones((2, 2, 2))).init((8,))
    np.testing.assert_array_equal(stats.mean, jnp.arange(8.0))


def test_bad_kinds_are_rejected():
    with pytest.raises(ValueError, match="unknown obs norm kind"):
        ObsNorm("whitening")
    with pytest.raises(ValueError, match="const"):
        ObsNorm("const")
