"""Recall dynamics."""

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from xbarmem.data.builtin import load_mnist
from xbarmem.data.corruption import corrupt
from xbarmem.errors import ConfigError, PatternError
from xbarmem.evaluation import evaluate as ev
from xbarmem.evaluation.evaluate import Protocol, evaluate_many, evaluate_memory
from xbarmem.hardware.chip import load_preset
from xbarmem.learning.adaptive import AdaptiveTrainer
from xbarmem.learning.fit import fit_memories
from xbarmem.memory.multilayer import MultilayerMemory
from xbarmem.memory.recall import FloatMatrix, recall, recall_batch, stack_matrices
from xbarmem.memory.single import SingleLayerMemory


def hopfield_energy(w, x):
    return -0.5 * ((x @ w) * x).sum(dim=1)


def test_stored_pattern_is_fixed_point_in_one_step():
    x = torch.tensor([[1.0, -1, 1, -1, 1, 1]])
    w = x.T @ x
    w.fill_diagonal_(0)
    for mode in ("sync", "async"):
        r = recall(FloatMatrix(w), x, mode=mode)
        assert torch.equal(r.states, x) and r.converged.all() and r.iterations.item() == 1
        assert r.reads.item() == (1 if mode == "sync" else 6)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_zero_field_keeps_the_neurons_state(mode):
    """sign dynamics: a neuron whose field is exactly 0 keeps its state (not +1)."""
    w = torch.zeros(4, 4)
    w[0, 1] = 1.0  # only neuron 0 has a field: x_1
    cues = torch.tensor([[-1.0, 1.0, -1.0, 1.0], [1.0, -1.0, -1.0, -1.0]])
    r = recall(FloatMatrix(w), cues, mode=mode)
    assert r.states.tolist() == [[1.0, 1.0, -1.0, 1.0], [-1.0, -1.0, -1.0, -1.0]]
    assert r.converged.all()


def test_sync_detects_two_cycle():
    w = -torch.ones(2, 2) + torch.eye(2)  # anti-ferromagnetic pair: (1,1) <-> (-1,-1)
    w.fill_diagonal_(0)
    r = recall(FloatMatrix(w), torch.tensor([[1.0, 1.0]]), mode="sync", max_iterations=50)
    assert r.cycled.all() and not r.converged.any() and r.iterations.item() == 2


def test_iteration_cap():
    w = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])  # rotation: period 4 under sync updates
    r = recall(FloatMatrix(w), torch.tensor([[1.0, 1.0]]), mode="sync", max_iterations=7)
    assert r.iterations.item() == 7 and not r.converged.any() and not r.cycled.any()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_async_never_raises_energy_of_symmetric_network(seed):
    g = torch.Generator().manual_seed(seed)
    n = 12
    w = torch.randn(n, n, generator=g)
    w = (w + w.T) / 2
    w.fill_diagonal_(0)
    x0 = torch.where(torch.rand(8, n, generator=g) < 0.5, 1.0, -1.0)
    r = recall(FloatMatrix(w), x0, mode="async", max_iterations=200, seed=seed)
    assert (hopfield_energy(w, r.states) <= hopfield_energy(w, x0) + 1e-5).all()
    assert r.converged.all()  # symmetric zero-diagonal networks reach a fixed point


def test_batched_equals_one_by_one():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(10, 10, generator=g)
    cues = torch.where(torch.rand(5, 10, generator=g) < 0.5, 1.0, -1.0)
    batch = recall(FloatMatrix(w), cues, max_iterations=30)
    for k in range(5):
        single = recall(FloatMatrix(w), cues[k:k + 1], max_iterations=30)
        assert torch.equal(single.states[0], batch.states[k])
        assert single.iterations[0] == batch.iterations[k]


def test_tanh_recall_converges_to_continuous_fixed_point():
    w = 0.5 * torch.eye(4).roll(1, 0)
    r = recall(FloatMatrix(w), torch.full((2, 4), 0.9), activation="tanh", max_iterations=500)
    assert r.converged.all() and r.states.abs().max() < 1e-3  # contraction to 0


