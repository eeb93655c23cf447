import jax
import numpy as np
import pytest

import hades_distill_vision as dv


@pytest.fixture
def train(tiny_mnist):
    return dv.load_image_dataset("mnist", tiny_mnist, download=False).train


def test_class_mean_init_equals_class_means(train):
    means = dv.class_means(train)
    for c in range(10):
        np.testing.assert_allclose(means[c], train.images[train.labels == c].mean(0), atol=1e-6)
    images = np.asarray(dv.initial_images("mean", train, 2, jax.random.key(0)))
    assert images.shape == (20, 28, 28, 1)
    np.testing.assert_allclose(images[::2], means, atol=1e-6)
    np.testing.assert_allclose(images[1::2], means, atol=1e-6)


def test_real_init_takes_distinct_images_of_each_class(train):
    images = np.asarray(dv.initial_images("real", train, 3, jax.random.key(1)))
    labels = np.asarray(dv.synthetic_labels(3))
    for image, label in zip(images, labels):
        matches = np.flatnonzero((train.images == image).all(axis=(1, 2, 3)))
        assert len(matches) == 1 and train.labels[matches[0]] == label
    assert len({image.tobytes() for image in images}) == 30


def test_zeros_init_and_unknown_init(train):
    assert not np.asarray(dv.initial_images("zeros", train, 1, jax.random.key(0))).any()
    with pytest.raises(ValueError, match="unknown image init 'noise'"):
        dv.initial_images("noise", train, 1, jax.random.key(0))


def test_class_without_images_is_a_clear_error(train):
    keep = train.labels != 4
    with pytest.raises(ValueError, match=r"classes \[4\] have no training images"):
        dv.class_means(dv.ImageSplit(train.images[keep], train.labels[keep]))


def test_labels_are_class_blocks_and_logits_start_at_them():
    np.testing.assert_array_equal(dv.synthetic_labels(2)[:6], [0, 0, 1, 1, 2, 2])
    probs = jax.nn.softmax(dv.initial_label_logits(dv.synthetic_labels(1)))
    np.testing.assert_allclose(np.diag(probs), 0.9, rtol=1e-5)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
