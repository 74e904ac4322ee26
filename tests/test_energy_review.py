"""The energy and latency model read as a circuit designer reads it: first principles
(``V**2 G t`` per device, counts of reads against what recall actually did), scaling and
monotonicity as properties, and the user's inputs (circuit files, calibration targets)."""

from __future__ import annotations

import json
import math
from collections import defaultdict

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from xbarmem.energy.calibrate import calibrate
from xbarmem.energy.circuit import UNITS, CircuitSpec, load_circuit
from xbarmem.energy.measure import Measurement, build_memory, energy_report, measure_memory
from xbarmem.energy.model import (
    LayerLoad,
    layer_reads,
    read_cost,
    recall_cost,
    step_cost,
)
from xbarmem.errors import ConfigError
from xbarmem.hardware.chip import load_chip
from xbarmem.hardware.crossbar import Crossbar

pJ, ns = 1e-12, 1e-9


def close(value, rel=1e-12):
    return pytest.approx(value, rel=rel, abs=0)


# ------------------------------------------------------------------------- strategies
def _constant(unit: str):
    if unit == "J":
        return st.one_of(st.just(0.0), st.floats(1e-16, 1e-9))
    if unit == "s":
        return st.one_of(st.just(0.0), st.floats(1e-12, 1e-6))
    return st.integers(1, 16)


@st.composite
def circuits(draw) -> CircuitSpec:
    spec = load_circuit("generic-rram")
    for key, unit in UNITS.items():
        if key == "sensing.sign_readout":
            spec = spec.with_value(key, draw(st.sampled_from(["comparator", "adc"])))
        elif key == "array.pulse_width":
            spec = spec.with_value(key, draw(st.floats(1e-10, 1e-6)))
        elif key == "programming.pulses_per_device":
            spec = spec.with_value(key, float(draw(st.integers(1, 50))))
        else:
            spec = spec.with_value(key, draw(_constant(unit)))
    return spec


@st.composite
def layers(draw, inputs=None, outputs=None) -> LayerLoad:
    n_out, n_in = draw(st.integers(1, 300)), draw(st.integers(1, 300))
    bias = draw(st.booleans())
    rows, cols = draw(st.sampled_from([8, 32, 64, 128])), draw(st.sampled_from([8, 32, 64]))
    n_rows = n_in + int(bias)
    devices = 2 * n_out * n_rows
    g_device = draw(st.one_of(st.just(0.0), st.floats(1e-9, 150e-6)))  # siemens
    return LayerLoad(n_out=n_out, n_rows=n_rows, row_tiles=math.ceil(n_rows / rows),
                     col_tiles=math.ceil(n_out / cols), tile_cols=cols,
                     g_total=devices * g_device, devices=devices,
                     free_devices=draw(st.integers(0, devices)),
                     inputs=inputs or draw(st.sampled_from(["binary", "analog"])),
                     outputs=outputs or draw(st.sampled_from(["sign", "tanh"])),
                     bias_rows=int(bias))


def _replace(layer: LayerLoad, **changes) -> LayerLoad:
    return LayerLoad(**{**layer.__dict__, **changes})


# ------------------------------------------------------------ units and dimensions (properties)
@settings(max_examples=200, deadline=None)
@given(layers(), circuits(), st.floats(0.01, 1.0), st.booleans())
def test_array_energy_is_v_squared_g_t_over_the_cells_read(layer, circuit, volts, column):
    """A read dissipates ``V**2 G t`` in every conducting device: all of them for a full read,
    one column's (on average over a sweep) for a column read; nothing else depends on V or G."""
    cost = read_cost(layer, circuit, volts, column=column)
    cells = layer.g_total / layer.n_out if column else layer.g_total
    assert cost.energy["array"] == close(volts ** 2 * circuit.array.pulse_width * cells)
    double_v = read_cost(layer, circuit, 2 * volts if volts <= 0.5 else volts / 2,
                         column=column)
    factor = 4.0 if volts <= 0.5 else 0.25
    assert double_v.energy["array"] == close(factor * cost.energy["array"])
    double_g = read_cost(_replace(layer, g_total=2 * layer.g_total), circuit, volts,
                         column=column)
    assert double_g.energy["array"] == close(2 * cost.energy["array"])
    for other in (double_v, double_g):
        assert other.latency == cost.latency  # latency: no conductance, no voltage in it
        assert {k: v for k, v in other.energy.items() if k != "array"} == {
            k: v for k, v in cost.energy.items() if k != "array"}
    assert all(math.isfinite(v) and v >= 0 for v in (*cost.energy.values(),
                                                     *cost.latency.values()))


