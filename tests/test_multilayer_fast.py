"""Fast (closed-form) training paths of the multilayer trainer.

The written-out losses and gradients must equal autograd through the oracle loss
(``tests/oracles.py``; fixed-point and basin objectives, binary and continuous, sign
fine-tune on and off, padded pattern counts, with and without bias, noise injection, layer
scales), training with them must equal training through the autograd path, and
``stop="stable"`` must stop early on the weights it reports.
"""

import pytest
import torch
from oracles import field_multi, fit_multilayer_autograd, fixed_point_loss_grad, loss

from xbarmem.learning.base import Problem, valid_mask
from xbarmem.learning.multilayer import OBJECTIVE_DEFAULTS, MultilayerTrainer
from xbarmem.learning.multilayer_fit import MultilayerFit
from xbarmem.learning.objective import late_weights

T, P, N = 3, 6, 12
COUNTS = torch.tensor([6, 3, 4])  # padded pattern counts


def _patterns(kind: str) -> torch.Tensor:
    x = torch.rand(T, P, N, generator=torch.Generator().manual_seed(0)) * 2 - 1
    return torch.where(x >= 0, 1.0, -1.0) if kind == "binary" else x


def _trainer(bias: bool, lr_fan_in: int = 4, **options) -> tuple[MultilayerFit, torch.Tensor]:
    """A multilayer path (12 -> 5 -> 7 -> 12; ``lr_fan_in = 4`` gives every layer a scale
    != 1) and a random flat parameter vector."""
    opts = MultilayerTrainer(bias=bias, lr_fan_in=lr_fan_in, cue_copies=3, unroll=4,
                             **options).resolved(3)
    sizes = [N, 5, 7, N]
    bounds = [(-torch.ones(T, o, i + bias), torch.ones(T, o, i + bias))
              for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    path, _, _ = MultilayerFit.prepare(opts, bounds, T, N)
    a = 0.5 * torch.randn(T, path.scale.numel(), generator=torch.Generator().manual_seed(1))
    return path, a


def _oracle(path, params, x, valid, kind, gen, noise, unroll, straight_through):
    return loss(path.opts, lambda p, s, nz, g: field_multi(path, p, s, nz, g), params, x, valid,
                kind, gen, noise, unroll, straight_through=straight_through)


def _autograd(path, a0, x, valid, kind, noise, unroll, straight_through):
    a = a0.clone().requires_grad_(True)
    ref = _oracle(path, a, x, valid, kind, torch.Generator().manual_seed(5), noise, unroll,
                  straight_through)
    ref.sum().backward()
    return ref.detach(), a.grad


NOISE = [(0.0, 0.0), (0.05, 0.02)]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("noise", NOISE)
@pytest.mark.parametrize("kind", ["binary", "continuous"])
@pytest.mark.parametrize("lr_fan_in", [4, 0])
def test_fixed_point_loss_and_gradient_match_autograd(kind, noise, bias, lr_fan_in):
    path, a0 = _trainer(bias, lr_fan_in, objective="fixed-point")
    x = _patterns(kind)
    valid = valid_mask(COUNTS, T, P)
    ref, grad = _autograd(path, a0, x, valid, kind, noise, 1, False)
    mine, my_grad = fixed_point_loss_grad(path, a0, x, valid, torch.Generator().manual_seed(5),
                                          noise)
    torch.testing.assert_close(mine, ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(my_grad, grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("recall_loss,tau", [("mse", 1.0), ("logistic", 1.0), ("mse", 4.0)])
@pytest.mark.parametrize("straight_through", [False, True])
@pytest.mark.parametrize("kind", ["binary", "continuous"])
@pytest.mark.parametrize("noise", NOISE)
@pytest.mark.parametrize("bias", [True, False])
def test_basin_loss_and_gradient_match_autograd(kind, straight_through, noise, bias,
                                                recall_loss, tau):
    path, a0 = _trainer(bias, recall_loss=recall_loss, finetune_temperature=tau)
    x = _patterns(kind)
    valid = valid_mask(COUNTS, T, P)
    ref, grad = _autograd(path, a0, x, valid, kind, noise, 4, straight_through)
    mine, my_grad = path.basin_loss_grad(a0, x, valid, kind, torch.Generator().manual_seed(5),
                                         noise, 4, late_weights(path.opts, 4), straight_through)
    torch.testing.assert_close(mine, ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(my_grad, grad, rtol=1e-4, atol=1e-6)


def _bounds(bias: bool = True):
    """12 -> 5 -> 12 intervals ``[-0.4, 0.4]`` with one pinned weight in the first layer."""
    lo0, hi0 = -0.4 * torch.ones(5, N + bias), 0.4 * torch.ones(5, N + bias)
    lo0[1, 2] = hi0[1, 2] = 0.1
    return [(lo0, hi0), (-0.4 * torch.ones(N, 5 + bias), 0.4 * torch.ones(N, 5 + bias))]


@pytest.mark.parametrize("objective,optimizer,noise", [
    ("fixed-point", "adam", 0.0), ("fixed-point", "rmsprop", 0.0), ("fixed-point", "adam", 0.05),
    ("basin", "adam", 0.0), ("basin", "rmsprop", 0.05)])
@pytest.mark.parametrize("kind", ["binary", "continuous"])
@pytest.mark.parametrize("lr_fan_in,bias", [(8, True), (4, False)])  # 4: hidden scale != 1
def test_fast_training_equals_autograd_training(objective, optimizer, noise, kind, lr_fan_in,
                                                bias):
    # with noise, a network stopping early would change the other networks' noise draws on
    # the fast path (it leaves the batch), so the basin criterion is kept from firing there
    options = dict(objective=objective, optimizer=optimizer, stop="loss", max_steps=7, lr=3e-2,
                   lr_fan_in=lr_fan_in, bias=bias, cue_copies=2, unroll=3, finetune_steps=4,
                   window=100 if noise else 2, seed=3, noise_injection=noise > 0)
    problem = Problem.of(_patterns(kind), _bounds(bias), bias=bias, counts=COUNTS, kind=kind,
                         noise=(noise, noise / 2))
    fast = MultilayerTrainer(**options).fit(problem)
    slow = fit_multilayer_autograd(MultilayerTrainer(**options), problem)
    for mine, theirs in zip(fast.weights + fast.biases, slow.weights + slow.biases, strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-5)
    assert torch.equal(fast.steps, slow.steps)
    pinned = fast.weights[0][:, 1, 2]  # never moved (up to the rounding of its layer's scale)
    torch.testing.assert_close(pinned, torch.full_like(pinned, 0.1))


def test_stable_stop_ends_early_and_reports_the_returned_weights():
    x = _patterns("binary")
    trainer = MultilayerTrainer(objective="fixed-point", max_steps=4000, seed=2)
    problem = Problem.of(x, _bounds(), counts=COUNTS)
    res = trainer.fit(problem)
    assert (res.steps < 4000).all() and (res.steps % trainer.stable_window == 0).all()
    assert len(set(res.steps.tolist())) > 1  # networks left the batch at different checks
    # leaving the batch (and trimming its padding rows) does not change the others' training:
    # each network equals the same batch run to exactly its step count
    for t, steps in enumerate(res.steps.tolist()):
        ref = MultilayerTrainer(objective="fixed-point", stop="loss", max_steps=steps,
                                seed=2).fit(problem)
        for mine, theirs in zip(res.weights + res.biases, ref.weights + ref.biases,
                                strict=True):
            torch.testing.assert_close(mine[t], theirs[t], rtol=1e-4, atol=1e-5)
    assert res.fixed_points.all()
    # the reported loss is the loss of the returned weights
    flat = torch.cat([torch.cat([w, b[:, :, None]], dim=2).reshape(T, -1)
                      for w, b in zip(res.weights, res.biases, strict=True)], dim=1)
    path, _, _ = MultilayerFit.prepare(trainer.resolved(2), problem.bounds, T, N)
    ref = _oracle(path, flat / path.scale, x, valid_mask(COUNTS, T, P), "binary", None,
                  (0.0, 0.0), 1, False)
    torch.testing.assert_close(res.loss, ref, rtol=1e-4, atol=1e-9)
    # with the paper's rule the same networks run to the cap (the loss stays above 1e-8)
    capped = MultilayerTrainer(objective="fixed-point", stop="loss", max_steps=300,
                               seed=2).fit(problem)
    assert (capped.steps == 300).all() and not capped.converged.any()


def test_defaults_depend_on_the_objective_and_explicit_options_win():
    from xbarmem.learning.adaptive import RECIPE_OPTIONS

    basin = MultilayerTrainer().options(2, "continuous")
    fixed = MultilayerTrainer(objective="fixed-point").options()
    for key, value in OBJECTIVE_DEFAULTS["basin"].items():
        assert basin[key] == value
    binary = MultilayerTrainer().options(2, "binary")  # the basin defaults, for binary patterns
    expected = {**OBJECTIVE_DEFAULTS["basin"], **RECIPE_OPTIONS[("default", "multilayer",
                                                                   "binary")]}
    assert {key: binary[key] for key in expected} == expected
    for key, value in OBJECTIVE_DEFAULTS["fixed-point"].items():
        assert fixed[key] == value
    mine = MultilayerTrainer(objective="fixed-point", lr=5e-3, optimizer="adam", init_scale=1.0,
                             stable_tol=0.08).resolved(2)
    assert (mine.lr, mine.optimizer, mine.init_scale, mine.stable_tol) == (5e-3, "adam", 1.0,
                                                                           0.08)
    assert MultilayerTrainer(objective="fixed-point").lr is None  # resolved when fitting
    assert MultilayerTrainer(**fixed).options() == fixed  # round trip through model metadata


@pytest.mark.parametrize("bias", [True, False])
def test_basin_steps_reusing_a_batchs_buffers_equal_a_fresh_paths(bias):
    """A path keeps a batch's constants and buffers between steps (``batch.per_batch``): a
    sequence of calls on one path -- the same batch with other parameters (buffers reused with
    the last call's content), another unroll, a batch with fewer networks (new tensors), the
    first batch again -- gives what a fresh path gives for each call, bit for bit."""
    x, valid = _patterns("binary"), valid_mask(COUNTS, T, P)
    x2, valid2 = x[:2].clone(), valid[:2].clone()
    path, a0 = _trainer(bias)
    a1 = 0.7 * torch.randn(a0.shape, generator=torch.Generator().manual_seed(2))
    calls = [(x, valid, 4, False, a0), (x, valid, 4, True, a1), (x, valid, 2, True, a0),
             (x2, valid2, 3, False, a1), (x2, valid2, 3, False, a0), (x, valid, 4, True, a0)]
    kept = []
    for xs, vs, unroll, straight, a in calls:
        late = late_weights(path.opts, unroll)
        args = [(xs, vs, "binary", torch.Generator().manual_seed(5), (0.0, 0.0), unroll, late,
                 straight) for _ in range(2)]
        loss_kept, grad_kept = path.basin_loss_grad(a[:len(xs)], *args[0])
        kept.append(path._step_buffers[2])
        fresh, _ = _trainer(bias)
        loss_fresh, grad_fresh = fresh.basin_loss_grad(a[:len(xs)], *args[1])
        assert torch.equal(loss_kept, loss_fresh) and torch.equal(grad_kept, grad_fresh)
    assert kept[1] is kept[0] and kept[4] is kept[3]  # reused with the last step's content
    assert kept[2] is not kept[1] and kept[5] is not kept[0]  # other key or tensors: rebuilt


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("lr_fan_in", [0, 4, 10])
def test_basin_steps_reusing_weight_views_equal_a_fresh_paths(bias, lr_fan_in):
    """The weight views a path keeps for the optimised variable (``plain_views``, for layers
    without a scale: every layer with ``lr_fan_in = 0``, none with 4, some with 10) follow it
    when it changes in place between steps, and are made anew for another tensor: each call
    equals a fresh path's, bit for bit."""
    x, valid = _patterns("binary"), valid_mask(COUNTS, T, P)
    path, a = _trainer(bias, lr_fan_in=lr_fan_in)
    other = 0.7 * torch.randn(a.shape, generator=torch.Generator().manual_seed(3))
    late = late_weights(path.opts, 2)
    for step, params in enumerate([a, a, other, a]):
        if step == 1:
            a.mul_(-0.5).add_(0.1)  # the optimiser's in-place update
        args = [(x, valid, "binary", torch.Generator().manual_seed(step), (0.0, 0.0), 2, late,
                 False) for _ in range(2)]
        loss_kept, grad_kept = path.basin_loss_grad(params, *args[0])
        fresh, _ = _trainer(bias, lr_fan_in=lr_fan_in)
        loss_fresh, grad_fresh = fresh.basin_loss_grad(params.clone(), *args[1])
        assert torch.equal(loss_kept, loss_fresh) and torch.equal(grad_kept, grad_fresh)
    scaled = [s != 1.0 for s in path.layer_scale]
    assert path._plain_views[2][1].count(None) == sum(scaled)
    assert (0 < sum(scaled) < len(scaled)) == (lr_fan_in == 10)
