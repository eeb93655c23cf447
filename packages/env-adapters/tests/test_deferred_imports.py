"""gymnax's plotting imports are deferred until something renders."""

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_making_a_gymnax_env_does_not_import_plotting_libraries():
    out = _run(
        """
        import sys
        from hades_env_adapters import make_env
        make_env("CartPole-v1")
        print("matplotlib" in sys.modules, "seaborn" in sys.modules)
        """
    )
    assert out == "False False"


def test_deferred_modules_resolve_to_the_real_ones_on_use():
    out = _run(
        """
        from hades_env_adapters import make_env
        make_env("CartPole-v1")
        from gymnax.environments.misc import pong
        import matplotlib.colors
        print(pong.colors.ListedColormap is matplotlib.colors.ListedColormap)
        """
    )
    assert out == "True"


def test_deferred_leaves_already_imported_modules_alone():
    from hades_env_adapters._src.deferred_imports import deferred

    with deferred("json"):
        import json
    assert json.dumps([1]) == "[1]"


def test_deferred_stand_ins_leave_sys_modules():
    from hades_env_adapters._src.deferred_imports import deferred

    name = "hades_never_imported_module_for_test"
    with deferred(name):
        module = __import__(name)
    assert name not in sys.modules
    try:
        module.anything  # noqa: B018 - the lookup imports the (missing) real module and fails
    except ModuleNotFoundError:
        pass
    else:  # pragma: no cover
        raise AssertionError("expected the deferred import to be attempted")
