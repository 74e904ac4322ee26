"""Fault maps: the state of every device of a chip, free or stuck at a conductance.

A :class:`FaultMap` covers ``n_arrays`` physical arrays of ``rows x cols`` differential cells.
Each cell has two devices, one on each polarity plane (plane 0 = G+, plane 1 = G-). The map stores
``g_stuck``, float64 of shape ``(n_arrays, 2, rows, cols)``: the conductance (siemens) a stuck
device is frozen at, or NaN for a free device. The same map is used by training (realisable weight
intervals), programming and recall, so it is generated once (seeded), saved, and loaded again.

Under the ``weight`` fault model (the paper's simulation) faults are drawn per pair and a faulty
pair has both devices stuck at g_min, i.e. its weight is pinned at 0.
"""

from __future__ import annotations

import contextvars
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xbarmem.checks import as_real_array, check_count, check_type, checked_keywords, counted, shown
from xbarmem.errors import ConfigError, FileFormatError, warn
from xbarmem.files import (
    ArrayFile,
    as_path,
    missing,
    output_file,
    read_bytes,
    read_text,
    write_file,
    wrong_suffix,
)
from xbarmem.hardware.chip import (
    MAX_TILE_SIDE,
    ChipSpec,
    DeviceSpec,
    load_chip,
    load_preset,
    preset_names,
)
from xbarmem.hardware.units import (
    REAL_SIEMENS,
    reading_array,
    unit_disagreement,
    unit_mismatch,
    zero_offsets,
)
from xbarmem.jsontext import dumps, loads
from xbarmem.limits import check_bytes
from xbarmem.sizes import FAULT_MAP_BYTES_PER_DEVICE, fault_map_bytes
from xbarmem.spec import Maybe, Number, check_seed

#: set while a builder of :class:`FaultMap` makes one of an array of its own (:meth:`_own`)
_OWN: contextvars.ContextVar[bool] = contextvars.ContextVar("fault_map_owns", default=False)

PLANES = ("G+", "G-")
_CSV_HEADER = ["array", "plane", "row", "col", "g_stuck_S"]
#: a stuck device may read outside the programmable window (measured maps freeze devices at
#: what they read), but not by more than this many window widths above g_max
WINDOW_SLACK = 1.0


def _meta_json(meta: dict[str, Any]) -> str:
    """A fault map's ``meta`` as the strict JSON text its files hold (numpy scalars and arrays
    as numbers and lists, a non-finite number as null: :func:`xbarmem.jsontext.dumps`);
    ``TypeError`` for anything else JSON cannot hold."""
    return dumps(meta)


def chip_record(chip: ChipSpec) -> str | dict[str, Any]:
    """What a fault map's ``meta["chip"]`` records of the chip it was made for: a preset's
    name when ``chip`` is that preset unchanged, else the chip's whole description
    (:meth:`ChipSpec.to_dict`: a TOML chip, a preset with other rates or fault model)."""
    check_type(chip, ChipSpec, "chip", "a ChipSpec (load_chip or load_preset)")
    if chip.name in preset_names() and load_preset(chip.name) == chip:
        return chip.name
    return chip.to_dict()


def recorded_chip(meta: dict[str, Any]) -> ChipSpec | None:
    """The chip a fault map's ``meta`` records (:func:`chip_record`), or None when it records
    none or one that cannot be loaded again (a preset no longer shipped, a description this
    version refuses)."""
    record = meta.get("chip") if isinstance(meta, dict) else None
    try:
        if isinstance(record, str):
            return load_preset(record)
        if isinstance(record, dict):
            return ChipSpec.from_dict(record)
    except (ConfigError, FileFormatError):
        return None
    return None


#: the chip of a memory built without one, on a fault map that records none
DEFAULT_CHIP = "paper-sim"


def chip_for(chip: str | Path | ChipSpec | None, faults: Any = None) -> ChipSpec:
    """The chip of the Python API's entry points that take ``chip`` and ``faults``: ``chip``
    loaded (:func:`~xbarmem.hardware.chip.load_chip`); None: the chip the :class:`FaultMap`
    ``faults`` records (:func:`recorded_chip`), else :data:`DEFAULT_CHIP`."""
    if chip is None:
        recorded = recorded_chip(faults.meta) if isinstance(faults, FaultMap) else None
        return recorded if recorded is not None else load_chip(DEFAULT_CHIP)
    return load_chip(chip)


#: share of a window inside each edge where a stuck device counts as stuck OFF / ON (the
#: default thresholds of a conductance map's import, :func:`stuck_thresholds`)
EDGE_SHARE = 0.05


def _inside(g: np.ndarray, device: DeviceSpec) -> np.ndarray:
    """Where the conductances ``g`` lie inside ``device``'s window by more than
    :data:`EDGE_SHARE` of it: neither stuck OFF nor stuck ON there."""
    margin = EDGE_SHARE * device.g_range
    return (g > device.g_min + margin) & (g < device.g_max - margin)


def warn_other_chip(faults: Any, chip: ChipSpec, *, stacklevel: int = 2) -> None:
    """Warn (:class:`~xbarmem.errors.XbarmemWarning`; the same words from a command and from
    the API it calls, so that the command prints one line) when the
    :class:`FaultMap` ``faults`` records (``meta["chip"]``) a chip whose window differs from
    ``chip``'s by more than :data:`EDGE_SHARE` of ``chip``'s window at either edge, and some of
    its stuck devices, at an edge of the recorded window, lie inside ``chip``'s (a map made for
    another chip: those devices are held at that chip's conductances, neither stuck ON nor
    OFF on this one). Anything else (no map, no record) passes silently. ``stacklevel``: as
    :func:`~xbarmem.errors.warn`'s, counted from here."""
    made = recorded_chip(faults.meta) if isinstance(faults, FaultMap) else None
    if made is None:
        return
    dev, old = chip.device, made.device
    if max(abs(dev.g_min - old.g_min), abs(dev.g_max - old.g_max)) <= EDGE_SHARE * dev.g_range:
        return
    held = faults.g_stuck[faults.stuck & ~faults.pinned_mask]
    moved = int((_inside(held, dev) & ~_inside(held, old)).sum())
    if moved:
        warn(f"the fault map was made for the {made.name} chip (window [{old.g_min:.4g}, "
             f"{old.g_max:.4g}] S), not the {chip.name} chip ([{dev.g_min:.4g}, "
             f"{dev.g_max:.4g}] S): {counted(moved, 'stuck device')} at an edge of that window, "
             f"inside this one: neither stuck ON nor OFF here; use the chip the map was "
             f"made for, or a map drawn or imported for this chip", stacklevel=stacklevel)


def paired_chip(chip: str | Path | ChipSpec | None, faults: Any = None) -> ChipSpec:
    """:func:`chip_for`, then :func:`warn_other_chip` of ``faults`` on that chip: the chip of
    an entry point where a user pairs a chip and a fault map (``train``, ``find_capacity``)."""
    spec = chip_for(chip, faults)
    warn_other_chip(faults, spec, stacklevel=5)  # (the entry point's caller, past its wrapper)
    return spec


def highest_reading(device: DeviceSpec) -> float:
    """The largest conductance (siemens) a stuck or read-back device of ``device`` may show:
    ``g_max`` plus :data:`WINDOW_SLACK` window widths (fault maps, model files and imported
    maps refuse anything above)."""
    return device.g_max + WINDOW_SLACK * device.g_range


