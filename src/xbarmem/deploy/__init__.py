"""Deploying trained memories to chips: backends, device-level export, chip-in-the-loop.

* :mod:`.backend` -- the ``ChipBackend`` protocol (one layer's conductances), the simulated chip,
  hardware drivers behind ``DriverBackend``, and ``BackendMemory`` (recall through backends).
* :mod:`.export` -- every device of every array to CSV / ``.npy`` with a manifest.
* :mod:`.reload` -- an export folder read back into the memory it came from.
* :mod:`.chip_loop` -- ``adapt``: program, read back, pin what missed, re-train.
* :mod:`.readback` -- a chip read back into a file, as a backend (``adapt_read_back`` through
  files).

May import ``evaluation``, ``learning``, ``memory``, ``hardware``, ``data`` and the base
modules (spec, seeds, jsontext, files, checks, limits, sizes, names, errors, version); never
``energy``, ``viz``, ``experiments`` or ``cli``.
"""
