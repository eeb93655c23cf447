"""Benchmark `hades distill` generations against the paper's code (issue #4).

    uv run python benchmarks/run.py                    # machine + every config, 6 generations
    uv run python benchmarks/run.py cartpole --generations 2 --no-save   # a smoke test

Each config runs in its own subprocess, so its peak memory is its own: the parent samples the
child's resident set (/proc/PID/status VmRSS, every 10 ms) and the child reports its high-water
mark (VmHWM, = ru_maxrss) at the end. The child builds the generation exactly as `hades distill`
does (problem_from_config, make_strategy, make_generation_fn over the device mesh), compiles it
ahead of time (so XLA's cost analysis comes from the very executable that runs) and times:

- compile_seconds: lower + compile + the first generation (what a user waits for first);
- seconds_per_generation: median / min / max over the following generations.

Results go to benchmarks/results/<config>.json (with the machine: CPU model, cores, jax
versions, load averages before and after) and the table in benchmarks/README.md is rebuilt
from them (`--table-only` rebuilds it without running anything).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from configs import (  # noqa: E402
    BENCHMARKS,
    PAPER_MB_PER_EXTRA_MEMBER,
    PER_MEMBER,
    TARGET_MEMORY_FRACTION,
    TARGET_PER_MEMBER_FRACTION,
    TARGET_SPEEDUP,
)

RESULTS = HERE / "results"
README = HERE / "README.md"
TABLE_START, TABLE_END = "<!-- table:start -->", "<!-- table:end -->"
GIB = 2**30


# -- the machine ----------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_description() -> dict[str, Any]:
    import jax
    import jaxlib

    return {
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "jax_devices": [str(d) for d in jax.devices()],
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }


def _best_seconds(fn, *args, repeat: int) -> float:
    import jax

    jax.block_until_ready(fn(*args))
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best


def measure_machine() -> dict[str, Any]:
    """Peak f32 matmul FLOP/s, memory bandwidth, and whether XLA's cost analysis counts a
    while-loop body once (it then needs multiplying by the trip count)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    import hades  # noqa: F401  (XLA flags as in every hades run)

    load_before = os.getloadavg()
    key = jax.random.key(0)
    out: dict[str, Any] = {}

    # Peak: the best of a few large f32 matmuls (XLA's CPU dot, all cores).
    peaks = {}
    for n in (2048, 4096):
        a = jax.random.normal(key, (n, n), jnp.float32)
        b = jax.random.normal(jax.random.fold_in(key, 1), (n, n), jnp.float32)
        seconds = _best_seconds(jax.jit(jnp.matmul), a, b, repeat=5)
        peaks[str(n)] = 2 * n**3 / seconds
    out["matmul_flops_per_second"] = peaks
    out["peak_flops_per_second"] = max(peaks.values())

    # Bandwidth over a 1 GiB array: a reduction (reads), an in-place scale in a loop carry
    # (read + write, no fresh allocation), and numpy's memcpy.
    n = GIB // 4
    x = jnp.ones((n,), jnp.float32)
    reps = 4
    total = jax.jit(lambda x: jax.lax.fori_loop(0, reps, lambda i, s: s + x.sum(), 0.0))
    read = reps * 4 * n / _best_seconds(total, x, repeat=3)
    scale = jax.jit(lambda x: jax.lax.fori_loop(0, reps, lambda i, y: y * 1.0001, x))
    update = reps * 8 * n / _best_seconds(scale, x, repeat=3)
    del x
    src = np.ones(n, np.float32)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    t0 = time.perf_counter()
    for _ in range(reps):
        np.copyto(dst, src)
    copy = reps * 8 * n / (time.perf_counter() - t0)
    del src, dst
    out["memory_bandwidth_bytes_per_second"] = {
        "xla_reduce_read": read,
        "xla_inplace_scale_read_write": update,
        "numpy_copy_read_write": copy,
    }
    out["memory_bandwidth"] = max(read, update, copy)

    # Does cost_analysis count a scan body once? Compare a 10-step scan with a 1-step one.
    w = jnp.ones((256, 256), jnp.float32)

    def looped(steps):
        return jax.jit(lambda w: jax.lax.scan(lambda c, _: (c @ w, None), w, length=steps)[0])

    flops = [_flops(looped(s).lower(w).compile()) for s in (1, 10)]
    out["xla_scan_flops_1_vs_10_steps"] = flops
    out["xla_counts_loop_body_once"] = bool(flops[0] and flops[0] == flops[1])
    out["load_average_before"] = load_before
    out["load_average_after"] = os.getloadavg()
    out["machine"] = machine_description()
    return out


