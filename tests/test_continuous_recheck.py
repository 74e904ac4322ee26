"""Continuous (tanh) patterns re-checked end to end: what is reported of their training and
their recall means what it says for real values.

* ``fixed_points`` says whether every stored *binary* pattern is a fixed point of the sign
  dynamics; of continuous patterns no rule says it, and the hardware-adaptive rule's
  ``converged`` (its loss stopped improving) was recorded under that name.
* ``exact`` and ``hamming`` of continuous patterns compare signs; a pattern's 0 (mid-grey,
  as 8 of scikit-learn's 0..16 digit levels) has no sign, and a recalled state of -0.001
  there was counted as a wrong bit.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.evaluation.metrics import exact_recall, hamming_distance
from xbarmem.learning.base import Problem

#: 4 continuous patterns of 16 neurons in [-1, 1]
GREY = np.random.default_rng(3).uniform(-1.0, 1.0, size=(4, 16)).astype(np.float32)
SHORT = {"max_steps": 30}


pytestmark = pytest.mark.usefixtures("one_thread")


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


@pytest.mark.parametrize("state,pattern,want", [
    ([0.5, -0.001, 0.3], [0.5, 0.0, 0.3], 0),     # mid-grey: no sign to recall
    ([0.5, 0.001, 0.3], [0.5, 0.0, 0.3], 0),
    ([0.5, -0.2, -0.3], [0.5, 0.0, 0.3], 1),      # a real sign error still counts
    ([0.0, -0.2, 0.3], [-0.5, 0.0, 0.3], 1),      # a state's 0 is +1: wrong for -0.5
    ([1.0, 1.0, 1.0], [-1.0, 1.0, -1.0], 2),      # +-1 patterns: every bit counts
])
def test_sign_metrics_skip_positions_where_the_pattern_has_no_sign(state, pattern, want):
    ham = hamming_distance([state], [pattern])
    assert ham.tolist() == [want]
    assert exact_recall([state], [pattern]).tolist() == [want == 0]


def test_evaluate_of_mid_grey_patterns_counts_no_sign_of_their_zeros():
    """Patterns with exact zeros, recalled perfectly but for tiny values at the zeros: the
    score's ``exact`` is 1 and ``hamming`` 0 (was 0 and the number of zeros)."""
    patterns = GREY.copy()
    patterns[:, :3] = 0.0

    from xbarmem.evaluation.evaluate import Cues, score_recall
    from xbarmem.memory.recall import RecallResult

    target = torch.tensor(patterns)
    states = torch.where(target == 0, torch.tensor(-1e-3), target)
    ones = torch.ones(4, dtype=torch.int64)
    result = RecallResult(states=states, iterations=ones, reads=ones,
                          converged=torch.ones(4, dtype=torch.bool),
                          cycled=torch.zeros(4, dtype=torch.bool), mode="sync",
                          activation="tanh")
    cues = Cues(cues=target.clone(), target=target, probes=1, binary=False,
                generator=torch.Generator())
    score = score_recall(cues, result)
    assert score.exact == 1.0 and score.hamming == 0.0


@pytest.mark.parametrize("kind, header", [("continuous", "exact signs"), ("binary", "exact")])
@pytest.mark.parametrize("grouped", [False, True])
def test_results_names_exact_as_evaluate_does(run_cli, tmp_path, kind, header, grouped):
    """``results`` headed continuous rows' column ``exact``, ``evaluate`` says ``exact
    signs`` of them: one name now, in the table of rows and of groups."""
    (tmp_path / "s.toml").write_text(
        f'[sweep]\nname = "s"\ntrial = "evaluate"\nseeds = 2\n[base]\ndata = "random"\n'
        f'n_neurons = 16\nkind = "{kind}"\nrule = "pinv"\nprobes = 2\n'
        f'[grid]\npatterns = [3, 4]\n')
    assert run_cli("sweep", tmp_path / "s.toml", "--store", tmp_path / "s.sqlite",
                   "--jobs", "1")[0] == 0
    code, out, err = run_cli("results", tmp_path / "s.sqlite",
                             *(("--group-by", "patterns") if grouped else ()))
    assert code == 0, err
    assert (" exact signs " in out) == (header == "exact signs") and " exact " in \
        out.replace("│", " ").replace("┃", " ").replace("exact signs", "exact"), out
