"""Shipped observation statistics (the paper's) and computing/saving/loading new ones."""

import jax
import numpy as np
import pytest

from hades_env_adapters import (
    MissingObsStatsError,
    ObsNorm,
    compute_obs_stats,
    evaluate_with_obs_stats,
    load_obs_stats,
    make_env,
    obs_stats_for,
    random_act_fn,
    save_obs_stats,
    shipped_obs_stats_ids,
)

# Fingerprints of the paper's normalize_params/{mean,var}_<env>.npy (the full equality check is
# tests/reference/test_obs_stats.py at the repository root, which reads the original files):
# env_id: (obs_dim, mean[0], var[0] (exact float32), float64 sums of mean and of var (10 digits))
FINGERPRINTS = {
    "hopper": (11, 1.1353576, 0.020858383, 0.08491938026, 31.26787643),
    "walker2d": (17, 1.2701762, 0.030409329, 1.752214737, 42.36801287),
    "ant": (27, 0.50366235, 0.014532558, 9.834329902, 323.0345399),
    "halfcheetah": (17, -0.13327172, 0.0071591698, 4.069587432, 330.4393405),
    "humanoid": (244, 1.1954348, 0.002956867, 291.0887419, 158533.0737),
    "humanoidstandup": (244, 0.7143003, 0.14393908, 62.59185775, 185996.7535),
    "Asterix-MinAtar": (400, 0.0, 1.0013435e-11, 6.570857748, 6.364891461),
    "Breakout-MinAtar": (400, 0.0, 1.0013435e-11, 20.47184215, 8.029508273),
    "Freeway-MinAtar": (700, 0.0, 1.0013435e-11, 17.00001294, 15.91235393),
    "SpaceInvaders-MinAtar": (600, 0.0, 1.0013435e-11, 26.2687655, 20.0332815),
}


def test_stats_ship_for_every_env_the_paper_normalised():
    assert set(shipped_obs_stats_ids()) == set(FINGERPRINTS)


@pytest.mark.parametrize("env_id", sorted(FINGERPRINTS))
def test_shipped_stats_are_the_papers(env_id):
    obs_dim, mean0, var0, mean_sum, var_sum = FINGERPRINTS[env_id]
    mean, var = obs_stats_for(env_id)
    assert mean.dtype == var.dtype == np.float32
    assert mean.shape == var.shape == (obs_dim,)
    assert (mean[0], var[0]) == (np.float32(mean0), np.float32(var0))
    np.testing.assert_allclose(mean.sum(dtype=np.float64), mean_sum, rtol=1e-9)
    np.testing.assert_allclose(var.sum(dtype=np.float64), var_sum, rtol=1e-9)
    assert np.all(var > 0)


@pytest.mark.parametrize("env_id", [e for e in sorted(FINGERPRINTS) if e.endswith("-MinAtar")])
def test_minatar_stats_fit_the_flat_observations(env_id):
    assert obs_stats_for(env_id)[0].shape == make_env(env_id).obs_shape


def test_minatar_stats_are_in_the_adapters_c_order_layout():
    # Breakout (10, 10, 4): channel 0 is the paddle (bottom row only), 3 the bricks (rows 1-3).
    # Read in the C-order (row, col, channel) layout, the statistics show exactly that.
    mean = obs_stats_for("Breakout-MinAtar")[0].reshape(make_env("Breakout-MinAtar").raw_obs_shape)
    assert np.all(mean[1:4, :, 3] > 0.04) and np.all(mean[[0, *range(4, 10)], :, 3] == 0)
    assert np.all(mean[9, :, 0] > 0) and np.all(mean[:9, :, 0] == 0)


def test_missing_stats_name_the_cli_command():
    with pytest.raises(MissingObsStatsError, match="hades obs-stats CartPole-v1"):
        obs_stats_for("CartPole-v1")
    assert issubclass(MissingObsStatsError, LookupError)


def test_save_load_round_trip(tmp_path):
    mean = np.array([0.5, -1.0, 2.0], np.float64)
    var = np.array([1.0, 0.25, 1e-11], np.float64)
    path = tmp_path / "stats.npz"
    save_obs_stats(path, mean, var)
    loaded_mean, loaded_var = load_obs_stats(path)
    assert loaded_mean.dtype == loaded_var.dtype == np.float32
    np.testing.assert_array_equal(loaded_mean, mean.astype(np.float32))
    np.testing.assert_array_equal(loaded_var, var.astype(np.float32))

    with pytest.raises(ValueError, match="one shape"):
        save_obs_stats(tmp_path / "bad.npz", mean, var[:2])
    with pytest.raises(ValueError, match="var >= 0"):
        save_obs_stats(tmp_path / "bad.npz", mean, -var)
    np.savez(tmp_path / "other.npz", states=np.zeros(3))
    with pytest.raises(ValueError, match="missing"):
        load_obs_stats(tmp_path / "other.npz")


def test_compute_obs_stats_on_cartpole():
    env = make_env("CartPole-v1")
    key = jax.random.key(0)
    mean, var = compute_obs_stats(env, key, num_envs=8, num_steps=500)
    assert mean.dtype == var.dtype == np.float32 and mean.shape == var.shape == (4,)
    # A random policy keeps CartPole near its start: small mean, the velocities vary most.
    assert np.all(np.abs(mean) < 0.1)
    assert np.all((var[[0, 2]] > 0.001) & (var[[0, 2]] < 0.05))  # positions
    assert np.all((var[[1, 3]] > 0.05) & (var[[1, 3]] < 2.0))  # velocities

    # The same statistics as a running-normalised evaluation of the same rollout.
    _, stats = jax.jit(
        lambda k: evaluate_with_obs_stats(random_act_fn(env), env, k, 8, 500, ObsNorm.running())
    )(key)
    np.testing.assert_allclose(mean, stats.mean, rtol=1e-6)
    np.testing.assert_allclose(var, stats.var, rtol=1e-6)


def test_compute_obs_stats_with_a_policy_sees_raw_observations():
    env = make_env("CartPole-v1")
    seen = []

    def always_left(obs, key):
        del key
        jax.debug.callback(lambda o: seen.append(np.asarray(o)), obs, ordered=True)
        return 0

    mean, var = compute_obs_stats(env, jax.random.key(1), always_left, num_envs=2, num_steps=30)
    jax.effects_barrier()
    seen = np.concatenate(seen).reshape(-1, 4)
    assert len(seen) == 2 * 30
    assert mean[1] < -0.3  # always pushing left: the cart moves left
    # The statistics are those of exactly the (raw) observations the policy acted on.
    np.testing.assert_allclose(mean, seen.mean(0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(var, seen.var(0), rtol=1e-3, atol=1e-6)
