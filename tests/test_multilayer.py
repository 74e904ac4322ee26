"""Multilayer (encoder/decoder) memories: layout, faults per layer, training, recall."""

import numpy as np
import pytest
import torch

from xbarmem.data.builtin import load_digits, load_mnist
from xbarmem.data.corruption import corrupt
from xbarmem.errors import ConfigError
from xbarmem.evaluation.evaluate import Protocol, evaluate_memory
from xbarmem.evaluation.metrics import cosine_similarity
from xbarmem.hardware.chip import load_preset
from xbarmem.hardware.faults import FaultMap
from xbarmem.learning.adaptive import AdaptiveTrainer
from xbarmem.learning.base import Problem
from xbarmem.learning.classic import get_rule
from xbarmem.learning.fit import fit_memories
from xbarmem.learning.multilayer import MultilayerTrainer, fit_multilayer
from xbarmem.memory.multilayer import MultilayerMemory, layer_sizes


def test_layers_take_consecutive_arrays_and_count_devices():
    chip = load_preset("ideal").replace_array(rows=16, cols=16)
    mem = MultilayerMemory(16, 8, chip)
    assert mem.sizes == [16, 8, 16] and mem.layout == "16-8-16"
    first, second = mem.layers
    # 16 inputs + bias row = 17 rows -> 2 row tiles; 8 inputs + bias fit one 16-row tile
    assert (first.first_array, first.n_arrays) == (0, 2)
    assert (second.first_array, second.n_arrays) == (2, 1)
    dev = mem.devices()
    assert dev["weights"] == 8 * 17 + 16 * 9
    assert dev["devices"] == 2 * dev["weights"] and dev["arrays"] == 3
    assert dev["sensed_outputs"] == 8 + 16
    assert layer_sizes(64, [32, 16]) == [64, 32, 16, 64]
    with pytest.raises(ConfigError, match="hidden"):
        MultilayerMemory(16, 0, chip)
    with pytest.raises(ConfigError, match="covers only"):
        MultilayerMemory(16, 8, chip, FaultMap.empty(2, 16, 16))


def test_each_layer_reads_its_own_part_of_the_fault_map():
    chip = load_preset("rram").replace_array(rows=8, cols=8).with_faults(0.0)
    faults = FaultMap.empty(4, 8, 8)
    faults.g_stuck[1, 0, 3, 1] = chip.device.g_max  # array 1 = second layer, row 3, col 1 on G+
    mem = MultilayerMemory(7, 4, chip, faults)  # 7 inputs + bias = 8 rows: one array per layer
    assert [layer.n_arrays for layer in mem.layers] == [1, 1]
    assert not mem.layers[0].stuck.any()
    stuck = mem.layers[1].stuck
    assert stuck.sum() == 1 and stuck[0, 1, 3]  # logical (polarity, output=col, input=row)
    lo, hi = mem.bounds()[1]
    assert lo[1, 3] >= 0  # a stuck-ON G+ forbids negative weights


def test_training_makes_stored_patterns_fixed_points_with_faults_pinned_per_layer():
    pool = load_mnist(side=6, n_patterns=6)  # N = 36
    chip = load_preset("paper-sim").with_faults(0.3)
    mem = MultilayerMemory(36, 24, chip, fault_seed=3)
    trainer = MultilayerTrainer(max_steps=400, finetune_steps=100, seed=1)
    (info,) = fit_memories(trainer, torch.tensor(pool.patterns), [mem])
    assert info["fixed_points"] and info["arch"] == "36-24-36"
    x = torch.tensor(pool.patterns)
    res = mem.recall(x, max_iterations=5)
    assert torch.equal(res.states, x) and bool(res.converged.all())
    for layer, weights in zip(mem.layers, mem.weights, strict=True):
        faulty = torch.as_tensor(layer.stuck.all(axis=0)[:, : layer.n_in])
        assert faulty.any() and (weights[faulty] == 0).all()  # pinned at 0 in every layer


