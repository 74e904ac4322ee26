"""Training for a chip's conductance levels: the weight grid programming reaches, and the
hardware-adaptive rule training through it (straight-through)."""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pytest
import torch

from xbarmem import (
    ArraySpec,
    ChipSpec,
    DeviceSpec,
    FaultMap,
    load_chip,
    load_memory,
    random_patterns,
    train,
)
from xbarmem.errors import ConfigError
from xbarmem.hardware.crossbar import Crossbar, arrays_needed
from xbarmem.hardware.faults import highest_reading
from xbarmem.hardware.levels import WeightGrid
from xbarmem.learning.adaptive import AdaptiveTrainer
from xbarmem.learning.base import Problem, check_fit_result
from xbarmem.memory.build import make_memory
from xbarmem.memory.io import save_memory


def _chip(levels: int, model: str, stuck: float = 0.2) -> ChipSpec:
    return ChipSpec(DeviceSpec(g_min=1e-6, g_max=1e-4, levels=levels, p_stuck_on=stuck / 2,
                               p_stuck_off=stuck / 2),
                    ArraySpec(rows=8, cols=8, weight_range=0.5, fault_model=model))


def _crossbar(chip: ChipSpec, seed: int, *, anywhere: bool) -> Crossbar:
    """A 9 x 11 (+ bias) crossbar; ``anywhere``: stuck devices read anywhere from 0 to the
    highest reading a map may hold (off the levels, as measured maps), device model only."""
    faults = FaultMap.generate(chip, arrays_needed(chip, 9, 12), seed=seed)
    if anywhere:
        g = np.random.default_rng(seed).random(faults.g_stuck.shape) * highest_reading(
            chip.device)
        faults = FaultMap(np.where(faults.stuck, g, np.nan), {"source": "test"})
    return Crossbar(chip, 9, 11, faults)


@pytest.mark.parametrize("levels", [2, 3, 16])
@pytest.mark.parametrize("model,anywhere", [("device", False), ("device", True),
                                            ("weight", False)])
def test_the_grid_is_what_programming_gives(levels, model, anywhere):
    chip = _chip(levels, model)
    for seed in range(3):
        xbar = _crossbar(chip, seed, anywhere=anywhere)
        pairs = xbar.stuck.sum(axis=0)  # stuck devices of each pair
        assert (pairs == 2).any() and ((pairs == 1).any() or model == "weight")
        grid = xbar.weight_grid()
        w = torch.randn(9, 11, generator=torch.Generator().manual_seed(seed)) * 0.4
        b = torch.randn(9, generator=torch.Generator().manual_seed(seed + 7)) * 0.3
        xbar.program(w, b, seed=seed)
        quantised = grid.quantise(xbar.augment(w, b))
        torch.testing.assert_close(quantised, xbar._require_programmed(), atol=1e-6, rtol=0)
        # on the grid: offset + k D, k whole, within each weight's interval
        lo, hi = xbar.bounds()
        assert bool(((quantised >= lo - 1e-6) & (quantised <= hi + 1e-6)).all())
        step = float(grid.step) or float(grid.relative) * xbar.w_max
        k = (quantised - grid.offset) / step
        free = lo < hi
        assert torch.allclose(k[free], k[free].round(), atol=1e-4)
        assert int(k[free].round().unique().numel()) <= 2 * levels - 1


def test_a_continuous_chip_has_no_grid_and_a_stacked_one_leaves_its_weights():
    chip = _chip(0, "device")
    assert _crossbar(chip, 0, anywhere=False).weight_grid() is None
    grid = _crossbar(_chip(2, "device"), 0, anywhere=False).weight_grid()
    bounds = _crossbar(chip, 0, anywhere=False).bounds()
    both = WeightGrid.stack([grid, None], (torch.stack([bounds[0]] * 2),
                                           torch.stack([bounds[1]] * 2)))
    a = torch.rand(2, 9, 12) - 0.5
    out = both.quantise(a)
    assert torch.equal(out[1], a[1])  # the continuous network untouched
    torch.testing.assert_close(out[0], grid.quantise(a[0]))
    assert set(out[0].unique().tolist()) <= {-0.5, 0.0, 0.5}


