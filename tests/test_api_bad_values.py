"""The Python API given bad VALUES (unknown keywords: test_api_inputs.py): every one is refused
with one xbarmem error naming the argument, before any work, and no message embeds an array.
One parametrised test per class of problem (a trimmed version of a fuzz of the public API with
None, bools, NaN, huge counts, arrays, tensors, paths and callables)."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

import xbarmem as xm
from xbarmem.checks import MAX_SEED, is_choice, shown
from xbarmem.deploy.backend import BackendMemory, SimulatedChip, simulated_backends
from xbarmem.deploy.chip_loop import adapt, adapt_read_back
from xbarmem.deploy.export import export_memory
from xbarmem.deploy.readback import load_read_back
from xbarmem.deploy.reload import load_export
from xbarmem.errors import ArgumentError, ConfigError, FileFormatError, XbarmemError
from xbarmem.evaluation.curve import recall_curve
from xbarmem.experiments import ResultStore, load_sweep, parse_sweep
from xbarmem.experiments.claims import Claimant
from xbarmem.experiments.demo import run_demo
from xbarmem.experiments.reproduce import reproduce
from xbarmem.experiments.runner import run_sweep
from xbarmem.hardware.measured import read_conductance_csv, read_measured_csv
from xbarmem.memory.build import memory_from_sizes
from xbarmem.memory.io import read_metadata, saved_patterns
from xbarmem.viz.style import save_figure

BIG = np.zeros((40, 40))
P = xm.random_patterns(3, 16, seed=0)
MEM = xm.train(P, rule="pinv")
CHIP = xm.load_preset("paper-sim")
FM = xm.FaultMap.generate(CHIP, 2, seed=0)
META = torch.empty(3, 16, device="meta")
COMPLEX = torch.ones(3, 16, dtype=torch.complex64)
G = np.full((1, 2, 8, 8), 5e-5)


def _crossbar() -> xm.Crossbar:
    return xm.Crossbar(CHIP, 16, 16, xm.FaultMap.empty(1, 64, 64))


def _refused(call, match: str, error: type[Exception] = XbarmemError) -> str:
    """``call()`` raises ``error`` (an xbarmem error) whose one-line message matches."""
    with pytest.raises(error, match=match) as info:
        call()
    assert isinstance(info.value, XbarmemError)
    message = str(info.value)
    reprs = message.replace("array(s)", "")  # "2 arrays for 1 layer" is prose, not a repr
    assert "\n" not in message and "array(" not in reprs and "tensor(" not in reprs
    assert len(message) < 300, message
    return message


@pytest.mark.parametrize("value", [BIG, torch.ones(30, 30), np.array(["x"] * 500), "x" * 500,
                                   list(range(500)), META])
def test_shown_never_embeds_a_long_value(value):
    text = shown(value)
    assert len(text) < 100 and "[[" not in text


@pytest.mark.parametrize(("call", "match"), [
    (lambda: xm.random_patterns(BIG, 16), "n_patterns must be a positive integer, got an "
                                          "ndarray of shape \\(40, 40\\)"),
    (lambda: xm.flip_bits(P.patterns, BIG), "flip rate must be a number, got an ndarray"),
    (lambda: xm.corrupt(P.patterns, BIG, 0.1), "unknown corruption method an ndarray"),
    (lambda: xm.load_mnist(side=BIG), "side must be an integer in 4..28, got an ndarray"),
    (lambda: xm.train(P, rule="adaptive", max_steps=BIG), "max_steps must be an integer"),
    (lambda: xm.train(P, rule="pinv", hidden=BIG), "hidden=an ndarray .* arch=.multilayer. only"),
    (lambda: xm.Protocol(probes=torch.ones(30, 30)), "probes must be .*, got a Tensor"),
    (lambda: xm.DeviceSpec(g_min=BIG), "g_min must be .*, got an ndarray"),
])
def test_messages_show_an_array_by_its_type_and_shape(call, match):
    _refused(call, match)


_CHOICE = [BIG, np.array("pinv"), np.zeros((0, 16)), COMPLEX, META, ["pinv"], True]


@pytest.mark.parametrize("value", _CHOICE, ids=lambda v: type(v).__name__)
@pytest.mark.parametrize(("call", "match"), [
    (lambda v: xm.PatternSet(P.patterns, kind=v), "unknown pattern kind"),
    (lambda v: xm.as_pattern_set(P.patterns, kind=v), "unknown pattern kind"),
    (lambda v: xm.train(P, rule=v), "unknown rule"),
    (lambda v: xm.train(P, rule="pinv", arch=v), "arch must be one of"),
    (lambda v: MEM.recall(P.patterns, mode=v), "recall mode must be one of"),
    (lambda v: MEM.recall(P.patterns, activation=v), "activation must be one of"),
    (lambda v: xm.load_preset(v), "unknown chip preset"),
    (lambda v: xm.HiddenRule(v, 8), "hidden rule must be"),
    (lambda v: xm.get_rule(v), "unknown rule"),
], ids=["kind", "as_pattern_set-kind", "rule", "arch", "mode", "activation", "preset",
        "hidden-kind", "get_rule"])
def test_a_name_given_an_array_or_tensor_is_no_choice(call, match, value):
    _refused(lambda: call(value), match)


def test_is_choice_is_safe_for_any_value():
    assert is_choice("pinv", ("pinv",)) and is_choice(np.str_("pinv"), ("pinv",))
    assert not any(is_choice(v, ("pinv", "hebb")) for v in _CHOICE)


@pytest.mark.parametrize("value", ["no", 1, None, np.array([True]), 0.0])
@pytest.mark.parametrize(("call", "name"), [
    (lambda v: xm.as_pattern_set(P.patterns, zero_one=v), "zero_one"),
    (lambda v: xm.train(P, rule="pinv", zero_one=v), "zero_one"),
    (lambda v: xm.load_glyphs(n_patterns=3, shuffle=v), "shuffle"),
    (lambda v: xm.load_mnist(n_patterns=3, one_per_class=v), "one_per_class"),
    (lambda v: xm.gaussian_noise(P.patterns, 0.1, clip=v), "clip"),
    (lambda v: xm.SingleLayerMemory(16, bias=v), "bias"),
    (lambda v: xm.compare_rules(P, "paper-sim", "pinv", trials=1, keep_states=v),
     "keep_states"),
], ids=["as_pattern_set", "train", "shuffle", "one_per_class", "clip", "bias", "keep_states"])
def test_a_flag_takes_true_or_false_only(call, name, value):
    _refused(lambda: call(value), f"{name} must be True or False")


def test_a_numpy_bool_is_a_flag():
    assert xm.gaussian_noise(P.patterns, 0.1, clip=np.bool_(False)).shape == (3, 16)


@pytest.mark.parametrize("value", [None, 3, b"m.safetensors", BIG, ""])
@pytest.mark.parametrize("call", [
    xm.load_file, xm.load_memory, xm.load_stored_patterns, xm.FaultMap.load,
    lambda v: xm.save_memory(MEM, v), FM.save,
], ids=["load_file", "load_memory", "load_stored_patterns", "FaultMap.load", "save_memory",
        "FaultMap.save"])
def test_a_path_argument_must_be_a_path(call, value):
    _refused(lambda: call(value), "must be a file path", ArgumentError)


def test_output_paths_that_are_folders_or_in_no_folder_are_refused(tmp_path):
    _refused(lambda: FM.save(tmp_path), "cannot write the fault map .*: it is a folder",
             FileFormatError)
    _refused(lambda: FM.save(tmp_path / "no" / "m.npz"), "no folder", FileFormatError)
    _refused(lambda: xm.load_patterns(None), "source must be a built-in name or a file path")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("call", "match"), [
    (lambda: xm.Crossbar("paper-sim", 16, 16, xm.FaultMap.empty(1, 64, 64)),
     "chip must be a ChipSpec"),
    (lambda: xm.Crossbar(CHIP, 16, 16, None), "faults must be a FaultMap"),
    (lambda: xm.FaultMap.generate("paper-sim", 1), "chip must be a ChipSpec"),
    (lambda: FM.check_chip(None), "chip must be a ChipSpec"),
    (lambda: FM.summary(device=True), "device must be a DeviceSpec"),
    (lambda: xm.FaultMap.load("x.npz", device=CHIP), "device must be a DeviceSpec"),
    (lambda: MEM.rebuild(None), "faults must be a FaultMap"),
    (lambda: MEM.rebuild("paper-sim"), "faults must be a FaultMap"),
    (lambda: xm.find_capacity(P, rule="pinv", faults=True), "faults must be a FaultMap"),
    (lambda: xm.compare_rules(P, "paper-sim", None, trials=1), "needs rules: a rule name"),
    (lambda: xm.compare_rules(P, "paper-sim", "pinv", trials=1, variants=True),
     "variants must be a dict"),
    (lambda: xm.compare_rules(P, "paper-sim", "pinv", trials=1, variants={"a": {}}),
     "every protocol of variants must be a Protocol"),
    (lambda: xm.fit_memories("pinv", torch.tensor(P.patterns), [xm.SingleLayerMemory(16)]),
     "^rule must be a Rule object here \\(get_rule\\('pinv'\\) gives one\\), got the name "
     "'pinv'$"),
    (lambda: xm.fit_memories(xm.get_rule("pinv"), None, [xm.SingleLayerMemory(16)]),
     "patterns must be a"),
    (lambda: xm.fit_memories(xm.get_rule("pinv"), torch.tensor(P.patterns), None),
     "memories must be a list"),
    (lambda: xm.fit_memories(xm.get_rule("pinv"), torch.tensor(P.patterns), [MEM, 3]),
     "memories must be a list of Memory"),
    (lambda: xm.PatternSet(P.patterns, name=3), "name must be a text"),
    (lambda: xm.Memory(None), "sizes must list at least two layer widths"),
    (lambda: xm.FaultMap.from_codes(np.zeros((1, 2, 8, 8)), None), "device must be a DeviceSpec"),
    (lambda: xm.FaultMap.from_readback(G, G, None, CHIP.device), "tolerance must be a number"),
    (lambda: xm.FaultMap.from_conductance_map(G, CHIP.device, off_below="x"),
     "off_below must be a number"),
    (lambda: _crossbar().program(torch.zeros(16, 16), seed=float("nan")),
     "seed must be an integer >= 0"),
    (lambda: _crossbar().program(torch.zeros(16, 16)).matvec(None),
     "input must be an array of real numbers"),
    (lambda: xm.fit_memories(xm.get_rule("pinv"), torch.tensor(P.patterns),
                             [xm.SingleLayerMemory(16)], counts=[]),
     "counts must be 1 integer in 1..3 \\(one per memory\\), got \\[\\]"),
    (lambda: xm.MultilayerMemory(16, np.array(3)), "hidden must be a width \\(an integer"),
    (lambda: xm.random_patterns(None, 16), "n_patterns must be a positive integer, got None"),
    (lambda: xm.as_pattern_set(P.patterns, n_neurons=BIG), "n_neurons must be an integer"),
    (lambda: xm.Memory([16, 16], first_array=None), "first_array must be an integer >= 0"),
    (lambda: xm.FaultMap.empty(None, 8, 8), "n_arrays must be an integer >= 1"),
    (lambda: xm.fit_power_law(None, [1, 2]), "sizes must be an array of real numbers"),
    (lambda: xm.run_scaling(None), "sizes must be a list"),
    (lambda: xm.HiddenRule.parse("fixed:8").width(None), "n must be an integer >= 2"),
    (lambda: xm.Protocol().reseeded(None), "offset must be an integer"),
    (lambda: xm.Problem.of(P.patterns, bias=None), "bias must be True or False"),
    (lambda: xm.Problem.of(P.patterns, counts=[float("nan")]), "counts must be whole numbers"),
    (lambda: xm.Problem.of(None), "patterns must be an array of real numbers"),
    (lambda: xm.Problem.of(True), "patterns must be \\(P, N\\) or \\(T, P, N\\)"),
    (lambda: xm.Problem.of(P.patterns, bounds=True), "bounds must be a list"),
    (lambda: xm.Problem.of(P.patterns, bounds=[1, 2, 3]), "bounds\\[0\\] must be a pair"),
    (lambda: xm.Problem.of(P.patterns, bounds=[(np.zeros((16, 17)), np.ones((16, 16)))]),
     "bounds\\[0\\] must be \\(lo, hi\\) of one shape"),
    (lambda: xm.Problem.of(P.patterns, bounds=[(None, None)]), "bounds\\[0\\] must be an array"),
    (lambda: xm.Problem.of(P.patterns, w_max=[1, 2, 3]), "w_max\\[0\\] must be a list"),
    (lambda: xm.Problem.of(P.patterns, w_max=[[float("nan")]]), "w_max\\[0\\] must be a list"),
    (lambda: xm.Problem.of(P.patterns, w_max=[["a"]]), "w_max\\[0\\] must be an array"),
    (lambda: load_sweep(None), "path must be a file path"),
    (lambda: parse_sweep({}, source=None), "source must be a text"),
    (lambda: ResultStore(None), "path must be a file path"),
    (lambda: ResultStore("s.sqlite", readonly=np.ones(3)), "readonly must be True or False"),
    (lambda: ResultStore("s.sqlite", busy_timeout=-1), "busy_timeout must be a number"),
])
def test_a_value_of_the_wrong_type_is_named(call, match):
    _refused(call, match)


@pytest.mark.parametrize("make", [
    lambda *shape: torch.empty(*shape, device="meta"),
    lambda *shape: torch.ones(*shape, dtype=torch.complex64)], ids=["meta", "complex"])
@pytest.mark.parametrize(("call", "name"), [
    (lambda make: xm.as_pattern_set(make(3, 16)), "patterns"),
    (lambda make: xm.train(make(3, 16), rule="pinv"), "patterns"),
    (lambda make: MEM.recall(make(3, 16)), "cues"),
    (lambda make: xm.flip_bits(make(3, 16), 0.1), "cues"),
    (lambda make: xm.FloatMatrix(make(16, 16)), "weights"),
    (lambda make: MEM.program(make(16, 16)), "weights"),
    (lambda make: xm.PatternSet(P.patterns, labels=make(3)), "labels"),
], ids=["as_pattern_set", "train", "recall", "flip_bits", "FloatMatrix", "program", "labels"])
def test_meta_and_complex_tensors_are_refused(call, name, make):
    _refused(lambda: call(make), f"{name} must")


@pytest.mark.parametrize("make", [
    lambda: np.asarray(P.patterns, dtype=np.complex128) + 0.5j,
    lambda: (np.asarray(P.patterns, dtype=np.complex64) + 0.5j).tolist()], ids=["numpy", "list"])
@pytest.mark.parametrize("call", [
    lambda cues: MEM.recall(cues), lambda cues: xm.flip_bits(cues, 0.1),
    lambda cues: xm.corrupt(cues, "gaussian", 0.1)], ids=["recall", "flip_bits", "corrupt"])
def test_complex_cues_are_refused_not_cut_to_their_real_part(call, make):
    """Complex numbers in a numpy array or nested lists (not only a complex tensor) are refused
    naming the cues; they were read as their real parts, with numpy's ComplexWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning either
        _refused(lambda: call(make()), "cues must be real numbers")


