"""`hades merge` and `hades evaluate MERGED --env A --env B`: one multi-task policy, acting on
each task from its own slice, against the single-task and wrong-dataset controls."""

from __future__ import annotations

import csv
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hades.cli import main
from hades.merge import (
    CSV_COLUMNS,
    evaluate_merged,
    merge_files,
    multitask_policy,
    normalise,
    pick_slots,
    slots_of,
)
from hades_dataset_io import SyntheticDataset, load_dataset, save_dataset

FIT = {"steps": 40, "lr": 0.03, "optimizer": "adam", "adam_eps": 1e-5, "loss_scale": 1.0}
EVAL = {"num_envs": 2, "num_steps": 100, "greedy": True}


def discrete_dataset(env_id, states, labels, num_actions) -> SyntheticDataset:
    return SyntheticDataset(
        states=np.asarray(states, np.float32),
        labels=labels,
        meta={
            "env_id": env_id,
            "variant": "R",
            "obs_shape": [len(states[0])],
            "action": {"kind": "discrete", "num_actions": num_actions},
            "obs_norm": "none",
            "policy": {"width": 16, "depth": 2, "activation": "relu"},
            "fit": FIT,
            "eval": EVAL,
        },
    )


# Hand-made expert pairs. CartPole: push towards where the pole falls. Acrobot: torque along
# the first joint's velocity (pumps energy).
CARTPOLE = discrete_dataset("CartPole-v1", [[0, 0, 0.1, 0.5], [0, 0, -0.1, -0.5]], [1, 0], 2)
ACROBOT = discrete_dataset("Acrobot-v1", [[1, 0, 1, 0, 1, 0], [1, 0, 1, 0, -1, 0]], [2, 0], 3)


@pytest.fixture(scope="module")
def merged_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("merge")
    a = save_dataset(folder / "cartpole.npz", CARTPOLE)
    b = save_dataset(folder / "acrobot.npz", ACROBOT)
    assert main(["merge", str(a), str(b), "-o", str(folder / "both.npz")]) == 0
    return folder / "both.npz"


@pytest.fixture(scope="module")
def evaluated(merged_path):
    # One task keeps the test to one compile; `pick_slots` covers choosing several.
    argv = ["evaluate", str(merged_path), "--env", "CartPole-v1", "--inits", "2",
            "--json", str(merged_path.parent / "result.json")]  # fmt: skip
    assert main(argv) == 0
    with open(merged_path.parent / "evaluate_merged.csv") as f:
        rows = {(r["env"], r["condition"]): r for r in csv.DictReader(f)}
    return rows


def test_merge_writes_dataset_table_and_picture(merged_path):
    merged = load_dataset(merged_path)
    assert merged.states.shape == (4, 10) and merged.labels.tolist() == [1, 0, 4, 2]
    assert merged.meta["source"]["files"][0].endswith("cartpole.npz")
    with open(merged_path.with_suffix(".csv")) as f:
        table = list(csv.reader(f))
    assert len(table) == 5 and table[3][2] == "Acrobot-v1: torque +1"
    assert merged_path.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


def test_policy_acts_from_its_own_slice_only(merged_path):
    merged = load_dataset(merged_path)
    policy = multitask_policy(merged)
    assert (policy.in_dim, policy.out_dim, policy.width) == (10, 5, 16)
    params = policy.net.init(jax.random.key(0), jnp.zeros(10))
    cartpole, acrobot = slots_of(merged)
    obs = jnp.array([1.0, -2.0, 0.5, 0.3, 0.9, -0.4])
    logits = policy.net.apply(params, jnp.zeros(10).at[4:].set(obs))
    action = policy.act_fn(params, acrobot)(obs, jax.random.key(1))
    assert int(action) == int(jnp.argmax(logits[2:5]))  # Acrobot's logits only, re-indexed
    assert cartpole.obs_slice == (0, 4) and cartpole.action_slice == (0, 2)


def test_evaluation_reports_every_condition_per_env(evaluated, merged_path):
    assert set(evaluated) == {
        ("CartPole-v1", c) for c in ("single", "merged", "wrong", "random")
    }  # fmt: skip
    with open(merged_path.parent / "evaluate_merged.csv") as f:
        header = next(csv.reader(f))
    assert tuple(header) == CSV_COLUMNS
    single = evaluated[("CartPole-v1", "single")]
    assert float(single["normalised_mean"]) == pytest.approx(1.0)
    assert single["normalisation"] == "ratio to single"
    assert (merged_path.parent / "evaluate_merged.png").read_bytes()[:4] == b"\x89PNG"
    result = json.loads((merged_path.parent / "result.json").read_text())
    assert result["envs"] == ["CartPole-v1"] and result["inits"] == 2


def test_tasks_are_picked_by_env_in_the_order_given(merged_path):
    slots = slots_of(load_dataset(merged_path))
    assert pick_slots(slots, None, merged_path) == [0, 1]
    assert pick_slots(slots, ["Acrobot-v1", "CartPole-v1", "Acrobot-v1"], merged_path) == [1, 0]
    with pytest.raises(ValueError, match=r"--env Pendulum-v1: .* merges \['CartPole-v1'"):
        pick_slots(slots, ["Pendulum-v1"], merged_path)


