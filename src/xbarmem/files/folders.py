"""Output folders made, and undone on failure: :func:`make_folder` creates every output folder,
and a command or function that fails inside :func:`undone_on_failure` leaves none of those it
created empty behind; files that make one whole (an export) are written inside
:func:`written_together`: all of them, or none.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

from xbarmem.files.paths import link_target

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
