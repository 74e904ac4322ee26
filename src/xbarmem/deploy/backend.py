"""Chip backends: the physical side of a trained memory, behind one small protocol.

A trained model is a *digital twin* of the chip: its :class:`~xbarmem.hardware.crossbar.Crossbar`
layers know the device physics, the fault map, the placement of ``[W | b]`` on the arrays and the
weight-to-conductance mapping. A **backend** is the thing that really holds the conductances:
xbarmem's simulated chip (:class:`SimulatedChip`), a user's hardware driver (:class:`DriverBackend`
around an :class:`ArrayDriver`), or another simulator. The twin computes conductance targets
(:func:`conductance_targets`); the backend writes them, reads them back and runs the analogue
products that recall needs.

Coordinates. One backend holds one matrix (one layer) ``A = [W | b]`` of shape
``(n_out, n_rows)``, ``n_rows = n_in + 1`` with a bias row (input row ``n_in``, driven at
+V_read). Conductance arrays are *logical*: float64 ``(2, n_out, n_rows)`` siemens, plane 0 = G+,
plane 1 = G-, ``[p, i, j]`` the device of polarity ``p`` of the pair at output (column) ``i`` and
input row ``j``. The twin's tiling (:meth:`Crossbar.scatter` / ``_tile_of``) maps these to
physical ``(array, plane, row, col)``; :class:`DriverBackend` does that for drivers that think in
physical arrays. A multilayer memory is a list of backends, one per layer (each on its own
arrays), so a multilayer chip is wiring only.

Units of the products: ``matvec`` / ``read_outputs`` return weight units, i.e. the sensed
differential current divided by ``V_read * (g_max - g_min) / w_max`` -- exactly what
:func:`xbarmem.memory.recall.recall` expects from any matrix.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, cast, runtime_checkable

import numpy as np
import torch

from xbarmem.checks import (
    ArrayLike,
    as_real_array,
    cannot_call,
    check_seed,
    check_tensor,
    check_type,
    checked_keywords,
    counted,
    is_bool,
    shown,
)
from xbarmem.errors import (
    ArgumentError,
    ConfigError,
    PatternError,
    XbarmemError,
    caller_stacklevel,
    warn,
)
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.crossbar import Crossbar
from xbarmem.hardware.faults import PLANES, FaultMap, highest_reading
from xbarmem.hardware.units import (
    falling_refusal,
    follows_rearranged,
    one_reading,
    reading_array,
    unit_mismatch,
    zero_offsets,
)
from xbarmem.memory.base import LayeredMap, Memory, memory_kind
from xbarmem.memory.recall import DEFAULT_TOL, RecallResult, recall
from xbarmem.seeds import offset_seed
from xbarmem.spec import Number

__all__ = ["ArrayDriver", "BackendMemory", "ChipBackend", "DriverBackend", "SimulatedChip",
           "check_backend", "conductance_targets", "layers_of"]


@runtime_checkable
class ChipBackend(Protocol):
    """What xbarmem needs from a chip holding one matrix ``[W | b]`` (one layer).

    Attributes:
        n_in: inputs of the matrix (bias row excluded).
        n_out: outputs (sensed columns).

    Methods:
        program(targets): write conductance targets, float64 ``(2, n_out, n_rows)`` siemens in
            logical coordinates (see module docstring); a NaN entry means *leave this device as
            it is* (not written). Returns the number of devices written (write attempts).
        read_back(): the conductance of every device as read now, ``(2, n_out, n_rows)``
            siemens (measurement noise included -- it is a measurement).
        matvec(x, generator): one full analogue product ``(B, n_in) -> (B, n_out)`` for inputs
            in [-1, 1] (row ``j`` driven at ``x_j * V_read`` volts, bias row at +V_read), weight
            units. ``generator`` is a ``torch.Generator`` a simulator may draw noise from; a
            hardware backend ignores it.
        read_outputs(x, outputs, generator): one output per batch row, ``(B,)`` weight units
            (the asynchronous update's single-column read).
    """

    n_in: int
    n_out: int

    def program(self, targets: np.ndarray) -> int:
        """Write ``targets``, float64 ``(2, n_out, n_rows)`` siemens (NaN: leave the device);
        returns the number of devices written."""
        ...

    def read_back(self) -> np.ndarray:
        """Every device's conductance as read now, ``(2, n_out, n_rows)`` siemens."""
        ...

    def matvec(self, x: torch.Tensor, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        """One analogue product of inputs ``x`` ``(B, n_in)`` in [-1, 1] -> ``(B, n_out)`` in
        weight units (the sensed differential current over ``V_read * (g_max - g_min) /
        w_max``, not amperes); ``generator``: a ``torch.Generator`` a simulator may draw
        read noise from."""
        ...

    def read_outputs(self, x: torch.Tensor, outputs: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """Output ``outputs[k]`` (a column index) of row ``k`` of ``x`` ``(B, n_in)`` ->
        ``(B,)`` in weight units, as :meth:`matvec`; ``generator`` as there."""
        ...


# ---------------------------------------------------------------------------------- the twin
@checked_keywords
def layers_of(memory: Memory) -> list[Crossbar]:
    """The crossbar layers of a memory (input layer first); :class:`~xbarmem.errors.ArgumentError`
    when ``memory`` is not a :class:`Memory` (every deploy entry point reads it here)."""
    check_type(memory, Memory, "memory", "a Memory (from train or load_memory)")
    return list(memory.layers)


def target_parameters(memory: Memory) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """The trained target ``(W, b)`` of every layer of ``memory`` (before any write error)."""
    if memory.targets is None:
        raise ConfigError("the memory has no target weights (train or program it first)")
    return list(memory.targets)


@checked_keywords
def twin_layer(layer: Crossbar, faults: FaultMap | None = None,
               chip: ChipSpec | None = None) -> Crossbar:
    """A fresh (unprogrammed) crossbar at the same place as ``layer``: same chip (or ``chip``),
    size, bias row and first array, on ``faults`` (default: the layer's fault map)."""
    _check_twin(layer, faults, chip)
    return Crossbar(chip or layer.chip, layer.n_out, layer.n_in, faults or layer.faults,
                    bias=layer.has_bias, first_array=layer.first_array)


def _check_twin(layer: Crossbar, faults: FaultMap | None, chip: ChipSpec | None) -> None:
    """``layer`` is a :class:`Crossbar`, ``faults`` a FaultMap and ``chip`` a ChipSpec (each
    or None): :class:`~xbarmem.errors.ArgumentError` naming the first that is not."""
    check_type(layer, Crossbar, "layer", "a Crossbar (a layer of a memory)")
    if faults is not None:
        check_type(faults, FaultMap, "faults", "a FaultMap (or None)")
    if chip is not None:
        check_type(chip, ChipSpec, "chip", "a ChipSpec (or None)")


@checked_keywords
def conductance_targets(layer: Crossbar, weights: torch.Tensor | np.ndarray,
                        bias: torch.Tensor | np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """What :meth:`Crossbar.program` aims at before write error, for ``[W | b]`` on ``layer``.

    Weights are projected onto their realisable intervals, turned into pair conductances (free
    pairs keep one device at g_min; a free device next to a stuck one compensates for it),
    clipped to the window and quantised to the device levels -- everything ``program`` does
    except the write error. Stuck devices carry their stuck conductance.

    ``weights`` ``(n_out, n_in)`` and ``bias`` ``(n_out,)`` (None: no bias row or zeros) are in
    weight units.

    Returns:
        targets float64 ``(2, n_out, n_rows)`` siemens and ``w_max`` (the weight of a
        full-window pair; under the ``weight`` fault model it depends on the weights).
    """
    check_type(layer, Crossbar, "layer", "a Crossbar (a layer of a memory)")
    ideal = twin_layer(layer, chip=layer.chip.replace_device(write_noise=0.0))
    ideal.program(weights, bias, seed=0)
    return ideal.planes(), ideal.w_max


def weight_scale(layer: Crossbar) -> float:
    """Siemens of ``G+ - G-`` per weight unit on ``layer``: ``(g_max - g_min) / w_max``."""
    check_type(layer, Crossbar, "layer", "a Crossbar (a layer of a memory)")
    return layer.chip.device.g_range / layer.w_max


def _check_targets(targets: np.ndarray, n_out: int, n_rows: int) -> np.ndarray:
    t = as_real_array(targets, "targets", error=PatternError)
    if t.shape != (2, n_out, n_rows):
        raise PatternError(f"conductance targets must have shape (2, {n_out}, {n_rows}) "
                           f"(polarity, output, input row), got {t.shape}")
    if np.isinf(t).any() or (t[~np.isnan(t)] < 0).any():
        raise PatternError("conductance targets must be >= 0 siemens (NaN = leave the device)")
    return t


# ---------------------------------------------------------------------------------- simulated
@checked_keywords
class SimulatedChip:
    """xbarmem's simulated chip as a :class:`ChipBackend`: wraps a :class:`Crossbar`.

    The wrapped crossbar *is* the chip: its fault map holds the truly stuck devices (which may
    differ from what a model knows), its device spec the write error (persistent, drawn at each
    write from this backend's seeded generator, after clipping and level quantisation, like
    :meth:`Crossbar.program`) and the read noise (fresh at every product and every read-back).
    Devices never written sit at g_min (erased), stuck ones at their stuck conductance.

    Args:
        crossbar: the chip's crossbar; if already programmed its conductances are the start
            state and ``w_max`` is kept, otherwise ``w_max`` (weight units of a full-window
            pair) must match the model that computes targets (default ``crossbar.w_max``).
        seed: seed of write errors and read-back noise.
        read_averages: read-backs average this many independent reads (read-noise std divided
            by its square root).
    """

    def __init__(self, crossbar: Crossbar, *, seed: int = 0, read_averages: int = 1,
                 w_max: float | None = None) -> None:
        read_averages = Number(integer=True, ge=1)(read_averages, "read_averages")
        check_type(crossbar, Crossbar, "crossbar", "a Crossbar")
        seed = check_seed(seed)
        if w_max is not None:
            w_max = Number(gt=0)(w_max, "w_max")
        self.crossbar = crossbar
        self.n_in, self.n_out, self.n_rows = crossbar.n_in, crossbar.n_out, crossbar.n_rows
        self.read_averages = read_averages
        self._rng = np.random.default_rng(seed)
        if not crossbar.programmed:
            g = np.where(crossbar.stuck, crossbar.g_stuck, crossbar.chip.device.g_min)
            crossbar.set_conductances(g[0], g[1], w_max or crossbar.w_max)
        elif w_max is not None and w_max != crossbar.w_max:
            raise ConfigError(f"w_max {w_max} differs from the programmed crossbar's "
                              f"{crossbar.w_max}")

    def __repr__(self) -> str:
        """``SimulatedChip(Crossbar(16x17 incl. bias row, ...), read_averages=1)``: the
        crossbar that is the chip, not its conductances."""
        return f"SimulatedChip({self.crossbar!r}, read_averages={self.read_averages})"

    @classmethod
    @checked_keywords
    def like(cls, layer: Crossbar, *, chip: ChipSpec | None = None,
             faults: FaultMap | None = None, seed: int = 0,
             read_averages: int = 1) -> SimulatedChip:
        """A fresh simulated chip at the place of a model's ``layer`` (same size, bias row,
        arrays and ``w_max``), optionally with other device noise (``chip``: same window,
        levels and arrays required) or another true fault map (``faults``); ``seed`` and
        ``read_averages`` as the constructor takes them."""
        _check_twin(layer, faults, chip)
        if chip is not None:
            a, b = chip, layer.chip
            if (a.device.g_min, a.device.g_max, a.device.levels) != (
                    b.device.g_min, b.device.g_max, b.device.levels) or a.array != b.array:
                raise ConfigError("a simulated chip may differ from the model's only in noise "
                                  "and faults: window, levels and array settings must match")
        return cls(twin_layer(layer, faults, chip), seed=seed, read_averages=read_averages,
                   w_max=layer.w_max)

    # ------------------------------------------------------------------ protocol
    def program(self, targets: np.ndarray) -> int:
        """Write the non-NaN ``targets`` (float64 ``(2, n_out, n_rows)`` siemens, logical)
        into the free devices, with the chip's write error; returns the number written."""
        cb = self.crossbar
        t = _check_targets(targets, self.n_out, self.n_rows)
        write = ~np.isnan(t)
        current = cb.planes()
        free = ~cb.stuck
        new = np.stack([cb._write(np.where(write[p], t[p], current[p]), free[p] & write[p],
                                  self._rng) for p in range(2)])
        g = np.where(write & free, new, current)
        cb.set_conductances(g[0], g[1], cb.w_max)
        return int(write.sum())

    def read_back(self) -> np.ndarray:
        """Every device's conductance plus Gaussian read noise (``read_noise`` siemens, averaged
        over ``read_averages`` reads), clipped to what a read-back may hold: ``[0,``
        :func:`~xbarmem.hardware.faults.highest_reading` ``]`` (a read-back file is refused
        above it, and a device pinned at a reading above it made a fault map no command reads:
        noise far wider than the window ended ``adapt`` after its first round);
        ``(2, n_out, n_rows)`` siemens."""
        g = self.conductances()
        device = self.crossbar.chip.device
        noise = device.read_noise / np.sqrt(self.read_averages)
        if noise > 0:
            g = np.clip(g + self._rng.normal(0.0, noise, size=g.shape), 0.0,
                        highest_reading(device))
        return g

    def matvec(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The crossbar's product of ``x`` ``(B, n_in)`` -> ``(B, n_out)`` in weight units,
        read noise drawn from ``generator`` (:meth:`ChipBackend.matvec`)."""
        return self.crossbar.matvec(x, generator)

    def read_outputs(self, x: torch.Tensor, outputs: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """Output ``outputs[k]`` of row ``k`` of ``x`` -> ``(B,)`` in weight units, read noise
        drawn from ``generator`` (:meth:`ChipBackend.read_outputs`)."""
        return self.crossbar.read_outputs(x, outputs, generator)

    # ------------------------------------------------------------------ simulation only
    def conductances(self) -> np.ndarray:
        """The true conductances (no read noise), ``(2, n_out, n_rows)`` siemens."""
        return self.crossbar.planes()


# ---------------------------------------------------------------------------------- drivers
@runtime_checkable
class ArrayDriver(Protocol):
    """A hardware driver in physical terms: whole arrays, siemens, volts, amperes.

    Wrap it in :class:`DriverBackend` to get a :class:`ChipBackend`; xbarmem then does the tiling,
    the bias row, differential sensing and the conversion to weight units.

    Methods:
        write(array, targets): program array ``array`` (chip index) to ``targets``, float64
            ``(2, rows, cols)`` siemens (plane 0 = G+, 1 = G-); NaN = do not touch the device.
        read(array): conductances of array ``array`` as measured, ``(2, rows, cols)`` siemens.
        apply(array, voltages): drive the rows of ``array`` with ``voltages`` ``(B, rows)``
            volts (0 V = row not driven) and sense every column of both planes: ``(B, 2, cols)``
            amperes. A chip that senses G+ - G- internally returns it in plane 0, zeros in 1.
    """

    def write(self, array: int, targets: np.ndarray) -> None:
        """Program array ``array`` to ``targets``, float64 ``(2, rows, cols)`` siemens (NaN:
        do not touch the device)."""
        ...

    def read(self, array: int) -> np.ndarray:
        """The conductances of array ``array`` as measured, ``(2, rows, cols)`` siemens."""
        ...

    def apply(self, array: int, voltages: np.ndarray) -> np.ndarray:
        """Drive the rows of array ``array`` with ``voltages`` ``(B, rows)`` volts; the
        currents of every column of both planes, ``(B, 2, cols)`` amperes."""
        ...


@checked_keywords
class DriverBackend:
    """A :class:`ChipBackend` driving physical arrays through an :class:`ArrayDriver`.

    ``layer`` (the model's crossbar for this matrix) supplies the placement (which array,
    rows and columns each tile of ``[W | b]`` uses), ``V_read`` and the current-to-weight scale
    ``w_max / (V_read * (g_max - g_min))``. Partial column currents of row tiles are summed (as a
    digital periphery would). ``read_outputs`` performs a full product and keeps the requested
    column per batch row.

    Args:
        driver: the hardware driver (an :class:`ArrayDriver`: ``write``, ``read``, ``apply``).
        layer: the model's crossbar of this matrix (``memory.layers[k]``).
    """

    def __init__(self, driver: ArrayDriver, layer: Crossbar) -> None:
        check_type(layer, Crossbar, "layer", "a Crossbar (a layer of the model: memory.layers)")
        missing = [m for m in ("write", "read", "apply") if not callable(getattr(driver, m, None))]
        if missing:
            raise ArgumentError(f"driver must be an ArrayDriver (methods write, read, apply); "
                              f"{type(driver).__name__} has no {', '.join(missing)}")
        for name, args, call in DRIVER_CALLS:
            why = cannot_call(getattr(driver, name), *args)
            if why is not None:
                raise ArgumentError(f"driver {type(driver).__name__}: its {name} cannot be "
                                    f"called as {call} ({why}); an ArrayDriver has "
                                    "write(array, targets), read(array), apply(array, voltages)")
        self.driver, self.layer = driver, layer
        self.n_in, self.n_out, self.n_rows = layer.n_in, layer.n_out, layer.n_rows
        self.rows, self.cols = layer.chip.array.rows, layer.chip.array.cols

    def __repr__(self) -> str:
        """``DriverBackend(driver=MyChip, layer=Crossbar(...))``: the driver's type and the
        model layer it drives."""
        return f"DriverBackend(driver={type(self.driver).__name__}, layer={self.layer!r})"

    def program(self, targets: np.ndarray) -> int:
        """Write ``targets`` (float64 ``(2, n_out, n_rows)`` siemens, logical; NaN: leave the
        device) through ``driver.write``, array by array; returns the devices written."""
        t = _check_targets(targets, self.n_out, self.n_rows)
        physical = self.layer.scatter(t)  # unused cells NaN: never written
        for k in range(self.layer.n_arrays):
            if not np.isnan(physical[k]).all():
                self.driver.write(self.layer.first_array + k, physical[k])
        return int((~np.isnan(t)).sum())

    def read_back(self) -> np.ndarray:
        """Every device's conductance from ``driver.read``, ``(2, n_out, n_rows)`` siemens
        (logical); each array's answer checked by :func:`_driver_reading` (refused naming
        ``driver.read(array)``)."""
        first = self.layer.first_array
        per_array = np.full((first + self.layer.n_arrays, 2, self.rows, self.cols), np.nan)
        used = ~np.isnan(self.layer.scatter(np.zeros((2, self.n_out, self.n_rows))))
        for k in range(self.layer.n_arrays):
            per_array[first + k] = _driver_reading(self.driver.read(first + k), first + k,
                                                   self.layer, used[k])
        return self.layer._gather(per_array)

    def matvec(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``x`` ``(B, n_in)`` driven at ``x * V_read`` volts (bias row at ``V_read``) through
        ``driver.apply``; the summed column currents (amperes) divided by ``V_read * (g_max -
        g_min) / w_max``: ``(B, n_out)`` in weight units. ``generator`` is not used (the
        hardware's noise is its own)."""
        u = self.layer._rows_input(x).double().numpy()  # (B, n_rows), bias row = +1
        volts = self.layer.chip.array.read_voltage
        y = np.zeros((u.shape[0], self.n_out))
        for a, r, c in self.layer._tile_of():
            v = np.zeros((u.shape[0], self.rows))
            v[:, : r.stop - r.start] = u[:, r] * volts
            i = as_real_array(self.driver.apply(a, v), f"driver.apply({a})", error=PatternError)
            if i.shape != (u.shape[0], 2, self.cols):
                raise PatternError(f"driver.apply({a}) returned shape {i.shape}, expected "
                                   f"({u.shape[0]}, 2, {self.cols})")
            used = i[:, :, : c.stop - c.start]  # the columns this tile senses
            if not np.isfinite(used).all():
                bad = counted(int((~np.isfinite(used)).sum()), "NaN or infinite current")
                raise PatternError(f"driver.apply({a}) returned {bad} in the columns the "
                                   "layer senses: apply() must return every sensed column's "
                                   "current in amperes")
            _check_currents(i, v, a, self.layer)
            y[:, c] += used[:, 0] - used[:, 1]
        return torch.as_tensor(y / (volts * weight_scale(self.layer)), dtype=torch.float32)

    def read_outputs(self, x: torch.Tensor, outputs: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """Output ``outputs[k]`` of row ``k`` of ``x`` -> ``(B,)`` in weight units: a full
        :meth:`matvec` (``generator`` unused), one column kept per row."""
        y = self.matvec(x, generator)
        return y[torch.arange(y.shape[0]), self.layer._outputs(outputs, y.shape[0])]


def _driver_reading(read: Any, array: int, layer: Crossbar, used: np.ndarray) -> np.ndarray:
    """What ``driver.read(array)`` returned, ``read``, as float64 ``(2, rows, cols)`` siemens
    if it is a reading of the array as a read-back is checked: float32 or float64 numbers
    (:func:`~xbarmem.hardware.units.reading_array`: not float16, integers, bool, ...), of the
    array's shape, every device the layer uses (``used``, a bool mask of that shape) read
    (NaN only in cells it does not use) and none above
    :func:`~xbarmem.hardware.faults.highest_reading` (a reading in another unit, such as
    microsiemens, named: :func:`~xbarmem.hardware.units.unit_mismatch`); else
    :class:`PatternError` naming ``driver.read(array)`` (not the backend's ``read_back()``,
    which the user did not write, nor logical coordinates)."""
    what, dev = f"driver.read({array})", layer.chip.device
    g = reading_array(read, what, error=PatternError, device=dev)
    shape = (2, layer.chip.array.rows, layer.chip.array.cols)
    if g.shape != shape:
        raise PatternError(f"{what} returned shape {g.shape}, expected {shape}")
    mine = g[used]
    if not np.isfinite(mine).all():
        bad = counted(int((~np.isfinite(mine)).sum()), "device")
        raise PatternError(f"{what} returned NaN or infinite values at {bad} the layer uses: "
                           "read() must return every used device's conductance in siemens, "
                           "stuck ones too")
    high = highest_reading(dev)
    if mine.max() > high:
        unit = unit_mismatch(mine, dev)
        raise PatternError(
            f"{what} returned conductances up to {mine.max():.4g}, more than a device can read "
            f"({high:.4g} S at most, g_max plus a window width): read() must return siemens; "
            f"the chip window is [{dev.g_min:.4g}, {dev.g_max:.4g}] S"
            + (f", and {unit}" if unit else ""))
    return g


#: current units a driver may report in instead of amperes: name, factor to amperes
CURRENTS = (("milliamperes (mA)", 1e-3), ("microamperes (uA)", 1e-6), ("nanoamperes (nA)", 1e-9),
            ("picoamperes (pA)", 1e-12))


def _check_currents(currents: np.ndarray, volts: np.ndarray, array: int, layer: Crossbar) -> None:
    """:class:`PatternError` when ``driver.apply(array, volts)`` returned ``currents``
    ``(B, 2, cols)`` larger than the driven rows can carry (every device at
    :func:`~xbarmem.hardware.faults.highest_reading`, in either plane or their difference):
    currents in another unit than amperes, the unit they fit named."""
    bound = highest_reading(layer.chip.device) * np.abs(volts).sum(axis=1) * (1 + 1e-6)
    largest = np.abs(currents).max(axis=(1, 2))
    if not (largest > bound).any():
        return
    fits = next((name for name, factor in CURRENTS if (largest * factor <= bound).all()), None)
    raise PatternError(
        f"driver.apply({array}) returned column currents up to {float(largest.max()):.4g}, more "
        f"than its driven rows can carry ({float(bound.max()):.4g} A at most, every device at "
        "g_max plus a window width): apply() must return amperes"
        + (f"; they fit as {fits}" if fits else ""))


# ---------------------------------------------------------------------------------- memory view
class CheckedReads:
    """A backend as xbarmem calls it, every call checked against :class:`ChipBackend` and
    refused with :class:`ConfigError` naming the backend and the method (instead of an error
    from deep inside recall, or a wrong result): ``matvec`` must return a CPU torch tensor
    ``(B, n_out)`` and ``read_outputs`` one ``(B,)`` of finite real numbers (weight units,
    no larger than the layer's devices can give: :func:`_check_weight_units`; given as
    float32, detached from autograd); ``program`` the count of devices written, an
    integer >= 0; ``read_back`` float32 or float64 conductances ``(2, n_out, n_rows)`` in
    siemens (:func:`check_read_back`) whose devices written by the last ``program`` call do
    not read lower the higher their targets (:func:`check_follows`). What a backend raises
    goes through unchanged, an error of its own with a note naming it and the call
    (:meth:`_call`).

    Args:
        backend: the backend (its ``n_in`` / ``n_out`` checked by :func:`check_backend`).
        index: its layer, as messages name it.
        layer: the model's crossbar of that layer (the shape and window of a read-back).
    """

    def __init__(self, backend: ChipBackend, index: int, layer: Crossbar) -> None:
        self.backend, self.index, self.layer = backend, index, layer
        self.n_in, self.n_out = layer.n_in, layer.n_out
        #: the targets of the last ``program`` call (NaN: not written), ``(2, n_out, n_rows)``
        self.sent: np.ndarray | None = None
        #: the backend's own programmable window where narrower than the layer's chip's
        #: (:func:`narrower_window`), None otherwise; warned of once (:meth:`program`)
        self.window = narrower_window(backend, layer, self.who)
        self._clip_warned = False

    @property
    def who(self) -> str:
        """How messages name the backend: ``backend k (ClassName)``."""
        return f"backend {self.index} ({type(self.backend).__name__})"

    def _call(self, call: str, method: Callable[..., Any], *args: Any) -> Any:
        """``method(*args)``, the backend's method named ``call`` as messages name it. What it
        raises goes through unchanged (type and message); an error of the backend's own (not
        an :class:`~xbarmem.errors.XbarmemError`, whose refusals stay one line) gets a note
        naming the backend and the call, ``backend 0 (MyChip): raised by its
        program(targets)``, which a traceback shows under the message."""
        try:
            return method(*args)
        except Exception as exc:
            if not isinstance(exc, XbarmemError):
                exc.add_note(f"{self.who}: raised by its {call}")
            raise

    def _need(self, method: str, what: str) -> str:
        return f"{self.who}: {method} must return {what}"

    def _checked(self, out: Any, method: str, shape: tuple[int, ...],
                 x: torch.Tensor) -> torch.Tensor:
        need = self._need(method, f"a torch tensor of shape {shape} in weight units")
        if not isinstance(out, torch.Tensor):
            raise ConfigError(f"{need}, got {type(out).__name__}")
        if out.device.type != "cpu" or out.dtype == torch.bool or out.is_complex():
            raise ConfigError(f"{need} (real numbers on the CPU), got a {out.dtype} tensor on "
                              f"{out.device}")
        out = check_tensor(out, need)  # (sparse, quantized: as dense values)
        if not out.is_floating_point():  # (rounded weight units, or codes in another unit)
            raise ConfigError(f"{need} (floating-point numbers), got a {out.dtype} tensor: "
                              "integers, such as an ADC's codes, are not weight units")
        if tuple(out.shape) != shape:
            raise ConfigError(f"{need}, got {tuple(out.shape)}")
        if not bool(torch.isfinite(out).all()):
            raise ConfigError(f"{need}, got NaN or infinite values")
        out = out.detach().to(torch.float32)
        own = getattr(self.backend, "crossbar", None)
        _check_weight_units(out, x, self.layer, need,
                            own.chip.device.read_noise if isinstance(own, Crossbar) else 0.0)
        return out

    def matvec(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The backend's ``matvec``, checked."""
        return self._checked(self._call("matvec(x, generator)", self.backend.matvec, x,
                                        generator), "matvec(x)",
                             (len(x), self.n_out), x)

    def read_outputs(self, x: torch.Tensor, outputs: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """The backend's ``read_outputs``, checked."""
        return self._checked(self._call("read_outputs(x, outputs, generator)",
                                        self.backend.read_outputs, x, outputs, generator),
                             "read_outputs(x, outputs)", (len(x),), x)

    def program(self, targets: np.ndarray) -> int:
        """The backend's ``program``, its count checked (an integer >= 0). On a backend of a
        narrower window than the layer's chip (:attr:`window`), warns once
        (:class:`~xbarmem.errors.XbarmemWarning`) when targets fall outside it: the backend
        clips them to its edges, where read-back then pins them."""
        if self.window is not None and not self._clip_warned:
            self._clip_warned = _warn_clipped(targets, self.window, self.layer, self.who)
        count = self._call("program(targets)", self.backend.program, targets)
        if is_bool(count) or not isinstance(count, numbers.Integral) or count < 0:
            raise ConfigError(self._need("program(targets)", "the number of devices written "
                                         f"(an integer >= 0), got {shown(count)}"))
        self.sent = np.array(targets, dtype=np.float64)
        return int(count)

    def read_back(self) -> np.ndarray:
        """The backend's ``read_back``, checked (:func:`check_read_back`, and against the
        last ``program`` call's targets by :func:`check_follows`); float64."""
        return check_read_back(self._call("read_back()", self.backend.read_back), self.layer,
                               self.who, self.sent)


def narrower_window(backend: Any, layer: Crossbar, who: str) -> tuple[float, float] | None:
    """The programmable window ``(g_min, g_max)`` (siemens) of a backend that holds its own
    :class:`Crossbar` (``backend.crossbar``, as :class:`SimulatedChip`) when it is narrower
    than ``layer``'s chip's, whose window the model's targets span; None when it is not (or
    the backend states none). :class:`ConfigError` naming ``who`` when the two windows do not
    overlap: no target of the model can be programmed."""
    own = getattr(backend, "crossbar", None)
    if not isinstance(own, Crossbar):
        return None
    mine, spec = own.chip.device, layer.chip.device
    window = (max(mine.g_min, spec.g_min), min(mine.g_max, spec.g_max))
    if window[1] <= window[0]:
        raise ConfigError(
            f"{who}: its chip's window [{mine.g_min * 1e6:.4g}, {mine.g_max * 1e6:.4g}] uS and "
            f"the model chip's [{spec.g_min * 1e6:.4g}, {spec.g_max * 1e6:.4g}] uS do not "
            "overlap: none of the model's targets can be programmed; give a backend of the "
            "model's chip (SimulatedChip.like)")
    return None if window == (spec.g_min, spec.g_max) else window


def _warn_clipped(targets: Any, window: tuple[float, float], layer: Crossbar,
                  who: str) -> bool:
    """Warn once that ``targets`` (siemens, NaN = leave) outside ``window``, the part of the
    model chip's window a backend's narrower one shares, are clipped to its edges, naming the
    model chip's window, the shared one and how many; returns whether it warned (targets the
    backend refuses are left to its own check)."""
    try:
        t = np.asarray(targets, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    outside = int(((t < window[0]) | (t > window[1])).sum())  # (NaN: neither)
    if not outside:
        return False
    dev = layer.chip.device
    written = int((~np.isnan(t)).sum())
    warn(f"{who}: its chip's window is narrower than the model chip's [{dev.g_min * 1e6:.4g}, "
         f"{dev.g_max * 1e6:.4g}] uS (they share [{window[0] * 1e6:.4g}, "
         f"{window[1] * 1e6:.4g}] uS): {outside} of the {counted(written, 'target')} programmed "
         "fall outside it and are clipped to its edges (and pinned there by read-back); train "
         "the model for the backend's chip", stacklevel=caller_stacklevel())
    return True


#: read-noise standard deviations a product may be off by before it is taken as another unit
NOISE_SIGMAS = 10.0


def _check_weight_units(out: torch.Tensor, x: torch.Tensor, layer: Crossbar, need: str,
                        read_noise: float = 0.0) -> None:
    """:class:`ConfigError` ``need, got ...`` when a product ``out`` (``(B, n_out)`` or
    ``(B,)``, of inputs ``x`` ``(B, n_in)``) of ``layer`` is larger than weight units allow:
    every driven device at :func:`~xbarmem.hardware.faults.highest_reading` against a device
    at 0 S, plus :data:`NOISE_SIGMAS` read-noise standard deviations (the noise of the
    layer's chip, of ``read_noise`` siemens or of one window width, whichever is widest).
    Column currents in amperes or in an instrument's unit are named when they fit (currents
    are smaller than weight units by ``V_read * (g_max - g_min) / w_max``, so amperes are
    let through: they cannot be told from weights near 0)."""
    dev = layer.chip.device
    u = layer._rows_input(x).double().abs()
    noise = max(dev.read_noise, read_noise, dev.g_range) * np.sqrt(2.0)
    bound = (highest_reading(dev) * u.sum(dim=1) + NOISE_SIGMAS * noise * u.pow(2).sum(
        dim=1).sqrt()) / weight_scale(layer) * (1 + 1e-6)
    largest = out.double().abs().reshape(len(bound), -1).amax(dim=1)
    if not bool((largest > bound).any()):
        return
    per_ampere = 1 / (layer.chip.array.read_voltage * weight_scale(layer))
    fits = next((name for name, factor in CURRENTS
                 if bool((largest * factor * per_ampere <= bound).all())), None)
    raise ConfigError(
        f"{need}, got values up to {float(largest.max()):.4g}, more than weight units allow "
        f"for these inputs ({float(bound.max()):.4g} at most: every device at g_max plus a "
        "window width, and read noise)" + (
            f"; they fit as column currents in {fits}: divide I+ - I- (in amperes) by "
            "V_read * (g_max - g_min) / w_max" if fits else ""))


def check_read_back(read: Any, layer: Crossbar, who: str, sent: np.ndarray | None = None
                    ) -> np.ndarray:
    """``read`` (what backend ``who`` returned from ``read_back()``) as float64 if it is
    conductances of ``layer``'s devices ``(2, n_out, n_rows)`` in siemens: float32 or float64
    numbers (:func:`~xbarmem.hardware.units.reading_array`, the rule of every measured map:
    not integers, bool, float16, complex, objects, records), every device read (no NaN:
    stuck devices too), from 0 to g_max plus a window width of the device (a reading in
    another unit, such as microsiemens or ohms, is named as such:
    :func:`~xbarmem.hardware.units.unit_mismatch`), a reading below 0 S within an
    instrument's offset taken as 0 S with a warning, further below refused
    (:func:`~xbarmem.hardware.units.zero_offsets`); with ``sent``, the last ``program``
    call's targets, checked against them (:func:`check_follows`); else :class:`ConfigError`
    naming ``who``."""
    shape = (2, layer.n_out, layer.n_rows)
    need = f"{who}: read_back() must return {shape} conductances in siemens"
    arr = reading_array(read, f"{who}: read_back()", error=ConfigError,
                        device=layer.chip.device)
    if arr.shape != shape:
        raise ConfigError(f"{need}, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise ConfigError(f"{need}, got NaN or infinite values at {counted(bad, 'device')} "
                          f"(every device needs its reading, stuck ones too)")
    high, dev = highest_reading(layer.chip.device), layer.chip.device
    if arr.max() > high:
        unit = unit_mismatch(arr, dev)
        raise ConfigError(f"{need} (from 0 to {high:.4g}), got {arr.min():.4g} to "
                          f"{arr.max():.4g}, far above the chip window [{dev.g_min:.4g}, "
                          f"{dev.g_max:.4g}] S" + (f", and {unit}" if unit else ""))
    arr, offsets = zero_offsets(arr, f"{who}: read_back()", error=ConfigError, place=lambda i: (
        f"device ({PLANES[i[0]]}, output {i[1]}, input row {i[2]})"))
    if sent is not None:
        check_follows(arr, sent, layer, who)
    if offsets is not None:  # once the read-back is accepted (one line, not two)
        warn(offsets, stacklevel=3)
    return arr


def check_follows(read: np.ndarray, sent: np.ndarray, layer: Crossbar, who: str) -> None:
    """Refuse (:class:`ConfigError` naming ``who``) a read-back ``read`` of ``layer`` whose
    readings fall as the targets ``sent`` to its devices (NaN: not written) rise, as a
    read-back file is refused (:func:`~xbarmem.hardware.units.falling_readings`): the G+ and
    G- planes swapped (named as such when the readings lie near the other plane's targets; a
    large write error hides it), or resistances instead of conductances; or whose readings
    follow those targets transposed (:func:`~xbarmem.hardware.units.follows_rearranged`), or
    that hold one value where the targets differ (:func:`~xbarmem.hardware.units.one_reading`)."""
    value = one_reading(read, sent)
    if value is not None:
        raise ConfigError(f"{who}: read_back() reads {value:.4g} S at every device programmed, "
                          "although the targets sent differ: read_back() must return the "
                          "devices' measured conductances")
    refusal = falling_refusal(
        read, sent, sent[::-1], layer.chip.device.g_range,
        head=f"{who}: read_back() readings fall as the conductances programmed rise",
        swapped="plane 0 of read_back() is G+, plane 1 G-, as in program(targets)",
        otherwise="G+ and G- swapped, or resistances? read_back() must return conductances "
                  "in siemens (1 / ohm), plane 0 G+ and plane 1 G-, as in program(targets)")
    if refusal is not None:
        raise ConfigError(refusal)
    moved = {"transposed": read.transpose(0, 2, 1)} if read.shape[1] == read.shape[2] else {}
    found = follows_rearranged(read, sent, moved, layer.chip.device.g_range)
    if found is not None:
        raise ConfigError(
            f"{who}: read_back() readings follow the conductances programmed transposed (mean "
            f"distance {found[1] * 1e6:.2f} uS, {found[2] * 1e6:.2f} uS as laid out): "
            "read_back() must return (polarity, output, input row), as in program(targets)")


#: how xbarmem calls a backend's methods (positional arguments), as messages name the calls
BACKEND_CALLS = (("program", (None,), "program(targets)"), ("read_back", (), "read_back()"),
                 ("matvec", (None, None), "matvec(x, generator)"),
                 ("read_outputs", (None, None, None), "read_outputs(x, outputs, generator)"))
BACKEND_CONTRACT = ("n_in, n_out, program(targets), read_back(), matvec(x, generator=None), "
                    "read_outputs(x, outputs, generator=None)")
#: how :class:`DriverBackend` calls an :class:`ArrayDriver`'s methods
DRIVER_CALLS = (("write", (None, None), "write(array, targets)"),
                ("read", (None,), "read(array)"), ("apply", (None, None), "apply(array, voltages)"))


def check_backend(backend: Any, layer: Crossbar, k: int) -> ChipBackend:
    """``backend`` if it meets :class:`ChipBackend` for ``layer`` (layer ``k``): every member,
    each method callable as xbarmem calls it (:data:`BACKEND_CALLS`), and ``n_in`` / ``n_out``
    integers equal to the layer's; else :class:`ConfigError`."""
    if not isinstance(backend, ChipBackend):
        raise ConfigError(f"backend {k} ({type(backend).__name__}) does not implement "
                          "ChipBackend (n_in, n_out, program, read_back, matvec, read_outputs)")
    for name, args, call in BACKEND_CALLS:
        why = cannot_call(getattr(backend, name), *args)
        if why is not None:
            raise ConfigError(f"backend {k} ({type(backend).__name__}): its {name} cannot be "
                              f"called as {call} ({why}); a ChipBackend has {BACKEND_CONTRACT}")
    sizes = (backend.n_in, backend.n_out)
    if any(is_bool(v) or not isinstance(v, numbers.Integral) for v in sizes):
        raise ConfigError(f"backend {k} ({type(backend).__name__}): n_in and n_out must be "
                          f"integers, got {shown(sizes[0])} and {shown(sizes[1])}")
    if sizes != (layer.n_in, layer.n_out):
        raise ConfigError(f"backend {k} is {backend.n_out}x{backend.n_in} but layer {k} is "
                          f"{layer.n_out}x{layer.n_in}")
    return backend


@checked_keywords
class BackendMemory:
    """A memory whose analogue reads go through backends (one per layer) instead of the model's
    own simulated crossbars. Has ``recall`` with :meth:`SingleLayerMemory.recall`'s signature,
    so :func:`xbarmem.evaluation.evaluate.evaluate_memory` runs through it unchanged.

    Args:
        memory: the model (digital twin), a :class:`~xbarmem.memory.base.Memory`.
        backends: one backend per layer (a bare backend for a one-layer memory).
    """

    def __init__(self, memory: Memory, backends: ChipBackend | Sequence[ChipBackend]) -> None:
        self.memory = memory
        self.layers = layers_of(memory)
        # (one value that is no list -- None, a number -- is a backend that check_backend
        # refuses naming what it lacks; list() of it raised "object is not iterable")
        many = isinstance(backends, Iterable) and not isinstance(backends, str | bytes)
        self.backends: list[ChipBackend] = (
            list(backends)
            if many and not isinstance(backends, ChipBackend) else [cast(ChipBackend, backends)])
        if len(self.backends) != len(self.layers):
            raise ConfigError(f"need one backend per layer: {counted(len(self.layers), 'layer')}, "
                              f"{counted(len(self.backends), 'backend')}")
        for k, (layer, be) in enumerate(zip(self.layers, self.backends, strict=True)):
            check_backend(be, layer, k)
        #: the backends as every call goes to them, checked (:class:`CheckedReads`)
        self.checked = [CheckedReads(be, k, layer)
                        for k, (be, layer) in enumerate(zip(self.backends, self.layers,
                                                            strict=True))]
        self.n_neurons = self.layers[0].n_in
        self.chip = memory.chip

    def __repr__(self) -> str:
        """``BackendMemory(SingleLayerMemory(N=16, ...), backends=[SimulatedChip])``: the model
        and the type of each layer's backend."""
        kinds = ", ".join(type(be).__name__ for be in self.backends)
        return f"BackendMemory({self.memory!r}, backends=[{kinds}])"

    @property
    def info(self) -> dict[str, Any]:
        """The model's ``info`` (how it was trained, the kind of its patterns)."""
        return self.memory.info

    def devices(self) -> dict[str, int]:
        """The model's device accounting (:meth:`Memory.devices
        <xbarmem.memory.base.Memory.devices>`)."""
        return self.memory.devices()

    def program_targets(self) -> list[np.ndarray]:
        """Write the model's target weights through every backend (all devices the model
        believes free; known-stuck devices are not written). Returns the targets written."""
        written = []
        for layer, be, (w, b) in zip(self.layers, self.checked, target_parameters(self.memory),
                                     strict=True):
            targets, _ = conductance_targets(layer, w, b)
            targets = np.where(layer.stuck, np.nan, targets)
            be.program(targets)
            written.append(targets)
        return written

    def matrix(self) -> LayeredMap:
        """The object :func:`xbarmem.memory.recall.recall` runs through: the stack of backends
        with tanh hidden units (one backend reads exactly as itself), each product checked
        against the protocol (:class:`CheckedReads`)."""
        return LayeredMap(self.checked)

    @checked_keywords
    def recall(self, cues: ArrayLike, *, mode: str = "sync", activation: str | None = None,
               max_iterations: int = 100, tol: float = DEFAULT_TOL,
               seed: int | torch.Generator | None = 0) -> RecallResult:
        """Recall from ``cues`` ``(B, N)`` through the backends; cues are checked (and
        refused with :class:`~xbarmem.errors.PatternError`) as by
        :func:`xbarmem.memory.recall.recall`, before any backend is read. ``activation``
        None: the neurons of the model's kind (``tanh`` for continuous patterns, else
        ``sign``), as :meth:`Memory.recall <xbarmem.memory.base.Memory.recall>`; ``mode``,
        ``max_iterations``, ``tol`` and ``seed`` as there."""
        if activation is None:
            activation = "tanh" if memory_kind(self.memory) == "continuous" else "sign"
        return recall(self.matrix(), cues, mode=mode, activation=activation,
                      max_iterations=max_iterations, tol=tol, seed=seed)


@checked_keywords
def simulated_backends(memory: Memory, *, chip: ChipSpec | None = None,
                       faults: FaultMap | None = None, seed: int = 0,
                       read_averages: int = 1) -> list[SimulatedChip]:
    """One fresh :class:`SimulatedChip` per layer of ``memory`` (layer ``k`` seeded
    ``seed + 7919 * k``, :func:`~xbarmem.seeds.offset_seed`), optionally with other noise
    (``chip``) or true faults (``faults``)."""
    layers, seed = layers_of(memory), check_seed(seed)
    if chip is not None:
        check_type(chip, ChipSpec, "chip", "a ChipSpec (from load_preset or load_chip)")
    if faults is not None:
        check_type(faults, FaultMap, "faults", "a FaultMap")
    return [SimulatedChip.like(layer, chip=chip, faults=faults, seed=offset_seed(seed, 7919 * k),
                               read_averages=read_averages)
            for k, layer in enumerate(layers)]

