"""The Python API as a researcher calls it: unknown keywords, wrong argument types and odd
inputs are refused with one xbarmem error (a ValueError / TypeError) naming the problem,
before any training; what is accepted (torch tensors of any dtype, lists) works."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.deploy.export import export_memory
from xbarmem.errors import ArgumentError, ConfigError, FileFormatError, PatternError
from xbarmem.evaluation import evaluate
from xbarmem.learning import fit

#: public callables that are not called with keywords of their own
_NOT_CALLED = {"Rule"}  # a typing.Protocol


def _public_callables():
    for name in xm.__all__:
        obj = getattr(xm, name)
        if (callable(obj) and name not in _NOT_CALLED
                and not (isinstance(obj, type) and issubclass(obj, BaseException))):
            yield name


@pytest.mark.parametrize("name", sorted(_public_callables()))
def test_every_public_callable_names_an_unknown_keyword(name):
    obj = getattr(xm, name)
    with pytest.raises((ArgumentError, ConfigError), match="zzz_unknown"):
        obj("pinv", zzz_unknown=1) if name in ("get_rule", "train") else obj(zzz_unknown=1)


def _documented_entry_points():
    """The deploy, energy and measured-chip entry points docs/guide.md and docs/backends.md
    call by their module paths (``xbarmem.__all__`` is tested above)."""
    from xbarmem.deploy import backend
    from xbarmem.energy import calibrate, circuit, measure
    from xbarmem.hardware import measured

    mem = xm.train(xm.random_patterns(3, 16, seed=0), rule="pinv")
    view = backend.BackendMemory(mem, backend.simulated_backends(mem))
    return {"SimulatedChip": backend.SimulatedChip,
            "SimulatedChip.like": backend.SimulatedChip.like,
            "DriverBackend": backend.DriverBackend, "BackendMemory": backend.BackendMemory,
            "BackendMemory.recall": view.recall, "conductance_targets": backend.conductance_targets,
            "simulated_backends": backend.simulated_backends, "twin_layer": backend.twin_layer,
            "measure": measure.measure, "measure_model": measure.measure_model,
            "measure_sizes": measure.measure_sizes, "energy_report": measure.energy_report,
            "calibrate": calibrate.calibrate, "load_circuit": circuit.load_circuit,
            "read_measured_csv": measured.read_measured_csv,
            "read_conductance_csv": measured.read_conductance_csv,
            "measured_chip": measured.measured_chip}


@pytest.mark.parametrize("name", sorted(_documented_entry_points()))
def test_documented_module_entry_points_name_an_unknown_keyword(name):
    """Python's bare TypeError ("measure() got an unexpected keyword argument 'level'") from
    the energy, deploy and measured-chip functions the guides call, where the rest of the API
    names the keyword and what it takes (and the closest one)."""
    with pytest.raises(ArgumentError, match="zzz_unknown.*it takes"):
        _documented_entry_points()[name](zzz_unknown=1)


def _names_the_docs_call():
    """Every callable the docs, the README and the examples import from a module path
    (``from xbarmem.experiments.runner import run_sweep``) or call by one
    (``xbarmem.deploy.chip_loop.adapt(...)``), as ``(module, name)``; classes whose constructor
    takes no arguments are left out (Python's own "takes no arguments" is the message)."""
    import importlib
    import inspect
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    found = set()
    for path in [*root.glob("docs/*.md"), root / "README.md", *root.glob("examples/*.py")]:
        text = path.read_text(encoding="utf-8")
        for module, items in re.findall(r"from (xbarmem(?:\.[a-z_]+)+) import ([\w, ]+)", text):
            found.update((module, item.strip()) for item in items.split(",") if item.strip())
        found.update(re.findall(r"\b(xbarmem(?:\.[a-z_]+)+)\.([a-z_]\w*)\(", text))
    for module, name in sorted(found):
        obj = getattr(importlib.import_module(module), name, None)
        if callable(obj) and not inspect.ismodule(obj) and (
                not isinstance(obj, type) or obj.__init__ is not object.__init__):
            yield f"{module}.{name}"


@pytest.mark.parametrize("path", list(_names_the_docs_call()))
def test_every_callable_the_docs_call_names_an_unknown_keyword(path):
    """run_sweep, load_sweep, ResultStore, reproduce, plot_rows, save_figure and layers_of,
    which the guide and examples call by their module paths, gave Python's bare TypeError
    ("run_sweep() got an unexpected keyword argument ...") where the rest of the API names
    the keyword and the closest one."""
    import importlib

    module, name = path.rsplit(".", 1)
    with pytest.raises(ArgumentError, match="zzz_unknown.*it takes"):
        getattr(importlib.import_module(module), name)(zzz_unknown=1)


@pytest.mark.parametrize(("call", "closest"), [
    (lambda p: xm.find_capacity(p, threshold=0.9), "thresholds"),
    (lambda p: xm.load_mnist(sides=8), "side"),
    (lambda p: xm.Protocol(prob=2), "probes"),
    (lambda p: xm.DeviceSpec(g_mn=1e-6), "g_min"),
    (lambda p: xm.FaultMap.generate(xm.load_preset("rram"), 1, seeds=1), "seed"),
    (lambda p: xm.train(p, rule="pinv", fault_sed=1), "fault_seed"),
    (lambda p: xm.train(p, rule="adaptive", max_step=3), "max_steps"),
])
def test_unknown_keyword_is_a_type_error_naming_the_closest(call, closest):
    pats = xm.random_patterns(3, 16, seed=0)
    with pytest.raises(TypeError, match=f"did you mean '{closest}'") as info:
        call(pats)
    assert isinstance(info.value, ArgumentError) and "\n" not in str(info.value)


def test_memory_recall_names_max_iterations():
    mem = xm.train(xm.random_patterns(3, 16, seed=0), rule="pinv")
    with pytest.raises(ArgumentError, match="did you mean 'max_iterations'"):
        mem.recall(mem_cues(), max_steps=3)


def mem_cues():
    return xm.random_patterns(2, 16, seed=1).patterns


def test_device_argument_says_cpu_only(monkeypatch):
    calls = []
    monkeypatch.setattr(fit, "fit_memories", lambda *a, **k: calls.append(a))
    with pytest.raises(ArgumentError, match="CPU only"):
        xm.train(xm.random_patterns(3, 16, seed=0), rule="pinv", device="cuda")
    assert not calls  # refused before any training


@pytest.mark.parametrize("convert", [
    lambda p: p, lambda p: p.tolist(), lambda p: torch.tensor(p, requires_grad=True),
    lambda p: torch.tensor(p.T.copy()).T, lambda p: p.astype(np.int8),
    lambda p: torch.tensor(p, dtype=torch.float64)])
def test_patterns_and_cues_in_any_container_give_the_same_memory(convert):
    pats = xm.random_patterns(3, 16, seed=0).patterns
    ref = xm.train(pats, rule="pinv")
    mem = xm.train(convert(pats), rule="pinv")
    assert np.array_equal(ref.layers[0].g_pos, mem.layers[0].g_pos)
    assert torch.equal(ref.recall(pats).states, mem.recall(convert(pats)).states)


def test_wrong_types_are_argument_errors_before_any_work(tmp_path):
    pats = xm.random_patterns(3, 16, seed=0)
    mem = xm.train(pats, rule="pinv")
    with pytest.raises(ArgumentError, match=r"faults must be a FaultMap \(.*\), got ndarray"):
        xm.train(pats, rule="pinv", faults=np.zeros((2, 2, 64, 64)))
    with pytest.raises(ArgumentError, match="memory must be a Memory .*, got ndarray"):
        xm.save_memory(pats.patterns, tmp_path / "m.safetensors")
    with pytest.raises(ArgumentError, match="memory must be a Memory"):
        export_memory(pats.patterns, tmp_path / "export")
    with pytest.raises(ArgumentError, match="memory must be a memory"):
        xm.evaluate_memory(pats.patterns, pats)
    with pytest.raises(ArgumentError, match=r"protocol must be a Protocol \(build one"):
        xm.evaluate_memory(mem, pats, {"probes": 2})
    with pytest.raises(ArgumentError, match=r"memory.recall\(cues\)"):
        xm.recall(mem, pats.patterns)
    assert list(tmp_path.iterdir()) == []


def test_hidden_without_multilayer_is_refused():
    with pytest.raises(ConfigError, match="applies to arch='multilayer' only"):
        xm.train(xm.random_patterns(3, 16, seed=0), rule="pinv", hidden=8)


@pytest.mark.parametrize("cues", [[[1.0, -1.0], [1.0]], [["a"] * 16], object()])
def test_unreadable_cues_are_a_pattern_error(cues):
    mem = xm.train(xm.random_patterns(3, 16, seed=0), rule="pinv")
    with pytest.raises(PatternError, match=r"cues must be a numeric \(batch, 16\) matrix"):
        mem.recall(cues)


def test_compare_rules_checks_every_rule_before_training(monkeypatch):
    pats = xm.random_patterns(3, 16, seed=0)
    calls = []
    monkeypatch.setattr(evaluate, "fit_memories", lambda *a, **k: calls.append(a))
    with pytest.raises(ConfigError, match="unknown rule 'pinvv'"):
        xm.compare_rules(pats, "paper-sim", ["hebb", "pinvv"], trials=1)
    with pytest.raises(ConfigError, match="rule_options names rule 'adaptve'"):
        xm.compare_rules(pats, "paper-sim", ["hebb"], trials=1,
                         rule_options={"adaptve": {"max_steps": 2}})
    with pytest.raises(ConfigError, match="trials must be an integer >= 1"):
        xm.compare_rules(pats, "paper-sim", ["hebb"], trials=1.5)
    assert not calls


def test_compare_rules_takes_one_rule_name():
    res = xm.compare_rules(xm.random_patterns(3, 16, seed=0), "paper-sim", "pinv", trials=1)
    assert list(res["rules"]) == ["pinv"]


def test_save_memory_refuses_a_missing_folder_and_non_json_extra(tmp_path):
    mem = xm.train(xm.random_patterns(3, 16, seed=0), rule="pinv")
    with pytest.raises(FileFormatError, match="no folder"):
        xm.save_memory(mem, tmp_path / "nope" / "m.safetensors")
    with pytest.raises(FileFormatError, match="it is a folder"):
        xm.save_memory(mem, tmp_path)
    with pytest.raises(ConfigError, match="extra must hold JSON data only"):
        xm.save_memory(mem, tmp_path / "m.safetensors", extra={"a": object()})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("call", "message"), [
    (lambda: xm.train(mem_cues(), rule="pinv", fault_seed=np.random.default_rng(0)),
     "fault_seed must be an integer >= 0, got a numpy Generator (pass an integer seed"),
    (lambda: xm.flip_bits(mem_cues(), 0.1, generator=np.random.RandomState(0)),
     "generator must be an integer >= 0 or a torch.Generator, got a numpy RandomState"),
    (lambda: xm.random_patterns(2, 4, seed=[1]), "seed must be an integer >= 0, got \\[1\\]$"),
    (lambda: xm.Protocol(seed=-1), "seed must be an integer >= 0, got -1$"),
])
def test_a_bad_seed_is_named_with_what_it_must_be(call, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as info:
        call()
    assert "0x" not in str(info.value)  # no object address


def test_numpy_scalars_are_taken_as_the_python_numbers_they_hold():
    """Values from np.arange / np.linspace, as a grid search makes them: refused before
    (``max_steps must be an integer >= 1, got np.int64(2)``)."""
    protocol = xm.Protocol(level=np.float32(0.25), probes=np.int64(2),
                           max_iterations=np.int32(9), seed=np.uint8(3))
    assert protocol.as_dict() == {"corruption": "flip", "level": 0.25, "probes": 2,
                                  "mode": "sync", "activation": None, "max_iterations": 9,
                                  "seed": 3}
    assert all(type(v) in (int, float, str, type(None)) for v in protocol.as_dict().values())
    device = xm.DeviceSpec(levels=np.int64(4), write_noise=np.float64(1e-6))
    assert type(device.levels) is int and type(device.write_noise) is float
    pats = xm.random_patterns(3, 16, seed=0)
    mem = xm.train(pats, rule="adaptive", max_steps=np.int64(2), finetune_steps=np.int64(1),
                   lr=np.float32(0.5))
    assert mem.info["rule_options"]["max_steps"] == 2
    assert mem.recall(pats.patterns, max_iterations=np.int64(3)).states.shape == (3, 16)
    with pytest.raises(ConfigError, match="levels must be an integer >= 0"):
        xm.DeviceSpec(levels=np.float64(4.0))
    with pytest.raises(ConfigError, match="max_iterations must be a positive integer"):
        xm.Protocol(max_iterations=np.bool_(True))


def test_counts_of_energy_and_deploy_take_numpy_integers_and_refuse_bools(monkeypatch):
    from xbarmem.deploy.backend import SimulatedChip
    from xbarmem.energy.measure import measure

    mem = xm.train(xm.random_patterns(3, 16, seed=0), rule="pinv")
    assert SimulatedChip(mem.layers[0], read_averages=np.int64(2)).read_averages == 2
    with pytest.raises(ConfigError, match="read_averages must be an integer >= 1, got True"):
        SimulatedChip(mem.layers[0], read_averages=True)
    import xbarmem.energy.measure as measure_mod

    def no_work(*args, **kwargs):
        raise AssertionError("trained before the recall settings were checked")

    monkeypatch.setattr(measure_mod, "build_memory", no_work)
    with pytest.raises(ConfigError, match="probes must be an integer >= 1, got True"):
        measure(16, n_patterns=2, rule="pinv", probes=True)
    with pytest.raises(ConfigError, match="activation must be one of"):
        measure(16, n_patterns=2, rule="pinv", activation="relu")


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: xm.run_scaling([], rule="pinv", arch="single"), ConfigError,
     "sizes must name at least one N"),
    (lambda: xm.fit_power_law([16, 64, 256], [3, 4, 5], confidence=95), ConfigError,
     r"confidence must be a number in \(0, 1\), got 95"),
    (lambda: xm.HiddenRule("fixed", -3), ConfigError, "hidden rule must be fixed with an"),
    (lambda: xm.HiddenRule("fixed", 2.5), ConfigError, "hidden rule must be fixed with an"),
    (lambda: xm.load_chip({"device": {}}), ArgumentError,
     "a chip must be a preset name, a TOML file path or a ChipSpec, got dict; "
     "ChipSpec.from_dict"),
    (lambda: xm.train(mem_cues(), rule="pinv", chip=3), ArgumentError, "got int$"),
])
def test_scaling_fit_and_chip_arguments_are_checked(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_hidden_rules_still_parse_and_build():
    assert str(xm.HiddenRule("ratio", np.float32(0.5))) == "ratio:0.5"
    assert xm.HiddenRule.parse("fixed:8").width(64) == 8 and xm.HiddenRule.parse(16).value == 16


@pytest.mark.parametrize(("call", "closest"), [
    ("xbarmem.deploy.chip_loop:adapt", "tolerance"),
    ("xbarmem.deploy.chip_loop:adapt_read_back", "tolerance"),
    ("xbarmem.deploy.readback:load_read_back", "key"),
    ("xbarmem.deploy.readback:read_back_backends", "chip"),
])
def test_the_chip_loop_functions_name_the_closest_keyword(call, closest):
    import importlib

    module, name = call.split(":")
    func = getattr(importlib.import_module(module), name)
    misspelt = {"tolerance": "tolerence", "key": "keys", "chip": "chips"}[closest]
    with pytest.raises(ArgumentError, match=f"did you mean '{closest}'"):
        func(None, None, None, **{misspelt: 1}) if "adapt" in name else \
            func(None, None, **{misspelt: 1})


def _cue_paths():
    """Every public path that takes cues, as ``recall(cues, activation)`` of one 16-neuron
    memory: the engine through a matrix, the batched engine, a memory, a memory read through
    a chip backend and the energy measurement."""
    from xbarmem.deploy.backend import BackendMemory, simulated_backends
    from xbarmem.energy.measure import measure_memory
    from xbarmem.memory.recall import FloatMatrix, recall_batch, stack_matrices

    mem = xm.train(xm.random_patterns(3, 16, seed=0), rule="pinv")
    view = BackendMemory(mem, simulated_backends(mem))
    mats = stack_matrices([mem])
    return {
        "recall": lambda c, a: xm.recall(FloatMatrix(mem.weights), c, activation=a),
        "recall_batch": lambda c, a: recall_batch(
            mats if mats is not None else torch.zeros(1, 16, 17), c,
            torch.zeros(len(c), dtype=torch.int64), activation=a),
        "Memory.recall": lambda c, a: mem.recall(c, activation=a),
        "BackendMemory.recall": lambda c, a: view.recall(c, activation=a),
        "measure_memory": lambda c, a: measure_memory(mem, c, torch.ones(len(c), 16),
                                                      activation=a),
    }


_RAW_IMAGES = np.arange(32, dtype=np.uint8).reshape(2, 16) * 8  # 0 .. 248
_ZERO_ONE = (np.arange(32).reshape(2, 16) % 3 == 0).astype(np.float32)


@pytest.mark.parametrize(("cues", "activations", "words"), [
    (_RAW_IMAGES, ("sign", "tanh"), ["[-1, 1]", "31 of 32 entries", "min=0.0, max=248.0"]),
    (np.full((1, 16), -1.5), ("sign", "tanh"), ["16 of 16 entries", "min=-1.5"]),
    (_ZERO_ONE, ("sign",), ["{0,1} matrix", "map them with 2*x - 1"]),
])
def test_cues_a_memory_cannot_mean_are_refused_on_every_path(cues, activations, words):
    for name, call in _cue_paths().items():
        for activation in activations:
            with pytest.raises(PatternError) as info:
                call(torch.as_tensor(cues), activation)
            msg = str(info.value)
            assert "\n" not in msg and all(w in msg for w in words), (name, activation, msg)


@pytest.mark.parametrize(("make", "activations"), [
    (lambda x: xm.gaussian_noise(x, 0.8, 1), ("sign", "tanh")),  # clipped to [-1, 1]
    (lambda x: xm.occlude_block(x, (4, 4), 0.5, 1, fill=0.0), ("sign", "tanh")),
    (lambda x: np.random.default_rng(0).uniform(-1, 1, x.shape), ("sign", "tanh")),
    (lambda x: _ZERO_ONE, ("tanh",)),  # {0,1} states are continuous states for tanh
])
def test_continuous_cues_inside_the_range_are_taken_on_every_path(make, activations):
    cues = torch.as_tensor(make(torch.tensor(xm.random_patterns(2, 16, seed=1).patterns)),
                           dtype=torch.float32)
    for call in _cue_paths().values():
        for activation in activations:
            call(cues, activation)  # taken: no error, on every path


def test_reprs_say_what_a_memory_and_a_score_hold(small_memory):
    pset, memory = small_memory
    assert repr(memory) == ("SingleLayerMemory(N=16, chip='rram', arrays=1, bias=True, "
                            "rule='adaptive', kind='binary')")
    fresh = xm.MultilayerMemory(16, 8, xm.load_chip("ideal"))
    assert repr(fresh) == ("MultilayerMemory(layout='16-8-16', chip='ideal', arrays=2, bias=True, "
                           "programmed=False)")
    score = xm.evaluate_memory(memory, pset, xm.Protocol(probes=2))
    text = repr(score)
    assert text.startswith(f"Score(cosine={score.cosine:.4g}, exact={score.exact:.4g}, ")
    assert "per_pattern_cosine=[3 values, " in text and "tensor" not in text


def test_reprs_of_fault_maps_and_crossbars_give_shape_counts_and_placement():
    chip = xm.load_preset("rram").with_faults(0.3)
    faults = xm.FaultMap.generate(chip, 2, seed=0)
    stuck = int(faults.stuck.sum())
    assert repr(faults) == (f"FaultMap(arrays=2, rows=64, cols=64, stuck={stuck} of 16384 "
                            f"devices ({100 * stuck / 16384:.1f}%), source='generated', seed=0)")
    assert len(repr(faults)) < 200  # not every conductance
    crossbar = xm.Crossbar(chip, 64, 64, faults)
    assert repr(crossbar) == ("Crossbar(64x65 incl. bias row, chip='rram', arrays 0..1 of "
                              "64x64, w_max=0.5, programmed=False)")
    one = xm.Crossbar(chip, 8, 8, faults, bias=False, first_array=1)
    assert repr(one).startswith("Crossbar(8x8, chip='rram', array 1 of 64x64, ")


@pytest.mark.parametrize("rule", [xm.AdaptiveTrainer(max_steps=2), xm.get_rule("hebb")])
def test_rule_fit_takes_a_problem_and_a_progress_function_only(rule):
    patterns = xm.random_patterns(3, 16, seed=0).patterns
    memory = xm.SingleLayerMemory(16, "ideal", bias=rule.bias)
    with pytest.raises(ArgumentError, match=r"problem must be a Problem \(Problem.of.*"
                       r"xbarmem.train\(patterns, \.\.\.\).*got SingleLayerMemory"):
        rule.fit(memory, patterns)  # scikit-learn's fit(X, y) habit
    problem = xm.Problem.for_memories(patterns, [memory])
    with pytest.raises(ArgumentError, match="progress must be a function"):
        rule.fit(problem, patterns)
    assert rule.fit(problem).weights[0].shape == (1, 16, 16)


def test_a_measured_array_given_as_faults_is_told_how_to_make_a_fault_map():
    """``faults=`` given the measured conductance array itself (a numpy array) was told "must
    be a FaultMap (FaultMap.generate, FaultMap.load)" by ``train`` and "a FaultMap (or None)"
    by ``find_capacity``: neither makes one of a measurement (review3). Both name
    ``FaultMap.from_conductance_map``."""
    pats = xm.random_patterns(20, 16, seed=0)
    grid = np.full((2, 64, 64), 60e-6)
    for call in (lambda: xm.train(pats, rule="pinv", faults=grid),
                 lambda: xm.find_capacity(pats, rule="pinv", faults=grid, trials=1)):
        with pytest.raises(ArgumentError, match=re.escape(
                "a measured array: FaultMap.from_conductance_map(g, chip.device) or "
                "FaultMap.from_codes)")):
            call()
