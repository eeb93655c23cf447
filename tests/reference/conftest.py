"""The `reference` marker: checks against the paper's published datasets in $HADES_SHARED."""

from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "reference: needs the paper's reference datasets ($HADES_SHARED/reference)"
    )
