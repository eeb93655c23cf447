"""Test sessions: one per package (installed alone, from the lockfile), the app, the cross-package
tests, lint, and the `reference` checks against ../shared. `nox` with no arguments runs them all
(checks against ../shared are skipped when it is absent) except `bench`, which runs only when named:
`nox -s bench` (timing runs; wrap in `flock /tmp/meas.lock` on a shared machine)."""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False

ROOT = Path(__file__).parent
PACKAGES = {
    "es-core": "hades-es-core",
    "bc-inner": "hades-bc-inner",
    "env-adapters": "hades-env-adapters",
    "dataset-io": "hades-dataset-io",
    "distill-vision": "hades-distill-vision",
}
# Tests share one XLA compile cache so repeated shapes across sessions compile once (hades
# commands read HADES_COMPILE_CACHE; tests that measure the cache use their own directory).
TEST_ENV = {
    "JAX_PLATFORMS": "cpu",
    "PYTHONHASHSEED": "0",
    "HADES_COMPILE_CACHE": str(ROOT / ".nox" / "jax-compile-cache"),
}


def _sync(session: nox.Session, package: str, *extras: str) -> None:
    """Install exactly `package` and its locked dependencies into the session's fresh venv."""
    args = ["uv", "sync", "--frozen", "--package", package, "--inexact"]
    for extra in extras:
        args += ["--extra", extra]
    session.run_install(*args, env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location})


def _pytest(session: nox.Session, *paths: str) -> None:
    session.run("pytest", *paths, *session.posargs, env=TEST_ENV)


for _dir, _dist in PACKAGES.items():

    @nox.session(name=_dir, python="3.11")
    def _package(session: nox.Session, _dir: str = _dir, _dist: str = _dist) -> None:
        _sync(session, _dist, "test")
        _pytest(session, f"packages/{_dir}/tests")


@nox.session(python="3.11")
def app(session: nox.Session) -> None:
    _sync(session, "hades", "test")
    _pytest(session, "apps/hades/tests")


@nox.session(python="3.11")
def integration(session: nox.Session) -> None:
    """Cross-package tests, including sharding over 4 virtual CPU devices."""
    _sync(session, "hades", "test")
    _pytest(session, "tests", "--ignore=tests/reference")


@nox.session(python="3.11")
def reference(session: nox.Session) -> None:
    """Checks against the paper's published datasets in ../shared (skipped when it is absent)."""
    shared = Path(os.environ.get("HADES_SHARED", ROOT.parent / "shared"))
    if not (shared / "reference" / "MANIFEST.json").exists():
        session.skip(f"no reference data at {shared}/reference")
    _sync(session, "hades", "test", "brax")
    session.run(
        "pytest", "tests/reference", *session.posargs, env={**TEST_ENV, "HADES_SHARED": str(shared)}
    )


@nox.session(python="3.11", default=False)
def bench(session: nox.Session) -> None:
    """Speed and memory against the paper's code (benchmarks/README.md). Not in the default list.
    Arguments go to benchmarks/run.py, e.g. `nox -s bench -- cartpole --generations 3`."""
    _sync(session, "hades", "brax")
    session.run("python", "benchmarks/run.py", *session.posargs, env={"JAX_PLATFORMS": "cpu"})


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
