"""Laying a population over devices.

The population axis is split over a 1-D mesh of every device (of every process). Each device
evaluates its slice, `chunk_size` members at a time; a member's randomness comes only from its
global index, so results do not depend on the device count or the chunk size.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

POP_AXIS = "pop"


def population_mesh(devices=None) -> Mesh:
    devices = jax.devices() if devices is None else list(devices)
    # Auto axes: the generation is written as global-array code and shard_map slices it.
    return jax.make_mesh((len(devices),), (POP_AXIS,), (AxisType.Auto,), devices=devices)


def check_population(popsize: int, mesh: Mesh, chunk_size: int | None) -> None:
    n = mesh.size
    if popsize % n:
        lower, upper = popsize - popsize % n, popsize + n - popsize % n
        raise ValueError(
            f"--popsize {popsize} does not split evenly over {n} devices; "
            f"use --popsize {upper} (or {lower})."
        )
    per_device = popsize // n
    if chunk_size is not None and (chunk_size < 1 or per_device % chunk_size):
        raise ValueError(
            f"--chunk-size {chunk_size} must divide the {per_device} members each of the "
            f"{n} devices evaluates."
        )


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def map_members(member_fn: Callable, mesh: Mesh, chunk_size: int | None) -> Callable:
    """Return f(population, member_ids, *shared) -> member_fn over every member, sharded.

    member_fn(genome, member_id, *shared) -> pytree of scalars. `shared` is replicated.
    """

    def on_one_device(population, member_ids, *shared):
        one = lambda xs: member_fn(xs[0], xs[1], *shared)
        if chunk_size is None:
            return jax.vmap(one)((population, member_ids))
        return jax.lax.map(one, (population, member_ids), batch_size=chunk_size)

    def sharded(population, member_ids, *shared):
        in_specs = (P(POP_AXIS), P(POP_AXIS), *(P() for _ in shared))
        return jax.shard_map(
            on_one_device, mesh=mesh, in_specs=in_specs, out_specs=P(POP_AXIS), check_vma=False
        )(population, member_ids, *shared)

    return sharded


def member_ids(popsize: int) -> jax.Array:
    return jnp.arange(popsize, dtype=jnp.uint32)
