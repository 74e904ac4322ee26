"""xbarmem's numbers against independent oracles: a few lines of NumPy each, written from the
textbook definitions and the documentation (guide.md, chip-model.md, the energy model's
docstring), never from xbarmem's code. Every test would fail if the computation it checks
were wrong: the rules' weights, the programming of differential pairs, the recall dynamics,
the corruptions and scores, the capacity search, the power-law fit, the energy model and the
export's conductances.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

import xbarmem as xm
from xbarmem.deploy.export import export_memory
from xbarmem.energy.measure import energy_report, measure_memory
from xbarmem.evaluation.capacity import search_capacity
from xbarmem.hardware.chip import ArraySpec, ChipSpec, DeviceSpec
from xbarmem.learning.classic import get_rule

FAST = settings(max_examples=12, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
EPS32 = float(np.finfo(np.float32).eps)
G_MIN, G_MAX, W_MAX = 2e-6, 150e-6, 0.5


# --- oracles -------------------------------------------------------------------------------

def _finish(w):
    """Zero diagonal, scaled to max|W| = 1 (guide: every classic rule)."""
    w = w.copy()
    np.fill_diagonal(w, 0.0)
    peak = np.abs(w).max()
    return w / peak if peak > 0 else w


def _hebb(x):
    return _finish(x.T @ x / x.shape[1])


def _storkey(x):
    """Storkey (1997): w_ij += (xi_i xi_j - xi_i h_ji - h_ij xi_j) / N, with the local field
    h_ij = sum_{k != i, j} w_ik xi_k; no self-connections."""
    n = x.shape[1]
    w = np.zeros((n, n))
    for xi in x:
        h = np.array([[sum(w[i, k] * xi[k] for k in range(n) if k not in (i, j))
                       for j in range(n)] for i in range(n)])
        w = w + (np.outer(xi, xi) - xi[:, None] * h.T - h * xi[None, :]) / n
        np.fill_diagonal(w, 0.0)
    return _finish(w)


def _storkey_variant(x):
    """He et al.'s scripts: per pattern W += e e^T / N, e = xi - W xi (diagonal zeroed)."""
    n = x.shape[1]
    w = np.zeros((n, n))
    for xi in x:
        e = xi - w @ xi
        w = w + np.outer(e, e) / n
        np.fill_diagonal(w, 0.0)
    return _finish(w)


def _pinv(x):
    """Projection X^T (X X^T)^+ X; patterns spanning all N dimensions give the identity, all
    zero once the diagonal is removed (documented)."""
    if np.linalg.matrix_rank(x) == x.shape[1]:
        return np.zeros((x.shape[1], x.shape[1]))
    return _finish(x.T @ np.linalg.pinv(x @ x.T) @ x)


def _perceptron(x, margin=1.0, max_epochs=2000):
    """Batch perceptron from Hebb's matrix on the normalised stability (an all-zero row has
    stability 0)."""
    p, n = x.shape
    w = x.T @ x / n
    np.fill_diagonal(w, 0.0)
    for epoch in range(max_epochs + 1):
        norms = np.linalg.norm(w, axis=1)
        fields = x @ w.T
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = norms * np.linalg.norm(x, axis=1)[:, None] / np.sqrt(n)
            stab = np.where(norms > 0, x * fields / scale, 0.0)
        low = stab < margin - 1e-9
        if not low.any() or epoch == max_epochs:
            break
        w = w + (low * x).T @ x / n
        np.fill_diagonal(w, 0.0)
    return _finish(w)


ORACLES = {"hebb": _hebb, "storkey": _storkey, "storkey-variant": _storkey_variant,
           "pinv": _pinv, "perceptron": _perceptron}


def _patterns(seed, n, p, kind="binary", duplicate=False):
    rng = np.random.default_rng(seed)
    x = np.sign(rng.standard_normal((p, n))) if kind == "binary" else rng.uniform(-1, 1, (p, n))
    if duplicate and p > 1:
        x[-1] = x[0]
    return x


def _tie(w):
    """Documented tie tolerance of a field: 2 eps sqrt(R) sum_j |w_ij|."""
    return 2 * EPS32 * np.sqrt(w.shape[1]) * np.abs(w).sum(axis=1)


