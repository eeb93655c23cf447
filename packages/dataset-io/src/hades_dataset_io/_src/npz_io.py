"""Reading and writing the dataset file: one compressed npz, JSON metadata under `META_KEY`."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from hades_dataset_io._src.dataset import (
    ARRAY_NAMES,
    SyntheticDataset,
    check_structure,
    coerce_arrays,
    validate_dataset,
)
from hades_dataset_io._src.errors import (
    CorruptDatasetError,
    DatasetNotFoundError,
    DatasetShapeError,
    NotADatasetError,
    PickledDataError,
)
from hades_dataset_io._src.meta import (
    META_KEY,
    check_schema_version,
    meta_from_json,
    meta_to_json,
    with_default_versions,
)
from hades_dataset_io._src.version import __version__

NPY_MAGIC = b"\x93NUMPY"
PICKLE_PROTOCOL_2_PLUS = b"\x80"
READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError, ValueError)


def save_dataset(path: str | os.PathLike[str], ds: SyntheticDataset) -> Path:
    """Validate `ds` and write it to exactly `path` (no suffix added), atomically.

    The file is an `np.savez_compressed` archive of the present arrays (states, labels, actions,
    obs_mean, obs_var) plus `META_KEY`, a 0-d unicode array holding the metadata as JSON.
    `schema_version` and `hades_version` are filled in when missing. Returns the path.
    """
    path = Path(path)
    ds = dataclasses.replace(ds, meta=with_default_versions(ds.meta, __version__))
    validate_dataset(ds, where=str(path))
    arrays = {**ds.arrays(), META_KEY: np.array(meta_to_json(ds.meta))}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_npz_atomically(path, arrays)
    return path


def write_npz_atomically(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write to a temporary file next to `path`, then `os.replace` it into place."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            np.savez_compressed(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def load_dataset(path: str | os.PathLike[str]) -> SyntheticDataset:
    """Load and validate a dataset written by `save_dataset` (never unpickles anything)."""
    path = Path(path)
    arrays = read_npz(path)
    if META_KEY not in arrays:
        raise NotADatasetError(not_a_dataset_message(path, arrays))
    meta = meta_from_json(meta_text(arrays.pop(META_KEY), path), str(path))
    check_schema_version(meta, str(path))
    unexpected = sorted(set(arrays) - set(ARRAY_NAMES))
    if unexpected:
        raise DatasetShapeError(
            f"{path}: unexpected arrays {unexpected}; schema {meta['schema_version']} stores only "
            f"{list(ARRAY_NAMES)}, re-save the dataset with save_dataset"
        )
    if "states" not in arrays:
        raise DatasetShapeError(f"{path}: the file has no states; re-save it with save_dataset")
    return validate_dataset(dataset_from_arrays(arrays, meta, str(path)), where=str(path))


def dataset_from_arrays(
    arrays: dict[str, Any], meta: dict[str, Any], where: str
) -> SyntheticDataset:
    """A SyntheticDataset from loaded arrays, with structure errors naming `where`."""
    converted = coerce_arrays(arrays, where)
    check_structure(converted, where)
    return SyntheticDataset(**converted, meta=meta)


def meta_text(meta_array: np.ndarray, path: Path) -> str:
    if meta_array.shape != () or meta_array.dtype.kind != "U":
        raise NotADatasetError(
            f"{path}: {META_KEY!r} is a {meta_array.dtype} array of shape {meta_array.shape}, not "
            "the JSON string save_dataset writes; the file was not written by hades-dataset-io"
        )
    return str(meta_array)


def not_a_dataset_message(path: Path, arrays: dict[str, np.ndarray]) -> str:
    message = (
        f"{path}: this npz has no {META_KEY!r} metadata (arrays: {sorted(arrays)}), so it is not "
        "a hades dataset; write datasets with hades_dataset_io.save_dataset"
    )
    if looks_like_reference_npz(arrays):
        message += (
            ". It looks like one of the paper's reference datasets: load it with "
            "hades_dataset_io.load_reference(path)"
        )
    return message


def looks_like_reference_npz(arrays: dict[str, Any]) -> bool:
    return "states" in arrays and "fitness_over_gen" in arrays


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of the npz at `path`, loaded with allow_pickle=False.

    Raises DatasetNotFoundError, CorruptDatasetError, NotADatasetError (a lone .npy) or
    PickledDataError (object arrays), each naming the file and the fix.
    """
    check_is_file(path)
    if not zipfile.is_zipfile(path):
        raise not_a_zip_error(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: read_member(npz, name, path) for name in npz.files}
    except (PickledDataError, CorruptDatasetError):
        raise
    except READ_ERRORS as err:
        raise corrupt_error(path, err) from err


def read_member(npz: Any, name: str, path: Path) -> np.ndarray:
    try:
        return npz[name]
    except ValueError as err:
        if "allow_pickle" not in str(err):
            raise corrupt_error(path, err) from err
        raise PickledDataError(
            f"{path}: array {name!r} holds Python objects that only pickle can load, and pickles "
            "are never loaded (they can run code); re-save the data as numeric arrays with "
            "save_dataset"
        ) from err


def check_is_file(path: Path) -> None:
    if not path.exists():
        raise DatasetNotFoundError(
            f"{path}: no such file; check the path (save_dataset writes exactly the path it is "
            "given and adds no suffix)"
        )
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: not a regular file; pass the path of the .npz file")


def not_a_zip_error(path: Path) -> Exception:
    with open(path, "rb") as file:
        head = file.read(len(NPY_MAGIC))
    if head.startswith(NPY_MAGIC):
        return NotADatasetError(
            f"{path}: a single .npy array, not an npz dataset; write datasets with save_dataset"
        )
    if head.startswith(PICKLE_PROTOCOL_2_PLUS):
        return PickledDataError(
            f"{path}: a Python pickle (such as the paper's data_final.pkl), which is never loaded "
            "(it can run code); use the converted npz files with load_reference"
        )
    return CorruptDatasetError(
        f"{path}: not a zip/npz archive (wrong format, or truncated during a copy); "
        "restore the file from a copy or re-save the dataset with save_dataset"
    )


def corrupt_error(path: Path, err: Exception) -> CorruptDatasetError:
    return CorruptDatasetError(
        f"{path}: the npz archive is damaged ({type(err).__name__}: {err}); "
        "restore the file from a copy or re-save the dataset with save_dataset"
    )
