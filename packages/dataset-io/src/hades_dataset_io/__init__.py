"""hades-dataset-io: the synthetic-dataset file format of hades (npz + JSON metadata).

Save, load and validate `SyntheticDataset`s, check them against a target environment, and import
the datasets published with Behaviour Distillation (Lupu et al., ICLR 2024), merge datasets of
different tasks into one, and draw them. numpy (and matplotlib for the plots) only.
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
from hades_dataset_io._src.merge import (
    MERGED_KEY,
    MergeError,
    is_merged,
    merge_all,
    merge_datasets,
    merged_sources,
    select_rows,
    split_merged,
)
from hades_dataset_io._src.meta import META_KEY, SCHEMA_VERSION
from hades_dataset_io._src.npz_io import load_dataset, save_dataset
from hades_dataset_io._src.plots import (
    VIEWS,
    dataset_table,
    dataset_view,
    feature_names,
    plot_dataset,
    save_dataset_csv,
    target_names,
)
from hades_dataset_io._src.reference import find_manifest, load_reference
from hades_dataset_io._src.version import __version__

__all__ = [
    "MERGED_KEY",
    "META_KEY",
    "SCHEMA_VERSION",
    "VIEWS",
    "CorruptDatasetError",
    "DatasetError",
    "DatasetNotFoundError",
    "DatasetShapeError",
    "IncompatibleDatasetError",
    "InvalidMetaError",
    "ManifestError",
    "MergeError",
    "NonFiniteValuesError",
    "NotADatasetError",
    "PickledDataError",
    "SchemaVersionError",
    "SyntheticDataset",
    "__version__",
    "check_compatible",
    "dataset_table",
    "dataset_view",
    "env_action_spec",
    "feature_names",
    "find_manifest",
    "is_merged",
    "load_dataset",
    "load_reference",
    "merge_all",
    "merge_datasets",
    "merged_sources",
    "plot_dataset",
    "save_dataset",
    "save_dataset_csv",
    "select_rows",
    "split_merged",
    "target_names",
    "validate_dataset",
]
