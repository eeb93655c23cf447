"""The benchmark configurations: the paper's code was timed on this machine with these settings.

Each entry maps to `hades distill` DistillConfig fields (see apps/hades/src/hades/config.py);
anything not listed keeps DistillConfig's default. `paper` holds what the paper's own scripts
(old evosax, CPU jaxlib) measured on this 2-core machine: steady seconds per generation and
peak RSS in GiB.
"""

from __future__ import annotations

from typing import Any

CARTPOLE: dict[str, Any] = {
    "env": "CartPole-v1",
    "variant": "F",  # HaDES-F: one fixed init, 1 rollout per member
    "strategy": "open_es",
    "popsize": 128,
    "dataset_size": 4,
    "width": 64,
    "depth": 2,
    "activation": "relu",
    "bc_steps": 100,
    "bc_lr": 0.03,
    "bc_optimizer": "adam",
    "num_envs": 2,
    "num_steps": 500,
    "greedy": False,  # actions sampled from the policy, as the paper's code does
}

BREAKOUT: dict[str, Any] = {
    "env": "Breakout-MinAtar",
    "variant": "F",
    "strategy": "snes",
    "popsize": 256,
    "dataset_size": 16,
    "width": 512,
    "depth": 2,
    "activation": "relu",
    "bc_steps": 64,
    "bc_lr": 0.03,
    "bc_optimizer": "adam",
    "num_envs": 8,
    "num_steps": 1024,
    "greedy": False,
}

HOPPER: dict[str, Any] = {
    "env": "hopper",
    "backend": "positional",
    "variant": "F",
    "strategy": "open_es",
    "popsize": 32,
    "dataset_size": 64,
    "width": 512,
    "depth": 2,
    "activation": "tanh",
    "bc_steps": 400,
    "bc_lr": 5e-3,
    "bc_optimizer": "adam",
    "bc_max_grad_norm": 0.5,  # the paper's brax inner loop (preset paper-brax)
    "num_envs": 4,
    "num_steps": 1024,
    "greedy": False,
    "obs_norm": "const",
}

# name -> (DistillConfig fields, the paper's code on this machine)
BENCHMARKS: dict[str, dict[str, Any]] = {
    "cartpole": {
        "config": CARTPOLE,
        "paper": {"seconds_per_generation": 1.0, "peak_rss_gib": 0.47},
    },
    "breakout-256": {
        "config": BREAKOUT,
        "paper": {"seconds_per_generation": 140.0, "peak_rss_gib": 2.16},
    },
    "breakout-512": {
        "config": {**BREAKOUT, "popsize": 512},
        "paper": {"seconds_per_generation": 244.0, "peak_rss_gib": 3.77},
    },
    "hopper": {
        "config": HOPPER,
        "paper": {"seconds_per_generation": 63.0, "peak_rss_gib": 0.97, "compile_seconds": 83.0},
    },
}

# Memory per extra population member: breakout-512 vs breakout-256.
PER_MEMBER = ("breakout-256", "breakout-512")
PAPER_MB_PER_EXTRA_MEMBER = 6.3

# Targets of issue #4, as fractions of the paper's figures.
TARGET_SPEEDUP = 3.0
TARGET_MEMORY_FRACTION = 1 / 3
TARGET_PER_MEMBER_FRACTION = 1 / 10
