"""The ``xbarmem`` command's entry point (the console script and ``python -m xbarmem``).

It imports the command line itself, so that Ctrl-C while that loads (a command's first half
second or so) ends the command as Ctrl-C does once it runs -- one ``aborted`` line, exit 130
(:func:`xbarmem.cli.common.main`) -- instead of an import's ``KeyboardInterrupt`` traceback.
"""

from __future__ import annotations

import sys

__all__ = ["ABORTED", "main"]

#: what a command stopped by Ctrl-C prints, here as in :func:`xbarmem.cli.common.main`
ABORTED = "aborted"


def main() -> None:
    """Run the ``xbarmem`` command line on ``sys.argv``."""
    try:
        from xbarmem.cli import main as command_line
    except KeyboardInterrupt:
        try:
            sys.stderr.write(ABORTED + "\n")
        except (OSError, ValueError):  # (its terminal already closed)
            pass
        raise SystemExit(130) from None
    command_line()