def test_tensors_that_require_grad_are_read():
    idx = torch.tensor([0.0, 1.0], requires_grad=True)
    assert xm.PatternSet(P.patterns).subset(idx.long()).n_patterns == 2
    codes = torch.zeros(1, 2, 8, 8, requires_grad=True)
    assert xm.FaultMap.from_codes(codes, CHIP.device).n_arrays == 1
    w = torch.zeros(16, 16, requires_grad=True)
    assert xm.FloatMatrix(w).n_in == 16


@pytest.mark.parametrize(("call", "match"), [
    (lambda: xm.train(P, rule="adaptive", finetune_steps=10**12),
     "finetune_steps must be at most 1000000000"),
    (lambda: xm.train(P, rule="adaptive", cue_copies=10**12), "cue_copies must be at most"),
    (lambda: xm.train(P, rule="adaptive", unroll=10**12), "unroll must be at most"),
    (lambda: xm.Protocol(probes=10**12), "probes must be at most"),
    (lambda: MEM.recall(P.patterns, max_iterations=10**12), "max_iterations must be at most"),
    (lambda: xm.random_patterns(10**8, 16), "would need about .* of memory"),
    (lambda: xm.load_patterns("random", side=4, n_patterns=10**8), "would need about .* of memory"),
    (lambda: xm.HiddenRule.parse("fixed:1000000000000"), "hidden rule must be"),
    (lambda: xm.random_patterns(10**12, 16), "n_patterns must be at most 1000000000"),
    (lambda: xm.Crossbar(CHIP, 10**12, 16, FM), "n_out must be at most"),
])
def test_a_huge_count_is_refused_with_its_limit(call, match):
    _refused(call, match)


@pytest.mark.parametrize(("call", "name"), [
    (lambda v: xm.train(P, rule="pinv", progress=v), "progress"),
    (lambda v: xm.train(P, rule="adaptive", max_steps=2, progress=v), "progress"),
    (lambda v: xm.fit_memories(xm.get_rule("pinv"), torch.tensor(P.patterns),
                               [xm.SingleLayerMemory(16)], progress=v), "progress"),
    (lambda v: xm.find_capacity(P, rule="pinv", progress=v), "progress"),
    (lambda v: xm.run_scaling([16], progress=v), "progress"),
    (lambda v: xm.compare_rules(P, "paper-sim", "pinv", trials=1, callback=v), "callback"),
    (lambda v: xm.compare_rules(P, "paper-sim", "pinv", trials=1, train_progress=v),
     "train_progress"),
], ids=["train", "train-adaptive", "fit_memories", "find_capacity", "run_scaling",
        "compare_rules", "compare_rules-train"])
def test_a_callback_that_is_not_callable_is_refused_before_work(call, name):
    _refused(lambda: call(True), f"{name} must be a function", ArgumentError)


def test_run_sweep_checks_its_callbacks_before_opening_the_store(tmp_path):
    spec = parse_sweep({"sweep": {"name": "s", "trial": "capacity", "seeds": 1},
                        "base": {"data": "random", "n_neurons": 16, "rule": "pinv",
                                 "counts": [2], "probes": 1}})
    for key in ("on_plan", "on_progress", "on_work", "on_failure"):
        _refused(lambda key=key: run_sweep(spec, tmp_path / "s.sqlite", **{key: "x"}),
                 f"{key} must be a function", ArgumentError)
    assert list(tmp_path.iterdir()) == []


