"""The paths a command reads and writes, checked before any work: one rule for every output
(:func:`check_output`), outputs that would overwrite each other or an input
(:func:`check_distinct`), input files (:func:`check_input`), and the small readers of
input files the commands share."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import numpy as np

from xbarmem.errors import ConfigError
from xbarmem.files import (
    ArrayFile,
    broken_link,
    can_create_in,
    link_target,
    missing,
    no_folder,
    read_bytes,
    same_file,
)
from xbarmem.hardware.chip import is_chip_preset


def load_array(path: Path, key: str | None) -> np.ndarray:
    """One array from an .npy or .npz file (``key`` chooses inside an .npz; ``PLUS,MINUS``
    stacks two as the G+ and G- planes, :meth:`~xbarmem.files.ArrayFile.planes`)."""
    return ArrayFile(read_bytes(path, "array file"), str(path)).planes(key, PICK)


def missing_current_folder() -> str | None:
    """Why no command can run, when the current folder was removed (while the shell was in
    it): relative paths then name nothing, and loading torch ended the process with a
    library's fatal error naming its own file; else ``None``."""
    try:
        os.getcwd()
    except FileNotFoundError:
        return "the current folder no longer exists (it was removed): cd to a folder that does"
    return None


#: how to choose among an .npz's arrays, in messages
PICK = "choose one with --key (or two, --key PLUS,MINUS, as the G+ and G- planes):"


# ------------------------------------------------------------------------------ outputs
# One rule for every path a command writes, checked before any work: a file output may be new
# or an existing file (overwritten); a folder output may be new or an existing folder. Refused:
# a file output that is a folder, a folder output that is a file, a missing or unwritable parent
# folder, an unwritable existing file or folder (a folder is tried: an empty temporary file is
# created in it and removed). Missing parent folders are never created. A file of a fixed
# format must be named with its suffix: ``-o states.txt`` of a .npy file is refused (it was
# written as ``states.txt.npy``, a file not asked for). A symbolic link is judged where it
# leads: one to an existing file or folder writes there (the link stays a link); a broken one
# (to nothing that exists) is refused, as writing through it would create a file or folder
# elsewhere, which the command was not asked to write; links in a loop are refused.
def check_output(path: Path, flag: str = "--out", *, folder: bool = False,
                 suffixes: tuple[str, ...] = ()) -> Path:
    """Refuse an output path that cannot be written (see the rule above) or, with
    ``suffixes`` (e.g. ``(".npz", ".csv")``), whose name does not end in one of them
    (case-insensitive); returns ``path``. ``-`` is refused: an option that writes standard
    output takes it before this check (``results --csv -``), and any other made a file or
    folder named ``-`` (``sweep --store -``, ``scaling --out -``)."""
    if str(path) == "-":
        noun = "folder" if folder else "file"
        raise ConfigError(f"{flag} -: {flag} writes a {noun}, not standard output: give a "
                          f"{noun} name")
    path = _writable(Path(path), flag, folder)
    if suffixes and path.suffix.lower() not in suffixes:
        raise ConfigError(f"{flag} {path}: the file name must end in {' or '.join(suffixes)}")
    return path


def _writable(path: Path, flag: str, folder: bool) -> Path:
    """The rule above, judged where a write lands: a symbolic link's target (a link to a
    missing folder, or links in a loop, failed only at the write, after the work; a broken
    link was written through)."""
    noun = "folder" if folder else "file"
    _check_name_length(path, flag, noun)
    target = link_target(path)
    if target is None:
        raise ConfigError(f"{flag} {path}: symbolic links in a loop (they never reach a {noun})")
    if target != path:  # (a link that leads to nothing that exists)
        raise ConfigError(f"{flag} {path}: {broken_link(target)}: remove it or name another "
                          f"{noun}")
    if target.exists():
        if folder and not target.is_dir():
            raise ConfigError(f"{flag} {path}: exists and is not a folder")
        if not folder and target.is_dir():
            raise ConfigError(f"{flag} {path}: is a folder, expected a file name")
        if not os.access(target, os.W_OK) or (folder and not can_create_in(target)):
            raise ConfigError(f"{flag} {path}: the {noun} is not writable")
        return path
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(f"{flag} {path}: "  # (a file in the way named, else the folder)
                          + no_folder(parent, f"the folder {parent} does not exist"))
    if not os.access(parent, os.W_OK | os.X_OK) or not can_create_in(parent):
        raise ConfigError(f"{flag} {path}: the folder {parent} is not writable")
    return path


