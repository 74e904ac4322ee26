"""Training paths no other test took (found under coverage): the fixed-point stage with the
chip's programming (write) and read noise injected, alone and in a batch whose networks stop at
different steps; the continuous (tanh) memory stopped by ``stop="stable"``; the written-out Adam
update used where torch has no fused Adam kernel."""

from __future__ import annotations

import pytest
import torch

import xbarmem as xm
from xbarmem import SingleLayerMemory
from xbarmem.hardware.chip import ChipSpec
from xbarmem.learning import single_fit
from xbarmem.learning.adaptive import AdaptiveTrainer
from xbarmem.learning.fit import fit_memories
from xbarmem.memory.build import make_memory

NOISES = {"write": (5e-6, 0.0), "read": (0.0, 5e-6), "write and read": (5e-6, 5e-6)}


def _chip(write: float, read: float, faults: float = 0.0) -> ChipSpec:
    base = xm.load_chip("rram").with_faults(faults).to_dict()
    return ChipSpec.from_dict({**base, "device": {**base["device"], "write_noise": write,
                                                  "read_noise": read}})


def _fixed_points(weights: torch.Tensor, bias: torch.Tensor, x: torch.Tensor) -> bool:
    return bool((torch.sign(x @ weights.T + bias) == x).all())


@pytest.mark.parametrize("noise", sorted(NOISES))
def test_fixed_point_stage_with_injected_noise_is_seeded_uses_the_noise_and_stores(noise):
    pset = xm.random_patterns(4, 16, seed=1)
    chip = _chip(*NOISES[noise])

    def weights(**options):
        memory = xm.train(pset, chip=chip, rule="adaptive", objective="fixed-point",
                          max_steps=300, fault_seed=0, program_seed=0, **options)
        return memory.targets[0], memory.info

    (w, b), info = weights(noise_injection=True, seed=0)
    assert torch.equal(w, weights(noise_injection=True, seed=0)[0][0])  # same seed, same numbers
    assert not torch.equal(w, weights(noise_injection=True, seed=1)[0][0])  # the seed draws it
    assert not torch.equal(w, weights(noise_injection=False, seed=0)[0][0])  # noise is used
    assert info["converged"] and 0 < info["steps"] < 300
    assert _fixed_points(w, b, torch.tensor(pset.patterns, dtype=torch.float32))


def test_noisy_fixed_point_batch_whose_networks_stop_at_different_steps():
    """Networks leaving the batch trim its read-noise scale with the other per-row tensors."""
    x = torch.stack([torch.tensor(xm.random_patterns(4, 16, seed=s).patterns,
                                  dtype=torch.float32) for s in range(3)])
    counts = torch.tensor([4, 2, 3])
    chip = _chip(5e-6, 5e-6, faults=0.1)

    def run():
        memories = [SingleLayerMemory(16, chip, fault_seed=s) for s in range(3)]
        rule = AdaptiveTrainer(objective="fixed-point", stop="loss", tol=5e-3, max_steps=400,
                               noise_injection=True, seed=0)
        return memories, fit_memories(rule, x, memories, counts=counts)

    memories, infos = run()
    again, _ = run()
    steps = [i["steps"] for i in infos]
    assert len(set(steps)) == 3  # each network left the batch at its own step
    for k, (memory, info) in enumerate(zip(memories, infos, strict=True)):
        assert torch.equal(memory.target_weights, again[k].target_weights)
        if info["converged"]:
            assert _fixed_points(memory.target_weights, memory.target_bias,
                                 x[k, :counts[k]])


def test_continuous_memory_stops_when_stable_before_the_loss_would_stop_it():
    pset = xm.random_patterns(3, 16, kind="continuous", seed=2)
    x = torch.tensor(pset.patterns, dtype=torch.float32)
    results = {}
    for stop in ("stable", "loss"):
        memory = xm.train(pset, chip="ideal", rule="adaptive", objective="fixed-point",
                          stop=stop, max_steps=3000, seed=0, fault_seed=0, program_seed=0)
        w, b = memory.targets[0]
        recalled = torch.tanh(x @ w.T + b)
        results[stop] = memory.info["steps"]
        assert memory.info["converged"]
        assert torch.nn.functional.cosine_similarity(recalled, x).min() > 0.9999
    window = AdaptiveTrainer().resolved(1, "continuous").stable_window
    assert results["stable"] % window == 0  # stable is checked every stable_window steps
    assert results["stable"] < results["loss"] < 3000


def test_written_out_adam_matches_the_fused_kernel(monkeypatch):
    pset = xm.random_patterns(4, 16, seed=3)

    def weights():
        return xm.train(pset, chip="ideal", rule="adaptive", objective="fixed-point",
                        stop="loss", max_steps=60, seed=0).targets[0][0]

    fused = weights()
    monkeypatch.setattr(single_fit, "fused_counter", lambda opts: None)  # torch without it
    torch.testing.assert_close(weights(), fused, rtol=0, atol=1e-5)


def test_stable_check_compares_directions_for_binary_and_relative_rows_for_continuous():
    """Binary recall depends on each row's direction only; a continuous (tanh) memory's on the
    row itself: doubling a row is no change for the first and a change of 1/2 for the second."""
    fit = single_fit.SingleLayerFit
    before = torch.tensor([[[3.0, 4.0], [1.0, 0.0]]])
    after = before * torch.tensor([[[2.0], [1.0]]])
    binary = fit._row_change(fit._row_state(after, "binary"), fit._row_state(before, "binary"),
                             "binary")
    continuous = fit._row_change(fit._row_state(after, "continuous"),
                                 fit._row_state(before, "continuous"), "continuous")
    torch.testing.assert_close(binary, torch.tensor([0.0]))
    torch.testing.assert_close(continuous, torch.tensor([0.5]))


@pytest.mark.parametrize(("arch", "options"), [
    ("single", {}), ("single", {"recipe": "fast"}), ("single", {"objective": "fixed-point"}),
    ("single", {"flip_steps": 5}), ("multilayer", {}), ("multilayer", {"recipe": "fast"}),
    ("multilayer", {"objective": "fixed-point"})])
def test_memories_with_every_device_stuck_take_no_training_step(arch, options, monkeypatch):
    """Every device stuck (fault rate 1): no weight can move, yet every step of both stages
    ran (``steps`` 500, a second's work for ten 8x8 digits). Now no optimiser step is taken,
    in a batch of memories too, and the weights are the pinned ones, as the steps left them."""
    from xbarmem.learning import flip_stage, multilayer_fit, stages

    def refuse(*args, **kwargs):
        raise AssertionError("an optimiser step on memories with no free device")

    for module in (stages, single_fit, multilayer_fit, flip_stage):
        monkeypatch.setattr(module, "optimizer_step", refuse)
    chip = xm.load_chip("rram").with_faults(1.0)
    memories = [make_memory(16, arch=arch, hidden=8 if arch == "multilayer" else None,
                            chip=chip, fault_seed=s) for s in range(2)]
    reports = []
    infos = fit_memories(AdaptiveTrainer(**options), xm.random_patterns(3, 16, seed=1),
                         memories, progress=lambda step, loss: reports.append(step))
    assert [i["steps"] for i in infos] == [0, 0] and reports == []
    for m in memories:
        assert all(bool((lo == hi).all()) for lo, hi in m.bounds())
        for (lo, _), (w, b) in zip(m.bounds(), m.targets, strict=True):
            assert torch.equal(torch.cat([w, b[:, None]], dim=1), lo)
