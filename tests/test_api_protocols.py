"""The Python API under a numpy / torch / notebook user's habits with its objects: pattern sets
indexed and read as arrays, result types importable from ``xbarmem``, results that print one
short line, and the chip left out where every other call defaults it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.errors import PatternError
from xbarmem.evaluation import curve
from xbarmem.evaluation.metrics import cosine_similarity

DIGITS = xm.load_digits(n=6)


def test_a_pattern_set_is_indexed_as_numpy_and_torch_users_expect():
    """``pats[:3]`` raised TypeError (not subscriptable)."""
    first = DIGITS[:3]
    assert isinstance(first, xm.PatternSet) and first.n_patterns == 3
    assert list(first.labels) == [0, 1, 2] and first.image_shape == (8, 8)
    assert first.name == DIGITS.name and first.kind == DIGITS.kind
    assert list(DIGITS[[4, 1]].labels) == [4, 1]
    assert list(DIGITS[DIGITS.labels >= 3].labels) == [3, 4, 5]
    assert list(DIGITS[np.array([5])].labels) == [5]
    row = DIGITS[-1]  # one pattern: its row, as iterating gives it
    assert row.shape == (64,) and row.dtype == np.float32
    assert np.array_equal(row, list(DIGITS)[-1]) and np.array_equal(DIGITS[np.int64(2)],
                                                                     DIGITS.patterns[2])
    with pytest.raises(PatternError, match="^index 6 is out of range for 6 patterns$"):
        DIGITS[6]
    with pytest.raises(PatternError, match="bad subset indices for 6 patterns"):
        DIGITS[[0, 9]]


def test_a_pattern_set_is_read_as_its_matrix_by_numpy_and_torch():
    """``np.asarray(pats)`` gave a 0-d object array; ``torch.as_tensor(pats)`` raised
    RuntimeError (could not infer dtype)."""
    arr = np.asarray(DIGITS)
    assert arr.shape == (6, 64) and arr.dtype == np.float32
    assert np.array_equal(arr, DIGITS.patterns)
    assert np.asarray(DIGITS, dtype=np.float64).dtype == np.float64
    copied = np.array(DIGITS, copy=True)
    assert copied is not DIGITS.patterns and np.array_equal(copied, DIGITS.patterns)
    with pytest.raises(ValueError, match="needs a copy"):
        np.asarray(DIGITS, dtype=np.float64, copy=False)
    for make in (torch.as_tensor, torch.tensor, torch.asarray):
        tensor = make(DIGITS)
        assert tensor.shape == (6, 64) and tensor.dtype == torch.float32
        assert torch.equal(tensor, torch.from_numpy(DIGITS.patterns))
    assert torch.as_tensor(DIGITS, dtype=torch.float64).dtype == torch.float64


def test_a_pattern_set_is_taken_wherever_a_matrix_of_cues_is(small_memory):
    """(A set given as cues was refused with ``pass its .patterns``.)"""
    pats, memory = small_memory
    assert torch.equal(memory.recall(pats).states, memory.recall(pats.patterns).states)
    assert torch.equal(xm.flip_bits(pats, 0.2, 0), xm.flip_bits(pats.patterns, 0.2, 0))
    assert torch.equal(cosine_similarity(pats, pats.patterns), torch.ones(3))
