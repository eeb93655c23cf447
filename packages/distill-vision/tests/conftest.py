"""Tiny MNIST-format datasets written to tmp_path (no real data, no network)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hades_distill_vision import write_idx_dataset


def tiny_split(per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (N, 28, 28): class c is a bright 7x7 square at a class-specific spot."""
    labels = np.tile(np.arange(10, dtype=np.uint8), per_class)
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, (len(labels), 28, 28), dtype=np.uint8)
    for i, c in enumerate(labels):
        row, col = 7 * (c // 4), 7 * (c % 4)
        images[i, row : row + 7, col : col + 7] = 255
    return images, labels


def write_tiny(directory: Path, train_per_class=4, test_per_class=2, compress=True) -> Path:
    return write_idx_dataset(
        directory, tiny_split(train_per_class, 0), tiny_split(test_per_class, 1), compress
    )


@pytest.fixture
def write_tiny_dataset():
    """write(directory, train_per_class=4, test_per_class=2, compress=True) -> directory."""
    return write_tiny


@pytest.fixture
def tiny_mnist(tmp_path) -> Path:
    """A data dir holding mnist/ (tiny, gz); returns the data dir (the parent)."""
    write_tiny(tmp_path / "mnist")
    return tmp_path
