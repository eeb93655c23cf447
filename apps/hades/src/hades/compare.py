"""`hades compare RUN_A RUN_B ...`: fitness curves of runs side by side (CSV + PNG)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from hades.rundir import RunDir


def run_label(run: RunDir) -> str:
    config = run.config_json()
    command = config.get("command", "distill")
    what = "neuroevolution" if command == "neuroevolve" else f"HaDES-{config.get('variant', '?')}"
    return f"{run.path.name}: {config.get('env', '?')} {what}"


def load_curves(paths: list[str | Path]) -> list[dict[str, Any]]:
    curves = []
    for path in paths:
        run = RunDir.open(path)
        rows = run.read_metrics()
        if not rows:
            raise ValueError(f"{path} has no metrics yet (metrics.jsonl is empty)")
        elapsed, t = [], 0.0
        for row in rows:
            t += row["seconds"]
            elapsed.append(t)
        curves.append({"label": run_label(run), "rows": rows, "elapsed": elapsed})
    return curves


def write_comparison(paths: list[str | Path], out: str | Path) -> tuple[Path, Path]:
    """Write compare.csv (one row per run and generation) and compare.png into `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = load_curves(paths)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, png_path = out / "compare.csv", out / "compare.png"
    fields = [
        "run",
        "generation",
        "seconds_elapsed",
        "fitness_mean",
        "fitness_max",
        "es_mean_fitness",
    ]
    with open(csv_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(fields)
        for curve in curves:
            for row, t in zip(curve["rows"], curve["elapsed"]):
                writer.writerow([curve["label"], row["generation"], f"{t:.3f}"] + [
                    row[k] for k in fields[3:]
                ])  # fmt: skip

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for curve in curves:
        gens = [r["generation"] for r in curve["rows"]]
        (line,) = axes[0].plot(
            gens, [r["es_mean_fitness"] for r in curve["rows"]], label=curve["label"]
        )
        axes[0].plot(
            gens,
            [r["fitness_mean"] for r in curve["rows"]],
            color=line.get_color(),
            alpha=0.4,
            ls="--",
        )
        axes[1].plot(
            curve["elapsed"], [r["es_mean_fitness"] for r in curve["rows"]], color=line.get_color()
        )
    axes[0].set(
        xlabel="generation", ylabel="return", title="ES mean (solid), population mean (dashed)"
    )
    axes[1].set(xlabel="seconds", ylabel="return", title="ES mean against wall time")
    axes[0].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png_path, dpi=120)
    plt.close(fig)
    (out / "compare.json").write_text(
        json.dumps(
            {"runs": [str(p) for p in paths], "labels": [c["label"] for c in curves]}, indent=2
        )
    )
    return csv_path, png_path
