"""The command line's standard streams when they cannot take what a command prints: closed
before the command starts (``>&-``, ``2>&-``), or failing part-way (a full disk behind
``> file``, ``> /dev/full``). Broken pipes (``| head``) are Rich's (it ends the command
quietly)."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys

#: errors of a write that failed for lack of room or a failing device, not for a wrong path
WRITE_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def closed_output() -> str | None:
    """Why the command cannot print, when standard output is closed (Python then sets
    ``sys.stdout`` to ``None`` and every line it prints is lost without a word) or open for
    reading only, else ``None``. A standard error that cannot be written is pointed at the
    null device first: exit codes still say how a command ended, though nothing can be said,
    and no file the command opens later takes its descriptor (what it printed would go into
    that file)."""
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (kept open until the process ends)
    else:
        fd = _descriptor(sys.stderr)
        if fd is not None and not _writable(fd):
            _to_null(fd)
    if sys.stdout is None or not _writable(_descriptor(sys.stdout)):
        return "standard output is closed: redirect it to a file, or to /dev/null to discard it"
    return None


def _descriptor(stream: object) -> int | None:
    """``stream``'s file descriptor; ``None`` for one without (a test's capture)."""
    try:
        return stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        return None


def _writable(fd: int | None) -> bool:
    """Whether ``fd`` is open for writing (``True`` for ``None``: no descriptor to check).
    A closed descriptor may have been taken by a file the shell or Python opened since, open
    for reading: that counts as closed."""
    if fd is None:
        return True
    try:
        import fcntl
    except ImportError:  # Windows: whether it is open at all
        try:
            os.fstat(fd)
        except OSError:
            return False
        return True
    try:
        mode = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
    except OSError:
        return False
    return mode in (os.O_WRONLY, os.O_RDWR)


def write_failure(exc: OSError) -> str | None:
    """The one-line message for ``exc`` when it is a write that failed for lack of room or
    a failing device (:data:`WRITE_FAILURES`), else ``None``. Standard output is then pointed
    at the null device if it cannot be flushed, so Python's own flush at exit does not fail
    again with a traceback."""
    if exc.errno not in WRITE_FAILURES:
        return None
    try:
        sys.stdout.flush()
    except OSError:
        with contextlib.suppress(OSError, ValueError, AttributeError, io.UnsupportedOperation):
            _to_null(sys.stdout.fileno())
    where = f" ({exc.filename})" if exc.filename else ""
    return f"writing failed: {exc.strerror}{where}"


def _to_null(fd: int) -> None:
    null = os.open(os.devnull, os.O_WRONLY)
    if null != fd:
        os.dup2(null, fd)
        os.close(null)