def test_run_sweep_of_no_sweeps_is_refused_before_making_the_store(tmp_path):
    """run_sweep([], path) made an empty store and reported 0 trials."""
    _refused(lambda: run_sweep([], tmp_path / "s.sqlite"), "non-empty list of them, got \\[\\]",
             ArgumentError)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("call", "match"), [
    (lambda: xm.HiddenRule.parse(True), "hidden rule must be"),
    (lambda: xm.HiddenRule("fixed", float("inf")), "hidden rule must be"),
    (lambda: xm.flip_bits(P.patterns, True), "flip rate must be a number, got True"),
    (lambda: xm.corrupt(P.patterns, "gaussian", np.bool_(True)),
     r"level \(noise sigma\) must be a num"),
    (lambda: xm.Protocol(level=True), r"level \(flip rate\) must be a number"),
    (lambda: xm.find_capacity(P, arch="single", rule="pinv", hidden=8),
     "applies to arch='multilayer' only"),
    (lambda: xm.run_scaling([16], arch="single", rule="pinv", hidden="fixed:8"),
     "applies to arch='multilayer' only"),
    (lambda: xm.recall(xm.FloatMatrix(torch.eye(16)), P.patterns, tol="x"),
     "tol must be a finite number >= 0"),
    (lambda: xm.occlude_block(P.patterns, None, 0.2), "image_shape must be a pair"),
    (lambda: xm.occlude_block(P.patterns, (4, 4), 0.2, fill=None), "fill must be a finite"),
    (lambda: xm.PatternSet(P.patterns, image_shape=3), "image_shape must be a pair"),
    (lambda: MEM.program(torch.zeros(16, 16), float("nan")), "no bias row"),
])
def test_known_odd_values_are_refused(call, match):
    _refused(call, match)


@pytest.mark.parametrize(("call", "name"), [
    (lambda s: xm.Protocol(seed=s), "seed"),
    (lambda s: xm.train(P, rule="pinv", fault_seed=s), "fault_seed"),
    (lambda s: xm.flip_bits(P.patterns, 0.1, generator=s), "generator"),
    (lambda s: xm.random_patterns(2, 4, seed=s), "seed"),
    (lambda s: xm.FaultMap.generate(CHIP, 1, seed=s), "seed"),
])
def test_a_seed_above_32_bits_is_refused(call, name):
    _refused(lambda: call(MAX_SEED + 1), f"{name} must be .* at most {MAX_SEED}", ConfigError)
    call(MAX_SEED)  # the largest seed is taken


# ------------------------------------------------------------------ round 2: experiments,
# checkpoints, energy and deploy (a fuzz of run_sweep, ResultStore, reproduce, run_demo,
# find_capacity(measured=), the deploy backends and export)

@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a call that is not refused writes nothing into the checkout


SPEC = parse_sweep({"sweep": {"name": "s", "trial": "capacity", "seeds": 1},
                    "base": {"data": "random", "n_neurons": 16, "rule": "pinv",
                             "counts": [2], "probes": 1}})


def _no_run(specs, db):
    raise AssertionError("reproduce ran its sweeps before refusing an argument")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "s.sqlite"
    run_sweep(SPEC, path)
    with ResultStore(path) as db:
        yield db


@pytest.mark.parametrize("value", ["rule=pinv", None, 3, [3], ["rule=pinv", None], BIG,
                                   torch.ones(30, 30)], ids=lambda v: shown(v)[:20])
@pytest.mark.parametrize(("call", "name"), [
    (lambda db, v: db.rows(v), "where"),
    (lambda db, v: db.count(v), "where"),
    (lambda db, v: list(db.iter_rows(v)), "where"),
    (lambda db, v: db.finished(v), "keys"),
    (lambda db, v: db.by_keys(v), "keys"),
    (_RELEASE := lambda db, v: db.release(Claimant.new(), v), "keys"),
    (lambda db, v: db.check_fields(v, "--group-by"), "names"),
    (lambda db, v: run_demo(rules=v, out_dir="never"), "rules"),
    (lambda db, v: run_demo(fault_models=v, out_dir="never"), "fault_models"),
], ids=["rows", "count", "iter_rows", "finished", "by_keys", "release", "check_fields",
        "demo-rules", "demo-fault_models"])
def test_a_list_of_texts_is_checked(store, call, name, value):
    """One text (read letter by letter), None, a number, an array or a list holding other
    than texts: ArgumentError naming the argument (raw TypeError / AttributeError before)."""
    if value is None and (name == "rules" or call is _RELEASE):
        return  # None: every rule / every claim, by design
    _refused(lambda: call(store, value), f"{name} must be a list of", ArgumentError)


@pytest.mark.parametrize("call, dtype", [
    (lambda: xm.FaultMap.from_codes(np.zeros((2, 4, 4), complex), xm.load_preset("rram").device),
     "complex128"),
    (lambda: xm.FaultMap.from_codes(np.array([["a"]]), xm.load_preset("rram").device), "<U1"),
    (lambda: xm.fit_power_law(np.array([1j, 2j]), [1, 2]), "complex128"),
    (lambda: MEM.layers[0].read_outputs(torch.zeros(2, MEM.n_neurons), np.zeros(2)), "float64"),
    (lambda: MEM.layers[0].read_outputs(torch.zeros(2, MEM.n_neurons),
                                        np.zeros(2, np.float32)), "float32"),
], ids=["codes-complex", "codes-text", "sizes-complex", "outputs-float64", "outputs-float32"])
def test_an_array_of_the_wrong_dtype_names_its_dtype_once(call, dtype):
    """``chip import c.npy`` of complex codes said "got an ndarray of shape (2, 16, 16),
    complex128 of dtype complex128": the value's words already name the dtype of an array
    (``shown``), and the readers added it again; ``checks.shown_typed`` names it once (a 0-d
    array, shown by its value, still gets it)."""
    message = _refused(call, "must be")
    assert message.count(dtype) == 1 and "of dtype" not in message, message


def test_a_0d_array_of_the_wrong_dtype_still_names_its_dtype():
    message = _refused(lambda: xm.fit_power_law(np.array(1j), [1, 2]), "must be")
    assert message.endswith("holding 1j of dtype complex128"), message


@pytest.mark.parametrize("value", [None, 3, b"s.sqlite", BIG, ""], ids=lambda v: shown(v)[:20])
@pytest.mark.parametrize("call", [
    lambda v: run_sweep(SPEC, v), ResultStore.check,
    lambda v: ResultStore("db.sqlite").export(v),
    lambda v: reproduce(v, run=_no_run),
    _REPRODUCE_STORE := lambda v: reproduce("never", store=v, run=_no_run),
    lambda v: run_demo(out_dir=v), lambda v: export_memory(MEM, v), load_export,
    lambda v: load_read_back(v, MEM), read_metadata, saved_patterns,
    lambda v: read_measured_csv(v, 8, 8), lambda v: read_conductance_csv(v, 8, 8),
    lambda v: save_figure(Figure(), v),
], ids=["run_sweep", "ResultStore.check", "export", "reproduce", "reproduce-store",
        "run_demo", "export_memory", "load_export", "load_read_back", "read_metadata",
        "saved_patterns", "read_measured_csv", "read_conductance_csv", "save_figure"])
def test_more_path_arguments_must_be_paths(call, value):
    """read_metadata, saved_patterns, the CSV readers and save_figure raised a raw TypeError
    (``Path(None)``)."""
    if value is None and call is _REPRODUCE_STORE:
        return  # store=None: OUT/results.sqlite
    _refused(lambda: call(value), "must be a file path", ArgumentError)
    assert not Path("never").exists()


@pytest.mark.parametrize("call", [
    lambda out: reproduce(out, run=_no_run), lambda out: run_demo(out_dir=out, trials=1),
    lambda out: export_memory(MEM, out)], ids=["reproduce", "run_demo", "export_memory"])
@pytest.mark.parametrize("where", ["file", "file/sub"])
def test_an_output_folder_that_is_a_file_is_refused_before_writing(tmp_path, call, where):
    (tmp_path / "file").write_text("")
    _refused(lambda: call(tmp_path / where), "file exists and is not a folder")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


@pytest.mark.parametrize("call", [
    lambda out, _: xm.save_memory(MEM, out / "m.safetensors"),
    lambda out, _: FM.save(out / "m.npz"),
    lambda out, _: save_figure(Figure(), out / "f.png"),
    lambda out, store: ResultStore(store).export(out / "r.csv"),
], ids=["save_memory", "FaultMap.save", "save_figure", "ResultStore.export"])
@pytest.mark.parametrize("where", ["file", "file/sub"])
def test_an_output_file_under_a_file_names_the_file(tmp_path, tmp_path_factory, call, where):
    """A file to write under a file (``file/m.safetensors``) was refused "no folder file", as
    if it were missing; it is named as the output folders name it: ``file exists and is not a
    folder`` (``files.no_folder``; the command line's ``the folder file is not a folder``)."""
    (tmp_path / "file").write_text("")
    store = tmp_path_factory.mktemp("store") / "s.sqlite"
    _refused(lambda: call(tmp_path / where, store),
             f"{tmp_path / 'file'} exists and is not a folder")
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


