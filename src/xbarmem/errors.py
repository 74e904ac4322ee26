"""Exception hierarchy for xbarmem.

Every error raised deliberately by the library derives from :class:`XbarmemError`; the
input-validation errors also derive from :class:`ValueError` so generic handlers still work;
:class:`ArgumentError` (an unknown keyword, an argument of the wrong type) is a
:class:`TypeError` too, as Python's own error for these is. A value that is valid but
probably not meant is warned about with :class:`XbarmemWarning` (old spellings with
``DeprecationWarning``).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import types
import warnings
from collections.abc import Iterator

__all__ = ["ArgumentError", "ConfigError", "ExecutorLost", "FileFormatError", "PatternError",
           "XbarmemError", "XbarmemWarning"]


class XbarmemError(Exception):
    """Base class of all xbarmem errors."""


class PatternError(XbarmemError, ValueError):
    """Bad pattern input (shape, dtype, values, or size mismatch with the memory)."""


class ConfigError(XbarmemError, ValueError):
    """Bad configuration key or value."""


class FileFormatError(XbarmemError, ValueError):
    """A missing, corrupt or foreign (unrecognised) file."""


class ArgumentError(ConfigError, TypeError):
    """A public function called with an unknown keyword argument or an argument of the wrong
    type (a :class:`ConfigError` and a :class:`TypeError`, which Python raises for these)."""


class ExecutorLost(XbarmemError):
    """A sweep's executor went away mid-sweep (a Dask scheduler lost, or a cluster left without
    workers); the groups finished before are stored, and running the sweep again resumes
    it."""


class XbarmemWarning(UserWarning):
    """A value that is valid but probably not meant (e.g. device noise as wide as the
    conductance window); the work goes on. Filter it with ``warnings.filterwarnings("ignore",
    category=XbarmemWarning)``; the command line prints it as one ``warning:`` line."""


#: per thread: how many :func:`quiet_warnings` blocks it is inside
_QUIET = threading.local()


def warn(message: str, stacklevel: int = 1) -> None:
    """Issue ``message`` as an :class:`XbarmemWarning` (``stacklevel`` as
    :func:`warnings.warn`'s, counted from the caller) -- every one xbarmem issues goes through
    here -- unless the calling thread is inside :func:`quiet_warnings`."""
    if not getattr(_QUIET, "depth", 0):
        warnings.warn(message, XbarmemWarning, stacklevel=stacklevel + 1)


def caller_stacklevel(*also: str) -> int:
    """The ``stacklevel`` for :func:`warn` called by the function calling this one that points
    at the first frame (from that function's caller on) outside the xbarmem package and the
    files whose names start with one of ``also``: the user's line that called the public
    function, whatever wrappers of xbarmem lie between. A frame of the package is known by its
    module's name (``xbarmem`` or ``xbarmem.*``), not by its file's path, so a package imported
    through a link, and code a dataclass generates in its module, count as the package."""
    frame = sys._getframe(2)
    level = 2
    while frame is not None and _inside(frame, also):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


def _inside(frame: types.FrameType, also: tuple[str, ...]) -> bool:
    """Whether ``frame`` runs code of an xbarmem module (its globals' ``__name__``) or of a
    file whose name starts with one of ``also``."""
    module = str(frame.f_globals.get("__name__", ""))
    return (module == "xbarmem" or module.startswith("xbarmem.")
            or frame.f_code.co_filename.startswith(also))


@contextlib.contextmanager
def quiet_warnings() -> Iterator[None]:
    """Inside, :func:`warn` issues nothing in this thread; other threads' warnings, and the
    process's warning filters, are untouched (``warnings.catch_warnings`` changes the filters
    of every thread: a sweep's group running in the driver hid the driver's own warnings)."""
    _QUIET.depth = getattr(_QUIET, "depth", 0) + 1
    try:
        yield
    finally:
        _QUIET.depth -= 1


def causes(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling (``__cause__``, else
    ``__context__``), the latest first: what another library's error wraps (Dask's "Cluster
    failed to start" of a socket that could not be opened)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__
