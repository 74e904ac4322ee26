"""Properties an engineer would state of each layer, checked (hypothesis) on inputs the fixed
cases elsewhere do not use: any N, any tile size (1x1, not dividing N, larger than N), any
level count and window, any image shape.

Learning: the classic rules are equivariant under a relabelling of the neurons and (Hebb, pinv)
invariant under a reordering of the patterns; the pseudo-inverse stores any linearly
independent patterns as fixed points. Recall: a fixed point is one for sync and async alike
(and for ``-x`` as for ``x``), a zero field keeps a state (all-zero cues stay), tanh states
stay in [-1, 1], a batch recalls as its cues one by one and as :func:`recall_batch`. Crossbar:
programming gives every weight to within half a level step, the same whatever the tiles,
seeded; without levels conductance differences scale with the weights. Corruption: an occluded
block covers ``fraction`` of any image, turned or not. Evaluation: the power-law fit recovers
exact power laws, capacity searches keep their monotone rule, hidden rules read back as they
are written, field margins ignore the scale and order of the neurons, two programming
variations of one seed perturb by one pattern. Energy: a larger circuit constant never makes a
step cheaper or faster. Files: a model (trained or programmed by hand) saved, loaded and saved
again gives the same bytes, an export reloaded and exported again the same folder; chip specs
survive TOML and JSON; energies, times and byte counts print with the prefix of their value.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
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
    reprogram,
    save_memory,
    train,
)
from xbarmem.cli.energy import _si as _si_text
from xbarmem.data.corruption import occlude_block
from xbarmem.data.patterns import as_pattern_set
from xbarmem.deploy.export import export_memory
from xbarmem.deploy.reload import load_export
from xbarmem.energy.circuit import load_circuit
from xbarmem.energy.measure import measure_memory
from xbarmem.energy.model import LayerLoad, programming_cost, step_cost
from xbarmem.evaluation.capacity import search_capacity
from xbarmem.evaluation.evaluate import Protocol, evaluate_memory, make_cues
from xbarmem.evaluation.hidden_rule import HiddenRule
from xbarmem.evaluation.metrics import field_margins
from xbarmem.evaluation.scaling import fit_power_law
from xbarmem.experiments.trial_options import HiddenWidth
from xbarmem.hardware.crossbar import Crossbar, arrays_needed
from xbarmem.learning.classic import get_rule
from xbarmem.limits import human
from xbarmem.memory.recall import FloatMatrix, recall, recall_batch

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
@given(st.sampled_from(["hebb", "storkey", "storkey-variant", "pinv", "perceptron"]),
       st.integers(0, 9999), st.integers(1, 6), st.integers(2, 14))
def test_classic_rules_relabel_with_the_neurons(rule, seed, p, n):
    """Permuting the neurons of every pattern permutes the rows and columns of ``W`` alike
    (the perceptron too, since a stability exactly at its margin reaches it whatever the
    rounding of its sum, which depends on the neurons' order)."""
    x = _patterns(seed, p, n)
    perm = np.random.default_rng(seed + 1).permutation(n)
    w, _ = get_rule(rule).ideal(torch.tensor(x))
    moved, _ = get_rule(rule).ideal(torch.tensor(x[:, perm]))
    torch.testing.assert_close(moved, w[perm][:, perm], atol=1e-5, rtol=1e-5)


@FEW
@given(st.sampled_from(["hebb", "pinv"]), st.integers(0, 9999), st.integers(1, 6),
       st.integers(2, 14))
def test_hebb_and_pinv_do_not_depend_on_the_order_of_the_patterns(rule, seed, p, n):
    x = _patterns(seed, p, n)
    perm = np.random.default_rng(seed + 1).permutation(p)
    w, _ = get_rule(rule).ideal(torch.tensor(x))
    torch.testing.assert_close(get_rule(rule).ideal(torch.tensor(x[perm]))[0], w,
                               atol=1e-5, rtol=1e-5)


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


# ------------------------------------------------------------------------- recall
@FEW
@given(st.integers(0, 9999), st.integers(1, 8), st.integers(2, 16),
       st.sampled_from(["hebb", "storkey", "storkey-variant", "pinv"]), st.booleans())
def test_sync_and_async_recall_agree_on_what_is_a_fixed_point(seed, p, n, rule, on_chip):
    """One sync step and one async sweep from each stored pattern and from random states:
    the same states stay put, and exactly those converge in that one step."""
    x = _patterns(seed, p, n)
    cues = np.concatenate([x, _patterns(seed + 1, 3, n)])
    if on_chip:
        memory = train(x, chip=ChipSpec(DeviceSpec(levels=16, p_stuck_on=0.1, p_stuck_off=0.1),
                                        ArraySpec(rows=5, cols=3)), rule=rule, fault_seed=seed)
        sync, asyn = (memory.recall(cues, mode=m, max_iterations=1) for m in ("sync", "async"))
    else:
        matrix = FloatMatrix(*get_rule(rule).ideal(torch.tensor(x)))
        sync, asyn = (recall(matrix, cues, mode=m, max_iterations=1) for m in ("sync", "async"))
    stays = [(r.states.numpy() == cues).all(axis=1) for r in (sync, asyn)]
    np.testing.assert_array_equal(stays[0], stays[1])
    np.testing.assert_array_equal(sync.converged.numpy(), stays[0])
    np.testing.assert_array_equal(asyn.converged.numpy(), stays[1])


@FEW
@given(st.integers(0, 9999), st.integers(1, 6), st.integers(2, 14),
       st.sampled_from(["sync", "async"]), st.floats(0.1, 100.0))
def test_a_zero_field_keeps_every_state_and_tanh_stays_in_the_unit_interval(seed, b, n, mode,
                                                                           scale):
    cues = _patterns(seed, b, n)
    kept = recall(FloatMatrix(np.zeros((n, n))), cues, mode=mode)
    np.testing.assert_array_equal(kept.states.numpy(), cues)
    assert kept.converged.all() and (kept.iterations == 1).all()
    rng = np.random.default_rng(seed)
    states = recall(FloatMatrix(rng.normal(size=(n, n)) * scale, rng.normal(size=n) * scale),
                    rng.uniform(-1, 1, (b, n)), mode=mode, activation="tanh",
                    max_iterations=10).states
    assert bool((states.abs() <= 1).all())


@FEW
@given(chips(), st.integers(3, 12), st.integers(1, 4), st.integers(0, 999),
       st.sampled_from(["sync", "async"]),
       st.sampled_from(["hebb", "pinv", "storkey", "storkey-variant", "perceptron"]))
def test_through_a_fault_free_chip_a_zero_cue_reads_plus_one_and_a_pattern_is_fixed_as_its_negative(
        chip, n, p, seed, mode, rule):
    """Classic rules (no bias) on a chip without faults or noise: an all-zero cue meets
    fields that are 0, where a sign neuron keeps its state's sign, 0 read as +1 (one
    synchronous step makes every neuron +1; recall ends in +-1 states either way); ``-x``
    stays put exactly when ``x`` does (the field is odd in the state)."""
    x = _patterns(seed, p, n)
    memory = train(x, chip=chip, rule=rule, fault_seed=seed)
    first = memory.recall(np.zeros((2, n)), mode="sync", max_iterations=1)
    assert (first.states == 1).all()
    assert (memory.recall(np.zeros((2, n)), mode=mode).states.abs() == 1).all()
    stays = [(memory.recall(c, mode=mode, max_iterations=1).states.numpy() == c).all(axis=1)
             for c in (x, -x)]
    np.testing.assert_array_equal(stays[0], stays[1])


@FEW
@given(st.integers(0, 9999), st.integers(1, 8), st.integers(2, 16),
       st.sampled_from(["sign", "tanh"]))
def test_a_batch_recalls_as_its_cues_one_by_one_and_as_recall_batch(seed, b, n, activation):
    """Sync recall of a symmetric network with a bias: the same states, steps, convergence and
    cycles for each cue alone (tanh: up to the rounding of a product of another batch size)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(n, n))
    w = (w + w.T) / 2
    np.fill_diagonal(w, 0)
    bias = rng.normal(size=n) * 0.1
    cues = _patterns(seed + 3, b, n)
    matrix = FloatMatrix(w, bias)
    whole = recall(matrix, cues, activation=activation, max_iterations=20)
    tol = 0.0 if activation == "sign" else 1e-5
    stacked = torch.cat([matrix.weights, matrix.bias[:, None]], dim=1)[None]
    batched = recall_batch(stacked, torch.tensor(cues, dtype=torch.float32),
                           torch.zeros(b, dtype=torch.int64), activation=activation,
                           max_iterations=20)
    others = [recall(matrix, cues[i:i + 1], activation=activation, max_iterations=20)
              for i in range(b)]
    for i, one in enumerate(others):
        torch.testing.assert_close(one.states[0], whole.states[i], rtol=0, atol=tol)
    torch.testing.assert_close(batched.states, whole.states, rtol=0, atol=tol)
    if activation == "sign":
        for key in ("iterations", "converged", "cycled"):
            expected = getattr(whole, key)
            assert torch.equal(torch.cat([getattr(o, key) for o in others]), expected), key
            assert torch.equal(getattr(batched, key), expected), key


# ------------------------------------------------------------------------- crossbar
@FEW
@given(chips(), st.integers(1, 17), st.integers(1, 17), st.booleans(), st.integers(0, 999),
       st.floats(0.1, 3.0))
def test_programming_gives_every_weight_to_within_half_a_level_step(chip, n_out, n_in, bias,
                                                                    seed, spread):
    """Fault-free, noise-free: each weight of ``[W | b]``, clipped to ``[-w_max, w_max]``,
    comes back within ``w_max / (levels - 1) / 2`` (continuous: float32 rounding), and the
    same call writes the same conductances."""
    xb = _crossbar(chip, n_out, n_in, seed, bias)
    wr = chip.array.weight_range
    w, b = _weights(seed, n_out, n_in, wr * spread)
    b = b if bias else None
    xb.program(w, b)
    held = torch.cat([xb.effective()[0], xb.effective()[1][:, None]], 1) if bias \
        else xb.effective()[0]
    wanted = xb.augment(w, b).double().clamp(-wr, wr)
    levels = chip.device.levels
    half = wr / (levels - 1) / 2 if levels else 0.0
    assert float((held.double() - wanted).abs().max()) <= half + 1e-5 * wr
    planes = xb.planes().copy()
    np.testing.assert_array_equal(xb.program(w, b).planes(), planes)


@FEW
@given(chips(faults=False), st.integers(1, 12), st.integers(1, 12), st.integers(0, 999))
def test_the_tiles_change_neither_the_weights_nor_the_product(chip, n_out, n_in, seed):
    """1x1 tiles, one tile of exactly the matrix, 64x64 tiles larger than it and the chip's
    own: bit-identical weights and products."""
    w, b = _weights(seed, n_out, n_in, chip.array.weight_range)
    x = torch.rand(4, n_in, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    got = []
    for rows, cols in ((1, 1), (n_in + 1, n_out), (64, 64), (chip.array.rows, chip.array.cols)):
        xb = _crossbar(chip.replace_array(rows=rows, cols=cols), n_out, n_in, seed).program(w, b)
        got.append((xb.effective()[0], xb.matvec(x)))
    for weights, product in got[1:]:
        assert torch.equal(weights, got[0][0]) and torch.equal(product, got[0][1])


@FEW
@given(chips(), st.integers(1, 9), st.integers(1, 9), st.integers(0, 999), st.floats(0.01, 1.0))
def test_without_levels_conductance_differences_scale_with_the_weights(chip, n_out, n_in, seed,
                                                                       factor):
    chip = chip.replace_device(levels=0)
    w, _ = _weights(seed, n_out, n_in, chip.array.weight_range)
    a, b = (_crossbar(chip, n_out, n_in, seed).program(v).planes() for v in (w, w * factor))
    np.testing.assert_allclose(b[0] - b[1], factor * (a[0] - a[1]), rtol=1e-5,
                               atol=1e-6 * chip.device.g_range)


@FEW
@given(chips(faults=True, noise=True), st.integers(1, 9), st.integers(1, 9), st.integers(0, 999))
def test_a_seed_reproduces_the_write_error_and_a_generator_the_read_noise(chip, n_out, n_in,
                                                                         seed):
    w, _ = _weights(seed, n_out, n_in, chip.array.weight_range)
    x = torch.rand(3, n_in, generator=torch.Generator().manual_seed(seed)) * 2 - 1
    xbs = [_crossbar(chip, n_out, n_in, seed).program(w, seed=s) for s in (seed, seed, seed + 1)]
    np.testing.assert_array_equal(xbs[0].planes(), xbs[1].planes())
    if chip.device.write_noise > 0 and (~xbs[0].stuck).any():
        assert not np.array_equal(xbs[0].planes(), xbs[2].planes())
    reads = [xbs[0].matvec(x, torch.Generator().manual_seed(1)) for _ in range(2)]
    assert torch.equal(reads[0], reads[1])


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


# ------------------------------------------------------------------------- evaluation
@MANY
@given(st.lists(st.integers(2, 5000), min_size=2, max_size=8, unique=True),
       st.floats(-2.0, 3.0), st.floats(1e-3, 1e3))
def test_the_power_law_fit_recovers_an_exact_power_law(sizes, slope, prefactor):
    capacities = [prefactor * n ** slope for n in sizes]
    fit = fit_power_law(sizes, capacities)
    assert fit.slope == pytest.approx(slope, rel=1e-6, abs=1e-9)
    assert fit.prefactor == pytest.approx(prefactor, rel=1e-6)
    if len(sizes) > 2:  # an exact fit: a zero-width interval
        assert fit.slope_low == pytest.approx(slope, abs=1e-6)
        assert fit.slope_high == pytest.approx(slope, abs=1e-6)
    np.testing.assert_allclose(fit.predict(sizes), capacities, rtol=1e-6)


@MANY
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40),
       st.lists(st.floats(0.01, 1.0), min_size=1, max_size=4, unique=True),
       st.integers(1, 40), st.sampled_from([0.0, 0.1, 0.5]))
def test_a_capacity_search_is_monotone_in_the_threshold_on_any_curve(curve, thresholds, start,
                                                                     resolution):
    """Any similarity curve, monotone or not: a higher threshold never gets a larger capacity,
    and every count tested at or below a capacity passed its threshold."""
    tested: dict[int, float] = {}
    found = search_capacity(lambda p: curve[p - 1], thresholds, start=start,
                            max_count=len(curve), resolution=resolution, cache=tested)
    ordered = sorted(found)
    assert all(found[a] >= found[b] for a, b in zip(ordered, ordered[1:], strict=False))
    for theta, capacity in found.items():
        assert all(s >= theta for p, s in tested.items() if p <= capacity)


@FEW
@given(chips(faults=True), st.integers(4, 12), st.integers(1, 4), st.integers(1, 3),
       st.floats(0.0, 0.5), st.sampled_from(["sync", "async"]), st.integers(0, 999))
def test_scores_are_the_fractions_and_means_they_are(chip, n, p, probes, level, mode, seed):
    """``exact``, ``hamming``, ``converged`` and ``mean_iterations`` of ``evaluate_memory``
    (and the recall quality of ``measure_memory``) are counts over cues divided in float64:
    ``evaluate --json`` printed ``hamming`` 3.6666667461395264 and ``mean_iterations``
    3.3333332538604736 for 11 and 10 over 3 cues (float32 means), where ``recall --json``
    prints its shares as the fractions they are."""
    x = _patterns(seed, p, n)
    memory = train(x, chip=chip, rule="hebb", fault_seed=seed)
    protocol = Protocol(level=level, probes=probes, mode=mode, seed=seed)
    score = evaluate_memory(memory, x, protocol)
    cues = len(score.states)
    target = torch.as_tensor(np.tile(x, (probes, 1)), dtype=torch.float32)
    wrong = (score.states != target).sum(dim=1)
    again = memory.recall(score.cues, mode=mode, seed=make_cues(as_pattern_set(x),
                                                                 protocol).generator)
    assert score.hamming == int(wrong.sum()) / cues
    assert score.exact == int((wrong == 0).sum()) / cues
    assert score.converged == int(again.converged.sum()) / cues
    assert score.mean_iterations == int(again.iterations.sum()) / cues
    measured = measure_memory(memory, score.cues, target, seed=seed)
    for r, quality in ((memory.recall(score.cues, mode=m, seed=seed), measured.info["quality"][m])
                       for m in ("sync", "async")):
        right = int((r.states == target).all(dim=1).sum())
        assert quality["exact"] == right / cues
        assert quality["converged"] == int(r.converged.sum()) / cues


@FEW
@given(st.integers(0, 999), st.integers(2, 12), st.integers(1, 5), st.floats(1e-3, 1e3),
       st.booleans())
def test_field_margins_do_not_depend_on_the_scale_or_the_order_of_the_neurons(seed, n, p, scale,
                                                                              bias):
    rng = np.random.default_rng(seed)
    w, b = rng.normal(size=(n, n)), rng.normal(size=n) if bias else None
    x = _patterns(seed, p, n)
    perm = rng.permutation(n)
    base = field_margins(w, b, x)
    for other in (field_margins(w * scale, None if b is None else b * scale, x),
                  field_margins(w[perm][:, perm], None if b is None else b[perm], x[:, perm])):
        assert other == pytest.approx(base, rel=1e-9, abs=1e-12)


@FEW
@given(st.integers(0, 99), st.integers(4, 10), st.floats(0.05, 1.0), st.floats(0.05, 1.0))
def test_two_variations_of_one_seed_perturb_by_the_same_pattern_scaled(seed, n, v1, v2):
    """On a continuous chip whose window holds every perturbed weight: ``W - targets`` at
    ``v2`` is ``v2 / v1`` times that at ``v1`` (common random numbers), the diagonal is never
    perturbed and the targets stay those trained."""
    chip = ChipSpec(DeviceSpec(levels=0), ArraySpec(rows=8, cols=8, weight_range=1000.0))
    memory = train(_patterns(seed, 2, n), chip=chip, rule="hebb")
    targets = memory.targets[0][0].clone()
    memory.program([targets / 1000.0], seed=seed)  # weights of 1e-3: far inside the window
    scaled = memory.targets[0][0]
    moved = [reprogram(memory, v, seed=seed).weights - scaled for v in (v1, v2)]
    torch.testing.assert_close(moved[1] * v1, moved[0] * v2, rtol=1e-4, atol=1e-6)
    assert not torch.diagonal(moved[0]).any()
    assert torch.equal(memory.targets[0][0], scaled)


@MANY
@given(st.one_of(st.builds(lambda h: HiddenRule("fixed", h), st.integers(1, 10**6)),
                 st.builds(lambda r: HiddenRule("ratio", r), st.floats(1e-6, 1e3))))
def test_a_hidden_rule_reads_back_as_it_is_written(rule):
    """``str()`` is what scaling results and their checkpoint key record and figures parse,
    and a sweep stores its ``hidden`` so: ``ratio:1.000001`` was written ``ratio:1`` (six
    digits), another rule read back, two scaling runs of nearby ratios shared one checkpoint
    key and output name, and a sweep's ``1.000001n`` trained ``1n``."""
    assert HiddenRule.parse(str(rule)) == rule
    assert float(rule.value_text) == rule.value
    word = f"{rule.value_text}{'n' if rule.kind == 'ratio' else ''}"
    stored = HiddenWidth().convert(word)  # a sweep's hidden: the same widths at every N
    assert HiddenRule.word(str(stored)) == rule == HiddenRule.word(word)


# ------------------------------------------------------------------------- energy
_CONSTANTS = [k for k, v in load_circuit("generic-rram").constants().items()
              if not isinstance(v, str)]


def _layer(n: int, rows: int, cols: int, outputs: str) -> LayerLoad:
    n_rows = n + 1
    return LayerLoad(n_out=n, n_rows=n_rows, row_tiles=math.ceil(n_rows / rows),
                     col_tiles=math.ceil(n / cols), tile_cols=cols, g_total=2e-6 * n * n_rows,
                     devices=2 * n * n_rows, free_devices=2 * n * n_rows,
                     inputs="binary" if outputs == "sign" else "analog", outputs=outputs)


@MANY
@given(st.sampled_from(_CONSTANTS), st.sampled_from(["generic-rram", "paper-calibrated"]),
       st.integers(2, 200), st.integers(1, 64), st.integers(1, 64),
       st.sampled_from(["sign", "tanh"]), st.sampled_from(["comparator", "adc"]),
       st.integers(2, 4))
def test_a_larger_circuit_constant_never_makes_anything_cheaper_or_faster(
        key, circuit, n, rows, cols, outputs, readout, factor):
    """Every component of a recall step's energy and latency, and of programming, grows or
    stays with every constant -- except programming's time, which more devices written in
    parallel shorten."""
    c = load_circuit(circuit).with_value("sensing.sign_readout", readout)
    value = c.get(key)
    bigger = c.with_value(key, type(value)(value * factor))
    layers = [_layer(n, rows, cols, outputs)] * 2
    for mode in ("sync", "async"):
        a, b = step_cost(layers, c, 0.2, mode), step_cost(layers, bigger, 0.2, mode)
        assert all(b.energy[k] >= a.energy[k] for k in a.energy), key
        assert all(b.latency[k] >= a.latency[k] for k in a.latency), key
    before, after = programming_cost(layers, c), programming_cost(layers, bigger)
    for k in before:
        if key == "programming.parallel_devices" and k.endswith("_s"):
            assert after[k] <= before[k], (key, k)
        else:
            assert after[k] >= before[k], (key, k)


_SI = {"f": 1e-15, "p": 1e-12, "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0}


@MANY
@given(st.one_of(st.floats(1e-15, 999.0), st.sampled_from([1e-12, 1e-9, 1e-6, 1e-3, 9.9996e-13,
                                                         999.96e-9, 0.99996e-3])),
       st.sampled_from(["J", "s"]), st.booleans())
def test_energies_and_times_print_with_the_prefix_of_their_rounded_value(value, unit, negative):
    """Four significant figures, read back to within half a unit of the last one, between 1
    and 1000 of the prefix (from fJ up): ``1e-6`` s printed ``1000 ns`` (``1e-9 * 1000`` is
    above ``1e-6`` in floating point) and 0.99996 pJ ``1000 fJ``."""
    value = -value if negative else value
    number, word = _si_text(value, unit).split(" ")
    factor = _SI[word[: -len(unit)]]
    assert 1 <= abs(float(number)) < 1000 and "e" not in number
    assert abs(float(number) * factor - value) <= 5e-4 * abs(value)


def test_a_value_that_is_not_a_number_takes_no_prefix():
    """``prefixed`` put a NaN below its smallest prefix (``nan fJ``: no rounded NaN is 1 or
    more); the printing it replaced wrote ``nan J``, as it writes infinities."""
    assert [_si_text(v, "J") for v in (math.nan, math.inf, -math.inf)] == [
        "nan J", "inf J", "-inf J"]
    assert human(math.nan) == "nan B"


@MANY
@given(st.one_of(st.integers(0, 2**60), st.sampled_from([1023 * 1024 + 1000, 1000 * 2**30,
                                                         2**20 - 1, 1024 ** 5 * 999.9])))
def test_byte_counts_print_with_the_binary_prefix_of_their_rounded_value(nbytes):
    """Whole bytes below 1 KiB, else three significant figures between 1 and 1024 of the
    prefix: 1000 GiB read ``1e+03 GiB`` and 1023.9 KiB ``1.02e+03 KiB``."""
    number, word = human(nbytes).split(" ")
    assert "e" not in number
    factor = 1024 ** ["B", "KiB", "MiB", "GiB", "TiB", "PiB"].index(word)
    assert (1 <= float(number) < 1024) or nbytes < 1
    assert abs(float(number) * factor - nbytes) <= 5e-3 * nbytes


# ------------------------------------------------------------------------- files
@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(chips(faults=True, noise=True), st.integers(3, 12), st.integers(1, 3),
       st.sampled_from(["hebb", "pinv", "storkey"]), st.integers(0, 99))
def test_a_model_saved_loaded_and_saved_again_is_the_same_file(chip, n, p, rule, seed):
    assert ChipSpec.from_toml(chip.to_toml()) == chip
    assert ChipSpec.from_json(chip.to_json()) == chip
    x = _patterns(seed, p, n)
    memory = train(x, chip=chip, rule=rule, fault_seed=seed, program_seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        first = save_memory(memory, Path(folder) / "a.safetensors", patterns=x)
        back = load_memory(first)
        second = save_memory(back, Path(folder) / "b.safetensors", patterns=x)
        assert Path(first).read_bytes() == Path(second).read_bytes()
    assert back.chip == memory.chip
    np.testing.assert_array_equal(back.layers[0].planes(), memory.layers[0].planes())


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


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(chips(faults=True, noise=True), st.integers(3, 10), st.integers(1, 3), st.booleans(),
       st.integers(0, 99))
def test_an_export_reloaded_and_exported_again_is_the_same_folder(chip, n, p, patterns, seed):
    x = _patterns(seed, p, n)
    memory = train(x, chip=chip, rule="pinv", fault_seed=seed, program_seed=seed)
    with tempfile.TemporaryDirectory() as folder:
        first, second = Path(folder) / "a", Path(folder) / "b"
        export_memory(memory, first, patterns=x if patterns else None)
        export_memory(load_export(first), second, patterns=x if patterns else None)
        names = sorted(f.name for f in first.iterdir())
        assert names == sorted(f.name for f in second.iterdir())
        for name in names:
            assert (first / name).read_bytes() == (second / name).read_bytes(), name