@settings(max_examples=200, deadline=None)
@given(layers(), circuits(), st.booleans())
def test_a_read_counts_drivers_and_sensed_outputs_as_the_tiles_say(layer, circuit, column):
    """Full read: every row of every column tile driven, every output sensed once; column
    read: the rows of one column tile, one output. A bias row (constant +V_read) takes a
    1-bit driver whatever the inputs."""
    cost = read_cost(layer, circuit, 0.2, column=column)
    tiles = 1 if column else layer.col_tiles
    per_row = (circuit.drivers.dac_energy if layer.inputs == "analog"
               else circuit.drivers.binary_energy)
    assert cost.energy["drivers"] == close(
        tiles * ((layer.n_rows - layer.bias_rows) * per_row
                 + layer.bias_rows * circuit.drivers.binary_energy))
    sensed = 1 if column else layer.n_out
    comparator = layer.outputs == "sign" and circuit.sensing.sign_readout == "comparator"
    per_output = circuit.sensing.comparator_energy if comparator else circuit.sensing.adc_energy
    assert cost.energy["sensing"] == close(sensed * per_output)
    if not comparator and not column:  # converters of one tile work in series
        in_series = min(circuit.sensing.columns_per_adc, layer.n_out, layer.tile_cols)
        assert cost.latency["sensing"] == close(in_series * circuit.sensing.adc_latency)


@settings(max_examples=100, deadline=None)
@given(st.lists(layers(), min_size=1, max_size=3), circuits(), st.sampled_from(["sync", "async"]),
       st.lists(st.integers(0, 5000), min_size=1, max_size=20))
def test_a_recall_is_its_steps_times_the_sum_of_its_layer_reads(stack, circuit, mode, steps):
    """A step is the layer reads in sequence plus control (and selection, async); a recall is
    steps x step; more steps never cost less."""
    step = step_cost(stack, circuit, 0.2, mode)
    reads = layer_reads(stack, circuit, 0.2, mode)
    for comp in ("drivers", "array", "sensing", "neurons", "movement"):
        assert step.energy[comp] == close(math.fsum(r.energy[comp] for r in reads))
        assert step.latency[comp] == close(math.fsum(r.latency[comp] for r in reads))
    rec = recall_cost(steps, step)
    assert rec["energy_J"]["mean"] == close(np.mean(steps) * step.total_energy, rel=1e-9)
    assert rec["energy_J"]["min"] <= rec["energy_J"]["mean"] <= rec["energy_J"]["max"]
    more = recall_cost([s + 1 for s in steps], step)
    assert more["energy_J"]["mean"] >= rec["energy_J"]["mean"]
    assert more["latency_s"]["mean"] >= rec["latency_s"]["mean"]


