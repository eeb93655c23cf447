"""`hades sweep --dataset-sizes 4,16,64,256 ...`: final return against dataset size (Fig 6).

One `hades distill` run per size, in sub-run directories D<size>/ of the sweep directory; a
size whose sub-run already finished with the same config is reused, so a sweep can be extended
or re-plotted without re-running. `--baseline RUN_DIR` draws a `hades neuroevolve` run's final
return as a reference line.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hades.config import DistillConfig
from hades.distill import run_fingerprint
from hades.tool_io import matplotlib_figure, write_csv

CSV_COLUMNS = (
    "dataset_size", "retrain_return_mean", "retrain_return_std", "retrain_inits",
    "final_es_mean_fitness", "evolve_seconds", "run_dir",
)  # fmt: skip


def sub_run_dir(out: Path, size: int) -> Path:
    return out / f"D{size}"


def finished_summary(run: Path, config: DistillConfig) -> dict[str, Any] | None:
    """The summary of a finished sub-run with the same config (else None: run it)."""
    summary, recorded = run / "summary.json", run / "config.json"
    if not (summary.is_file() and recorded.is_file()):
        return None
    values = {k: v for k, v in json.loads(recorded.read_text()).items() if k != "command"}
    try:
        same = run_fingerprint(DistillConfig(**values)) == run_fingerprint(config)
    except TypeError:  # a config.json from another version of the fields
        return None
    if not same or values.get("generations") != config.generations:
        return None
    return json.loads(summary.read_text())


def read_baseline(run_dir: str | Path) -> dict[str, Any]:
    """A `hades neuroevolve` (or any) run's final return, from its summary.json."""
    path = Path(run_dir) / "summary.json"
    if not path.is_file():
        raise FileNotFoundError(f"--baseline {run_dir}: no summary.json; is it a finished run?")
    summary = json.loads(path.read_text())
    if "retrain_return_mean" not in summary:
        raise ValueError(f"--baseline {run_dir}: summary.json has no retrain_return_mean")
    config_path = Path(run_dir) / "config.json"
    command = json.loads(config_path.read_text()).get("command") if config_path.is_file() else None
    label = "neuroevolution" if command in (None, "neuroevolve") else f"{command} run"
    if "num_params" in summary:
        label += f" ({summary['num_params']} weights)"
    return {
        "label": label,
        "mean": float(summary["retrain_return_mean"]),
        "std": float(summary.get("retrain_return_std", 0.0)),
        "env": summary.get("env"),
        "run_dir": str(run_dir),
    }


def run_sweep(
    base: DistillConfig,
    sizes: Sequence[int],
    out: str | Path,
    baseline: str | Path | None = None,
    quiet: bool = True,
    run_distill: Callable | None = None,
    log=print,
) -> dict[str, Any]:
    """Distil one dataset per size (or reuse a finished one); write sweep.csv/png/json."""
    if run_distill is None:
        from hades.distill import run_distill
    out = Path(out)
    reference = read_baseline(baseline) if baseline is not None else None
    if reference and reference["env"] not in (None, base.env):
        raise ValueError(
            f"--baseline {baseline} is a {reference['env']} run but the sweep is on {base.env}"
        )
    rows = []
    for size in sizes:
        config = dataclasses.replace(base, dataset_size=size)
        config.validate()
        run = sub_run_dir(out, size)
        summary = finished_summary(run, config)
        if summary is None:
            log(f"dataset size {size}: distilling into {run}")
            summary = run_distill(config, run, quiet=quiet)
        else:
            log(f"dataset size {size}: reusing the finished run in {run}")
        rows.append(
            [
                size,
                summary["retrain_return_mean"],
                summary["retrain_return_std"],
                summary["retrain_inits"],
                summary.get("final_es_mean_fitness"),
                summary.get("evolve_seconds"),
                str(run),
            ]
        )
        log(
            f"dataset size {size}: retrained return {summary['retrain_return_mean']:.1f} ± "
            f"{summary['retrain_return_std']:.1f}"
        )
    csv_path = write_csv(out / "sweep.csv", CSV_COLUMNS, rows)
    png_path = plot_sweep(rows, reference, out / "sweep.png", base)
    result = {
        "env": base.env,
        "variant": base.variant,
        "dataset_sizes": list(sizes),
        "results": [dict(zip(CSV_COLUMNS, row)) for row in rows],
        "baseline": reference,
        "csv": str(csv_path),
        "png": str(png_path),
    }
    (out / "sweep.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def plot_sweep(rows, reference: dict[str, Any] | None, path: Path, base: DistillConfig) -> Path:
    sizes = [row[0] for row in rows]
    means = [row[1] for row in rows]
    stds = [row[2] for row in rows]
    fig = matplotlib_figure(6.0, 4.0)
    ax = fig.add_subplot()
    ax.errorbar(sizes, means, yerr=stds, marker="o", capsize=4, color="tab:blue",
                label=f"HaDES-{base.variant} (retrained, mean ± std)")  # fmt: skip
    if reference is not None:
        ax.axhline(reference["mean"], color="tab:red", linestyle="--", label=reference["label"])
        ax.axhspan(reference["mean"] - reference["std"], reference["mean"] + reference["std"],
                   color="tab:red", alpha=0.1)  # fmt: skip
    if len(sizes) > 1 and max(sizes) / min(sizes) >= 4:
        ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("dataset size (state-action pairs)")
    ax.set_ylabel("final return of retrained policies")
    ax.set_title(
        f"{base.env}: return vs dataset size ({base.generations} generations, "
        f"popsize {base.popsize})",
        fontsize=10,
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=110)
    return path
