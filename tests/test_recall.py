"""Recall dynamics."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from xbarmem.errors import ConfigError, PatternError
from xbarmem.memory.recall import FloatMatrix, recall


def hopfield_energy(w, x):
    return -0.5 * ((x @ w) * x).sum(dim=1)


def test_stored_pattern_is_fixed_point_in_one_step():
    x = torch.tensor([[1.0, -1, 1, -1, 1, 1]])
    w = x.T @ x
    w.fill_diagonal_(0)
    for mode in ("sync", "async"):
        r = recall(FloatMatrix(w), x, mode=mode)
        assert torch.equal(r.states, x) and r.converged.all() and r.iterations.item() == 1
        assert r.reads.item() == (1 if mode == "sync" else 6)


def test_sync_detects_two_cycle():
    w = -torch.ones(2, 2) + torch.eye(2)  # anti-ferromagnetic pair: (1,1) <-> (-1,-1)
    w.fill_diagonal_(0)
    r = recall(FloatMatrix(w), torch.tensor([[1.0, 1.0]]), mode="sync", max_iterations=50)
    assert r.cycled.all() and not r.converged.any() and r.iterations.item() == 2


def test_iteration_cap():
    w = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])  # rotation: period 4 under sync updates
    r = recall(FloatMatrix(w), torch.tensor([[1.0, 1.0]]), mode="sync", max_iterations=7)
    assert r.iterations.item() == 7 and not r.converged.any() and not r.cycled.any()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_async_never_raises_energy_of_symmetric_network(seed):
    g = torch.Generator().manual_seed(seed)
    n = 12
    w = torch.randn(n, n, generator=g)
    w = (w + w.T) / 2
    w.fill_diagonal_(0)
    x0 = torch.where(torch.rand(8, n, generator=g) < 0.5, 1.0, -1.0)
    r = recall(FloatMatrix(w), x0, mode="async", max_iterations=200, seed=seed)
    assert (hopfield_energy(w, r.states) <= hopfield_energy(w, x0) + 1e-5).all()
    assert r.converged.all()  # symmetric zero-diagonal networks reach a fixed point


def test_batched_equals_one_by_one():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(10, 10, generator=g)
    cues = torch.where(torch.rand(5, 10, generator=g) < 0.5, 1.0, -1.0)
    batch = recall(FloatMatrix(w), cues, max_iterations=30)
    for k in range(5):
        single = recall(FloatMatrix(w), cues[k:k + 1], max_iterations=30)
        assert torch.equal(single.states[0], batch.states[k])
        assert single.iterations[0] == batch.iterations[k]


def test_tanh_recall_converges_to_continuous_fixed_point():
    w = 0.5 * torch.eye(4).roll(1, 0)
    r = recall(FloatMatrix(w), torch.full((2, 4), 0.9), activation="tanh", max_iterations=500)
    assert r.converged.all() and r.states.abs().max() < 1e-3  # contraction to 0


def test_bad_arguments():
    m = FloatMatrix(torch.zeros(3, 3))
    with pytest.raises(PatternError, match=r"shape \(batch, 3\)"):
        recall(m, torch.zeros(2, 4))
    with pytest.raises(PatternError, match="NaN"):
        recall(m, torch.tensor([[float("nan"), 1, 1]]))
    with pytest.raises(ConfigError, match="mode"):
        recall(m, torch.ones(1, 3), mode="chaotic")
    with pytest.raises(ConfigError, match="activation"):
        recall(m, torch.ones(1, 3), activation="relu")