def _within_readings(threshold: float | None, name: str, device: DeviceSpec) -> float | None:
    """``threshold`` (siemens, or None), refused (:class:`ConfigError`) above
    :func:`highest_reading`, where no reading a map may hold falls: a value meant in
    microsiemens (``on_above = 95`` for 95 uS) took no device as stuck there."""
    high = highest_reading(device)
    if threshold is None or threshold <= high:
        return threshold
    # (the hint only where the value read in microsiemens is a conductance of the chip's
    # scale, within four decades below the highest reading: 1e-3 meant as 1 mS gets none)
    micro = (f"; {threshold:g} uS is {threshold * 1e-6:g} S"
             if high * 1e-4 <= threshold * 1e-6 <= high else "")
    raise ConfigError(f"{name} = {threshold:g} S is above every conductance the chip's map may "
                      f"hold (at most g_max + {WINDOW_SLACK:g} window width = {high:.4g} S): "
                      f"it is in siemens{micro}")


def stuck_thresholds(device: DeviceSpec, off_below: float | None = None,
                     on_above: float | None = None,
                     names: tuple[str, str] = ("off_below", "on_above")) -> tuple[float, float]:
    """``(lo, hi)`` (siemens) of a conductance map's import: a device reading below ``lo`` is
    stuck OFF, above ``hi`` stuck ON; ``off_below`` / ``on_above`` default to 5% of
    ``device``'s window inside g_min / g_max. Refuses (:class:`ConfigError`, naming the
    thresholds by ``names``: the Python keywords, or a command's options) a threshold that is
    not a number >= 0, one above :func:`highest_reading` and ``lo >= hi``."""
    off = _within_readings(_THRESHOLD(off_below, names[0]), names[0], device)
    on = _within_readings(_THRESHOLD(on_above, names[1]), names[1], device)
    margin = EDGE_SHARE * device.g_range
    lo = device.g_min + margin if off is None else off
    hi = device.g_max - margin if on is None else on
    if lo >= hi:
        raise ConfigError(f"{names[0]} ({lo:g} S) must be below {names[1]} ({hi:g} S)")
    return lo, hi


def check_size(n_arrays: int, rows: int, cols: int, *,
               per_device: int = FAULT_MAP_BYTES_PER_DEVICE, what: str = "a fault map",
               lower: str = "") -> None:
    """Refuse (:class:`~xbarmem.limits.TooLargeError`) a map of ``n_arrays`` arrays of
    ``rows x cols`` cells whose memory (:func:`xbarmem.sizes.fault_map_bytes`) is above the
    limit, before anything is allocated; ``lower``: what the caller may lower, in its words
    (:func:`~xbarmem.limits.check_bytes`)."""
    check_bytes(f"{what} of {counted(n_arrays, 'array')} of {rows}x{cols} cells",
                fault_map_bytes(n_arrays, rows, cols, per_device), lower=lower)


def check_input_size(a: Any, what: str) -> None:
    """Refuse (:func:`check_size`) a fault map to be built from the array (or tensor) ``a`` of
    shape ``(n_arrays, 2, rows, cols)`` or ``(2, rows, cols)`` before its values are converted
    (nested lists, without a shape, are sized once converted; other shapes are left to
    :func:`_as_4d`)."""
    shape = tuple(getattr(a, "shape", ()))
    if len(shape) in (3, 4):
        check_size(1 if len(shape) == 3 else int(shape[0]), int(shape[-2]), int(shape[-1]),
                   what=f"{what}: a fault map")


#: a read-back tolerance (siemens) and a stuck-device threshold of a conductance map
_TOLERANCE = Number(gt=0.0, unit="S")
_THRESHOLD = Maybe(Number(unit="S"))


