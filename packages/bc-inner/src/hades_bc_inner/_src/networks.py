"""Flax (linen) networks: MLP policies with PureJaxRL init, and image classifiers.

Every network works on ONE example (a flat feature vector, or an (H, W, C) image for the CNN) and,
unchanged, on a batch of them (any number of leading batch dimensions).
"""

from collections.abc import Callable, Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

Activation = Callable[[jax.Array], jax.Array]

ACTIVATIONS: dict[str, Activation] = {
    "relu": nn.relu,
    "tanh": nn.tanh,
    "gelu": nn.gelu,
    "elu": nn.elu,
    "selu": nn.selu,
    "silu": nn.silu,
    "swish": nn.swish,
    "leaky_relu": nn.leaky_relu,
    "sigmoid": nn.sigmoid,
    "softplus": nn.softplus,
    "identity": lambda x: x,
}


def get_activation(name: str) -> Activation:
    """Returns the activation function called `name` (case-insensitive), e.g. "relu", "tanh"."""
    try:
        return ACTIVATIONS[name.lower()]
    except (KeyError, AttributeError):
        raise ValueError(
            f"Unknown activation {name!r}; known activations: {sorted(ACTIVATIONS)}"
        ) from None


def paper_prng(init: nn.initializers.Initializer) -> nn.initializers.Initializer:
    """`init`, drawing its random numbers with jax's original threefry PRNG.

    jax 0.5 made `jax_threefry_partitionable=True` the default, which changed the numbers that
    `jax.random.normal` & co. draw from a given key. The paper's code ran on jax 0.4, so with
    today's default `PRNGKey(420)` no longer gives its HaDES-F network, and a HaDES-F dataset,
    evolved for exactly that network, then trains a policy that fails (SpaceInvaders-MinAtar
    D16: 3 instead of 93). The flag only changes how bits are drawn, not flax's per-parameter
    key derivation (fold_in), so wrapping the initialisers restores the paper's weights, also
    under jit and vmap (checked against jax 0.4.13 + flax 0.7.0: equal up to float32 rounding
    of the QR, max 3e-6).
    """

    def legacy_init(key, shape, dtype=jnp.float32):
        with jax.threefry_partitionable(False):
            return init(key, shape, dtype)

    return legacy_init


def hidden_init() -> nn.initializers.Initializer:
    """PureJaxRL hidden-layer kernel init: orthogonal with scale sqrt(2) (paper PRNG)."""
    return paper_prng(nn.initializers.orthogonal(np.sqrt(2.0)))


class _NamedActivation(nn.Module):
    """Base of modules with an `activation` name field: unknown names fail at construction."""

    def __post_init__(self):
        get_activation(self.activation)
        super().__post_init__()


class MLP(_NamedActivation):
    """`depth` hidden Dense layers of `width` units, then an optional linear head of `out_dim`.

    PureJaxRL init: orthogonal(sqrt 2) hidden kernels, orthogonal(`head_scale`) head kernel
    (0.01 by default), zero biases; kernels drawn with jax 0.4's PRNG (`paper_prng`). With
    `out_dim=None` it returns the last hidden features.
    """

    width: int = 64
    depth: int = 2
    activation: str = "relu"
    out_dim: int | None = None
    head_scale: float = 0.01

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return mlp_layers(x, self.width, self.depth, self.activation, self.out_dim, self.head_scale)


def mlp_layers(
    x: jax.Array,
    width: int,
    depth: int,
    activation: str,
    out_dim: int | None,
    head_scale: float = 0.01,
) -> jax.Array:
    """The MLP's layers, created in the *calling* compact module (named Dense_0, Dense_1, ...).

    Policies call this directly rather than nesting an `MLP`, so their parameter tree is
    {Dense_0, Dense_1, Dense_2[, log_std]} like the paper's networks: the same init key then
    gives the same weights, which reproduces the paper's HaDES-F fixed inits exactly.
    """
    act = get_activation(activation)
    for _ in range(depth):
        dense = nn.Dense(width, kernel_init=hidden_init(), bias_init=nn.initializers.zeros)
        x = act(dense(x))
    if out_dim is not None:
        head_init = paper_prng(nn.initializers.orthogonal(head_scale))
        x = nn.Dense(out_dim, kernel_init=head_init, bias_init=nn.initializers.zeros)(x)
    return x


