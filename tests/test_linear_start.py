"""The closed-form start of two-layer memories (``init="linear"``,
:mod:`xbarmem.learning.linear_start`): the weights it writes, the layers and patterns it
refuses, and that the trainer uses it only when asked."""

import pytest
import torch

from xbarmem import train
from xbarmem.errors import ConfigError
from xbarmem.learning.adaptive import AdaptiveTrainer
from xbarmem.learning.base import Problem
from xbarmem.learning.linear_start import denoiser
from xbarmem.learning.multilayer_fit import MultilayerFit

N = 6


def _problem(hidden: int = N, box: float = 100.0, counts=None) -> Problem:
    x = torch.rand(2, 5, N, generator=torch.Generator().manual_seed(0)) * 2 - 1
    bounds = tuple((-box * torch.ones(2, o, i + 1), box * torch.ones(2, o, i + 1))
                   for i, o in ((N, hidden), (hidden, N)))
    return Problem(x, bounds, kind="continuous", counts=counts)


def _layers(opts, problem):
    path, params, *_ = MultilayerFit.start(opts, problem)
    return path.unpack(params * path.scale)


def test_denoiser_is_the_least_squares_map_from_noisy_cues():
    """``M = C (C + s^2 I)^-1`` is the linear map minimising the expected error from cues
    ``x + s * noise``: its normal equations ``M (C + s^2 I) = C`` hold, and the offset maps the
    mean onto itself."""
    x = torch.rand(7, 4, generator=torch.Generator().manual_seed(3)) * 2 - 1
    m, offset = denoiser(x, 0.6, bias=True)
    xd = x.double()
    c = torch.cov(xd.T, correction=0)
    assert torch.allclose(m @ (c + 0.36 * torch.eye(4, dtype=c.dtype)), c, atol=1e-12)
    assert torch.allclose(m @ xd.mean(0) + offset, xd.mean(0), atol=1e-12)
    m0, zero = denoiser(x, 0.6, bias=False)  # no bias rows: the second moment, no offset
    s = xd.T @ xd / 7
    assert torch.allclose(m0 @ (s + 0.36 * torch.eye(4, dtype=s.dtype)), s, atol=1e-12)
    assert not zero.any()


def test_linear_start_writes_the_factored_denoiser_of_each_networks_real_patterns():
    problem = _problem(hidden=N + 2, counts=torch.tensor([5, 3]))
    opts = AdaptiveTrainer(init="linear", cue_noise=0.5).resolved(2, "continuous")
    (w1, w2), (b1, b2) = _layers(opts, problem)
    (r1, r2), (rb1, _) = _layers(opts.replace(init="random"), problem)
    for j, count in enumerate((5, 3)):  # network 1 stores 3 patterns (2 padding rows)
        m, offset = denoiser(problem.patterns[j, :count], 0.5, bias=True)
        assert torch.equal(w1[j, :N], 0.5 * torch.eye(N)) and not b1[j, :N].any()
        assert torch.allclose(w2[j, :, :N], 2 * m.float(), atol=1e-6)
        assert torch.allclose(b2[j], offset.float(), atol=1e-6)
    # the two extra hidden units keep their random rows and start with no outgoing weights
    assert torch.equal(w1[:, N:], r1[:, N:]) and torch.equal(b1[:, N:], rb1[:, N:])
    assert not w2[:, :, N:].any() and r2[:, :, N:].any()


def test_linear_start_is_clipped_into_the_intervals():
    opts = AdaptiveTrainer(init="linear").resolved(2, "continuous")
    (w1, w2), _ = _layers(opts, _problem(box=0.3))
    assert w1.abs().max() == pytest.approx(0.3) and w2.abs().max() == pytest.approx(0.3)


@pytest.mark.parametrize("options, layers, kind, message", [
    ({}, 1, "continuous", "only for multilayer memories storing continuous patterns"),
    ({}, 2, "binary", "only for multilayer memories storing continuous patterns"),
    ({"objective": "fixed-point"}, 2, "continuous", "exists only for the basin objective"),
])
def test_init_linear_is_refused_where_it_does_not_apply(options, layers, kind, message):
    with pytest.raises(ConfigError, match=message):
        AdaptiveTrainer(init="linear", **options).resolved(layers, kind)


