"""The ``warning:`` and ``note:`` lines a command prints on stderr, one line each. While
:func:`~xbarmem.cli.entry.main` runs a command they are held until its work begins
(:func:`work_begins`), and deprecation lines until it has run, so a command refused while its
inputs are checked (exit 2) prints only its one error line.
"""

from __future__ import annotations

import typer

from xbarmem.cli import streams

#: warning lines of the command that :func:`main` is running, held until its work begins
#: (:func:`work_begins`) or it has run, and dropped when it is refused before (None: printed
#: at once)
_held: list[str] | None = None


def _say(line: str) -> None:
    """``line`` on stderr (one line: :func:`~xbarmem.cli.streams.one_line`), or held
    (:data:`_held`) until the command's work begins."""
    line = streams.one_line(line)
    if _held is None:
        typer.echo(line, err=True)
    elif line not in _held:
        _held.append(line)


def warn(message: str) -> None:
    """One ``warning: ...`` line on stderr (stdout stays pure JSON under ``--json``). Inside
    :func:`main` it is held until the command's work begins (:func:`work_begins`): a command
    refused while its inputs are checked (exit 2) prints only its one error line."""
    _say(f"warning: {message}")


def note(message: str) -> None:
    """One ``note: ...`` line on stderr: what the command inferred that the user did not
    give (e.g. the chip a fault map records); held as :func:`warn` lines are."""
    _say(f"note: {message}")


def work_begins() -> None:
    """The command's inputs are checked and its work begins (a progress display starts, or
    the command has run): the held warning and note lines are printed, later ones at once."""
    global _held
    held, _held = _held or [], None
    for line in held:
        _say(line)


#: deprecation warnings of the command that :func:`main` is running, held until it has run
#: (None outside :func:`main`: printed at once)
_deprecations: list[str] | None = None


def warn_deprecated(message: str) -> None:
    """A :func:`warn` line about an old spelling, printed once the command has run: a command
    refused after its old options were read (exit 2) prints only its one error line."""
    if _deprecations is None:
        warn(message)
    else:
        _deprecations.append(message)


def hold_lines() -> None:
    """A command begins (:func:`~xbarmem.cli.entry.main`): its warning and note lines are held
    until its work begins, its deprecation lines until it has run."""
    global _deprecations, _held
    _deprecations, _held = [], []


def drop_held_lines() -> None:
    """The command is refused or shows its help: the lines held so far are dropped, later ones
    printed at once."""
    global _deprecations, _held
    _deprecations = _held = None


def release_held_lines() -> None:
    """The command has run (or ended): the held warning and note lines are printed, then its
    deprecation lines; later lines are printed at once."""
    global _deprecations
    work_begins()
    held, _deprecations = _deprecations or [], None
    for message in held:
        warn(message)