@pytest.mark.parametrize("where", ["file", "file/sub"])
def test_a_command_output_under_a_file_names_the_file(run_cli, tmp_path, where):
    """``train --out file/m.safetensors`` said "the folder file is not a folder"."""
    from conftest import refused

    (tmp_path / "file").write_text("")
    line = refused(run_cli, tmp_path, "train", "--rule", "pinv", "--data", "random",
                   "--neurons", "16", "--out", tmp_path / where / "m.safetensors")
    assert f"{tmp_path / 'file'} exists and is not a folder" in line, line


_FOLDER_OUTPUTS = {
    "reproduce": lambda out: reproduce(out, run=_no_run),
    "run_demo": lambda out: run_demo(out_dir=out, trials=1),
    "export_memory": lambda out: export_memory(MEM, out)}
_FILE_OUTPUTS = {
    "save_memory": lambda out: xm.save_memory(MEM, out + ".safetensors"),
    "FaultMap.save": lambda out: MEM.faults.save(out + ".npz"),
    "ResultStore.export": lambda out: ResultStore("db.sqlite").export(out + ".csv")}


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("name, out", [
    *((k, "/proc/xbarmem-x") for k in {**_FOLDER_OUTPUTS, **_FILE_OUTPUTS}),
    *((k, "/proc/xbarmem-x/sub") for k in _FOLDER_OUTPUTS)])
def test_an_output_where_no_file_can_be_made_is_refused_before_writing(tmp_path, monkeypatch,
                                                                        name, out):
    """/proc takes no new files although its permission bits (and os.access, for root) say it
    does: the command line refused it (its check tries a file), but the library's checks
    trusted the bits or, for a folder, did not look: export_memory(mem, "/proc/x") and
    save_memory(mem, "/proc/x.safetensors") raised a raw FileNotFoundError naming an internal
    ``.partial`` file. Both now try a file as the command line does (one helper,
    ``files.can_create_in``): a one-line error naming the folder, before any work."""
    monkeypatch.chdir(tmp_path)
    call = {**_FOLDER_OUTPUTS, **_FILE_OUTPUTS}[name]
    message = _refused(lambda: call(out), "the folder /proc is not writable")
    assert ".partial" not in message and not Path("/proc/xbarmem-x").exists()


def test_export_checks_its_path_and_filters_before_writing(store, tmp_path):
    _refused(lambda: store.export(tmp_path), "cannot write the export .*: it is a folder",
             FileFormatError)
    _refused(lambda: store.export(tmp_path / "e.txt"), "must end in .csv or .parquet")
    _refused(lambda: store.export(tmp_path / "e.csv", ["no_such_field=1"]),
             "no row of .* has this field")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("value", [None, 0, -1, 1.5, "2", BIG, True, 10**12],
                         ids=lambda v: shown(v)[:20])
@pytest.mark.parametrize(("call", "name"), [
    (lambda v: run_sweep(SPEC, "never.sqlite", jobs=v), "jobs"),
    (lambda v: run_sweep(SPEC, "never.sqlite", workers=v), "workers"),
    (lambda v: run_sweep(SPEC, "never.sqlite", threads=v), "threads"),
    (lambda v: reproduce("never", threads=v, run=_no_run), "threads"),
    (lambda v: run_demo(trials=v, out_dir="never"), "trials"),
], ids=["jobs", "workers", "threads", "reproduce-threads", "demo-trials"])
def test_counts_of_the_experiments_api_are_checked_first(call, name, value):
    if value is None and name == "workers":
        return  # workers=None: no local Dask cluster
    _refused(lambda: call(value), f"{name} must be")
    assert not Path("never.sqlite").exists() and not Path("never").exists()


@pytest.mark.parametrize("value", [-1, 1.5, "2", BIG, float("nan")], ids=lambda v: shown(v)[:20])
def test_rows_limit_is_a_count(store, value):
    _refused(lambda: store.rows(limit=value), "limit must be")
    assert len(store.rows(limit=0)) == 0 and len(store.rows(limit=np.int64(1))) == 1


@pytest.mark.parametrize("value", [
    {4: None}, {4: {"point": 1}}, {4: {"point": {"count": 4}, "devices": {}}},
    {4: {"point": {"count": 5, "cosine": 1.0}, "devices": {}}},
    {2: {"point": {"count": 2, "cosine": "high"}, "devices": {}}},
    {"x": {"point": {"count": 2, "cosine": 1.0}, "devices": {}}}, {True: {}}, [1],
], ids=repr)
def test_find_capacity_refuses_measured_points_that_are_none_up_front(value):
    """Such a dict crashed mid-search (KeyError, TypeError) after training counts."""
    def progress(*_):
        raise AssertionError("a count was trained before measured was refused")

    _refused(lambda: xm.find_capacity(P, rule="pinv", trials=1, measured=value,
                                      progress=progress), "measured")


@pytest.mark.parametrize(("call", "match"), [
    (lambda: run_sweep(None, "never.sqlite"), "spec must be a SweepSpec"),
    (lambda: run_sweep([SPEC, "s.toml"], "never.sqlite"), "spec must be a SweepSpec"),
    (lambda: run_sweep(SPEC, "never.sqlite", scheduler=BIG), "scheduler must be a Dask"),
    (lambda: ResultStore("db.sqlite").claim(["k"], None, 10), "owner must be a Claimant"),
    (lambda: ResultStore("db.sqlite").claim(["k"], Claimant.new(), float("nan")),
     "lease must be a finite number"),
    (lambda: ResultStore("db.sqlite").renew(Claimant.new(), None), "lease must be a finite"),
    (lambda: ResultStore("db.sqlite").on_add(3), "listener must be a function"),
    (lambda: ResultStore("db.sqlite").check_fields([], 3), "what must be a text"),
    (lambda: ResultStore("db.sqlite").check_fields([], "x", None), "prefix must be a text"),
    (lambda: ResultStore("db.sqlite").rows(sweep=torch.ones(30, 30)), "sweep must be a sweep"),
    (lambda: reproduce("never", quick="no", run=_no_run), "quick must be True or False"),
    (lambda: reproduce("never", run=3), "run must be a function"),
    (lambda: reproduce("never", log=None, run=_no_run), "log must be a function"),
    (lambda: reproduce("never", products=BIG, run=_no_run), "products must be one of"),
    (lambda: reproduce("never", experiments=["capacity"], run=_no_run),
     "experiments must be a list of Experiment"),
    (lambda: run_demo(progress=True, out_dir="never"), "progress must be a function"),
    (lambda: run_demo(fault_rate=2.0, out_dir="never"), "fault"),
    (lambda: run_demo(flip=BIG, out_dir="never"), r"level \(flip rate\) must be a number"),
    (lambda: run_demo(fault_models=(), out_dir="never"), "fault_models must name at least"),
    (lambda: run_demo(fault_models=["x"], out_dir="never"), "fault_models must be one of"),
    (lambda: simulated_backends(None), "memory must be a Memory"),
    (lambda: simulated_backends(MEM, chip="paper-sim"), "chip must be a ChipSpec"),
    (lambda: simulated_backends(MEM, faults=BIG), "faults must be a FaultMap"),
    (lambda: simulated_backends(MEM, seed="x"), "seed must be an integer"),
    (lambda: SimulatedChip(None), "crossbar must be a Crossbar"),
    (lambda: SimulatedChip(_crossbar(), seed=float("nan")), "seed must be an integer"),
    (lambda: BackendMemory("m", []), "memory must be a Memory"),
    (lambda: adapt(None, [], P), "memory must be a Memory"),
    (lambda: adapt_read_back(None, [], P), "memory must be a Memory"),
    (lambda: adapt(MEM, [], P, tolerance="x"), "tolerance must be > 0"),
    (lambda: load_read_back("r.npy", None), "memory must be a Memory"),
])
def test_experiments_and_deploy_arguments_are_named(call, match):
    _refused(call, match)
    assert not Path("never.sqlite").exists() and not Path("never").exists()


# ------------------------------------------------------------------ round 3: the energy API,
# reproduce's selection, store rows, checkpoints, crossbar reads, deploy internals, magnitudes
# (a fuzz of every public function of xbarmem.energy and of the rest named in round 2's list)

from xbarmem.deploy.backend import conductance_targets, twin_layer, weight_scale  # noqa: E402
from xbarmem.deploy.export import current_ranges  # noqa: E402
from xbarmem.energy import calibrate as ecal  # noqa: E402
from xbarmem.energy import circuit as ecirc  # noqa: E402
from xbarmem.energy import measure as emeas  # noqa: E402
from xbarmem.energy import model as emodel  # noqa: E402
from xbarmem.evaluation.checkpoint import SearchCheckpoint  # noqa: E402
from xbarmem.learning.adaptive import MAX_LR, AdaptiveTrainer  # noqa: E402

CIRCUIT = ecirc.load_circuit("generic-rram")
LOAD = emodel.LayerLoad.from_crossbar(MEM.layers[0])
STEP = emodel.step_cost([LOAD], CIRCUIT, 0.2, "sync")
X = torch.tensor(P.patterns, dtype=torch.float32)
MEASURED = emeas.measure_memory(MEM, X, X)
ROW = ("k1", "s", {"trial": "capacity", "version": "1"}, {"cosine": 1.0}, {"seconds": 1.0})


