"""The classic rules against textbook formulas written out in NumPy, their known capacities,
and their path onto a chip (the adaptive rule's path: one mapping, one programming).

Each reference below is the formula as a textbook gives it, computed independently of the
library (plain NumPy loops and its own linear algebra): Hebb ``W = (1/N) sum x x^T``; Storkey
(1997) with the local field ``h_ij = sum_{k != i, j} w_ik xi_k``; the projection rule as the
orthogonal projector onto the patterns' span (``pinv(X) X``, an SVD of ``X``, not of the Gram
matrix the library inverts); the perceptron's documented sweeps in exact integer arithmetic.
Every rule then zeroes the diagonal and scales to ``max|W| = 1``
(:mod:`xbarmem.learning.classic`)."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import xbarmem as xm
from xbarmem.learning.base import Problem
from xbarmem.learning.classic import CLASSIC_RULES, get_rule
from xbarmem.learning.fit import fit_memories
from xbarmem.memory.single import SingleLayerMemory

FEW = settings(max_examples=25, deadline=None, derandomize=True)
RULES = list(CLASSIC_RULES)  # hebb, storkey, storkey-variant, pinv, perceptron
SYMMETRIC = ["hebb", "storkey", "storkey-variant", "pinv"]


def signs(seed: int, p: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=(p, n))


def finish(w: np.ndarray) -> np.ndarray:
    """Zero diagonal, largest weight 1 (all zero: stays zero)."""
    w = np.array(w, dtype=float)
    np.fill_diagonal(w, 0.0)
    peak = np.abs(w).max()
    return w / peak if peak > 0 else w


def hebb(x: np.ndarray) -> np.ndarray:
    n = x.shape[1]
    return finish(sum(np.outer(xi, xi) for xi in x) / n)


def storkey(x: np.ndarray) -> np.ndarray:
    """Storkey (1997): ``w_ij += (xi_i xi_j - xi_i h_ji - h_ij xi_j) / N`` per pattern, with
    ``h_ij = sum_{k != i, j} w_ik xi_k`` from the weights before the pattern; no self-weight."""
    n = x.shape[1]
    w = np.zeros((n, n))
    for xi in x:
        h = np.zeros((n, n))
        for i in range(n):
            for j in range(n):
                k = np.ones(n, dtype=bool)
                k[[i, j]] = False
                h[i, j] = w[i, k] @ xi[k]
        w = w + (np.outer(xi, xi) - xi[:, None] * h.T - h * xi[None, :]) / n
        np.fill_diagonal(w, 0.0)
    return finish(w)


def projector(x: np.ndarray) -> np.ndarray:
    """The orthogonal projector onto the span of the patterns (rows of ``x``)."""
    return np.linalg.pinv(x) @ x


def pinv(x: np.ndarray) -> np.ndarray:
    w = projector(x)
    np.fill_diagonal(w, 0.0)
    w[np.abs(w) < 1e-9] = 0.0  # float rounding of an exact zero (the identity's off-diagonal)
    return finish(w)


def perceptron(x: np.ndarray, margin: Fraction, epochs: int) -> tuple[np.ndarray, bool]:
    """The documented sweeps in exact integer arithmetic (``N W`` is an integer matrix for
    +-1 patterns): from Hebb's matrix, ``w_i += xi_i^mu xi^mu / N`` for every (mu, i) whose
    normalised stability ``xi_i h / |w_i|`` (``|xi| = sqrt(N)``; ``h = w_i . xi``) is below
    ``margin >= 0`` -- ``xi_i h < 0`` or ``h^2 < margin^2 |w_i|^2``, or a zero row (stability
    0) when ``margin > 0`` -- at most ``epochs`` sweeps; converged: none below after the
    last. A stability exactly at the margin reaches it."""
    xi = x.astype(np.int64)
    off = 1 - np.eye(x.shape[1], dtype=np.int64)
    a, b = margin.numerator, margin.denominator
    w = (xi.T @ xi) * off

    def low_of(w: np.ndarray) -> np.ndarray:
        h = xi @ w.T
        norm2 = (w * w).sum(axis=1)[None, :]
        return (xi * h < 0) | (b * b * h * h < a * a * norm2) | ((norm2 == 0) & (a > 0))

    for _ in range(epochs):
        low = low_of(w)
        if not low.any():
            break
        w = w + ((low * xi).T @ xi) * off
    return finish(w.astype(float)), not low_of(w).any()


def independent(x: np.ndarray) -> np.ndarray:
    """The rows of ``x`` that are not combinations of earlier ones."""
    kept: list[np.ndarray] = []
    for row in x:
        if np.linalg.matrix_rank(np.array([*kept, row])) > len(kept):
            kept.append(row)
    return np.array(kept)


def ideal(rule: str, x: np.ndarray, **options) -> np.ndarray:
    return get_rule(rule, **options).ideal(torch.tensor(x))[0].double().numpy()


# ------------------------------------------------------------------ 1. exact weights
@FEW
@given(st.integers(5, 20), st.data(), st.integers(0, 10_000))
def test_hebb_storkey_and_pinv_are_the_textbook_matrices(n, data, seed):
    p = data.draw(st.integers(1, n), label="P")
    x = signs(seed, p, n)
    for rule, ref in (("hebb", hebb), ("storkey", storkey), ("pinv", pinv)):
        w = ideal(rule, x)
        np.testing.assert_allclose(w, ref(x), atol=1e-5, err_msg=rule)
        assert np.abs(w).max() in (0.0, 1.0) and not np.diagonal(w).any(), rule


@FEW
@given(st.integers(5, 20), st.data(), st.integers(0, 10_000),
       st.sampled_from(["0", "1/2", "1", "2"]), st.integers(0, 30))
def test_perceptron_is_its_documented_sweeps_and_says_whether_it_reached_the_margin(
        n, data, seed, margin, epochs):
    """Against the sweeps in exact arithmetic. A stability exactly at the margin (a tie of
    integer sums: common for +-1 patterns of few neurons) was decided by the rounding of a
    float sum, either way; it reaches the margin, as ``>= margin`` says."""
    p = data.draw(st.integers(1, n), label="P")
    x = signs(seed, p, n)
    want, reached = perceptron(x, Fraction(margin), epochs)
    rule = get_rule("perceptron", margin=float(Fraction(margin)), max_epochs=epochs)
    w, _, converged = rule.solve(torch.tensor(x))
    np.testing.assert_allclose(w.double().numpy(), want, atol=1e-6)
    assert converged is reached
    assert rule.fit(Problem.of(torch.tensor(x, dtype=torch.float32))).converged.tolist() \
        == [reached]


@FEW
@given(st.integers(5, 16), st.data(), st.integers(0, 10_000), st.sampled_from([0.5, 1.0, 2.0]))
def test_perceptron_relabels_with_the_neurons(n, data, seed, margin):
    """Permuting the neurons permutes the perceptron's rows and columns alike (a tie at the
    margin no longer depends on the order of a sum)."""
    p = data.draw(st.integers(1, n), label="P")
    x = signs(seed, p, n)
    perm = np.random.default_rng(seed + 1).permutation(n)
    rule = get_rule("perceptron", margin=margin, max_epochs=20)
    w, _, conv = rule.solve(torch.tensor(x))
    moved, _, moved_conv = rule.solve(torch.tensor(x[:, perm]))
    torch.testing.assert_close(moved, w[perm][:, perm], atol=1e-6, rtol=0)
    assert moved_conv == conv


@FEW
@given(st.integers(5, 20), st.data(), st.integers(0, 10_000), st.sampled_from(RULES))
def test_symmetric_as_documented_no_bias_zero_diagonal(n, data, seed, rule):
    """Hebb, Storkey, the variant and the projection are symmetric; the perceptron learns each
    neuron's row alone and is not (its docstring says so); none has a bias or self-weight."""
    p = data.draw(st.integers(1, n), label="P")
    x = torch.tensor(signs(seed, p, n))
    w, b = get_rule(rule).ideal(x)
    assert not b.any() and not torch.diagonal(w).any() and get_rule(rule).bias is False
    if rule in SYMMETRIC:
        torch.testing.assert_close(w, w.T, atol=1e-6, rtol=0)


