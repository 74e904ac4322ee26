"""The recall engine checked against textbook Hopfield dynamics (review of
:mod:`xbarmem.memory.recall`): update rules, stopping rules, energy, fixed points, batches,
cue types, read noise, the metrics after recall, and bad input."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import xbarmem as xm
from xbarmem.errors import ConfigError, PatternError
from xbarmem.evaluation.evaluate import Protocol, evaluate_memory
from xbarmem.memory.recall import FloatMatrix, recall, recall_batch

FAST = settings(max_examples=25, deadline=None)


def sylvester(k: int) -> torch.Tensor:
    """The ``2^k x 2^k`` Hadamard matrix: +-1 rows, mutually orthogonal."""
    h = torch.ones(1, 1)
    for _ in range(k):
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h


def symmetric(seed: int, n: int, bias: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """A random symmetric zero-diagonal ``W`` ``(n, n)`` and a bias (zeros unless ``bias``)."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n, n, generator=g)
    w = (w + w.T) / 2
    w.fill_diagonal_(0)
    b = torch.randn(n, generator=g) if bias else torch.zeros(n)
    return w, b


def energy(w: torch.Tensor, b: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """``E = -1/2 s^T W s - b^T s`` per row of ``s``, float64."""
    w, b, s = w.double(), b.double(), s.double()
    return -0.5 * ((s @ w) * s).sum(dim=1) - s @ b


def signs(g: torch.Generator, rows: int, n: int) -> torch.Tensor:
    return torch.where(torch.rand(rows, n, generator=g) < 0.5, 1.0, -1.0)


@pytest.fixture(scope="module")
def pinv_memory():
    """5 random patterns of 24 neurons, pseudo-inverse rule, on the ideal chip."""
    pset = xm.random_patterns(5, 24, seed=3)
    return pset, xm.train(pset, chip="ideal", rule="pinv")


@pytest.fixture(scope="module")
def noisy_memory():
    """4 random patterns of 16 neurons, pseudo-inverse rule, on the rram chip (read noise)."""
    pset = xm.random_patterns(4, 16, seed=5)
    memory = xm.train(pset, chip="rram", rule="pinv")
    assert memory.chip.device.read_noise > 0
    return pset, memory


# ------------------------------------------------------------------ 1. update and stopping rules
@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from(["sync", "async"]),
       st.sampled_from([0.0, 0.3, -0.5, 1.0]))
def test_sign_states_are_plus_minus_one_whatever_the_cue(seed, mode, value):
    """Sign neurons output +-1. A tie (a field of 0) kept the cue's value as it was, so a cue
    entry in between (0 for an unknown bit, 0.3, -0.5) came back unchanged from a "converged"
    sign recall; a tie now keeps the value's sign (0 read as +1, as the metrics and the cues of
    evaluate read it)."""
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(6, 6, generator=g) * (torch.rand(6, 6, generator=g) < 0.3)  # rows of 0
    cues = signs(g, 3, 6)
    cues[:, ::2] = value
    cues[0, 1] = -1.0  # (a cue of 0 and +1 only is a {0, 1} pattern, refused as such)
    r = recall(FloatMatrix(w), cues, mode=mode, seed=seed)
    assert set(r.states.unique().tolist()) <= {-1.0, 1.0}
    ties = (w == 0).all(dim=1)  # neurons whose field is always 0 keep their cue's sign
    assert torch.equal(r.states[:, ties], torch.where(cues[:, ties] >= 0, 1.0, -1.0))


def test_a_tie_keeps_a_binary_state_and_reads_an_unknown_entry_as_plus_one():
    w = torch.zeros(4, 4)
    w[0, 1] = 1.0  # only neuron 0 has a field
    for mode in ("sync", "async"):
        r = recall(FloatMatrix(w), torch.tensor([[0.3, 1.0, 0.0, -0.5], [-1, -1, -1, 1]]),
                   mode=mode)
        assert r.states.tolist() == [[1, 1, 1, -1], [-1, -1, -1, 1]]
        assert r.converged.all()
        # the first cue moved (its in-between values became signs): confirmed one step later
        assert r.iterations.tolist() == [2, 1]


