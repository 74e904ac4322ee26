"""The single-layer path of the hardware-adaptive rule: ``f(x) = tanh(W x + b)`` on one crossbar.

Parameters are ``[W | b]`` ``(T, N, N + bias)`` (weight units), trained inside their realisable
intervals; with ``zero_diagonal`` the diagonal is pinned at the realisable value closest to 0.
Both objectives train without autograd: the fixed-point objective with its closed-form
gradient (two batched products per step), the basin objective with its gradient written out
through the unrolled updates (:meth:`SingleLayerFit.basin_loss_grad`). Networks storing
different numbers of patterns are split into groups of similar size (``bucket``).
"""

from __future__ import annotations

import math

import torch

from xbarmem.errors import ConfigError
from xbarmem.learning.base import Problem, box_size, boxed, valid_mask
from xbarmem.learning.batch import Batch, batch_constants, per_batch, trim
from xbarmem.learning.flip_stage import flip_stage
from xbarmem.learning.noise import read_noise_term, training_cues, with_write_noise, write_std
from xbarmem.learning.objective import (
    basin_loss,
    fixed_term,
    tanh,
    unrolled_backward,
    unrolled_outputs,
)
from xbarmem.learning.optimizer import fused_counter, optimizer_step, stable_check
from xbarmem.learning.quantise import Quantiser, seen, trimmed
from xbarmem.learning.stages import StepReporter, pinned_result, two_stage
from xbarmem.sizes import WARM_START_SLICE_BYTES


