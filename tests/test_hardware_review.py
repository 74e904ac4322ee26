"""The device and crossbar model as a circuit designer checks it (hypothesis, derandomized):
weights <-> conductances on differential pairs, stuck-at faults, tiling onto fixed arrays,
write and read noise, and what a chip description may hold.

* Mapping: every programmed conductance in ``[g_min, g_max]`` (on the levels without write
  error); a free pair holds ``w >= 0`` on G+ with G- at g_min (and the mirror); ``w_max`` maps
  to the full window; weights -> conductances -> weights exact without noise and levels,
  within half a level step with them; a pair next to a stuck device holds the weight
  projected onto its interval.
* Faults: stuck ON at g_max, OFF at g_min, each device Bernoulli with its rate (the weight
  model: each pair, both devices at g_min); one seed, one map whatever the number of arrays
  or the ON / OFF split of a total rate; a higher rate only adds stuck devices; rates 0 and
  1; stuck devices never programmed. A weight-model map's faulty pair is a weight of 0.
* Tiling: sizes that do not divide the arrays; the cells a matrix leaves unused are never
  read (faults there change nothing) nor counted as its weights.
* Noise: the write error is drawn once per programming from its seed, in siemens, clipped to
  the window; read noise at every read from its generator; zero noise exact.
* Chip descriptions: every bad value refused naming its key, a name over two lines too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from xbarmem import ArraySpec, ChipSpec, DeviceSpec, FaultMap, load_preset
from xbarmem.energy.circuit import load_circuit
from xbarmem.errors import ConfigError
from xbarmem.hardware.crossbar import Crossbar, arrays_needed
from xbarmem.hardware.faults import highest_reading
from xbarmem.memory.base import Memory
from xbarmem.spec import Presets, Spec, Text

FEW = settings(max_examples=30, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.too_slow])
#: float32 weights: a round trip is exact to their rounding, relative to w_max
F32 = 4 * float(np.finfo(np.float32).eps)


@st.composite
def chips(draw, *, model="device", levels=None, faults=True, noise=False):
    """A chip the spec accepts: a window anywhere from 1e-10 to 1e-2 S (g_min 0 or not),
    tiles of 1..7 x 1..7 cells, stuck rates up to 0.3 each; ``model`` None: either."""
    low = draw(st.floats(-10.0, -3.0))
    g_min = draw(st.sampled_from([0.0, 0.01, 0.5])) * 10 ** low
    g_max = 10 ** (low + draw(st.floats(0.05, 1.5)))
    lv = draw(st.sampled_from([0, 2, 3, 5, 16, 256])) if levels is None else levels
    window = g_max - g_min
    on, off = (draw(st.floats(0.0, 0.3)), draw(st.floats(0.0, 0.3))) if faults else (0, 0)
    return ChipSpec(DeviceSpec(g_min=g_min, g_max=g_max, levels=lv,
                               write_noise=0.05 * window if noise else 0.0,
                               read_noise=0.01 * window if noise else 0.0,
                               p_stuck_on=on, p_stuck_off=off),
                    ArraySpec(rows=draw(st.integers(1, 7)), cols=draw(st.integers(1, 7)),
                              weight_range=draw(st.sampled_from([0.1, 0.5, 3.0])),
                              fault_model=model or draw(st.sampled_from(["device", "weight"]))))


def _crossbar(chip: ChipSpec, n_out: int, n_in: int, seed: int, *, measured: bool = False,
              bias: bool = True) -> Crossbar:
    """A crossbar on a generated map; ``measured``: its stuck devices read anywhere from 0 to
    the highest reading a map may hold (off the window's rails and levels)."""
    faults = FaultMap.generate(chip, arrays_needed(chip, n_out, n_in + bias), seed=seed)
    if measured:
        g = np.random.default_rng(seed).random(faults.g_stuck.shape) * highest_reading(
            chip.device)
        faults = FaultMap(np.where(faults.stuck, g, np.nan), {"source": "test"})
    return Crossbar(chip, n_out, n_in, faults, bias=bias)


def _weights(n_out: int, n_in: int, seed: int, scale: float) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    return (scale * (2 * torch.rand(n_out, n_in, generator=gen) - 1),
            scale * (2 * torch.rand(n_out, generator=gen) - 1))


def _step(chip: ChipSpec, w_max: float) -> float:
    """D, the weight step of one level (0 on a continuous chip)."""
    return w_max / (chip.device.levels - 1) if chip.device.levels else 0.0


# ------------------------------------------------------------------------- the mapping
@FEW
@given(chips(faults=False), st.integers(1, 9), st.integers(1, 9), st.integers(0, 999))
def test_a_free_pair_holds_its_weight_on_one_device_and_the_other_at_g_min(chip, n_out, n_in,
                                                                          seed):
    """``w = w_max (G+ - G-) / (g_max - g_min)``: a weight >= 0 on G+ with G- at g_min, a
    negative one on G- with G+ at g_min; +-w_max a full window apart; back to the weights
    exactly on a continuous chip, within half a level step (and on the levels) with levels."""
    dev, w_max = chip.device, chip.array.weight_range
    xb = _crossbar(chip, n_out, n_in, seed)
    w, b = _weights(n_out, n_in, seed, w_max)
    w[0, 0] = w_max  # the full window, both signs
    b[-1] = -w_max
    xb.program(w, b, seed=seed)
    g_pos, g_neg = xb.planes()
    a = torch.cat([w, b[:, None]], 1).double().numpy()
    assert ((g_pos >= dev.g_min) & (g_pos <= dev.g_max)).all()
    assert ((g_neg >= dev.g_min) & (g_neg <= dev.g_max)).all()
    np.testing.assert_array_equal(np.where(a >= 0, g_neg, g_pos), dev.g_min)
    if dev.levels:  # the top level is g_max itself (was an ulp below it on some windows)
        assert g_pos[0, 0] == dev.g_max and g_neg[-1, n_in] == dev.g_max
    else:  # g_min + (g_max - g_min): to an ulp
        assert g_pos[0, 0] == pytest.approx(dev.g_max, rel=1e-12)
        assert g_neg[-1, n_in] == pytest.approx(dev.g_max, rel=1e-12)
    held = torch.cat([xb.effective()[0], xb.effective()[1][:, None]], 1).double().numpy()
    tol = F32 * w_max + _step(chip, w_max) / 2
    np.testing.assert_allclose(held, a, rtol=0, atol=tol)
    if dev.levels:
        for g in (g_pos, g_neg):
            k = (g - dev.g_min) / (dev.g_range / (dev.levels - 1))
            np.testing.assert_allclose(k, np.round(k), rtol=0, atol=1e-6)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.floats(1e-9, 1e-3), st.floats(0.0, 0.9), st.integers(2, 300))
