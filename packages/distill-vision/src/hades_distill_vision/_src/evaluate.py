"""Final evaluation as the paper reports it: test accuracy of fresh classifiers trained on the
synthetic images, over distillation seeds x classifiers."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hades_distill_vision._src.classifier import (
    Chunks,
    Recipe,
    chunk_split,
    chunked_loss_and_accuracy,
    train_classifier,
)
from hades_distill_vision._src.data import ImageSplit


@functools.partial(jax.jit, static_argnames=("recipe",))
def _accuracies(images, targets, keys, test: Chunks, recipe: Recipe):
    def one(key):
        params = train_classifier(recipe, images, targets, key).params
        return chunked_loss_and_accuracy(recipe, params, test)[1]

    # One classifier at a time: memory of one, and on CPU a vmap would not be faster.
    return jax.lax.map(one, keys)


def test_accuracy(
    images,
    labels,
    recipe: Recipe,
    key: jax.Array,
    num_classifiers: int,
    test: ImageSplit,
    chunk_size: int = 2000,
) -> np.ndarray:
    """(num_classifiers,) test-set accuracies of fresh classifiers trained on (images, labels).

    labels: (n,) int classes or (n, num_classes) label logits. Classifier i starts from
    `fold_in(key, i)`.
    """
    keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(num_classifiers))
    targets = jnp.asarray(labels)
    images = jnp.asarray(images, jnp.float32)
    return np.asarray(_accuracies(images, targets, keys, chunk_split(test, chunk_size), recipe))


def accuracy_summary(accuracies) -> dict[str, Any]:
    """Mean ± std of an (S seeds, C classifiers) accuracy table (a 1-D array is one seed).

    std: over all S*C classifiers; seed_std: of the S per-seed means.
    """
    table = np.atleast_2d(np.asarray(accuracies, np.float64))
    seed_means = table.mean(axis=1)
    return {
        "mean": float(table.mean()),
        "std": float(table.std()),
        "seed_means": seed_means.tolist(),
        "seed_stds": table.std(axis=1).tolist(),
        "seed_std": float(seed_means.std()),
        "num_seeds": int(table.shape[0]),
        "num_classifiers": int(table.shape[1]),
    }


# Not a pytest test, though its name says so (tests import it).
test_accuracy.__test__ = False
