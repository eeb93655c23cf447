"""Steps/s and compile time of brax physics backends behind `evaluate` (random policy).

Usage: JAX_PLATFORMS=cpu python bench_brax_backends.py [ENV_ID] [NUM_ENVS] [NUM_STEPS] [BACKEND...]
Prints one line per backend; the figures in the package README come from here.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import jax

from hades_env_adapters import evaluate, make_env, random_act_fn


def bench(env_id: str, backend: str, num_envs: int, num_steps: int, repeats: int = 3) -> dict:
    start = time.perf_counter()
    env = make_env(env_id, backend=backend)
    make_s = time.perf_counter() - start

    run = jax.jit(lambda key: evaluate(random_act_fn(env), env, key, num_envs, num_steps))
    start = time.perf_counter()
    compiled = run.lower(jax.random.key(0)).compile()
    compile_s = time.perf_counter() - start

    times = []
    for i in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(jax.random.key(i)))
        times.append(time.perf_counter() - start)
    run_s = statistics.median(times)
    return {
        "env": env_id,
        "backend": backend,
        "make_s": round(make_s, 2),
        "compile_s": round(compile_s, 1),
        "run_s": round(run_s, 3),
        "steps_per_s": round(num_envs * num_steps / run_s),
    }


def main(argv: list[str]) -> None:
    env_id = argv[0] if argv else "hopper"
    num_envs = int(argv[1]) if len(argv) > 1 else 4
    num_steps = int(argv[2]) if len(argv) > 2 else 1000
    backends = argv[3:] or ["positional", "spring", "generalized", "mjx"]
    print(
        f"# {env_id}: {num_envs} envs x {num_steps} steps, {jax.devices()}, {os.cpu_count()} CPUs"
    )
    for backend in backends:
        print(bench(env_id, backend, num_envs, num_steps), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
