"""Review of the numbers a reviewer reads: scaling fits, capacity read-outs, energy.

Every expected value here is computed independently of the product's helpers (SciPy's
``linregress`` and Student t, exact fractions, a brute-force reading of a curve, the cost
model's formulas written out by hand from its docstrings).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from scipy import stats

from xbarmem.energy.circuit import load_circuit
from xbarmem.energy.model import LayerLoad, step_cost
from xbarmem.errors import ConfigError
from xbarmem.evaluation.capacity import search_capacity
from xbarmem.evaluation.curve import capacity_from_curve
from xbarmem.evaluation.evaluate import Cues, score_recall
from xbarmem.evaluation.scaling import fit_power_law
from xbarmem.memory.recall import RecallResult

# ---------------------------------------------------------------- scaling fits


def _t_interval(n, c, confidence=0.95):
    """SciPy's least-squares slope of log c on log n and its Student-t interval."""
    res = stats.linregress(np.log(n), np.log(c))
    half = stats.t.ppf(0.5 + confidence / 2, len(n) - 2) * res.stderr
    return res, res.slope - half, res.slope + half


@pytest.mark.parametrize("sizes", [[16, 32, 64], [16, 36, 64, 144, 256, 400],
                                   [64, 16, 256, 36], [16, 16, 64, 64, 256, 256]])
def test_fit_is_scipys_t_interval(sizes):
    """Unsorted sizes and several trials at one size (repeated N) are fitted as SciPy fits them."""
    rng = np.random.default_rng(7)
    n = np.array(sizes, dtype=float)
    c = 0.3 * n ** 1.5 * rng.lognormal(0, 0.2, n.size)
    fit = fit_power_law(n, c)
    res, low, high = _t_interval(n, c)
    assert fit.slope == pytest.approx(res.slope, rel=1e-12)
    assert fit.prefactor == pytest.approx(math.exp(res.intercept), rel=1e-12)
    assert fit.r2 == pytest.approx(res.rvalue ** 2, rel=1e-12)
    assert (fit.slope_low, fit.slope_high) == pytest.approx((low, high), rel=1e-10)
    assert fit.points == n.size


@pytest.mark.parametrize(("sizes", "sigma"), [([16, 32, 64], 0.2), ([16, 36, 64, 144, 256], 0.3),
                                              ([16, 16, 16, 64, 64, 64, 256, 256, 256], 0.1)])
def test_fit_interval_covers_the_true_exponent_95_percent_of_the_time(sizes, sigma):
    """capacity = 0.3 N^1.5 x lognormal noise: over 1000 data sets the 95% interval holds 1.5
    in 92-98% of them (binomial sd 0.7%), not 60% or 100%."""
    rng = np.random.default_rng(11)
    n = np.array(sizes, dtype=float)
    hits = 0
    for _ in range(1000):
        fit = fit_power_law(n, 0.3 * n ** 1.5 * rng.lognormal(0, sigma, n.size))
        hits += fit.slope_low <= 1.5 <= fit.slope_high
    assert 0.92 <= hits / 1000 <= 0.98


def test_fit_edges():
    """Two sizes: a line with no interval (NaN bounds, not a zero-width one); equal
    capacities: slope 0, R^2 undefined; a zero, NaN or one size only: refused."""
    two = fit_power_law([16, 64], [4, 16])
    assert two.slope == pytest.approx(1.0) and math.isnan(two.slope_low)
    assert math.isnan(two.slope_high)
    flat = fit_power_law([16, 36, 64], [7, 7, 7])
    assert flat.slope == 0 and math.isnan(flat.r2)
    for sizes, caps in (([16, 36, 64], [0, 5, 9]), ([16, 36, 64], [math.nan, 5, 9]),
                        ([16, 16], [3, 4]), ([16], [3])):
        with pytest.raises(ConfigError):
            fit_power_law(sizes, caps)


# ---------------------------------------------------------------- capacity read-outs


