"""Hardware-adaptive learning: gradient training with the chip in the loop.

The memory computes ``f(x) = tanh(W x + b)``. Training sees the chip through the realisable
interval ``[lo, hi]`` of every weight (from :meth:`xbarmem.crossbar.Crossbar.bounds`): pinned
weights (stuck pairs) never move, every other weight is projected back into its interval after
each optimiser step, and the diagonal (no self-connection) is held at the realisable value
closest to 0. Optionally the chip's write and read noise are injected into every forward pass.

Two objectives:

* ``"fixed-point"`` -- He et al.'s rule: MSE between ``f(xi)`` and ``xi`` over the stored
  patterns, full batch; converged when the loss is below ``tol``.
* ``"basin"`` (default) -- the fixed-point term plus recall from corrupted cues: each step draws
  ``cue_copies`` fresh cues per pattern with ``cue_flip`` bits flipped (or Gaussian noise of std
  ``cue_noise`` for continuous patterns), unrolls ``unroll`` synchronous tanh updates and
  penalises the MSE to the clean pattern after every update. This trains the basins of
  attraction that recall from corrupted cues needs; later unrolled updates weigh more
  (``(k + 1) ** late_weight``). Converged when the smoothed loss stops improving (relative gain
  below ``rel_tol`` between two windows of ``window`` steps). For binary patterns a second stage
  (``finetune_steps``) then fine-tunes through the *sign* dynamics that recall really uses, with a
  straight-through gradient, ``finetune_unroll`` updates and a cosine-decayed learning rate:
  weights trained only through the soft tanh relaxation recall measurably worse under sign
  dynamics (on 10 MNIST digits at 50% weight faults, mean cosine 0.981 -> 0.985; at 60%,
  0.937 -> 0.964; no loss without faults).

Training is batched: ``T`` independent networks (fault maps, pattern sets, seeds) are trained as
one tensor program; each network stops (is frozen) on its own convergence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from .errors import ConfigError

OBJECTIVES = ("basin", "fixed-point")
OPTIMIZERS = ("adam", "rmsprop")


@dataclass
class TrainResult:
    """Outcome of training ``T`` networks.

    Attributes:
        weights: ``(T, N, N)`` float32 trained weights (inside their realisable intervals).
        bias: ``(T, N)`` float32 trained biases (zeros when the trainer has no bias).
        steps: ``(T,)`` int64 optimiser steps each network took.
        loss: ``(T,)`` float32 final loss of each network.
        converged: ``(T,)`` bool, True where the convergence criterion was met.
    """

    weights: torch.Tensor
    bias: torch.Tensor
    steps: torch.Tensor
    loss: torch.Tensor
    converged: torch.Tensor


@dataclass
class AdaptiveTrainer:
    """Hardware-adaptive trainer (see module docstring). All fields are plain options.

    Attributes:
        objective: ``"basin"`` or ``"fixed-point"``.
        lr: optimiser learning rate.
        optimizer: ``"adam"`` or ``"rmsprop"``.
        max_steps: cap on optimiser steps.
        tol: fixed-point objective: stop when the loss is below this.
        rel_tol: basin objective: stop when the smoothed loss improves by less than this
            fraction between two consecutive windows.
        window: steps per smoothing window for the basin criterion.
        cue_flip: flip rate of training cues (binary patterns).
        cue_noise: Gaussian std of training cues (continuous patterns).
        cue_copies: corrupted cues per pattern per step.
        unroll: synchronous updates unrolled from each training cue.
        late_weight: exponent weighting unrolled update ``k`` by ``(k + 1) ** late_weight``.
        finetune_steps: steps of the straight-through sign fine-tune (binary, basin); 0 = off.
        finetune_lr: initial learning rate of the fine-tune (cosine-decayed to 0).
        finetune_unroll: sign updates unrolled in the fine-tune.
        warm_start: start from the closed-form per-neuron solution instead of zeros: each row
            of ``[W | b]`` is the minimum-norm (ridge ``1e-6``) least-squares solution, over its
            free weights only (pinned weights enter as constants), of ``W x^mu + b = kappa
            x^mu`` for every stored pattern, then clipped into its intervals. Rows are
            independent problems, solved batched. ``kappa`` is ``warm_start_field`` or, when 0,
            the field at which ``tanh`` is within ``sqrt(tol)/3`` of +-1 for the fixed-point
            objective and 1 for the basin objective.
        warm_start_field: kappa above (0 = automatic).
            Measured (10 MNIST digits, 50% weight faults, 10% flips, 3 chips): the warm start
            makes the fixed-point objective feasible at once but its minimum-norm solution has
            smaller basins (cosine 0.775 vs 0.901 from zeros), and it does not help the basin
            objective (0.976 vs 0.979); it is off by default.
        noise_injection: add the chip's write noise (weight units) to the weights and its read
            noise to every pre-activation in the forward pass.
        bias: learn a bias (needs a bias row on the crossbar).
        seed: seed of cue draws and noise injection.
    """

    objective: str = "basin"
    lr: float = 1e-2
    optimizer: str = "adam"
    max_steps: int = 3000
    tol: float = 1e-8
    rel_tol: float = 1e-2
    window: int = 100
    cue_flip: float = 0.1
    cue_noise: float = 0.6
    cue_copies: int = 16
    unroll: int = 5
    late_weight: float = 2.0
    finetune_steps: int = 1000
    finetune_lr: float = 3e-3
    finetune_unroll: int = 10
    warm_start: bool = False
    warm_start_field: float = 0.0
    noise_injection: bool = False
    bias: bool = True
    seed: int = 0

    name: ClassVar[str] = "adaptive"
    hardware_aware: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        for key in ("lr", "tol", "rel_tol", "finetune_lr"):
            if not getattr(self, key) > 0:
                raise ConfigError(f"{key} must be > 0, got {getattr(self, key)!r}")
        if not isinstance(self.finetune_steps, int) or self.finetune_steps < 0:
            raise ConfigError(f"finetune_steps must be an integer >= 0, got "
                              f"{self.finetune_steps!r}")
        for key in ("max_steps", "window", "cue_copies", "unroll", "finetune_unroll"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{key} must be a positive integer, got {value!r}")
        if not 0.0 <= self.cue_flip <= 0.5:
            raise ConfigError(f"cue_flip must be in [0, 0.5], got {self.cue_flip!r}")
        if self.cue_noise < 0:
            raise ConfigError(f"cue_noise must be >= 0, got {self.cue_noise!r}")

    def options(self) -> dict:
        """The trainer's options as a JSON-able dict (for model metadata)."""
        return {k: getattr(self, k) for k in (
            "objective", "lr", "optimizer", "max_steps", "tol", "rel_tol", "window", "cue_flip",
            "cue_noise", "cue_copies", "unroll", "late_weight", "finetune_steps", "finetune_lr",
            "finetune_unroll", "warm_start", "warm_start_field", "noise_injection", "bias",
            "seed")}

    # ------------------------------------------------------------------ public
    def fit(self, patterns: torch.Tensor, lo: torch.Tensor | None = None,
            hi: torch.Tensor | None = None, *, kind: str = "binary",
            weight_noise: float = 0.0, read_noise: float = 0.0,
            counts: torch.Tensor | None = None) -> TrainResult:
        """Train ``T`` networks at once.

        Args:
            patterns: ``(P, N)`` (shared by all networks) or ``(T, P, N)`` stored patterns in
                [-1, 1].
            lo, hi: realisable intervals of ``[W | b]``, ``(N, N + 1)`` or ``(T, N, N + 1)``
                (``N`` columns without bias); ``None`` means unconstrained.
            kind: ``"binary"`` (sign recall, flip cues) or ``"continuous"`` (Gaussian cues).
            weight_noise: std of write error in weight units (used with ``noise_injection``).
            read_noise: output-referred read-noise std per unit input norm, weight units.
            counts: ``(T,)`` number of real patterns of each network; rows beyond are padding
                and ignored (lets networks storing different numbers of patterns train as one
                batch). Default: all ``P`` rows are real.

        Returns:
            :class:`TrainResult` with ``T`` networks (``T = 1`` for 2-D input).
        """
        x = torch.as_tensor(patterns, dtype=torch.float32)
        if x.ndim == 2:  # one pattern set shared by every network the bounds describe
            x = x[None].expand(lo.shape[0] if lo is not None and lo.ndim == 3 else 1, -1, -1)
        if x.ndim != 3 or x.shape[1] == 0:
            raise ConfigError(f"patterns must be (P, N) or (T, P, N), got {tuple(x.shape)}")
        t, _, n = x.shape
        cols = n + int(self.bias)
        lo, hi = self._bounds(lo, hi, t, n, cols)
        valid = self._valid(counts, t, x.shape[1])
        start = self._closed_form(x, valid, lo, hi) if self.warm_start else torch.zeros(t, n, cols)
        params = torch.clamp(start, lo, hi).requires_grad_(True)
        gen = torch.Generator().manual_seed(self.seed)
        noise = (weight_noise, read_noise) if self.noise_injection else (0.0, 0.0)

        def loss(p):
            return self._loss(p, x, valid, kind, gen, noise, self.unroll,
                              straight_through=False)

        steps, final_loss, converged = self._stage(params, lo, hi, loss, self.lr,
                                                   self.max_steps, decay=False)
        if self.objective == "basin" and kind == "binary" and self.finetune_steps > 0:
            def sign_loss(p):
                return self._loss(p, x, valid, kind, gen, noise, self.finetune_unroll,
                                  straight_through=True)

            more, final_loss, _ = self._stage(params, lo, hi, sign_loss, self.finetune_lr,
                                              self.finetune_steps, decay=True)
            steps = steps + more
        w = params.detach()
        return TrainResult(
            weights=w[:, :, :n].clone(),
            bias=(w[:, :, n].clone() if self.bias else torch.zeros(t, n)),
            steps=steps, loss=final_loss, converged=converged)

    def _stage(self, params, lo, hi, loss_fn, lr, max_steps, *, decay: bool):
        """Projected optimisation of ``params`` in place. Without ``decay`` each network stops
        (is frozen) on its convergence criterion; with ``decay`` the learning rate follows a
        cosine schedule to 0 over ``max_steps`` and every network runs them all."""
        t = params.shape[0]
        opt = (torch.optim.Adam([params], lr=lr) if self.optimizer == "adam"
               else torch.optim.RMSprop([params], lr=lr))
        active = torch.ones(t, dtype=torch.bool)
        steps = torch.zeros(t, dtype=torch.int64)
        final_loss = torch.full((t,), float("nan"))
        window_sum = torch.zeros(t)
        prev_window = torch.full((t,), float("inf"))
        for step in range(1, max_steps + 1):
            if decay:
                for group in opt.param_groups:
                    group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * (step - 1) / max_steps))
            opt.zero_grad(set_to_none=True)
            per_net = loss_fn(params)  # (T,)
            per_net.sum().backward()
            frozen = params.detach()[~active].clone()
            opt.step()
            with torch.no_grad():
                params.copy_(torch.clamp(params, lo, hi))
                params[~active] = frozen
            steps[active] = step
            final_loss[active] = per_net.detach()[active]
            if not decay:
                active &= ~self._converged(per_net.detach(), step, window_sum, prev_window)
                if not active.any():
                    break
        return steps, final_loss, ~active if not decay else torch.ones(t, dtype=torch.bool)

    # ------------------------------------------------------------------ internals
    def _bounds(self, lo, hi, t, n, cols):
        if lo is None:
            lo = torch.full((t, n, cols), -float("inf"))
        if hi is None:
            hi = torch.full((t, n, cols), float("inf"))
        lo = torch.as_tensor(lo, dtype=torch.float32)
        hi = torch.as_tensor(hi, dtype=torch.float32)
        if lo.ndim == 2:
            lo, hi = lo.expand(t, -1, -1), hi.expand(t, -1, -1)
        if lo.shape != (t, n, cols) or hi.shape != (t, n, cols):
            raise ConfigError(f"weight bounds must have shape ({t}, {n}, {cols}) "
                              f"(bias column {'included' if self.bias else 'excluded'}), "
                              f"got {tuple(lo.shape)}")
        lo, hi = lo.clone(), hi.clone()
        idx = torch.arange(n)
        # no self-connection: the diagonal is pinned at the realisable value closest to 0
        diag = torch.clamp(torch.zeros(t, n), lo[:, idx, idx], hi[:, idx, idx])
        lo[:, idx, idx] = diag
        hi[:, idx, idx] = diag
        return lo, hi

    def _field(self, params, x, noise, gen):
        """Pre-activations ``(T, B, N)`` of inputs ``x`` ``(T, B, N)``."""
        n = x.shape[2]
        w = params[:, :, :n]
        weight_noise, read_noise = noise
        if weight_noise > 0:
            w = w + weight_noise * torch.randn(w.shape, generator=gen)
        h = torch.bmm(x, w.transpose(1, 2))
        if self.bias:
            h = h + params[:, None, :, n]
        if read_noise > 0:
            norm = (x.pow(2).sum(-1, keepdim=True) + float(self.bias)).sqrt()
            h = h + read_noise * norm * torch.randn(h.shape, generator=gen)
        return h

    def _closed_form(self, x, valid, lo, hi) -> torch.Tensor:
        """Per-row masked minimum-norm solution of ``A u = kappa x`` (see ``warm_start``)."""
        t, p, n = x.shape
        kappa = self.warm_start_field or (
            math.atanh(1.0 - math.sqrt(self.tol) / 3) if self.objective == "fixed-point" else 1.0)
        u = x * valid[:, :, None]
        if self.bias:
            u = torch.cat([u, valid[:, :, None]], dim=2)  # (T, P, cols)
        pinned = lo == hi
        free = (~pinned).to(x.dtype)  # (T, N, cols)
        fixed = torch.where(pinned, lo, torch.zeros_like(lo))
        rhs = kappa * x.transpose(1, 2) * valid[:, None, :] - torch.bmm(fixed, u.transpose(1, 2))
        u64 = u.double()
        gram = torch.einsum("tpj,tij,tqj->tipq", u64, free.double(), u64)  # (T, N, P, P)
        eye = torch.eye(p, dtype=torch.float64)
        pad = (1.0 - valid.double())[:, None, :, None] * eye  # padding rows: identity, zero rhs
        gram = gram + pad + 1e-6 * (1.0 + gram.diagonal(dim1=-2, dim2=-1).mean()) * eye
        alpha = torch.linalg.solve(gram, rhs.double().unsqueeze(-1)).squeeze(-1)
        w = torch.einsum("tpj,tip->tij", u64, alpha).float() * free
        return torch.clamp(w + fixed, lo, hi)

    @staticmethod
    def _valid(counts, t: int, p: int) -> torch.Tensor:
        """``(T, P)`` float mask of real (not padding) patterns."""
        if counts is None:
            return torch.ones(t, p)
        counts = torch.as_tensor(counts, dtype=torch.int64).reshape(-1)
        if counts.shape != (t,) or (counts < 1).any() or (counts > p).any():
            raise ConfigError(f"counts must be {t} integers in 1..{p}, got {counts.tolist()}")
        return (torch.arange(p)[None, :] < counts[:, None]).float()

    @staticmethod
    def _masked_mse(state, target, valid):
        """Per-network MSE ``(T,)`` over real patterns only."""
        err = (state - target).pow(2).mean(dim=2)
        return (err * valid).sum(dim=1) / valid.sum(dim=1)

    def _loss(self, params, x, valid, kind, gen, noise, unroll, *, straight_through):
        fixed = self._masked_mse(torch.tanh(self._field(params, x, noise, gen)), x, valid)
        if self.objective == "fixed-point":
            return fixed
        target = x.repeat(1, self.cue_copies, 1)
        valid = valid.repeat(1, self.cue_copies)
        if kind == "binary":
            flips = torch.rand(target.shape, generator=gen) < self.cue_flip
            state = torch.where(flips, -target, target)
        else:
            noise_cue = self.cue_noise * torch.randn(target.shape, generator=gen)
            state = (target + noise_cue).clamp(-1, 1)
        weights = torch.arange(1, unroll + 1, dtype=torch.float32) ** self.late_weight
        weights = weights / weights.sum()
        recall = torch.zeros(x.shape[0])
        for k in range(unroll):
            h = self._field(params, state, noise, gen)
            soft = torch.tanh(h)
            state = soft + (torch.sign(h) - soft).detach() if straight_through else soft
            recall = recall + weights[k] * self._masked_mse(state, target, valid)
        return fixed + recall

    def _converged(self, loss, step, window_sum, prev_window) -> torch.Tensor:
        if self.objective == "fixed-point":
            return loss < self.tol
        window_sum += loss
        if step % self.window:
            return torch.zeros_like(loss, dtype=torch.bool)
        mean = window_sum / self.window
        first = torch.isinf(prev_window)
        improved = first | ((prev_window - mean) > self.rel_tol * prev_window)
        prev_window.copy_(mean)
        window_sum.zero_()
        return ~improved

    def fixed_points(self, result: TrainResult, patterns: torch.Tensor,
                     counts: torch.Tensor | None = None) -> torch.Tensor:
        """``(T,)`` bool: every stored binary pattern is a fixed point of ``sign(W x + b)``."""
        x = torch.as_tensor(patterns, dtype=torch.float32)
        if x.ndim == 2:
            x = x[None].expand(result.weights.shape[0], -1, -1)
        h = torch.bmm(x, result.weights.transpose(1, 2)) + result.bias[:, None, :]
        ok = ((h * x) > 0).all(dim=2) | (self._valid(counts, x.shape[0], x.shape[1]) == 0)
        return ok.all(dim=1)
