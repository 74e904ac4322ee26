"""Programming variation from the API (:func:`xbarmem.reprogram`) and ``xbarmem evaluate
--variation``: its contract, its refusals, its numbers (those sweeps have always given), and
the command line agreeing with the API and with a sweep trial."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.errors import ArgumentError, ConfigError
from xbarmem.memory.multilayer import MultilayerMemory
from xbarmem.memory.single import SingleLayerMemory


def _targets(sizes: list[int], seed: int = 0):
    """Seeded target weights (zero diagonal for one layer) and biases of layers ``sizes``."""
    g = torch.Generator().manual_seed(seed)
    weights, biases = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        w = 0.3 * torch.randn(n_out, n_in, generator=g)
        if len(sizes) == 2:
            w.fill_diagonal_(0.0)
        weights.append(w)
        biases.append(0.1 * torch.randn(n_out, generator=g))
    return weights, biases


def _single() -> SingleLayerMemory:
    mem = SingleLayerMemory(16, "rram", fault_seed=1)  # faults and write error
    weights, biases = _targets([16, 16])
    return mem.program(weights, biases, seed=0)


def _multilayer() -> MultilayerMemory:
    mem = MultilayerMemory(16, 8, "rram", fault_seed=1)
    weights, biases = _targets([16, 8, 16])
    return mem.program(weights, biases, seed=0)


def _state(mem) -> list[np.ndarray]:
    return [np.stack(layer.planes()) for layer in mem.layers]


def _digest(mem) -> list[tuple[float, float, float]]:
    return [(float(w.double().sum()), float(w.double().abs().sum()), float(b.double().sum()))
            for w, b in mem.programmed_parameters()]


# ------------------------------------------------------------------------------ API
#: what the sweeps' programming (experiments.trial.program, before it moved to the memory
#: layer) gave for these memories: (sum W, sum |W|, sum b) per layer, as programmed
SWEEP_NUMBERS = {
    ("single", 0.25, 5): [(1.3096580704, 54.041212258, 0.0971785532)],
    ("single", 0.0, 5): [(2.2712888542, 50.6157603789, 0.0971785532)],
    ("single", 0.1, 2): [(2.6089104393, 49.9353416748, 0.1097461723)],
    ("multilayer", 0.25, 5): [(1.6356106513, 29.3302311291, -0.0127067789),
                              (-0.0139224096, 26.4767390811, -0.0573568736)],
    ("multilayer", 0.1, 2): [(0.8483610615, 28.2190824921, -0.0041866824),
                             (1.9985061936, 23.42759827, -0.0835171709)],
}


@pytest.mark.parametrize("key", sorted(SWEEP_NUMBERS))
def test_reprogram_gives_the_numbers_sweeps_gave(key):
    """The draw (seed, salt, order of layers, std v * max|W| of the programmed matrix) is
    what sweeps have stored: a change to it changes every stored variation result."""
    arch, v, seed = key
    mem = _single() if arch == "single" else _multilayer()
    assert xm.reprogram(mem, v, seed=seed) is mem
    for got, want in zip(_digest(mem), SWEEP_NUMBERS[key], strict=True):
        assert got == pytest.approx(want, rel=1e-7, abs=1e-8)


def test_reprogram_perturbs_free_off_diagonal_weights_only_and_keeps_the_targets():
    # stuck weights, no write error (under the weight model it moves with the scale max|A|)
    chip = xm.load_chip("paper-sim").with_faults(0.2).with_fault_model("weight")
    mem = SingleLayerMemory(16, chip, fault_seed=1).program(*_targets([16, 16]), seed=0)
    targets = mem.targets
    xm.reprogram(mem, 0.0, seed=3)
    clean = mem.programmed_parameters()[0]
    xm.reprogram(mem, 0.3, seed=3)
    noisy = mem.programmed_parameters()[0]
    diff = noisy[0] - clean[0]
    assert torch.all(diff.diagonal() == 0)
    torch.testing.assert_close(noisy[1], clean[1])  # biases as trained
    lo, hi = mem.bounds()[0]
    stuck = (lo == hi)[:, :16]  # weights whose two devices are both stuck
    assert stuck.any() and torch.all(diff[stuck] == 0)
    free = ~stuck & ~torch.eye(16, dtype=torch.bool)
    ratio = float(diff[free].std() / (0.3 * clean[0].abs().max()))
    assert 0.7 < ratio < 1.3  # std v * max|W|
    assert mem.targets is targets  # the noise-free targets kept: no accumulation
    xm.reprogram(mem, 0.0, seed=3)
    torch.testing.assert_close(mem.programmed_parameters()[0][0], clean[0], rtol=0, atol=0)


def test_reprogram_at_zero_is_programming_the_targets_with_that_seed():
    mem = _single()
    before = _state(mem)  # programmed with seed 0
    xm.reprogram(mem, 0.0, seed=0)
    for a, b in zip(before, _state(mem), strict=True):
        np.testing.assert_array_equal(a, b)
    ml = _multilayer()
    before = _state(ml)
    xm.reprogram(ml, 0, seed=0)
    for a, b in zip(before, _state(ml), strict=True):
        np.testing.assert_array_equal(a, b)


def test_reprogram_is_determined_by_its_seed():
    a, b = _multilayer(), _multilayer()
    xm.reprogram(a, 0.2, seed=7)
    xm.reprogram(b, 0.2, seed=7)
    for x, y in zip(_state(a), _state(b), strict=True):
        np.testing.assert_array_equal(x, y)
    xm.reprogram(b, 0.2, seed=8)
    assert not all(np.array_equal(x, y) for x, y in zip(_state(a), _state(b), strict=True))


def test_reprogram_perturbs_every_layer_of_a_multilayer_memory_not_its_biases():
    mem = _multilayer()
    xm.reprogram(mem, 0.0, seed=1)
    clean = mem.programmed_parameters()
    xm.reprogram(mem, 0.2, seed=1)
    for (w0, b0), (w1, b1) in zip(clean, mem.programmed_parameters(), strict=True):
        assert not torch.equal(w0, w1)
        torch.testing.assert_close(b0, b1)


def test_reprogram_follows_new_targets():
    """``max|W|`` is kept per seed only while the targets are the same: a memory programmed
    with other targets scales its noise by their own."""
    mem = _single()
    xm.reprogram(mem, 0.2, seed=4)
    weights, biases = _targets([16, 16], seed=9)
    mem.program([0.3 * w for w in weights], biases, seed=0)
    fresh = SingleLayerMemory(16, "rram", fault_seed=1).program(
        [0.3 * w for w in weights], biases, seed=0)
    xm.reprogram(mem, 0.2, seed=4)
    xm.reprogram(fresh, 0.2, seed=4)
    for x, y in zip(_state(mem), _state(fresh), strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(("value", "message"), [
    (1.5, r"variation must be in \[0.0, 1.0\], got 1.5"),
    (-0.1, r"variation must be in \[0.0, 1.0\], got -0.1"),
    (float("nan"), "variation must be finite"),
    (True, "variation must be a number in"),
    ("0.2", "variation must be a number in"),
])
def test_reprogram_refuses_a_bad_variation_before_programming(value, message):
    mem = _single()
    before = _state(mem)
    with pytest.raises(ConfigError, match=message):
        xm.reprogram(mem, value, seed=0)
    for a, b in zip(before, _state(mem), strict=True):
        np.testing.assert_array_equal(a, b)


def test_reprogram_refuses_other_arguments():
    with pytest.raises(ArgumentError, match="memory must be a Memory"):
        xm.reprogram(np.zeros((4, 4)), 0.1)
    with pytest.raises(ConfigError, match="seed"):
        xm.reprogram(_single(), 0.1, seed=-1)
    with pytest.raises(ConfigError, match="no trained targets"):
        xm.reprogram(SingleLayerMemory(16, "rram"), 0.1)
    with pytest.raises(ArgumentError, match="zzz"):
        xm.reprogram(_single(), 0.1, zzz=1)


def test_the_api_recipe_is_reprogram_then_evaluate_memory(pats):
    mem = xm.train(pats, rule="pinv", program_seed=0)
    protocol = xm.Protocol(probes=4, seed=0)
    plain = xm.evaluate_memory(mem, pats, protocol).cosine
    assert xm.evaluate_memory(xm.reprogram(mem, 0.0, seed=0), pats, protocol).cosine == plain
    noisy = xm.evaluate_memory(xm.reprogram(mem, 0.6, seed=0), pats, protocol).cosine
    assert noisy < plain


# ------------------------------------------------------------------------------ CLI
def _evaluate(run_cli, model, *args) -> dict:
    code, out, err = run_cli("evaluate", model, "--probes", "4", "--json", *args)
    assert code == 0, err
    return json.loads(out)


@pytest.fixture(scope="module")
def rram_model(tmp_path_factory):
    """A pinv model of 4 digits on the rram chip (write error: the programming seed shows),
    trained and programmed with seed 2."""
    path = tmp_path_factory.mktemp("variation") / "m.safetensors"
    pset = xm.load_digits(n_patterns=4)
    mem = xm.train(pset, chip="rram", rule="pinv", fault_seed=2, program_seed=2)
    return xm.save_memory(mem, path, patterns=pset)


def test_evaluate_variation_is_the_api_and_zero_is_plain_evaluate(run_cli, rram_model):
    plain = _evaluate(run_cli, rram_model, "--seed", "2")
    assert plain["variation"] is None
    zero = _evaluate(run_cli, rram_model, "--seed", "2", "--variation", "0")
    assert zero["variation"] == 0.0
    assert {k: v for k, v in zero.items() if k not in ("variation",)} == {
        k: v for k, v in plain.items() if k not in ("variation",)}
    noisy = _evaluate(run_cli, rram_model, "--seed", "2", "--variation", "0.5")
    mem, stored = xm.load_memory(rram_model), xm.load_stored_patterns(rram_model)
    api = xm.evaluate_memory(xm.reprogram(mem, 0.5, seed=2), stored, xm.Protocol(
        corruption="flip", level=0.1, probes=4, seed=2))
    assert noisy["cosine"] == api.cosine and noisy["exact"] == api.exact
    assert noisy["cosine"] != plain["cosine"]


def test_evaluate_variation_of_a_multilayer_continuous_model(run_cli, tmp_path):
    pset = xm.load_digits(kind="continuous", n_patterns=3)
    mem = xm.train(pset, arch="multilayer", hidden=16, rule="adaptive", max_steps=20,
                   finetune_steps=0)
    model = xm.save_memory(mem, tmp_path / "ml.safetensors", patterns=pset)
    plain = _evaluate(run_cli, model)
    zero = _evaluate(run_cli, model, "--variation", "0")
    assert zero["cosine"] == plain["cosine"] and zero["variation"] == 0.0
    noisy = _evaluate(run_cli, model, "--variation", "0.4", "--seed", "1")
    api = xm.evaluate_memory(xm.reprogram(xm.load_memory(model), 0.4, seed=1), pset,
                             xm.Protocol(corruption="gaussian", level=0.6, probes=4, seed=1,
                                         activation=noisy["protocol"]["activation"]))
    assert noisy["cosine"] == api.cosine != plain["cosine"]


def test_evaluate_variation_says_it_in_the_table(run_cli, rram_model):
    code, out, err = run_cli("evaluate", rram_model, "--probes", "2", "--variation", "0.25",
                             "--seed", "4")
    assert code == 0, err
    assert "variation 0.25" in out and "seed 4" in out
    code, out, err = run_cli("evaluate", rram_model, "--probes", "2")
    assert code == 0 and "variation" not in out


@pytest.mark.parametrize(("value", "message"), [
    ("1.5", "must be in [0.0, 1.0], got 1.5"), ("-0.1", "must be in [0.0, 1.0], got -0.1"),
    ("nan", "must be in [0.0, 1.0], got nan"), ("abc", "--variation")])
def test_evaluate_refuses_a_bad_variation_in_one_line(run_cli, rram_model, value, message):
    code, out, err = run_cli("evaluate", rram_model, "--variation", value)
    assert code == 2 and not out
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")
    assert message in err and "Traceback" not in err


def test_evaluate_variation_refuses_a_model_without_targets(run_cli, rram_model, tmp_path):
    """A model whose conductances were set (no target weights saved) cannot be programmed
    again: refused from its header, before torch loads it."""
    mem = xm.load_memory(rram_model)
    mem.targets = None
    bare = xm.save_memory(mem, tmp_path / "bare.safetensors",
                          patterns=xm.load_stored_patterns(rram_model))
    code, out, err = run_cli("evaluate", bare, "--variation", "0.1")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "without its target weights" in err
    assert run_cli("evaluate", bare, "--probes", "2")[0] == 0  # plain evaluate still runs


def test_a_sweep_trial_and_evaluate_variation_agree(run_cli, tmp_path):
    """The same digits, chip, seed and cues: a sweep trial of one network (``batch = 1``) and
    ``train`` + ``evaluate --variation`` give the same numbers, for a closed-form and the
    hardware-adaptive rule."""
    sweep = tmp_path / "s.toml"
    sweep.write_text('[sweep]\nname = "s"\ntrial = "evaluate"\nseeds = [3]\nbatch = 1\n\n'
                     '[base]\ndata = "digits"\nn_neurons = 64\npatterns = 4\n'
                     'selection = "first"\nprobes = 4\n\n[[grid]]\nrule = ["pinv", "adaptive"]\n'
                     'variation = [0.3]\nrule_options.adaptive.max_steps = [100]\n')
    store = tmp_path / "s.sqlite"
    code, _, err = run_cli("sweep", sweep, "--store", store, "--jobs", "1")
    assert code == 0, err
    with sqlite3.connect(store) as db:
        rows = {json.loads(c)["rule"]: json.loads(r)
                for c, r in db.execute("select config, result from trials")}
    for rule in ("pinv", "adaptive"):
        model = tmp_path / f"{rule}.safetensors"
        extra = ["--rule-option", "max_steps=100"] if rule == "adaptive" else []
        code, _, err = run_cli("train", "--data", "digits", "--neurons", "64", "--patterns", "4",
                               "--rule", rule, "--seed", "3", "--out", model, *extra)
        assert code == 0, err
        got = _evaluate(run_cli, model, "--seed", "3", "--variation", "0.3")
        assert got["cosine"] == rows[rule]["cosine"] and got["exact"] == rows[rule]["exact"]


def test_evaluate_repeats_are_the_runs_of_successive_seeds_summarised(run_cli, rram_model):
    """`evaluate --variation V` drew one programming per run; `--repeats K` programs the model
    K times, repeat k exactly the run of `--seed S + k` (a sweep's trial of that seed: write
    error, weight noise, cues), and reports the mean, std and min..max of each metric, with
    every repeat's values in JSON. One repeat is the run without the option, to the byte."""
    import statistics

    runs = [_evaluate(run_cli, rram_model, "--seed", str(s), "--variation", "0.5")
            for s in (5, 6, 7)]
    both = _evaluate(run_cli, rram_model, "--seed", "5", "--variation", "0.5", "--repeats", "3")
    assert both["repeats"] == 3 and both["seeds"] == [5, 6, 7]
    assert both["protocol"] == runs[0]["protocol"] and both["variation"] == 0.5
    fields = ("cosine", "exact", "hamming", "converged", "mean_iterations",
              "per_pattern_cosine", "cue_cosine", "outcomes")
    assert [{k: r[k] for k in fields} for r in runs] == [
        {k: r[k] for k in fields} for r in both["per_repeat"]]
    for metric in ("cosine", "exact", "hamming", "cue_cosine"):
        values = [r[metric] for r in runs]
        assert both[metric] == pytest.approx(sum(values) / 3)
        assert both["summary"][metric] == pytest.approx({
            "mean": sum(values) / 3, "std": statistics.stdev(values), "min": min(values),
            "max": max(values)})
    assert len({r["cosine"] for r in runs}) > 1  # (the repeats differ: there is a spread)
    code, out, err = run_cli("evaluate", rram_model, "--probes", "4", "--seed", "5",
                             "--variation", "0.5", "--repeats", "3")
    assert code == 0, err
    cos = both["summary"]["cosine"]
    assert "seeds 5 to 7, one per repeat" in " ".join(out.split())
    assert (f"cosine {cos['mean']:.4f} ({cos['std']:.4f}, {cos['min']:.4f}..{cos['max']:.4f})"
            in out), out
    for extra in ((), ("--json",)):
        once = [run_cli("evaluate", rram_model, "--seed", "5", "--variation", "0.5", *extra,
                        *more) for more in ((), ("--repeats", "1"))]
        assert once[0] == once[1] and once[0][0] == 0


def test_evaluate_repeats_past_the_largest_seed_say_where_the_seeds_go_on(run_cli, rram_model):
    """Seeds past 2**32 - 1 go on from 0: the line read "seeds 4294967295 to 1"."""
    code, out, err = run_cli("evaluate", rram_model, "--probes", "2", "--seed", "4294967295",
                             "--variation", "0.1", "--repeats", "3")
    assert code == 0, err
    assert "seeds 4294967295, then 0 to 1, one per repeat" in " ".join(out.split()), out


@pytest.mark.parametrize(("args", "message"), [
    (("--repeats", "2"), "--repeats applies with --variation only"),
    (("--repeats", "1"), "--repeats applies with --variation only"),
    (("--variation", "0.1", "--repeats", "0"), "--repeats"),
    (("--variation", "0.1", "--repeats", "2.5"), "--repeats")])


def test_evaluate_refuses_repeats_it_cannot_run_in_one_line(run_cli, rram_model, args,
                                                            message):
    code, out, err = run_cli("evaluate", rram_model, *args)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert err.startswith("error: ") and message in err, err
