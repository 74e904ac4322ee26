"""Tests for xbarmem.evaluation.metrics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from xbarmem.errors import PatternError
from xbarmem.evaluation.metrics import cosine_similarity, exact_recall, hamming_distance


def test_cosine_basic_cases() -> None:
    a = torch.tensor([[1.0, -1.0, 1.0, 1.0], [1.0, 2.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    b = torch.tensor([[1.0, -1.0, 1.0, 1.0], [-2.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    cos = cosine_similarity(a, b)
    assert cos.dtype == torch.float32 and cos.shape == (3,)
    torch.testing.assert_close(cos, torch.tensor([1.0, 0.0, 0.0]))
    torch.testing.assert_close(cosine_similarity(a[:1], -a[:1]), torch.tensor([-1.0]))
    # numpy and torch inputs mix freely; a 1-D vector is one row
    torch.testing.assert_close(cosine_similarity(a.numpy(), b), cos)
    assert cosine_similarity([3.0, 4.0], [4.0, 3.0]).tolist() == pytest.approx([0.96])


finite = st.floats(-1e3, 1e3, allow_nan=False, width=32)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, (4, 9), elements=finite), arrays(np.float32, (4, 9), elements=finite))
def test_cosine_bounded_and_symmetric(a: np.ndarray, b: np.ndarray) -> None:
    cos = cosine_similarity(a, b)
    assert torch.all(cos >= -1) and torch.all(cos <= 1)
    torch.testing.assert_close(cos, cosine_similarity(b, a))
    # scale invariance for positive factors (scaled in float64: in float32 the product of a
    # subnormal value and 2.5 is rounded, so the scaled row would point elsewhere)
    torch.testing.assert_close(cosine_similarity(2.5 * a.astype(np.float64), b), cos,
                               atol=1e-5, rtol=1e-5)


def test_hamming_and_exact_recall() -> None:
    a = np.array([[1, -1, 1, -1], [0.2, -0.3, 0.0, 5.0], [1, 1, 1, 1]])
    b = np.array([[1, -1, 1, -1], [1.0, -1.0, 1.0, 1.0], [-1, -1, -1, 1]])
    ham = hamming_distance(a, b)
    assert ham.dtype == torch.int64
    assert ham.tolist() == [0, 0, 3]  # 0.0 counts as +1
    rec = exact_recall(torch.tensor(a), b)
    assert rec.dtype == torch.bool and rec.tolist() == [True, True, False]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(1, 30), st.integers(0, 2**31))
def test_hamming_counts_flips(b: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.choice([-1.0, 1.0], size=(b, n))
    mask = rng.random((b, n)) < 0.3
    y = np.where(mask, -x, x)
    assert hamming_distance(x, y).tolist() == mask.sum(axis=1).tolist()
    assert exact_recall(x, y).tolist() == (mask.sum(axis=1) == 0).tolist()


@pytest.mark.parametrize("fn", [cosine_similarity, hamming_distance, exact_recall])
def test_bad_inputs_raise_pattern_error(fn: Callable[[Any, Any], torch.Tensor]) -> None:
    with pytest.raises(PatternError, match="shape mismatch"):
        fn(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(PatternError, match="NaN"):
        fn(np.array([[np.nan, 1.0]]), np.ones((1, 2)))
    with pytest.raises(PatternError, match="2-D"):
        fn(np.ones((1, 2, 3)), np.ones((1, 2, 3)))