def _states_at(n, flips, rng):
    """``len(flips)`` random +-1 targets of ``n`` bits and states with ``flips[i]`` bits of
    row i flipped."""
    target = torch.as_tensor(rng.choice([-1.0, 1.0], (len(flips), n)), dtype=torch.float32)
    states = target.clone()
    for i, d in enumerate(flips):
        states[i, :d] *= -1
    return target, states


def _score(target, states):
    """The product's score of recalls that ended in ``states`` (one probe per pattern)."""
    b = len(target)
    result = RecallResult(states=states, iterations=torch.ones(b, dtype=torch.int64),
                          reads=torch.ones(b, dtype=torch.int64),
                          converged=torch.ones(b, dtype=torch.bool),
                          cycled=torch.zeros(b, dtype=torch.bool), mode="sync", activation="sign")
    cues = Cues(target.clone(), target, 1, True, torch.Generator())
    return score_recall(cues, result).cosine


def _tie_flips(n, threshold, cues, rng):
    """Wrong bits per cue (``None``: spread evenly) whose exact mean cosine is ``threshold``."""
    wrong = Fraction(cues * n) * (1 - Fraction(str(threshold))) / 2  # total wrong bits
    assert wrong.denominator == 1
    if rng is None:
        flips = np.full(cues, int(wrong) // cues)
        flips[: int(wrong) % cues] += 1
        return flips
    return rng.multinomial(int(wrong), [1 / cues] * cues)


@pytest.mark.parametrize(("n", "threshold"), [(20, 0.9), (40, 0.95), (100, 0.9), (400, 0.95),
                                              (400, 0.99), (144, 0.9), (784, 0.95)])
def test_a_mean_cosine_exactly_at_the_threshold_passes(n, threshold):
    """Capacity is the largest P whose mean cosine is AT or above the threshold. Recalls whose
    exact mean cosine (fractions) equals it pass, and one more wrong bit fails. Before, each
    cosine was rounded to float32 (0.95 -> 0.949999988) and a tie failed at 0.9 / 0.95;
    float64 cosines alone still put means of unevenly spread wrong bits 1 ulp below."""
    rng = np.random.default_rng(n)
    for spread in [None] + [rng] * 12:
        flips = _tie_flips(n, threshold, 30, spread)
        target, states = _states_at(n, flips, rng)
        exact = Fraction(int(sum(n - 2 * d for d in flips)), 30 * n)
        assert exact == Fraction(str(threshold))
        tie = _score(target, states)
        assert tie == threshold
        assert capacity_from_curve([{"count": 3, "cosine": tie}], threshold) == 3, list(flips)
        assert search_capacity(lambda p, tie=tie: tie if p <= 3 else 0.0, [threshold],
                               start=2, max_count=8) == {threshold: 3}
        flips[0] += 1
        below = _score(*_states_at(n, flips, rng))
        assert capacity_from_curve([{"count": 3, "cosine": below}], threshold) == 0


def _brute_force(curve, threshold):
    """Capacity read off a full curve ``{P: cosine}`` by walking every P from 1."""
    cap = 0
    for p in sorted(curve):
        if curve[p] < threshold:
            break
        cap = p
    return cap


def test_search_finds_the_brute_force_capacity_of_monotone_curves():
    """On decreasing curves the search (resolution 0) gives what reading every count gives,
    for every threshold at once, including curves that never drop (the whole pool: the
    lower bound) and curves below the threshold at P = 1 (0)."""
    rng = np.random.default_rng(3)
    thresholds = [0.9, 0.95, 0.99]
    for _ in range(300):
        top = int(rng.integers(1, 80))
        drops = np.sort(rng.uniform(0, rng.choice([0.05, 0.3, 1.2]), top))
        curve = {p: float(1.0 - d) for p, d in zip(range(1, top + 1), drops, strict=True)}
        found = search_capacity(curve.__getitem__, thresholds,
                                start=int(rng.integers(1, top + 1)), max_count=top)
        assert found == {t: _brute_force(curve, t) for t in thresholds}


def test_search_on_non_monotone_curves_follows_its_rule():
    """Non-monotone curves: the capacity C passes, every tested count below it passes, and
    C + 1 was tested and fails (unless C is the whole pool). Before, a count another
    threshold had tested could fail below this threshold's bracket, and the capacity was read
    below it with the counts in between never tested (0.9: 2 reported, 3 untested)."""
    rng = np.random.default_rng(5)
    for _ in range(300):
        top = int(rng.integers(2, 60))
        curve = {p: float(v) for p, v in enumerate(rng.uniform(0.85, 1.0, top), start=1)}
        tested: dict[int, float] = {}
        found = search_capacity(curve.__getitem__, [0.9, 0.95], cache=tested,
                                start=int(rng.integers(1, top + 1)), max_count=top)
        for t, cap in found.items():
            assert all(v >= t for p, v in tested.items() if p <= cap)
            assert cap == top or (cap + 1 in tested and tested[cap + 1] < t)


@pytest.mark.parametrize(("kept", "max_count", "expected"), [
    ({500: 1.0}, 100, 100), ({60: 1.0}, 40, 40), ({0: 0.0}, 100, 100), ({-3: 0.0}, 100, 100),
    ({50: 0.0}, 100, 49)])
def test_a_shared_cache_is_read_within_the_pool_only(kept, max_count, expected):
    """search_capacity(cache=...) read every count of a cache shared with another search: one
    of a larger pool's (500 passing) made the capacity 500 of a pool of 100, and a count 0 or
    below that failed made it 0 on a curve where every count passes. Counts outside
    1..max_count are kept in the cache, not read; a count within it is (50 failing: 49)."""
    cache = dict(kept)
    found = search_capacity(lambda p: 1.0, [0.5], start=4, max_count=max_count, cache=cache)
    assert found == {0.5: expected}
    assert all(cache[p] == v for p, v in kept.items())  # (kept, as given)


# ---------------------------------------------------------------- energy model

def _hand_step(n, circuit, g_total, v_read, mode):
    """One step of a one-layer binary memory of N neurons with a bias row on 64 x 64 arrays,
    written out from :mod:`xbarmem.energy.model`'s table: (energy J, latency s)."""
    c = circuit
    rows, col_tiles = n + 1, math.ceil(n / 64)
    if mode == "sync":  # a full read: every row of every tile driven, all outputs sensed
        sensed, segments, conducting = n, rows * col_tiles, g_total
    else:  # one column: the rows of its tile driven, its cells conduct, one output sensed
        sensed, segments, conducting = 1, rows, g_total / n
    energy = (segments * c.drivers.binary_energy + v_read ** 2 * c.array.pulse_width * conducting
              + sensed * (c.sensing.comparator_energy + c.neuron.sign_energy
                          + c.movement.bit_energy) + c.control.step_energy)
    latency = (c.drivers.settle_latency + c.array.pulse_width + c.sensing.comparator_latency
               + c.neuron.latency + c.movement.latency + c.control.step_latency)
    if mode == "async":
        energy += c.control.select_energy
        latency += c.control.select_latency
    return energy, latency


@pytest.mark.parametrize("n", [16, 64, 100, 256, 1024])
@pytest.mark.parametrize("name", ["generic-rram", "paper-calibrated"])
def test_step_cost_is_the_documented_formula_in_joules_and_seconds(n, name):
    """Per-step energy (J) and latency (s) of sync and async recall against the formula, at
    N where the columns span 1, 2, 4 and 16 arrays; mean device conductance 13 uS."""
    circuit, v_read = load_circuit(name), 0.2
    g_total = 2 * n * (n + 1) * 13e-6
    layer = LayerLoad(n_out=n, n_rows=n + 1, row_tiles=math.ceil((n + 1) / 64),
                      col_tiles=math.ceil(n / 64), tile_cols=64, g_total=g_total,
                      devices=2 * n * (n + 1), free_devices=2 * n * (n + 1))
    for mode in ("sync", "async"):
        cost = step_cost([layer], circuit, v_read, mode)
        energy, latency = _hand_step(n, circuit, g_total, v_read, mode)
        assert cost.total_energy == pytest.approx(energy, rel=1e-12)
        assert cost.total_latency == pytest.approx(latency, rel=1e-12)


def test_a_fit_that_leaves_out_a_size_of_capacity_zero_says_so(capsys):
    """Capacity 0 at N = 16 (log 0): the fit is over the other sizes, and both the fit's
    JSON (``left_out``) and its printed line say which size it left out. Before, the line read
    as a fit of every size (``C ~ N^1.00 (95% CI 0.87..1.13), R^2 1.000``)."""
    from xbarmem.cli.capacity_output import print_scaling
    from xbarmem.evaluation.scaling import _fits

    sizes, caps = [16, 36, 64, 144], [0, 5, 9, 20]
    runs = [{"n_neurons": n, "lower_bound": [], "capacity": {"0.99": c},
             "settings": {"pool_distinct": 1000}} for n, c in zip(sizes, caps, strict=True)]
    fits = _fits(sizes, {0.99: caps}, runs)
    fit = fits["0.99"]
    assert fit["left_out"] == [16] and fit["points"] == 3
    assert fit["slope"] == pytest.approx(_t_interval(sizes[1:], caps[1:])[0].slope, rel=1e-12)
    print_scaling({"sizes": sizes, "capacity": {"0.99": caps}, "runs": runs, "fits": fits,
                   "files": {"png": "s.png", "json": "s.json"}}, "scaling")
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("threshold"))
    assert "N = 16 left out (capacity 0)" in " ".join(line.split())


