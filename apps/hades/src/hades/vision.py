"""`hades vision`: distil MNIST / Fashion-MNIST into a few synthetic images (paper §5.4, Table 1).

The ES evolves the images; a candidate's fitness is minus the real-training-set loss of fresh
classifiers trained on it (hades_distill_vision.ImageDistillation). The run directory is the one
`hades distill` writes (config.json, metrics.jsonl, dataset.npz, summary.json) plus images.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np

from hades import __version__
from hades.engine import ProgressBar, make_generation_fn, run_generations, start_run
from hades.parallel import population_mesh
from hades.rundir import RunDir
from hades_bc_inner import FitConfig
from hades_dataset_io import SyntheticDataset
from hades_distill_vision import (
    ImageDistillation,
    Recipe,
    accuracy_summary,
    load_image_dataset,
    test_accuracy,
)
from hades_es_core import ESConfig


@dataclass(frozen=True)
class VisionConfig:
    # What to distil.
    dataset: str = "mnist"  # mnist | fashion-mnist
    data_dir: str | None = None  # default: $HADES_DATA_DIR, else ~/.cache/hades/data
    per_class: int = 1
    init: str = "mean"  # mean | real | zeros
    learn_labels: bool = False
    # Inner loop: the classifier and its training on the synthetic images.
    net: str = "cnn"  # cnn | mlp
    conv_features: int = 16
    width: int = 128
    steps: int = 1000
    lr: float = 0.1
    momentum: float = 0.0
    loss_scale: float = 1.0
    bias_init: float = 0.0  # > 0: biases ~ U[0, bias_init) (the published runs: 0.05)
    num_inits: int = 2  # classifiers trained per candidate
    init_mode: str = "shared"  # shared (CRN, HaDES-R) | per_member | fixed (HaDES-F)
    fitness_batch: int | None = None  # real images per fitness; None or 0: the whole train set
    eval_chunk: int = 1000  # real images per forward pass when scoring on the whole set
    # Outer loop.
    strategy: str = "open_es"
    popsize: int = 64
    generations: int = 200
    sigma_init: float = 0.02
    sigma_decay: float = 1.0
    sigma_limit: float = 0.0
    es_lr: float = 0.01
    es_lr_decay: float = 1.0
    es_lr_limit: float = 0.0
    fitness_shaping: str | None = "centered_rank"
    # Run and report.
    seed: int = 0
    eval_classifiers: int = 20  # fresh classifiers for the final test accuracy
    eval_every: int = 0  # > 0: test accuracy of the ES mean every this many generations
    curve_classifiers: int = 4  # classifiers per point of that curve
    time_limit: float | None = None  # minutes; stop after the generation running then
    chunk_size: int | None = None  # members evaluated at once per device; None: all

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def full_fitness_set(self) -> bool:
        return not self.fitness_batch

    def validate(self) -> None:
        if self.per_class < 1:
            raise ValueError("--per-class must be at least 1")
        if self.popsize < 2:
            raise ValueError("--popsize must be at least 2")
        if self.eval_classifiers < 1:
            raise ValueError("--eval-classifiers must be at least 1")
        # The rest (dataset, init, net, init_mode) is checked where it is used, by name.


# Overrides of the defaults; CLI options override a preset.
VISION_PRESETS: dict[str, dict[str, Any]] = {
    # The published MNIST / Fashion-MNIST runs (MANIFEST recipe mnist_cnn_sgd): OpenES, 512
    # candidates x 1000 generations, 2 inits each, fitness on the whole training set, and their
    # inner loop (SGD 0.1 x 1000 steps on cross-entropy / 10, biases ~ U[0, 0.05)). A GPU job.
    "paper": {
        "steps": 1000,
        "lr": 0.1,
        "momentum": 0.0,
        "loss_scale": 0.1,
        "bias_init": 0.05,
        "num_inits": 2,
        "fitness_batch": None,
        "strategy": "open_es",
        "popsize": 512,
        "generations": 1000,
        "sigma_init": 0.02,
        "sigma_decay": 0.999,
        "sigma_limit": 0.001,
        "es_lr": 0.01,
        "es_lr_decay": 0.999,
        "es_lr_limit": 0.001,
        "eval_every": 50,
    },
    # About 30 minutes on a 2-core CPU: a short inner loop, a small population, members one
    # at a time (a vmapped conv over members is slower on CPU), fitness on a shared minibatch.
    "cpu": {
        "steps": 20,
        "lr": 0.1,
        "num_inits": 1,
        "fitness_batch": 256,
        "popsize": 32,
        "generations": 2000,
        "sigma_init": 0.02,
        "es_lr": 0.01,
        "es_lr_decay": 0.997,  # a small population's steps are mostly noise: anneal them
        "es_lr_limit": 0.001,
        "eval_every": 25,
        "time_limit": 30.0,
        "chunk_size": 1,
    },
    # The same 30 CPU minutes with the MLP classifier (flatten -> dense 128 -> dense 10): a
    # member costs ~25x less than with the CNN, so the ES gets ~100x more candidates. On 2
    # cores: class means 80.1% -> 86.9% test accuracy in 30 minutes (packages/distill-vision).
    "cpu-mlp": {
        "net": "mlp",
        "steps": 50,
        "lr": 0.3,
        "num_inits": 1,
        "fitness_batch": 256,
        "popsize": 128,
        "generations": 5000,
        "sigma_init": 0.02,
        "es_lr": 0.01,
        "es_lr_decay": 0.998,
        "es_lr_limit": 0.001,
        "eval_every": 50,
        "time_limit": 30.0,
        "chunk_size": 1,
    },
}


def resolve_vision_config(preset: str | None, overrides: dict[str, Any]) -> VisionConfig:
    """Defaults, then the preset, then every option given explicitly (None means not given)."""
    values: dict[str, Any] = {}
    if preset is not None:
        if preset not in VISION_PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(VISION_PRESETS)}")
        values.update(VISION_PRESETS[preset])
    names = {f.name for f in dataclasses.fields(VisionConfig)}
    unknown = set(overrides) - names
    if unknown:
        raise ValueError(f"unknown config fields {sorted(unknown)}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    config = VisionConfig(**values)
    config.validate()
    return config


# -- building the pieces -------------------------------------------------------------------


def recipe_from(config: VisionConfig) -> Recipe:
    fit = FitConfig(
        steps=config.steps,
        lr=config.lr,
        optimizer="sgd",
        momentum=config.momentum,
        loss_scale=config.loss_scale,
    )
    return Recipe(
        net=config.net,
        width=config.width,
        conv_features=config.conv_features,
        fit=fit,
        bias_init_max=config.bias_init,
    )


def problem_from(config: VisionConfig, recipe: Recipe, train) -> ImageDistillation:
    return ImageDistillation(
        recipe=recipe,
        train=train,
        per_class=config.per_class,
        init=config.init,
        learn_labels=config.learn_labels,
        num_inits=config.num_inits,
        init_mode=config.init_mode,
        fitness_batch=None if config.full_fitness_set else config.fitness_batch,
        eval_chunk=config.eval_chunk,
        seed=config.seed,
    )


def es_config_from(config: VisionConfig) -> ESConfig:
    return ESConfig(
        strategy=config.strategy,
        popsize=config.popsize,
        sigma_init=config.sigma_init,
        sigma_decay=config.sigma_decay,
        sigma_limit=config.sigma_limit,
        lr_init=config.es_lr,
        lr_decay=config.es_lr_decay,
        lr_limit=config.es_lr_limit,
        fitness_shaping=config.fitness_shaping,
    )


# -- outputs -------------------------------------------------------------------------------


def save_image_grid(path: Path, images, class_of_row, class_names, title: str = "") -> Path:
    """One column per class, one row per image of that class; each image scaled to its own
    range (synthetic pixels are unconstrained)."""
    from matplotlib.figure import Figure  # object API: no global pyplot state

    images = np.asarray(images)[..., 0]
    class_of_row = np.asarray(class_of_row)
    num_classes = len(class_names)
    rows = max(1, math.ceil(len(images) / num_classes))
    fig = Figure(figsize=(1.1 * num_classes, 1.25 * rows + 0.3))
    axes = fig.subplots(rows, num_classes, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    slot = [0] * num_classes
    for image, label in zip(images, class_of_row):
        ax = axes[min(slot[label], rows - 1), label]
        slot[label] += 1
        ax.imshow(image, cmap="gray")
        ax.set_title(class_names[label], fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path


def dataset_from(config, problem, recipe, genome, extra_meta) -> SyntheticDataset:
    genome = jax.device_get(genome)
    logits = genome.get("label_logits")
    return SyntheticDataset(
        states=np.asarray(genome["images"], np.float32),
        labels=np.asarray(problem.labels, np.int32),
        actions=None if logits is None else np.asarray(logits, np.float32),
        meta={
            "hades_version": __version__,
            "env_id": config.dataset,
            "variant": "vision",
            "obs_shape": list(np.shape(genome["images"])[1:]),
            "action": {"kind": "discrete", "num_actions": recipe.num_classes},
            "obs_norm": "none",
            "policy": {
                "kind": recipe.net,
                "width": recipe.width,
                "conv_features": recipe.conv_features,
                "bias_init_max": recipe.bias_init_max,
            },
            "fit": dataclasses.asdict(recipe.fit),
            **extra_meta,
        },
    )


class VisionProgress(ProgressBar):
    """The engine's progress line, in the units of this problem (loss, accuracy)."""

    def update(self, generation: int, row: dict[str, Any]) -> None:
        text = (
            f"loss {-row['es_mean_fitness']:.4f} (pop {-row['fitness_mean']:.4f})  "
            f"train acc {row['real_accuracy_mean']:.1%}  sigma {row['sigma']:.3g}"
        )
        if "test_accuracy" in row:
            text += f"  test acc {row['test_accuracy']:.1%}"
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)
            self._bar.update(1)
        elif generation % self.every == 0 or "test_accuracy" in row:
            print(f"gen {generation:5d}  {text}  {row['seconds']:.2f}s", flush=True)


