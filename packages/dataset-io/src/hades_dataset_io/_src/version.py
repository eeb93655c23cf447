"""The package version (also written to meta["hades_version"] by default)."""

__version__ = "0.1.0"
