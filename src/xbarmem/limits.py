"""Memory limits: refuse a request whose estimated size exceeds a configurable limit, before
any allocation.

The limit is ``XBARMEM_MAX_BYTES`` (bytes; an integer, ``k``/``M``/``G`` suffixes allowed) or
:data:`DEFAULT_MAX_BYTES`. Imports only :mod:`xbarmem.errors`.
"""

from __future__ import annotations

import os

from xbarmem.errors import ConfigError

__all__ = ["DEFAULT_MAX_BYTES", "check_bytes", "human_bytes", "max_bytes"]

#: the limit when ``XBARMEM_MAX_BYTES`` is not set: 4 GiB
DEFAULT_MAX_BYTES = 4 * 2**30
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def max_bytes() -> int:
    """The limit in bytes (``XBARMEM_MAX_BYTES`` or :data:`DEFAULT_MAX_BYTES`); raises
    :class:`ConfigError` for a malformed value."""
    text = os.environ.get("XBARMEM_MAX_BYTES", "").strip()
    if not text:
        return DEFAULT_MAX_BYTES
    number, unit = text.rstrip("bB"), ""
    if number and number[-1].lower() in _UNITS:
        number, unit = number[:-1], number[-1].lower()
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise ConfigError(f"XBARMEM_MAX_BYTES must be a positive number of bytes (e.g. 8G), "
                          f"got {text!r}")
    return int(value)


def human_bytes(nbytes: float) -> str:
    """``3.2 GB``-style text (powers of 1024)."""
    value = float(nbytes)
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if value < 1024 or unit == "PB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.3g} {unit}"
        value /= 1024
    return f"{value:.3g} PB"


def check_bytes(what: str, nbytes: float) -> None:
    """Raise :class:`ConfigError` naming ``what`` and the estimate when ``nbytes`` exceeds the
    limit (:func:`max_bytes`)."""
    limit = max_bytes()
    if nbytes > limit:
        raise ConfigError(f"{what} needs about {human_bytes(nbytes)} of memory, more than the "
                          f"limit of {human_bytes(limit)} (set XBARMEM_MAX_BYTES to raise it)")
