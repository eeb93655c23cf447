"""Import the paper's published datasets (npz + MANIFEST.json) into `SyntheticDataset`s.

The reference folder (a format conversion of github.com/FLAIROx/behaviour-distillation results)
holds one npz per run and a MANIFEST.json whose `runs[i]` describes run i: its raw inner-loop
config, ES settings, recipe and final fitness. `load_reference` turns one run into our meta
schema so that the inner loop can be retrained from the file alone.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from hades_dataset_io._src.dataset import SyntheticDataset, validate_dataset
from hades_dataset_io._src.errors import DatasetShapeError, ManifestError
from hades_dataset_io._src.meta import OBS_NORM_MODES, SCHEMA_VERSION
from hades_dataset_io._src.npz_io import dataset_from_arrays, read_npz
from hades_dataset_io._src.version import __version__

MANIFEST_NAME = "MANIFEST.json"
PAPER = "Behaviour Distillation (Lupu et al., ICLR 2024)"
REFERENCE_ARRAYS = ("states", "labels", "actions", "obs_mean", "obs_var")
FITNESS_ARRAYS = {"mean": "fitness_over_gen", "max": "max_fitness_over_gen"}

MINATAR_NUM_ACTIONS = {
    "Asterix-MinAtar": 5,
    "Breakout-MinAtar": 3,
    "Freeway-MinAtar": 3,
    "SpaceInvaders-MinAtar": 4,
}
IMAGE_ENV_IDS = {"MNIST": "mnist", "FashionMNIST": "fashion-mnist"}
POLICY_KIND_BY_RECIPE = {
    "brax_bc_gaussian": "gaussian",
    "minatar_bc_categorical": "categorical",
    "mnist_cnn_sgd": "cnn",
}
ES_STRATEGY_NAMES = {"OpenES": "open_es", "SNES": "snes"}
ES_FIELD_NAMES = {  # manifest `es` key -> ESConfig field
    "popsize": "popsize",
    "sigma_init": "sigma_init",
    "sigma_decay": "sigma_decay",
    "sigma_limit": "sigma_limit",
    "lrate_init": "lr_init",
    "lrate_decay": "lr_decay",
    "temperature": "temperature",
}
ADAM_EPS = 1e-5  # optax.adam(LR, eps=1e-5) in every Adam recipe
# Environments whose installed (gymnax 1.0) dynamics differ from the paper's gymnax 0.0.6.
LEGACY_ENV_OPTIONS = {"SpaceInvaders-MinAtar": {"dynamics": "gymnax-0.0"}}
BRAX_ACTION_BOUND = 1.0  # ClipAction(-1, 1)


def load_reference(
    npz_path: str | os.PathLike[str], manifest_path: str | os.PathLike[str] | None = None
) -> SyntheticDataset:
    """Load one of the paper's reference npz files as a validated `SyntheticDataset`.

    manifest_path: the reference folder's MANIFEST.json; by default the first one found walking
    up from the npz. Rows labelled -1 (never trained on by the original inner loop) are dropped;
    `meta["source"]` records how many, with the manifest run entry and the final fitness.
    """
    npz_path = Path(npz_path)
    manifest_file = Path(manifest_path) if manifest_path else find_manifest(npz_path)
    manifest = read_manifest(manifest_file)
    run = manifest_run(manifest, manifest_file, npz_path)
    arrays = read_npz(npz_path)
    check_arrays_match_run(arrays, run, str(npz_path))
    dataset_arrays = trained_rows(arrays, run, str(npz_path))
    meta = reference_meta(run, arrays, manifest, manifest_file)
    ds = dataset_from_arrays(dataset_arrays, meta, str(npz_path))
    return validate_dataset(ds, where=str(npz_path))


def find_manifest(npz_path: Path) -> Path:
    """The MANIFEST.json in the closest folder above `npz_path`."""
    for folder in npz_path.resolve().parents:
        candidate = folder / MANIFEST_NAME
        if candidate.is_file():
            return candidate
    raise ManifestError(
        f"{npz_path}: no {MANIFEST_NAME} in any folder above it; pass "
        "manifest_path= the reference folder's MANIFEST.json"
    )


def read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ManifestError(
            f"{path}: no such manifest; pass the reference folder's {MANIFEST_NAME}"
        )
    stat = path.stat()
    return _read_manifest_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read_manifest_cached(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ManifestError(
            f"{path}: not valid JSON ({err}); re-fetch the reference folder"
        ) from err
    if not isinstance(manifest, dict) or not isinstance(manifest.get("runs"), list):
        raise ManifestError(
            f"{path}: has no 'runs' list; pass the reference folder's MANIFEST.json"
        )
    manifest["runs_by_file"] = {run["file"]: run for run in manifest["runs"]}
    return manifest


def manifest_run(manifest: dict[str, Any], manifest_file: Path, npz_path: Path) -> dict[str, Any]:
    """The `runs` entry whose `file` is `npz_path` relative to the manifest's folder."""
    try:
        key = npz_path.resolve().relative_to(manifest_file.resolve().parent).as_posix()
    except ValueError:
        key = None
    run = manifest["runs_by_file"].get(key) if key else None
    if run is None:
        raise ManifestError(
            f"{npz_path}: no run with file {key!r} in {manifest_file}; pass manifest_path= the "
            "MANIFEST.json of the reference folder this npz belongs to"
        )
    return run