def _sign_step(w, s):
    """sign of the field; a field within the tie tolerance keeps the state's sign (0 -> +1)."""
    field = w @ s
    return np.where(np.abs(field) <= _tie(w), np.where(s >= 0, 1.0, -1.0), np.sign(field))


def _sync_sign(w, s, cap):
    """(state, iterations, converged, cycled): fixed point, 2-cycle or cap (guide)."""
    prev = None
    for it in range(1, cap + 1):
        new = _sign_step(w, s)
        if np.array_equal(new, s):
            return new, it, True, False
        if prev is not None and np.array_equal(new, prev):
            return new, it, False, True
        prev, s = s, new
    return s, cap, False, False


def _sync_tanh(w, s, cap, tol):
    """(state, iterations, converged, near): converged once no state changes by more than
    ``tol`` in a step; ``near``: some step's change was within float32 rounding of ``tol``."""
    near = False
    for it in range(1, cap + 1):
        new = np.tanh(w @ s)
        change = np.abs(new - s).max()
        near = near or abs(change - tol) < 1e-5
        if change <= tol:
            return new, it, True, near
        s = new
    return s, cap, False, near


def _chip(levels=0, stuck=0.0, rows=64):
    return ChipSpec(device=DeviceSpec(g_min=G_MIN, g_max=G_MAX, levels=levels, write_noise=0.0,
                                      read_noise=0.0, p_stuck_on=stuck / 2, p_stuck_off=stuck / 2),
                    array=ArraySpec(rows=rows, cols=rows, weight_range=W_MAX, read_voltage=0.2,
                                    fault_model="device"), name="oracle")


def _program(w, g_stuck, levels):
    """chip-model.md: the realisable interval of each pair, the weight clipped into it, a free
    pair with one device at g_min and the other carrying |w|, a free device beside a stuck one
    compensating for it, free devices rounded to the levels. -> (lo, hi, G+, G-)."""
    k = W_MAX / (G_MAX - G_MIN)
    sp, sn = g_stuck
    fp, fn = np.isnan(sp), np.isnan(sn)
    lo = np.select([fp & fn, fp, fn], [-W_MAX, (G_MIN - sn) * k, (sp - G_MAX) * k], (sp - sn) * k)
    hi = np.select([fp & fn, fp, fn], [W_MAX, (G_MAX - sn) * k, (sp - G_MIN) * k], (sp - sn) * k)
    w = np.clip(w, lo, hi)
    gp = np.select([fp & fn, fp], [G_MIN + np.maximum(w, 0) / k, sn + w / k], sp)
    gn = np.select([fp & fn, fn], [G_MIN + np.maximum(-w, 0) / k, sp - w / k], sn)
    if levels:
        step = (G_MAX - G_MIN) / (levels - 1)
        gp = np.where(fp, G_MIN + np.round((gp - G_MIN) / step) * step, gp)
        gn = np.where(fn, G_MIN + np.round((gn - G_MIN) / step) * step, gn)
    return lo, hi, gp, gn


# --- 1. rules and programming ---------------------------------------------------------------

@pytest.mark.parametrize("rule", sorted(ORACLES))
@FAST
@given(seed=st.integers(0, 2**16), n=st.integers(5, 12), extra=st.integers(-4, 3),
       continuous=st.booleans(), duplicate=st.booleans())
