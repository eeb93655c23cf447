"""hades-dataset-io: the synthetic-dataset file format of hades (npz + JSON metadata).

Save, load and validate `SyntheticDataset`s, check them against a target environment, and import
the datasets published with Behaviour Distillation (Lupu et al., ICLR 2024). numpy only.
"""

from hades_dataset_io._src.dataset import (
    SyntheticDataset,
    check_compatible,
    env_action_spec,
    validate_dataset,
)
from hades_dataset_io._src.errors import (
    CorruptDatasetError,
    DatasetError,
    DatasetNotFoundError,
    DatasetShapeError,
    IncompatibleDatasetError,
    InvalidMetaError,
    ManifestError,
    NonFiniteValuesError,
    NotADatasetError,
    PickledDataError,
    SchemaVersionError,
)
from hades_dataset_io._src.meta import META_KEY, SCHEMA_VERSION
from hades_dataset_io._src.npz_io import load_dataset, save_dataset
from hades_dataset_io._src.reference import find_manifest, load_reference
from hades_dataset_io._src.version import __version__

__all__ = [
    "META_KEY",
    "SCHEMA_VERSION",
    "CorruptDatasetError",
    "DatasetError",
    "DatasetNotFoundError",
    "DatasetShapeError",
    "IncompatibleDatasetError",
    "InvalidMetaError",
    "ManifestError",
    "NonFiniteValuesError",
    "NotADatasetError",
    "PickledDataError",
    "SchemaVersionError",
    "SyntheticDataset",
    "__version__",
    "check_compatible",
    "env_action_spec",
    "find_manifest",
    "load_dataset",
    "load_reference",
    "save_dataset",
    "validate_dataset",
]
