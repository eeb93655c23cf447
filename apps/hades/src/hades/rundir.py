"""A run directory: config.json, metrics.jsonl, dataset.npz, summary.json (and checkpoints/)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from hades_dataset_io import SyntheticDataset, save_dataset


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


@dataclasses.dataclass
class RunDir:
    path: Path

    @classmethod
    def create(cls, path: str | Path, config) -> RunDir:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        run = cls(path)
        _write_json_atomic(path / "config.json", config.to_json())
        # A fresh run starts a fresh log.
        (path / "metrics.jsonl").write_text("")
        return run

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def dataset_path(self) -> Path:
        return self.path / "dataset.npz"

    def log_metrics(self, row: dict[str, Any]) -> None:
        with open(self.metrics_path, "a") as f:
            f.write(json.dumps(row) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_path.exists():
            return []
        return [json.loads(line) for line in self.metrics_path.read_text().splitlines() if line]

    def save_dataset(self, dataset: SyntheticDataset, name: str = "dataset.npz") -> Path:
        path = self.path / name
        save_dataset(path, dataset)
        return path

    def write_summary(self, summary: dict[str, Any]) -> None:
        _write_json_atomic(self.path / "summary.json", summary)
