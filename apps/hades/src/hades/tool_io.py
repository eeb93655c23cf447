"""Where the dataset tools (retrain, merge, sweep, show) read from and write to."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hades_dataset_io import SyntheticDataset


def dataset_file(path: str | Path) -> Path:
    """A dataset path as given, or a run directory's dataset.npz."""
    path = Path(path)
    if path.is_dir():
        candidate = path / "dataset.npz"
        if not candidate.is_file():
            raise FileNotFoundError(f"{path} is a directory without a dataset.npz")
        return candidate
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such dataset file or run directory")
    return path


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and (path / "config.json").is_file()


def default_out_dir(dataset_path: Path, ds: SyntheticDataset, command: str) -> Path:
    """The run directory the dataset belongs to, else runs/<command>-<env>-<file stem>: the
    paper's files live in a shared, read-only folder."""
    if is_run_dir(dataset_path.parent):
        return dataset_path.parent
    return Path("runs") / slug(f"{command}-{ds.env_id or 'dataset'}-{dataset_path.stem}")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", text)


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def parse_int_list(text: str, option: str) -> tuple[int, ...]:
    """ "32,64,128" -> (32, 64, 128): positive, distinct integers, or a clear error."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if not values or any(v < 1 for v in values) or len(set(values)) != len(values):
        raise ValueError(
            f"{option} must be distinct positive integers separated by commas "
            f"(e.g. 32,64,128), got {text!r}"
        )
    return values


def parse_range(text: str, option: str, cast=float) -> tuple:
    """ "1e-4,1e-1" -> (1e-4, 0.1) with 0 < low <= high, or a clear error."""
    parts = [p.strip() for p in text.split(",")]
    try:
        low, high = (cast(p) for p in parts)
    except ValueError:
        low = high = None
    if low is None or not 0 < low <= high:
        raise ValueError(f"{option} must be LOW,HIGH with 0 < LOW <= HIGH, got {text!r}")
    return low, high


def matplotlib_figure(width: float, height: float):
    """A pyplot-free figure (Agg): safe in threads and without a display."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")
