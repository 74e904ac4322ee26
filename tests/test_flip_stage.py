"""The flip-averaged stage (``xbarmem.learning.flip_stage``): its written-out gradient, the
normal model of the field it rests on, what the stage does to the weights and where it may be
asked for."""

import pytest
import torch

from xbarmem import AdaptiveTrainer, load_preset, random_patterns, train
from xbarmem.errors import ConfigError
from xbarmem.learning.flip_stage import flip_loss_grad, flip_stage, row_weights
from xbarmem.learning.single_fit import SingleLayerFit
from xbarmem.learning.stages import StepReporter
from xbarmem.memory.single import SingleLayerMemory

pytestmark = pytest.mark.usefixtures("one_thread")


def _patterns(t, p, n, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (t, p, n), generator=gen).double() * 2 - 1


def _autograd_loss(a, x, valid, rho, extra, bias):
    """The stage's loss written the plain way: the mean over real rows and neurons of
    -log sigmoid(1.702 z), z = x_i E[h_i] / std(h_i) under independent flips."""
    n = x.shape[2]
    w = a[:, :, :n]
    b = a[:, :, n] if bias else torch.zeros(a.shape[:2], dtype=a.dtype)
    mean = x * ((1 - 2 * rho) * (x @ w.transpose(1, 2)) + b[:, None, :])
    std = (4 * rho * (1 - rho) * (w ** 2).sum(dim=2)[:, None, :] + extra + 1e-12).sqrt()
    per = torch.nn.functional.softplus(-1.702 * mean / std) * valid[:, :, None]
    return per.sum(dim=(1, 2)) / (n * valid.sum(dim=1))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("extra", [0.0, 0.3, "per network"])
