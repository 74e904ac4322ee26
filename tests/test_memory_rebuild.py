"""A memory rebuilt on another chip's faults, and a zero bias given to a memory without bias
rows: the parts of :class:`xbarmem.memory.base.Memory` the typed memories do not reach."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.errors import ArgumentError

CHIP = xm.load_preset("paper-sim").with_faults(0.2, 0.5)


def test_a_plain_memory_rebuilds_unprogrammed_on_the_new_faults_in_its_place():
    old, new = (xm.FaultMap.generate(CHIP, 2, seed=s) for s in (1, 2))
    m = xm.Memory([16, 16], CHIP, old, bias=False, first_array=1)
    m.program(torch.eye(16).roll(1, 0), seed=0)
    twin = m.rebuild(new)
    assert type(twin) is xm.Memory and twin.faults is new
    assert twin.sizes == [16, 16] and not twin.has_bias
    assert twin.layers[0].first_array == 1 and not twin.programmed and twin.targets is None
    assert m.programmed and m.faults is old  # the original is untouched
    with pytest.raises(ArgumentError, match="faults must be a FaultMap"):
        m.rebuild(None)


@pytest.mark.parametrize("zero", [torch.zeros(16), np.zeros(16), [0.0] * 16])
def test_a_zero_bias_on_a_memory_without_bias_rows_is_dropped(zero):
    """Programming ``(W, 0)`` on a bias-free memory is programming ``W`` alone: the same
    devices, same write draws, and no bias kept in the targets."""
    faults = xm.FaultMap.generate(CHIP, 1, seed=4)
    w = torch.as_tensor(np.random.default_rng(0).uniform(-1, 1, (16, 16)), dtype=torch.float32)
    with_zero = xm.SingleLayerMemory(16, CHIP, faults, bias=False).program(w, zero, seed=5)
    alone = xm.SingleLayerMemory(16, CHIP, faults, bias=False).program(w, seed=5)
    for a, b in zip(with_zero.layers, alone.layers, strict=True):
        np.testing.assert_array_equal(np.asarray(a.g_pos), np.asarray(b.g_pos))
        np.testing.assert_array_equal(np.asarray(a.g_neg), np.asarray(b.g_neg))
    assert with_zero.targets[0][1] is None