def test_fit_rejects_classic_rules_and_mismatched_patterns():
    mem = MultilayerMemory(16, 4, "paper-sim")
    with pytest.raises(ConfigError, match="single-layer"):
        fit_memories(get_rule("hebb"), torch.ones(2, 16), [mem])
    with pytest.raises(ConfigError, match="N=8"):
        fit_memories(MultilayerTrainer(max_steps=5), torch.ones(2, 8), [mem])
    with pytest.raises(ConfigError, match="warm_start"):
        MultilayerTrainer(warm_start=True)
    with pytest.raises(ConfigError, match="warm_start"):
        fit_memories(AdaptiveTrainer(warm_start=True), torch.ones(2, 16), [mem])
    with pytest.raises(ConfigError, match="architecture"):
        fit_memories(AdaptiveTrainer(), torch.ones(2, 16), [mem, MultilayerMemory(16, 5)])


def test_one_adaptive_rule_fits_single_and_multilayer_problems_and_reports_their_options():
    rule = get_rule("adaptive", objective="fixed-point", max_steps=20)
    x = torch.tensor(load_digits(n_patterns=3).patterns)
    single = rule.fit(Problem.of(x))
    multi = rule.fit(Problem.of(x, sizes=[64, 8, 64]))
    assert [w.shape for w in single.weights] == [(1, 64, 64)]
    assert [w.shape for w in multi.weights] == [(1, 8, 64), (1, 64, 8)]
    assert "init_scale" not in rule.options() and rule.options()["lr"] == 1e-2
    assert rule.options(2)["lr"] == 1e-3 and rule.options(2)["optimizer"] == "rmsprop"
    assert rule.lr is None  # the trainer itself is never changed by fitting


def test_fit_multilayer_is_a_deprecated_alias():
    mem = MultilayerMemory(16, 4, "paper-sim")
    with pytest.warns(DeprecationWarning, match="fit_memories") as record:
        (info,) = fit_multilayer(MultilayerTrainer(max_steps=5, finetune_steps=0),
                                 torch.ones(2, 16), [mem])
    assert info["arch"] == "16-4-16"
    # the warning names the caller's line (a filter by module matches the user's code), not
    # the keyword-checking wrapper in xbarmem/checks.py
    assert [w.filename for w in record] == [__file__]


def test_continuous_recall_improves_a_noisy_cue():
    pool = load_digits(kind="continuous", n_patterns=5)
    mem = MultilayerMemory(64, 32, "paper-sim")
    trainer = MultilayerTrainer(max_steps=600, cue_noise=0.6, seed=0)
    fit_memories(trainer, torch.tensor(pool.patterns), [mem], kind="continuous")
    x = torch.tensor(pool.patterns)
    gen = torch.Generator().manual_seed(0)
    cues = corrupt(x, "gaussian", 0.6, gen)
    before = cosine_similarity(cues, x).mean()
    after = cosine_similarity(mem.recall(cues, activation="tanh").states, x).mean()
    assert after > before + 0.1 and after > 0.9


def test_batched_multilayer_networks_with_padding_match_shapes_and_score():
    pool = load_digits(n_patterns=12)
    mems = [MultilayerMemory(64, 16, "paper-sim") for _ in range(2)]
    padded = torch.zeros(2, 8, 64)
    padded[0, :4] = torch.tensor(pool.patterns[:4])
    padded[1] = torch.tensor(pool.patterns[4:12])
    trainer = MultilayerTrainer(max_steps=300, finetune_steps=50)
    infos = fit_memories(trainer, padded, mems, counts=torch.tensor([4, 8]))
    assert [i["steps"] > 0 for i in infos] == [True, True]
    score = evaluate_memory(mems[0], pool.subset(np.arange(4)), Protocol(level=0.05, probes=4))
    assert score.cosine > 0.95
    # each synchronous step reads every layer once; async reads one output per neuron update
    res = mems[0].recall(torch.tensor(pool.patterns[:4]), mode="async", max_iterations=3)
    assert (res.reads == res.iterations * 64).all()


