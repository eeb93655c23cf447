"""hades_env_adapters: gymnax (and, later, brax) environments behind one interface, with
streaming policy evaluation and observation normalisation."""

from hades_env_adapters._src.adapter import Backend, EnvAdapter
from hades_env_adapters._src.evaluate import (
    ActFn,
    EvalResult,
    evaluate,
    evaluate_with_obs_stats,
    random_act_fn,
)
from hades_env_adapters._src.obs_norm import ObsNorm, ObsStats, merge_stats
from hades_env_adapters._src.registry import TESTED_ENV_IDS, make_env, supported_env_ids

__version__ = "0.1.0"

__all__ = [
    "TESTED_ENV_IDS",
    "ActFn",
    "Backend",
    "EnvAdapter",
    "EvalResult",
    "ObsNorm",
    "ObsStats",
    "evaluate",
    "evaluate_with_obs_stats",
    "make_env",
    "merge_stats",
    "random_act_fn",
    "supported_env_ids",
]
