"""The `reference` marker: checks against the paper's published datasets in $HADES_SHARED."""

from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "reference: needs the paper's reference datasets ($HADES_SHARED/reference)"
    )
    # Retraining the published datasets compiles a few large programs (brax rollouts of 1024
    # steps, width-512 inner loops): keep them in hades' persistent compile cache
    # ($HADES_COMPILE_CACHE; the nox session's is shared by all its sessions), so a second run
    # loads them. Before any test compiles: JAX reads the setting once per process.
    from hades.compile_cache import enable_compile_cache

    enable_compile_cache()