def test_bad_arguments():
    m = FloatMatrix(torch.zeros(3, 3))
    with pytest.raises(PatternError, match=r"shape \(batch, 3\)"):
        recall(m, torch.zeros(2, 4))
    with pytest.raises(PatternError, match="NaN"):
        recall(m, torch.tensor([[float("nan"), 1, 1]]))
    with pytest.raises(ConfigError, match="mode"):
        recall(m, torch.ones(1, 3), mode="chaotic")
    with pytest.raises(ConfigError, match="activation"):
        recall(m, torch.ones(1, 3), activation="relu")


# --------------------------------------------------------------------------- batched engine
def _same(a, b):
    """Two recall results agree exactly: states, iterations, converged and cycled."""
    return (torch.equal(a.states, b.states) and torch.equal(a.iterations, b.iterations)
            and torch.equal(a.converged, b.converged) and torch.equal(a.cycled, b.cycled))


def test_recall_batch_equals_recall_through_each_matrix():
    """Integer weights (every product exact): the stack engine and recall() through one matrix
    must agree cue by cue, including zero fields, 2-cycles and the iteration cap."""
    g = torch.Generator().manual_seed(3)
    n, mats, cues, singles = 24, [], [], []
    for t in range(4):
        x = torch.where(torch.rand(4, n, generator=g) < 0.5, 1.0, -1.0)
        w = x.T @ x * (-1 if t == 3 else 1)  # matrix 3 oscillates
        w.fill_diagonal_(0)
        b = torch.randint(-2, 3, (n,), generator=g).float() * (t % 2)
        c = torch.where(torch.rand(12 + 5 * t, n, generator=g) < 0.5, 1.0, -1.0)
        mats.append(torch.cat([w, b[:, None]], dim=1))
        cues.append(c)
        singles.append(recall(FloatMatrix(w, b), c, max_iterations=6))
    net = torch.cat([torch.full((len(c),), t) for t, c in enumerate(cues)])
    batch = recall_batch(torch.stack(mats), torch.cat(cues), net, max_iterations=6)
    joined = [batch.states, batch.iterations, batch.converged, batch.cycled]
    one = [torch.cat([getattr(r, f) for r in singles])
           for f in ("states", "iterations", "converged", "cycled")]
    assert all(torch.equal(a, b) for a, b in zip(joined, one, strict=True))
    # the cases are all there: fixed points, 2-cycles, cues stopped by the cap
    assert batch.converged.any() and batch.cycled.any()
    assert ((batch.iterations == 6) & ~batch.converged & ~batch.cycled).any()
    assert torch.equal(batch.reads, batch.iterations) and batch.mode == "sync"


@pytest.mark.parametrize("activation", ["sign", "tanh"])
def test_recall_batch_equals_memory_recall_without_read_noise(activation):
    """A programmed chip memory (no read noise): recall_batch through its stacked matrix gives
    the memory's own recall, state for state."""
    chip = load_preset("paper-sim").with_faults(0.3)
    pats = load_mnist(side=8, n_patterns=12)
    memory = SingleLayerMemory(64, chip, fault_seed=2)
    fit_memories(AdaptiveTrainer(objective="fixed-point", max_steps=200), pats.patterns,
                 [memory])
    cues = corrupt(torch.tensor(pats.patterns).repeat(3, 1), "flip", 0.2, 4)
    own = memory.recall(cues, activation=activation, max_iterations=40)
    mats = stack_matrices([memory])
    assert mats.shape == (1, 64, 65)
    batch = recall_batch(mats, cues, torch.zeros(len(cues), dtype=torch.int64),
                         activation=activation, max_iterations=40)
    assert _same(own, batch)


def test_stack_matrices_only_for_one_noise_free_programmed_layer():
    chip = load_preset("paper-sim")
    a, b = SingleLayerMemory(16, chip, fault_seed=0), SingleLayerMemory(16, chip, fault_seed=1)
    assert stack_matrices([a]) is None  # not programmed
    w = torch.ones(16, 16) - torch.eye(16)
    a.program(w * 0.1)
    b.program(w * 0.2)
    mats = stack_matrices([a, b])
    assert mats.shape == (2, 16, 17) and torch.equal(mats[1, :, :16], b.weights)
    assert torch.equal(mats[0, :, 16], a.bias)
    assert stack_matrices([a, SingleLayerMemory(16, chip, bias=False).program(w)]) is None
    assert stack_matrices([a, SingleLayerMemory(24, chip).program(
        torch.zeros(24, 24))]) is None
    noisy = SingleLayerMemory(16, load_preset("rram")).program(w * 0.1)
    assert stack_matrices([a, noisy]) is None
    multi = MultilayerMemory(16, 4, chip)
    multi.program([torch.zeros(4, 16), torch.zeros(16, 4)])
    assert stack_matrices([multi]) is None and stack_matrices([]) is None


