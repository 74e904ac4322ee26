"""The Python API's objects as values, as a numpy / PyTorch / scikit-learn user holds them: an
object keeps its own copy of the arrays it is given (a caller's later writes to theirs change
no fault map, matrix or crossbar), value types compare by value (a copy, a pickle read back or
the same loader called twice is equal), results of the same seed compare equal however long
each run took, a one-layer memory is programmed from the nested lists ``W.tolist()`` gives, a
trainer prints the options it was given, and a mistyped pattern source is told the closest."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import inspect
import pickle
import pkgutil
import re
import warnings

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.data.readers import read_image_stack
from xbarmem.errors import PatternError
from xbarmem.learning.base import Problem

P = xm.random_patterns(4, 16, seed=0)


def _weights(n: int = 16) -> torch.Tensor:
    w = torch.randn(n, n, generator=torch.Generator().manual_seed(0))
    w = (w + w.T) / 2
    w.fill_diagonal_(0)
    return w / w.abs().max()


# ------------------------------------------------------------------ copies, not the caller's
def _fault_map(given):
    return xm.FaultMap(given), lambda made: made.g_stuck.copy()


def _float_matrix(given):
    return xm.FloatMatrix(given), lambda made: made.weights.clone()


def _conductances(given):
    layer = xm.train(P, rule="hebb", chip="rram").layers[0]
    return layer.set_conductances(given, layer.g_neg, layer.w_max), lambda made: made.g_pos.copy()


def _problem(given):
    return Problem.of(given, sizes=[16, 16]), lambda made: made.patterns.clone()


def _stuck_map():
    g = np.full((1, 2, 64, 64), np.nan)
    g[0, 0, 0, 0] = 5e-5
    return g


def _read_back_conductances():
    return xm.train(P, rule="hebb", chip="rram").layers[0].g_pos.copy()


@pytest.mark.parametrize("make, given", [
    (_fault_map, _stuck_map),
    (_fault_map, lambda: torch.tensor(_stuck_map())),
    (_float_matrix, lambda: _weights()),
    (_float_matrix, lambda: _weights().double().numpy()),
    (_float_matrix, lambda: _weights().requires_grad_(True)),
    (_conductances, _read_back_conductances),
    (_problem, lambda: torch.tensor(P.patterns)),
    (_problem, lambda: P.patterns.astype(np.float32).copy()),
], ids=["fault-map", "fault-map-tensor", "float-matrix", "float-matrix-f64", "float-matrix-grad",
        "set-conductances", "problem-tensor", "problem-array"])
def test_objects_keep_their_own_copy_of_the_arrays_given(make, given):
    """``FaultMap(g)``, ``FloatMatrix(W)``, ``Crossbar.set_conductances(g_pos, ...)`` and
    ``Problem.of(patterns)`` kept the caller's array itself (``astype(copy=False)``): a caller
    who then reused the buffer (the next measurement, ``W *= 0.5``) changed the map, the
    matrix recall read, or a crossbar's conductances under its own weights."""
    value = given()
    made, state = make(value)
    before = state(made)
    with torch.no_grad():
        value[...] = 0.25  # (a tensor with requires_grad too)
    assert np.array_equal(np.asarray(state(made)), np.asarray(before), equal_nan=True)


# ------------------------------------------------------------------ value types by value
def _image_stack(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (6, 8, 8)).astype(np.uint8)
    np.save(tmp_path / "images.npy", images)
    return read_image_stack(tmp_path / "images.npy")


@pytest.mark.parametrize("make, other", [
    (lambda tmp_path: xm.load_digits(n_patterns=5), lambda: xm.load_digits(n_patterns=4)),
    (lambda tmp_path: xm.random_patterns(3, 16, seed=1), lambda: xm.random_patterns(3, 16)),
    (lambda tmp_path: xm.as_pattern_set(P.patterns.copy()),
     lambda: xm.as_pattern_set(P.patterns, kind="continuous")),
    (lambda tmp_path: P[[0, 2]], lambda: P[[0, 1]]),
    (_image_stack, lambda: xm.random_patterns(3, 16)),
], ids=["digits", "random", "matrix", "subset", "image-stack"])
def test_value_types_compare_by_value(tmp_path, make, other):
    """A ``PatternSet`` (frozen, its arrays read-only) compared by identity: ``load_digits() ==
    load_digits()``, ``copy.deepcopy(pset) == pset`` and a pickled set read back were all
    ``False``. Equal sets now compare equal and share one hash."""
    first, again = make(tmp_path), make(tmp_path)
    assert first is not again and first == again and hash(first) == hash(again)
    for copied in (copy.deepcopy(first), copy.copy(first), pickle.loads(pickle.dumps(first))):
        assert copied == first and hash(copied) == hash(first)
    assert len({first, again}) == 1
    assert first != other() and first != "patterns"


