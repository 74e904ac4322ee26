"""Physical invariants over random chips (hypothesis): conductance windows in siemens across
decades, 2..256 levels or continuous devices, arrays that do not divide N, both fault models,
stuck-ON/OFF rates, write and read noise on or off; memories of one layer and multilayer,
trained by classic rules (fast) and a few tiny adaptive ones.

What the fixed cases of test_export_independent.py, test_chip.py and test_energy.py check for
a handful of chips is checked here for any chip the spec accepts: every programmed and
exported conductance in the window (stuck devices at their stuck value, free targets on the
level grid); the realised fault fraction is binomial and survives the fault-map file; the
partial products of the tiles sum to the untiled product; export -> reload gives the same
weights and recall; a read-back equal to the targets pins nothing, one off by a known offset
pins every free device at its reading; the cost model is in joules and seconds, monotone in
N, steps and tiles, and its async/sync ratio is the documented formula.
"""

from __future__ import annotations

import csv
import math
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xbarmem import ArraySpec, ChipSpec, DeviceSpec, FaultMap, Protocol, train
from xbarmem.deploy.backend import DriverBackend, conductance_targets, simulated_backends
from xbarmem.deploy.chip_loop import adapt, adapt_read_back
from xbarmem.deploy.export import export_memory
from xbarmem.deploy.readback import read_back_backends
from xbarmem.deploy.reload import load_export
from xbarmem.energy.circuit import load_circuit
from xbarmem.energy.measure import energy_report, measure_memory
from xbarmem.energy.model import LayerLoad, compare, programming_cost, recall_cost, step_cost
from xbarmem.hardware.crossbar import Crossbar, arrays_needed
from xbarmem.hardware.faults import highest_reading
from xbarmem.memory.io import load_memory, save_memory
from xbarmem.memory.multilayer import MultilayerMemory

FEW = settings(max_examples=20, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.too_slow])
ADAPTIVE = {"max_steps": 15, "finetune_steps": 0, "window": 5}


@st.composite
def chips(draw, *, model=None, noise=True, faults=True):
    """A random chip the spec accepts: a window somewhere from 1e-10 to 1e-2 S (g_min 0 or
    not), levels 0 or 2..256, tiles of 1..9 x 1..9 cells, stuck rates up to 0.4 in total."""
    low = draw(st.floats(-10.0, -3.0))
    g_min = draw(st.sampled_from([0.0, 0.01, 0.3])) * 10 ** low
    g_max = 10 ** (low + draw(st.floats(0.05, 1.0)))
    levels = draw(st.sampled_from([0, 0, 2, 3, 16, 255, 256]))
    window = g_max - g_min
    write = draw(st.sampled_from([0.0, 0.02, 0.2])) * window if noise else 0.0
    read = draw(st.sampled_from([0.0, 0.01])) * window if noise else 0.0
    on, off = (draw(st.floats(0.0, 0.2)), draw(st.floats(0.0, 0.2))) if faults else (0.0, 0.0)
    return ChipSpec(DeviceSpec(g_min=g_min, g_max=g_max, levels=levels, write_noise=write,
                               read_noise=read, p_stuck_on=on, p_stuck_off=off),
                    ArraySpec(rows=draw(st.integers(1, 9)), cols=draw(st.integers(1, 9)),
                              weight_range=draw(st.sampled_from([0.1, 0.5, 3.0])),
                              fault_model=model or draw(st.sampled_from(["device", "weight"]))))


def _on_grid(g: np.ndarray, chip: ChipSpec) -> bool:
    dev = chip.device
    if dev.levels == 0:
        return True
    k = (g - dev.g_min) / (dev.g_range / (dev.levels - 1))
    return bool(np.all(np.abs(k - np.round(k)) < 1e-6))


def _in_window(g: np.ndarray, chip: ChipSpec) -> bool:
    return bool(np.all((g >= chip.device.g_min) & (g <= chip.device.g_max)))


