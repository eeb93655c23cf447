"""Policies keep the paper's flat parameter layout, so one init key gives the paper's weights."""

import jax
import jax.numpy as jnp

from hades_bc_inner import CategoricalPolicy, GaussianPolicy


def test_categorical_policy_params_are_flat_dense_layers():
    params = CategoricalPolicy(num_actions=4, width=8).init(jax.random.key(0), jnp.zeros(5))
    assert sorted(params["params"]) == ["Dense_0", "Dense_1", "Dense_2"]
    assert params["params"]["Dense_2"]["kernel"].shape == (8, 4)


def test_gaussian_policy_params_are_flat_dense_layers_and_log_std():
    params = GaussianPolicy(action_dim=3, width=8).init(jax.random.key(0), jnp.zeros(5))
    assert sorted(params["params"]) == ["Dense_0", "Dense_1", "Dense_2", "log_std"]


def test_policy_kernels_use_the_papers_prng_under_jit_and_vmap():
    """jax >= 0.5 draws other numbers from the same key (threefry_partitionable); the policies
    draw their kernels the jax 0.4 way, so PRNGKey(seed) gives the paper's HaDES-F network."""
    net = CategoricalPolicy(num_actions=4, width=16)
    x = jnp.zeros(6)
    key = jax.random.key(420)
    with jax.threefry_partitionable(False):
        expected = net.init(key, x)
    jitted = jax.jit(net.init)(key, x)
    vmapped = jax.vmap(net.init, in_axes=(0, None))(jnp.stack([key, key]), x)
    for a, b, c in zip(
        jax.tree.leaves(expected), jax.tree.leaves(jitted), jax.tree.leaves(vmapped), strict=True
    ):
        assert jnp.array_equal(a, b) and jnp.array_equal(a, c[1])
    # ... which is not what today's default PRNG would give for an orthogonal kernel.
    today = jax.nn.initializers.orthogonal(2.0**0.5)(jax.random.key(7), (6, 16))
    with jax.threefry_partitionable(False):
        paper = jax.nn.initializers.orthogonal(2.0**0.5)(jax.random.key(7), (6, 16))
    assert not jnp.allclose(today, paper)