def test_no_dataclass_holding_arrays_compares_by_identity():
    """The class of the test above: every dataclass of xbarmem with a tensor, array or pattern
    set field compares by value (``checks.value_equality``, or an ``__eq__`` of its own), none
    keeps ``eq=False``'s identity."""
    found = []
    for info in pkgutil.walk_packages(xm.__path__, "xbarmem."):
        for cls in vars(importlib.import_module(info.name)).values():
            if (inspect.isclass(cls) and cls.__module__ == info.name
                    and dataclasses.is_dataclass(cls) and cls.__eq__ is object.__eq__
                    and any(word in re.sub(r"Callable\[.*\]", "", str(f.type))
                            for f in dataclasses.fields(cls)
                            for word in ("Tensor", "ndarray", "PatternSet"))):
                found.append(f"{info.name}.{cls.__name__}")
    assert found == []


# ------------------------------------------------------------------ the same seed, equal
_PROTOCOL = xm.Protocol(level=0.1, probes=2)


def _capacity(seed):
    return xm.find_capacity(xm.random_patterns(24, 16, seed=0), rule="hebb", trials=1,
                            protocol=_PROTOCOL, seed=seed)


def _comparison(seed):
    return xm.compare_rules(P, rules=["hebb", "pinv"], trials=1, fault_seed=seed,
                            protocol=_PROTOCOL)


def _scaling(seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xm.XbarmemWarning)  # (cues that pass the threshold)
        return xm.run_scaling([16, 25], arch="single", rule="hebb", data="random",
                              thresholds=[0.9], protocol=_PROTOCOL.reseeded(seed),
                              pool_size=30, cue_budget=0, seed=seed)


@pytest.mark.parametrize("run", [_capacity, _comparison, _scaling],
                         ids=["find_capacity", "compare_rules", "run_scaling"])
def test_results_of_the_same_seed_compare_equal(run):
    """``find_capacity(...) == find_capacity(...)`` with the same seed was ``False``: the
    results held how long each run took (``seconds``, ``train_seconds``). Equality now leaves
    wall-clock times out (``checks.WALL_TIMES``); another seed's result still differs."""
    first, again, other = run(0), run(0), run(3)
    assert first == again and not first != again
    assert first != other
    assert copy.deepcopy(first) == first


# ------------------------------------------------------------------ program(W.tolist())
@pytest.mark.parametrize("given", [
    lambda w, b: (w.tolist(), b.tolist()),
    lambda w, b: (tuple(w.tolist()), tuple(b.tolist())),
    lambda w, b: (w.numpy(), b.numpy()),
    lambda w, b: ([w], [b]),
    lambda w, b: ([w], b),
    lambda w, b: ([w.tolist()], [b.tolist()]),
], ids=["nested-lists", "tuples", "arrays", "per-layer", "per-layer-bare-bias",
        "per-layer-lists"])
def test_one_layer_memory_programs_any_form_of_its_matrix(given):
    """``memory.program(W.tolist())`` read the matrix's 16 rows as 16 layers: "need weights
    for 1 layers, got 16"; ``program([W], b)`` read the bias's entries as layers."""
    w, b = _weights(), torch.linspace(-0.1, 0.1, 16)
    want = xm.SingleLayerMemory(16).program(w, b).programmed_parameters()
    got = xm.SingleLayerMemory(16).program(*given(w, b)).programmed_parameters()
    assert torch.equal(got[0][0], want[0][0]) and torch.equal(got[0][1], want[0][1])


def test_layer_counts_are_told_in_words():
    """A one-layer memory given two matrices was told "need weights for 1 layers"."""
    with pytest.raises(xm.ConfigError, match=r"^need weights for 1 layer, got 2$"):
        xm.SingleLayerMemory(16).program([_weights(), _weights()])
    memory = xm.MultilayerMemory(16, 8)
    with pytest.raises(xm.ConfigError, match=r"^need weights for 2 layers, got 1$"):
        memory.program([torch.zeros(8, 16)])
    with pytest.raises(xm.ConfigError, match=r"^need biases for 2 layers, got 1$"):
        memory.program([torch.zeros(8, 16), torch.zeros(16, 8)], [torch.zeros(8)])


# ------------------------------------------------------------------ reprs and names
@pytest.mark.parametrize("trainer, says", [
    (xm.AdaptiveTrainer(), "AdaptiveTrainer()"),
    (xm.AdaptiveTrainer(max_steps=300, finetune_steps=100),
     "AdaptiveTrainer(max_steps=300, finetune_steps=100)"),
    (xm.MultilayerTrainer(recipe="fast"), "MultilayerTrainer(recipe='fast')"),
    (xm.get_rule("adaptive", lr=0.05), "AdaptiveTrainer(lr=0.05)"),
])
def test_trainers_print_the_options_they_were_given(trainer, says):
    """``repr(AdaptiveTrainer())`` printed all 35 options, 600 characters, most of them None;
    it prints the options set to other than their defaults, as scikit-learn does."""
    assert repr(trainer) == says


@pytest.mark.parametrize("given, closest", [("digts", "digits"), ("mnst", "mnist"),
                                            ("glyph", "glyphs")])
def test_a_mistyped_pattern_source_is_told_the_closest(given, closest):
    with pytest.raises(PatternError, match=rf"no such file; did you mean '{closest}'\?$"):
        xm.load_patterns(given)
