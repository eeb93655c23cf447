"""brax environments behind the adapter (skipped when the `brax` extra is not installed).

Compiling brax physics takes ~10-20 s per function on CPU, so every rollout here goes through ONE
jitted evaluator of inverted_pendulum (the cheapest env) with the paper's positional backend;
the policy is picked by its arguments. Everything else is checked by tracing (`jax.eval_shape`).
"""

import importlib
import importlib.util

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hades_env_adapters import (
    BRAX_ENV_IDS,
    evaluate,
    make_env,
    obs_stats_for,
    shipped_obs_stats_ids,
)

# Skip without importing brax at collection: the gymnax tests check that brax stays unimported.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("brax") is None, reason="brax not installed (the `brax` extra)"
)


@pytest.fixture(scope="module", autouse=True)
def _brax_importable():
    # Also skips when brax is installed but fails to import (e.g. a broken mujoco).
    pytest.importorskip("brax", exc_type=ImportError)


NUM_ENVS, NUM_STEPS = 4, 1000
# Balances the pole for the whole episode: push the cart the way the pole leans.
BALANCING_GAINS = (0.1, 10.0, 0.0, 0.1)  # on (cart x, pole angle, cart velocity, pole velocity)


def test_static_ids_match_installed_brax():
    registered = importlib.import_module("brax.envs")._envs
    assert set(BRAX_ENV_IDS) == set(registered) - {"fast"}  # "fast": brax's unit-test dummy


def test_hopper_spec_by_tracing_only():
    env = make_env("hopper")
    assert env.backend.physics == "positional"  # the paper's backend is the default
    assert env.obs_shape == env.raw_obs_shape == (11,)
    assert not env.discrete and env.num_actions is None
    assert env.action_dim == 3 and env.action_shape == (3,)
    assert env.action_low == (-1.0,) * 3 and env.action_high == (1.0,) * 3
    assert env.max_episode_steps == 1000

    key = jax.random.key(0)
    obs, state = jax.eval_shape(env.reset, key)
    assert (obs.shape, obs.dtype) == ((11,), jnp.float32)
    obs, _, reward, done = jax.eval_shape(env.step, key, state, jnp.zeros(3))
    assert (obs.shape, obs.dtype) == ((11,), jnp.float32)
    assert (reward.shape, reward.dtype) == ((), jnp.float32)
    assert (done.shape, done.dtype) == ((), jnp.bool_)


def test_adapters_are_static_hashable_and_share_jit_caches():
    a, b = make_env("hopper"), make_env("hopper", backend="positional", episode_length=1000)
    assert a == b and hash(a) == hash(b)
    assert a != make_env("hopper", backend="spring")
    assert a != make_env("hopper", episode_length=500)
    assert jax.tree.leaves(a) == []

    traces = []

    @jax.jit
    def obs_size(env, x):
        traces.append(env)
        return x + env.obs_shape[0]

    obs_size(a, 1.0), obs_size(b, 2.0)
    assert len(traces) == 1


def test_backend_choice_and_errors():
    assert make_env("swimmer").backend.physics == "generalized"  # its only backend
    with pytest.raises(ValueError, match=r"swimmer.*positional"):
        make_env("swimmer", backend="positional")
    with pytest.raises(ValueError, match=r"positional.*spring.*generalized.*mjx"):
        make_env("hopper", backend="warp")


@pytest.mark.parametrize("env_id", [e for e in BRAX_ENV_IDS if e in shipped_obs_stats_ids()])
def test_shipped_stats_fit_the_brax_observations(env_id):
    mean, var = obs_stats_for(env_id)
    assert mean.shape == var.shape == make_env(env_id).obs_shape


@pytest.fixture(scope="module")
def pendulum():
    return make_env("inverted_pendulum")


@pytest.fixture(scope="module")
def run_pendulum(pendulum):
    """(use_random, gains, bias, key) -> EvalResult; the one brax compile of this module.

    The policy is uniformly random if `use_random`, else the unclipped linear
    `gains . obs + bias`, so out-of-bounds actions reach the adapter.
    """

    def run(use_random, gains, bias, key):
        def act(obs, key):
            linear = jnp.dot(gains, obs)[None] + bias
            return jnp.where(use_random, pendulum.sample_action(key), linear)

        return evaluate(act, pendulum, key, NUM_ENVS, NUM_STEPS)

    compiled = jax.jit(run)
    return lambda use_random, gains, bias, seed: compiled(
        jnp.bool_(use_random),
        jnp.asarray(gains, jnp.float32),
        jnp.float32(bias),
        jax.random.key(seed),
    )


def test_random_policy_completes_episodes_with_positive_return(run_pendulum):
    result = run_pendulum(True, np.zeros(4), 0.0, seed=0)
    mean_return, num_episodes = float(result.mean_return), int(result.num_episodes)
    assert np.isfinite(mean_return) and mean_return > 0
    assert num_episodes > NUM_ENVS  # random play drops the pole within a few dozen steps
    # Reward is 1 per step, so completed episodes account for at most every step taken.
    assert mean_return * num_episodes <= NUM_ENVS * NUM_STEPS


def test_episodes_are_truncated_at_1000_steps(run_pendulum):
    # A balancing controller never fails: each env's one episode ends by truncation at step
    # 1000, and `done` marks it so `evaluate` counts it as completed.
    result = run_pendulum(False, BALANCING_GAINS, 0.0, seed=1)
    assert int(result.num_episodes) == NUM_ENVS
    assert float(result.mean_return) == 1000.0


def test_actions_are_clipped_to_unit_bounds(run_pendulum):
    for bound in (1.0, -1.0):
        at_bound = run_pendulum(False, np.zeros(4), bound, seed=2)
        beyond = run_pendulum(False, np.zeros(4), 100 * bound, seed=2)
        np.testing.assert_array_equal(beyond.mean_return, at_bound.mean_return)
        np.testing.assert_array_equal(beyond.num_episodes, at_bound.num_episodes)