def test_the_perceptron_is_not_symmetric():
    x = signs(4, 12, 20)
    w = ideal("perceptron", x)
    assert np.abs(w - w.T).max() > 0.1
    assert "not symmetric" in " ".join(CLASSIC_RULES["perceptron"].__doc__.split())


@FEW
@given(st.integers(5, 20), st.data(), st.integers(0, 10_000))
def test_pinv_stores_independent_patterns_exactly(n, data, seed):
    """P <= N independent patterns: the projector maps each to itself, so without the
    diagonal ``d`` the field is ``(1 - d_i) x_i`` (times the scale): every pattern is a fixed
    point exactly when every ``d_i < 1`` (``d_i = 1``: the patterns span the unit vector
    ``e_i``, neuron ``i`` gets no field, as the docstring says; ``P = N``: ``W = 0``)."""
    p = data.draw(st.integers(1, n), label="P")
    x = independent(signs(seed, p, n))
    d = np.diagonal(projector(x))
    w = ideal("pinv", x)
    peak = np.abs(projector(x) - np.diag(d)).max()
    if peak > 1e-9:
        np.testing.assert_allclose(x @ w.T, (1 - d)[None, :] * x / peak, atol=1e-5)
    fit = get_rule("pinv").fit(Problem.of(torch.tensor(x, dtype=torch.float32)))
    assert fit.fixed_points.tolist() == [bool((d < 1 - 1e-9).all())]


