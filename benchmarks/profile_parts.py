"""Where a generation's time goes: time the inner-loop fit alone and the rollout alone for a
batch of members, `--chunk` members at a time (as the engine does), optionally with a per-op
breakdown from the XLA CPU profiler.

    uv run python benchmarks/profile_parts.py breakout-256 --members 8 --chunk 4 --part fit
    uv run python benchmarks/profile_parts.py breakout-256 --members 2 --part rollout --ops

The fit starts every member from the config's fixed (HaDES-F) init, as `hades distill` does;
the rollout evaluates perturbed copies of that init.
"""

from __future__ import annotations

import argparse
import collections
import glob
import gzip
import json
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    from configs import BENCHMARKS

    parser = argparse.ArgumentParser()
    parser.add_argument("name", choices=sorted(BENCHMARKS))
    parser.add_argument("--members", type=int, default=8)
    parser.add_argument("--chunk", type=int, default=None, help="members at once (default all)")
    parser.add_argument("--part", choices=("fit", "rollout", "both"), default="both")
    parser.add_argument("--ops", action="store_true", help="per-op times (XLA CPU profiler)")
    args = parser.parse_args()
    if args.ops:  # must be set before jax starts
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "") + " --xla_cpu_enable_xprof_traceme=true"
        )

    import jax
    import jax.numpy as jnp

    import hades  # noqa: F401  (the app's XLA flags)
    from hades.config import DistillConfig
    from hades.distill import problem_from_config

    config = DistillConfig(**{**BENCHMARKS[args.name]["config"], "variant": "F"})
    problem = problem_from_config(config)
    task = problem.task
    p0 = problem.fixed_params
    n, chunk = args.members, args.chunk or args.members
    key = jax.random.key(0)

    def noisy(x):
        noise = jax.random.normal(key, (n, *x.shape), x.dtype)
        return jnp.broadcast_to(x, (n, *x.shape)) * (1 + 0.01 * noise)

    params = jax.tree.map(noisy, p0)
    genome = problem.initial_genome(key)
    genomes = jax.tree.map(
        lambda x: x + 0.1 * jax.random.normal(key, (n, *x.shape), x.dtype), genome
    )
    labels = task.labels(config.dataset_size)
    keys = jax.random.split(key, n)

    def mapped(fn):
        return jax.jit(lambda *xs: jax.lax.map(lambda a: fn(*a), xs, batch_size=chunk))

    parts = {
        "fit": (mapped(lambda g, k: task.train_from(p0, g, k, labels)), (genomes, keys)),
        "rollout": (mapped(task.episode_return), (params, keys)),
    }
    for part in ("fit", "rollout") if args.part == "both" else (args.part,):
        fn, fn_args = parts[part]
        t0 = time.perf_counter()
        compiled = fn.lower(*fn_args).compile()
        compile_s = time.perf_counter() - t0
        jax.block_until_ready(compiled(*fn_args))
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            jax.block_until_ready(compiled(*fn_args))
            times.append(time.perf_counter() - t0)
        best = min(times)
        print(
            f"{args.name} {part}: {n} members, {chunk} at a time: {best:.3f} s "
            f"({best / n:.4f} s/member; compile {compile_s:.1f} s; load {os.getloadavg()})",
            flush=True,
        )
        if args.ops:
            print_ops(compiled, fn_args)


def print_ops(compiled, fn_args, top: int = 20) -> None:
    """The `top` HLO ops by total time over one call (XLA CPU thunk trace)."""
    import jax

    with tempfile.TemporaryDirectory() as trace_dir:
        jax.profiler.start_trace(trace_dir, create_perfetto_trace=True)
        jax.block_until_ready(compiled(*fn_args))
        jax.profiler.stop_trace()
        path = sorted(glob.glob(f"{trace_dir}/**/*.trace.json.gz", recursive=True))[-1]
        with gzip.open(path) as handle:
            events = json.load(handle)
    events = events["traceEvents"] if isinstance(events, dict) else events
    total, count = collections.Counter(), collections.Counter()
    for event in events:
        if event.get("ph") == "X" and "Execute" not in event["name"] and "$" not in event["name"]:
            total[event["name"]] += event.get("dur", 0)
            count[event["name"]] += 1
    hlo = compiled.as_text()
    for name, micros in total.most_common(top):
        match = re.search(r"%" + re.escape(name) + r" = ([^\n]*)", hlo)
        what = ""
        if match:
            op = re.search(r'op_name="([^"]*)"', match.group(1))
            what = match.group(1).split("(")[0][:40] + "  " + (op.group(1)[-60:] if op else "")
        print(f"  {micros / 1e3:9.1f} ms {count[name]:7d}x  {name[:28]:28s} {what}")


if __name__ == "__main__":
    main()
