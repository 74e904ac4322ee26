"""Hardware-adaptive training of multilayer memories (``N -> H ... -> N``).

Exactly the single-layer rule of :mod:`xbarmem.learning.adaptive` -- same objectives, convergence
criteria, projection of every weight into its realisable interval after each step, optional
noise injection, two-stage sign fine-tune for binary patterns -- applied to the composed map
``f(x) = tanh(W_L tanh(... tanh(W_1 x + b_1) ...) + b_L)``. Every layer brings its own
realisable intervals (from its own crossbar arrays and fault map); there is no diagonal
constraint (the layers are feed-forward). Networks are batched: ``T`` memories train as one
tensor program, all layers packed in one flat parameter tensor ``(T, D)``,
``D = sum over layers of n_out * (n_in + 1)`` (``n_in`` without bias), layer by layer, each
layer's ``[W | b]`` row-major. Weights and biases are in weight units (those of the crossbar's
``bounds``); patterns are ``(T, P, N)`` in [-1, 1].

Unlike the single layer, a multilayer map cannot start from zero weights (every gradient
through a zero layer vanishes): weights start from a seeded normal draw of std
``init_scale / sqrt(fan_in)``, clipped into their intervals.

The learning rate is meant for a layer of ``lr_fan_in`` inputs; a layer with more inputs takes
proportionally smaller steps (``lr * lr_fan_in / fan_in``, done by reparametrising its weights:
the optimised variable is the parameter divided by that per-layer scale, so one optimiser
serves every layer). Measured on MNIST at N = 256, 256-32-256, 80 patterns, 5% flips: Adam at
a flat 1e-2 stalls at mean cosine 0.83; at 2e-3, 0.997.

Both objectives train without autograd: the loss and its gradient are written out
(backpropagation through the layers by hand, batched ``torch.bmm`` products; for the basin
objective through the ``unroll`` synchronous updates of the whole map, straight-through sign
in the fine-tune), with the same noise draws as the autograd loss :meth:`_loss` (noise
injection included), the optimiser update of :meth:`AdaptiveTrainer._update` (torch's fused
kernel for Adam), projection into ``[lo, hi]``, and networks that stop leave the batch. Both are
checked against autograd in ``tests/test_multilayer_fast.py``; the autograd path stays
available (``closed_form = False`` on an instance).

The fixed-point objective has its own defaults (:data:`OBJECTIVE_DEFAULTS`): the paper's
multilayer optimiser (RMSprop) at ``lr = 1e-3`` from ``torch.nn.Linear``'s initial spread
(``init_scale = 1/sqrt(3)``), stopping with ``stop="stable"``: every ``stable_window`` = 50
steps, loss below ``tol`` or relative change of all effective parameters
``|p - p_prev| / |p|`` below ``stable_tol = 0.01``. Measured on the benchmark's case 3
(64-32-64, 32 8x8 MNIST digits, no faults, 5% flips, 20 cues per pattern), mean recall cosine
over 8 trainer seeds: Adam 1e-2 from ``init_scale = 1`` for 3000 steps (the old default),
0.9865; RMSprop 1e-3 from ``init_scale = 1``, run to loss 1e-8 (about 4900 steps), 0.9930;
the same from ``init_scale = 0.577``, 0.9946; with ``stable_tol = 0.08`` / 0.03 / 0.01 / 0.003
it stops after 344 / 831 / 2600 / 3494 steps at 0.9898 / 0.9932 / 0.9944 / 0.9945; Adam 1e-3
or 3e-4 from 0.577 does not reach loss 1e-8 in 20,000 steps, 0.9929 / 0.9934. The paper's
loop (RMSprop 1.5e-4 from ``torch.nn.Linear``'s init, about 21,000 steps to loss 1e-8):
0.9943 over 5 seeds (0.9938 to 0.9946); these defaults: 0.9943 over 8 seeds (0.9926 to
0.9954), 2600 steps each. The basin recipe's outcome depends on float rounding (training is
chaotic: a 1e-7 relative change of the gradients moves the weights by 1e-2 within 100 steps),
so the written-out and the autograd paths give different networks: mean cosine over 5 seeds
0.9936 (0.9914 to 0.9946) written out, 0.9903 (0.9845 to 0.9948) through autograd.

``python -m benchmarks 3 --threads 1`` (2-core machine, one torch thread, same fault map, cues
and seed 0 on both sides): the paper's loop 7.84 s (21,272 steps, 368 us/step, cosine 0.9944,
exact recall 0.920); this trainer's fixed-point objective 0.17 s (2600 steps, 67 us/step,
cosine 0.9951, exact 0.917): 45x; its basin recipe 6.21 s (1600 steps, cosine 0.9935): 1.26x.
Before (autograd, Adam 1e-2 from ``init_scale = 1``, no early stop; naive 9.42 s in that run):
1.48 s, cosine 0.9861 (6.4x) and 11.8 s, cosine 0.9948 (0.80x).
``python -m benchmarks 4b --threads 1`` (784-32-784, 100 28x28 digits): 1.25 s (2700 steps,
cosine 0.9256) instead of 4.40 s (3000 steps, cosine 0.7291).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from xbarmem.errors import ConfigError
from xbarmem.learning.adaptive import AdaptiveTrainer, unrolled_outputs
from xbarmem.memory.multilayer import MultilayerMemory


@dataclass
class MultilayerTrainResult:
    """Outcome of training ``T`` multilayer networks.

    Attributes:
        weights: per layer, ``(T, n_out, n_in)`` float32 trained weights.
        biases: per layer, ``(T, n_out)`` float32 trained biases (zeros without bias).
        steps: ``(T,)`` optimiser steps; loss: ``(T,)`` final loss; converged: ``(T,)`` bool.
    """

    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    steps: torch.Tensor
    loss: torch.Tensor
    converged: torch.Tensor


#: Defaults of the options left at ``None``, per objective (measured: module docstring).
OBJECTIVE_DEFAULTS: dict[str, dict[str, Any]] = {
    "basin": {"optimizer": "adam", "lr": 1e-2, "init_scale": 1.0, "stable_tol": 0.08},
    "fixed-point": {"optimizer": "rmsprop", "lr": 1e-3, "init_scale": 3 ** -0.5,
                    "stable_tol": 0.01},
}


@dataclass
class MultilayerTrainer(AdaptiveTrainer):
    """Hardware-adaptive trainer for multilayer memories (options as
    :class:`~xbarmem.learning.adaptive.AdaptiveTrainer`, plus ``init_scale`` and ``lr_fan_in``).

    ``optimizer``, ``lr``, ``init_scale`` and ``stable_tol`` default to ``None``, resolved by
    the objective (:data:`OBJECTIVE_DEFAULTS`): the basin objective keeps the single layer's
    Adam at 1e-2 from ``init_scale = 1``; the fixed-point objective uses the paper's multilayer
    optimiser, RMSprop, at 1e-3, from the spread of ``torch.nn.Linear``'s initialisation
    (``init_scale = 1 / sqrt(3)``: uniform in ``+-1 / sqrt(fan_in)`` has that std times
    ``1 / sqrt(fan_in)``), and stops with ``stop="stable"`` at ``stable_tol = 0.01`` (relative
    change of all parameters over ``stable_window`` steps). :meth:`options` reports the
    resolved values.

    ``closed_form`` (class attribute; set it to False on an instance to verify): train through
    the generic autograd path (:meth:`_loss` in :meth:`AdaptiveTrainer._stage`) instead of the
    written-out gradients.
    """

    optimizer: str | None = None  # type: ignore[assignment]
    lr: float | None = None  # type: ignore[assignment]
    stable_tol: float | None = None  # type: ignore[assignment]
    init_scale: float | None = None
    lr_fan_in: int = 64
    name: ClassVar[str] = "adaptive"
    closed_form: ClassVar[bool] = True

    def __post_init__(self) -> None:
        defaults = OBJECTIVE_DEFAULTS.get(self.objective, OBJECTIVE_DEFAULTS["basin"])
        for key, value in defaults.items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        super().__post_init__()
        if self.warm_start:
            raise ConfigError("warm_start (closed form) exists only for single-layer memories")
        if not self.init_scale >= 0:
            raise ConfigError(f"init_scale must be >= 0, got {self.init_scale!r}")
        if not isinstance(self.lr_fan_in, int) or self.lr_fan_in < 0:
            raise ConfigError(f"lr_fan_in must be an integer >= 0 (0 = off), got "
                              f"{self.lr_fan_in!r}")

    def options(self) -> dict:
        return {**super().options(), "init_scale": self.init_scale,
                "lr_fan_in": self.lr_fan_in}

    # ------------------------------------------------------------------ public
    def fit(self, patterns: torch.Tensor, bounds: list[tuple[torch.Tensor, torch.Tensor]], *,
            kind: str = "binary", weight_noise: float = 0.0, read_noise: float = 0.0,
            counts: torch.Tensor | None = None) -> MultilayerTrainResult:
        """Train ``T`` networks at once.

        Args:
            patterns: ``(P, N)`` shared or ``(T, P, N)`` stored patterns in [-1, 1].
            bounds: per layer ``(lo, hi)`` of ``[W | b]``, each ``(n_out, n_in + 1)`` or
                ``(T, n_out, n_in + 1)`` (no bias column when ``bias=False``); the first
                layer's ``n_in`` and the last layer's ``n_out`` must equal ``N``.
            kind, weight_noise, read_noise, counts: as :meth:`AdaptiveTrainer.fit`.
        """
        x = torch.as_tensor(patterns, dtype=torch.float32)
        if not bounds:
            raise ConfigError("bounds must list (lo, hi) for at least two layers")
        lead = torch.as_tensor(bounds[0][0])
        if x.ndim == 2:
            x = x[None].expand(lead.shape[0] if lead.ndim == 3 else 1, -1, -1)
        if x.ndim != 3 or x.shape[1] == 0:
            raise ConfigError(f"patterns must be (P, N) or (T, P, N), got {tuple(x.shape)}")
        t, _, n = x.shape
        lo, hi = self._pack_bounds(bounds, t, n)
        valid = self._valid(counts, t, x.shape[1])
        gen = torch.Generator().manual_seed(self.seed)
        start = torch.cat([self.init_scale / (i ** 0.5) * torch.randn(t, o * (i + self.bias),
                                                                       generator=gen)
                           for o, i, _ in self._layout], dim=1)
        scale = self._scale
        lo, hi = lo / scale, hi / scale
        params = torch.clamp(start / scale, lo, hi)
        noise = (weight_noise, read_noise) if self.noise_injection else (0.0, 0.0)
        if not self.closed_form:
            steps, final_loss, converged = self._fit_autograd(params, x, valid, lo, hi, kind,
                                                              gen, noise)
        elif self.objective == "fixed-point":
            params, steps, final_loss, converged = self._fixed_point_stage(
                params, x, valid, lo, hi, kind, gen, noise)
        else:
            params, steps, final_loss, converged = self._basin_stage(
                params, x, valid, lo, hi, kind, gen, noise, self.unroll, self.lr,
                self.max_steps, decay=False, straight_through=False)
            if kind == "binary" and self.finetune_steps > 0:
                params, more, final_loss, _ = self._basin_stage(
                    params, x, valid, lo, hi, kind, gen, noise, self.finetune_unroll,
                    self.finetune_lr, self.finetune_steps, decay=True, straight_through=True)
                steps = steps + more
        weights, biases = self._unpack(params.detach() * scale)
        return MultilayerTrainResult(weights=weights, biases=biases, steps=steps,
                                     loss=final_loss, converged=converged)

    def _fit_autograd(self, params, x, valid, lo, hi, kind, gen, noise):
        """The reference path (``closed_form = False``): autograd through :meth:`_loss` in the
        generic :meth:`_stage`; trains ``params`` in place. Returns ``(steps, loss,
        converged)``."""
        params.requires_grad_(True)

        def loss(p):
            return self._loss(p, x, valid, kind, gen, noise, self.unroll, straight_through=False)

        stable = self.objective == "fixed-point" and self.stop == "stable"
        steps, final_loss, converged = self._stage(params, lo, hi, loss, self.lr,
                                                   self.max_steps, decay=False, stable=stable)
        if self.objective == "basin" and kind == "binary" and self.finetune_steps > 0:
            def sign_loss(p):
                return self._loss(p, x, valid, kind, gen, noise, self.finetune_unroll,
                                  straight_through=True)

            more, final_loss, _ = self._stage(params, lo, hi, sign_loss, self.finetune_lr,
                                              self.finetune_steps, decay=True)
            steps = steps + more
        params.requires_grad_(False)
        return steps, final_loss, converged

    def fixed_points(self, result: MultilayerTrainResult, patterns: torch.Tensor,
                     counts: torch.Tensor | None = None) -> torch.Tensor:
        """``(T,)`` bool: every stored binary pattern is a fixed point of ``sign(f(x))``."""
        x = torch.as_tensor(patterns, dtype=torch.float32)
        if x.ndim == 2:
            x = x[None].expand(result.steps.shape[0], -1, -1)
        h = x
        for k, (w, b) in enumerate(zip(result.weights, result.biases, strict=True)):
            h = torch.bmm(h, w.transpose(1, 2)) + b[:, None, :]
            if k < len(result.weights) - 1:
                h = torch.tanh(h)
        ok = ((h * x) > 0).all(dim=2) | (self._valid(counts, x.shape[0], x.shape[1]) == 0)
        return ok.all(dim=1)

    # ------------------------------------------------------------------ internals
    def _pack_bounds(self, bounds, t: int, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Flatten per-layer intervals into ``(T, D)`` and record the layer layout."""
        layout, los, his, scales, offset = [], [], [], [], 0
        prev = n
        for k, (lo, hi) in enumerate(bounds):
            lo = torch.as_tensor(lo, dtype=torch.float32)
            hi = torch.as_tensor(hi, dtype=torch.float32)
            if lo.ndim == 2:
                lo, hi = lo.expand(t, -1, -1), hi.expand(t, -1, -1)
            if lo.ndim != 3 or lo.shape != hi.shape or lo.shape[0] != t:
                raise ConfigError(f"layer {k} bounds must be (n_out, n_in + bias) or "
                                  f"({t}, n_out, n_in + bias), got {tuple(lo.shape)}")
            n_out, cols = lo.shape[1], lo.shape[2]
            n_in = cols - int(self.bias)
            if n_in != prev:
                raise ConfigError(f"layer {k} has {n_in} inputs but the previous layer has "
                                  f"{prev} outputs (bias column "
                                  f"{'included' if self.bias else 'excluded'})")
            size = n_out * cols
            layout.append((n_out, n_in, slice(offset, offset + size)))
            step = min(1.0, self.lr_fan_in / n_in) if self.lr_fan_in else 1.0
            scales.append(torch.full((size,), step))
            los.append(lo.reshape(t, size))
            his.append(hi.reshape(t, size))
            offset += size
            prev = n_out
        if len(layout) < 2:
            raise ConfigError("a multilayer memory needs at least two layers")
        if prev != n:
            raise ConfigError(f"the last layer has {prev} outputs but patterns have N={n}")
        self._layout = layout
        self._scale = torch.cat(scales)  # (D,) parameter = scale * optimised variable
        self._layer_scale = [float(v[0]) for v in scales]
        return torch.cat(los, dim=1), torch.cat(his, dim=1)

    def _unpack(self, params: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        t = params.shape[0]
        weights, biases = [], []
        for n_out, n_in, sl in self._layout:
            a = params[:, sl].reshape(t, n_out, n_in + int(self.bias))
            weights.append(a[:, :, :n_in].clone())
            biases.append(a[:, :, n_in].clone() if self.bias else torch.zeros(t, n_out))
        return weights, biases

    def _field(self, params, x, noise, gen):
        """Output-layer pre-activations ``(T, B, N)`` of inputs ``x`` ``(T, B, N)``."""
        t = params.shape[0]
        params = params * self._scale
        weight_noise, read_noise = noise
        h = x
        last = len(self._layout) - 1
        for k, (n_out, n_in, sl) in enumerate(self._layout):
            a = params[:, sl].reshape(t, n_out, n_in + int(self.bias))
            w = a[:, :, :n_in]
            if weight_noise > 0:
                w = w + weight_noise * torch.randn(w.shape, generator=gen)
            z = torch.bmm(h, w.transpose(1, 2))
            if self.bias:
                z = z + a[:, None, :, n_in]
            if read_noise > 0:
                norm = (h.pow(2).sum(-1, keepdim=True) + float(self.bias)).sqrt()
                z = z + read_noise * norm * torch.randn(z.shape, generator=gen)
            h = z if k == last else torch.tanh(z)
        return h

    # ------------------------------------------------------------------ fast paths
    def _blocks(self, a: torch.Tensor) -> list[torch.Tensor]:
        """Per layer ``(T, n_out, n_in + bias)`` views of the flat optimised variable ``a``."""
        t = a.shape[0]
        return [a[:, sl].view(t, n_out, n_in + int(self.bias)) for n_out, n_in, sl in
                self._layout]

    def _inputs(self, rows: int, t: int, first: torch.Tensor | None = None
                ) -> list[torch.Tensor]:
        """Per layer input buffers ``(T, rows, n_in + bias)``, bias column set to 1; layer 0's
        is ``first`` when given (already augmented)."""
        out = []
        for k, (_, n_in, _) in enumerate(self._layout):
            if k == 0 and first is not None:
                out.append(first)
                continue
            buf = torch.empty(t, rows, n_in + int(self.bias))
            if self.bias:
                buf[:, :, n_in] = 1.0
            out.append(buf)
        return out

    def _forward(self, blocks, inputs, noise, gen):
        """Forward pass of the batch in ``inputs[0]`` ``(T, R, N + bias)`` (bias column 1):
        writes every hidden layer's ``tanh`` into ``inputs[k][..., :n_in]`` and returns the
        output field ``(T, R, N)``, the weights ``(T, n_out, n_in)`` each layer used (scaled,
        noisy) and, with read noise, ``read_noise * draw / norm`` per layer (``d field /
        d input`` of the noise term is that times the input). The same noise draws, in the
        same order, as :meth:`_field`."""
        weight_noise, read_noise = noise
        last = len(self._layout) - 1
        used, extras = [], []
        for k, ((n_out, n_in, _), blk, s) in enumerate(zip(self._layout, blocks,
                                                            self._layer_scale, strict=True)):
            a = blk * s if s != 1.0 else blk
            if weight_noise > 0:
                a = a.clone()
                a[:, :, :n_in] += weight_noise * torch.randn((a.shape[0], n_out, n_in),
                                                             generator=gen)
            u = inputs[k]
            z = torch.bmm(u, a.transpose(1, 2))
            extra = None
            if read_noise > 0:
                h = u[:, :, :n_in]
                norm = (h.pow(2).sum(-1, keepdim=True) + float(self.bias)).sqrt()
                draw = torch.randn(z.shape, generator=gen)
                z += read_noise * norm * draw
                extra = read_noise * draw / norm
            used.append(a[:, :, :n_in])
            extras.append(extra)
            if k < last:
                torch.tanh(z, out=inputs[k + 1][:, :, :n_out])
        return z, used, extras

    def _backward(self, slope, used, inputs, extras, grads=None, slopes=None, *,
                  input_grad: bool = False):
        """Backpropagate ``slope`` (``d loss / d output field``, ``(T, R, N)``) through the
        layers of one :meth:`_forward`. Writes layer ``k``'s ``d loss / d [W | b]`` (unscaled:
        with respect to the effective weights) into ``grads[k]``, or its field slope
        ``(T, R, n_out)`` into ``slopes[k]`` (to be multiplied with ``inputs[k]`` later).
        Returns ``d loss / d input`` ``(T, R, N)`` when ``input_grad`` (else None)."""
        for k in range(len(self._layout) - 1, -1, -1):
            if grads is not None:
                torch.bmm(slope.transpose(1, 2), inputs[k], out=grads[k])
            elif slope.data_ptr() != slopes[k].data_ptr():
                slopes[k].copy_(slope)
            if k == 0 and not input_grad:
                return None
            n_in = self._layout[k][1]
            g = torch.bmm(slope, used[k])
            if extras[k] is not None:
                g += (slope * extras[k]).sum(-1, keepdim=True) * inputs[k][:, :, :n_in]
            if k == 0:
                return g
            y = inputs[k][:, :, :n_in]
            out = None if slopes is None else slopes[k - 1]
            slope = torch.addcmul(g, g * y, y, value=-1, out=out)  # g * (1 - y^2)
        return None

    def _scale_grad(self, grad: torch.Tensor) -> None:
        """Effective-weight gradient -> gradient of the optimised variable, in place."""
        for (_, _, sl), s in zip(self._layout, self._layer_scale, strict=True):
            if s != 1.0:
                grad[:, sl] *= s

    def _fixed_point_loss_grad(self, a, x, valid, gen, noise):
        """Loss of :meth:`_loss` for the fixed-point objective and its gradient with respect
        to the flat optimised variable ``a`` ``(T, D)``, written out (see
        :meth:`_fixed_point_stage`, which inlines the same computation). Returns ``(loss (T,),
        grad (T, D))``."""
        t, p, n = x.shape
        mask = valid[:, :, None]
        u0 = torch.cat([x, torch.ones(t, p, 1)], dim=2) if self.bias else x
        inputs = self._inputs(p, t, u0)
        field, used, extras = self._forward(self._blocks(a), inputs, noise, gen)
        y = torch.tanh(field)
        err = (y - x) * mask
        count = valid.sum(dim=1)
        loss = err.pow(2).sum(dim=(1, 2)) / (n * count)
        slope = err * (1 - y * y) * (2.0 / (n * count))[:, None, None]
        grad = torch.empty_like(a)
        self._backward(slope, used, inputs, extras, self._blocks(grad))
        self._scale_grad(grad)
        return loss, grad

    def _basin_loss_grad(self, a, x, valid, kind, gen, noise, unroll, late, straight_through):
        """The basin loss of :meth:`_loss` (same random draws, in the same order) and its
        gradient with respect to the flat optimised variable ``a`` ``(T, D)``: backpropagation
        through the ``unroll`` synchronous updates of the whole map ``N -> H ... -> N``
        written out, as the single-layer :meth:`AdaptiveTrainer._basin_loss_grad` (the
        generic :meth:`AdaptiveTrainer._basin_stage` trains with it). Every unrolled update's
        layer inputs and field slopes are kept, so each layer's weight gradient is one product
        over all updates. Returns ``(loss (T,), grad (T, D))``."""
        t, p, n = x.shape
        copies = self.cue_copies
        count = valid.sum(dim=1)
        padded = bool((count < p).any())
        mask = valid[:, :, None]
        blocks = self._blocks(a)
        grad = torch.empty_like(a)
        views = self._blocks(grad)
        u0 = torch.cat([x, torch.ones(t, p, 1)], dim=2) if self.bias else x
        inputs = self._inputs(p, t, u0)
        field, used, extras = self._forward(blocks, inputs, noise, gen)
        y = torch.tanh(field, out=field)
        err = y - x
        if padded:
            err *= mask
        fixed = err.pow(2).sum(dim=(1, 2)) / (n * count)
        slope0 = err.mul_(1 - y * y).mul_((2.0 / (n * count))[:, None, None])
        self._backward(slope0, used, inputs, extras, views)  # the fixed-point term
        target, mask, state = self._training_cues(x, mask, copies, kind, gen)
        rows = target.shape[1]
        ins = [torch.empty(t, unroll, rows, n_in + int(self.bias))  # every update's inputs
               for _, n_in, _ in self._layout]
        if self.bias:
            for buf, (_, n_in, _) in zip(ins, self._layout, strict=True):
                buf[..., n_in] = 1.0
        slopes = [torch.empty(t, unroll, rows, n_out) for n_out, _, _ in self._layout]
        ins[0][:, 0, :, :n] = state
        logistic = self.recall_loss == "logistic" and kind == "binary"
        tau = self.finetune_temperature
        tape, squares = [], []
        for k in range(unroll):
            h, used, extras = self._forward(blocks, [buf[:, k] for buf in ins], noise, gen)
            nxt, slope_of, err = unrolled_outputs(h, target, mask if padded else None,
                                                  straight_through=straight_through, tau=tau,
                                                  logistic=logistic, squares=squares)
            if k + 1 < unroll:
                ins[0][:, k + 1, :, :n] = nxt
            tape.append((slope_of, used, extras, err))
        coef = [float(c) for c in late]
        scale = 2.0 / (n * copies * count)[:, None, None]
        if logistic:
            scale = scale / 2.0  # d softplus(-2 x h) / d h = tanh(h) - x, no factor 2
        grad_state = None  # d loss / d state_{k+1}
        top = len(self._layout) - 1
        for k in range(unroll - 1, -1, -1):
            soft, used, extras, err = tape[k]
            direct = err.mul_(scale * coef[k])
            slope = slopes[top][:, k]
            if logistic:  # the direct term acts on the field, not through the state
                if grad_state is None:
                    slope.copy_(direct)
                else:
                    torch.addcmul(grad_state, grad_state * soft, soft, value=-1, out=slope)
                    slope += direct
            else:
                grad_state = direct if grad_state is None else grad_state.add_(direct)
                # grad_state * (1 - soft^2)
                torch.addcmul(grad_state, grad_state * soft, soft, value=-1, out=slope)
            grad_state = self._backward(slope, used, [buf[:, k] for buf in ins], extras,
                                        slopes=[buf[:, k] for buf in slopes], input_grad=k > 0)
        for view, buf, sl in zip(views, ins, slopes, strict=True):
            view.baddbmm_(sl.view(t, unroll * rows, -1).transpose(1, 2),
                          buf.view(t, unroll * rows, -1))
        self._scale_grad(grad)
        loss = fixed + (torch.stack(squares, dim=1) @ late) / (n * copies * count)
        return loss, grad

    def _change_state(self, a: torch.Tensor) -> torch.Tensor:
        """What ``stop="stable"`` compares between checks: the effective parameters
        ``(T, D)``."""
        return a * self._scale

    def _fixed_point_stage(self, params, x, valid, lo, hi, kind, gen, noise):
        """The fixed-point objective, fast: loss and gradient written out (hand-written
        backpropagation through the layers, batched products, no autograd; the same
        computation as :meth:`_fixed_point_loss_grad`), the fused optimiser update of
        :meth:`_update`, projection into ``[lo, hi]`` (skipped when no interval is finite),
        and networks that stop leave the batch (which is then trimmed to the largest remaining
        pattern count). ``stop`` as in the single-layer
        :meth:`AdaptiveTrainer._fixed_point_stage`: ``"loss"`` checks the loss after every
        step; ``"stable"`` every ``stable_window`` steps checks the loss and the relative
        change of the effective parameter vector, ``|p - p_prev| / |p| < stable_tol``.
        ``steps`` counts the updates the returned parameters received and ``loss`` is their
        loss. Returns ``(params, steps, loss, converged)``."""
        t, p, n = x.shape
        out = params.clone()
        steps = torch.zeros(t, dtype=torch.int64)
        final_loss = torch.full((t,), float("nan"))
        converged = torch.zeros(t, dtype=torch.bool)
        work = torch.arange(t)  # original index of each network still in the batch
        a = params.clone()
        lo, hi = lo.contiguous(), hi.contiguous()
        bounded = bool(torch.isfinite(lo).any() or torch.isfinite(hi).any())
        first, second = torch.zeros_like(a), torch.zeros_like(a)
        count = valid.sum(dim=1)
        every = 1 if self.stop == "loss" else self.stable_window
        fused = self.optimizer == "adam" and hasattr(torch, "_fused_adam_")
        step_count = torch.zeros(()) if fused else None
        noisy = noise[0] > 0 or noise[1] > 0
        scales = self._layer_scale
        last = len(self._layout) - 1
        reference = None
        state: dict = {}

        def setup():
            """Buffers and views of the current batch (after every change of its size)."""
            rows = x.shape[1]
            grad = torch.empty_like(a)
            u0 = torch.cat([x, valid[:, :rows, None]], dim=2) if self.bias else x.clone()
            if not noisy and scales[0] != 1.0:
                u0 *= scales[0]  # layer 0's scale folded into its constant input
            inputs = self._inputs(rows, a.shape[0], u0)
            blocks = self._blocks(a)
            coef = (2.0 / (n * count))[:, None, None]
            state.update(
                grad=grad, views=self._blocks(grad), inputs=inputs, blocks=blocks,
                hidden=[buf[:, :, :n_in] for buf, (_, n_in, _) in zip(
                    inputs, self._layout, strict=True)],
                wt=[blk.transpose(1, 2) for blk in blocks],
                used=[blk[:, :, :n_in] for blk, (_, n_in, _) in zip(
                    blocks, self._layout, strict=True)],
                coef=coef, neg=-x * coef, mask=valid[:, :, None],
                padded=bool((count < rows).any()),
                limit=self.tol * n * count * coef.reshape(-1) ** 2)  # tol in err units

        def forward():
            """Output ``y`` and the loss-scaled error ``(y - x) * coef`` (padding rows 0)."""
            inputs, hidden, wt = state["inputs"], state["hidden"], state["wt"]
            tape = None
            if noisy:
                field, used, extras = self._forward(state["blocks"], inputs, noise, gen)
                tape = (used, extras)
            else:
                for k in range(last):
                    z = torch.bmm(inputs[k], wt[k])
                    if k and scales[k] != 1.0:
                        z *= scales[k]
                    torch.tanh(z, out=hidden[k + 1])
                field = torch.bmm(inputs[last], wt[last])
                if scales[last] != 1.0:
                    field *= scales[last]
            y = torch.tanh(field, out=field)
            err = torch.addcmul(state["neg"], y, state["coef"])
            if state["padded"]:
                err *= state["mask"]
            return y, err, tape

        def backward(y, err, tape):
            slope = err * y
            torch.addcmul(err, slope, y, value=-1, out=slope)  # d loss / d output field
            inputs, views = state["inputs"], state["views"]
            if tape is not None:
                self._backward(slope, tape[0], inputs, tape[1], views)
                self._scale_grad(state["grad"])
                return
            for k in range(last, -1, -1):
                torch.bmm(slope.transpose(1, 2), inputs[k], out=views[k])
                if k == 0:
                    break
                g = torch.bmm(slope, state["used"][k])
                if scales[k] != 1.0:
                    g *= scales[k]
                    views[k] *= scales[k]
                h = state["hidden"][k]
                slope = g * h
                torch.addcmul(g, slope, h, value=-1, out=slope)  # g * (1 - h^2)

        setup()
        for done in range(self.max_steps + 1):
            y, err, tape = forward()
            if done % every == 0 or done == self.max_steps:
                squares = err.pow(2).sum(dim=(1, 2))
                finished = squares < state["limit"]
                if self.stop == "stable" and done:
                    current = self._change_state(a)
                    if reference is not None:
                        change = (current - reference).norm(dim=1) / current.norm(
                            dim=1).clamp_min(1e-30)
                        finished |= change < self.stable_tol
                    reference = current
                if done == self.max_steps or finished.any():
                    met = finished.clone()
                    finished[:] |= done == self.max_steps
                    loss = squares / (n * count * state["coef"].reshape(-1) ** 2)
                    gone = work[finished]
                    out[gone], steps[gone] = a[finished], done
                    final_loss[gone], converged[gone] = loss[finished], met[finished]
                    keep = ~finished
                    if not keep.any():
                        break
                    rows = int(valid[keep].sum(dim=1).max())
                    work, a, first, second, lo, hi, count = (v[keep] for v in (
                        work, a, first, second, lo, hi, count))
                    x, valid = x[keep, :rows], valid[keep, :rows]
                    if reference is not None:
                        reference = reference[keep]
                    setup()
                    y, err, tape = forward()  # of the smaller batch
            backward(y, err, tape)
            self._update(a, state["grad"], first, second, done + 1, step_count)
            if bounded:
                torch.clamp(a, lo, hi, out=a)
        return out, steps, final_loss, converged


def multilayer_chip_noise(memory: MultilayerMemory) -> tuple[float, float]:
    """Write-error and read-noise std in weight units of the first layer (for injection)."""
    layer = memory.layers[0]
    dev = memory.chip.device
    return dev.write_noise * (2.0 ** 0.5) * layer.w_max / dev.g_range, layer.read_noise_scale


def fit_multilayer(trainer: MultilayerTrainer, patterns: torch.Tensor,
                   memories: list[MultilayerMemory], *, kind: str = "binary",
                   program_seed: int = 0,
                   counts: torch.Tensor | None = None) -> list[dict[str, Any]]:
    """Train ``trainer`` for each multilayer memory on its pattern set and program it.

    Same contract as :func:`xbarmem.learning.fit.fit_memories`: ``patterns`` ``(T, P, N)`` or
    shared ``(P, N)``; memory ``t`` is programmed with seed ``program_seed + t``. Returns one
    info dict per memory (rule, steps, loss, converged, fixed_points, train_seconds).
    """
    if not isinstance(trainer, MultilayerTrainer):
        raise ConfigError("multilayer memories are trained only by the hardware-adaptive rule "
                          "(MultilayerTrainer); classic rules are single-layer")
    x = torch.as_tensor(patterns, dtype=torch.float32)
    if x.ndim == 2:
        x = x.expand(len(memories), -1, -1)
    if x.ndim != 3 or x.shape[0] != len(memories) or not memories:
        raise ConfigError(f"need one pattern set per memory: got patterns {tuple(x.shape)} "
                          f"for {len(memories)} memories")
    sizes = memories[0].sizes
    for m in memories:
        if m.sizes != sizes or m.has_bias != trainer.bias:
            raise ConfigError("all memories must share one architecture and the trainer's "
                              "bias setting")
    if sizes[0] != x.shape[2]:
        raise ConfigError(f"patterns have N={x.shape[2]} neurons but the memory has {sizes[0]}")
    start = time.perf_counter()
    per_memory = [m.bounds() for m in memories]
    bounds = [(torch.stack([b[k][0] for b in per_memory]),
               torch.stack([b[k][1] for b in per_memory])) for k in range(len(sizes) - 1)]
    weight_noise, read_noise = multilayer_chip_noise(memories[0])
    result = trainer.fit(x, bounds, kind=kind, weight_noise=weight_noise,
                         read_noise=read_noise, counts=counts)
    seconds = (time.perf_counter() - start) / len(memories)
    fixed = trainer.fixed_points(result, x, counts) if kind == "binary" else result.converged
    infos = []
    for t, m in enumerate(memories):
        m.program([w[t] for w in result.weights],
                  [b[t] for b in result.biases] if m.has_bias else None,
                  seed=program_seed + t)
        info = {"rule": trainer.name, "arch": m.arch, "steps": int(result.steps[t]),
                "loss": float(result.loss[t]), "converged": bool(result.converged[t]),
                "fixed_points": bool(fixed[t]), "train_seconds": seconds}
        m.info = {**info, "kind": kind, "program_seed": program_seed,
                  "rule_options": trainer.options()}
        infos.append(info)
    return infos
