"""The unit a file of conductances was written in: one check for every reader of measured values.

A measured map is read in one unit (an array file and a read-back in siemens, a measured CSV's
``*_uS`` columns in microsiemens). A lab often writes another: microsiemens, or resistances in
ohms instead of conductances. Read in the wrong unit, every device looks far outside the chip's
window (stuck, or refused). :func:`unit_mismatch` says when a file looks written in another
unit: fewer than half of its values lie inside the chip's window in the unit it is read in,
and at least half lie inside it in another unit of :data:`CONDUCTANCES` or :data:`RESISTANCES`
(another unit is fitted to the window cut to a factor of :data:`UNIT_SPAN` = 1000 below
1.5 ``g_max``, so at most one conductance unit fits, on a window from 0 S too; a resistance
unit may fit as well, and then both are named).

What a measured map may hold, one rule for every reader (a conductance map of ``chip import``
and :meth:`~xbarmem.hardware.faults.FaultMap.from_conductance_map` /
:meth:`~xbarmem.hardware.faults.FaultMap.from_readback`, an ``adapt --read-back`` file, a
backend's ``read_back()``, the ``read_uS`` column of a CSV): :func:`reading_array` (float32 or
float64 in any byte order or memory order; not float16, integers, bool, complex, objects,
text, records, nor an array of no devices) and :func:`zero_offsets` (a reading below 0 S by
at most :data:`OFFSET_SHARE` of the map's highest reading is an instrument's offset, taken as
0 S and warned about; one further below is refused, naming the first).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from xbarmem.checks import as_real_array, counted
from xbarmem.errors import FileFormatError, XbarmemError
from xbarmem.files import ArrayFile
from xbarmem.hardware.chip import DeviceSpec

#: conductance units a file may be written in: name, factor to siemens
CONDUCTANCES = (("siemens (S)", 1.0), ("millisiemens (mS)", 1e-3), ("microsiemens (uS)", 1e-6),
                ("nanosiemens (nS)", 1e-9), ("picosiemens (pS)", 1e-12))
#: resistance units a file may be written in by mistake: name, factor to ohms
RESISTANCES = (("ohms", 1.0), ("kilohms (kOhm)", 1e3), ("megohms (MOhm)", 1e6))


def inside_window(values: np.ndarray, device: DeviceSpec, *, span: float | None = None,
                  held_up_to: float | None = None) -> float:
    """Fraction of ``values`` (siemens) that a device of this window can read: from half of
    g_min to 1.5 g_max (stuck devices read near the rails, with read noise); with
    ``held_up_to`` (siemens), values stuck devices are held at, from 0 S (a device never
    formed reads below g_min) to ``held_up_to`` (what a fault map may hold); with ``span``,
    from no lower than the top of that range / ``span`` (a window from 0 S spans every unit
    below its own)."""
    high = 1.5 * device.g_max if held_up_to is None else held_up_to
    floor = 0.5 * device.g_min if held_up_to is None else 0.0
    low = floor if span is None else max(floor, high / span)
    return float(np.mean((values >= low) & (values <= high)))


def _as_siemens(values: np.ndarray, factor: float, resistance: bool) -> np.ndarray:
    if not resistance:
        return values * factor
    ohms = values * factor
    with np.errstate(divide="ignore"):
        return np.where(ohms > 0, 1.0 / np.where(ohms > 0, ohms, 1.0), np.inf)


#: the widest window (a factor) another unit is fitted to: a window from 0 S, or from far
#: below g_max, would fit every smaller unit (siemens read as nano- and picosiemens alike)
UNIT_SPAN = 1000.0


def unit_mismatch(values: np.ndarray, device: DeviceSpec, read_as: float = 1.0, *,
                  held_up_to: float | None = None) -> str | None:
    """When ``values`` (the numbers of a file read in the conductance unit of factor
    ``read_as`` to siemens: 1 for siemens, 1e-6 for microsiemens) look written in another unit
    (see the module docstring): ``"95% fit it as microsiemens (uS) (multiply by 1e-06)"``
    (``it``: the window, which the caller names first), every such unit named, the best
    first; else None. ``held_up_to`` (siemens): the values are those stuck devices are held
    at, fitted from 0 S to it (:func:`inside_window`: a stuck-OFF device may read far below
    g_min). Non-finite values are left out; no values: None."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0 or inside_window(v * read_as, device, held_up_to=held_up_to) >= 0.5:
        return None
    fits = []
    for units, resistance in ((CONDUCTANCES, False), (RESISTANCES, True)):
        for name, factor in units:
            if not resistance and factor == read_as:
                continue
            share = inside_window(_as_siemens(v, factor, resistance), device, span=UNIT_SPAN,
                                  held_up_to=held_up_to)
            if share >= 0.5:
                how = ("conductance = 1 / resistance" if resistance
                       else f"multiply by {factor / read_as:g}")
                fits.append((share, f"as {name} ({how})"))
    if not fits:
        return None
    fits.sort(key=lambda fit: -fit[0])
    first = f"{fits[0][0]:.0%} fit it {fits[0][1]}"
    return " or ".join([first, *(f"{share:.0%} {text}" for share, text in fits[1:])])


