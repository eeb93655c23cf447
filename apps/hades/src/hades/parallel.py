"""Laying a population over devices.

The population axis is split over a 1-D mesh of every device (of every process). Each device
evaluates its slice, `chunk_size` members at a time; a member's randomness comes only from its
global index, so results do not depend on the device count or the chunk size.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

POP_AXIS = "pop"


def population_mesh(devices=None, popsize: int | None = None) -> Mesh:
    """A 1-D mesh over `devices` (default: all). With `popsize`, a single process's CPU devices
    (hades makes one per core, see cpu_devices.py) are cut to the most that split the
    population evenly; accelerators are all kept and check_population names the fix."""
    devices = jax.devices() if devices is None else list(devices)
    single_process_cpu = jax.process_count() == 1 and all(d.platform == "cpu" for d in devices)
    if popsize and popsize % len(devices) and single_process_cpu:
        devices = devices[: max(k for k in range(1, len(devices) + 1) if popsize % k == 0)]
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


# Without --chunk-size, a device evaluates at most this many members at once, and no more than
# keep their policies within AUTO_CHUNK_PARAM_BYTES. Measured on a 2-core CPU (benchmarks/): a
# vmapped batch of width-512 policies is 5-6x slower per member than batches of a few, whose
# weights and optimiser state stay in cache; tiny policies gain nothing past ~32 members.
AUTO_CHUNK_MAX = 32
AUTO_CHUNK_PARAM_BYTES = 8 * 2**20


def auto_chunk_size(per_device: int, member_param_bytes: int | None) -> int | None:
    """The chunk size used when none is given: the largest divisor of `per_device` that is at
    most AUTO_CHUNK_MAX and AUTO_CHUNK_PARAM_BYTES / `member_param_bytes` (at least 1); None
    (all members at once) when that is all of them or the size of a member is unknown."""
    if not member_param_bytes:
        return None
    most = max(1, min(AUTO_CHUNK_MAX, AUTO_CHUNK_PARAM_BYTES // int(member_param_bytes)))
    if most >= per_device:
        return None
    return max(d for d in range(1, most + 1) if per_device % d == 0)


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def replicate(tree, mesh: Mesh):
    """Host-side values, the same on every process, as global arrays replicated on every device
    of the mesh (of every process): valid inputs to a jitted function over the mesh in multi-
    as in single-process runs. Typed PRNG keys keep their type."""
    sharding = replicated(mesh)

    def one(x):
        if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            impl = jax.random.key_impl(x)
            return jax.random.wrap_key_data(one(jax.random.key_data(x)), impl=impl)
        x = np.asarray(x)
        # Not device_put: in multi-process runs it compares the values across processes, and
        # NaN (an ES state's "no best fitness yet") never equals itself.
        return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])

    return jax.tree.map(one, tree)


def process_flags(mesh: Mesh, flags: np.ndarray) -> jax.Array:
    """This process's flags (k,) as its rows of a global (devices, k) array split over the
    mesh: a reduction over it inside the jitted function tells every process what any asked."""
    sharding = NamedSharding(mesh, P(POP_AXIS))
    local = np.broadcast_to(np.asarray(flags), (len(mesh.local_devices), *np.shape(flags)))
    return jax.make_array_from_process_local_data(sharding, np.ascontiguousarray(local))


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