@example(0.0019109529749704406, 0.0, 16)
def test_the_top_level_is_g_max_itself(g_max, share, levels):
    """The levels are ``g_min + k (g_max - g_min) / (levels - 1)``, the top one g_max: a
    full-window weight was programmed (and exported) an ulp below it on some windows."""
    chip = ChipSpec(DeviceSpec(g_min=share * g_max, g_max=g_max, levels=levels),
                    ArraySpec(rows=2, cols=2))
    xb = _crossbar(chip, 2, 1, 0, bias=False)
    w = chip.array.weight_range * torch.tensor([[1.0], [-1.0]])
    g = xb.program(w).planes()
    assert g[0, 0, 0] == g_max and g[1, 1, 0] == g_max


@FEW
@given(chips(), st.booleans(), st.integers(1, 9), st.integers(1, 9), st.integers(0, 999))
def test_a_pair_with_a_stuck_device_holds_the_weight_its_interval_allows(chip, measured,
                                                                         n_out, n_in, seed):
    """Stuck devices (at the rails, or anywhere a measured map puts them) keep their
    conductance; the weight held is the asked one projected onto ``bounds()``, exactly on a
    continuous chip, within half a level step with levels; free devices stay in the window."""
    xb = _crossbar(chip, n_out, n_in, seed, measured=measured)
    dev, w_max = chip.device, chip.array.weight_range
    w, b = _weights(n_out, n_in, seed, 1.5 * w_max)
    xb.program(w, b, seed=seed)
    planes, stuck = xb.planes(), xb.stuck
    np.testing.assert_array_equal(planes[stuck], xb.g_stuck[stuck])
    assert ((planes[~stuck] >= dev.g_min) & (planes[~stuck] <= dev.g_max)).all()
    lo, hi = (t.double() for t in xb.bounds())
    wanted = torch.clamp(torch.cat([w, b[:, None]], 1).double(), lo, hi)
    held = torch.cat([xb.effective()[0], xb.effective()[1][:, None]], 1).double()
    tol = F32 * (w_max + float(hi.abs().max())) + _step(chip, w_max) / 2
    assert float((held - wanted).abs().max()) <= tol
    assert bool((held >= lo - tol).all() and (held <= hi + tol).all())


