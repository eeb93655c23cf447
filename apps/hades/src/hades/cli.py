"""The `hades` command."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import types
import typing
from pathlib import Path

from hades.config import PRESETS, DistillConfig, resolve_config
from hades.engine import RunInterrupted

_HELP = {
    "env": "environment id (gymnax: CartPole-v1, Pendulum-v1, Breakout-MinAtar, ...)",
    "variant": (
        "F: one fixed policy init; R: fresh inits every generation; "
        "R+: R plus a sampled width, lr and BC step count per init (the --rplus-* ranges)"
    ),
    "evolve_inner": "evolve the inner learning rate and BC step count with the dataset",
    "rplus_widths": "R+: widths sampled per init, comma-separated (default width/2,w,2w,4w)",
    "rplus_lr_range": "R+: BC learning rates, log-uniform LOW,HIGH (default bc_lr/10,*10)",
    "rplus_steps_range": "R+: BC steps, uniform LOW,HIGH (default bc_steps/2,*2)",
    "dataset_size": "number of synthetic state-action pairs",
    "init": "initial synthetic states: zeros | normal",
    "num_inits": "policy inits per candidate (default F: 1, R: 2)",
    "init_mode": "R: inits shared by the whole population (shared) or per member",
    "num_steps": "env steps per evaluation (default: the env's episode length)",
    "greedy": "evaluate with argmax / mean actions instead of sampling",
    "obs_norm": "observation normalisation: none | const | running",
    "strategy": "evosax algorithm: open_es, snes, cma_es, ...",
    "fitness_shaping": "centered_rank | z_score | raw | default (the strategy's own)",
    "chunk_size": "members evaluated at once per device (bounds memory; None: automatic)",
    "retrain_inits": "fresh inits retrained from the final dataset for the report",
}


def _base_type(annotation):
    """int | None -> int, etc. (annotations are strings under `from __future__`)."""
    if isinstance(annotation, str):
        annotation = eval(annotation, {"int": int, "float": float, "str": str, "bool": bool})
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0]
    return annotation


def _optional_str(value: str) -> str | None:
    return None if value in ("default", "none", "None") else value


def add_config_options(parser: argparse.ArgumentParser, config_cls=DistillConfig) -> None:
    for field in dataclasses.fields(config_cls):
        flag = "--" + field.name.replace("_", "-")
        kind = _base_type(field.type)
        help_text = _HELP.get(field.name, "") + f" [default: {field.default}]"
        if kind is bool:
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=None, help=help_text
            )
        elif field.name == "fitness_shaping":
            parser.add_argument(flag, type=_optional_str, default=None, help=help_text)
        else:
            parser.add_argument(flag, type=kind, default=None, help=help_text)


def _overrides(args: argparse.Namespace, config_cls=DistillConfig) -> dict:
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(config_cls)}


def resume_config(args: argparse.Namespace) -> DistillConfig:
    """The run's recorded config, with the options that may change on resume applied."""
    from hades.config import load_config

    path = Path(args.resume) / "config.json"
    if not path.exists():
        raise FileNotFoundError(
            f"--resume {args.resume}: no config.json there; is it a run directory?"
        )
    config = load_config(path)
    given = {k: v for k, v in _overrides(args).items() if v is not None}
    return dataclasses.replace(config, **given)


def _run_config(args: argparse.Namespace, command: str) -> tuple[DistillConfig, Path]:
    if args.resume:
        return resume_config(args), Path(args.resume)
    config = resolve_config(args.preset, _overrides(args))
    what = config.variant if command == "distill" else "ne"
    return config, Path(args.out or f"runs/{command}-{config.env}-{what}-s{config.seed}")


def cmd_distill(args: argparse.Namespace) -> int:
    from hades.distill import run_distill

    config, out = _run_config(args, "distill")
    summary = run_distill(
        config, out, quiet=args.quiet, resume=bool(args.resume), checkpoint=_checkpoint_policy(args)
    )
    print(
        f"{config.env} HaDES-{config.variant}: retrained return "
        f"{summary['retrain_return_mean']:.1f} ± {summary['retrain_return_std']:.1f} "
        f"over {summary['retrain_inits']} fresh inits; dataset {summary['dataset']}"
    )
    print(f"run directory: {out}")
    return 0


