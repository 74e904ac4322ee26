"""Recall dynamics: synchronous and asynchronous updates through an analogue matrix.

:func:`recall` runs cues through one matrix object; :func:`recall_batch` runs cues through a
stack of noise-free matrices (cue ``b`` through matrix ``net[b]``, e.g. many memories at once,
:func:`stack_matrices`). Both synchronous paths are one loop with the same stopping rules.

The matrix of :func:`recall` is anything with ``n_in``, ``matvec(x, generator)`` (one full
read, ``(B, n_in) -> (B, n_out)``) and ``read_outputs(x, outputs, generator)`` (one output per
batch row) -- a programmed :class:`~xbarmem.hardware.crossbar.Crossbar`, or
:class:`FloatMatrix` for ideal weights. Every read draws fresh read noise from the matrix.

* ``sync``: every step updates all neurons from one full read (one crossbar product).
* ``async``: one neuron per step, in a fresh random order per sweep (classic Hopfield); each
  step reads a single output.
* ``sign`` activation (binary states, +-1: a zero field keeps the sign of the neuron's state,
  that of a cue's value in between with 0 read as +1) or ``tanh`` (continuous states). Zero
  means zero up to float32 rounding: a matrix with a ``tie_tolerance()`` (crossbars,
  :class:`FloatMatrix`, a memory's layers: the last layer's,
  :func:`~xbarmem.hardware.crossbar.tie_tolerance`) has a field within it of 0 read as 0, so
  that a field that is 0 exactly (Hebb's weights, a level grid) keeps the state whatever the
  rounding of its sum; a matrix without one (a backend's measured products) ties at 0 only.

A cue stops at a fixed point (a full step/sweep that changes nothing; for ``tanh`` no state
by more than ``tol``), at a 2-cycle (sync, sign: the state equals the one two steps before)
or at the iteration cap.

What a cue's recall depends on besides itself: noise-free synchronous recall gives each cue
the states, iterations and flags it gets recalled alone, whatever the batch, up to float32
rounding (the batch's product can differ from a cue's own in the last digit: tanh states by
that much, a sign only for a field that close to its tie tolerance). The async update order
and the read noise are drawn from one stream (``seed``) for the whole batch, so with those a
cue's recall depends on the cues beside it and their order; the batch's recall is the same
for the same seed.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from xbarmem.checks import (
    ArrayLike,
    as_real_array,
    as_written,
    check_choice,
    check_count,
    check_tensor,
    checked_keywords,
    numeric_array,
    result_repr,
    shown,
    tensor_of,
    value_equality,
)
from xbarmem.data.patterns import check_cue_values
from xbarmem.errors import ArgumentError, ConfigError, PatternError
from xbarmem.hardware.crossbar import batch_input, output_indices, tie_tolerance
from xbarmem.names import ACTIVATIONS, DEFAULT_TOL, MODES
from xbarmem.seeds import as_generator


@checked_keywords
@value_equality
@dataclass
class RecallResult:
    """Outcome of recalling a batch of ``B`` cues.

    Attributes:
        states: ``(B, N)`` float32 final states.
        iterations: ``(B,)`` int64 sync steps or async sweeps performed, including the last one
            that confirmed the fixed point.
        reads: ``(B,)`` int64 array reads: sync, one full product per step; async, one
            single-output read per neuron update.
        converged: ``(B,)`` bool, reached a fixed point.
        cycled: ``(B,)`` bool, stopped on a 2-cycle (sync sign dynamics only).
        mode: ``"sync"`` or ``"async"``.
        activation: ``"sign"`` or ``"tanh"``.
    """

    states: torch.Tensor
    iterations: torch.Tensor
    reads: torch.Tensor
    converged: torch.Tensor
    cycled: torch.Tensor
    mode: str
    activation: str

    def __repr__(self) -> str:
        """The states' shape, the iterations' range and how many cues converged or cycled (the
        attributes hold every value; :meth:`summary` the means)."""
        return result_repr("RecallResult", {
            "states": self.states, "iterations": self.iterations, "converged": self.converged,
            "cycled": self.cycled, "mode": self.mode, "activation": self.activation})

    def summary(self) -> dict:
        """Means and counts as plain numbers (means in float64: a share of 13 in 20 is 0.65,
        not float32's 0.6499999761581421)."""
        return {"cues": int(self.states.shape[0]), "mode": self.mode,
                "activation": self.activation,
                "converged": float(self.converged.double().mean()),
                "cycled": float(self.cycled.double().mean()),
                "mean_iterations": float(self.iterations.double().mean()),
                "mean_reads": float(self.reads.double().mean())}


@checked_keywords
class FloatMatrix:
    """Ideal float weights behind the matrix interface (no hardware): ``weights`` ``W``
    ``(n_out, n_in)``, optional ``bias`` ``(n_out,)`` (``None``: zeros); stored as float32.
    :class:`PatternError` for other shapes, non-numeric values, NaN or inf. Useful as the
    reference a noise-free chip must reproduce."""

    def __init__(self, weights: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        w = as_real_array(weights, "weights", error=PatternError, dtype=None)
        if w.ndim != 2 or 0 in w.shape:
            raise PatternError(f"weights must be a non-empty (n_out, n_in) matrix, "
                               f"got shape {w.shape}")
        for name, values in (("weights", w), ("bias", bias)):
            if values is not None and not np.isfinite(
                    as_real_array(values, name, error=PatternError)).all():
                raise PatternError(f"{name} must be finite numbers, got NaN or inf")
        self.weights = tensor_of(w, dtype=torch.float32)
        b = None if bias is None else as_real_array(bias, "bias", error=PatternError, dtype=None)
        if b is not None and b.shape != (w.shape[0],):
            raise PatternError(f"bias must have shape ({w.shape[0]},), got {b.shape}")
        self.bias = (torch.zeros(self.weights.shape[0], dtype=torch.float32) if b is None
                     else torch.as_tensor(b, dtype=torch.float32))
        self.n_out, self.n_in = self.weights.shape

    def __repr__(self) -> str:
        """``FloatMatrix(16x16, bias=False)``: its shape (outputs x inputs) and whether it has a
        bias other than zeros, not its values."""
        return (f"FloatMatrix({self.n_out}x{self.n_in}, "
                f"bias={bool(self.bias.count_nonzero())})")

    def matvec(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``W @ x + b`` for a batch ``x`` ``(B, n_in)`` -> float32 ``(B, n_out)``, exactly
        (``generator`` is unused: no read noise). ``x`` is read as a crossbar reads it
        (:func:`~xbarmem.hardware.crossbar.batch_input`: a tensor of any real dtype, an
        array or nested lists, as float32); :class:`PatternError` for another shape."""
        return batch_input(x, self.n_in) @ self.weights.T + self.bias

    def read_outputs(self, x: torch.Tensor, outputs: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """Output ``outputs[k]`` of row ``k`` of ``x`` ``(B, n_in)`` -> float32 ``(B,)``,
        exactly (``generator`` is unused); ``x`` as in :meth:`matvec`, ``outputs`` integer
        indices (:func:`~xbarmem.hardware.crossbar.output_indices`); :class:`PatternError`
        for other shapes or indices."""
        x = batch_input(x, self.n_in)
        outputs = output_indices(outputs, x.shape[0], self.n_out)
        return (self.weights[outputs] * x).sum(dim=1) + self.bias[outputs]

    def tie_tolerance(self) -> torch.Tensor:
        """``(n_out,)``: :func:`~xbarmem.hardware.crossbar.tie_tolerance` of ``[W | b]``."""
        return tie_tolerance(torch.cat([self.weights, self.bias[:, None]], dim=1))


def _activate(h: torch.Tensor, held: torch.Tensor, activation: str,
              ties: torch.Tensor | None = None) -> torch.Tensor:
    """The next states from fields ``h``: ``tanh``, or the sign with a field within ``ties``
    (broadcast to ``h``; None: 0) of 0 keeping ``held``, the +-1 states before the step
    (:func:`_held`)."""
    if activation == "tanh":
        return torch.tanh(h)
    if ties is None:
        return torch.where(h > 0, 1.0, torch.where(h < 0, -1.0, held))
    return torch.where(h > ties, 1.0, torch.where(h < -ties, -1.0, held))


def _held(states: torch.Tensor) -> torch.Tensor:
    """What a sign neuron at a tie keeps of ``states``: its sign, 0 read as +1 (+-1 states as
    they are; only a cue's values in between change), so sign states are always +-1."""
    return torch.where(states >= 0, 1.0, -1.0).to(states.dtype)  # (not torch's default dtype)


def matrix_ties(matrix) -> torch.Tensor | None:
    """``matrix.tie_tolerance()`` ``(n_out,)``, or None for a matrix without one."""
    method = getattr(matrix, "tie_tolerance", None)
    return None if method is None else method()


def check_recall(mode: str, activation: str, max_iterations: int) -> tuple[str, str]:
    """The canonical ``(mode, activation)`` (:func:`~xbarmem.checks.check_choice`: ``"Sync"``
    is ``"sync"``); :class:`ConfigError` for an unknown recall mode or activation, or a cap on
    iterations that is not a positive integer."""
    mode = check_choice(mode, MODES, "recall mode")
    return mode, _check_dynamics(activation, max_iterations)


def _check_dynamics(activation: str, max_iterations: int) -> str:
    """The canonical ``activation``, once it and ``max_iterations`` are checked."""
    activation = check_choice(activation, ACTIVATIONS, "activation")
    if (isinstance(max_iterations, bool) or not isinstance(max_iterations, numbers.Integral)
            or max_iterations < 1):
        raise ConfigError(f"max_iterations must be a positive integer, "
                          f"got {shown(max_iterations)}")
    check_count(max_iterations, "max_iterations")
    return activation


def check_tol(tol: float) -> float:
    """``tol`` as written (:func:`~xbarmem.checks.as_written`: a numpy float32 ``1e-3`` is
    ``0.001``; any other number as given); :class:`ConfigError` for one that is not a finite
    number >= 0 (the one check of every ``tol``: :func:`recall`,
    :class:`~xbarmem.evaluation.evaluate.Protocol`, the energy measurements)."""
    if (isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not math.isfinite(tol)
            or tol < 0):
        raise ConfigError(f"tol must be a finite number >= 0, got {shown(tol)}")
    return as_written(tol)


def reads_with_noise(memory: Any) -> bool:
    """Whether a layer of ``memory`` reads through devices with read noise (tanh states then
    change by about the noise at every step and reach the cap under a smaller ``tol``)."""
    return any(layer.chip.device.read_noise > 0 for layer in memory.layers)


def check_matrix(matrix) -> None:
    """Refuse (:class:`~xbarmem.errors.ArgumentError`) a ``matrix`` without the interface
    :func:`recall` reads through (``n_in``, ``matvec``, ``read_outputs``), e.g. a memory;
    :class:`ConfigError` for one that is not square (``n_out != n_in``: its outputs are the
    next states)."""
    if not all(hasattr(matrix, a) for a in ("n_in", "matvec", "read_outputs")):
        hint = (" (a memory recalls with memory.recall(cues))"
                if callable(getattr(matrix, "recall", None)) else "")
        raise ArgumentError(f"matrix must be a programmed Crossbar or a FloatMatrix{hint}, "
                            f"got {type(matrix).__name__}")
    n_out = getattr(matrix, "n_out", matrix.n_in)
    if n_out != matrix.n_in:
        raise ConfigError(f"recall needs a square matrix (its outputs are the next states), "
                          f"got {n_out} outputs for {matrix.n_in} inputs")


def _check_cues(cues, n: int, activation: str) -> torch.Tensor:
    """A float32 CPU copy of ``cues`` (a tensor on any device, a numpy array or nested lists);
    raises :class:`PatternError` unless numeric, ``(B, n)`` with ``B >= 1``, finite and of
    values the ``activation`` can mean (:func:`~xbarmem.data.patterns.check_cue_values`)."""
    if isinstance(cues, torch.Tensor):
        x = check_tensor(cues, "cues", error=PatternError).detach().to("cpu", torch.float32)
    else:
        arr = numeric_array(cues, "cues", f"a numeric (batch, {n}) matrix", error=PatternError)
        x = torch.as_tensor(arr.astype(np.float32))
    if x.ndim != 2 or x.shape[1] != n:
        hint = f"; one cue: reshape it to (1, {n})" if x.shape == (n,) else ""
        raise PatternError(f"cues must have shape (batch, {n}), got {tuple(x.shape)}{hint}")
    if not x.shape[0]:
        raise PatternError(f"cues are empty: shape {tuple(x.shape)} (need at least 1 cue)")
    if not torch.isfinite(x).all():
        raise PatternError("cues contain NaN or inf")
    check_cue_values(x.numpy(), activation)
    return x.clone()


@checked_keywords
def recall(matrix, cues: ArrayLike, *, mode: str = "sync", activation: str = "sign",
           max_iterations: int = 100, tol: float = DEFAULT_TOL,
           seed: int | torch.Generator | None = 0) -> RecallResult:
    """Run the dynamics from every cue.

    Args:
        matrix: programmed crossbar or :class:`FloatMatrix` with ``n_in == n_out == N``
            (its ``tie_tolerance()``, if it has one, says which fields are 0: module
            docstring).
        cues: ``(B, N)`` starting states in [-1, 1] (``sign``: usually {-1,+1}; values in
            between, e.g. 0 for an unknown entry, enter the first read as they are; a
            neuron whose field is 0 then takes its value's sign, 0 read as +1).
        mode: ``"sync"`` or ``"async"``.
        activation: ``"sign"`` or ``"tanh"``.
        max_iterations: cap on sync steps or async sweeps.
        tol: ``tanh`` fixed-point tolerance on the largest state change (a finite number
            >= 0). Read noise is drawn at every read, so under read noise tanh states change
            by about the noise at every step: a ``tol`` below that never stops a recall,
            which then ends at the cap.
        seed: seed (an integer >= 0; None is 0) or generator of read noise and of the async
            update order, drawn for the whole batch (module docstring).

    Raises :class:`ConfigError` for an unknown mode/activation, a bad cap or a ``matrix``
    that is not square, :class:`PatternError` for cues that are not numeric, of the wrong
    shape, empty (no cue), with NaN/inf, with entries outside [-1, 1] or (``sign``) a {0, 1}
    matrix (every entry 0 or 1, at least one of each: map it with ``2*x - 1``), and
    :class:`~xbarmem.errors.ArgumentError` for a ``matrix`` without the interface (a memory:
    use ``memory.recall``).
    """
    check_matrix(matrix)
    mode, activation = check_recall(mode, activation, max_iterations)
    tol = check_tol(tol)
    x = _check_cues(cues, matrix.n_in, activation)
    gen = as_generator(seed)
    if mode == "sync":
        return _sync(_MatrixReads(matrix, gen), x, activation, max_iterations, tol, 1.0)
    return _async(matrix, x, activation, max_iterations, tol, gen)


def recall_batch(matrices: torch.Tensor, cues: torch.Tensor, net: torch.Tensor, *,
                 activation: str = "sign", max_iterations: int = 100,
                 tol: float = DEFAULT_TOL) -> RecallResult:
    """Synchronous recall of many cues, cue ``b`` through the noise-free matrix
    ``matrices[net[b]]``, with the stopping rules of :func:`recall`.

    Args:
        matrices: ``(T, N, R)`` programmed ``[W | b]`` in weight units (``R = N + 1``: the last
            column is the bias, its input held at 1; ``R = N``: no bias), e.g. from
            :func:`stack_matrices`.
        cues: ``(B, N)`` starting states, checked as by :func:`recall`.
        net: ``(B,)`` int64 matrix index of each cue, non-decreasing, in ``[0, T)``.
        activation, max_iterations, tol: as in :func:`recall`.

    Products are those of :meth:`xbarmem.hardware.crossbar.Crossbar.matvec` without read
    noise, one per matrix and step over its cues still in the working set; stopped cues leave
    the working set once fewer than 3/4 of it still move. Raises :class:`ConfigError` /
    :class:`PatternError` for bad arguments.
    """
    activation = _check_dynamics(activation, max_iterations)
    tol = check_tol(tol)
    if matrices.ndim != 3 or matrices.shape[2] not in (matrices.shape[1],
                                                       matrices.shape[1] + 1):
        raise ConfigError(f"matrices must be (T, N, N) or (T, N, N + 1), got "
                          f"{tuple(matrices.shape)}")
    t, n = matrices.shape[0], matrices.shape[1]
    x = _check_cues(cues, n, activation)
    net = torch.as_tensor(net, dtype=torch.int64)
    if net.shape != (x.shape[0],) or (len(net) and (
            int(net.min()) < 0 or int(net.max()) >= t or bool((net.diff() < 0).any()))):
        raise ConfigError(f"net must be ({x.shape[0]},) non-decreasing indices below {t}")
    return _sync(_StackReads(matrices, net), x, activation, max_iterations, tol, 0.75)


def stack_matrices(memories) -> torch.Tensor | None:
    """The programmed ``[W | b]`` of memories that each recall through one crossbar without
    read noise, stacked ``(T, N, N + 1)`` (``(T, N, N)`` without bias rows), weight units, for
    :func:`recall_batch`.

    ``None`` when any memory has several layers, is not programmed or reads with noise, or when
    the memories differ in ``N`` or in having a bias row.
    """
    layers = [m.layers for m in memories]
    if not layers or any(len(ls) != 1 for ls in layers):
        return None
    first = layers[0][0]
    if not all(ls[0].programmed and ls[0].chip.device.read_noise == 0
               and ls[0].n_in == ls[0].n_out == first.n_in
               and ls[0].has_bias == first.has_bias for ls in layers):
        return None
    mats = []
    for (layer,) in layers:
        w, b = layer.effective()
        mats.append(w if b is None else torch.cat([w, b[:, None]], dim=1))
    return torch.stack(mats)


def _changed(new: torch.Tensor, old: torch.Tensor, activation: str, tol: float) -> torch.Tensor:
    if activation == "sign":
        return (new != old).any(dim=1)
    return (new - old).abs().amax(dim=1) > tol


def _sync(reads, x, activation, max_iterations, tol, compact_below) -> RecallResult:
    """Synchronous dynamics from states ``x`` ``(B, N)`` (updated in place).

    ``reads.field(states, rows)`` gives the fields ``(A, N)`` of the working set ``states``
    ``(A, N)``, whose cues are ``rows`` (indices into ``x``, ascending), and
    ``reads.ties(rows)`` their tie tolerances (broadcast to the fields; None: 0). A cue stops
    at a fixed point, at a 2-cycle (sign) or at the cap; stopped cues leave the working set
    when fewer than ``compact_below`` of it are still moving (1.0: as soon as one stops).
    """
    b = x.shape[0]
    iterations = torch.zeros(b, dtype=torch.int64)
    converged = torch.zeros(b, dtype=torch.bool)
    cycled = torch.zeros(b, dtype=torch.bool)
    rows = torch.arange(b)
    cur = x.clone()
    before = torch.full_like(x, float("nan"))  # the working states two steps back
    live = torch.ones(b, dtype=torch.bool)  # not stopped yet
    for it in range(1, max_iterations + 1):
        # (after the first sign step every state is +-1: it is held as it is)
        held = _held(cur) if it == 1 and activation == "sign" else cur
        new = _activate(reads.field(cur, rows), held, activation, reads.ties(rows))
        moved = _changed(new, cur, activation, tol)
        loop = moved & (new == before).all(dim=1) if activation == "sign" else \
            torch.zeros_like(moved)
        stop = (~moved | loop) & live
        x[rows[stop]] = new[stop]
        iterations[rows[stop]] = it
        converged[rows[~moved & live]] = True
        cycled[rows[loop & live]] = True
        live &= ~stop
        alive = int(live.sum())
        if alive == 0:
            break
        before, cur = cur, new
        if alive < compact_below * len(live):
            before, cur, rows, live = before[live], cur[live], rows[live], live[live]
    else:
        x[rows[live]] = cur[live]
        iterations[rows[live]] = max_iterations
    return RecallResult(x, iterations, iterations.clone(), converged, cycled, "sync", activation)


class _MatrixReads:
    """Fields through one matrix object (``matvec``; fresh read noise from ``gen``)."""

    def __init__(self, matrix, gen: torch.Generator) -> None:
        self.matrix, self.gen = matrix, gen
        self._ties = matrix_ties(matrix)

    def field(self, states: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return self.matrix.matvec(states, self.gen)

    def ties(self, rows: torch.Tensor) -> torch.Tensor | None:
        return self._ties


class _StackReads:
    """Fields of cue ``b`` through ``mats[net[b]]``: ``[x, 1] @ [W | b]^T`` (the product of
    :meth:`xbarmem.hardware.crossbar.Crossbar.matvec` without read noise), one product per
    matrix over its run of working rows."""

    def __init__(self, mats: torch.Tensor, net: torch.Tensor) -> None:
        self.mats, self.net = mats, net
        self._ties = tie_tolerance(mats)  # (T, N)
        self._rows: torch.Tensor | None = None
        self._runs: list[tuple[int, int, int]] = []

    def field(self, states: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        if rows is not self._rows:  # the working set changed: its runs of equal matrices too
            self._rows, self._runs = rows, _runs(self.net[rows], self.mats.shape[0])
        a, n = states.shape
        u = states if self.mats.shape[2] == n else torch.cat(
            [states, torch.ones(a, 1, dtype=torch.float32)], dim=1)
        h = torch.empty(a, n, dtype=torch.float32)
        for t, lo, hi in self._runs:
            torch.mm(u[lo:hi], self.mats[t].T, out=h[lo:hi])
        return h

    def ties(self, rows: torch.Tensor) -> torch.Tensor:
        return self._ties[self.net[rows]]


def _runs(net: torch.Tensor, t: int) -> list[tuple[int, int, int]]:
    """``(matrix, first, end)`` of each run of equal values in non-decreasing ``net``."""
    counts = torch.bincount(net, minlength=t)
    ends = counts.cumsum(0)
    return [(k, e - c, e) for k, (c, e) in enumerate(zip(counts.tolist(), ends.tolist(),
                                                         strict=True)) if c]


def _async(matrix, x, activation, max_iterations, tol, gen) -> RecallResult:
    b, n = x.shape
    iterations = torch.zeros(b, dtype=torch.int64)
    converged = torch.zeros(b, dtype=torch.bool)
    active = torch.arange(b)
    ties = matrix_ties(matrix)
    for _ in range(max_iterations):
        cur = x[active]
        start = cur.clone()
        order = torch.argsort(torch.rand(cur.shape, generator=gen, dtype=torch.float32), dim=1)
        rows = torch.arange(cur.shape[0])
        for k in range(n):
            idx = order[:, k]
            h = matrix.read_outputs(cur, idx, gen)
            cur[rows, idx] = _activate(h, _held(cur[rows, idx]), activation,
                                       None if ties is None else ties[idx])
        iterations[active] += 1
        moved = _changed(cur, start, activation, tol)
        converged[active[~moved]] = True
        x[active] = cur
        active = active[moved]
        if active.numel() == 0:
            break
    return RecallResult(x, iterations, iterations * n, converged,
                        torch.zeros(b, dtype=torch.bool), "async", activation)