# ---------------------------------------------------- counts against what recall actually did
class _Counter:
    """Counts, per crossbar, what its reads touched: conductance of the cells that conducted,
    row segments driven and outputs sensed (``Crossbar.matvec`` / ``read_outputs`` wrapped)."""

    def __init__(self, monkeypatch):
        self.g = defaultdict(float)
        self.segments = defaultdict(int)  # row segments of the inputs
        self.bias = defaultdict(int)  # row segments of bias rows (+V_read whatever the input)
        self.sensed = defaultdict(int)
        self.levels = defaultdict(bool)  # whether an input row was driven to a value not +-1
        full, column = Crossbar.matvec, Crossbar.read_outputs
        counter = self

        def multilevel(cb, x):
            counter.levels[id(cb)] |= not bool(((x == 1) | (x == -1)).all())

        def matvec(cb, x, generator=None):
            multilevel(cb, x)
            b = int(x.shape[0])
            g = cb.g_pos + cb.g_neg
            counter.g[id(cb)] += b * float(g.sum())
            tiles = math.ceil(cb.n_out / cb.chip.array.cols)
            counter.segments[id(cb)] += b * cb.n_in * tiles
            counter.bias[id(cb)] += b * int(cb.has_bias) * tiles
            counter.sensed[id(cb)] += b * cb.n_out
            return full(cb, x, generator)

        def read_outputs(cb, x, outputs, generator=None):
            multilevel(cb, x)
            idx = np.asarray(outputs, dtype=np.int64)
            g = (cb.g_pos + cb.g_neg).sum(axis=1)  # per output column
            counter.g[id(cb)] += float(g[idx].sum())
            counter.segments[id(cb)] += len(idx) * cb.n_in
            counter.bias[id(cb)] += len(idx) * int(cb.has_bias)
            counter.sensed[id(cb)] += len(idx)
            return column(cb, x, outputs, generator)

        monkeypatch.setattr(Crossbar, "matvec", matvec)
        monkeypatch.setattr(Crossbar, "read_outputs", read_outputs)

    def reset(self):
        for d in (self.g, self.segments, self.bias, self.sensed, self.levels):
            d.clear()


#: one circuit whose every per-operation energy is a distinct power of two of a picojoule, so
#: that a count off by one shows
COUNTING = {
    "drivers.binary_energy": 1 * pJ, "drivers.dac_energy": 2 * pJ,
    "sensing.comparator_energy": 4 * pJ, "sensing.adc_energy": 8 * pJ,
}


def _counting_circuit() -> CircuitSpec:
    spec = load_circuit("generic-rram")
    for key, value in COUNTING.items():
        spec = spec.with_value(key, value)
    return spec


CASES = {
    # N = 64 with its bias row on 64 x 64 arrays: the rows span two row tiles
    "n64-bias-row-tile": dict(n=64, arch="single", rule="adaptive", chip="paper-sim"),
    # tiles that do not divide N (20 outputs and 21 rows on 8 x 8 arrays), no bias
    "n20-partial-tiles": dict(n=20, arch="single", rule="pinv", chip="paper-sim", rows=8, cols=8),
    # stuck devices (read at their stuck conductance)
    "n16-stuck": dict(n=16, arch="single", rule="pinv", chip="paper-sim", faults=0.3),
    # g_min = 0: a device at 0 S conducts nothing
    "n16-gmin0": dict(n=16, arch="single", rule="pinv", chip="ideal", g_min=0.0),
    # multilayer: hidden layers read in full every async update
    "ml-16-8-16": dict(n=16, arch="multilayer", rule="adaptive", chip="paper-sim",
                       hidden=[8], rows=8, cols=8),
    # sign recall of cues of other values than +-1, which enter the first read as they are:
    # continuous (noisy) cues, and cues with 0 for unknown entries, single and multilayer
    "n16-continuous-cues": dict(n=16, arch="single", rule="pinv", chip="paper-sim",
                                cues="noisy"),
    "n16-zero-entries": dict(n=16, arch="single", rule="pinv", chip="paper-sim", cues="zeros"),
    "ml-16-8-16-continuous-cues": dict(n=16, arch="multilayer", rule="adaptive",
                                       chip="paper-sim", hidden=[8], rows=8, cols=8,
                                       cues="noisy"),
}


