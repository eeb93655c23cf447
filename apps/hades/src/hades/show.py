"""`hades show DATASET_OR_RUN`: look at a dataset (the paper's Fig 1) and at how it evolved.

Writes dataset.csv (one row per pair: its target, then every state feature) and dataset.png
(the view for its env family, see `hades_dataset_io.plot_dataset`). For a run directory, or a
dataset file that records its fitness history (the paper's do), also fitness.csv/png: the
population's mean and max fitness, the ES mean's own fitness and sigma per generation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hades.evaluate import open_dataset
from hades.rundir import RunDir
from hades.tool_io import dataset_file, default_out_dir, is_run_dir, matplotlib_figure, write_csv
from hades_dataset_io import SyntheticDataset, dataset_view, plot_dataset, save_dataset_csv

CURVES = (  # metrics.jsonl key, label
    ("fitness_mean", "population mean"),
    ("fitness_max", "population max"),
    ("es_mean_fitness", "ES mean (the dataset)"),
)
NOT_ENVS = ("mnist", "fashion-mnist")


def raw_obs_shape_of(ds: SyntheticDataset) -> tuple[int, ...] | None:
    """The simulator's observation layout (e.g. MinAtar's (10, 10, C)) when the metadata lacks
    it; only gymnax envs are asked (cheap), never brax or image datasets."""
    from hades_env_adapters import BRAX_ENV_IDS, make_env

    env_id = ds.env_id
    if not env_id or env_id in BRAX_ENV_IDS or env_id in NOT_ENVS or "merged" in ds.meta:
        return None
    try:
        shape = make_env(env_id, **ds.meta.get("env_options", {})).raw_obs_shape
    except (ValueError, ImportError):
        return None
    return tuple(shape) if len(shape) == 3 else None


def curve_rows(run_path: Path | None, ds: SyntheticDataset) -> list[dict[str, Any]]:
    """Per-generation metrics: the run's metrics.jsonl, else the dataset's fitness_history."""
    if run_path is not None:
        rows = RunDir(run_path).read_metrics()
        if rows:
            return rows
    history = ds.meta.get("fitness_history", {})
    names = {"mean": "fitness_mean", "max": "fitness_max", "es_mean": "es_mean_fitness"}
    length = max((len(v) for v in history.values()), default=0)
    return [
        {"generation": g, **{names[k]: v[g] for k, v in history.items() if k in names and v}}
        for g in range(length)
    ]


def plot_curves(rows: list[dict[str, Any]], path: Path, title: str) -> Path:
    generations = [r["generation"] for r in rows]
    has_sigma = any("sigma" in r for r in rows)
    fig = matplotlib_figure(11.0 if has_sigma else 6.5, 4.0)
    axes = fig.subplots(1, 2 if has_sigma else 1, squeeze=False)[0]
    for key, label in CURVES:
        values = [r.get(key) for r in rows]
        if any(v is not None for v in values):
            axes[0].plot(generations, values, label=label, linewidth=1.2)
    axes[0].set_xlabel("generation")
    axes[0].set_ylabel("fitness (return)")
    axes[0].legend(fontsize=8)
    axes[0].grid(alpha=0.3)
    axes[0].set_title(title, fontsize=10)
    if has_sigma:
        sigmas = [r.get("sigma") for r in rows]
        axes[1].plot(generations, sigmas, color="tab:purple")
        finite = [s for s in sigmas if s is not None and s > 0]
        if finite and max(finite) > 10 * min(finite):  # decaying sigma spans decades
            axes[1].set_yscale("log")
        axes[1].set_xlabel("generation")
        axes[1].set_ylabel("sigma (mean ES std)")
        axes[1].grid(alpha=0.3, which="both")
        axes[1].set_title("search distribution width", fontsize=10)
    fig.savefig(path, dpi=110)
    return path


def write_curves(rows: list[dict[str, Any]], out: Path, title: str) -> dict[str, Path]:
    keys = ["generation"] + [k for k, _ in CURVES] + ["sigma"]
    keys = [k for k in keys if any(k in r for r in rows)]
    csv_path = write_csv(out / "fitness.csv", keys, [[r.get(k) for k in keys] for r in rows])
    return {"fitness_csv": csv_path, "fitness_png": plot_curves(rows, out / "fitness.png", title)}


def show(target: str | Path, out: str | Path | None = None) -> dict[str, Any]:
    """Draw a dataset file or a run directory's dataset; returns the paths written."""
    target = Path(target)
    path = dataset_file(target)
    ds = open_dataset(path)
    run_path = target if is_run_dir(target) else (path.parent if is_run_dir(path.parent) else None)
    out = Path(out) if out is not None else default_out_dir(path, ds, "show")
    out.mkdir(parents=True, exist_ok=True)
    raw_shape = raw_obs_shape_of(ds)
    written: dict[str, Any] = {"view": dataset_view(ds, raw_shape)}
    written["csv"] = save_dataset_csv(ds, out / "dataset.csv", raw_shape)
    written["png"] = plot_dataset(ds, out / "dataset.png", raw_shape, title=show_title(ds, path))
    rows = curve_rows(run_path, ds)
    if rows:
        written.update(write_curves(rows, out, f"{ds.env_id}: fitness per generation"))
    (out / "show.json").write_text(
        json.dumps({k: str(v) for k, v in written.items()}, indent=2) + "\n"
    )
    return written


def show_title(ds: SyntheticDataset, path: Path) -> str:
    variant = ds.meta.get("variant")
    what = f"HaDES-{variant}" if variant in ("F", "R", "R+") else (variant or "dataset")
    name = ds.meta.get("source", {}).get("file") or path.name
    return f"{ds.env_id} — {what}, {ds.size} pairs ({name})"
