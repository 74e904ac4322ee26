"""``python -m xbarmem.cli``: the same as the ``xbarmem`` command."""

from xbarmem.cli import main

main()
