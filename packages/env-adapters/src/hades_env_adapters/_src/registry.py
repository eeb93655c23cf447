"""`make_env`: environment ids to adapters. Backends are imported only for their own ids."""

from __future__ import annotations

import difflib
from typing import Any

from hades_env_adapters._src.adapter import EnvAdapter

# Exercised by this package's tests; other gymnax ids with Discrete/Box spaces work too.
TESTED_ENV_IDS = (
    "CartPole-v1",
    "Pendulum-v1",
    "Acrobot-v1",
    "MountainCar-v0",
    "MountainCarContinuous-v0",
    "Asterix-MinAtar",
    "Breakout-MinAtar",
    "Freeway-MinAtar",
    "SpaceInvaders-MinAtar",
    "Seaquest-MinAtar",
)

# brax 0.14's registry (`brax.envs`), minus its "fast" unit-test dummy. Static so that listing
# ids never imports brax; a test checks it against the installed brax.
BRAX_ENV_IDS = (
    "ant",
    "halfcheetah",
    "hopper",
    "humanoid",
    "humanoidstandup",
    "inverted_pendulum",
    "inverted_double_pendulum",
    "pusher",
    "reacher",
    "swimmer",
    "walker2d",
)
BRAX_INSTALL_HINT = 'pip install "hades-env-adapters[brax]"'


def supported_env_ids() -> tuple[str, ...]:
    """Every id `make_env` accepts."""
    return _gymnax().gymnax_env_ids() + BRAX_ENV_IDS


def make_env(env_id: str, **options: Any) -> EnvAdapter:
    """The adapter for `env_id`; `options` go to the backend. Options must be hashable.

    gymnax ids: constructor kwargs, or `EnvParams` overrides such as `max_steps_in_episode`.
    brax ids (`BRAX_ENV_IDS`): `backend` ("positional", the paper's and the default; "spring",
    "generalized" or "mjx"), `episode_length` (1000), and brax env constructor kwargs.
    """
    if env_id in BRAX_ENV_IDS:
        brax_backend = _brax(env_id)
        return EnvAdapter.from_backend(env_id, brax_backend.BraxBackend(env_id, **options))
    gymnax_backend = _gymnax()
    if env_id in gymnax_backend.gymnax_env_ids():
        return EnvAdapter.from_backend(env_id, gymnax_backend.GymnaxBackend(env_id, **options))
    raise ValueError(_unknown_id_message(env_id, supported_env_ids()))


def _gymnax():
    # Imported on first use: gymnax pulls in matplotlib/seaborn (~5 s), which importing this
    # package (e.g. for a CLI's --help) shouldn't pay for.
    from hades_env_adapters._src import gymnax_backend

    return gymnax_backend


def _brax(env_id: str):
    # Imported on first use, like gymnax, and optional: brax is the `brax` extra.
    try:
        from hades_env_adapters._src import brax_backend
    except ImportError as error:
        raise ImportError(
            f"{env_id!r} is a brax environment, and brax is not installed ({error}). "
            f"Install it with: {BRAX_INSTALL_HINT}"
        ) from error
    return brax_backend


def _unknown_id_message(env_id: str, known: tuple[str, ...]) -> str:
    # Match case-insensitively: "cartpole-v1" should suggest "CartPole-v1".
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(str(env_id).lower(), list(by_lower), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(by_lower[c]) for c in close)}?" if close else ""
    return f"Unknown env id {env_id!r}.{hint} Supported ids: {', '.join(known)}."
