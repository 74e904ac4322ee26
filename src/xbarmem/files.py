"""Reading users' files: the one boundary every reader goes through.

Each function turns every way a file can be wrong -- missing, a directory, unreadable, not UTF-8,
a corrupt or truncated gzip body, a corrupt ``.npy``/``.npz``, a missing array -- into one
:class:`~xbarmem.errors.FileFormatError` naming the file, and checks the memory a file will need
against :mod:`xbarmem.limits` *before* allocating it:

* :func:`read_bytes` / :func:`read_text` check the file's size (times ``expand``, the reader's
  estimate of memory per file byte) before reading it;
* :func:`gunzip` decompresses in chunks: the size a header declares (``size_of``, e.g. an
  ``.npy`` or IDX header) is checked as soon as the header is out, and the running size times
  ``expand`` after every chunk, so a small file that would inflate to gigabytes is refused
  after at most one chunk past the limit (:data:`CHUNK`);
* :class:`ArrayFile` reads ``.npy``/``.npz`` bytes: every array's header (shape, dtype) is
  checked against the limit and against the bytes really present before it is loaded; object
  arrays are refused (nothing is ever unpickled). :meth:`ArrayFile.of_file` of a file
  :func:`opened` reads only what :meth:`ArrayFile.header` needs: an array's shape and dtype,
  with the same checks, without loading it.

And writing results: :func:`write_atomically` / :func:`write_file` write every result file
through a temporary file beside it that replaces it in one step, so a process killed at any
moment never leaves a file cut short; :func:`make_folder` creates every output folder, and a
command or function that fails inside :func:`undone_on_failure` leaves none of those it
created empty behind; files that make one whole (an export) are written inside
:func:`written_together`: all of them, or none.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import functools
import hashlib
import io
import json
import math
import os
import re
import socket
import tempfile
import threading
import tokenize
import tomllib
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, ClassVar, NoReturn, ParamSpec, TypeVar

import numpy as np

from xbarmem.checks import shown
from xbarmem.errors import ArgumentError, FileFormatError, XbarmemError
from xbarmem.limits import check_bytes, human

__all__ = ["CHUNK", "MAX_NESTING", "ArrayFile", "FileLock", "NestingError", "as_path",
           "broken_link", "check_members_writable", "folder_member", "gunzip", "home_expanded",
           "link_target",
           "make_folder", "npy_size", "opened", "output_file", "output_folder", "parse_text",
           "read_bytes", "missing", "read_text", "same_file", "undone_on_failure",
           "undone_on_failure_of",
           "what_is", "write_atomically", "write_file", "write_npy", "write_replacing",
           "written_together"]

#: decompression step: at most this many bytes are inflated past a limit before it is refused
CHUNK = 1 << 20
_NPY_MAGIC = b"\x93NUMPY"
#: the longest ``.npy`` header read: numpy's own default, beyond which ``np.load`` refuses one
_NPY_MAX_HEADER = 10_000
#: what reading a damaged zip archive (.npz) can raise: a flipped version field in its
#: directory gives NotImplementedError, a flipped "encrypted" flag RuntimeError, a corrupt
#: deflate stream zlib.error
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError,
               NotImplementedError, RuntimeError)
#: deepest nesting of lists / tables in any JSON or TOML text read (xbarmem's own go ~6 deep)
MAX_NESTING = 64


def _where(path: str | Path, what: str) -> str:
    return f"{path}" if not what else f"{what} {path}"


def missing(path: str | Path, what: str = "file") -> str:
    """The message for an input ``path`` that does not exist (``what`` names it): ``no such
    {what}: {path}``, or, for a symbolic link whose target is missing or that loops back on
    itself (``ls`` lists it; "no such file" would puzzle), what the link is."""
    path = Path(path)
    if path.is_symlink():
        if _in_a_loop(path):
            return f"{_where(path, what)} is a symbolic link loop (it never reaches a file)"
        return f"{_where(path, what)} is a symbolic link to a missing file ({os.readlink(path)})"
    return f"no such {what}: {path}"


def _in_a_loop(path: Path) -> bool:
    """Whether following ``path``'s symbolic links ends in a loop (``ELOOP``): asked of the
    system, as :meth:`Path.resolve` reports a loop only before Python 3.13 (since, without
    ``strict``, it returns a path inside the loop)."""
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def home_expanded(text: str) -> str:
    """``text`` with a leading ``~`` or ``~user`` replaced by that home folder, as a shell
    does for a word it sees: a path that reaches xbarmem unexpanded (``--out=~/m.safetensors``,
    which the shell leaves alone after ``=``; a quoted one; a Python string) means the same.
    Unchanged without a leading ``~``, or when there is no such home folder."""
    return os.path.expanduser(text) if text.startswith("~") else text


def as_path(path: object, name: str = "path") -> Path:
    """The one reader of a path argument: a non-empty ``str`` or :class:`os.PathLike` as a
    :class:`~pathlib.Path` (a leading ``~``: the home folder, :func:`home_expanded`); anything
    else (None, a number, bytes, an array) raises :class:`~xbarmem.errors.ArgumentError`
    naming ``name`` before any file is touched."""
    if isinstance(path, str | os.PathLike) and not isinstance(path, bytes):
        text = os.fspath(path)
        if isinstance(text, str) and text.strip():
            return Path(home_expanded(text))
        if isinstance(text, str):
            raise ArgumentError(f"{name} must be a file path, got an empty text")
    raise ArgumentError(f"{name} must be a file path (a str or pathlib.Path), "
                        f"got {type(path).__name__}")


def link_target(path: str | Path) -> Path | None:
    """Where a write to ``path`` lands, to judge before writing: ``path`` itself when it is no
    symbolic link or leads to something that exists (judged through the link: ``/dev/stdout``
    leads to a pipe that has no path of its own); a link that leads to nothing yet, the path
    it leads to (a writer creates it there, the link stays a link); ``None`` for links in a
    loop, which lead nowhere. Every check of an output judges this path, so that a link into
    a missing folder is refused before any work, not found out by the write at its end."""
    path = Path(path)
    if not path.is_symlink() or path.exists():
        return path
    if _in_a_loop(path):
        return None
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # (a loop made meanwhile)
        return None


def broken_link(target: Path) -> str:
    """Why an output named by a symbolic link to ``target``, which does not exist, is refused
    (by every check of an output, the command line's and the library's): writing through it
    would create a file or folder elsewhere, which was not asked for."""
    return (f"a broken symbolic link (to {target}, which does not exist; nothing is written "
            f"through it)")


def output_file(path: object, what: str = "file", name: str = "path") -> Path:
    """The one check of a file to write, before anything is written: :func:`as_path`, then
    :class:`FileFormatError` ``cannot write the {what} to {path}: ...`` when it is a folder,
    its folder does not exist, or the folder or an existing file is not writable (judged
    where a symbolic link leads, :func:`link_target`; links in a loop are refused, and a
    broken link, which would create a file elsewhere: :func:`broken_link`)."""
    given = as_path(path, name)
    target = _followed(given, f"cannot write the {what} to {given}", FileFormatError)
    why = ("it is a folder" if target.is_dir()
           else f"no folder {target.parent}" if not target.parent.is_dir()
           else "no permission to write it" if (
               not os.access(target.parent, os.W_OK)
               or (target.exists() and not os.access(target, os.W_OK))) else "")
    if why:
        raise FileFormatError(f"cannot write the {what} to {given}: {why}")
    return given


def _followed(path: Path, refusal: str, error: type[XbarmemError]) -> Path:
    """Where ``path`` leads (:func:`link_target`); ``error`` "``refusal``: ..." for symbolic
    links in a loop or a broken one (:func:`broken_link`)."""
    target = link_target(path)
    if target is None:
        raise error(f"{refusal}: symbolic links in a loop")
    if target != path:
        raise error(f"{refusal}: {broken_link(target)}")
    return target


def output_folder(path: object, what: str = "output folder", name: str = "out_dir", *,
                  error: type[XbarmemError] = FileFormatError) -> Path:
    """The one check of a folder to write in (created if missing), before anything is
    written: :func:`as_path`, then :class:`FileFormatError` ``cannot write the {what} in
    {path}: ...`` (or ``error``) when it, or a folder above it, is a file (or not a
    folder), or a broken symbolic link (:func:`broken_link`)."""
    target = as_path(path, name)
    reached = _followed(target, f"cannot write the {what} in {target}", error)
    existing = next((p for p in (reached, *reached.absolute().parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise error(f"cannot write the {what} in {target}: {existing} exists and is not a "
                    f"folder")
    return target


def folder_member(folder: str | Path, name: str, what: str = "file") -> Path:
    """``folder / name`` for a file a folder (or its manifest) names, to read: refused with
    :class:`FileFormatError` naming the member (``{folder}: {what} 'x.npy' leads outside the
    folder (a symbolic link)``; never where it leads) when it -- itself or through a linked
    subfolder -- resolves outside ``folder``. A link that stays inside reads only the folder's
    own files and is followed."""
    folder = Path(folder)
    path = folder / name
    try:
        inside = path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a link loop
        inside = False
    if not inside:
        raise FileFormatError(f"{folder}: {what} {shown(name)} leads outside the folder (a "
                              f"symbolic link); only files inside it are read")
    return path


def check_outputs_in(folder: Path, names: list[str], what: str, *,
                     error: type[XbarmemError] = FileFormatError) -> None:
    """Refuse, before any work, a folder (already checked by :func:`output_folder`) in which
    a file the caller writes by its own name (``names``) cannot be written: a folder of that
    name, or a file or folder without write permission (:func:`output_file`'s rule), as
    ``error`` ``cannot write the {what} in {folder}: {name} ...``; in a folder still to be
    created, nothing. The API's counterpart of the command line's one check
    (``xbarmem.cli.paths.check_members``)."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for name in names:
        path = link_target(folder / name)
        why = ("is a symbolic link loop" if path is None else "is a folder" if path.is_dir()
               else f"is a symbolic link into a missing folder ({path.parent})"
               if not path.parent.is_dir() else "cannot be replaced (no permission)" if (
                   not os.access(path.parent, os.W_OK)
                   or (path.exists() and not os.access(path, os.W_OK))) else "")
        if why:
            raise error(f"cannot write the {what} in {folder}: {name} {why}")


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether the paths ``a`` and ``b`` name one file: the same path resolved (links followed,
    other spellings; either may not exist yet), or, when both exist, one file by
    :func:`os.path.samefile` (hard links). Paths that cannot be resolved (unreadable folders,
    link loops) are not told apart: False."""
    try:
        if Path(a).resolve() == Path(b).resolve():
            return True
        return Path(a).exists() and Path(b).exists() and os.path.samefile(a, b)
    except (OSError, RuntimeError):
        return False


def check_members_writable(folder: Path, names: list[str], what: str, *,
                           error: type[XbarmemError] = FileFormatError) -> None:
    """Refuse, before anything is written, a folder in which one of the files ``names`` that
    will be (re)written is a symbolic link (wherever it leads: writing through it would write
    outside the folder, or make two of its files one) or something other than a regular file
    (a folder): ``error`` ``cannot write the {what} in {folder}: {name} is ...``."""
    for name in names:
        path = folder / name
        why = ("is a symbolic link (files are never written through links; remove it)"
               if path.is_symlink() else
               "exists and is not a regular file" if path.exists() and not path.is_file()
               else "")
        if why:
            raise error(f"cannot write the {what} in {folder}: {name} {why}")


# ------------------------------------------------------------------ folders made, undone
#: per thread: ``made``, the folders :func:`make_folder` created inside the open
#: :func:`undone_on_failure` blocks, and ``blocks``, how many are open (one thread's failure
#: never removes a folder another thread has just made to write into)
_undo = threading.local()

_P = ParamSpec("_P")
_R = TypeVar("_R")


def make_folder(path: str | Path) -> Path:
    """The one way an output folder is created: ``path`` (or, a symbolic link, the folder it
    leads to) and its missing parents (``mkdir -p``). Inside :func:`undone_on_failure`, each
    folder it created (none that existed) is recorded, to be removed again when the block
    fails and leaves it empty. Returns ``path``."""
    target = Path(path)
    made = link_target(target) or target  # a link to a folder still to make: that folder
    new = []
    for folder in (made.absolute(), *made.absolute().parents):
        if os.path.lexists(folder):
            break
        new.append(folder)
    made.mkdir(parents=True, exist_ok=True)
    if getattr(_undo, "blocks", 0):
        _undo.made.extend(new)
    return target


@contextlib.contextmanager
def undone_on_failure() -> Iterator[None]:
    """Inside, a failure -- any exception, an interrupt, a nonzero exit -- removes the folders
    :func:`make_folder` created in the block that it left empty (deepest first: a folder made
    only to hold another goes too). A folder holding any file is kept, and one that existed
    before is never touched: a command that fails leaves no empty folder it made (its
    partial files are :func:`write_atomically`'s, removed as they fail). Blocks nest: the
    folders of an inner block that succeeded are undone if an outer one fails."""
    if not getattr(_undo, "blocks", 0):
        _undo.blocks, _undo.made = 0, []
    start = len(_undo.made)
    _undo.blocks += 1
    try:
        yield
    except SystemExit as exc:
        if exc.code not in (None, 0):
            _remove_empty(start)
        raise
    except BaseException:
        _remove_empty(start)
        raise
    finally:
        _undo.blocks -= 1
        if not _undo.blocks:
            _undo.made = []


def _remove_empty(start: int) -> None:
    """Remove each folder recorded since ``start`` that is empty (``rmdir`` removes no
    other), the deepest first; forget them all."""
    made, _undo.made[start:] = _undo.made[start:], []
    for folder in sorted(set(made), key=lambda f: len(f.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()


def undone_on_failure_of(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function`` run inside :func:`undone_on_failure` (for the functions of the API that
    make folders)."""
    @functools.wraps(function)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with undone_on_failure():
            return function(*args, **kwargs)
    return run


@contextlib.contextmanager
def written_together() -> Iterator[None]:
    """Inside, every file :func:`write_atomically` writes in this thread is written whole to
    its temporary file, and the temporary files replace their targets only once the block ends
    without failure, one after the other; a failure -- any exception, an interrupt, a nonzero
    exit -- removes them, leaving every target as it was before the block: files that make one
    whole (an export folder) are all written or none is, and none that was there before is
    removed or changed (nor is a file written inside there to read before the block ends).
    Blocks nest: the files of an inner block wait for the outer one."""
    if _held() is not None:
        yield
        return
    held: list[tuple[Path, Path, int]] = []
    _undo.held = held
    try:
        yield
    except SystemExit as exc:
        _undo.held = None
        _settle(held, commit=exc.code in (None, 0))
        raise
    except BaseException:
        _undo.held = None
        _settle(held, commit=False)
        raise
    _undo.held = None
    _settle(held, commit=True)


def _held() -> list[tuple[Path, Path, int]] | None:
    """The files waiting for the end of this thread's :func:`written_together` block
    (temporary file, target, mode), or None outside one."""
    return getattr(_undo, "held", None)


def _settle(held: list[tuple[Path, Path, int]], *, commit: bool) -> None:
    """Put the held temporary files in place of their targets (``commit``), else remove them;
    those not put in place are removed when one fails."""
    try:
        while commit and held:
            partial, target, mode = held[0]
            os.chmod(partial, mode)
            os.replace(partial, target)
            held.pop(0)
    finally:
        for partial, _, _ in held:
            partial.unlink(missing_ok=True)


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
    :func:`written_together` the temporary file replaces ``path`` when the block ends. Returns
    the file written."""

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
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise

    given = Path(path)
    if given.exists() and not given.is_file() and not given.is_dir():
        # a FIFO or a device, or a link to one (/dev/stdout): replacing it would remove it (as
        # root, a device node of /dev) and the program reading it would get nothing
        write(given)
        return given
    return write_replacing(path, replace)


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


def read_bytes(path: str | Path, what: str = "file", *, expand: float = 1.0) -> bytes:
    """The bytes of the regular file ``path`` (``what`` names it in messages: ``"chip file"``).

    Raises :class:`FileFormatError` when it is missing, a directory or another non-file, or
    unreadable; :class:`~xbarmem.limits.TooLargeError` when its size times ``expand`` (memory
    the caller needs per file byte) is above the limit."""
    with opened(path, what, expand=expand) as (handle, _):
        return handle.read()


@contextlib.contextmanager
def opened(path: str | Path, what: str = "file", *,
           expand: float = 1.0) -> Iterator[tuple[BinaryIO, int]]:
    """``(binary file, its size)`` of the regular file ``path``, open for reading, checked as
    :func:`read_bytes` checks it (the same refusals, the same messages; an error reading it
    inside the block too): for readers that need only part of a file (an array's header)."""
    path = Path(path)
    try:
        if not path.exists():
            raise FileFormatError(missing(path, what))
        if path.is_dir():
            raise FileFormatError(folder_problem(path, what))
        if not path.is_file():
            raise FileFormatError(f"{_where(path, what)} is not a regular file")
        size = path.stat().st_size
        check_bytes(f"reading {_where(path, what)}", size * expand)
        with path.open("rb") as handle:
            yield handle, size
    except OSError as exc:
        raise FileFormatError(f"cannot read {_where(path, what)}: "
                              f"{exc.strerror or exc}") from None


#: the largest ``manifest.json`` :func:`folder_problem` reads for the model an export names
_MANIFEST_BYTES = 1 << 20


def folder_problem(path: Path, what: str = "file") -> str:
    """The message for a folder ``path`` given where a file (``what``: ``"model file"``) is
    expected: ``... is a directory, not a file``; for an export folder (its ``manifest.json``
    of format ``xbarmem-export/...``, what ``xbarmem export`` writes) that it is one and, where
    a model file is expected, to give the model file it was exported from (the manifest's
    ``source``, as it was given to the export, when it records one)."""
    manifest = _export_manifest(path)
    if manifest is None:
        return f"{_where(path, what)} is a directory, not a file"
    text = f"{_where(path, what)} is an export folder (what xbarmem export writes), not a file"
    if what != "model file":
        return text
    source = manifest.get("source")
    named = (f" (its manifest.json records {shown(source)})"
             if isinstance(source, str) and source.strip() and len(source) <= 500 else "")
    return f"{text}; give the model file it was exported from{named}"


def _export_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of the export folder ``folder``, None when it is not one (or its manifest
    cannot be read: then it is a folder as any other)."""
    manifest = folder / "manifest.json"
    try:
        if not manifest.is_file() or manifest.stat().st_size > _MANIFEST_BYTES:
            return None
        data = parse_text(json.loads, manifest.read_bytes())
    except (OSError, ValueError, XbarmemError):
        return None
    fmt = data.get("format") if isinstance(data, dict) else None
    return data if isinstance(fmt, str) and fmt.startswith("xbarmem-export/") else None


def read_text(path: str | Path, what: str = "file", *, expand: float = 1.0) -> str:
    """The UTF-8 text of ``path`` (a byte-order mark is dropped); errors as :func:`read_bytes`,
    plus :class:`FileFormatError` naming the first byte that is not UTF-8."""
    return decode(read_bytes(path, what, expand=expand), _where(path, what))


#: byte-order marks of the Unicode encodings other than UTF-8 a text file may be saved in
#: (Excel's "Unicode text" is UTF-16 with its mark), longest first
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def text_encoding(raw: bytes) -> str:
    """The encoding of text ``raw``: UTF-16 or UTF-32 when it starts with that byte-order
    mark, else UTF-8 (its own mark dropped when present)."""
    return next((name for bom, name in _BOMS if raw.startswith(bom)), "utf-8-sig")


def decode(raw: bytes, where: str) -> str:
    """``raw`` as text: UTF-8, or UTF-16 / UTF-32 after their byte-order mark
    (:func:`text_encoding`; the mark dropped); :class:`FileFormatError` naming ``where`` and
    the offset of the first invalid byte otherwise."""
    encoding = text_encoding(raw)
    if encoding == "utf-8-sig" and b"\x00" in raw:  # (no text of ours holds a NUL character)
        raise FileFormatError(f"{where} holds NUL bytes (offset {raw.index(0)}): text saved as "
                              f"UTF-16 without its byte-order mark? save it as UTF-8")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        name = "UTF-8" if encoding == "utf-8-sig" else encoding.upper()
        raise FileFormatError(f"{where} is not {name} text (byte 0x{raw[exc.start]:02x} at "
                              f"offset {exc.start})") from None


def gunzip(raw: bytes, where: str, *, expand: float = 1.0,
           size_of: Callable[[bytes], int | None] | None = None) -> bytes:
    """Decompress gzip ``raw`` (several members allowed, as ``gzip.decompress``) in
    :data:`CHUNK` steps. ``size_of(head)`` may return the total decompressed size the data's own
    header declares (``None``: header not complete yet); it is checked against the limit as soon
    as known, and more data than declared is refused. The running size times ``expand`` is
    checked after every chunk. Corrupt or truncated data raises :class:`FileFormatError`."""
    out, data = bytearray(), raw
    declared: int | None = None
    try:
        while data:
            unzip = zlib.decompressobj(wbits=31)  # one gzip member
            while not unzip.eof:
                piece = unzip.decompress(data, CHUNK)
                data = unzip.unconsumed_tail
                if not piece and not data:
                    raise FileFormatError(f"{where}: compressed data ends early (truncated)")
                out += piece
                if declared is None and size_of is not None:
                    declared = size_of(bytes(out[:1 << 16]))
                    if declared is not None:
                        check_bytes(f"decompressing {where}", declared * expand)
                if declared is not None and len(out) > declared:
                    raise FileFormatError(f"{where}: more data than its header declares")
                check_bytes(f"decompressing {where}", len(out) * expand)
            data = unzip.unused_data.lstrip(b"\x00")  # trailing padding is allowed
    except zlib.error as exc:
        raise FileFormatError(f"{where}: corrupt gzip data ({exc})") from None
    return bytes(out)


# --------------------------------------------------------------------------- JSON / TOML
class NestingError(json.JSONDecodeError, tomllib.TOMLDecodeError):
    """JSON or TOML text nested deeper than :data:`MAX_NESTING`: both a
    ``json.JSONDecodeError`` and a ``tomllib.TOMLDecodeError`` (so a ``ValueError``), caught
    wherever a parse error of the text is."""

    def __init__(self, msg: str) -> None:
        json.JSONDecodeError.__init__(self, msg, "", 0)

    def __str__(self) -> str:
        return self.msg


def _depth(value: Any) -> int:
    """Nesting depth of lists / dicts in ``value``, counted without recursion (stops past
    :data:`MAX_NESTING`)."""
    deepest, todo = 0, [(value, 1)]
    while todo and deepest <= MAX_NESTING:
        item, level = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            todo.extend((v, level + 1) for v in (item.values() if isinstance(item, dict)
                                                 else item) if isinstance(v, dict | list))
    return deepest


def parse_text(parse: Callable[..., Any], text: str | bytes, **options: Any) -> Any:
    """``parse(text, **options)`` (``json.loads``, ``tomllib.loads``, ...) for text from a
    file or a user: text nested deeper than :data:`MAX_NESTING` lists / tables -- which would
    otherwise end in a ``RecursionError`` there or in any later step -- raises
    :class:`NestingError`; other parse errors pass through unchanged."""
    try:
        value = parse(text, **options)
    except RecursionError:
        value = None
        deep = True
    else:
        deep = _depth(value) > MAX_NESTING
    if deep:
        raise NestingError(f"lists / tables nested more than {MAX_NESTING} deep")
    return value


# --------------------------------------------------------------------------- .npy / .npz
def _npy_header(raw: bytes, where: str) -> tuple[tuple[int, ...], np.dtype, int] | None:
    """``(shape, dtype, data offset)`` of the ``.npy`` bytes ``raw``; ``None`` while the header
    is incomplete; :class:`FileFormatError` when it is not an ``.npy`` header."""
    if len(raw) < 10:
        return None if _NPY_MAGIC.startswith(raw[:6]) else _not_npy(where, raw)
    if not raw.startswith(_NPY_MAGIC) or raw[6] not in (1, 2, 3):
        _not_npy(where, raw)
    size_len = 2 if raw[6] == 1 else 4
    offset = 8 + size_len + int.from_bytes(raw[8:8 + size_len], "little")
    if len(raw) < offset:
        return None
    fp = io.BytesIO(raw[:offset])
    try:
        version = np.lib.format.read_magic(fp)
        reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, _, dtype = reader(fp, max_header_size=_NPY_MAX_HEADER)
    except (ValueError, TypeError, SyntaxError, tokenize.TokenError, RecursionError,
            MemoryError) as exc:
        # numpy evaluates the header as a Python literal: a damaged one can end in any of
        # these (an unclosed bracket: TokenError; thousands of signs: Recursion/MemoryError)
        said = (str(exc).splitlines() or [""])[0] or "nested too deeply"
        raise FileFormatError(f"{where}: corrupt .npy header ({said})") from None
    if dtype.hasobject:
        raise FileFormatError(f"{where}: holds Python objects ({dtype}); only numeric arrays "
                              "are read (never unpickled)")
    return tuple(int(d) for d in shape), dtype, offset


def _not_npy(where: str, raw: bytes = b""):
    kind = what_is(raw)
    if kind == "text":  # a table saved as text, under any name (.txt, .tsv, .dat, .npy)
        kind = ("text (a table of numbers? an array is read from the binary .npy/.npz files "
                "of numpy.save / numpy.savez)")
    raise FileFormatError(f"{where}: not a NumPy .npy array"
                          + (f"; the file is {kind}" if kind else " (bad magic)"))


#: leading bytes of formats users hand over by mistake, and what to call them
_MAGICS = ((b"\x93NUMPY", "a NumPy .npy array"), (b"PK\x03\x04", "a zip archive (.npz)"),
           (b"PK\x05\x06", "an empty zip archive (.npz)"), (b"\x1f\x8b", "gzip data"),
           (b"SQLite format 3\x00", "a SQLite database"),
           (b"\x89PNG", "a PNG image"), (b"%PDF", "a PDF document"))


def what_is(raw: bytes) -> str | None:
    """What the bytes ``raw`` of a file are, when recognisable from their first bytes (for
    messages about a file given in the wrong place): ``"empty (0 bytes)"``, ``"a NumPy .npy
    array"``, ``"a Python pickle (never unpickled)"``, ..., ``"text"``; ``None`` when
    unknown."""
    if not raw:
        return "empty (0 bytes)"
    for magic, kind in _MAGICS:
        if raw.startswith(magic):
            return kind
    if raw[0] == 0x80 and len(raw) > 1 and raw[1] <= 5:  # pickle protocol 2..5 opcode
        return "a Python pickle (never unpickled)"
    return "text" if _is_text(raw[:512]) else None


def _is_text(head: bytes) -> bool:
    """Whether ``head``, the first bytes of a file, are printable text in the encoding
    :func:`text_encoding` reads (a character cut at the end aside)."""
    text = head.decode(text_encoding(head), errors="replace")
    if "\ufffd" in text[:-1]:
        return False
    return all(c.isprintable() or c in "\t\r\n" for c in text.rstrip("\ufffd"))


def npy_size(raw: bytes, where: str = "array") -> int | None:
    """Total bytes (header + data) the ``.npy`` header at the start of ``raw`` declares, or
    ``None`` while incomplete (a ``size_of`` for :func:`gunzip`)."""
    header = _npy_header(raw, where)
    if header is None:
        return None
    shape, dtype, offset = header
    return offset + math.prod(shape) * dtype.itemsize


class ArrayFile:
    """The arrays held in ``.npy`` or ``.npz`` bytes, loaded one at a time, each checked first.

    ``names`` lists an ``.npz``'s arrays (``[]`` for an ``.npy``); :meth:`array` loads one.
    ``where`` names the file in messages. Raises :class:`FileFormatError` for anything that is
    not a readable NumPy file."""

    def __init__(self, raw: bytes, where: str) -> None:
        self.raw, self.where = raw, where
        self._open(io.BytesIO(raw), len(raw))

    def _open(self, source: BinaryIO, size: int) -> None:
        """Read what tells the arrays of ``source`` (``size`` bytes) apart: an ``.npz``'s
        member list, or the ``.npy`` header (its first bytes only)."""
        self._source, self._size = source, size
        if not size:
            self._fail("the file is empty (0 bytes)")
        self.is_npz = source.read(2) == b"PK"
        source.seek(0)
        self._zip: dict[str, zipfile.ZipInfo] = {}
        if self.is_npz:
            try:
                with zipfile.ZipFile(source) as archive:
                    infos = archive.infolist()
            except _ZIP_ERRORS as exc:
                raise FileFormatError(f"{self.where}: corrupt .npz archive ({exc})") from None
            self._zip = {i.filename.removesuffix(".npy"): i for i in infos}
            if not self._zip:
                self._fail("is an .npz archive holding no arrays")
        else:
            self._head = _npy_head(source)
            _npy_header(self._head, self.where) or self._fail("truncated .npy header")

    @classmethod
    def of_file(cls, handle: BinaryIO, size: int, where: str) -> ArrayFile:
        """The arrays of the open ``.npy`` / ``.npz`` file ``handle`` (``size`` bytes, e.g. of
        :func:`opened`): only their headers are read here; :meth:`header` reads no more,
        :meth:`array` / :meth:`pick` / :meth:`planes` read the array they load from
        ``handle`` (still open) after the checks of :meth:`header`."""
        self = cls.__new__(cls)
        self.raw, self.where = b"", where
        self._open(handle, size)
        return self

    def _held(self) -> BinaryIO:
        """What the arrays are read from, at its start: the ``raw`` bytes given, or the open
        file of :meth:`of_file`."""
        self._source.seek(0)
        return self._source

    @property
    def names(self) -> list[str]:
        return list(self._zip)

    def _listed(self) -> str:
        return ", ".join(map(repr, self.names)) or "none"

    def _fail(self, problem: str) -> NoReturn:
        raise FileFormatError(f"{self.where}: {problem}")

    def pick(self, key: str | None, how: str = "choose one of") -> np.ndarray:
        """The array ``key`` (an ``.npz`` member), or the only one; an ``.npy``'s array when
        ``key`` is None. ``how`` tells the user how to choose among several."""
        return self.array(self._picked(key, how))

    def _picked(self, key: str | None, how: str) -> str | None:
        """The member :meth:`pick` reads (None: the ``.npy``'s array), refused as it says."""
        if not self.is_npz:
            if key is not None:
                self._fail(f"is a single .npy array, it has no array named {shown(key)}")
            return None
        if key is None and len(self.names) != 1:
            self._fail(f"holds {len(self.names)} arrays; {how} {self._listed()}")
        return key if key is not None else self.names[0]

    def header(self, key: str | None, how: str = "choose one of") -> tuple[tuple[int, ...],
                                                                          np.dtype]:
        """``(shape, dtype)`` of the array :meth:`pick` would load, from its header alone,
        refused as :meth:`pick` refuses it for everything a header and the sizes tell (the
        member chosen, a corrupt or truncated header, an object array, data shorter than
        declared, the memory limit); what only the data's bytes tell (a corrupt compressed
        member) is found when it is loaded."""
        name = self._picked(key, how)
        if not self.is_npz:
            return _npy_checked(self._head, self._size, self.where)[:2]
        where, info = self._member(name)
        try:
            with zipfile.ZipFile(self._source) as archive, archive.open(info) as member:
                head = _npy_head(member)
        except _ZIP_ERRORS as exc:
            raise FileFormatError(f"{where}: corrupt .npz member ({exc})") from None
        return _npy_checked(head, info.file_size, where)[:2]

    def _member(self, name: str | None) -> tuple[str, zipfile.ZipInfo]:
        """How messages name the member ``name`` and its entry, its size checked against the
        memory limit (:class:`FileFormatError` for a name the archive does not hold)."""
        if name is None or name not in self._zip:
            self._fail(f"no array named {shown(name)} (arrays: {self._listed()})")
        info = self._zip[name]
        where = f"{self.where}, array {shown(name)}"
        check_bytes(f"reading {where}", 2 * info.file_size)
        return where, info

    def planes(self, key: str | None, how: str = "choose one of") -> np.ndarray:
        """As :meth:`pick`; a ``key`` naming two members, ``"PLUS,MINUS"``, reads them as the
        G+ and G- planes of differential pairs, each ``(rows, cols)`` or ``(n_arrays, rows,
        cols)``, stacked as ``(2, rows, cols)`` / ``(n_arrays, 2, rows, cols)``."""
        if key is None or "," not in key:
            return self.pick(key, how)
        names = [name.strip() for name in key.split(",")]
        if len(names) != 2 or not all(names):
            self._fail(f"key {shown(key)}: a key with a comma names two arrays, the G+ and G- "
                       "planes (PLUS,MINUS)")
        if not self.is_npz:
            self._fail(f"is a single .npy array; the G+ and G- planes {shown(key)} are read "
                       "from two arrays of an .npz")
        plus, minus = self.array(names[0]), self.array(names[1])
        if plus.shape != minus.shape or plus.ndim not in (2, 3):
            self._fail(f"the G+ and G- planes {shown(names[0])} and {shown(names[1])} must be "
                       f"two arrays of one shape, (rows, cols) or (n_arrays, rows, cols): got "
                       f"{tuple(plus.shape)} and {tuple(minus.shape)}")
        return np.stack([plus, minus], axis=-3)

    def array(self, name: str | None = None) -> np.ndarray:
        """Load the ``.npy`` (``name`` None) or the member ``name`` of the ``.npz``."""
        if not self.is_npz:
            if not self.raw:  # (of_file: the size checked before the file is read)
                _npy_checked(self._head, self._size, self.where)
            return _load_npy(self.raw or self._held().read(self._size), self.where)
        where, info = self._member(name)
        try:
            with zipfile.ZipFile(self._held()) as archive:
                raw = archive.read(info)
        except _ZIP_ERRORS as exc:
            raise FileFormatError(f"{where}: corrupt .npz member ({exc})") from None
        return _load_npy(raw, where)


def _npy_head(source: BinaryIO | IO[bytes]) -> bytes:
    """The first bytes of the ``.npy`` data ``source`` up to the end of its header (as many as
    the file has, when fewer): all :func:`_npy_header` reads."""
    head = source.read(10)
    if len(head) < 10 or not head.startswith(_NPY_MAGIC) or head[6] not in (1, 2, 3):
        return head + source.read(502)  # (what the refusal tells the file by: what_is)
    size_len = 2 if head[6] == 1 else 4
    head += source.read(size_len - 2)
    offset = 8 + size_len + int.from_bytes(head[8:8 + size_len], "little")
    return head + source.read(max(0, offset - len(head)))


def _npy_checked(head: bytes, size: int, where: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, data offset)`` of ``.npy`` data of ``size`` bytes starting ``head``
    (at least its header), refused before anything is loaded: a truncated or corrupt header,
    an object array, data above the memory limit or shorter than the header declares."""
    header = _npy_header(head, where)
    if header is None:
        raise FileFormatError(f"{where}: truncated .npy header")
    shape, dtype, offset = header
    nbytes = math.prod(shape) * dtype.itemsize
    check_bytes(f"loading {where} ({'x'.join(map(str, shape))} {dtype})", nbytes)
    if size - offset < nbytes:
        raise FileFormatError(f"{where}: truncated .npy (its header declares {human(nbytes)} "
                              f"of data, {human(size - offset)} present)")
    return shape, dtype, offset


def _load_npy(raw: bytes, where: str) -> np.ndarray:
    _npy_checked(raw, len(raw), where)
    try:
        return np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise FileFormatError(f"{where}: corrupt .npy ({exc})") from None
