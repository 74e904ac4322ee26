"""Chips of few conductance levels end to end: what is sent to a chip, exported, or trained
there lies on the device levels (``g_min + k step``, the top one ``g_max`` itself), in the
chip-in-the-loop paths too, and binary (2-level) and 3-level devices store a few patterns."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from xbarmem import (
    ArraySpec,
    ChipSpec,
    DeviceSpec,
    FaultMap,
    evaluate_memory,
    random_patterns,
    save_memory,
    train,
)
from xbarmem.deploy.backend import SimulatedChip
from xbarmem.deploy.chip_loop import adapt, adapt_read_back
from xbarmem.deploy.export import export_memory
from xbarmem.deploy.readback import read_back_backends
from xbarmem.learning.adaptive import AdaptiveTrainer

FAST = {"max_steps": 40, "finetune_steps": 10}


def _chip(levels: int, *, stuck: float = 0.1, write_noise: float = 2e-6) -> ChipSpec:
    """A window whose top level ``g_min + (levels - 1) step`` lands an ulp off ``g_max`` in
    float64 (for 2 and 3 levels), so that a top level computed so is told from ``g_max``."""
    return ChipSpec(DeviceSpec(g_min=5.7e-6, g_max=52.1e-6, levels=levels, write_noise=write_noise,
                               read_noise=0.5e-6, p_stuck_on=stuck / 2, p_stuck_off=stuck / 2),
                    ArraySpec(rows=32, cols=32, weight_range=0.5, fault_model="device"))


def _off_levels(g: np.ndarray, chip: ChipSpec) -> int:
    """How many of the conductances ``g`` (siemens, NaN = none) are not exactly one of the
    chip's levels: ``g_min + k step`` up to float rounding, the top one ``g_max`` exactly."""
    dev = chip.device
    g = g[~np.isnan(g)]
    step = dev.g_range / (dev.levels - 1)
    k = np.round((g - dev.g_min) / step)
    top = k >= dev.levels - 1
    off = np.where(top, g != dev.g_max, np.abs(g - (dev.g_min + k * step)) > 1e-9 * step)
    return int(off.sum() + ((k < 0) | (k > dev.levels - 1)).sum())


class Recording:
    """A backend that records every target array it is sent."""

    def __init__(self, inner) -> None:
        self.inner, self.n_in, self.n_out = inner, inner.n_in, inner.n_out
        self.sent: list[np.ndarray] = []

    def program(self, targets):
        self.sent.append(np.array(targets))
        return self.inner.program(targets)

    def read_back(self):
        return self.inner.read_back()

    def matvec(self, x, generator=None):
        return self.inner.matvec(x, generator)

    def read_outputs(self, x, outputs, generator=None):
        return self.inner.read_outputs(x, outputs, generator)


@pytest.fixture(scope="module", params=[2, 3])
def trained(request):
    chip = _chip(request.param)
    pset = random_patterns(3, 16, seed=4)
    return chip, pset, train(pset, chip=chip, **FAST)


