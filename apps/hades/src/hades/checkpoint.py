"""Checkpoints of a run: the ES state and the generation counter, with orbax (atomic writes,
multi-host aware). Everything else random is derived from (seed, generation), so restoring these
and replaying the remaining generations reproduces an uninterrupted run bit for bit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

CHECKPOINT_SCHEMA = 1


class CheckpointError(ValueError):
    pass


class Checkpointer:
    def __init__(self, run_path: Path, max_to_keep: int = 3):
        import orbax.checkpoint as ocp  # costs seconds; only runs that checkpoint pay

        self._ocp = ocp
        self.directory = Path(run_path).absolute() / "checkpoints"
        self.manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(
                max_to_keep=max_to_keep, create=True, enable_async_checkpointing=False
            ),
        )

    def save(self, generation: int, es_state: Any, fingerprint: dict[str, Any]) -> None:
        """Save the state reached after `generation` generations (i.e. before generation g)."""
        item = {"es_state": es_state, "generation": jnp.int32(generation)}
        meta = {"schema": CHECKPOINT_SCHEMA, **fingerprint}
        self.manager.save(
            generation,
            args=self._ocp.args.Composite(
                state=self._ocp.args.StandardSave(item), meta=self._ocp.args.JsonSave(meta)
            ),
            force=True,
        )
        self.manager.wait_until_finished()

    def latest_generation(self) -> int | None:
        return self.manager.latest_step()

    def restore(self, es_state_like: Any, fingerprint: dict[str, Any]) -> tuple[Any, int]:
        step = self.manager.latest_step()
        if step is None:
            raise CheckpointError(f"no checkpoint in {self.directory}; start a new run instead")
        ocp = self._ocp
        try:
            meta = self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))[
                "meta"
            ]
        except Exception as err:  # orbax raises many kinds on damaged files
            raise CheckpointError(
                f"checkpoint {self.directory / str(step)} is damaged ({err}); delete that folder "
                "to fall back to the previous checkpoint"
            ) from err
        if meta.get("schema") != CHECKPOINT_SCHEMA:
            raise CheckpointError(
                f"checkpoint {self.directory / str(step)} has schema {meta.get('schema')}, this "
                f"hades reads {CHECKPOINT_SCHEMA}: resume it with the hades version that wrote it"
            )
        expected = {"schema": CHECKPOINT_SCHEMA, **fingerprint}
        if meta != json.loads(json.dumps(expected)):
            diff = sorted(k for k in expected if meta.get(k) != expected[k])
            raise CheckpointError(
                f"checkpoint in {self.directory} was written by a different run config "
                f"(differs in {diff}); resume with the run's own config.json"
            )
        abstract = {
            "es_state": jax.tree.map(ocp.utils.to_shape_dtype_struct, es_state_like),
            "generation": jax.ShapeDtypeStruct((), jnp.int32),
        }
        try:
            item = self.manager.restore(
                step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract))
            )["state"]
        except Exception as err:
            raise CheckpointError(
                f"checkpoint {self.directory / str(step)} could not be read ({err}); delete that "
                "folder to fall back to the previous checkpoint"
            ) from err
        return item["es_state"], int(item["generation"])

    def close(self) -> None:
        self.manager.close()
