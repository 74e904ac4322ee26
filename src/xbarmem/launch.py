"""The ``xbarmem`` command's entry point (the console script and ``python -m xbarmem``).

It imports the command line itself, so that Ctrl-C while that loads (a command's first half
second or so) ends the command as Ctrl-C does once it runs -- one ``aborted`` line, exit 130
(:func:`xbarmem.cli.entry.main`) -- instead of an import's ``KeyboardInterrupt`` traceback.
"""

from __future__ import annotations

import sys

__all__ = ["ABORTED", "main"]

#: what a command stopped by Ctrl-C prints, here as in :func:`xbarmem.cli.entry.main`
ABORTED = "aborted"


def main() -> None:
    """Run the ``xbarmem`` command line on ``sys.argv``; the exit code is the command's
    (:func:`_forget_interrupts_in_eval`)."""
    try:
        try:
            from xbarmem.cli import main as command_line
        except KeyboardInterrupt:
            try:
                sys.stderr.write(ABORTED + "\n")
            except (OSError, ValueError):  # (its terminal already closed)
                pass
            raise SystemExit(130) from None
        command_line()
    finally:
        _forget_interrupts_in_eval()


def _forget_interrupts_in_eval() -> None:
    """CPython marks a :class:`KeyboardInterrupt` raised inside ``eval`` or ``exec`` of a
    string as unhandled even when it is caught -- Ctrl-C landing while ``collections.namedtuple``
    makes a class's ``__new__``, as the command imports its code -- and a ``python -m xbarmem``
    so marked ends by SIGINT after its exit, not with the code the command chose (130 and its
    one line for Ctrl-C). Every ``eval`` of a string clears that mark: one is made here, once
    the command is over."""
    eval("None")  # noqa: S307 -- a constant: only its clearing of the mark is wanted