#: a rank correlation of readings with their targets below -FALLING_SIGMAS / sqrt(devices),
#: and below FALLING, reads as resistances: a read-back follows its targets (stuck devices
#: aside) and a map of no relation to them scatters by about 1 / sqrt(devices), so at 2 of
#: that a read-back's chance negative correlation on few devices is no alarm, while stuck
#: devices, which pull a map of resistances towards 0, no longer hide it on many (ohms of a
#: 2-150 uS window, 30% of the devices stuck at a rail: 49% missed at -0.5 on 1000 devices,
#: none now; read-backs of 10 devices, half stuck, taken for resistances: 2.2% at -0.5, 0.95%
#: now; 2000 draws each, 2026-12-05)
FALLING = -0.2
FALLING_SIGMAS = 2.0
#: fewest devices (with distinct targets) on which a rank correlation is judged (on 10 the
#: threshold is already -0.63)
FALLING_MIN_DEVICES = 10


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks of ``values`` (0-based), ties given their mean rank."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + ends - 1) / 2.0)[inverse.ravel()]


def one_reading(read: np.ndarray, target: np.ndarray) -> float | None:
    """The one value every reading of ``read`` holds (siemens) where ``target`` and ``read`` are
    finite, when the targets there differ: a read-back that measured nothing of the programmed
    devices (all 0 S: the array not read; all at one rail: not programmed), which would pin
    every device it misses; else None (readings that vary, or targets all equal)."""
    r, t = np.asarray(read, dtype=np.float64), np.asarray(target, dtype=np.float64)
    both = np.isfinite(r) & np.isfinite(t)
    r, t = r[both], t[both]
    if r.size < 2 or np.ptp(t) == 0 or np.ptp(r) > 0:
        return None
    return float(r[0])


def falls_with_target(read: np.ndarray, target: np.ndarray) -> tuple[float, int] | None:
    """When readings fall as their targets rise, what a map of resistances read as
    conductances does (a device programmed higher reads lower): ``(rank correlation, devices)``
    if the Spearman rank correlation of ``read`` with ``target`` over the devices where both
    are finite is below :data:`FALLING` and ``-FALLING_SIGMAS / sqrt(devices)``; else None.
    A read-back in the right unit follows its targets (stuck devices aside); its range cannot
    tell (kilohms of a 2-150 uS window, 6.7-500, lie mostly inside it read as microsiemens).
    Fewer than :data:`FALLING_MIN_DEVICES` devices, or targets all equal: None."""
    found = _rank_correlation(read, target)
    if found is None:
        return None
    rho, devices = found
    return found if rho < min(FALLING, -FALLING_SIGMAS / math.sqrt(devices)) else None


def _rank_correlation(read: np.ndarray, target: np.ndarray) -> tuple[float, int] | None:
    """``(Spearman rank correlation, devices)`` of ``read`` with ``target`` over the devices
    where both are finite; None for fewer than :data:`FALLING_MIN_DEVICES` devices or either
    side all equal."""
    r, t = np.asarray(read, dtype=np.float64), np.asarray(target, dtype=np.float64)
    both = np.isfinite(r) & np.isfinite(t)
    r, t = r[both], t[both]
    if r.size < FALLING_MIN_DEVICES or np.ptp(t) == 0 or np.ptp(r) == 0:
        return None
    rho = float(np.corrcoef(_ranks(r), _ranks(t))[0, 1])
    return rho, int(r.size)


#: a read-back whose rank correlation with the conductances its model programmed is below
#: this (and not falling: :func:`falls_with_target`) hardly follows them: a read-back of the
#: programming follows its targets (0.99 with rram's write error; stuck devices, 30% of them,
#: leave about 0.7), a map read before programming, or of another model, scatters near 0
UNRELATED = 0.2