# -- the run -------------------------------------------------------------------------------


def run_vision(config: VisionConfig, out: str | Path, quiet: bool = False) -> dict[str, Any]:
    """Evolve synthetic images, save them, report their test accuracy; returns the summary."""
    config.validate()
    data = load_image_dataset(config.dataset, config.data_dir)
    run = RunDir.create(out, config, command="vision")
    recipe = recipe_from(config)
    problem = problem_from(config, recipe, data.train)
    es_config = es_config_from(config)
    run_key, genome0, strategy, es_state = start_run(problem, es_config, config.seed)
    mesh = population_mesh(popsize=config.popsize)
    generation_fn = make_generation_fn(strategy, problem, mesh, config.popsize, config.chunk_size)

    # Same classifier inits for every accuracy we report: differences are the images'.
    eval_key = jax.random.fold_in(run_key, 0x7E57)

    def accuracies(genome, num_classifiers):
        targets = problem.targets(genome)
        return test_accuracy(
            genome["images"], targets, recipe, eval_key, num_classifiers, data.test
        )

    init_accuracies = accuracies(genome0, config.eval_classifiers)
    print(
        f"{config.dataset}: the {config.init} initialisation alone gives test accuracy "
        f"{init_accuracies.mean():.2%} ± {init_accuracies.std():.2%}",
        flush=True,
    )

    progress = VisionProgress(config.generations, quiet=quiet)
    history: dict[str, list[float]] = {"mean": [], "max": [], "es_mean": []}
    curve = [{"generation": 0, "seconds": 0.0, "test_accuracy": float(init_accuracies.mean())}]
    t0 = time.perf_counter()

    def on_generation(generation, state, row):
        if config.eval_every and (generation + 1) % config.eval_every == 0:
            accs = accuracies(strategy.mean(state), config.curve_classifiers)
            row["test_accuracy"] = float(accs.mean())
            curve.append(
                {
                    "generation": generation + 1,
                    "seconds": time.perf_counter() - t0,
                    "test_accuracy": float(accs.mean()),
                }
            )
        run.log_metrics(row)
        progress.update(generation, row)
        history["mean"].append(row["fitness_mean"])
        history["max"].append(row["fitness_max"])
        history["es_mean"].append(row["es_mean_fitness"])

    done, block = 0, 10  # the time limit is checked between blocks of generations
    while done < config.generations and not (done and out_of_time(config, t0)):
        stop = min(done + block, config.generations)
        es_state = run_generations(generation_fn, es_state, run_key, done, stop, on_generation)
        done = stop
    progress.close()
    evolve_seconds = time.perf_counter() - t0

    genome = strategy.mean(es_state)
    final_accuracies = accuracies(genome, config.eval_classifiers)
    final, initial = accuracy_summary(final_accuracies), accuracy_summary(init_accuracies)
    dataset = dataset_from(
        config,
        problem,
        recipe,
        genome,
        {
            "es": dataclasses.asdict(es_config),
            "fitness_history": history,
            "eval": {"num_classifiers": config.eval_classifiers, "test_accuracy": final["mean"]},
            "source": {"command": "vision", "dataset": config.dataset, "init": config.init},
        },
    )
    dataset_path = run.save_dataset(dataset)
    class_of_row = (
        np.argmax(np.asarray(genome["label_logits"]), -1)
        if config.learn_labels
        else np.asarray(problem.labels)
    )
    grid_path = save_image_grid(
        run.path / "images.png",
        genome["images"],
        class_of_row,
        data.class_names,
        f"{config.dataset}: test accuracy {final['mean']:.1%} ± {final['std']:.1%} "
        f"after {done} generations",
    )
    summary = {
        "dataset": config.dataset,
        "dataset_file": str(dataset_path),
        "image_grid": str(grid_path),
        "num_images": problem.num_images,
        "generations": done,
        "generations_planned": config.generations,
        "stopped_by_time_limit": done < config.generations,
        "final_es_mean_fitness": history["es_mean"][-1] if history["es_mean"] else None,
        "eval_classifiers": config.eval_classifiers,
        "test_accuracy_mean": final["mean"],
        "test_accuracy_std": final["std"],
        "test_accuracies": final_accuracies.tolist(),
        "init_test_accuracy_mean": initial["mean"],
        "init_test_accuracy_std": initial["std"],
        "init_test_accuracies": init_accuracies.tolist(),
        "test_accuracy_curve": curve,
        "evolve_seconds": evolve_seconds,
        "devices": mesh.size,
    }
    run.write_summary(summary)
    return summary