@FEW
@given(chips(model="weight"), st.integers(1, 9), st.integers(1, 9), st.floats(0.01, 100.0),
       st.integers(0, 999))
def test_the_weight_model_pins_faulty_weights_at_0_and_scales_the_free_ones(chip, n_out, n_in,
                                                                           scale, seed):
    """A faulty pair (both devices at g_min) holds 0; the largest free |weight| (the bias row
    is never faulty) is w_max, a full window; the free ones round trip as on a device chip."""
    xb = _crossbar(chip, n_out, n_in, seed)
    w, b = _weights(n_out, n_in, seed, scale)
    xb.program(w, b)
    a = torch.cat([w, b[:, None]], 1)
    free = torch.as_tensor(~xb.stuck.any(axis=0))
    assert free[:, n_in].all()
    assert xb.w_max == pytest.approx(float(a[free].abs().max()), rel=1e-6)
    held = torch.cat([xb.effective()[0], xb.effective()[1][:, None]], 1)
    assert (held[~free] == 0).all()
    tol = F32 * xb.w_max + _step(chip, xb.w_max) / 2
    assert float((held - a)[free].abs().max()) <= tol
    assert float(xb.planes().max()) == pytest.approx(chip.device.g_max, rel=1e-12)


def test_a_weight_model_pair_stuck_at_two_conductances_is_refused():
    """Under the weight model a faulty pair is a weight of 0, and training and ``bounds()``
    took it so; a measured map with a pair stuck at g_max and g_min was taken, and the pair
    held w_max on the chip (0.3, the largest free weight, where 0 was meant)."""
    chip = load_preset("paper-sim").replace_array(rows=2, cols=2)
    codes = np.zeros((1, 2, 2, 2))
    codes[0, 0, 0, 1], codes[0, 1, 0, 1] = 1, -1  # input row 0 of output 1: G+ ON, G- OFF
    with pytest.raises(ConfigError, match="two stuck at different conductances.*weight fault"):
        Crossbar(chip, 2, 1, FaultMap.from_codes(codes, chip.device))
    codes[0, 1, 0, 1] = 1  # both ON: a weight of 0, as the model says
    xb = Crossbar(chip, 2, 1, FaultMap.from_codes(codes, chip.device))
    xb.program(torch.tensor([[0.3], [0.7]]), torch.tensor([0.2, -0.1]))
    assert float(xb.effective()[0][1, 0]) == 0.0


# ------------------------------------------------------------------------- faults
@FEW
@given(chips(model=None), st.integers(0, 2**32),
       st.integers(1, 4))
def test_one_seed_gives_one_map_whatever_else_changes(chip, seed, extra):
    """The first arrays of a map of more arrays are the same; the stuck devices of a total
    rate do not depend on its ON / OFF split; a higher rate only adds stuck devices."""
    base = FaultMap.generate(chip, 2, seed=seed)
    more = FaultMap.generate(chip, 2 + extra, seed=seed)
    np.testing.assert_array_equal(more.g_stuck[:2], base.g_stuck)
    assert base == FaultMap.generate(chip, 2, seed=seed)
    rate = chip.device.fault_rate
    split = FaultMap.generate(chip.with_faults(rate, 0.25), 2, seed=seed)
    np.testing.assert_array_equal(split.stuck, base.stuck)
    higher = FaultMap.generate(chip.with_faults(min(1.0, rate + 0.2)), 2, seed=seed)
    assert (higher.stuck | ~base.stuck).all()


