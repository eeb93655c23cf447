"""Synthetic image datasets: n images per class, their labels, and where the images start."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from hades_bc_inner import balanced_labels
from hades_distill_vision._src.data import NUM_CLASSES, ImageSplit

INITS = ("mean", "real", "zeros")


def synthetic_labels(per_class: int, num_classes: int = NUM_CLASSES) -> jax.Array:
    """(per_class * num_classes,) int32: block i of `per_class` images has class i."""
    return balanced_labels(per_class * num_classes, num_classes)


def class_means(split: ImageSplit, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """(num_classes, 28, 28, 1) mean real image of each class."""
    counts = np.bincount(split.labels, minlength=num_classes)
    if np.any(counts[:num_classes] == 0):
        empty = np.flatnonzero(counts[:num_classes] == 0).tolist()
        raise ValueError(f"classes {empty} have no training images; cannot take class means")
    return np.stack([split.images[split.labels == c].mean(0) for c in range(num_classes)])


def real_samples(split: ImageSplit, per_class: int, num_classes: int, key) -> np.ndarray:
    """`per_class` distinct random real images of each class, in class blocks."""
    picks = []
    for c in range(num_classes):
        members = np.flatnonzero(split.labels == c)
        if len(members) < per_class:
            raise ValueError(f"class {c} has {len(members)} training images, need {per_class}")
        chosen = jax.random.choice(jax.random.fold_in(key, c), len(members), (per_class,), False)
        picks.append(members[np.asarray(chosen)])
    return split.images[np.concatenate(picks)]


def initial_images(
    init: str, split: ImageSplit, per_class: int, key, num_classes: int = NUM_CLASSES
) -> jax.Array:
    """(per_class * num_classes, 28, 28, 1) starting images.

    mean: every image of class c is the class-c mean (the paper's best start); the ES breaks the
    tie between copies. real: random real images of the class. zeros: blank images.
    """
    if init == "mean":
        images = np.repeat(class_means(split, num_classes), per_class, axis=0)
    elif init == "real":
        images = real_samples(split, per_class, num_classes, key)
    elif init == "zeros":
        images = np.zeros((per_class * num_classes, *split.images.shape[1:]), np.float32)
    else:
        raise ValueError(f"unknown image init {init!r}; choose one of {INITS}")
    return jnp.asarray(images, jnp.float32)


def initial_label_logits(
    labels: jax.Array, num_classes: int = NUM_CLASSES, confidence: float = 0.9
) -> jax.Array:
    """(n, num_classes) logits whose softmax puts `confidence` on the image's class and spreads
    the rest evenly: learned labels start as the fixed ones, slightly smoothed."""
    on = jnp.log(confidence)
    off = jnp.log((1.0 - confidence) / (num_classes - 1))
    return jnp.where(jax.nn.one_hot(labels, num_classes) > 0, on, off).astype(jnp.float32)