def _case_memory(case):
    chip = load_chip(case["chip"])
    if "rows" in case:
        chip = chip.replace_array(rows=case["rows"], cols=case["cols"])
    if "faults" in case:
        chip = chip.with_faults(case["faults"])
    if "g_min" in case:
        chip = chip.replace_device(g_min=case["g_min"])
    torch.manual_seed(0)
    x = torch.where(torch.rand(3, case["n"]) < 0.5, -1.0, 1.0)
    options = {"rule_options": {"max_steps": 200}} if case["rule"] == "adaptive" else {}
    memory = build_memory(x, chip, arch=case["arch"], hidden=case.get("hidden"),
                          rule=case["rule"], **options)
    flip = torch.rand(4 * 3, case["n"]) < 0.2
    targets = x.repeat(4, 1)
    if case.get("cues") == "noisy":
        return memory, (targets + 0.6 * torch.randn(targets.shape)).clamp(-1, 1), targets
    if case.get("cues") == "zeros":
        return memory, torch.where(flip, 0.0, targets), targets
    return memory, torch.where(flip, -targets, targets), targets


@pytest.mark.parametrize("name", list(CASES))
def test_the_model_counts_what_recall_read(name, monkeypatch):
    """Instrumented crossbars count what sync and async recall really read (cells that
    conducted, row segments driven, outputs sensed, per layer); the model's totals over the
    cues, from the measured steps, are the same: every device of every tile once per sync
    step, the hidden layers in full and one output column per async update, for tiles that
    do and do not divide N, bias rows (a 1-bit driver at +V_read, also before a DAC-driven
    layer), stuck devices, g_min = 0 and several layers; rows that recall drove to values other
    than +-1 (continuous cues, 0 for unknown entries, under sign recall too) are priced by
    DACs, rows of +-1 alone by 1-bit drivers."""
    memory, cues, targets = _case_memory(CASES[name])
    counter = _Counter(monkeypatch)
    circuit = _counting_circuit()
    v, t = memory.chip.array.read_voltage, circuit.array.pulse_width
    for mode in ("sync", "async"):
        counter.reset()
        result = memory.recall(cues, mode=mode, max_iterations=30)
        counted = {k: dict(d) for k, d in (("g", counter.g), ("segments", counter.segments),
                                            ("bias", counter.bias), ("sensed", counter.sensed),
                                            ("levels", counter.levels))}
        m = measure_memory(memory, cues, targets, max_iterations=30)  # (counts again)
        steps = m.sync_steps if mode == "sync" else m.async_steps
        assert np.array_equal(steps, (result.iterations if mode == "sync"
                                      else result.reads).numpy())
        reads = layer_reads(m.layers, circuit, v, mode)
        stuck = [int(cb.stuck.sum()) for cb in memory.layers]
        assert [load.free_devices for load in m.layers] == [
            load.devices - s for load, s in zip(m.layers, stuck, strict=True)]
        assert (sum(stuck) > 0) == ("faults" in CASES[name])  # (programming skips them)
        for cb, load, read in zip(memory.layers, m.layers, reads, strict=True):
            total = float(np.sum(steps))
            assert total * read.energy["array"] == close(v ** 2 * t * counted["g"][id(cb)],
                                                          rel=1e-9), (mode, "array")
            # rows driven to other values than +-1 need DACs; rows of +-1 alone, 1-bit drivers
            assert (load.inputs == "analog") == counted["levels"][id(cb)], (mode, "inputs")
            per_row = COUNTING["drivers.dac_energy" if load.inputs == "analog"
                               else "drivers.binary_energy"]
            assert total * read.energy["drivers"] == close(
                per_row * counted["segments"][id(cb)]
                + COUNTING["drivers.binary_energy"] * counted["bias"][id(cb)]), (mode, "drivers")
            per_out = COUNTING["sensing.comparator_energy" if load.outputs == "sign"
                               else "sensing.adc_energy"]
            assert total * read.energy["sensing"] == close(
                per_out * counted["sensed"][id(cb)]), (mode, "sensing")


