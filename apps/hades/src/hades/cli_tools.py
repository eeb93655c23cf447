"""Subcommands that use finished datasets (retrain, merge, sweep, show), and the multi-task
options of `hades evaluate` (--env, repeated, for merged datasets)."""

from __future__ import annotations

import argparse
from pathlib import Path

RETRAIN_DEFAULTS = "widths 32,...,2048 (the paper's 7), 50 policies per width"


def cmd_retrain(args: argparse.Namespace) -> int:
    from hades.retrain import PAPER_WIDTHS, RetrainProtocol, run_retrain
    from hades.tool_io import dataset_file, parse_int_list, parse_range

    protocol = RetrainProtocol(
        widths=parse_int_list(args.widths, "--widths") if args.widths else PAPER_WIDTHS,
        policies=args.policies,
        lr_range=parse_range(args.lr_range, "--lr-range") if args.lr_range else None,
        steps_range=parse_range(args.steps_range, "--steps-range", int),
        chunk_size=args.chunk_size,
        seed=args.seed,
    )
    summary = run_retrain(
        dataset_file(args.dataset),
        protocol,
        out=args.out,
        num_envs=args.num_envs,
        num_steps=args.num_steps,
        greedy=args.greedy,
    )
    print(f"wrote {summary['csv']} and {summary['png']}")
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from hades.merge import merge_files
    from hades.tool_io import dataset_file

    written = merge_files([dataset_file(p) for p in args.datasets], args.out)
    print(f"wrote {written['dataset']} (with {written['csv'].name} and {written['png'].name})")
    print(f"evaluate it with: hades evaluate {written['dataset']} --env ENV_A --env ENV_B")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from hades.cli import _overrides
    from hades.config import resolve_config
    from hades.sweep import run_sweep
    from hades.tool_io import parse_int_list

    if args.dataset_size is not None:
        raise ValueError("hades sweep takes --dataset-sizes (a list), not --dataset-size")
    sizes = parse_int_list(args.dataset_sizes, "--dataset-sizes")
    base = resolve_config(args.preset, _overrides(args))
    out = Path(args.out or f"runs/sweep-{base.env}-{base.variant}-s{base.seed}")
    result = run_sweep(base, sizes, out, baseline=args.baseline, quiet=args.quiet)
    print(f"wrote {result['csv']} and {result['png']}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from hades.show import show

    written = show(args.target, out=args.out)
    files = ", ".join(str(v) for k, v in written.items() if k != "view")
    print(f"{written['view']} view; wrote {files}")
    return 0


def wrap_evaluate(evaluate: argparse.ArgumentParser) -> None:
    """`hades evaluate M --env A --env B`: merged datasets go to the multi-task evaluation;
    everything else to the original command unchanged."""
    evaluate.add_argument(
        "--env",
        action="append",
        default=None,
        metavar="ENV",
        help="(merged datasets) evaluate on this task; repeat for each [default: every task]",
    )
    evaluate.add_argument(
        "--out",
        default=None,
        help="(merged datasets) where to write evaluate_merged.csv/png [the dataset's folder]",
    )
    single_task = evaluate.get_default("func")

    def cmd_evaluate(args: argparse.Namespace) -> int:
        from hades.evaluate import open_dataset
        from hades.merge import evaluate_merged
        from hades.tool_io import dataset_file
        from hades_dataset_io import is_merged

        ds = open_dataset(dataset_file(args.dataset))
        if not is_merged(ds):
            unknown = [env for env in args.env or [] if env != ds.env_id]
            if unknown:
                raise ValueError(
                    f"--env {', '.join(unknown)}: {args.dataset} is a single-task dataset for "
                    f"{ds.env_id!r}; only merged datasets (hades merge) run on several envs"
                )
            return single_task(args)
        summary = evaluate_merged(
            dataset_file(args.dataset),
            envs=args.env,
            inits=args.inits,
            seed=args.seed,
            out=args.out,
            num_envs=args.num_envs,
            num_steps=args.num_steps,
            greedy=args.greedy,
        )
        if args.json:
            import json

            Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
        print(f"wrote {summary['csv']} and {summary['png']}")
        return 0

    evaluate.set_defaults(func=cmd_evaluate)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to the `hades` parser."""
    from hades.cli import add_config_options
    from hades.config import PRESETS

    retrain = sub.add_parser(
        "retrain",
        help="train many new policies (widths, learning rates, BC steps) from a dataset (Fig 4)",
        description="For each width, train --policies fresh policies with learning rates "
        "log-uniform in --lr-range and BC steps uniform in --steps-range, evaluate them, keep the "
        "top half, and box-plot them per width (retrain.csv, retrain.png, retrain.json).",
    )
    retrain.add_argument("dataset", help="a dataset .npz (ours or the paper's) or a run directory")
    retrain.add_argument(
        "--widths", default=None, help="comma-separated widths [32,64,128,256,512,1024,2048]"
    )
    retrain.add_argument("--policies", type=int, default=50, help="policies per width [50]")
    retrain.add_argument(
        "--lr-range",
        default=None,
        metavar="LOW,HIGH",
        help="learning rates, log-uniform [the dataset's lr /30 .. *30: ~3 orders of magnitude]",
    )
    retrain.add_argument(
        "--steps-range", default="100,500", metavar="LOW,HIGH", help="BC steps, uniform [100,500]"
    )
    retrain.add_argument(
        "--chunk-size", type=int, default=None, help="policies trained at once [fit in memory]"
    )
    retrain.add_argument("--seed", type=int, default=0)
    retrain.add_argument("--num-envs", type=int, default=None, help="eval envs [the dataset's]")
    retrain.add_argument("--num-steps", type=int, default=None, help="eval steps [the dataset's]")
    retrain.add_argument("--greedy", action=argparse.BooleanOptionalAction, default=None)
    retrain.add_argument(
        "--out", default=None, help="output directory [the dataset's run dir, else runs/...]"
    )
    retrain.set_defaults(func=cmd_retrain)

    merge = sub.add_parser(
        "merge",
        help="merge datasets of different tasks into one multi-task dataset (zero-padded)",
        description="States and actions are zero-padded: the first dataset's features and actions "
        "on the left, its pairs first. Writes MERGED.npz, MERGED.csv and MERGED.png.",
    )
    merge.add_argument("datasets", nargs="+", help="two or more dataset files or run directories")
    merge.add_argument("-o", "--out", required=True, help="the merged dataset file (.npz)")
    merge.set_defaults(func=cmd_merge)

    sweep = sub.add_parser(
        "sweep",
        help="distil one dataset per size and plot return against dataset size (Fig 6)",
        description="Runs `hades distill` once per --dataset-sizes entry (every distill option "
        "applies to all), in OUT/D<size>/, then writes sweep.csv/png/json into OUT.",
    )
    sweep.add_argument("--dataset-sizes", required=True, help="comma-separated, e.g. 4,16,64,256")
    sweep.add_argument("--preset", choices=sorted(PRESETS), default=None)
    sweep.add_argument("--out", default=None, help="sweep directory [runs/sweep-ENV-VARIANT-sS]")
    sweep.add_argument(
        "--baseline", default=None, metavar="RUN_DIR", help="a hades neuroevolve run to compare"
    )
    sweep.add_argument(
        "--quiet",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="log lines instead of progress bars [on]",
    )
    add_config_options(sweep)
    sweep.set_defaults(func=cmd_sweep)

    show = sub.add_parser(
        "show",
        help="draw a dataset (and a run's fitness curves): dataset.csv/png, fitness.csv/png",
    )
    show.add_argument("target", help="a dataset .npz (ours or the paper's) or a run directory")
    show.add_argument(
        "--out", default=None, help="output directory [the run directory, else runs/show-...]"
    )
    show.set_defaults(func=cmd_show)

    wrap_evaluate(sub.choices["evaluate"])
