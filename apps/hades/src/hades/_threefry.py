"""Lower JAX's threefry PRNG hash unrolled on CPU too (the same bits, fewer ops per draw).

JAX lowers `threefry2x32` on CPU as a rolled 5-iteration `fori_loop` (to keep compile time down)
and unrolled on every other platform. Inside a rollout's scan every random draw (key splits,
action sampling, env resets) then becomes a nested while loop of ~16 small ops per iteration,
which XLA's CPU runtime dispatches one by one: on CartPole-sized policies that dominates the
rollout. The unrolled lowering is JAX's own (`_threefry2x32_lowering_rule`, used on GPU/TPU): the
same integer arithmetic, so every random number is bitwise unchanged; it fuses into a single
kernel. Measured with benchmarks/profile_parts.py: CartPole rollouts 1.9x faster (a generation
~13%), MinAtar and brax neutral, compile time neutral. Set HADES_ROLLED_THREEFRY=1 to keep
JAX's CPU default.
"""

from __future__ import annotations

import os


def use_unrolled_threefry_on_cpu() -> bool:
    """Register JAX's unrolled threefry lowering for CPU; False if this JAX lacks the pieces
    (then nothing changes)."""
    if os.environ.get("HADES_ROLLED_THREEFRY", "") not in ("", "0"):
        return False
    try:
        from jax._src.interpreters import mlir
        from jax._src.random import threefry2x32 as threefry
    except ImportError:
        return False
    primitive = getattr(threefry, "threefry2x32_p", None)
    rule = getattr(threefry, "_threefry2x32_lowering_rule", None)
    if primitive is None or rule is None:
        return False
    mlir.register_lowering(primitive, rule, platform="cpu", inline=False)
    return True
