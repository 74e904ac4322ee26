"""``python -m xbarmem``: the same as the ``xbarmem`` command."""

from xbarmem.cli import main

if __name__ == "__main__":  # (a process started by spawn imports this again)
    main()
