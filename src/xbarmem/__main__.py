"""``python -m xbarmem``: the same as the ``xbarmem`` command."""

from xbarmem.cli import main

main()