def _programmed_crossbar() -> xm.Crossbar:
    return _crossbar().program(torch.zeros(16, 16))


_OBJECTS = [None, "x", BIG, {}]


@pytest.mark.parametrize("value", _OBJECTS, ids=lambda v: shown(v)[:20])
@pytest.mark.parametrize(("call", "name"), [
    (lambda v: emodel.read_cost(v, CIRCUIT, 0.2), "layer"),
    (lambda v: emodel.read_cost(LOAD, v, 0.2), "circuit"),
    (lambda v: emodel.step_cost(v, CIRCUIT, 0.2, "sync"), "layers"),
    (lambda v: emodel.step_cost([LOAD, v], CIRCUIT, 0.2, "sync"), "layers\\[1\\]"),
    (lambda v: emodel.step_cost([LOAD], v, 0.2, "sync"), "circuit"),
    (lambda v: emodel.recall_cost([1, 2], v), "per_step"),
    (lambda v: emodel.programming_cost(v, CIRCUIT), "layers"),
    (lambda v: emodel.programming_cost([LOAD], v), "circuit"),
    (lambda v: emodel.compare(v, v), "sync"),
    (lambda v: STEP + v, "a cost added to a Cost"),
    (lambda v: emodel.LayerLoad.from_crossbar(v), "crossbar"),
    (lambda v: emeas.layer_loads(v), "memory"),
    (lambda v: emeas.measure_memory(v, X, X), "memory"),
    (lambda v: emeas.energy_report(v, CIRCUIT), "measurement"),
    (lambda v: emeas.build_memory(X, v, rule="pinv"), "chip"),
    (lambda v: ecal.calibrate(v), "measurement"),
    (lambda v: ecal.solve_ratio(v, "drivers.binary_energy", lambda c: (1.0, 1.0), 2.0),
     "circuit"),
    (lambda v: twin_layer(v), "layer"),
    (lambda v: twin_layer(MEM.layers[0], v), "faults"),
    (lambda v: twin_layer(MEM.layers[0], chip=v), "chip"),
    (lambda v: SimulatedChip.like(v), "layer"),
    (lambda v: SimulatedChip.like(MEM.layers[0], chip=v), "chip"),
    (lambda v: conductance_targets(v, torch.zeros(16, 16)), "layer"),
    (lambda v: weight_scale(v), "layer"),
    (lambda v: current_ranges(v), "layer"),
    (lambda v: SearchCheckpoint("c.json", v), "key"),
], ids=["read_cost-layer", "read_cost-circuit", "step_cost-layers", "step_cost-layer",
        "step_cost-circuit", "recall_cost", "programming_cost-layers",
        "programming_cost-circuit", "compare", "Cost+", "from_crossbar", "layer_loads",
        "measure_memory", "energy_report", "build_memory-chip", "calibrate", "solve_ratio",
        "twin_layer", "twin_layer-faults", "twin_layer-chip", "like", "like-chip",
        "conductance_targets", "weight_scale", "current_ranges", "checkpoint-key"])
def test_objects_of_the_wrong_type_are_named(call, name, value):
    """None, a text, an array or a dict where a LayerLoad, CircuitSpec, Cost, Measurement,
    Memory, Crossbar, FaultMap, ChipSpec or dict is needed (AttributeError, TypeError,
    numpy's ambiguous truth value before)."""
    if isinstance(value, dict) and name == "key" or value is None and name in ("faults",
                                                                                "chip"):
        return  # an empty key is a key; faults / chip None: the layer's
    _refused(lambda: call(value), f"{name} must")
    assert not Path("c.json").exists()


@pytest.mark.parametrize("value", [None, float("nan"), -1, True, BIG, torch.ones(30, 30), "1"],
                         ids=lambda v: shown(v)[:20])
@pytest.mark.parametrize(("call", "name"), [
    (lambda v: emodel.read_cost(LOAD, CIRCUIT, v), "read_voltage"),
    (lambda v: emodel.step_cost([LOAD], CIRCUIT, v, "sync"), "read_voltage"),
    (lambda v: STEP.scaled(v), "factor"),
    (lambda v: emodel.LayerLoad(**{**LOAD.__dict__, "g_total": v}), "g_total"),
    (lambda v: emodel.LayerLoad(**{**LOAD.__dict__, "devices": v}), "devices"),
    (lambda v: emeas.measure_sizes([16], CIRCUIT, load=v), "load"),
    (lambda v: emeas.measure(16, data="random", n_patterns=2, rule="pinv", max_steps=v),
     "max_steps"),
    (lambda v: ecal.calibrate(MEASURED, energy_ratio=v), "energy_ratio"),
    (lambda v: ecal.calibrate(MEASURED, latency_reduction=v), "latency_reduction"),
    (lambda v: ecal.calibrate(MEASURED, digits=v), "digits"),
    (lambda v: ecal.solve_ratio(CIRCUIT, "drivers.binary_energy", lambda c: (1.0, 1.0), v),
     "ratio"),
    (lambda v: _programmed_crossbar().set_conductances(np.zeros((16, 17)),
                                                       np.zeros((16, 17)), v), "w_max"),
    (lambda v: SimulatedChip(_crossbar(), w_max=v), "w_max"),
], ids=["read_cost", "step_cost", "scaled", "g_total", "devices", "load", "max_steps",
        "energy_ratio", "latency_reduction", "digits", "ratio", "set_conductances",
        "SimulatedChip-w_max"])
def test_numbers_of_the_energy_and_deploy_api_are_checked(call, name, value):
    """(max_steps of a rule that does not use it was ignored, whatever it was.)"""
    if value is None and "SimulatedChip" in call.__code__.co_names:
        return  # w_max=None: the crossbar's own
    if value is None and name == "max_steps":
        return  # max_steps=None: 3000, or a recipe's (energy.measure.trainer_options)
    _refused(lambda: call(value), f"{name}")


@pytest.mark.parametrize("value", ["16", 16.0, 16.5, True, -16], ids=lambda v: shown(v)[:9])
@pytest.mark.parametrize("call", [
    lambda v: emeas.measure(v, n_patterns=2, rule="pinv", probes=1),
    lambda v: emeas.measure(v, data="random", n_patterns=2, rule="pinv", probes=1),
    lambda v: emeas.measure_sizes([v], CIRCUIT, probes=1),
    lambda v: xm.run_scaling([v, 25], rule="pinv", data="mnist", trials=1),
], ids=["measure-mnist", "measure-random", "measure_sizes", "run_scaling"])
def test_a_number_of_neurons_that_is_not_an_integer_is_named(call, value):
    """N of an image set went to math.isqrt unchecked: "'str' object cannot be interpreted as
    an integer" (TypeError) and "isqrt() argument must be nonnegative" (ValueError) from
    Python, for a text, a float or a negative N (``image_side``, behind every entry point
    that resizes images to N neurons)."""
    _refused(lambda: call(value), "N|n_neurons|sizes")


@pytest.mark.parametrize("value", [BIG, torch.ones(30, 30), ["sign"]], ids=lambda v: shown(v)[:9])
@pytest.mark.parametrize(("call", "match"), [
    (lambda v: emeas.layer_loads(MEM, v), "activation must be one of"),
    (lambda v: emeas.measure_memory(MEM, X, X, activation=v), "activation must be one of"),
    (lambda v: emeas.build_memory(X, CHIP, arch=v, rule="pinv"), "arch must be one of"),
    (lambda v: emeas.build_memory(X, CHIP, rule=v), "unknown rule"),
    (lambda v: emeas.measure(16, arch=v, data="random", n_patterns=2, rule="pinv"),
     "arch must be one of"),
    (lambda v: emeas.measure_sizes([16], CIRCUIT, rule=v), "unknown rule"),
    (lambda v: emodel.step_cost([LOAD], CIRCUIT, 0.2, v), "mode must be"),
    (lambda v: export_memory(MEM, "never", activation=v), "activation must be one of"),
    (lambda v: CIRCUIT.get(v), "circuit key must be a text"),
    (lambda v: ecal.calibrate(MEASURED, energy_key=v), "circuit key must be a text"),
    (lambda v: ecirc.circuit_toml(v), "unknown circuit preset"),
], ids=["layer_loads", "measure_memory", "build_memory-arch", "build_memory-rule",
        "measure-arch", "measure_sizes-rule", "step_cost-mode", "export-activation",
        "CircuitSpec.get", "calibrate-key", "circuit_toml"])
def test_names_of_the_energy_and_deploy_api_given_arrays_are_refused(call, match, value):
    _refused(lambda: call(value), match)
    assert not Path("never").exists()


@pytest.mark.parametrize("name", [None, "nope", "x" * 500, "../paper-sim", BIG])
def test_circuit_toml_names_the_presets_never_a_package_path(name):
    message = _refused(lambda: ecirc.circuit_toml(name), "unknown circuit preset",
                       ConfigError)
    assert "generic-rram, paper-calibrated" in message and ".toml" not in message
    assert "/xbarmem/" not in message and "site-packages" not in message


