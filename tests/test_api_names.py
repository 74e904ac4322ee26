"""Names (rules, corruptions, chips, circuits, recipes, pattern kinds, recall modes,
architectures, data sources) are looked up by one rule, ``checks.choice_key``: a name in another
case or with ``_`` for ``-`` is the name it spells, and what is stored or recorded is that
canonical name; a misspelt one is refused naming the choices as ``a, b`` (never a Python tuple)
and the closest."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.energy.circuit import load_circuit
from xbarmem.errors import XbarmemError
from xbarmem.experiments.sweep import parse_sweep

SRC = Path(xm.__file__).resolve().parent
PATS = xm.random_patterns(4, 16, seed=0)


def _weights(memory):
    return memory.layers[0].g_pos


@pytest.mark.parametrize(("given", "canonical"), [
    (lambda: xm.train(PATS, rule="Hebb", chip="ideal").info["rule"], "hebb"),
    (lambda: xm.get_rule("Storkey_Variant").name, "storkey-variant"),
    (lambda: list(xm.compare_rules(PATS, rules=["PINV"], trials=1)["rules"]), ["pinv"]),
    (lambda: xm.find_capacity(PATS, rule="Pinv", chip="ideal", trials=1).settings["rule"],
     "pinv"),
    (lambda: xm.Protocol(corruption="Flip").as_dict()["corruption"], "flip"),
    (lambda: xm.load_chip("RRAM").name, "rram"),
    (lambda: xm.load_preset("Paper-Sim").name, "paper-sim"),
    (lambda: load_circuit("Generic-RRAM").name, "generic-rram"),
    (lambda: xm.get_rule("adaptive", recipe="Fast").recipe, "fast"),
    (lambda: xm.PatternSet(PATS.patterns, kind="Continuous").kind, "continuous"),
    (lambda: xm.load_digits(kind="Binary", n_patterns=2).name, "digits8-binary"),
    (lambda: xm.load_patterns("MNIST", n_patterns=2).name, "mnist8-binary"),
    (lambda: xm.Protocol(mode="Async", activation="Tanh").as_dict()["mode"], "async"),
    (lambda: xm.Protocol(mode="Async", activation="Tanh").activation, "tanh"),
    (lambda: [(t.config["rule"], t.config["mode"], t.config["arch"]) for t in parse_sweep({
        "sweep": {"name": "s"}, "base": {"n_neurons": 16, "data": "random", "patterns": 3},
        "grid": [{"rule": ["Hebb"], "mode": ["Async"], "arch": ["Single"]}]}).trials],
     [("hebb", "async", "single")]),
], ids=["rule", "rule-underscore", "compare_rules", "find_capacity", "corruption", "chip",
        "preset", "circuit", "recipe", "kind", "loader-kind", "data-source", "mode",
        "activation", "sweep"])
def test_every_kind_of_name_is_taken_in_any_case_and_kept_canonical(given, canonical):
    """``rule='Hebb'`` was refused (unknown rule) while ``corruption='Flip'`` was taken --
    and recorded as ``'Flip'`` by ``Protocol.as_dict``."""
    assert given() == canonical


def test_a_name_in_another_case_computes_what_the_canonical_name_does():
    ref = xm.train(PATS, rule="adaptive", arch="single", max_steps=5)
    mem = xm.train(PATS, rule="Adaptive", arch="SINGLE", max_steps=5)
    assert np.array_equal(_weights(ref), _weights(mem))
    seconds = {"train_seconds"}
    assert {k: v for k, v in mem.info.items() if k not in seconds} == {
        k: v for k, v in ref.info.items() if k not in seconds}
    cues = PATS.patterns
    assert torch.equal(mem.recall(cues, mode="Async", seed=1).states,
                       mem.recall(cues, mode="async", seed=1).states)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: xm.train(PATS, rule="hebbb"), "unknown rule 'hebbb' (available: adaptive, hebb, "
     "storkey, storkey-variant, pinv, perceptron); did you mean 'hebb'?"),
    (lambda: xm.Protocol(mode="sinc"), "recall mode must be one of sync, async, got 'sinc'; "
     "did you mean 'sync'?"),
    (lambda: xm.Protocol(activation="sigmoid"), "activation must be one of sign, tanh, got "
     "'sigmoid'"),
    (lambda: xm.train(PATS, rule="pinv", arch="multi-layer"), "arch must be one of single, "
     "multilayer, got 'multi-layer'; did you mean 'multilayer'?"),
    (lambda: xm.load_preset("ram"), "unknown chip preset 'ram' (available: ideal, paper-sim, "
     "rram); did you mean 'rram'?"),
    (lambda: xm.load_chip("rram2"), "did you mean 'rram'?"),
    (lambda: xm.PatternSet(PATS.patterns, kind="bin"), "unknown pattern kind 'bin': expected "
     "one of binary, continuous; did you mean 'binary'?"),
])
def test_a_misspelt_name_is_refused_naming_the_choices_and_the_closest(call, message):
    """(``recall mode must be one of ('sync', 'async')`` showed a Python tuple.)"""
    with pytest.raises(XbarmemError) as info:
        call()
    assert str(info.value).endswith(message), str(info.value)


def test_no_message_shows_choices_as_a_python_tuple_or_list():
    """Choices are shown ``a, b`` (``checks.choices_text``); ``one of {ARCHS}`` and ``one of
    {sorted(...)}`` showed ``('single', 'multilayer')`` and ``['digits', ...]``."""
    repr_of_choices = re.compile(r"one of \{(?:[A-Z][A-Z_]*|sorted\(.*?\)|list\(.*?\))\}")
    found = [f"{path.relative_to(SRC)}:{n}" for path in sorted(SRC.rglob("*.py"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if repr_of_choices.search(line)]
    assert not found


def test_a_products_precision_in_another_case_is_kept_canonical():
    """``check_products`` checked ``"BF16"`` and gave nothing back: ``reproduce`` went on with
    the text as given (its sweeps named ``-BF16-``, the bf16 support check skipped)."""
    from xbarmem.learning.adaptive import check_products

    assert check_products("Float32") == "float32"


def test_the_command_line_takes_names_in_the_forms_the_api_takes(run_cli, tmp_path):
    """The Python API took ``rule="Hebb"``, ``mode="Async"``; the command line refused
    ``--rule Hebb`` ("did you mean 'hebb'?") and ``--arch Single``: one rule for both, what is
    recorded is the canonical name, and a name that is none is refused as typed."""
    model = tmp_path / "m.safetensors"
    code, out, err = run_cli("train", "--rule", "Hebb", "--data", "random", "--patterns", "3",
                             "--neurons", "16", "-o", model, "--json")
    assert code == 0 and json.loads(out)["rule"] == "hebb", err
    code, out, err = run_cli("evaluate", model, "--mode", "Async", "--activation", "TANH",
                             "--probes", "2", "--json")
    protocol = json.loads(out)["protocol"]
    assert code == 0 and (protocol["mode"], protocol["activation"]) == ("async", "tanh"), err
    code, out, err = run_cli("capacity", "--rule", "PINV", "--arch", "Single", "--data",
                             "random", "--neurons", "16", "--trials", "1", "--probes", "2",
                             "--json")
    assert code == 0 and json.loads(out)["results"][0]["settings"]["rule"] == "pinv", err
    code, _, err = run_cli("train", "--rule", "Hebbb", "--data", "random", "-o", model)
    assert code == 2 and "unknown rule 'Hebbb'" in err and "did you mean 'hebb'" in err


def test_the_name_parser_keeps_what_it_cannot_name():
    from xbarmem.cli.option_types import names

    parse = names(lambda: ("single", "multilayer"))
    assert parse("Single, MULTILAYER") == "single,multilayer"
    assert parse("single") == "single" and parse("Single,bogus") == "Single,bogus"


@pytest.mark.parametrize(("given", "canonical"), [
    (lambda: xm.get_rule("pseudo-inverse").name, "pinv"),
    (lambda: xm.get_rule("Pseudo_Inverse").name, "pinv"),
    (lambda: xm.get_rule("pseudoinverse").name, "pinv"),
    (lambda: xm.get_rule("Hebbian").name, "hebb"),
    (lambda: xm.get_rule("hardware-adaptive").name, "adaptive"),
    (lambda: xm.train(PATS, rule="pseudo-inverse", chip="ideal").info["rule"], "pinv"),
    (lambda: list(xm.compare_rules(PATS, rules=["hebbian", "projection"], trials=1)["rules"]),
     ["hebb", "pinv"]),
    (lambda: xm.find_capacity(PATS, rule="pseudo-inverse", chip="ideal",
                              trials=1).settings["rule"], "pinv"),
    (lambda: [t.config["rule"] for t in parse_sweep({
        "sweep": {"name": "s"}, "base": {"n_neurons": 16, "data": "random", "patterns": 3},
        "grid": [{"rule": ["pseudo-inverse"]}]}).trials], ["pinv"]),
], ids=["pseudo-inverse", "underscore", "pseudoinverse", "hebbian", "hardware-adaptive",
        "train", "compare_rules", "find_capacity", "sweep"])
def test_a_rule_is_taken_by_the_name_papers_give_it_and_kept_by_its_own(given, canonical):
    """``rule="pseudo-inverse"`` (the paper's and README's word for ``pinv``) was refused as an
    unknown rule, with no closest name offered."""
    assert given() == canonical


def test_two_names_of_one_rule_are_one_rule_and_a_rule_of_ones_own_cannot_take_either():
    with pytest.raises(XbarmemError, match="pinv"):
        xm.compare_rules(PATS, rules=["pinv", "pseudo-inverse"], trials=1)

    class Mine:
        name, bias = "Pseudo-Inverse", False

        def options(self, layers, kind):
            return {}

        def fit(self, problem, progress=None):
            raise AssertionError("not trained")

    with pytest.raises(XbarmemError, match="built-in rule 'pinv'"):
        xm.train(PATS, rule=Mine(), chip="ideal")


def test_the_command_line_takes_a_rule_by_another_name(run_cli, tmp_path):
    code, out, err = run_cli("train", "--rule", "Pseudo-Inverse", "--data", "random",
                             "--patterns", "3", "--neurons", "16",
                             "-o", tmp_path / "m.safetensors", "--json")
    assert code == 0 and json.loads(out)["rule"] == "pinv", err
