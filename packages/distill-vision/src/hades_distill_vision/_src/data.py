"""MNIST and Fashion-MNIST: where the IDX files live, fetching them, loading them as float images.

Data directory: the `data_dir` argument, else $HADES_DATA_DIR, else ~/.cache/hades/data. In it the
files are looked up in `<dir>/<dataset>/` (e.g. `<dir>/mnist`, `<dir>/fashion-mnist`), or in
`<dir>` itself when that subfolder does not exist but `<dir>` holds the files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple

import numpy as np

from hades_distill_vision._src.idx import IDXError, read_idx, write_idx

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
DATA_DIR_ENV = "HADES_DATA_DIR"
DEFAULT_DATA_DIR = Path("~/.cache/hades/data")

# The four files of every MNIST-family dataset, by role.
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@dataclasses.dataclass(frozen=True)
class ImageSource:
    """A dataset's download mirrors and the SHA-256 digests a fetched file may have.

    sha256: file name -> accepted digests, of the .gz bytes or of the uncompressed bytes (a
    download passes when either matches; the uncompressed digest survives recompression).
    """

    name: str
    title: str
    mirrors: tuple[str, ...]
    sha256: dict[str, tuple[str, ...]]
    class_names: tuple[str, ...]


SOURCES: dict[str, ImageSource] = {
    "mnist": ImageSource(
        name="mnist",
        title="MNIST",
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",),
        # SHA-256 of the uncompressed official files (they are byte-identical everywhere).
        sha256={
            "train-images-idx3-ubyte": (
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            ),
            "train-labels-idx1-ubyte": (
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            ),
            "t10k-images-idx3-ubyte": (
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            ),
            "t10k-labels-idx1-ubyte": (
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            ),
        },
        class_names=tuple(str(i) for i in range(10)),
    ),
    "fashion-mnist": ImageSource(
        name="fashion-mnist",
        title="Fashion-MNIST",
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        # SHA-256 of the official .gz files as served by the Zalando mirror (whose MD5s the
        # Fashion-MNIST README publishes).
        sha256={
            "train-images-idx3-ubyte": (
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            ),
            "train-labels-idx1-ubyte": (
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            ),
            "t10k-images-idx3-ubyte": (
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            ),
            "t10k-labels-idx1-ubyte": (
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            ),
        },
        class_names=(
            "T-shirt/top",
            "Trouser",
            "Pullover",
            "Dress",
            "Coat",
            "Sandal",
            "Shirt",
            "Sneaker",
            "Bag",
            "Ankle boot",
        ),
    ),
}


class DataNotFoundError(FileNotFoundError):
    """The dataset's files are not on disk and could not be downloaded."""


class ChecksumError(ValueError):
    """A downloaded file is not the published one."""


class ImageSplit(NamedTuple):
    """images: (N, 28, 28, 1) float32 in [0, 1]; labels: (N,) int32."""

    images: np.ndarray
    labels: np.ndarray


class ImageDataset(NamedTuple):
    name: str
    train: ImageSplit
    test: ImageSplit
    class_names: tuple[str, ...]


def image_source(name: str) -> ImageSource:
    """The source called `name` (mnist | fashion-mnist; case, '_' and '-' are not significant)."""
    key = name.lower().replace("_", "-")
    key = {"fashionmnist": "fashion-mnist"}.get(key, key)
    if key not in SOURCES:
        raise ValueError(f"unknown image dataset {name!r}; choose one of {sorted(SOURCES)}")
    return SOURCES[key]


