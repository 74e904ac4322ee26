"""What a command writes and shows: ``--json``, ``-o/--out``, other output paths (``--csv``,
``--log``, ...), ``--limit``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from xbarmem.checks import MAX_COUNT
from xbarmem.cli.option_types import bounded, file_output_path, output_path
from xbarmem.cli.paths import output_check

Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]


def out(what: str, *, folder: bool = False, lazy: bool = False,
        suffixes: tuple[str, ...] = ()) -> Any:
    """``-o/--out``: where a command writes (``what``: e.g. "folder for the PNG"; a file of a
    fixed format names it in ``suffixes``, e.g. ``(".npy",)``), for its ``Annotated[Path, ...]``
    alias (``Path | None`` when it may be left out). The path is checked when the command line
    is parsed (:func:`check_output`), unless ``lazy`` (the command writes it only in some cases
    and checks it itself)."""
    callback = None if lazy else output_check("--out", folder, suffixes)
    return typer.Option("--out", "-o", metavar="PATH", help=f"Output: {what}.",
                        parser=output_path if folder else file_output_path, callback=callback)


def output(*decls: str, metavar: str = "FILE", help: str, folder: bool = False,
           suffixes: tuple[str, ...] = (), stdout: bool = False) -> Any:
    """An optional output path option other than ``-o`` (``--csv``, ``--log``, ...), checked
    like ``-o`` when the command line is parsed; with ``stdout``, ``-`` (:data:`STDOUT`)
    names standard output. For its ``Annotated[Path | None, ...]`` alias."""
    check = output_check(decls[0], folder, suffixes)
    callback = (lambda value: value if value == STDOUT else check(value)) if stdout else check
    return typer.Option(*decls, metavar=metavar, help=help,
                        parser=output_path if folder else file_output_path, callback=callback)


#: an output option's value naming standard output
STDOUT = Path("-")


Limit = Annotated[int | None, bounded(
    "--limit", metavar="N", ge=0, le=MAX_COUNT, help="Show at most this many rows (not with "
    "--group-by, --json, --csv or --parquet).")]
