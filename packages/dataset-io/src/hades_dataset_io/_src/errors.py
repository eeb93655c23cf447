"""Error classes: one per way a dataset file can be wrong, all `DatasetError(ValueError)`.

Every message names the file (or object) at fault and says how to fix it.
"""

from __future__ import annotations


class DatasetError(ValueError):
    """Base class of every hades-dataset-io error."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The path does not exist or is not a regular file."""


class CorruptDatasetError(DatasetError):
    """The file is not a readable zip/npz (wrong format, truncated, bad CRC, unreadable meta)."""


class PickledDataError(DatasetError):
    """The npz holds object arrays, which only pickle can load; they are never loaded."""


class NotADatasetError(DatasetError):
    """A valid npz that is not a hades dataset (no metadata key)."""


class SchemaVersionError(DatasetError):
    """The metadata has an unknown or newer `schema_version`."""


class InvalidMetaError(DatasetError):
    """The metadata is malformed: wrong types, unknown values, not JSON-compatible."""


class DatasetShapeError(DatasetError):
    """The arrays contradict each other or the metadata (shapes, label range, missing arrays)."""


class NonFiniteValuesError(DatasetError):
    """States, actions or normalisation statistics contain NaN or infinity."""


class IncompatibleDatasetError(DatasetError):
    """The dataset contradicts the target environment (observation shape or action space)."""


class ManifestError(DatasetError):
    """A reference npz could not be matched to its MANIFEST.json entry."""