def out_of_time(config: VisionConfig, t0: float) -> bool:
    return config.time_limit is not None and time.perf_counter() - t0 >= 60 * config.time_limit


# -- the command ---------------------------------------------------------------------------

_HELP = {
    "dataset": "mnist | fashion-mnist",
    "data_dir": "folder with the IDX files, or with mnist/ and fashion-mnist/ in it "
    "(downloaded there when missing and online)",
    "per_class": "synthetic images per class",
    "init": "initial images: mean (class means) | real (random real images) | zeros",
    "learn_labels": "also evolve soft labels (logits)",
    "net": "classifier: cnn (conv 3x3 -> dense -> dense) | mlp",
    "conv_features": "channels of the CNN's conv layer",
    "width": "hidden units of the classifier's dense layer",
    "steps": "SGD steps of each classifier on the synthetic images",
    "lr": "SGD learning rate",
    "loss_scale": "multiplies the cross-entropy (the paper: 0.1 = CE / 10 classes)",
    "bias_init": "> 0: biases drawn from U[0, bias_init) (the paper: 0.05)",
    "num_inits": "classifiers trained per candidate",
    "init_mode": "their inits: shared (by the population, new each generation) | per_member "
    "| fixed (one for the whole run)",
    "fitness_batch": "real training images per fitness (a fresh batch each generation); "
    "0: the whole training set",
    "eval_chunk": "real images per forward pass on the whole training set",
    "strategy": "evosax algorithm: open_es, snes, ...",
    "fitness_shaping": "centered_rank | z_score | raw | default (the strategy's own)",
    "eval_classifiers": "fresh classifiers for the final test accuracy",
    "eval_every": "test accuracy of the ES mean every N generations (0: only at the end)",
    "curve_classifiers": "classifiers per point of that curve",
    "time_limit": "stop after this many minutes",
    "chunk_size": "members evaluated at once per device (bounds memory; 1 is fastest on CPU)",
}