@checked_keywords
@dataclass
class FaultMap:
    """Stuck devices of a chip.

    Attributes:
        g_stuck: float64 ``(n_arrays, 2, rows, cols)``; siemens for stuck devices, NaN if free.
        meta: provenance (generator seed, rates, fault model, source file, ...), JSON-able.
        pinned: bool ``(n_arrays, 2, rows, cols)`` (None: all False): devices of ``g_stuck``
            that are not broken but *pinned* at a read value by chip-in-the-loop adaptation
            (they missed their target by more than its tolerance; kept out of
            re-programming as stuck devices are, and told apart from them in summaries,
            files and exports).

    ``g_stuck`` and ``pinned`` are copies of the arrays given (a caller who then writes to
    theirs changes no map). Construction raises :class:`FileFormatError` for another shape,
    float16 conductances (too few digits for siemens), a negative or infinite conductance,
    ``meta`` that is not a dict of JSON data, or ``pinned`` of another shape or marking a free
    device.
    """

    g_stuck: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    pinned: np.ndarray | None = None

    def __post_init__(self) -> None:
        g = np.asarray(self.g_stuck)
        if g.dtype.kind not in "fiu":
            raise FileFormatError(f"fault map conductances must be real numbers, got {g.dtype}")
        if g.dtype.kind == "f" and g.dtype.itemsize < 4:  # (a map saved or built as float16)
            raise FileFormatError(f"fault map g_stuck must hold {REAL_SIEMENS}, got "
                                  f"{g.dtype} (3 significant digits or fewer: 2e-06 S is held "
                                  f"as 2.026e-06 S)")
        # its own copy, never the caller's array; an array the map's builders made: itself
        g = g.astype(np.float64, copy=False) if _OWN.get() else np.array(g, dtype=np.float64)
        if not isinstance(self.meta, dict):
            raise FileFormatError(f"fault map meta must be a JSON object, got "
                                  f"{type(self.meta).__name__}")
        try:  # as save() writes it: refused now, not by a TypeError when saved
            _meta_json(self.meta)
        except (TypeError, ValueError) as exc:
            raise FileFormatError(f"fault map meta must hold JSON data only ({exc})") from None
        if g.ndim != 4 or g.shape[1] != 2 or 0 in g.shape:
            raise FileFormatError(
                f"fault map must have shape (n_arrays, 2, rows, cols), got {g.shape}")
        if np.isinf(g).any() or (g[~np.isnan(g)] < 0).any():
            raise FileFormatError("fault map conductances must be finite and >= 0 siemens"
                                  + codes_hint(g))
        self.g_stuck = g
        self.pinned = self._checked_pinned(self.pinned)

    @classmethod
    def _own(cls, g: np.ndarray, meta: dict[str, Any], pinned: Any = None) -> FaultMap:
        """A map holding ``g`` itself: an array made by a builder of this class (drawn, read
        from a file, derived from readings), held by no caller, so not copied (a copy added
        a second map to the peak that the memory check sizes)."""
        token = _OWN.set(True)
        try:
            return cls(g, meta, pinned)
        finally:
            _OWN.reset(token)

    def _checked_pinned(self, pinned: Any) -> np.ndarray:
        """``pinned`` as a bool array of the map's shape (None: none pinned, as is a mask
        pinning none of another shape -- ``dataclasses.replace(fault_map, g_stuck=...)``
        copies the resolved all-False mask); every pinned device is held at a conductance
        (:class:`FileFormatError` otherwise)."""
        mask = None if pinned is None else np.asarray(pinned)
        if mask is None or (mask.dtype.kind in "biuf" and mask.shape != self.g_stuck.shape
                            and not mask.any()):  # none pinned: a copy's of another shape too
            return np.zeros(self.g_stuck.shape, dtype=bool)
        if mask.shape != self.g_stuck.shape or mask.dtype.kind not in "biuf" or not np.isin(
                mask, (0, 1)).all():
            raise FileFormatError(f"fault map pinned must be a 0/1 (bool) array of the map's "
                                  f"shape {self.g_stuck.shape}, got {mask.dtype} "
                                  f"{mask.shape}")
        mask = mask.astype(bool)
        if (mask & np.isnan(self.g_stuck)).any():
            raise FileFormatError("fault map pinned marks a free device (NaN in g_stuck): a "
                                  "pinned device is held at its read conductance")
        return mask

    def __eq__(self, other: object) -> bool:
        """Equal maps: the same stuck devices at the same conductances (free devices, NaN,
        match each other) and the same ``meta``; a copy (``copy.deepcopy``) equals its
        original."""
        if not isinstance(other, FaultMap):
            return NotImplemented
        return (self.g_stuck.shape == other.g_stuck.shape and self.meta == other.meta
                and bool(np.array_equal(self.g_stuck, other.g_stuck, equal_nan=True))
                and bool(np.array_equal(self.pinned_mask, other.pinned_mask)))

    __hash__ = None  # type: ignore[assignment]  # mutable (as the dataclass was)

    def __repr__(self) -> str:
        """``FaultMap(arrays=2, rows=64, cols=64, stuck=2458 of 16384 devices (15.0%),
        source='generated', seed=0)``: shape, counts and provenance, not every conductance."""
        pinned = self.pinned_count
        stuck, total = int(self.stuck.sum()) - pinned, self.g_stuck.size
        rows, cols = self.array_shape
        meta = "".join(f", {key}={self.meta[key]!r}" for key in ("source", "seed", "file")
                       if key in self.meta)
        held = f", pinned={pinned}" if pinned else ""
        return (f"FaultMap(arrays={self.n_arrays}, rows={rows}, cols={cols}, stuck={stuck} of "
                f"{total} devices ({100 * stuck / total:.1f}%){held}{meta})")

    # ----------------------------------------------------------------- shape and summaries
    @property
    def n_arrays(self) -> int:
        """Number of arrays (tiles) the map covers."""
        return self.g_stuck.shape[0]

    @property
    def array_shape(self) -> tuple[int, int]:
        """``(rows, cols)`` of one array."""
        return self.g_stuck.shape[2], self.g_stuck.shape[3]

    @property
    def stuck(self) -> np.ndarray:
        """Boolean ``(n_arrays, 2, rows, cols)``: True where a device is held at a
        conductance (stuck, or :attr:`pinned`): the devices training and programming leave."""
        return ~np.isnan(self.g_stuck)

    @property
    def pinned_mask(self) -> np.ndarray:
        """:attr:`pinned` as a bool array of the map's shape (all False when there are none)."""
        if self.pinned is None:
            return np.zeros(self.g_stuck.shape, dtype=bool)
        return self.pinned

    @property
    def pinned_count(self) -> int:
        """How many devices are :attr:`pinned` (not broken: held at a read value)."""
        return int(self.pinned_mask.sum())

    def check_window(self, device: DeviceSpec, where: str = "fault map") -> FaultMap:
        """Refuse (:class:`FileFormatError`, the message starting with ``where``) a map with a
        device stuck above ``g_max`` plus :data:`WINDOW_SLACK` window widths of ``device``
        (values are already finite and >= 0), naming the unit its stuck values fit when they
        look written in another one (:func:`~xbarmem.hardware.units.unit_mismatch`:
        microsiemens), else asking whether the device is shorted. Returns the map."""
        check_type(device, DeviceSpec, "device", "a DeviceSpec (chip.device)")
        high = highest_reading(device)
        over = np.nan_to_num(self.g_stuck, nan=0.0) > high
        if over.any():
            a, p, i, j = (int(v) for v in np.argwhere(over)[0])
            unit = unit_mismatch(self.g_stuck[self.stuck], device, held_up_to=high)
            raise FileFormatError(
                f"{where}: device (array {a}, {PLANES[p]}, row {i}, col {j}) is stuck at "
                f"{self.g_stuck[a, p, i, j]:.4g} S, far above the chip window [{device.g_min:.4g}, "
                f"{device.g_max:.4g}] S ({counted(int(over.sum()), 'such device')}; at most "
                f"g_max + {WINDOW_SLACK:g} window width = {high:.4g} S)"
                + (codes_hint(self.g_stuck) or
                   (f", and {unit}: a fault map holds siemens, convert it" if unit is not None
                    else f"; shorted? give such a device g_max ({device.g_max:.4g} S), stuck "
                         f"ON")))
        return self

    def check_chip(self, chip: ChipSpec, where: str = "fault map") -> FaultMap:
        """Refuse a map made for another ``chip`` (messages start with ``where``):
        :class:`ConfigError` when its arrays are not the chip's ``rows x cols`` (a map of other
        arrays, or a transposed one); then
        :meth:`check_window` (:class:`FileFormatError`); then :class:`ConfigError` when the
        chip's fault model is ``weight`` (a faulty pair is a weight pinned at 0, both devices
        stuck at one conductance) and some pair has only one device stuck, or two stuck at
        different conductances (a per-device map, e.g. measured).
        Returns the map."""
        check_type(chip, ChipSpec, "chip", "a ChipSpec (load_chip or load_preset)")
        arr = chip.array
        if self.array_shape != (arr.rows, arr.cols):
            rows, cols = self.array_shape
            edit = (f"what 'xbarmem chip show {chip.name}' prints"
                    if chip.name in preset_names() else "the chip's own TOML file")
            raise ConfigError(f"{where}: arrays of {rows}x{cols} cells, but the {chip.name} "
                              f"chip's arrays are {arr.rows}x{arr.cols} (rows x cols); a map "
                              f"of another chip, or transposed? A chip of {rows}x{cols} arrays "
                              f"is a chip TOML with rows = {rows} and cols = {cols} in [array] "
                              f"(edit {edit}; Python: "
                              f"chip.replace_array(rows={rows}, cols={cols}))")
        self.check_window(chip.device, where)
        if arr.fault_model != "weight":
            return self
        stuck = self.stuck
        # a faulty pair is a weight pinned at 0: both devices stuck, at one conductance (a
        # pair stuck at g_max and g_min held w_max where training and bounds() took 0)
        half = stuck.any(axis=1) & ~stuck.all(axis=1) | (
            stuck.all(axis=1) & (self.g_stuck[:, 0] != self.g_stuck[:, 1]))
        if half.any():
            a, i, j = (int(v) for v in np.argwhere(half)[0])
            raise ConfigError(
                f"{where}: {counted(int(half.sum()), 'pair')} with a single stuck device or "
                f"two stuck at different conductances (first: array "
                f"{a}, row {i}, col {j}), a per-device map, but the {chip.name} chip uses the "
                f"weight fault model (a faulty pair is a weight of 0: both devices stuck at "
                f"one conductance); use a chip with fault_model = device (e.g. --chip rram)")
        return self

    def summary(self, device: DeviceSpec | None = None) -> dict[str, Any]:
        """The map's size, its stuck devices (count and fraction) and the fractions of pairs
        with one or both devices stuck (keys ending ``_fraction``: shares of all devices or
        pairs, between 0 and 1); with ``device``, the stuck devices' ON / OFF split (counts).
        Devices :attr:`pinned` by adaptation are not stuck: counted apart (``pinned``,
        ``pinned_fraction``) when there are any."""
        if device is not None:
            check_type(device, DeviceSpec, "device", "a DeviceSpec (chip.device) or None")
        stuck = self.stuck & ~self.pinned_mask
        out: dict[str, Any] = {
            "arrays": self.n_arrays, "rows": self.array_shape[0], "cols": self.array_shape[1],
            "devices": int(stuck.size), "stuck": int(stuck.sum()),
            "stuck_fraction": float(stuck.mean()),
            "pairs_with_a_stuck_device_fraction": float(stuck.any(axis=1).mean()),
            "pairs_fully_stuck_fraction": float(stuck.all(axis=1).mean()),
        }
        if device is not None:
            mid = 0.5 * (device.g_min + device.g_max)
            g = self.g_stuck[stuck]
            out["stuck_on"] = int((g >= mid).sum())
            out["stuck_off"] = int((g < mid).sum())
        if self.pinned_count:
            out["pinned"] = self.pinned_count
            out["pinned_fraction"] = float(self.pinned_mask.mean())
        return out

    # ----------------------------------------------------------------- construction
    @classmethod
    @checked_keywords
    def empty(cls, n_arrays: int, rows: int, cols: int) -> FaultMap:
        """A map with no stuck device: ``n_arrays`` arrays of ``rows x cols`` pairs.
        :class:`ConfigError` unless each is an integer >= 1."""
        n_arrays = check_count(n_arrays, "n_arrays")
        rows, cols = check_count(rows, "rows"), check_count(cols, "cols")
        check_size(n_arrays, rows, cols, per_device=8)
        return cls._own(np.full((n_arrays, 2, rows, cols), np.nan), {"source": "empty"})

    @classmethod
    @checked_keywords
    def generate(cls, chip: ChipSpec, n_arrays: int, seed: int = 0) -> FaultMap:
        """Draw faults for ``n_arrays`` arrays of ``chip`` (a :class:`ChipSpec`: its array
        size, fault model and rates) from ``seed``.

        ``device`` model: each device independently stuck ON (at g_max) with p_stuck_on, OFF (at
        g_min) with p_stuck_off. ``weight`` model: each pair faulty with p_stuck_on + p_stuck_off,
        and a faulty pair has both devices at g_min (weight pinned at 0). ``meta`` records
        the seed, rates and ``chip`` (:func:`chip_record`). :class:`ConfigError`
        for a bad count or seed, :class:`~xbarmem.errors.ArgumentError` for a ``chip`` that
        is no ``ChipSpec``.
        """
        if isinstance(n_arrays, bool) or not isinstance(n_arrays, (int, np.integer)) \
                or n_arrays < 1:
            raise ConfigError(f"n_arrays must be an integer >= 1, got {shown(n_arrays)}")
        seed = check_seed(seed)
        check_type(chip, ChipSpec, "chip", "a ChipSpec (load_chip or load_preset)")
        dev, arr = chip.device, chip.array
        check_size(n_arrays, arr.rows, arr.cols)
        rng = np.random.default_rng(seed)
        shape = (n_arrays, 2, arr.rows, arr.cols)
        g = np.full(shape, np.nan)
        if arr.fault_model == "device":
            u = rng.random(shape)
            g[u < dev.p_stuck_on] = dev.g_max
            g[(u >= dev.p_stuck_on) & (u < dev.fault_rate)] = dev.g_min
        else:
            faulty = rng.random((n_arrays, arr.rows, arr.cols)) < dev.fault_rate
            g[:, 0][faulty] = dev.g_min
            g[:, 1][faulty] = dev.g_min
        meta = {"source": "generated", "seed": int(seed), "fault_model": arr.fault_model,
                "p_stuck_on": dev.p_stuck_on, "p_stuck_off": dev.p_stuck_off,
                "chip": chip_record(chip)}
        return cls._own(g, meta)

    @classmethod
    @checked_keywords
    def from_codes(cls, codes: np.ndarray, device: DeviceSpec) -> FaultMap:
        """From a measured state map: 0 free, +1 stuck ON (g_max), -1 stuck OFF (g_min).

        ``codes`` has shape ``(n_arrays, 2, rows, cols)`` or ``(2, rows, cols)`` for one array;
        the stuck values come from ``device`` (a :class:`DeviceSpec`). Other shapes or codes,
        and a bool mask (which devices are stuck, not at what), raise
        :class:`FileFormatError`.
        """
        check_type(device, DeviceSpec, "device", "a DeviceSpec (chip.device)")
        check_input_size(codes, "fault codes")
        c = _as_4d(as_real_array(codes, "fault codes", error=FileFormatError, dtype=None),
                   "fault codes")
        if c.dtype == np.bool_:  # True read as +1 made every stuck device stuck ON
            raise FileFormatError(
                f"fault codes are true/false ({int(c.sum())} true): a mask says which devices "
                f"are stuck, not at what; give integers, +1 stuck ON (g_max), -1 stuck OFF "
                f"(g_min), 0 free")
        bad = ~np.isin(c, (-1, 0, 1))
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise FileFormatError(f"fault codes must be -1, 0 or +1; found {c[idx]:g} at "
                                  f"{cell_text(idx)} ({counted(int(bad.sum()), 'such value')})"
                                  f"{_conductance_hint(c[bad])}")
        g = np.where(c > 0, device.g_max, np.where(c < 0, device.g_min, np.nan))
        if (c != 0).mean() > MOST_STUCK:
            warn(_most_stuck_codes(c), stacklevel=3)
        return cls._own(g, {"source": "codes"})

    @classmethod
    @checked_keywords
    def from_readback(cls, g_read: np.ndarray, g_target: np.ndarray, tolerance: float,
                      device: DeviceSpec) -> FaultMap:
        """From a program-and-read-back test: a device whose read conductance ``g_read``
        (siemens) misses its target ``g_target`` by more than ``tolerance`` siemens is stuck at
        what it reads (``device``: a :class:`DeviceSpec`). Both maps, of one shape
        ``(n_arrays, 2, rows, cols)`` or ``(2, rows, cols)``, are
        float32 or float64 (:func:`~xbarmem.hardware.units.reading_array`) and checked by
        :func:`_check_readings` (every value finite; a reading below 0 S within an
        instrument's offset taken as 0 S with a warning, further below refused; a target
        below 0 S refused; not their unit against ``device``'s window: a measured chip's
        window comes from its data), and refused when not in one unit
        (:func:`~xbarmem.hardware.units.unit_disagreement`: readings that fall as the targets
        rise, or a median of read / target beyond a factor of 100)."""
        check_type(device, DeviceSpec, "device", "a DeviceSpec (chip.device)")
        tolerance = _TOLERANCE(tolerance, "tolerance")
        check_input_size(g_read, "read-back conductance map")
        what = "read-back conductance map"
        read = _as_4d(reading_array(g_read, what, error=FileFormatError), what)
        target = _as_4d(reading_array(g_target, "target conductance map",
                                      error=FileFormatError), "target conductance map")
        if read.shape != target.shape:
            raise FileFormatError(f"read-back map {read.shape} and targets {target.shape} differ")
        read, offsets = _check_readings(read, what)
        _check_readings(target, "target conductance map", offsets=False)
        _check_same_unit(read, target)
        if tolerance <= 0:
            raise ConfigError(f"tolerance must be > 0 siemens, got {tolerance}")
        stuck = np.abs(read - target) > tolerance
        g = np.where(stuck, read, np.nan)
        made = cls._own(g, {"source": "readback", "tolerance_S": float(tolerance)})
        if offsets is not None:
            warn(offsets, stacklevel=3)
        return made

    @classmethod
    @checked_keywords
    def from_conductance_map(cls, g_read: np.ndarray, device: DeviceSpec,
                             off_below: float | None = None,
                             on_above: float | None = None) -> FaultMap:
        """From a read-back conductance map ``g_read`` (siemens, ``(n_arrays, 2, rows, cols)`` or
        ``(2, rows, cols)``) after trying to move every device of ``device``'s window away from
        the extremes: a device reading below ``off_below`` is stuck OFF, above ``on_above`` stuck
        ON, at the conductance it reads. Defaults: 5% of the window inside g_min / g_max; a
        threshold above :func:`highest_reading` (siemens: no reading lies there) raises
        :class:`ConfigError`. The map must be float32 or float64
        (:func:`~xbarmem.hardware.units.reading_array`) and is checked by
        :func:`_check_readings` (every value finite, in siemens; a reading below 0 S within
        an instrument's offset, :func:`~xbarmem.hardware.units.zero_offsets`, taken as 0 S
        with a warning, further below refused)."""
        check_type(device, DeviceSpec, "device", "a DeviceSpec (chip.device)")
        lo, hi = stuck_thresholds(device, off_below, on_above)
        check_input_size(g_read, "conductance map")
        read = _as_4d(reading_array(g_read, "conductance map", error=FileFormatError,
                                    device=device), "conductance map")
        read, offsets = _check_readings(read, "conductance map", device)
        stuck = (read < lo) | (read > hi)
        if stuck.mean() > MOST_STUCK:
            warn(_most_stuck(stuck, lo, hi, device), stacklevel=3)
        _check_repeated_reads(read, stuck, "conductance map")
        g = np.where(stuck, read, np.nan)
        made = cls._own(g, {"source": "conductance-map", "off_below_S": lo, "on_above_S": hi}
                   ).check_window(device, "conductance map")
        if offsets is not None:  # once the map is accepted: one line, not a warning and a refusal
            warn(offsets, stacklevel=3)
        return made

    # ----------------------------------------------------------------- files
    def save(self, path: str | Path) -> Path:
        """Write ``.npz`` (array + JSON meta) or ``.csv`` (one row per stuck device) to ``path``
        and return it (the suffix in any case: ``.NPZ`` too); a path that cannot be written is
        refused first (:func:`~xbarmem.files.output_file`), another suffix raises
        :class:`FileFormatError`."""
        path = output_file(path, "fault map")
        suffix = path.suffix.lower()  # (Q.NPZ too, as every file the command line writes)
        if suffix == ".npz":
            buffer = io.BytesIO()
            pins = {"pinned": self.pinned_mask} if self.pinned_count else {}
            np.savez_compressed(buffer, g_stuck=self.g_stuck,
                                meta=np.array(_meta_json(self.meta)), **pins)  # type: ignore[arg-type]
            write_file(path, buffer.getvalue())
        elif suffix == ".csv":
            buf = io.StringIO()
            n, _, r, c = self.g_stuck.shape
            buf.write(f"# xbarmem fault map: arrays={n} rows={r} cols={c} "
                      f"meta={_meta_json(self.meta)}\n")
            writer = csv.writer(buf, lineterminator="\n")
            with_pins = bool(self.pinned_count)  # a pinned column only where there are some
            mask = self.pinned_mask
            writer.writerow(_CSV_HEADER + ["pinned"] * with_pins)
            for a, p, i, j in np.argwhere(self.stuck):
                writer.writerow([a, PLANES[p], i, j, repr(float(self.g_stuck[a, p, i, j]))]
                                + [int(mask[a, p, i, j])] * with_pins)
            write_file(path, buf.getvalue())
        else:
            raise FileFormatError(wrong_suffix(path, "fault map file", ".npz or .csv"))
        return path

    @classmethod
    @checked_keywords
    def load(cls, path: str | Path, device: DeviceSpec | None = None) -> FaultMap:
        """Read the map at ``path`` written by :meth:`save` (never unpickles); with ``device``,
        also :meth:`check_window`. Every problem raises :class:`FileFormatError` naming the file,
        as does a file without provenance (no ``meta``) of no free device: every device -1, 0
        or +1 (stuck codes or a 0/1 mask, not siemens with NaN for a free device), or a reading
        of every device (a measured conductance map saved as ``g_stuck``); a map above the
        memory limit raises :class:`~xbarmem.limits.TooLargeError`."""
        path = as_path(path)
        if device is not None:
            check_type(device, DeviceSpec, "device", "a DeviceSpec (chip.device) or None")
        if not path.exists():
            raise FileFormatError(missing(path, "fault map file"))
        if path.suffix.lower() == ".npz":
            fmap = cls._load_npz(path)
        elif path.suffix.lower() == ".csv":
            fmap = cls._load_csv(path)
        else:
            raise FileFormatError(wrong_suffix(path, "fault map file", ".npz or .csv")
                                  + MEASURED_HINT)
        if not set(fmap.meta) - {"file"} and fmap.stuck.all():  # (no provenance)
            raise FileFormatError(f"{path}: no device of the map is free (NaN)"
                                  f"{codes_hint(fmap.g_stuck) or READINGS_HINT}")
        return fmap if device is None else fmap.check_window(device, str(path))

    @classmethod
    def _load_npz(cls, path: Path) -> FaultMap:
        raw = read_bytes(path, "fault map file")
        try:
            arrays = ArrayFile(raw, str(path))
        except FileFormatError as exc:
            raise FileFormatError(f"unreadable fault map: {exc}") from None
        if "g_stuck" not in arrays.names:
            raise FileFormatError(f"{path}: not an xbarmem fault map (no 'g_stuck' array; "
                                  f"arrays {arrays.names}){MEASURED_HINT}")
        meta: Any = {}
        if "meta" in arrays.names:
            text = arrays.array("meta")
            try:
                meta = loads(str(text)) if text.dtype.kind == "U" else None
            except ValueError:
                meta = None
            if not isinstance(meta, dict):
                raise FileFormatError(f"{path}: 'meta' must hold a JSON object")
        g = arrays.array("g_stuck")
        check_input_size(g, str(path))  # the map's working copies, once its shape is known
        try:
            return cls._own(g, meta, arrays.array("pinned") if "pinned" in arrays.names else None)
        except FileFormatError as exc:
            raise FileFormatError(f"{path}: {exc}") from None

    @classmethod
    def _load_csv(cls, path: Path) -> FaultMap:
        lines = read_text(path, "fault map file", expand=10.0).splitlines()
        n, r, c, meta = _csv_header(path, lines)
        header = lines[1].strip().split(",") if len(lines) > 1 else []
        if header not in (_CSV_HEADER, [*_CSV_HEADER, "pinned"]):
            raise FileFormatError(f"{path}: line 2 must be {','.join(_CSV_HEADER)} (and "
                                  f"pinned, 0/1, where adaptation pinned devices)")
        check_size(n, r, c, what=f"{path}: a fault map")
        g = np.full((n, 2, r, c), np.nan)
        pinned = np.zeros(g.shape, dtype=bool)
        given: dict[tuple[int, int, int, int], int] = {}
        for lineno, row in enumerate(csv.reader(lines[2:]), start=3):
            if row:
                if len(row) != len(header):
                    raise FileFormatError(f"{path}: line {lineno}: {len(row)} fields, the "
                                          f"header has {len(header)} ({','.join(header)})")
                flag = len(header) > len(_CSV_HEADER) and _csv_pinned(path, lineno, row)
                a, p, i, j, value = _csv_row(path, lineno, row[:len(_CSV_HEADER)], (n, r, c))
                if (a, p, i, j) in given:
                    raise FileFormatError(
                        f"{path}: line {lineno}: device ({cell_text((a, p, i, j))}) already "
                        f"given on line {given[a, p, i, j]}; one line per stuck device")
                given[a, p, i, j] = lineno
                g[a, p, i, j], pinned[a, p, i, j] = value, flag
        meta.setdefault("file", str(path))  # an imported map keeps its measurement's name
        return cls._own(g, meta, pinned)


