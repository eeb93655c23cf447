"""`hades retrain DATASET`: does the dataset train policies it was not evolved for? (Fig 4)

For each width, N fresh policies are trained with their own learning rate (log-uniform over
about three orders of magnitude) and number of behaviour-cloning steps (uniform in [100, 500]),
then evaluated. The top half per width is kept, as in the paper, and drawn as one box per width,
the width the dataset was evolved for highlighted.

All N members of one width run in one jitted, vmapped function: the learning rate and the step
count are traced values (`fit_with` runs the largest step count and freezes each member after
its own), so there is one compile per width (widths change shapes).
"""

from __future__ import annotations

import dataclasses
import json
import math
import textwrap
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hades.evaluate import genome_of, open_dataset, task_from_dataset
from hades.task import BCTask
from hades.tool_io import default_out_dir, matplotlib_figure, write_csv
from hades_bc_inner import cross_entropy, fit_with, gaussian_nll

PAPER_WIDTHS = (32, 64, 128, 256, 512, 1024, 2048)
PAPER_STEPS_RANGE = (100, 500)
LR_SPAN = 30.0  # [lr / 30, lr * 30]: ~three orders of magnitude around the dataset's own lr
FLOATS_PER_CHUNK = 3e8  # params x 6 (params, grads, Adam moments, ...) x members at once
CSV_COLUMNS = ("width", "member", "lr", "bc_steps", "return", "top_half", "evolved_width")


@dataclasses.dataclass(frozen=True)
class RetrainProtocol:
    widths: tuple[int, ...] = PAPER_WIDTHS
    policies: int = 50  # per width
    lr_range: tuple[float, float] | None = None  # None: the dataset's lr / 30 .. lr * 30
    steps_range: tuple[int, int] = PAPER_STEPS_RANGE
    chunk_size: int | None = None  # members trained at once; None: as many as fit in memory
    seed: int = 0

    def lr_bounds(self, dataset_lr: float) -> tuple[float, float]:
        if self.lr_range is not None:
            return self.lr_range
        return dataset_lr / LR_SPAN, dataset_lr * LR_SPAN

    def validate(self) -> None:
        if not self.widths or any(w < 1 for w in self.widths):
            raise ValueError(f"--widths must be positive integers, got {list(self.widths)}")
        if self.policies < 1:
            raise ValueError(f"--policies must be at least 1, got {self.policies}")
        low, high = self.steps_range
        if not 1 <= low <= high:
            raise ValueError(f"--steps-range must be 1 <= LOW <= HIGH, got {low},{high}")


# -- one member: a fresh policy with its own lr and step count ------------------------------------


def bc_targets(discrete: bool, genome, labels):
    """What the policy is fitted to and how: labels with cross-entropy, or learned continuous
    actions with the Gaussian negative log-likelihood."""
    if discrete:
        return labels, cross_entropy
    return genome["actions"], lambda out, target: gaussian_nll(out[0], out[1], target)


def init_policies(net, in_dim: int, keys: jax.Array):
    """Fresh params for each key, one init after another (lax.map). Under vmap, the orthogonal
    initialiser's batched QR runs as a jaxlib CPU kernel that fans out onto XLA's thread pool
    and waits for it; two of them at once (two layers) can take every thread of a small pool
    and never return (seen with width 512 on 2 cores). A sequential map avoids that."""
    return jax.lax.map(lambda k: net.init(k, jnp.zeros((in_dim,), jnp.float32)), keys)


def train_with(task: BCTask, genome, labels, params, fit_key, lr=None, num_steps=None):
    """`BCTask.train` from given initial params, with an optionally traced learning rate and
    step count (at most fit_config.steps)."""
    targets, loss_fn = bc_targets(task.discrete, genome, labels)
    result = fit_with(
        task.net.apply, params, genome["states"], targets, loss_fn, task.fit_config, fit_key,
        lr=lr, num_steps=num_steps,
    )  # fmt: skip
    return result.params


def member_return(task: BCTask, genome, labels, params, fit_key, eval_key, lr=None, steps=None):
    """Train one policy from `params` on the dataset and evaluate it."""
    trained = train_with(task, genome, labels, params, fit_key, lr, steps)
    return task.episode_return(trained, eval_key)


def sample_hyperparameters(key, n: int, lr_bounds, steps_range) -> tuple[np.ndarray, np.ndarray]:
    """n learning rates log-uniform in lr_bounds and n step counts uniform in steps_range."""
    lr_key, steps_key = jax.random.split(key)
    low, high = (math.log(x) for x in lr_bounds)
    lrs = jnp.exp(jax.random.uniform(lr_key, (n,), minval=low, maxval=high))
    steps = jax.random.randint(steps_key, (n,), steps_range[0], steps_range[1] + 1)
    return np.asarray(lrs, np.float32), np.asarray(steps, np.int32)