def cmd_neuroevolve(args: argparse.Namespace) -> int:
    from hades.neuroevolve import run_neuroevolve

    config, out = _run_config(args, "neuroevolve")
    summary = run_neuroevolve(
        config, out, quiet=args.quiet, resume=bool(args.resume), checkpoint=_checkpoint_policy(args)
    )
    print(
        f"{config.env} ES neuroevolution ({summary['num_params']} weights): return "
        f"{summary['retrain_return_mean']:.1f} ± {summary['retrain_return_std']:.1f} "
        f"over {summary['retrain_inits']} evaluation seeds"
    )
    print(f"run directory: {out}")
    return 0


def _checkpoint_policy(args: argparse.Namespace):
    from hades.engine import CheckpointPolicy

    return CheckpointPolicy(args.checkpoint_every, args.checkpoint_every_generations, args.keep)


def add_cpu_devices_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cpu-devices",
        default=None,
        metavar="N|auto",
        help="on CPU, split the host into N JAX devices (auto: one per usable core) and shard "
        "the population over them: 1.5-2x faster; can deadlock on jaxlib 0.10 when the "
        "generation draws orthogonal inits (HaDES-R, neuroevolve), fine for HaDES-F and vision "
        "(env HADES_CPU_DEVICES) [default: 1]",
    )


def add_run_options(p: argparse.ArgumentParser) -> None:
    """Checkpointing and multi-process options of the commands that evolve (not recorded in
    config.json: they may differ between a run and its resumption)."""
    group = p.add_argument_group("checkpoints")
    group.add_argument(
        "--checkpoint-every",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="save the state once this long has passed since the last save; 0: every "
        "generation [default: 60]",
    )
    group.add_argument(
        "--checkpoint-every-generations",
        type=int,
        default=None,
        metavar="N",
        help="also save every N generations",
    )
    group.add_argument(
        "--keep-checkpoints",
        dest="keep",
        type=int,
        default=3,
        metavar="N",
        help="how many recent checkpoints stay on disk [default: 3]",
    )
    add_cpu_devices_option(p)
    group = p.add_argument_group(
        "multi-process (one process per host; every process runs the same command)"
    )
    group.add_argument(
        "--coordinator",
        default=None,
        metavar="HOST:PORT",
        help="process 0's address, where it serves the coordinator (env "
        "JAX_COORDINATOR_ADDRESS); 'auto' on Slurm / Open MPI",
    )
    group.add_argument(
        "--num-processes", type=int, default=None, help="how many processes (env JAX_NUM_PROCESSES)"
    )
    group.add_argument(
        "--process-id", type=int, default=None, help="this process, 0..N-1 (env JAX_PROCESS_ID)"
    )
    group.add_argument(
        "--heartbeat-timeout",
        type=int,
        default=None,
        metavar="SECONDS",
        help="end the run when another process has been silent this long [default: 60]",
    )


def cmd_compare(args: argparse.Namespace) -> int:
    from hades.compare import write_comparison

    out = args.out or args.runs[0]
    csv_path, png_path = write_comparison(args.runs, out)
    print(f"wrote {csv_path} and {png_path}")
    return 0


