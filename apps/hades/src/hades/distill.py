"""HaDES: evolve a synthetic behaviour dataset whose behaviour-cloned policies score well."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hades import __version__
from hades.config import DistillConfig
from hades.engine import CheckpointPolicy, evolve_run
from hades.rundir import RunDir
from hades.task import BCTask, fit_config_from
from hades_bc_inner import init_keys
from hades_dataset_io import SyntheticDataset
from hades_env_adapters import make_env
from hades_es_core import ESConfig


@dataclasses.dataclass(frozen=True)
class InnerSampling:
    """HaDES-R+: every generation, each of a candidate's inits trains a policy of a sampled
    width (one of `widths`), learning rate (log-uniform in `lr_range`) and BC step count
    (uniform in `steps_range`). Shared by the population, like the R inits (common random
    numbers), so candidates are compared on equal terms."""

    widths: tuple[int, ...]
    lr_range: tuple[float, float]
    steps_range: tuple[int, int]

    def sample(self, key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """(width index, lr, steps) for one init."""
        width_key, lr_key, steps_key = jax.random.split(key, 3)
        index = jax.random.randint(width_key, (), 0, len(self.widths))
        low, high = np.log(self.lr_range[0]), np.log(self.lr_range[1])
        lr = jnp.exp(jax.random.uniform(lr_key, (), minval=low, maxval=high))
        steps = jax.random.randint(steps_key, (), self.steps_range[0], self.steps_range[1] + 1)
        return index, lr, steps

    def meta(self) -> dict[str, Any]:
        return {
            "widths": list(self.widths),
            "lr_range": list(self.lr_range),
            "steps_range": list(self.steps_range),
        }


def with_max_steps(task: BCTask, steps: int, width: int | None = None) -> BCTask:
    """The task whose fit scan runs `steps` steps (members stop at their own count)."""
    fit_config = dataclasses.replace(task.fit_config, steps=steps)
    return dataclasses.replace(task, fit_config=fit_config, width=width or task.width)


@dataclasses.dataclass(frozen=True)
class DistillationProblem:
    """Score a candidate dataset: fit `num_inits` fresh policies to it, mean of their returns.

    `task` is the nominal recipe (what the saved dataset records). With `sampling` (HaDES-R+)
    each init's width, lr and step count are drawn per generation instead; with `evolve_inner`
    the genome carries the log learning rate and log step count, evolved with the data (the
    scan runs up to twice the nominal steps)."""

    task: BCTask
    dataset_size: int
    num_inits: int
    init_mode: str  # fixed (HaDES-F) | shared (HaDES-R, common random numbers) | per_member
    init: str
    seed: int
    sampling: InnerSampling | None = None
    evolve_inner: bool = False
    # HaDES-F's one init as concrete arrays, computed once when the problem is made (not inside
    # every generation: for width-512 policies its orthogonal init is seconds of QR on a CPU).
    fixed_params: Any = dataclasses.field(
        default=None, init=False, compare=False, hash=False, repr=False
    )

    def __post_init__(self):
        if self.init_mode == "fixed":
            params = fixed_init_params(self.task, self.fixed_init_seed)
            object.__setattr__(self, "fixed_params", params)

    @property
    def member_param_bytes(self) -> int:
        """Bytes of the policies one member trains (sizes the engine's default chunks)."""
        task = self.task
        if self.sampling is not None:  # R+: the widest policy it may sample
            task = dataclasses.replace(task, width=max(self.sampling.widths))
        shapes = jax.eval_shape(task.init_params, jax.random.key(0))
        return self.num_inits * sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(shapes))

    @property
    def fixed_init_seed(self) -> int:
        """HaDES-F's one init, PRNGKey(seed + 420) as in the paper's runs (420/421/422)."""
        return self.seed + 420

    @property
    def fixed_init_key(self) -> jax.Array:
        return jax.random.key(self.fixed_init_seed)

    @property
    def inner_init(self) -> dict[str, Any]:
        if self.init_mode == "fixed":
            return {"mode": "fixed", "seed": self.fixed_init_seed}
        info = {"mode": "random", "per_candidate": self.num_inits, "sharing": self.init_mode}
        if self.sampling is not None:
            info["sampled"] = self.sampling.meta()
        return info

    @property
    def max_inner_steps(self) -> int:
        return 2 * self.task.fit_config.steps

    def initial_genome(self, key):
        genome = self.task.initial_genome(self.dataset_size, self.init, key)
        if self.evolve_inner:
            fit = self.task.fit_config
            genome["inner"] = {
                "log_lr": jnp.log(jnp.float32(fit.lr)),
                "log_steps": jnp.log(jnp.float32(fit.steps)),
            }
        return genome

    def inner_settings(self, genome) -> tuple[jax.Array, jax.Array]:
        """The evolved (lr, step count) of a genome with `evolve_inner`."""
        inner = genome["inner"]
        steps = jnp.clip(jnp.round(jnp.exp(inner["log_steps"])), 1, self.max_inner_steps)
        return jnp.exp(inner["log_lr"]), steps.astype(jnp.int32)

    def recipe_task(self, genome) -> BCTask:
        """The task a saved dataset retrains with: the nominal one, or with `evolve_inner` the
        evolved learning rate and step count (a concrete genome)."""
        if not self.evolve_inner:
            return self.task
        lr, steps = jax.device_get(self.inner_settings(genome))
        fit_config = dataclasses.replace(self.task.fit_config, lr=float(lr), steps=int(steps))
        return dataclasses.replace(self.task, fit_config=fit_config)

    def member_fitness(self, genome, member_key, shared_key):
        labels = self.task.labels(self.dataset_size)
        inits = init_keys(
            self.fixed_init_key, shared_key, member_key, self.num_inits, self.init_mode
        )
        fit_keys, eval_keys = jnp.split(
            jax.random.split(jax.random.fold_in(member_key, 1), 2 * self.num_inits), 2
        )
        if self.sampling is not None:
            returns, losses = self._sampled_returns(
                genome, inits, fit_keys, eval_keys, labels, shared_key
            )
        else:
            task, lr, steps = self.task, None, None
            if self.evolve_inner:
                task = with_max_steps(task, self.max_inner_steps)
                lr, steps = self.inner_settings(genome)
            if self.init_mode == "fixed":
                # HaDES-F: the one init is a constant of the run (jit passes it in).
                params0 = self.fixed_params
                returns, losses = jax.vmap(
                    task.dataset_return_from, in_axes=(None, None, 0, 0, None, None, None)
                )(params0, genome, fit_keys, eval_keys, labels, lr, steps)
            else:
                returns, losses = jax.vmap(
                    task.dataset_return, in_axes=(None, 0, 0, 0, None, None, None)
                )(genome, inits, fit_keys, eval_keys, labels, lr, steps)
        return {"fitness": returns.mean(), "bc_loss": losses.mean()}

    def _sampled_returns(self, genome, inits, fit_keys, eval_keys, labels, shared_key):
        """HaDES-R+: one `lax.switch` over the widths per init. The width index comes from the
        generation's shared key, so it is the same for every member and the switch runs one
        branch (a per-member index would make vmap run them all)."""
        sampling = self.sampling
        tasks = [with_max_steps(self.task, sampling.steps_range[1], w) for w in sampling.widths]
        branches = [task.dataset_return for task in tasks]
        hyper_keys = jax.random.split(jax.random.fold_in(shared_key, 0x5A3D), self.num_inits)
        returns, losses = [], []
        for j in range(self.num_inits):
            index, lr, steps = sampling.sample(hyper_keys[j])
            operands = (genome, inits[j], fit_keys[j], eval_keys[j], labels, lr, steps)
            ret, loss = jax.lax.switch(index, branches, *operands)
            returns.append(ret)
            losses.append(loss)
        return jnp.stack(returns), jnp.stack(losses)


