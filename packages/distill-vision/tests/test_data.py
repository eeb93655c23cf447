import dataclasses
import gzip
import hashlib
import io
import urllib.error
import urllib.request

import numpy as np
import pytest

import hades_distill_vision as dv
from hades_distill_vision import IDX_FILES


def check_tiny(ds, n_train=40, n_test=20):
    assert ds.train.images.shape == (n_train, 28, 28, 1)
    assert ds.train.images.dtype == np.float32 and ds.train.labels.dtype == np.int32
    assert ds.test.images.shape == (n_test, 28, 28, 1)
    assert ds.train.images.min() >= 0.0 and ds.train.images.max() == 1.0
    np.testing.assert_array_equal(ds.train.labels[:10], np.arange(10))


def test_load_from_data_dir_subfolder(tiny_mnist):
    ds = dv.load_image_dataset("mnist", tiny_mnist, download=False)
    check_tiny(ds)
    assert ds.name == "mnist" and ds.class_names[3] == "3"


def test_load_from_the_folder_itself_and_plain_files(tmp_path, write_tiny_dataset):
    write_tiny_dataset(tmp_path, compress=False)
    # A mix works too: plain images with gz labels.
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    dv.write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.tile(np.arange(10, dtype=np.uint8), 2))
    check_tiny(dv.load_image_dataset("MNIST", tmp_path, download=False))


def test_data_dir_from_env(tiny_mnist, monkeypatch):
    monkeypatch.setenv(dv.DATA_DIR_ENV, str(tiny_mnist))
    assert dv.dataset_dir("mnist") == tiny_mnist / "mnist"
    check_tiny(dv.load_image_dataset("mnist", download=False))


def test_fashion_mnist_from_tiny_files(tmp_path, write_tiny_dataset):
    write_tiny_dataset(tmp_path / "fashion-mnist", 3, 1)
    ds = dv.load_image_dataset("fashion_mnist", tmp_path, download=False)
    check_tiny(ds, 30, 10)
    assert ds.name == "fashion-mnist" and ds.class_names[9] == "Ankle boot"


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown image dataset 'cifar'"):
        dv.image_source("cifar")


def test_label_count_mismatch_is_a_clear_error(tiny_mnist):
    dv.write_idx(tiny_mnist / "mnist" / IDX_FILES["test_labels"], np.zeros(7, np.uint8))
    with pytest.raises(dv.IDXError, match="7 labels for the 20 images"):
        dv.load_image_dataset("mnist", tiny_mnist, download=False)


def test_wrong_image_size_is_a_clear_error(tiny_mnist):
    dv.write_idx(tiny_mnist / "mnist" / IDX_FILES["test_images"], np.zeros((20, 8, 8), np.uint8))
    with pytest.raises(dv.IDXError, match=r"expected uint8 images of shape \(N, 28, 28\)"):
        dv.load_image_dataset("mnist", tiny_mnist, download=False)


def assert_names_the_four_files(message, directory):
    for name in IDX_FILES.values():
        assert name in message
    assert str(directory) in message


def test_missing_offline_names_the_four_files(tmp_path, monkeypatch):
    calls = []

    def offline(url, timeout=None):
        calls.append(url)
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(dv.DataNotFoundError, match="could not be downloaded") as info:
        dv.load_image_dataset("mnist", tmp_path)
    assert calls == ["https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz"]
    assert_names_the_four_files(str(info.value), tmp_path / "mnist")


def test_missing_without_download_names_the_four_files(tmp_path):
    with pytest.raises(dv.DataNotFoundError) as info:
        dv.load_image_dataset("fashion-mnist", tmp_path, download=False)
    assert_names_the_four_files(str(info.value), tmp_path / "fashion-mnist")


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@pytest.fixture
def fake_mirror(tmp_path, monkeypatch, write_tiny_dataset):
    """urlopen serving tiny .gz files; mnist's known digests become theirs (uncompressed)."""
    served = write_tiny_dataset(tmp_path / "served", compress=False)
    digests = {
        name: (hashlib.sha256((served / name).read_bytes()).hexdigest(),)
        for name in IDX_FILES.values()
    }
    fake = dataclasses.replace(dv.SOURCES["mnist"], sha256=digests)
    monkeypatch.setitem(dv.SOURCES, "mnist", fake)
    urls = []

    def urlopen(url, timeout=None):
        urls.append(url)
        name = url.rsplit("/", 1)[1].removesuffix(".gz")
        return FakeResponse(gzip.compress((served / name).read_bytes()))

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return urls


def test_download_verifies_and_stores(tmp_path, fake_mirror):
    ds = dv.load_image_dataset("mnist", tmp_path / "data")
    check_tiny(ds)
    mirror = dv.SOURCES["mnist"].mirrors[0]
    assert len(fake_mirror) == 4 and all(url.startswith(mirror) for url in fake_mirror)
    stored = sorted(p.name for p in (tmp_path / "data" / "mnist").iterdir())
    assert stored == sorted(f"{name}.gz" for name in IDX_FILES.values())


def test_download_with_wrong_checksum_is_refused(tmp_path, fake_mirror, monkeypatch):
    wrong = dataclasses.replace(dv.SOURCES["mnist"], sha256={})
    monkeypatch.setitem(dv.SOURCES, "mnist", wrong)
    with pytest.raises(dv.ChecksumError, match="expected one of"):
        dv.load_image_dataset("mnist", tmp_path / "data")
    assert not (tmp_path / "data" / "mnist" / "train-images-idx3-ubyte.gz").exists()


def test_known_checksums_cover_the_four_files():
    for source in dv.SOURCES.values():
        assert set(source.sha256) == set(IDX_FILES.values())
        assert all(len(d) == 64 for digests in source.sha256.values() for d in digests)