def check_arrays_match_run(arrays: dict[str, np.ndarray], run: dict[str, Any], where: str) -> None:
    expected = {name: tuple(shape) for name, shape in run["arrays"].items()}
    actual = {name: array.shape for name, array in arrays.items()}
    if actual != expected:
        raise DatasetShapeError(
            f"{where}: arrays {actual} differ from its manifest entry {expected}; "
            "re-fetch the reference folder"
        )


def trained_rows(arrays: dict[str, np.ndarray], run: dict[str, Any], where: str) -> dict:
    """The dataset arrays restricted to the first `n_used` rows (the rest are labelled -1)."""
    n_used = int(run["n_used"])
    labels = arrays.get("labels")
    if labels is not None and (np.any(labels[:n_used] < 0) or np.any(labels[n_used:] != -1)):
        raise DatasetShapeError(
            f"{where}: labels {labels.tolist()} are not n_used={n_used} labels >= 0 followed by "
            "-1s; re-fetch the reference folder"
        )
    per_row = {"states", "labels", "actions"}
    return {
        name: arrays[name][:n_used] if name in per_row else arrays[name]
        for name in REFERENCE_ARRAYS
        if name in arrays
    }


def reference_meta(
    run: dict[str, Any],
    arrays: dict[str, np.ndarray],
    manifest: dict[str, Any],
    manifest_file: Path,
) -> dict[str, Any]:
    action = reference_action(run)
    return {
        "schema_version": SCHEMA_VERSION,
        "hades_version": __version__,
        "env_id": reference_env_id(run),
        "env_options": reference_env_options(run),
        "variant": reference_variant(run),
        "obs_shape": list(arrays["states"].shape[1:]),
        "action": action,
        "obs_norm": reference_obs_norm(run),
        "policy": reference_policy(run),
        "fit": reference_fit(run, action),
        "eval": reference_eval(run),
        "es": reference_es(run),
        "fitness_history": reference_fitness_history(arrays),
        "source": reference_source(run, arrays, manifest, manifest_file),
    }


def reference_env_id(run: dict[str, Any]) -> str:
    """gymnax ids ("SpaceInvaders-MinAtar", "Pong-misc") and brax names ("hopper") as they are;
    "mnist" / "fashion-mnist" for the image runs."""
    return IMAGE_ENV_IDS.get(run["env"], run["env"]) if run["domain"] == "mnist" else run["env"]


def reference_env_options(run: dict[str, Any]) -> dict[str, Any]:
    """What `make_env` needs to rebuild the paper's environment. Brax: the positional backend.
    SpaceInvaders-MinAtar: gymnax 0.0.x's rules (the paper ran gymnax 0.0.6; gymnax 1.0 changed
    the first wave and the enemy-bullet collision, and the paper's datasets fail on those)."""
    if run["domain"] == "brax":
        return {"backend": "positional"}
    return dict(LEGACY_ENV_OPTIONS.get(run["env"], {}))


def reference_variant(run: dict[str, Any]) -> str:
    """ "F" (HaDES-F: fixed inner-loop init, OVERFIT=True) or "R" (HaDES-R: random inits)."""
    return "F" if run["inner_loop"]["OVERFIT"] else "R"


def reference_action(run: dict[str, Any]) -> dict[str, Any]:
    if run["recipe"] == "brax_bc_gaussian":
        dim = int(run["action_dim"])
        return {
            "kind": "continuous",
            "dim": dim,
            "low": [-BRAX_ACTION_BOUND] * dim,
            "high": [BRAX_ACTION_BOUND] * dim,
        }
    num_actions = (
        run.get("n_actions") or run.get("n_classes") or MINATAR_NUM_ACTIONS.get(run["env"])
    )
    if num_actions is None:
        raise ManifestError(
            f"run {run['file']!r}: the manifest gives no n_actions/n_classes for {run['env']!r}; "
            "add it to the manifest entry"
        )
    return {"kind": "discrete", "num_actions": int(num_actions)}


def reference_obs_norm(run: dict[str, Any]) -> str:
    """From the run's flags: CONST_NORMALIZE_OBS -> "const", NORMALIZE_OBS -> "running"."""
    inner = run["inner_loop"]
    if inner.get("CONST_NORMALIZE_OBS"):
        mode = "const"
    elif inner.get("NORMALIZE_OBS"):
        mode = "running"
    else:
        mode = "none"
    stated = run.get("obs_normalization")
    if stated in OBS_NORM_MODES and stated != mode:
        raise ManifestError(
            f"run {run['file']!r}: obs_normalization {stated!r} contradicts its flags ({mode!r}); "
            "fix the manifest entry"
        )
    return mode


