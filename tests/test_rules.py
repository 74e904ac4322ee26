"""Classic rules and the hardware-adaptive trainer."""

import numpy as np
import pytest
import torch

from xbarmem.data.builtin import load_mnist, random_patterns
from xbarmem.errors import ArgumentError, ConfigError
from xbarmem.evaluation.evaluate import Protocol, compare_rules, evaluate_memory
from xbarmem.hardware.chip import load_preset
from xbarmem.hardware.faults import FaultMap
from xbarmem.learning.adaptive import AdaptiveTrainer
from xbarmem.learning.base import Problem
from xbarmem.learning.classic import (
    Hebb,
    PseudoInverse,
    Storkey,
    StorkeyVariant,
    get_rule,
    rule_names,
)
from xbarmem.learning.fit import fit_memories, train
from xbarmem.memory.single import SingleLayerMemory


@pytest.fixture(scope="module")
def rand_x():
    return torch.tensor(random_patterns(6, 32, seed=3).patterns)


def _scaled(w):
    w = w.clone()
    w.fill_diagonal_(0)
    return w / w.abs().max()


def test_hebb_equals_closed_form(rand_x):
    w, b = Hebb().ideal(rand_x)
    torch.testing.assert_close(w, _scaled(rand_x.T @ rand_x / 32).float())
    assert (b == 0).all() and (torch.diagonal(w) == 0).all() and w.abs().max() == 1


def test_pinv_makes_stored_patterns_fixed_points(rand_x):
    w, _ = PseudoInverse().ideal(rand_x)
    h = rand_x @ w.T
    assert (h * rand_x > 0).all()


def test_storkey_matches_elementwise_definition(rand_x):
    x = rand_x.double()
    n = x.shape[1]
    w = torch.zeros(n, n, dtype=torch.float64)
    for xi in x:
        new = w.clone()
        for i in range(n):
            for j in range(n):
                h_ij = sum(w[i, k] * xi[k] for k in range(n) if k not in (i, j))
                h_ji = sum(w[j, k] * xi[k] for k in range(n) if k not in (i, j))
                new[i, j] += (xi[i] * xi[j] - xi[i] * h_ji - h_ij * xi[j]) / n
        new.fill_diagonal_(0)
        w = new
    torch.testing.assert_close(Storkey().ideal(rand_x[:, :])[0], _scaled(w).float(), atol=1e-5,
                               rtol=1e-5)


def test_storkey_variant_is_residual_outer_product(rand_x):
    x = rand_x.double()
    w = torch.zeros(32, 32, dtype=torch.float64)
    w_self = torch.zeros(32, 32, dtype=torch.float64)
    for xi in x:
        e = xi - w @ xi  # the network's field: no self-connections
        w += torch.outer(e, e) / 32
        w.fill_diagonal_(0)
        e_self = xi - w_self @ xi
        w_self += torch.outer(e_self, e_self) / 32
    torch.testing.assert_close(StorkeyVariant().ideal(rand_x)[0], _scaled(w).float())
    torch.testing.assert_close(get_rule("storkey-variant", self_field=True).ideal(rand_x)[0],
                               _scaled(w_self).float())
    assert not torch.allclose(_scaled(w), _scaled(w_self))


def test_perceptron_reaches_its_margin(rand_x):
    rule = get_rule("perceptron", margin=1.0)
    w, _ = rule.ideal(rand_x)
    stab = rand_x * (rand_x @ w.T) / w.norm(dim=1)[None, :]
    assert stab.min() >= 1.0 - 1e-4


def _normalised_stability(x, w):
    return x * (x @ w.T) / (w.norm(dim=1)[None, :] * x.norm(dim=1, keepdim=True)
                            / x.shape[1] ** 0.5)


@pytest.mark.parametrize(("margin", "epochs", "reached"), [
    (1.0, 2000, True), (4.0, 3, False), (-0.5, 0, True), (0.1, 0, False)])