class SingleLayerFit:
    """Training of ``T`` one-layer networks with resolved options ``opts``."""

    def __init__(self, opts, progress=None) -> None:
        self.opts = opts
        self.reporter = StepReporter(progress)  # training progress, if asked for
        self.quantiser: Quantiser | None = None  # of the group training (opts.quantize)

    def run(self, problem: Problem) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                             torch.Tensor, torch.Tensor]:
        """Train; returns ``(weights (T, N, N), bias (T, N), steps, loss, converged)`` (bias
        zeros without a bias option). When no network has a free device (the diagonal
        pinned with ``zero_diagonal``), no step is taken
        (:func:`~xbarmem.learning.stages.pinned_result`: the pinned weights, 0 steps)."""
        o = self.opts
        x = problem.patterns
        t, p, n = x.shape
        cols = n + int(o.bias)
        lo, hi = self.bounds(problem.bounds[0], t, n, cols, problem.zero_diagonal)
        valid = valid_mask(problem.counts, t, p)
        gen = torch.Generator().manual_seed(o.seed)
        noise = problem.noise if o.noise_injection else (0.0, 0.0)
        sizes = valid.sum(dim=1).to(torch.int64)
        groups = self.groups(sizes, n, cols) if o.bucket else [torch.arange(t)]
        params = torch.zeros(t, n, cols, dtype=torch.float32)
        steps = torch.zeros(t, dtype=torch.int64)
        final_loss = torch.full((t,), float("nan"), dtype=torch.float32)
        converged = torch.zeros(t, dtype=torch.bool)
        full = Quantiser(list(problem.grids)) if o.quantize and problem.grids else None
        if bool((lo == hi).all()):  # no free device (every device stuck): nothing to train
            params, steps, final_loss, converged = pinned_result(params, lo, hi)
            groups = []
        for idx in groups:  # each group padded only to its own largest pattern count
            rows = int(sizes[idx].max())
            xg, vg = x[idx, :rows], valid[idx, :rows]
            start = (self.warm_start(xg, vg, lo[idx], hi[idx]) if o.warm_start
                     else torch.zeros(len(idx), n, cols, dtype=torch.float32))
            start = torch.clamp(start, lo[idx], hi[idx])
            self.quantiser = None if full is None else full[idx]
            if o.flip_steps:  # validated by the rule: binary patterns, basin objective
                box: tuple[torch.Tensor, torch.Tensor] = (
                    (lo[idx], hi[idx]) if not o.flip_bound
                    else boxed(lo[idx], hi[idx], box_size(problem, 0, o.flip_bound)[idx]))
                start, loss = flip_stage(o, torch.clamp(start, *box), xg, vg, *box, noise,
                                         self.reporter, self.quantiser)
                self.reporter.done(o.flip_steps, loss, "flip")
            out = two_stage(self, start, xg, vg, lo[idx], hi[idx], problem.kind, gen, noise)
            params[idx], steps[idx], final_loss[idx], converged[idx] = out
            steps[idx] += o.flip_steps or 0
        if full is not None:  # on a chip with levels: the weights it holds
            params = full(params).clone()
        bias = params[:, :, n].clone() if o.bias else torch.zeros(t, n, dtype=torch.float32)
        return params[:, :, :n].clone(), bias, steps, final_loss, converged

    def bounds(self, bounds, t: int, n: int, cols: int, zero_diagonal: bool):
        """The intervals as ``(T, N, cols)`` copies, the diagonal pinned at the realisable
        value closest to 0 with ``zero_diagonal``."""
        lo, hi = bounds
        if lo.shape != (t, n, cols) or hi.shape != (t, n, cols):
            raise ConfigError(f"weight bounds must have shape ({t}, {n}, {cols}) "
                              f"(bias column {'included' if self.opts.bias else 'excluded'}), "
                              f"got {tuple(lo.shape)}")
        lo, hi = lo.clone(), hi.clone()
        if zero_diagonal:  # no self-connection
            idx = torch.arange(n)
            diag = torch.clamp(torch.zeros(t, n, dtype=torch.float32), lo[:, idx, idx],
                               hi[:, idx, idx])
            lo[:, idx, idx] = diag
            hi[:, idx, idx] = diag
        return lo, hi

    @staticmethod
    def groups(sizes: torch.Tensor, n: int, cols: int) -> list[torch.Tensor]:
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

    def warm_start(self, x, valid, lo, hi) -> torch.Tensor:
        """Per-row masked minimum-norm solution of ``A u = kappa x`` (see ``warm_start``)."""
        o = self.opts
        t, p, n = x.shape
        kappa = o.warm_start_field or (
            math.atanh(1.0 - math.sqrt(o.tol) / 3) if o.objective == "fixed-point" else 1.0)
        u = x * valid[:, :, None]
        if o.bias:
            u = torch.cat([u, valid[:, :, None]], dim=2)  # (T, P, cols)
        pinned = lo == hi
        free = (~pinned).to(x.dtype)  # (T, N, cols)
        fixed = torch.where(pinned, lo, torch.zeros_like(lo))
        rhs = kappa * x.transpose(1, 2) * valid[:, None, :] - torch.bmm(fixed, u.transpose(1, 2))
        u64 = u.double()
        gram = row_grams(u64, free.double())  # (T, N, P, P)
        eye = torch.eye(p, dtype=torch.float64)
        pad = (1.0 - valid.double())[:, None, :, None] * eye  # padding rows: identity, zero rhs
        ridge = 1e-6 * (1.0 + gram.diagonal(dim1=-2, dim2=-1).mean())
        gram.add_(pad).add_(ridge * eye)  # in place: one (T, N, P, P) tensor, not three
        alpha = row_solve(gram, rhs.double())
        w = torch.einsum("tpj,tip->tij", u64, alpha).float() * free
        return torch.clamp(w + fixed, lo, hi)

    # ------------------------------------------------------------------ fixed-point objective
    def fixed_point_stage(self, params, x, valid, lo, hi, kind, gen, noise):
        """The fixed-point objective, fast: closed-form gradient (two batched products per
        step), :func:`~xbarmem.learning.optimizer.optimizer_step`, projection into ``[lo, hi]``,
        and networks that stop leave the batch (then trimmed to the largest remaining pattern
        count). Padding rows are zeroed, bias input included, so they contribute nothing.
        With ``stop="stable"`` the loss (for ``tol``) is evaluated at the checks only; with
        ``"loss"`` after every step. ``steps`` counts the updates the returned weights
        received and ``loss`` is their loss. Returns ``(params, steps, loss, converged)``."""
        o = self.opts
        n = x.shape[2]
        batch = Batch(params)
        a = params.clone()
        lo, hi = lo.contiguous(), hi.contiguous()
        first = torch.zeros_like(a)  # Adam: first moment; RMSprop: unused
        second = torch.zeros_like(a)  # Adam: second moment; RMSprop: square average
        mask = valid[:, :, None]
        x = x * mask
        u = torch.cat([x, mask], dim=2) if o.bias else x  # bias input 1 on real rows only
        ug = u * (2.0 / (n * valid.sum(dim=1)))[:, None, None]  # gradient's input, loss-scaled
        read_scale = ((x.pow(2).sum(-1, keepdim=True) + float(o.bias)).sqrt() * noise[1]
                      if noise[1] > 0 else None)
        every = 1 if o.stop == "loss" else o.stable_window
        reference = None
        quant = self.quantiser
        step_count = torch.zeros((), dtype=torch.float32) if fused_counter(o) is not None else None
        for done in range(o.max_steps + 1):
            y, err = self._output(seen(quant, a), u, x, noise[0], read_scale, gen)
            if done % every == 0 or done == o.max_steps:
                loss = (err * mask).pow(2).sum(dim=(1, 2)) / (n * valid.sum(dim=1))
                self.reporter(done, loss)
                finished = loss < o.tol
                reference = stable_check(o, finished, done, reference,
                                         lambda a=a: self._row_state(a, kind),
                                         lambda c, r: self._row_change(c, r, kind))
                met = finished.clone()
                if done == o.max_steps:
                    finished[:] = True
                if finished.any():
                    keep = batch.leave(finished, a, steps=done, loss=loss, converged=met)
                    if not keep.any():
                        self.reporter.done(done, loss, "fixed-point")
                        break
                    rows = [x, u, ug, mask, valid, err, y] + (
                        [] if read_scale is None else [read_scale])
                    (a, first, second, lo, hi), rows = trim(keep, valid,
                                                            (a, first, second, lo, hi), rows)
                    x, u, ug, mask, valid, err, y = rows[:7]
                    read_scale = rows[7] if read_scale is not None else None
                    reference = None if reference is None else reference[keep]
                    quant = trimmed(quant, keep)
            slope = err * y
            torch.addcmul(err, slope, y, value=-1, out=slope)  # d loss / d h, unscaled
            grad = torch.bmm(slope.transpose(1, 2), ug)
            optimizer_step(o, a, grad, first, second, done + 1, step_count)
            torch.clamp(a, lo, hi, out=a)
        return batch.result()

    def _output(self, a, u, x, weight_noise, read_scale, gen):
        """``y = tanh([x | 1] [W | b]^T + noise)`` and ``y - x`` of the fixed-point stage."""
        n = x.shape[2]
        std = write_std(self.opts, a[:, :, :n], weight_noise)
        if std is not None:
            h = torch.bmm(u, with_write_noise(a, n, std, gen).transpose(1, 2))
        else:
            h = torch.bmm(u, a.transpose(1, 2))
        if read_scale is not None:
            h += read_scale * torch.randn(h.shape, generator=gen, dtype=torch.float32)
        y = tanh(h, out=h)
        return y, y - x

    @staticmethod
    def _row_state(a: torch.Tensor, kind: str) -> torch.Tensor:
        """What ``"stable"`` compares between checks: each row of ``[W | b]``, unit-normalised
        for binary patterns (direction only; an all-zero row stays zero)."""
        if kind != "binary":
            return a.clone()
        return a / a.norm(dim=2, keepdim=True).clamp_min(1e-30)

    @staticmethod
    def _row_change(current, reference, kind: str) -> torch.Tensor:
        """``(T,)`` largest change of a row between checks (relative for continuous)."""
        change = (current - reference).norm(dim=2)
        if kind != "binary":
            change = change / current.norm(dim=2).clamp_min(1e-30)
        return change.amax(dim=1)

    # ------------------------------------------------------------------ basin objective
    def views(self, a, n: int):
        """``(W, W^T, b)`` views of ``[W | b]`` ``a`` (``b`` as ``(T, 1, N)``, None without
        bias), shared by the products of one step."""
        w = a[:, :, :n]
        return w, w.transpose(1, 2), (a[:, None, :, n] if self.opts.bias else None)

    def noisy_field(self, a, state, noise, gen, views=None):
        """Pre-activations ``(T, B, N)`` of ``[W | b]`` ``a`` for ``state`` ``(T, B, N)``, with
        the chip's noise: also returns the weights used (noisy or not) and, with read noise,
        ``read_noise * draw / norm`` (:func:`~xbarmem.learning.noise.read_noise_term`).
        ``views``: :meth:`views` of ``a``, when the caller has them."""
        n = state.shape[2]
        w, wt, bias = views or self.views(a, n)
        weight_noise, read_noise = noise
        std = write_std(self.opts, w, weight_noise)
        if std is not None:
            w = w + std * torch.randn(w.shape, generator=gen, dtype=torch.float32)
            wt = w.transpose(1, 2)
        h = torch.bmm(state, wt)  # bias added after the product (own rounding)
        if bias is not None:
            h += bias
        extra = read_noise_term(h, state, read_noise, self.opts.bias, gen) \
            if read_noise > 0 else None
        return h, w, extra

    def basin_loss_grad(self, a, x, valid, kind, gen, noise, unroll, late, straight_through,
                        want_loss: bool = True):
        """The basin loss (fixed-point term plus the weighted recall terms of ``unroll``
        synchronous updates from fresh corrupted cues) and its gradient with respect to ``a``
        ``(T, N, cols)``, backpropagated by hand through the updates
        (``d state_{k+1} / d h_k = 1 - tanh^2``, straight-through for sign updates). ``late``:
        ``(unroll,)`` weights of the updates. Returns ``(loss (T,), grad (T, N, cols))``;
        the loss is None when ``want_loss`` is False (its terms are then not computed)."""
        o = self.opts
        t, _, n = x.shape
        views = per_batch(self, "_views", (a,), (n,), lambda: self.views(a, n))
        consts = batch_constants(self, x, valid, o.cue_copies)
        h, _, _ = self.noisy_field(a, x, noise, gen, views)
        fixed, slope0 = fixed_term(tanh(h), x, consts)
        target, mask, state = training_cues(o, consts, kind, gen)
        rows = target.shape[1]
        # every unrolled update's input and d loss / d h (overwritten by each step), update
        # k's views of both, and both flattened over the updates for the weight gradient
        states_at, slopes_at, flat_slopes, flat_slopes_t, flat_states = per_batch(
            self, "_step_buffers", (x,), (unroll, rows), lambda: _step_buffers(t, unroll, rows, n))
        states_at[0].copy_(state)
        logistic = o.recall_loss == "logistic" and kind == "binary"
        tape: list = []
        squares: list[torch.Tensor] | None = [] if want_loss else None
        for k in range(unroll):
            h, w, extra = self.noisy_field(a, states_at[k], noise, gen, views)
            nxt, slope_of, err = unrolled_outputs(h, target, mask if consts.padded else None,
                                                  straight_through=straight_through,
                                                  tau=o.finetune_temperature,
                                                  logistic=logistic, squares=squares)
            if k + 1 < unroll:
                states_at[k + 1].copy_(nxt)
            tape.append((slope_of, (w, extra), err))

        def back(k, slope, saved):
            if not k:
                return None
            w, extra = saved
            grad_state = torch.bmm(slope, w)
            if extra is not None:
                grad_state += (slope * extra).sum(-1, keepdim=True) * states_at[k]
            return grad_state

        unrolled_backward(tape, consts.cue_slope, late, logistic,
                          slopes_at.__getitem__, _damp, back)
        loss = basin_loss(fixed, squares, late, consts.cue_scale)
        grad_w = torch.bmm(flat_slopes_t, flat_states)
        grad_w.baddbmm_(slope0.transpose(1, 2), x)
        if not o.bias:
            return loss, grad_w
        grad_b = flat_slopes.sum(dim=1) + slope0.sum(dim=1)
        return loss, torch.cat([grad_w, grad_b[:, :, None]], dim=2)