def test_recall_batch_bad_arguments():
    mats = torch.zeros(2, 3, 4)
    with pytest.raises(ConfigError, match="non-decreasing"):
        recall_batch(mats, torch.ones(2, 3), torch.tensor([1, 0]))
    with pytest.raises(ConfigError, match="non-decreasing"):
        recall_batch(mats, torch.ones(2, 3), torch.tensor([0, 2]))
    with pytest.raises(ConfigError, match="matrices"):
        recall_batch(torch.zeros(2, 3, 5), torch.ones(2, 3), torch.tensor([0, 1]))
    with pytest.raises(PatternError, match="shape"):
        recall_batch(mats, torch.ones(2, 4), torch.tensor([0, 1]))
    with pytest.raises(ConfigError, match="activation"):
        recall_batch(mats, torch.ones(2, 3), torch.tensor([0, 1]), activation="relu")


def _memories(chip, n_memories, bias=True):
    return [SingleLayerMemory(64, chip, fault_seed=s, bias=bias) for s in range(n_memories)]


@pytest.mark.parametrize("activation", ["sign", "tanh"])
def test_evaluate_many_scores_exactly_as_evaluate_memory(activation, monkeypatch):
    chip = load_preset("paper-sim").with_faults(0.5)
    pool = load_mnist(side=8, n_patterns=60)
    sets = [pool.subset(list(range(k, k + c))) for k, c in ((0, 3), (5, 12), (20, 30))]
    memories = _memories(chip, 3)
    padded = torch.zeros(3, 30, 64)
    for j, s in enumerate(sets):
        padded[j, : s.n_patterns] = torch.tensor(s.patterns)
    fit_memories(AdaptiveTrainer(objective="fixed-point", max_steps=300), padded, memories,
                 counts=torch.tensor([s.n_patterns for s in sets]))
    protocols = [Protocol(level=0.15, probes=4, activation=activation, seed=7 + k)
                 for k in range(3)]
    expected = [evaluate_memory(m, s, p).as_dict()
                for m, s, p in zip(memories, sets, protocols, strict=True)]
    assert [s.as_dict() for s in evaluate_many(memories, sets, protocols)] == expected
    monkeypatch.setattr(ev, "_EVAL_STATES", 64 * 7)  # many small chunks, same scores
    assert [s.as_dict() for s in evaluate_many(memories, sets, protocols)] == expected


def test_evaluate_many_falls_back_when_recall_is_random():
    chip = load_preset("rram").with_faults(0.1)  # read noise: recall draws randomness
    pats = load_mnist(side=8, n_patterns=4)
    memories = _memories(chip, 2)
    fit_memories(AdaptiveTrainer(objective="fixed-point", max_steps=50), pats.patterns,
                 memories)
    protocols = [Protocol(level=0.1, probes=3, seed=k) for k in range(2)]
    got = evaluate_many(memories, [pats, pats], protocols)
    assert [s.cosine for s in got] == [evaluate_memory(m, pats, p).cosine
                                       for m, p in zip(memories, protocols, strict=True)]
    with pytest.raises(ConfigError, match="one pattern set"):
        evaluate_many(memories, [pats], protocols)


def test_evaluate_memory_uses_the_shared_cues():
    """evaluate_memory's cues are make_cues' cues, and its score is score_recall's."""
    chip = load_preset("rram")
    pats = load_mnist(side=8, n_patterns=5)
    (memory,) = _memories(chip, 1)
    fit_memories(AdaptiveTrainer(objective="fixed-point", max_steps=50), pats.patterns,
                 [memory])
    proto = Protocol(level=0.2, probes=2, seed=11)
    score = evaluate_memory(memory, pats, proto)
    cues = ev.make_cues(pats, proto)
    assert torch.equal(score.cues, cues.cues) and cues.cues.shape == (10, 64)
    res = memory.recall(cues.cues, seed=cues.generator)  # read noise continues the stream
    assert ev.score_recall(cues, res).as_dict() == score.as_dict()


