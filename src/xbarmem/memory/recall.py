"""Recall dynamics: synchronous and asynchronous updates through an analogue matrix.

The matrix is anything with ``n_in``, ``matvec(x, generator)`` (one full read, ``(B, n_in) ->
(B, n_out)``) and ``read_outputs(x, outputs, generator)`` (one output per batch row) -- a
programmed :class:`~xbarmem.hardware.crossbar.Crossbar`, or :class:`FloatMatrix` for ideal weights.
Every read draws fresh read noise from the matrix.

* ``sync``: every step updates all neurons from one full read (one crossbar product).
* ``async``: one neuron per step, in a fresh random order per sweep (classic Hopfield); each
  step reads a single output.
* ``sign`` activation (binary states, a zero field keeps the neuron's state) or ``tanh``
  (continuous states).

A cue stops at a fixed point (a full step/sweep that changes nothing; for ``tanh`` every change
below ``tol``), at a 2-cycle (sync, sign: the state equals the one two steps before) or at the
iteration cap.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from xbarmem.data.corruption import as_generator
from xbarmem.errors import ConfigError, PatternError

MODES = ("sync", "async")
ACTIVATIONS = ("sign", "tanh")


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

    def summary(self) -> dict:
        """Means and counts as plain numbers."""
        return {"cues": int(self.states.shape[0]), "mode": self.mode,
                "activation": self.activation,
                "converged": float(self.converged.float().mean()),
                "cycled": float(self.cycled.float().mean()),
                "mean_iterations": float(self.iterations.float().mean()),
                "mean_reads": float(self.reads.float().mean())}


class FloatMatrix:
    """Ideal float weights behind the matrix interface (no hardware): ``W`` ``(n_out, n_in)``,
    optional bias ``(n_out,)``. Useful as the reference a noise-free chip must reproduce."""

    def __init__(self, weights: torch.Tensor, bias: torch.Tensor | None = None) -> None:
        self.weights = torch.as_tensor(weights, dtype=torch.float32)
        self.bias = (torch.zeros(self.weights.shape[0]) if bias is None
                     else torch.as_tensor(bias, dtype=torch.float32))
        self.n_out, self.n_in = self.weights.shape

    def matvec(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return x @ self.weights.T + self.bias

    def read_outputs(self, x: torch.Tensor, outputs: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        return (self.weights[outputs] * x).sum(dim=1) + self.bias[outputs]


def _activate(h: torch.Tensor, previous: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "tanh":
        return torch.tanh(h)
    return torch.where(h > 0, 1.0, torch.where(h < 0, -1.0, previous))


def recall(matrix, cues: torch.Tensor, *, mode: str = "sync", activation: str = "sign",
           max_iterations: int = 100, tol: float = 1e-4,
           seed: int | torch.Generator | None = 0) -> RecallResult:
    """Run the dynamics from every cue.

    Args:
        matrix: programmed crossbar or :class:`FloatMatrix` with ``n_in == n_out == N``.
        cues: ``(B, N)`` starting states (``sign``: values in {-1,+1}; ``tanh``: in [-1,1]).
        mode: ``"sync"`` or ``"async"``.
        activation: ``"sign"`` or ``"tanh"``.
        max_iterations: cap on sync steps or async sweeps.
        tol: ``tanh`` fixed-point tolerance on the largest state change.
        seed: seed (or generator) of read noise and of the async update order.
    """
    if mode not in MODES:
        raise ConfigError(f"recall mode must be one of {MODES}, got {mode!r}")
    if activation not in ACTIVATIONS:
        raise ConfigError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if not isinstance(max_iterations, int) or max_iterations < 1:
        raise ConfigError(f"max_iterations must be a positive integer, got {max_iterations!r}")
    x = torch.as_tensor(cues, dtype=torch.float32)
    if x.ndim != 2 or x.shape[1] != matrix.n_in:
        raise PatternError(f"cues must have shape (batch, {matrix.n_in}), got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise PatternError("cues contain NaN or inf")
    gen = as_generator(seed)
    run = _sync if mode == "sync" else _async
    return run(matrix, x.clone(), activation, max_iterations, tol, gen)


def _changed(new: torch.Tensor, old: torch.Tensor, activation: str, tol: float) -> torch.Tensor:
    if activation == "sign":
        return (new != old).any(dim=1)
    return (new - old).abs().amax(dim=1) > tol


def _sync(matrix, x, activation, max_iterations, tol, gen) -> RecallResult:
    b = x.shape[0]
    iterations = torch.zeros(b, dtype=torch.int64)
    converged = torch.zeros(b, dtype=torch.bool)
    cycled = torch.zeros(b, dtype=torch.bool)
    before = torch.full_like(x, float("nan"))  # state two steps back
    active = torch.arange(b)
    for _ in range(max_iterations):
        cur = x[active]
        new = _activate(matrix.matvec(cur, gen), cur, activation)
        iterations[active] += 1
        moved = _changed(new, cur, activation, tol)
        loop = moved & (new == before[active]).all(dim=1) if activation == "sign" else \
            torch.zeros_like(moved)
        converged[active[~moved]] = True
        cycled[active[loop]] = True
        before[active] = cur
        x[active] = new
        active = active[moved & ~loop]
        if active.numel() == 0:
            break
    return RecallResult(x, iterations, iterations.clone(), converged, cycled, "sync", activation)


def _async(matrix, x, activation, max_iterations, tol, gen) -> RecallResult:
    b, n = x.shape
    iterations = torch.zeros(b, dtype=torch.int64)
    converged = torch.zeros(b, dtype=torch.bool)
    active = torch.arange(b)
    for _ in range(max_iterations):
        cur = x[active]
        start = cur.clone()
        order = torch.argsort(torch.rand(cur.shape, generator=gen), dim=1)
        rows = torch.arange(cur.shape[0])
        for k in range(n):
            idx = order[:, k]
            h = matrix.read_outputs(cur, idx, gen)
            cur[rows, idx] = _activate(h, cur[rows, idx], activation)
        iterations[active] += 1
        moved = _changed(cur, start, activation, tol)
        converged[active[~moved]] = True
        x[active] = cur
        active = active[moved]
        if active.numel() == 0:
            break
    return RecallResult(x, iterations, iterations * n, converged,
                        torch.zeros(b, dtype=torch.bool), "async", activation)
