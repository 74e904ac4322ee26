"""Fast training paths of the hardware-adaptive trainer and batched recall evaluation.

The closed-form gradients must equal autograd through the oracle loss (``tests/oracles.py``), the
optimiser update must equal ``torch.optim``'s, ``stop="stable"`` must stop early without giving
up the stored fixed points. (Batched recall evaluation is tested in ``test_recall.py``.)
"""

import pytest
import torch
from oracles import field_single, loss

from xbarmem import load_mnist, load_preset, random_patterns, train
from xbarmem.errors import ConfigError
from xbarmem.learning import adaptive, single_fit
from xbarmem.learning.adaptive import AdaptiveTrainer
from xbarmem.learning.base import Problem, valid_mask, within_box
from xbarmem.learning.batch import per_batch
from xbarmem.learning.noise import flip_signs
from xbarmem.learning.objective import late_weights
from xbarmem.learning.objective import tanh as training_tanh
from xbarmem.learning.single_fit import SingleLayerFit
from xbarmem.memory.single import SingleLayerMemory

pytestmark = pytest.mark.usefixtures("one_thread")


def _continuous(t=3, p=6, n=12, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(t, p, n, generator=gen) * 2 - 1


@pytest.mark.parametrize("recall_loss,tau", [("mse", 1.0), ("logistic", 1.0), ("mse", 4.0),
                                             ("logistic", 4.0)])
@pytest.mark.parametrize("straight_through", [False, True])
@pytest.mark.parametrize("kind", ["binary", "continuous"])
@pytest.mark.parametrize("noise", [(0.0, 0.0), (0.05, 0.02)])
def test_basin_gradient_matches_autograd(kind, straight_through, noise, recall_loss, tau):
    x = _continuous()
    if kind == "binary":
        x = torch.where(x >= 0, 1.0, -1.0)
    trainer = AdaptiveTrainer(cue_copies=3, unroll=4, recall_loss=recall_loss,
                              finetune_temperature=tau).resolved()
    valid = valid_mask(torch.tensor([6, 3, 4]), 3, 6)
    a0 = 0.3 * torch.randn(3, 12, 13, generator=torch.Generator().manual_seed(1))
    a = a0.clone().requires_grad_(True)
    field = lambda p, s, nz, g: field_single(trainer, p, s, nz, g)  # noqa: E731
    ref = loss(trainer, field, a, x, valid, kind, torch.Generator().manual_seed(5), noise, 4,
               straight_through=straight_through)
    ref.sum().backward()
    mine, grad = SingleLayerFit(trainer).basin_loss_grad(
        a0, x, valid, kind, torch.Generator().manual_seed(5), noise, 4,
        late_weights(trainer, 4), straight_through)
    torch.testing.assert_close(mine, ref.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad, a.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("noise", [(0.0, 0.0), (0.05, 0.02)])
@pytest.mark.parametrize("straight_through", [False, True])
def test_basin_gradient_under_variation_matches_autograd(noise, straight_through):
    """Variation-aware training: the written-out gradient through weights perturbed by
    ``variation * max|W|`` (the max held constant) equals autograd's."""
    x = torch.where(_continuous() >= 0, 1.0, -1.0)
    trainer = AdaptiveTrainer(cue_copies=3, unroll=4, variation=0.2).resolved()
    valid = valid_mask(torch.tensor([6, 3, 4]), 3, 6)
    a0 = 0.3 * torch.randn(3, 12, 13, generator=torch.Generator().manual_seed(1))
    a = a0.clone().requires_grad_(True)
    field = lambda p, s, nz, g: field_single(trainer, p, s, nz, g)  # noqa: E731
    ref = loss(trainer, field, a, x, valid, "binary", torch.Generator().manual_seed(5), noise,
               4, straight_through=straight_through)
    ref.sum().backward()
    mine, grad = SingleLayerFit(trainer).basin_loss_grad(
        a0, x, valid, "binary", torch.Generator().manual_seed(5), noise, 4,
        late_weights(trainer, 4), straight_through)
    torch.testing.assert_close(mine, ref.detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad, a.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("recall_loss", ["mse", "logistic"])
@pytest.mark.parametrize("straight_through", [False, True])
def test_basin_gradient_without_the_loss_is_the_same(recall_loss, straight_through):
    """``want_loss=False`` (fine-tune steps nobody reads the loss of) skips the loss terms
    and returns None for it; the gradient and the random draws are unchanged."""
    x = torch.where(_continuous() >= 0, 1.0, -1.0)
    trainer = AdaptiveTrainer(cue_copies=3, unroll=3, recall_loss=recall_loss).resolved()
    valid = valid_mask(torch.tensor([6, 3, 4]), 3, 6)
    a0 = 0.3 * torch.randn(3, 12, 13, generator=torch.Generator().manual_seed(1))
    results = []
    for want in (True, False):
        gen = torch.Generator().manual_seed(5)
        results.append(SingleLayerFit(trainer).basin_loss_grad(
            a0, x, valid, "binary", gen, (0.0, 0.0), 3, late_weights(trainer, 3),
            straight_through, want_loss=want) + (torch.rand(1, generator=gen),))
    (loss, grad, after), (none, same, after2) = results
    assert loss.shape == (3,) and none is None
    assert torch.equal(grad, same) and torch.equal(after, after2)


@pytest.mark.parametrize("noise", [(0.0, 0.0), (0.05, 0.02)])
def test_basin_steps_reusing_a_batchs_buffers_equal_a_fresh_paths(noise):
    """A path keeps a batch's constants and buffers between steps (``batch.per_batch``): a
    sequence of calls on one path -- the same batch with other parameters (buffers reused with
    the last call's content), another unroll, a batch with fewer networks (new tensors), the
    first batch again -- gives what a fresh path gives for each call, bit for bit; with the
    same tensors and key the kept object is returned."""
    x = torch.where(_continuous() >= 0, 1.0, -1.0)
    valid = valid_mask(torch.tensor([6, 3, 4]), 3, 6)
    trainer = AdaptiveTrainer(cue_copies=3, unroll=4).resolved()
    a0 = 0.3 * torch.randn(3, 12, 13, generator=torch.Generator().manual_seed(1))
    a1 = 0.5 * torch.randn(3, 12, 13, generator=torch.Generator().manual_seed(2))
    path = SingleLayerFit(trainer)
    x2, valid2 = x[:2].clone(), valid[:2].clone()
    buffers = []
    for xs, vs, unroll, straight, a in [(x, valid, 4, False, a0), (x, valid, 4, True, a1),
                                        (x, valid, 2, True, a0), (x2, valid2, 3, False, a1),
                                        (x2, valid2, 3, False, a0), (x, valid, 4, True, a0)]:
        late = late_weights(trainer, unroll)
        args = [(xs, vs, "binary", torch.Generator().manual_seed(5), noise, unroll, late,
                 straight) for _ in range(2)]
        kept = path.basin_loss_grad(a[:len(xs)], *args[0])
        buffers.append(path._step_buffers[2])
        fresh = SingleLayerFit(trainer).basin_loss_grad(a[:len(xs)], *args[1])
        assert all(torch.equal(k, f) for k, f in zip(kept, fresh, strict=True))
    assert buffers[1] is buffers[0] and buffers[4] is buffers[3]  # reused, stale content
    assert buffers[2] is not buffers[1] and buffers[5] is not buffers[0]
    made = []
    first = per_batch(path, "_probe", (x, valid), (1,), lambda: made.append(1) or object())
    assert per_batch(path, "_probe", (x, valid), (1,), object) is first and made == [1]
    assert per_batch(path, "_probe", (x.clone(), valid), (1,), object) is not first
    assert per_batch(path, "_probe", (x, valid), (2,), object) is not first


@pytest.mark.parametrize("bias", [False, True])
def test_basin_steps_reusing_weight_views_equal_a_fresh_paths(bias):
    """The weight views a path keeps for the parameters ``a`` follow ``a`` when it changes in
    place between steps (the optimiser's update) and are made anew for another tensor: each
    call equals a fresh path's, bit for bit."""
    x = torch.where(_continuous() >= 0, 1.0, -1.0)
    valid = valid_mask(torch.tensor([6, 3, 4]), 3, 6)
    trainer = AdaptiveTrainer(cue_copies=3, unroll=3, bias=bias).resolved()
    cols = 12 + int(bias)
    a = 0.3 * torch.randn(3, 12, cols, generator=torch.Generator().manual_seed(1))
    other = 0.5 * torch.randn(3, 12, cols, generator=torch.Generator().manual_seed(2))
    path = SingleLayerFit(trainer)
    late = late_weights(trainer, 3)
    for step, params in enumerate([a, a, other, a]):
        if step == 1:
            a.mul_(-0.5).add_(0.1)  # the optimiser's in-place update
        args = [(x, valid, "binary", torch.Generator().manual_seed(step), (0.0, 0.0), 3, late,
                 False) for _ in range(2)]
        kept = path.basin_loss_grad(params, *args[0])
        fresh = SingleLayerFit(trainer).basin_loss_grad(params.clone(), *args[1])
        assert all(torch.equal(k, f) for k, f in zip(kept, fresh, strict=True))


def test_within_box_narrows_free_intervals_and_keeps_pinned_values():
    lo = torch.tensor([[[-2.0, -0.1, 0.7, 0.3, -float("inf")]]])
    hi = torch.tensor([[[2.0, 0.1, 0.9, 0.3, float("inf")]]])
    problem = Problem(patterns=torch.ones(1, 1, 1), bounds=((lo, hi),), w_max=((2.0,),))
    (new_lo, new_hi), = within_box(problem, 0.25).bounds  # box +-0.5
    torch.testing.assert_close(new_lo, torch.tensor([[[-0.5, -0.1, 0.7, 0.3, -0.5]]]))
    torch.testing.assert_close(new_hi, torch.tensor([[[0.5, 0.1, 0.7, 0.3, 0.5]]]))
    assert (new_lo <= new_hi).all()


def test_weight_bound_keeps_trained_weights_in_the_box_and_variation_is_seeded():
    x = load_mnist(side=5, n_patterns=4, seed=0)
    chip = load_preset("paper-sim")
    opts = dict(max_steps=30, finetune_steps=10, window=10)
    mem = train(x, chip=chip, weight_bound=0.05, **opts)
    (w, b), = mem.targets
    assert w.abs().max() <= 0.05 + 1e-7 and b.abs().max() <= 0.05 + 1e-7
    first = train(x, chip=chip, variation=0.2, **opts).targets[0][0]
    again = train(x, chip=chip, variation=0.2, **opts).targets[0][0]
    plain = train(x, chip=chip, **opts).targets[0][0]
    assert torch.equal(first, again) and not torch.equal(first, plain)
    with pytest.raises(ConfigError, match="variation"):
        AdaptiveTrainer(variation=-0.1)
    with pytest.raises(ConfigError, match="weight_bound"):
        AdaptiveTrainer(weight_bound=0.0)


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_fixed_point_fast_path_matches_autograd_and_torch_optim(optimizer):
    x = _continuous()
    lo = torch.full((3, 12, 13), -0.5)
    hi = torch.full((3, 12, 13), 0.5)
    lo[:, 3, 5] = hi[:, 3, 5] = 0.2  # one pinned weight per network
    counts = torch.tensor([6, 3, 4])
    trainer = AdaptiveTrainer(objective="fixed-point", stop="loss", max_steps=3,
                              optimizer=optimizer, lr=2e-2)
    fast = trainer.fit(Problem.of(x, [(lo, hi)], counts=counts, kind="continuous"))
    # reference: autograd through the oracle loss and torch.optim, projected after every step
    opts = trainer.resolved()
    lo_r, hi_r = SingleLayerFit(opts).bounds((lo, hi), 3, 12, 13, True)
    valid = valid_mask(counts, 3, 6)
    params = torch.clamp(torch.zeros(3, 12, 13), lo_r, hi_r).requires_grad_(True)
    opt = (torch.optim.Adam([params], lr=2e-2) if optimizer == "adam"
           else torch.optim.RMSprop([params], lr=2e-2))
    for _ in range(3):
        opt.zero_grad()
        loss(opts, lambda p, s, nz, g: field_single(opts, p, s, nz, g), params, x, valid,
             "continuous", None, (0.0, 0.0), 1, straight_through=False).sum().backward()
        opt.step()
        with torch.no_grad():
            params.copy_(torch.clamp(params, lo_r, hi_r))
    torch.testing.assert_close(fast.weights[0], params.detach()[:, :, :12], rtol=0, atol=1e-3)
    torch.testing.assert_close(fast.biases[0], params.detach()[:, :, 12], rtol=0, atol=1e-3)
    assert fast.steps.tolist() == [3, 3, 3] and not fast.converged.any()
    assert (fast.weights[0][:, 3, 5] == 0.2).all()


def test_stable_stop_keeps_fixed_points_and_stops_long_before_the_cap():
    pats = load_mnist(side=8, one_per_class=True)
    mem = SingleLayerMemory(64, load_preset("paper-sim").with_faults(0.3), fault_seed=2)
    (lo, hi), = mem.bounds()
    x = torch.tensor(pats.patterns)
    stable = AdaptiveTrainer(objective="fixed-point", max_steps=5000)
    res = stable.fit(Problem.of(x, [(lo, hi)]))
    assert res.converged.all() and int(res.steps[0]) < 1000
    assert res.fixed_points.all()
    paper = AdaptiveTrainer(objective="fixed-point", stop="loss", max_steps=300)
    res_loss = paper.fit(Problem.of(x, [(lo, hi)]))
    assert int(res_loss.steps[0]) == 300 and not res_loss.converged.any()  # loss > 1e-8


def test_bucketing_and_compaction_do_not_change_fixed_point_results():
    pool = torch.tensor(load_mnist(side=8, n_patterns=40).patterns)
    counts = torch.tensor([40, 2, 17, 5, 30, 3])
    x = pool[None].expand(6, -1, -1)
    mem = SingleLayerMemory(64, load_preset("paper-sim").with_faults(0.3), fault_seed=0)
    (lo, hi), = mem.bounds()
    runs = [AdaptiveTrainer(objective="fixed-point", max_steps=400, bucket=b).fit(
        Problem.of(x, [(lo, hi)], counts=counts)) for b in (True, False)]
    assert torch.equal(runs[0].steps, runs[1].steps)
    torch.testing.assert_close(runs[0].weights[0], runs[1].weights[0], rtol=0, atol=1e-4)
    sizes = torch.tensor([1, 1, 2, 7, 64, 64, 3, 120])
    groups = SingleLayerFit.groups(sizes, 64, 65)
    assert sorted(torch.cat(groups).tolist()) == list(range(8))
    for g in groups:  # groups are runs of the sorted sizes
        others = sizes[[i for i in range(8) if i not in g.tolist()]]
        assert not ((others > sizes[g].min()) & (others < sizes[g].max())).any()


def test_new_options_are_validated_and_saved():
    with pytest.raises(ConfigError, match="stop"):
        AdaptiveTrainer(stop="margin")
    with pytest.raises(ConfigError, match="stable_tol"):
        AdaptiveTrainer(stable_tol=0.0)
    with pytest.raises(ConfigError, match="stable_window"):
        AdaptiveTrainer(stable_window=0)
    options = AdaptiveTrainer(stop="loss", bucket=False).options()
    assert options["stop"] == "loss" and options["bucket"] is False
    assert AdaptiveTrainer(**options).options() == options


def test_large_single_layer_point_is_fast_and_bounded():
    x = torch.tensor(random_patterns(40, 512, seed=0).patterns)
    mem = SingleLayerMemory(512, load_preset("paper-sim").with_faults(0.5), fault_seed=0)
    (lo, hi), = mem.bounds()
    res = AdaptiveTrainer(objective="fixed-point", max_steps=3000).fit(Problem.of(x, [(lo, hi)]))
    assert res.converged.all() and int(res.steps[0]) <= 200
    assert res.fixed_points.all()


def _warm_start_inputs(t=2, p=12, n=48, seed=0):
    """Patterns (the second network padded) and bounds with pinned weights of a warm start."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.where(torch.rand(t, p, n, generator=gen) < 0.5, 1.0, -1.0)
    valid = (torch.arange(p)[None, :] < torch.tensor([[p], [p - 3]][:t])).float()
    pinned = torch.rand(t, n, n + 1, generator=gen) < 0.3
    lo = torch.where(pinned, torch.zeros(()), -torch.rand(t, n, n + 1, generator=gen))
    hi = torch.where(pinned, torch.zeros(()), torch.rand(t, n, n + 1, generator=gen))
    return x, valid, lo, hi


def test_warm_start_holds_no_tensor_of_n_squared_times_p(monkeypatch):
    """The closed-form warm start (fast recipe) builds each row's P x P Gram matrix a slice of
    rows at a time: one product of every row at once held N^2 x P float64 values (1.2 GB at
    N = 1024, P = 128), more than the Gram matrices' N x P^2 themselves."""
    from torch.profiler import ProfilerActivity, profile
    t, p, n = 1, 16, 256
    x, valid, lo, hi = _warm_start_inputs(t, p, n)
    monkeypatch.setattr(single_fit, "WARM_START_SLICE_BYTES", 2 ** 18)
    fit = SingleLayerFit(AdaptiveTrainer(recipe="fast").resolved(1, "binary"))
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fit.warm_start(x, valid, lo, hi)
    largest = max(e.cpu_memory_usage for e in prof.events())
    assert largest < n * n * p * 8 / 4, largest  # the Gram matrices: n * p * p * 8 = 0.5 MB


def test_warm_start_in_row_slices_is_the_one_shot_solution_to_the_bit():
    """Slicing the rows changes no value: each slice's Gram matrices and solutions equal those
    of one product and one solve over every row (the fast recipe trains as before)."""
    x, valid, lo, hi = _warm_start_inputs()
    u = torch.cat([x * valid[:, :, None], valid[:, :, None]], dim=2).double()
    free = (lo != hi).double()
    whole = torch.einsum("tpj,tij,tqj->tipq", u, free, u)
    rhs = torch.rand(x.shape[0], x.shape[2], x.shape[1], dtype=torch.float64)
    reg = whole + torch.eye(x.shape[1], dtype=torch.float64)
    for size in (8 * 12 * 49, 3 * 8 * 12 * 49, 2 ** 30):  # one row, three rows, every row
        single_fit.WARM_START_SLICE_BYTES, kept = size, single_fit.WARM_START_SLICE_BYTES
        try:
            assert torch.equal(single_fit.row_grams(u, free), whole)
            assert torch.equal(single_fit.row_solve(reg, rhs),
                               torch.linalg.solve(reg, rhs.unsqueeze(-1)).squeeze(-1))
        finally:
            single_fit.WARM_START_SLICE_BYTES = kept


def test_memory_limit_counts_the_warm_starts_gram_matrices(monkeypatch):
    """Training is refused before its first step when the warm start's Gram matrices (N x P^2
    float64 per network) would pass the memory limit: the estimate counted cues and weights
    only, so the fast recipe at N = 1024, P = 2048 asked for 32 GB under a 2 GB limit."""
    from xbarmem.limits import TooLargeError
    x = random_patterns(64, 64, seed=0)
    monkeypatch.setenv("XBARMEM_MAX_BYTES", "8M")  # cues and weights: 5-6 MB either recipe
    with pytest.raises(TooLargeError, match="from a closed-form warm start would need about"):
        train(x, chip="ideal", recipe="fast", max_steps=1, finetune_steps=1)
    train(x, chip="ideal", max_steps=1, finetune_steps=1, flip_steps=1)  # no warm start: fits


def test_options_added_later_are_listed_only_when_set():
    """Trial keys hash the resolved options: options added after stores were written must not
    appear at their defaults, or every earlier adaptive trial would be recomputed."""
    plain = AdaptiveTrainer().options()
    assert "variation" not in plain and "weight_bound" not in plain and "products" not in plain
    assert AdaptiveTrainer(variation=0.3).options()["variation"] == 0.3
    assert AdaptiveTrainer(**AdaptiveTrainer(weight_bound=0.2).options()).weight_bound == 0.2


def test_bf16_products_are_refused_where_unsupported(monkeypatch):
    monkeypatch.setattr(adaptive, "bf16_products_supported", lambda: False)
    with pytest.raises(ConfigError, match="products bf16 needs oneDNN"):
        AdaptiveTrainer(products="bf16")
    with pytest.raises(ConfigError, match="products"):
        AdaptiveTrainer(products="fp16")
    assert AdaptiveTrainer(products="float32").options() == AdaptiveTrainer().options()


def test_product_precision_is_set_inside_and_restored_after_an_error():
    setting = torch.backends.mkldnn.matmul
    before = setting.fp32_precision
    with pytest.raises(KeyError), adaptive.product_precision("bf16"):
        assert setting.fp32_precision == "bf16"
        raise KeyError("inside")
    assert setting.fp32_precision == before
    with adaptive.product_precision("float32"):
        assert setting.fp32_precision == before


@pytest.mark.skipif(not adaptive.bf16_products_supported(), reason="no bfloat16 products here")
@pytest.mark.parametrize("arch", ["single", "multilayer"])
def test_bf16_products_train_close_to_float32_and_leave_torch_as_it_was(arch):
    """bf16 products change the trained weights only slightly (and at all where the CPU has
    bfloat16 instructions: elsewhere oneDNN may keep float32), and torch's own setting is the
    same after training as before."""
    x = load_mnist(side=12, kind="continuous", n_patterns=40)
    before = torch.backends.mkldnn.matmul.fp32_precision
    common = dict(chip="paper-sim", arch=arch, seed=0, max_steps=40, cue_copies=4)
    if arch == "multilayer":
        common["hidden"] = 144
    full = train(x, **common)
    half = train(x, products="bf16", **common)
    assert torch.backends.mkldnn.matmul.fp32_precision == before
    assert half.info["rule_options"]["products"] == "bf16"
    assert "products" not in full.info["rule_options"]
    for a, b in zip(full.weights, half.weights, strict=True):
        assert float((a - b).abs().max()) < 0.05 * float(a.abs().max())
    if _bf16_instructions():
        assert any(not torch.equal(a, b) for a, b in zip(full.weights, half.weights,
                                                         strict=True))


def _bf16_instructions() -> bool:
    """Whether the CPU lists bfloat16 instructions (Linux: AMX or AVX512-BF16)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


@pytest.mark.parametrize("rate", [0.0, 0.05, 0.1, 0.5, 1.0])
def test_cue_flips_are_independent_bits_at_the_asked_rate(rate):
    """flip_signs: +-1 of the asked shape; over 400 draws of 3 x 40 x 16 bits the flip
    frequency is the rate within 4 binomial standard deviations, every position flips about
    as often, neighbouring bits are uncorrelated, and a seed repeats its draw."""
    gen = torch.Generator().manual_seed(3)
    draws = torch.stack([flip_signs((3, 40, 16), rate, gen) for _ in range(400)])
    assert draws.shape == (400, 3, 40, 16) and set(draws.unique().tolist()) <= {-1.0, 1.0}
    flips = (draws < 0).double()
    sd = (rate * (1 - rate) / flips.numel()) ** 0.5
    assert abs(float(flips.mean()) - rate) <= 4 * sd + 1e-12
    per_position = flips.mean(dim=0)
    assert float((per_position - rate).abs().max()) <= 5 * (rate * (1 - rate) / 400) ** 0.5 + 1e-12
    if 0 < rate < 1:
        pairs = flips.reshape(400, -1)
        corr = torch.corrcoef(torch.stack([pairs[:, :-1].reshape(-1), pairs[:, 1:].reshape(-1)]))
        assert abs(float(corr[0, 1])) < 0.02
    again = flip_signs((3, 40, 16), rate, torch.Generator().manual_seed(3))
    assert torch.equal(again, draws[0])


def test_training_tanh_is_torch_tanh_to_within_3e_7():
    """The training activation (2 sigmoid(2x) - 1) against torch.tanh, over the float range
    that matters and its ends, into a fresh tensor and in place."""
    x = torch.cat([torch.linspace(-12, 12, 200001), torch.tensor([-1e30, -80.0, 0.0, 80.0, 1e30])])
    torch.testing.assert_close(training_tanh(x), torch.tanh(x), rtol=0, atol=3e-7)
    y = x.clone()
    assert training_tanh(y, out=y) is y
    torch.testing.assert_close(y, torch.tanh(x), rtol=0, atol=3e-7)