def num_params(task: BCTask) -> int:
    shapes = jax.eval_shape(task.net.init, jax.random.key(0), jnp.zeros(task.env.obs_shape))
    return sum(math.prod(x.shape) for x in jax.tree.leaves(shapes))


def members_at_once(task: BCTask, policies: int, chunk_size: int | None) -> int:
    """Bound memory: wide policies (2048 units: millions of weights each) go in chunks."""
    if chunk_size is not None:
        return max(1, min(chunk_size, policies))
    return max(1, min(policies, int(FLOATS_PER_CHUNK // (6 * num_params(task)))))


def width_task(task: BCTask, width: int, max_steps: int) -> BCTask:
    fit_config = dataclasses.replace(task.fit_config, steps=max_steps)
    return dataclasses.replace(task, width=width, fit_config=fit_config)


def retrain_width(
    task: BCTask, genome, labels, key, lrs: np.ndarray, steps: np.ndarray, batch: int
) -> np.ndarray:
    """Returns of len(lrs) fresh policies of `task`'s width: one jit, members vmapped in
    chunks of `batch` (lax.map), learning rate and step count traced per member."""
    init_keys, fit_keys, eval_keys = jax.random.split(key, 3 * len(lrs)).reshape(3, len(lrs))

    def run(init_keys, fit_keys, eval_keys, lrs, steps):
        params = init_policies(task.net, task.env.obs_shape[0], init_keys)
        member = lambda x: member_return(task, genome, labels, *x)
        return jax.lax.map(member, (params, fit_keys, eval_keys, lrs, steps), batch_size=batch)

    returns = jax.jit(run)(init_keys, fit_keys, eval_keys, jnp.asarray(lrs), jnp.asarray(steps))
    return np.asarray(returns)


def top_half_mask(returns: np.ndarray) -> np.ndarray:
    """The best half of the policies (at least one), as the paper plots them."""
    keep = max(1, len(returns) // 2)
    mask = np.zeros(len(returns), bool)
    mask[np.argsort(-returns, kind="stable")[:keep]] = True
    return mask


def check_retrainable(ds, path: Path) -> None:
    if "merged" in ds.meta:
        raise ValueError(
            f"{path} is a merged dataset; evaluate it per task with "
            "`hades evaluate MERGED --env A --env B` (retrain takes single-task datasets)"
        )
    if ds.states.ndim != 2:
        raise ValueError(
            f"{path} holds images ({ds.env_id}); retrain runs behaviour-cloning policies in an "
            "environment. Image datasets are evaluated with hades-distill-vision."
        )


# -- the command ---------------------------------------------------------------------------------


def run_retrain(
    dataset_path: str | Path,
    protocol: RetrainProtocol,
    out: str | Path | None = None,
    log=print,
    **eval_overrides: Any,
) -> dict[str, Any]:
    """Retrain the protocol's policies from a dataset; write retrain.csv/png/json into `out`."""
    protocol.validate()
    dataset_path = Path(dataset_path)
    ds = open_dataset(dataset_path)
    check_retrainable(ds, dataset_path)
    task = task_from_dataset(ds, **eval_overrides)
    out = Path(out) if out is not None else default_out_dir(dataset_path, ds, "retrain")
    genome = genome_of(ds)
    labels = None if ds.labels is None else jnp.asarray(ds.labels, jnp.int32)
    lr_bounds = protocol.lr_bounds(task.fit_config.lr)
    root = jax.random.key(protocol.seed)

    rows, seconds = [], {}
    for width in protocol.widths:
        t0 = time.perf_counter()
        wtask = width_task(task, width, protocol.steps_range[1])
        width_key = jax.random.fold_in(root, width)
        hp_key, run_key = jax.random.split(width_key)
        lrs, steps = sample_hyperparameters(
            hp_key, protocol.policies, lr_bounds, protocol.steps_range
        )
        batch = members_at_once(wtask, protocol.policies, protocol.chunk_size)
        returns = retrain_width(wtask, genome, labels, run_key, lrs, steps, batch)
        kept = top_half_mask(returns)
        for i in range(protocol.policies):
            rows.append(
                [
                    width,
                    i,
                    float(lrs[i]),
                    int(steps[i]),
                    float(returns[i]),
                    bool(kept[i]),
                    width == task.width,
                ]
            )
        seconds[width] = time.perf_counter() - t0
        log(
            f"width {width:5d}: top-half median return {np.median(returns[kept]):.1f} "
            f"(all: {np.mean(returns):.1f} ± {np.std(returns):.1f}) "
            f"[{seconds[width]:.1f}s, {batch} at once]"
        )

    csv_path = write_csv(out / "retrain.csv", CSV_COLUMNS, rows)
    summary = retrain_summary(dataset_path, ds, task, protocol, lr_bounds, rows, seconds)
    png_path = plot_retrain(
        rows, task.width, out / "retrain.png", summary["title"], lr_bounds, protocol.steps_range
    )
    summary.update(csv=str(csv_path), png=str(png_path))
    (out / "retrain.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def retrain_summary(dataset_path, ds, task, protocol, lr_bounds, rows, seconds) -> dict:
    per_width = {}
    for width in protocol.widths:
        kept = [r[4] for r in rows if r[0] == width and r[5]]
        every = [r[4] for r in rows if r[0] == width]
        per_width[str(width)] = {
            "top_half_median": float(np.median(kept)),
            "top_half_mean": float(np.mean(kept)),
            "mean": float(np.mean(every)),
            "std": float(np.std(every)),
            "seconds": seconds[width],
        }
    name = ds.meta.get("source", {}).get("file") or dataset_path.name
    return {
        "dataset": str(dataset_path),
        "env": task.env.env_id,
        "evolved_width": task.width,
        "dataset_lr": task.fit_config.lr,
        "dataset_bc_steps": ds.meta.get("fit", {}).get("steps"),
        "widths": list(protocol.widths),
        "policies_per_width": protocol.policies,
        "lr_range": list(lr_bounds),
        "steps_range": list(protocol.steps_range),
        "seed": protocol.seed,
        "per_width": per_width,
        "title": f"{task.env.env_id}: {name} ({ds.size} pairs)",
    }


def plot_retrain(rows, evolved_width: int, path: Path, title: str, lr_bounds, steps_range) -> Path:
    retrain_figure(rows, evolved_width, title, lr_bounds, steps_range).savefig(path, dpi=110)
    return path


def retrain_figure(rows, evolved_width: int, title: str, lr_bounds, steps_range):
    """One box per width over its top-half returns (dots: the policies); the width the dataset
    was evolved for is red on a shaded band."""
    widths = sorted({r[0] for r in rows})
    kept = [[r[4] for r in rows if r[0] == w and r[5]] for w in widths]
    fig = matplotlib_figure(max(6.5, 1.0 * len(widths) + 3.0), 4.4)
    ax = fig.add_subplot()
    for i, width in enumerate(widths, start=1):
        if width == evolved_width:
            ax.axvspan(i - 0.45, i + 0.45, color="tab:red", alpha=0.08, zorder=0)
    boxes = ax.boxplot(
        kept, patch_artist=True, widths=0.6, showfliers=False, medianprops={"color": "black"}
    )
    for width, box in zip(widths, boxes["boxes"]):
        evolved = width == evolved_width
        box.set_facecolor("tab:red" if evolved else "tab:blue")
        box.set_edgecolor("tab:red" if evolved else "black")
        box.set_alpha(0.8 if evolved else 0.45)
    dropped = [[r[4] for r in rows if r[0] == w and not r[5]] for w in widths]
    for i, (top, rest) in enumerate(zip(kept, dropped), start=1):
        for values, style in ((top, {"color": "black", "alpha": 0.5}),
                              (rest, {"color": "gray", "alpha": 0.35, "marker": "x"})):  # fmt: skip
            jitter = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else [0.0]
            ax.scatter(i + np.asarray(jitter)[: len(values)], values, s=8, zorder=3, **style)
    labels = [f"{w}\n(evolved for)" if w == evolved_width else str(w) for w in widths]
    ax.set_xticks(range(1, len(widths) + 1), labels)
    ax.set_xlabel("policy width (hidden units per layer)")
    ax.set_ylabel("return (boxes: top half; x: the rest)")
    n = sum(1 for r in rows if r[0] == widths[0])
    ax.set_title(
        f"{textwrap.fill(title, 90)}\n{n} new policies per width, best {max(1, n // 2)} shown\n"
        f"lr log-uniform in [{lr_bounds[0]:.1e}, {lr_bounds[1]:.1e}], "
        f"BC steps uniform in [{steps_range[0]}, {steps_range[1]}]",
        fontsize=10,
    )
    ax.grid(axis="y", alpha=0.3)
    return fig