def _crossbar(chip: ChipSpec, n_out: int, n_in: int, seed: int, bias: bool = True, *,
              measured: bool = False) -> Crossbar:
    """A crossbar on a generated fault map, or (``measured``, device model) on one whose stuck
    devices read anywhere from 0 to the highest reading a map may hold (off the levels)."""
    faults = FaultMap.generate(chip, arrays_needed(chip, n_out, n_in + bias), seed=seed)
    if measured and chip.array.fault_model == "device":
        rng = np.random.default_rng(seed)
        high = highest_reading(chip.device)
        g = rng.random(faults.g_stuck.shape) * high
        faults = FaultMap(np.where(faults.stuck, g, np.nan), {"source": "test"})
    return Crossbar(chip, n_out, n_in, faults, bias=bias)


# ------------------------------------------------------------------------- programming
@FEW
@given(chips(), st.integers(1, 13), st.integers(1, 13), st.booleans(), st.integers(0, 999))
def test_every_programmed_and_target_conductance_is_one_a_device_can_hold(chip, n_out, n_in,
                                                                         measured, seed):
    xb = _crossbar(chip, n_out, n_in, seed, measured=measured)
    gen = torch.Generator().manual_seed(seed)
    w, b = 2 * torch.randn(n_out, n_in, generator=gen), torch.randn(n_out, generator=gen)
    target, _ = conductance_targets(xb, w, b)
    xb.program(w, b, seed=seed)
    stuck, free = xb.stuck, ~xb.stuck
    for g in (xb.planes(), target):
        assert _in_window(g[free], chip)
        np.testing.assert_array_equal(g[stuck], xb.g_stuck[stuck])  # never asked otherwise
    assert _on_grid(target[free], chip)
    if chip.device.write_noise == 0:
        np.testing.assert_array_equal(xb.planes(), target)
    if chip.array.fault_model == "weight":  # a faulty pair: both devices at g_min
        assert (xb.stuck[0] == xb.stuck[1]).all()
        assert (xb.g_stuck[stuck] == chip.device.g_min).all()
    elif not measured:
        assert set(np.unique(xb.g_stuck[stuck])) <= {chip.device.g_min, chip.device.g_max}


def test_the_top_level_is_g_max_not_an_ulp_above():
    """g_min + 6 * (g_max - g_min) / 6 rounds above g_max for this window: the top level of a
    full-window weight was programmed (and exported) outside the window."""
    chip = ChipSpec(DeviceSpec(g_min=3.948691389430655e-06, g_max=0.0035260671366101606,
                               levels=7), ArraySpec(rows=2, cols=2))
    xb = _crossbar(chip, 2, 2, 0)
    w = chip.array.weight_range * torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
    for g in (xb.program(w).planes(), conductance_targets(xb, w)[0]):
        assert g.max() == chip.device.g_max and _in_window(g, chip)


@FEW
@given(chips(noise=False), st.integers(0, 999))
def test_the_realised_fault_fraction_is_binomial_and_the_file_keeps_it(chip, seed):
    dev, arr = chip.device, chip.array
    n_arrays = math.ceil(20_000 / (arr.rows * arr.cols))
    fmap = FaultMap.generate(chip, n_arrays, seed=seed)
    g = fmap.g_stuck
    if arr.fault_model == "device":
        counts = [((g == dev.g_max).sum(), g.size, dev.p_stuck_on),
                  ((g == dev.g_min).sum(), g.size, dev.p_stuck_off)]
    else:
        counts = [(fmap.stuck[:, 0].sum(), g[:, 0].size, dev.fault_rate)]
    for count, n, p in counts:  # within 6 standard deviations (+1 for p = 0)
        assert abs(count - n * p) <= 6 * math.sqrt(n * p * (1 - p)) + 1, (count, n, p)
    with tempfile.TemporaryDirectory() as folder:
        for name in ("f.npz", "f.csv"):
            back = FaultMap.load(fmap.save(Path(folder) / name), chip.device)
            np.testing.assert_array_equal(back.stuck, fmap.stuck)
            np.testing.assert_array_equal(back.g_stuck[back.stuck], g[fmap.stuck])


class _Arrays:
    """A driver holding physical arrays of conductances, applying rows with numpy only."""

    def __init__(self, n_arrays: int, rows: int, cols: int) -> None:
        self.g = np.zeros((n_arrays, 2, rows, cols))

    def write(self, array, targets):
        self.g[array] = np.where(np.isnan(targets), self.g[array], targets)

    def read(self, array):
        return self.g[array].copy()

    def apply(self, array, voltages):
        return np.einsum("br,prc->bpc", voltages, self.g[array])