@FEW
@given(st.integers(5, 16), st.integers(1, 6), st.integers(0, 10_000),
       st.sampled_from(["repeat", "negate", "average"]))
def test_pinv_of_dependent_or_repeated_patterns_is_the_projector_of_their_span(n, k, seed, how):
    """Repeated, negated (binary) and averaged (continuous) patterns add nothing to the span:
    the weights are those of the independent ones, finite (no NaN from the singular Gram
    matrix)."""
    rng = np.random.default_rng(seed)
    base = signs(seed, min(k, n), n)
    if how == "repeat":
        x = np.vstack([base, base[rng.integers(0, len(base), 3)]])
    elif how == "negate":
        x = np.vstack([base, -base[:1], base])
    else:
        base = rng.uniform(-1, 1, (min(k, n), n))
        x = np.vstack([base, rng.dirichlet(np.ones(len(base)), 4) @ base])
    w = ideal("pinv", x)
    assert np.isfinite(w).all()
    np.testing.assert_allclose(w, pinv(base), atol=1e-5)
    np.testing.assert_allclose(w, ideal("pinv", base), atol=1e-5)


# ------------------------------------------------------------------ 2. known capacities
def _recall(rule: str, p: int, n: int, seed: int) -> tuple[float, float]:
    """(mean cosine from 5%-flipped cues, share of stored patterns that are fixed points)."""
    x = signs(seed, p, n)
    memory = xm.train(x, chip="ideal", rule=rule)
    score = xm.evaluate_memory(memory, x, xm.Protocol(level=0.05, probes=5, seed=seed))
    fixed = memory.recall(x, max_iterations=1).states.numpy() == x
    return score.cosine, float(fixed.all(axis=1).mean())


def test_hebb_recalls_well_below_0_14_n_and_fails_well_above():
    """N = 100: at P = 5 (0.05 N) every stored pattern is a fixed point and recalled from
    5% flips; at P = 40 (0.4 N, three times 0.138 N) recall is lost (measured: cosine
    0.42-0.50 over these seeds; fixed points at most 5%)."""
    for seed in range(4):
        cosine, fixed = _recall("hebb", 5, 100, seed)
        assert cosine > 0.99 and fixed == 1.0
        cosine, fixed = _recall("hebb", 40, 100, seed)
        assert cosine < 0.7 and fixed < 0.2


def test_pinv_keeps_patterns_fixed_up_to_n_where_hebb_does_not():
    """N = 100, P = 90: every pattern a fixed point of the projection rule, almost none of
    Hebb's; P = N = 100 random patterns span everything: no weight at all."""
    for seed in range(3):
        assert _recall("pinv", 90, 100, seed)[1] == 1.0
        assert _recall("hebb", 90, 100, seed)[1] < 0.2
    full = signs(0, 100, 100)
    assert np.linalg.matrix_rank(full) == 100 and not ideal("pinv", full).any()


def test_perceptron_reaches_margin_one_below_gardner_and_never_above():
    """Gardner's bound at margin 1 is about 0.52 N: at N = 100 the perceptron reaches its
    margin with P = 20 and cannot with P = 80 (converged False at its sweep cap)."""
    for seed in range(3):
        for p, reached in ((20, True), (80, False)):
            x = torch.tensor(signs(seed, p, 100), dtype=torch.float32)
            fit = get_rule("perceptron", max_epochs=300).fit(Problem.of(x))
            assert fit.converged.tolist() == [reached]