# ------------------------------------------------------------------------- calibration inputs
def _hand():
    """The hand-computed case of tests/test_energy.py: N = 4 with a bias row, two cues."""
    from test_energy import _hand_measurement, hand_circuit

    return _hand_measurement(), hand_circuit()


@pytest.mark.parametrize("keys, message", [
    # the array's energy is V**2 G t_pulse: solved for the latency, it moved the energy ratio
    # (the solver priced it at 0 s: "array.pulse_width must be in (0.0, 1.0] (s), got 0.0")
    ({"latency_key": "array.pulse_width"},
     r"^latency_key array\.pulse_width cannot be solved for the latency: the energy per "
     r"recall depends on it \(.*\); give a latency constant \(s\) that no energy depends on"),
    # a count is no constant of joules ("sensing.adc_bits must be an integer >= 1, got 0.0")
    ({"energy_key": "sensing.adc_bits"},
     r"^energy_key must be an energy constant \(J\) of the circuit, got sensing\.adc_bits "
     r"\(bit\)"),
    ({"energy_key": "control.select_latency", "latency_key": "control.step_latency"},
     r"^energy_key must be an energy constant \(J\) of the circuit, got "
     r"control\.select_latency \(s\)"),
    ({"latency_key": "sensing.columns_per_adc"},
     r"^latency_key must be a latency constant \(s\) of the circuit, got "
     r"sensing\.columns_per_adc \(count\)"),
    ({"latency_key": "drivers.binary_energy"},
     r"^latency_key must be a latency constant \(s\) of the circuit, got "
     r"drivers\.binary_energy \(J\)"),
])
def test_calibration_solves_an_energy_and_a_latency_constant_only(keys, message):
    m, circuit = _hand()
    with pytest.raises(ConfigError, match=message):
        calibrate(m, circuit, energy_ratio=3.95, latency_reduction=0.8, **keys)


def test_a_solution_out_of_a_constants_range_is_named_as_such():
    """A latency reduction of 99.999999999% needs a neuron selection of 525 s: it said
    "control.select_latency must be in [0.0, 1.0] (s), got 525.0", a value nobody typed."""
    m, circuit = _hand()
    with pytest.raises(ConfigError, match=(
            r"^no control\.select_latency in \[0\.0, 1\.0\] \(s\) gives a latency reduction "
            r"of 100\.00%: it takes 525 s; change the other constants")):
        calibrate(m, circuit, energy_ratio=3.95, latency_reduction=0.99999999999)