def test_the_wrong_dataset_control_scores_lower(evaluated):
    """On CartPole the merged policy balances (its CartPole pairs); trained on Acrobot's pairs
    only, the same architecture acts from an untrained CartPole head."""
    merged = float(evaluated[("CartPole-v1", "merged")]["return_mean"])
    wrong = float(evaluated[("CartPole-v1", "wrong")]["return_mean"])
    assert merged > 60.0 > wrong
    assert float(evaluated[("CartPole-v1", "merged")]["normalised_mean"]) > 0.6


def continuous_dataset(env_id, states, actions, low, high) -> SyntheticDataset:
    dim = len(actions[0])
    return SyntheticDataset(
        states=np.asarray(states, np.float32),
        actions=np.asarray(actions, np.float32),
        meta={
            "env_id": env_id,
            "obs_shape": [len(states[0])],
            "action": {"kind": "continuous", "dim": dim, "low": [low] * dim, "high": [high] * dim},
            "obs_norm": "none",
            "policy": {"width": 8, "depth": 2, "activation": "tanh"},
            "fit": {**FIT, "steps": 20},
            "eval": {"num_envs": 1, "num_steps": 50, "greedy": True},
        },
    )


def test_continuous_tasks_merge_and_evaluate(tmp_path):
    """Pendulum + MountainCarContinuous: a Gaussian multi-task policy acts with its slice of
    the action dims; Pendulum's returns are negative, so they are rescaled random=0 single=1."""
    pendulum = continuous_dataset("Pendulum-v1", [[1, 0, 1], [1, 0, -1]], [[-2], [2]], -2.0, 2.0)
    car = continuous_dataset("MountainCarContinuous-v0", [[-0.5, 0.01], [-0.5, -0.01]],
                             [[1], [-1]], -1.0, 1.0)  # fmt: skip
    paths = [save_dataset(tmp_path / f"{n}.npz", d) for n, d in (("p", pendulum), ("c", car))]
    written = merge_files(paths, tmp_path / "both.npz")
    merged = load_dataset(written["dataset"])
    assert merged.actions.tolist() == [[-2, 0], [2, 0], [0, 1], [0, -1]]
    policy = multitask_policy(merged)
    assert not policy.discrete and (policy.in_dim, policy.out_dim) == (5, 2)
    params = policy.net.init(jax.random.key(0), jnp.zeros(5))
    car_slot = slots_of(merged)[1]
    action = policy.act_fn(params, car_slot)(jnp.array([-0.5, 0.0]), jax.random.key(1))
    mean, _ = policy.net.apply(params, jnp.array([0, 0, 0, -0.5, 0.0]))
    np.testing.assert_allclose(action, mean[1:2], rtol=1e-6)  # greedy: the mean of its dim
    summary = evaluate_merged(
        written["dataset"], envs=["Pendulum-v1"], inits=1, out=tmp_path, log=lambda _: None
    )
    rows = {r["condition"]: r for r in summary["results"]}
    assert set(rows) == {"single", "merged", "wrong", "random"}
    assert all(r["env"] == "Pendulum-v1" and r["return_mean"] < 0 for r in rows.values())
    assert rows["single"]["normalisation"] == "random=0, single=1"
    assert rows["single"]["normalised_mean"] == pytest.approx(1.0)


def test_normalisation_without_positive_returns_uses_the_random_policy():
    scaled, how = normalise(np.array([-100.0]), np.array([-150.0]), np.array([-500.0]))
    assert how == "random=0, single=1" and scaled[0] == pytest.approx(400 / 350)
    scaled, how = normalise(np.array([50.0]), np.array([100.0]), np.array([20.0]))
    assert how == "ratio to single" and scaled[0] == 0.5


def test_bad_requests_are_clear_errors(merged_path, tmp_path, capsys):
    assert main(["evaluate", str(merged_path), "--env", "Pendulum-v1"]) == 2
    err = capsys.readouterr().err
    assert "Pendulum-v1" in err and "CartPole-v1" in err and "Acrobot-v1" in err
    single = save_dataset(tmp_path / "cp.npz", CARTPOLE)
    assert main(["evaluate", str(single), "--env", "Acrobot-v1"]) == 2
    assert "single-task dataset" in capsys.readouterr().err
    pendulum = SyntheticDataset(
        states=np.zeros((2, 3), np.float32),
        actions=np.zeros((2, 1), np.float32),
        meta={"env_id": "Pendulum-v1", "action": {"kind": "continuous", "dim": 1}},
    )
    other = save_dataset(tmp_path / "pendulum.npz", pendulum)
    assert main(["merge", str(single), str(other), "-o", str(tmp_path / "m.npz")]) == 2
    assert "discrete and continuous" in capsys.readouterr().err
    assert main(["merge", str(single), "-o", str(tmp_path / "m.npz")]) == 2
    assert "at least two" in capsys.readouterr().err
