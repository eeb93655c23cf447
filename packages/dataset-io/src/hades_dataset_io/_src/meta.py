"""The metadata dict stored with every dataset: JSON conversion and field checks (schema 1)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from hades_dataset_io._src.errors import CorruptDatasetError, InvalidMetaError, SchemaVersionError

SCHEMA_VERSION = 1
META_KEY = "__hades_meta__"
OBS_NORM_MODES = ("none", "const", "running")
ACTION_KINDS = ("discrete", "continuous")
DICT_FIELDS = ("policy", "fit", "eval", "es", "fitness_history", "source")
JSON_SCALAR_TYPES = frozenset({type(None), bool, int, float, str})


def to_json_compatible(value: Any, where: str, key_path: str = "meta") -> Any:
    """A copy of `value` made only of dict/list/str/int/float/bool/None.

    numpy scalars become Python scalars, arrays (numpy, or anything with `__array__`, such as
    jax arrays) and tuples become lists, so that a JSON round trip gives back an equal object.
    """
    if isinstance(value, np.generic):
        return to_json_compatible(value.item(), where, key_path)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {
            _json_key(key, where, key_path): to_json_compatible(item, where, f"{key_path}[{key!r}]")
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        if all(type(x) in JSON_SCALAR_TYPES for x in value):  # fast path: long fitness curves
            return list(value)
        return [to_json_compatible(x, where, f"{key_path}[{i}]") for i, x in enumerate(value)]
    if hasattr(value, "__array__"):
        return to_json_compatible(np.asarray(value).tolist(), where, key_path)
    raise InvalidMetaError(
        f"{where}: {key_path} is a {type(value).__name__}, which JSON cannot store; "
        "convert it to a dict, list, str, int, float, bool or None"
    )


def _json_key(key: Any, where: str, key_path: str) -> str:
    if isinstance(key, str):
        return str(key)
    raise InvalidMetaError(
        f"{where}: {key_path} has the non-string key {key!r}; JSON objects need string keys, "
        "so convert the key with str()"
    )


def meta_to_json(meta: Mapping[str, Any]) -> str:
    """The JSON text of a JSON-compatible meta dict (NaN/Infinity written as Python does)."""
    return json.dumps(meta, allow_nan=True, ensure_ascii=False)


def meta_from_json(text: str, where: str) -> dict[str, Any]:
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as err:
        raise CorruptDatasetError(
            f"{where}: the metadata is not valid JSON ({err}); the file is damaged, "
            "restore it from a copy or re-save the dataset with save_dataset"
        ) from err
    if not isinstance(meta, dict):
        raise InvalidMetaError(
            f"{where}: the metadata is a JSON {type(meta).__name__}, not an object; "
            "re-save the dataset with save_dataset"
        )
    return meta


def with_default_versions(meta: Mapping[str, Any], hades_version: str) -> dict[str, Any]:
    """`meta` with `schema_version` and `hades_version` filled in where missing."""
    return {"schema_version": SCHEMA_VERSION, "hades_version": hades_version, **meta}


def check_schema_version(meta: Mapping[str, Any], where: str) -> None:
    version = meta.get("schema_version")
    if version is None:
        raise SchemaVersionError(
            f"{where}: the metadata has no schema_version; it was not written by save_dataset, "
            f"re-save it with save_dataset (which writes schema_version {SCHEMA_VERSION})"
        )
    if not _is_int(version) or version < 1:
        raise SchemaVersionError(
            f"{where}: schema_version {version!r} is not a positive integer; "
            "re-save the dataset with save_dataset"
        )
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{where}: schema_version {version} is newer than this hades-dataset-io reads "
            f"(up to {SCHEMA_VERSION}); upgrade hades-dataset-io to load it"
        )


def check_meta_fields(meta: Mapping[str, Any], where: str) -> None:
    """Type checks of the schema-1 fields that are present; absent fields are allowed (files
    always have `schema_version`: save_dataset fills it in and load_dataset requires it)."""
    if "schema_version" in meta:
        check_schema_version(meta, where)
    for key in ("hades_version", "env_id", "variant"):
        if key in meta and not isinstance(meta[key], str):
            raise InvalidMetaError(f"{where}: meta[{key!r}] must be a string, got {meta[key]!r}")
    if "obs_shape" in meta:
        _check_obs_shape(meta["obs_shape"], where)
    if "action" in meta:
        check_action_spec(meta["action"], f"{where}: meta['action']")
    if "obs_norm" in meta and meta["obs_norm"] not in OBS_NORM_MODES:
        raise InvalidMetaError(
            f"{where}: meta['obs_norm'] is {meta['obs_norm']!r}; use one of {list(OBS_NORM_MODES)}"
        )
    for key in DICT_FIELDS:
        if key in meta and not isinstance(meta[key], dict):
            raise InvalidMetaError(
                f"{where}: meta[{key!r}] must be a dict, got {type(meta[key]).__name__}"
            )


def _check_obs_shape(obs_shape: Any, where: str) -> None:
    if not (isinstance(obs_shape, list) and all(_is_int(d) and d >= 1 for d in obs_shape)):
        raise InvalidMetaError(
            f"{where}: meta['obs_shape'] must be a list of positive ints, got {obs_shape!r}"
        )


def check_action_spec(spec: Any, where: str) -> None:
    """`spec` is {"kind": "discrete", "num_actions": A} or
    {"kind": "continuous", "dim": D, "low": [D floats], "high": [D floats]} (low/high optional)."""
    if not isinstance(spec, Mapping) or spec.get("kind") not in ACTION_KINDS:
        raise InvalidMetaError(
            f"{where} must be {{'kind': 'discrete', 'num_actions': A}} or "
            f"{{'kind': 'continuous', 'dim': D, 'low': [...], 'high': [...]}}, got {spec!r}"
        )
    size_key = "num_actions" if spec["kind"] == "discrete" else "dim"
    size = spec.get(size_key)
    if not (_is_int(size) and size >= 1):
        raise InvalidMetaError(f"{where}[{size_key!r}] must be a positive int, got {size!r}")
    for bound in ("low", "high"):
        if spec["kind"] == "continuous" and bound in spec:
            _check_bound(spec[bound], size, f"{where}[{bound!r}]")


def _check_bound(bound: Any, dim: int, where: str) -> None:
    is_numbers = isinstance(bound, list) and all(_is_number(x) for x in bound)
    if not is_numbers or len(bound) != dim:
        raise InvalidMetaError(f"{where} must be a list of {dim} numbers, got {bound!r}")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_number(x: Any) -> bool:
    return (_is_int(x) or isinstance(x, float)) and not (isinstance(x, float) and math.isnan(x))
