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


def _is_writer() -> bool:
    """Only process 0 writes the run directory (all processes share it on multi-host runs)."""
    import jax

    return jax.process_index() == 0


@dataclasses.dataclass
class RunDir:
    path: Path

    @classmethod
    def create(cls, path: str | Path, config, command: str = "distill") -> RunDir:
        path = Path(path)
        if (path / "checkpoints").exists() and any((path / "checkpoints").iterdir()):
            raise FileExistsError(
                f"{path} already holds a run with checkpoints; continue it with --resume {path} "
                "or choose another --out"
            )
        run = cls(path)
        if _is_writer():
            path.mkdir(parents=True, exist_ok=True)
            run.write_config(config, command)
            (path / "metrics.jsonl").write_text("")  # a fresh run starts a fresh log
        return run

    def write_config(self, config, command: str) -> None:
        if _is_writer():
            _write_json_atomic(self.path / "config.json", {"command": command, **config.to_json()})

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        path = Path(path)
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"{path} is not a hades run directory (no config.json)")
        return cls(path)

    def config_json(self) -> dict[str, Any]:
        return json.loads((self.path / "config.json").read_text())

    def truncate_metrics(self, generations: int) -> None:
        """Drop log lines of generations the checkpoint does not include (they will rerun)."""
        if not _is_writer():
            return
        rows = [r for r in self.read_metrics() if r["generation"] < generations]
        tmp = self.metrics_path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
        os.replace(tmp, self.metrics_path)

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def dataset_path(self) -> Path:
        return self.path / "dataset.npz"

    def log_metrics(self, row: dict[str, Any]) -> None:
        if not _is_writer():
            return
        with open(self.metrics_path, "a") as f:
            f.write(json.dumps(row) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_path.exists():
            return []
        rows = []
        for line in self.metrics_path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line cut short by a kill: the checkpoint decides what reruns
        return rows

    def save_dataset(self, dataset: SyntheticDataset, name: str = "dataset.npz") -> Path:
        path = self.path / name
        if _is_writer():
            save_dataset(path, dataset)
        return path

    def write_summary(self, summary: dict[str, Any]) -> None:
        if _is_writer():
            _write_json_atomic(self.path / "summary.json", summary)