# ------------------------------------------------------------------ 3. on a chip
def _chips():
    rram = xm.load_preset("rram")
    return {"device faults": xm.load_preset("ideal").with_faults(0.3),
            "weight faults": xm.load_preset("paper-sim").with_faults(0.3),
            "rram": rram.with_faults(0.3),
            "levels": rram.with_faults(0.3).replace_device(levels=4)}


@pytest.mark.parametrize("rule", RULES)
def test_every_classic_rule_is_scaled_to_the_window_and_programmed_as_any_target(rule):
    """Each rule's target is its ideal matrix times the crossbar's ``w_max`` (max|W| = 1 ->
    the full window: one scaling for every classic rule), then programmed as any rule's
    weights are (``memory.program`` of that target: the same conductances, write error and
    level rounding included). Without noise or levels: the target clipped into each pair's
    realisable interval (device faults; the diagonal to the value closest to 0), or 0 at a
    faulty weight (weight faults)."""
    x = signs(1, 4, 12)
    want = ideal(rule, x)
    for name, chip in _chips().items():
        memory = xm.train(x, chip=chip, rule=rule, fault_seed=5, program_seed=2)
        target = memory.targets[0][0].double().numpy()
        w_max = chip.array.weight_range
        np.testing.assert_allclose(target, want * w_max, atol=1e-6, err_msg=name)
        again = SingleLayerMemory(12, chip, memory.faults, bias=False)
        again.program(torch.tensor(want * w_max, dtype=torch.float32), seed=2)
        for a, b in zip(memory.layers, again.layers, strict=True):
            assert np.array_equal(a.g_pos, b.g_pos) and np.array_equal(a.g_neg, b.g_neg), name
        held = memory.programmed_parameters()[0][0].double().numpy()
        lo, hi = (t.double().numpy() for t in again.bounds()[0])
        if name == "device faults":
            np.testing.assert_allclose(held, np.clip(want * w_max, lo, hi), atol=1e-6)
            assert (held != want * w_max).any()  # some stuck pairs did clip
        elif name == "weight faults":
            faulty = lo == hi
            assert faulty.any() and not held[faulty].any()
            np.testing.assert_allclose(held[~faulty], (want * w_max)[~faulty], atol=1e-6)


@pytest.mark.parametrize("rule", ["hebb", "pinv"])
def test_a_classic_rule_on_a_memory_with_a_bias_row_programs_a_zero_bias(rule):
    """The classic rules learn no bias: on a memory built with a bias row, the bias is
    programmed as 0 (its realisable value closest to 0 where devices are stuck), as a
    zero-bias target of any rule would be."""
    x = signs(6, 3, 12)
    chip = xm.load_preset("ideal").with_faults(0.4)
    memory = SingleLayerMemory(12, chip, fault_seed=1, bias=True)
    fit_memories(get_rule(rule), x, [memory])
    lo, hi = (t.double().numpy()[:, -1] for t in memory.bounds()[0])
    held = memory.programmed_parameters()[0][1].double().numpy()
    np.testing.assert_allclose(held, np.clip(0.0, lo, hi), atol=1e-6)
    assert (lo > 0).any() or (hi < 0).any()  # a stuck bias pair the zero cannot reach


def test_compare_rules_is_train_and_evaluate_with_the_chip_s_seeds():
    """``compare_rules`` chip ``c``: faults from ``fault_seed + c``, programming from
    ``program_seed + c``, cues from ``protocol.seed + c``: the numbers of ``train`` and
    ``evaluate_memory`` with those seeds, for every classic rule."""
    x = signs(2, 5, 16)
    chip = xm.load_preset("rram").with_faults(0.3)
    protocol = xm.Protocol(level=0.1, probes=4, seed=7)
    compared = xm.compare_rules(x, chip, RULES, trials=2, fault_seed=3, program_seed=4,
                                protocol=protocol)
    for rule in RULES:
        for c in range(2):
            memory = xm.train(x, chip=chip, rule=rule, fault_seed=3 + c, program_seed=4 + c)
            score = xm.evaluate_memory(memory, x, protocol.reseeded(c))
            assert compared["rules"][rule]["chips"][c]["cosine"] == score.cosine, (rule, c)