@pytest.mark.parametrize(("call", "match"), [
    (lambda: CIRCUIT.get("x"), "unknown circuit key x \\(allowed: array\\.\\*, drivers\\.\\*"),
    (lambda: CIRCUIT.get("sensing.adc_bit"), "sensing\\.\\{sign_readout, .*did you mean "
                                             "sensing.adc_bits"),
    (lambda: CIRCUIT.with_value("x" * 500, 1.0), "unknown circuit key x+\\.\\.\\. \\(500 char"),
    (lambda: ecal.solve_ratio(CIRCUIT, "nope", lambda c: (1.0, 1.0), 2.0), "allowed"),
])
def test_unknown_key_messages_are_short(call, match):
    """The circuit listed its 26 dotted keys (over 400 characters): a long list of dotted keys
    now shows the key's own section and the other sections as ``section.*``."""
    assert len(_refused(call, match, ConfigError)) < 300


def test_a_flat_list_of_keys_is_listed_in_full():
    """Options without sections (the trainer's) are what the user has to choose from: every
    one is listed, however long the list."""
    with pytest.raises(ConfigError, match="unknown adaptive rule key zz") as info:
        AdaptiveTrainer.from_dict({"zz": 1})
    message = str(info.value)
    names = [f.name for f in dataclasses.fields(AdaptiveTrainer)]
    assert "\n" not in message and all(name in message for name in names)


@pytest.mark.parametrize(("call", "name"), [
    (lambda v: emeas.measure(16, data="random", n_patterns=2, rule="pinv", stage=v), "stage"),
    (lambda v: emeas.measure_sizes([16], CIRCUIT, rule="pinv", progress=v), "progress"),
    (lambda v: emeas.build_memory(X, CHIP, rule="pinv", progress=v), "progress"),
    (lambda v: ecal.solve_ratio(CIRCUIT, "drivers.binary_energy", v, 2.0), "totals"),
    (lambda v: ResultStore("db.sqlite").on_add(v), "listener"),
    (lambda v: SearchCheckpoint("c.json", {}).saving(v), "then"),
], ids=["measure-stage", "measure_sizes", "build_memory", "solve_ratio", "on_add", "saving"])
def test_more_callbacks_are_checked_before_work(call, name):
    """measure(stage=True) and measure_sizes(progress=True) failed after the work (a bool is
    not callable), on_add(None) at the next add (after the rows were stored)."""
    _refused(lambda: call(True), f"{name} must be a function", ArgumentError)
    if name in ("totals", "listener"):  # no None either: the function is needed
        _refused(lambda: call(None), f"{name} must be a function, got None", ArgumentError)


def test_solve_ratio_names_totals_that_return_no_pair():
    _refused(lambda: ecal.solve_ratio(CIRCUIT, "drivers.binary_energy", lambda c: None, 2.0),
             "totals must return \\(numerator, denominator\\)")
    _refused(lambda: ecal.calibrate(MEASURED, energy_key="sensing.sign_readout"),
             "is a choice")


@pytest.mark.parametrize("value", ["x", {}, True, [1.5], [-1], np.zeros((2, 3)), []],
                         ids=lambda v: shown(v)[:20])
def test_recall_cost_steps_are_counts_one_per_cue(value):
    _refused(lambda: emodel.recall_cost(value, STEP), "steps must be")


def test_recall_cost_takes_counts_in_any_form():
    expected = emodel.recall_cost([1, 2], STEP)
    for steps in (np.array([1, 2]), torch.tensor([1, 2]), (1.0, 2.0)):
        assert emodel.recall_cost(steps, STEP) == expected


def test_reproduce_refuses_an_empty_selection(tmp_path):
    """``experiments=[]`` ran every experiment (``experiments or EXPERIMENTS``): only None
    means all."""
    message = _refused(lambda: reproduce(tmp_path / "out", experiments=[], run=_no_run),
                       "experiments must hold at least one Experiment", ConfigError)
    assert "(a) FaultTolerance" in message and "None: all" in message
    assert list(tmp_path.iterdir()) == []


def test_reproduce_refuses_an_experiment_listed_twice(tmp_path):
    """``experiments=[Variation(), Variation()]`` ran and wrote section (d), its verdict and
    its summary rows twice into one report."""
    from xbarmem.experiments.reproduce import Variation

    _refused(lambda: reproduce(tmp_path / "out", experiments=[Variation(), Variation()],
                               run=_no_run), r"experiments lists \(d\) Variation twice",
             ConfigError)
    assert list(tmp_path.iterdir()) == []


_ROWS = [
    None, "rows", [None], [ROW[:4]], [("k", "s", None, {}, {})], [("k", "s", {}, [], {})],
    [("k", "s", {}, {}, 3)], [(None, "s", {}, {}, {})], [("k", "", {}, {}, {})],
    [("k" * 2000, "s", {}, {}, {})], [("k", ["s"], {}, {}, {})],
    [("k", "s", {"trial": 3}, {}, {})], [("k", "s", {}, {"cosine": float("nan")}, {})],
    [("k", "s", {}, {"w": np.zeros(3)}, {})], [("k", "s", {}, {}, {"seconds": float("inf")})],
    [("k", "s", {}, {}, {"seconds": "1"})], [("k", "s", {}, {}, {"pid": 1.5})],
    [("k", "s", {}, {}, {"host": ["h"]})], [ROW, ("k2", "s", {}, {"x": {1, 2}}, {})],
]


@pytest.mark.parametrize("rows", _ROWS, ids=lambda v: shown(v)[:40])
def test_store_rows_are_checked_before_the_file_changes(tmp_path, rows):
    """Malformed rows raised TypeError / AttributeError / ValueError / sqlite3 errors (a
    NaN or an array in a result after a transaction had begun)."""
    path = tmp_path / "s.sqlite"
    with ResultStore(path) as db:
        db.add([ROW])
        before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
        heard = []
        db.on_add(heard.append)
        _refused(lambda: db.add(rows), "rows")
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
        assert heard == [] and db.count() == 1


def test_store_rows_of_every_valid_form_are_stored(tmp_path):
    with ResultStore(tmp_path / "s.sqlite") as db:
        assert db.add(iter([ROW, ["k2", "s", {}, {"c": 1}, {"seconds": np.float32(2),
                                                            "host": None, "pid": np.int64(7)}]]))
        assert db.add([]) == 0 and db.count() == 2
        assert db.by_keys(["k2"])[0]["pid"] == 7


@pytest.mark.parametrize(("call", "match"), [
    (lambda: SearchCheckpoint("c.json", None), "key must be a dict"),
    (lambda: SearchCheckpoint("c.json", ["a"]), "key must be a dict"),
    (lambda: SearchCheckpoint("c.json", {"data": b"x"}), "key must hold JSON values"),
    (lambda: SearchCheckpoint("c.json", {"data": META}), "key must hold JSON values"),
    (lambda: SearchCheckpoint("c.json", {}).measured(["n16"]), "search must be a text"),
    (lambda: SearchCheckpoint("c.json", {}).measured(16), "search must be a text"),
])
def test_checkpoint_arguments_are_checked(call, match):
    _refused(call, match)
    assert not Path("c.json").exists()


_OUTPUTS = [None, "x", np.bool_(True), [0], [0.5, 1.0], torch.tensor([0, 16]),
            torch.tensor([-1, 0]), torch.tensor([True, False]), torch.zeros(2, 1, dtype=int),
            torch.empty(2, dtype=torch.int64, device="meta"), BIG]


@pytest.mark.parametrize("value", _OUTPUTS, ids=lambda v: shown(v)[:30])
def test_read_outputs_takes_one_output_index_per_row(value):
    """A bad ``outputs`` raised IndexError / RuntimeError from torch, or read the last
    column for -1."""
    _refused(lambda: _programmed_crossbar().read_outputs(X[:2], value), "outputs must",
             XbarmemError)


def test_read_outputs_takes_indices_in_any_integer_form():
    cb = _programmed_crossbar()
    expected = cb.read_outputs(X[:2], torch.tensor([0, 15]))
    for outputs in ([0, 15], np.array([0, 15], dtype=np.int32), torch.tensor([0, 15])):
        assert torch.equal(cb.read_outputs(X[:2], outputs), expected)
    assert cb.read_outputs(X[:0], []).shape == (0,)


@pytest.mark.parametrize(("call", "match"), [
    (lambda: _programmed_crossbar().read_outputs(X[:2], [0, 1], 3), "generator must be a torch"),
    (lambda: _programmed_crossbar().matvec(X, np.random.default_rng(0)), "generator must be"),
    (lambda: _programmed_crossbar().scatter(None), "logical must be an array"),
    (lambda: _programmed_crossbar().scatter(np.zeros((2, 3))), "logical must have shape"),
    (lambda: _programmed_crossbar().scatter(np.zeros((2, 16, 17)), fill=[]), "fill must be"),
    (lambda: _programmed_crossbar().set_conductances("x", np.zeros((16, 17)), 0.5),
     "g_pos must be an array"),
    (lambda: SimulatedChip(_crossbar()).program("x"), "targets must be an array"),
    (lambda: SimulatedChip(_crossbar()).program({}), "targets must be an array"),
    (lambda: SimulatedChip(_crossbar()).program(META), "targets must"),
    (lambda: current_ranges(_crossbar()), "layer has not been programmed"),
    (lambda: current_ranges(MEM.layers[0], "x"), "inputs must be an array"),
    (lambda: current_ranges(MEM.layers[0], True), "inputs must have shape"),
    (lambda: current_ranges(MEM.layers[0], np.zeros((2, 3))), "inputs must have shape"),
    (lambda: export_memory(MEM, "never", source=3), "source must be a text"),
    (lambda: export_memory(MEM, "never", source=b"m"), "source must be a text"),
    (lambda: export_memory(MEM, "never", program=True), "program must be a list"),
    (lambda: export_memory(MEM, "never", program=["x"]), "program\\[0\\] must be an array"),
    (lambda: emeas.measure_memory(MEM, None, X), "cues must be an array"),
    (lambda: emeas.measure_memory(MEM, X, None), "targets must be an array"),
    (lambda: emeas.make_cues(None, 0.1, 1, 0), "patterns must be an array"),
    (lambda: emeas.build_memory(True, CHIP, rule="pinv"), "patterns must be a \\(P, N\\)"),
    (lambda: emeas.measure_sizes(True, CIRCUIT), "sizes must be a list of integers"),
    (lambda: emeas.measure_sizes(BIG, CIRCUIT), "sizes must be a list of integers"),
    (lambda: emeas.measure_sizes(torch.ones(3, device="meta"), CIRCUIT), "sizes must"),
])
def test_crossbar_deploy_and_measure_arrays_are_checked(call, match):
    _refused(call, match)
    assert not Path("never").exists()


