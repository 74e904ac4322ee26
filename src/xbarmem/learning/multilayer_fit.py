"""The multilayer path of the hardware-adaptive rule: ``N -> H ... -> N`` on several crossbars.

The single-layer rule (same objectives, criteria, projection into the realisable intervals
after each step, noise injection, two-stage sign fine-tune) applied to the composed map
``f(x) = tanh(W_L tanh(... tanh(W_1 x + b_1) ...) + b_L)``; every layer brings its own
intervals and there is no diagonal constraint. All layers are packed in one flat parameter
tensor ``(T, D)``, ``D = sum over layers of n_out * (n_in + bias)``, layer by layer, each
layer's ``[W | b]`` row-major. Weights start from a seeded normal draw of std
``init_scale / sqrt(fan_in)`` (a zero layer passes no gradient), or with ``init="linear"``
from the closed-form linear denoiser of :mod:`~xbarmem.learning.linear_start`, clipped into
their intervals.
A layer with more than ``lr_fan_in`` inputs takes proportionally smaller steps: the optimised
variable is the parameter divided by ``min(1, lr_fan_in / fan_in)`` (one optimiser serves
every layer). Losses and gradients are written out (backpropagation through the layers and,
for the basin objective, through the unrolled updates, by batched ``torch.bmm`` products).
"""

from __future__ import annotations

import torch

from xbarmem.errors import ConfigError
from xbarmem.learning import stages
from xbarmem.learning.base import Problem, valid_mask
from xbarmem.learning.batch import Batch, batch_constants, per_batch, trim
from xbarmem.learning.linear_start import linear_start
from xbarmem.learning.noise import read_noise_term, training_cues, with_write_noise, write_std
from xbarmem.learning.objective import (
    basin_loss,
    fixed_term,
    tanh,
    unrolled_backward,
    unrolled_outputs,
)
from xbarmem.learning.optimizer import fused_counter, optimizer_step, stable_check
from xbarmem.learning.quantise import Quantiser, trimmed


