"""Pictures and tables of a dataset, one per environment family (the paper's Fig 1).

* classic control (few named features): a table of the states, coloured per feature, with the
  action of each pair (Fig 1 top);
* brax / other continuous control: the action of each pair as bars (Fig 1 bottom);
* MinAtar (and any (H, W, C) observation): each state's channels drawn as boards;
* images (MNIST-family): a grid;
* anything else (e.g. merged datasets): a heatmap of the states, one row per pair.

matplotlib's object API (no pyplot) renders with Agg, so nothing here touches global state.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hades_dataset_io._src.dataset import SyntheticDataset

# Observation features of the gymnax classic-control envs, in order.
FEATURE_NAMES = {
    "CartPole-v1": ["cart x", "cart velocity", "pole angle", "pole ang. velocity"],
    "Acrobot-v1": ["cos θ1", "sin θ1", "cos θ2", "sin θ2", "θ1 velocity", "θ2 velocity"],
    "Pendulum-v1": ["cos θ", "sin θ", "θ velocity"],
    "MountainCar-v0": ["position", "velocity"],
    "MountainCarContinuous-v0": ["position", "velocity"],
}
ACTION_NAMES = {
    "CartPole-v1": ["left", "right"],
    "Acrobot-v1": ["torque -1", "torque 0", "torque +1"],
    "MountainCar-v0": ["left", "none", "right"],
    # MinAtar's minimal action sets as gymnax orders them.
    "Asterix-MinAtar": ["noop", "left", "up", "right", "down"],
    "Breakout-MinAtar": ["noop", "left", "right"],
    "Freeway-MinAtar": ["noop", "up", "down"],
    "SpaceInvaders-MinAtar": ["noop", "left", "right", "fire"],
    "Seaquest-MinAtar": ["noop", "left", "up", "right", "down", "fire"],
}
MINATAR_CHANNELS = {
    "Asterix-MinAtar": ["player", "enemy", "trail", "gold"],
    "Breakout-MinAtar": ["paddle", "ball", "trail", "brick"],
    "Freeway-MinAtar": ["chicken", "car", "speed 1", "speed 2", "speed 3", "speed 4", "speed 5"],
    "SpaceInvaders-MinAtar": [
        "cannon",
        "alien",
        "alien left",
        "alien right",
        "friendly bullet",
        "enemy bullet",
    ],
    "Seaquest-MinAtar": [
        "sub front",
        "sub back",
        "friendly bullet",
        "trail",
        "enemy bullet",
        "enemy fish",
        "enemy sub",
        "oxygen gauge",
        "diver gauge",
        "diver",
    ],
}
CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": [
        "T-shirt/top",
        "trouser",
        "pullover",
        "dress",
        "coat",
        "sandal",
        "shirt",
        "sneaker",
        "bag",
        "ankle boot",
    ],
}
BRAX_ENV_IDS = frozenset(
    {
        "ant",
        "halfcheetah",
        "hopper",
        "humanoid",
        "humanoidstandup",
        "inverted_pendulum",
        "inverted_double_pendulum",
        "pusher",
        "reacher",
        "swimmer",
        "walker2d",
    }
)
VIEWS = ("images", "boards", "table", "action_bars", "heatmap")
TABLE_MAX_FEATURES = 12  # wider states are unreadable as annotated tables
MAX_PANELS = 64  # boards / bars / images drawn at most; the CSV always has every pair
VAR_EPS = 1e-8  # as in the const observation normalisation


# -- what to draw ------------------------------------------------------------------------------


def board_shape(ds: SyntheticDataset, raw_obs_shape: Sequence[int] | None) -> tuple | None:
    """The (H, W, C) layout of flat states, if known: given, recorded, or MinAtar's 10x10."""
    candidates = [
        raw_obs_shape,
        ds.meta.get("raw_obs_shape"),
        ds.meta.get("source", {}).get("raw_obs_shape"),
    ]
    env_id = ds.env_id or ""
    single_minatar = env_id.endswith("-MinAtar") and "merged" not in ds.meta
    if single_minatar and ds.states.ndim == 2 and ds.states.shape[1] % 100 == 0:
        candidates.append((10, 10, ds.states.shape[1] // 100))
    for shape in candidates:
        if shape is not None and len(shape) == 3 and math.prod(shape) == ds.states[0].size:
            return tuple(int(x) for x in shape)
    return None


def dataset_view(ds: SyntheticDataset, raw_obs_shape: Sequence[int] | None = None) -> str:
    """Which picture suits the dataset: one of `VIEWS`."""
    if ds.states.ndim == 4 or ds.env_id in CLASS_NAMES:
        return "images"
    if board_shape(ds, raw_obs_shape) is not None:
        return "boards"
    continuous = ds.actions is not None and ds.labels is None
    if continuous and (ds.env_id in BRAX_ENV_IDS or ds.states.shape[1] > TABLE_MAX_FEATURES):
        return "action_bars"
    if ds.states.ndim == 2 and ds.states.shape[1] <= TABLE_MAX_FEATURES:
        return "table"
    return "heatmap"


def feature_names(ds: SyntheticDataset, raw_obs_shape: Sequence[int] | None = None) -> list[str]:
    """A name per (flattened) state feature: the env's, board coordinates, or s0, s1, ...;
    a merged dataset's are its sources', prefixed with their env."""
    if "merged" in ds.meta:
        return [name for entry in ds.meta["merged"] for name in source_feature_names(entry)]
    if ds.states.ndim == 2 and ds.env_id in FEATURE_NAMES:
        names = FEATURE_NAMES[ds.env_id]
        if len(names) == ds.states.shape[1]:
            return list(names)
    shape = board_shape(ds, raw_obs_shape) or (ds.states.shape[1:] if ds.states.ndim == 4 else None)
    if shape is not None:
        channels = channel_names(ds, shape[2])
        return [f"y{y}_x{x}_{channels[c]}" for y, x, c in np.ndindex(*shape)]
    return [f"s{i}" for i in range(ds.states[0].size)]


def source_feature_names(entry: dict[str, Any]) -> list[str]:
    env_id, (start, stop) = str(entry["env_id"]), entry["obs_slice"]
    names = FEATURE_NAMES.get(env_id, [])
    if len(names) != stop - start:
        names = [f"s{i}" for i in range(stop - start)]
    return [f"{env_id.split('-')[0]}: {name}" for name in names]


def channel_names(ds: SyntheticDataset, num_channels: int) -> list[str]:
    names = MINATAR_CHANNELS.get(ds.env_id or "", [])
    if len(names) == num_channels:
        return list(names)
    return [f"ch{c}" for c in range(num_channels)]


def target_names(ds: SyntheticDataset) -> list[str]:
    """A short text per pair for its target: the action's name (or index), or the action."""
    if ds.labels is not None:
        return [label_name(ds, int(label)) for label in ds.labels]
    return ["[" + ", ".join(f"{x:.2f}" for x in row) + "]" for row in ds.actions]


def label_name(ds: SyntheticDataset, label: int) -> str:
    for entry in ds.meta.get("merged", []):  # a merged label: which task, which action
        start, stop = entry["action_slice"]
        if entry["action"]["kind"] == "discrete" and start <= label < stop:
            names = ACTION_NAMES.get(entry["env_id"], [])
            local = label - start
            return f"{entry['env_id']}: {names[local] if local < len(names) else local}"
    names = ACTION_NAMES.get(ds.env_id or "") or CLASS_NAMES.get(ds.env_id or "", [])
    return names[label] if label < len(names) else str(label)


def display_states(ds: SyntheticDataset) -> tuple[np.ndarray, bool]:
    """States in the env's own units when constant statistics are known (the policy sees them
    normalised), else as stored; and whether they were de-normalised."""
    if ds.obs_mean is None or ds.obs_var is None:
        return ds.states, False
    flat = ds.states.reshape(ds.size, -1) * np.sqrt(ds.obs_var + VAR_EPS) + ds.obs_mean
    return flat.reshape(ds.states.shape), True


# -- CSV -----------------------------------------------------------------------------------------


def dataset_table(
    ds: SyntheticDataset, raw_obs_shape: Sequence[int] | None = None
) -> tuple[list[str], list[list[Any]]]:
    """(header, rows): one row per pair, its target(s) then every state feature as stored."""
    header = ["pair"]
    if ds.labels is not None:
        header += ["label", "action_name"]
    if ds.actions is not None:
        header += [f"action_{j}" for j in range(ds.actions.shape[1])]
    header += feature_names(ds, raw_obs_shape)
    names = target_names(ds) if ds.labels is not None else None
    rows = []
    for i in range(ds.size):
        row: list[Any] = [i]
        if ds.labels is not None:
            row += [int(ds.labels[i]), names[i]]
        if ds.actions is not None:
            row += [float(x) for x in ds.actions[i]]
        row += [float(x) for x in ds.states[i].ravel()]
        rows.append(row)
    return header, rows


def save_dataset_csv(
    ds: SyntheticDataset, path: str | os.PathLike[str], raw_obs_shape: Sequence[int] | None = None
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header, rows = dataset_table(ds, raw_obs_shape)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# -- pictures ------------------------------------------------------------------------------------


def plot_dataset(
    ds: SyntheticDataset,
    path: str | os.PathLike[str],
    raw_obs_shape: Sequence[int] | None = None,
    title: str | None = None,
    view: str | None = None,
) -> Path:
    """Draw `ds` to `path` (PNG) in the view that suits it (`dataset_view`, or `view`)."""
    view = view or dataset_view(ds, raw_obs_shape)
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; use one of {list(VIEWS)}")
    draw = {
        "images": draw_images,
        "boards": lambda ds, title: draw_boards(ds, board_shape(ds, raw_obs_shape), title),
        "table": draw_table,
        "action_bars": draw_action_bars,
        "heatmap": draw_heatmap,
    }[view]
    fig = draw(ds, title or default_title(ds))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def default_title(ds: SyntheticDataset) -> str:
    variant = ds.meta.get("variant")
    what = f"HaDES-{variant}" if variant in ("F", "R", "R+") else (variant or "dataset")
    return f"{ds.env_id or 'dataset'} — {what}, {ds.size} pairs"


def new_figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def symmetric_limit(values: np.ndarray) -> float:
    limit = float(np.max(np.abs(values))) if values.size else 1.0
    return limit if limit > 0 else 1.0


TAB10 = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
]  # fmt: skip


def draw_table(ds: SyntheticDataset, title: str):
    """Fig 1 top: one row per pair, its state features (colour: the value relative to the
    largest magnitude in that column) and its action."""
    from matplotlib.patches import Rectangle

    states, denormalised = display_states(ds)
    names = feature_names(ds)
    n, d = states.shape
    targets = target_names(ds)
    fig = new_figure(1.45 * d + 2.2, 0.42 * n + 1.4)
    ax = fig.add_subplot()
    scale = np.max(np.abs(states), axis=0)
    colours = states / np.where(scale > 0, scale, 1.0)
    ax.imshow(colours, cmap="RdBu_r", vmin=-1.6, vmax=1.6, aspect="auto")
    for i, j in np.ndindex(n, d):
        ax.text(j, i, f"{states[i, j]:.3g}", ha="center", va="center", fontsize=9)
    # The action column, right of the features; discrete actions shaded by action.
    for i, text in enumerate(targets):
        if ds.labels is not None:
            colour = TAB10[int(ds.labels[i]) % len(TAB10)]
            ax.add_patch(Rectangle((d - 0.5, i - 0.5), 1.2, 1.0, color=colour, alpha=0.35))
        ax.text(d + 0.1, i, text, ha="center", va="center", fontsize=9, fontweight="bold")
    ax.set_xlim(-0.5, d + 0.7)
    ax.set_xticks([*range(d), d + 0.1], [*names, "action"], rotation=20, ha="right")
    ax.set_yticks(range(n), [f"#{i}" for i in range(n)])
    ax.tick_params(length=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title(title + (" (de-normalised)" if denormalised else ""))
    return fig


def grid_shape(count: int, max_cols: int = 8) -> tuple[int, int]:
    cols = min(count, max_cols)
    return math.ceil(count / cols), cols


def draw_action_bars(ds: SyntheticDataset, title: str):
    """Fig 1 bottom: each pair's continuous action as a bar chart."""
    count = min(ds.size, MAX_PANELS)
    rows, cols = grid_shape(count)
    dim = ds.actions.shape[1]
    spec = ds.meta.get("action", {})
    bounds = sorted({*spec.get("low", []), *spec.get("high", [])}) if dim <= 32 else []
    low = min([*spec.get("low", [-1.0]), float(ds.actions.min())])
    high = max([*spec.get("high", [1.0]), float(ds.actions.max())])
    fig = new_figure(cols * max(1.6, 0.25 * dim + 0.6), rows * 1.5 + 0.6)
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    for index, ax in enumerate(axes.flat):
        if index >= count:
            ax.set_axis_off()
            continue
        values = ds.actions[index]
        colours = np.where(values < 0, "tab:red", "tab:blue")
        ax.bar(range(dim), values, color=colours)
        ax.axhline(0.0, color="black", linewidth=0.6)
        for bound in bounds:  # the env clips actions here; learned targets may lie beyond
            ax.axhline(bound, color="gray", linewidth=0.6, linestyle="--")
        ax.set_ylim(low, high)
        ax.set_xticks(range(dim), [str(j) for j in range(dim)] if dim <= 8 else [""] * dim)
        ax.set_title(f"#{index}", fontsize=9)
        ax.tick_params(labelsize=7)
    shown = f" (first {count} of {ds.size})" if count < ds.size else ""
    fig.suptitle(
        f"{title}: action of each pair{shown}\nx = action dimension; dashed = the env's bounds"
    )
    return fig


def draw_boards(ds: SyntheticDataset, shape: tuple[int, int, int], title: str):
    """MinAtar: each state's channels as H x W boards, one row per state (its action at the
    left), in side-by-side blocks of at most 8 states (colour: the value; the environment's own
    observations are 0/1 per cell)."""
    states, denormalised = display_states(ds)
    count = min(ds.size, MAX_PANELS)
    boards = states[:count].reshape(count, *shape)
    num_channels = shape[2]
    channels = channel_names(ds, num_channels)
    blocks = math.ceil(count / 8)
    per_block = math.ceil(count / blocks)
    cell = 1.15 * max(1.0, shape[1] / shape[0])
    fig = new_figure(blocks * (cell * num_channels + 0.9) + 1.2, 1.15 * per_block + 1.0)
    axes = fig.subplots(per_block, blocks * num_channels, squeeze=False)
    limit = symmetric_limit(boards)
    targets = target_names(ds)
    image = None
    for ax in axes.flat:
        ax.set_axis_off()
    for i, c in np.ndindex(count, num_channels):
        ax = axes[i % per_block, (i // per_block) * num_channels + c]
        ax.set_axis_on()
        image = ax.imshow(boards[i, :, :, c], cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_xticks([])
        ax.set_yticks([])
        if i % per_block == 0:
            ax.set_title(channels[c], fontsize=9)
        if c == 0:
            ax.set_ylabel(f"#{i}\n{targets[i]}", fontsize=8, rotation=0, ha="right", va="center")
    fig.colorbar(image, ax=axes, shrink=0.3, label="value" + (" (raw)" if denormalised else ""))
    shown = f", first {count} of {ds.size}" if count < ds.size else ""
    note = " (de-normalised)" if denormalised else ""
    fig.suptitle(f"{title}{note}{shown}\nrow = state (its action at left), column = channel")
    return fig


def draw_images(ds: SyntheticDataset, title: str):
    """Image datasets: a grid, each image titled with its class."""
    count = min(ds.size, MAX_PANELS)
    rows, cols = grid_shape(count, max_cols=10)
    fig = new_figure(1.3 * cols, 1.45 * rows + 0.5)
    axes = fig.subplots(rows, cols, squeeze=False)
    images = ds.states.reshape(ds.size, *ds.states.shape[1:3], -1)
    targets = target_names(ds) if ds.labels is not None else [""] * ds.size
    for index, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if index >= count:
            continue
        image = images[index]
        ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray")
        ax.set_title(targets[index], fontsize=8)
    fig.suptitle(title)
    return fig


def draw_heatmap(ds: SyntheticDataset, title: str):
    """Any flat dataset: states as an n x d heatmap, one row per pair, labelled with its
    target; a merged dataset's source slices are marked and named."""
    states, denormalised = display_states(ds)
    states = states.reshape(ds.size, -1)
    n, d = states.shape
    fig = new_figure(min(14.0, 3.0 + 0.04 * d + 0.3 * min(d, 30)), 0.3 * n + 1.8)
    ax = fig.add_subplot()
    limit = symmetric_limit(states)
    image = ax.imshow(
        states, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest"
    )
    ax.set_yticks(range(n), [f"#{i}  {t}" for i, t in enumerate(target_names(ds))], fontsize=8)
    ax.set_xlabel("state feature")
    for entry in ds.meta.get("merged", []):
        start, stop = entry["obs_slice"]
        ax.axvline(start - 0.5, color="black", linewidth=1.0)
        ax.text((start + stop - 1) / 2, -0.8, entry["env_id"], ha="center", va="bottom")
    fig.colorbar(image, ax=ax, shrink=0.6, label="value")
    ax.set_title(title + (" (de-normalised)" if denormalised else ""), pad=26)
    return fig
