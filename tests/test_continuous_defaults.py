"""Continuous memories in the Python API: recall and evaluation take the kind's neurons and
cues when none are given (tanh, Gaussian noise: as the commands and sweeps do), and refuse
cues that set the signs of grey levels, before any training."""

from __future__ import annotations

import pytest
import torch

import xbarmem as xm
from xbarmem.deploy.backend import BackendMemory, simulated_backends
from xbarmem.errors import ConfigError
from xbarmem.evaluation import curve
from xbarmem.names import default_cues

GAUSSIAN = xm.Protocol(corruption="gaussian", level=0.6, activation="tanh")


@pytest.fixture(scope="module")
def grey():
    x = xm.load_digits(kind="continuous", n_patterns=4)
    return x, xm.train(x, chip="paper-sim", max_steps=20)


def test_recall_of_a_continuous_memory_takes_tanh_neurons_unless_told(grey):
    x, mem = grey
    cues = torch.tensor(x.patterns) * 0.8
    default = mem.recall(cues)
    assert default.activation == "tanh"
    assert torch.equal(default.states, mem.recall(cues, activation="tanh").states)
    assert mem.recall(cues, activation="sign").activation == "sign"
    backed = BackendMemory(mem, simulated_backends(mem))
    assert backed.recall(cues).activation == "tanh"


def test_recall_of_a_binary_or_hand_programmed_memory_keeps_sign_neurons():
    x = xm.load_digits(n_patterns=4)
    mem = xm.train(x, chip="paper-sim", rule="hebb")
    assert mem.recall(x.patterns).activation == "sign"
    hand = xm.SingleLayerMemory(64, "paper-sim").program(torch.zeros(64, 64), torch.zeros(64))
    assert hand.recall(x.patterns).activation == "sign"


def test_evaluating_a_continuous_memory_takes_its_kind_cues_unless_told(grey):
    x, mem = grey
    default = xm.evaluate_memory(mem, x)
    explicit = xm.evaluate_memory(mem, x, GAUSSIAN)
    assert default.cosine == explicit.cosine and torch.equal(default.cues, explicit.cues)
    binary = xm.load_digits(n_patterns=4)
    hebb = xm.train(binary, chip="paper-sim", rule="hebb")
    assert torch.equal(xm.evaluate_memory(hebb, binary).cues,
                       xm.evaluate_memory(hebb, binary, xm.Protocol()).cues)


@pytest.mark.parametrize("corruption", ["flip", "salt-pepper"])
def test_sign_cues_of_continuous_patterns_are_refused_by_every_entry(grey, corruption,
                                                                    monkeypatch):
    x, mem = grey
    protocol = xm.Protocol(corruption=corruption, level=0.1)
    message = f"corruption '{corruption}' applies to binary patterns only; these are continuous"
    with pytest.raises(ConfigError, match=message):
        xm.evaluate_memory(mem, x, protocol)

    def no_training(*args, **kwargs):
        raise AssertionError("trained before the protocol was checked")

    monkeypatch.setattr(curve, "train_curve", no_training)
    with pytest.raises(ConfigError, match=message):
        curve.recall_curve(x, [2], protocol=protocol)
    with pytest.raises(ConfigError, match=message):
        xm.find_capacity(x, protocol=protocol, thresholds=[0.9])
    with pytest.raises(ConfigError, match=message):
        xm.compare_rules(x, rules=["pinv"], protocol=protocol, trials=1)


def test_capacity_of_continuous_patterns_defaults_to_their_cues(monkeypatch):
    seen = []

    def record(trained, protocol=None, **kwargs):
        seen.append(protocol)
        raise RuntimeError("stop")

    monkeypatch.setattr(curve, "score_curve", record)
    with pytest.raises(RuntimeError, match="stop"):
        xm.find_capacity(xm.load_digits(kind="continuous", n_patterns=40), thresholds=[0.9],
                         trials=1, start=2)
    assert seen[0].corruption == "gaussian" and seen[0].activation == "tanh"
    assert seen[0].level == 0.6 and seen[0].probes == 20


def test_a_protocol_without_neurons_takes_the_patterns_kind(grey, monkeypatch):
    """``Protocol(corruption="gaussian", level=0.6)`` names cues, not neurons: continuous
    patterns are recalled with tanh neurons under it, as under no protocol (sign neurons, the
    field's old default, turned every grey level into +-1), binary ones with sign neurons;
    what was asked for is kept."""
    x, mem = grey
    cues_only = xm.Protocol(corruption="gaussian", level=0.6)
    assert xm.evaluate_memory(mem, x, cues_only).cosine == xm.evaluate_memory(
        mem, x, GAUSSIAN).cosine
    signs = xm.Protocol(corruption="gaussian", level=0.6, activation="sign")
    assert xm.evaluate_memory(mem, x, signs).cosine != xm.evaluate_memory(mem, x, GAUSSIAN).cosine
    binary = xm.load_digits(n_patterns=4)
    hebb = xm.train(binary, chip="paper-sim", rule="hebb")
    assert torch.equal(xm.evaluate_memory(hebb, binary, xm.Protocol(level=0.2)).states,
                       xm.evaluate_memory(hebb, binary,
                                          xm.Protocol(level=0.2, activation="sign")).states)
    seen = []

    def record(trained, protocol=None, **kwargs):
        seen.append(protocol)
        raise RuntimeError("stop")

    monkeypatch.setattr(curve, "score_curve", record)
    for search in (lambda: xm.find_capacity(x, thresholds=[0.9], trials=1, start=2,
                                            protocol=cues_only),
                   lambda: xm.run_scaling([64], arch="single", rule="pinv", kind="continuous",
                                          data="digits", protocol=cues_only)):
        with pytest.raises(RuntimeError, match="stop"):
            search()
    assert [p.activation for p in seen] == ["tanh", "tanh"]


@pytest.mark.parametrize("corruption", ["flip", "gaussian", "occlude", "salt-pepper"])
def test_a_protocol_without_a_level_takes_the_commands_level(corruption):
    """``Protocol(corruption="gaussian")`` took level 0.1 (the flip rate's) where ``evaluate
    --corruption gaussian`` and sweeps take sigma 0.6: same chip, other numbers."""
    for kind in ("binary", "continuous"):
        if kind == "continuous" and corruption in ("flip", "salt-pepper"):
            continue
        _, level, _ = default_cues(kind, corruption)
        assert xm.Protocol(corruption=corruption).level == level
        assert xm.Protocol(corruption=corruption, probes=3).as_dict() == xm.Protocol(
            corruption=corruption, level=level, probes=3).as_dict()
    assert xm.Protocol().level == 0.1 and xm.Protocol(level=0.05).level == 0.05


def test_a_custom_corruption_needs_its_level():
    """A custom corruption has no default level (it took the flip rate's 0.1 unsaid)."""
    with pytest.raises(ConfigError, match=r"^level is required with corruption <lambda> "):
        xm.Protocol(corruption=lambda x, level, generator: x)
    assert xm.Protocol(corruption=lambda x, level, generator: x, level=0.3).level == 0.3