def test_cli_recall_writes_signs_from_a_cue_of_unknown_entries(run_cli, tmp_path):
    """``recall --out`` of a binary model: an all-zero cue through Hebb weights (every field 0)
    wrote the zeros back as final states; sign neurons write +-1."""
    model = tmp_path / "m.safetensors"
    np.save(tmp_path / "p.npy", sylvester(3)[:2].numpy())
    code, _, err = run_cli("train", "--data", tmp_path / "p.npy", "--chip", "ideal", "--rule",
                           "hebb", "-o", model)
    assert code == 0, err
    np.save(tmp_path / "cues.npy", np.zeros((2, 8), np.float32))
    code, out, err = run_cli("recall", model, tmp_path / "cues.npy", "--out",
                             tmp_path / "s.npy", "--json")
    assert code == 0, err
    assert np.load(tmp_path / "s.npy").tolist() == [[1.0] * 8] * 2
    assert json.loads(out)["converged"] == 1.0


@FAST
@given(st.integers(0, 10**6), st.booleans())
def test_sync_sign_dynamics_of_a_symmetric_matrix_end_in_a_fixed_point_or_a_2_cycle(seed, bias):
    """Textbook: synchronous sign dynamics of a symmetric W have period 1 or 2. A generous cap
    is never reached; a cue reported cycled sits on a true 2-cycle (one step moves it, the
    next brings it back) and is not converged; a converged one is a fixed point."""
    w, b = symmetric(seed, 10, bias)
    m = FloatMatrix(w, b)
    cues = signs(torch.Generator().manual_seed(seed + 1), 16, 10)
    r = recall(m, cues, mode="sync", max_iterations=500)
    assert (r.converged ^ r.cycled).all() and (r.iterations < 500).all()
    one = recall(m, r.states, mode="sync", max_iterations=1).states
    two = recall(m, one, mode="sync", max_iterations=1).states
    assert torch.equal(one[r.converged], r.states[r.converged])
    assert not (one[r.cycled] == r.states[r.cycled]).all(dim=1).any()
    assert torch.equal(two[r.cycled], r.states[r.cycled])


def test_a_2_cycle_is_reported_and_scored_as_unconverged():
    """N = 2, one stored pattern (pseudo-inverse): a cue one bit off alternates between the all
    +1 and all -1 states. recall says so (cycled, not converged); evaluate counts it
    neither converged nor exact (``not_converged``)."""
    pset = xm.as_pattern_set(np.array([[1.0, -1.0]], np.float32))
    memory = xm.train(pset, chip="ideal", rule="pinv")
    r = memory.recall(torch.tensor([[1.0, 1.0]]))
    assert r.cycled.tolist() == [True] and r.converged.tolist() == [False]
    assert r.iterations.tolist() == [2] and r.summary()["cycled"] == 1.0
    score = evaluate_memory(memory, pset, Protocol(level=0.5, probes=8, seed=1))
    cycled = 1 - score.converged
    assert 0 < cycled < 1  # the seed draws both kinds of cue
    # the other cues are the pattern or its negation, both fixed points
    assert score.outcomes["not_converged"] == cycled
    assert score.outcomes["recalled"] + score.outcomes["inverted"] == score.converged
    assert score.exact == score.outcomes["recalled"]


def test_the_recall_command_says_which_cues_ended_in_a_2_cycle(run_cli, tmp_path):
    """``recall --json`` gave the share of 2-cycles but per cue only ``converged_flags`` (a
    cue not converged had cycled or met the cap); it now gives ``cycled_flags`` too."""
    np.save(tmp_path / "p.npy", np.array([[1.0, -1.0]], np.float32))
    model = tmp_path / "m.safetensors"
    assert run_cli("train", "--data", tmp_path / "p.npy", "--chip", "ideal", "--rule", "pinv",
                   "-o", model)[0] == 0
    np.save(tmp_path / "cues.npy", np.array([[1, 1], [1, -1], [-1, -1]], np.float32))
    code, out, err = run_cli("recall", model, tmp_path / "cues.npy", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["cycled_flags"] == [True, False, True] and result["cycled"] == 2 / 3
    assert result["converged_flags"] == [False, True, False]
    code, out, err = run_cli("recall", model, tmp_path / "cues.npy")
    assert code == 0 and "2-cycles 0.67" in out, err


def test_alternating_tanh_states_run_to_the_cap_without_a_2_cycle():
    """As documented: only sign recall stops on a 2-cycle; tanh states that alternate between
    two values (an anti-ferromagnetic pair) are neither cycled nor converged."""
    w = torch.tensor([[0.0, -2.0], [-2.0, 0.0]])
    r = recall(FloatMatrix(w), torch.tensor([[0.5, 0.5]]), activation="tanh",
               max_iterations=60)
    assert (r.iterations.item(), r.converged.item(), r.cycled.item()) == (60, False, False)
    assert r.states.abs().min() > 0.9  # on the alternation, far from its fixed point 0


def test_tanh_stops_at_the_first_step_whose_largest_change_is_within_tol():
    """A tanh recall is converged at step k when the step changed no state by more than
    ``tol`` and the step before did (the same recall capped at k - 1 and k - 2 steps)."""
    w = 0.8 * torch.eye(4).roll(1, 0)  # a contraction towards 0
    m, cue = FloatMatrix(w), torch.tensor([[0.9, -0.2, 0.4, -0.7]])

    def capped(steps, tol):
        return recall(m, cue, activation="tanh", tol=tol, max_iterations=steps)

    for tol in (1e-2, 1e-4, 1e-6):
        r = capped(1000, tol)
        k = int(r.iterations)
        assert r.converged.item() and 2 < k < 1000
        previous, earlier = capped(k - 1, tol).states, capped(k - 2, tol).states
        assert (r.states - previous).abs().max() <= tol < (previous - earlier).abs().max()


def test_the_cap_counts_sync_steps_and_async_sweeps():
    w = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])  # period 4 under synchronous updates
    r = recall(FloatMatrix(w), torch.ones(1, 2), mode="sync", max_iterations=9)
    assert (r.iterations.item(), r.reads.item(), r.converged.item()) == (9, 9, False)
    w, _ = symmetric(1, 8)
    r = recall(FloatMatrix(w), signs(torch.Generator().manual_seed(2), 3, 8), mode="async")
    assert torch.equal(r.reads, 8 * r.iterations) and r.converged.all()