@pytest.mark.parametrize(("call", "match"), [
    (lambda v: AdaptiveTrainer(lr=v), f"lr must be in \\(0, {MAX_LR}\\]"),
    (lambda v: AdaptiveTrainer(finetune_lr=v), f"finetune_lr must be in \\(0, {MAX_LR}\\]"),
    (lambda v: xm.train(P, rule="adaptive", lr=v), "lr must be in"),
], ids=["lr", "finetune_lr", "train-lr"])
def test_an_absurd_learning_rate_is_refused_with_the_range(call, match):
    """AdaptiveTrainer(lr=1e3) trained garbage silently (cosine 0.08)."""
    _refused(lambda: call(1e3), match, ConfigError)


def test_the_largest_learning_rate_is_taken():
    assert AdaptiveTrainer(lr=MAX_LR, finetune_lr=MAX_LR).lr == MAX_LR


def test_save_figure_checks_its_figure_and_folder(tmp_path):
    """save_figure(None, ...) raised AttributeError, and a folder or a path in no folder raised
    matplotlib's own OSError after drawing."""
    _refused(lambda: save_figure(None, tmp_path / "f.png"), "fig must be a matplotlib Figure",
             ArgumentError)
    _refused(lambda: save_figure(Figure(), tmp_path), "cannot write the figure .*: it is a folder",
             FileFormatError)
    _refused(lambda: save_figure(Figure(), tmp_path / "no" / "f.png"), "no folder",
             FileFormatError)
    _refused(lambda: save_figure(Figure(), tmp_path / "f.jpg"), "must end in .png or .svg",
             ConfigError)
    assert save_figure(Figure(), tmp_path / "f.svg").read_text().startswith("<?xml")


def test_read_metadata_names_a_missing_model(tmp_path):
    _refused(lambda: read_metadata(tmp_path / "none.safetensors"), "no such model file",
             FileFormatError)
    _refused(lambda: read_metadata(tmp_path), "is a directory", FileFormatError)
    path = xm.save_memory(MEM, tmp_path / "m.safetensors", patterns=P)
    assert read_metadata(path)["info"]["rule"] == "pinv"
    np.testing.assert_array_equal(saved_patterns(path).patterns, P.patterns)
    assert saved_patterns(xm.save_memory(MEM, tmp_path / "bare.safetensors")) is None