def test_multilayer_model_file_round_trip_recalls_identically(tmp_path):
    from xbarmem.memory.io import load_memory, save_memory

    pool = load_digits(n_patterns=4)
    chip = load_preset("rram").with_faults(0.2)
    mem = MultilayerMemory(64, [16, 12], chip, fault_seed=2)
    fit_memories(MultilayerTrainer(max_steps=100, finetune_steps=0), torch.tensor(
        pool.patterns), [mem], program_seed=5)
    path = save_memory(mem, tmp_path / "m.safetensors", patterns=pool)
    back = load_memory(path)
    assert isinstance(back, MultilayerMemory) and back.layout == "64-16-12-64"
    for a, b in zip(mem.layers, back.layers, strict=True):
        assert np.array_equal(a.g_pos, b.g_pos) and a.w_max == b.w_max
    cues = corrupt(torch.tensor(pool.patterns), "flip", 0.1, torch.Generator().manual_seed(1))
    assert torch.equal(mem.recall(cues, seed=3).states, back.recall(cues, seed=3).states)
    assert back.info["arch"] == "64-16-12-64"


def test_train_and_evaluate_commands_accept_multilayer(tmp_path, run_cli):
    import json

    model = tmp_path / "ml.safetensors"
    code, out, err = run_cli("train", "--arch", "multilayer", "--hidden", "16", "--data",
                             "digits", "--patterns", "5", "--rule-option", "max_steps=200",
                             "--rule-option", "finetune_steps=0", "-o", model, "--json")
    assert code == 0, err
    assert json.loads(out)["devices"]["devices"] == 2 * (16 * 65 + 64 * 17)
    code, out, err = run_cli("evaluate", model, "--level", "0.05", "--probes", "2", "--json")
    assert code == 0, err
    assert json.loads(out)["cosine"] > 0.9
    code, _, err = run_cli("train", "--arch", "multilayer", "--rule", "pinv", "-o",
                           tmp_path / "x.safetensors")
    assert code == 2 and "hardware-adaptive rule only" in err
    # scaling's default --arch is multilayer: the message names the option the user did not
    # type (it said only "multilayer memories are trained by ... not 'hebb'"), and says it is
    # the command's default where the user gave no --arch
    code, _, err = run_cli("capacity", "--arch", "single,multilayer", "--rule", "hebb")
    assert code == 2 and err.strip() == (
        "error: --rule hebb: multilayer memories (--arch multilayer) are trained by the "
        "hardware-adaptive rule only; give --arch single for 'hebb'"), err
    code, _, err = run_cli("scaling", "--sizes", "16", "--rule", "hebb")
    assert code == 2 and err.strip() == (
        "error: --rule hebb: this command's default --arch is multilayer, whose memories are "
        "trained by the hardware-adaptive rule only; give --arch single for 'hebb'"), err


@pytest.mark.parametrize("build", [
    lambda h: MultilayerMemory(16, h),
    lambda h: layer_sizes(16, h),
    lambda h: __import__("xbarmem").train(np.ones((2, 16)), arch="multilayer", hidden=h,
                                          max_steps=2, finetune_steps=0),
], ids=["MultilayerMemory", "layer_sizes", "train"])
@pytest.mark.parametrize("hidden", [8.5, 8.0, "8.5", np.float64(8), [8.0], True])
def test_hidden_widths_that_are_not_integers_are_refused_naming_hidden(build, hidden):
    """hidden=8.5 or 8.0 gave 'TypeError: object is not iterable' (train too); now a
    ConfigError naming hidden, before any training. (The text "8" is a width, as a sweep's
    hidden and --hidden take it: tests/test_hidden_words.py.)"""
    with pytest.raises(ConfigError, match="^hidden"):
        build(hidden)


@pytest.mark.parametrize("hidden", [np.int64(8), [np.int32(8)], (8,), np.array([8])])
def test_hidden_widths_may_be_numpy_integers(hidden):
    """MultilayerMemory(16, np.int64(8)) gave 'TypeError: object is not iterable'."""
    sizes = MultilayerMemory(16, hidden, "ideal").sizes
    assert sizes == [16, 8, 16] and all(type(s) is int for s in sizes)


