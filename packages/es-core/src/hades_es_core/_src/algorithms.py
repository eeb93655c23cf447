"""From an `ESConfig` to an evosax algorithm and its params, generically over evosax's catalogue."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import jax.numpy as jnp
import optax
from evosax.algorithms import algorithms as EVOSAX_ALGORITHMS
from evosax.algorithms.base import EvolutionaryAlgorithm
from evosax.algorithms.distribution_based.discovered_es import DiscoveredES, get_weights
from evosax.algorithms.distribution_based.xnes import xNES
from evosax.core import fitness_shaping

from hades_es_core._src.config import ESConfig

FITNESS_SHAPING_FNS = {
    "centered_rank": fitness_shaping.centered_rank_fitness_shaping_fn,
    "z_score": fitness_shaping.standardize_fitness_shaping_fn,
    "raw": fitness_shaping.identity_fitness_shaping_fn,
}

# Strategies whose rank weights are NES utilities, where evosax<=0.1's temperature weights apply.
_TEMPERATURE_STRATEGIES = (xNES, DiscoveredES)  # SNES subclasses xNES

# Constructor arguments every evosax algorithm gets from `make_algorithm` itself.
_ALWAYS_PASSED = ("self", "population_size", "solution")


def available_strategies() -> tuple[str, ...]:
    """The evosax algorithm names `ESConfig.strategy` can take (any case, underscores optional)."""
    return tuple(sorted(EVOSAX_ALGORITHMS, key=str.lower))


def _normalise(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def algorithm_class(name: str) -> type[EvolutionaryAlgorithm]:
    """The evosax algorithm class called `name` ("open_es", "SNES", "cma_es", "simple_ga"...)."""
    by_name = {_normalise(key): cls for key, cls in EVOSAX_ALGORITHMS.items()}
    try:
        return by_name[_normalise(name)]
    except KeyError:
        raise ValueError(
            f"unknown strategy {name!r}; available: {', '.join(available_strategies())}"
        ) from None


def exponential_schedule(init: float, decay: float, limit: float) -> optax.Schedule:
    """`init * decay**count`, floored at `limit`: the paper's sigma and lr schedules."""

    def schedule(count):
        return jnp.maximum(init * jnp.asarray(decay, jnp.float32) ** count, limit)

    return schedule


def sigma_schedule(config: ESConfig) -> optax.Schedule:
    return exponential_schedule(config.sigma_init, config.sigma_decay, config.sigma_limit)


def lr_schedule(config: ESConfig) -> optax.Schedule:
    return exponential_schedule(config.lr_init, config.lr_decay, config.lr_limit)


def make_optimizer(config: ESConfig) -> optax.GradientTransformation:
    """adam or sgd on the lr schedule (optax counts updates from 0: generation g uses lr(g))."""
    optimizers = {"adam": optax.adam, "sgd": optax.sgd}
    return optimizers[config.optimizer](learning_rate=lr_schedule(config))


def _shapes_by_rank_weights(init_args: dict[str, inspect.Parameter]) -> bool:
    # These strategies turn fitness *ranks* into their own weights (params.weights, higher is
    # better): a shaping function there would replace the weights, with the opposite sign.
    shaping = init_args.get("fitness_shaping_fn")
    return shaping is None or shaping.default is fitness_shaping.weights_fitness_shaping_fn


def algorithm_kwargs(config: ESConfig, cls: type[EvolutionaryAlgorithm]) -> dict[str, Any]:
    """Constructor kwargs for `cls` from `config`: only those its `__init__` accepts.

    A knob set away from its neutral value that `cls` cannot honour raises ValueError, rather
    than being silently dropped.
    """
    init_args = dict(inspect.signature(cls.__init__).parameters)
    kwargs: dict[str, Any] = {}
    if "optimizer" in init_args:
        kwargs["optimizer"] = make_optimizer(config)
    if "std_schedule" in init_args:
        kwargs["std_schedule"] = sigma_schedule(config)
    elif config.sigma_decay != 1.0:
        raise ValueError(
            f"{cls.__name__} adapts its own std, so sigma_decay must be 1.0 "
            "(sigma_limit still applies)"
        )
    if "use_antithetic_sampling" in init_args:
        kwargs["use_antithetic_sampling"] = config.antithetic
    if config.fitness_shaping is not None:
        if _shapes_by_rank_weights(init_args):
            raise ValueError(
                f"{cls.__name__} weights members by fitness rank (params.weights), so only the "
                "fitness order matters: fitness_shaping must be None"
            )
        kwargs["fitness_shaping_fn"] = FITNESS_SHAPING_FNS[config.fitness_shaping]
    return kwargs


def make_algorithm(
    config: ESConfig, genome_template: Any, **overrides: Any
) -> tuple[EvolutionaryAlgorithm, Any]:
    """The evosax algorithm named by `config.strategy` and its params, set from `config`.

    `overrides` go straight to the algorithm's constructor (they win over the config): use them
    for arguments hades does not know about, e.g. `sampling_fn` for RandomSearch.
    """
    cls = algorithm_class(config.strategy)
    kwargs = algorithm_kwargs(config, cls) | overrides
    missing = [
        name
        for name, arg in inspect.signature(cls.__init__).parameters.items()
        if arg.default is inspect.Parameter.empty
        and arg.kind not in (arg.VAR_POSITIONAL, arg.VAR_KEYWORD)
        and name not in (*_ALWAYS_PASSED, *kwargs)
    ]
    if missing:
        raise ValueError(
            f"{cls.__name__} needs {missing}: pass them to make_strategy as keyword arguments"
        )
    algorithm = cls(population_size=config.popsize, solution=genome_template, **kwargs)
    return algorithm, make_params(config, algorithm)


def make_params(config: ESConfig, algorithm: EvolutionaryAlgorithm) -> Any:
    """The algorithm's default params, `std_init` and (temperature > 0) `weights` from config."""
    params = algorithm.default_params
    fields = {field.name for field in dataclasses.fields(params)}
    if "std_init" in fields:
        params = dataclasses.replace(params, std_init=jnp.asarray(config.sigma_init, jnp.float32))
    if config.temperature > 0:
        if not isinstance(algorithm, _TEMPERATURE_STRATEGIES):
            raise ValueError(
                f"temperature applies to SNES/xNES/DES rank weights, not {type(algorithm).__name__}"
            )
        params = dataclasses.replace(
            params, weights=get_weights(config.popsize, config.temperature)
        )
    return params