def unrelated_readings(read: np.ndarray, target: np.ndarray) -> tuple[float, int] | None:
    """When readings ``read`` hardly follow the conductances ``target`` they were programmed
    to (siemens, same shape; NaN: left out): ``(rank correlation, devices)`` if it lies in
    ``[-UNRELATED, UNRELATED)`` over :data:`FALLING_MIN_DEVICES` or more devices whose targets
    differ; else None."""
    found = _rank_correlation(read, target)
    return found if found is not None and -UNRELATED <= found[0] < UNRELATED else None


#: the largest factor between a device's read and its target that reads as one unit (a
#: stuck device may be far off; the median over all devices is not)
SAME_UNIT_FACTOR = 100.0


def unit_disagreement(read: np.ndarray, target: np.ndarray
                      ) -> tuple[str, float, int] | None:
    """When readings ``read`` and the targets they were programmed to, ``target`` (one unit
    meant, same shape; NaN: left out), are not in one unit: ``("falls", rank correlation,
    devices)`` when the readings fall as the targets rise (:func:`falls_with_target`:
    resistances, e.g. kilohms, whose numbers a factor cannot tell from microsiemens), else
    ``("ratio", median of read / target, devices)`` when that median over the devices where
    both are positive lies beyond :data:`SAME_UNIT_FACTOR` either way; else None. The one rule
    of a measured CSV's ``read_uS`` and ``target_uS`` and of ``FaultMap.from_readback``."""
    falling = falls_with_target(read, target)
    if falling is not None:
        return "falls", falling[0], falling[1]
    r, t = np.asarray(read, dtype=np.float64), np.asarray(target, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        both = np.isfinite(r) & np.isfinite(t) & (t > 0) & (r > 0)
    if not both.any():
        return None
    ratio = float(np.median(r[both] / t[both]))
    if ratio > SAME_UNIT_FACTOR or ratio < 1.0 / SAME_UNIT_FACTOR:
        return "ratio", ratio, int(both.sum())
    return None


#: readings falling with their targets follow the other plane (G+ and G- swapped) when they
#: lie within this share of the window of the other device's conductances, at the median: a
#: write error is a few percent of a window (2 uS of rram's 148 uS), while resistances read as
#: conductances lie tens of percent from any plane (kilohms of 2-150 uS: 7-500)
SWAPPED_WITHIN = 0.1


def falling_readings(read: np.ndarray, target: np.ndarray, other: np.ndarray, window: float
                     ) -> tuple[float, int, bool] | None:
    """When readings ``read`` fall as the conductances ``target`` they were programmed to rise
    (:func:`falls_with_target`): ``(rank correlation, devices, swapped)``, ``swapped`` True
    when the readings lie, at the median, within :data:`SWAPPED_WITHIN` of the ``window``
    (siemens) of ``other``, the targets of each device's partner in its pair (same layout as
    ``read``; devices without a finite target or partner left out): the G+ and G- planes
    swapped; False: resistances, not conductances. Else None. The one rule of every reader
    of read-backs (files and backends)."""
    falling = falls_with_target(read, target)
    if falling is None:
        return None
    r, o = np.asarray(read, dtype=np.float64), np.asarray(other, dtype=np.float64)
    both = np.isfinite(r) & np.isfinite(o) & np.isfinite(np.asarray(target, dtype=np.float64))
    swapped = bool(both.any()) and float(np.median(np.abs(r[both] - o[both]))) < \
        SWAPPED_WITHIN * window
    return falling[0], falling[1], swapped


def falling_refusal(read: np.ndarray, target: np.ndarray, other: np.ndarray, window: float, *,
                    head: str, swapped: str, otherwise: str) -> str | None:
    """The refusal of readings that fall as their targets rise (:func:`falling_readings`), or
    None: ``head`` (what fell, e.g. "read-back: the readings") with the rank correlation and
    device count, then "G+ and G- swapped?" and the ``swapped`` hint when the readings follow
    the partners' targets, else the ``otherwise`` hint (resistances, not conductances)."""
    falling = falling_readings(read, target, other, window)
    if falling is None:
        return None
    rho, devices, follows = falling
    said = f"{head} (rank correlation {rho:.2f} over {devices} devices)"
    if follows:
        return f"{said} and follow those of the other plane: G+ and G- swapped? {swapped}"
    return f"{said}: {otherwise}"


#: a read-back follows a mix-up of its layout (rows and columns exchanged, arrays and planes
#: exchanged) when, moved back, it lies on average within this share of its distance from the
#: model's conductances as laid out; a write error moves both alike (ratio near 1)
REARRANGED_BELOW = 0.25
#: ... and only when the readings as laid out lie on average this share of the window or more
#: from the model's conductances: a read-back close to them is never refused
REARRANGED_FLOOR = 0.02


def follows_rearranged(read: np.ndarray, model: np.ndarray, moved: dict[str, np.ndarray],
                       window: float) -> tuple[str, float, float] | None:
    """When readings ``read`` follow the conductances ``model`` (same shape; NaN: no value)
    far better once rearranged: ``(name, distance moved, distance as laid out)`` (mean
    absolute distances, in the unit of ``read``) of the first ``moved[name]`` (``read``
    rearranged back as that mix-up, e.g. a transposition, would have moved it; same shape)
    whose mean distance from ``model`` is below :data:`REARRANGED_BELOW` times that of
    ``read``, itself at least :data:`REARRANGED_FLOOR` of ``window``. Else None. The one rule
    of every reader of read-backs (files and backends)."""
    m = np.asarray(model, dtype=np.float64)
    r = np.asarray(read, dtype=np.float64)
    for name, other in moved.items():
        o = np.asarray(other, dtype=np.float64)
        both = np.isfinite(m) & np.isfinite(r) & np.isfinite(o)
        if both.sum() < FALLING_MIN_DEVICES:
            continue
        laid, back = (float(np.abs(x[both] - m[both]).mean()) for x in (r, o))
        if laid >= REARRANGED_FLOOR * window and back < REARRANGED_BELOW * laid:
            return name, back, laid
    return None


#: what a measured map must be, as refusals name it
REAL_SIEMENS = "float32 or float64 conductances in siemens"
#: torch dtypes of fewer digits than float32 (turned into float32 on the way to numpy, which
#: would hide that the readings were rounded)
SHORT_TENSORS = ("torch.float16", "torch.bfloat16", "torch.float8")


def reading_array(value: Any, what: str, *, error: type[XbarmemError],
                  device: DeviceSpec | None = None) -> np.ndarray:
    """The one rule for the numbers of a measured conductance map (``what`` names it in
    refusals, raised as ``error``): ``value`` (a numpy array, nested lists or a torch tensor)
    must hold float32 or float64 numbers, in either byte order (a big-endian ``>f8`` file)
    and memory order (Fortran), and at least one of them; returned as native float64 in C
    order. Refused: float16 / bfloat16 (3 significant digits or fewer: a reading of 2.04 uS is
    stored as 2.0266 uS, and one below 6e-08 S as 0), integers and bool (they cannot hold
    siemens; with ``device``, integers that fit its window in another unit, such as whole
    microsiemens, say so: :func:`unit_mismatch`), complex numbers, objects, text, structured
    (record) arrays, a 0-d array and an empty one. Values are left to the caller (NaN, inf:
    :func:`zero_offsets` for those below 0 S)."""
    if any(str(getattr(value, "dtype", "")).startswith(t) for t in SHORT_TENSORS):
        raise error(f"{what}: a {value.dtype} tensor (3 significant digits or fewer) cannot "
                    f"hold the readings: give {REAL_SIEMENS}")
    arr = value if isinstance(value, np.ndarray) else None
    if arr is None or (arr.dtype.names is None and arr.dtype.kind not in "OUSVcMm"):
        arr = as_real_array(value, what, error=error, dtype=None, copy=False)
    kind, names = arr.dtype.kind, arr.dtype.names
    if names is not None:
        raise error(f"{what}: a structured array (fields {', '.join(names)}), not a map of "
                    f"conductances: give one field's values (e.g. a[{names[0]!r}]) as "
                    f"{REAL_SIEMENS}")
    if kind == "b":
        raise error(f"{what}: true/false values, not conductances: give {REAL_SIEMENS}")
    if kind in "iu":
        unit = None if device is None else unit_mismatch(arr, device)
        hint = (f" (the chip window is [{device.g_min:g}, {device.g_max:g}] S, and {unit})"
                if device is not None and unit is not None else "")
        raise error(f"{what}: integers ({arr.dtype}) cannot hold conductances in siemens"
                    f"{hint}: give {REAL_SIEMENS}")
    if kind != "f":
        raise error(f"{what}: values of dtype {arr.dtype}, not conductances: give "
                    f"{REAL_SIEMENS}")
    if arr.dtype.itemsize < 4:
        raise error(f"{what}: {arr.dtype} keeps 3 significant digits and reads below 6e-08 S "
                    f"as 0: give {REAL_SIEMENS} (saved from the instrument's readings)")
    if arr.ndim == 0 or arr.size == 0:
        raise error(f"{what}: no readings (shape {tuple(arr.shape)}): give one for every "
                    "device, shape (2, rows, cols) or (n_arrays, 2, rows, cols)")
    return np.ascontiguousarray(arr, dtype=np.float64)


#: a reading below 0 S by at most this share of the map's highest reading is an offset of
#: the instrument (a device at or near 0 S read as -3e-9 S), taken as 0 S with a warning;
#: one further below is no conductance, and refused
OFFSET_SHARE = 0.01


def offset_floor(read: np.ndarray) -> float:
    """How far below 0 S (a number >= 0, siemens) a reading of the map ``read`` may lie and be
    taken as 0 S: :data:`OFFSET_SHARE` of its highest finite reading (0 when none is above
    0 S)."""
    finite = read[np.isfinite(read)]
    return OFFSET_SHARE * max(float(finite.max()), 0.0) if finite.size else 0.0


def zero_offsets(read: np.ndarray, what: str, *, error: type[XbarmemError],
                 place: Callable[[tuple[int, ...]], str]) -> tuple[np.ndarray, str | None]:
    """The one rule for readings below 0 S (``read``: float64 siemens, any shape; NaN and inf
    left to the caller): refused (``error``: ``what``, the first such device by ``place`` of
    its index, e.g. ``"device (array 0, G+, row 3, col 5)"``, how many, and the offset taken)
    when one lies further below 0 S than :func:`offset_floor`; else ``(read with those below
    0 S set to 0 S, the warning to issue once the map is accepted -- how many, the lowest, the
    first -- or None when none is below 0 S)``."""
    with np.errstate(invalid="ignore"):
        below = read < 0
    if not below.any():
        return read, None
    floor = offset_floor(read)
    offset = f"up to {floor:.3g} S below 0 S, {OFFSET_SHARE:.0%} of the highest reading"
    with np.errstate(invalid="ignore"):
        far = read < -floor
    if far.any():
        first = tuple(int(v) for v in np.argwhere(far)[0])
        taken = (f"by more than an instrument's offset, {offset}, which is taken as 0 S"
                 if floor > 0 else "and none above it: no offset is taken from a map of no "
                 "reading above 0 S")
        raise error(f"{what}: {place(first)} reads {read[first]:.4g} S "
                    f"({counted(int(far.sum()), 'reading')} below 0 S {taken}): a conductance "
                    f"is >= 0 S; subtract the instrument's offset, or give such a device 0 S "
                    f"(stuck OFF)")
    first = tuple(int(v) for v in np.argwhere(below)[0])
    note = (f"{what}: {counted(int(below.sum()), 'reading')} below 0 S, down to "
            f"{float(read[below].min()):.3g} S (first: {place(first)}), taken as 0 S: an "
            f"instrument's offset ({offset})")
    return np.where(below, 0.0, read), note


def reading_planes(file: ArrayFile, key: str | None, how: str, *,
                   error: type[XbarmemError]) -> np.ndarray:
    """The conductance map of an ``.npy`` / ``.npz`` ``file`` as :meth:`ArrayFile.planes`
    reads it (``key``: an ``.npz`` member, or ``"PLUS,MINUS"``, two members stacked as the G+
    and G- planes; ``how``: how to choose among several), the two members of a ``PLUS,MINUS``
    key first held to :func:`reading_array`'s rule each on its own (from their headers:
    stacked, a float16 or integer plane beside a float64 one became float64 and passed) and
    refused (:class:`FileFormatError`, as the file's other refusals) when the key names one
    member twice (its readings taken as both planes)."""
    names = [name.strip() for name in key.split(",")] if key is not None else []
    if len(names) == 2 and names[0] and names[0] == names[1]:
        raise FileFormatError(f"{file.where}: key {key!r} names the array {names[0]!r} twice: "
                              "the G+ and G- planes are two arrays (PLUS,MINUS)")
    if len(names) == 2 and all(names) and file.is_npz:
        for name in names:
            dtype = file.header(name, how)[1]
            reading_array(np.zeros(1, dtype=dtype), f"{file.where}, array {name!r}", error=error)
    return file.planes(key, how)
