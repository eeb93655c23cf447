"""`SyntheticDataset` and its checks: array structure, metadata consistency, target environment."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hades_dataset_io._src.errors import (
    DatasetShapeError,
    IncompatibleDatasetError,
    InvalidMetaError,
    NonFiniteValuesError,
)
from hades_dataset_io._src.meta import check_action_spec, check_meta_fields, to_json_compatible

OPTIONAL_ARRAYS = ("labels", "actions", "obs_mean", "obs_var")
ARRAY_NAMES = ("states", *OPTIONAL_ARRAYS)


@dataclasses.dataclass(frozen=True, eq=False)
class SyntheticDataset:
    """A distilled dataset: synthetic states and their targets, plus metadata.

    states: (n, *obs_shape) float32, the learned inputs.
    labels: (n,) int32 fixed class/action targets, or None.
    actions: (n, act_dim) float32 learned continuous action targets, or None.
    obs_mean, obs_var: (obs_dim,) float32 constant observation statistics (obs_norm "const").
    meta: JSON-compatible dict in the schema of docs/CONTRACTS.md. numpy/jax arrays and tuples in
    it are converted to lists on construction, so `meta` survives a save/load unchanged.

    Construction checks that the arrays agree with each other; `validate_dataset` also checks them
    against the metadata and for NaN/inf (save and load always do both).
    """

    states: np.ndarray
    labels: np.ndarray | None = None
    actions: np.ndarray | None = None
    obs_mean: np.ndarray | None = None
    obs_var: np.ndarray | None = None
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        where = "SyntheticDataset"
        set_field = lambda name, value: object.__setattr__(self, name, value)
        given = {name: getattr(self, name) for name in ARRAY_NAMES}
        for name, array in coerce_arrays(given, where).items():
            set_field(name, array)
        set_field("meta", to_json_compatible(as_meta_dict(self.meta, where), where))
        check_structure(self.arrays(), where)

    @property
    def size(self) -> int:
        """Number of synthetic states n."""
        return int(self.states.shape[0])

    @property
    def env_id(self) -> str | None:
        return self.meta.get("env_id")

    @property
    def obs_shape(self) -> tuple[int, ...]:
        return tuple(self.states.shape[1:])

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays that are present, by name."""
        present = {name: getattr(self, name) for name in ARRAY_NAMES}
        return {name: array for name, array in present.items() if array is not None}


def as_meta_dict(meta: Any, where: str) -> Mapping[str, Any]:
    if meta is None:
        return {}
    if not isinstance(meta, Mapping):
        raise InvalidMetaError(f"{where}: meta must be a dict, got {type(meta).__name__}")
    return meta


def coerce_arrays(arrays: Mapping[str, Any], where: str) -> dict[str, np.ndarray | None]:
    """float32 states/actions/statistics and int32 labels, by name (None stays None)."""
    return {
        name: as_label_array(x, where) if name == "labels" else as_float_array(x, name, where)
        for name, x in arrays.items()
    }


def as_float_array(x: Any, name: str, where: str) -> np.ndarray | None:
    if x is None:
        return None
    array = np.asarray(x)
    if array.dtype.kind not in "fiub":
        raise DatasetShapeError(
            f"{where}: {name} has dtype {array.dtype}; it must hold real numbers (float32)"
        )
    return array.astype(np.float32, copy=False)


def as_label_array(x: Any, where: str) -> np.ndarray | None:
    if x is None:
        return None
    array = np.asarray(x)
    is_integral = array.dtype.kind in "iub" or (
        array.dtype.kind == "f" and np.array_equal(array, np.round(array))
    )
    if not is_integral:
        raise DatasetShapeError(
            f"{where}: labels have dtype {array.dtype} with non-integer values; labels are class "
            "indices (int32), store learned continuous targets in `actions` instead"
        )
    return array.astype(np.int32, copy=False)