# ------------------------------------------------------------------ 2. textbook properties
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("chip", ["ideal", "paper-sim"])
def test_stored_patterns_of_fault_free_hebb_and_pinv_memories_are_fixed_points(mode, chip):
    """Hebb on orthogonal patterns (W x = (1 - P/N) x) and the pseudo-inverse on any
    independent ones: every stored pattern is confirmed a fixed point in one step/sweep."""
    for rule, patterns in (("hebb", sylvester(4)[1:5]),
                           ("pinv", torch.tensor(xm.random_patterns(6, 16, seed=2).patterns))):
        memory = xm.train(patterns.numpy(), chip=chip, rule=rule)
        r = memory.recall(patterns, mode=mode, seed=7)
        assert torch.equal(r.states, patterns), rule
        assert r.converged.all() and (r.iterations == 1).all() and not r.cycled.any()


@FAST
@given(st.integers(0, 10**6), st.booleans())
def test_async_sign_never_raises_the_energy_and_converges(seed, bias):
    """Energy ``-1/2 s^T W s - b^T s`` after each sweep of one cue (the same seed draws the same
    orders: a cap of k sweeps stops the same recall after k) never rises, and the recall
    reaches a fixed point that stays one."""
    w, b = symmetric(seed, 12, bias)
    m = FloatMatrix(w, b)
    cue = signs(torch.Generator().manual_seed(seed + 1), 1, 12)
    full = recall(m, cue, mode="async", max_iterations=200, seed=seed)
    assert full.converged.all()
    energies = [energy(w, b, cue)] + [
        energy(w, b, recall(m, cue, mode="async", max_iterations=k, seed=seed).states)
        for k in range(1, int(full.iterations) + 1)]
    assert all(e1 <= e0 + 1e-9 for e0, e1 in zip(energies[:-1], energies[1:], strict=True))
    again = recall(m, full.states, mode="async", seed=seed + 2)
    assert torch.equal(again.states, full.states) and again.iterations.item() == 1


@FAST
@given(st.integers(0, 10**6), st.permutations(list(range(6))), st.integers(1, 6))
def test_noise_free_sync_sign_recall_of_a_cue_does_not_depend_on_its_batch(seed, order, size):
    """A cue's states, iterations and flags are those it gets alone, in any batch and order."""
    w = torch.randn(12, 12, generator=torch.Generator().manual_seed(seed))
    m = FloatMatrix(w)
    cues = signs(torch.Generator().manual_seed(seed + 1), 6, 12)
    batch = recall(m, cues[order[:size]], max_iterations=40)
    for k, i in enumerate(order[:size]):
        alone = recall(m, cues[i:i + 1], max_iterations=40)
        assert torch.equal(alone.states[0], batch.states[k])
        for name in ("iterations", "converged", "cycled"):
            assert getattr(alone, name)[0] == getattr(batch, name)[k]


