"""The observation statistics shipped in hades_env_adapters equal the paper's normalize_params.

Data: $HADES_SHARED/reference/normalize_params (default: the `shared` folder next to the
repository); the tests skip when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from hades_env_adapters import obs_stats_for, shipped_obs_stats_ids

pytestmark = pytest.mark.reference

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("HADES_SHARED", REPO_ROOT.parent / "shared"))
NORMALIZE_PARAMS = SHARED / "reference" / "normalize_params"

if not NORMALIZE_PARAMS.is_dir():
    pytest.skip(f"no normalize_params at {NORMALIZE_PARAMS}", allow_module_level=True)

PAPER_ENV_IDS = sorted(
    p.name[len("mean_") : -len(".npy")] for p in NORMALIZE_PARAMS.glob("mean_*.npy")
)


def test_every_paper_env_ships():
    assert PAPER_ENV_IDS and set(PAPER_ENV_IDS) == set(shipped_obs_stats_ids())


@pytest.mark.parametrize("env_id", PAPER_ENV_IDS)
def test_shipped_values_are_bit_identical(env_id):
    mean, var = obs_stats_for(env_id)
    for name, shipped in (("mean", mean), ("var", var)):
        original = np.load(NORMALIZE_PARAMS / f"{name}_{env_id}.npy", allow_pickle=False)
        assert original.dtype == shipped.dtype == np.float32
        np.testing.assert_array_equal(shipped, original.ravel())