def test_perceptron_converged_says_whether_it_reached_its_margin(rand_x, margin, epochs,
                                                                 reached):
    """``converged`` was True whatever the perceptron did: a run stopped by ``max_epochs``
    before every stability reached the margin is not converged (checked after the last sweep,
    and on Hebb's start with ``max_epochs=0``)."""
    rule = get_rule("perceptron", margin=margin, max_epochs=epochs)
    w, _ = rule.ideal(rand_x)
    assert bool((_normalised_stability(rand_x, w) >= margin - 1e-4).all()) is reached
    assert rule.fit(Problem.of(rand_x)).converged.tolist() == [reached]
    assert train(rand_x, chip="ideal", rule="perceptron", margin=margin,
                 max_epochs=epochs).info["converged"] is reached


def test_get_rule_errors():
    assert rule_names()[0] == "adaptive"
    with pytest.raises(ConfigError, match="unknown rule 'oja'"):
        get_rule("oja")
    with pytest.raises(ArgumentError, match=r"unknown keyword argument 'margin' \(not an option "
                                            r"of rule 'hebb'\)"):
        get_rule("hebb", margin=2)
    with pytest.raises(ConfigError, match="bad option for rule 'perceptron'"):
        get_rule("perceptron", max_epochs=-1)
    with pytest.raises(ConfigError, match="objective"):
        AdaptiveTrainer(objective="energy")


# ------------------------------------------------------------------ hardware-adaptive
def test_adaptive_never_moves_stuck_weights_and_respects_intervals():
    spec = load_preset("ideal").with_faults(0.4)
    x = torch.tensor(load_mnist(side=8, n_patterns=6).patterns)
    mems = [SingleLayerMemory(64, spec, fault_seed=s) for s in range(2)]
    fit_memories(AdaptiveTrainer(max_steps=150, seed=0), x, mems)
    for m in mems:
        (lo, hi), = m.bounds()
        a = torch.cat([m.target_weights, m.target_bias[:, None]], dim=1)
        assert (a >= lo - 1e-6).all() and (a <= hi + 1e-6).all()
        pinned = lo == hi
        assert pinned.any()
        torch.testing.assert_close(a[pinned], lo[pinned])
        diag = torch.diagonal(m.target_weights)
        # no self-connection: the diagonal holds the realisable value closest to 0
        torch.testing.assert_close(diag, torch.clamp(torch.zeros(64), torch.diagonal(lo[:, :64]),
                                                     torch.diagonal(hi[:, :64])))


@pytest.mark.parametrize("objective", ["fixed-point", "basin"])
def test_adaptive_stores_fixed_points_under_weight_faults(objective):
    pats = load_mnist(side=8, one_per_class=True)
    mem = train(pats.patterns, chip=load_preset("paper-sim").with_faults(0.3), rule="adaptive",
                objective=objective, max_steps=1500, lr=1e-2)
    assert mem.info["fixed_points"]
    score = evaluate_memory(mem, pats, Protocol(level=0.0, probes=1))
    assert score.cosine == pytest.approx(1.0) and score.exact == 1.0


def test_adaptive_is_seeded_and_reproducible():
    x = torch.tensor(load_mnist(side=8, n_patterns=5).patterns)
    r1 = AdaptiveTrainer(max_steps=50, finetune_steps=20, seed=4).fit(Problem.of(x))
    r2 = AdaptiveTrainer(max_steps=50, finetune_steps=20, seed=4).fit(Problem.of(x))
    r3 = AdaptiveTrainer(max_steps=50, finetune_steps=20, seed=5).fit(Problem.of(x))
    torch.testing.assert_close(r1.weights[0], r2.weights[0], rtol=0, atol=0)
    assert not torch.equal(r1.weights[0], r3.weights[0])


def test_adaptive_stops_on_convergence_not_step_cap():
    x = torch.tensor(random_patterns(3, 32, seed=0).patterns)
    res = AdaptiveTrainer(objective="fixed-point", tol=1e-3, lr=5e-2, max_steps=5000).fit(
        Problem.of(x))
    assert res.converged.all() and int(res.steps[0]) < 5000 and float(res.loss[0]) < 1e-3