def test_classic_rule_weights_are_the_textbook_ones(rule, seed, n, extra, continuous, duplicate):
    kind = "continuous" if continuous and rule not in ("storkey", "perceptron") else "binary"
    x = _patterns(seed, n, max(1, n + extra), kind, duplicate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = get_rule(rule).ideal(torch.tensor(x, dtype=torch.float32))[0].double().numpy()
    np.testing.assert_allclose(got, ORACLES[rule](x), atol=2e-6)


@FAST
@given(seed=st.integers(0, 2**16), n=st.integers(5, 12), p=st.integers(1, 14),
       levels=st.sampled_from([0, 2, 3, 5]), stuck=st.sampled_from([0.0, 0.3, 0.6]),
       rule=st.sampled_from(["hebb", "pinv", "storkey-variant"]))
def test_programmed_pairs_follow_the_chip_model(seed, n, p, levels, stuck, rule):
    x = _patterns(seed, n, p)
    memory = xm.train(x, chip=_chip(levels, stuck), rule=rule, fault_seed=seed)
    crossbar = memory.crossbar
    target = ORACLES[rule](x) * W_MAX
    lo, hi, gp, gn = _program(target, np.asarray(crossbar.g_stuck, dtype=np.float64), levels)
    blo, bhi = (b.double().numpy() for b in memory.bounds()[0])
    np.testing.assert_allclose(blo, lo, atol=1e-12)
    np.testing.assert_allclose(bhi, hi, atol=1e-12)
    planes = crossbar.planes()
    # a target exactly half-way between two levels may round either way in float32
    half = np.zeros_like(target, dtype=bool)
    if levels:
        steps = (np.clip(target, lo, hi) / (W_MAX / (levels - 1))) % 1.0
        half = np.abs(steps - 0.5) < 1e-5
    for got, want in ((planes[0], gp), (planes[1], gn)):
        np.testing.assert_allclose(got[~half], want[~half], atol=1e-5 * (G_MAX - G_MIN))
    weights = W_MAX * (planes[0] - planes[1]) / (G_MAX - G_MIN)
    np.testing.assert_allclose(memory.weights.double().numpy(), weights, atol=1e-6)


# --- 2. recall dynamics ---------------------------------------------------------------------

@FAST
@given(seed=st.integers(0, 2**16), n=st.integers(5, 14), p=st.integers(1, 16),
       rule=st.sampled_from(["hebb", "storkey-variant", "pinv"]), cap=st.integers(1, 12),
       chip=st.sampled_from([(0, 0.0), (3, 0.3), (2, 0.6)]))
def test_sync_sign_recall_is_the_hand_loop(seed, n, p, rule, cap, chip):
    """Through the weights the devices hold: with and without stuck devices and levels."""
    x = _patterns(seed, n, p)
    memory = xm.train(x, chip=_chip(*chip), rule=rule, fault_seed=seed)
    w = memory.weights.double().numpy()
    cues = np.sign(np.random.default_rng(seed + 1).standard_normal((5, n)))
    cues[0, :2] = 0.0  # unknown entries: read as +1 where the field ties
    res = memory.recall(cues, mode="sync", max_iterations=cap)
    for b, cue in enumerate(cues):
        state, it, conv, cyc = _sync_sign(w, cue, cap)
        assert np.array_equal(res.states[b].numpy(), state)
        flags = (int(res.iterations[b]), bool(res.converged[b]), bool(res.cycled[b]))
        assert flags == (it, conv, cyc)


@FAST
@given(seed=st.integers(0, 2**16), n=st.integers(5, 14), p=st.integers(1, 6),
       tol=st.sampled_from([0.0, 1e-4, 1e-2, 0.2]), cap=st.integers(1, 30))
def test_sync_tanh_recall_is_the_hand_loop(seed, n, p, tol, cap):
    x = _patterns(seed, n, p, "continuous")
    memory = xm.train(x, chip="ideal", rule="pinv", kind="continuous")
    w = memory.weights.double().numpy()
    noise = 0.6 * np.random.default_rng(seed).standard_normal((2 * p, n))
    cues = np.clip(np.tile(x, (2, 1)) + noise, -1, 1)
    res = memory.recall(cues, activation="tanh", max_iterations=cap, tol=tol)
    for b, cue in enumerate(cues):
        state, it, conv, near = _sync_tanh(w, cue, cap, tol)
        if near:  # a change within float32 rounding of tol may stop either way
            continue
        assert (int(res.iterations[b]), bool(res.converged[b])) == (it, conv)
        np.testing.assert_allclose(res.states[b].numpy(), state, atol=1e-4)


@FAST
@given(seed=st.integers(0, 2**16), n=st.integers(5, 14), p=st.integers(1, 8))
def test_async_sign_recall_ends_on_fixed_points_and_descends_the_energy(seed, n, p):
    x = _patterns(seed, n, p)
    memory = xm.train(x, chip="ideal", rule="hebb")
    w = memory.weights.double().numpy()
    cues = np.sign(np.random.default_rng(seed).standard_normal((6, n)) + 0.1)
    res = memory.recall(cues, mode="async", max_iterations=50, seed=seed)
    for b, cue in enumerate(cues):
        state = res.states[b].double().numpy()
        assert bool(res.converged[b])  # symmetric, zero diagonal: async sign always settles
        assert np.array_equal(_sign_step(w, state), state)
        assert -state @ w @ state <= -cue @ w @ cue + 1e-6
        assert int(res.reads[b]) == int(res.iterations[b]) * n


# --- 3. corruption and scores ---------------------------------------------------------------

@pytest.mark.parametrize("rate", [0.05, 0.25])
def test_flips_are_independent_per_bit(rate):
    """Bernoulli(rate) per entry (documented), not exactly round(rate N) bits per cue."""
    n, b = 32, 4000
    flipped = (xm.flip_bits(np.ones((b, n)), rate, 3).numpy() < 0).sum(axis=1)
    assert abs(flipped.mean() - rate * n) < 4 * np.sqrt(rate * (1 - rate) * n / b)
    assert flipped.var() == pytest.approx(n * rate * (1 - rate), rel=0.1)


def test_gaussian_cues_have_the_documented_sigma_and_flip_probability():
    noise = xm.gaussian_noise(np.zeros((2000, 32)), 0.6, 1, clip=False).numpy().ravel()
    assert stats.kstest(noise / 0.6, "norm").pvalue > 1e-3
    clipped = xm.gaussian_noise(np.full((200, 32), 0.5), 0.6, 1).numpy()
    assert clipped.min() >= -1.0 and clipped.max() <= 1.0
    flips = (xm.corrupt(np.ones((2000, 32)), "gaussian", 0.6, 2).numpy() < 0).mean()
    assert flips == pytest.approx(stats.norm.cdf(-1 / 0.6), abs=0.005)


@FAST
@given(seed=st.integers(0, 2**16), n=st.integers(6, 16), mode=st.sampled_from(["sync", "async"]))
def test_evaluate_scores_are_the_hand_metrics(seed, n, mode):
    p, probes = max(1, n // 4), 4
    x = _patterns(seed, n, p)
    memory = xm.train(x, chip="ideal", rule="pinv")
    protocol = xm.Protocol(level=0.15, probes=probes, seed=seed, mode=mode)
    score = xm.evaluate_memory(memory, x, protocol)
    states, cues = score.states.double().numpy(), score.cues.double().numpy()
    target = np.tile(x, (probes, 1))
    cos = (states * target).sum(1) / (np.linalg.norm(states, axis=1) * np.sqrt(n))
    wrong = (np.sign(states) != target).sum(1)
    assert score.cosine == pytest.approx(cos.mean(), abs=1e-9)
    assert score.cue_cosine == pytest.approx(((cues * target).sum(1) / n).mean(), abs=1e-9)
    assert score.hamming == pytest.approx(wrong.mean())
    assert score.exact == pytest.approx((wrong == 0).mean())
    np.testing.assert_allclose(score.per_pattern_cosine, cos.reshape(probes, p).mean(0), atol=1e-6)


# --- 4. capacity search ---------------------------------------------------------------------

def _rule_capacity(points, threshold):
    """guide.md: the largest tested count that passes with every smaller tested count."""
    capacity = 0
    for count in sorted(points):
        if not points[count] >= threshold:
            break
        capacity = count
    return capacity


def _check_search(curve, thresholds, start, resolution):
    tested = {}
    caps = search_capacity(lambda p: curve[p - 1], thresholds, start=start,
                           max_count=len(curve), resolution=resolution, cache=tested)
    for theta in thresholds:
        assert caps[theta] == _rule_capacity(tested, theta)
        above = [c for c in tested if c > caps[theta]]
        if caps[theta] < len(curve):  # the first tested count above fails, within resolution
            assert above and tested[min(above)] < theta
            assert min(above) - caps[theta] <= max(1, resolution * caps[theta])
    return caps


@pytest.mark.parametrize(("curve", "thresholds", "start", "resolution"), [
    ([1.0] * 14 + [0.0] * 14, (0.5, 0.9), 1, 0.25),  # a later threshold tests 14 (passes)
    ([1.0] * 26 + [0.997] + [0.954] * 6 + [0.5] * 20, (0.99, 0.995), 8, 0.25),  # the CLI's case
    ([1.0, 0.0] * 9, (0.5, 0.9), 9, 0.0),  # not monotone: a later threshold tests a failure
])
def test_every_threshold_reads_its_capacity_from_every_tested_count(curve, thresholds, start,
                                                                    resolution):
    _check_search(curve, thresholds, start, resolution)


@settings(max_examples=1000, deadline=None)
@given(values=st.lists(st.floats(0, 1), min_size=1, max_size=80), monotone=st.booleans(),
       thresholds=st.lists(st.sampled_from([0.5, 0.9, 0.95, 0.99, 1.0]), min_size=1,
                           max_size=3, unique=True),
       start=st.integers(1, 64), resolution=st.sampled_from([0.0, 0.05, 0.25]))
def test_capacity_search_follows_the_documented_rule(values, monotone, thresholds, start,
                                                     resolution):
    curve = sorted(values, reverse=True) if monotone else values
    caps = _check_search(curve, thresholds, start, resolution)
    if monotone and resolution == 0:  # exact: the true boundary of the whole curve
        for theta in thresholds:
            assert caps[theta] == sum(v >= theta for v in curve)


def test_find_capacity_points_are_the_recall_curve_and_the_capacity_their_rule():
    pool = xm.random_patterns(30, 12, seed=1)
    protocol = xm.Protocol(level=0.05, probes=4, seed=1)
    res = xm.find_capacity(pool, rule="pinv", chip="ideal", thresholds=(0.97, 0.99),
                           protocol=protocol, trials=1, seed=1)
    tested = {p["count"]: p["cosine"] for p in res.points}
    curve = xm.evaluation.curve.recall_curve(pool, sorted(tested), chip="ideal", rule="pinv",
                                             trials=1, protocol=protocol, seed=1)
    assert {p["count"]: p["cosine"] for p in curve["points"]} == tested
    assert res.capacity == {t: _rule_capacity(tested, t) for t in (0.97, 0.99)}


# --- 5. scaling fit -------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(16, 800), min_size=3, max_size=7, unique=True),
       exponent=st.floats(0.5, 1.8), scatter=st.lists(st.floats(0.7, 1.3), min_size=7, max_size=7))
def test_power_law_fit_is_scipys_least_squares_with_a_student_t_interval(sizes, exponent, scatter):
    n = np.array(sorted(sizes), dtype=float)
    c = np.maximum(1.0, np.round(0.1 * n ** exponent * np.array(scatter[: len(n)])))
    fit = xm.fit_power_law(n, c)
    if np.ptp(c) == 0:  # equal capacities: slope 0, an interval of zero width (guide.md)
        assert (fit.slope, fit.slope_low, fit.slope_high) == (0, 0, 0)
        return
    lr = stats.linregress(np.log(n), np.log(c))
    half = stats.t.ppf(0.975, len(n) - 2) * lr.stderr
    assert fit.slope == pytest.approx(lr.slope, abs=1e-9)
    assert fit.slope_low == pytest.approx(lr.slope - half, abs=1e-9)
    assert fit.slope_high == pytest.approx(lr.slope + half, abs=1e-9)
    assert fit.prefactor == pytest.approx(np.exp(lr.intercept), rel=1e-9)
    assert fit.r2 == pytest.approx(lr.rvalue ** 2, abs=1e-9)


# --- 6. energy and latency ------------------------------------------------------------------

# generic-rram's constants as its TOML file states them (J, s, bits)
K = dict(binary=0.05e-12, dac=0.5e-12, settle=1e-9, pulse=10e-9, comparator=0.05e-12,
         comparator_t=1e-9, adc=2e-12, adc_t=10e-9, bits=8, sign=0.01e-12, tanh=0.2e-12,
         neuron_t=1e-9, bit=0.1e-12, move_t=2e-9, step=1e-12, step_t=5e-9, select=0.2e-12,
         select_t=3e-9)


@pytest.mark.parametrize(("rows", "n", "kind"), [(64, 16, "binary"), (8, 12, "binary"),
                                                 (8, 12, "continuous")])
def test_energy_per_step_and_per_recall_are_the_documented_formulas(rows, n, kind):
    x = _patterns(0, n, 3, kind)
    memory = xm.train(x, chip=_chip(rows=rows), rule="pinv", kind=kind)
    target = np.tile(x, (3, 1))
    cues = xm.flip_bits(target, 0.2, 1) if kind == "binary" else xm.gaussian_noise(target, 0.3, 1)
    m = measure_memory(memory, cues, torch.tensor(target, dtype=torch.float32),
                       activation="sign" if kind == "binary" else "tanh")
    rep = energy_report(m, "generic-rram").as_dict()
    analog, tiles = kind != "binary", -(-n // rows)
    cells = 0.2 ** 2 * K["pulse"] * memory.crossbar.planes().sum()  # V^2 t sum(G+ + G-)
    sense = K["adc"] if analog else K["comparator"]
    neuron = K["tanh"] if analog else K["sign"]
    per_output = sense + neuron + (K["bits"] if analog else 1) * K["bit"]  # sensed, set, moved
    driver = K["dac"] if analog else K["binary"]
    sync_e = n * tiles * driver + cells + n * per_output + K["step"]
    async_e = n * driver + cells / n + per_output + K["step"] + K["select"]
    sync_t = K["settle"] + K["pulse"] + (K["adc_t"] if analog else K["comparator_t"]) \
        + K["neuron_t"] + K["move_t"] + K["step_t"]
    assert rep["sync"]["per_step"]["energy_J"] == pytest.approx(sync_e, rel=1e-6)
    assert rep["async"]["per_step"]["energy_J"] == pytest.approx(async_e, rel=1e-6)
    assert rep["sync"]["per_step"]["latency_s"] == pytest.approx(sync_t, rel=1e-9)
    assert rep["async"]["per_step"]["latency_s"] == pytest.approx(sync_t + K["select_t"], rel=1e-9)
    for mode, steps in (("sync", m.sync_steps), ("async", m.async_steps)):
        cost = np.asarray(steps, dtype=float) * rep[mode]["per_step"]["energy_J"]
        assert rep[mode]["energy_J"]["mean"] == pytest.approx(cost.mean(), rel=1e-9)
        assert rep[mode]["energy_J"]["std"] == pytest.approx(cost.std(), rel=1e-6, abs=1e-30)
    assert rep["ratios"]["energy_ratio"] == pytest.approx(
        rep["async"]["energy_J"]["mean"] / rep["sync"]["energy_J"]["mean"], rel=1e-9)
    assert np.isnan(np.asarray(memory.crossbar.g_stuck)).all()  # every device programmed:
    pulses = 2 * n * n * 10  # 10 write-verify pulses per device, each a write and a verify
    assert rep["programming"]["energy_J"] == pytest.approx(pulses * (10e-12 + 1e-12), rel=1e-9)
    assert rep["programming"]["time_s"] == pytest.approx(pulses * (100e-9 + 100e-9), rel=1e-9)


# --- 7. export ------------------------------------------------------------------------------

def test_exported_pairs_map_back_to_the_weights(tmp_path):
    x = _patterns(1, 12, 3)
    rram = xm.load_preset("rram")  # write error and stuck devices at g_min and g_max
    chip = dataclasses.replace(rram, device=dataclasses.replace(rram.device, p_stuck_on=0.15,
                                                                p_stuck_off=0.15))
    memory = xm.train(x, chip=chip, rule="hebb", fault_seed=1)
    export_memory(memory, tmp_path / "ex", patterns=x)
    folder = tmp_path / "ex"
    programmed, targets = np.load(folder / "programmed_S.npy"), np.load(folder / "targets_S.npy")
    stuck, used = np.load(folder / "stuck_S.npy"), np.load(folder / "used.npy").astype(bool)
    k, n = W_MAX / (G_MAX - G_MIN), 12
    # arrays are rows (inputs) x cols (outputs): the weight matrix is the transpose
    np.testing.assert_allclose(k * (programmed[0, 0, :n, :n] - programmed[0, 1, :n, :n]).T,
                               memory.weights.double().numpy(), atol=1e-6)
    lo, hi = (b.double().numpy() for b in memory.bounds()[0])
    np.testing.assert_allclose(k * (targets[0, 0, :n, :n] - targets[0, 1, :n, :n]).T,
                               np.clip(_hebb(x) * W_MAX, lo, hi), atol=1e-6)
    np.testing.assert_allclose(np.load(folder / "layer0_weights.npy"), _hebb(x) * W_MAX, atol=1e-6)
    held = ~np.isnan(stuck)
    assert held.any() and np.array_equal(programmed[held], stuck[held])
    free = used & ~held
    assert programmed[free].min() >= G_MIN and programmed[free].max() <= G_MAX