@pytest.mark.parametrize("model", ["device", "weight"])
@pytest.mark.parametrize("on, off", [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (0.25, 0.75),
                                     (0.1, 0.2)])
def test_stuck_devices_sit_at_their_rail_at_their_rate(model, on, off):
    """ON at g_max, OFF at g_min, each device drawn independently (Bernoulli: within 5 std of
    its rate; all or none at 1 and 0); the weight model's faulty pairs both at g_min."""
    chip = load_preset("rram").replace_device(p_stuck_on=on, p_stuck_off=off)
    chip = chip.replace_array(fault_model=model)
    fmap = FaultMap.generate(chip, 6, seed=11)
    g, dev = fmap.g_stuck, chip.device
    if model == "device":
        n = g.size
        counts = [((g == dev.g_max).sum(), on), ((g == dev.g_min).sum(), off)]
        assert fmap.stuck.sum() == (g == dev.g_max).sum() + (g == dev.g_min).sum()
    else:
        n = g[:, 0].size
        assert (fmap.stuck[:, 0] == fmap.stuck[:, 1]).all()
        assert (g[fmap.stuck] == dev.g_min).all()
        counts = [(fmap.stuck[:, 0].sum(), on + off)]
    for count, p in counts:
        assert abs(count - n * p) <= 5 * math.sqrt(n * p * (1 - p)), (count, n, p)


@pytest.mark.parametrize("preset", ["rram", "paper-sim"])
def test_all_devices_stuck_still_programs_and_never_moves_them(preset):
    chip = load_preset(preset).with_faults(1.0, 0.3)
    xb = Crossbar(chip, 5, 5, FaultMap.generate(chip, 1, seed=2))
    w, b = _weights(5, 5, 0, 1.0)
    xb.program(w, b, seed=4)
    free = ~xb.stuck
    np.testing.assert_array_equal(xb.planes()[~free], xb.g_stuck[~free])
    if preset == "paper-sim":  # the bias row alone is free: the largest |b| is w_max
        assert free[:, :, 5].all() and not free[:, :, :5].any()
        torch.testing.assert_close(xb.effective()[1], b)
        assert (xb.effective()[0] == 0).all()


# ------------------------------------------------------------------------- tiling
@FEW
@given(chips(), st.integers(1, 20), st.integers(1, 20), st.booleans(), st.integers(0, 999))
def test_cells_a_matrix_leaves_unused_are_neither_read_nor_counted(chip, n_out, n_in, bias,
                                                                   seed):
    """Sizes that do not divide the arrays: the matrix takes ceil(rows) x ceil(cols) arrays;
    ``scatter`` puts every weight in one cell and ``_gather`` reads it back; the cells it leaves
    unused may be stuck anyhow without changing what it holds; a memory counts its weights,
    not the arrays' cells."""
    arr = chip.array
    rows = n_in + bias
    xb = _crossbar(chip, n_out, n_in, seed, bias=bias)
    assert xb.n_arrays == math.ceil(rows / arr.rows) * math.ceil(n_out / arr.cols)
    logical = np.arange(2 * n_out * rows, dtype=float).reshape(2, n_out, rows)
    physical = xb.scatter(logical)
    used = ~np.isnan(physical)
    assert used.sum() == logical.size and physical.shape[0] == xb.n_arrays
    np.testing.assert_array_equal(xb._gather(physical), logical)
    faults = xb.faults.g_stuck.copy()
    rng = np.random.default_rng(seed)
    unused = np.zeros(faults.shape, dtype=bool)
    unused[: xb.n_arrays] = ~used
    spoilt = np.where(unused, rng.choice([chip.device.g_min, chip.device.g_max], faults.shape),
                      faults)
    if chip.array.fault_model == "weight":  # whole pairs
        spoilt[:, 1] = np.where(unused[:, 1], spoilt[:, 0], spoilt[:, 1])
    other = Crossbar(chip, n_out, n_in, FaultMap(spoilt, {}), bias=bias)
    w, b = _weights(n_out, n_in, seed, 1.0)
    b = b if bias else None
    np.testing.assert_array_equal(xb.program(w, b, seed=seed).planes(),
                                  other.program(w, b, seed=seed).planes())
    n = max(2, n_in)
    faults = FaultMap.generate(chip, arrays_needed(chip, n, n + bias), seed=seed)
    devices = Memory([n, n], chip, faults, bias=bias).devices()
    assert (devices["weights"], devices["devices"]) == (n * (n + bias), 2 * n * (n + bias))


