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
def test_init_linear_refuses_a_narrow_or_second_hidden_layer_before_training(hidden):
    x = torch.rand(3, N, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with pytest.raises(ConfigError, match=r"init linear needs one hidden layer at least as "
                       r"wide as the patterns \(N -> H -> N with H >= N\), got 6 -> "):
        train(x, kind="continuous", arch="multilayer", hidden=hidden, init="linear")


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