@functools.lru_cache(maxsize=8)
def fixed_init_params(task: BCTask, seed: int):
    """The policy that `jax.random.key(seed)` initialises (jit passes it in as arguments)."""
    return jax.jit(task.init_params)(jax.random.key(seed))


def env_options(config: DistillConfig) -> dict[str, Any]:
    return {} if config.backend is None else {"backend": config.backend}


def task_from_config(config: DistillConfig) -> BCTask:
    env = make_env(config.env, **env_options(config))
    fit_config = fit_config_from(
        {
            "steps": config.bc_steps,
            "lr": config.bc_lr,
            "optimizer": config.bc_optimizer,
            "momentum": config.bc_momentum,
            "max_grad_norm": config.bc_max_grad_norm,
            "anneal_lr": config.bc_anneal,
            "data_noise": config.bc_data_noise,
        }
    )
    obs_stats = None
    if config.obs_norm == "const":
        from hades_env_adapters import obs_stats_for  # shipped statistics

        obs_stats = obs_stats_for(config.env)
    return BCTask(
        env=env,
        width=config.width,
        depth=config.depth,
        activation=config.activation,
        fit_config=fit_config,
        num_envs=config.num_envs,
        num_steps=config.num_steps,
        greedy=config.greedy,
        obs_norm_mode=config.obs_norm,
        obs_stats=obs_stats,
        env_options=tuple(sorted(env_options(config).items())),
    )


