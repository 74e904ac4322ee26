"""``python -m xbarmem.cli``: the same as the ``xbarmem`` command once loaded (``python -m
xbarmem`` is the documented spelling: it also ends a Ctrl-C while loading in one line)."""

from xbarmem.cli import main

if __name__ == "__main__":  # (a process started by spawn imports this again)
    main()