def _memories(chip: ChipSpec, n: int, count: int, arch: str = "single"):
    return [make_memory(n, arch=arch, hidden=12 if arch == "multilayer" else None,
                        chip=chip, fault_seed=s) for s in range(count)]


def test_continuous_chips_train_as_before_and_never_quantise(monkeypatch):
    """levels = 0: no grid in the problem, the quantiser never runs, and the weights are the
    ones the rule gives without the option (bit for bit)."""
    x = random_patterns(4, 16, seed=3).patterns
    problem = Problem.for_memories(x, _memories(load_chip("rram"), 16, 2))
    assert problem.grids is None

    def refuse(*args, **kwargs):
        raise AssertionError("quantised on a continuous chip")

    monkeypatch.setattr(WeightGrid, "quantise", refuse)
    on = AdaptiveTrainer(max_steps=40, finetune_steps=20).fit(problem)
    off = AdaptiveTrainer(max_steps=40, finetune_steps=20, quantize=False).fit(problem)
    assert torch.equal(on.weights[0], off.weights[0]) and torch.equal(on.biases[0],
                                                                      off.biases[0])


@pytest.mark.parametrize("arch", ["single", "multilayer"])
@pytest.mark.parametrize("model,objective,noise", [("device", "basin", False),
                                                   ("device", "fixed-point", True),
                                                   ("weight", "fixed-point", False),
                                                   ("weight", "basin", True)])
def test_a_chip_with_levels_trains_through_them(arch, model, objective, noise):
    """With levels the trained weights are on the chip's grid (what programming keeps), and
    quantize=False trains the weights as a continuous chip would."""
    chip = _chip(3, model, stuck=0.1).replace_device(write_noise=1e-6, read_noise=1e-7)
    x = random_patterns(4, 16, seed=3).patterns
    memories = _memories(chip, 16, 3, arch)
    problem = Problem.for_memories(x, memories, counts=torch.tensor([4, 2, 3]))
    assert problem.grids is not None and len(problem.grids) == len(memories[0].layers)
    steps = {"max_steps": 30, "finetune_steps": 10, "objective": objective,
             "noise_injection": noise, "stable_window": 5}
    on = AdaptiveTrainer(**steps).fit(problem)
    off = AdaptiveTrainer(**steps, quantize=False).fit(problem)
    for k, grid in enumerate(problem.grids):
        a = torch.cat([on.weights[k], on.biases[k][:, :, None]], dim=2)
        assert torch.equal(grid.quantise(a), a)  # on the grid
        b = torch.cat([off.weights[k], off.biases[k][:, :, None]], dim=2)
        assert not torch.equal(grid.quantise(b), b)  # the continuous training is not
        assert not torch.equal(grid.quantise(b), a)  # and training saw the rounded weights
    plain = dataclasses.replace(problem, grids=None)
    ref = AdaptiveTrainer(**steps).fit(plain)
    assert all(torch.equal(u, v) for u, v in zip(ref.weights, off.weights, strict=True))


def test_quantize_is_an_option_listed_when_off():
    assert "quantize" not in AdaptiveTrainer().options()
    assert AdaptiveTrainer(quantize=False).options()["quantize"] is False
    pset = random_patterns(3, 16, seed=0)
    memory = train(pset, chip=_chip(2, "device", stuck=0.0), max_steps=20, finetune_steps=5,
                   flip_steps=10)
    (w, b), = memory.targets
    assert set(w.unique().tolist()) <= {-0.5, 0.0, 0.5}
    torch.testing.assert_close(memory.layers[0].effective()[0], w)


# ------------------------------------------------ what says training went through the levels
def _levels_chip_file(folder, levels: int):
    path = folder / f"rram{levels}.toml"
    path.write_text(load_chip("rram").replace_device(levels=levels).to_toml(), encoding="utf-8")
    return path