def reference_policy(run: dict[str, Any]) -> dict[str, Any]:
    kind = POLICY_KIND_BY_RECIPE.get(run["recipe"])
    if kind is None:
        raise ManifestError(
            f"run {run['file']!r}: unknown recipe {run['recipe']!r}; known: "
            f"{sorted(POLICY_KIND_BY_RECIPE)}"
        )
    inner = run["inner_loop"]
    policy = {"kind": kind, "width": int(inner["WIDTH"]), "activation": inner["ACTIVATION"]}
    if kind == "cnn":
        return policy
    return {**policy, "depth": int(inner.get("FFWD_LAYERS", 2))}


def reference_fit(run: dict[str, Any], action: dict[str, Any]) -> dict[str, Any]:
    """FitConfig fields. Brax: Adam + clip 0.5, NLL. MinAtar: Adam without clipping (their
    MAX_GRAD_NORM is unused) and CE / n_actions. MNIST: SGD, CE / 10. Their ANNEAL_LR never
    changes the LR (integer division), so anneal_lr is always False."""
    inner = run["inner_loop"]
    is_brax = run["recipe"] == "brax_bc_gaussian"
    return {
        "steps": int(inner["UPDATE_EPOCHS"]),
        "lr": float(inner["LR"]),
        "optimizer": "sgd" if run["recipe"] == "mnist_cnn_sgd" else "adam",
        "momentum": float(inner.get("MOMENTUM", 0.0)),
        "adam_eps": ADAM_EPS,
        "max_grad_norm": float(inner["MAX_GRAD_NORM"]) if is_brax else None,
        "anneal_lr": False,
        "data_noise": float(inner.get("DATA_NOISE", 0.0)),
        "loss_scale": 1.0 if is_brax else 1.0 / action["num_actions"],
    }


def reference_eval(run: dict[str, Any]) -> dict[str, Any]:
    """Rollout settings; empty for the image runs (evaluated on the real training set)."""
    inner = run["inner_loop"]
    if "NUM_ENVS" not in inner:
        return {}
    return {
        "num_envs": int(inner["NUM_ENVS"]),
        "num_steps": int(inner["NUM_STEPS"]),
        "greedy": bool(inner["GREEDY_ACT"]),
    }


def reference_es(run: dict[str, Any]) -> dict[str, Any]:
    """ESConfig fields given by the manifest (others were evosax 0.1 defaults, not recorded).
    evosax 0.1 OpenES always samples antithetic pairs and steps the mean with Adam."""
    es = run["es"]
    config = {"strategy": ES_STRATEGY_NAMES.get(es["strategy"], es["strategy"].lower())}
    config.update({field: es[key] for key, field in ES_FIELD_NAMES.items() if key in es})
    if config["strategy"] == "open_es":
        config.update(optimizer="adam", antithetic=True)
    return config


def reference_inner_init(run: dict[str, Any]) -> dict[str, Any]:
    """HaDES-F used network.init(PRNGKey(OVERFIT_SEED)) for every inner loop; HaDES-R a fresh
    key per rollout."""
    inner = run["inner_loop"]
    if inner["OVERFIT"]:
        return {"mode": "fixed", "seed": int(inner["OVERFIT_SEED"])}
    return {"mode": "random", "rollouts_per_candidate": int(run["es"]["rollouts_per_candidate"])}


def reference_fitness_history(arrays: dict[str, np.ndarray]) -> dict[str, list[float]]:
    return {key: arrays[name].tolist() for key, name in FITNESS_ARRAYS.items() if name in arrays}


def reference_source(
    run: dict[str, Any],
    arrays: dict[str, np.ndarray],
    manifest: dict[str, Any],
    manifest_file: Path,
) -> dict[str, Any]:
    n_stored = int(arrays["states"].shape[0])
    n_used = int(run["n_used"])
    source = {
        "kind": "reference",
        "paper": PAPER,
        "repo": manifest.get("repo"),
        "commit": manifest.get("commit"),
        "license": manifest.get("license"),
        "manifest": str(manifest_file),
        "file": run["file"],
        "variant_name": run["variant"],
        "inner_init": reference_inner_init(run),
        "objective": "minimise" if run["domain"] == "mnist" else "maximise",
        **{
            f"final_{key}_fitness": float(arrays[name][-1])
            for key, name in FITNESS_ARRAYS.items()
            if name in arrays
        },
        "rows_stored": n_stored,
        "rows_used": n_used,
        "rows_dropped": n_stored - n_used,
        "recipe": manifest.get("recipes", {}).get(run["recipe"]),
        "run": run,
    }
    if n_stored > n_used:
        source["rows_dropped_reason"] = (
            "label -1: the original inner loop never trained on these rows "
            "(dataset_size // num_actions targets per action)"
        )
    if "obs_shape_unflattened" in run:
        source["raw_obs_shape"] = run["obs_shape_unflattened"]
    return source
