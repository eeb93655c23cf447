"""`dynamics="gymnax-0.0"`: SpaceInvaders-MinAtar as gymnax 0.0.6-0.0.9 ran it (the paper's).

Checked once against the real gymnax 0.0.6 `space_invaders.py` (loaded from its wheel): equal
observations, rewards and dones on 256 random 1500-step action sequences (7873 episodes), where
gymnax 1.0 differed on all 256. These tests pin the two rules that differ.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments.minatar.space_invaders import MinSpaceInvaders

from hades_env_adapters import make_env
from hades_env_adapters._src.gymnax_legacy import LegacySpaceInvaders

NOOP, LEFT, RIGHT, FIRE = range(4)  # the minimal action set ['n', 'l', 'r', 'f']
KEY = jax.random.key(0)


@pytest.fixture(scope="module")
def envs():
    return LegacySpaceInvaders(), MinSpaceInvaders()


def test_first_wave_is_four_by_seven_aliens(envs):
    legacy, current = envs
    params = legacy.default_params
    obs, _ = legacy.reset_env(KEY, params)
    aliens = np.asarray(obs[:, :, 1])
    assert aliens.sum() == 28 and aliens[0:4, 2:9].all()
    assert np.asarray(current.reset_env(KEY, params)[0][:, :, 1]).sum() == 24


def _bullet_above_cannon(env):
    _, state = env.reset_env(KEY, env.default_params)
    # An enemy bullet one row above the cannon (column 5): it reaches row 9 this step.
    return state.replace(e_bullet_map=jnp.zeros((10, 10)).at[8, state.pos].set(1.0))


@pytest.mark.parametrize(
    "action, legacy_dies, current_dies", [(NOOP, True, True), (LEFT, True, False)]
)
def test_enemy_bullets_hit_where_the_cannon_was(envs, action, legacy_dies, current_dies):
    """gymnax 0.0.x checked the cannon's position before the move: stepping aside was too late."""
    for env, dies in zip(envs, (legacy_dies, current_dies), strict=True):
        _, _, _, done, _ = env.step_env(KEY, _bullet_above_cannon(env), action, env.default_params)
        assert bool(done) is dies, type(env).__name__


def test_otherwise_the_same_rules_as_gymnax_1(envs):
    """From the same state and without moving (so both collision checks agree), the two envs
    step identically: rewards, timers, waves, alien fire."""
    legacy, current = envs
    params = legacy.default_params
    _, start = legacy.reset_env(KEY, params)
    actions = jax.random.choice(KEY, jnp.array([NOOP, FIRE]), (300,))

    def rollout(env):
        def step(state, action):
            obs, state, reward, done, _ = env.step_env(KEY, state, action, params)
            return state, (obs, reward, done)

        return jax.lax.scan(step, start, actions)[1]

    ours, theirs = rollout(legacy), rollout(current)
    assert float(ours[1].sum()) > 0  # some aliens were shot
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_make_env_option():
    default = make_env("SpaceInvaders-MinAtar")
    assert make_env("SpaceInvaders-MinAtar", dynamics="gymnax-1.0") == default
    legacy = make_env("SpaceInvaders-MinAtar", dynamics="gymnax-0.0")
    assert legacy != default and legacy == make_env("SpaceInvaders-MinAtar", dynamics="gymnax-0.0")
    assert isinstance(legacy.backend.env, LegacySpaceInvaders)
    assert (legacy.obs_shape, legacy.num_actions) == (default.obs_shape, default.num_actions)
    obs, _ = legacy.reset(KEY)
    assert float(obs.reshape(10, 10, 6)[:, :, 1].sum()) == 28
    with pytest.raises(ValueError, match="unknown dynamics"):
        make_env("SpaceInvaders-MinAtar", dynamics="gymnax-0.5")
    with pytest.raises(ValueError, match=r"no 'gymnax-0\.0' dynamics"):
        make_env("Breakout-MinAtar", dynamics="gymnax-0.0")