#: what a refusal to read a file as a fault map adds: measured data is imported first
MEASURED_HINT = ("; measured data (stuck codes or conductances in .npy/.npz, or a "
                 "target-vs-read .csv) becomes a fault map with 'xbarmem chip import FILE "
                 "--out MAP.npz' (conductances: add --as conductance; Python: "
                 "FaultMap.from_codes or from_conductance_map)")


#: what a refusal of a fault map file without provenance and no free device adds when it
#: does not hold codes: a measured map of every device's reading, saved as a fault map
READINGS_HINT = ("; every device holds a conductance, as a measured map of readings does, but "
                 "a fault map's g_stuck holds the conductance (siemens) of each stuck device "
                 "and NaN for a free one: readings become a map with 'xbarmem chip import "
                 "FILE --as conductance --out MAP.npz' (Python: "
                 "FaultMap.from_conductance_map(g, chip.device))")


#: the arrays of a fault map's ``.npz`` (:meth:`FaultMap.save`; ``pinned`` only with pins)
FAULT_MAP_ARRAYS = frozenset({"g_stuck", "meta"})


def refuse_fault_map_file(names: list[str], where: str, reads: str, hint: str) -> None:
    """Refuse (:class:`FileFormatError`) an ``.npz`` whose arrays (``names``) are a fault
    map's, given where measured data is read (``reads`` names it, ``hint`` says what to do):
    its ``g_stuck`` holds NaN for every free device, which reads as devices without a
    reading, and its ``meta`` is no array of numbers."""
    if FAULT_MAP_ARRAYS <= set(names) <= FAULT_MAP_ARRAYS | {"pinned"}:
        raise FileFormatError(f"{where} is a fault map (an export's fault_map.npz, or what "
                              f"chip import writes), not {reads}: {hint}")