class CategoricalPolicy(_NamedActivation):
    """Discrete-action policy: flat observation (n_features,) -> logits (num_actions,)."""

    num_actions: int
    width: int = 64
    depth: int = 2
    activation: str = "relu"

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        return mlp_layers(obs, self.width, self.depth, self.activation, self.num_actions)


class GaussianPolicy(_NamedActivation):
    """Continuous-action policy: flat observation -> (mean, log_std), each (action_dim,).

    `log_std` is a learned, state-independent parameter of shape (action_dim,) initialised to 0;
    it is returned broadcast to the shape of `mean` so batched outputs line up per example.
    """

    action_dim: int
    width: int = 64
    depth: int = 2
    activation: str = "relu"

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        mean = mlp_layers(obs, self.width, self.depth, self.activation, self.action_dim)
        log_std = self.param("log_std", nn.initializers.zeros, (self.action_dim,))
        return mean, jnp.broadcast_to(log_std, mean.shape)


def _flatten_trailing(x: jax.Array, num_dims: int) -> jax.Array:
    return x.reshape((*x.shape[: x.ndim - num_dims], -1))


class CNNClassifier(nn.Module):
    """The HaDES image-distillation classifier (flax default init).

    Conv(features, kernel_size, SAME) -> relu -> flatten -> Dense(hidden) -> relu ->
    Dense(num_classes). Input (H, W, C) per example, e.g. (28, 28, 1); output logits.
    """

    num_classes: int
    features: int = 16
    kernel_size: Sequence[int] = (3, 3)
    hidden: int = 128

    @nn.compact
    def __call__(self, image: jax.Array) -> jax.Array:
        x = nn.relu(nn.Conv(self.features, tuple(self.kernel_size), padding="SAME")(image))
        x = _flatten_trailing(x, 3)
        x = nn.relu(nn.Dense(self.hidden)(x))
        return nn.Dense(self.num_classes)(x)


class MLPClassifier(_NamedActivation):
    """Flattens the trailing `example_ndim` dims of each example, then an `MLP` to logits."""

    num_classes: int
    width: int = 128
    depth: int = 1
    activation: str = "relu"
    example_ndim: int = 3

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = _flatten_trailing(x, self.example_ndim)
        return MLP(self.width, self.depth, self.activation, out_dim=self.num_classes)(x)


_POLICY_KINDS = {"categorical": "categorical", "discrete": "categorical"}
_POLICY_KINDS |= {"gaussian": "gaussian", "continuous": "gaussian"}


def canonical_policy_kind(kind: str) -> str:
    """Maps "categorical"/"discrete" -> "categorical", "gaussian"/"continuous" -> "gaussian"."""
    try:
        return _POLICY_KINDS[kind.lower()]
    except (KeyError, AttributeError):
        raise ValueError(
            f"Unknown policy kind {kind!r}; expected one of {sorted(_POLICY_KINDS)}"
        ) from None


def make_policy(
    kind: str,
    out_dim: int,
    width: int = 64,
    depth: int = 2,
    activation: str = "relu",
) -> nn.Module:
    """A `CategoricalPolicy` (out_dim = num_actions) or `GaussianPolicy` (out_dim = action_dim).

    `kind` is "categorical" | "gaussian" (aliases: "discrete" | "continuous").
    """
    if canonical_policy_kind(kind) == "categorical":
        return CategoricalPolicy(out_dim, width=width, depth=depth, activation=activation)
    return GaussianPolicy(out_dim, width=width, depth=depth, activation=activation)


def make_classifier(kind: str, num_classes: int, **kwargs: Any) -> nn.Module:
    """A `CNNClassifier` ("cnn") or `MLPClassifier` ("mlp"); kwargs go to the module."""
    classifiers = {"cnn": CNNClassifier, "mlp": MLPClassifier}
    if kind not in classifiers:
        raise ValueError(f"Unknown classifier kind {kind!r}; expected one of {sorted(classifiers)}")
    return classifiers[kind](num_classes, **kwargs)


def init_params(net: nn.Module, key: jax.Array, input_shape: Sequence[int]) -> Any:
    """Initial variables of `net` for ONE example of `input_shape`; use with `net.apply`."""
    return net.init(key, jnp.zeros(tuple(input_shape), jnp.float32))