@pytest.mark.parametrize("rho", [0.02, 0.1, 0.3])
def test_gradient_matches_autograd(bias, extra, rho):
    t, p, n = 3, 7, 10
    x = _patterns(t, p, n)
    valid = torch.ones(t, p, dtype=torch.bool)
    valid[1, 4:] = False  # padding rows
    x[1, 4:] = 0.0
    if extra == "per network":
        extra = torch.tensor([0.0, 0.2, 1.5], dtype=torch.float64)[:, None, None]
    gen = torch.Generator().manual_seed(1)
    a = (0.4 * torch.randn(t, n, n + int(bias), generator=gen, dtype=torch.float64))
    a.requires_grad_(True)
    weight = row_weights(valid, torch.float64) / n
    loss, grad = flip_loss_grad(a.detach(), x, weight, rho, extra, bias)
    expected = _autograd_loss(a, x, valid, rho, extra, bias)
    expected.sum().backward()
    torch.testing.assert_close(loss, expected.detach(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(grad, a.grad, rtol=1e-10, atol=1e-13)
    none, same = flip_loss_grad(a.detach(), x, weight, rho, extra, bias, want_loss=False)
    assert none is None and torch.equal(same, grad)


def test_the_normal_model_predicts_the_one_step_error_of_sampled_cues():
    """The probability a bit is wrong after one synchronous update, ``Phi(-z)``, against the
    rate measured over 4000 sampled cues per pattern (10% flips, N = 64): within 0.006 overall
    and per pattern within 0.03."""
    n, p, rho = 64, 12, 0.1
    x = _patterns(1, p, n, seed=2)[0].float()
    gen = torch.Generator().manual_seed(3)
    w = (x.T @ x) / n + 0.05 * torch.randn(n, n, generator=gen)
    w.fill_diagonal_(0.0)
    b = 0.1 * torch.randn(n, generator=gen)
    mean = x * ((1 - 2 * rho) * (x @ w.T) + b)
    std = (4 * rho * (1 - rho) * (w ** 2).sum(dim=1)).sqrt()
    predicted = torch.special.ndtr(-mean / std)  # (P, N)
    flips = torch.where(torch.rand(4000, p, n, generator=gen) < rho, -1.0, 1.0)
    cues = x * flips
    wrong = (torch.sign(cues @ w.T + b) != x).float().mean(dim=0)
    assert abs(float(predicted.mean() - wrong.mean())) < 0.006
    assert float((predicted.mean(dim=1) - wrong.mean(dim=1)).abs().max()) < 0.03


def test_stage_lowers_the_sampled_one_step_error_keeps_bounds_and_draws_nothing():
    """Twenty steps from zero, 8 patterns of N = 48, on chips with 30% faulty weights: pinned
    weights keep their values, every weight stays in its interval, the one-step error over
    sampled cues (10% flips) is below 0.7 times that of the Hebbian weights on the same free
    devices, and the rule's seed changes nothing (the stage draws nothing)."""
    n = 48
    x = torch.tensor(random_patterns(8, n, seed=4).patterns)
    chip = load_preset("paper-sim").with_faults(0.3)
    gen = torch.Generator().manual_seed(5)
    cues = x * torch.where(torch.rand(200, *x.shape, generator=gen) < 0.1, -1.0, 1.0)
    for fault_seed in (0, 1):
        bounds = SingleLayerMemory(n, chip, fault_seed=fault_seed).bounds()[0]
        results = []
        for seed in (0, 9):
            opts = AdaptiveTrainer(flip_steps=20, lr=0.05, seed=seed).resolved(1, "binary")
            fit = SingleLayerFit(opts)
            lo, hi = fit.bounds((bounds[0][None], bounds[1][None]), 1, n, n + 1, True)
            start = torch.clamp(torch.zeros(1, n, n + 1), lo, hi)
            a, loss = flip_stage(opts, start, x[None], torch.ones(1, 8, dtype=torch.bool),
                                 lo, hi, (0.0, 0.0), StepReporter())
            results.append(a)
        a = results[0]
        assert torch.equal(a, results[1]) and torch.isfinite(loss).all()
        assert bool(((a >= lo) & (a <= hi)).all())
        pinned = lo == hi
        assert pinned.any() and torch.equal(a[pinned], lo[pinned])
        w, b = a[0, :, :n], a[0, :, n]
        err = float((torch.sign(cues @ w.T + b) != x).float().mean())
        hebb = (x.T @ x) * (~pinned[0, :, :n]).float()
        hebb_err = float((torch.sign(cues @ hebb.T) != x).float().mean())
        assert err < 0.7 * hebb_err  # measured 0.54 and 0.63


def test_stage_is_in_the_default_recipe_only_and_its_steps_are_counted():
    """Listed only when set (the fast recipe's trial keys stay as they were); the default recipe
    sets it, within +-0.25 w_max; its steps count."""
    assert "flip_steps" not in AdaptiveTrainer(recipe="fast").options(1, "binary")
    default = AdaptiveTrainer().options(1, "binary")
    assert (default["flip_steps"], default["flip_bound"]) == (100, 0.25)
    assert AdaptiveTrainer(flip_steps=0).options(1, "binary")["flip_steps"] == 0
    x = random_patterns(8, 32, seed=0)
    plain = train(x, chip="paper-sim", max_steps=5, finetune_steps=3, flip_steps=0)
    staged = train(x, chip="paper-sim", max_steps=5, finetune_steps=3, flip_steps=7)
    assert staged.info["steps"] == plain.info["steps"] + 7
    seen = []
    train(x, chip="paper-sim", max_steps=5, finetune_steps=3, flip_steps=20,
          progress=lambda step, loss: seen.append(step))
    assert seen == sorted(seen) and seen[-1] == 28


@pytest.mark.parametrize("where", [
    dict(arch="multilayer", hidden=16),
    dict(kind="continuous"),
    dict(objective="fixed-point"),
])
@pytest.mark.parametrize("option", [dict(flip_steps=5), dict(flip_bound=0.3)])
def test_stage_is_refused_where_it_does_not_apply(where, option):
    x = random_patterns(4, 16, seed=0)
    patterns = torch.tensor(x.patterns) * (0.5 if where.get("kind") else 1.0)
    with pytest.raises(ConfigError, match=next(iter(option))):
        train(patterns, chip="paper-sim", max_steps=2, **option, **where)
    train(patterns, chip="paper-sim", max_steps=2, finetune_steps=1, flip_steps=0,
          flip_bound=0, **where)  # 0 = off: accepted everywhere


def test_option_is_validated():
    with pytest.raises(ConfigError, match="flip_steps"):
        AdaptiveTrainer(flip_steps=-1)


def test_chip_noise_widens_the_field_and_changes_the_solution():
    """With noise injection the chip's write and read noise add to the field's variance: the
    same weights score a higher loss, and the stage ends elsewhere."""
    n, p = 32, 6
    x = _patterns(1, p, n, seed=7).float()
    valid = torch.ones(1, p, dtype=torch.bool)
    hebb = torch.cat([x[0].T @ x[0] / n, torch.zeros(n, 1)], dim=1)[None]
    weight = row_weights(valid) / n
    quiet, _ = flip_loss_grad(hebb, x, weight, 0.1, 0.0, True)
    noisy, _ = flip_loss_grad(hebb, x, weight, 0.1, 0.05 ** 2 * n + 0.02 ** 2 * (n + 1), True)
    assert float(noisy[0]) > float(quiet[0])
    opts = AdaptiveTrainer(flip_steps=30, lr=0.05, noise_injection=True).resolved(1, "binary")
    lo, hi = torch.full_like(hebb, -1.0), torch.full_like(hebb, 1.0)
    ends = [flip_stage(opts, hebb, x, valid, lo, hi, noise, StepReporter())[0]
            for noise in ((0.0, 0.0), (0.3, 0.05))]
    assert torch.isfinite(ends[1]).all() and not torch.allclose(ends[0], ends[1], atol=1e-3)


@pytest.mark.parametrize("where, line", [
    ('arch = "multilayer"\nhidden = 16', "single-layer memories"),
    ('kind = "continuous"', "binary patterns"),
])
def test_sweep_and_train_refuse_the_stage_before_any_work(run_cli, tmp_path, where, line):
    """Where the stage does not apply, a sweep's dry run and `train` refuse it in one line
    with exit 2 and write nothing."""
    sweep = tmp_path / "s.toml"
    sweep.write_text('[sweep]\nname = "s"\ntrial = "evaluate"\nseeds = 1\n\n[base]\n'
                     'data = "digits"\nn_neurons = 64\npatterns = 4\nprobes = 2\n'
                     f'rule = "adaptive"\n{where}\n\n[grid]\n'
                     'rule_options.adaptive.flip_steps = [0, 5]\n')
    store = tmp_path / "r.sqlite"
    code, out, err = run_cli("sweep", sweep, "--dry-run", "--store", store)
    assert code == 2 and "flip_steps" in err and line in err
    assert len(err.strip().splitlines()) == 1 and not store.exists()
    options = ["--arch", "multilayer", "--hidden", "16"] if "multilayer" in where else [
        "--kind", "continuous"]
    model = tmp_path / "m.safetensors"
    code, out, err = run_cli("train", "--data", "digits", "--patterns", "4", *options,
                             "--rule-option", "flip_steps=5", "-o", model)
    assert code == 2 and "flip_steps" in err and len(err.strip().splitlines()) == 1
    assert not model.exists()


def test_flip_bound_keeps_only_the_stage_in_its_box(monkeypatch):
    """With ``flip_bound`` the stage works inside +-flip_bound * w_max (pinned weights, here
    the stuck devices' and the diagonal, keep their values), and the stages after it get the
    chip's full intervals back."""
    import xbarmem.learning.single_fit as single_fit

    seen = {}
    real_stage, real_two = single_fit.flip_stage, single_fit.two_stage

    def stage(opts, params, x, valid, lo, hi, *rest):
        seen["stage"] = (params, lo, hi)
        out = real_stage(opts, params, x, valid, lo, hi, *rest)
        seen["after"] = out[0]
        return out

    def two(fit, start, xg, vg, lo, hi, *rest):
        seen["two"] = (lo, hi)
        return real_two(fit, start, xg, vg, lo, hi, *rest)

    monkeypatch.setattr(single_fit, "flip_stage", stage)
    monkeypatch.setattr(single_fit, "two_stage", two)
    chip = load_preset("ideal").with_faults(0.5).with_fault_model("device")
    x = random_patterns(8, 24, seed=3)
    memory = train(x, chip=chip, fault_seed=2, flip_steps=30, flip_bound=0.2, max_steps=3,
                   finetune_steps=2)
    box = 0.2 * memory.layers[0].w_max
    start, lo, hi = seen["stage"]
    full_lo, full_hi = seen["two"]
    pinned = full_lo == full_hi
    assert pinned.any() and torch.equal(lo[pinned], full_lo[pinned])
    assert torch.equal(hi[pinned], full_hi[pinned])
    free = ~pinned & (full_lo <= -box) & (full_hi >= box)
    assert free.any() and bool((lo[free] == -box).all() and (hi[free] == box).all())
    assert bool((lo >= full_lo).all() and (hi <= full_hi).all() and (lo <= hi).all())
    assert bool(((seen["after"] >= lo) & (seen["after"] <= hi)).all())
    assert bool(((start >= lo) & (start <= hi)).all())
    assert (full_hi - full_lo).max() > 2 * box  # the later stages are not boxed


def test_flip_bound_is_listed_when_set_and_validated():
    fast = AdaptiveTrainer(recipe="fast", flip_steps=5)
    assert "flip_bound" not in fast.options(1, "binary")
    assert fast.replace(flip_bound=0.3).options(1, "binary")["flip_bound"] == 0.3
    with pytest.raises(ConfigError, match="flip_bound"):
        AdaptiveTrainer(flip_bound=-0.1)


def test_flip_bound_zero_leaves_the_stage_the_chips_bounds():
    """0 = no box, as with a box wider than every interval (the chip's weight range is
    +-w_max); the default recipe's 0.25 changes the result."""
    x = random_patterns(8, 32, seed=1)
    chip = load_preset("ideal").with_faults(0.5)
    common = dict(chip=chip, fault_seed=2, flip_steps=40, max_steps=3, finetune_steps=2)
    off = train(x, flip_bound=0, **common).targets[0][0]
    assert torch.equal(off, train(x, flip_bound=1.0, **common).targets[0][0])
    assert not torch.equal(off, train(x, **common).targets[0][0])