@pytest.mark.parametrize(("rule", "options"), [
    ("hebb", []), ("storkey", []), ("storkey-variant", ["self_field=true"]),
    ("perceptron", ["margin=0.5"])])
def test_capacity_command_is_find_capacity_for_every_classic_rule(run_cli, rule, options):
    """``xbarmem capacity --rule RULE`` on a faulty rram chip gives ``find_capacity``'s
    points for the same seed, chip and options (pinv: tests/test_cli_api_seeds.py)."""
    given = [a for o in options for a in ("--rule-option", o)]
    code, out, err = run_cli("capacity", "--data", "digits", "--rule", rule, *given,
                             "--chip", "rram", "--faults", "0.3", "--trials", "2",
                             "--probes", "3", "--threshold", "0.95", "--seed", "3", "--json")
    assert code == 0, err
    cli = [(p["count"], p["cosine"]) for p in json.loads(out)["results"][0]["points"]]
    opts = {k: json.loads(v) for k, v in (o.split("=") for o in options)}
    found = xm.find_capacity(xm.load_patterns("digits", side=8),
                             chip=xm.load_preset("rram").with_faults(0.3), rule=rule,
                             rule_options=opts, thresholds=(0.95,), trials=2, seed=3,
                             protocol=xm.Protocol(level=0.05, probes=3, seed=3))
    assert [(p["count"], p["cosine"]) for p in found.points] == cli


# ------------------------------------------------------------------ 4. degenerate inputs
@pytest.mark.parametrize("rule", RULES)
def test_one_pattern_or_copies_of_it_give_every_rule_the_sign_matrix(rule):
    """P = 1, and P copies of one pattern (or of it and its negative): every rule's weights
    are ``x_i x_j`` off the diagonal, the pattern a fixed point; nothing NaN."""
    x = signs(3, 1, 10)
    want = finish(np.outer(x[0], x[0]))
    for patterns in (x, np.repeat(x, 4, axis=0), np.vstack([x, -x, x])):
        fit = get_rule(rule).fit(Problem.of(torch.tensor(patterns, dtype=torch.float32)))
        np.testing.assert_allclose(fit.weights[0][0].double().numpy(), want, atol=1e-6)
        assert fit.fixed_points.tolist() == [True] and fit.converged.tolist() == [True]


@pytest.mark.parametrize("rule", RULES)
def test_zero_patterns_store_nothing_and_change_nothing(rule):
    """Continuous patterns may be all zero: alone they give ``W = 0``; beside others they
    leave the weights (and the perceptron's verdict) as without them; never NaN."""
    rng = np.random.default_rng(4)
    x = np.sign(rng.uniform(-1, 1, (3, 12))) * rng.uniform(0.5, 1, (3, 12))
    with_zero = np.vstack([x[:2], np.zeros((1, 12)), x[2:]])
    assert not ideal(rule, np.zeros((2, 12))).any()
    options = {"margin": 0.5} if rule == "perceptron" else {}
    a, b = (get_rule(rule, **options).solve(torch.tensor(m)) for m in (x, with_zero))
    np.testing.assert_allclose(b[0].numpy(), a[0].numpy(), atol=1e-6)
    assert b[2] == a[2] and torch.isfinite(b[0]).all()


def test_binary_only_rules_say_what_they_do_with_continuous_patterns():
    """Storkey's rule and the perceptron are defined for +-1 patterns. Given continuous ones
    (kind="continuous") they run their formula on the values, as documented; the perceptron's
    stability is at most ``|x_i| sqrt(N)``, so a pattern with a value below ``margin /
    sqrt(N)`` in magnitude never reaches the margin: converged False at the cap."""
    x = np.random.default_rng(5).uniform(-1, 1, (3, 16))
    x[0, 0] = 0.1  # 0.1 * sqrt(16) = 0.4 < margin 1
    fit = get_rule("perceptron", max_epochs=50).fit(
        Problem.of(torch.tensor(x, dtype=torch.float32), kind="continuous"))
    assert fit.converged.tolist() == [False] and torch.isfinite(fit.weights[0]).all()
    np.testing.assert_allclose(ideal("storkey", x), storkey(x), atol=1e-5)
    for rule in ("storkey", "perceptron"):
        assert "continuous" in CLASSIC_RULES[rule].__doc__, rule
    with pytest.raises(xm.PatternError, match="binary"):
        xm.train(x, chip="ideal", rule="perceptron")  # binary by default: refused, one line
