"""hades_env_adapters: gymnax and brax environments behind one interface, with streaming policy
evaluation, observation normalisation and statistics, and environment-state sampling."""

from hades_env_adapters._src.adapter import Backend, EnvAdapter
from hades_env_adapters._src.evaluate import (
    ActFn,
    EvalResult,
    evaluate,
    evaluate_with_obs_stats,
    random_act_fn,
)
from hades_env_adapters._src.obs_norm import ObsNorm, ObsStats, merge_stats
from hades_env_adapters._src.obs_stats import (
    MissingObsStatsError,
    compute_obs_stats,
    load_obs_stats,
    obs_stats_for,
    save_obs_stats,
    shipped_obs_stats_ids,
)
from hades_env_adapters._src.registry import (
    BRAX_ENV_IDS,
    TESTED_ENV_IDS,
    make_env,
    supported_env_ids,
)
from hades_env_adapters._src.rollout import fold_observations, sample_states

__version__ = "0.1.0"

__all__ = [
    "BRAX_ENV_IDS",
    "TESTED_ENV_IDS",
    "ActFn",
    "Backend",
    "EnvAdapter",
    "EvalResult",
    "MissingObsStatsError",
    "ObsNorm",
    "ObsStats",
    "compute_obs_stats",
    "evaluate",
    "evaluate_with_obs_stats",
    "fold_observations",
    "load_obs_stats",
    "make_env",
    "merge_stats",
    "obs_stats_for",
    "random_act_fn",
    "sample_states",
    "save_obs_stats",
    "shipped_obs_stats_ids",
    "supported_env_ids",
]
