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
from xbarmem.evaluation.metrics import (
    OUTCOMES,
    cosine_rows,
    cosine_similarity,
    exact_recall,
    field_margins,
    hamming_distance,
    recall_outcomes,
)


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


ROWS_OF_NOTHING = [[], np.zeros((2, 0)), torch.zeros(3, 0), [[], []]]


@pytest.mark.parametrize("rows", ROWS_OF_NOTHING, ids=["list", "array", "tensor", "lists"])
@pytest.mark.parametrize("fn", [cosine_similarity, cosine_rows, hamming_distance, exact_recall,
                                lambda a, b: recall_outcomes(a, a, b, np.ones(len(a), bool)),
                                lambda a, b: field_margins(a, None, b)],
                         ids=["cosine", "cosine_rows", "hamming", "exact", "outcomes",
                              "margins"])
def test_rows_of_no_values_raise_pattern_error(fn: Callable[[Any, Any], Any], rows: Any) -> None:
    """Rows of no values (``[]``, a ``(B, 0)`` matrix) are no patterns: cosine raised torch's
    IndexError (``amax(): Expected reduction dim 1 to have non-zero size``) and hamming and
    exact read ``[]`` as one row, at distance 0, recalled exactly; now a one-line PatternError
    naming the argument."""
    with pytest.raises(PatternError, match=r"must hold rows of N >= 1 values, got shape"):
        fn(rows, rows)


def test_recall_outcomes_label_each_recall_once() -> None:
    stored = torch.tensor([[1.0, 1.0, -1.0, -1.0], [1.0, -1.0, 1.0, -1.0]])
    target = stored[[0, 0, 0, 0, 0, 1]]
    states = torch.stack([stored[0],              # its own pattern
                          stored[1],              # the other stored pattern
                          -stored[1],             # an inverted pattern
                          torch.tensor([1.0, 1.0, 1.0, 1.0]),   # a spurious fixed point
                          torch.tensor([1.0, 1.0, 1.0, -1.0]),  # stopped on a cycle
                          stored[1] * 0.5])       # its own pattern, by sign
    converged = torch.tensor([True, True, True, True, False, True])
    out = recall_outcomes(states, target, stored, converged)
    assert list(out) == list(OUTCOMES)
    assert out == {"recalled": 2 / 6, "other_pattern": 1 / 6, "inverted": 1 / 6,
                   "spurious": 1 / 6, "not_converged": 1 / 6}
    with pytest.raises(PatternError, match="converged must have 6 entries"):
        recall_outcomes(states, target, stored, converged[:5])
    with pytest.raises(PatternError, match="patterns have 3 neurons"):
        recall_outcomes(states, target, stored[:, :3], converged)


@given(st.integers(1, 6), st.integers(1, 8), st.integers(2, 12), st.integers(0, 2**31))
@settings(max_examples=60, deadline=None)
def test_recall_outcomes_are_fractions_summing_to_one(p: int, b: int, n: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    stored = torch.where(torch.rand(p, n, generator=gen) < 0.5, -1.0, 1.0)
    target = stored[torch.randint(p, (b,), generator=gen)]
    states = torch.where(torch.rand(b, n, generator=gen) < 0.5, target, -target)
    converged = torch.rand(b, generator=gen) < 0.7
    out = recall_outcomes(states, target, stored, converged)
    assert sum(out.values()) == pytest.approx(1.0)
    assert out["recalled"] == pytest.approx(float(exact_recall(states, target).float().mean()))
