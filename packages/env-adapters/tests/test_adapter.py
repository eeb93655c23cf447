"""The adapter's static facts and single-step behaviour, against the real gymnax environments."""

import os
import subprocess
import sys

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.wrappers import FlattenObservationWrapper

import hades_env_adapters._src as adapters_src
from hades_env_adapters import (
    BRAX_ENV_IDS,
    TESTED_ENV_IDS,
    EnvAdapter,
    make_env,
    supported_env_ids,
)

# env_id: (raw_obs_shape, discrete, num_actions or action_dim, max_episode_steps)
EXPECTED = {
    "CartPole-v1": ((4,), True, 2, 500),
    "Pendulum-v1": ((3,), False, 1, 200),
    "Acrobot-v1": ((6,), True, 3, 500),
    "MountainCar-v0": ((2,), True, 3, 200),
    "MountainCarContinuous-v0": ((2,), False, 1, 999),
    "Asterix-MinAtar": ((10, 10, 4), True, 5, 1000),
    "Breakout-MinAtar": ((10, 10, 4), True, 3, 1000),
    "Freeway-MinAtar": ((10, 10, 7), True, 3, 2500),
    "SpaceInvaders-MinAtar": ((10, 10, 6), True, 4, 1000),
    "Seaquest-MinAtar": ((10, 10, 10), True, 6, 1000),
}


def test_expected_covers_tested_ids():
    assert set(EXPECTED) == set(TESTED_ENV_IDS)
    assert set(TESTED_ENV_IDS) <= set(supported_env_ids())


@pytest.mark.parametrize("env_id", TESTED_ENV_IDS)
def test_spec_and_shapes(env_id):
    raw_shape, discrete, n, max_steps = EXPECTED[env_id]
    env = make_env(env_id)
    assert isinstance(env, EnvAdapter)
    assert env.env_id == env_id
    assert env.raw_obs_shape == raw_shape
    assert env.obs_shape == (int(np.prod(raw_shape)),)
    assert env.discrete is discrete
    assert env.max_episode_steps == max_steps
    if discrete:
        # MinAtar's reduced action set: the count the env actually accepts.
        assert env.num_actions == n == gymnax.make(env_id)[0].num_actions
        assert env.action_dim is None and env.action_low is None and env.action_shape == ()
    else:
        assert env.action_dim == n and env.num_actions is None and env.action_shape == (n,)
        assert len(env.action_low) == len(env.action_high) == n
        hash((env.action_low, env.action_high))  # static fields must be hashable

    # Shapes/dtypes by tracing only (no compilation): flat float32 obs, scalar reward/done.
    key = jax.random.key(0)
    obs, state = jax.eval_shape(env.reset, key)
    assert (obs.shape, obs.dtype) == (env.obs_shape, jnp.float32)
    action = jax.eval_shape(env.sample_action, key)
    assert action.shape == env.action_shape
    obs, _, reward, done = jax.eval_shape(env.step, key, state, action)
    assert (obs.shape, obs.dtype) == (env.obs_shape, jnp.float32)
    assert (reward.shape, reward.dtype) == ((), jnp.float32)
    assert (done.shape, done.dtype) == ((), jnp.bool_)


def test_minatar_flattening_matches_gymnax_wrapper():
    env = make_env("Breakout-MinAtar")
    gym_env, params = gymnax.make("Breakout-MinAtar")
    key = jax.random.key(3)
    obs, _ = env.reset(key)
    raw_obs, _ = gym_env.reset(key, params)
    np.testing.assert_array_equal(obs, FlattenObservationWrapper(gym_env).reset(key, params)[0])
    np.testing.assert_array_equal(obs.reshape(env.raw_obs_shape), raw_obs)
    assert obs.sum() > 0  # the paddle and ball are on the board


