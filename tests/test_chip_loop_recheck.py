"""Re-checks of chip-in-the-loop adaptation, programming through backends, pattern files and
the pseudo-inverse rule's train line: each test fails on the defect it names and passes on
the fix."""

from __future__ import annotations

import numpy as np
import pytest


def _full_rank_signs(p: int, n: int) -> np.ndarray:
    """``p`` random +-1 patterns of ``n`` neurons spanning ``min(p, n)`` dimensions."""
    for seed in range(50):
        x = np.random.default_rng(seed).choice([-1.0, 1.0], size=(p, n))
        if np.linalg.matrix_rank(x) == min(p, n):
            return x
    raise AssertionError("no full-rank draw")


def _rank_short_signs(n: int) -> np.ndarray:
    """``n`` +-1 patterns of ``n`` neurons spanning fewer than ``n`` dimensions (a repeat)."""
    x = _full_rank_signs(n, n)
    x[-1] = x[0]
    return x


# ---------------------------------------------------------------- pinv of N independent patterns
@pytest.mark.parametrize(("n", "patterns", "says"), [
    (16, lambda: _full_rank_signs(16, 16), True),   # P = N independent: identity projection
    (9, lambda: _full_rank_signs(9, 9), True),
    (16, lambda: _rank_short_signs(16), False),     # P = N, dependent: another reason
    (16, lambda: _full_rank_signs(6, 16), False),   # P < N: stored, nothing to say
])
def test_pinv_train_line_says_why_no_pattern_is_stored(run_cli, tmp_path, n, patterns, says):
    """``train --rule pinv`` of P = N linearly independent patterns printed only "not every
    stored pattern a fixed point"; a one-line warning now says why (the projection is the
    identity, zero without its diagonal), and only in that case."""
    data = tmp_path / "p.npy"
    np.save(data, patterns())
    code, out, err = run_cli("train", "--data", data, "--rule", "pinv", "--chip", "ideal",
                             "-o", tmp_path / "m.safetensors")
    assert code == 0, err
    warned = [line for line in err.splitlines() if "projection onto them is the identity"
              in line]
    assert len(warned) == (1 if says else 0), err
    if says:
        assert f"span all N = {n} dimensions" in warned[0]