def es_config_from(config: DistillConfig) -> ESConfig:
    return ESConfig(
        strategy=config.strategy,
        popsize=config.popsize,
        sigma_init=config.sigma_init,
        sigma_decay=config.sigma_decay,
        sigma_limit=config.sigma_limit,
        lr_init=config.es_lr,
        lr_decay=config.es_lr_decay,
        lr_limit=config.es_lr_limit,
        optimizer=config.es_optimizer,
        temperature=config.temperature,
        fitness_shaping=config.fitness_shaping,
    )


def problem_from_config(config: DistillConfig) -> DistillationProblem:
    init_mode = "fixed" if config.variant == "F" else config.init_mode
    sampling = None
    if config.variant == "R+":
        sampling = InnerSampling(*config.rplus_sampling)
    return DistillationProblem(
        task=task_from_config(config),
        dataset_size=config.dataset_size,
        num_inits=config.inits_per_candidate,
        init_mode=init_mode,
        init=config.init,
        seed=config.seed,
        sampling=sampling,
        evolve_inner=config.evolve_inner,
    )


def retrain_returns(
    task: BCTask, genome, labels, key: jax.Array, num_inits: int, fixed_init_seed: int | None = None
) -> np.ndarray:
    """Fresh inits (never seen by the ES) trained on the dataset: the number users care about.
    With `fixed_init_seed`, every policy starts from that one init (how HaDES-F was evolved);
    only the evaluation episodes differ."""
    init_k, fit_k, eval_k = (jax.random.split(k, num_inits) for k in jax.random.split(key, 3))
    if fixed_init_seed is not None:
        init_k = init_keys(jax.random.key(fixed_init_seed), None, None, num_inits, "fixed")
    fn = jax.jit(jax.vmap(task.dataset_return, in_axes=(None, 0, 0, 0, None)))
    returns, _ = fn(genome, init_k, fit_k, eval_k, labels)
    return np.asarray(returns)