@pytest.mark.parametrize(("n", "bias", "hint"), [(16, True, True), (16, False, False),
                                                  (24, True, False)])
def test_a_map_too_small_for_a_matrix_says_whether_dropping_the_bias_row_fits(n, bias, hint):
    """A 16x16 array holds a 16-neuron matrix only without its bias row: the refusal says so
    (and says 'incl. bias row' only when there is one); at 24 neurons no hint is given."""
    from xbarmem.hardware.crossbar import Crossbar

    chip = load_preset("rram").replace_array(rows=16, cols=16).with_faults(0.0)
    fmap = FaultMap.empty(1, 16, 16)
    if not bias and n == 16:
        assert Crossbar(chip, n, n, fmap, bias=False).n_arrays == 1
        with pytest.raises(ConfigError, match="covers only") as err:
            Crossbar(chip, n, n, fmap, bias=False, first_array=1)
    else:
        with pytest.raises(ConfigError, match="covers only") as err:
            Crossbar(chip, n, n, fmap, bias=bias)
    message = str(err.value)
    assert ("incl. bias row" in message) is bias
    assert ("without the bias row (bias=False) it fits" in message) is hint


@pytest.mark.parametrize("build", [
    lambda chip: MultilayerMemory(16, 8, chip, first_array=3),
    lambda chip: __import__("xbarmem").Memory([16, 8, 16], chip, first_array=3)])
def test_a_multilayer_memory_keeps_its_placement_through_rebuild_save_and_export(
        tmp_path, build):
    """``first_array`` is part of the one Memory interface: a multilayer memory placed after
    array 0 (as a single-layer one may be) keeps its arrays when rebuilt, saved and loaded,
    or exported and read back (a saved file was loaded at array 0, on other arrays' faults,
    and an export's read-back was refused)."""
    from xbarmem.deploy.export import export_memory
    from xbarmem.deploy.reload import load_export
    from xbarmem.memory.io import load_memory, save_memory

    chip = load_preset("rram").replace_array(rows=32, cols=32).with_faults(0.3)
    mem = build(chip)
    assert [layer.first_array for layer in mem.layers] == [3, 4]
    assert mem.faults.n_arrays == 5
    rng = np.random.default_rng(0)
    patterns = torch.as_tensor(np.where(rng.random((3, 16)) < 0.5, -1.0, 1.0), dtype=torch.float32)
    fit_memories(MultilayerTrainer(max_steps=20, finetune_steps=0), patterns, [mem])
    assert [ly.first_array for ly in mem.rebuild(mem.faults).layers] == [3, 4]
    back = load_memory(save_memory(mem, tmp_path / "m.safetensors"))
    assert [layer.first_array for layer in back.layers] == [3, 4]
    for a, b in zip(mem.layers, back.layers, strict=True):
        assert np.array_equal(a.stuck, b.stuck)
    export_memory(mem, tmp_path / "export")
    again = load_export(tmp_path / "export")
    assert [layer.first_array for layer in again.layers] == [3, 4]


def test_the_widths_label_is_layout_and_arch_is_its_deprecated_name():
    """``arch`` is the word ``single`` / ``multilayer`` everywhere an argument or a model
    file's metadata takes it (a memory's ``architecture``); the memory's widths label is
    ``layout`` (``arch`` still gives it, with a DeprecationWarning)."""
    chip = load_preset("ideal")
    single = __import__("xbarmem").SingleLayerMemory(16, chip)
    multi = MultilayerMemory(16, [8, 4], chip).rebuild(FaultMap.empty(3, 64, 64))
    assert (single.layout, multi.layout) == ("16", "16-8-4-16")
    assert (single.architecture, multi.architecture) == ("single", "multilayer")
    for mem in (single, multi):
        with pytest.warns(DeprecationWarning, match="Memory.layout"):
            assert mem.arch == mem.layout
