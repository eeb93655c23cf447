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
