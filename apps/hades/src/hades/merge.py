"""`hades merge A B -o M` and the multi-task evaluation `hades evaluate M --env A --env B` (§5.3).

A merged dataset (see `hades_dataset_io.merge_datasets`) trains ONE policy whose input is the
zero-padded observation of every task and whose output is the padded action space of every
task. On task A the policy sees A's (normalised) observation in A's slice and zeros elsewhere,
and acts from A's slice of its output only (discrete: A's logits; continuous: A's dims).

The evaluation reports, per task, as in the paper's Fig 5:
  single  policies retrained on that task's own dataset alone (the normaliser, = 1); fresh
          inits like every other condition, also for HaDES-F datasets,
  merged  the multi-task policy,
  wrong   the multi-task architecture trained on the OTHER tasks' pairs only (a control: what
          the policy does on A without A's data),
  random  a uniformly random policy (for reference, and to normalise when returns are <= 0).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hades.evaluate import genome_of, open_dataset, task_from_dataset
from hades.retrain import bc_targets, init_policies, member_return
from hades.task import BCTask, fit_config_from
from hades.tool_io import matplotlib_figure, write_csv
from hades_bc_inner import (
    FitConfig,
    categorical_action,
    fit,
    gaussian_action,
    make_policy,
)
from hades_dataset_io import (
    SyntheticDataset,
    is_merged,
    merge_all,
    plot_dataset,
    save_dataset,
    save_dataset_csv,
    select_rows,
    split_merged,
)
from hades_env_adapters import evaluate, random_act_fn

CONDITIONS = ("single", "merged", "wrong", "random")
CSV_COLUMNS = (
    "env", "condition", "inits", "return_mean", "return_std",
    "normalised_mean", "normalised_std", "normalisation",
)  # fmt: skip


# -- hades merge ---------------------------------------------------------------------------------


def merge_files(paths: Sequence[str | Path], out: str | Path) -> dict[str, Path]:
    """Merge dataset files (ours or the paper's) into `out` (.npz), with the merged dataset's
    table (.csv) and picture (.png) beside it."""
    if len(paths) < 2:
        raise ValueError(f"hades merge needs at least two datasets, got {len(paths)}")
    out = Path(out)
    if out.suffix != ".npz":
        raise ValueError(f"-o/--out must name a .npz file, got {out}")
    merged = merge_all([open_dataset(p) for p in paths])
    source = {**merged.meta["source"], "files": [str(p) for p in paths]}
    merged = dataclasses.replace(merged, meta={**merged.meta, "source": source})
    npz = save_dataset(out, merged)
    csv_path = save_dataset_csv(merged, out.with_suffix(".csv"))
    png = plot_dataset(merged, out.with_suffix(".png"))
    return {"dataset": npz, "csv": csv_path, "png": png}


# -- the multi-task policy -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Slot:
    """One task of a merged dataset: its own BCTask (env, evaluation, observation
    normalisation) and where it lives in the padded input and output."""

    task: BCTask
    obs_slice: tuple[int, int]
    action_slice: tuple[int, int]
    rows: tuple[int, int]


@dataclasses.dataclass(frozen=True)
class MultiTaskPolicy:
    """The padded policy: input every task's features, output every task's actions."""

    discrete: bool
    in_dim: int
    out_dim: int
    width: int
    depth: int
    activation: str
    fit_config: FitConfig

    @property
    def net(self):
        kind = "categorical" if self.discrete else "gaussian"
        return make_policy(kind, self.out_dim, self.width, self.depth, self.activation)

    def train(self, params, genome, labels, fit_key):
        """Fit initial `params` to a (merged) dataset with the inner loop's recipe."""
        targets, loss_fn = bc_targets(self.discrete, genome, labels)
        states = genome["states"]
        return fit(
            self.net.apply, params, states, targets, loss_fn, self.fit_config, fit_key
        ).params

    def act_fn(self, params, slot: Slot):
        """Acting on one task: its observation in its slice, its slice of the output."""
        net, (o0, o1), (a0, a1) = self.net, slot.obs_slice, slot.action_slice
        greedy = slot.task.greedy

        def act(obs, key):
            padded = jnp.zeros((self.in_dim,), jnp.float32).at[o0:o1].set(obs)
            out = net.apply(params, padded)
            if self.discrete:
                return categorical_action(out[a0:a1], key, greedy)
            mean, log_std = out
            return gaussian_action(mean[a0:a1], log_std[a0:a1], key, greedy)

        return act

    def episode_return(self, params, slot: Slot, key):
        task = slot.task
        act = self.act_fn(params, slot)
        result = evaluate(act, task.env, key, task.num_envs, task.num_steps, task.obs_norm)
        return result.mean_return


def multitask_policy(merged: SyntheticDataset) -> MultiTaskPolicy:
    meta = merged.meta
    policy = meta.get("policy", {})
    return MultiTaskPolicy(
        discrete=meta["action"]["kind"] == "discrete",
        in_dim=int(merged.states.shape[1]),
        out_dim=int(meta["action"]["num_actions" if merged.labels is not None else "dim"]),
        width=int(policy.get("width", 64)),
        depth=int(policy.get("depth", 2)),
        activation=policy.get("activation", "relu"),
        fit_config=fit_config_from(meta.get("fit", {})),
    )


def slots_of(merged: SyntheticDataset, **eval_overrides) -> list[Slot]:
    sources = split_merged(merged)
    return [
        Slot(
            task=task_from_dataset(source, **eval_overrides),
            obs_slice=tuple(entry["obs_slice"]),
            action_slice=tuple(entry["action_slice"]),
            rows=tuple(entry["rows"]),
        )
        for source, entry in zip(sources, merged.meta["merged"])
    ]


def labels_of(ds: SyntheticDataset):
    return None if ds.labels is None else jnp.asarray(ds.labels, jnp.int32)


def inits_keys(key, inits: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(init, fit, eval) keys, each (inits,): the scheme of `retrain_returns`."""
    return tuple(jax.random.split(k, inits) for k in jax.random.split(key, 3))


def multitask_return(policy: MultiTaskPolicy, ds: SyntheticDataset, slot: Slot, params, keys):
    """A multi-task policy from `params` trained on `ds` (any subset of the merged rows), on
    one task."""
    fit_key, eval_key = keys
    trained = policy.train(params, genome_of(ds), labels_of(ds), fit_key)
    return policy.episode_return(trained, slot, eval_key)


def random_return(slot: Slot, key):
    task = slot.task
    act = random_act_fn(task.env)
    return evaluate(act, task.env, key, task.num_envs, task.num_steps, task.obs_norm).mean_return


def other_rows(merged: SyntheticDataset, slot: Slot) -> np.ndarray:
    r0, r1 = slot.rows
    return np.concatenate([np.arange(0, r0), np.arange(r1, merged.size)])


def compare_on_task(
    policy: MultiTaskPolicy,
    merged: SyntheticDataset,
    slot: Slot,
    source: SyntheticDataset,
    key,
    inits: int,
) -> dict[str, np.ndarray]:
    """Every condition's returns on one task, (inits,) each, from fresh inits; one jit
    (compiles dominate on small problems), inits vmapped."""
    wrong_ds = select_rows(merged, other_rows(merged, slot))
    source_genome, source_labels = genome_of(source), labels_of(source)
    task = slot.task

    def run(keys):
        single_init, single_fit, single_eval = keys["single"]
        single_params = init_policies(task.net, task.env.obs_shape[0], single_init)
        single = jax.vmap(lambda *x: member_return(task, source_genome, source_labels, *x))(
            single_params, single_fit, single_eval
        )
        returns = {"single": single}
        for condition, ds in (("merged", merged), ("wrong", wrong_ds)):
            init_k, fit_k, eval_k = keys[condition]
            params = init_policies(policy.net, policy.in_dim, init_k)
            one = lambda p, f, e: multitask_return(policy, ds, slot, p, (f, e))  # noqa: B023
            returns[condition] = jax.vmap(one)(params, fit_k, eval_k)
        returns["random"] = jax.vmap(lambda k: random_return(slot, k))(keys["random"][2])
        return returns

    keys = {c: inits_keys(jax.random.fold_in(key, i), inits) for i, c in enumerate(CONDITIONS)}
    # The merged policy's keys do not depend on the task: on every task it is the same policies.
    keys["merged"] = inits_keys(jax.random.fold_in(key, 0x3E6), inits)
    return {name: np.asarray(value) for name, value in jax.jit(run)(keys).items()}


# -- hades evaluate MERGED --env A --env B -------------------------------------------------------


def evaluate_merged(
    path: str | Path,
    envs: Sequence[str] | None = None,
    inits: int = 20,
    seed: int = 0,
    out: str | Path | None = None,
    log=print,
    **eval_overrides: Any,
) -> dict[str, Any]:
    """The Fig 5 comparison for a merged dataset; writes evaluate_merged.csv/png/json."""
    path = Path(path)
    merged = open_dataset(path)
    if not is_merged(merged):
        raise ValueError(
            f"{path} is a single-task dataset for {merged.env_id!r}; --env evaluates a merged "
            "dataset (hades merge A B -o M.npz) on each of its tasks"
        )
    sources = split_merged(merged)
    all_slots = slots_of(merged, **eval_overrides)
    picked = pick_slots(all_slots, envs, path)
    policy = multitask_policy(merged)
    root = jax.random.key(seed)
    names = slot_names(all_slots)
    results: dict[str, dict[str, np.ndarray]] = {}
    for k in picked:
        returns = compare_on_task(policy, merged, all_slots[k], sources[k], root, inits)
        results[names[k]] = returns
        log(
            f"{names[k]}: own dataset {returns['single'].mean():.1f}  "
            f"merged {returns['merged'].mean():.1f}  "
            f"wrong dataset {returns['wrong'].mean():.1f}  "
            f"random {returns['random'].mean():.1f}  ({inits} inits)"
        )

    rows = result_rows(results, inits)
    out = Path(out) if out is not None else path.parent
    csv_path = write_csv(out / "evaluate_merged.csv", CSV_COLUMNS, rows)
    png_path = plot_multitask(rows, out / "evaluate_merged.png", merged.env_id)
    summary = {
        "dataset": str(path),
        "envs": list(results),
        "inits": inits,
        "seed": seed,
        "results": [dict(zip(CSV_COLUMNS, row)) for row in rows],
        "csv": str(csv_path),
        "png": str(png_path),
    }
    (out / "evaluate_merged.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def pick_slots(slots: list[Slot], envs: Sequence[str] | None, path: Path) -> list[int]:
    """Indices of the slots to evaluate: every task, or those of the envs named by --env, in
    that order (a dataset merged from two datasets of one env has two slots for it)."""
    if not envs:
        return list(range(len(slots)))
    env_ids = [slot.task.env.env_id for slot in slots]
    unknown = [env for env in envs if env not in env_ids]
    if unknown:
        raise ValueError(f"--env {', '.join(unknown)}: {path} merges {env_ids}; choose among those")
    return [k for env in dict.fromkeys(envs) for k, e in enumerate(env_ids) if e == env]


def slot_names(slots: Sequence[Slot]) -> list[str]:
    """The env id of each slot, numbered where an env occurs more than once."""
    env_ids = [slot.task.env.env_id for slot in slots]
    seen: dict[str, int] = {}
    names = []
    for env_id in env_ids:
        seen[env_id] = seen.get(env_id, 0) + 1
        names.append(env_id if env_ids.count(env_id) == 1 else f"{env_id} #{seen[env_id]}")
    return names


def normalise(returns: np.ndarray, single: np.ndarray, rand: np.ndarray) -> tuple[np.ndarray, str]:
    """Returns as a fraction of the single-task dataset's own retrained return. Where that is
    not positive (e.g. Pendulum's negative returns) a ratio means nothing, so rescale instead
    so that the random policy is 0 and the single-task policies are 1."""
    single_mean, rand_mean = float(np.mean(single)), float(np.mean(rand))
    if single_mean > 0:
        return returns / single_mean, "ratio to single"
    span = single_mean - rand_mean
    if span == 0:
        return np.full_like(returns, np.nan), "undefined (single = random)"
    return (returns - rand_mean) / span, "random=0, single=1"


def result_rows(results: dict[str, dict[str, np.ndarray]], inits: int) -> list[list[Any]]:
    rows = []
    for env_id, by_condition in results.items():
        for condition in CONDITIONS:
            returns = by_condition[condition]
            scaled, how = normalise(returns, by_condition["single"], by_condition["random"])
            rows.append(
                [
                    env_id,
                    condition,
                    inits,
                    float(np.mean(returns)),
                    float(np.std(returns)),
                    float(np.mean(scaled)),
                    float(np.std(scaled)),
                    how,
                ]
            )
    return rows


def plot_multitask(rows: list[list[Any]], path: Path, title: str) -> Path:
    """Grouped bars: per env, the normalised return of single / merged / wrong / random."""
    envs = list(dict.fromkeys(row[0] for row in rows))
    colours = {"single": "tab:gray", "merged": "tab:blue", "wrong": "tab:red", "random": "wheat"}
    names = {
        "single": "own dataset alone",
        "merged": "merged dataset (one policy)",
        "wrong": "other task's data only",
        "random": "random policy",
    }
    fig = matplotlib_figure(2.4 * len(envs) + 3.5, 4.2)
    ax = fig.add_subplot()
    bar = 0.8 / len(CONDITIONS)
    for j, condition in enumerate(CONDITIONS):
        picked = [next(r for r in rows if r[0] == e and r[1] == condition) for e in envs]
        x = np.arange(len(envs)) + (j - (len(CONDITIONS) - 1) / 2) * bar
        means = [r[5] for r in picked]
        ax.bar(x, means, bar, yerr=[r[6] for r in picked], color=colours[condition],
               label=names[condition], capsize=3)  # fmt: skip
        for xi, r in zip(x, picked):
            top = r[5] + r[6] if np.isfinite(r[5] + r[6]) else 0.0  # above the error bar
            ax.annotate(f"{r[3]:.3g}", (xi, max(top, 0.0)), ha="center", va="bottom",
                        fontsize=7, xytext=(0, 2), textcoords="offset points")  # fmt: skip
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.axhline(0.0, color="black", linewidth=0.6)
    how = {r[0]: r[7] for r in rows}
    ax.set_xticks(range(len(envs)), [f"{e}\n({how[e]})" for e in envs])
    ax.set_ylabel("normalised return (own dataset = 1)")
    ax.set_title(f"{title}: one policy for all tasks (numbers: raw mean return)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(axis="y", alpha=0.3)
    fig.savefig(path, dpi=110)
    return path
