"""`sample_states`: environment states for initialising synthetic datasets."""

import jax
import numpy as np
import pytest

from hades_env_adapters import fold_observations, make_env, sample_states

CARTPOLE_X_LIMIT, CARTPOLE_THETA_LIMIT = 2.4, 12 * 2 * np.pi / 360  # gymnax's termination


@pytest.fixture(scope="module")
def cartpole():
    return make_env("CartPole-v1")


@pytest.fixture(scope="module")
def sample_cartpole(cartpole):
    return jax.jit(lambda key: sample_states(cartpole, key, 16))


def test_samples_are_distinct_valid_raw_states(cartpole, sample_cartpole):
    states = np.asarray(sample_cartpole(jax.random.key(0)))
    assert states.shape == (16, 4) and states.dtype == np.float32
    assert len(np.unique(states, axis=0)) == 16
    # Live (non-terminal) states: auto-reset replaces terminal ones before the policy sees them.
    assert np.all(np.abs(states[:, 0]) < CARTPOLE_X_LIMIT)
    assert np.all(np.abs(states[:, 2]) < CARTPOLE_THETA_LIMIT)
    # Picked across the rollout, not just fresh starts (which are all within +-0.05).
    assert np.sum(np.any(np.abs(states) > 0.05, axis=1)) >= 8


def test_samples_depend_on_the_key(sample_cartpole):
    a, b = sample_cartpole(jax.random.key(0)), sample_cartpole(jax.random.key(1))
    assert not np.any(np.all(np.asarray(a)[:, None] == np.asarray(b)[None], axis=-1))


def test_samples_are_raw_minatar_boards():
    env = make_env("Breakout-MinAtar")
    states = np.asarray(sample_states(env, jax.random.key(0), 4, num_steps=50))
    assert states.shape == (4, 400)
    assert set(np.unique(states)) <= {0.0, 1.0}  # binary board, not normalised
    assert np.all(states.reshape(4, 10, 10, 4)[:, 9, :, 0].sum(-1) >= 1)  # a paddle in each


def test_fold_sees_every_step_in_order(cartpole):
    def count_steps(acc, step, obs):
        assert obs.shape == (3, 4)
        return acc.at[step].add(1)

    counts = fold_observations(cartpole, jax.random.key(0), 3, 7, count_steps, np.zeros(7, int))
    np.testing.assert_array_equal(counts, np.ones(7))


def test_n_must_be_a_static_positive_int(cartpole):
    with pytest.raises(ValueError, match="n must be >= 1"):
        sample_states(cartpole, jax.random.key(0), 0)
