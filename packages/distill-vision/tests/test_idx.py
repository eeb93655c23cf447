import gzip

import numpy as np
import pytest

from hades_distill_vision import IDXError, read_idx, write_idx


@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32])
def test_roundtrip_plain_and_gz(tmp_path, name, dtype):
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = write_idx(tmp_path / name, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    back = read_idx(path)
    assert back.dtype == array.dtype and back.shape == array.shape
    np.testing.assert_array_equal(back, array)


def test_header_is_the_mnist_one(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros((3, 28, 28), np.uint8))
    assert path.read_bytes()[:16].hex() == "00000803" + "00000003" + "0000001c" + "0000001c"


def test_bad_magic_is_a_clear_error(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(b"\x12\x34\x08\x01\x00\x00\x00\x01\x00"))
    with pytest.raises(IDXError, match=r"bad magic number 0x12340801.*not an IDX file"):
        read_idx(path)


def test_size_mismatch_is_a_clear_error(tmp_path):
    path = write_idx(tmp_path / "x", np.zeros((4, 5), np.uint8))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(IDXError, match=r"shape \(4, 5\).*truncated"):
        read_idx(path)


def test_damaged_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07")[:-6])
    with pytest.raises(IDXError, match="damaged gzip"):
        read_idx(path)
