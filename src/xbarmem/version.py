"""The package version (one place; stored with every model, trial and report)."""

__version__ = "0.2.0"
