"""Test oracles of the hardware-adaptive rule: its losses through autograd.

The library trains with written-out gradients (:mod:`xbarmem.learning.single_fit`,
:mod:`xbarmem.learning.multilayer_fit`); these are the same losses as plain autograd
expressions, with the same random draws in the same order, and a generic projected
optimisation through ``torch.autograd`` -- what the tests compare the fast paths against.
"""

from __future__ import annotations

import math

import torch

from xbarmem.learning.base import FitResult, Problem
from xbarmem.learning.multilayer_fit import MultilayerFit
from xbarmem.learning.noise import flip_signs
from xbarmem.learning.optimizer import fused_counter, optimizer_step, window_converged


def field_single(opts, params, x, noise, gen):
    """One-layer pre-activations ``(T, B, N)`` of inputs ``x`` ``(T, B, N)``."""
    n = x.shape[2]
    w = params[:, :, :n]
    weight_noise, read_noise = noise
    variation = getattr(opts, "variation", 0.0)
    if variation > 0:  # relative programming variation: std v * max|W|, max held constant
        peak = w.detach().abs().amax(dim=(1, 2), keepdim=True)
        std = (weight_noise ** 2 + (variation * peak) ** 2).sqrt()
        w = w + std * torch.randn(w.shape, generator=gen)
    elif weight_noise > 0:
        w = w + weight_noise * torch.randn(w.shape, generator=gen)
    h = torch.bmm(x, w.transpose(1, 2))
    if opts.bias:
        h = h + params[:, None, :, n]
    if read_noise > 0:
        norm = (x.pow(2).sum(-1, keepdim=True) + float(opts.bias)).sqrt()
        h = h + read_noise * norm * torch.randn(h.shape, generator=gen)
    return h


def field_multi(path: MultilayerFit, params, x, noise, gen):
    """Output-layer pre-activations ``(T, B, N)`` of the flat optimised variable."""
    t = params.shape[0]
    params = params * path.scale
    weight_noise, read_noise = noise
    bias = path.opts.bias
    h = x
    last = len(path.layout) - 1
    for k, (n_out, n_in, sl) in enumerate(path.layout):
        a = params[:, sl].reshape(t, n_out, n_in + int(bias))
        w = a[:, :, :n_in]
        if weight_noise > 0:
            w = w + weight_noise * torch.randn(w.shape, generator=gen)
        z = torch.bmm(h, w.transpose(1, 2))
        if bias:
            z = z + a[:, None, :, n_in]
        if read_noise > 0:
            norm = (h.pow(2).sum(-1, keepdim=True) + float(bias)).sqrt()
            z = z + read_noise * norm * torch.randn(z.shape, generator=gen)
        h = z if k == last else torch.tanh(z)
    return h


def _masked_mse(state, target, valid):
    err = (state - target).pow(2).mean(dim=2)
    return (err * valid).sum(dim=1) / valid.sum(dim=1)


def loss(opts, field, params, x, valid, kind, gen, noise, unroll, *, straight_through):
    """The objective's per-network loss ``(T,)`` through autograd; ``field(params, x, noise,
    gen)`` is :func:`field_single` or :func:`field_multi` bound to its path."""
    fixed = _masked_mse(torch.tanh(field(params, x, noise, gen)), x, valid)
    if opts.objective == "fixed-point":
        return fixed
    target = x.repeat(1, opts.cue_copies, 1)
    valid = valid.repeat(1, opts.cue_copies)
    if kind == "binary":
        state = target * flip_signs(target.shape, opts.cue_flip, gen)  # the trainer's draw
    else:
        state = (target + opts.cue_noise * torch.randn(target.shape, generator=gen)).clamp(-1, 1)
    weights = torch.arange(1, unroll + 1, dtype=torch.float32) ** opts.late_weight
    weights = weights / weights.sum()
    recall = torch.zeros(x.shape[0])
    logistic = opts.recall_loss == "logistic" and kind == "binary"
    tau = opts.finetune_temperature
    for k in range(unroll):
        h = field(params, state, noise, gen)
        soft = tau * torch.tanh(h / tau) if straight_through else torch.tanh(h)
        state = soft + (torch.sign(h) - soft).detach() if straight_through else soft
        if logistic:
            term = torch.nn.functional.softplus(-2.0 * target * h).mean(dim=2)
            term = (term * valid).sum(dim=1) / valid.sum(dim=1)
        else:
            term = _masked_mse(state, target, valid)
        recall = recall + weights[k] * term
    return fixed + recall