def test_continuous_actions_are_clipped_to_bounds():
    env = make_env("Pendulum-v1")
    assert env.action_low == (-2.0,) and env.action_high == (2.0,)
    np.testing.assert_array_equal(env.clip_action(10.0), [2.0])
    np.testing.assert_array_equal(env.clip_action(jnp.array([-7.0])), [-2.0])
    np.testing.assert_array_equal(env.clip_action(jnp.array([0.5])), [0.5])

    key = jax.random.key(0)
    _, state = env.reset(key)
    obs_big, _, reward_big, _ = env.step(key, state, jnp.array([10.0]))
    obs_max, _, reward_max, _ = env.step(key, state, jnp.array([2.0]))
    np.testing.assert_array_equal(obs_big, obs_max)
    assert reward_big == reward_max


def test_discrete_actions_are_clipped_to_valid_indices():
    env = make_env("Breakout-MinAtar")
    assert int(env.clip_action(7)) == 2 and int(env.clip_action(-1)) == 0
    assert env.clip_action(1).dtype == jnp.int32


def test_auto_reset_on_done():
    env = make_env("CartPole-v1", max_steps_in_episode=3)
    assert env.max_episode_steps == 3
    key = jax.random.key(0)
    obs, state = env.reset(key)
    dones = []
    for i in range(3):
        obs, state, reward, done = env.step(jax.random.fold_in(key, i), state, 0)
        dones.append(bool(done))
        assert reward == 1.0
    assert dones == [False, False, True]
    assert int(state.time) == 0  # already the start of a new episode
    assert np.all(np.abs(obs) <= 0.05)  # a fresh CartPole start state


def test_adapters_from_same_recipe_are_equal_and_hashable():
    a, b = make_env("Acrobot-v1"), make_env("Acrobot-v1")  # Acrobot params hold arrays
    assert a == b and hash(a) == hash(b)
    assert make_env("CartPole-v1") != make_env("CartPole-v1", max_steps_in_episode=100)
    assert jax.tree.leaves(a) == []  # all static: safe to close over or pass to jit


def test_unknown_env_id_lists_close_matches_and_supported_ids():
    with pytest.raises(ValueError) as info:
        make_env("cartpole-v2")
    message = str(info.value)
    assert "'cartpole-v2'" in message
    assert "Did you mean 'CartPole-v1'" in message
    for env_id in TESTED_ENV_IDS:
        assert env_id in message
    with pytest.raises(ValueError, match="Supported ids"):
        make_env("NoSuchEnvAtAll")


_NO_BRAX_CHECK = """
import sys
import jax
import hades_env_adapters as hea
env = hea.make_env("CartPole-v1")
hea.evaluate(hea.random_act_fn(env), env, jax.random.key(0), num_envs=2, num_steps=2)
assert "hopper" in hea.supported_env_ids()
assert hea.obs_stats_for("hopper")[0].shape == (11,)
leaked = [m for m in sys.modules if m.split(".")[0] in ("brax", "mujoco")]
assert not leaked, leaked
"""


def test_gymnax_use_does_not_import_brax():
    if any(m.split(".")[0] in ("brax", "mujoco") for m in sys.modules):
        # Someone else in this process (another package's tests) loaded brax: check afresh.
        result = subprocess.run(
            [sys.executable, "-c", _NO_BRAX_CHECK],
            capture_output=True,
            text=True,
            env={**os.environ, "JAX_PLATFORMS": "cpu"},
        )
        assert result.returncode == 0, result.stderr[-2000:]
    else:
        exec(_NO_BRAX_CHECK, {})


def test_brax_ids_are_listed_and_missing_brax_names_the_extra(monkeypatch):
    assert set(BRAX_ENV_IDS) <= set(supported_env_ids())
    # Make brax unimportable here, even if it is installed (and the backend already loaded).
    monkeypatch.setitem(sys.modules, "brax", None)
    monkeypatch.delitem(sys.modules, "hades_env_adapters._src.brax_backend", raising=False)
    monkeypatch.delattr(adapters_src, "brax_backend", raising=False)
    with pytest.raises(ImportError, match=r'pip install "hades-env-adapters\[brax\]"'):
        make_env("hopper")