def check_structure(arrays: Mapping[str, np.ndarray | None], where: str) -> None:
    """The arrays (by name, absent ones None or missing) agree with each other; no meta needed."""
    states, labels, actions = (arrays.get(name) for name in ("states", "labels", "actions"))
    if states is None or states.ndim < 2 or states.shape[0] < 1:
        shape = None if states is None else states.shape
        raise DatasetShapeError(
            f"{where}: states have shape {shape}; they must be (n, *obs_shape) with "
            "n >= 1, add a leading axis for a single state"
        )
    n = states.shape[0]
    if labels is None and actions is None:
        raise DatasetShapeError(
            f"{where}: the dataset has neither labels nor actions; give fixed class labels "
            "(labels) or learned continuous targets (actions)"
        )
    if labels is not None and labels.shape != (n,):
        raise DatasetShapeError(
            f"{where}: labels have shape {labels.shape} but there are {n} states; "
            f"labels must be ({n},), one per state"
        )
    if labels is not None and labels.size and labels.min() < 0:
        raise DatasetShapeError(
            f"{where}: labels contain {int(labels.min())}; labels must be >= 0 "
            "(the paper's files mark untrained rows with -1: drop those rows, "
            "as load_reference does)"
        )
    if actions is not None and (actions.ndim != 2 or actions.shape[0] != n):
        raise DatasetShapeError(
            f"{where}: actions have shape {actions.shape} but there are {n} states; "
            f"actions must be ({n}, act_dim)"
        )
    check_obs_stats_structure(arrays, where)


def check_obs_stats_structure(arrays: Mapping[str, np.ndarray | None], where: str) -> None:
    obs_mean, obs_var = arrays.get("obs_mean"), arrays.get("obs_var")
    if (obs_mean is None) != (obs_var is None):
        raise DatasetShapeError(
            f"{where}: only one of obs_mean/obs_var is given; "
            "give both (obs_norm 'const') or neither"
        )
    if obs_mean is None:
        return
    obs_shape = arrays["states"].shape[1:]
    obs_dim = math.prod(obs_shape)
    for name, stats in (("obs_mean", obs_mean), ("obs_var", obs_var)):
        if stats.shape != (obs_dim,):
            raise DatasetShapeError(
                f"{where}: {name} has shape {stats.shape} but states have obs_shape {obs_shape}; "
                f"{name} must be ({obs_dim},), one value per (flattened) observation entry"
            )
    if np.any(obs_var < 0):
        raise DatasetShapeError(
            f"{where}: obs_var has negative entries; it is a variance, store var (not log var)"
        )


def check_finite(ds: SyntheticDataset, where: str) -> None:
    for name, array in ds.arrays().items():
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            count = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
            raise NonFiniteValuesError(
                f"{where}: {name} has {count} NaN/inf entries; the distillation diverged, use an "
                "earlier checkpoint or rerun with a lower ES learning rate/sigma"
            )


def check_against_meta(ds: SyntheticDataset, where: str) -> None:
    """The arrays agree with the metadata fields that are present."""
    meta = ds.meta
    if "obs_shape" in meta and ds.obs_shape != tuple(meta["obs_shape"]):
        raise DatasetShapeError(
            f"{where}: states have obs_shape {list(ds.obs_shape)} but meta['obs_shape'] is "
            f"{meta['obs_shape']}; make meta['obs_shape'] equal to states.shape[1:]"
        )
    if "action" in meta:
        check_targets_match_action(ds, meta["action"], where, DatasetShapeError)
    if "obs_norm" in meta:
        check_obs_norm_arrays(ds, meta["obs_norm"], where)


def check_targets_match_action(
    ds: SyntheticDataset, spec: Mapping[str, Any], where: str, error: type[Exception]
) -> None:
    """labels/actions fit the action spec; raises `error` (shape or compatibility error)."""
    if spec["kind"] == "discrete":
        num_actions = spec["num_actions"]
        if ds.labels is not None and ds.labels.size and ds.labels.max() >= num_actions:
            raise error(
                f"{where}: labels go up to {int(ds.labels.max())} but there are {num_actions} "
                f"actions; labels must be in [0, {num_actions - 1}]"
            )
        if ds.actions is not None and ds.actions.shape[1] != num_actions:
            raise error(
                f"{where}: actions have {ds.actions.shape[1]} columns but the action space is "
                f"discrete with {num_actions} actions; soft targets need {num_actions} columns"
            )
        return
    dim = spec["dim"]
    if ds.actions is None or ds.labels is not None:
        raise error(
            f"{where}: the action space is continuous ({dim}-d) so the targets must be `actions` "
            f"of shape (n, {dim}) and no `labels`"
        )
    if ds.actions.shape[1] != dim:
        raise error(
            f"{where}: actions are {ds.actions.shape[1]}-d but the action space is {dim}-d; "
            f"actions must be (n, {dim})"
        )


