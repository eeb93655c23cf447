"""Checkpoints of a run: the ES state and the generation counter, with orbax (atomic writes,
multi-host aware). Everything else random is derived from (seed, generation), so restoring these
and replaying the remaining generations reproduces an uninterrupted run bit for bit.

A step is written to `checkpoints/<g>.orbax-checkpoint-tmp-*` and renamed to `checkpoints/<g>`
once complete, so a process killed during a save leaves the previous steps untouched and resume
never sees the half-written one. The metadata records a SHA-256 of the state's bytes: a damaged
file is reported, never resumed from silently.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import jax
import numpy as np

# 2: metadata {"schema", "fingerprint", "state_sha256"}. 1: {"schema", **fingerprint}.
CHECKPOINT_SCHEMA = 2
_READABLE = (1, 2)


class CheckpointError(ValueError):
    pass


def state_digest(tree: Any) -> str:
    """SHA-256 of every leaf's dtype, shape and bytes, in tree order (replicated leaves only)."""
    digest = hashlib.sha256()
    for leaf in jax.tree.leaves(tree):
        leaf = np.asarray(jax.device_get(leaf))
        digest.update(f"{leaf.dtype.str}{leaf.shape}".encode())
        digest.update(np.ascontiguousarray(leaf).tobytes())
    return digest.hexdigest()


class Checkpointer:
    def __init__(self, run_path: Path, max_to_keep: int = 3):
        import orbax.checkpoint as ocp  # costs seconds; only runs that checkpoint pay

        if max_to_keep < 1:
            raise ValueError(f"--keep-checkpoints must be at least 1, got {max_to_keep}")
        self._ocp = ocp
        self.directory = Path(run_path).absolute() / "checkpoints"
        # Synchronous saves: when save() returns the step is renamed into place on every host
        # (a run that dies afterwards can always resume from it).
        self.manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(
                max_to_keep=max_to_keep, create=True, enable_async_checkpointing=False
            ),
        )
        self.last_saved: int | None = self.manager.latest_step()

    def save(self, generation: int, es_state: Any, fingerprint: dict[str, Any]) -> None:
        """Save the state reached after `generation` generations (i.e. before generation g).
        Every process calls it with the same (replicated) state."""
        # The counter as a host scalar: orbax writes it once (process 0), for any process count.
        item = {"es_state": es_state, "generation": np.asarray(generation, np.int32)}
        meta = {
            "schema": CHECKPOINT_SCHEMA,
            "fingerprint": fingerprint,
            "state_sha256": state_digest(es_state),
        }
        self.manager.save(
            generation,
            args=self._ocp.args.Composite(
                state=self._ocp.args.StandardSave(item), meta=self._ocp.args.JsonSave(meta)
            ),
            force=True,
        )
        self.manager.wait_until_finished()
        self.last_saved = generation

    def latest_generation(self) -> int | None:
        return self.manager.latest_step()

    def _step_path(self, step: int) -> Path:
        return self.directory / str(step)

    def _damaged(self, step: int, what: str) -> CheckpointError:
        earlier = [s for s in self.manager.all_steps() if s < step]
        fallback = (
            f"delete {self._step_path(step)} to resume from generation {max(earlier)} instead"
            if earlier
            else "no earlier checkpoint is left; start the run again"
        )
        return CheckpointError(
            f"checkpoint {self._step_path(step)} is damaged ({what}); {fallback}"
        )

    def restore(self, es_state_like: Any, fingerprint: dict[str, Any]) -> tuple[Any, int]:
        """The latest complete checkpoint, as arrays shaped and sharded like `es_state_like`."""
        step = self.manager.latest_step()
        if step is None:
            raise CheckpointError(f"no checkpoint in {self.directory}; start a new run instead")
        ocp = self._ocp
        try:
            meta = self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))[
                "meta"
            ]
        except Exception as err:  # orbax raises many kinds on damaged files
            raise self._damaged(step, f"metadata unreadable: {err}") from err
        if not isinstance(meta, dict) or not isinstance(meta.get("schema"), int):
            raise self._damaged(step, "metadata without a schema version")
        schema = meta["schema"]
        if schema > CHECKPOINT_SCHEMA:
            raise CheckpointError(
                f"checkpoint {self._step_path(step)} has schema {schema}, newer than this hades "
                f"reads ({CHECKPOINT_SCHEMA}): it was written by a newer hades; resume it with "
                "that version (or newer)"
            )
        if schema not in _READABLE:
            raise CheckpointError(
                f"checkpoint {self._step_path(step)} has schema {schema}, which this hades "
                f"cannot read (it reads {list(_READABLE)}); resume it with the hades version "
                "that wrote it"
            )
        recorded = (
            meta.get("fingerprint", {})
            if schema >= 2
            else {k: v for k, v in meta.items() if k != "schema"}
        )
        expected = json.loads(json.dumps(fingerprint))
        if recorded != expected:
            diff = sorted(
                k for k in expected.keys() | recorded.keys() if recorded.get(k) != expected.get(k)
            )
            raise CheckpointError(
                f"checkpoint in {self.directory} was written by a different run config "
                f"(differs in {diff}); resume with the run's own config.json"
            )
        abstract = {
            "es_state": jax.tree.map(ocp.utils.to_shape_dtype_struct, es_state_like),
            "generation": np.zeros((), np.int32),
        }
        try:
            item = self.manager.restore(
                step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract))
            )["state"]
        except Exception as err:
            raise self._damaged(step, f"state unreadable: {err}") from err
        if int(item["generation"]) != step:
            raise self._damaged(step, f"it holds generation {int(item['generation'])}")
        if "state_sha256" in meta and state_digest(item["es_state"]) != meta["state_sha256"]:
            raise self._damaged(step, "the state's checksum does not match")
        return item["es_state"], step

    def close(self) -> None:
        self.manager.close()