def test_adapt_sends_only_levels_and_keeps_the_top_one_at_g_max(trained):
    """Every conductance the simulated loop sends (open loop and re-programming after pins
    off the levels) is a level, with write error far above the tolerance."""
    chip, pset, memory = trained
    noisy = chip.replace_device(write_noise=6e-6)
    rec = Recording(SimulatedChip.like(memory.crossbar, chip=noisy, seed=3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = adapt(memory, rec, pset, rounds=2, target=1.5, tolerance=3e-6,
                       trainer=AdaptiveTrainer(**FAST))
    assert len(rec.sent) == 3 and all(_off_levels(t, chip) == 0 for t in rec.sent)
    assert any((t == chip.device.g_max).any() for t in rec.sent)
    assert result.memory.faults.pinned_count > 0  # pins read off the levels were re-trained on
    assert result.memory.info["levels"] == chip.device.levels
    assert result.memory.info["through_levels"] is True


def test_a_read_back_off_the_levels_re_programs_levels_only(trained, tmp_path):
    """A read-back whose every reading is off the levels (write error and read noise): the
    devices to re-program get level targets, in the backends and in the export."""
    chip, pset, memory = trained
    rng = np.random.default_rng(0)
    layer = memory.crossbar
    g = layer.planes()
    read = layer.scatter(np.clip(g + rng.normal(0.0, 3e-6, g.shape), 0.0, None),
                         fill=chip.device.g_min)
    assert _off_levels(read, chip) > 0.9 * g.size  # the used cells
    backends = read_back_backends(memory, read)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = adapt_read_back(memory, backends, pset, tolerance=3e-6,
                                 trainer=AdaptiveTrainer(**FAST))
    sent = [t for b in backends for t in b.programmed]
    assert sent and all(_off_levels(t, chip) == 0 for t in sent)
    assert sum(int((~np.isnan(t)).sum()) for t in sent) > 0
    export_memory(result.memory, tmp_path / "out", patterns=pset, program=result.targets)
    targets = np.load(tmp_path / "out" / "targets_S.npy")
    assert _off_levels(targets, chip) == 0 and (~np.isnan(targets)).any()


def test_exported_targets_are_levels_for_weights_of_both_signs_and_zero(tmp_path):
    """Hand-given weights (negative, zero, positive, beyond the range) on a 3-level chip
    with stuck devices: every free device's target is a level; the manifest says how many."""
    chip = _chip(3, stuck=0.2)
    pset = random_patterns(2, 8, seed=1)
    memory = train(pset, chip=chip, rule="hebb")
    w = np.linspace(-0.8, 0.8, 64).reshape(8, 8).astype(np.float32)
    w[::3] = 0.0
    np.fill_diagonal(w, 0.0)
    memory.program([w], seed=2)
    export_memory(memory, tmp_path / "out", patterns=pset)
    targets = np.load(tmp_path / "out" / "targets_S.npy")
    stuck = np.load(tmp_path / "out" / "stuck_S.npy")
    free = np.isnan(stuck)
    assert _off_levels(np.where(free, targets, np.nan), chip) == 0
    mapping = json.loads((tmp_path / "out" / "manifest.json").read_text())["mapping"]
    assert mapping["levels"] == 3
    # zero weights are both devices at g_min; the full range reaches g_max itself
    assert (targets[free] == chip.device.g_min).any() and (targets[free] == chip.device.g_max).any()


@pytest.mark.parametrize("levels", [2, 3])
def test_binary_and_three_level_devices_store_a_few_patterns(levels):
    """Devices of 2 (binary) and 3 levels, no stuck devices: the adaptive rule trained
    through the levels recalls 3 random patterns of N = 16 from 10% flipped cues."""
    chip = _chip(levels, stuck=0.0, write_noise=0.0)
    pset = random_patterns(3, 16, seed=2)
    memory = train(pset, chip=chip, **FAST)
    assert memory.info["through_levels"] is True
    faults = FaultMap.generate(chip, memory.crossbar.n_arrays, seed=0)
    assert not faults.stuck.any()
    score = evaluate_memory(memory, pset)
    assert score.cosine >= 0.95, score


@pytest.mark.parametrize("quantize", [True, False])
def test_adaptation_results_say_the_levels_and_whether_retraining_went_through_them(
        trained, quantize):
    """``adapt`` / ``adapt_read_back`` results (``--json``, ``--log``'s summary) said nothing
    of the chip's levels, nor whether the re-training went through them, which ``train
    --json`` and the adapted model's ``info`` say: their ``memory`` entry now holds both (of
    the round kept: when that is round 0, the model as trained before adaptation)."""
    chip, pset, memory = trained
    trainer = AdaptiveTrainer(**FAST, quantize=quantize)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        done = adapt(memory, SimulatedChip.like(memory.crossbar, seed=1), pset, rounds=1,
                     target=1.5, trainer=trainer)
        again = adapt_read_back(done.memory, SimulatedChip.like(done.memory.crossbar, seed=2),
                                pset, trainer=trainer)
    for result in (done, again):  # (adapt keeps its best round: round 0 is not re-trained)
        entry = result.as_dict()["memory"]
        retrained = getattr(result, "kept_round", 1) != 0
        expected = quantize if retrained else memory.info["through_levels"]
        assert entry["levels"] == chip.device.levels
        assert entry["through_levels"] is expected is result.memory.info["through_levels"]


def test_adapt_on_a_continuous_chip_says_nothing_of_levels():
    chip = _chip(2).replace_device(levels=0)
    pset = random_patterns(3, 16, seed=4)
    memory = train(pset, chip=chip, **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        done = adapt(memory, SimulatedChip.like(memory.crossbar, seed=1), pset, rounds=1,
                     target=1.5, trainer=AdaptiveTrainer(**FAST))
    assert set(done.as_dict()["memory"]) == {"layer_sizes", "chip", "bias"}


def test_adapt_json_says_the_levels(run_cli, tmp_path, trained):
    chip, pset, memory = trained
    save_memory(memory, tmp_path / "m.safetensors", patterns=pset)
    code, out, err = run_cli("adapt", tmp_path / "m.safetensors", "--rounds", "1",
                             "--target", "2", "--probes", "2", "--rule-option", "max_steps=20",
                             "--rule-option", "finetune_steps=5", "--json")
    assert code == 0, err
    entry = json.loads(out)["memory"]
    assert (entry["levels"], entry["through_levels"]) == (chip.device.levels, True)
