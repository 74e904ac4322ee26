"""Hardware-adaptive learning: gradient training with the chip in the loop.

The memory computes ``f(x) = tanh(W x + b)``. Training sees the chip through the realisable
interval ``[lo, hi]`` of every weight (from :meth:`xbarmem.hardware.crossbar.Crossbar.bounds`): pinned
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

What limits sign recall on the demo's digits (10 MNIST digits 0-9, 50% weight faults, 10% flips,
chips with fault seeds 0..2, 10..12, 20..22; ``python examples/demo_sign_limit.py``):
the defaults give mean cosine 0.986 under sign neurons and 0.993 under tanh neurons, where a
nearest-stored-pattern decoder would give 0.9994. Almost all failures are cues that settle in
*another stored digit* of the closest pairs (Hamming distance 7: digits 1/3 and 4/5), which a
neuron can tell apart only through the other distinguishing pixels it is connected to (about
half of them at 50% faults; its own cue bit is never seen, there is no self-connection).
Storing only such a pair still leaves 1-1.5% of its cues confused. Options measured on those 9
chips, none more than 0.002 above the defaults (several up to 0.008 below): ``cue_copies``
32/64, ``finetune_steps`` 2000/3000, ``cue_flip`` 0.08/0.13/0.15, ``unroll`` 8,
``late_weight`` 0/5, ``finetune_unroll`` 4, ``finetune_lr`` 1e-2, ``recall_loss="logistic"``
(0.983), ``finetune_temperature`` 1.5/2 (0.987/0.988) and 3/6 (worse); four training seeds per
chip differ by +-0.003.

Training is batched: ``T`` independent networks (fault maps, pattern sets, seeds) are trained as
one tensor program; each network stops (is frozen) on its own convergence. Networks storing
different numbers of patterns (``counts``) are split into a few groups of similar size so that
little work is spent on padding rows (``bucket``), and networks that have stopped leave the batch.

Stopping the fixed-point objective (``stop``). The paper's criterion (``"loss"``: loss below
``tol``) is almost never met with Adam on this saturating loss: on 8x8 MNIST digits the loop runs
to its step cap for every pattern count. ``"stable"`` (default) also stops a network once its
solution has stopped changing: every ``stable_window`` steps each row of ``[W | b]`` is compared
with the previous check, and the network stops when the largest change is below ``stable_tol``
(for binary patterns the change of the row's *direction* -- sign recall on a scale-free chip
does not depend on the scale -- for continuous patterns the relative change of the row).
Measured on the benchmark's capacity curve (N = 64, 8x8 MNIST, 40 counts 1..128, 10% flips,
20 cues per pattern): 100-1100 steps per network instead of 10,000, capacities at similarity
0.90/0.95/0.99 of 28/23/12 (0% faults) and 11/8/4 (50% faults) against 23/20/12 and 8/7/4 for
the paper's loop (Adam 1e-3 from a small random init, 10,000 steps). A margin criterion
(every ``x_i h_i >= kappa``) was measured too and is not offered: on the saturating tanh loss
Adam's steps shrink as the fields grow, and ``kappa = 3`` took > 3000 steps for most counts.
The fixed-point objective's gradient is computed in closed form (two batched products per step,
no autograd) with the optimiser's update written out, identical to ``torch.optim``'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from xbarmem.errors import ConfigError

OBJECTIVES = ("basin", "fixed-point")
OPTIMIZERS = ("adam", "rmsprop")
RECALL_LOSSES = ("mse", "logistic")
STOPS = ("stable", "loss")
_ADAM_BETAS = (0.9, 0.999)  # torch.optim.Adam's defaults
_RMSPROP_ALPHA = 0.99  # torch.optim.RMSprop's default
_OPT_EPS = 1e-8  # both optimisers' default eps


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
        finetune_temperature: surrogate gradient of the fine-tune's sign updates: the
            backward pass treats ``sign(h)`` as ``tau * tanh(h / tau)`` (slope
            ``1 - tanh^2(h / tau)``); ``tau = 1`` is the plain straight-through tanh. Trained
            fields are a few units large, where ``tanh'`` is almost 0, so with ``tau = 1`` a
            confidently wrong neuron passes almost no gradient back through the recall.
        recall_loss: loss of the unrolled recall terms for binary patterns: ``"mse"`` (squared
            error of the state, as the fixed-point term) or ``"logistic"``
            (``softplus(-2 x_i h_i)`` on every neuron's field ``h_i``, i.e. cross-entropy of
            the tanh unit; its gradient ``tanh(h_i) - x_i`` does not vanish on a confidently
            wrong neuron, where the squared error's does). Continuous patterns always use
            ``"mse"``.
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
        stop: fixed-point objective's stopping rule: ``"stable"`` (loss below ``tol`` or the
            solution stopped changing, see the module docstring) or ``"loss"`` (the paper's:
            loss below ``tol`` only, else ``max_steps``). The multilayer trainer applies the
            same rule to its fixed-point objective (compared on all layers' effective
            parameters).
        stable_tol: ``"stable"``: largest change of a row between two checks (binary patterns:
            distance between the unit-normalised rows; continuous: ``|a - a_prev| / |a|``).
        stable_window: ``"stable"``: optimiser steps between two checks.
        bucket: split networks storing different numbers of patterns into groups of similar
            size (less padding); results do not depend on it beyond float rounding for the
            fixed-point objective (the basin objective's random cue draws differ).
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
    finetune_temperature: float = 1.0
    recall_loss: str = "mse"
    warm_start: bool = False
    warm_start_field: float = 0.0
    noise_injection: bool = False
    bias: bool = True
    seed: int = 0
    stop: str = "stable"
    stable_tol: float = 0.08
    stable_window: int = 50
    bucket: bool = True

    name: ClassVar[str] = "adaptive"
    hardware_aware: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.recall_loss not in RECALL_LOSSES:
            raise ConfigError(f"recall_loss must be one of {RECALL_LOSSES}, got "
                              f"{self.recall_loss!r}")
        if self.stop not in STOPS:
            raise ConfigError(f"stop must be one of {STOPS}, got {self.stop!r}")
        for key in ("lr", "tol", "rel_tol", "finetune_lr", "stable_tol", "finetune_temperature"):
            if not getattr(self, key) > 0:
                raise ConfigError(f"{key} must be > 0, got {getattr(self, key)!r}")
        if not isinstance(self.finetune_steps, int) or self.finetune_steps < 0:
            raise ConfigError(f"finetune_steps must be an integer >= 0, got "
                              f"{self.finetune_steps!r}")
        for key in ("max_steps", "window", "cue_copies", "unroll", "finetune_unroll",
                    "stable_window"):
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
            "finetune_unroll", "finetune_temperature", "recall_loss", "warm_start",
            "warm_start_field", "noise_injection", "bias",
            "seed", "stop", "stable_tol", "stable_window", "bucket")}

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
        t, p, n = x.shape
        cols = n + int(self.bias)
        lo, hi = self._bounds(lo, hi, t, n, cols)
        valid = self._valid(counts, t, p)
        gen = torch.Generator().manual_seed(self.seed)
        noise = (weight_noise, read_noise) if self.noise_injection else (0.0, 0.0)
        sizes = valid.sum(dim=1).to(torch.int64)
        groups = self._groups(sizes, n, cols) if self.bucket else [torch.arange(t)]
        params = torch.zeros(t, n, cols)
        steps = torch.zeros(t, dtype=torch.int64)
        final_loss = torch.full((t,), float("nan"))
        converged = torch.zeros(t, dtype=torch.bool)
        for idx in groups:  # each group padded only to its own largest pattern count
            rows = int(sizes[idx].max())
            out = self._fit_group(x[idx, :rows], valid[idx, :rows], lo[idx], hi[idx], kind,
                                  gen, noise)
            params[idx], steps[idx], final_loss[idx], converged[idx] = out
        return TrainResult(
            weights=params[:, :, :n].clone(),
            bias=(params[:, :, n].clone() if self.bias else torch.zeros(t, n)),
            steps=steps, loss=final_loss, converged=converged)

    def _fit_group(self, x, valid, lo, hi, kind, gen, noise):
        """Train one group of networks; returns ``(params (T, N, cols), steps, loss,
        converged)``."""
        t, _, n = x.shape
        start = (self._closed_form(x, valid, lo, hi) if self.warm_start
                 else torch.zeros(t, n, lo.shape[2]))
        params = torch.clamp(start, lo, hi)
        if self.objective == "fixed-point":
            return self._fixed_point_stage(params, x, valid, lo, hi, kind, gen, noise)
        params, steps, final_loss, converged = self._basin_stage(
            params, x, valid, lo, hi, kind, gen, noise, self.unroll, self.lr, self.max_steps,
            decay=False, straight_through=False)
        if kind == "binary" and self.finetune_steps > 0:
            params, more, final_loss, _ = self._basin_stage(
                params, x, valid, lo, hi, kind, gen, noise, self.finetune_unroll,
                self.finetune_lr, self.finetune_steps, decay=True, straight_through=True)
            steps = steps + more
        return params, steps, final_loss, converged

    @staticmethod
    def _groups(sizes: torch.Tensor, n: int, cols: int) -> list[torch.Tensor]:
        """Split networks (``sizes``: real patterns of each) into groups trained one after the
        other, each padded to its own largest size. Minimises the modelled cost per step,
        ``sum over groups (overhead + members * (largest size + 3))`` in units of one pattern
        row's product, by dynamic programming over the distinct sizes. ``overhead`` is the fixed
        cost of one batched step (about 2 MFLOP of work at small N: interpreter and kernel
        launches), ``+ 3`` a network's optimiser update."""
        distinct, inverse = torch.unique(sizes, sorted=True, return_inverse=True)
        members = torch.bincount(inverse, minlength=len(distinct)).tolist()
        values = distinct.tolist()
        overhead = max(1.0, 2e6 / (4.0 * n * cols))
        k = len(values)
        best = [0.0] + [math.inf] * k
        cut = [0] * (k + 1)
        for j in range(1, k + 1):  # groups are runs of consecutive distinct sizes
            count = 0
            for i in range(j - 1, -1, -1):
                count += members[i]
                cost = best[i] + overhead + count * (values[j - 1] + 3)
                if cost < best[j]:
                    best[j], cut[j] = cost, i
        bounds, j = [], k
        while j > 0:
            bounds.append((cut[j], j))
            j = cut[j]
        return [torch.nonzero((inverse >= i) & (inverse < j)).reshape(-1)
                for i, j in reversed(bounds)]

    def _stage(self, params, lo, hi, loss_fn, lr, max_steps, *, decay: bool,
               stable: bool = False):
        """Projected optimisation of ``params`` ``(T, ...)`` in place with autograd through
        ``loss_fn(params) -> (T,)`` (used by subclasses such as the multilayer trainer; the
        single-layer objectives have the faster :meth:`_fixed_point_stage` and
        :meth:`_basin_stage`). Without ``decay`` each network stops (is frozen) on its
        convergence criterion (:meth:`_converged`), and with ``stable`` (opt-in, off by
        default so that callers keep the loss criterion) also when its parameter vector
        changed by less than ``stable_tol`` (relative) over ``stable_window`` steps; with
        ``decay`` the learning rate follows a cosine schedule to 0 over ``max_steps`` and every
        network runs them all. The optimiser update is :meth:`_update` (torch's Adam / RMSprop
        arithmetic)."""
        t = params.shape[0]
        first = torch.zeros_like(params.detach())
        second = torch.zeros_like(params.detach())
        step_count = torch.zeros(()) if self.optimizer == "adam" and hasattr(
            torch, "_fused_adam_") else None
        active = torch.ones(t, dtype=torch.bool)
        steps = torch.zeros(t, dtype=torch.int64)
        final_loss = torch.full((t,), float("nan"))
        window_sum = torch.zeros(t)
        prev_window = torch.full((t,), float("inf"))
        stable = stable and not decay
        reference = None
        for step in range(1, max_steps + 1):
            rate = lr * 0.5 * (1 + math.cos(math.pi * (step - 1) / max_steps)) if decay else lr
            params.grad = None
            per_net = loss_fn(params)  # (T,)
            per_net.sum().backward()
            with torch.no_grad():
                frozen = None if active.all() else params[~active].clone()
                self._update(params, params.grad, first, second, step, step_count, lr=rate)
                torch.clamp(params, lo, hi, out=params)
                if frozen is not None:
                    params[~active] = frozen
            steps[active] = step
            final_loss[active] = per_net.detach()[active]
            if not decay:
                active &= ~self._converged(per_net.detach(), step, window_sum, prev_window)
                if stable and step % self.stable_window == 0:
                    current = params.detach().reshape(t, -1).clone()
                    if reference is not None:
                        change = (current - reference).norm(dim=1) / current.norm(
                            dim=1).clamp_min(1e-30)
                        active &= ~(change < self.stable_tol)
                    reference = current
                if not active.any():
                    break
        params.grad = None
        return steps, final_loss, ~active if not decay else torch.ones(t, dtype=torch.bool)

    def _fixed_point_stage(self, params, x, valid, lo, hi, kind, gen, noise):
        """The fixed-point objective, fast: closed-form gradient (two batched products per
        step), the optimiser's update as one fused kernel where torch has it (Adam; the same
        arithmetic as ``torch.optim.Adam`` with default betas and eps, else written out, as for
        RMSprop), projection into ``[lo, hi]``, and networks that stop leave the batch (which
        is then also trimmed to the largest remaining pattern count).

        Padding rows are zeroed, bias input included, so they contribute nothing. With
        ``stop="stable"`` the loss (for ``tol``) is evaluated at the checks only; with
        ``"loss"`` after every step. The criterion is evaluated on the weights that are
        returned: ``steps`` counts the optimiser updates they received and ``loss`` is their
        loss. Returns ``(params, steps, loss, converged)``.
        """
        t, _, n = x.shape
        weight_noise, read_noise = noise
        out = params.clone()
        steps = torch.zeros(t, dtype=torch.int64)
        final_loss = torch.full((t,), float("nan"))
        converged = torch.zeros(t, dtype=torch.bool)
        work = torch.arange(t)  # original index of each network still in the batch
        a = params.clone()
        lo, hi = lo.contiguous(), hi.contiguous()
        first = torch.zeros_like(a)  # Adam: first moment; RMSprop: unused
        second = torch.zeros_like(a)  # Adam: second moment; RMSprop: square average
        mask = valid[:, :, None]
        x = x * mask
        u = torch.cat([x, mask], dim=2) if self.bias else x  # bias input 1 on real rows only
        ug = u * (2.0 / (n * valid.sum(dim=1)))[:, None, None]  # gradient's input, loss-scaled
        read_scale = ((x.pow(2).sum(-1, keepdim=True) + float(self.bias)).sqrt() * read_noise
                      if read_noise > 0 else None)
        every = 1 if self.stop == "loss" else self.stable_window
        reference = None
        fused = self.optimizer == "adam" and hasattr(torch, "_fused_adam_")
        step_count = torch.zeros(())
        for done in range(self.max_steps + 1):
            if weight_noise > 0:
                noisy = a.clone()
                noisy[:, :, :n] += weight_noise * torch.randn((a.shape[0], n, n), generator=gen)
                h = torch.bmm(u, noisy.transpose(1, 2))
            else:
                h = torch.bmm(u, a.transpose(1, 2))
            if read_scale is not None:
                h += read_scale * torch.randn(h.shape, generator=gen)
            y = torch.tanh(h, out=h)
            err = y - x
            if done % every == 0 or done == self.max_steps:
                loss = (err * mask).pow(2).sum(dim=(1, 2)) / (n * valid.sum(dim=1))
                finished = loss < self.tol
                if self.stop == "stable" and done:
                    current = self._row_state(a, kind)
                    if reference is not None:
                        change = (current - reference).norm(dim=2)
                        if kind != "binary":
                            change = change / current.norm(dim=2).clamp_min(1e-30)
                        finished |= change.amax(dim=1) < self.stable_tol
                    reference = current
                met = finished.clone()
                if done == self.max_steps:
                    finished[:] = True
                if finished.any():
                    gone = work[finished]
                    out[gone], steps[gone] = a[finished], done
                    final_loss[gone], converged[gone] = loss[finished], met[finished]
                    keep = ~finished
                    if not keep.any():
                        break
                    rows = int(valid[keep].sum(dim=1).max())
                    work, a, first, second, lo, hi = (v[keep] for v in (
                        work, a, first, second, lo, hi))
                    x, u, ug, mask, valid, err, y = (v[keep, :rows] for v in (
                        x, u, ug, mask, valid, err, y))
                    if read_scale is not None:
                        read_scale = read_scale[keep, :rows]
                    if reference is not None:
                        reference = reference[keep]
            slope = err * y
            torch.addcmul(err, slope, y, value=-1, out=slope)  # d loss / d h, unscaled
            grad = torch.bmm(slope.transpose(1, 2), ug)
            self._update(a, grad, first, second, done + 1, step_count if fused else None)
            torch.clamp(a, lo, hi, out=a)
        return out, steps, final_loss, converged

    def _update(self, a, grad, first, second, step: int, step_count, *,
                lr: float | None = None) -> None:
        """One optimiser update of ``a`` in place with learning rate ``lr`` (default
        ``self.lr``): torch's fused Adam kernel when ``step_count`` (a float tensor,
        incremented here) is given, else the arithmetic of ``torch.optim.Adam`` /
        ``torch.optim.RMSprop`` (default betas / alpha, eps 1e-8)."""
        lr = self.lr if lr is None else lr
        if self.optimizer == "adam" and step_count is not None:
            step_count += 1
            torch._fused_adam_([a], [grad], [first], [second], [], [step_count], lr=lr,
                               beta1=_ADAM_BETAS[0], beta2=_ADAM_BETAS[1], weight_decay=0.0,
                               eps=_OPT_EPS, amsgrad=False, maximize=False)
        elif self.optimizer == "adam":
            beta1, beta2 = _ADAM_BETAS
            first.lerp_(grad, 1 - beta1)
            second.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = (second.sqrt() / math.sqrt(1 - beta2 ** step)).add_(_OPT_EPS)
            a.addcdiv_(first, denom, value=-lr / (1 - beta1 ** step))
        else:
            second.mul_(_RMSPROP_ALPHA).addcmul_(grad, grad, value=1 - _RMSPROP_ALPHA)
            a.addcdiv_(grad, second.sqrt().add_(_OPT_EPS), value=-lr)

    def _basin_stage(self, params, x, valid, lo, hi, kind, gen, noise, unroll, lr, max_steps,
                     *, decay: bool, straight_through: bool):
        """:meth:`_stage` for the single-layer basin objective, fast: the loss of :meth:`_loss`
        with its gradient written out (:meth:`_basin_loss_grad`, no autograd), the optimiser
        update as in :meth:`_fixed_point_stage`, and networks that stop leave the batch.
        Same criteria and bookkeeping as :meth:`_stage` (``steps`` = updates, ``loss`` = the
        loss measured before the last update). Returns ``(params, steps, loss, converged)``."""
        t = x.shape[0]
        out = params.clone()
        steps = torch.zeros(t, dtype=torch.int64)
        final_loss = torch.full((t,), float("nan"))
        converged = torch.ones(t, dtype=torch.bool) if decay else torch.zeros(t, dtype=torch.bool)
        work = torch.arange(t)
        a = params.clone()
        first, second = torch.zeros_like(a), torch.zeros_like(a)
        window_sum = torch.zeros(t)
        prev_window = torch.full((t,), float("inf"))
        late = torch.arange(1, unroll + 1, dtype=torch.float32) ** self.late_weight
        late = late / late.sum()
        step_count = torch.zeros(()) if self.optimizer == "adam" and hasattr(
            torch, "_fused_adam_") else None
        for step in range(1, max_steps + 1):
            rate = lr * 0.5 * (1 + math.cos(math.pi * (step - 1) / max_steps)) if decay else lr
            loss, grad = self._basin_loss_grad(a, x, valid, kind, gen, noise, unroll, late,
                                               straight_through)
            self._update(a, grad, first, second, step, step_count, lr=rate)
            torch.clamp(a, lo, hi, out=a)
            steps[work], final_loss[work] = step, loss
            if decay:
                continue
            done = self._converged(loss, step, window_sum, prev_window)
            if done.any():
                out[work[done]], converged[work[done]] = a[done], True
                keep = ~done
                if not keep.any():
                    return out, steps, final_loss, converged
                rows = int(valid[keep].sum(dim=1).max())
                work, a, first, second, lo, hi, window_sum, prev_window = (v[keep] for v in (
                    work, a, first, second, lo, hi, window_sum, prev_window))
                x, valid = x[keep, :rows], valid[keep, :rows]
        out[work] = a
        return out, steps, final_loss, converged

    def _noisy_field(self, a, state, noise, gen):
        """:meth:`_field` of ``[W | b]`` ``a`` for ``state`` ``(T, B, N)``, with the same noise
        draws, also returning what the gradient needs: the weights used (noisy or not) and,
        with read noise, ``read_noise * noise_draw / norm`` (``d h / d state`` of the noise
        term is that times ``state``)."""
        n = state.shape[2]
        w = a[:, :, :n]
        weight_noise, read_noise = noise
        if weight_noise > 0:
            w = w + weight_noise * torch.randn(w.shape, generator=gen)
        h = torch.bmm(state, w.transpose(1, 2))
        if self.bias:
            h += a[:, None, :, n]
        extra = None
        if read_noise > 0:
            norm = (state.pow(2).sum(-1, keepdim=True) + float(self.bias)).sqrt()
            draw = torch.randn(h.shape, generator=gen)
            h += read_noise * norm * draw
            extra = read_noise * draw / norm
        return h, w, extra

    def _training_cues(self, x: torch.Tensor, mask: torch.Tensor, copies: int, kind: str,
                       gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The basin objective's corrupted training cues: ``copies`` of every pattern
        ``x`` ``(T, P, N)`` as targets ``(T, copies * P, N)``, the padding mask repeated to
        match, and the cues (binary: ``cue_flip`` bit flips; continuous: Gaussian
        ``cue_noise``, clipped to [-1, 1]) drawn from ``gen``."""
        target = x.repeat(1, copies, 1)
        mask = mask.repeat(1, copies, 1)
        if kind == "binary":
            flips = torch.rand(target.shape, generator=gen) < self.cue_flip
            return target, mask, torch.where(flips, -target, target)
        noisy = target + self.cue_noise * torch.randn(target.shape, generator=gen)
        return target, mask, noisy.clamp(-1, 1)

    def _basin_loss_grad(self, a, x, valid, kind, gen, noise, unroll, late, straight_through):
        """The basin loss of :meth:`_loss` (same random draws, in the same order) and its
        gradient with respect to ``a`` ``(T, N, cols)``, by backpropagation through the
        ``unroll`` synchronous updates written out: ``d state_{k+1} / d h_k = 1 - tanh^2``
        (straight-through for sign updates). ``late``: ``(unroll,)`` weights of the updates.
        Returns ``(loss (T,), grad (T, N, cols))``."""
        t, p, n = x.shape
        copies = self.cue_copies
        count = valid.sum(dim=1)
        padded = bool((count < p).any())
        mask = valid[:, :, None]
        h, _, _ = self._noisy_field(a, x, noise, gen)
        y = torch.tanh(h)
        err = y - x
        if padded:
            err *= mask
        fixed = err.pow(2).sum(dim=(1, 2)) / (n * count)
        slope0 = err.mul_(1 - y * y).mul_((2.0 / (n * count))[:, None, None])
        target, mask, state = self._training_cues(x, mask, copies, kind, gen)
        rows = target.shape[1]
        states = torch.empty(t, unroll, rows, n)  # input of every unrolled update
        slopes = torch.empty(t, unroll, rows, n)  # d loss / d h of every unrolled update
        states[:, 0] = state
        logistic = self.recall_loss == "logistic" and kind == "binary"
        tau = self.finetune_temperature
        tape, squares = [], []
        for k in range(unroll):
            h, w, extra = self._noisy_field(a, states[:, k], noise, gen)
            nxt, slope_of, err = unrolled_outputs(h, target, mask if padded else None,
                                                  straight_through=straight_through, tau=tau,
                                                  logistic=logistic, squares=squares)
            if k + 1 < unroll:
                states[:, k + 1] = nxt
            tape.append((slope_of, w, extra, err))
        coef = [float(c) for c in late]
        scale = 2.0 / (n * copies * count)[:, None, None]
        if logistic:
            scale = scale / 2.0  # d softplus(-2 x h) / d h = tanh(h) - x, no factor 2
        grad_state = None  # d loss / d state_{k+1}
        for k in range(unroll - 1, -1, -1):
            soft, w, extra, err = tape[k]
            direct = err.mul_(scale * coef[k])
            slope = slopes[:, k]
            if logistic:  # the direct term acts on the field, not through the state
                if grad_state is None:
                    slope.copy_(direct)
                else:
                    torch.mul(grad_state, soft * soft, out=slope)
                    torch.sub(grad_state, slope, out=slope)
                    slope += direct
            else:
                grad_state = direct if grad_state is None else grad_state.add_(direct)
                torch.mul(grad_state, soft * soft, out=slope)
                torch.sub(grad_state, slope, out=slope)  # grad_state * (1 - soft^2)
            if k:
                grad_state = torch.bmm(slope, w)
                if extra is not None:
                    grad_state += (slope * extra).sum(-1, keepdim=True) * states[:, k]
        loss = fixed + (torch.stack(squares, dim=1) @ late) / (n * copies * count)
        flat_slopes = slopes.view(t, unroll * rows, n)
        grad_w = torch.bmm(flat_slopes.transpose(1, 2), states.view(t, unroll * rows, n))
        grad_w.baddbmm_(slope0.transpose(1, 2), x)
        if not self.bias:
            return loss, grad_w
        grad_b = flat_slopes.sum(dim=1) + slope0.sum(dim=1)
        return loss, torch.cat([grad_w, grad_b[:, :, None]], dim=2)

    @staticmethod
    def _row_state(a: torch.Tensor, kind: str) -> torch.Tensor:
        """What ``"stable"`` compares between checks: each row of ``[W | b]``, unit-normalised
        for binary patterns (direction only; an all-zero row stays zero)."""
        if kind != "binary":
            return a.clone()
        return a / a.norm(dim=2, keepdim=True).clamp_min(1e-30)

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
        logistic = self.recall_loss == "logistic" and kind == "binary"
        for k in range(unroll):
            h = self._field(params, state, noise, gen)
            tau = self.finetune_temperature
            soft = tau * torch.tanh(h / tau) if straight_through else torch.tanh(h)
            state = soft + (torch.sign(h) - soft).detach() if straight_through else soft
            if logistic:
                term = torch.nn.functional.softplus(-2.0 * target * h).mean(dim=2)
                term = (term * valid).sum(dim=1) / valid.sum(dim=1)
            else:
                term = self._masked_mse(state, target, valid)
            recall = recall + weights[k] * term
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


def unrolled_outputs(h: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None, *,
                     straight_through: bool, tau: float, logistic: bool,
                     squares: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor,
                                                           torch.Tensor]:
    """One unrolled recall step of the basin objective's written-out gradient, after the
    pre-activation ``h`` ``(T, B, N)`` (overwritten with ``tanh(h)``).

    Returns ``(next_state, slope_of, err)``: the next state (sign with the straight-through
    fine-tune, else tanh), the tensor whose ``1 - x^2`` is the step's surrogate slope
    (``tanh(h / tau)`` when the fine-tune temperature differs from 1, else ``tanh(h)``), and the
    output error (``tanh(h) - target`` for the logistic loss, else ``next_state - target``;
    zeroed where ``mask`` is 0). The step's per-network loss (sum of squared errors, or of
    ``softplus(-2 target h)`` for the logistic loss) is appended to ``squares``. Shared by the
    single-layer and multilayer trainers.
    """
    if logistic:  # softplus(-2 x h) per neuron; gradient tanh(h) - x
        term = torch.nn.functional.softplus(-2.0 * target * h)
        if mask is not None:
            term *= mask
        squares.append(term.sum(dim=(1, 2)))
    surrogate = torch.tanh(h / tau) if straight_through and tau != 1.0 else None
    soft = torch.tanh(h, out=h)
    nxt = torch.sign(h) if straight_through else soft
    err = (soft if logistic else nxt) - target
    if mask is not None:
        err *= mask
    if not logistic:
        squares.append(err.pow(2).sum(dim=(1, 2)))
    return nxt, (soft if surrogate is None else surrogate), err
