"""Textbook Hopfield facts checked through the chip path (trained memories programmed on
noise-free, fault-free crossbars, with and without conductance levels, over several arrays),
where the recall tests check them on a bare ``FloatMatrix``: a symmetric rule programmed on
such a chip must stay symmetric, so its dynamics keep their textbook properties."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import xbarmem as xm

SYMMETRIC_RULES = ["hebb", "storkey", "pinv", "storkey-variant"]


def _chip(name: str, levels: int) -> xm.ChipSpec:
    chip = xm.load_preset(name)
    chip = chip.with_faults(0.0) if chip.device.fault_rate else chip
    return chip.replace_device(levels=levels) if levels else chip


def _energy(w: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """``E = -1/2 s^T W s`` per row of ``s``, float64."""
    w, s = w.double(), s.double()
    return -0.5 * ((s @ w) * s).sum(dim=1)


def _signs(rng: np.random.Generator, rows: int, n: int) -> np.ndarray:
    return np.where(rng.random((rows, n)) < 0.5, 1.0, -1.0).astype(np.float32)


@pytest.mark.parametrize("chip", ["ideal", "paper-sim"])
@pytest.mark.parametrize("n", [16, 64, 100])
def test_pinv_stores_n_minus_1_random_patterns_as_fixed_points(n, chip):
    """The projection rule keeps every one of ``N - 1`` independent patterns a fixed point
    (its self-weights, below 1, are dropped), through the chip, in both modes; ``N = 100``
    tiles over four 64x64 arrays."""
    pool = xm.random_patterns(n - 1, n, seed=n)
    patterns = torch.tensor(np.array(pool.patterns))
    assert torch.linalg.matrix_rank(patterns.double()) == n - 1
    memory = xm.train(pool, chip=chip, rule="pinv")
    for mode in ("sync", "async"):
        r = memory.recall(patterns, mode=mode, seed=1)
        assert torch.equal(r.states, patterns), mode
        assert r.converged.all() and (r.iterations == 1).all()


@settings(max_examples=12, deadline=None, derandomize=True)
@given(st.integers(8, 80), st.floats(0.05, 0.6), st.sampled_from(SYMMETRIC_RULES),
       st.sampled_from([("ideal", 0), ("ideal", 5), ("paper-sim", 0), ("paper-sim", 9)]),
       st.integers(0, 10**6))
def test_sync_sign_recall_through_the_chip_ends_in_a_fixed_point_or_a_2_cycle(
        n, load, rule, chip, seed):
    """Synchronous sign dynamics of a symmetric matrix have period 1 or 2 (Goles): the
    programmed matrix of a symmetric rule is symmetric, and no random cue runs to a generous
    cap; a cue reported cycled is back where it was after two steps."""
    rng = np.random.default_rng(seed)
    pool = xm.as_pattern_set(_signs(rng, max(1, int(load * n)), n))
    memory = xm.train(pool, chip=_chip(*chip), rule=rule)
    assert torch.equal(memory.weights, memory.weights.T)
    r = memory.recall(_signs(rng, 32, n), mode="sync", max_iterations=1000)
    assert (r.converged ^ r.cycled).all() and (r.iterations < 1000).all()
    two = memory.recall(memory.recall(r.states[r.cycled], max_iterations=1).states,
                        max_iterations=1).states if r.cycled.any() else r.states[r.cycled]
    assert torch.equal(two, r.states[r.cycled])


@settings(max_examples=10, deadline=None, derandomize=True)
@given(st.integers(8, 60), st.floats(0.05, 0.6), st.sampled_from(SYMMETRIC_RULES),
       st.sampled_from([("ideal", 0), ("ideal", 5), ("paper-sim", 0)]), st.integers(0, 10**6))
def test_async_sign_recall_through_the_chip_never_raises_the_energy(n, load, rule, chip, seed):
    """Asynchronous sign updates of a symmetric zero-diagonal matrix never raise
    ``E = -x^T W x / 2`` (W as programmed): after every sweep (the same seed draws the same
    orders, so a cap of k sweeps is the recall stopped after k) the energy is at most what it
    was, and the recall ends at a fixed point."""
    rng = np.random.default_rng(seed)
    pool = xm.as_pattern_set(_signs(rng, max(1, int(load * n)), n))
    memory = xm.train(pool, chip=_chip(*chip), rule=rule)
    w = memory.weights
    assert torch.equal(w, w.T) and not w.diagonal().any()
    cues = _signs(rng, 4, n)
    full = memory.recall(cues, mode="async", max_iterations=200, seed=seed)
    assert full.converged.all()
    energies = [_energy(w, torch.tensor(cues))] + [
        _energy(w, memory.recall(cues, mode="async", max_iterations=k, seed=seed).states)
        for k in range(1, int(full.iterations.max()) + 1)]
    scale = 1e-6 * float(w.abs().sum())
    assert all(bool((e1 <= e0 + scale).all())
               for e0, e1 in zip(energies[:-1], energies[1:], strict=True))