def _csv_header(path: Path, lines: list[str]) -> tuple[int, int, int, dict[str, Any]]:
    """``(arrays, rows, cols, meta)`` from line 1 of a fault-map CSV, each checked."""
    if not lines or not lines[0].startswith("# xbarmem fault map:"):
        raise FileFormatError(f"{path}: line 1 must be the '# xbarmem fault map: arrays=.. "
                              f"rows=.. cols=..' header{MEASURED_HINT}")
    head = dict(tok.split("=", 1) for tok in lines[0].split()[4:7] if "=" in tok)
    try:
        n, r, c = int(head["arrays"]), int(head["rows"]), int(head["cols"])
        meta_text = lines[0].split("meta=", 1)[1] if "meta=" in lines[0] else "{}"
        meta = loads(meta_text)
    except (KeyError, ValueError) as exc:
        raise FileFormatError(f"{path}: line 1: bad header ({exc})") from exc
    if n < 1 or not 1 <= r <= MAX_TILE_SIDE or not 1 <= c <= MAX_TILE_SIDE:
        raise FileFormatError(f"{path}: line 1: arrays must be >= 1 and rows, cols in "
                              f"1..{MAX_TILE_SIDE}; got arrays={n} rows={r} cols={c}")
    if not isinstance(meta, dict):
        raise FileFormatError(f"{path}: line 1: meta must be a JSON object")
    return n, r, c, meta


