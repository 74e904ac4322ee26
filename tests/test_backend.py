"""Chip backends: the simulated chip, a physical-array driver adapter, and a stand-in backend
with its own device laws running end to end through the same protocol."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch

from xbarmem import FaultMap, Protocol, evaluate_memory, load_preset
from xbarmem.deploy.backend import (
    BackendMemory,
    ChipBackend,
    DriverBackend,
    SimulatedChip,
    conductance_targets,
    simulated_backends,
    twin_layer,
)
from xbarmem.deploy.chip_loop import adapt
from xbarmem.errors import ArgumentError, ConfigError, PatternError
from xbarmem.hardware.crossbar import Crossbar
from xbarmem.memory.multilayer import MultilayerMemory

FAST = {"max_steps": 200, "finetune_steps": 50, "window": 50}


@pytest.fixture(scope="module")
def memory(pats, trained):
    chip = load_preset("rram").with_faults(0.1)
    return trained(pats.patterns, chip, fault_seed=1, program_seed=3, **FAST)


def _cues(pats, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.tensor(pats.patterns).repeat(5, 1)
    flips = torch.rand(x.shape, generator=gen) < 0.1
    return torch.where(flips, -x, x)


# ---------------------------------------------------------------------------------- simulated
def test_simulated_chip_reproduces_open_loop_programming_exactly(memory, pats):
    backend = SimulatedChip.like(memory.crossbar, seed=3)  # same seed as the model's program
    assert isinstance(backend, ChipBackend)
    view = BackendMemory(memory, backend)
    view.program_targets()
    np.testing.assert_array_equal(backend.conductances()[0], memory.crossbar.g_pos)
    np.testing.assert_array_equal(backend.conductances()[1], memory.crossbar.g_neg)
    cues = _cues(pats)
    for mode in ("sync", "async"):
        a = view.recall(cues, mode=mode, seed=4)
        b = memory.recall(cues, mode=mode, seed=4)
        assert torch.equal(a.states, b.states) and torch.equal(a.iterations, b.iterations)
    score = evaluate_memory(view, pats, Protocol(probes=5))
    assert score.cosine == evaluate_memory(memory, pats, Protocol(probes=5)).cosine


def test_targets_are_program_without_write_error(memory):
    layer = memory.crossbar
    targets, w_max = conductance_targets(layer, memory.target_weights, memory.target_bias)
    assert w_max == layer.w_max and targets.shape == (2, 25, 26)
    dev = memory.chip.device
    free = ~layer.stuck
    assert (targets[free] >= dev.g_min).all() and (targets[free] <= dev.g_max).all()
    np.testing.assert_array_equal(targets[layer.stuck], layer.g_stuck[layer.stuck])
    # the programmed conductances differ from their targets only by the (clipped) write error
    programmed = np.stack([layer.g_pos, layer.g_neg])
    err = (programmed - targets)[free]
    assert 0 < np.abs(err).max() < 6 * dev.write_noise + 1e-12
    assert abs(err.std() - dev.write_noise) < 0.5 * dev.write_noise


def test_program_writes_only_given_free_devices_and_read_back_is_noisy(memory):
    chip = memory.chip
    sim = SimulatedChip.like(memory.crossbar, seed=0, read_averages=1)
    start = sim.conductances()
    dev = chip.device
    layer = sim.crossbar
    np.testing.assert_array_equal(start[layer.stuck], layer.g_stuck[layer.stuck])
    assert (start[~layer.stuck] == dev.g_min).all()  # erased
    targets = np.full(start.shape, np.nan)
    free_idx = tuple(int(i) for i in np.argwhere(~layer.stuck)[0])
    stuck_idx = tuple(int(i) for i in np.argwhere(layer.stuck)[0])
    targets[free_idx] = 80e-6
    targets[stuck_idx] = 100e-6  # a write to a stuck device changes nothing
    assert sim.program(targets) == 2
    after = sim.conductances()
    changed = after != start
    assert changed.sum() == 1 and changed[free_idx]
    assert abs(after[free_idx] - 80e-6) < 6 * dev.write_noise
    reads = np.stack([sim.read_back() for _ in range(40)])
    assert abs(reads.std(axis=0).mean() - dev.read_noise) < 0.2 * dev.read_noise
    averaged = SimulatedChip(twin_layer(layer), seed=1, read_averages=16)
    reads16 = np.stack([averaged.read_back() for _ in range(40)])
    assert reads16.std(axis=0).mean() < 0.4 * dev.read_noise
    with pytest.raises(PatternError, match=r"shape \(2, 25, 26\)"):
        sim.program(np.zeros((2, 3, 3)))
    with pytest.raises(PatternError, match=">= 0"):
        sim.program(-np.ones(start.shape))


def test_other_chip_must_share_window_and_arrays(memory):
    wider = memory.chip.replace_device(g_max=200e-6)
    with pytest.raises(ConfigError, match="window"):
        SimulatedChip.like(memory.crossbar, chip=wider)
    noisier = memory.chip.replace_device(write_noise=9e-6)
    assert SimulatedChip.like(memory.crossbar, chip=noisier).crossbar.chip.device.write_noise \
        == 9e-6


def test_backend_memory_checks_its_backends(memory):
    with pytest.raises(ConfigError, match="one backend per layer"):
        BackendMemory(memory, [])
    with pytest.raises(ConfigError, match="does not implement ChipBackend"):
        BackendMemory(memory, [object()])
    small = Crossbar(memory.chip, 5, 5, FaultMap.empty(1, 64, 64), bias=True)
    with pytest.raises(ConfigError, match="5x5"):
        BackendMemory(memory, SimulatedChip(small))


def test_multilayer_is_wiring_only():
    chip = load_preset("rram").replace_array(rows=16, cols=16).with_faults(0.05)
    mem = MultilayerMemory(20, 8, chip, fault_seed=2)
    gen = torch.Generator().manual_seed(0)
    mem.program([0.3 * torch.randn(8, 20, generator=gen), 0.3 * torch.randn(20, 8, generator=gen)],
                [torch.zeros(8), torch.zeros(20)], seed=5)
    view = BackendMemory(mem, simulated_backends(mem, seed=5))
    view.program_targets()  # layer k seeded 5 + 7919 k, like MultilayerMemory.program
    for layer, be in zip(mem.layers, view.backends, strict=True):
        np.testing.assert_array_equal(be.conductances()[0], layer.g_pos)
    cues = torch.where(torch.randn(6, 20, generator=gen) > 0, 1.0, -1.0)
    for mode in ("sync", "async"):
        assert torch.equal(view.recall(cues, mode=mode, seed=1).states,
                           mem.recall(cues, mode=mode, seed=1).states)


# ---------------------------------------------------------------------------------- drivers
class NumpyArrays:
    """A fake hardware driver: physical arrays of exact conductances (siemens), exact sensing."""

    def __init__(self, n_arrays: int, rows: int, cols: int, g_min: float) -> None:
        self.g = np.full((n_arrays, 2, rows, cols), g_min)
        self.writes: list[int] = []

    def write(self, array: int, targets: np.ndarray) -> None:
        self.writes.append(array)
        self.g[array] = np.where(np.isnan(targets), self.g[array], targets)

    def read(self, array: int) -> np.ndarray:
        return self.g[array].copy()

    def apply(self, array: int, voltages: np.ndarray) -> np.ndarray:
        return np.einsum("br,prc->bpc", voltages, self.g[array])  # amperes per plane


def test_driver_backend_tiles_and_scales_like_the_crossbar():
    chip = load_preset("ideal").replace_array(rows=8, cols=8)
    faults = FaultMap.empty(6, 8, 8)
    layer = Crossbar(chip, 12, 12, faults, bias=True, first_array=2)  # 13 rows: 2 x 2 tiles
    gen = torch.Generator().manual_seed(0)
    w, b = 0.2 * torch.randn(12, 12, generator=gen), 0.1 * torch.randn(12, generator=gen)
    layer.program(w, b)
    driver = NumpyArrays(6, 8, 8, chip.device.g_min)
    backend = DriverBackend(driver, layer)
    assert NumpyArrays.__bases__ == (object,)  # a driver needs no base class
    assert isinstance(backend, ChipBackend)
    targets, _ = conductance_targets(layer, w, b)
    assert backend.program(targets) == targets.size
    assert sorted(driver.writes) == [2, 3, 4, 5]
    assert (driver.g[:2] == chip.device.g_min).all()  # arrays of other layers untouched
    np.testing.assert_allclose(backend.read_back(), np.stack([layer.g_pos, layer.g_neg]))
    x = torch.where(torch.randn(7, 12, generator=gen) > 0, 1.0, -1.0)
    torch.testing.assert_close(backend.matvec(x), layer.matvec(x), rtol=1e-5, atol=1e-6)
    idx = torch.arange(7) % 12
    torch.testing.assert_close(backend.read_outputs(x, idx), layer.read_outputs(x, idx),
                               rtol=1e-5, atol=1e-6)
    partial = np.full(targets.shape, np.nan)
    partial[1, 11, 12] = 50e-6  # bias row, last output: array 5 only
    driver.writes.clear()
    assert backend.program(partial) == 1 and driver.writes == [5]


@pytest.mark.parametrize(("scale", "unit"), [(1e3, "milliamperes (mA)"),
                                           (1e6, "microamperes (uA)"),
                                           (1e9, "nanoamperes (nA)")])
def test_driver_currents_in_another_unit_are_named(scale, unit):
    """A driver reporting its instrument's microamperes (or nA, mA) was taken: one-layer sign
    recall did not show it, and a multilayer memory's tanh hidden layer or continuous recall
    went wrong silently."""
    chip = load_preset("ideal").replace_array(rows=8, cols=8)
    layer = Crossbar(chip, 10, 10, FaultMap.empty(4, 8, 8), bias=True)  # 2 x 2 tiles
    w = 0.2 * torch.randn(10, 10, generator=torch.Generator().manual_seed(1))
    layer.program(w, torch.zeros(10))

    class Scaled(NumpyArrays):
        def apply(self, array, voltages):
            return scale * super().apply(array, voltages)

    x = torch.where(torch.arange(20).reshape(2, 10) % 3 == 0, 1.0, -1.0)
    exact = DriverBackend(NumpyArrays(4, 8, 8, chip.device.g_min), layer)
    exact.program(conductance_targets(layer, w, torch.zeros(10))[0])
    torch.testing.assert_close(exact.matvec(x), layer.matvec(x), rtol=1e-5, atol=1e-6)
    backend = DriverBackend(Scaled(4, 8, 8, chip.device.g_min), layer)
    backend.program(conductance_targets(layer, w, torch.zeros(10))[0])
    with pytest.raises(PatternError, match=r"^driver.apply\(0\) returned column currents up to "
                       r".*, more than its driven rows can carry \(.* A at most, every device at "
                       r"g_max plus a window width\): apply\(\) must return amperes; they fit as "
                       + re.escape(unit) + "$"):
        backend.matvec(x)


def _reads_float16(g, array):
    return g.astype(np.float16)


def _reads_bool(g, array):
    return g > 0


def _reads_whole_uS(g, array):
    return np.rint(g * 1e6).astype(np.int64)


def _reads_uS_on_one_array(g, array):
    return g * 1e6 if array == 3 else g


def _reads_nan_at_a_used_device(g, array):
    g[1, 2, 3] = np.nan
    return g


@pytest.mark.parametrize(("misread", "message"), [
    (_reads_float16, r"^driver\.read\(0\): float16 keeps 3 significant digits"),
    (_reads_bool, r"^driver\.read\(0\): true/false values, not conductances"),
    (_reads_whole_uS, r"^driver\.read\(0\): integers \(int64\) cannot hold conductances in "
                      r"siemens .*microsiemens"),
    (_reads_uS_on_one_array, r"^driver\.read\(3\) returned conductances up to .*: read\(\) "
                             r"must return siemens; .*microsiemens \(uS\)"),
    (_reads_nan_at_a_used_device, r"^driver\.read\(0\) returned NaN or infinite values at 1 "
                                  r"device the layer uses"),
])
def test_driver_reads_are_checked_naming_driver_read(misread, message):
    """A driver whose read(array) gave float16, true/false or integer values, microsiemens on
    one array, or NaN at a used device was refused (if at all) as the DriverBackend's
    read_back() in logical coordinates, which the user did not write (bool: "0 to 1, far
    above the chip window"; float16 taken silently); now refused naming driver.read(array)."""
    chip = load_preset("rram").replace_array(rows=8, cols=8)
    layer = Crossbar(chip, 10, 10, FaultMap.empty(4, 8, 8), bias=True)  # 2 x 2 tiles
    w = 0.2 * torch.randn(10, 10, generator=torch.Generator().manual_seed(1))
    targets = conductance_targets(layer, w, torch.zeros(10))[0]

    class Misread(NumpyArrays):
        def read(self, array):
            return misread(super().read(array), array)

    class UnusedNaN(NumpyArrays):  # cells the layer does not use may be unread
        def read(self, array):
            g = super().read(array)
            g[:, 3:, :] = np.nan if array >= 2 else g[:, 3:, :]  # rows 11.. of a 2 x 2 tiling
            return g

    fine = DriverBackend(UnusedNaN(4, 8, 8, chip.device.g_min), layer)
    fine.program(targets)
    np.testing.assert_allclose(fine.read_back(), targets)
    backend = DriverBackend(Misread(4, 8, 8, chip.device.g_min), layer)
    backend.program(targets)
    with pytest.raises(PatternError, match=message):
        backend.read_back()


def test_driver_backend_checks_its_driver_layer_and_outputs():
    """DriverBackend(None, None) raised AttributeError; read_outputs indexed with any
    tensor (-1 read the last column)."""
    chip = load_preset("ideal").replace_array(rows=8, cols=8)
    layer = Crossbar(chip, 6, 6, FaultMap.empty(1, 8, 8), bias=True)
    layer.program(0.1 * torch.ones(6, 6), torch.zeros(6))
    driver = NumpyArrays(1, 8, 8, chip.device.g_min)
    with pytest.raises(ArgumentError, match="layer must be a Crossbar"):
        DriverBackend(driver, None)
    with pytest.raises(ArgumentError, match="driver must be an ArrayDriver .* has no write, "
                                            "read, apply"):
        DriverBackend(None, layer)
    class OneArray(NumpyArrays):
        def read(self):  # a driver of one array (read(array) was met by a TypeError)
            return super().read(0)

    with pytest.raises(ArgumentError, match=r"^driver OneArray: its read cannot be called as "
                       r"read\(array\) \(too many positional arguments\); an ArrayDriver has "
                       r"write\(array, targets\), read\(array\), apply\(array, voltages\)$"):
        DriverBackend(OneArray(1, 8, 8, chip.device.g_min), layer)
    backend = DriverBackend(driver, layer)
    backend.program(conductance_targets(layer, 0.1 * torch.ones(6, 6), torch.zeros(6))[0])
    x = torch.ones(2, 6)
    for bad in ([-1, 0], [0, 6], [0.5, 1.0], [[0, 1]], "ab"):
        with pytest.raises(PatternError, match="outputs"):
            backend.read_outputs(x, bad)
    torch.testing.assert_close(backend.read_outputs(x, [0, 5]),
                               layer.read_outputs(x, [0, 5]), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------- stand-in
class LogNormalChip:
    """A stand-in backend with its own physics, written against the protocol only.

    Writes land at ``gain * target * exp(sigma * eps)`` (a systematic gain error times a
    log-normal, i.e. proportional, write error; clipped to the window); read-backs carry noise
    proportional to the conductance (std ``rel_noise * G``). Products are exact current sums of
    its own conductances, in weight units."""

    def __init__(self, n_in, n_out, g_min, g_max, w_max, *, gain=0.9, sigma=0.3,
                 rel_noise=0.01, seed=0):
        self.n_in, self.n_out = n_in, n_out
        self.g_min, self.g_max, self.w_max = g_min, g_max, w_max
        self.gain, self.sigma, self.rel_noise = gain, sigma, rel_noise
        self.g = np.full((2, n_out, n_in + 1), g_min)
        self.rng = np.random.default_rng(seed)
        self.writes = 0

    def program(self, targets):
        t = np.asarray(targets)
        write = ~np.isnan(t)
        spread = np.exp(self.sigma * self.rng.standard_normal(t.shape))
        landed = np.clip(self.gain * np.nan_to_num(t) * spread, self.g_min, self.g_max)
        self.g = np.where(write, landed, self.g)
        self.writes += int(write.sum())
        return int(write.sum())

    def read_back(self):
        return self.g * (1 + self.rel_noise * self.rng.standard_normal(self.g.shape))

    def _weights(self):
        return torch.as_tensor((self.g[0] - self.g[1]) * self.w_max / (self.g_max - self.g_min),
                               dtype=torch.float32)

    def matvec(self, x, generator=None):
        u = torch.cat([torch.as_tensor(x, dtype=torch.float32), torch.ones(len(x), 1)], dim=1)
        return u @ self._weights().T

    def read_outputs(self, x, outputs, generator=None):
        return self.matvec(x)[torch.arange(len(x)), outputs]


def test_stand_in_backend_runs_end_to_end(memory, pats):
    dev = memory.chip.device
    chip = LogNormalChip(25, 25, dev.g_min, dev.g_max, memory.crossbar.w_max)
    assert isinstance(chip, ChipBackend)
    view = BackendMemory(memory, chip)
    (targets,) = view.program_targets()
    written = ~np.isnan(targets)
    assert chip.writes == written.sum() == (~memory.crossbar.stuck).sum()
    read = chip.read_back()
    assert read.shape == targets.shape
    big = written & (targets > 50e-6)
    ratio = read[big] / targets[big]
    assert abs(np.median(ratio) - 0.9) < 0.05  # its systematic gain shows in read-back
    res = view.recall(_cues(pats))
    assert res.states.shape == (20, 25) and set(res.states.unique().tolist()) <= {-1.0, 1.0}
    open_loop = evaluate_memory(view, pats, Protocol(probes=10))
    assert 0 < open_loop.cosine <= 1
    result = adapt(memory, chip, pats, rounds=1, target=1.1, tolerance=3e-6,
                   protocol=Protocol(probes=10))
    r0, r1 = result.rounds
    assert 0 < r0["cosine"] <= 1 and 0 < r1["cosine"] <= 1
    assert r0["written"] == written.sum() and 0 < r1["written"] < r0["written"]
    assert r0["newly_fixed"] > 0  # proportional errors miss large targets by > 3 uS
    assert r1["skipped_fixed"] == r0["known_stuck"] + r0["fixed"]
    assert chip.writes == 2 * written.sum() + r1["written"]
    assert result.memory.faults.stuck.sum() == memory.faults.stuck.sum() + r1["fixed"]
    (lo, hi), = result.memory.bounds()
    both = torch.as_tensor(result.memory.crossbar.stuck.all(axis=0))
    assert both.any() and torch.equal(lo[both], hi[both])  # fully pinned pairs are fixed
    assert 0 < evaluate_memory(BackendMemory(memory, chip), pats,
                               Protocol(probes=10)).cosine <= 1


class _InstrumentLost(RuntimeError):
    """An error of a backend's own (its instrument's), not one of xbarmem's refusals."""


@pytest.mark.parametrize(("method", "call", "fails_at", "stopped"), [
    ("program", "program(targets)", 1, "round 0 (no round was measured)"),
    ("program", "program(targets)", 2, "round 1 (round 0 measured and passed to callback)"),
    ("read_back", "read_back()", 3, "round 2 (rounds 0-1 measured, each passed to callback)"),
    ("matvec", "matvec(x, generator)", 1, "round 0 (no round was measured)"),
])
def test_a_backend_raising_midway_says_where_adapt_stopped(memory, pats, method, call,
                                                           fails_at, stopped):
    """A backend raising in the middle of adapt (an instrument timeout in round 1) gave its
    own traceback only: nothing said which backend method, which round, what had been
    measured or how to go on. The error still goes through unchanged (type and message), with
    notes naming the backend and its call and where the loop stopped; the rounds measured
    before reached the callback."""
    calls = {"n": 0}

    class Flaky(SimulatedChip):
        pass

    def failing(self, *args):
        calls["n"] += 1
        if calls["n"] == fails_at:
            raise _InstrumentLost("probe card lost contact")
        return getattr(SimulatedChip, method)(self, *args)

    setattr(Flaky, method, failing)
    chip = Flaky(twin_layer(memory.crossbar), seed=2)
    seen = []
    with pytest.raises(_InstrumentLost) as info:
        adapt(memory, chip, pats, rounds=3, target=1.1, tolerance=3e-6,
              protocol=Protocol(probes=2), callback=seen.append)
    assert str(info.value) == "probe card lost contact"  # the message as the backend raised it
    assert info.value.__notes__ == [
        f"backend 0 (Flaky): raised by its {call}",
        f"adapt stopped in {stopped}; the chip holds what this round wrote before the error: "
        "run adapt again to start over (its round 0 programs every free device)"]
    assert [entry["round"] for entry in seen] == list(range(len(seen)))
    assert len(seen) == int(stopped.split()[1])
    with pytest.raises(ConfigError) as refused:  # xbarmem's own refusals stay one line
        adapt(memory, chip, pats, rounds=0, tolerance=-1.0)
    assert not getattr(refused.value, "__notes__", None)


@pytest.mark.parametrize(("read_noise", "warned"), [(5e-6, True), (20e-6, True), (None, False)])
def test_reads_noisier_than_the_tolerance_are_warned_of(memory, pats, read_noise, warned):
    """A chip whose read noise exceeds adapt's tolerance had its devices pinned, and its fixed
    ones held, at noise round after round (hundreds of fixed_moved) with nothing said; now a
    warning says so when most fixed devices, never written, move by more than the tolerance
    between two read-backs. A chip of the model's read noise is not warned of."""
    chip = memory.chip if read_noise is None else memory.chip.replace_device(
        read_noise=read_noise)
    backend = SimulatedChip.like(memory.crossbar, chip=chip, seed=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        adapt(memory, backend, pats, rounds=1, target=1.1, tolerance=2e-6,
              protocol=Protocol(probes=2))
    said = [str(w.message) for w in caught if "read noise or drift exceeds" in str(w.message)]
    assert len(said) == int(warned)
    assert all(w.filename == __file__ for w in caught
               if "read noise or drift exceeds" in str(w.message))  # (the caller's line)
    if warned:
        assert re.match(r"^\d+ of \d+ fixed devices, never written, read more than the tolerance "
                        r"\(2 uS\) away from their previous read-back", said[0])
