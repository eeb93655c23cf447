"""The outer loop's hyperparameters: the paper's ES knobs, independent of any algorithm."""

from __future__ import annotations

import dataclasses

FITNESS_SHAPINGS = ("centered_rank", "z_score", "raw")
OPTIMIZERS = ("adam", "sgd")


@dataclasses.dataclass(frozen=True)
class ESConfig:
    """Evolution-strategy hyperparameters (frozen, hashable, JSON-able via `dataclasses.asdict`).

    Attributes:
      strategy: "open_es", "snes" or any `evosax.algorithms` name, matched case- and
        underscore-insensitively ("cma_es", "Sep_CMA_ES", "xnes", "simple_ga", ...).
      popsize: members per generation.
      sigma_init: initial search std (evosax `std_init` / the std schedule's start).
      sigma_decay: per-generation std decay, for strategies driven by a std schedule (OpenES...).
      sigma_limit: floor on the std, for every strategy that has one (SNES, CMA-ES... included).
      lr_init, lr_decay, lr_limit: exponentially decaying learning rate, floored at lr_limit,
        for strategies that take an optax optimizer.
      optimizer: "adam" or "sgd" (SNES/xNES's textbook natural-gradient step is sgd, lr_init=1).
      temperature: > 0 uses evosax<=0.1's SNES rank weights `softmax(-20 sigmoid(T ranks))`
        (the paper uses 20); 0 keeps the strategy's own weights.
      fitness_shaping: None (the strategy's default) | "centered_rank" | "z_score" | "raw".
      antithetic: mirrored sampling, for strategies that support it (OpenES).
    """

    strategy: str = "open_es"
    popsize: int = 64
    sigma_init: float = 0.1
    sigma_decay: float = 1.0
    sigma_limit: float = 0.0
    lr_init: float = 0.05
    lr_decay: float = 1.0
    lr_limit: float = 0.0
    optimizer: str = "adam"
    temperature: float = 0.0
    fitness_shaping: str | None = None
    antithetic: bool = True

    def __post_init__(self):
        if self.popsize < 2:
            raise ValueError(f"popsize must be at least 2, got {self.popsize}")
        if not self.sigma_init > 0:
            raise ValueError(f"sigma_init must be positive, got {self.sigma_init}")
        if self.sigma_limit < 0 or self.lr_limit < 0:
            raise ValueError("sigma_limit and lr_limit must be non-negative")
        if self.temperature < 0:
            raise ValueError(f"temperature must be non-negative, got {self.temperature}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.fitness_shaping not in (None, *FITNESS_SHAPINGS):
            raise ValueError(
                f"fitness_shaping must be None or one of {FITNESS_SHAPINGS}, "
                f"got {self.fitness_shaping!r}"
            )