def _row_slice(t: int, per_row: int) -> int:
    """Rows per slice: as many as keep ``t * rows * per_row`` float64 values within
    :data:`~xbarmem.sizes.WARM_START_SLICE_BYTES` (at least one; the Gram matrices themselves,
    ``(T, N, P, P)``, are the method's own)."""
    return max(1, WARM_START_SLICE_BYTES // (8 * t * per_row))


def row_grams(u: torch.Tensor, free: torch.Tensor) -> torch.Tensor:
    """``(T, N, P, P)``: row ``i``'s Gram matrix ``u diag(free_i) u^T`` of every network, from
    ``u`` ``(T, P, cols)`` and ``free`` ``(T, N, cols)`` (float64). Computed a slice of rows at
    a time: one product of every row at once held ``(T, P, N, cols)`` values, ``N^2 x P`` per
    network (10 GB at N = 1024, P = 1024); each slice's values are those of that product."""
    t, p, cols = u.shape
    n = free.shape[1]
    gram = torch.empty(t, n, p, p, dtype=torch.float64)
    step = _row_slice(t, p * cols)
    for i in range(0, n, step):
        gram[:, i:i + step] = torch.einsum("tpj,tij,tqj->tipq", u, free[:, i:i + step], u)
    return gram


def row_solve(gram: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """``(T, N, P)``: the solution of ``gram[t, i] a = rhs[t, i]`` for every row (``gram``
    ``(T, N, P, P)``, ``rhs`` ``(T, N, P)``), a slice of rows at a time (the factorisation
    copies its matrices: a copy of all of them at once doubled the warm start's peak)."""
    t, n, p, _ = gram.shape
    alpha = torch.empty(t, n, p, dtype=gram.dtype)
    step = _row_slice(t, p * p)
    for i in range(0, n, step):
        alpha[:, i:i + step] = torch.linalg.solve(
            gram[:, i:i + step], rhs[:, i:i + step].unsqueeze(-1)).squeeze(-1)
    return alpha


def _step_buffers(t: int, unroll: int, rows: int, n: int) -> tuple:
    """The buffers of one batch's basin steps (every unrolled update's input and field slope,
    ``(T, unroll, rows, N)`` each) as the steps use them: update ``k``'s view of the inputs and
    of the slopes (a list each), and the slopes ``(T, unroll * rows, N)`` of all updates
    flattened, the same transposed and the inputs flattened ``(T, unroll * rows, N)``."""
    states = torch.empty(t, unroll, rows, n, dtype=torch.float32)
    slopes = torch.empty(t, unroll, rows, n, dtype=torch.float32)
    flat_slopes = slopes.view(t, unroll * rows, n)
    return ([states[:, k] for k in range(unroll)], [slopes[:, k] for k in range(unroll)],
            flat_slopes, flat_slopes.transpose(1, 2), states.view(t, unroll * rows, n))


def _damp(grad_state: torch.Tensor, soft: torch.Tensor, out: torch.Tensor) -> None:
    """``out = grad_state * (1 - soft^2)`` as the single-layer path computes it."""
    torch.mul(grad_state, soft * soft, out=out)
    torch.sub(grad_state, out, out=out)
