"""A chip model from measurements: a CSV of target-vs-read conductances.

The CSV a user measures after programming targets (e.g. ``devices.csv`` of
:func:`xbarmem.deploy.export.export_memory` with a ``read_uS`` column appended) has a header line
and one row per measured device, columns in any order and case (``Read_uS``), extra columns
ignored, lines starting with
``#`` skipped; fields separated by commas, or by semicolons or tabs (as spreadsheets save them)
or spaces (as instruments align columns), a comma inside a number then its decimal mark
(``12,5``); thousands may be grouped, as spreadsheets show them: ``1.234,5``, ``1,234.5``,
``1 234,5`` (not between spaces):

=============  ==========================================================================
``array``      chip array index (integer >= 0)
``row``        physical row inside the array (0 .. rows - 1)
``col``        physical column inside the array (0 .. cols - 1)
``polarity``   ``G+`` or ``G-`` (``g+``, ``g-`` alike)
``target_uS``  conductance the device was programmed to, microsiemens
``read_uS``    conductance read back, microsiemens
=============  ==========================================================================

An optional ``stuck`` column (0/1, as in the export) marks devices already known to be stuck
(their target is their stuck value, so the read-back rule cannot see them). Rows with an
empty ``read_uS`` (or ``target_uS``) are skipped as *not measured*, e.g. unused cells of an
export; a device marked stuck that has a reading and no target (an export of what to
re-program, after ``adapt --read-back``, leaves its target empty) is stuck at what it reads.
A file whose optional ``used`` column is 0 on some line lists every cell of its arrays (an
export's devices.csv): arrays smaller than the chip's are refused (:func:`_check_listed`),
not read into the chip's with the rest of each left free.
Every malformed line raises :class:`~xbarmem.errors.FileFormatError` naming the file, the line
and the column. ``array``, ``row`` and ``col`` may be written ``3.0`` (and ``stuck`` ``1.0``),
as a spreadsheet writes a column of floats. A ``read_uS`` below 0 uS is held to the rule of
every measured map (:func:`~xbarmem.hardware.units.zero_offsets`): refused, naming its line,
further below than an instrument's offset; within it, taken as 0 S by :func:`measured_chip`
with a warning.

:func:`measured_chip` builds the chip model:

* **stuck rule** -- a device is stuck when ``|read - target| > tolerance`` or its ``stuck``
  column is 1; it is frozen at its read value (:meth:`FaultMap.from_readback`); a stuck read far
  above the measured window is refused (:meth:`FaultMap.check_window`). Default
  tolerance: 5 robust standard deviations of ``read - target`` (1.4826 x median absolute
  deviation) of the devices programmed inside the targets' range (:func:`write_error_spread`:
  not of those clipped at a window edge or never programmed, which read their target
  exactly; refined over those near the median error, so that stuck devices do not widen it;
  on a chip of 2 levels, or of a few whose middle levels hold few devices, the std of a normal
  error fitted to the tail of the errors of the devices at the edges:
  :mod:`~xbarmem.hardware.spread`), at least 0.1% of the read range. Devices the data cannot
  decide on (read nearer g_min or g_max than their targets, yet within it) are warned about
  (:func:`_warn_undecided`).
* **window** -- ``g_min`` / ``g_max`` = the median read of the non-stuck devices programmed to
  the lowest / highest target (the extreme reads lie several read-noise std beyond the edge),
  or, when fewer than :data:`SPREAD_MIN_DEVICES` were (targets spread over the window), that
  target plus the median ``read - target`` of the devices programmed nearest it; the min / max
  read only on fewer than :data:`SPREAD_MIN_DEVICES` devices (:func:`window_edges`).
* **programming error** -- ``write_noise`` = ``sqrt(max(s^2 - r^2, 0))``, the write error
  alone: ``s`` the std of ``read - target`` over the non-stuck devices that tell of it
  (:func:`written_devices`: not those clipped at a window edge or never programmed, which
  read their target exactly; those within 3 robust std of the median error, as a device stuck
  near its own target reads within the tolerance; or the std fitted to the edges' devices:
  :func:`reading_spread`), ``r`` the base chip's read noise, which every reading holds once
  and which the measured chip keeps, adding it again at every read
  (:func:`~xbarmem.hardware.spread.write_error_std`).
  A CSV holds one reading per device: ``r`` is not measured from it. When ``r >= s > 0`` the
  write noise is 0, with a warning (:func:`_warn_read_noise`).
* **stuck rates** -- ``p_stuck_on`` / ``p_stuck_off`` = fractions of measured devices stuck
  above / below the middle of the window.

Unmeasured devices are free in the fault map. Read noise, levels and the array settings come
from the base chip (a reading averaged over N reads holds read noise / sqrt(N): give a base
chip of that read noise).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from xbarmem.checks import checked_keywords, counted, spanned, value_equality
from xbarmem.errors import FileFormatError, warn
from xbarmem.files import as_path, read_text
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.faults import PLANES, FaultMap, cell_text, check_size, chip_record, device_at
from xbarmem.hardware.spread import (
    SPREAD_MIN_DEVICES,
    SPREAD_REFINE_MIN,
    edge_spread,
    refined_spread,
    trimmed_std,
    write_error_std,
)
from xbarmem.hardware.units import (
    unit_disagreement,
    unit_mismatch,
    zero_offsets,
)

MEASURED_COLUMNS = ("array", "row", "col", "polarity", "target_uS", "read_uS")
#: what a device given twice adds: a lab's repeated reads are one line each
REPEATED = "; several reads of one device? give their mean, one line per device"


@value_equality
@dataclass
class Measurement:
    """Target and read conductances, float64 ``(n_arrays, 2, rows, cols)`` siemens, NaN where
    a device was not measured; ``known_stuck`` bool, same shape (``stuck`` column, if any);
    ``listed``: ``(rows, cols)`` the file's lines span, measured or not (an export's
    devices.csv lists every cell of its arrays), or None."""

    target: np.ndarray
    read: np.ndarray
    source: str = ""
    known_stuck: np.ndarray | None = None
    listed: tuple[int, int] | None = None

    @property
    def measured(self) -> np.ndarray:
        return ~np.isnan(self.read)


@checked_keywords
def read_measured_csv(path: str | Path, rows: int, cols: int) -> Measurement:
    """Parse a target-vs-read CSV (see module docstring) for arrays of ``rows x cols``.

    Raises :class:`FileFormatError` naming the file, line and column of the first problem.
    """
    path = as_path(path)
    numbered = _content_lines(path)
    head_no, head = numbered[0]
    header, delimiter = _header(path, head_no, head)
    _check_lines(path, numbered)
    entries: dict[tuple[int, int, int, int], tuple[float, float, int, bool]] = {}
    listed, unused = (0, 0), False
    for lineno, line in numbered[1:]:
        row = _Row(path, lineno, line, header, delimiter)
        device = row.device(rows, cols)
        listed = (max(listed[0], device[2] + 1), max(listed[1], device[3] + 1))
        unused = unused or row.unused()
        target_us, read_us = row.conductance("target_uS"), row.conductance("read_uS", True)
        flag = row.stuck_flag()
        if flag and target_us is None:  # a stuck device an export of what to re-program
            target_us = read_us  # leaves (no target): stuck at what it reads
        if target_us is None or read_us is None:
            continue  # not measured
        if device in entries:
            raise FileFormatError(f"{path}: line {lineno}: {device_at(device)} already given "
                                  f"on line {entries[device][2]}{REPEATED}")
        entries[device] = (target_us, read_us, lineno, flag)
    if not entries:
        raise FileFormatError(f"{path}: no measured device (every row lacks target_uS or "
                              "read_uS)")
    if unused:
        _check_listed(path, listed, rows, cols)
    n_arrays = 1 + max(k[0] for k in entries)
    # target and read (float64), the known-stuck mask and the fault map built from them
    check_size(n_arrays, rows, cols, per_device=40, what=f"{path}: a measurement")
    target = np.full((n_arrays, 2, rows, cols), np.nan)
    read = np.full_like(target, np.nan)
    known = np.zeros(target.shape, dtype=bool)
    for key, (t, r, _, flag) in entries.items():
        target[key], read[key], known[key] = t, r, flag
    _check_offsets(path, read, {key: entry[2] for key, entry in entries.items()})
    _check_same_unit(path, target, read)
    return Measurement(target, read, str(path), known, listed)


def _check_listed(path: Path, listed: tuple[int, int], rows: int, cols: int) -> None:
    """Refuse (:class:`FileFormatError`) an export's ``devices.csv`` (its lines of unused
    cells, ``used = 0``, listed too: every cell of its arrays) whose lines span arrays of
    ``listed`` rows x cols, smaller than the chip's ``rows x cols``: the export was made for
    a chip of smaller arrays, and its devices read into these would leave the rest of each
    array free, as if they existed (a CSV names no array size)."""
    if listed == (rows, cols):
        return
    r, c = listed
    raise FileFormatError(
        f"{path}: lists every cell of arrays of {r}x{c} (an export's devices.csv, its unused "
        f"cells, used = 0, too), but the chip's arrays are {rows}x{cols} (rows x cols): give "
        f"the chip the export was made for (--chip FILE: a chip TOML with rows = {r} and "
        f"cols = {c} in [array]; the export's manifest.json lists its values under 'chip')")


def _check_same_unit(path: Path, target: np.ndarray, read: np.ndarray) -> None:
    """Refuse a measurement whose ``read_uS`` and ``target_uS`` columns are in different
    units (:func:`~xbarmem.hardware.units.unit_disagreement`): the readings fall as the
    targets rise (resistances), or the median of read / target lies beyond
    :data:`~xbarmem.hardware.units.SAME_UNIT_FACTOR` either way."""
    found = unit_disagreement(read, target)
    if found is not None and found[0] == "falls":
        raise FileFormatError(f"{path}: read_uS falls as target_uS rises (rank correlation "
                              f"{found[1]:.2f} over {found[2]} devices): resistances? "
                              "read_uS must be conductances in microsiemens (1000 / kOhm)")
    if found is not None:
        raise FileFormatError(f"{path}: read_uS is {found[1]:.3g} times target_uS (median over "
                              f"{found[2]} devices): both columns must be in microsiemens")


READ_BACK_COLUMNS = ("array", "row", "col", "polarity", "read_uS")


@checked_keywords
def read_conductance_csv(path: str | Path, rows: int, cols: int) -> np.ndarray:
    """Parse a read-back CSV: columns ``array,row,col,polarity,read_uS`` (any order, extra
    columns such as an export's ``target_uS`` ignored, ``#`` lines skipped), one line per
    device, for arrays of ``rows x cols``. Returns float64 ``(n_arrays, 2, rows, cols)``
    siemens, ``n_arrays`` = 1 + the highest array given, NaN where no device was read (a line
    with an empty ``read_uS``, or no line). Raises :class:`FileFormatError` naming the file,
    line and column of the first problem (a non-finite reading is one, and one further below
    0 uS than an instrument's offset: :func:`~xbarmem.hardware.units.zero_offsets`; those
    within it are returned as read, for :func:`~xbarmem.deploy.readback.check_read_back` to
    take as 0 S with a warning)."""
    path = as_path(path)
    numbered = _content_lines(path, READ_BACK_COLUMNS)
    header, delimiter = _header(path, *numbered[0], READ_BACK_COLUMNS)
    _check_lines(path, numbered)
    entries: dict[tuple[int, int, int, int], tuple[float, int]] = {}
    for lineno, line in numbered[1:]:
        row = _Row(path, lineno, line, header, delimiter)
        device = row.device(rows, cols)
        read = row.conductance("read_uS", True)
        if device in entries:
            raise FileFormatError(f"{path}: line {lineno}: {device_at(device)} already given "
                                  f"on line {entries[device][1]}{REPEATED}")
        if read is not None:
            entries[device] = (read, lineno)
    if not entries:
        raise FileFormatError(f"{path}: no device read (every row lacks read_uS)")
    n_arrays = 1 + max(k[0] for k in entries)
    check_size(n_arrays, rows, cols, per_device=16, what=f"{path}: a read-back")
    read_s = np.full((n_arrays, 2, rows, cols), np.nan)
    for key, (value, _) in entries.items():
        read_s[key] = value
    _check_offsets(path, read_s, {key: entry[1] for key, entry in entries.items()})
    return read_s


def _check_offsets(path: Path, read: np.ndarray, lines: dict[tuple[int, ...], int]) -> None:
    """Refuse (:class:`FileFormatError` naming the line) a ``read_uS`` further below 0 uS than
    an instrument's offset (:func:`~xbarmem.hardware.units.zero_offsets`, over the whole
    file); those within it are left as read, for the reader of the readings to take as 0 S
    and warn about once the measurement is accepted."""
    def place(index: tuple[int, ...]) -> str:
        return f"line {lines[index]}, column 'read_uS' ({cell_text(index)})"
    zero_offsets(read, str(path), error=FileFormatError, place=place)


def _content_lines(path: Path, columns: tuple[str, ...] = MEASURED_COLUMNS
                   ) -> list[tuple[int, str]]:
    """``(line number, text)`` of every non-blank, non-comment line; at least one."""
    text = read_text(path, "measurement file", expand=20.0)
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
                if line.strip() and not line.lstrip().startswith("#")]
    if not numbered:
        raise FileFormatError(f"{path}: empty file (need a header line "
                              f"{','.join(columns)})")
    return numbered


def _check_lines(path: Path, numbered: list[tuple[int, str]]) -> None:
    """Refuse a file of a header and no device line (was: "every row lacks read_uS")."""
    if len(numbered) == 1:
        raise FileFormatError(f"{path}: a header and no device lines (give one line per "
                              "device after the header)")


#: the separators a lab's CSV may use: commas, then semicolons (a spreadsheet of a locale
#: with decimal commas) and tabs, then spaces (an instrument's aligned columns), between which
#: a comma inside a number is its decimal mark
DELIMITERS = (",", ";", "\t", " ")


def _fields(line: str, delimiter: str) -> list[str]:
    """The fields of a CSV line, stripped; separated by spaces, a run of them is one
    separator (an instrument's columns aligned with spaces)."""
    if delimiter == " ":
        return next(csv.reader([line.strip()], delimiter=" ", skipinitialspace=True))
    return [f.strip() for f in next(csv.reader([line], delimiter=delimiter))]


#: the columns a measurement CSV's header names in any case (``Array``, ``READ_US``: as a
#: spreadsheet or an instrument capitalises them), read as these
KNOWN_COLUMNS = {name.lower(): name for name in (*MEASURED_COLUMNS, "stuck")}


def _named(fields: list[str]) -> list[str]:
    """Header fields with the known columns' names in their own case (:data:`KNOWN_COLUMNS`);
    other columns as they are."""
    return [KNOWN_COLUMNS.get(f.lower(), f) for f in fields]


def _header(path: Path, lineno: int, line: str,
            required: tuple[str, ...] = MEASURED_COLUMNS) -> tuple[list[str], str]:
    """The header's column names (known ones in any case, :func:`_named`), checked (every
    required column present, none twice), and the separator of the file: the first of
    :data:`DELIMITERS` whose fields hold the most required columns."""
    splits = {d: _named(_fields(line, d)) for d in DELIMITERS}
    delimiter = max(DELIMITERS, key=lambda d: sum(c in splits[d] for c in required))
    header = splits[delimiter]
    missing = [c for c in required if c not in header]
    if missing and _numbers(line):
        raise FileFormatError(f"{path}: line {lineno}: a row of numbers, not the header "
                              f"{','.join(required)}: a map of conductances as a grid is "
                              "read from .npy/.npz, shape (2, rows, cols) (G+ and G- planes)")
    if missing:
        raise FileFormatError(f"{path}: line {lineno}: header lacks column(s) "
                              f"{', '.join(missing)} (need {','.join(required)})"
                              f"{_other_units(missing, header)}")
    dupes = sorted({h for h in header if header.count(h) > 1 and h in required})
    if dupes:
        raise FileFormatError(f"{path}: line {lineno}: column {dupes[0]!r} appears twice")
    return header, delimiter


def _other_units(missing: list[str], header: list[str]) -> str:
    """What a refusal of a header lacking the ``*_uS`` columns ``missing`` adds when
    ``header`` names them in another unit (``read_S``, ``target_nS``, ``read_ohm``, any
    case) or in none (``read``): the columns hold microsiemens, named so."""
    stems = [name.removesuffix("_uS").lower() for name in missing if name.endswith("_uS")]
    found = [h for stem in stems for h in header if h not in missing
             and (h.lower() == stem or h.lower().startswith(f"{stem}_"))]
    if not found:
        return ""
    named = ", ".join(repr(h) for h in found)
    columns = (f"a column named {missing[0]}" if len(missing) == 1
               else f"columns named {', '.join(missing)}")
    return (f": {named} {'is' if len(found) == 1 else 'are'} not read; give the conductances "
            f"in microsiemens, in {columns}")


def _numbers(line: str) -> bool:
    """Whether a line is only numbers (commas, semicolons, tabs or spaces between them)."""
    fields = line.replace(";", " ").replace(",", " ").split()
    try:
        [float(f) for f in fields]
    except ValueError:
        return False
    return bool(fields)


#: a number with its thousands grouped (1.234,5 1,234.5 1 234,5 1'234.5): sign, digits,
#: groups of three after one grouping mark, then a decimal mark of another kind and digits
_GROUPED = re.compile(r"[+-]?\d{1,3}(?P<mark>[.,' \u00a0\u202f])\d{3}(?:(?P=mark)\d{3})*"
                      r"(?P<decimal>[.,]\d*)?")


def _number(raw: str, decimal_comma: bool) -> float:
    """A field of a measurement CSV as a number: a comma its decimal mark in a file separated
    by semicolons or tabs (``12,5``); thousands grouped by spaces or an apostrophe, or by
    points or commas when the decimal mark is the other one (``1.234,5``, ``1,234.5``: as a
    spreadsheet shows a conductance of a millisiemens chip in microsiemens). ``ValueError``
    for anything else :func:`float` does not read."""
    grouped = _GROUPED.fullmatch(raw)
    if grouped is not None:
        mark, decimal = grouped["mark"], grouped["decimal"]
        if mark not in ".," or (decimal is not None and decimal[0] != mark):
            whole = raw[:grouped.start("decimal")] if decimal is not None else raw
            return float(whole.replace(mark, "") + ("." + decimal[1:] if decimal else ""))
    return float(raw.replace(",", ".", 1) if decimal_comma else raw)


#: a whole number written with a zero fraction (``3.0``, ``3,00`` with a decimal comma), as a
#: spreadsheet or a data frame writes the integers of a column it holds as floats
_WHOLE = re.compile(r"([+-]?\d+)[.,]0*")


class _Row:
    """One data line of a measurement CSV; every accessor names the line and column it
    rejects."""

    def __init__(self, path: Path, lineno: int, line: str, header: list[str],
                 delimiter: str = ",") -> None:
        self.fields = _fields(line, delimiter)
        self.decimal_comma = delimiter != ","
        if len(self.fields) != len(header):
            raise FileFormatError(f"{path}: line {lineno}: {len(self.fields)} fields, the header "
                                  f"has {len(header)}")
        self.where = f"{path}: line {lineno}"
        self.header = header

    def raw(self, name: str) -> str:
        return self.fields[self.header.index(name)]

    def fail(self, name: str, problem: str) -> FileFormatError:
        return FileFormatError(f"{self.where}, column {name!r}: {problem}")

    def integer(self, name: str, hi: int | None) -> int:
        raw = self.raw(name)
        whole = _WHOLE.fullmatch(raw)  # 3.0: as a spreadsheet writes a column of floats
        try:
            value = int(raw if whole is None else whole[1])
        except ValueError:
            raise self.fail(name, f"{raw!r} is not an integer") from None
        if value < 0 or (hi is not None and value >= hi):
            raise self.fail(name, f"{value} outside 0..{hi - 1}" if hi is not None
                            else f"{value} is negative (numbers count from 0)")
        return value

    def device(self, rows: int, cols: int) -> tuple[int, int, int, int]:
        """``(array, plane index, row, col)`` of the line's device."""
        a = self.integer("array", None)
        i, j = self.integer("row", None), self.integer("col", None)
        if i >= rows or j >= cols:
            name, value, hi = ("row", i, rows) if i >= rows else ("col", j, cols)
            raise self.fail(name, f"{value} outside 0..{hi - 1}: the chip's arrays are "
                                  f"{rows}x{cols} (rows x cols): rows and cols exchanged, "
                                  + ("numbered from 1 (they count from 0), " if value == hi
                                     else "") + "or a file of another chip?")
        polarity = self.raw("polarity")
        if polarity.upper() not in PLANES:  # (g+ as G+)
            raise self.fail("polarity", f"{polarity!r} is not {' or '.join(PLANES)}")
        return a, PLANES.index(polarity.upper()), i, j

    def conductance(self, name: str, reading: bool = False) -> float | None:
        """The column in siemens (the file holds microsiemens); None when empty. A number
        below 0 uS is refused, unless it is a ``reading`` (``read_uS``: the readings' rule,
        :func:`~xbarmem.hardware.units.zero_offsets`, judges it once the file is read)."""
        raw = self.raw(name)
        if raw == "":
            return None
        try:
            value = _number(raw, self.decimal_comma)
        except ValueError:
            raise self.fail(name, f"{raw!r} is not a number") from None
        if np.isnan(value):  # (as numpy's savetxt writes a device not read)
            raise self.fail(name, f"{raw!r} is no conductance: leave {name} empty for a "
                                  "device not measured")
        if not np.isfinite(value) or (value < 0 and not reading):
            raise self.fail(name, f"{raw!r} must be a finite conductance >= 0 uS")
        return value * 1e-6

    def unused(self) -> bool:
        """Whether the optional ``used`` column (an export's devices.csv) is 0: a cell the
        exported memory does not use, listed with the others of its array."""
        if "used" not in self.header:
            return False
        whole = _WHOLE.fullmatch(self.raw("used"))
        return (self.raw("used") if whole is None else whole[1]) == "0"

    def stuck_flag(self) -> bool:
        """The optional ``stuck`` column (0, 1 or empty; ``0.0`` / ``1.0`` as a spreadsheet
        writes a column of floats)."""
        if "stuck" not in self.header:
            return False
        raw = self.raw("stuck")
        whole = _WHOLE.fullmatch(raw)
        flag = raw if whole is None else whole[1]
        if flag not in ("", "0", "1"):
            raise self.fail("stuck", f"{raw!r} is not 0 or 1")
        return flag == "1"


def _shortest(siemens: float) -> float:
    """A window edge of the measured chip rounded to 12 significant digits: the shortest form
    of the value read (153.129 uS is 0.000153129 S in the chip file, not the
    0.00015312899999999998 that the product with 1e-6 gives). The readings themselves, and
    the fault map's stuck conductances, keep every digit."""
    return float(f"{siemens:.12g}")


def _microsiemens(siemens: float) -> float:
    """``siemens`` in microsiemens, rounded to 12 significant digits (as :func:`_shortest`)."""
    return float(f"{siemens * 1e6:.12g}")


@checked_keywords
def measured_chip(measurement: Measurement, base: ChipSpec, tolerance: float | None = None
                  ) -> tuple[ChipSpec, FaultMap, dict[str, Any]]:
    """Chip spec, fault map and a summary from a measurement (rules in the module docstring).

    Args:
        measurement: parsed CSV (:func:`read_measured_csv`).
        base: chip whose array settings, levels and read noise are kept (its read noise, which
            every reading holds once, is taken out of the measured ``write_noise``).
        tolerance: stuck threshold on ``|read - target|``, siemens (default: robust, see above).
    """
    read, offsets = zero_offsets(measurement.read, measurement.source or "measurement",
                                 error=FileFormatError, place=device_at)
    measurement = replace(measurement, read=read)
    unit = _warn_unit(measurement, base)
    try:
        made = _measured_chip(measurement, base, tolerance)
    except FileFormatError as exc:  # read in the wrong unit: say so (the warning is not shown)
        if unit is None:
            raise
        raise FileFormatError(f"{exc}; {unit}") from None
    _warn_extent(measurement, base)
    _warn_unmeasured_arrays(measurement)
    _warn_read_noise(measurement, base, made[2]["error_std_uS"] * 1e-6)
    if tolerance is None and not _warn_wide_tolerance(measurement,
                                                       made[2]["tolerance_uS"] * 1e-6):
        _warn_undecided(measurement, made[1], made[0], made[2]["tolerance_uS"] * 1e-6)
    if offsets is not None:
        warn(offsets, stacklevel=3)
    return made


def _warn_read_noise(measurement: Measurement, base: ChipSpec, spread: float) -> None:
    """Warn (:class:`XbarmemWarning`) when ``base``'s read noise, which the measured chip
    keeps, is at least ``spread`` (siemens), the std of ``read - target`` its ``write_noise``
    is taken from (:func:`reading_spread`): the read noise explains the whole spread, and the
    write noise is 0. (Not when the readings have no spread: nothing to explain.)"""
    r = base.device.read_noise
    if not (spread > 0 and r >= spread):
        return
    warn(f"{measurement.source}: the {base.name} chip's read noise, {r * 1e6:.4g} uS, is at "
         f"least the spread of read - target, {spread * 1e6:.4g} uS, which holds the write "
         f"error and one draw of the read noise: the read noise explains all of it, and the "
         f"measured chip's write_noise is 0. Give a chip whose read_noise is that of your "
         f"readings (--chip FILE; Python: base=), measured from repeated reads of a device "
         f"(a reading averaged over N reads has read_noise / sqrt(N))", stacklevel=3)


#: the wide-tolerance warning needs targets spanning at least this share of the readings'
#: range: on a chip mostly stuck they span it all (the working devices read theirs); devices
#: all programmed to one target (a mid-window read-back that finds stuck ones) span none, and
#: a few devices' normal spread is within 5 robust std of it (warned about on 85% of 16 such
#: devices, 69% of 64, 100 draws each, 2026-12-05), while a device stuck at a rail widens the
#: range beyond it
WIDE_TARGET_SPAN = 0.5


def _warn_wide_tolerance(measurement: Measurement, tolerance: float) -> bool:
    """Warn (:class:`XbarmemWarning`) when the default tolerance is at least the range of the
    readings, which the targets span (:data:`WIDE_TARGET_SPAN`): no device can miss its
    target by more, so none is found stuck. Its robust spread holds while fewer than about
    half of the devices miss their targets; on a chip mostly stuck it measures the stuck ones
    (60% of the devices stuck at g_min: 194 uS on a 148 uS window, no device stuck, a write
    error of 49 uS)."""
    m = measurement.measured
    spread = float(np.ptp(measurement.read[m]))
    targets = float(np.ptp(measurement.target[m]))
    wide = spread > 0 and tolerance >= spread and targets >= WIDE_TARGET_SPAN * spread
    if wide:
        warn(f"{measurement.source}: the default stuck tolerance, {tolerance * 1e6:.4g} uS "
             f"(5 robust std of read - target), is at least the readings' range "
             f"({spread * 1e6:.4g} uS), so no device is found stuck: do most devices miss their "
             "targets (a chip mostly stuck)? or is the write error a fifth of the window or "
             "more (writes clipped at either edge)? give a tolerance, a few times the write "
             "error (--tolerance in uS; Python: tolerance= in siemens)", stacklevel=3)
    return wide


#: a device read at a window edge is undecided when it is over this many of the write error's
#: std (the tolerance's fifth) from its target, or :data:`UNDECIDED_WINDOW` of the window: a
#: write so far off is rare (0.27% beyond 3 std), a device stuck at that edge reads there
UNDECIDED_STD = 3.0
#: ... or this share of the window, whichever is less (a write error as wide as the window
#: itself carries many writes to the other edge, 3 std beyond it)
UNDECIDED_WINDOW = 0.25
#: undecided devices are warned about when more than this share of the measured devices is:
#: writes alone leave about a tenth of it (0.011% on average, 0.037% at most, of 8192 devices
#: of the rram window written with 2 uS of error and read with 0.5 uS, none stuck, continuous
#: targets or 16 levels, 20 draws each, 2026-12-06), devices stuck near an edge far more
UNDECIDED_SHARE = 1e-3


def _warn_undecided(measurement: Measurement, faults: FaultMap, chip: ChipSpec,
                    tolerance: float) -> None:
    """Warn (:class:`XbarmemWarning`) of the devices the data cannot decide on: taken as free
    (within the default ``tolerance`` of their targets), they read nearer a window edge of
    ``chip`` (g_min or g_max, where stuck devices read) than their targets, and the reading
    lies further from the target, and the target from that edge, than :data:`UNDECIDED_STD`
    std of the write error (or :data:`UNDECIDED_WINDOW` of the window): stuck at the edge, or
    written that far off. Not when the targets are all one (the window is then the readings'
    own) or those devices are :data:`UNDECIDED_SHARE` of the measured ones or fewer."""
    m = measurement.measured & ~faults.stuck
    target = np.where(m, measurement.target, np.nan)
    d = chip.device
    if not np.nanmin(target) < np.nanmax(target):
        return
    read = np.where(m, measurement.read, np.nan)
    off = np.abs(read - target)
    edge = np.where(np.abs(read - d.g_min) < np.abs(read - d.g_max), d.g_min, d.g_max)
    far = min(UNDECIDED_STD * tolerance / 5.0, UNDECIDED_WINDOW * d.g_range)
    undecided = int(np.count_nonzero(m & (np.abs(read - edge) < off) & (off > far)
                                     & (np.abs(target - edge) > far)))
    n_meas = int(np.count_nonzero(measurement.measured))
    if undecided <= UNDECIDED_SHARE * n_meas:
        return
    warn(f"{measurement.source}: {counted(undecided, 'device')} of {n_meas} cannot be told "
         f"stuck or free: each reads nearer g_min or g_max ({d.g_min * 1e6:.4g} or "
         f"{d.g_max * 1e6:.4g} uS), where a stuck device reads, than its target, yet within "
         f"the default stuck tolerance ({tolerance * 1e6:.4g} uS, 5 std of read - target), "
         "and is taken as free: stuck at that edge, or written that far off? the data cannot "
         "tell them apart. Give a tolerance to decide (--tolerance in uS; Python: tolerance= "
         "in siemens), or mark devices known stuck (a stuck column of 1)", stacklevel=3)


def _warn_extent(measurement: Measurement, base: ChipSpec) -> None:
    """Warn (:class:`XbarmemWarning`) when devices of several arrays are measured and every
    one lies in the first half of the rows and of the columns of ``base``'s arrays, or every
    device of the same smaller corner of each (:func:`_whole_arrays`: a measured chip of
    48x40 arrays imported as 64x64): a CSV names no array size, so that of a chip of smaller
    arrays (an export of 16x16 tiles read into 64x64 arrays) would put its stuck devices on
    other weights, the rest of each array left free without a word. (One array measured in
    a corner is a small memory's devices, or the used ones only: no warning; nor when the
    file's lines, measured or not, reach further
    (:attr:`Measurement.listed`): an export's devices.csv of a small multilayer memory, read
    back at the cells each layer uses, lists every cell of the chip's arrays.)"""
    rows, cols = base.array.rows, base.array.cols
    per_array = np.asarray(measurement.measured).reshape(len(measurement.measured), -1)
    if np.count_nonzero(per_array.any(axis=1)) < 2:
        return
    # (rows, cols): measured in any array, on either plane
    measured = np.asarray(np.any(measurement.measured, axis=(0, 1)))
    used_rows = 1 + int(np.flatnonzero(measured.any(axis=1)).max())
    used_cols = 1 + int(np.flatnonzero(measured.any(axis=0)).max())
    listed_rows, listed_cols = measurement.listed or (0, 0)
    reach = (max(used_rows, listed_rows), max(used_cols, listed_cols))
    if (2 * reach[0] > rows or 2 * reach[1] > cols) and not (
            reach == (used_rows, used_cols) != (rows, cols)
            and _whole_arrays(measurement.measured, used_rows, used_cols)):
        return  # (an export's devices.csv lists the cells a memory leaves unused)
    lie = f"{spanned('row', 0, used_rows - 1)} and {spanned('col', 0, used_cols - 1)}"
    warn(f"{measurement.source}: the measured devices lie in {lie} only of the {base.name} "
         f"chip's {rows}x{cols} arrays (the others are left free); if the measured chip's "
         f"arrays are {used_rows}x{used_cols}, give a chip with rows = {used_rows} and cols = "
         f"{used_cols} in [array] (--chip FILE); if they are the devices a memory uses, list "
         "the others with an empty read_uS, as its export's devices.csv does", stacklevel=3)


def _warn_unmeasured_arrays(measurement: Measurement) -> None:
    """Warn (:class:`XbarmemWarning`) when arrays below the highest one measured have no
    measured device: the map has an array for every index up to the highest, and those are
    left free without a word (a file numbering its arrays from 1 put every measured stuck
    device on array 1, which a memory on array 0 never meets)."""
    per_array = np.asarray(measurement.measured).reshape(len(measurement.measured), -1)
    empty = np.flatnonzero(~per_array.any(axis=1))
    if empty.size == 0:
        return
    listed = ", ".join(str(int(a)) for a in empty[:5]) + (", ..." if empty.size > 5 else "")
    warn(f"{measurement.source}: {counted(int(empty.size), 'array')} of the "
         f"{len(per_array)} the map covers (array {listed}) {'has' if empty.size == 1 else 'have'}"
         f" no measured device and {'is' if empty.size == 1 else 'are'} left free: arrays are "
         "numbered from 0 (a file numbering them from 1?)", stacklevel=3)


def _whole_arrays(measured: np.ndarray, rows: int, cols: int) -> bool:
    """Whether every array with a measured device has all its devices of rows ``0..rows-1``
    and cols ``0..cols-1`` measured, on both planes, and no other: the whole arrays of a chip
    of ``rows x cols`` (a memory's used devices differ from array to array, or leave some
    out)."""
    corner = np.zeros(measured.shape[1:], dtype=bool)
    corner[:, :rows, :cols] = True
    return all(np.array_equal(array, corner) for array in measured if array.any())


def _usable(measurement: Measurement, keep: np.ndarray | None = None) -> np.ndarray:
    """The measured devices not marked ``stuck`` (and ``keep``, when given)."""
    m = measurement.measured
    if measurement.known_stuck is not None:
        m = m & ~measurement.known_stuck
    return m if keep is None else m & keep


def written_devices(measurement: Measurement) -> np.ndarray:
    """The measured devices whose ``read - target`` tells of the
    write error *two-sided*, a bool mask of the measurement's shape: not marked ``stuck``,
    programmed strictly inside the range of the targets; when fewer than
    :data:`SPREAD_MIN_DEVICES` are, those reading other than their target; when fewer still,
    all of them. A device at a window edge (a write clipped there reads its target exactly, or
    with its read noise only) or never programmed (an unused cell reads its initial state)
    does not; the devices at the edges tell of it one-sided (:func:`edge_errors`), which
    :func:`write_error_spread` and the measured chip's ``write_noise`` take when they are the
    more (:func:`at_edges`: a chip of 2 levels)."""
    m = _usable(measurement)
    if not m.any():
        return m
    target = np.where(m, measurement.target, np.nan)
    inside = m & (target > np.nanmin(target)) & (target < np.nanmax(target))
    differs = m & (measurement.read != measurement.target)
    return next((p for p in (inside, differs) if np.count_nonzero(p) >= SPREAD_MIN_DEVICES), m)


def edge_errors(measurement: Measurement, keep: np.ndarray | None = None
                ) -> tuple[np.ndarray, float, int]:
    """The inward errors (siemens, 1-d) of the devices (of ``keep``) programmed to the lowest
    or the highest target, when the targets differ (``read - target`` at the lowest, ``target
    - read`` at the highest), the targets' range (siemens; 0.0 when they do not differ) and
    how many devices are programmed strictly inside it."""
    m = _usable(measurement, keep)
    if not m.any():
        return np.zeros(0), 0.0, 0
    target = np.where(m, measurement.target, np.nan)
    low, high = float(np.nanmin(target)), float(np.nanmax(target))
    if not low < high:
        return np.zeros(0), 0.0, 0
    err = measurement.read - measurement.target
    inside = int(np.count_nonzero(m & (target > low) & (target < high)))
    return (np.concatenate([err[m & (target == low)], -err[m & (target == high)]]),
            high - low, inside)


def at_edges(measurement: Measurement, keep: np.ndarray | None = None) -> float | None:
    """The write error's std from the devices at the window's edges
    (:func:`~xbarmem.hardware.spread.edge_spread` of :func:`edge_errors`), when they tell of
    it and those programmed inside the targets' range do not: fewer than
    :data:`SPREAD_REFINE_MIN` of these, and fewer than the edges' devices reading inward of
    their target (a chip of 2 levels, or of a few whose middle levels few devices hold);
    else None."""
    inward, window, inside = edge_errors(measurement, keep)
    told = int(np.count_nonzero((inward > 0) & (inward <= 0.5 * window)))
    if inside >= SPREAD_REFINE_MIN or told < max(SPREAD_REFINE_MIN, inside + 1):
        return None
    return edge_spread(inward, window)


def write_error_spread(measurement: Measurement) -> float:
    """The standard deviation (siemens) of the write error, unclipped, that the default stuck
    tolerance is 5 times. Devices marked ``stuck`` are left out (their target is their read).

    * From the devices programmed strictly inside the range of the targets: the robust std
      of their ``read - target``; when fewer than :data:`SPREAD_MIN_DEVICES` are, of those
      reading other than their target; when fewer still, of all. Devices at a window edge or
      never programmed read their target exactly, or with their read noise only: counted
      with the others, they made the estimate 0, or the read noise's, and every device
      written with a normal error stuck. The spread of :data:`SPREAD_REFINE_MIN` devices or
      more is refined over the devices within 5 of it of the median error, while it falls (at
      most :data:`SPREAD_ROUNDS` times): stuck devices, far off, widen a median absolute
      deviation as they grow to half of the devices (a third stuck: 3.5 uS for a 2 uS write
      error, refined to 2.1 uS; half stuck: 10.9 uS, refined to 2.2 uS).
    * When the devices at the window's edges tell more (:func:`at_edges`: a chip of 2
      levels, or a few whose middle levels hold few devices), from those: the std of a normal
      error fitted to the upper tail of their inward errors
      (:func:`~xbarmem.hardware.spread.edge_spread`), which writes clipped at the edge, read
      with their read noise only, leave alone."""
    edges = at_edges(measurement)
    if edges is not None:
        return edges
    err = (measurement.read - measurement.target)[written_devices(measurement)]
    if err.size == 0:
        return 0.0
    return refined_spread(err)


#: how :func:`reading_spread` took the spread, as the measured chip's ``source`` says it
SPREAD_WORDS = {"inside": "the std of read - target of the devices written inside the "
                          "targets' range (those within 3 robust std of the median error)",
                "edges": "the std of a normal error fitted to the inward errors of the "
                         "devices at the window's edges"}


def reading_spread(measurement: Measurement, ok: np.ndarray) -> tuple[float, str]:
    """The spread ``s`` (siemens) of ``read - target`` that the measured chip's
    ``write_noise`` is taken from, and how (a key of :data:`SPREAD_WORDS`): the std over the
    devices ``ok`` (measured, not stuck) that tell of the write error two-sided
    (:func:`written_devices`; those within 3 robust std of the median error,
    :func:`~xbarmem.hardware.spread.trimmed_std`: a device stuck near its own target reads
    within the stuck tolerance), or, where the devices at the window's edges tell more, the
    std fitted to theirs (:func:`at_edges`). Each reading holds the write error and one draw
    of the read noise: ``s`` is the std of both."""
    edges = at_edges(measurement, ok)
    if edges is not None:
        return edges, "edges"
    written = written_devices(measurement) & ok  # not those clipped or never programmed
    return trimmed_std((measurement.read - measurement.target)[
        written if np.count_nonzero(written) >= 2 else ok]), "inside"


def window_edges(measurement: Measurement, ok: np.ndarray) -> tuple[float, float]:
    """The measured window ``(g_min, g_max)``, siemens, from the devices ``ok`` (measured, not
    stuck): each edge the median reading of the devices programmed to the lowest (highest)
    target, when at least :data:`SPREAD_MIN_DEVICES` were and the targets differ; when fewer
    were (targets spread over the window, as a lab's own sweep sets them), that target plus
    the median ``read - target`` of the :data:`SPREAD_REFINE_MIN` devices (at least
    :data:`SPREAD_MIN_DEVICES`) programmed nearest it, not below 0 S; on fewer devices, or
    targets all alike, the lowest (highest) reading. A device asked for the window's edge
    lands there and is read with its noise: the extreme reading of thousands lies several
    noise std beyond the edge (0 S for a g_min of 2 uS read with 1 uS of noise, the guide's
    example), a conductance no device was shown to hold."""
    target, read = measurement.target[ok], measurement.read[ok]
    low, high = float(target.min()), float(target.max())
    if not low < high or target.size < SPREAD_MIN_DEVICES:
        return float(read.min()), float(read.max())
    order = np.argsort(target, kind="stable")
    near = min(SPREAD_REFINE_MIN, target.size)
    edges = []
    for at, nearest in ((low, order[:near]), (high, order[-near:])):
        there = target == at
        edges.append(float(np.median(read[there])) if np.count_nonzero(there)
                     >= SPREAD_MIN_DEVICES else
                     max(at + float(np.median(read[nearest] - target[nearest])), 0.0))
    return edges[0], edges[1]


def _measured_chip(measurement: Measurement, base: ChipSpec, tolerance: float | None
                   ) -> tuple[ChipSpec, FaultMap, dict[str, Any]]:
    m = measurement.measured
    spread = float(np.ptp(measurement.read[m]))
    if tolerance is None:
        tolerance = max(5.0 * write_error_spread(measurement), 1e-3 * spread, 1e-12)
    read0 = np.where(m, measurement.read, 0.0)
    target0 = np.where(m, measurement.target, 0.0)
    faults = FaultMap.from_readback(read0, target0, tolerance, base.device)
    if measurement.known_stuck is not None:
        flagged = measurement.known_stuck & m
        faults.g_stuck[flagged] = read0[flagged]
    stuck = faults.stuck & m
    ok = m & ~stuck
    if ok.sum() < 2:
        raise FileFormatError(f"{measurement.source}: fewer than 2 devices reached their target "
                              f"within {tolerance * 1e6:.3g} uS; cannot estimate the window")
    g_min, g_max = (_shortest(edge) for edge in window_edges(measurement, ok))
    if g_max <= g_min:
        raise FileFormatError(f"{measurement.source}: every device that reached its target "
                              f"reads {g_min * 1e6:.6g} uS; cannot estimate the window")
    spread, how = reading_spread(measurement, ok)
    read_noise = base.device.read_noise  # (a CSV holds one reading per device)
    write_noise = write_error_std(spread, read_noise)
    mid = 0.5 * (g_min + g_max)
    stuck_g = measurement.read[stuck]
    n_meas = int(m.sum())
    device = replace(base.device, g_min=g_min, g_max=g_max, write_noise=write_noise,
                     p_stuck_on=float((stuck_g >= mid).sum() / n_meas),
                     p_stuck_off=float((stuck_g < mid).sum() / n_meas))
    chip = replace(base, device=device, name="measured",
                   description=f"Chip model measured from {measurement.source}",
                   source=f"{measurement.source}: window = median read of the non-stuck devices "
                          f"at (or, few there, median error of those nearest) the lowest / "
                          f"highest target, "
                          f"write_noise = sqrt(s^2 - r^2) = {write_noise * 1e6:.4g} uS, the write "
                          f"error alone: s = {spread * 1e6:.4g} uS, {SPREAD_WORDS[how]}, which "
                          f"holds one draw of read noise per reading; r = "
                          f"{read_noise * 1e6:.4g} uS, the read noise of {base.name}, which the "
                          f"chip keeps; stuck if |read - target| > {tolerance * 1e6:.4g} uS; "
                          f"other values from {base.name}")
    faults.check_window(device, measurement.source)
    faults.meta.update({"source": "measured-csv", "file": measurement.source,
                        "tolerance_S": tolerance, "unmeasured_devices": int((~m).sum()),
                        "chip": chip_record(chip)})
    summary = {"file": measurement.source, "measured_devices": n_meas,
               "unmeasured_devices": int((~m).sum()), "stuck": int(stuck.sum()),
               "stuck_on": int((stuck_g >= mid).sum()), "stuck_off": int((stuck_g < mid).sum()),
               "tolerance_uS": tolerance * 1e6, "g_min_uS": _microsiemens(g_min),
               "g_max_uS": _microsiemens(g_max), "write_noise_uS": write_noise * 1e6,
               "read_noise_uS": _microsiemens(read_noise), "error_std_uS": spread * 1e6,
               "mean_error_uS": float(np.mean((measurement.read - measurement.target)[ok])) * 1e6}
    return chip, faults, summary


def _warn_unit(measurement: Measurement, base: ChipSpec) -> str | None:
    """Warn (:class:`XbarmemWarning`) when the readings look written in another unit than
    microsiemens (:func:`~xbarmem.hardware.units.unit_mismatch` against ``base``'s window):
    not refused, since the measured chip's window comes from the data. Returns what the
    warning says of them, for a refusal of the measurement to repeat, or None."""
    unit = unit_mismatch(measurement.read[measurement.measured] * 1e6, base.device, 1e-6)
    if unit is None:
        return None
    d = base.device
    hint = (f"read_uS is read as microsiemens, but most readings lie outside the {base.name} "
            f"chip's window [{d.g_min:g}, {d.g_max:g}] S, and {unit}; is the file in another "
            "unit?")
    warn(f"{measurement.source}: {hint} (if not, the measured chip's window is another: give "
         f"a chip of its window, --chip FILE, whose read noise and levels it keeps)",
         stacklevel=3)
    return hint