@pytest.mark.parametrize("name", ["generic-rram", "paper-calibrated"])
def test_the_energy_gap_per_sweep_tends_to_a_ceiling_and_latency_grows_with_n(name):
    """An async sweep (N column reads) against a sync step (one full read): by the formula of
    :func:`_hand_step`, energy tends to ``(e_d + 2 V^2 tau g) / (e_d / 64 + 2 V^2 tau g)`` as
    N grows (row drivers shared by 64 columns of a tile, the cell energy the same per cell),
    latency grows in proportion to N. docs/reproduction.md (f) states this."""
    circuit, v_read, g = load_circuit(name), 0.2, 13.3e-6
    e_d = circuit.drivers.binary_energy
    cells = 2 * v_read ** 2 * circuit.array.pulse_width * g
    ceiling = (e_d + cells) / (e_d / 64 + cells)
    ratios = []
    for n in (64, 1024, 65536):
        layer = LayerLoad(n_out=n, n_rows=n + 1, row_tiles=math.ceil((n + 1) / 64),
                          col_tiles=math.ceil(n / 64), tile_cols=64, g_total=2 * n * (n + 1) * g,
                          devices=2 * n * (n + 1), free_devices=2 * n * (n + 1))
        sync, asyn = (step_cost([layer], circuit, v_read, m) for m in ("sync", "async"))
        ratios.append((n * asyn.total_energy / sync.total_energy,
                       n * asyn.total_latency / sync.total_latency / n))
    assert ratios[-1][0] == pytest.approx(ceiling, rel=2e-3)
    assert ratios[1][0] < 1.05 * ceiling
    assert ratios[0][1] == pytest.approx(ratios[-1][1], rel=1e-12)  # latency: N x a constant
    assert ceiling == pytest.approx({"generic-rram": 5.31, "paper-calibrated": 11.88}[name],
                                    abs=0.01)


def test_reproduce_s_scaling_exponent_names_the_sizes_of_capacity_0_it_leaves_out():
    """The report's exponent, like the scaling command's fit line, says which sizes its fit
    leaves out for a capacity of 0 (it fitted the others silently)."""
    from xbarmem.experiments.reproduce.scaling import Scaling

    caps = {16: 0.0, 36: 9.0, 64: 20.0, 100: 38.0}
    text = Scaling.slope(Scaling.fit(caps), caps)
    assert text.endswith(" (N = 16 left out: capacity 0)")
    assert float(text.split()[0]) > 1  # the exponent of the three positive sizes
    whole = {36: 9.0, 64: 20.0, 100: 38.0}
    assert "left out" not in Scaling.slope(Scaling.fit(whole), whole)
    assert Scaling.slope(None, {16: 0.0, 36: 0.0}) == "n/a (N = 16, 36 left out: capacity 0)"