def dataset_dir(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Where the files of dataset `name` are (or would be downloaded to)."""
    source = image_source(name)
    root = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    root = Path(root).expanduser()
    sub = root / source.name
    if not sub.is_dir() and all(find_file(root, f) for f in IDX_FILES.values()):
        return root
    return sub


def find_file(directory: Path, name: str) -> Path | None:
    """`name` or `name.gz` in `directory` (the plain file wins)."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def missing_files(directory: Path) -> list[str]:
    return [f for f in IDX_FILES.values() if find_file(directory, f) is None]


def where_to_put_files(source: ImageSource, directory: Path) -> str:
    files = "\n".join(f"  {f}.gz  (or uncompressed: {f})" for f in IDX_FILES.values())
    return (
        f"Put these four {source.title} files in {directory}:\n{files}\n"
        f"(from {source.mirrors[0]}), or point --data-dir / ${DATA_DIR_ENV} at a folder that "
        f"holds them or has a '{source.name}/' subfolder holding them."
    )


# -- downloading ---------------------------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify_download(source: ImageSource, name: str, payload: bytes) -> None:
    """Accept `payload` (fetched .gz bytes) when its own or its uncompressed SHA-256 is known."""
    expected = source.sha256.get(name, ())
    digests = {sha256_hex(payload)}
    with contextlib.suppress(OSError, EOFError):  # not gzip: only its own digest can match
        digests.add(sha256_hex(gzip.decompress(payload)))
    if not digests.intersection(expected):
        raise ChecksumError(
            f"{source.title} {name}: downloaded file has SHA-256 {sorted(digests)}, expected one "
            f"of {list(expected)}; the mirror served something else, download it by hand"
        )


def fetch(url: str, timeout: float) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def download_file(source: ImageSource, name: str, directory: Path, timeout: float) -> Path:
    """Fetch `name`.gz from the first mirror that answers, verify it, store it atomically."""
    errors = []
    for mirror in source.mirrors:
        url = f"{mirror}{name}.gz"
        try:
            payload = fetch(url, timeout)
        except (urllib.error.URLError, OSError) as err:
            errors.append(f"{url}: {err}")
            continue
        verify_download(source, name, payload)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"{name}.gz"
        tmp = target.with_suffix(".gz.part")
        tmp.write_bytes(payload)
        os.replace(tmp, target)
        return target
    raise OSError("; ".join(errors))


def download_dataset(name: str, directory: str | os.PathLike, timeout: float = 60.0) -> Path:
    """Download whichever of the four files are missing from `directory`; returns `directory`."""
    source = image_source(name)
    directory = Path(directory)
    for file in missing_files(directory):
        try:
            download_file(source, file, directory, timeout)
        except OSError as err:
            raise DataNotFoundError(
                f"{source.title} is not in {directory} and could not be downloaded ({err}).\n"
                + where_to_put_files(source, directory)
            ) from err
    return directory


# -- loading -------------------------------------------------------------------------------


def read_split(directory: Path, images_file: str, labels_file: str) -> ImageSplit:
    images_path, labels_path = find_file(directory, images_file), find_file(directory, labels_file)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE[:2]:
        raise IDXError(
            f"{images_path}: holds {images.dtype} of shape {images.shape}; expected uint8 images "
            f"of shape (N, {IMAGE_SHAPE[0]}, {IMAGE_SHAPE[1]})"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise IDXError(
            f"{labels_path}: holds {labels.dtype} of shape {labels.shape}; "
            "expected uint8 labels of shape (N,)"
        )
    if len(labels) != len(images):
        raise IDXError(
            f"{labels_path}: {len(labels)} labels for the {len(images)} images of {images_path}"
        )
    if labels.size and labels.max() >= NUM_CLASSES:
        raise IDXError(f"{labels_path}: label {labels.max()} is not a class 0-{NUM_CLASSES - 1}")
    # Pixels in [0, 1], as the paper (real images / 255).
    scaled = (images.astype(np.float32) / 255.0)[..., None]
    return ImageSplit(scaled, labels.astype(np.int32))


def load_image_dataset(
    name: str, data_dir: str | os.PathLike | None = None, download: bool = True
) -> ImageDataset:
    """Load MNIST or Fashion-MNIST from IDX files, downloading them first when missing."""
    source = image_source(name)
    directory = dataset_dir(name, data_dir)
    if missing_files(directory):
        if not download:
            raise DataNotFoundError(
                f"{source.title} is not in {directory} (missing: {missing_files(directory)}).\n"
                + where_to_put_files(source, directory)
            )
        download_dataset(name, directory)
    return ImageDataset(
        name=source.name,
        train=read_split(directory, IDX_FILES["train_images"], IDX_FILES["train_labels"]),
        test=read_split(directory, IDX_FILES["test_images"], IDX_FILES["test_labels"]),
        class_names=source.class_names,
    )


def write_idx_dataset(
    directory: str | os.PathLike,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    compress: bool = True,
) -> Path:
    """Write (uint8 images (N, 28, 28), uint8 labels (N,)) train/test pairs as the four IDX
    files, e.g. to build a small MNIST-format dataset; returns `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    for split, (images, labels) in (("train", train), ("test", test)):
        write_idx(directory / (IDX_FILES[f"{split}_images"] + suffix), np.asarray(images, np.uint8))
        write_idx(directory / (IDX_FILES[f"{split}_labels"] + suffix), np.asarray(labels, np.uint8))
    return directory