@pytest.mark.parametrize("extra,said", [
    ((), "trained through the chip's 3 conductance levels,"),
    (("--rule-option", "quantize=false"), "weights rounded to the chip's 3 conductance levels "
                                          "only when programmed (quantize=false),"),
    (("--rule", "pinv"), "weights rounded to the chip's 3 conductance levels only when "
                         "programmed (the pinv rule does not train through them),"),
])
def test_train_says_whether_it_trained_through_the_levels(run_cli, tmp_path, extra, said):
    chip = _levels_chip_file(tmp_path, 3)
    common = ("train", "--data", "random", "-p", "3", "--neurons", "16", "--chip", chip,
              "--rule-option", "max_steps=20", "--rule-option", "finetune_steps=5")
    if "pinv" in extra:
        common = common[:-4]
    code, out, err = run_cli(*common, "--out", tmp_path / "m.safetensors", *extra)
    assert code == 0, err
    assert said in " ".join(out.split())
    code, out, _ = run_cli(*common, "--out", tmp_path / "m.safetensors", *extra, "--json")
    info = json.loads(out)
    assert (info["levels"], info["through_levels"]) == (3, extra == ())
    memory = load_memory(tmp_path / "m.safetensors")  # the model file keeps them
    assert (memory.info["levels"], memory.info["through_levels"]) == (3, extra == ())


def test_a_continuous_chip_says_nothing_of_levels_and_older_files_load(run_cli, tmp_path,
                                                                      small_memory):
    code, out, err = run_cli("train", "--data", "random", "-p", "3", "--neurons", "16",
                             "--chip", "rram", "--rule", "pinv", "--out",
                             tmp_path / "m.safetensors", "--json")
    assert code == 0, err
    assert "levels" not in json.loads(out) and "through_levels" not in json.loads(out)
    pset, memory = small_memory  # a model of a levels chip saved before info recorded them
    old = dataclasses.replace(memory.chip, device=dataclasses.replace(memory.chip.device,
                                                                      levels=4))
    original, info = memory.chip, dict(memory.info)
    memory.chip = old
    try:
        save_memory(memory, tmp_path / "old.safetensors", patterns=pset)
    finally:
        memory.chip = original
    loaded = load_memory(tmp_path / "old.safetensors")
    assert loaded.chip.device.levels == 4 and "through_levels" not in loaded.info
    assert {k: v for k, v in loaded.info.items() if k != "train_seconds"} == {
        k: v for k, v in info.items() if k != "train_seconds"}


def test_fit_results_say_through_levels_and_the_contract_checks_it():
    chip = _chip(2, "device", stuck=0.0)
    x = random_patterns(3, 16, seed=0).patterns
    problem = Problem.for_memories(x, _memories(chip, 16, 1))
    on = AdaptiveTrainer(max_steps=10, finetune_steps=2).fit(problem)
    off = AdaptiveTrainer(max_steps=10, finetune_steps=2, quantize=False).fit(problem)
    assert on.through_levels is True and off.through_levels is False
    assert "through_levels=True" in repr(on) and "through_levels" not in repr(off)
    plain = AdaptiveTrainer(max_steps=10, finetune_steps=2).fit(
        dataclasses.replace(problem, grids=None))
    assert plain.through_levels is False
    with pytest.raises(ConfigError, match="through_levels True or False, got 1"):
        check_fit_result(dataclasses.replace(on, through_levels=1), problem, "mine")


def test_capacity_and_sweeps_train_through_the_levels(monkeypatch, tmp_path):
    """A capacity search and a sweep's trials train through fit_memories as train does: on a
    chip with levels, the quantiser runs (and never on a continuous chip)."""
    from tests.conftest import tiny_sweep
    from xbarmem import Protocol, find_capacity
    from xbarmem.experiments.runner import run_sweep
    from xbarmem.experiments.sweep import load_sweep
    from xbarmem.learning import quantise

    calls = []
    real = quantise.Quantiser.__call__
    monkeypatch.setattr(quantise.Quantiser, "__call__",
                        lambda self, a: calls.append(1) or real(self, a))
    pool = random_patterns(6, 16, seed=1)
    rule = AdaptiveTrainer(max_steps=5, finetune_steps=2, flip_steps=2)
    for levels in (0, 3):
        calls.clear()
        find_capacity(pool, chip=load_chip("rram").replace_device(levels=levels), rule=rule,
                      trials=1, start=2, protocol=Protocol(probes=1, level=0.05))
        assert bool(calls) == (levels == 3)
    chip = _levels_chip_file(tmp_path, 3)
    text = tiny_sweep("lv", rules=("adaptive",)).replace(
        "[base]\n", f'[base]\nchip = "{chip.as_posix()}"\n') + (
        "\n[rule_options.adaptive]\nmax_steps = 5\nfinetune_steps = 2\nflip_steps = 2\n")
    (tmp_path / "s.toml").write_text(text)
    calls.clear()
    run_sweep(load_sweep(tmp_path / "s.toml"), tmp_path / "s.sqlite")
    assert calls


