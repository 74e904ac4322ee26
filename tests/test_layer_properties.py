"""Properties an engineer would state of each layer, checked (hypothesis) on inputs the fixed
cases elsewhere do not use: any N, any tile size (1x1, not dividing N, larger than N), any
level count and window, any image shape.

Learning: the classic rules are equivariant under a relabelling of the neurons and (Hebb,
pinv) invariant under a reordering of the patterns; the pseudo-inverse stores any linearly
independent patterns as fixed points. Recall: a fixed point is one for sync and async alike,
a zero field keeps a state, tanh states stay in [-1, 1], a batch recalls as its cues one by
one and as :func:`recall_batch`. Crossbar: programming gives every weight to within half a
level step, the same whatever the tiles, seeded; without levels conductance differences scale
with the weights. Corruption: an occluded block covers ``fraction`` of any image, turned or
not. Evaluation: the power-law fit recovers exact power laws, capacity searches keep their
monotone rule. Energy: a larger circuit constant never makes a step cheaper or faster. Files:
a model saved, loaded and saved again gives the same bytes; chip specs survive TOML and JSON.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from xbarmem import (
    ArraySpec,
    ChipSpec,
    DeviceSpec,
    FaultMap,
    MultilayerMemory,
    SingleLayerMemory,
    load_memory,
    save_memory,
    train,
)
from xbarmem.data.corruption import occlude_block
from xbarmem.hardware.crossbar import Crossbar, arrays_needed
from xbarmem.learning.classic import get_rule
from xbarmem.memory.recall import FloatMatrix, recall

FEW = settings(max_examples=30, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
MANY = settings(max_examples=200, deadline=None, derandomize=True)


def _patterns(seed: int, p: int, n: int) -> np.ndarray:
    return np.where(np.random.default_rng(seed).random((p, n)) < 0.5, -1.0, 1.0)


@st.composite
def chips(draw, *, faults: bool = False, noise: bool = False):
    """A chip of the ``device`` fault model: a window from 1e-10 to 1e-2 S, levels 0 or
    2..256, tiles of 1..20 x 1..20 cells."""
    low = draw(st.floats(-10.0, -3.0))
    g_min = draw(st.sampled_from([0.0, 0.01, 0.3])) * 10 ** low
    g_max = 10 ** (low + draw(st.floats(0.05, 1.0)))
    window = g_max - g_min
    on, off = (draw(st.floats(0, 0.3)), draw(st.floats(0, 0.3))) if faults else (0.0, 0.0)
    spread = st.sampled_from([0.0, 0.05]) if noise else st.just(0.0)
    return ChipSpec(DeviceSpec(g_min=g_min, g_max=g_max,
                               levels=draw(st.sampled_from([0, 2, 3, 5, 16, 256])),
                               write_noise=draw(spread) * window, read_noise=draw(spread) * window,
                               p_stuck_on=on, p_stuck_off=off),
                    ArraySpec(rows=draw(st.integers(1, 20)), cols=draw(st.integers(1, 20)),
                              weight_range=draw(st.sampled_from([0.1, 1.0, 3.0]))))


def _crossbar(chip: ChipSpec, n_out: int, n_in: int, seed: int, bias: bool = True) -> Crossbar:
    faults = FaultMap.generate(chip, arrays_needed(chip, n_out, n_in + bias), seed=seed)
    return Crossbar(chip, n_out, n_in, faults, bias=bias)


def _weights(seed: int, n_out: int, n_in: int, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return ((torch.rand(n_out, n_in, generator=gen) * 2 - 1) * scale,
            (torch.rand(n_out, generator=gen) * 2 - 1) * scale)


# ------------------------------------------------------------------------- learning
@FEW
@given(st.integers(0, 9999), st.integers(1, 8), st.integers(2, 16), st.booleans())
def test_pinv_stores_linearly_independent_patterns_as_fixed_points(seed, p, n, chip):
    """The projection's off-diagonal field of a stored pattern is ``(1 - d_i) x_i``: the
    pattern's sign or, for a neuron whose unit vector the patterns span (``d_i = 1``: a row
    of zeros), a tie that keeps it. Such a row computed as rounding noise of 1e-16 and its
    noise set the neuron: [[1, -1, -1, -1], [1, 1, 1, 1]] recalled [-1, -1, -1, -1]."""
    x = _patterns(seed, p, n)
    assume(np.linalg.matrix_rank(x) == p)
    w, b = get_rule("pinv").ideal(torch.tensor(x))
    memory = train(x, chip=ChipSpec(DeviceSpec(), ArraySpec(rows=7, cols=5)), rule="pinv") \
        if chip else None
    for mode in ("sync", "async"):
        result = memory.recall(x, mode=mode) if memory else recall(FloatMatrix(w, b), x,
                                                                   mode=mode)
        np.testing.assert_array_equal(result.states.numpy(), x)
        assert (result.iterations == 1).all() and result.converged.all()


# ------------------------------------------------------------------------- corruption
@MANY
@given(st.integers(1, 40), st.integers(1, 40), st.floats(0.0, 1.0), st.integers(0, 99))
def test_an_occluded_block_covers_the_fraction_of_any_image_turned_or_not(h, w, fraction, seed):
    """``fraction * h * w`` cells to within half the shorter side, and as many for the image
    turned by 90 degrees. A tall strip (h x 1) took a block of ``round(h sqrt(f))`` rows:
    12 x 1 at 0.3 occluded 7 cells (58%) where 1 x 12 occluded 4."""
    covered = [int((occlude_block(torch.ones(2, h * w), shape, fraction, seed) == -1)
                   .sum(dim=1).unique().item()) for shape in ((h, w), (w, h))]
    assert covered[0] == covered[1]
    area = fraction * h * w
    assert covered[0] == 0 if area < 0.5 else abs(covered[0] - area) <= min(h, w) / 2


# ------------------------------------------------------------------------- files
@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(chips(faults=True, noise=True), st.integers(3, 10), st.integers(0, 2), st.booleans(),
       st.integers(0, 99))
def test_a_memory_programmed_by_hand_saved_loaded_and_saved_again_is_the_same_file(
        chip, n, hidden, bias, seed):
    """One layer or several, no training (``info`` without a kind), saved with cues: loading
    reads it as its patterns' kind, and saving what was loaded wrote that kind into ``info``
    (the first file had none), so the two files differed; they recall alike."""
    widths = [max(2, n // 2 + k) for k in range(hidden)]
    memory = MultilayerMemory(n, widths, chip, bias=bias, fault_seed=seed) if hidden \
        else SingleLayerMemory(n, chip, bias=bias, fault_seed=seed)
    sizes = [n, *widths, n]
    gen = torch.Generator().manual_seed(seed)
    shapes = list(zip(sizes[1:], sizes[:-1], strict=True))
    memory.program([torch.randn(s, generator=gen) for s in shapes],
                   [torch.randn(s[0], generator=gen) for s in shapes] if bias else None,
                   seed=seed)
    cues = _patterns(seed, 4, n)
    with tempfile.TemporaryDirectory() as folder:
        first = save_memory(memory, Path(folder) / "a.safetensors", patterns=cues)
        back = load_memory(first)
        second = save_memory(back, Path(folder) / "b.safetensors", patterns=cues)
        assert Path(first).read_bytes() == Path(second).read_bytes()
    assert torch.equal(back.recall(cues).states, memory.recall(cues).states)
