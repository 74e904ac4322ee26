"""The naive baseline: the per-network loop of the paper's scripts, written plainly.

One network at a time, exactly as He et al.'s simulation scripts train a memory:

* ``W`` (``N x N``) and ``b`` (``N``) are torch parameters with a small random init
  (normal, std ``init_std``);
* a fixed mask ``M`` zeroes the diagonal (no self-connection) and every faulty weight
  (the paper's simulation abstraction: a faulty weight is 0 and never moves);
* ``f(X) = tanh(X (W * M)^T + b)``; the loss is ``MSE(f(X), X)`` over the stored patterns, full
  batch; ``torch.optim.Adam(lr)``; stop when the loss is below ``tol`` or after ``max_steps``
  optimiser steps.

Recall is a plain synchronous loop ``x <- sign(x (W * M)^T + b)`` (a neuron whose field is exactly
0 keeps its state), at most ``max_steps`` updates, stopping early when no cue changes any more.
Cues are the stored patterns with independent bit flips, drawn exactly as
:func:`xbarmem.evaluation.evaluate.evaluate_memory` draws them (one ``torch.Generator`` seeded with
the cue seed, ``torch.rand(probes * P, N) < rate``), so both sides of a benchmark see bit-identical
cues.

Nothing here is made artificially slow: no Python loops over neurons or patterns, one matmul per
forward pass, torch's stock Adam. Nothing here is batched over networks either: that is the point.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from xbarmem import ChipSpec, Crossbar, FaultMap
from xbarmem.checks import tensor_of
from xbarmem.memory.multilayer import MultilayerMemory


@dataclass
class NaiveTrainResult:
    """Outcome of training one network with the naive loop.

    Attributes:
        weights: ``(N, N)`` effective weights ``W * M`` (faulty weights and diagonal are 0).
        bias: ``(N,)`` bias.
        steps: optimiser steps taken.
        loss: loss of the returned weights (one extra forward pass after the last step).
        converged: ``loss < tol``.
        seconds: wall time of the training loop, seconds.
    """

    weights: torch.Tensor
    bias: torch.Tensor
    steps: int
    loss: float
    converged: bool
    seconds: float


def weight_mask(chip: ChipSpec, faults: FaultMap, n_neurons: int) -> torch.Tensor:
    """``(N, N)`` float32 mask ``M``: 1 for a trainable weight, 0 on the diagonal and wherever
    ``faults`` pins the weight (paper's ``weight`` fault model only).

    The fault map is the same object xbarmem trains against; the physical-to-logical layout is
    read through :class:`xbarmem.Crossbar` (with a bias row, as the adaptive rule uses) so the
    naive network sees exactly the faulty weights the batched trainer sees.
    """
    if chip.array.fault_model != "weight":
        raise ValueError("the naive baseline models the paper's 'weight' fault model only "
                         f"(faulty weight = 0); this chip uses {chip.array.fault_model!r}")
    lo, hi = Crossbar(chip, n_neurons, n_neurons, faults, bias=True).bounds()
    free = lo[:, :n_neurons] != hi[:, :n_neurons]  # faulty weights are pinned: lo == hi == 0
    mask = free.to(torch.float32)
    mask.fill_diagonal_(0.0)
    return mask


def train_naive(patterns: torch.Tensor, mask: torch.Tensor, *, lr: float = 1e-3,
                max_steps: int = 10_000, tol: float = 1e-8, init_std: float = 0.01,
                seed: int = 0) -> NaiveTrainResult:
    """Train one network on ``patterns`` ``(P, N)`` with the paper's loop (module docstring).

    Args:
        patterns: stored patterns ``(P, N)``, values in [-1, 1].
        mask: ``(N, N)`` from :func:`weight_mask`.
        lr: Adam learning rate.
        max_steps: cap on optimiser steps.
        tol: stop as soon as the loss is below this.
        init_std: standard deviation of the normal initialisation of ``W`` and ``b``.
        seed: seed of the initialisation.
    """
    x = tensor_of(patterns, torch.float32)
    n = x.shape[1]
    gen = torch.Generator().manual_seed(seed)
    w = torch.nn.Parameter(init_std * torch.randn(n, n, generator=gen))
    b = torch.nn.Parameter(init_std * torch.randn(n, generator=gen))
    optimizer = torch.optim.Adam([w, b], lr=lr)
    steps = 0
    start = time.perf_counter()
    while True:
        loss = F.mse_loss(torch.tanh(x @ (w * mask).T + b), x)
        loss_value = loss.item()
        if loss_value < tol or steps >= max_steps:
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1
    seconds = time.perf_counter() - start
    return NaiveTrainResult(weights=(w * mask).detach(), bias=b.detach().clone(), steps=steps,
                            loss=loss_value, converged=loss_value < tol, seconds=seconds)


def flip_cues(patterns: torch.Tensor, probes: int, rate: float,
              seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``probes`` corrupted copies of every pattern: each bit flipped independently with
    probability ``rate``. Returns ``(cues, targets)``, both ``(probes * P, N)``; row ``i`` is a
    copy of pattern ``i % P`` (the layout and random draw of xbarmem's ``evaluate_memory``)."""
    targets = tensor_of(patterns, torch.float32).repeat(probes, 1)
    gen = torch.Generator().manual_seed(seed)
    flips = torch.rand(targets.shape, generator=gen) < rate
    return torch.where(flips, -targets, targets), targets


def recall_naive(weights: torch.Tensor, bias: torch.Tensor, cues: torch.Tensor,
                 max_steps: int = 100) -> torch.Tensor:
    """Synchronous sign recall from every cue ``(B, N)``; returns the final states ``(B, N)``.

    Runs until no state changes or ``max_steps`` updates (a 2-cycle simply runs to the cap).
    """
    x = cues.clone()
    for _ in range(max_steps):
        field = x @ weights.T + bias
        new = torch.where(field > 0, 1.0, torch.where(field < 0, -1.0, x))
        if torch.equal(new, x):
            break
        x = new
    return x


def cosine_scores(states: torch.Tensor, targets: torch.Tensor) -> tuple[float, float]:
    """Mean cosine similarity of each state to its clean pattern, and the exact-recall rate."""
    cos = (states * targets).sum(dim=1) / (states.norm(dim=1) * targets.norm(dim=1))
    exact = (states == targets).all(dim=1).float()
    return float(cos.mean()), float(exact.mean())


# --------------------------------------------------------------------------- multilayer
@dataclass
class NaiveMultilayerResult:
    """Outcome of training one multilayer network with the naive loop.

    Attributes:
        weights: per layer ``(n_out, n_in)`` effective weights ``W * M``.
        biases: per layer ``(n_out,)`` biases.
        steps, loss, converged, seconds: as :class:`NaiveTrainResult`.
    """

    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    steps: int
    loss: float
    converged: bool
    seconds: float


def multilayer_masks(memory: MultilayerMemory) -> list[torch.Tensor]:
    """Per layer ``(n_out, n_in)`` float32 masks ``M`` (1 = trainable, 0 = faulty weight) read
    from ``memory``'s crossbars (paper's ``weight`` fault model only; layers are
    feed-forward, so there is no diagonal constraint)."""
    if memory.chip.array.fault_model != "weight":
        raise ValueError("the naive baseline models the paper's 'weight' fault model only")
    masks = []
    for layer in memory.layers:
        lo, hi = layer.bounds()
        masks.append((lo[:, : layer.n_in] != hi[:, : layer.n_in]).to(torch.float32))
    return masks


def train_naive_multilayer(patterns: torch.Tensor, masks: list[torch.Tensor], *,
                           lr: float = 1.5e-4, max_steps: int = 120_000, tol: float = 1e-8,
                           seed: int = 0) -> NaiveMultilayerResult:
    """Train one encoder/decoder network ``N -> H ... -> N`` on ``patterns`` ``(P, N)`` the
    way the paper's multilayer scripts do: every layer ``tanh((W * M) h + b)``, the output
    layer's tanh compared with the patterns by MSE, full batch, ``torch.optim.RMSprop(lr)``,
    stop when the loss is below ``tol`` or after ``max_steps`` steps. ``W`` and ``b`` start
    from ``torch.nn.Linear``'s default distribution (uniform in ``+-1/sqrt(fan_in)``), drawn
    from a generator seeded with ``seed``."""
    x = tensor_of(patterns, torch.float32)
    gen = torch.Generator().manual_seed(seed)
    weights, biases = [], []
    for mask in masks:
        n_out, n_in = mask.shape
        bound = 1.0 / n_in**0.5
        weights.append(torch.nn.Parameter((torch.rand(n_out, n_in, generator=gen) * 2 - 1)
                                          * bound))
        biases.append(torch.nn.Parameter((torch.rand(n_out, generator=gen) * 2 - 1) * bound))
    optimizer = torch.optim.RMSprop([*weights, *biases], lr=lr)
    steps = 0
    start = time.perf_counter()
    while True:
        h = x
        for w, b, mask in zip(weights, biases, masks, strict=True):
            h = torch.tanh(h @ (w * mask).T + b)
        loss = F.mse_loss(h, x)
        loss_value = loss.item()
        if loss_value < tol or steps >= max_steps:
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1
    seconds = time.perf_counter() - start
    return NaiveMultilayerResult(
        weights=[(w * m).detach() for w, m in zip(weights, masks, strict=True)],
        biases=[b.detach().clone() for b in biases], steps=steps, loss=loss_value,
        converged=loss_value < tol, seconds=seconds)


def recall_naive_multilayer(weights: list[torch.Tensor], biases: list[torch.Tensor],
                            cues: torch.Tensor, max_steps: int = 100) -> torch.Tensor:
    """Synchronous sign recall through the layers: hidden layers ``tanh``, the state becomes
    the sign of the output layer's pre-activation (a zero keeps the state); stops when no cue
    changes or after ``max_steps`` updates."""
    x = cues.clone()
    for _ in range(max_steps):
        h = x
        for k, (w, b) in enumerate(zip(weights, biases, strict=True)):
            h = h @ w.T + b
            if k < len(weights) - 1:
                h = torch.tanh(h)
        new = torch.where(h > 0, 1.0, torch.where(h < 0, -1.0, x))
        if torch.equal(new, x):
            break
        x = new
    return x