def add_vision_options(parser: argparse.ArgumentParser) -> None:
    from hades.cli import _base_type, _optional_str

    for field in dataclasses.fields(VisionConfig):
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


def config_from_args(args: argparse.Namespace) -> VisionConfig:
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(VisionConfig)}
    return resolve_vision_config(args.preset, overrides)


def cmd_vision(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    out = Path(args.out or f"runs/vision-{config.dataset}-s{config.seed}")
    summary = run_vision(config, out, quiet=args.quiet)
    print(
        f"{config.dataset}, {summary['num_images']} synthetic images: test accuracy "
        f"{summary['test_accuracy_mean']:.2%} ± {summary['test_accuracy_std']:.2%} over "
        f"{summary['eval_classifiers']} fresh classifiers (the {config.init} initialisation "
        f"alone: {summary['init_test_accuracy_mean']:.2%}); dataset {summary['dataset_file']}"
    )
    print(f"run directory: {out}")
    return 0


def add_vision_parser(subparsers) -> argparse.ArgumentParser:
    """Register `hades vision` on the main parser's subparsers."""
    from hades.cli import add_cpu_devices_option

    parser = subparsers.add_parser(
        "vision", help="distil MNIST / Fashion-MNIST into a few synthetic images (HaDES)"
    )
    parser.add_argument("--preset", choices=sorted(VISION_PRESETS), default=None)
    parser.add_argument("--out", default=None, help="run directory [default: runs/vision-...]")
    parser.add_argument("--quiet", action="store_true", help="log lines instead of a progress bar")
    add_cpu_devices_option(parser)
    add_vision_options(parser)
    parser.set_defaults(func=cmd_vision)
    return parser
