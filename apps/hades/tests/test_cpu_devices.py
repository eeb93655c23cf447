"""How many CPU devices a hades command asks JAX for (hades/cpu_devices.py)."""

from __future__ import annotations

import pytest

from hades.cpu_devices import resolve_cpu_devices, usable_cores


def test_auto_is_one_device_per_usable_core():
    assert resolve_cpu_devices("auto", environ={}) == usable_cores()
    assert resolve_cpu_devices(None, environ={"HADES_CPU_DEVICES": "auto"}) == usable_cores()


def test_nothing_asked_leaves_jax_default():
    assert resolve_cpu_devices(None, environ={}) is None


def test_option_then_environment_variable():
    assert resolve_cpu_devices(3, environ={"HADES_CPU_DEVICES": "5"}) == 3
    assert resolve_cpu_devices(None, environ={"HADES_CPU_DEVICES": "5"}) == 5
    assert resolve_cpu_devices("1", environ={}) == 1


def test_a_count_the_user_gave_xla_is_kept():
    flags = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    assert resolve_cpu_devices(2, environ=flags) is None


@pytest.mark.parametrize("bad", ["0", "-2", "two"])
def test_bad_counts_name_the_fix(bad):
    with pytest.raises(ValueError, match="positive integer or 'auto'"):
        resolve_cpu_devices(bad, environ={})
