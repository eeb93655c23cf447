"""The inner loop: a fresh classifier trained on the synthetic images, scored on real ones."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from hades_bc_inner import FitConfig, FitResult, cross_entropy, fit, init_params, make_classifier
from hades_distill_vision._src.data import IMAGE_SHAPE, NUM_CLASSES, ImageSplit

NETS = ("cnn", "mlp")
# The default inner loop: plain SGD, lr 0.1, 1000 full-batch steps, plain cross-entropy.
DEFAULT_FIT = FitConfig(steps=1000, lr=0.1, optimizer="sgd")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a classifier is built and trained on the synthetic images. Hashable (jit-static).

    net: "cnn" (Conv(conv_features, 3x3) -> relu -> Dense(width) -> relu -> Dense(classes)) or
      "mlp" (flatten -> Dense(width) -> relu -> Dense(classes)).
    fit: the bc-inner full-batch fit (optimizer, lr, steps, loss_scale, ...).
    bias_init_max: > 0 draws the hidden layers' biases from U[0, bias_init_max) instead of the
      network's own init; the output layer keeps its own (the published runs: 0.05, with flax
      default kernels and a zero output bias).
    """

    net: str = "cnn"
    width: int = 128
    conv_features: int = 16
    num_classes: int = NUM_CLASSES
    fit: FitConfig = DEFAULT_FIT
    bias_init_max: float = 0.0

    def __post_init__(self):
        if self.net not in NETS:
            raise ValueError(f"unknown classifier net {self.net!r}; choose one of {NETS}")
        if self.bias_init_max < 0:
            raise ValueError(f"bias_init_max must be >= 0, got {self.bias_init_max}")

    @property
    def module(self):
        if self.net == "cnn":
            return make_classifier(
                "cnn", self.num_classes, features=self.conv_features, hidden=self.width
            )
        return make_classifier("mlp", self.num_classes, width=self.width, depth=1)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def paper_recipe(**overrides: Any) -> Recipe:
    """The published MNIST/Fashion-MNIST runs (MANIFEST recipe `mnist_cnn_sgd`): CNN 16/128,
    plain SGD lr 0.1 for 1000 full-batch steps on cross-entropy / 10, hidden biases ~ U[0, 0.05)."""
    fit_config = FitConfig(steps=1000, lr=0.1, optimizer="sgd", momentum=0.0, loss_scale=0.1)
    return dataclasses.replace(Recipe(fit=fit_config, bias_init_max=0.05), **overrides)


def redraw_biases(params: Any, key: jax.Array, high: float, keep_last: bool = True) -> Any:
    """Leaves named "bias" replaced by U[0, high) draws (one independent key per leaf).

    keep_last: leave the last bias in tree order alone; for these flax nets (layers named
    Conv_0 < Dense_0 < Dense_1) that is the output layer's.
    """
    leaves, treedef = jax.tree_util.tree_flatten_with_path(params)
    biases = [i for i, (path, _) in enumerate(leaves) if getattr(path[-1], "key", None) == "bias"]
    redraw = set(biases[:-1] if keep_last else biases)
    new_leaves = [
        jax.random.uniform(jax.random.fold_in(key, i), leaf.shape, leaf.dtype, 0.0, high)
        if i in redraw
        else leaf
        for i, (_, leaf) in enumerate(leaves)
    ]
    return jax.tree_util.tree_unflatten(treedef, new_leaves)


def init_classifier(recipe: Recipe, key: jax.Array) -> Any:
    params_key, bias_key = jax.random.split(key)
    params = init_params(recipe.module, params_key, IMAGE_SHAPE)
    if recipe.bias_init_max > 0:
        params = redraw_biases(params, bias_key, recipe.bias_init_max)
    return params


def soft_cross_entropy(logits: jax.Array, target_logits: jax.Array) -> jax.Array:
    """Cross-entropy of logits against the distribution softmax(target_logits) (learned labels)."""
    return -jnp.sum(jax.nn.softmax(target_logits) * jax.nn.log_softmax(logits))


def train_classifier(recipe: Recipe, images: jax.Array, targets: jax.Array, key) -> FitResult:
    """A freshly initialised classifier fitted to (images, targets).

    targets: (n,) int class labels, or (n, num_classes) label logits (soft labels).
    """
    loss_fn = cross_entropy if targets.ndim == 1 else soft_cross_entropy
    params = init_classifier(recipe, key)
    noise_key = jax.random.fold_in(key, 1)
    return fit(recipe.module.apply, params, images, targets, loss_fn, recipe.fit, noise_key)


class Chunks(NamedTuple):
    """A real image set cut into equal chunks (the last one padded, its padding weighted 0)."""

    images: np.ndarray  # (num_chunks, chunk, 28, 28, 1)
    labels: np.ndarray  # (num_chunks, chunk)
    weights: np.ndarray  # (num_chunks, chunk): 1 for real images, 0 for padding


def chunk_split(split: ImageSplit, chunk_size: int) -> Chunks:
    """Done once on the host, so no jitted function ever pads or copies the real data."""
    n = len(split.labels)
    chunk_size = max(1, min(chunk_size, n))
    num_chunks = -(-n // chunk_size)
    pad = num_chunks * chunk_size - n
    images = np.concatenate([split.images, np.zeros((pad, *split.images.shape[1:]), np.float32)])
    labels = np.concatenate([split.labels, np.zeros(pad, np.int32)])
    weights = np.concatenate([np.ones(n, np.float32), np.zeros(pad, np.float32)])
    shape = (num_chunks, chunk_size)
    return Chunks(
        images.reshape(*shape, *split.images.shape[1:]),
        labels.reshape(shape),
        weights.reshape(shape),
    )


def batch_loss_and_accuracy(recipe: Recipe, params, images, labels, weights=None):
    """(sum of cross-entropies, number correct, number of images) over one batch of real images."""
    logits = recipe.module.apply(params, images)
    losses = jax.vmap(cross_entropy)(logits, labels)
    correct = (jnp.argmax(logits, -1) == labels).astype(jnp.float32)
    weights = jnp.ones_like(losses) if weights is None else weights
    return jnp.sum(weights * losses), jnp.sum(weights * correct), jnp.sum(weights)


def chunked_loss_and_accuracy(recipe: Recipe, params, chunks: Chunks):
    """Mean cross-entropy and accuracy over a whole real set, one chunk at a time (a scan), so
    activation memory stays at one chunk's."""

    def add_chunk(totals, chunk):
        parts = batch_loss_and_accuracy(recipe, params, *chunk)
        return jax.tree.map(jnp.add, totals, parts), None

    zero = jnp.zeros((), jnp.float32)
    (loss, correct, count), _ = jax.lax.scan(add_chunk, (zero, zero, zero), tuple(chunks))
    return loss / count, correct / count
