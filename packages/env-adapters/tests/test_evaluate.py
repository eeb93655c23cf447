"""`evaluate` against the real environments. Each jitted evaluator is compiled once per module."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hades_env_adapters import (
    ObsNorm,
    evaluate,
    evaluate_with_obs_stats,
    make_env,
    random_act_fn,
)

NUM_ENVS = 8


def balance_act_fn(gain):
    """Push the cart towards where the pole is falling: a good CartPole controller for gain ~0.5."""

    def act(obs, key):
        del key
        theta, theta_dot = obs[2], obs[3]
        return (theta + gain * theta_dot > 0).astype(jnp.int32)

    return act


@pytest.fixture(scope="module")
def cartpole():
    return make_env("CartPole-v1")


@pytest.fixture(scope="module")
def eval_controller(cartpole):
    """gain -> EvalResult, for one gain or (under vmap) a population of gains."""
    return jax.jit(lambda gain, key: evaluate(balance_act_fn(gain), cartpole, key, NUM_ENVS))


def test_cartpole_random_policy(cartpole):
    result = jax.jit(lambda key: evaluate(random_act_fn(cartpole), cartpole, key, NUM_ENVS))(
        jax.random.key(0)
    )
    assert 10 < float(result.mean_return) < 40
    assert int(result.num_episodes) > NUM_ENVS  # random episodes last ~20 of the 500 steps


def test_cartpole_controller_balances(eval_controller):
    result = eval_controller(jnp.float32(0.5), jax.random.key(0))
    assert float(result.mean_return) >= 450
    assert int(result.num_episodes) >= 1


def test_vmap_over_population_matches_per_member(eval_controller):
    gains = jnp.array([0.0, 0.5, 1.0, 2.0])
    key = jax.random.key(1)
    batched = jax.jit(jax.vmap(eval_controller, in_axes=(0, None)))(gains, key)
    for i, gain in enumerate(gains):
        single = eval_controller(gain, key)
        np.testing.assert_allclose(batched.mean_return[i], single.mean_return, rtol=1e-6)
        assert int(batched.num_episodes[i]) == int(single.num_episodes)
    assert len(set(np.asarray(batched.mean_return).tolist())) > 1  # members really differ


@pytest.fixture(scope="module")
def pendulum():
    return make_env("Pendulum-v1")


def test_pendulum_random_policy(pendulum):
    result = jax.jit(lambda key: evaluate(random_act_fn(pendulum), pendulum, key, 4))(
        jax.random.key(0)
    )
    assert -1700 <= float(result.mean_return) <= 0
    assert int(result.num_episodes) == 4  # default num_steps = 200 = one full episode each


def test_out_of_bounds_actions_are_clipped_in_evaluate(pendulum):
    run = jax.jit(lambda torque, key: evaluate(lambda o, k: torque, pendulum, key, 2, 20))
    key = jax.random.key(0)
    np.testing.assert_array_equal(run(jnp.array([100.0]), key), run(jnp.array([2.0]), key))


def test_in_progress_fallback_when_no_episode_completes(pendulum):
    result = jax.jit(lambda key: evaluate(random_act_fn(pendulum), pendulum, key, 4, 50))(
        jax.random.key(0)
    )
    assert int(result.num_episodes) == 0
    # Pendulum's per-step reward is in [-16.3, 0] and almost never exactly 0.
    assert -50 * 16.3 <= float(result.mean_return) < 0


def test_breakout_minatar_random_policy():
    env = make_env("Breakout-MinAtar")
    assert env.obs_shape == (400,) and env.raw_obs_shape == (10, 10, 4) and env.num_actions == 3
    result = jax.jit(lambda key: evaluate(random_act_fn(env), env, key, 4))(jax.random.key(0))
    assert np.isfinite(float(result.mean_return))
    assert float(result.mean_return) > 0  # random play breaks a brick every few episodes
    assert int(result.num_episodes) > 4


def test_freeway_has_the_long_horizon():
    # Why the default num_steps is the env's horizon: the paper's 1024 never finished an episode.
    assert make_env("Freeway-MinAtar").max_episode_steps == 2500


def _record_obs_seen(env, obs_norm, num_envs, num_steps, key):
    """All normalised obs handed to act_fn, (num_steps, num_envs, d), under a random policy."""
    seen = []

    def act(obs, k):
        jax.debug.callback(lambda x: seen.append(np.asarray(x)), obs, ordered=True)
        return env.sample_action(k)  # ignores obs: trajectories don't depend on the norm

    _, stats = jax.jit(
        lambda key: evaluate_with_obs_stats(act, env, key, num_envs, num_steps, obs_norm)
    )(key)
    jax.effects_barrier()
    return np.stack(seen).reshape(num_steps, num_envs, -1), stats


RECORD_ENVS, RECORD_STEPS, RECORD_KEY = 3, 10, 5


@pytest.fixture(scope="module")
def raw_obs_seen(cartpole):
    return _record_obs_seen(
        cartpole, ObsNorm.none(), RECORD_ENVS, RECORD_STEPS, jax.random.key(RECORD_KEY)
    )[0]


def test_const_norm_gives_exactly_normalised_obs(cartpole, raw_obs_seen):
    mean = np.array([0.1, -0.2, 0.3, 0.05], np.float32)
    var = np.array([0.25, 1.0, 4.0, 0.01], np.float32)
    normalised, _ = _record_obs_seen(
        cartpole, ObsNorm.const(mean, var), RECORD_ENVS, RECORD_STEPS, jax.random.key(RECORD_KEY)
    )
    expected = (raw_obs_seen - mean) / np.sqrt(var + np.float32(1e-8))
    np.testing.assert_allclose(normalised, expected, rtol=1e-6, atol=1e-7)


def test_running_norm_updates_then_normalises(cartpole, raw_obs_seen):
    num_envs, num_steps = RECORD_ENVS, RECORD_STEPS
    seen, stats = _record_obs_seen(
        cartpole, ObsNorm.running(), num_envs, num_steps, jax.random.key(RECORD_KEY)
    )
    raw = raw_obs_seen

    # Reference: step t normalises with the pooled stats of a (mean 0, var 1, weight 1e-4) prior
    # and every observation up to and including step t.
    raw = raw.astype(np.float64)
    prior = 1e-4
    for t in range(num_steps):
        data = raw[: t + 1].reshape(-1, raw.shape[-1])
        n = len(data)
        mean = data.mean(0) * n / (n + prior)
        var = (prior + n * data.var(0) + data.mean(0) ** 2 * prior * n / (n + prior)) / (n + prior)
        expected = (raw[t] - mean) / np.sqrt(var + 1e-8)
        np.testing.assert_allclose(seen[t], expected, rtol=2e-3, atol=2e-3)

    # The final stats are those of everything the policy saw.
    all_obs = raw.reshape(-1, raw.shape[-1])
    np.testing.assert_allclose(stats.mean, all_obs.mean(0), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(stats.var, all_obs.var(0), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(stats.count, num_envs * num_steps + prior, rtol=1e-6)


def test_budget_arguments_must_be_static_positive_ints(cartpole):
    act = random_act_fn(cartpole)
    with pytest.raises(ValueError, match="num_steps"):
        evaluate(act, cartpole, jax.random.key(0), 2, 0)
    with pytest.raises(TypeError, match="num_envs"):
        jax.jit(lambda n: evaluate(act, cartpole, jax.random.key(0), n, 2))(2)
