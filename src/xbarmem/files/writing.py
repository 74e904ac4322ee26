"""Writing results: :func:`write_atomically` / :func:`write_file` write every result file through
a temporary file beside it that replaces it in one step, so a process killed at any moment
never leaves a file cut short; the temporary files of killed processes are cleared
(:func:`side_name` names files beside a target).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from xbarmem.files.folders import _held


def _umask() -> int:
    """The process's file-creation mask (read from /proc where it is shown, else set and
    restored)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_replacing(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(target)`` for a writer that replaces ``target`` by renaming a temporary
    file over it (:func:`write_atomically`'s): ``target`` is the file a symbolic link at ``path``
    points to (the link stays a link), and the written file keeps the mode of the file it
    replaced, or gets a new file's mode under the umask (``0o666 & ~umask``), instead of the
    temporary file's ``0o600``. Returns ``target``."""
    target = Path(path)
    if target.is_symlink():
        target = target.resolve()
    mode = _mode_for(target)
    write(target)
    if _held() is None or target.exists():  # (a held file is not in place before its block ends)
        os.chmod(target, mode)
    return target


def _mode_for(target: Path) -> int:
    """The mode a file written to ``target`` gets: that of the file it replaces, else a new
    file's under the umask."""
    return (target.stat().st_mode & 0o7777) if target.exists() else 0o666 & ~_umask()


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """The one way a result file (checkpoint, JSON, report, figure, table, array) is written:
    ``write(partial)`` writes the whole file to a temporary file of its own beside ``path``
    (``.{name}.XXXX.{host}-{pid}.partial``: same folder, so the same file system), which then
    replaces ``path`` in one step (``os.replace``). A process killed at any moment (kill -9,
    a crash, a full disk) leaves the old file or the new one, never part of one; two processes
    writing one file leave one of theirs whole. The temporary file is removed when ``write``
    fails or is interrupted; those left beside ``path`` by killed processes of this host are
    removed before writing (:func:`_clear_partials`). Links and modes as
    :func:`write_replacing`. A ``path`` that is not a regular file (a named pipe another
    program reads, ``/dev/stdout``, ``/dev/null``) is written into, never replaced. Inside
    :func:`written_together` the temporary file replaces ``path`` when the block ends. An
    :class:`OSError` of ``write`` that names no file, or the temporary one (a full disk: ``No
    space left on device``), names ``path``, as one of a file that is not regular does (a
    link to ``/dev/full``). Returns the file written."""

    def replace(target: Path) -> None:
        _clear_partials(target)
        handle, partial = tempfile.mkstemp(prefix=f".{side_name(target.name)}.",
                                           suffix=f".{_OWNER}-{os.getpid()}.partial",
                                           dir=target.parent)
        os.close(handle)
        try:
            write(Path(partial))
            held = _held()
            if held is not None:  # replaced when the block of written_together ends
                held.append((Path(partial), target, _mode_for(target)))
                return
            os.replace(partial, target)
        except BaseException as exc:
            Path(partial).unlink(missing_ok=True)
            _name_given(exc, path, partial)
            raise

    given = Path(path)
    if given.exists() and not given.is_file() and not given.is_dir():
        # a FIFO or a device, or a link to one (/dev/stdout): replacing it would remove it (as
        # root, a device node of /dev) and the program reading it would get nothing
        try:
            write(given)
        except OSError as exc:  # (a link to /dev/full, a pipe whose reader is gone)
            _name_given(exc, path, given)
            raise
        return given
    return write_replacing(path, replace)


def _name_given(exc: BaseException, path: str | Path, written: str | Path) -> None:
    """Let an :class:`OSError` of a write that names no file, or the file ``written`` (the
    temporary one, or a device ``path`` links to), name ``path``, the file the caller gave
    (a full disk says no file: its write is of an open file)."""
    if isinstance(exc, OSError) and exc.filename in (None, str(written), Path(written)):
        exc.filename = str(path)


def write_file(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` with :func:`write_atomically`."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return write_atomically(path, lambda partial: partial.write_bytes(raw))


def write_npy(path: str | Path, array: np.ndarray) -> Path:
    """Write ``array`` as ``.npy`` to ``path`` exactly (no ``.npy`` added) with
    :func:`write_atomically` (never pickled)."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return write_file(path, buffer.getvalue())


#: this host, in the names of temporary files (their processes are looked for here only)
_OWNER = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())[:40] or "host"

#: the longest file name (bytes) used as it is in the names of files beside it
SIDE_NAME_BYTES = 120


def fingerprint(array: Any) -> str:
    """``array``'s dtype, shape and SHA-256 of its bytes, as text: a user's patterns or fault
    map in a checkpoint's key (a file changed since the run was interrupted is another key),
    a file's images in the results of ``scaling`` (whose earlier results of other data it
    replaces are named in a warning)."""
    a = np.ascontiguousarray(array)
    return f"{a.dtype.str}{list(a.shape)}:{hashlib.sha256(a.tobytes()).hexdigest()}"


def side_name(name: str) -> str:
    """``name`` as it appears in the names of the files made beside it (temporary files, lock
    files): itself, or, when longer than :data:`SIDE_NAME_BYTES` bytes, its start and a hash
    of the whole, so that those names stay within the file system's limit (255 bytes) for any
    name that is itself within it."""
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= SIDE_NAME_BYTES:
        return name
    digest = hashlib.sha256(raw).hexdigest()[:16]
    return raw[:80].decode("utf-8", "ignore") + "~" + digest


def _clear_partials(target: Path) -> None:
    """Remove the temporary files of :func:`write_atomically` beside ``target`` whose process
    (on this host) is gone: a writer killed mid-write left them."""
    pattern = re.compile(rf"\.{re.escape(side_name(target.name))}\.[^.]+\.{_OWNER}-(\d+)"
                         rf"\.partial")
    try:
        names = [m for m in (pattern.fullmatch(p.name) for p in target.parent.iterdir()) if m]
    except OSError:
        return
    for match in names:
        if not _running(int(match.group(1))):
            (target.parent / match.group(0)).unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # (another user's process, or no such check here)
        return True
    return True