def dataset_from_genome(
    problem: DistillationProblem, genome, extra_meta: dict[str, Any]
) -> SyntheticDataset:
    task = problem.recipe_task(genome)
    genome = jax.device_get(genome)
    labels = task.labels(problem.dataset_size)
    stats = task.obs_stats
    meta = {"hades_version": __version__, **task.meta(), **extra_meta}
    return SyntheticDataset(
        states=np.asarray(genome["states"], np.float32),
        labels=None if labels is None else np.asarray(labels, np.int32),
        actions=None if "actions" not in genome else np.asarray(genome["actions"], np.float32),
        obs_mean=None if stats is None else np.asarray(stats[0], np.float32),
        obs_var=None if stats is None else np.asarray(stats[1], np.float32),
        meta=meta,
    )


def run_fingerprint(config) -> dict[str, Any]:
    """What a checkpoint must agree on to be resumed: everything but the run length, the report
    and how members are batched (results do not depend on it)."""
    ignored = {"generations", "retrain_inits", "chunk_size"}
    return {k: v for k, v in config.to_json().items() if k not in ignored}


def open_run(config: DistillConfig, out, resume: bool, command: str) -> RunDir:
    if not resume:
        return RunDir.create(out, config, command)
    run = RunDir.open(out)
    recorded = {k: v for k, v in run.config_json().items() if k != "command"}
    if run_fingerprint(DistillConfig(**recorded)) != run_fingerprint(config):
        raise ValueError(
            f"{out}/config.json differs from the options given; resume with the same options "
            "(only --generations, --retrain-inits and --chunk-size may change)"
        )
    run.write_config(config, command)  # e.g. a longer --generations
    return run


def run_distill(
    config: DistillConfig,
    out: str | Path,
    quiet: bool = False,
    resume: bool = False,
    checkpoint: CheckpointPolicy | None = None,
) -> dict[str, Any]:
    """Evolve a dataset, save it, retrain fresh policies from it; returns the summary."""
    run = open_run(config, out, resume, "distill")
    problem = problem_from_config(config)
    es_config = es_config_from(config)
    result = evolve_run(
        problem,
        es_config,
        run,
        generations=config.generations,
        seed=config.seed,
        chunk_size=config.chunk_size,
        quiet=quiet,
        resume=resume,
        checkpoint=checkpoint,
        fingerprint=run_fingerprint(config),
        command="distill",
    )
    history = result.history
    genome = result.strategy.mean(result.es_state)
    dataset = dataset_from_genome(
        problem,
        genome,
        {
            "variant": config.variant,
            "es": dataclasses.asdict(es_config),
            "fitness_history": history,
            "source": {"kind": "hades distill", "inner_init": problem.inner_init},
        },
    )
    dataset_path = run.save_dataset(dataset)

    returns = retrain_returns(
        problem.recipe_task(genome),
        genome,
        problem.task.labels(config.dataset_size),
        jax.random.fold_in(jax.random.key(config.seed), 0x5E7),
        config.retrain_inits,
    )
    summary = {
        "env": config.env,
        "variant": config.variant,
        "dataset": str(dataset_path),
        "generations": config.generations,
        "final_es_mean_fitness": history["es_mean"][-1] if history["es_mean"] else None,
        "first_generation_es_mean_reached_max": _first_reaching(history["es_mean"]),
        "retrain_inits": config.retrain_inits,
        "retrain_return_mean": float(returns.mean()),
        "retrain_return_std": float(returns.std()),
        "retrain_returns": returns.tolist(),
        **_inner_summary(problem, genome),
        "evolve_seconds": result.seconds,
        "devices": result.devices,
        "processes": jax.process_count(),
    }
    run.write_summary(summary)
    return summary


def _inner_summary(problem: DistillationProblem, genome) -> dict[str, Any]:
    if not problem.evolve_inner:
        return {}
    fit = problem.recipe_task(genome).fit_config
    return {"evolved_bc_lr": fit.lr, "evolved_bc_steps": fit.steps}


def _first_reaching(curve: list[float]) -> int | None:
    """First generation whose ES-mean score equals the best score of the run (e.g. 500)."""
    if not curve:
        return None
    best = max(curve)
    return next(g for g, v in enumerate(curve) if v >= best)