def cmd_obs_stats(args: argparse.Namespace) -> int:
    import jax

    from hades_env_adapters import compute_obs_stats, make_env, save_obs_stats

    env = make_env(args.env, **({"backend": args.backend} if args.backend else {}))
    mean, var = compute_obs_stats(
        env, jax.random.key(args.seed), num_envs=args.num_envs, num_steps=args.num_steps
    )
    out = Path(args.out or f"obs_stats_{args.env}.npz")
    save_obs_stats(out, mean, var)
    print(
        f"{args.env}: observation mean/var over {args.num_envs}x{args.num_steps} "
        f"random-policy steps -> {out}"
    )
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from hades.evaluate import evaluate_dataset

    result = evaluate_dataset(
        args.dataset,
        inits=args.inits,
        seed=args.seed,
        num_envs=args.num_envs,
        num_steps=args.num_steps,
        greedy=args.greedy,
        fixed_init_seed=args.init_seed,
        fresh_inits=args.fresh_inits,
    )
    line = (
        f"{result['env']}: return {result['return_mean']:.1f} ± {result['return_std']:.1f} "
        f"over {result['inits']} "
        + (
            "fresh inits"
            if result["fixed_init_seed"] is None
            else f"runs from init {result['fixed_init_seed']}"
        )
    )
    if result["recorded_fitness"] is not None:
        line += f" (recorded fitness {result['recorded_fitness']:.1f})"
    print(line)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hades", description="Behaviour distillation in JAX.")
    sub = parser.add_subparsers(dest="command", required=True)

    for name, func, help_text in (
        ("distill", cmd_distill, "evolve a synthetic behaviour dataset (HaDES)"),
        ("neuroevolve", cmd_neuroevolve, "baseline: evolve the policy weights directly"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--preset", choices=sorted(PRESETS), default=None)
        p.add_argument("--out", default=None, help=f"run directory [default: runs/{name}-...]")
        p.add_argument("--quiet", action="store_true", help="log lines instead of a progress bar")
        p.add_argument(
            "--resume", default=None, metavar="RUN_DIR", help="continue a run from its checkpoint"
        )
        add_config_options(p)
        add_run_options(p)
        p.set_defaults(func=func)

    compare = sub.add_parser("compare", help="plot fitness curves of runs side by side")
    compare.add_argument("runs", nargs="+", help="run directories")
    compare.add_argument("--out", default=None, help="where to write compare.csv/png [RUN_A]")
    compare.set_defaults(func=cmd_compare)

    obs_stats = sub.add_parser("obs-stats", help="observation mean/var of an env from rollouts")
    obs_stats.add_argument("env")
    obs_stats.add_argument("--backend", default=None, help="brax backend")
    obs_stats.add_argument("--num-envs", type=int, default=16)
    obs_stats.add_argument("--num-steps", type=int, default=1000)
    obs_stats.add_argument("--seed", type=int, default=0)
    obs_stats.add_argument("--out", default=None, help="npz file [obs_stats_ENV.npz]")
    obs_stats.set_defaults(func=cmd_obs_stats)

    evaluate = sub.add_parser("evaluate", help="retrain fresh policies from a dataset file")
    evaluate.add_argument("dataset", help="a hades dataset .npz or a paper reference .npz")
    evaluate.add_argument("--inits", type=int, default=20)
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--num-envs", type=int, default=None)
    evaluate.add_argument("--num-steps", type=int, default=None)
    evaluate.add_argument("--greedy", action=argparse.BooleanOptionalAction, default=None)
    evaluate.add_argument(
        "--init-seed", type=int, default=None, help="retrain every policy from this one init"
    )
    evaluate.add_argument(
        "--fresh-inits",
        action="store_true",
        help="HaDES-F datasets: fresh random inits instead of the recorded fixed one",
    )
    evaluate.add_argument("--json", default=None, help="also write the result as JSON here")
    evaluate.set_defaults(func=cmd_evaluate)

    from hades import cli_tools
    from hades.vision import add_vision_parser

    cli_tools.register(sub)
    add_vision_parser(sub)
    return parser


_EVOLVING = ("distill", "neuroevolve")
_SHARDED = (*_EVOLVING, "vision")  # commands that shard a population over the devices


def _start_runtime(argv: list[str]) -> None:
    """Before anything touches a JAX device (building the parser does: importing evosax
    creates arrays): the compile cache, the CPU device count, then jax.distributed if the
    command asks for it."""
    from hades import distributed
    from hades.compile_cache import enable_compile_cache
    from hades.cpu_devices import configure_cpu_devices

    enable_compile_cache()
    if not argv or argv[0] not in _SHARDED or {"-h", "--help"} & set(argv):
        return
    early = argparse.ArgumentParser(prog=f"hades {argv[0]}", add_help=False)
    early.add_argument("--cpu-devices", default=None)
    known, _ = early.parse_known_args(argv[1:])
    configure_cpu_devices(known.cpu_devices)
    if argv[0] not in _EVOLVING:
        return
    early.add_argument("--coordinator", default=None)
    early.add_argument("--num-processes", type=int, default=None)
    early.add_argument("--process-id", type=int, default=None)
    early.add_argument("--heartbeat-timeout", type=int, default=None)
    known, _ = early.parse_known_args(argv[1:])
    options = distributed.options_from(
        known.coordinator, known.num_processes, known.process_id, known.heartbeat_timeout
    )
    if options is not None:
        distributed.initialize(options)


def main(argv: list[str] | None = None) -> int:
    from hades import distributed

    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        _start_runtime(argv)
        args = build_parser().parse_args(argv)
        return args.func(args)
    except RunInterrupted as err:
        print(f"hades: {err}", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, FileExistsError, distributed.DistributedError) as err:
        if os.environ.get("HADES_DEBUG"):
            raise
        print(f"hades: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        # Multi-process: a collective failed (a process died?) or this process hit an error
        # the others would wait on forever: exit with a message naming who stopped.
        distributed.fail_on_runtime_error(err)
        raise
    finally:
        distributed.finish()


if __name__ == "__main__":
    sys.exit(main())
