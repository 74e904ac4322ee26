"""The cues' own similarity: ``Score.cue_cosine``, ``evaluate``'s ``(cues ...)`` and the
capacity searches' warning about a threshold the cues pass by themselves."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from xbarmem import Protocol, evaluate_memory, find_capacity, load_digits, random_patterns
from xbarmem.errors import XbarmemWarning
from xbarmem.evaluation.cue_check import cue_similarity
from xbarmem.evaluation.evaluate import make_cues
from xbarmem.memory.recall import RecallResult

OWN = "at or below the cues' own cosine"


class _Echo:
    """A memory that returns every cue unchanged: it scores the cues' own similarity."""

    def __init__(self, n_neurons: int, kind: str) -> None:
        self.n_neurons, self.info = n_neurons, {"kind": kind}

    def recall(self, cues, *, mode, activation, max_iterations, seed) -> RecallResult:
        ones = torch.ones(len(cues), dtype=torch.int64)
        return RecallResult(cues.clone(), ones, ones, ones.bool(), ~ones.bool(), mode,
                            activation)


def _numpy_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_cue_cosine_of_flipped_bits_is_one_minus_twice_the_flipped_share():
    pats = random_patterns(6, 40, seed=3)
    score = evaluate_memory(_Echo(40, "binary"), pats, Protocol(level=0.2, probes=3, seed=7))
    target = np.tile(pats.patterns, (3, 1))
    flipped = (score.cues.numpy() != target).mean(axis=1)
    assert 0.1 < flipped.mean() < 0.3  # (bits were flipped)
    assert score.cue_cosine == pytest.approx(float(np.mean(1 - 2 * flipped)), abs=1e-6)
    # a memory that returns its cues unchanged scores exactly the cues' own cosine
    assert score.cosine == pytest.approx(score.cue_cosine, abs=1e-6)
    assert "cue_cosine" not in score.as_dict()  # (stored rows keep their keys)
    assert f"cue_cosine={score.cue_cosine:.4g}" in repr(score)


def test_cue_cosine_of_gaussian_grey_levels_matches_numpy():
    digits = load_digits(kind="continuous", n_patterns=12)
    proto = Protocol(corruption="gaussian", level=0.3, probes=2, activation="tanh", seed=1)
    cues = make_cues(digits, proto)
    clipped = np.clip(cues.cues.numpy(), -1, 1)
    assert np.array_equal(clipped, cues.cues.numpy())  # (the cues are clipped to [-1, 1])
    hand = _numpy_cosine(cues.cues.numpy(), np.tile(digits.patterns, (2, 1)))
    np.testing.assert_allclose(cues.similarity().numpy(), hand, atol=1e-6)
    score = evaluate_memory(_Echo(64, "continuous"), digits, proto)
    assert score.cue_cosine == pytest.approx(float(hand.mean()), abs=1e-6)
    assert 0.5 < score.cue_cosine < 0.99
    # a pool small enough to be drawn whole: the search's mark is the mean over its cues
    assert cue_similarity(digits, proto) == pytest.approx(float(hand.mean()), abs=1e-6)
    # bit flips and salt-and-pepper of +-1 patterns: exactly their expectation
    pats = random_patterns(5, 16, seed=0)
    assert cue_similarity(pats, Protocol(level=0.05)) == pytest.approx(0.9)
    assert cue_similarity(pats, Protocol(corruption="salt-pepper", level=0.1)) == \
        pytest.approx(0.9)


def test_evaluate_prints_the_cues_own_cosine_beside_the_recalls(run_cli, small_model):
    code, out, err = run_cli("evaluate", small_model, "--level", "0.25", "--probes", "4",
                             "--json")
    assert code == 0, err
    result = json.loads(out)
    pats = random_patterns(3, 16, seed=4)  # (small_memory's patterns)
    cues = make_cues(pats, Protocol(level=0.25, probes=4))
    flipped = (cues.cues.numpy() != np.tile(pats.patterns, (4, 1))).mean(axis=1)
    assert result["cue_cosine"] == pytest.approx(float(np.mean(1 - 2 * flipped)), abs=1e-6)
    assert "cue_cosine" not in result["protocol"]
    code, out, err = run_cli("evaluate", small_model, "--level", "0.25", "--probes", "4")
    assert code == 0, err
    assert all(len(line) <= 80 for line in out.splitlines()), out  # (no line is broken)
    line = out.splitlines()[1]
    assert line.startswith(f"cosine {result['cosine']:.4f} (cues {result['cue_cosine']:.3f})  "
                           f"exact "), line


def _warned(run) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
    return [str(w.message) for w in caught if issubclass(w.category, XbarmemWarning)]


