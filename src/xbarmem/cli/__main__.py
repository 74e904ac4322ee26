"""``python -m xbarmem.cli``: the same as the ``xbarmem`` command."""

from xbarmem.cli import main

if __name__ == "__main__":  # (worker processes import this module again)
    main()
