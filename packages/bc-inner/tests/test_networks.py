import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import hades_bc_inner as hbc

KEY = jax.random.key(0)
N_FEATURES = 5


def _batch(shape, n=3):
    return jax.random.normal(jax.random.key(1), (n, *shape))


def test_categorical_policy_shapes_single_and_batch():
    net = hbc.CategoricalPolicy(4, width=8, depth=2)
    params = hbc.init_params(net, KEY, (N_FEATURES,))
    x = _batch((N_FEATURES,))
    chex.assert_shape(net.apply(params, x[0]), (4,))
    chex.assert_shape(net.apply(params, x), (3, 4))
    np.testing.assert_allclose(net.apply(params, x)[1], net.apply(params, x[1]), rtol=1e-6)


def test_gaussian_policy_shapes_and_log_std_param():
    net = hbc.GaussianPolicy(2, width=8, depth=1, activation="tanh")
    params = hbc.init_params(net, KEY, (N_FEATURES,))
    chex.assert_shape(params["params"]["log_std"], (2,))
    np.testing.assert_array_equal(params["params"]["log_std"], 0.0)
    x = _batch((N_FEATURES,))
    mean, log_std = net.apply(params, x[0])
    chex.assert_shape([mean, log_std], (2,))
    mean, log_std = net.apply(params, x)
    chex.assert_shape([mean, log_std], (3, 2))


def test_mlp_without_head_returns_hidden_features():
    net = hbc.MLP(width=7, depth=3, activation="gelu")
    params = hbc.init_params(net, KEY, (N_FEATURES,))
    chex.assert_shape(net.apply(params, jnp.ones(N_FEATURES)), (7,))
    assert len(params["params"]) == 3


def test_purejaxrl_init():
    net = hbc.MLP(width=8, depth=2, out_dim=3)
    layers = hbc.init_params(net, KEY, (4,))["params"]
    for layer in layers.values():
        np.testing.assert_array_equal(layer["bias"], 0.0)
    # orthogonal(scale): the smaller Gram matrix of the kernel is scale^2 * identity.
    first, hidden, head = (layers[f"Dense_{i}"]["kernel"] for i in range(3))
    np.testing.assert_allclose(first @ first.T, 2.0 * np.eye(4), atol=1e-5)
    np.testing.assert_allclose(hidden.T @ hidden, 2.0 * np.eye(8), atol=1e-5)
    np.testing.assert_allclose(head.T @ head, 1e-4 * np.eye(3), atol=1e-8)


@pytest.mark.parametrize("name", sorted(hbc.ACTIVATIONS))
def test_activations_by_name(name):
    net = hbc.CategoricalPolicy(2, width=4, depth=1, activation=name)
    params = hbc.init_params(net, KEY, (3,))
    chex.assert_tree_all_finite(net.apply(params, jnp.ones(3)))


def test_activation_name_is_case_insensitive():
    assert hbc.get_activation("ReLU") is hbc.get_activation("relu")


def test_unknown_activation_is_a_clear_error():
    with pytest.raises(ValueError, match=r"Unknown activation 'relu6x'.*tanh"):
        hbc.CategoricalPolicy(2, activation="relu6x")
    with pytest.raises(ValueError, match="Unknown activation"):
        hbc.make_policy("gaussian", 2, activation="nope")


def test_make_policy_kinds():
    assert isinstance(hbc.make_policy("categorical", 3), hbc.CategoricalPolicy)
    assert isinstance(hbc.make_policy("discrete", 3), hbc.CategoricalPolicy)
    policy = hbc.make_policy("gaussian", 2, width=16, depth=1, activation="tanh")
    assert policy == hbc.GaussianPolicy(2, width=16, depth=1, activation="tanh")
    assert isinstance(hbc.make_policy("continuous", 2), hbc.GaussianPolicy)
    with pytest.raises(ValueError, match="Unknown policy kind"):
        hbc.make_policy("beta", 2)


def test_cnn_classifier_architecture():
    net = hbc.make_classifier("cnn", 10)
    assert isinstance(net, hbc.CNNClassifier)
    params = jax.eval_shape(lambda key: hbc.init_params(net, key, (28, 28, 1)), KEY)
    shapes = jax.tree.map(jnp.shape, params["params"])
    assert shapes == {
        "Conv_0": {"kernel": (3, 3, 1, 16), "bias": (16,)},
        "Dense_0": {"kernel": (28 * 28 * 16, 128), "bias": (128,)},
        "Dense_1": {"kernel": (128, 10), "bias": (10,)},
    }
    logits = jax.eval_shape(net.apply, params, jnp.zeros((28, 28, 1)))
    assert logits.shape == (10,)


def test_cnn_classifier_single_and_batch():
    net = hbc.make_classifier("cnn", 10, features=4, hidden=8)
    params = hbc.init_params(net, KEY, (8, 8, 1))
    images = _batch((8, 8, 1), n=2)
    chex.assert_shape(net.apply(params, images[0]), (10,))
    chex.assert_shape(net.apply(params, images), (2, 10))
    batched = net.apply(params, images)
    np.testing.assert_allclose(batched[1], net.apply(params, images[1]), rtol=1e-5)


def test_mlp_classifier_flattens_images():
    net = hbc.make_classifier("mlp", 10, width=32)
    params = hbc.init_params(net, KEY, (8, 8, 1))
    images = _batch((8, 8, 1), n=2)
    chex.assert_shape(net.apply(params, images[0]), (10,))
    chex.assert_shape(net.apply(params, images), (2, 10))
    with pytest.raises(ValueError, match="Unknown classifier kind"):
        hbc.make_classifier("resnet", 10)


def test_networks_are_hashable_static_args():
    assert hash(hbc.make_policy("categorical", 3)) == hash(hbc.make_policy("categorical", 3))