@pytest.mark.parametrize("field, error, message", [
    ({"probes": 0}, ConfigError, "probes must be an integer >= 1, got 0"),
    ({"probes": 1.5}, ConfigError, "probes must be an integer >= 1"),
    ({"seed": -1}, ConfigError, "seed must be an integer >= 0"),
    ({"seed": "a"}, ConfigError, "seed must be an integer >= 0"),
    ({"corruption": "blur"}, PatternError, "unknown corruption method 'blur'"),
    ({"level": 1.5}, PatternError, r"level \(flip rate\) must be in \[0, 1\]"),
    ({"corruption": "gaussian", "level": float("inf")}, PatternError, "noise sigma"),
    ({"mode": "fast"}, ConfigError, "recall mode"),
    ({"activation": "relu"}, ConfigError, "activation"),
    ({"max_iterations": 0}, ConfigError, "max_iterations"),
])
def test_protocol_is_checked_when_made(field, error, message):
    """A protocol no recall could run is refused when it is made, so evaluate_memory,
    compare_rules, find_capacity and run_scaling refuse it before any training: probes=0 gave
    a torch reshape error (find_capacity: after training), probes=-1 a negative-dimension
    error, a str seed a TypeError."""
    with pytest.raises(error, match=message):
        Protocol(**field)
    assert Protocol(corruption="salt_pepper", level=0.2, probes=2, seed=3).probes == 2


def test_recall_summary_shares_are_exact_fractions():
    """Means in float64: 13 converged cues of 20 are 0.65 in ``recall --json``, not 0.6499999..."""
    from xbarmem.memory.recall import RecallResult

    res = RecallResult(states=torch.ones(20, 4), iterations=torch.arange(20),
                       reads=torch.full((20,), 3), converged=torch.arange(20) < 13,
                       cycled=torch.arange(20) >= 15, mode="sync", activation="sign")
    summary = res.summary()
    assert (summary["converged"], summary["cycled"]) == (0.65, 0.25)
    assert (summary["mean_iterations"], summary["mean_reads"]) == (9.5, 3.0)


@pytest.mark.parametrize("rows", [False, True])
def test_recall_reads_mnist_images_as_the_models_cropped_patterns_were_made(run_cli, tmp_path,
                                                                            rows):
    """A model of ``mnist-crop24`` (the demo's data) recalled from the very 28x28 MNIST images
    it stored: ``recall`` resized the whole images, not their centred 24x24 window, so the
    cues were 0-12 of 64 bits off their stored digits (8 of 10 recalled on one chip). The
    images are now cut as the patterns were, and each stored digit is its own cue."""
    from importlib import resources

    import numpy as np

    from xbarmem.data.readers import centre_crop
    from xbarmem.data.sources import pattern_set_crop

    with (resources.files("xbarmem.data") / "datasets" / "mnist-10k.npz").open("rb") as fh, \
            np.load(fh) as z:
        images, labels = z["images"], z["labels"]
    first = [int(np.nonzero(labels == d)[0][0]) for d in range(10)]
    raw = images[first].reshape(10, -1) if rows else images[first]
    np.save(tmp_path / "raw.npy", raw)
    model = tmp_path / "m.safetensors"
    code, _, err = run_cli("train", "--data", "mnist-crop24", "--one-per-class", "--chip",
                           "ideal", "--rule", "pinv", "-o", model)
    assert code == 0, err
    code, out, err = run_cli("recall", model, tmp_path / "raw.npy", "--out", tmp_path / "s.npy",
                             "--json")
    assert code == 0, err
    stored = load_mnist(side=8, one_per_class=True, crop=24).patterns
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), stored)
    assert json.loads(out)["mean_iterations"] == 1.0  # every cue is a stored fixed point
    assert pattern_set_crop("mnist8c24-binary") == 24 and pattern_set_crop("mnist8-binary") is None
    assert centre_crop(images[:2, :20, :20], 24).shape == (2, 20, 20)  # not MNIST's size: kept
