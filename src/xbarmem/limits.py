"""Memory limit: refuse a request by its estimated size, before allocating anything.

Every reader or command that would allocate memory proportional to its input (a chip of many
arrays, a compressed pattern file, ``--n``) estimates the bytes it needs and calls
:func:`check_bytes` first. The limit is :data:`DEFAULT_MAX_BYTES` (2 GiB) unless the environment
variable :data:`ENV` (``XBARMEM_MAX_BYTES``) sets another: a byte count, optionally with a binary
suffix ``K``, ``M``, ``G`` or ``T`` (``512M``, ``4G``, ``1.5GiB``); ``0`` or ``none`` disables the
check. The variable is read at each call, so tests and users can change it at run time.

Open files: a process that has as many files, pipes and sockets open as it may (``ulimit -n``)
fails wherever it opens the next -- an import, a worker pool's pipes, a Dask cluster's sockets
-- and :func:`out_of_descriptors` says so in one line, whatever raised it.
"""

from __future__ import annotations

import ast
import contextlib
import errno
import math
import os
import re
import secrets

from xbarmem.errors import ConfigError, causes

__all__ = ["DEFAULT_MAX_BYTES", "ENV", "TooLargeError", "array_bytes", "check_bytes",
           "descriptor_limit", "human", "max_bytes", "out_of_descriptors"]

try:  # (imported now: with no descriptor left, even loading its module would fail)
    import resource as _resource
except ImportError:  # Windows
    _resource = None  # type: ignore[assignment]

ENV = "XBARMEM_MAX_BYTES"
#: the limit when :data:`ENV` is unset: 2 GiB
DEFAULT_MAX_BYTES = 2 * 1024**3
_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


class TooLargeError(ConfigError):
    """A request whose estimated memory is above the limit (:func:`check_bytes`): ``what``
    (the request in words), ``nbytes`` (its estimate), ``limit`` (bytes) and ``lower`` (what
    the message names to lower), which :meth:`naming` words again for a caller whose own
    options make the request."""

    def __init__(self, message: str, *, what: str = "", nbytes: float = 0.0, limit: int = 0,
                 lower: str = "") -> None:
        super().__init__(message)
        self.what, self.nbytes, self.limit, self.lower = what, nbytes, limit, lower

    def naming(self, lower: str = "", *, where: str = "", remedy: str = "") -> TooLargeError:
        """The same refusal led by ``where`` (``"FILE: "``), naming ``lower`` as what to lower
        or, given, ``remedy`` (a whole phrase: ``"leave section (a) out with --sections"``),
        for a caller whose own options make the request (``reproduce``'s sections instead of
        its sweeps' TOML keys). Other attributes (a subclass's) are kept."""
        what = where + self.what
        text = (_refusal(what, self.nbytes, self.limit, lower, remedy) if self.what
                else where + str(self))
        error = type(self)(text, what=what if self.what else "", nbytes=self.nbytes,
                           limit=self.limit, lower=lower)
        error.__dict__.update({k: v for k, v in self.__dict__.items()
                               if k not in ("what", "nbytes", "limit", "lower")})
        return error


