"""IDX files (the MNIST container format): read and write, plain or gzip-compressed.

Layout: 2 zero bytes, a type code, the number of dimensions d, then d big-endian uint32 sizes,
then the values in C order (big-endian for multi-byte types).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

# IDX type code -> numpy dtype (big-endian, as the format stores them).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """A file is not a valid IDX file, or not the one expected."""


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's bytes, gunzipped when it is gzip data (detected by content, not by name)."""
    raw = Path(path).read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError) as err:
        raise IDXError(
            f"{path}: damaged gzip data ({err}); delete the file and fetch it again"
        ) from err


def parse_idx(data: bytes, where: str = "IDX data") -> np.ndarray:
    """The array held by IDX bytes; raises IDXError naming `where` on any inconsistency."""
    if len(data) < 4:
        raise IDXError(f"{where}: {len(data)} bytes, too short for an IDX header")
    zeros, type_code, ndim = data[:2], data[2], data[3]
    if zeros != b"\x00\x00" or type_code not in IDX_DTYPES:
        raise IDXError(
            f"{where}: bad magic number 0x{data[:4].hex()} (expected 0x0000TTDD with type TT in "
            f"{[hex(t) for t in IDX_DTYPES]}); this is not an IDX file"
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise IDXError(f"{where}: truncated header ({ndim} dimensions announced)")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[type_code]
    expected = header_size + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise IDXError(
            f"{where}: header says shape {shape} ({expected} bytes in all) but the file has "
            f"{len(data)} bytes; the file is truncated or damaged"
        )
    values = np.frombuffer(data, dtype, offset=header_size).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (plain or .gz) into a numpy array."""
    return parse_idx(read_bytes(path), where=str(path))


def encode_idx(array: np.ndarray) -> bytes:
    array = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise IDXError(f"IDX cannot store dtype {array.dtype}; use one of {list(codes)}")
    header = bytes([0, 0, codes[native], array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + array.astype(IDX_DTYPES[codes[native]]).tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write `array` as an IDX file, gzip-compressed when the name ends in .gz."""
    path = Path(path)
    data = encode_idx(array)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path
