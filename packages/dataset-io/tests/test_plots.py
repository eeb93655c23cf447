"""The dataset pictures (one view per env family) and the dataset CSV."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest

from hades_dataset_io import (
    SyntheticDataset,
    dataset_table,
    dataset_view,
    feature_names,
    merge_datasets,
    plot_dataset,
    save_dataset_csv,
    target_names,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make(env_id, states, labels=None, actions=None, **meta):
    spec = (
        {"kind": "discrete", "num_actions": int(np.max(labels)) + 1}
        if labels is not None
        else {"kind": "continuous", "dim": np.shape(actions)[1]}
    )
    return SyntheticDataset(
        states=np.asarray(states, np.float32),
        labels=labels,
        actions=actions,
        meta={"env_id": env_id, "action": spec, **meta},
    )


rng = np.random.default_rng(0)
CARTPOLE = make("CartPole-v1", rng.normal(size=(4, 4)), labels=[0, 0, 1, 1])
HOPPER = make("hopper", rng.normal(size=(4, 11)), actions=rng.uniform(-1, 1, (4, 3)))
PENDULUM = make("Pendulum-v1", rng.normal(size=(3, 3)), actions=rng.uniform(-2, 2, (3, 1)))
BREAKOUT = make("Breakout-MinAtar", rng.normal(size=(3, 400)), labels=[0, 1, 2])
MNIST = make("mnist", rng.uniform(size=(10, 28, 28, 1)), labels=np.arange(10))


@pytest.mark.parametrize(
    ("ds", "view"),
    [
        (CARTPOLE, "table"),
        (PENDULUM, "table"),
        (HOPPER, "action_bars"),
        (BREAKOUT, "boards"),
        (MNIST, "images"),
        (merge_datasets(BREAKOUT, BREAKOUT), "heatmap"),
    ],
)
def test_each_family_gets_its_view_and_a_png(tmp_path, ds, view):
    assert dataset_view(ds) == view
    path = plot_dataset(ds, tmp_path / "sub" / f"{view}.png")
    assert path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 5000


def test_board_layout_comes_from_the_given_or_recorded_raw_shape():
    pong = make("Pong-misc", np.zeros((2, 30 * 40 * 3)), labels=[0, 1])
    assert dataset_view(pong) == "heatmap"
    assert dataset_view(pong, raw_obs_shape=(30, 40, 3)) == "boards"
    recorded = make("Pong-misc", np.zeros((2, 3600)), labels=[0, 1], raw_obs_shape=[30, 40, 3])
    assert dataset_view(recorded) == "boards"
    names = feature_names(BREAKOUT)
    # C-order ravel of (10, 10, 4): channel varies fastest.
    assert names[:5] == ["y0_x0_paddle", "y0_x0_ball", "y0_x0_trail", "y0_x0_brick", "y0_x1_paddle"]


def test_action_and_feature_names():
    cartpole_features = ["cart x", "cart velocity", "pole angle", "pole ang. velocity"]
    assert feature_names(CARTPOLE) == cartpole_features
    assert target_names(CARTPOLE) == ["left", "left", "right", "right"]
    assert target_names(BREAKOUT) == ["noop", "left", "right"]
    assert feature_names(HOPPER) == [f"s{i}" for i in range(11)]
    merged = merge_datasets(CARTPOLE, BREAKOUT)
    assert target_names(merged)[4:] == [
        "Breakout-MinAtar: noop", "Breakout-MinAtar: left", "Breakout-MinAtar: right",
    ]  # fmt: skip


def test_csv_has_one_row_per_pair_with_targets_then_features(tmp_path):
    path = save_dataset_csv(CARTPOLE, tmp_path / "cartpole.csv")
    with open(path) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["pair", "label", "action_name", *feature_names(CARTPOLE)]
    assert len(rows) == 1 + CARTPOLE.size
    assert rows[3][:3] == ["2", "1", "right"]
    np.testing.assert_allclose([float(x) for x in rows[3][3:]], CARTPOLE.states[2], rtol=1e-6)
    header, table = dataset_table(HOPPER)
    assert header[:4] == ["pair", "action_0", "action_1", "action_2"] and len(table) == 4


def test_const_statistics_are_undone_for_the_picture(tmp_path):
    ds = SyntheticDataset(
        states=np.zeros((2, 4), np.float32),
        labels=[0, 1],
        obs_mean=np.full(4, 3.0, np.float32),
        obs_var=np.full(4, 4.0, np.float32),
        meta={"env_id": "CartPole-v1", "obs_norm": "const"},
    )
    from hades_dataset_io._src.plots import display_states

    states, denormalised = display_states(ds)
    assert denormalised and np.allclose(states, 3.0)
    with pytest.raises(ValueError, match="unknown view"):
        plot_dataset(ds, tmp_path / "x.png", view="pie")


def test_plots_do_not_import_jax_or_pyplot():
    code = (
        "import sys, numpy as np, tempfile, os\n"
        "from hades_dataset_io import SyntheticDataset, plot_dataset\n"
        "meta = {'env_id': 'CartPole-v1'}\n"
        "ds = SyntheticDataset(states=np.ones((2, 4)), labels=[0, 1], meta=meta)\n"
        "plot_dataset(ds, os.path.join(tempfile.mkdtemp(), 'a.png'))\n"
        "assert 'jax' not in sys.modules, 'jax imported'\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
