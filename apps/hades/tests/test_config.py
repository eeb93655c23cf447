import pytest

from hades.config import PRESETS, DistillConfig, resolve_config


def test_cli_beats_preset_beats_default():
    config = resolve_config("pendulum", {"popsize": 32, "env": None})
    assert config.env == "Pendulum-v1"  # from the preset
    assert config.popsize == 32  # given explicitly
    assert config.seed == DistillConfig().seed  # default


def test_every_preset_resolves():
    for name in PRESETS:
        resolve_config(name, {})


def test_inits_per_candidate_follows_variant():
    assert resolve_config(None, {"variant": "F"}).inits_per_candidate == 1
    assert resolve_config(None, {"variant": "R"}).inits_per_candidate == 2
    assert resolve_config(None, {"variant": "R", "num_inits": 5}).inits_per_candidate == 5


@pytest.mark.parametrize(
    "overrides", [{"variant": "X"}, {"dataset_size": 0}, {"obs_norm": "batch"}, {"popsize": 1}]
)
def test_bad_values_are_rejected(overrides):
    with pytest.raises(ValueError):
        resolve_config(None, overrides)


def test_unknown_preset():
    with pytest.raises(ValueError, match="cartpole"):
        resolve_config("nope", {})