@pytest.mark.parametrize("arch", ["single", "multilayer"])
def test_an_export_holds_the_levels_and_reloads_recalling_as_the_model(tmp_path, arch):
    """Every free device's target (targets_S.npy, devices.csv) is one of the chip's levels,
    and the reloaded export recalls as the model does."""
    import csv

    from xbarmem import flip_bits
    from xbarmem.deploy.export import export_memory
    from xbarmem.deploy.reload import load_export

    chip = load_chip("rram").replace_device(levels=3).with_faults(0.2)
    pset = random_patterns(4, 16, seed=2)
    memory = train(pset, chip=chip, arch=arch, hidden=16 if arch == "multilayer" else None,
                   max_steps=20, finetune_steps=5)
    assert memory.info["through_levels"] is True
    export_memory(memory, tmp_path / "out", patterns=pset)
    dev = chip.device
    levels = dev.g_min + np.arange(3) * (dev.g_max - dev.g_min) / 2
    targets = np.load(tmp_path / "out" / "targets_S.npy")
    stuck = ~np.isnan(np.load(tmp_path / "out" / "stuck_S.npy"))
    gap = np.abs(targets[..., None] - levels).min(axis=-1)
    assert stuck.any() and (~stuck).any() and gap[~stuck].max() < 1e-12
    with open(tmp_path / "out" / "devices.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["stuck"] == "0"]
    assert min(abs(float(r["target_uS"]) - levels * 1e6).min() for r in rows) == 0.0
    assert max(abs(float(r["target_uS"]) - levels * 1e6).min() for r in rows) < 1e-5
    reloaded = load_export(tmp_path / "out")
    cues = flip_bits(pset.patterns, 0.2, generator=0)
    assert torch.equal(torch.as_tensor(memory.recall(cues).states),
                       torch.as_tensor(reloaded.recall(cues).states))
    assert reloaded.info["levels"] == 3 and reloaded.info["through_levels"] is True


def test_adapt_retrains_on_the_grid_and_records_how_it_retrained(monkeypatch):
    """Chip in the loop on a chip with levels: every re-training gives weights on the grid of
    the twin it trained on (pinned devices read off the levels included), and the adapted
    model's info says whether the re-training went through the levels."""
    import xbarmem.deploy.chip_loop as chip_loop
    from xbarmem.deploy.backend import simulated_backends

    seen = []
    real = chip_loop._retrain

    def spy(rule, twin, x, kind):
        params = real(rule, twin, x, kind)
        for layer, (w, b) in zip(twin.layers, params, strict=True):
            a = layer.augment(w, b)
            seen.append((bool(twin.faults.pinned_mask.any()),
                         torch.equal(layer.weight_grid().quantise(a), a)))
        return params

    monkeypatch.setattr(chip_loop, "_retrain", spy)
    chip = load_chip("rram").replace_device(levels=3, write_noise=4e-6).with_faults(0.1)
    pset = random_patterns(4, 16, seed=5)
    memory = train(pset, chip=chip, max_steps=20, finetune_steps=5)
    steps = {"max_steps": 20, "finetune_steps": 5}
    for quantize in (True, False):
        seen.clear()
        result = chip_loop.adapt(memory, simulated_backends(memory, seed=1), pset, rounds=2,
                                 target=1.5, trainer=AdaptiveTrainer(**steps,
                                                                     quantize=quantize))
        assert len(seen) == 2 and all(pinned for pinned, _ in seen)
        assert all(on for _, on in seen) == quantize
        assert result.memory.info["levels"] == 3
        assert result.memory.info["through_levels"] is quantize


@pytest.mark.parametrize("arch,kind,levels,default", [
    ("multilayer", "continuous", 4, True), ("multilayer", "continuous", 8, False),
    ("multilayer", "continuous", 16, False), ("multilayer", "binary", 16, True),
    ("single", "continuous", 16, True)])
@pytest.mark.parametrize("model", ["device", "weight"])
def test_quantize_defaults_off_for_multilayer_continuous_memories_on_many_levels(
        arch, kind, levels, default, model):
    """Measured (docs/chip-model.md): multilayer memories of continuous patterns recall less
    when trained through 8 or more levels; quantize then defaults to off (given, it wins)."""
    from xbarmem.learning.adaptive import QUANTIZE_OFF_LEVELS, default_quantize, grid_levels

    assert QUANTIZE_OFF_LEVELS == 8
    x = random_patterns(3, 16, kind=kind, seed=1).patterns
    problem = Problem.for_memories(x, _memories(_chip(levels, model), 16, 2, arch), kind=kind)
    assert grid_levels(problem) == levels and default_quantize(problem) is default
    steps = {"max_steps": 10, "finetune_steps": 2}
    assert AdaptiveTrainer(**steps).fit(problem).through_levels is default
    assert AdaptiveTrainer(**steps, quantize=True).fit(problem).through_levels is True
    assert AdaptiveTrainer(**steps, quantize=False).fit(problem).through_levels is False
    assert AdaptiveTrainer(quantize=True).options(2, kind)["quantize"] is True


def test_train_names_quantizes_default_where_it_is_off(run_cli, tmp_path):
    chip = _levels_chip_file(tmp_path, 8)
    code, out, err = run_cli("train", "--data", "random", "-p", "3", "--neurons", "16",
                             "--kind", "continuous", "--arch", "multilayer", "--hidden", "16",
                             "--chip", chip, "--rule-option", "max_steps=10",
                             "--out", tmp_path / "m.safetensors")
    assert code == 0, err
    assert ("weights rounded to the chip's 8 conductance levels only when programmed "
            "(quantize's default for multilayer memories of continuous patterns on chips of 8 "
            "levels or more),") in " ".join(out.split())
    assert load_memory(tmp_path / "m.safetensors").info["through_levels"] is False


@pytest.mark.parametrize("levels", [3, 5, 9])
@pytest.mark.parametrize("g_min", [2e-6, 7e-6])
def test_a_weight_half_way_between_levels_goes_to_the_even_level(levels, g_min):
    """A weight exactly half-way between two grid values (Hebb's m / N on a grid of spacing
    w_max / 2^k) is programmed to the even level, as ``numpy.round`` and the trainer's
    :meth:`WeightGrid.quantise` round it, whatever the float rounding of ``g_min + dG``
    (it went up on some chips and down on others)."""
    chip = ChipSpec(DeviceSpec(g_min=g_min, g_max=g_min + 148e-6, levels=levels),
                    ArraySpec(rows=32, cols=32, weight_range=0.5, fault_model="device"))
    d = 0.5 / (levels - 1)
    halves = (np.arange(levels - 1) + 0.5) * d  # every midpoint between two levels
    w = np.concatenate([halves, -halves])[None, :]
    xbar = Crossbar(chip, 1, w.shape[1], FaultMap.generate(chip, 1, seed=0), bias=False)
    got = xbar.program(w).effective()[0].double().numpy()
    k = np.round(w / d)  # half to even, in exact arithmetic (the weights are dyadic)
    np.testing.assert_allclose(got, k * d, atol=1e-6)
    want = xbar.weight_grid().quantise(torch.tensor(w, dtype=torch.float32))
    np.testing.assert_allclose(got, want.double().numpy(), atol=1e-6)
    # next to a stuck device (G- stuck OFF: w = k D on the free G+; stuck ON G+: w_max - k D)
    for code, offset in ((-1, 0.0), (1, 0.5)):
        codes = np.zeros((1, 2, 32, 32))
        codes[0, 1 if code < 0 else 0, : w.shape[1], 0] = code
        faults = FaultMap.from_codes(codes, chip.device)
        one = Crossbar(chip, 1, w.shape[1], faults, bias=False)
        target = np.clip(offset + w if code > 0 else w, *(b.numpy() for b in one.bounds()))
        got = one.program(target).effective()[0].double().numpy()
        want = one.weight_grid().quantise(torch.tensor(target, dtype=torch.float32))
        np.testing.assert_allclose(got, want.double().numpy(), atol=1e-6)


@pytest.mark.parametrize("arch", ["single", "multilayer"])
@pytest.mark.parametrize("quantize", [True, False])
def test_weight_bound_holds_for_the_programmed_weights_on_a_chip_with_levels(arch, quantize):
    """``weight_bound=0.5`` on 4 levels (``D = w_max / 3``) kept the trained weights within
    ``0.25 = 1.5 D`` before rounding, and a weight at the bound went to ``2 D``: past it. The
    programmed weights now stay at the level within the bound (``D``) wherever a level of a
    weight's interval lies in it; only pinned weights and intervals beside the box leave it."""
    chip = _chip(4, "device", stuck=0.1)
    x = random_patterns(4, 16, seed=3).patterns
    memories = _memories(chip, 16, 2, arch)
    problem = Problem.for_memories(x, memories)
    fit = AdaptiveTrainer(weight_bound=0.5, max_steps=30, finetune_steps=10,
                          quantize=quantize).fit(problem)
    for k, (grid, (lo, hi)) in enumerate(zip(problem.grids, problem.bounds, strict=True)):
        c = 0.5 * torch.as_tensor([m.layers[k].w_max for m in memories])[:, None, None]
        programmed = grid.quantise(torch.cat([fit.weights[k], fit.biases[k][:, :, None]], 2))
        bottom, top = grid.levels_within(c)
        inside = (torch.maximum(lo, bottom) <= torch.minimum(hi, top)) & (lo < hi)
        assert bool((programmed[inside].abs() <= c.expand_as(lo)[inside] + 1e-6).all())
        reached = torch.isclose(programmed[inside].abs(), c.expand_as(lo)[inside] * 2 / 3)
        assert bool(reached.any())  # the level within the bound is used


def test_the_levels_within_a_box_are_the_grid_s():
    grid = WeightGrid(offset=torch.tensor([[0.0, 0.1, 0.0]]), lo=torch.tensor([[-1.0, -0.9, -1]]),
                      hi=torch.tensor([[1.0, 0.1, 1.0]]), step=torch.tensor(1 / 3),
                      relative=torch.tensor(0.0))
    bottom, top = grid.levels_within(torch.tensor(1 / 3))  # a bound on a level keeps it
    torch.testing.assert_close(top, torch.tensor([[1 / 3, 0.1, 1 / 3]]))
    torch.testing.assert_close(bottom, torch.tensor([[-1 / 3, 0.1 - 1 / 3, -1 / 3]]))
    bottom, top = grid.levels_within(torch.tensor(0.05))  # no level of offset 0.1 within
    assert float(bottom[0, 1]) > float(top[0, 1]) and float(top[0, 0]) == 0.0


@pytest.mark.parametrize("bound, warned", [(0.15, True), (0.5, False)])
def test_a_weight_bound_below_the_first_level_is_warned_about(bound, warned):
    """On 4 levels (``D = w_max / 3``) a bound of ``0.15 w_max`` holds no level but 0: every
    trainable weight is 0 and the memory stores nothing, which was silent; a bound that keeps
    ``D`` is not warned about."""
    chip = _chip(4, "device", stuck=0.0)
    problem = Problem.for_memories(random_patterns(4, 16, seed=3).patterns,
                                   _memories(chip, 16, 1, "single"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        AdaptiveTrainer(weight_bound=bound, max_steps=2, finetune_steps=1).fit(problem)
    said = [str(w.message) for w in caught if "stores nothing" in str(w.message)]
    assert bool(said) == warned, said