def check_obs_norm_arrays(ds: SyntheticDataset, obs_norm: str, where: str) -> None:
    has_stats = ds.obs_mean is not None
    if obs_norm == "const" and not has_stats:
        raise DatasetShapeError(
            f"{where}: meta['obs_norm'] is 'const' but obs_mean/obs_var are missing; "
            "store the constant statistics or set obs_norm to 'none' or 'running'"
        )
    if obs_norm != "const" and has_stats:
        raise DatasetShapeError(
            f"{where}: obs_mean/obs_var are stored but meta['obs_norm'] is {obs_norm!r}; "
            "set obs_norm to 'const' or drop the statistics"
        )


def validate_dataset(ds: SyntheticDataset, where: str = "dataset") -> SyntheticDataset:
    """Every check: metadata fields, array structure, arrays vs metadata, finiteness.

    Returns `ds` unchanged; raises a `DatasetError` subclass naming `where` and the fix.
    """
    check_meta_fields(ds.meta, where)
    check_structure(ds.arrays(), where)
    check_against_meta(ds, where)
    check_finite(ds, where)
    return ds


def check_compatible(
    ds: SyntheticDataset, obs_shape: Sequence[int], action_spec: Mapping[str, Any]
) -> None:
    """Raise `IncompatibleDatasetError` if `ds` contradicts the target environment.

    obs_shape: the environment's (flat) observation shape, e.g. `env.obs_shape`.
    action_spec: {"kind": "discrete", "num_actions": A} or
    {"kind": "continuous", "dim": D, "low": [...], "high": [...]} (see `env_action_spec`).
    """
    where = f"dataset for env {ds.env_id!r}" if ds.env_id else "dataset"
    fix = "use the environment the dataset was distilled for, or distil a new dataset"
    action_spec = to_json_compatible(action_spec, "check_compatible", "action_spec")
    check_action_spec(action_spec, "action_spec")
    target_shape = tuple(int(d) for d in obs_shape)
    if ds.obs_shape != target_shape:
        hint = (
            " (same size: reshape the states)"
            if math.prod(ds.obs_shape) == math.prod(target_shape)
            else ""
        )
        raise IncompatibleDatasetError(
            f"{where}: states have obs_shape {list(ds.obs_shape)} but the environment's is "
            f"{list(target_shape)}{hint}; {fix}"
        )
    own_spec = ds.meta.get("action")
    if own_spec is not None and not same_action_space(own_spec, action_spec):
        raise IncompatibleDatasetError(
            f"{where}: meta['action'] is {own_spec} but the environment's is {action_spec}; {fix}"
        )
    check_targets_match_action(ds, action_spec, where, IncompatibleDatasetError)


def same_action_space(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if a["kind"] != b["kind"]:
        return False
    if a["kind"] == "discrete":
        return a["num_actions"] == b["num_actions"]
    if a["dim"] != b["dim"]:
        return False
    return all(
        np.allclose(a[bound], b[bound]) for bound in ("low", "high") if bound in a and bound in b
    )


def env_action_spec(env: Any) -> dict[str, Any]:
    """The action spec dict of an environment adapter (duck-typed: `discrete`, `num_actions` or
    `action_dim`, `action_low`, `action_high`), for `check_compatible` and meta['action']."""
    if env.discrete:
        return {"kind": "discrete", "num_actions": int(env.num_actions)}
    dim = int(env.action_dim)
    bounds = {
        bound: np.broadcast_to(np.asarray(getattr(env, f"action_{bound}"), float), (dim,)).tolist()
        for bound in ("low", "high")
    }
    return {"kind": "continuous", "dim": dim, **bounds}
