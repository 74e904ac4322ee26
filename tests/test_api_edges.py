"""The Python API at its edges (round 6): tensors numpy cannot hold (bfloat16, sparse) are
read as the numbers they hold on every path; values that hold no numbers (None, a text, a
dict, a memory, a PatternSet where a matrix is meant) are named for what they are; a
protocol whose cues could not fit in memory is refused before any cue is drawn or any rule
trained."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.errors import ArgumentError, PatternError, XbarmemError
from xbarmem.evaluation import curve, evaluate
from xbarmem.evaluation.metrics import cosine_similarity
from xbarmem.limits import TooLargeError

P = xm.random_patterns(3, 16, seed=0)
X = torch.tensor(P.patterns)
MEM = xm.train(P, rule="pinv")


def _g(memory):
    return [np.asarray(layer.g_pos) for layer in memory.layers]


#: (torch warns that CSR support is in beta)
pytestmark = pytest.mark.filterwarnings("ignore:Sparse CSR tensor support:UserWarning")

_FORMS = {
    "bfloat16": lambda t: t.to(torch.bfloat16),
    "sparse-coo": lambda t: t.to_sparse(),
    "sparse-csr": lambda t: t.to_sparse_csr(),
    "float16-grad": lambda t: t.half().requires_grad_(),
}


@pytest.mark.parametrize("form", sorted(_FORMS))
@pytest.mark.parametrize("rule", ["pinv", "adaptive"])
def test_tensors_numpy_cannot_hold_train_the_same_memory(form, rule):
    """bfloat16 and sparse tensors raised a raw TypeError (``Got unsupported ScalarType
    BFloat16``; ``can't convert Sparse layout tensor to numpy``) in train, evaluate_memory,
    find_capacity, compare_rules and as_pattern_set."""
    options = {"max_steps": 3} if rule == "adaptive" else {}
    ref = xm.train(X, rule=rule, **options)
    mem = xm.train(_FORMS[form](X), rule=rule, **options)
    assert all(np.array_equal(a, b) for a, b in zip(_g(ref), _g(mem), strict=True))


@pytest.mark.parametrize("form", sorted(_FORMS))
def test_tensors_numpy_cannot_hold_are_read_on_every_path(form):
    """(Sparse cues raised NotImplementedError from torch in recall and flip_bits;
    bfloat16 / sparse weights a raw TypeError in FloatMatrix, Problem.of, fit_memories and
    Crossbar.program.)"""
    make = _FORMS[form]
    assert torch.equal(MEM.recall(make(X)).states, MEM.recall(X).states)
    assert torch.equal(xm.flip_bits(make(X), 0.2, 0), xm.flip_bits(X, 0.2, 0))
    assert xm.evaluate_memory(MEM, make(X)).cosine == xm.evaluate_memory(MEM, X).cosine
    assert np.array_equal(xm.as_pattern_set(make(X)).patterns, P.patterns)
    assert torch.equal(cosine_similarity(make(X), X), cosine_similarity(X, X))
    weights = torch.eye(16)
    assert torch.equal(xm.recall(xm.FloatMatrix(make(weights)), X).states,
                       xm.recall(xm.FloatMatrix(weights), X).states)
    assert torch.equal(xm.Problem.of(make(X)).patterns, xm.Problem.of(X).patterns)
    fitted = xm.fit_memories(xm.get_rule("pinv"), make(X), [xm.SingleLayerMemory(16)])
    assert fitted[0]["converged"]
    crossbar = xm.Crossbar(xm.load_preset("ideal"), 16, 16, xm.FaultMap.empty(1, 64, 64))
    assert crossbar.program(make(weights)).programmed


_PATTERN_SET = xm.PatternSet


@pytest.mark.parametrize(("value", "shown"), [
    (None, "got None"), ("random", "got 'random'"), ({"a": 1}, "got {'a': 1}"),
    (MEM, "got a SingleLayerMemory")])
@pytest.mark.parametrize(("call", "what"), [
    (lambda v: xm.train(v, rule="pinv"), "patterns must be a (P, N) matrix of real numbers"),
    (lambda v: xm.evaluate_memory(MEM, v), "patterns must be a (P, N) matrix of real numbers"),
    (lambda v: xm.find_capacity(v, rule="pinv"), "patterns must be a (P, N) matrix of real"),
    (_PATTERN_SET, "patterns must be a (P, N) matrix of real numbers"),
    (lambda v: MEM.recall(v), "cues must be a numeric (batch, 16) matrix"),
    (lambda v: xm.recall(xm.FloatMatrix(np.eye(16)), v), "cues must be a numeric (batch, 16)"),
    (lambda v: xm.flip_bits(v, 0.1, 0), "cues must be a (B, N) matrix of real numbers"),
    (lambda v: xm.corrupt(v, "gaussian", 0.1, 0), "cues must be a (B, N) matrix of real"),
    (lambda v: cosine_similarity(v, X), "a must be a (B, N) matrix of real numbers"),
], ids=["train", "evaluate_memory", "find_capacity", "PatternSet", "Memory.recall", "recall",
        "flip_bits", "corrupt", "cosine_similarity"])
def test_values_that_hold_no_numbers_are_named_for_what_they_are(call, what, value, shown):
    """numpy's reading of them was shown instead (``patterns must be real numbers, got
    non-numeric dtype object``, ``cues must have shape (batch, 16), got ()`` for None,
    ``float() argument must be a string or a real number, not 'PatternSet'``)."""
    with pytest.raises(PatternError) as info:
        call(value)
    message = str(info.value)
    assert message.startswith(what) and message.endswith(shown), message
    assert "dtype object" not in message and "float()" not in message


def test_labels_that_hold_no_numbers_are_named_as_labels():
    with pytest.raises(PatternError, match=r"^labels must be 3 integers, got \[None, None, None"):
        xm.PatternSet(P.patterns, labels=[None, None, None])


@pytest.mark.parametrize("call", [
    lambda: xm.evaluate_memory(MEM, P, xm.Protocol(probes=10**9)),
    lambda: xm.compare_rules(P, "paper-sim", "pinv", trials=1,
                             protocol=xm.Protocol(probes=10**9)),
    lambda: xm.compare_rules(P, "paper-sim", "pinv", trials=1,
                             variants={"many": xm.Protocol(probes=10**9)}),
], ids=["evaluate_memory", "compare_rules", "compare_rules-variants"])
def test_cues_beyond_the_memory_limit_are_refused_before_any_work(call, monkeypatch):
    """``Protocol(probes=10**9)`` is a valid count, but its cues could never fit: the API
    tried to allocate them (torch's ``RuntimeError: DefaultCPUAllocator: can't allocate
    memory: you tried to allocate 192000000000 bytes``), compare_rules after training every
    rule; the command line refused them with this estimate already."""
    def no_work(*args, **kwargs):
        raise AssertionError("worked before the size was checked")

    monkeypatch.delenv("XBARMEM_MAX_BYTES", raising=False)
    monkeypatch.setattr(evaluate, "fit_memories", no_work)
    monkeypatch.setattr(evaluate, "corrupt", no_work)
    with pytest.raises(TooLargeError, match=r"^1000000000 probes of 3 patterns of "
                       r"N = 16 would need about .* above the limit of 2 GiB") as info:
        call()
    assert isinstance(info.value, XbarmemError)


def test_get_rule_given_a_rule_object_says_what_to_give():
    """(Was ``ConfigError: unknown rule a AdaptiveTrainer (available: ...)``, as for a
    misspelt name.) ``get_rule`` builds rules by name; the functions that train take the
    object itself (tests/test_extending.py)."""
    with pytest.raises(ArgumentError, match=r"^rule must be a rule name \(adaptive, .*\), "
                       r"got a Hebb: give its name and options \(rule='adaptive', "
                       r"max_steps=\.\.\.\); a rule object is taken by train, fit_memories, "
                       r"compare_rules, recall_curve, find_capacity and adapt\(trainer=\.\.\.\) "
                       r"\(docs/extending.md\)$"):
        xm.get_rule(xm.get_rule("hebb"))


@pytest.mark.parametrize("call", [
    lambda: xm.train(P, rule=xm.AdaptiveTrainer),
    lambda: xm.compare_rules(P, "paper-sim", [xm.AdaptiveTrainer], trials=1),
], ids=["train", "compare_rules"])
def test_a_rule_class_where_a_rule_is_meant_asks_for_an_instance(call):
    with pytest.raises(ArgumentError, match=r"^rule must be a rule object, got the class "
                       r"AdaptiveTrainer: give an instance \(AdaptiveTrainer\(\.\.\.\)\)$"):
        call()


@pytest.mark.parametrize("source", ["", "  "])
def test_an_empty_chip_name_is_no_preset_and_no_file(source):
    """(``load_chip("")`` said "chip file . is a directory, not a file": the empty path read
    as the current folder.)"""
    with pytest.raises(xm.FileFormatError, match=rf"^no chip preset or file named '{source}' "
                       r"\(presets: ideal, paper-sim, rram\)$"):
        xm.load_chip(source)
    with pytest.raises(xm.FileFormatError, match="no chip preset or file named"):
        xm.train(P, rule="pinv", chip=source)


@pytest.mark.parametrize("call", [
    lambda pool: xm.find_capacity(pool, rule="pinv", protocol=xm.Protocol(probes=10**8),
                                  trials=1),
    lambda pool: curve.recall_curve(pool, [4, 8], "paper-sim", "pinv",
                                    protocol=xm.Protocol(probes=10**8)),
], ids=["find_capacity", "recall_curve"])
def test_a_capacity_search_refuses_cues_beyond_the_limit_before_training(call, monkeypatch):
    """find_capacity refused them at its first count, after that count's training: now
    recall_curve checks its largest count's cues before it trains."""
    def no_training(*args, **kwargs):
        raise AssertionError("trained before the size was checked")

    monkeypatch.delenv("XBARMEM_MAX_BYTES", raising=False)
    monkeypatch.setattr(curve, "fit_memories", no_training)
    with pytest.raises(TooLargeError, match=r"^100000000 probes of \d+ patterns? of "
                       r"N = 16 would need about"):
        call(xm.random_patterns(20, 16, seed=1))
