"""A behaviour-cloning task: everything needed to turn a synthetic dataset into a return.

It ties one environment to one policy architecture, one inner-loop recipe and one evaluation
protocol. `hades distill` scores candidate datasets with it; `hades evaluate` retrains from a saved
dataset with it. The same object is rebuilt from a dataset file's metadata, so a dataset always
retrains the way it was evolved.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hades_bc_inner import (
    FitConfig,
    balanced_labels,
    categorical_action,
    cross_entropy,
    fit_with,
    gaussian_action,
    gaussian_nll,
    make_policy,
)
from hades_env_adapters import EnvAdapter, ObsNorm, evaluate, sample_states


def _action_spec(env: EnvAdapter) -> dict[str, Any]:
    if env.discrete:
        return {"kind": "discrete", "num_actions": int(env.num_actions)}
    return {
        "kind": "continuous",
        "dim": int(env.action_dim),
        "low": [float(x) for x in env.action_low],
        "high": [float(x) for x in env.action_high],
    }


@dataclasses.dataclass(frozen=True)
class BCTask:
    """Env + policy + inner loop + evaluation. Hashable, so jitted closures over it are cached."""

    env: EnvAdapter
    width: int
    depth: int
    activation: str
    fit_config: FitConfig
    num_envs: int
    num_steps: int | None
    greedy: bool
    obs_norm_mode: str = "none"
    env_options: tuple = ()  # what make_env needs besides the id, e.g. (("backend", "spring"),)
    # Constant observation statistics live outside the hashable part (see `obs_norm`).
    obs_stats: tuple[np.ndarray, np.ndarray] | None = dataclasses.field(
        default=None, compare=False, hash=False
    )

    @property
    def discrete(self) -> bool:
        return bool(self.env.discrete)

    @property
    def action_spec(self) -> dict[str, Any]:
        return _action_spec(self.env)

    @property
    def net(self):
        out_dim = self.env.num_actions if self.discrete else self.env.action_dim
        return make_policy(
            "categorical" if self.discrete else "gaussian",
            out_dim,
            width=self.width,
            depth=self.depth,
            activation=self.activation,
        )

    @property
    def obs_norm(self) -> ObsNorm:
        if self.obs_norm_mode == "none":
            return ObsNorm.none()
        if self.obs_norm_mode == "running":
            return ObsNorm.running()
        if self.obs_stats is None:
            raise ValueError(
                f"constant observation normalisation for {self.env.env_id} needs statistics; "
                "none ship for this env. Compute them with `hades obs-stats ENV` or use "
                "--obs-norm none|running."
            )
        mean, var = self.obs_stats
        return ObsNorm.const(jnp.asarray(mean), jnp.asarray(var))

    # -- datasets as genomes ----------------------------------------------------------------

    def labels(self, dataset_size: int) -> jax.Array | None:
        """Fixed labels for discrete actions (never evolved); None when actions are learned."""
        if not self.discrete:
            return None
        return balanced_labels(dataset_size, self.env.num_actions)

    def initial_genome(self, dataset_size: int, init: str, key: jax.Array) -> dict[str, jax.Array]:
        obs_dim = self.env.obs_shape
        if init == "zeros":
            states = jnp.zeros((dataset_size, *obs_dim), jnp.float32)
        elif init == "normal":
            states = jax.random.normal(key, (dataset_size, *obs_dim), jnp.float32)
        elif init == "rollout":
            # States a random policy visits, in the space the policy sees (normalised or not).
            raw = sample_states(self.env, key, dataset_size)
            norm = self.obs_norm
            states = jax.vmap(lambda o: norm.normalize(norm.init(o.shape), o))(raw)
            if self.obs_norm_mode == "running":
                states = raw  # running stats start at mean 0, var 1
        else:
            raise ValueError(f"unknown --init {init!r}: use zeros, normal or rollout")
        genome = {"states": states}
        if not self.discrete:
            # Start in the middle of the action bounds: always a valid action.
            low = jnp.asarray(self.env.action_low, jnp.float32)
            high = jnp.asarray(self.env.action_high, jnp.float32)
            genome["actions"] = jnp.broadcast_to((low + high) / 2, (dataset_size, len(low)))
        return genome

    # -- the inner loop and its evaluation -------------------------------------------------

    def train(self, genome, init_key, fit_key, labels, lr=None, num_steps=None):
        """Fit a freshly initialised policy to one dataset; returns (params, final BC loss).

        lr, num_steps: optional (possibly traced) overrides of the fit config's learning rate and
        step count (at most fit_config.steps), for HaDES-R+ and evolved inner-loop settings."""
        return self.train_from(self.init_params(init_key), genome, fit_key, labels, lr, num_steps)

    def init_params(self, init_key):
        """A freshly initialised policy."""
        return self.net.init(init_key, jnp.zeros(self.env.obs_shape, jnp.float32))

    def train_from(self, params, genome, fit_key, labels, lr=None, num_steps=None):
        """`train` from given initial params (e.g. HaDES-F's one fixed init, computed once)."""
        net = self.net
        states = genome["states"]
        if self.discrete:
            targets, loss_fn = labels, cross_entropy
        else:
            targets = genome["actions"]
            loss_fn = lambda out, target: gaussian_nll(out[0], out[1], target)
        result = fit_with(
            net.apply, params, states, targets, loss_fn, self.fit_config, fit_key, lr, num_steps
        )
        return result.params, result.losses[-1]

    def episode_return(self, params, eval_key):
        net, greedy = self.net, self.greedy
        if self.discrete:
            act_fn = lambda obs, k: categorical_action(net.apply(params, obs), k, greedy)
        else:

            def act_fn(obs, k):
                mean, log_std = net.apply(params, obs)
                return gaussian_action(mean, log_std, k, greedy)

        result = evaluate(act_fn, self.env, eval_key, self.num_envs, self.num_steps, self.obs_norm)
        return result.mean_return

    def dataset_return(self, genome, init_key, fit_key, eval_key, labels, lr=None, num_steps=None):
        """Train from one init and evaluate: the HaDES fitness of one (dataset, init) pair."""
        params, loss = self.train(genome, init_key, fit_key, labels, lr, num_steps)
        return self.episode_return(params, eval_key), loss

    def dataset_return_from(self, params, genome, fit_key, eval_key, labels, lr=None, steps=None):
        """`dataset_return` from given initial params."""
        params, loss = self.train_from(params, genome, fit_key, labels, lr, steps)
        return self.episode_return(params, eval_key), loss

    # -- metadata ----------------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        return {
            "env_id": self.env.env_id,
            "env_options": dict(self.env_options),
            "obs_shape": list(self.env.obs_shape),
            "action": self.action_spec,
            "obs_norm": self.obs_norm_mode,
            "policy": {"width": self.width, "depth": self.depth, "activation": self.activation},
            "fit": dataclasses.asdict(self.fit_config),
            "eval": {"num_envs": self.num_envs, "num_steps": self.num_steps, "greedy": self.greedy},
        }


def fit_config_from(values: dict[str, Any]) -> FitConfig:
    known = {f.name for f in dataclasses.fields(FitConfig)}
    return FitConfig(**{k: v for k, v in values.items() if k in known})
