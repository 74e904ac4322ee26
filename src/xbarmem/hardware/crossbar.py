"""Crossbar: a signed weight matrix (plus bias) held as differential conductance pairs.

Layout. A matrix ``W`` of shape ``(n_out, n_in)`` and an optional bias ``b`` ``(n_out,)`` form the
augmented matrix ``A = [W | b]`` of shape ``(n_out, n_in + 1)``. Physically inputs drive rows
(word lines) and outputs are sensed on columns (bit lines): input ``j`` is row ``j``, the bias
is one extra row ``n_in`` driven at a constant +V_read, output ``i`` is column ``i``. The matrix
tiles over arrays of ``rows x cols`` cells, row tiles first: array ``first_array + rt * n_ct + ct``
holds rows ``rt*rows ...`` and columns ``ct*cols ...``. Each cell is a pair (G+, G-) realising

    w = w_max * (G+ - G-) / (g_max - g_min)          (weight units)

Error semantics. Faults come from the :class:`~xbarmem.hardware.faults.FaultMap` and never change.
Programming (:meth:`Crossbar.program`) applies the realisable interval, level quantisation and
write error once; the programmed conductances persist until the next ``program`` call. Every
read (:meth:`Crossbar.matvec`, :meth:`Crossbar.read_outputs`) adds fresh read noise.
Read noise of the devices is applied exactly through its output-referred equivalent: with
independent Gaussian device noise of std ``s`` siemens, output ``i`` receives Gaussian noise of std
``w_max / (g_max - g_min) * s * sqrt(2 * sum_j u_j^2)`` in weight units, ``u`` the row inputs.

Ties. A product computed in float32 is exact only to its rounding: a field that is exactly 0
(Hebb's weights, conductances on a level grid) comes out as +-1e-8 or so, and a sign neuron
would take that rounding for a sign. :func:`tie_tolerance` bounds it per output; recall
(:mod:`xbarmem.memory.recall`) reads a field within it as 0.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch

from xbarmem.checks import (
    as_real_array,
    as_written,
    check_count,
    check_flag,
    check_tensor,
    check_type,
    checked_keywords,
    counted,
    is_bool,
    shown,
    shown_typed,
    spanned,
    tensor_of,
)
from xbarmem.errors import ConfigError, PatternError
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.faults import FaultMap, highest_reading
from xbarmem.hardware.levels import WeightGrid
from xbarmem.spec import Number


def tie_tolerance(a: torch.Tensor) -> torch.Tensor:
    """``|field|`` at or below which output ``i`` of matrix ``a`` ``(..., n_out, R)`` (weight
    units, inputs in [-1, 1]) is a tie: ``2 eps sqrt(R) sum_j |a_ij|``, ``eps`` float32's
    machine epsilon. That is above the rounding of the float32 weights and of the product's
    sum, and below the smallest field that is not 0 when the weights are multiples of one step
    ``D`` (as Hebb's and a level grid's): ``|a_ij| <= K D`` puts it below ``2 eps R^1.5 K D``,
    under ``D`` while ``R^1.5 K < 1 / (2 eps)``, about 4e6. Returns float32 ``(..., n_out)``."""
    eps = torch.finfo(torch.float32).eps
    rows = a.shape[-1]
    return (2.0 * eps * math.sqrt(rows)) * a.abs().sum(dim=-1).to(torch.float32)


def level_index(r: np.ndarray) -> np.ndarray:
    """The nearest whole level of ``r`` (conductances in level steps above ``g_min``), a tie
    to the even one as ``numpy.round``. ``r`` within float32 rounding of a half (weights are
    float32; ``g_min + dG`` rounds in float64) is a tie: a weight half-way between two grid
    values goes to the even level on every chip, as :meth:`WeightGrid.quantise` rounds it."""
    half = np.floor(r) + 0.5
    near = np.abs(r - half) <= 4.0 * float(np.finfo(np.float32).eps) * np.maximum(1.0, np.abs(r))
    return np.round(np.where(near, half, r))


def arrays_needed(chip: ChipSpec, n_out: int, n_rows: int) -> int:
    """Number of arrays a matrix with ``n_rows`` driven rows and ``n_out`` outputs occupies."""
    return math.ceil(n_rows / chip.array.rows) * math.ceil(n_out / chip.array.cols)


def largest_square(chip: ChipSpec, arrays: int, bias: bool = True) -> int:
    """The largest N whose ``N x N`` matrix (plus a bias row with ``bias``) fits on ``arrays``
    arrays of ``chip`` (:func:`arrays_needed`): what a one-layer memory of N neurons can be at
    most on a fault map of that many arrays (a multilayer memory's first layer, square or not,
    is not the whole memory); 0 when none fits."""
    rows, cols = chip.array.rows, chip.array.cols
    return max([min(r * rows - int(bias), (arrays // r) * cols) for r in range(1, arrays + 1)],
               default=0)


@checked_keywords
class Crossbar:
    """An analogue matrix on the simulated chip: program it, then multiply through it.

    Args:
        chip: device physics and array mapping.
        n_out: outputs (columns) of the matrix.
        n_in: inputs (rows) of the matrix, bias row excluded.
        faults: fault map of the chip; must cover ``first_array + n_arrays`` arrays and fit the
            chip (:meth:`FaultMap.check_chip`: its array size, fault model and window).
        bias: whether a bias row is allocated (driven at +V_read).
        first_array: index of the first array of ``faults`` this matrix occupies.

    Raises :class:`ConfigError` for a size below 1 or faults that do not cover the matrix,
    what :meth:`FaultMap.check_chip` raises for faults of another chip, and
    :class:`~xbarmem.errors.ArgumentError` for a ``chip`` or ``faults`` of another type.
    """

    def __init__(self, chip: ChipSpec, n_out: int, n_in: int, faults: FaultMap, *,
                 bias: bool = True, first_array: int = 0) -> None:
        n_out, n_in = check_count(n_out, "n_out"), check_count(n_in, "n_in")
        check_type(chip, ChipSpec, "chip", "a ChipSpec (load_chip or load_preset)")
        check_type(faults, FaultMap, "faults", "a FaultMap")
        check_flag(bias, "bias")
        check_count(first_array, "first_array", minimum=0)
        self.chip = chip
        self.n_out, self.n_in, self.has_bias = int(n_out), int(n_in), bool(bias)
        self.n_rows = self.n_in + int(self.has_bias)
        arr = chip.array
        self.faults = faults.check_chip(chip)
        self.n_arrays = arrays_needed(chip, self.n_out, self.n_rows)
        if first_array + self.n_arrays > faults.n_arrays:
            raise ConfigError(
                f"a {self.n_out}x{self.n_rows} matrix{' (incl. bias row)' if bias else ''} "
                f"needs {spanned('array', first_array, first_array + self.n_arrays - 1)} of "
                f"{arr.rows}x{arr.cols}, but the fault map covers only "
                f"{counted(faults.n_arrays, 'array')}"
                f"{self._without_bias(first_array, faults.n_arrays)}")
        self.first_array = int(first_array)
        #: (2, n_out, n_rows) float64 siemens / NaN: stuck conductance of each device of A.
        self.g_stuck = self._gather(faults.g_stuck)
        if arr.fault_model == "weight" and self.has_bias:
            self.g_stuck[:, :, self.n_in] = np.nan  # paper model: the bias is never faulty
        self.w_max: float = arr.weight_range
        self.g_pos: np.ndarray | None = None
        self.g_neg: np.ndarray | None = None
        self._w_eff: torch.Tensor | None = None
        self._ties: torch.Tensor | None = None

    def __repr__(self) -> str:
        """``Crossbar(64x65 incl. bias row, chip='rram', arrays 0..1 of 64x64, w_max=0.5)``."""
        arr = self.chip.array
        where = spanned("array", self.first_array, self.first_array + self.n_arrays - 1)
        return (f"Crossbar({self.n_out}x{self.n_rows}{' incl. bias row' if self.has_bias else ''}"
                f", chip={self.chip.name!r}, {where} of {arr.rows}x{arr.cols}, "
                f"w_max={self.w_max:g}{'' if self.programmed else ', programmed=False'})")

    # ------------------------------------------------------------------ layout
    def _tile_of(self) -> list[tuple[int, slice, slice]]:
        """(array index, row slice, column slice) for every tile, in logical coordinates."""
        rows, cols = self.chip.array.rows, self.chip.array.cols
        n_ct = math.ceil(self.n_out / cols)
        out = []
        for rt in range(math.ceil(self.n_rows / rows)):
            for ct in range(n_ct):
                r = slice(rt * rows, min((rt + 1) * rows, self.n_rows))
                c = slice(ct * cols, min((ct + 1) * cols, self.n_out))
                out.append((self.first_array + rt * n_ct + ct, r, c))
        return out

    def _without_bias(self, first_array: int, available: int) -> str:
        """The advice to drop the bias row when the matrix would fit the map without it."""
        if self.has_bias and first_array + arrays_needed(
                self.chip, self.n_out, self.n_in) <= available:
            return "; without the bias row (bias=False) it fits"
        return ""

    def _gather(self, per_array: np.ndarray) -> np.ndarray:
        """Physical ``(n_arrays, 2, rows, cols)`` data -> logical ``(2, n_out, n_rows)``."""
        out = np.full((2, self.n_out, self.n_rows), np.nan)
        for a, r, c in self._tile_of():
            block = per_array[a, :, : r.stop - r.start, : c.stop - c.start]
            out[:, c, r] = block.transpose(0, 2, 1)
        return out

    def scatter(self, logical: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """``logical`` ``(2, n_out, n_rows)`` data -> physical ``(n_arrays, 2, rows, cols)`` for
        the arrays this matrix occupies (cells it does not use hold ``fill``, a number; NaN
        too). :class:`PatternError` for another shape."""
        logical = as_real_array(logical, "logical", error=PatternError)
        if logical.shape != (2, self.n_out, self.n_rows):
            raise PatternError(f"logical must have shape (2, {self.n_out}, {self.n_rows}) "
                               f"(polarity, output, input row), got {logical.shape}")
        if is_bool(fill) or not isinstance(fill, numbers.Real):
            raise ConfigError(f"fill must be a number (NaN too), got {shown(fill)}")
        fill = as_written(fill)  # (a numpy float32 one made the whole array float32)
        rows, cols = self.chip.array.rows, self.chip.array.cols
        out = np.full((self.n_arrays, 2, rows, cols), fill)
        for a, r, c in self._tile_of():
            block = logical[:, c, r].transpose(0, 2, 1)
            out[a - self.first_array, :, : block.shape[1], : block.shape[2]] = block
        return out

    @property
    def stuck(self) -> np.ndarray:
        """Boolean ``(2, n_out, n_rows)``: stuck devices of the augmented matrix."""
        return ~np.isnan(self.g_stuck)

    # ------------------------------------------------------------------ realisable weights
    def bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Interval ``[lo, hi]`` each weight of ``A = [W | b]`` can take, weight units.

        Returns two float32 tensors of shape ``(n_out, n_rows)``. ``lo == hi`` means the weight is
        pinned (both devices stuck, or a faulty weight under the ``weight`` model). Free weights
        are ``[-w_max, w_max]`` under the ``device`` model and unbounded under ``weight``.
        A stuck G+ at ``s`` gives ``[(s - g_max), (s - g_min)] * w_max / dG``; a stuck G- at ``s``
        gives ``[(g_min - s), (g_max - s)] * w_max / dG``.
        """
        dev = self.chip.device
        k = self.w_max / dev.g_range
        sp, sn = self.g_stuck[0], self.g_stuck[1]
        free_p, free_n = np.isnan(sp), np.isnan(sn)
        if self.chip.array.fault_model == "weight":
            lo = np.where(free_p & free_n, -np.inf, 0.0)
            hi = np.where(free_p & free_n, np.inf, 0.0)
        else:
            p_lo = np.where(free_p, dev.g_min, sp)
            p_hi = np.where(free_p, dev.g_max, sp)
            n_lo = np.where(free_n, dev.g_min, sn)
            n_hi = np.where(free_n, dev.g_max, sn)
            lo, hi = (p_lo - n_hi) * k, (p_hi - n_lo) * k
        return (torch.as_tensor(lo, dtype=torch.float32),
                torch.as_tensor(hi, dtype=torch.float32))

    def weight_grid(self) -> WeightGrid | None:
        """The weights :meth:`program` can give each weight of ``A = [W | b]`` without write
        error (:class:`~xbarmem.hardware.levels.WeightGrid`), or None for a chip without
        levels (``device.levels`` 0: continuous conductances)."""
        dev = self.chip.device
        if dev.levels < 2:
            return None
        lo, hi = self.bounds()
        sp, sn = self.g_stuck[0], self.g_stuck[1]
        free_p, free_n = np.isnan(sp), np.isnan(sn)
        if self.chip.array.fault_model == "weight":
            step, relative, c = 0.0, 1.0 / (dev.levels - 1), 0.0
        else:
            step, relative = self.w_max / (dev.levels - 1), 0.0
            c = self.w_max / dev.g_range
        # G+ stuck: (s - g_min) c - k D; G- stuck: k D - (s - g_min) c; both: pinned at lo
        offset = np.where(free_p & free_n, 0.0, np.where(
            free_n, (sp - dev.g_min) * c, np.where(free_p, (dev.g_min - sn) * c, lo.numpy())))
        return WeightGrid(offset=torch.as_tensor(offset, dtype=torch.float32), lo=lo, hi=hi,
                          step=torch.tensor(step, dtype=torch.float32),
                          relative=torch.tensor(relative, dtype=torch.float32))

    def augment(self, weights: torch.Tensor | np.ndarray,
                bias: torch.Tensor | np.ndarray | None = None) -> torch.Tensor:
        """``[W | b]`` as float32 ``(n_out, n_rows)`` from ``weights`` ``(n_out, n_in)`` and
        ``bias`` ``(n_out,)`` (``None``: zeros); :class:`PatternError` for a wrong shape or
        NaN/inf."""
        w = tensor_of(as_real_array(weights, "weights", error=PatternError, dtype=None),
                      dtype=torch.float32)
        if w.shape != (self.n_out, self.n_in):
            raise PatternError(f"weights must have shape ({self.n_out}, {self.n_in}), "
                               f"got {tuple(w.shape)}")
        parts = [w]
        if self.has_bias:
            b = torch.zeros(self.n_out, dtype=torch.float32) if bias is None else tensor_of(
                as_real_array(bias, "bias", error=PatternError, dtype=None),
                dtype=torch.float32).reshape(-1)
            if b.shape != (self.n_out,):
                raise PatternError(f"bias must have shape ({self.n_out},), got {tuple(b.shape)}")
            parts.append(b[:, None])
        elif bias is not None and np.any(as_real_array(bias, "bias", error=PatternError) != 0):
            raise ConfigError("this crossbar has no bias row but a non-zero bias was given")
        a = torch.cat(parts, dim=1)
        if not torch.isfinite(a).all():
            raise PatternError("weights contain NaN or inf")
        return a

    # ------------------------------------------------------------------ programming
    def program(self, weights: torch.Tensor | np.ndarray,
                bias: torch.Tensor | np.ndarray | None = None, *, seed: int = 0) -> Crossbar:
        """Write ``[W | b]`` (``weights``, ``bias`` as in :meth:`augment`) into the devices
        (persistent until the next call); ``seed`` (integer >= 0) seeds the write error.

        Each weight is first projected onto its realisable interval; free devices get target
        conductances (one device of a free pair at g_min, the other carrying ``|w|``; a free
        device next to a stuck one compensates for it), quantised to ``levels`` if set, then
        receive Gaussian write error (``write_noise`` siemens, seeded) and are clipped to the
        window. Stuck devices stay at their stuck conductance. Returns ``self``.
        """
        check_count(seed, "seed", minimum=0, maximum=2**63 - 1)
        a = self.augment(weights, bias).double()
        dev = self.chip.device
        self.w_max = self.target_w_max(a)
        lo, hi = self.bounds()
        clipped = torch.minimum(torch.maximum(a, lo.double()), hi.double()).numpy()
        dg = clipped * dev.g_range / self.w_max  # wanted G+ - G-, siemens
        sp, sn = self.g_stuck[0], self.g_stuck[1]
        free_p, free_n = np.isnan(sp), np.isnan(sn)
        both = free_p & free_n
        g_pos = np.where(both, dev.g_min + np.clip(dg, 0, None), np.where(free_p, sn + dg, sp))
        g_neg = np.where(both, dev.g_min + np.clip(-dg, 0, None), np.where(free_n, sp - dg, sn))
        rng = np.random.default_rng(seed)
        g_pos, g_neg = (self._write(g, free, rng) for g, free in ((g_pos, free_p), (g_neg, free_n)))
        return self.set_conductances(g_pos, g_neg, self.w_max)

    def target_w_max(self, augmented: torch.Tensor) -> float:
        """The ``w_max`` :meth:`program` uses for ``augmented`` ``A = [W | b]``
        (:meth:`augment`): the chip's ``weight_range`` under the ``device`` fault model; under
        ``weight``, the largest ``|A|`` of the free pairs (1 when there is none or it is 0)."""
        if self.chip.array.fault_model != "weight":
            return self.chip.array.weight_range
        free = torch.as_tensor(np.isnan(self.g_stuck).all(axis=0))
        peak = float(augmented.double()[free].abs().max()) if free.any() else 0.0
        return peak if peak > 0 else 1.0

    def set_conductances(self, g_pos: np.ndarray, g_neg: np.ndarray, w_max: float) -> Crossbar:
        """Restore a programmed state (e.g. from a saved model): ``g_pos`` and ``g_neg`` are the
        G+ and G- conductances, ``(n_out, n_rows)`` siemens, finite, from 0 up to
        :func:`~xbarmem.hardware.faults.highest_reading` (as fault maps); ``w_max`` a finite
        number > 0. Returns ``self``; :class:`ConfigError` otherwise."""
        g_pos, g_neg = (as_real_array(g, name) for g, name in ((g_pos, "g_pos"), (g_neg, "g_neg")))
        w_max = Number(gt=0)(w_max, "w_max")
        shape = (self.n_out, self.n_rows)
        if g_pos.shape != shape or g_neg.shape != shape:
            raise ConfigError(f"conductances must have shape {shape}, got {g_pos.shape} and "
                              f"{g_neg.shape}")
        for name, g in (("g_pos", g_pos), ("g_neg", g_neg)):
            if not np.isfinite(g).all():
                raise ConfigError(f"{name} must hold finite conductances, got NaN or inf")
        _check_siemens(self.chip, g_pos, g_neg)
        self.g_pos, self.g_neg, self.w_max = g_pos, g_neg, float(w_max)
        self._w_eff = torch.as_tensor((g_pos - g_neg) * (self.w_max / self.chip.device.g_range),
                                      dtype=torch.float32)
        self._ties = tie_tolerance(self._w_eff)
        return self

    def _write(self, target: np.ndarray, free: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        dev = self.chip.device
        g = np.clip(target, dev.g_min, dev.g_max)
        if dev.levels >= 2:
            step = dev.g_range / (dev.levels - 1)
            # level k is g_min + k * step, the top one g_max itself (the product lands an
            # ulp above or below it)
            k = level_index((g - dev.g_min) / step)
            g = np.where(k >= dev.levels - 1, dev.g_max,
                         np.minimum(dev.g_min + k * step, dev.g_max))
        if dev.write_noise > 0:
            g = np.clip(g + rng.normal(0.0, dev.write_noise, size=g.shape), dev.g_min, dev.g_max)
        return np.where(free, g, target)

    @property
    def programmed(self) -> bool:
        """Whether :meth:`program` (or :meth:`set_conductances`) has run."""
        return self._w_eff is not None

    def planes(self) -> np.ndarray:
        """The programmed conductances ``(2, n_out, n_rows)`` siemens, G+ then G- (no read
        noise); :class:`ConfigError` before :meth:`program`."""
        if self.g_pos is None or self.g_neg is None:
            raise ConfigError("crossbar has not been programmed yet (call program())")
        return np.stack([self.g_pos, self.g_neg])

    def _require_programmed(self) -> torch.Tensor:
        if self._w_eff is None:
            raise ConfigError("crossbar has not been programmed yet (call program())")
        return self._w_eff

    def effective(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Programmed ``(W, b)`` in weight units, as the devices hold them (no read noise)."""
        a = self._require_programmed()
        if self.has_bias:
            return a[:, : self.n_in].clone(), a[:, self.n_in].clone()
        return a.clone(), None

    def tie_tolerance(self) -> torch.Tensor:
        """``(n_out,)`` float32: the :func:`tie_tolerance` of the programmed ``[W | b]``, weight
        units (a field within it of 0 is a tie); :class:`ConfigError` before :meth:`program`."""
        self._require_programmed()
        assert self._ties is not None  # (set with the conductances)
        return self._ties

    # ------------------------------------------------------------------ reads
    @property
    def read_noise_scale(self) -> float:
        """Output-referred read-noise std per unit input norm, weight units."""
        dev = self.chip.device
        return self.w_max / dev.g_range * dev.read_noise * math.sqrt(2.0)

    def _rows_input(self, x: torch.Tensor) -> torch.Tensor:
        x = batch_input(x, self.n_in)
        if self.has_bias:
            x = torch.cat([x, torch.ones(x.shape[0], 1, dtype=torch.float32)], dim=1)
        return x

    def matvec(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One array read: ``A @ [x; 1]`` for a batch ``x`` ``(B, n_in)`` -> ``(B, n_out)``.

        Values are in weight units (sensed current divided by ``V_read * dG / w_max``). Fresh
        read noise is drawn from ``generator`` on every call when the device has read noise;
        with ``generator=None`` from torch's global generator (``torch.manual_seed`` fixes it,
        and the call advances it): pass a seeded ``torch.Generator`` to leave the global
        stream alone, as xbarmem's recalls do (their ``seed``).
        :class:`ConfigError` before :meth:`program`, :class:`PatternError` for another shape.
        """
        a = self._require_programmed()
        u = self._rows_input(x)
        _check_generator(generator)
        y = u @ a.T
        if self.chip.device.read_noise > 0:
            std = self.read_noise_scale * u.pow(2).sum(dim=1, keepdim=True).sqrt()
            y = y + std * torch.randn(y.shape, generator=generator, dtype=torch.float32)
        return y

    def read_outputs(self, x: torch.Tensor, outputs: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """Read one output per batch row: ``y[k] = A[outputs[k]] . [x_k; 1]`` -> ``(B,)``.

        This is the asynchronous update's read: a single column sensed, fresh read noise.
        ``x``: ``(B, n_in)``; ``outputs``: ``(B,)`` integer indices in ``0 .. n_out - 1``;
        ``generator``: of the read noise, as in :meth:`matvec` (None: torch's global
        generator). :class:`PatternError` for other shapes or indices.
        """
        a = self._require_programmed()
        u = self._rows_input(x)
        outputs = self._outputs(outputs, u.shape[0])
        _check_generator(generator)
        y = (a[outputs] * u).sum(dim=1)
        if self.chip.device.read_noise > 0:
            std = self.read_noise_scale * u.pow(2).sum(dim=1).sqrt()
            y = y + std * torch.randn(y.shape, generator=generator, dtype=torch.float32)
        return y

    def _outputs(self, outputs: torch.Tensor, batch: int) -> torch.Tensor:
        """``outputs`` as :func:`output_indices` reads them for this crossbar."""
        return output_indices(outputs, batch, self.n_out)

    def currents(self, x: torch.Tensor) -> torch.Tensor:
        """Noise-free sensed column currents, amperes, ``(B, n_out)``, for inputs ``x`` in [-1,1]
        applied as ``x * V_read`` volts (bias row at +V_read)."""
        a = self._require_programmed()
        u = self._rows_input(x)
        dev, arr = self.chip.device, self.chip.array
        return (u @ a.T) * (arr.read_voltage * dev.g_range / self.w_max)


def batch_input(x: Any, n_in: int) -> torch.Tensor:
    """The one reader of the inputs of a matrix read (``matvec``, ``read_outputs``,
    ``currents`` of a :class:`Crossbar` and of a :class:`~xbarmem.memory.recall.FloatMatrix`):
    ``x`` (a tensor of any real dtype, with or without ``requires_grad``, a numpy array or
    nested lists) as a float32 tensor ``(B, n_in)`` (a float32 tensor as it is);
    :class:`PatternError` for another shape or no real numbers."""
    if not isinstance(x, torch.Tensor):
        x = as_real_array(x, "input", error=PatternError, dtype="float32")
    x = tensor_of(check_tensor(x, "input", error=PatternError), dtype=torch.float32)
    if x.ndim != 2 or x.shape[1] != n_in:
        raise PatternError(f"input must have shape (batch, {n_in}), got {tuple(x.shape)}")
    return x


def output_indices(outputs: Any, batch: int, n_out: int) -> torch.Tensor:
    """``outputs`` as an int64 tensor ``(batch,)`` of indices in ``0 .. n_out - 1`` (a
    tensor, an array or a list), else :class:`PatternError` naming them (the outputs of a
    matrix's ``read_outputs``)."""
    if not (isinstance(outputs, torch.Tensor) and outputs.dtype == torch.int64):
        arr = as_real_array(outputs, "outputs", error=PatternError, dtype=None)
        if arr.dtype.kind not in "iu" and arr.size:  # ([] is read as floats)
            raise PatternError(f"outputs must be integer indices of outputs, got "
                               f"{shown_typed(outputs)}")
        outputs = torch.as_tensor(arr.astype(np.int64))
    else:
        check_tensor(outputs, "outputs", error=PatternError)
    if outputs.shape != (batch,):
        raise PatternError(f"outputs must have shape ({batch},) (one output per input row), "
                           f"got {tuple(outputs.shape)}")
    if batch:
        lo, hi = torch.aminmax(outputs)
        if lo < 0 or hi >= n_out:
            raise PatternError(f"outputs must be indices in 0..{n_out - 1}, got "
                               f"{int(lo)}..{int(hi)}")
    return outputs


def _check_generator(generator: object) -> None:
    """A generator of read noise is a ``torch.Generator`` or None
    (:class:`~xbarmem.errors.ArgumentError` naming it)."""
    if generator is not None:
        check_type(generator, torch.Generator, "generator", "a torch.Generator (or None)")


def _check_siemens(chip: ChipSpec, g_pos: np.ndarray, g_neg: np.ndarray) -> None:
    """Refuse (:class:`ConfigError`) conductances that no device of ``chip`` can hold: below 0
    or above :func:`~xbarmem.hardware.faults.highest_reading` (e.g. microsiemens given as
    siemens), naming how many and the first."""
    high = highest_reading(chip.device)
    for g, name in ((g_pos, "g_pos"), (g_neg, "g_neg")):
        bad = (g < 0) | (g > high)
        if bad.any():
            i, j = (int(v) for v in np.argwhere(bad)[0])
            raise ConfigError(f"{name}: {counted(int(bad.sum()), 'conductance')} outside [0, "
                              f"{high:.4g}] "
                              f"S (the chip window [{chip.device.g_min:.4g}, "
                              f"{chip.device.g_max:.4g}] S plus slack), e.g. {g[i, j]:.4g} at "
                              f"[{i}, {j}]; conductances are in siemens")