@pytest.mark.parametrize("hidden", [[N - 1], [N, N]])
def test_init_linear_refuses_a_narrow_or_second_hidden_layer_before_training(hidden,
                                                                              monkeypatch):
    """Refused with the options checked against the architecture (as ``warm_start`` with
    several layers), not once the multilayer training has begun."""
    widths = " -> ".join(map(str, [N, *hidden, N]))
    message = (r"init linear needs one hidden layer at least as wide as the patterns "
               rf"\(N -> H -> N with H >= N\), got {widths}$")
    with pytest.raises(ConfigError, match=message):
        AdaptiveTrainer(init="linear").refuse_inapplicable(len(hidden) + 1, "continuous",
                                                           [N, *hidden, N])
    with pytest.raises(ConfigError, match=message):
        AdaptiveTrainer(init="linear").resolved(len(hidden) + 1, "continuous", [N, *hidden, N])
    AdaptiveTrainer(init="linear").refuse_inapplicable(2, "continuous", [N, N, N])

    def began(*args, **kwargs):
        raise AssertionError("the multilayer training began")

    monkeypatch.setattr(MultilayerFit, "run", began)
    x = torch.rand(3, N, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with pytest.raises(ConfigError, match=message):
        train(x, kind="continuous", arch="multilayer", hidden=hidden, init="linear")


@pytest.mark.parametrize("options, message", [
    (["--arch", "multilayer", "--hidden", "8", "--rule-option", "init=linear"],
     "init linear needs one hidden layer at least as wide as the patterns (N -> H -> N with "
     "H >= N), got 16 -> 8 -> 16"),
    (["--arch", "multilayer", "--hidden", "8-16", "--rule-option", "init=linear"],
     "got 16 -> 8 -> 16 -> 16"),
    (["--rule-option", "init=linear"], "init linear exists only for multilayer memories"),
    (["--rule-option", "flip_steps=5"], "flip_steps (the flip-averaged stage) exists only"),
])
def test_train_refuses_options_the_architecture_cannot_take_before_building_the_memory(
        options, message, run_cli, tmp_path, monkeypatch):
    """``train --hidden 8 --rule-option init=linear`` was refused only once training began
    (its warnings printed, the memory built); now with the options checked against N, the
    hidden widths and the patterns' kind."""
    from tests.conftest import refused
    from xbarmem.memory import build

    def built(*args, **kwargs):
        raise AssertionError("the memory was built")

    monkeypatch.setattr(build, "make_memory", built)
    line = refused(run_cli, tmp_path, "train", "--out", tmp_path / "m.safetensors", "--data",
                   "random", "--patterns", "4", "--neurons", "16", "--kind", "continuous",
                   *options)
    assert message in line, line


def test_init_is_listed_only_when_set_and_changes_the_training():
    """Trial keys of earlier stores stay as they were; the linear start trains other weights
    than the random one (and the same ones again)."""
    assert "init" not in AdaptiveTrainer().options(2, "continuous")
    assert AdaptiveTrainer(init="linear").options(2, "continuous")["init"] == "linear"
    with pytest.raises(ConfigError, match="init must be one of 'random', 'linear'"):
        AdaptiveTrainer(init="pca")
    x = torch.rand(3, 16, generator=torch.Generator().manual_seed(2)) * 2 - 1
    common = dict(kind="continuous", arch="multilayer", hidden=16, max_steps=5)
    linear = train(x, init="linear", **common).targets[1][0]
    assert not torch.equal(linear, train(x, **common).targets[1][0])
    assert torch.equal(linear, train(x, init="linear", **common).targets[1][0])


SWEEP = """[sweep]
name = "linear"
trial = "evaluate"

[base]
arch = "multilayer"
hidden = 8
n_neurons = 16
kind = "continuous"
data = "random"
patterns = 3

[rule_options.adaptive]
init = "linear"
"""


@pytest.mark.parametrize("command", [
    ["capacity", "--arch", "multilayer", "--hidden", "8", "--neurons", "16", "--data",
     "random", "--pool", "20"],
    ["scaling", "--arch", "multilayer", "--hidden", "16", "--sizes", "16,64"],
    ["sweep", "SWEEP", "--store", "STORE", "--dry-run"],
    ["sweep", "SWEEP", "--store", "STORE"],
])
def test_searches_and_sweeps_refuse_init_linear_on_a_narrow_hidden_layer_before_any_work(
        command, run_cli, tmp_path, monkeypatch):
    """capacity and scaling refused it inside their search (scaling: at N = 64 of 16,64); a
    sweep ran it, created its store and reported a failed group."""
    from tests.conftest import refused
    from xbarmem.evaluation import capacity, scaling

    def searched(*args, **kwargs):
        raise AssertionError("the search began")

    monkeypatch.setattr(capacity, "find_capacity", searched)
    monkeypatch.setattr(scaling, "run_scaling", searched)

    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "s.toml").write_text(SWEEP)
    args = [{"SWEEP": folder / "s.toml", "STORE": folder / "s.sqlite"}.get(a, a)
            for a in command]
    if command[0] != "sweep":
        args += ["--kind", "continuous", "--rule-option", "init=linear"]
    if command[0] == "scaling":
        args += ["--out", folder / "out"]
    line = refused(run_cli, folder, *args)
    assert "init linear needs one hidden layer at least as wide as the patterns" in line, line
    assert ("got 64 -> 16 -> 64" if command[0] == "scaling" else "got 16 -> 8 -> 16") in line
