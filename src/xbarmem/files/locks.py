"""A file held by one process at a time (:class:`FileLock`: the kernel's ``flock`` on a lock file
beside it, dropped however the process ends).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from xbarmem.errors import FileFormatError, XbarmemError
from xbarmem.files.folders import make_folder
from xbarmem.files.writing import side_name


class FileLock:
    """``path`` held by this process alone, until :meth:`release` (or the process ends,
    however it ends: the lock is the kernel's ``flock`` on ``.{name}.lock`` beside it, which a
    killed process drops). Another process wanting the same file is refused at once with
    ``error`` ``{what} {path} is in use by another run ...``, instead of both computing the
    same work and overwriting each other's file; locks of one file in one process share the
    kernel's. The lock file is removed when the last of them is released; one left by a killed
    run is taken over. Where ``flock`` does not exist (Windows) or the file system refuses it,
    nothing is locked."""

    #: locks held by this process: lock file -> [descriptor, holders]
    _held: ClassVar[dict[Path, list[int]]] = {}

    def __init__(self, path: str | Path, what: str = "file", *,
                 error: type[XbarmemError] = FileFormatError) -> None:
        self._key: Path | None = None
        lock = Path(path).parent / f".{side_name(Path(path).name)}.lock"
        make_folder(lock.parent)
        key = lock.resolve()
        if key in self._held:
            self._held[key][1] += 1
        else:
            fd = _flock(key, lambda: error(
                f"{what} {path} is in use by another run (the same command started twice?); "
                f"wait for it to end, or use another file"))
            if fd is None:
                return
            self._held[key] = [fd, 1]
        self._key = key

    def release(self) -> None:
        """Let go of the file (again: nothing)."""
        key, self._key = getattr(self, "_key", None), None
        if key is not None:
            held = self._held[key]
            held[1] -= 1
            if not held[1]:
                del self._held[key]
                key.unlink(missing_ok=True)
                os.close(held[0])

    def __del__(self) -> None:
        self.release()


def _flock(lock: Path, busy: Callable[[], XbarmemError]) -> int | None:
    """A descriptor of the file ``lock`` holding its exclusive ``flock``; raises ``busy()``
    when another process holds it; None where locks do not exist."""
    try:
        import fcntl
    except ImportError:  # (Windows)
        return None
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:  # (a lock file of another user's: the folder's checks say the rest)
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise busy() from None
        except OSError:  # a file system without locks
            os.close(fd)
            return None
        try:  # the file locked is still the one at the path (not one just released)
            if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)