def stage(opts, params, lo, hi, loss_fn, lr, max_steps, *, decay, stable=False):
    """Projected optimisation of ``params`` in place with autograd through
    ``loss_fn(params) -> (T,)``; frozen networks keep their parameters. Returns ``(steps,
    loss, converged)``."""
    t = params.shape[0]
    first, second = torch.zeros_like(params.detach()), torch.zeros_like(params.detach())
    step_count = fused_counter(opts)
    active = torch.ones(t, dtype=torch.bool)
    steps = torch.zeros(t, dtype=torch.int64)
    final_loss = torch.full((t,), float("nan"))
    window_sum, prev_window = torch.zeros(t), torch.full((t,), float("inf"))
    stable = stable and not decay
    reference = None
    for step in range(1, max_steps + 1):
        rate = lr * 0.5 * (1 + math.cos(math.pi * (step - 1) / max_steps)) if decay else lr
        params.grad = None
        per_net = loss_fn(params)
        per_net.sum().backward()
        with torch.no_grad():
            frozen = None if active.all() else params[~active].clone()
            optimizer_step(opts, params, params.grad, first, second, step, step_count, lr=rate)
            torch.clamp(params, lo, hi, out=params)
            if frozen is not None:
                params[~active] = frozen
        steps[active] = step
        final_loss[active] = per_net.detach()[active]
        if not decay:
            active &= ~window_converged(opts, per_net.detach(), step, window_sum, prev_window)
            if stable and step % opts.stable_window == 0:
                current = params.detach().reshape(t, -1).clone()
                if reference is not None:
                    change = (current - reference).norm(dim=1) / current.norm(
                        dim=1).clamp_min(1e-30)
                    active &= ~(change < opts.stable_tol)
                reference = current
            if not active.any():
                break
    params.grad = None
    return steps, final_loss, ~active if not decay else torch.ones(t, dtype=torch.bool)


def fit_multilayer_autograd(trainer, problem: Problem) -> FitResult:
    """The multilayer fit trained through :func:`stage` (autograd) instead of the written-out
    gradients: same initial weights, stages and criteria."""
    opts = trainer.resolved(problem.layers)
    path, params, x, valid, lo, hi, gen, noise = MultilayerFit.start(opts, problem)
    kind = problem.kind
    params.requires_grad_(True)

    def field(p, inputs, nz, g):
        return field_multi(path, p, inputs, nz, g)

    def first_loss(p):
        return loss(opts, field, p, x, valid, kind, gen, noise, opts.unroll,
                    straight_through=False)

    stable = opts.objective == "fixed-point" and opts.stop == "stable"
    steps, final_loss, converged = stage(opts, params, lo, hi, first_loss, opts.lr,
                                         opts.max_steps, decay=False, stable=stable)
    if opts.objective == "basin" and kind == "binary" and opts.finetune_steps > 0:
        def sign_loss(p):
            return loss(opts, field, p, x, valid, kind, gen, noise, opts.finetune_unroll,
                        straight_through=True)

        more, final_loss, _ = stage(opts, params, lo, hi, sign_loss, opts.finetune_lr,
                                    opts.finetune_steps, decay=True)
        steps = steps + more
    weights, biases = path.unpack(params.detach() * path.scale)
    return FitResult(weights, biases, steps, final_loss, converged)


def fixed_point_loss_grad(path: MultilayerFit, a, x, valid, gen, noise):
    """The multilayer fixed-point loss and its gradient with respect to the flat optimised
    variable, through the path's written-out forward and backward passes (what its
    fixed-point stage inlines). Returns ``(loss (T,), grad (T, D))``."""
    t, p, n = x.shape
    mask = valid[:, :, None]
    u0 = torch.cat([x, torch.ones(t, p, 1)], dim=2) if path.opts.bias else x
    inputs = path.inputs(p, t, u0)
    field, used, extras = path.forward(path.blocks(a), inputs, noise, gen)
    y = torch.tanh(field)
    err = (y - x) * mask
    count = valid.sum(dim=1)
    per_net = err.pow(2).sum(dim=(1, 2)) / (n * count)
    slope = err * (1 - y * y) * (2.0 / (n * count))[:, None, None]
    grad = torch.empty_like(a)
    path.backward(slope, used, inputs, extras, path.blocks(grad))
    path.scale_grad(grad)
    return per_net, grad
