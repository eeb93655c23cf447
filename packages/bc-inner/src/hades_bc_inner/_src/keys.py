"""PRNG keys of the inner loop's network initialisations."""

import jax
import jax.numpy as jnp

INIT_MODES = ("fixed", "shared", "per_member")


def init_keys(
    init_key: jax.Array,
    generation_key: jax.Array,
    member_key: jax.Array,
    num_inits: int,
    mode: str,
) -> jax.Array:
    """(num_inits,) keys for the inner loop's network initialisations.

    mode:
      "fixed": HaDES-F, `init_key` itself every time (num_inits identical copies).
      "shared": HaDES-R with common random numbers, split(generation_key, num_inits): new each
        generation, the same for every population member.
      "per_member": split(member_key, num_inits): different for each member.
    """
    if mode == "fixed":
        return jnp.stack([init_key] * num_inits)
    if mode == "shared":
        return jax.random.split(generation_key, num_inits)
    if mode == "per_member":
        return jax.random.split(member_key, num_inits)
    raise ValueError(f"Unknown init mode {mode!r}; expected one of {INIT_MODES}")