def _open(o: int, i: int, t: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Unconstrained bounds ``(lo, hi)`` of an ``o x i`` layer (``t`` networks: 3-D)."""
    shape = (o, i) if t is None else (t, o, i)
    return torch.full(shape, -float("inf")), torch.full(shape, float("inf"))


X2 = torch.tensor(P.patterns)[None].expand(2, -1, -1)  # two networks' pattern sets


@pytest.mark.parametrize(("call", "match"), [
    (lambda: xm.Problem(P.patterns.tolist(), (_open(16, 17),)),
     "patterns must be a \\(T, P, N\\) tensor \\(Problem.of reads"),
    (lambda: xm.Problem(torch.tensor(P.patterns), (_open(16, 17),)),
     "patterns must be a \\(T, P, N\\) tensor with P >= 1 \\(Problem.of takes \\(P, N\\)"),
    (lambda: xm.Problem(X2, (_open(16, 17),), kind="x"), "kind must be one of"),
    (lambda: xm.Problem(X2, ()), "bounds of at least one layer"),
    (lambda: xm.Problem(X2, ((np.zeros((16, 17)), np.ones((16, 17))),)),
     "bounds\\[0\\] must be a pair \\(lo, hi\\) of tensors"),
    (lambda: xm.Problem.of(P.patterns, zero_diagonal="yes"), "zero_diagonal must be True or"),
    (lambda: xm.Problem.for_memories(X2, [MEM]), "one pattern set per memory"),
    (lambda: xm.get_rule("adaptive").fit(xm.Problem.of(P.patterns, [_open(8, 17), _open(16, 10)])),
     "layer 1 has 9 inputs but the previous layer has 8 outputs \\(bias column included\\)"),
    (lambda: xm.get_rule("adaptive").fit(xm.Problem.of(X2, [_open(8, 17, 3), _open(16, 9, 3)])),
     "layer 0 bounds must be \\(n_out, n_in \\+ bias\\) or \\(2, n_out"),
    (lambda: xm.get_rule("adaptive").fit(xm.Problem.of(P.patterns, [_open(8, 17), _open(12, 9)])),
     "the last layer has 12 outputs but patterns have N=16"),
    (lambda: xm.get_rule("adaptive").fit(xm.Problem.of(X2, [_open(16, 17, 3)])),
     "weight bounds must have shape \\(2, 16, 17\\)"),
    (lambda: xm.get_rule("adaptive").fit(xm.Problem.of(P.patterns, [_open(16, 16)], bias=False)),
     "rule learns bias but the memory has no bias row"),
    (lambda: xm.get_rule("hebb").ideal(torch.zeros(0, 16)), "non-empty \\(P, N\\) matrix"),
    (lambda: xm.get_rule("storkey").ideal(torch.zeros(16)), "non-empty \\(P, N\\) matrix"),
    (lambda: xm.fit_memories(xm.get_rule("pinv"), P.patterns, []),
     "memories must hold at least one memory"),
    (lambda: memory_from_sizes([16, 8, 16], CHIP, xm.FaultMap.generate(CHIP, 3, seed=0),
                               bias=True, first_array=2), "the fault map covers only 3 arrays "
     "of 64x64, but a memory of 16-8-16 neurons with bias rows needs a map of 4 \\(layers\\[0\\] "
     "8x16 on array 2, layers\\[1\\] 16x8 on array 3; weights outputs x inputs\\)"),
    (lambda: dataclasses.replace(LOAD, free_devices=LOAD.devices + 1),
     "free_devices must be in \\[0, devices\\]"),
    (lambda: dataclasses.replace(LOAD, inputs="x"), "layer inputs must be one of"),
    (lambda: dataclasses.replace(LOAD, outputs="x"), "layer outputs must be one of"),
    (lambda: emodel.LayerLoad.from_crossbar(_crossbar()), "crossbar is not programmed"),
    (lambda: export_memory(MEM, "never", program=[G, G]), "program: 2 arrays for 1 layer"),
    (lambda: export_memory(MEM, "never", program=[np.zeros((2, 3, 3))]),
     "program: layer 0 needs shape \\(2, 16, 1[67]\\), got \\(2, 3, 3\\)"),
], ids=lambda v: None if callable(v) else v[:30])
def test_learning_energy_and_export_refusals_say_what_is_wrong(call, match):
    """Refusals no other test reached: each one message naming what it must be, and nothing
    written (``never`` is not created)."""
    _refused(call, match)
    assert not Path("never").exists()


@pytest.mark.parametrize("call", [
    lambda sizes, seen: emeas.measure_sizes(sizes, CIRCUIT, rule="pinv", probes=1,
                                            progress=lambda *a: seen.append(a)),
    lambda sizes, seen: xm.run_scaling(sizes, arch="single", rule="pinv", trials=1,
                                       progress=lambda *a: seen.append(a)),
], ids=["measure_sizes", "run_scaling"])
def test_a_size_listed_twice_is_refused_before_any_work(call):
    """measure_sizes([16, 25, 16]) measured N = 16 twice (two rows, two points of one N), as
    the command line (``--sizes 16,16``) refuses; run_scaling counted it twice in the fit."""
    seen: list = []
    message = _refused(lambda: call([16, 25, 16], seen), "sizes lists 16 twice; give each "
                       "value once", ConfigError)
    assert message.startswith("sizes") and seen == []


@pytest.mark.parametrize(("sizes", "capacities", "named"), [
    ([-16, 32], [1, 2], "sizes \\[-16.0, 32.0\\]"), ([16, float("inf")], [1, 2], "sizes"),
    ([16, 32], [0, 2], "capacities \\[0.0, 2.0\\]")])
def test_a_power_law_names_the_values_that_cannot_be_fitted(sizes, capacities, named):
    """fit_power_law([-16, 32], [1, 2]) said '(got capacities [1.0, 2.0])', values that were
    fine: the refusal shows the sizes or capacities at fault."""
    _refused(lambda: xm.fit_power_law(sizes, capacities), f"\\(got {named}")


@pytest.mark.parametrize("options", [{"adaptive": 3}, {"adaptive": None}, {"adaptive": [1]},
                                     {"adaptive": {}, "hebb": "max_steps=3"}])
def test_compare_rules_options_of_a_rule_must_be_a_dict(options):
    """compare_rules(rule_options={"adaptive": 3}) raised a raw TypeError from
    ``as_rule(**3)``, after other rules' options had been read."""
    seen: list = []
    message = _refused(lambda: xm.compare_rules(P, rules=["adaptive", "hebb"], trials=1,
                                                rule_options=options,
                                                callback=lambda *a: seen.append(a)),
                       "rule_options maps a rule compared to a dict of its options", ConfigError)
    assert "got " in message and seen == []


def test_compare_rules_flat_options_are_named_as_not_a_rule():
    """A flat dict of trainer options (find_capacity's form) is named with the form wanted."""
    _refused(lambda: xm.compare_rules(P, rules=["adaptive"], trials=1,
                                      rule_options={"max_steps": 3}),
             "names rule 'max_steps'.*e.g. \\{'adaptive': \\{'max_steps': 300\\}\\}",
             ConfigError)


@pytest.mark.parametrize(("sizes", "capacities"), [
    ([[16, 32, 64]], [[5, 11, 22]]), ([16, 32, 64], [[5, 11, 22]]), (16, 5)])
def test_a_power_law_of_arrays_that_are_not_flat_says_so(sizes, capacities):
    """fit_power_law([[16, 32, 64]], [[5, 11, 22]]) said 'need at least two (N, capacity)
    pairs, got 3 sizes and 3 capacities': three of each, and still refused."""
    _refused(lambda: xm.fit_power_law(sizes, capacities), "must be flat sequences of "
             "numbers, got shapes", ConfigError)


@pytest.mark.parametrize(("values", "match"), [
    (np.full((3, 16), 5.0), "binary patterns must contain only -1 and \\+1"),
    ((P.patterns > 0).astype(np.float32), "these are \\{0,1\\}; pass zero_one=True"),
    (np.full((3, 16), np.nan), "patterns contain 48 NaN/inf"),
    (np.linspace(-0.5, 0.5, 48).reshape(3, 16), "continuous data: kind='continuous'"),
], ids=["5", "zero-one", "nan", "continuous"])
@pytest.mark.parametrize("rule", ["pinv", "adaptive"])
def test_fit_memories_checks_the_stored_patterns_as_train_does(values, match, rule):
    """fit_memories (and so a Problem) read any numbers as stored patterns: values of 5 or a
    {0, 1} matrix trained silently as binary patterns, NaN reached torch's SVD
    (``_LinAlgError``). Refused before anything is programmed, with train's messages."""
    memory = xm.SingleLayerMemory(16, "ideal")
    _refused(lambda: xm.fit_memories(xm.get_rule(rule, max_steps=3) if rule == "adaptive"
                                     else xm.get_rule(rule), values, [memory]), match,
             xm.PatternError)
    assert not memory.programmed
    _refused(lambda: xm.Problem.of(values), match, xm.PatternError)


def test_a_problem_does_not_read_its_padding_rows():
    """Rows past ``counts[t]`` are padding (zeros in the recall curve): not checked."""
    x = torch.zeros(2, 3, 16)
    x[0, :2], x[1, :3] = torch.tensor(P.patterns[:2]), torch.tensor(P.patterns)
    problem = xm.Problem.of(x, counts=[2, 3])
    assert problem.counts.tolist() == [2, 3]
    x[0, 2, 0] = 0.5  # a padding row is not read; a real row is
    xm.Problem.of(x, counts=[2, 3])
    _refused(lambda: xm.Problem.of(x, counts=[3, 3]), "e.g. 0.5", xm.PatternError)


def test_fit_memories_takes_a_pattern_set_and_its_kind():
    """fit_memories(rule, pattern_set, memories) was refused ('must be a (T, P, N) or (P, N)
    tensor, got PatternSet'), though train takes one and its docs call it the one entry
    point; the set's kind is the default."""
    cont = xm.as_pattern_set(np.linspace(-0.5, 0.5, 48).reshape(3, 16), "continuous")
    by_set, by_array = xm.SingleLayerMemory(16, "ideal"), xm.SingleLayerMemory(16, "ideal")
    xm.fit_memories(xm.get_rule("pinv"), cont, [by_set])
    xm.fit_memories(xm.get_rule("pinv"), cont.patterns, [by_array], kind="continuous")
    assert by_set.info["kind"] == "continuous" == by_array.info["kind"]
    assert torch.equal(by_set.weights, by_array.weights)


@pytest.mark.parametrize(("call", "match", "error"), [
    (lambda: xm.Memory([16, 8, 12]), "sizes must end with N = sizes\\[0\\]", ConfigError),
    (lambda: xm.recall(xm.FloatMatrix(np.ones((4, 3))), np.ones((2, 3))),
     "recall needs a square matrix .* got 4 outputs for 3 inputs", ConfigError),
    (lambda: xm.FloatMatrix(np.full((4, 4), np.nan)),
     "weights must be finite numbers, got NaN", xm.PatternError),
    (lambda: xm.FloatMatrix(np.eye(4), [0, 0, np.inf, 0]),
     "bias must be finite numbers, got NaN", xm.PatternError),
], ids=["memory-sizes", "non-square", "nan-weights", "inf-bias"])
def test_recall_runs_through_square_finite_layers_only(call, match, error):
    """A Memory of sizes [16, 8, 12] was built and programmed, and its recall (as a
    non-square FloatMatrix's) ended in torch's 'size of tensor a (12) must match ...'; a
    FloatMatrix of NaN weights recalled every cue as 'converged'."""
    _refused(call, match, error)


@pytest.mark.parametrize("call", [
    lambda v: xm.flip_bits(P.patterns, v), lambda v: xm.salt_and_pepper(P.patterns, v),
    lambda v: xm.gaussian_noise(P.patterns, v), lambda v: xm.occlude_block(P.patterns, (4, 4), v),
    lambda v: xm.corrupt(P.patterns, "flip", v), lambda v: xm.Protocol(level=v),
])
@pytest.mark.parametrize("value", ["0.1", b"0.1", torch.tensor(0.1)], ids=["str", "bytes", "0-d"])
def test_a_corruption_level_is_a_number_not_a_text(call, value):
    """Corruption levels were read with float(): Protocol(level="0.1") and flip_bits(x, "0.1")
    ran, where every other number of the API (chip.with_faults("0.3"), lr="0.1") is refused."""
    _refused(lambda: call(value), "must be a number, got", xm.PatternError)
    call(np.float32(0.1))


@pytest.mark.parametrize("call", [lambda d: xm.load_mnist(digits=d),
                                  lambda d: xm.load_glyphs(characters=d)],
                         ids=["digits", "characters"])
@pytest.mark.parametrize("value", ["12", [1.7], [True], np.array([1.5]), torch.tensor(3)])
def test_classes_to_keep_are_integers(call, value):
    """load_mnist(digits="12") kept digits 1 and 2 (int() of each character) and [1.7] kept
    digit 1; an array or tensor of integers is taken."""
    _refused(lambda: call(value), "must be an iterable of integers", xm.PatternError)
    assert len(call(torch.tensor([1, 2]))) == len(call(np.array([1, 2]))) == len(call((2, 1)))


@pytest.mark.parametrize("value", ["abc", None, [-16], [0], [float("nan")]])
def test_a_power_law_predicts_at_sizes_only(value):
    """PowerLawFit.predict('abc') was numpy's ValueError and predict([-16]) a silent NaN."""
    fit = xm.fit_power_law([16, 32, 64], [3, 6, 12])
    _refused(lambda: fit.predict(value), "^n must ", ConfigError)
    assert fit.predict(16) == pytest.approx(3.0) and fit.predict([16, 32]).shape == (2,)


@pytest.mark.parametrize(("call", "match", "error"), [
    (lambda: recall_curve(P, "2,3", rule="pinv"), "counts must be positive integers, got '2,3'",
     ConfigError),
    (lambda: recall_curve(P, [2.0], rule="pinv"), "counts must be positive integers", ConfigError),
    (lambda: recall_curve(P, [2], rule="pinv", trials=1.5), "trials must be an integer >= 1",
     ConfigError),
    (lambda: recall_curve(P, [2], rule="adaptive", max_steps=3),
     "unknown keyword argument 'max_steps'", ArgumentError),
], ids=["text", "float", "trials", "keyword"])
def test_recall_curve_checks_its_arguments_as_find_capacity_does(call, match, error):
    """recall_curve (the capacity path extending.md sends rules, fault maps and corruptions to)
    raised int()'s ValueError for counts '2,3', Python's TypeError for trials=1.5 and an
    unknown keyword (no closest name), and took [2.0] as a count."""
    _refused(call, match, error)


def test_recall_curve_takes_a_matrix_as_find_capacity_does():
    """recall_curve(matrix, ...) was an AttributeError ('no attribute n_neurons'), where
    find_capacity and train take a (P, N) matrix."""
    by_set = recall_curve(P, [2, 3], rule="pinv")
    assert recall_curve(P.patterns, np.array([3, 2]), rule="pinv")["points"] == by_set["points"]
