"""Run configuration: one flat dataclass, named presets, and the rule "CLI beats preset beats
default". The resolved config is what a run directory records and what `--resume` checks."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class DistillConfig:
    # What to distil.
    env: str = "CartPole-v1"
    backend: str | None = None  # brax physics backend (positional, spring, generalized, mjx)
    variant: str = "R"  # F: one fixed init; R: fresh inits every generation; R+: R with sampled
    # width, learning rate and BC steps every generation (from the rplus_* ranges)
    dataset_size: int = 4
    init: str = "zeros"  # initial synthetic states: zeros | normal | rollout (visited states)
    # Inner loop: the policy and how it is fitted to the dataset.
    width: int = 64
    depth: int = 2
    activation: str = "relu"
    bc_steps: int = 100
    bc_lr: float = 0.03
    bc_optimizer: str = "adam"
    bc_momentum: float = 0.0
    bc_max_grad_norm: float | None = None
    bc_anneal: bool = False
    bc_data_noise: float = 0.0
    num_inits: int | None = None  # policy inits per candidate; default F: 1, R: 2
    init_mode: str = "shared"  # R: inits shared by the population (CRN) | per_member
    # Evaluation of a trained policy.
    num_envs: int = 4
    num_steps: int | None = None  # default: the env's episode length
    greedy: bool = True
    obs_norm: str = "none"  # none | const | running
    # Outer loop.
    strategy: str = "open_es"
    popsize: int = 64
    generations: int = 60
    sigma_init: float = 0.5
    sigma_decay: float = 1.0
    sigma_limit: float = 0.0
    es_lr: float = 0.05
    es_lr_decay: float = 1.0
    es_lr_limit: float = 0.0
    es_optimizer: str = "adam"
    temperature: float = 0.0
    fitness_shaping: str | None = None  # None: the strategy's own (OpenES: centered rank)
    # Run.
    seed: int = 0
    retrain_inits: int = 20
    chunk_size: int | None = None  # members evaluated at once per device; None: automatic
    # HaDES-R+: what each generation's inner loop samples (None: the defaults below).
    rplus_widths: str | None = None  # comma-separated widths; default width/2,width,2w,4w
    rplus_lr_range: str | None = None  # "LOW,HIGH", log-uniform; default bc_lr/10,bc_lr*10
    rplus_steps_range: str | None = None  # "LOW,HIGH", uniform; default bc_steps/2,bc_steps*2
    # Evolve the inner loop's learning rate and BC step count with the dataset (paper §6).
    evolve_inner: bool = False

    @property
    def inits_per_candidate(self) -> int:
        if self.num_inits is not None:
            return self.num_inits
        return 1 if self.variant == "F" else 2

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def _rplus_options(self) -> tuple[str | None, ...]:
        return (self.rplus_widths, self.rplus_lr_range, self.rplus_steps_range)

    @property
    def rplus_sampling(self) -> tuple[tuple[int, ...], tuple[float, float], tuple[int, int]]:
        """(widths, lr range, BC-steps range) that HaDES-R+ samples from, defaults applied."""
        widths = _ints(self.rplus_widths, "--rplus-widths") or tuple(
            sorted({max(1, self.width // 2), self.width, 2 * self.width, 4 * self.width})
        )
        lr = _pair(self.rplus_lr_range, float, "--rplus-lr-range") or (
            self.bc_lr / 10,
            self.bc_lr * 10,
        )
        steps = _pair(self.rplus_steps_range, int, "--rplus-steps-range") or (
            max(1, self.bc_steps // 2),
            2 * self.bc_steps,
        )
        if any(w < 1 for w in widths):
            raise ValueError(f"--rplus-widths must be positive, got {self.rplus_widths!r}")
        if not 0 < lr[0] <= lr[1]:
            raise ValueError(f"--rplus-lr-range needs 0 < LOW <= HIGH, got {lr}")
        if not 1 <= steps[0] <= steps[1]:
            raise ValueError(f"--rplus-steps-range needs 1 <= LOW <= HIGH, got {steps}")
        return widths, lr, steps

    def validate(self) -> None:
        if self.variant not in VARIANTS:
            choices = ", ".join(VARIANTS)
            raise ValueError(f"--variant must be one of {choices}, got {self.variant!r}")
        if self.variant == "R+":
            self.rplus_sampling  # noqa: B018 - parses and checks the ranges
            if self.evolve_inner:
                raise ValueError(
                    "--evolve-inner and --variant R+ both set the inner learning rate and step "
                    "count; use one of them"
                )
        elif any(v is not None for v in self._rplus_options()):
            raise ValueError("--rplus-* options need --variant R+")
        if self.dataset_size < 1:
            raise ValueError("--dataset-size must be at least 1")
        if self.popsize < 2:
            raise ValueError("--popsize must be at least 2")
        if self.init_mode not in ("shared", "per_member"):
            raise ValueError("--init-mode must be shared or per_member")
        if self.obs_norm not in ("none", "const", "running"):
            raise ValueError("--obs-norm must be none, const or running")
        if self.init not in ("zeros", "normal", "rollout"):
            raise ValueError("--init must be zeros, normal or rollout")


VARIANTS = ("F", "R", "R+")


def _ints(text: str | None, flag: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"{flag} takes comma-separated integers, got {text!r}") from None


def _pair(text: str | None, kind, flag: str):
    if text is None:
        return None
    try:
        low, high = (kind(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"{flag} takes LOW,HIGH, got {text!r}") from None
    return low, high


# Presets: overrides of the defaults. Each is sized to be useful as it is.
PRESETS: dict[str, dict[str, Any]] = {
    # The default run: CartPole-v1, HaDES-R, 4 state-action pairs, about a minute on a laptop CPU.
    "cartpole": {},
    # Pendulum-v1 swing-up with learned continuous actions (Gaussian NLL inner loop).
    # Measured: retrained return -168.7 ± 38.5 over 20 fresh inits after 400 generations.
    "pendulum": {
        "env": "Pendulum-v1",
        "dataset_size": 16,
        "init": "normal",
        "activation": "tanh",
        "bc_steps": 100,
        "bc_lr": 0.01,
        "bc_max_grad_norm": 1.0,
        "num_envs": 8,
        "popsize": 128,
        "generations": 400,
        "sigma_init": 0.5,
        "sigma_decay": 0.995,
        "sigma_limit": 0.1,
        "es_lr": 0.1,
    },
    # Paper Table 2 (Brax; 8 V100s in the paper): HaDES-F, 64 pairs, OpenES.
    "paper-brax": {
        "env": "hopper",
        "backend": "positional",
        "variant": "F",
        "dataset_size": 64,
        "width": 512,
        "activation": "tanh",
        "bc_steps": 400,
        "bc_lr": 0.005,
        "bc_max_grad_norm": 0.5,
        "num_envs": 4,
        "num_steps": 1024,
        "greedy": False,
        "obs_norm": "const",
        "popsize": 2048,
        "generations": 2000,
        "sigma_init": 0.03,
        "es_lr": 0.05,
    },
    # Paper Table 3 (MinAtar): HaDES-R, 16 pairs, SNES with temperature 20. The paper's SNES
    # moved the mean with learning rate 1 (evosax 0.1 default; its 0.05 reached only OpenES) and
    # its "LR anneal" never annealed (integer division), so neither is used here.
    "paper-minatar": {
        "env": "SpaceInvaders-MinAtar",
        "variant": "R",
        "dataset_size": 16,
        "width": 512,
        "activation": "relu",
        "bc_steps": 64,
        "bc_lr": 0.03,
        "num_envs": 8,
        "num_steps": 1024,
        "greedy": False,
        "obs_norm": "const",
        "popsize": 2048,
        "generations": 5000,
        "strategy": "snes",
        "sigma_init": 0.5,
        "sigma_limit": 0.01,
        "temperature": 20.0,
        "es_optimizer": "sgd",
        "es_lr": 1.0,
    },
    # Brax at laptop scale: spring physics (3x faster than positional on CPU), small policy.
    "cpu-brax": {
        "env": "hopper",
        "backend": "spring",
        "variant": "F",
        "dataset_size": 16,
        "init": "rollout",
        "width": 64,
        "activation": "tanh",
        "bc_steps": 100,
        "bc_lr": 0.005,
        "bc_max_grad_norm": 0.5,
        "num_envs": 2,
        "num_steps": 1000,
        "greedy": True,
        "popsize": 32,
        "generations": 300,
        "sigma_init": 0.1,
        "es_lr": 0.05,
    },
    # MinAtar at laptop scale (paper Table 3 scaled down).
    "cpu-minatar": {
        "env": "Breakout-MinAtar",
        "variant": "F",
        "dataset_size": 16,
        "width": 128,
        "bc_steps": 64,
        "bc_lr": 0.03,
        "num_envs": 4,
        "greedy": False,
        "obs_norm": "const",
        "popsize": 32,
        "generations": 30,
        "strategy": "snes",
        "sigma_init": 0.5,
        "sigma_limit": 0.01,
        "temperature": 20.0,
        "es_optimizer": "sgd",
        "es_lr": 1.0,
    },
}


def resolve_config(preset: str | None, overrides: dict[str, Any]) -> DistillConfig:
    """Defaults, then the preset, then every option given explicitly (None means not given)."""
    values: dict[str, Any] = {}
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
        values.update(PRESETS[preset])
    names = {f.name for f in fields(DistillConfig)}
    unknown = set(overrides) - names
    if unknown:
        raise ValueError(f"unknown config fields {sorted(unknown)}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    config = DistillConfig(**values)
    config.validate()
    return config


def load_config(path) -> DistillConfig:
    with open(path) as f:
        data = json.load(f)
    data.pop("command", None)
    return DistillConfig(**data)
