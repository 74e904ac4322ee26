"""Paths of users' files and of outputs, judged before any work: a path argument read once
(:func:`as_path`, a leading ``~`` expanded), the message for a missing input, where a write
lands when a symbolic link names the output (:func:`link_target`), and the one check of a file
(:func:`output_file`) or folder (:func:`output_folder`, :func:`check_outputs_in`) to write.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from xbarmem.checks import shown
from xbarmem.errors import ArgumentError, FileFormatError, XbarmemError


def _where(path: str | Path, what: str) -> str:
    return f"{path}" if not what else f"{what} {path}"


def wrong_suffix(path: str | Path, what: str, endings: str) -> str:
    """The message for a file ``path`` whose name does not end as ``what`` needs
    (``endings``: ``".npz or .csv"``): ``{what} must end in {endings}, got NAME``; a name
    without any extension (``/dev/null``, ``model``) shown as the path given, and said to have
    none."""
    path = Path(path)
    got = path.name if path.suffix else f"{path} (no extension)"
    return f"{what} must end in {endings}, got {got}"


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
    """The one reader of a path argument ``path``: a non-empty ``str`` or :class:`os.PathLike`
    as a :class:`~pathlib.Path` (a leading ``~``: the home folder, :func:`home_expanded`);
    anything else (None, a number, bytes, an array) raises :class:`~xbarmem.errors.ArgumentError`
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
    """The one check of a file to write, before anything is written: :func:`as_path` (``name`` names
    the argument), then :class:`FileFormatError` ``cannot write the {what} to {path}: ...`` when it
    is a folder, its folder does not exist, or the folder (:func:`can_create_in`) or an existing
    file is not writable (judged where a symbolic link leads, :func:`link_target`; links in a
    loop are refused, and a broken link, which would create a file elsewhere:
    :func:`broken_link`)."""
    given = as_path(path, name)
    target = _followed(given, f"cannot write the {what} to {given}", FileFormatError)
    why = ("it is a folder" if target.is_dir()
           else no_folder(target.parent) if not target.parent.is_dir()
           else "no permission to write it" if (
               target.exists() and not os.access(target, os.W_OK))
           else f"the folder {target.parent} is not writable" if not can_create_in(
               target.parent) else "")
    if why:
        raise FileFormatError(f"cannot write the {what} to {given}: {why}")
    return given


def no_folder(folder: Path, missing: str | None = None) -> str:
    """Why no file can be written in ``folder``, which is not an existing folder: the file
    that stands where it or a folder above it should be (``afile exists and is not a
    folder`` for ``afile/sub``), else ``missing`` (default ``no folder {folder}``). The words of
    every check of an output, the command line's and the library's (a file said "no folder
    afile")."""
    file = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if file is not None:
        return f"{file} exists and is not a folder"
    return f"no folder {folder}" if missing is None else missing


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
    """The one check of a folder to write in (created if missing), before anything is written:
    :func:`as_path` (``name`` names the argument), then :class:`FileFormatError` ``cannot write the
    {what} in {path}: ...`` (or ``error``) when it, or a folder above it, is a file (or not a
    folder), or a broken symbolic link (:func:`broken_link`), or when no file can be created in
    it (or, still to be made, in the nearest folder above it that exists: :func:`can_create_in`).
    A folder above is named as ``path`` names it (``a`` of ``a/sub``)."""
    target = as_path(path, name)
    reached = _followed(target, f"cannot write the {what} in {target}", error)
    existing = next((p for p in (reached, *reached.parents, *reached.absolute().parents)
                     if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise error(f"cannot write the {what} in {target}: {existing} exists and is not a "
                    f"folder")
    if existing is not None and not can_create_in(existing):
        raise error(f"cannot write the {what} in {target}: the folder {existing} is not "
                    f"writable")
    return target


def can_create_in(folder: Path) -> bool:
    """Whether a file can be created in the existing folder ``folder``, found by creating (and
    at once removing) an empty temporary file: permission bits do not tell for root, read-only
    mounts or virtual file systems such as /proc. The one test of a folder to write in, of the
    command line's checks and the library's."""
    import tempfile

    try:
        handle, name = tempfile.mkstemp(prefix=".xbarmem-check-", dir=folder)
    except OSError:
        return False
    os.close(handle)
    os.unlink(name)
    return True


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