def max_bytes() -> int | None:
    """The limit in bytes from :data:`ENV` (default :data:`DEFAULT_MAX_BYTES`); ``None`` when
    disabled (``0`` in any spelling, ``none``, ``off``). A malformed value, one below a byte
    or a fraction of a byte (``1.5``: 1.5G meant?) raises :class:`~xbarmem.errors.ConfigError`."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return DEFAULT_MAX_BYTES
    if text.lower() in ("0", "none", "off"):
        return None
    match = _PATTERN.match(text)
    if not match:
        raise ConfigError(f"{ENV} must be a byte count such as 2G or 512M, got {text!r}")
    value = float(match.group(1)) * _UNITS[match.group(2).upper()]
    if value == 0:  # ("0.0", "0G": zero, as "0" is)
        return None
    if value != int(value):  # ("1.5": 1 byte, every request refused; 1.5G meant?)
        raise ConfigError(f"{ENV} must be a whole number of bytes, or a count with a unit "
                          f"(1.5G), got {text!r}")
    if value < 1:  # (0.5 was a limit of 0 bytes: every request refused)
        raise ConfigError(f"{ENV} must be at least 1 byte (or 0 to turn the limit off), "
                          f"got {text!r}")
    return int(value)


def human(nbytes: float) -> str:
    """``nbytes`` in binary units with three significant figures (``"3.73 GiB"``, ``"1000
    GiB"``, ``"1 MiB"`` for 1023.9 KiB), whole bytes below 1 KiB."""
    value = float(nbytes)
    if abs(value) < 1024:
        return f"{int(value)} B"
    return prefixed(value, "B", [(1024.0 ** k, p) for k, p in enumerate("KMGTP", 1)], 3,
                    binary=True)


def prefixed(value: float, unit: str, prefixes: list[tuple[float, str]], digits: int, *,
             binary: bool = False) -> str:
    """``value`` with ``digits`` significant figures and the largest of ``prefixes``
    (``(factor, prefix)``, factors ascending) at which it reads at least 1 *as rounded*, never
    in exponent notation below the largest: ``prefixed(1e-6, "s", SI, 4)`` is ``"1 us"``, not
    ``"1000 ns"`` (``1e-9 * 1000`` is above ``1e-6`` in floating point), 0.99996 pJ ``"1 pJ"``,
    not ``"1000 fJ"``. Below the smallest factor the smallest prefix (``"0.1 fJ"``);
    ``binary``: ``"Ki"`` ... spelled with the ``"i"`` of binary units. NaN and infinities
    take no prefix (``"nan J"``, ``"inf J"``)."""
    if not math.isfinite(value):
        return f"{value:g} {unit}"
    for k, (factor, prefix) in reversed(list(enumerate(prefixes))):
        rounded = float(f"{value / factor:.{digits}g}")
        if abs(rounded) >= 1 or k == 0:
            return f"{rounded:g} {prefix}{'i' if binary and prefix else ''}{unit}"
    raise AssertionError("unreachable")


def array_bytes(*shape: int, itemsize: int = 8) -> int:
    """Bytes of an array of ``shape`` with ``itemsize``-byte elements, computed in Python
    integers (no overflow for absurd shapes; a negative dimension counts as 0)."""
    return math.prod(max(int(d), 0) for d in shape) * int(itemsize)


def check_bytes(what: str, nbytes: float, *, lower: str = "") -> None:
    """Refuse ``what`` (a phrase naming the request, e.g. ``"a chip of 100000 arrays"``) when its
    estimated ``nbytes`` is above :func:`max_bytes`: raises :class:`TooLargeError` (a
    :class:`~xbarmem.errors.ConfigError`, exit code 2 at the CLI) naming the estimate and the
    limit in human units, and ``lower`` if given: what the caller may lower, in its own words
    (``"--trials or --probes"`` at the command line). Returns ``None`` otherwise."""
    limit = max_bytes()
    if limit is not None and nbytes > limit:
        raise TooLargeError(_refusal(what, nbytes, limit, lower), what=what, nbytes=nbytes,
                            limit=limit, lower=lower)


def _refusal(what: str, nbytes: float, limit: int, lower: str, remedy: str = "") -> str:
    """:func:`check_bytes`'s message: ``what`` needs ``nbytes``, above ``limit``; ``lower``
    (what to lower, a phrase; ``""``: nothing named) or ``remedy`` (a whole phrase), or the
    limit to change."""
    remedy = remedy or (f"lower {lower}" if lower else "")
    remedy = f"{remedy}, or set {ENV} to change the limit" if remedy else (
        f"set {ENV} to change it")
    # (an estimate from absurd sizes may be an integer too large for a float)
    return (f"{what} would need about {human(min(nbytes, 1e300))} of memory, above the limit "
            f"of {human(limit)} ({remedy})")


def descriptor_limit() -> int | None:
    """How many files, pipes and sockets this process may have open at once (the soft
    ``RLIMIT_NOFILE``, ``ulimit -n``), or None where that is unknown or unlimited."""
    if _resource is None:
        return None
    soft = _resource.getrlimit(_resource.RLIMIT_NOFILE)[0]
    return None if soft == _resource.RLIM_INFINITY else int(soft)


def out_of_descriptors(exc: BaseException) -> str | None:
    """The one-line message when ``exc`` is, or was raised from or while handling, a file,
    pipe or socket that could not be opened because the process has as many open as it may
    (``EMFILE``, or :func:`_no_temporary_folder_for_want_of_descriptors`) or the system has
    (``ENFILE``); else None."""
    for cause in causes(exc):
        if isinstance(cause, OSError) and (
                cause.errno == errno.EMFILE
                or _no_temporary_folder_for_want_of_descriptors(cause)):
            limit = descriptor_limit()
            at_once = f": this process may have {limit} open at once" if limit else ""
            return f"too many open files{at_once}; raise the limit (ulimit -n)"
        if isinstance(cause, OSError) and cause.errno == errno.ENFILE:
            return ("too many open files in the system: close other programs, or raise the "
                    "system's limit")
    return None


#: the start of :mod:`tempfile`'s message when no folder took its test file
_NO_TEMPORARY_FOLDER = "No usable temporary directory found in "


def _no_temporary_folder_for_want_of_descriptors(exc: OSError) -> bool:
    """Whether ``exc`` is :mod:`tempfile`'s ``FileNotFoundError`` "No usable temporary
    directory found in [...]" raised because the process had no file descriptor left:
    tempfile tries to create a file in each folder it lists and drops the error that refused
    it (``EMFILE``). Told apart from folders that really are unusable (``TMPDIR`` and every
    other one missing or read-only) by trying them again now: a folder refusing for want of
    a descriptor, or one that now takes a file (the folders were not the problem), says
    it was the descriptors; folders all refusing for another reason, that it was not."""
    text = str(exc.strerror or "")
    if not isinstance(exc, FileNotFoundError) or not text.startswith(_NO_TEMPORARY_FOLDER):
        return False
    try:
        folders = ast.literal_eval(text[len(_NO_TEMPORARY_FOLDER):].strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return False
    if not isinstance(folders, list):
        return False
    return any(_takes_a_file(str(folder)) for folder in folders)


def _takes_a_file(folder: str) -> bool:
    """Whether a file can be created in ``folder`` now (created and removed at once), or
    is refused for want of a file descriptor."""
    probe = os.path.join(folder, f".xbarmem-probe-{os.getpid()}-{secrets.token_hex(6)}")
    try:
        handle = os.open(probe, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as refused:
        return refused.errno in (errno.EMFILE, errno.ENFILE)
    os.close(handle)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return True