def _flops(compiled) -> float | None:
    cost = compiled.cost_analysis()
    if isinstance(cost, list):
        cost = cost[0] if cost else None
    return None if not cost else float(cost.get("flops", 0.0))


# -- analytic FLOPs -------------------------------------------------------------------------


def analytic_flops(config, task) -> dict[str, float]:
    """Multiply-adds x 2 of one generation (popsize members + the ES mean's own evaluation):

    - fit: per Adam step, the forward pass over the dataset (2 * n * sum in*out), the backward
      pass (2x the forward, less the unneeded input gradient of the first layer), and ~12 FLOPs
      per parameter for Adam (and ~3 for gradient clipping);
    - rollout: per env step, one forward pass per env;
    - the env's own arithmetic is left out (it is small beside the 512-wide policies, and not
      matmul work either way).
    """
    obs_dim = task.env.obs_shape[0]
    out_dim = task.env.num_actions if task.discrete else task.env.action_dim
    sizes = [obs_dim] + [config.width] * config.depth + [out_dim]
    layers = list(itertools.pairwise(sizes))
    macs = sum(i * o for i, o in layers)
    params = sum(i * o + o for i, o in layers) + (0 if task.discrete else out_dim)
    n = config.dataset_size
    forward = 2 * n * macs
    backward = 2 * forward - 2 * n * layers[0][0] * layers[0][1]
    per_param = 12 + (3 if config.bc_max_grad_norm else 0)
    fit_step = forward + backward + per_param * params
    members = (config.popsize + 1) * config.inits_per_candidate
    fit = members * config.bc_steps * fit_step
    steps = config.num_steps or task.env.max_episode_steps
    rollout = members * steps * config.num_envs * 2 * macs
    return {
        "params_per_policy": params,
        "fit": float(fit),
        "rollout": float(rollout),
        "total": float(fit + rollout),
    }


# -- one config, in a child process ---------------------------------------------------------


def _proc_status_bytes(field: str) -> int | None:
    """A memory field of /proc/self/status (VmRSS: now, VmHWM: peak) in bytes; None off Linux."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return None


def _vm_hwm_bytes() -> int:
    peak = _proc_status_bytes("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _vm_rss_bytes() -> int:
    return _proc_status_bytes("VmRSS") or 0


def run_config(
    name: str, generations: int, overrides: dict[str, Any], cpu_devices: str | None = None
) -> dict[str, Any]:
    import jax
    import jax.numpy as jnp
    import numpy as np

    import hades  # noqa: F401  (sets XLA_FLAGS before jax starts)
    from hades.cpu_devices import configure_cpu_devices

    configure_cpu_devices(cpu_devices)  # as `hades distill` does, before any JAX operation
    from hades.config import DistillConfig
    from hades.distill import es_config_from, problem_from_config
    from hades.engine import make_generation_fn, start_run
    from hades.parallel import population_mesh

    rss = {"imports": _vm_rss_bytes()}  # jax, jaxlib, the hades packages
    t_start = time.perf_counter()
    config = DistillConfig(**{**BENCHMARKS[name]["config"], **overrides})
    config.validate()
    problem = problem_from_config(config)
    es_config = es_config_from(config)
    run_key, _, strategy, es_state = start_run(problem, es_config, config.seed)
    mesh = population_mesh(popsize=es_config.popsize)
    generation_fn = make_generation_fn(
        strategy, problem, mesh, es_config.popsize, config.chunk_size
    )
    setup_seconds = time.perf_counter() - t_start
    rss["setup"] = _vm_rss_bytes()  # + the env (brax, mujoco), the fixed init, the ES state

    t0 = time.perf_counter()
    compiled = generation_fn.lower(es_state, run_key, jnp.uint32(0)).compile()
    compile_only = time.perf_counter() - t0
    rss["compile_peak"] = _vm_hwm_bytes()  # XLA/LLVM's working memory while compiling
    rss["after_compile"] = _vm_rss_bytes()
    es_state, metrics = compiled(es_state, run_key, jnp.uint32(0))
    jax.block_until_ready((es_state, metrics))
    first = time.perf_counter() - t0

    rows = [_row(0, metrics, first - compile_only)]
    seconds = []
    for generation in range(1, generations):
        t0 = time.perf_counter()
        es_state, metrics = compiled(es_state, run_key, jnp.uint32(generation))
        jax.block_until_ready((es_state, metrics))
        seconds.append(time.perf_counter() - t0)
        rows.append(_row(generation, metrics, seconds[-1]))

    xla_flops = _flops(compiled)
    return {
        "config": config.to_json(),
        "setup_seconds": setup_seconds,
        "compile_only_seconds": compile_only,
        "compile_seconds": first,
        "seconds_per_generation": _summary(seconds),
        "generations": rows,
        "xla_cost_analysis_flops": xla_flops,
        "analytic_flops": analytic_flops(config, problem.task),
        "child_peak_rss_bytes": _vm_hwm_bytes(),
        "rss_stages_bytes": rss,
        "devices": mesh.size,
        "fitness_finite": bool(np.isfinite([r["fitness_mean"] for r in rows]).all()),
        "machine": machine_description(),
    }


def _row(generation: int, metrics, seconds: float) -> dict[str, Any]:
    import numpy as np

    row = {"generation": generation, "seconds": seconds}
    for key in ("fitness_mean", "fitness_max", "es_mean_fitness", "bc_loss_mean"):
        if key in metrics:
            row[key] = float(np.asarray(metrics[key]))
    return row


def _summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0, "all": []}
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
        "all": values,
    }


# -- the parent: subprocesses, RSS sampling, results ----------------------------------------


class RssSampler(threading.Thread):
    """Max of a process's VmRSS, sampled every `interval` seconds until it exits."""

    def __init__(self, pid: int, interval: float = 0.01):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak = pid, interval, 0
        self.samples = 0

    def run(self) -> None:
        path = Path(f"/proc/{self.pid}/status")
        while True:
            try:
                text = path.read_text()
            except OSError:
                return
            for line in text.splitlines():
                if line.startswith("VmRSS:"):
                    self.peak = max(self.peak, int(line.split()[1]) * 1024)
                    self.samples += 1
                    break
            else:
                return  # a zombie has no VmRSS: it has exited
            time.sleep(self.interval)