def test_a_map_sized_for_the_weights_not_the_arrays_is_refused():
    chip = load_preset("rram").replace_array(rows=8, cols=8)
    weights_sized = FaultMap.empty(1, 10, 10)  # a 10x10 matrix's map, not 8x8 arrays
    with pytest.raises(ConfigError, match="arrays of 10x10 cells, but the .* 8x8"):
        Crossbar(chip, 10, 9, weights_sized)
    with pytest.raises(ConfigError, match="needs arrays 0..3 of 8x8.*covers only 1 array"):
        Crossbar(chip, 10, 9, FaultMap.empty(1, 8, 8))


# ------------------------------------------------------------------------- noise
@FEW
@given(chips(noise=True), st.integers(1, 9), st.integers(1, 9), st.integers(0, 999))
def test_write_error_is_drawn_once_per_programming_and_read_noise_at_every_read(
        chip, n_out, n_in, seed):
    xb = _crossbar(chip, n_out, n_in, seed)
    w, b = _weights(n_out, n_in, seed, chip.array.weight_range)
    first = xb.program(w, b, seed=seed).planes()
    dev = chip.device
    assert ((first >= dev.g_min) & (first <= dev.g_max) | xb.stuck).all()  # clipped
    np.testing.assert_array_equal(xb.program(w, b, seed=seed).planes(), first)
    x = torch.ones(3, n_in)
    reads = [xb.matvec(x, torch.Generator().manual_seed(7)) for _ in range(2)]
    torch.testing.assert_close(reads[0], reads[1], rtol=0, atol=0)  # one seed, one read
    assert not torch.equal(xb.matvec(x, torch.Generator().manual_seed(8)), reads[0])
    np.testing.assert_array_equal(xb.planes(), first)  # reading never reprograms
    quiet = chip.replace_device(write_noise=0.0, read_noise=0.0)
    exact = Crossbar(quiet, n_out, n_in, xb.faults).program(w, b, seed=seed)
    assert np.array_equal(first, exact.planes()) == bool(xb.stuck.all())  # the error, drawn
    y = exact.matvec(x, torch.Generator().manual_seed(9))
    torch.testing.assert_close(y, exact.matvec(x), rtol=0, atol=0)
    torch.testing.assert_close(y, torch.cat([x, torch.ones(3, 1)], 1) @ torch.cat(
        [exact.effective()[0], exact.effective()[1][:, None]], 1).T)


def test_write_error_is_a_std_in_siemens_around_the_target():
    """Mid-window targets (no clipping): the error has mean 0 and std write_noise siemens
    whatever the weight range; a different seed draws another error."""
    noise = 3e-6
    chip = load_preset("ideal").replace_device(write_noise=noise).replace_array(
        rows=64, cols=64, weight_range=7.0)
    xb = Crossbar(chip, 64, 63, FaultMap.generate(chip, 1))
    w = torch.full((64, 63), 3.5)  # G+ at mid-window, G- at g_min (clipped: not used)
    dev = chip.device
    mid = dev.g_min + 0.5 * dev.g_range
    error = xb.program(w, seed=1).planes()[0, :, :63] - mid
    assert abs(error.mean()) < 4 * noise / math.sqrt(error.size)
    assert float(error.std()) == pytest.approx(noise, rel=0.05)
    assert not np.array_equal(xb.program(w, seed=2).planes(), xb.program(w, seed=1).planes())