def test_adaptive_beats_pinv_at_half_faults():
    pats = load_mnist(side=8, one_per_class=True)
    res = compare_rules(pats, load_preset("paper-sim").with_faults(0.5), ["adaptive", "pinv"],
                        trials=2, protocol=Protocol(level=0.1, probes=5),
                        rule_options={"adaptive": {"max_steps": 800}})
    ha, pinv = res["rules"]["adaptive"]["cosine"], res["rules"]["pinv"]["cosine"]
    assert ha > 0.9 and pinv < 0.85 and ha > pinv + 0.1


def test_noise_injection_uses_chip_noise():
    spec = load_preset("rram").with_faults(0.0)
    x = torch.tensor(load_mnist(side=8, n_patterns=4).patterns)
    mem = SingleLayerMemory(64, spec)
    rule = AdaptiveTrainer(max_steps=30, finetune_steps=5, noise_injection=True)
    info = fit_memories(rule, x, [mem])[0]
    assert info["steps"] == 135 and np.isfinite(info["loss"])  # with 100 flip-averaged steps


def test_fault_map_reused_by_every_rule():
    spec = load_preset("ideal").with_faults(0.3)
    fm = FaultMap.generate(spec, 2, seed=0)
    x = torch.tensor(load_mnist(side=8, n_patterns=4).patterns)
    for name in ("hebb", "adaptive"):
        rule = get_rule(name, **({"max_steps": 20} if name == "adaptive" else {}))
        mem = SingleLayerMemory(64, spec, fm, bias=name == "adaptive")
        fit_memories(rule, x, [mem])
        stuck = mem.crossbar.stuck
        np.testing.assert_array_equal(mem.crossbar.g_pos[stuck[0]],
                                      mem.crossbar.g_stuck[0][stuck[0]])


def test_padding_rows_are_ignored_when_counts_are_given():
    real = torch.tensor(load_mnist(side=8, n_patterns=5).patterns)
    pad_a = torch.cat([real, torch.ones(3, 64)])[None]
    pad_b = torch.cat([real, -torch.ones(3, 64)])[None]
    trainer = AdaptiveTrainer(max_steps=40, finetune_steps=10, seed=1)
    ra = trainer.fit(Problem.of(pad_a, counts=[5]))
    rb = trainer.fit(Problem.of(pad_b, counts=[5]))
    torch.testing.assert_close(ra.weights[0], rb.weights[0], rtol=0, atol=0)
    with pytest.raises(ConfigError, match="counts"):
        trainer.fit(Problem.of(pad_a, counts=[9]))


def test_closed_form_warm_start_solves_feasible_fixed_points_at_once():
    pats = load_mnist(side=8, one_per_class=True)
    spec = load_preset("paper-sim").with_faults(0.3)
    mem = SingleLayerMemory(64, spec, fault_seed=2)
    (lo, hi), = mem.bounds()
    trainer = AdaptiveTrainer(objective="fixed-point", warm_start=True, max_steps=50)
    res = trainer.fit(Problem.of(pats.patterns, [(lo, hi)]))
    assert int(res.steps[0]) <= 2 and bool(res.converged[0])
    a = torch.cat([res.weights[0][0], res.biases[0][0][:, None]], dim=1)
    pinned = lo == hi
    torch.testing.assert_close(a[pinned], lo[pinned])
    assert res.fixed_points.all()


def test_classic_rules_fit_problems_scaled_to_the_weight_range(rand_x):
    res = Hebb().fit(Problem.of(rand_x, w_max=[[2.5]]))
    w, _ = Hebb().ideal(rand_x)
    torch.testing.assert_close(res.weights[0][0], w * 2.5)
    assert res.biases is None and res.fixed_points.shape == (1,)
    assert Hebb().fit(Problem.of(rand_x, kind="continuous")).fixed_points is None
    with pytest.raises(ConfigError, match="single-layer"):
        Hebb().fit(Problem.of(rand_x, sizes=[32, 8, 32]))