class MultilayerFit:
    """Training of ``T`` multilayer networks with resolved options ``opts``: the fit-time
    state (``layout``: per layer ``(n_out, n_in, slice of the flat vector)``; ``scale``
    ``(D,)`` and ``layer_scale``: parameter = scale * optimised variable). Build it with
    :meth:`prepare`."""

    def __init__(self, opts, layout: list[tuple[int, int, slice]], scale: torch.Tensor,
                 layer_scale: list[float]) -> None:
        self.opts, self.layout, self.scale, self.layer_scale = opts, layout, scale, layer_scale
        #: rounds the optimised variable to the chip's levels (``opts.quantize``), or None
        self.quantiser: Quantiser | None = None

    @classmethod
    def prepare(cls, opts, bounds, t: int, n: int):
        """The path for per-layer ``bounds`` ``(lo, hi)`` (each ``(T, n_out, n_in + bias)``)
        and the flat intervals ``(lo, hi)`` ``(T, D)`` of the parameters."""
        layout, los, his, scales, offset = [], [], [], [], 0
        prev = n
        for k, (lo, hi) in enumerate(bounds):
            if lo.ndim != 3 or lo.shape != hi.shape or lo.shape[0] != t:
                raise ConfigError(f"layer {k} bounds must be (n_out, n_in + bias) or "
                                  f"({t}, n_out, n_in + bias), got {tuple(lo.shape)}")
            n_out, cols = lo.shape[1], lo.shape[2]
            n_in = cols - int(opts.bias)
            if n_in != prev:
                raise ConfigError(f"layer {k} has {n_in} inputs but the previous layer has "
                                  f"{prev} outputs (bias column "
                                  f"{'included' if opts.bias else 'excluded'})")
            size = n_out * cols
            layout.append((n_out, n_in, slice(offset, offset + size)))
            step = min(1.0, opts.lr_fan_in / n_in) if opts.lr_fan_in else 1.0
            scales.append(torch.full((size,), step, dtype=torch.float32))
            los.append(lo.reshape(t, size))
            his.append(hi.reshape(t, size))
            offset += size
            prev = n_out
        if len(layout) < 2:
            raise ConfigError("a multilayer memory needs at least two layers")
        if prev != n:
            raise ConfigError(f"the last layer has {prev} outputs but patterns have N={n}")
        path = cls(opts, layout, torch.cat(scales), [float(v[0]) for v in scales])
        return path, torch.cat(los, dim=1), torch.cat(his, dim=1)

    @classmethod
    def start(cls, opts, problem: Problem):
        """Everything a run needs: ``(path, params, x, valid, lo, hi, gen, noise)``, the
        initial parameters drawn from ``gen`` (seeded ``opts.seed``), or with ``init="linear"``
        the closed-form start (:mod:`~xbarmem.learning.linear_start`), clipped."""
        x = problem.patterns
        t, _, n = x.shape
        path, lo, hi = cls.prepare(opts, problem.bounds, t, n)
        valid = valid_mask(problem.counts, t, x.shape[1])
        gen = torch.Generator().manual_seed(opts.seed)
        start = torch.cat([opts.init_scale / (i ** 0.5) * torch.randn(
                               t, o * (i + opts.bias), generator=gen, dtype=torch.float32)
                           for o, i, _ in path.layout], dim=1)
        if opts.init == "linear":
            start = linear_start(path.layout, start, x, valid, opts.cue_noise, opts.bias)
        scale = path.scale
        lo, hi = lo / scale, hi / scale
        params = torch.clamp(start / scale, lo, hi)
        noise = problem.noise if opts.noise_injection else (0.0, 0.0)
        if opts.quantize and problem.grids is not None:  # grids of the optimised variable
            path.quantiser = Quantiser([g.scaled(1.0 / s) for g, s in zip(
                problem.grids, path.layer_scale, strict=True)], path.layout)
        return path, params, x, valid, lo, hi, gen, noise

    @classmethod
    def run(cls, opts, problem: Problem, progress=None):
        """Train; returns ``(weights, biases, steps, loss, converged)`` (per-layer lists).
        ``progress(step, loss)``: see :class:`~xbarmem.learning.stages.StepReporter`. When
        no network has a free device, no step is taken (:func:`~xbarmem.learning.stages.
        pinned_result`: the pinned weights, 0 steps)."""
        path, params, x, valid, lo, hi, gen, noise = cls.start(opts, problem)
        path.reporter = stages.StepReporter(progress)
        if bool((lo == hi).all()):  # no free device in any layer: nothing to train
            params, steps, final_loss, converged = stages.pinned_result(params, lo, hi)
        else:
            params, steps, final_loss, converged = stages.two_stage(
                path, params, x, valid, lo, hi, problem.kind, gen, noise)
        if path.quantiser is not None:  # on a chip with levels: the weights it holds
            params = path.quantiser(params).clone()
        weights, biases = path.unpack(params.detach() * path.scale)
        return weights, biases, steps, final_loss, converged

    def unpack(self, params: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Flat effective parameters ``(T, D)`` -> per-layer weights and biases (zeros
        without bias)."""
        t = params.shape[0]
        weights, biases = [], []
        for n_out, n_in, sl in self.layout:
            a = params[:, sl].reshape(t, n_out, n_in + int(self.opts.bias))
            weights.append(a[:, :, :n_in].clone())
            biases.append(a[:, :, n_in].clone() if self.opts.bias
                          else torch.zeros(t, n_out, dtype=torch.float32))
        return weights, biases

    # ------------------------------------------------------------------ forward / backward
    def blocks(self, a: torch.Tensor) -> list[torch.Tensor]:
        """Per layer ``(T, n_out, n_in + bias)`` views of the flat optimised variable ``a``."""
        t = a.shape[0]
        return [a[:, sl].view(t, n_out, n_in + int(self.opts.bias))
                for n_out, n_in, sl in self.layout]

    def inputs(self, rows: int, t: int, first: torch.Tensor | None = None
               ) -> list[torch.Tensor]:
        """Per layer input buffers ``(T, rows, n_in + bias)``, bias column set to 1; layer 0's
        is ``first`` when given (already augmented)."""
        out = []
        for k, (_, n_in, _) in enumerate(self.layout):
            if k == 0 and first is not None:
                out.append(first)
                continue
            buf = torch.empty(t, rows, n_in + int(self.opts.bias), dtype=torch.float32)
            if self.opts.bias:
                buf[:, :, n_in] = 1.0
            out.append(buf)
        return out

    def forward(self, blocks, inputs, noise, gen, plain=None):
        """Forward pass of the batch in ``inputs[0]`` ``(T, R, N + bias)`` (bias column 1):
        writes every hidden layer's ``tanh`` into ``inputs[k][..., :n_in]`` and returns the
        output field ``(T, R, N)``, the weights ``(T, n_out, n_in)`` each layer used (scaled,
        noisy) and, with read noise, ``read_noise * draw / norm`` per layer (``d field /
        d input`` of the noise term is that times the input). ``plain``: :meth:`plain_views`
        of ``blocks``, when the caller has them."""
        weight_noise, read_noise = noise
        last = len(self.layout) - 1
        used, extras = [], []
        for k, ((n_out, n_in, _), blk, s) in enumerate(zip(self.layout, blocks,
                                                            self.layer_scale, strict=True)):
            if plain is not None and plain[k] is not None:
                a, (w, at) = blk, plain[k]
            else:
                a = blk * s if s != 1.0 else blk
                w, at = a[:, :, :n_in], None
            std = write_std(self.opts, w, weight_noise)
            if std is not None:
                a = with_write_noise(a, n_in, std, gen)
                w, at = a[:, :, :n_in], None
            u = inputs[k]
            z = torch.bmm(u, a.transpose(1, 2) if at is None else at)
            extra = None if read_noise <= 0 else read_noise_term(
                z, u[:, :, :n_in], read_noise, self.opts.bias, gen)
            used.append(w)
            extras.append(extra)
            if k < last:
                tanh(z, out=_head(inputs[k + 1], n_out))
        return z, used, extras

    def plain_views(self, a: torch.Tensor) -> tuple[list[torch.Tensor], list]:
        """:meth:`blocks` of the optimised variable ``a`` and, per layer without a scale,
        ``(W, [W | b]^T)`` views for :meth:`forward` (None for a scaled layer), made once
        per batch (:func:`~xbarmem.learning.batch.per_batch`: ``a`` is updated in place)."""
        def make() -> tuple[list[torch.Tensor], list]:
            blocks = self.blocks(a)
            plain = [(blk[:, :, :n_in], blk.transpose(1, 2)) if s == 1.0 else None
                     for blk, (_, n_in, _), s in zip(blocks, self.layout, self.layer_scale,
                                                     strict=True)]
            return blocks, plain

        return per_batch(self, "_plain_views", (a,), (), make)

    def backward(self, slope, used, inputs, extras, grads=None, slopes=None, *,
                 input_grad: bool = False):
        """Backpropagate ``slope`` (``d loss / d output field``, ``(T, R, N)``) through the
        layers of one :meth:`forward`. Writes layer ``k``'s ``d loss / d [W | b]`` (unscaled:
        with respect to the effective weights) into ``grads[k]``, or its field slope
        ``(T, R, n_out)`` into ``slopes[k]`` (to be multiplied with ``inputs[k]`` later).
        Returns ``d loss / d input`` ``(T, R, N)`` when ``input_grad`` (else None)."""
        for k in range(len(self.layout) - 1, -1, -1):
            if grads is not None:
                torch.bmm(slope.transpose(1, 2), inputs[k], out=grads[k])
            elif slope.data_ptr() != slopes[k].data_ptr():
                slopes[k].copy_(slope)
            if k == 0 and not input_grad:
                return None
            n_in = self.layout[k][1]
            g = torch.bmm(slope, used[k])
            if extras[k] is not None:
                g += (slope * extras[k]).sum(-1, keepdim=True) * inputs[k][:, :, :n_in]
            if k == 0:
                return g
            y = _head(inputs[k], n_in)
            out = None if slopes is None else slopes[k - 1]
            slope = torch.addcmul(g, g * y, y, value=-1, out=out)  # g * (1 - y^2)
        return None

    def scale_grad(self, grad: torch.Tensor) -> None:
        """Effective-weight gradient -> gradient of the optimised variable, in place."""
        for (_, _, sl), s in zip(self.layout, self.layer_scale, strict=True):
            if s != 1.0:
                grad[:, sl] *= s

    def step_buffers(self, x: torch.Tensor, unroll: int, rows: int
                     ) -> tuple[list, list, list, list, list]:
        """Buffers of :meth:`basin_loss_grad` for the batch of patterns ``x`` ``(T, P, N)``,
        kept while ``x`` is the same object and reused by every step: the fixed-point term's
        layer inputs (layer 0: ``x`` with its bias column), every unrolled update's layer
        inputs ``ins`` ``(T, unroll, rows, n_in + bias)``, update ``k``'s per-layer views of
        them and of the field slopes ``(T, unroll, rows, n_out)`` (``[buf[:, k] for buf in
        ...]`` per ``k``), and per layer the slopes and inputs of all updates flattened for
        the weight gradient (``(T, n_out, unroll * rows)``, ``(T, unroll * rows, n_in +
        bias)``). Bias columns are set here; a step overwrites everything else before
        reading it."""
        def make() -> tuple[list, list, list, list, list]:
            t, p, _ = x.shape
            bias = int(self.opts.bias)
            u0 = torch.cat([x, torch.ones(t, p, 1, dtype=torch.float32)], dim=2) if bias else x
            ins = [torch.empty(t, unroll, rows, n_in + bias, dtype=torch.float32)
                   for _, n_in, _ in self.layout]
            if bias:
                for buf, (_, n_in, _) in zip(ins, self.layout, strict=True):
                    buf[..., n_in] = 1.0
            slopes = [torch.empty(t, unroll, rows, n_out, dtype=torch.float32)
                      for n_out, _, _ in self.layout]
            flat = [(sl.view(t, unroll * rows, -1).transpose(1, 2),
                     buf.view(t, unroll * rows, -1)) for sl, buf in zip(slopes, ins, strict=True)]
            return (self.inputs(p, t, u0), ins,
                    [[buf[:, k] for buf in ins] for k in range(unroll)],
                    [[buf[:, k] for buf in slopes] for k in range(unroll)], flat)

        return per_batch(self, "_step_buffers", (x,), (unroll, rows), make)

    # ------------------------------------------------------------------ objectives
    def basin_loss_grad(self, a, x, valid, kind, gen, noise, unroll, late, straight_through,
                        want_loss: bool = True):
        """The basin loss and its gradient with respect to the flat optimised variable ``a``
        ``(T, D)``: backpropagation through the ``unroll`` synchronous updates of the whole
        map written out, as the single-layer
        :meth:`~xbarmem.learning.single_fit.SingleLayerFit.basin_loss_grad`. Every unrolled
        update's layer inputs and field slopes are kept, so each layer's weight gradient is
        one product over all updates. Returns ``(loss (T,), grad (T, D))``, the loss None
        when ``want_loss`` is False."""
        o = self.opts
        t, p, n = x.shape
        blocks, plain = self.plain_views(a)
        grad = torch.empty_like(a)
        views = self.blocks(grad)
        consts = batch_constants(self, x, valid, o.cue_copies)
        rows = consts.target.shape[1]
        inputs, ins, ins_at, slopes_at, flat = self.step_buffers(x, unroll, rows)
        field, used, extras = self.forward(blocks, inputs, noise, gen, plain)
        fixed, slope0 = fixed_term(tanh(field, out=field), x, consts)
        self.backward(slope0, used, inputs, extras, views)  # the fixed-point term
        target, mask, state = training_cues(o, consts, kind, gen)
        ins[0][:, 0, :, :n] = state
        logistic = o.recall_loss == "logistic" and kind == "binary"
        tape: list = []
        squares: list[torch.Tensor] | None = [] if want_loss else None
        for k in range(unroll):
            h, used, extras = self.forward(blocks, ins_at[k], noise, gen, plain)
            nxt, slope_of, err = unrolled_outputs(
                h, target, mask if consts.padded else None, straight_through=straight_through,
                tau=o.finetune_temperature, logistic=logistic, squares=squares)
            if k + 1 < unroll:
                ins[0][:, k + 1, :, :n] = nxt
            tape.append((slope_of, (used, extras), err))

        def back(k, slope, saved):
            return self.backward(slope, saved[0], ins_at[k], saved[1], slopes=slopes_at[k],
                                 input_grad=k > 0)

        unrolled_backward(tape, consts.cue_slope, late,
                                 logistic, lambda k: slopes_at[k][-1], _damp, back)
        for view, (sl, buf) in zip(views, flat, strict=True):
            view.baddbmm_(sl, buf)
        self.scale_grad(grad)
        return basin_loss(fixed, squares, late, consts.cue_scale), grad

    def fixed_point_stage(self, params, x, valid, lo, hi, kind, gen, noise):
        """The fixed-point objective, fast: loss and gradient written out (hand-written
        backpropagation through the layers, batched products), the fused optimiser update,
        projection into ``[lo, hi]`` (skipped when no interval is finite), and networks that
        stop leave the batch (then trimmed to the largest remaining pattern count). ``stop``:
        ``"loss"`` checks the loss after every step; ``"stable"`` every ``stable_window`` steps
        checks the loss and the relative change of the effective parameter vector,
        ``|p - p_prev| / |p| < stable_tol``. ``steps`` counts the updates the returned
        parameters received and ``loss`` is their loss. Returns ``(params, steps, loss,
        converged)``."""
        return _FixedPointRun(self, params, x, valid, lo, hi, gen, noise).run()


def _head(buf: torch.Tensor, n: int) -> torch.Tensor:
    """``buf[:, :, :n]``: a layer's activations in its input buffer (the whole buffer when it
    has no bias column)."""
    return buf if buf.shape[2] == n else buf[:, :, :n]


def _damp(grad_state: torch.Tensor, soft: torch.Tensor, out: torch.Tensor) -> None:
    """``out = grad_state * (1 - soft^2)`` as the multilayer path computes it."""
    torch.addcmul(grad_state, grad_state * soft, soft, value=-1, out=out)


class _FixedPointRun:
    """One run of :meth:`MultilayerFit.fixed_point_stage`: the batch, its buffers (rebuilt by
    :meth:`setup` whenever networks leave) and the written-out forward / backward pass."""

    #: the solution at the previous ``stop="stable"`` check (None before the first; set by run)
    reference: torch.Tensor | None

    def __init__(self, path: MultilayerFit, params, x, valid, lo, hi, gen, noise) -> None:
        self.path, self.opts = path, path.opts
        self.x, self.valid, self.gen, self.noise = x, valid, gen, noise
        self.batch = Batch(params)
        self.a = params.clone()
        self.lo, self.hi = lo.contiguous(), hi.contiguous()
        self.bounded = bool(torch.isfinite(lo).any() or torch.isfinite(hi).any())
        self.first, self.second = torch.zeros_like(self.a), torch.zeros_like(self.a)
        self.count = valid.sum(dim=1)
        self.noisy = noise[0] > 0 or noise[1] > 0
        self.last = len(path.layout) - 1
        self.quant = path.quantiser  # the forward pass sees self.seen, rounded (or self.a)

    def setup(self) -> None:
        """Buffers and views of the current batch (after every change of its size)."""
        path, x, valid, scales = self.path, self.x, self.valid, self.path.layer_scale
        rows = x.shape[1]
        self.grad = torch.empty_like(self.a)
        self.seen = self.a if self.quant is None else self.quant(self.a)
        u0 = torch.cat([x, valid[:, :rows, None]], dim=2) if self.opts.bias else x.clone()
        if not self.noisy and scales[0] != 1.0:
            u0 *= scales[0]  # layer 0's scale folded into its constant input
        self.ins = path.inputs(rows, self.a.shape[0], u0)
        self.blocks = path.blocks(self.seen)
        self.coef = (2.0 / (x.shape[2] * self.count))[:, None, None]
        self.views = path.blocks(self.grad)
        self.hidden = [buf[:, :, :n_in] for buf, (_, n_in, _) in zip(self.ins, path.layout,
                                                                      strict=True)]
        self.wt = [blk.transpose(1, 2) for blk in self.blocks]
        self.used = [blk[:, :, :n_in] for blk, (_, n_in, _) in zip(self.blocks, path.layout,
                                                                    strict=True)]
        self.neg, self.mask = -x * self.coef, valid[:, :, None]
        self.padded = bool((self.count < rows).any())
        self.limit = self.opts.tol * x.shape[2] * self.count * self.coef.reshape(-1) ** 2

    def forward(self):
        """Output ``y`` and the loss-scaled error ``(y - x) * coef`` (padding rows 0), and
        the noisy pass's tape."""
        ins, scales, tape = self.ins, self.path.layer_scale, None
        if self.quant is not None:
            self.quant(self.a)  # into self.seen
        if self.noisy:
            field, used, extras = self.path.forward(self.blocks, ins, self.noise, self.gen)
            tape = (used, extras)
        else:
            for k in range(self.last):
                z = torch.bmm(ins[k], self.wt[k])
                if k and scales[k] != 1.0:
                    z *= scales[k]
                tanh(z, out=self.hidden[k + 1])
            field = torch.bmm(ins[self.last], self.wt[self.last])
            if scales[self.last] != 1.0:
                field *= scales[self.last]
        y = tanh(field, out=field)
        err = torch.addcmul(self.neg, y, self.coef)
        if self.padded:
            err *= self.mask
        return y, err, tape

    def backward(self, y, err, tape) -> None:
        slope = err * y
        torch.addcmul(err, slope, y, value=-1, out=slope)  # d loss / d output field
        ins, views, scales = self.ins, self.views, self.path.layer_scale
        if tape is not None:
            self.path.backward(slope, tape[0], ins, tape[1], views)
            self.path.scale_grad(self.grad)
            return
        for k in range(self.last, -1, -1):
            torch.bmm(slope.transpose(1, 2), ins[k], out=views[k])
            if k == 0:
                break
            g = torch.bmm(slope, self.used[k])
            if scales[k] != 1.0:
                g *= scales[k]
                views[k] *= scales[k]
            h = self.hidden[k]
            slope = g * h
            torch.addcmul(g, slope, h, value=-1, out=slope)  # g * (1 - h^2)

    def _loss(self, squares: torch.Tensor) -> torch.Tensor:
        """``(T,)`` the fixed-point loss from the summed squared (scaled) errors."""
        return squares / (self.x.shape[2] * self.count * self.coef.reshape(-1) ** 2)

    def leave(self, finished, met, squares, done: int) -> bool:
        """Networks ``finished`` leave the batch; returns False when none is left."""
        loss = self._loss(squares)
        keep = self.batch.leave(finished, self.a, steps=done, loss=loss, converged=met)
        if not keep.any():
            return False
        (self.a, self.first, self.second, self.lo, self.hi, self.count), (self.x, self.valid) = \
            trim(keep, self.valid, (self.a, self.first, self.second, self.lo, self.hi,
                                    self.count), (self.x, self.valid))
        if self.reference is not None:
            self.reference = self.reference[keep]
        self.quant = trimmed(self.quant, keep)
        self.setup()
        return True

    def run(self):
        o = self.opts
        every = 1 if o.stop == "loss" else o.stable_window
        step_count = fused_counter(o)
        self.reference = None
        self.setup()
        for done in range(o.max_steps + 1):
            y, err, tape = self.forward()
            if done % every == 0 or done == o.max_steps:
                squares = err.pow(2).sum(dim=(1, 2))
                report = stages.reporter_of(self.path)
                if report.progress is not None:
                    report(done, self._loss(squares))
                finished = squares < self.limit
                self.reference = stable_check(
                    o, finished, done, self.reference, lambda: self.a * self.path.scale,
                    lambda c, r: (c - r).norm(dim=1) / c.norm(dim=1).clamp_min(1e-30))
                if done == o.max_steps or finished.any():
                    met = finished.clone()
                    finished[:] |= done == o.max_steps
                    loss = self._loss(squares)
                    if not self.leave(finished, met, squares, done):
                        report.done(done, loss, "fixed-point")
                        break
                    y, err, tape = self.forward()  # of the smaller batch
            self.backward(y, err, tape)
            optimizer_step(o, self.a, self.grad, self.first, self.second, done + 1,
                                  step_count)
            if self.bounded:
                torch.clamp(self.a, self.lo, self.hi, out=self.a)
        return self.batch.result()
