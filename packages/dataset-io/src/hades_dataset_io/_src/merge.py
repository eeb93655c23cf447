"""Merging datasets of different tasks into one multi-task dataset (Lupu et al. 2024, §5.3).

States and actions are zero-padded: dataset A's features and actions take the left columns,
B's the right ones, and A's pairs come first. A policy trained on the result takes the padded
observation of both tasks and outputs the padded action space of both; on task A it sees A's
observation in A's slice (zeros elsewhere) and acts from A's slice of its output.

Discrete labels of B are shifted by A's number of actions (B's logits sit right of A's).
`meta["merged"]` records, for every source in order, where it lives (rows, obs and action
slices), how its own observations are normalised, and its full metadata, so `split_merged`
gives the sources back exactly. Merging a merged dataset again extends the list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hades_dataset_io._src.dataset import SyntheticDataset, validate_dataset
from hades_dataset_io._src.errors import DatasetError
from hades_dataset_io._src.meta import SCHEMA_VERSION
from hades_dataset_io._src.version import __version__

MERGED_KEY = "merged"
MERGED_VARIANT = "merged"


class MergeError(DatasetError):
    """The datasets cannot be merged (mixed action kinds, image states, missing metadata)."""


def is_merged(ds: SyntheticDataset) -> bool:
    return MERGED_KEY in ds.meta


def merged_sources(ds: SyntheticDataset) -> list[dict[str, Any]]:
    """The provenance entries of a dataset: its `meta["merged"]` list, or one entry describing
    a plain (single-task) dataset as a source occupying every row and column."""
    if is_merged(ds):
        return [dict(entry) for entry in ds.meta[MERGED_KEY]]
    return [source_entry(ds)]


def source_entry(ds: SyntheticDataset) -> dict[str, Any]:
    """How a single-task dataset is recorded in a merged one (at offset 0)."""
    where = f"dataset for {ds.env_id!r}" if ds.env_id else "dataset"
    if ds.states.ndim != 2:
        raise MergeError(
            f"{where}: states have shape {list(ds.states.shape)}; only flat (n, d) states can be "
            "zero-padded side by side (image datasets cannot be merged)"
        )
    spec = ds.meta.get("action")
    if spec is None:
        raise MergeError(
            f"{where}: meta['action'] is missing; merging needs each dataset's action space "
            "(to place its labels/actions in the padded action space)"
        )
    kind = target_kind(ds, where)
    if kind != spec["kind"]:
        raise MergeError(f"{where}: its targets are {kind} but meta['action'] is {spec}")
    entry: dict[str, Any] = {
        "env_id": ds.env_id,
        "obs_shape": [int(ds.states.shape[1])],
        "action": spec,
        "obs_norm": ds.meta.get("obs_norm", "none"),
        "rows": [0, ds.size],
        "obs_slice": [0, int(ds.states.shape[1])],
        "action_slice": [0, action_width(spec)],
        "meta": ds.meta,
    }
    if ds.obs_mean is not None:
        # The merged file has one obs_norm for all its columns; each source keeps its own.
        entry["obs_mean"] = ds.obs_mean.tolist()
        entry["obs_var"] = ds.obs_var.tolist()
    return entry


def target_kind(ds: SyntheticDataset, where: str) -> str:
    """ "discrete" (fixed labels only) or "continuous" (learned actions only)."""
    if ds.labels is not None and ds.actions is None:
        return "discrete"
    if ds.actions is not None and ds.labels is None and ds.meta["action"]["kind"] == "continuous":
        return "continuous"
    raise MergeError(
        f"{where}: merging supports datasets with labels only (discrete actions) or actions "
        "only (continuous); this one has "
        f"labels={'yes' if ds.labels is not None else 'no'}, "
        f"actions={'yes' if ds.actions is not None else 'no'} for action space "
        f"{ds.meta['action']['kind']}"
    )


def action_width(spec: Mapping[str, Any]) -> int:
    """Columns a task takes in the padded output: logits (discrete) or action dims."""
    return int(spec["num_actions"] if spec["kind"] == "discrete" else spec["dim"])


def merge_datasets(a: SyntheticDataset, b: SyntheticDataset) -> SyntheticDataset:
    """A's pairs then B's, states zero-padded to [A's features | B's features] and targets to
    the padded action space (labels: B's shifted by A's action count; continuous actions:
    [A's dims | B's dims], zeros in the other task's dims). Both must be discrete or both
    continuous. Returns a validated dataset with provenance in `meta["merged"]`."""
    sources_a, sources_b = merged_sources(a), merged_sources(b)
    kinds = {entry["action"]["kind"] for entry in sources_a + sources_b}
    if len(kinds) > 1:
        names = [f"{e['env_id']} ({e['action']['kind']})" for e in sources_a + sources_b]
        raise MergeError(
            f"cannot merge datasets with discrete and continuous actions: {', '.join(names)}; "
            "merge discrete with discrete (labels) or continuous with continuous (actions)"
        )
    (kind,) = kinds
    rows_a, obs_a, act_a = a.size, int(a.states.shape[1]), padded_action_width(sources_a)
    shifted_b = [shift_entry(e, rows_a, obs_a, act_a) for e in sources_b]
    sources = sources_a + shifted_b

    states = block_diagonal(a.states, b.states)
    if kind == "discrete":
        labels, actions = np.concatenate([a.labels, b.labels + act_a]).astype(np.int32), None
    else:
        labels, actions = None, block_diagonal(a.actions, b.actions)
    meta = merged_meta(sources)
    merged = SyntheticDataset(states=states, labels=labels, actions=actions, meta=meta)
    return validate_dataset(merged, where="merged dataset")


def merge_all(datasets: Sequence[SyntheticDataset]) -> SyntheticDataset:
    """`merge_datasets` folded left: merge_all([a, b, c]) = merge(merge(a, b), c)."""
    if len(datasets) < 2:
        raise MergeError(f"merging needs at least two datasets, got {len(datasets)}")
    merged = merge_datasets(datasets[0], datasets[1])
    for ds in datasets[2:]:
        merged = merge_datasets(merged, ds)
    return merged


def padded_action_width(sources: Sequence[Mapping[str, Any]]) -> int:
    return max(entry["action_slice"][1] for entry in sources)


def shift_entry(entry: Mapping[str, Any], rows: int, obs: int, act: int) -> dict[str, Any]:
    shifted = dict(entry)
    for key, offset in (("rows", rows), ("obs_slice", obs), ("action_slice", act)):
        start, stop = entry[key]
        shifted[key] = [start + offset, stop + offset]
    return shifted


def block_diagonal(top_left: np.ndarray, bottom_right: np.ndarray) -> np.ndarray:
    """[[A, 0], [0, B]]: the zero padding of the paper."""
    (n_a, d_a), (n_b, d_b) = top_left.shape, bottom_right.shape
    out = np.zeros((n_a + n_b, d_a + d_b), np.float32)
    out[:n_a, :d_a] = top_left
    out[n_a:, d_a:] = bottom_right
    return out


def merged_action_spec(sources: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    specs = [entry["action"] for entry in sources]
    if specs[0]["kind"] == "discrete":
        return {"kind": "discrete", "num_actions": sum(s["num_actions"] for s in specs)}
    spec: dict[str, Any] = {"kind": "continuous", "dim": sum(s["dim"] for s in specs)}
    if all("low" in s and "high" in s for s in specs):
        spec["low"] = [x for s in specs for x in s["low"]]
        spec["high"] = [x for s in specs for x in s["high"]]
    return spec


def merged_meta(sources: list[dict[str, Any]]) -> dict[str, Any]:
    """Top-level fields of a merged dataset. The policy and inner loop default to the first
    source's (the paper trains the multi-task policy with the single-task recipe); obs_norm is
    "none" because each slice is already in its own source's input space (see meta["merged"])."""
    first = sources[0]["meta"]
    meta = {
        "schema_version": SCHEMA_VERSION,
        "hades_version": __version__,
        "env_id": "+".join(str(entry["env_id"]) for entry in sources),
        "variant": MERGED_VARIANT,
        "obs_shape": [sources[-1]["obs_slice"][1]],
        "action": merged_action_spec(sources),
        "obs_norm": "none",
        "source": {"kind": "merged", "envs": [entry["env_id"] for entry in sources]},
        MERGED_KEY: sources,
    }
    for key in ("policy", "fit", "eval"):
        if key in first:
            meta[key] = first[key]
    return meta


def split_merged(ds: SyntheticDataset) -> list[SyntheticDataset]:
    """The single-task datasets a merged dataset was made of, exactly as they were."""
    if not is_merged(ds):
        raise MergeError("split_merged: the dataset has no meta['merged']; it is not merged")
    return [source_dataset(ds, entry) for entry in ds.meta[MERGED_KEY]]


def source_dataset(ds: SyntheticDataset, entry: Mapping[str, Any]) -> SyntheticDataset:
    """One source's rows and columns of a merged dataset, with its own targets and metadata."""
    r0, r1 = entry["rows"]
    o0, o1 = entry["obs_slice"]
    a0, a1 = entry["action_slice"]
    labels = actions = None
    if entry["action"]["kind"] == "discrete":
        labels = ds.labels[r0:r1] - a0
    else:
        actions = ds.actions[r0:r1, a0:a1]
    stats = {
        name: np.asarray(entry[name], np.float32) if name in entry else None
        for name in ("obs_mean", "obs_var")
    }
    return SyntheticDataset(
        states=ds.states[r0:r1, o0:o1], labels=labels, actions=actions, meta=entry["meta"], **stats
    )


def select_rows(ds: SyntheticDataset, rows: slice | np.ndarray) -> SyntheticDataset:
    """A merged dataset restricted to some rows (e.g. one source's pairs, still padded): the
    paper's "wrong dataset" control trains the multi-task policy on the other task's pairs."""
    take = lambda x: None if x is None else x[rows]
    return SyntheticDataset(
        states=ds.states[rows],
        labels=take(ds.labels),
        actions=take(ds.actions),
        obs_mean=ds.obs_mean,
        obs_var=ds.obs_var,
        meta=ds.meta,
    )
