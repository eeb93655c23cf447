"""hades-es-core: evolution strategies over any pytree genome, on evosax.

Users maximise; `Strategy` turns any `evosax.algorithms` algorithm into pure, jittable
`init`/`ask`/`tell` with the paper's knobs (`ESConfig`), NaN-safe fitness and scalar metrics.
"""

from hades_es_core._src.algorithms import available_strategies
from hades_es_core._src.config import ESConfig
from hades_es_core._src.evolve import (
    evolve,
    generation_step,
    member_keys,
    population_fitness,
)
from hades_es_core._src.strategy import METRIC_NAMES, Strategy, make_strategy

__version__ = "0.1.0"

__all__ = [
    "METRIC_NAMES",
    "ESConfig",
    "Strategy",
    "__version__",
    "available_strategies",
    "evolve",
    "generation_step",
    "make_strategy",
    "member_keys",
    "population_fitness",
]
