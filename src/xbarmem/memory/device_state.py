"""Saved conductances against the rest of the file that holds them (a model file's, an
export's): :func:`check_device_state` refuses a device state no writer of xbarmem produces
and no chip can hold.

* A device the layer's fault map holds -- stuck, or pinned by adaptation -- stores the
  conductance the map holds it at; under the ``weight`` fault model a faulty pair's two devices
  so store a weight of 0. A model adapted on a chip stores what the chip read back: within the
  adaptation's tolerance of that value (its fault map's ``meta["adapt_tolerance_S"]``, siemens;
  a device read further from it is held at its reading).
* A free device stores what programming writes: a conductance in the chip window
  ``[g_min, g_max]`` and, on a chip of ``levels`` without write noise, one of those levels. An
  adapted model's read-back values are exempt (read noise puts them anywhere a reading may lie,
  :func:`~xbarmem.hardware.faults.highest_reading`, which the loaders check).

Values are compared to within :data:`ROUNDING` of ``g_max``, the rounding of float32 (the
widest a saved conductance may be rounded to: files hold float64, a file may hold float32).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from xbarmem.checks import counted, is_bool, shown
from xbarmem.errors import ConfigError
from xbarmem.hardware.crossbar import Crossbar, level_index
from xbarmem.hardware.faults import device_at

#: the slack of every comparison, in units of ``g_max``: four float32 roundings
ROUNDING = 4.0 * float(np.finfo(np.float32).eps)

_PLANES = ("g_pos", "g_neg")


@dataclass(frozen=True)
class Naming:
    """How a refusal of saved conductances names them: a model file's tensor and index
    (``tensor 'layer0.g_pos' [i, j]``: ``prefix`` and the tensor's name), or, with ``where``
    (an export's file, e.g. the path of its ``programmed_S.npy``), that file and the device on
    the chip (``.../programmed_S.npy: layer 0's device (array 0, G+, row 4, col 0)``; ``layer``
    the layer's words, empty for a single-layer export; ``faults`` what holds the stuck
    values)."""

    prefix: str = ""
    where: str | None = None
    layer: str = ""
    #: what holds the devices' stuck (or pinned) values, in messages
    faults: str = "the model's fault map"

    def head(self, tensor: str) -> str:
        """The start of a message about several devices of ``tensor`` (``g_pos``): up to its
        ``": "``."""
        if self.where is None:
            return f"tensor {self.prefix + tensor!r}: "
        return f"{self.where}: " + (f"{self.layer}: " if self.layer else "")

    def at(self, index: tuple[int, int], place: tuple[int, ...]) -> str:
        """The device ``index`` of a tensor (logical ``[i, j]``) at ``place`` on the chip
        (``(array, plane, row, col)``), as an example's place: ``[i, j]`` / ``device (..)``."""
        return f"[{index[0]}, {index[1]}]" if self.where is None else device_at(place)

    def holds(self, tensor: str, index: tuple[int, int], place: tuple[int, ...],
              value: str, free: bool = False) -> str:
        """The clause "the device holds ``value``" that starts a message about one device
        (``free``: "the free device")."""
        device = ("free " if free else "") + device_at(place)
        if self.where is None:
            return (f"tensor {self.prefix + tensor!r} [{index[0]}, {index[1]}] holds {value} "
                    f"for {'the ' if free else ''}{device}")
        whose = f"{self.layer}'s " if self.layer else "the " if free else ""
        return f"{self.where}: {whose}{device} holds {value}"


def naming_of(prefix: str | Naming) -> Naming:
    """``prefix`` as a :class:`Naming` (a text: the model file's tensor-name prefix)."""
    return prefix if isinstance(prefix, Naming) else Naming(prefix)


def read_back_tolerance(meta: Any) -> float | None:
    """The tolerance (siemens) an adapted model's read-back was held to: its fault map's
    ``meta["adapt_tolerance_S"]`` (a number > 0; :class:`ConfigError` naming it otherwise),
    None for a map adaptation did not write (the conductances are programmed ones)."""
    if not isinstance(meta, dict) or "adapt_tolerance_S" not in meta:
        return None
    value = meta["adapt_tolerance_S"]
    if is_bool(value) or not isinstance(value, numbers.Real) or not 0 < float(value) < np.inf:
        raise ConfigError(f"the fault map's meta adapt_tolerance_S (the tolerance of the "
                          f"adaptation that read the conductances back) must be a number > 0 "
                          f"siemens, got {shown(value)}")
    return float(value)


def check_device_state(layer: Crossbar, g_pos: np.ndarray, g_neg: np.ndarray,
                       prefix: str | Naming = "") -> None:
    """Refuse (:class:`ConfigError`, naming the tensor ``prefix + "g_pos"`` / ``"g_neg"``, the
    first such device by its index there and on the chip, and how many there are; an export's
    file and the device as a :class:`Naming` ``prefix`` says) saved
    conductances ``g_pos``, ``g_neg`` (float, ``(n_out, n_rows)`` siemens, finite) that
    contradict ``layer``'s fault map and chip (see the module docstring): held devices first,
    then free devices outside the window, then free devices off the levels."""
    dev = layer.chip.device
    g = np.stack([np.asarray(g_pos, np.float64), np.asarray(g_neg, np.float64)])
    slack = ROUNDING * dev.g_max
    tolerance = read_back_tolerance(layer.faults.meta)
    held = layer.stuck
    off = held & ~(np.abs(g - np.nan_to_num(layer.g_stuck)) <= (tolerance or 0.0) + slack)
    if off.any():
        raise ConfigError(_held_words(layer, g, off, tolerance, prefix))
    if tolerance is not None:  # read back: anywhere a reading may lie
        return
    outside = ~held & ((g < dev.g_min - slack) | (g > dev.g_max + slack))
    if outside.any():
        name, place, index = _first(layer, outside)
        held_at = naming_of(prefix).holds(name, index[1:], place, f"{g[index]:.4g} S", True)
        raise ConfigError(f"{held_at}, outside the chip window [{dev.g_min:.4g}, "
                          f"{dev.g_max:.4g}] S that "
                          f"programming writes ({counted(int(outside.sum()), 'such device')}; "
                          f"only a model adapted on a chip holds read-back values outside it)")
    if dev.levels >= 2 and dev.write_noise == 0:
        near = _nearest_level(g, dev.g_min, dev.g_max, dev.levels)
        between = ~held & ~(np.abs(g - near) <= slack)
        if between.any():
            name, place, index = _first(layer, between)
            held_at = naming_of(prefix).holds(name, index[1:], place, f"{g[index]:.6g} S",
                                              True)
            raise ConfigError(
                f"{held_at}, not one of "
                f"the chip's {dev.levels} conductance levels (nearest {near[index]:.6g} S), "
                f"though the chip has no write noise to move it off them "
                f"({counted(int(between.sum()), 'such device')})")


def _nearest_level(g: np.ndarray, g_min: float, g_max: float, levels: int) -> np.ndarray:
    """The level of ``levels`` in ``[g_min, g_max]`` nearest each conductance of ``g``
    (level ``k`` is ``g_min + k * step``, the top one ``g_max`` itself, rounded as programming
    rounds them: :func:`~xbarmem.hardware.crossbar.level_index`)."""
    step = (g_max - g_min) / (levels - 1)
    k = np.clip(level_index((g - g_min) / step), 0, levels - 1)
    return np.where(k >= levels - 1, g_max, np.minimum(g_min + k * step, g_max))


def _first(layer: Crossbar, mask: np.ndarray
           ) -> tuple[str, tuple[int, ...], tuple[int, int, int]]:
    """The first device of ``mask`` (logical ``(plane, out, row)``): its tensor's name
    (``g_pos``), its place on the chip (``(array, plane, row, col)`` of the fault map) and its
    logical index."""
    p, i, j = (int(v) for v in np.argwhere(mask)[0])
    return _PLANES[p], place_of(layer, (p, i, j)), (p, i, j)


def place_of(layer: Crossbar, index: tuple[int, int, int]) -> tuple[int, ...]:
    """The chip place ``(array, plane, row, col)`` (of the fault map) of the device at logical
    ``index`` ``(plane, out, row)`` of ``layer``."""
    one = np.zeros((2, layer.n_out, layer.n_rows))
    one[index] = 1.0
    a, plane, r, c = (int(v) for v in np.argwhere(layer.scatter(one, fill=0.0))[0])
    return layer.first_array + a, plane, r, c


def _held_words(layer: Crossbar, g: np.ndarray, off: np.ndarray, tolerance: float | None,
                prefix: str | Naming) -> str:
    """The refusal of held devices ``off`` whose saved conductance is not their held one."""
    name, place, index = _first(layer, off)
    dev, s = layer.chip.device, float(layer.g_stuck[index])
    state = ("pinned (by adaptation)" if layer.faults.pinned_mask[place] else
             "stuck ON" if s == dev.g_max else "stuck OFF" if s == dev.g_min else "stuck")
    if layer.chip.array.fault_model == "weight":
        state += " (its pair is faulty: a weight of 0 under the weight fault model)"
    further = ("" if tolerance is None else
               f": further from it than the tolerance of the adaptation that read the "
               f"conductances back ({tolerance:.4g} S)")
    naming = naming_of(prefix)
    held_at = naming.holds(name, index[1:], place, f"{g[index]:.4g} S")
    return (f"{held_at}, which is {state} at "
            f"{s:.4g} S in {naming.faults}{further} "
            f"({counted(int(off.sum()), 'such device')})")
