"""Exception hierarchy for xbarmem.

Every error raised deliberately by the library derives from :class:`XbarmemError`; the
input-validation errors also derive from :class:`ValueError` so generic handlers still work.
"""

from __future__ import annotations

__all__ = ["ConfigError", "FileFormatError", "PatternError", "XbarmemError"]


class XbarmemError(Exception):
    """Base class of all xbarmem errors."""


class PatternError(XbarmemError, ValueError):
    """Bad pattern input (shape, dtype, values, or size mismatch with the memory)."""


class ConfigError(XbarmemError, ValueError):
    """Bad configuration key or value."""


class FileFormatError(XbarmemError, ValueError):
    """A missing, corrupt or foreign (unrecognised) file."""