def unusable_name(exc: OSError) -> str | None:
    """The one-line message for ``exc`` when it is a path the system cannot use by its name
    alone -- a name longer than the file system allows, symbolic links in a loop -- whatever
    option or file gave it (asking whether such a path exists raises), else ``None``."""
    problems = {errno.ENAMETOOLONG: "the name is too long for the file system (at most "
                                    "255 bytes per name on most)",
                errno.ELOOP: "symbolic links in a loop"}
    if exc.errno not in problems or not exc.filename:
        return None
    return f"{exc.filename}: {problems[exc.errno]}"


def _check_name_length(path: Path, flag: str, noun: str) -> None:
    """Refuse a name longer than its folder's file system allows (asking whether such a path
    exists raises an OSError of its own)."""
    parent = path.parent if str(path.parent) else Path(".")
    size = len(path.name.encode("utf-8", "surrogateescape"))
    limit = _name_max(parent)
    if size > limit:
        raise ConfigError(f"{flag} {path}: the {noun} name is {size} bytes long; the file "
                          f"system allows at most {limit}")


def _name_max(folder: Path) -> int:
    """The longest file name (bytes) ``folder``'s file system allows (255 where it does not
    say)."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (AttributeError, OSError, ValueError):
        return 255


def check_members(folder: Path, names: list[str], flag: str = "--out",
                  inputs: dict[str, Path | None] | None = None) -> None:
    """Refuse, before any work, an output folder ``folder`` (already checked as one) in which
    a file the command writes by its own name cannot be written: each of ``names`` is
    checked as a file output (:func:`check_output`: not a folder, writable, a name the file
    system takes; in a folder still to be created, its name only), so that the work is not
    lost to a write failing at its end; and none may be one of the command's ``inputs``
    (:func:`check_distinct`: a file the command reads would be replaced, ``export
    out/manifest.json -o out``)."""
    for name in names:
        if Path(folder).is_dir():
            check_output(Path(folder) / name, flag)
        else:
            _check_name_length(Path(folder) / name, flag, "file")
        check_distinct({flag: Path(folder) / name}, inputs)


def output_check(flag: str, folder: bool, suffixes: tuple[str, ...] = ()):
    def check(value: Path | None) -> Path | None:
        return value if value is None else check_output(value, flag, folder=folder,
                                                        suffixes=suffixes)
    return check


def check_distinct(outputs: dict[str, Path | None],
                   inputs: dict[str, Path | None] | None = None) -> None:
    """Refuse, before any work, an output that names the same file as another output of the
    command (one would overwrite the other) or as one of its inputs (it would be overwritten).
    ``outputs`` and ``inputs`` map an option or argument (``--log``, ``MODEL``) to its path
    (None: not given); paths are compared resolved, and by :func:`os.path.samefile` when both
    exist (links, other spellings)."""
    written = [(flag, Path(p), "") for flag, p in outputs.items() if p is not None]
    read = [(flag, Path(p), "the input ") for flag, p in (inputs or {}).items() if p is not None]
    for i, (flag, path, _) in enumerate(written):  # two inputs may well be one file
        for other, other_path, kind in written[i + 1:] + read:
            if same_file(path, other_path):
                raise ConfigError(f"{flag} {path} is the same file as {kind}{other} "
                                  f"{other_path}")


def source_file(data: str) -> Path | None:
    """``--data`` as a file, None for a built-in or drawn source."""
    from xbarmem.data.builtin import IMAGE_SETS
    from xbarmem.data.sources import is_drawn

    name = data.strip().lower()
    return None if name in IMAGE_SETS or is_drawn(name) else Path(data)


def input_files(ctx: Any) -> dict[str, Path | None]:
    """The input files a command's ``--data`` and ``--chip`` name, by option (None: a built-in
    or drawn source, a chip preset, or an option the command ``ctx`` does not have), for
    :func:`check_distinct` and :func:`check_members`."""
    data, chip = ctx.params.get("data"), ctx.params.get("chip")
    return {"--data": source_file(data) if isinstance(data, str) else None,
            "--chip": chip_file(chip) if isinstance(chip, str) else None}


def chip_file(chip: str | None) -> Path | None:
    """``--chip`` as a file, None for a preset (in any case, as ``load_chip`` reads it)."""
    return None if chip is None or is_chip_preset(chip) else Path(chip)


def check_input(path: Path, what: str) -> Path:
    """Refuse an input file that is missing, a folder or unreadable."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(missing(path, what))
    if not path.is_file():
        raise ConfigError(f"{what} {path} is not a file")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"{what} {path} is not readable")
    return path