def _csv_pinned(path: Path, lineno: int, row: list[str]) -> bool:
    """The last field, ``pinned`` (0/1), of a row of a fault-map CSV with that column."""
    if row[-1].strip() not in ("0", "1"):
        raise FileFormatError(f"{path}: line {lineno}: pinned {row[-1]!r} must be 0 or 1")
    return row[-1].strip() == "1"


def _csv_row(path: Path, lineno: int, row: list[str], shape: tuple[int, int, int]
             ) -> tuple[int, int, int, int, float]:
    """One stuck device ``(array, plane, row, col, siemens)`` from the five fields of a line:
    integer indices inside the header's sizes (no negative index wraps), a plane ``G+`` or
    ``G-`` (any case), a finite conductance >= 0; each refusal names the line and column."""
    where = f"{path}: line {lineno}, column"
    indices = []
    for name, text, size in zip(("array", "row", "col"), (row[0], row[2], row[3]), shape,
                                strict=True):
        try:
            index = int(text)
        except ValueError:
            raise FileFormatError(f"{where} {name!r}: {text!r} is not an integer") from None
        if not 0 <= index < size:
            raise FileFormatError(f"{where} {name!r}: {index} outside 0..{size - 1}")
        indices.append(index)
    plane = row[1].strip().upper()
    if plane not in PLANES:
        raise FileFormatError(f"{where} 'plane': {row[1]!r} is not {' or '.join(PLANES)}")
    try:
        value = float(row[4])
    except ValueError:
        raise FileFormatError(f"{where} 'g_stuck_S': {row[4]!r} is not a number") from None
    if not np.isfinite(value) or value < 0:
        raise FileFormatError(f"{path}: line {lineno}: stuck conductance {row[4]!r} must be a "
                              "finite number >= 0 siemens")
    return indices[0], PLANES.index(plane), indices[1], indices[2], value


def codes_hint(g: np.ndarray) -> str:
    """What a refusal of a fault map's ``g_stuck`` adds when it holds stuck codes or a 0/1
    mask instead of siemens (no NaN, every value -1, 0 or +1: each device a code, where a map
    holds a conductance for a stuck device and NaN for a free one); else ``""``."""
    if g.size == 0 or np.isnan(g).any() or not np.isin(g, (-1.0, 0.0, 1.0)).all():
        return ""
    return ("; it holds only -1, 0 and +1 and no NaN, as stuck codes or a 0/1 mask do, but a "
            "fault map's g_stuck holds the conductance (siemens) of each stuck device and NaN "
            "for a free one: stuck codes (0 free, +1 ON, -1 OFF) become a map with 'xbarmem "
            "chip import FILE --out MAP.npz' (Python: FaultMap.from_codes(codes, chip.device))")


