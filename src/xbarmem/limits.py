"""Memory limit: refuse a request by its estimated size, before allocating anything.

Every reader or command that would allocate memory proportional to its input (a chip of many
arrays, a compressed pattern file, ``--n``) estimates the bytes it needs and calls
:func:`check_bytes` first. The limit is :data:`DEFAULT_MAX_BYTES` (2 GiB) unless the environment
variable :data:`ENV` (``XBARMEM_MAX_BYTES``) sets another: a byte count, optionally with a binary
suffix ``K``, ``M``, ``G`` or ``T`` (``512M``, ``4G``, ``1.5GiB``); ``0`` or ``none`` disables the
check. The variable is read at each call, so tests and users can change it at run time.
"""

from __future__ import annotations

import math
import os
import re

from xbarmem.errors import ConfigError

__all__ = ["DEFAULT_MAX_BYTES", "ENV", "TooLargeError", "array_bytes", "check_bytes", "human",
           "max_bytes"]

ENV = "XBARMEM_MAX_BYTES"
#: the limit when :data:`ENV` is unset: 2 GiB
DEFAULT_MAX_BYTES = 2 * 1024**3
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


class TooLargeError(ConfigError):
    """A request whose estimated memory is above the limit (:func:`check_bytes`)."""


def max_bytes() -> int | None:
    """The limit in bytes from :data:`ENV` (default :data:`DEFAULT_MAX_BYTES`); ``None`` when
    disabled (``0``/``none``). A malformed value raises :class:`~xbarmem.errors.ConfigError`."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return DEFAULT_MAX_BYTES
    if text.lower() in ("0", "none", "off"):
        return None
    match = _PATTERN.match(text)
    if not match:
        raise ConfigError(f"{ENV} must be a byte count such as 2G or 512M, got {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def human(nbytes: float) -> str:
    """``nbytes`` in binary units with three significant figures (``"3.73 GiB"``)."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def array_bytes(*shape: int, itemsize: int = 8) -> int:
    """Bytes of an array of ``shape`` with ``itemsize``-byte elements, computed in Python
    integers (no overflow for absurd shapes; a negative dimension counts as 0)."""
    return math.prod(max(int(d), 0) for d in shape) * int(itemsize)


def check_bytes(what: str, nbytes: float) -> None:
    """Refuse ``what`` (a phrase naming the request, e.g. ``"a chip of 100000 arrays"``) when its
    estimated ``nbytes`` is above :func:`max_bytes`: raises :class:`TooLargeError` (a
    :class:`~xbarmem.errors.ConfigError`, exit code 2 at the CLI) naming the estimate and the
    limit in human units. Returns ``None`` otherwise."""
    limit = max_bytes()
    if limit is not None and nbytes > limit:
        raise TooLargeError(
            f"{what} would need about {human(nbytes)} of memory, above the limit of "
            f"{human(limit)} (set {ENV} to change it)")
