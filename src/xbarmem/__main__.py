"""``python -m xbarmem``: the same as the ``xbarmem`` command (:mod:`xbarmem.launch`)."""

from xbarmem.launch import main

if __name__ == "__main__":  # (a process started by spawn imports this again)
    main()