@FEW
@given(chips(noise=False), st.integers(2, 17), st.integers(1, 3), st.booleans(),
       st.integers(0, 999))
def test_partial_products_of_the_tiles_sum_to_the_untiled_product(chip, n, hidden, bias, seed):
    """Sizes that do not divide the tiles, one layer and each layer of a multilayer memory:
    a driver that only sees physical arrays gives the crossbar's product."""
    sizes = [n, n] if hidden == 1 else [n, *[max(1, n // 2)] * (hidden - 1), n]
    mem = MultilayerMemory(n, sizes[1:-1], chip, bias=bias, fault_seed=seed) if hidden > 1 \
        else train(np.ones((1, n)), chip=chip, rule="hebb", fault_seed=seed)
    if hidden > 1:
        gen = torch.Generator().manual_seed(seed)
        shapes = list(zip(sizes[1:], sizes[:-1], strict=True))
        mem.program([torch.randn(s, generator=gen) for s in shapes],
                    [torch.randn(s[0], generator=gen) for s in shapes] if bias else None)
    x = torch.as_tensor(np.random.default_rng(seed).uniform(-1, 1, (3, n)), dtype=torch.float32)
    for layer in mem.layers:
        driver = _Arrays(layer.first_array + layer.n_arrays, chip.array.rows, chip.array.cols)
        backend = DriverBackend(driver, layer)
        backend.program(layer.planes())
        np.testing.assert_array_equal(backend.read_back(), layer.planes())
        u = x[:, : layer.n_in]
        untiled = (torch.cat([u, torch.ones(3, 1)], 1) if layer.has_bias else u).double() \
            @ torch.as_tensor(layer.planes()[0] - layer.planes()[1]).T * (
                layer.w_max / chip.device.g_range)
        torch.testing.assert_close(backend.matvec(u).double(), untiled, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(layer.matvec(u).double(), untiled, rtol=1e-4, atol=1e-5)
        x = torch.tanh(layer.matvec(u)) if layer.n_out != n else x


# ------------------------------------------------------------------------- export and reload
def _patterns(n: int, p: int, seed: int) -> np.ndarray:
    return np.where(np.random.default_rng(seed).random((p, n)) < 0.5, -1.0, 1.0)


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(chips(), st.integers(3, 14), st.sampled_from(["hebb", "pinv", "storkey", "adaptive"]),
       st.booleans(), st.integers(0, 999))
def test_export_reloads_to_the_same_weights_and_recall(chip, n, rule, multilayer, seed):
    x = _patterns(n, 2, seed)
    options = ADAPTIVE if rule == "adaptive" else {}
    arch = {"arch": "multilayer", "hidden": [max(2, n // 2)]} if multilayer else {}
    if multilayer:
        rule, options = "adaptive", ADAPTIVE
    memory = train(x, chip=chip, rule=rule, fault_seed=seed, program_seed=seed + 1,
                   **arch, **options)
    with tempfile.TemporaryDirectory() as folder:
        export_memory(memory, folder, patterns=x)
        targets, prog = np.load(f"{folder}/targets_S.npy"), np.load(f"{folder}/programmed_S.npy")
        stuck, used = np.load(f"{folder}/stuck_S.npy"), np.load(f"{folder}/used.npy")
        free, pinned = used & np.isnan(stuck), ~np.isnan(stuck)
        assert _in_window(targets[free], chip) and _in_window(prog[free], chip)
        assert _on_grid(targets[free], chip)
        np.testing.assert_array_equal(targets[pinned], stuck[pinned])
        np.testing.assert_array_equal(prog[pinned], stuck[pinned])
        assert (targets[~used & ~pinned] == chip.device.g_min).all()
        with open(f"{folder}/devices.csv") as handle:  # rows in the .npy order, microsiemens
            rows = list(csv.DictReader(handle))
        for column, siemens in (("target_uS", targets), ("programmed_uS", prog)):
            written = np.array([float(r[column]) for r in rows]).reshape(targets.shape) * 1e-6
            np.testing.assert_allclose(written, siemens, rtol=0,
                                       atol=1e-6 * chip.device.g_range, err_msg=column)
        back = load_export(folder)
        saved = load_memory(save_memory(memory, Path(folder) / "m.safetensors", patterns=x))
    for m in (back, saved):  # the same devices stuck, at the same conductances
        np.testing.assert_array_equal(m.layers[0].g_stuck, memory.layers[0].g_stuck)
    np.testing.assert_array_equal(saved.faults.g_stuck, memory.faults.g_stuck)
    for a, b in zip(memory.programmed_parameters(), back.programmed_parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    mode = "sync" if seed % 2 else "async"
    activation = "sign" if rule != "adaptive" or seed % 3 else "tanh"
    states = [m.recall(x, mode=mode, activation=activation, max_iterations=5, seed=seed).states
              for m in (memory, back)]
    torch.testing.assert_close(states[0], states[1], rtol=0, atol=0)


# ------------------------------------------------------------------------- chip in the loop
@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(chips(model="device", noise=False), st.integers(4, 10), st.sampled_from([0.5, 3.0]),
       st.integers(0, 999))
def test_a_read_back_on_target_pins_nothing_one_off_by_an_offset_pins_every_free_device(
        chip, n, times, seed):
    x = _patterns(n, 2, seed)
    memory = train(x, chip=chip, rule="adaptive", fault_seed=seed, **ADAPTIVE)
    layer = memory.layers[0]
    goal, _ = conductance_targets(layer, *memory.targets[0])
    tolerance = 0.01 * chip.device.g_range
    offset = times * tolerance  # below the tolerance (0.5) or above it (3)
    protocol = Protocol(probes=2, seed=0)
    for shift in (0.0, offset):
        read = layer.scatter(np.where(layer.stuck, goal, goal + shift), fill=chip.device.g_min)
        result = adapt_read_back(memory, read_back_backends(memory, read), x,
                                 tolerance=tolerance, protocol=protocol)
        free = ~layer.stuck
        pinned = result.memory.layers[0].stuck & free
        if shift <= tolerance:
            assert result.read["newly_fixed"] == 0 and not pinned.any()
            np.testing.assert_array_equal(result.faults.g_stuck, memory.faults.g_stuck)
            if shift == 0:  # re-trained on the same faults: the same goals, nothing written
                assert result.program["written"] == 0
                assert result.after == result.before
        else:  # every free device is fixed at what it reads, none is written again
            assert result.read["newly_fixed"] == int(free.sum()) == int(pinned.sum())
            np.testing.assert_array_equal(result.memory.layers[0].g_stuck[free], goal[free] + shift)
            assert result.program["written"] == 0
        assert result.read["write_error_rms_uS"] == pytest.approx(shift * 1e6, rel=1e-9, abs=1e-12)
        np.testing.assert_array_equal(result.memory.layers[0].planes(), layer._gather(read))
    # the simulated loop on an exact chip: round 0 reads every goal, round 1 writes nothing
    looped = adapt(memory, simulated_backends(memory), x, rounds=1, target=2.0,
                   tolerance=tolerance, protocol=protocol)
    assert [r["newly_fixed"] for r in looped.rounds] == [0, 0]
    assert looped.rounds[1]["written"] == 0
    np.testing.assert_array_equal(looped.faults.g_stuck, memory.faults.g_stuck)


# ------------------------------------------------------------------------- energy and latency
@st.composite
def loads(draw, n=None):
    n = n or draw(st.integers(2, 300))
    rows, cols = draw(st.integers(1, 128)), draw(st.integers(1, 128))
    g = draw(st.floats(1e-10, 1e-3))
    return n, rows, cols, g


def _load(n: int, rows: int, cols: int, g: float, bias: bool = True, **kw) -> LayerLoad:
    n_rows = n + bias
    return LayerLoad(n_out=n, n_rows=n_rows, row_tiles=math.ceil(n_rows / rows),
                     col_tiles=math.ceil(n / cols), tile_cols=cols, g_total=2 * g * n * n_rows,
                     devices=2 * n * n_rows, free_devices=2 * n * n_rows, **kw)


CIRCUITS = ["generic-rram", "paper-calibrated"]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(loads(), st.sampled_from(CIRCUITS), st.sampled_from(["sign", "tanh"]),
       st.floats(0.01, 100.0), st.integers(1, 50), st.integers(1, 500))
def test_costs_are_joules_and_seconds_monotone_and_the_ratio_is_the_formula(
        load, circuit, outputs, volts, sync_steps, async_steps):
    n, rows, cols, g = load
    c = load_circuit(circuit)
    inputs = "binary" if outputs == "sign" else "analog"
    layer = _load(n, rows, cols, g, inputs=inputs, outputs=outputs)
    bigger = _load(n + 1, rows, cols, g, inputs=inputs, outputs=outputs)
    per = {m: step_cost([layer], c, volts, m) for m in ("sync", "async")}
    for mode, cost in per.items():
        values = [*cost.energy.values(), *cost.latency.values()]
        assert all(math.isfinite(v) and v >= 0 for v in values)
        assert cost.total_energy > 0 and cost.total_latency > 0
        more = step_cost([bigger], c, volts, mode)
        assert more.total_energy >= cost.total_energy  # one more neuron never costs less
        assert more.total_latency >= cost.total_latency
        # the array term is V^2 * t_pulse * (conducting siemens): joules from volts and siemens
        conducting = layer.g_total / (n if mode == "async" else 1)
        assert cost.energy["array"] == pytest.approx(volts ** 2 * c.array.pulse_width
                                                     * conducting, rel=1e-12)
    sync = recall_cost([sync_steps, sync_steps + 1], per["sync"])
    asyn = recall_cost([async_steps, async_steps + 2], per["async"])
    assert recall_cost([sync_steps + 2] * 2, per["sync"])["energy_J"]["mean"] > \
        sync["energy_J"]["mean"]
    ratios = compare(sync, asyn)
    formula = (async_steps + 1) * per["async"].total_energy / (
        (sync_steps + 0.5) * per["sync"].total_energy)
    assert ratios["energy_ratio"] == pytest.approx(formula, rel=1e-9)
    latency = (async_steps + 1) * per["async"].total_latency / (
        (sync_steps + 0.5) * per["sync"].total_latency)
    assert ratios["latency_ratio"] == pytest.approx(latency, rel=1e-9)


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(chips(noise=False), st.integers(3, 12), st.booleans(), st.integers(0, 999))
def test_a_measured_memory_costs_its_steps_times_the_step_cost(chip, n, multilayer, seed):
    """A memory of any chip and N (none the docs list), recalled sync and async: every cost
    finite and >= 0, the async/sync ratio the documented formula of the measured steps, the
    array energy ``V_read**2 * t_pulse * sum(G+ + G-)`` of its programmed conductances."""
    x = _patterns(n, 2, seed)
    arch = {"arch": "multilayer", "hidden": [max(2, n // 2)], **ADAPTIVE} if multilayer else {}
    memory = train(x, chip=chip, rule="adaptive" if multilayer else "hebb", fault_seed=seed,
                   **arch)
    cues = torch.as_tensor(np.repeat(x, 2, axis=0), dtype=torch.float32)
    cues[::2, 0] *= -1
    m = measure_memory(memory, cues, torch.as_tensor(np.repeat(x, 2, axis=0)), seed=seed)
    c = load_circuit("generic-rram")
    report = energy_report(m, c)
    per = {mode: step_cost(m.layers, c, chip.array.read_voltage, mode)
           for mode in ("sync", "async")}
    formula = (m.async_steps.mean() * per["async"].total_energy) / (
        m.sync_steps.mean() * per["sync"].total_energy)
    assert report["ratios"]["energy_ratio"] == pytest.approx(formula, rel=1e-9)
    siemens = sum(float(ly.planes().sum()) for ly in memory.layers)
    assert per["sync"].energy["array"] == pytest.approx(
        chip.array.read_voltage ** 2 * c.array.pulse_width * siemens, rel=1e-9)
    for mode in ("sync", "async"):
        for key in ("energy_J", "latency_s"):
            assert all(math.isfinite(v) and v >= 0 for v in report[mode][key].values())


@settings(max_examples=30, deadline=None, derandomize=True)
@given(loads(), st.integers(2, 8))
def test_tiles_read_in_parallel_cost_energy_per_tile_not_time(load, split):
    """Splitting the columns over ``split`` times more tiles (comparator sensing) multiplies
    the row-driver segments, leaves every latency alone; the ADC's conversions in series
    never grow with smaller tiles."""
    n, rows, cols, g = load
    c = load_circuit("generic-rram")
    wide, narrow = _load(n, rows, cols * split, g), _load(n, rows, cols, g)
    a, b = step_cost([wide], c, 0.2, "sync"), step_cost([narrow], c, 0.2, "sync")
    assert b.latency == a.latency
    assert b.energy["drivers"] == pytest.approx(
        a.energy["drivers"] * narrow.col_tiles / wide.col_tiles, rel=1e-12)
    assert {k: b.energy[k] for k in b.energy if k != "drivers"} == \
        {k: a.energy[k] for k in a.energy if k != "drivers"}
    adc = c.with_value("sensing.sign_readout", "adc")
    assert step_cost([narrow], adc, 0.2, "sync").latency["sensing"] <= \
        step_cost([wide], adc, 0.2, "sync").latency["sensing"]


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.sampled_from(list(load_circuit("generic-rram").constants())),
       st.sampled_from([0.0, 1e-300, 1.0, 1e300]), st.sampled_from([1, 10**9]))
def test_no_accepted_constant_gives_a_negative_nan_or_infinite_cost(key, value, steps):
    """Every circuit constant at the edges of what is accepted (a larger one is refused
    naming the key), a layer of the largest tile and a recall of up to 10**9 steps."""
    from xbarmem import ConfigError

    c = load_circuit("generic-rram")
    default = c.get(key)
    if isinstance(default, str):
        return
    value = max(1, int(min(value, 1e9))) if isinstance(default, int) else value
    try:
        c = c.with_value(key, value)
    except ConfigError as exc:
        assert key in str(exc)
        return
    layer = _load(4096, 4096, 4096, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning either
        for mode in ("sync", "async"):
            cost = recall_cost([steps, 0], step_cost([layer, layer], c, 100.0, mode))
            numbers = [cost["energy_J"][s] for s in ("mean", "std", "min", "max")]
            numbers += [cost["latency_s"][s] for s in ("mean", "std", "min", "max")]
            numbers += list(cost["energy_breakdown_J"].values())
            assert all(math.isfinite(v) and v >= 0 for v in numbers), (key, value, mode)
        prog = programming_cost([layer], c)
        assert all(math.isfinite(v) and v >= 0 for v in prog.values()), (key, value)


@pytest.mark.parametrize("call, message", [
    (lambda: _load(4, 4, 4, 3.0), r"layer g_total = 120 S is more than its 40 devices "
                                  r"conduct \(at most 2 S each\)"),
    (lambda: step_cost([_load(4, 4, 4, 1e-6)], load_circuit("generic-rram"), 1e3, "sync"),
     r"read_voltage must be in \(0, 100.0\] \(V\), got 1000.0"),
    (lambda: recall_cost([1, 10**10], step_cost([_load(4, 4, 4, 1e-6)],
                                                load_circuit("generic-rram"), 0.2, "sync")),
     r"steps must be a non-empty list of counts in 0..1000000000 \(one per cue\)"),
])
def test_the_cost_model_refuses_what_no_chip_or_recall_has(call, message):
    from xbarmem import ConfigError

    with pytest.raises(ConfigError, match=message):
        call()


def test_export_prints_the_currents_of_a_nanosiemens_chip(tmp_path, run_cli):
    """Currents of a 0.2 nS window are tens of picoamperes: printed with one decimal of a
    microampere they read ``I+ - I- in [-0.0, 0.0] uA``."""
    chip = ChipSpec(DeviceSpec(g_min=1e-11, g_max=2e-10, levels=256), ArraySpec(rows=8, cols=8))
    x = _patterns(10, 2, 0)
    model = save_memory(train(x, chip=chip, rule="pinv"), tmp_path / "m.safetensors", patterns=x)
    code, out, err = run_cli("export", model, "--out", tmp_path / "e")
    assert code == 0, err
    text = " ".join(out.split())
    assert "I+ - I- in [-0.0, 0.0] uA" not in text
    highs = [float(h) for h in re.findall(r"alone up to (\S+) uA", text)]
    assert highs and all(0 < h < 1e-3 for h in highs), text
    rows = (tmp_path / "e" / "devices.csv").read_text().splitlines()[1:]
    targets = {float(r.split(",")[6]) for r in rows}
    assert len(targets) > 2 and min(targets) == pytest.approx(1e-5, abs=1e-12)