def test_memory_recall_of_a_cue_does_not_depend_on_its_batch(pinv_memory):
    pset, memory = pinv_memory
    cues = xm.flip_bits(torch.tensor(pset.patterns).repeat(3, 1), 0.2,
                        torch.Generator().manual_seed(1))
    batch = memory.recall(cues)
    for k in range(len(cues)):
        alone = memory.recall(cues[k:k + 1])
        assert torch.equal(alone.states[0], batch.states[k])
        assert alone.iterations[0] == batch.iterations[k]


def test_tanh_recall_of_a_cue_in_a_batch_agrees_to_rounding():
    """The module's contract: tanh states alone and in a batch agree to float32 rounding."""
    pset = xm.random_patterns(4, 16, kind="continuous", seed=2)
    memory = xm.train(pset, chip="ideal", rule="pinv")
    cues = torch.tensor(pset.patterns).repeat(2, 1) * 0.7
    batch = memory.recall(cues, activation="tanh")
    for k in range(len(cues)):
        alone = memory.recall(cues[k:k + 1], activation="tanh")
        assert torch.allclose(alone.states[0], batch.states[k], rtol=0, atol=1e-5)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_recall_is_deterministic_for_a_seed_whatever_the_cues_type(noisy_memory, mode):
    """float32/float64/int tensors, numpy arrays and nested lists of the same +-1 cues give
    the same recall; the same seed the same draws (a generator seeded alike too)."""
    pset, memory = noisy_memory
    base = np.array(pset.patterns, np.float32)  # (a writable copy)
    forms = [base, base.astype(np.float64), base.astype(np.int64), base.astype(np.int8),
             base.tolist(), torch.as_tensor(base, dtype=torch.float64),
             torch.as_tensor(base).to(torch.int32)]
    first = memory.recall(base, mode=mode, seed=11, max_iterations=5)
    for cues in forms:
        assert first == memory.recall(cues, mode=mode, seed=11, max_iterations=5)
    assert first == memory.recall(base, mode=mode, seed=torch.Generator().manual_seed(11),
                                  max_iterations=5)


def test_a_seed_of_none_is_seed_0(noisy_memory):
    pset, memory = noisy_memory
    for mode in ("sync", "async"):
        assert memory.recall(pset.patterns, mode=mode, seed=None, max_iterations=3) == \
            memory.recall(pset.patterns, mode=mode, seed=0, max_iterations=3)


def test_bool_cues_are_refused_for_sign_recall_in_one_line(pinv_memory):
    pset, memory = pinv_memory
    with pytest.raises(PatternError, match=r"\{0,1\} matrix.*2\*x - 1"):
        memory.recall(np.asarray(pset.patterns) > 0)


# ------------------------------------------------------------------ 3. read noise
def _manual_sync(memory, cues, steps, seed, activation):
    """Synchronous steps by hand: ``steps`` full reads, each drawing fresh noise from one
    generator of ``seed``."""
    g, x = torch.Generator().manual_seed(seed), cues.clone()
    for _ in range(steps):
        h = memory.map().matvec(x, g)
        x = torch.tanh(h) if activation == "tanh" else torch.where(h > 0, 1.0, -1.0)
    return x


def test_read_noise_is_drawn_per_read_from_the_seed(noisy_memory):
    """Each synchronous step is one fresh noisy read from the seed's stream: recall's states
    after 1 and 3 steps are those of reads made by hand; two reads of one state differ."""
    pset, memory = noisy_memory
    cues = torch.tensor(pset.patterns) * 0.5
    for steps in (1, 3):
        r = memory.recall(cues, activation="tanh", max_iterations=steps, seed=4, tol=0.0)
        assert torch.equal(r.states, _manual_sync(memory, cues, steps, 4, "tanh"))
    g = torch.Generator().manual_seed(0)
    first, second = memory.map().matvec(cues, g), memory.map().matvec(cues, g)
    assert not torch.equal(first, second)
    other = memory.recall(cues, activation="tanh", max_iterations=3, seed=5)
    assert not torch.equal(other.states, _manual_sync(memory, cues, 3, 4, "tanh"))


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("activation", ["sign", "tanh"])
def test_a_chip_without_read_noise_recalls_as_its_float_weights(pinv_memory, mode, activation):
    pset, memory = pinv_memory
    assert memory.chip.device.read_noise == 0
    w, b = memory.layers[0].effective()
    cues = xm.flip_bits(torch.tensor(pset.patterns).repeat(4, 1), 0.25,
                        torch.Generator().manual_seed(3))
    if activation == "tanh":
        cues = cues * 0.8
    chip = memory.recall(cues, mode=mode, activation=activation, seed=9)
    assert chip == recall(FloatMatrix(w, b), cues, mode=mode, activation=activation, seed=9)
    assert chip == memory.recall(cues, mode=mode, activation=activation, seed=9)