#: what ``faults=`` of the API takes, as a refusal of anything else names it (a measured array
#: given as it is read, a numpy array, is told how to make one)
FAULTS_TAKEN = ("a FaultMap (FaultMap.generate, FaultMap.load; a measured array: "
                "FaultMap.from_conductance_map(g, chip.device) or FaultMap.from_codes)")

#: what a refusal of a map or read-back whose G+/G- axis is last says to do
PLANES_LAST = "move it before the rows and cols (np.moveaxis(a, -1, -3))"


def stacked_reads(given: tuple[int, ...], layout: tuple[int, ...]) -> str | None:
    """What a refusal of a measured array of shape ``given`` says when it is ``layout``
    (``(n_arrays, 2, rows, cols)``, or ``(2, rows, cols)``) with one axis more in front: of
    2 or more reads, a stack of repeated reads, of which one reading per device is taken,
    their mean; of 1, an axis to drop; else None."""
    if len(given) != len(layout) + 1 or given[0] < 1 or tuple(given[1:]) != tuple(layout):
        return None
    if given[0] == 1:
        return f"an axis of size 1 in front of {tuple(layout)}: drop it (a[0])"
    return (f"{given[0]} reads of every device stacked? one reading per device is read: give "
            "their mean over the reads' axis (np.mean(a, axis=0))")


def _as_4d(a: np.ndarray, what: str) -> np.ndarray:
    """``a`` as ``(n_arrays, 2, rows, cols)`` (a 3-D ``(2, rows, cols)`` is one array);
    :class:`FileFormatError` naming the expected axes and the shape given otherwise."""
    given = tuple(a.shape)
    if a.ndim == 3:
        a = a[None]
    if a.ndim != 4 or a.shape[1] != 2:
        hint = ("one plane of devices; stack the G+ and G- planes of the pairs as "
                "(2, rows, cols), or save both in one .npz and read them with the key "
                "PLUS,MINUS (their two names)" if a.ndim == 2 else
                f"{counted(given[0], 'plane')} of devices, not the G+ and G- planes of pairs; "
                f"stack each array's two as (n_arrays, 2, rows, cols), or save the G+ and the "
                f"G- planes in one .npz and read them with the key PLUS,MINUS (their two names)"
                if len(given) == 3 and given[-1] != 2 else
                f"its axis of size 2 is last; {PLANES_LAST}" if a.ndim == 4 and a.shape[-1] == 2
                else stacked_reads(given, given[1:]) if a.ndim == 5 and given[2] == 2
                else None)
        raise FileFormatError(f"{what} must have shape (2, rows, cols) or "
                              f"(n_arrays, 2, rows, cols), the axis of size 2 holding the G+ "
                              f"and G- device of each pair; got {given}"
                              + (f": {hint}" if hint else ""))
    return a


#: more distinct values than this outside the stuck codes read as a measurement, not codes
CODE_KINDS = 3


def _conductance_hint(bad: np.ndarray) -> str:
    """What a refusal of values ``bad`` read as fault codes adds when they look like
    conductances: fractional values (siemens), or more than :data:`CODE_KINDS` distinct ones
    (a read-back in microsiemens rounded to whole numbers; a code of another convention, such
    as 2, has few)."""
    finite = bad[np.isfinite(bad)]
    if finite.size == 0 and np.isnan(bad).all():
        return ("; NaN marks a free device in a fault map's g_stuck, but a free device's code "
                "is 0: give 0 for it (np.nan_to_num(codes))")
    if np.any(np.mod(finite, 1) != 0):
        return "; fractional values look like conductances (CLI: --as conductance)"
    kinds = np.unique(finite).size
    if kinds > CODE_KINDS:
        return f"; {kinds} distinct values look like conductances (CLI: --as conductance)"
    return ""


#: a conductance map of more than this share of its devices outside the stuck thresholds is
#: warned about: a map read before programming every device away from the rails, or a
#: read-back of programmed weights (a free pair holds its weight with one device at g_min)
MOST_STUCK = 0.5


def _most_stuck(stuck: np.ndarray, lo: float, hi: float, device: DeviceSpec) -> str:
    """The warning of a conductance map whose ``stuck`` devices (bool, its shape) are more
    than :data:`MOST_STUCK` of them, outside ``[lo, hi]`` (siemens) of ``device``: how many,
    and what such a map usually is."""
    if device.levels == 2:
        why = ("a chip of 2 levels (g_min, g_max) has no state away from them: import a "
               "target-vs-read CSV (its export's devices.csv with a read_uS column) instead")
    else:
        why = ("a map read before its devices were moved away from the window's extremes "
               "(e.g. programmed to mid-window)?")
        pairs = stuck.any(axis=1).mean()
        if not stuck.all() and pairs > 0.9:
            why = (f"{why} Or a read-back of programmed weights ({pairs:.0%} of the pairs have "
                   "a device outside, as a pair holding a weight keeps one device at g_min): "
                   "a read-back is compared with its model's targets, 'xbarmem adapt MODEL "
                   "--read-back FILE' (Python: FaultMap.from_readback)")
    outside = f"outside [{lo:g}, {hi:g}] S"
    if stuck.all():
        return (f"every device of the conductance map ({stuck.size}) reads {outside} and is "
                f"taken as stuck: {why}")
    return (f"{stuck.mean():.0%} of the devices of the conductance map ({int(stuck.sum())} of "
            f"{stuck.size}) read {outside} and are taken as stuck: {why}")


#: the most devices :func:`_check_same_unit` judges a read-back's unit on
UNIT_SAMPLE = 10_000


