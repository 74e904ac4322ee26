"""The chip model: what a memristor crossbar is and what is wrong with it.

* :mod:`~xbarmem.hardware.chip` -- :class:`ChipSpec` = :class:`DeviceSpec` (conductance window in
  siemens, levels, write and read noise, stuck-at rates) + :class:`ArraySpec` (tile size, weight
  range, read voltage in volts, fault model); shipped presets (``presets/*.toml``), TOML round trip.
* :mod:`~xbarmem.hardware.faults` -- :class:`FaultMap`: every device free or stuck at a
  conductance; seeded generation, ``.npz``/``.csv`` files, measured maps.
* :mod:`~xbarmem.hardware.crossbar` -- :class:`Crossbar`: signed weights as differential
  conductance pairs tiled onto fixed-size arrays; programming (write error drawn once) and reads
  (read noise at every read); the realisable interval of every weight.
* :mod:`~xbarmem.hardware.measured` -- a chip and fault map from a measured target-vs-read CSV.

May import: the base modules (spec, seeds, jsontext, files, checks, limits, sizes, names,
errors, version) only; never ``data``.
"""