def run_child(args: list[str]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    command = [sys.executable, str(Path(__file__).resolve()), *args, "--child-out", str(out)]
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    child = subprocess.Popen(command)
    sampler = RssSampler(child.pid)
    sampler.start()
    code = child.wait()
    sampler.join()
    wall = time.perf_counter() - t0
    if code != 0:
        raise RuntimeError(f"benchmark child {args} exited with {code}")
    result = json.loads(out.read_text())
    out.unlink()
    result["wall_seconds"] = wall
    result["sampled_peak_rss_bytes"] = sampler.peak
    result["rss_samples"] = sampler.samples
    result["peak_rss_bytes"] = max(sampler.peak, result.get("child_peak_rss_bytes", 0))
    result["load_average_before"] = load_before
    result["load_average_after"] = os.getloadavg()
    return result


def run_benchmark(
    name: str,
    generations: int,
    overrides: dict[str, Any],
    machine: dict[str, Any] | None,
    cpu_devices: str | None = None,
) -> dict[str, Any]:
    args = ["--child", name, "--generations", str(generations)]
    if cpu_devices is not None:
        args += ["--cpu-devices", cpu_devices]
    for key, value in overrides.items():
        args += ["--set", f"{key}={json.dumps(value)}"]
    result = run_child(args)
    paper = BENCHMARKS[name]["paper"]
    steady = result["seconds_per_generation"]["median"]
    result["name"] = name
    result["overrides"] = overrides
    result["paper"] = paper
    result["speedup_vs_paper"] = paper["seconds_per_generation"] / steady if steady else None
    result["memory_fraction_of_paper"] = result["peak_rss_bytes"] / GIB / paper["peak_rss_gib"]
    if machine is not None:
        peak = machine["peak_flops_per_second"]
        bandwidth = machine["memory_bandwidth"]
        flops = result["analytic_flops"]["total"]
        result["flops_per_second"] = flops / steady if steady else None
        result["fraction_of_peak_flops"] = flops / steady / peak if steady else None
        result["machine_peak_flops_per_second"] = peak
        result["machine_memory_bandwidth"] = bandwidth
        result["floors"] = floors(result, machine)
    return result


def floors(result: dict[str, Any], machine: dict[str, Any]) -> dict[str, float]:
    """Lower bounds on seconds per generation from this machine's measured limits."""
    config = result["config"]
    flops = result["analytic_flops"]
    members = (config["popsize"] + 1) * (config["num_inits"] or 1)
    weight_bytes = 4 * flops["params_per_policy"]
    steps = config["num_steps"] or 0
    # Every member's policy weights are read at every env step (each member's weights are used
    # by its own envs only, so nothing is shared across members).
    weight_reads = weight_bytes * members * steps
    return {
        "compute_seconds": flops["total"] / machine["peak_flops_per_second"],
        "weights_bytes_per_member": weight_bytes,
        "rollout_weight_bytes_read": weight_reads,
        "rollout_weight_read_seconds": weight_reads / machine["memory_bandwidth"],
    }


# -- README table ---------------------------------------------------------------------------


def result_key(name: str, cpu_devices: str | None) -> str:
    """A result's file stem: the config name, plus the device count when it was forced."""
    return name if cpu_devices in (None, "auto") else f"{name}-{cpu_devices}dev"


def load_results() -> dict[str, dict[str, Any]]:
    out = {}
    for name in BENCHMARKS:
        for path in sorted(RESULTS.glob(f"{name}*.json")):
            forced = path.stem.startswith(f"{name}-") and path.stem.endswith("dev")
            if path.stem == name or forced:
                out[path.stem] = json.loads(path.read_text())
    return out


def per_member_mb(results: dict[str, dict[str, Any]], suffix: str = "") -> float | None:
    small, large = (results.get(n + suffix) for n in PER_MEMBER)
    if not small or not large:
        return None
    extra = large["config"]["popsize"] - small["config"]["popsize"]
    return (large["peak_rss_bytes"] - small["peak_rss_bytes"]) / extra / 1e6


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        "| config | paper's code | hades | CPU devices | speedup | compile (1st gen) "
        "| peak RSS (paper) | RSS / paper | GFLOP/gen | % of peak FLOP/s | weight-read floor "
        "| load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        s = r["seconds_per_generation"]
        paper = r["paper"]
        floor = r.get("floors", {}).get("rollout_weight_read_seconds")
        frac = r.get("fraction_of_peak_flops")
        lines.append(
            f"| {name} | {paper['seconds_per_generation']:g} s/gen "
            f"| **{s['median']:.3g} s/gen** ({s['min']:.3g}–{s['max']:.3g}, n={s['n']}) "
            f"| {r.get('devices', 1)} "
            f"| **{r['speedup_vs_paper']:.1f}×** | {r['compile_seconds']:.1f} s "
            f"| {r['peak_rss_bytes'] / GIB:.2f} GiB ({paper['peak_rss_gib']} GiB) "
            f"| {r['memory_fraction_of_paper']:.2f} "
            f"| {r['analytic_flops']['total'] / 1e9:.0f} "
            f"| {'' if frac is None else f'{100 * frac:.1f}%'} "
            f"| {'' if floor is None else f'{floor:.2g} s'} "
            f"| {_load(r['load_average_before'])} → {_load(r['load_average_after'])} |"
        )
    staged = {name: r for name, r in results.items() if "rss_stages_bytes" in r}
    if staged:
        lines += [
            "",
            "Resident memory by stage (GiB): after importing jax and hades, after building the "
            "env and the ES state, the peak while XLA compiles the generation, the peak overall.",
            "",
            "| config | imports | + setup | compile peak | peak | paper's peak | target |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, r in staged.items():
            st = r["rss_stages_bytes"]
            paper = r["paper"]["peak_rss_gib"]
            lines.append(
                f"| {name} | {st['imports'] / GIB:.2f} | {st['setup'] / GIB:.2f} "
                f"| {st['compile_peak'] / GIB:.2f} | {r['peak_rss_bytes'] / GIB:.2f} "
                f"| {paper} | ≤ {paper * TARGET_MEMORY_FRACTION:.2f} |"
            )
    for suffix, what in (("", "one CPU device per core"), ("-1dev", "1 CPU device")):
        mb = per_member_mb(results, suffix)
        if mb is None:
            continue
        lines.append("")
        lines.append(
            f"Peak RSS per extra population member (Breakout, popsize 256 → 512, {what}): "
            f"**{mb:.2f} MB** (paper's code: {PAPER_MB_PER_EXTRA_MEMBER} MB; target ≤ "
            f"{PAPER_MB_PER_EXTRA_MEMBER * TARGET_PER_MEMBER_FRACTION:.2f} MB)."
        )
    lines.append("")
    lines.append(
        f"Targets: ≥ {TARGET_SPEEDUP:g}× fewer seconds per generation, ≤ "
        f"{TARGET_MEMORY_FRACTION:.2f} of the paper's peak RSS, ≤ "
        f"{TARGET_PER_MEMBER_FRACTION:g} of its memory per extra member."
    )
    return "\n".join(lines)


def _load(values) -> str:
    return "/".join(f"{v:.1f}" for v in values)


def write_table(results: dict[str, dict[str, Any]]) -> None:
    text = f"# Benchmarks\n\n{TABLE_START}\n{TABLE_END}\n"
    if README.exists():
        text = README.read_text()
    start, end = text.index(TABLE_START), text.index(TABLE_END)
    text = text[: start + len(TABLE_START)] + "\n" + table(results) + "\n" + text[end:]
    README.write_text(text)


# -- command line ---------------------------------------------------------------------------


def _parse_set(values: list[str]) -> dict[str, Any]:
    out = {}
    for item in values:
        key, _, value = item.partition("=")
        out[key] = json.loads(value)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help=f"configs (default: all of {list(BENCHMARKS)})")
    parser.add_argument("--generations", type=int, default=6, help="first + steady generations")
    parser.add_argument("--set", action="append", default=[], help="override KEY=JSON")
    parser.add_argument(
        "--cpu-devices",
        default="auto",
        help="CPU devices, as `hades distill --cpu-devices` [default: auto, one per core]; "
        "results of a forced count are saved as <config>-<N>dev.json",
    )
    parser.add_argument("--no-save", action="store_true", help="print, write no results")
    parser.add_argument("--skip-machine", action="store_true", help="reuse results/machine.json")
    parser.add_argument("--table-only", action="store_true", help="rebuild README's table")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    parser.add_argument("--machine-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.machine_child:
        Path(args.child_out).write_text(json.dumps(measure_machine()))
        return 0
    if args.child:
        result = run_config(args.child, args.generations, _parse_set(args.set), args.cpu_devices)
        Path(args.child_out).write_text(json.dumps(result))
        return 0
    if args.table_only:
        write_table(load_results())
        return 0

    names = args.names or list(BENCHMARKS)
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown configs {sorted(unknown)}; choose from {list(BENCHMARKS)}")
    overrides = _parse_set(args.set)
    RESULTS.mkdir(exist_ok=True)
    machine_path = RESULTS / "machine.json"
    machine = None
    if args.skip_machine:
        if machine_path.exists():
            machine = json.loads(machine_path.read_text())
    else:
        machine = run_child(["--machine-child"])
        print(_machine_line(machine), flush=True)
        if not args.no_save:
            machine_path.write_text(json.dumps(machine, indent=2) + "\n")
    for name in names:
        result = run_benchmark(name, args.generations, overrides, machine, args.cpu_devices)
        print(_result_line(result), flush=True)
        if not args.no_save:
            key = result_key(name, args.cpu_devices)
            (RESULTS / f"{key}.json").write_text(json.dumps(result, indent=2) + "\n")
    if not args.no_save:
        write_table(load_results())
    return 0


def _machine_line(m: dict[str, Any]) -> str:
    return (
        f"machine: {m['machine']['cpu_model']}, {m['machine']['cpu_cores']} cores; peak "
        f"{m['peak_flops_per_second'] / 1e9:.0f} GFLOP/s (f32 matmul), memory "
        f"{m['memory_bandwidth'] / 1e9:.1f} GB/s; load {m['load_average_before']}"
    )


def _result_line(r: dict[str, Any]) -> str:
    s = r["seconds_per_generation"]
    return (
        f"{r['name']}: {s['median']:.3f} s/gen (min {s['min']:.3f}, max {s['max']:.3f}) vs "
        f"paper {r['paper']['seconds_per_generation']} -> {r['speedup_vs_paper']:.2f}x; compile "
        f"{r['compile_seconds']:.1f} s; peak RSS {r['peak_rss_bytes'] / GIB:.3f} GiB "
        f"({r['memory_fraction_of_paper']:.2f} of paper); load {r['load_average_before']} -> "
        f"{r['load_average_after']}"
    )


if __name__ == "__main__":
    sys.exit(main())