# ------------------------------------------------------------------------- chip descriptions
@pytest.mark.parametrize("make, key", [
    (lambda: DeviceSpec(g_min=1e-4, g_max=1e-4), "device.g_min"),
    (lambda: DeviceSpec(g_min=2e-4, g_max=1e-4), "device.g_min"),
    (lambda: DeviceSpec(g_min=-1e-6), "device.g_min"),
    (lambda: DeviceSpec(g_max=-1e-6), "device.g_max"),
    (lambda: DeviceSpec(write_noise=-1e-6), "device.write_noise"),
    (lambda: DeviceSpec(levels=1), "device.levels"),
    (lambda: DeviceSpec(levels=-3), "device.levels"),
    (lambda: DeviceSpec(levels=2.5), "device.levels"),
    (lambda: DeviceSpec(p_stuck_on=1.5), "device.p_stuck_on"),
    (lambda: DeviceSpec(p_stuck_off=-0.1), "device.p_stuck_off"),
    (lambda: DeviceSpec(p_stuck_on=0.7, p_stuck_off=0.4), "device.p_stuck_on"),
    (lambda: DeviceSpec(g_max=float("nan")), "device.g_max"),
    (lambda: DeviceSpec(g_min=float("inf")), "device.g_min"),
    (lambda: DeviceSpec(read_noise=float("inf")), "device.read_noise"),
    (lambda: DeviceSpec(p_stuck_on=float("nan")), "device.p_stuck_on"),
    (lambda: ArraySpec(rows=0), "array.rows"),
    (lambda: ArraySpec(cols=0), "array.cols"),
    (lambda: ArraySpec(weight_range=float("nan")), "array.weight_range"),
    (lambda: ArraySpec(weight_range=0.0), "array.weight_range"),
    (lambda: ArraySpec(read_voltage=float("inf")), "array.read_voltage"),
    (lambda: ArraySpec(fault_model="pairs"), "array.fault_model"),
    # a window float64 cannot resolve, or no device's: NaN weights, 0.5 programmed as 0.25
    (lambda: DeviceSpec(g_min=0.0, g_max=5e-324), "device.g_max"),
    (lambda: DeviceSpec(g_min=1e-300, g_max=2e-300), "device.g_max"),
    (lambda: DeviceSpec(g_min=1.0 - 1e-16, g_max=1.0), "device.g_max - device.g_min"),
    (lambda: DeviceSpec(g_min=1e-6, g_max=1e-6 * (1 + 1e-9)), "device.g_max - device.g_min"),
])
def test_a_chip_no_device_has_is_refused_naming_its_key(make, key):
    with pytest.raises(ConfigError, match=f"^{key}"):
        make()


@pytest.mark.parametrize("name", ["a\nb", "a\tb", "", "   ", "x\x00"])
def test_a_name_over_two_lines_is_refused_in_python_as_in_files(name):
    """Chip and circuit files were checked for one-line names; ``ChipSpec(name="a\\nb")``,
    ``replace`` and ``from_dict`` took it and printed it in every title."""
    for build in (lambda: ChipSpec(name=name), lambda: ChipSpec().replace(name=name),
                  lambda: ChipSpec.from_dict({"name": name}),
                  lambda: load_circuit("generic-rram").replace(name=name)):
        with pytest.raises(ConfigError, match="^name must be one line of printable text"):
            build()


def test_windows_and_names_the_spec_takes_still_work():
    chip = ChipSpec(DeviceSpec(g_min=1e-15 * 0.5, g_max=1e-15), name="my chip (v2)")
    assert ChipSpec.from_toml(chip.to_toml()) == chip
    narrow = DeviceSpec(g_min=1e-4, g_max=1e-4 * (1 + 2e-6))
    xb = Crossbar(ChipSpec(narrow, ArraySpec(rows=2, cols=2)), 2, 1, FaultMap.empty(1, 2, 2))
    w = torch.tensor([[0.5], [-0.25]])
    torch.testing.assert_close(xb.program(w).effective()[0], w, rtol=0, atol=1e-6)


@dataclass(frozen=True)
class _Named(Spec, noun="thing"):
    name: Annotated[str, Text()] = "custom"


def test_a_spec_loaded_by_name_declares_the_name_rule():
    """The name rule is the one check of a name read from a file: a spec loaded by
    :class:`Presets` whose ``name`` is any text would let files through unchecked."""
    with pytest.raises(TypeError, match="declare its field name: Annotated"):
        Presets(_Named, "xbarmem.hardware", "presets", "thing")