def _check_same_unit(read: np.ndarray, target: np.ndarray) -> None:
    """Refuse (:class:`FileFormatError`) a read-back map ``read`` and its targets ``target``
    (4-D, finite) that are not in one unit
    (:func:`~xbarmem.hardware.units.unit_disagreement`), judged on every device of a map of
    up to :data:`UNIT_SAMPLE` devices, else on that many evenly spaced (the rank correlation's
    working copies would outgrow the map's sizing)."""
    step = -(-read.size // UNIT_SAMPLE)
    found = unit_disagreement(read.reshape(-1)[::step], target.reshape(-1)[::step])
    if found is not None and found[0] == "falls":
        raise FileFormatError(
            f"read-back conductance map: the readings fall as the targets rise (rank "
            f"correlation {found[1]:.2f} over {found[2]} devices): resistances, or the G+ and "
            f"G- planes swapped? g_read must be conductances in siemens, laid out as g_target")
    if found is not None:
        raise FileFormatError(
            f"read-back conductance map: the readings are {found[1]:.3g} times their targets "
            f"(median over {found[2]} devices): g_read and g_target must both be in siemens")


def _most_stuck_codes(c: np.ndarray) -> str:
    """The warning of stuck codes ``c`` (-1, 0, +1) of more than :data:`MOST_STUCK` of the
    devices stuck: how many, ON and OFF, what the codes mean, and, when every stuck device is
    ON, that a yield map (1 for a working device) reads so."""
    on, off = int((c > 0).sum()), int((c < 0).sum())
    said = (f"{(on + off) / c.size:.0%} of the devices of the fault codes ({on + off} of "
            f"{c.size}: {on} stuck ON, {off} stuck OFF) are stuck: a code is 0 for a free "
            "device, +1 stuck ON, -1 stuck OFF")
    if off == 0:
        said += "; a yield map of 1 for a working device and 0 for a dead one reads as stuck ON"
    return said


def cell_text(index: tuple[int, ...]) -> str:
    """``(array, plane, row, col)`` as text: ``array 0, G+, row 3, col 5``."""
    a, p, i, j = index
    return f"array {a}, {PLANES[p]}, row {i}, col {j}"


def device_at(index: tuple[int, ...]) -> str:
    """The device at ``(array, plane, row, col)`` as refusals and warnings of measured maps
    name it: ``device (array 0, G+, row 3, col 5)``."""
    return f"device ({cell_text(index)})"


def _check_readings(a: np.ndarray, what: str, device: DeviceSpec | None = None, *,
                    offsets: bool = True) -> tuple[np.ndarray, str | None]:
    """Refuse (:class:`FileFormatError`) a 4-D conductance map (siemens) that is not one: NaN
    or inf (an unreadable device is neither free nor stuck at a known value), naming how many
    and the first device; with ``device``, values that look written in another unit than
    siemens (:func:`~xbarmem.hardware.units.unit_mismatch`: microsiemens, resistances in
    ohms); then readings below 0 S by :func:`~xbarmem.hardware.units.zero_offsets` (an
    instrument's offset taken as 0 S, further below refused; with ``offsets`` False, as for
    programmed targets, any value below 0 S is refused). Returns ``(the map with such offsets
    set to 0 S, the warning to issue once the map is accepted or None)``."""
    bad = ~np.isfinite(a)
    if bad.any():
        first = tuple(int(v) for v in np.argwhere(bad)[0])
        raise FileFormatError(
            f"{what} has {counted(int(bad.sum()), 'NaN/inf value')} (first: {cell_text(first)}, "
            f"{a[first]}); give every device a reading (e.g. g_min to mark an unreadable device "
            f"stuck OFF), or import a target-vs-read .csv, where an empty read_uS marks a "
            f"device not measured (free)")
    unit = None if device is None else unit_mismatch(a, device)
    if device is not None and unit is not None:
        raise FileFormatError(
            f"{what} is read in siemens, but most values lie outside the chip window "
            f"[{device.g_min:g}, {device.g_max:g}] S, and {unit}: convert it to siemens")
    if offsets:
        return zero_offsets(a, what, error=FileFormatError,
                            place=device_at)
    if (a < 0).any():
        first = tuple(int(v) for v in np.argwhere(a < 0)[0])
        raise FileFormatError(f"{what} has {counted(int((a < 0).sum()), 'negative value')} "
                              f"(first: {cell_text(first)}, {a[first]:.4g} S); a conductance is "
                              ">= 0 S")
    return a, None


#: two maps of devices read alike when this share of their stuck devices coincide ...
#: (independent devices' stuck ones coincide as often as they are stuck, p / (2 - p) of them:
#: 18% at 30% stuck; repeated reads: all of them)
ALIKE_STUCK = 0.9
#: ... (at least this many: fewer coincide by chance too often to tell) and their other
#: readings correlate at least this much (independent planes: about 0; two reads with a read
#: noise of 5 uS on a 2-150 uS window: 0.99). Measured on G+ / G- planes drawn uniformly in
#: 2-150 uS, 500 draws each, 2026-12-05: no independent pair of 8x8 to 64x64 planes with 1-30%
#: stuck was taken for repeated reads; repeated reads were missed when fewer than 5 stuck
#: devices were found (8x8 at 5% stuck: 78%, at 10%: 20%; 16x16 at 2%: 43%; none from 16x16
#: at 5% and 32x32 at 2%)
ALIKE_MIN_STUCK = 5
ALIKE_CORRELATION = 0.9
#: fewest free devices of a pair whose readings' correlation is judged
ALIKE_MIN_FREE = 10


def _alike(a: np.ndarray, b: np.ndarray, stuck_a: np.ndarray, stuck_b: np.ndarray
           ) -> tuple[str, float] | None:
    """``("N of M", correlation)`` (stuck devices in the same places, of either's; the free
    ones' correlation) when maps ``a`` and ``b`` read alike: the same devices read again, not
    other devices. Other devices have their own stuck ones (broken independently) and their
    own write error; reads of the same devices have the same stuck ones, and readings that
    differ by read noise only. Whole rows or columns stuck in both maps (:func:`_on_lines`)
    are not compared: a broken word line is shared by a pair's two devices, so it is stuck in
    both planes whatever was read (a line stuck in one map only still counts: other
    devices)."""
    free = ~(stuck_a | stuck_b)
    shared = _on_lines(stuck_a) & _on_lines(stuck_b)
    stuck_a, stuck_b = stuck_a & ~shared, stuck_b & ~shared
    union = stuck_a | stuck_b
    if union.sum() < ALIKE_MIN_STUCK or (stuck_a & stuck_b).sum() < ALIKE_STUCK * union.sum():
        return None
    x, y = a[free], b[free]
    if x.size < ALIKE_MIN_FREE or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    rho = float(np.corrcoef(x, y)[0, 1])
    same = f"{int((stuck_a & stuck_b).sum())} of {int(union.sum())}"
    return (same, rho) if rho >= ALIKE_CORRELATION else None


def _on_lines(stuck: np.ndarray) -> np.ndarray:
    """Where ``stuck`` (``(..., rows, cols)``) marks a whole row or a whole column of an
    array stuck (a broken word or bit line)."""
    rows = stuck.all(axis=-1, keepdims=True)
    cols = stuck.all(axis=-2, keepdims=True)
    return stuck & (rows | cols)


def _check_repeated_reads(read: np.ndarray, stuck: np.ndarray, what: str) -> None:
    """Refuse (:class:`FileFormatError`) a 4-D conductance map whose G+ and G- planes, or
    consecutive arrays, read alike (:func:`_alike`): a stack of repeated reads of one plane
    (``(2, rows, cols)`` of two reads) or of one array (``(reads, 2, rows, cols)``), which
    would be read as the pairs' two devices, or as several arrays."""
    average = "average repeated reads first (their mean over the reads' axis)"
    for k in range(read.shape[0]):
        found = _alike(read[k, 0], read[k, 1], stuck[k, 0], stuck[k, 1])
        if found is not None:
            raise FileFormatError(
                f"{what}: the G+ and G- planes of array {k} read alike ({found[0]} stuck "
                f"devices in the same places, the others' readings correlating "
                f"{found[1]:.2f}): two reads of one plane? its axis of size 2 is the G+ and "
                f"G- devices of each pair; {average}")
    for k in range(read.shape[0] - 1):
        found = _alike(read[k], read[k + 1], stuck[k], stuck[k + 1])
        if found is not None:
            raise FileFormatError(
                f"{what}: arrays {k} and {k + 1} read alike ({found[0]} stuck devices in "
                f"the same places, the others' readings correlating {found[1]:.2f}): "
                f"several reads of one array? the first axis of (n_arrays, 2, rows, cols) is "
                f"the chip's arrays; {average}")