# ------------------------------------------------------------------ 4. metrics after recall
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_cue_equal_to_its_pattern_scores_perfectly(pinv_memory, mode):
    pset, memory = pinv_memory
    score = evaluate_memory(memory, pset, Protocol(level=0.0, probes=2, mode=mode))
    assert (score.cosine, score.exact, score.hamming, score.converged) == (1, 1, 0, 1)
    assert score.mean_iterations == 1 and score.cue_cosine == 1
    assert score.outcomes["recalled"] == 1


@pytest.mark.parametrize("patterns", [
    [[1.0] * 8],  # one pattern, all +1
    [[1, -1, 1, -1, 1, 1, -1, -1]] * 3,  # every pattern the same
    [[1.0] * 8, [1, -1, 1, -1, 1, -1, 1, -1]],
])
@pytest.mark.parametrize("rule", ["hebb", "pinv"])
def test_edge_pattern_sets_score_consistently(patterns, rule):
    """Metrics agree with each other on edge sets: cosine 1 - 2 hamming / N for +-1 states,
    exact the share of hamming 0, outcomes summing to 1 with ``recalled`` the exact share."""
    pset = np.asarray(patterns, np.float32)
    memory = xm.train(pset, chip="ideal", rule=rule)
    score = evaluate_memory(memory, pset, Protocol(level=0.2, probes=10, seed=2))
    states, target = score.states, torch.as_tensor(pset).repeat(10, 1)
    ham = (states != target).sum(dim=1).double()
    assert score.hamming == pytest.approx(float(ham.mean()))
    assert score.exact == pytest.approx(float((ham == 0).double().mean()))
    assert score.cosine == pytest.approx(float((1 - 2 * ham / 8).mean()))
    assert sum(score.outcomes.values()) == pytest.approx(1.0)
    assert score.outcomes["recalled"] == pytest.approx(score.exact)


def test_continuous_patterns_recalled_with_sign_neurons_are_scored_against_the_levels():
    """Sign recall of continuous patterns is accepted: +-1 states, cosine against the grey
    levels, exact and hamming by sign, no outcomes."""
    pset = xm.random_patterns(3, 16, kind="continuous", seed=1)
    memory = xm.train(pset, chip="ideal", rule="pinv")
    score = evaluate_memory(memory, pset, Protocol(corruption="gaussian", activation="sign",
                                                   probes=2))
    assert set(score.states.unique().tolist()) <= {-1.0, 1.0}
    target = torch.tensor(pset.patterns).repeat(2, 1)
    cos = (score.states * target).sum(1) / (score.states.norm(dim=1) * target.norm(dim=1))
    assert score.cosine == pytest.approx(float(cos.mean()), abs=1e-6)
    assert score.outcomes is None and 0 < score.cosine < 1


# ------------------------------------------------------------------ 5. bad input
@pytest.mark.parametrize("make", [
    lambda m, n: m.recall(torch.zeros(0, n)),
    lambda m, n: xm.recall(m.map(), np.zeros((0, n))),
    lambda m, n: recall_batch(torch.zeros(1, n, n + 1), torch.zeros(0, n),
                              torch.zeros(0, dtype=torch.int64)),
])
def test_an_empty_batch_of_cues_is_refused_in_one_line(pinv_memory, make):
    """An empty batch was recalled into an empty result whose summary read ``converged nan``
    (the command refused an empty cue file); every recall now refuses it."""
    _, memory = pinv_memory
    with pytest.raises(PatternError, match=r"^cues are empty: shape \(0, 24\) \(need at least"):
        make(memory, 24)


@pytest.mark.parametrize(("cues", "message"), [
    (torch.ones(23), r"shape \(batch, 24\), got \(23,\)$"),
    (torch.ones(24), r"got \(24,\); one cue: reshape it to \(1, 24\)$"),
    (torch.ones(2, 3, 24), r"got \(2, 3, 24\)$"),
    (torch.ones(2, 25), r"got \(2, 25\)$"),
    (torch.tensor([[float("nan")] * 24]), "NaN or inf"),
    (torch.tensor([[float("inf")] * 24]), "NaN or inf"),
    (torch.full((1, 24), 2.0), r"\[-1, 1\]"),
])
def test_bad_cues_are_refused_in_one_line_naming_the_cues(pinv_memory, cues, message):
    _, memory = pinv_memory
    for run in (lambda: memory.recall(cues), lambda: xm.recall(memory.map(), cues)):
        with pytest.raises(PatternError, match=message) as info:
            run()
        assert "\n" not in str(info.value) and "cues" in str(info.value)


