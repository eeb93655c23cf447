"""HaDES-R+ (sampled width / lr / BC steps per generation) and evolved inner-loop settings."""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hades.cli import main
from hades.config import resolve_config
from hades.distill import InnerSampling, problem_from_config, with_max_steps
from hades_dataset_io import load_dataset

TINY = {
    "env": "CartPole-v1",
    "dataset_size": 4,
    "width": 8,
    "bc_steps": 6,
    "num_envs": 2,
    "num_steps": 30,
    "init": "normal",
}


def test_rplus_defaults_scale_with_the_nominal_recipe():
    config = resolve_config(None, {"variant": "R+", "width": 64, "bc_lr": 0.03, "bc_steps": 100})
    widths, lr, steps = config.rplus_sampling
    assert widths == (32, 64, 128, 256)
    assert lr == pytest.approx((0.003, 0.3)) and steps == (50, 200)
    given = resolve_config(
        None,
        {"variant": "R+", "rplus_widths": "16,512", "rplus_lr_range": "1e-3,1e-1",
         "rplus_steps_range": "10,20"},
    )  # fmt: skip
    assert given.rplus_sampling == ((16, 512), (1e-3, 1e-1), (10, 20))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"rplus_widths": "32,64"}, "need --variant R+"),
        ({"variant": "R+", "rplus_lr_range": "0.1"}, "LOW,HIGH"),
        ({"variant": "R+", "rplus_lr_range": "0.1,0.01"}, "LOW <= HIGH"),
        ({"variant": "R+", "rplus_widths": "32,x"}, "comma-separated integers"),
        ({"variant": "R+", "evolve_inner": True}, "use one of them"),
        ({"variant": "Q"}, "F, R, R+"),
    ],
)
def test_bad_inner_options_are_clear_errors(overrides, message):
    with pytest.raises(ValueError, match=message):
        resolve_config(None, overrides)


def test_sampling_covers_its_ranges():
    sampling = InnerSampling(widths=(8, 16, 32), lr_range=(1e-3, 1e-1), steps_range=(5, 9))
    keys = jax.random.split(jax.random.key(0), 400)
    index, lr, steps = jax.vmap(sampling.sample)(keys)
    assert set(np.asarray(index).tolist()) == {0, 1, 2}
    assert float(lr.min()) >= 1e-3 and float(lr.max()) <= 1e-1
    assert set(np.asarray(steps).tolist()) == {5, 6, 7, 8, 9}
    # Log-uniform: about half the draws below the geometric midpoint 1e-2.
    assert 0.4 < float(jnp.mean(lr < 1e-2)) < 0.6


@pytest.fixture(scope="module")
def rplus_problem():
    config = resolve_config(
        None,
        {**TINY, "variant": "R+", "num_inits": 1, "rplus_widths": "4,8,16",
         "rplus_steps_range": "3,9"},
    )  # fmt: skip
    return problem_from_config(config)


def test_rplus_fitness_is_that_of_the_sampled_recipe(rplus_problem):
    """The switch runs the width the generation drew, with its lr and step count: the member's
    fitness equals training that policy directly."""
    problem = rplus_problem
    genome = problem.initial_genome(jax.random.key(1))
    member_key, shared_key = jax.random.key(2), jax.random.key(3)
    fitness = jax.jit(problem.member_fitness)(genome, member_key, shared_key)["fitness"]

    hyper_key = jax.random.split(jax.random.fold_in(shared_key, 0x5A3D), 1)[0]
    index, lr, steps = problem.sampling.sample(hyper_key)
    width = problem.sampling.widths[int(index)]
    task = with_max_steps(problem.task, problem.sampling.steps_range[1], width)
    from hades_bc_inner import init_keys

    init = init_keys(problem.fixed_init_key, shared_key, member_key, 1, "shared")[0]
    fit_key, eval_key = jax.random.split(jax.random.fold_in(member_key, 1), 2)
    labels = problem.task.labels(problem.dataset_size)
    expected, _ = jax.jit(task.dataset_return)(genome, init, fit_key, eval_key, labels, lr, steps)
    np.testing.assert_allclose(fitness, expected, rtol=1e-6)


def test_evolve_inner_starts_at_the_nominal_recipe():
    config = resolve_config(None, {**TINY, "variant": "R", "num_inits": 1})
    plain = problem_from_config(config)
    evolving = problem_from_config(dataclasses.replace(config, evolve_inner=True))
    genome = evolving.initial_genome(jax.random.key(1))
    lr, steps = evolving.inner_settings(genome)
    assert float(lr) == pytest.approx(config.bc_lr) and int(steps) == config.bc_steps
    # The scan runs up to twice the nominal steps but stops each member at its own count.
    keys = (jax.random.key(2), jax.random.key(3))
    got = jax.jit(evolving.member_fitness)(genome, *keys)
    plain_genome = {k: v for k, v in genome.items() if k != "inner"}
    want = jax.jit(plain.member_fitness)(plain_genome, *keys)
    # (bc_loss differs by design: a frozen member reports the loss after its last step.)
    np.testing.assert_allclose(got["fitness"], want["fitness"], rtol=1e-5)
    # Step counts are clipped to [1, 2 x nominal].
    far = {**genome, "inner": {"log_lr": jnp.float32(0.0), "log_steps": jnp.float32(10.0)}}
    assert int(evolving.inner_settings(far)[1]) == 2 * config.bc_steps


CLI_TINY = [
    "--env", "CartPole-v1", "--dataset-size", "4", "--popsize", "4", "--generations", "2",
    "--bc-steps", "6", "--num-envs", "2", "--num-steps", "30", "--retrain-inits", "2",
    "--width", "8", "--quiet",
]  # fmt: skip


def test_rplus_run_records_its_sampling(tmp_path):
    out = tmp_path / "rplus"
    args = ["--variant", "R+", "--num-inits", "1", "--rplus-widths", "4,8"]
    args += ["--rplus-steps-range", "3,6"]
    assert main(["distill", *CLI_TINY, *args, "--out", str(out)]) == 0
    ds = load_dataset(out / "dataset.npz")
    assert ds.meta["variant"] == "R+"
    sampled = ds.meta["source"]["inner_init"]["sampled"]
    assert sampled["widths"] == [4, 8] and sampled["steps_range"] == [3, 6]
    assert ds.meta["policy"]["width"] == 8 and ds.meta["fit"]["steps"] == 6  # nominal recipe


def test_evolved_inner_settings_are_saved_with_the_dataset(tmp_path):
    out = tmp_path / "evolve"
    assert main(["distill", *CLI_TINY, "--evolve-inner", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    ds = load_dataset(out / "dataset.npz")
    assert ds.meta["fit"]["lr"] == pytest.approx(summary["evolved_bc_lr"])
    assert ds.meta["fit"]["steps"] == summary["evolved_bc_steps"]
    assert 1 <= summary["evolved_bc_steps"] <= 12
    assert ds.states.shape == (4, 4)  # the inner settings are not part of the data