def test_find_capacity_warns_when_its_cues_pass_the_threshold_by_themselves():
    """Continuous digits with Gaussian noise of 0.05: the cues keep a cosine of 0.999 with
    their patterns, so a capacity at 0.9 says nothing of recall; binary digits with 5% flips
    (the defaults) keep 0.9, below the default threshold 0.99."""
    digits = load_digits(kind="continuous")
    proto = Protocol(corruption="gaussian", level=0.05, probes=2, activation="tanh")
    own = cue_similarity(digits, proto)
    assert own > 0.99
    said = _warned(lambda: find_capacity(digits, rule="pinv", thresholds=[0.9], trials=1,
                                         protocol=proto))
    assert said == [f"threshold 0.9 is {OWN} with their patterns, {own:.3f} (Gaussian noise "
                    "sigma = 0.05, N = 64): a memory that returned every cue unchanged would "
                    "pass it, so the capacity there does not measure recall"]
    binary = load_digits(n_patterns=200)
    assert _warned(lambda: find_capacity(binary, rule="pinv", trials=1,
                                         protocol=Protocol(level=0.05, probes=2))) == []


def test_capacity_and_scaling_warn_once(run_cli, tmp_path):
    """One line for the thresholds the cues pass (0.9, not 0.9999), not one per size N."""
    args = ["--rule", "pinv", "--kind", "continuous", "--corruption", "gaussian", "--level",
            "0.05", "--trials", "1", "--probes", "1"]
    code, _, err = run_cli("capacity", "--data", "digits", "--threshold", "0.9,0.9999", *args)
    assert code == 0, err
    assert err.count(OWN) == 1 and f"threshold 0.9 is {OWN}" in err, err
    code, _, err = run_cli("scaling", "--arch", "single", "--data", "random", "--pool", "20",
                           "--sizes", "16,25,36", "--threshold", "0.9", "--out", tmp_path, *args)
    assert code == 0, err
    assert err.count(OWN) == 1 and "N = 16)" in err, err
    code, _, err = run_cli("capacity", "--data", "digits", "--rule", "pinv", "--trials", "1",
                           "--probes", "1")
    assert code == 0 and OWN not in err, err


def test_a_sweep_warns_once_of_capacity_trials_their_cues_pass(tmp_path, run_cli):
    """A sweep's capacity trials ran with their warnings quiet, so a threshold its flipped
    cues pass unchanged (0.8 with 10% flips) was measured without a word; the sweep warns when
    it is planned, once per setting (not per seed or trial), and not for thresholds above."""
    import warnings

    from xbarmem.errors import XbarmemWarning
    from xbarmem.experiments.sweep import parse_sweep

    table = {"sweep": {"name": "cw", "trial": "capacity", "seeds": 3},
             "base": {"data": "random", "n_neurons": 16, "rule": "pinv", "level": 0.1,
                      "probes": 2, "search": True},
             "grid": {"thresholds": [[0.8, 0.99], [0.95]]}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parse_sweep(table, source="cw.toml")
    said = [str(w.message) for w in caught if issubclass(w.category, XbarmemWarning)]
    assert said == ["cw.toml: capacity trials: threshold 0.8 is at or below the cues' own "
                    "cosine with their patterns, 0.800 (10% flips, N = 16): a memory that "
                    "returned every cue unchanged would pass it, so the capacity there does "
                    "not measure recall"]
    (tmp_path / "cw.toml").write_text(
        '[sweep]\nname = "cw"\ntrial = "capacity"\nseeds = 2\n[base]\ndata = "random"\n'
        'n_neurons = 16\nrule = "pinv"\nlevel = 0.1\nprobes = 2\nsearch = true\n'
        'thresholds = [0.8]\n')
    code, _, err = run_cli("sweep", tmp_path / "cw.toml", "--store", tmp_path / "s.sqlite")
    assert code == 0, err
    assert err.count("threshold 0.8 is at or below the cues' own cosine") == 1, err


def test_gaussian_cues_of_binary_patterns_are_signs_as_every_level_help_says():
    """``--corruption gaussian --level 0.3`` on a binary model printed ``(cues 1.000)`` where
    the help promised clipped noisy cues (cosine about 0.98): the cues of binary patterns are
    the signs of the corrupted patterns, flipping a bit with probability Phi(-1/sigma). The
    shared ``--level`` help, and ``Protocol.level``, say so."""
    from statistics import NormalDist

    from tests.test_cli import _commands, _options

    pats = random_patterns(40, 50, seed=1)
    cues = make_cues(pats, Protocol(corruption="gaussian", level=0.6, probes=20, seed=2))
    assert set(cues.cues.unique().tolist()) == {-1.0, 1.0}
    flipped = float((cues.cues != cues.target).double().mean())  # 40,000 bits
    assert abs(flipped - NormalDist().cdf(-1 / 0.6)) < 0.005
    helps = {p.help for _, command in _commands() for p in _options(command)
             if "--level" in p.opts and "Gaussian" in (p.help or "")}
    assert helps and all("binary patterns, the cue is its signs" in h for h in helps), helps
    assert "Phi(-1/s)" in (Protocol.__doc__ or "")