@pytest.mark.parametrize(("keywords", "message"), [
    ({"max_iterations": 0}, "max_iterations must be a positive integer, got 0"),
    ({"max_iterations": -3}, "max_iterations must be a positive integer, got -3"),
    ({"max_iterations": 2.5}, "max_iterations must be a positive integer"),
    ({"max_iterations": True}, "max_iterations must be a positive integer"),
    ({"mode": "asynchronous"}, "recall mode must be one of sync, async"),
    ({"activation": "relu"}, "activation must be one of sign, tanh"),
    ({"tol": -1.0}, "tol must be a finite number >= 0"),
    ({"tol": float("nan")}, "tol must be a finite number >= 0"),
    ({"seed": -1}, "seed must be an integer >= 0"),
])
def test_bad_recall_settings_are_refused_before_any_read(pinv_memory, monkeypatch, keywords,
                                                         message):
    _, memory = pinv_memory

    def no_read(*args, **kwargs):
        raise AssertionError("read before the settings were checked")

    monkeypatch.setattr(xm.Crossbar, "matvec", no_read)
    monkeypatch.setattr(xm.Crossbar, "read_outputs", no_read)
    for run in (lambda: memory.recall(torch.ones(1, 24), **keywords),
                lambda: xm.recall(memory.map(), torch.ones(1, 24), **keywords)):
        with pytest.raises(ConfigError, match=message):
            run()


@pytest.mark.parametrize(("make", "args", "message"), [
    (lambda p: np.zeros((0, 8), np.float32), (), "empty"),
    (lambda p: np.zeros((2, 2, 8), np.float32), (), "N = 16 neurons"),
    (lambda p: np.full((1, 8), np.nan, np.float32), (), "NaN"),
    (lambda p: np.ones((2, 9), np.float32), (), "N = 9 neurons"),
    (lambda p: p, ("--mode", "chaotic"), "'--mode': must be one of sync, async"),
    (lambda p: p, ("--activation", "relu"), "'--activation': must be one of sign, tanh"),
    (lambda p: p, ("--max-iterations", "0"), "--max-iterations"),
    (lambda p: p, ("--max-iterations", "-2"), "--max-iterations"),
])
def test_the_recall_command_refuses_bad_cues_and_options_with_exit_2(run_cli, tmp_path, make,
                                                                     args, message):
    patterns = sylvester(3)[:2].numpy()
    np.save(tmp_path / "p.npy", patterns)
    model = tmp_path / "m.safetensors"
    assert run_cli("train", "--data", tmp_path / "p.npy", "--chip", "ideal", "--rule",
                   "hebb", "-o", model)[0] == 0
    np.save(tmp_path / "cues.npy", make(patterns))
    code, out, err = run_cli("recall", model, tmp_path / "cues.npy", "--out",
                             tmp_path / "s.npy", *args)
    assert code == 2 and out == "" and message in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error:")
    assert not (tmp_path / "s.npy").exists()


@pytest.mark.parametrize(("cues", "says"), [
    (np.where(np.eye(2, 8) > 0, np.nan, 1.0), "cues contain 2 NaN/inf values"),
    (np.ones((0, 8)), "cues are empty: shape (0, 8) (need at least 1 cue"),
    (np.ones(8), "cues must be 2-D (B, N), got a 1-D vector"),
    (np.ones((2, 2, 2, 2)), "cues must be 2-D (B, N), got shape"),
])
def test_a_cue_files_refusal_names_cues_not_patterns(run_cli, tmp_path, cues, says):
    """`recall MODEL CUES` of a file of NaNs, of no cue or of the wrong rank said "patterns
    contain ...", "pattern set is empty", "patterns must be 2-D (P, N)": the file holds cues."""
    model = tmp_path / "m.safetensors"
    np.save(tmp_path / "p.npy", sylvester(3)[:2].numpy())
    assert run_cli("train", "--data", tmp_path / "p.npy", "--chip", "ideal", "--rule", "hebb",
                   "-o", model)[0] == 0
    np.save(tmp_path / "cues.npy", cues)
    code, _, err = run_cli("recall", model, tmp_path / "cues.npy")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert says in err and "pattern" not in err, err