# ------------------------------------------------------------------------------ JSON output
def _numbers(value, path=""):
    """Every number in a JSON document with its path."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _numbers(v, f"{path}.{k}")
    elif isinstance(value, list):
        for k, v in enumerate(value):
            yield from _numbers(v, f"{path}[{k}]")
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield path, value


def test_json_costs_are_finite_in_stated_units_and_the_tables_numbers(run_cli):
    """Every cost in ``energy --json`` is finite and says its unit in its key (``_J``, ``_s``,
    ``_S``, ``_V``) or in ``circuit.units``; the tables print the same numbers."""
    from xbarmem.cli.energy import _si

    args = ["energy", "--neurons", "16", "--patterns", "3", "--rule", "pinv", "--probes", "3"]
    code, out, err = run_cli(*args, "--json")
    assert code == 0, err
    report = json.loads(out)
    for path, value in _numbers(report):
        assert math.isfinite(value), path
    for mode in ("sync", "async"):
        for key in ("energy_J", "latency_s", "energy_breakdown_J", "latency_breakdown_s"):
            assert key in report[mode] and key in report[mode]["per_step"]
    assert set(report["circuit"]["units"]) == {k for k, u in UNITS.items() if u}
    assert {"energy_J", "time_s"} <= set(report["programming"])
    assert all("g_total_S" in layer for layer in report["layers"])
    code, text, err = run_cli(*args)
    assert code == 0, err
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in text.splitlines() if line.count("│") >= 5}
    for mode in ("sync", "async"):
        for what, unit in (("energy", "J"), ("latency", "s")):
            stats = report[mode][f"{what}_{unit}"]
            assert rows[f"{mode} {what}"] == [_si(stats[k], unit) for k in ("mean", "std",
                                                                            "min", "max")]
    for comp in ("drivers", "array", "sensing", "total"):
        shown = [("-" if v == 0 else _si(v, u)) for v, u in (
            (report[m][f"{w}_{u}"]["mean"] if comp == "total"
             else report[m][f"{w}_breakdown_{u}"][comp], u)
            for w, u in (("energy", "J"), ("latency", "s")) for m in ("sync", "async"))]
        assert rows[comp] == shown, comp


# ------------------------------------------------------------------------- scaling with N
@settings(max_examples=50, deadline=None)
@given(st.integers(8, 400), st.floats(1.0, 3.0), st.floats(1.0, 3.0))
def test_async_over_sync_energy_follows_the_formulas_in_n(n, sweeps, steps):
    """With a device conductance g, sync recall of s steps costs s (N (N+1) a + (N+1) c e_d +
    N e_out + e_ctl) and async of w sweeps w N ((N+1) a + (N+1) e_d + e_out + e_ctl + e_sel)
    (a = V^2 t g per cell pair, c column tiles, e_out per sensed output): array energy per
    neuron update is the same both ways, so the ratio above w / s is what the per-read
    periphery adds. (At fixed steps it does not grow with N without bound: the array and the
    drivers, both ~N^2 per sweep either way, dominate; measured growth comes from the steps.)"""
    circuit = load_circuit("generic-rram")

    def layer(size):
        return LayerLoad(n_out=size, n_rows=size + 1, row_tiles=math.ceil((size + 1) / 64),
                         col_tiles=math.ceil(size / 64), tile_cols=64,
                         g_total=2 * size * (size + 1) * 20e-6, devices=2 * size * (size + 1),
                         free_devices=2 * size * (size + 1))

    def ratio(size):
        sync = step_cost([layer(size)], circuit, 0.2, "sync").total_energy * steps
        asyn = step_cost([layer(size)], circuit, 0.2, "async").total_energy * sweeps * size
        return asyn / sync

    a = 0.2 ** 2 * circuit.array.pulse_width * 2 * 20e-6
    c = circuit
    e_out = (c.sensing.comparator_energy + c.neuron.sign_energy + c.movement.bit_energy)
    tiles = math.ceil(n / 64)
    sync = steps * (n * (n + 1) * a + (n + 1) * tiles * c.drivers.binary_energy + n * e_out
                    + c.control.step_energy)
    asyn = sweeps * n * ((n + 1) * a + (n + 1) * c.drivers.binary_energy + e_out
                         + c.control.step_energy + c.control.select_energy)
    assert ratio(n) == close(asyn / sync, rel=1e-9)
    assert ratio(n) > sweeps / steps  # the periphery per read: async pays it per neuron


def test_a_bias_row_takes_a_one_bit_driver_before_analogue_inputs_too():
    """The bias row holds +V_read whatever the inputs: a DAC-driven (hidden-fed) layer of 32
    inputs and a bias row on 64 x 64 arrays drives 32 DAC rows and one 1-bit row per read;
    the model charged 33 DACs (the bias row's conversion of a constant)."""
    chip = load_chip("paper-sim")
    memory = build_memory(torch.where(torch.rand(3, 64) < 0.5, -1.0, 1.0), chip,
                          arch="multilayer", hidden=[32], rule_options={"max_steps": 5})
    output = LayerLoad.from_crossbar(memory.layers[-1], inputs="analog", outputs="sign")
    assert (output.n_rows, output.bias_rows, output.col_tiles) == (33, 1, 1)
    c = _counting_circuit()
    assert read_cost(output, c, 0.2).energy["drivers"] == close(32 * 2 * pJ + 1 * pJ)
    assert read_cost(output, c, 0.2, column=True).energy["drivers"] == close(32 * 2 * pJ + 1 * pJ)
    hidden = LayerLoad.from_crossbar(memory.layers[0], inputs="binary", outputs="tanh")
    assert read_cost(hidden, c, 0.2).energy["drivers"] == close(65 * 1 * pJ)


@pytest.mark.parametrize("change, factor", [
    ({"device": {"g_min": 4e-6, "g_max": 300e-6}}, 2.0),  # every conductance doubled
    ({"array": {"read_voltage": 0.4}}, 4.0),  # the read voltage doubled
])
def test_a_chip_with_doubled_conductances_or_voltage_recalls_alike_at_2x_or_4x_array_energy(
        change, factor):
    """End to end, on a chip without noise: the same weights on conductances twice as large
    (or read at twice the voltage) recall the same cues in the same steps; the array's energy
    per recall is 2x (4x), and nothing else (no other component, no latency) moves."""
    base = load_chip("ideal")
    other = base
    if "device" in change:
        other = other.replace_device(**change["device"])
    if "array" in change:
        other = other.replace_array(**change["array"])
    torch.manual_seed(1)
    x = torch.where(torch.rand(4, 20) < 0.5, -1.0, 1.0)
    flip = torch.rand(12, 20) < 0.15
    targets = x.repeat(3, 1)
    cues = torch.where(flip, -targets, targets)
    reports = []
    for chip in (base, other):
        memory = build_memory(x, chip, rule="pinv")
        m = measure_memory(memory, cues, targets)
        reports.append((m, energy_report(m, "generic-rram")))
    (m0, r0), (m1, r1) = reports
    assert np.array_equal(m0.sync_steps, m1.sync_steps)
    assert np.array_equal(m0.async_steps, m1.async_steps)
    for mode in ("sync", "async"):
        e0, e1 = r0[mode]["energy_breakdown_J"], r1[mode]["energy_breakdown_J"]
        assert e0["array"] > 0 and e1["array"] == close(factor * e0["array"], rel=1e-6)
        assert {k: v for k, v in e0.items() if k != "array"} == {
            k: v for k, v in e1.items() if k != "array"}
        assert r0[mode]["latency_s"] == r1[mode]["latency_s"]


@settings(max_examples=60, deadline=None)
@given(circuits(), st.floats(1e-15, 1e-12), st.floats(1e-10, 1e-7),
       st.lists(st.integers(1, 6), min_size=2, max_size=6),
       st.lists(st.integers(1, 6), min_size=2, max_size=6))
def test_calibration_inverts_the_model(circuit, energy, latency, sync_steps, sweeps):
    """Solved for the ratios a circuit gives, calibration started from other values of its two
    constants gives those constants back (the targets are affine in each: one solution) --
    as closely as the targets pin them: a driver energy of 1e-15 J beside a control energy of
    5e-10 J per step moves the energy ratio by a millionth of its own change, so the ratio,
    matched to 1e-9, pins it to a few millionths only (hypothesis found that case)."""
    from test_energy import tiny_layer

    circuit = circuit.with_value("drivers.binary_energy", energy).with_value(
        "control.select_latency", latency)
    m = Measurement(layers=[tiny_layer()], read_voltage=0.2, sync_steps=np.array(sync_steps),
                    async_steps=4 * np.array(sweeps), async_sweeps=np.array(sweeps))
    ratios = energy_report(m, circuit)["ratios"]
    assume(0 < ratios["latency_reduction"] < 1)  # (what a calibration target may be)
    rel = {}  # how closely a ratio matched to 1e-9 pins each constant: 1e-9 / its sensitivity
    for key, value, target in (("drivers.binary_energy", energy, "energy_ratio"),
                               ("control.select_latency", latency, "latency_reduction")):
        moved = energy_report(m, circuit.with_value(key, value * 1.01))["ratios"][target]
        sensitivity = abs(moved - ratios[target]) / abs(ratios[target]) / 0.01
        assume(sensitivity > 0)  # (a constant the targets do not see cannot be solved for)
        rel[key] = max(1e-6, 1e-9 / sensitivity)
    start = circuit.with_value("drivers.binary_energy", 3 * energy).with_value(
        "control.select_latency", latency / 3)
    solved, record = calibrate(m, start, energy_ratio=ratios["energy_ratio"],
                               latency_reduction=ratios["latency_reduction"], digits=17)
    assert solved.drivers.binary_energy == close(energy, rel=rel["drivers.binary_energy"])
    assert solved.control.select_latency == close(latency, rel=rel["control.select_latency"])
    assert record["result"]["energy_ratio"] == close(ratios["energy_ratio"], rel=1e-9)


# ----------------------------------------------------------------------- user circuit files
def _circuit_file(tmp_path, key, value):
    """generic-rram as `circuit show` prints it, with ``key`` set to the TOML text ``value``
    (None: the line removed)."""
    from xbarmem.energy.circuit import circuit_toml

    section, name = key.split(".")
    lines, current = [], ""
    for line in circuit_toml("generic-rram").splitlines():
        if line.startswith("["):
            current = line.strip("[]")
        if current == section and line.split("=")[0].strip() == name:
            if value is None:
                continue
            line = f"{name} = {value}"
        lines.append(line)
    path = tmp_path / "mine.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("key", [k for k in UNITS if k != "sensing.sign_readout"])
@pytest.mark.parametrize("value", ["-1e-12", "nan", "inf", None, '"1e-12"'])
def test_every_circuit_constant_is_checked_before_any_work(tmp_path, run_cli, key, value):
    """Negative, NaN, infinite, missing or quoted: one line naming the key, exit 2, before
    anything is trained or written (the --calibrate folder is not made)."""
    path = _circuit_file(tmp_path, key, value)
    out = tmp_path / "out"
    code, stdout, err = run_cli("energy", "--neurons", "16", "--circuit", path, "--calibrate",
                                "--out", out)
    assert code == 2 and stdout == "", err
    assert err.count("\n") == 1 and err.startswith(f"error: {path}: ") and key in err, err
    assert not out.exists()


@pytest.mark.parametrize("key, inputs", [("drivers.binary_energy", "binary"),
                                         ("drivers.dac_energy", "analog")])
def test_a_row_drivers_energy_is_a_constant_of_ones_own_circuit_with_unit_and_source(
        tmp_path, run_cli, key, inputs):
    """The energy per driven row is a circuit constant a user sets in their circuit file: the
    drivers' energy follows it, and the report gives it with its unit (J) and where the
    circuit's values come from (``circuit.source``: the report named no source); ``energy
    --help`` tells where the constants are set."""
    layer = LayerLoad(n_out=4, n_rows=4, row_tiles=1, col_tiles=1, tile_cols=4,
                      g_total=32 * 1e-6, devices=32, free_devices=32, inputs=inputs,
                      outputs="sign", bias_rows=0)
    m = Measurement(layers=[layer], read_voltage=0.2, sync_steps=[2], async_steps=[8],
                    async_sweeps=[2])
    mine = load_circuit(_circuit_file(tmp_path, key, "7e-13"))
    report = energy_report(m, mine)
    assert report["sync"]["per_step"]["energy_breakdown_J"]["drivers"] == close(4 * 7e-13)
    assert report["circuit"]["constants"][key] == 7e-13
    assert report["circuit"]["units"][key] == "J"
    assert report["circuit"]["source"] == mine.source == load_circuit("generic-rram").source
    assert mine.source
    code, stdout, _ = run_cli("energy", "--help")
    assert code == 0 and "circuit show" in " ".join(stdout.split())
