"""Continuous (tanh) patterns re-checked end to end: what is reported of their training and
their recall means what it says for real values.

* ``fixed_points`` says whether every stored *binary* pattern is a fixed point of the sign
  dynamics; of continuous patterns no rule says it, and the hardware-adaptive rule's
  ``converged`` (its loss stopped improving) was recorded under that name.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.learning.base import Problem

#: 4 continuous patterns of 16 neurons in [-1, 1]
GREY = np.random.default_rng(3).uniform(-1.0, 1.0, size=(4, 16)).astype(np.float32)
SHORT = {"max_steps": 30}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("arch,options", [
    ("single", {}),
    ("single", {"objective": "fixed-point", "max_steps": 3000}),
    ("multilayer", {"hidden": 8}),
])
def test_continuous_training_records_no_fixed_points(arch, options):
    """The adaptive rule on continuous patterns says nothing of fixed points (None), and no
    memory's info claims them: before, ``info["fixed_points"]`` was ``converged``."""
    options = {**SHORT, **options}
    hidden = options.pop("hidden", None)
    memory = xm.train(GREY, kind="continuous", arch=arch, hidden=hidden, **options)
    assert "fixed_points" not in memory.info
    assert "converged" in memory.info
    if arch == "single":
        n = GREY.shape[1]
        bounds = [(-torch.ones(1, n, n + 1), torch.ones(1, n, n + 1))]  # (bias column)
        fit = xm.AdaptiveTrainer(**options).fit(
            Problem.of(torch.tensor(GREY)[None], bounds, kind="continuous"))
        assert fit.fixed_points is None


def test_binary_training_still_records_fixed_points():
    memory = xm.train(np.sign(GREY), max_steps=200)
    assert isinstance(memory.info["fixed_points"], bool)


def test_a_rule_saying_fixed_points_of_continuous_patterns_is_not_recorded():
    """Whatever a rule returns, ``fixed_points`` is a statement about +-1 patterns' signs."""
    from xbarmem.learning.base import FitResult
    from xbarmem.learning.classic import Hebb

    class Says(Hebb):
        name = "says"

        def fit(self, problem, progress=None):
            res = super().fit(problem)
            t = res.converged.shape[0]
            return FitResult(weights=res.weights, biases=res.biases, steps=res.steps,
                             loss=res.loss, converged=res.converged,
                             fixed_points=torch.ones(t, dtype=torch.bool))

    assert "fixed_points" not in xm.train(GREY, rule=Says(), kind="continuous").info
    assert xm.train(np.sign(GREY), rule=Says()).info["fixed_points"] is True


def test_capacity_points_of_continuous_patterns_hold_no_fixed_points():
    found = xm.find_capacity(GREY, kind="continuous", rule_options=SHORT, trials=1,
                             protocol=xm.Protocol(probes=1, corruption="gaussian"))
    assert found.points and all(p["fixed_points"] is None for p in found.points)


def test_train_json_of_continuous_patterns_has_no_fixed_points(run_cli, tmp_path):
    data = tmp_path / "grey.npy"
    np.save(data, GREY)
    res = run_cli("train", "--data", str(data), "--kind", "continuous", "--rule-option",
                  "max_steps=30", "-o", str(tmp_path / "m.safetensors"), "--json")
    code, out, err = res
    assert code == 0, err
    assert "fixed_points" not in json.loads(out)
