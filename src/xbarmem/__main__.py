"""``python -m xbarmem``: the command-line interface, as the ``xbarmem`` console script."""

from xbarmem.cli import main

if __name__ == "__main__":
    main()
