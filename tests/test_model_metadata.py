"""Metadata of a saved model that is read after loading, edited by hand: ``info.adapt`` (read
again by the next chip-in-the-loop adaptation) is checked when the file is loaded, naming the
key; ``info.rule_options`` (read by the rule that re-trains the model) is refused by that rule
before any work, naming the model file and ``info.rule_options``, not the user's options;
saved patterns of another kind than the memory's (``extra.patterns.kind`` / ``info.kind``)
are refused on load by every command, and never written by ``save_memory``; a file without
``info.kind`` is read by every command as its saved patterns' kind (``recall`` and ``export``
took binary); patterns of another kind than the memory's are refused by every API entry
point that takes them with a memory (``evaluate_memory``, ``export_memory``, ``adapt``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import refused, with_metadata
from xbarmem import PatternSet, random_patterns, train
from xbarmem.deploy.backend import SimulatedChip
from xbarmem.deploy.chip_loop import adapt, adapt_read_back, default_trainer
from xbarmem.deploy.export import export_memory
from xbarmem.errors import ConfigError, FileFormatError, PatternError
from xbarmem.evaluation.evaluate import Protocol, evaluate_many, evaluate_memory
from xbarmem.memory.io import (
    load_memory,
    load_stored_patterns,
    read_metadata,
    save_memory,
    saved_patterns,
)


@pytest.fixture(scope="module")
def model(small_model):
    return small_model


def _edited(model, tmp_path, edit):
    """A copy of ``model`` whose metadata ``edit(meta)`` changed in place."""
    path = tmp_path / "edited.safetensors"
    path.write_bytes(with_metadata(model.read_bytes(), edit))
    return path


ADAPT = {"a text": ("x", "info.adapt must be a table"),
         "read_backs text": ({"read_backs": "x"}, "info.adapt.read_backs must be an integer"),
         "read_backs list": ({"read_backs": [1]}, "info.adapt.read_backs must be an integer"),
         "read_backs negative": ({"read_backs": -5}, "info.adapt.read_backs must be an integer"),
         "read_backs float": ({"read_backs": 1.5}, "info.adapt.read_backs must be an integer")}


@pytest.mark.parametrize("case", sorted(ADAPT))
def test_info_adapt_is_checked_when_the_model_is_loaded(case, model, tmp_path, run_cli):
    value, words = ADAPT[case]
    path = _edited(model, tmp_path, lambda m: m["info"].update(adapt=value))
    for read in (load_memory, read_metadata):
        with pytest.raises(FileFormatError, match=words):
            read(path)
    cues = tmp_path / "cues.npy"
    np.save(cues, np.ones((2, 16)))
    message = refused(run_cli, tmp_path, "recall", path, cues, "-o", tmp_path / "s.npy")
    assert str(path) in message and words in message


def test_info_adapt_as_adaptation_writes_it_still_loads(model, tmp_path):
    path = _edited(model, tmp_path, lambda m: m["info"].update(
        adapt={"read_backs": 2, "read_back_cosine": 0.9, "tolerance_S": 3e-6}))
    assert load_memory(path).info["adapt"]["read_backs"] == 2


OPTIONS = {"lr text": ("lr", "x"), "lr negative": ("lr", -1.0),
           "unknown option": ("no_such_option", 1), "max_steps 0": ("max_steps", 0),
           "seed huge": ("seed", 2**70)}


@pytest.mark.parametrize("case", sorted(OPTIONS))
def test_the_models_own_trainer_options_are_refused_naming_the_file(case, model, tmp_path,
                                                                    run_cli):
    key, value = OPTIONS[case]
    path = _edited(model, tmp_path, lambda m: m["info"]["rule_options"].update({key: value}))
    memory = load_memory(path)
    with pytest.raises(FileFormatError, match="info.rule_options of the memory"):
        default_trainer(memory)
    message = refused(run_cli, tmp_path, "adapt", path, "--rounds", "1", "--probes", "1")
    assert str(path) in message and "info.rule_options" in message and key in message
    if key != "no_such_option":  # an option given replaces the model's own
        assert default_trainer(memory, **{key: load_memory(model).info["rule_options"][key]})


def test_a_bad_option_given_is_still_the_users_error(model):
    with pytest.raises(ConfigError) as info:
        default_trainer(load_memory(model), lr="x")
    assert not isinstance(info.value, FileFormatError) and "info.rule_options" not in str(
        info.value)


KINDS = {"patterns continuous": ("extra", "patterns", "continuous"),
         "memory continuous": ("info", None, "continuous")}


@pytest.mark.parametrize("case", sorted(KINDS))
def test_saved_patterns_of_another_kind_than_the_memory_are_refused_on_load(case, model,
                                                                            tmp_path, run_cli):
    """A binary memory saved with continuous patterns (or the reverse) evaluated with tanh
    and recalled with sign, then ``adapt`` refused after a round, naming no file."""
    section, sub, kind = KINDS[case]

    def edit(meta):
        (meta[section][sub] if sub else meta[section])["kind"] = kind

    path = _edited(model, tmp_path, edit)
    words = "contradicts info.kind"
    for read in (load_memory, read_metadata, load_stored_patterns, saved_patterns):
        with pytest.raises(FileFormatError, match=words):
            read(path)
    cues = tmp_path / "cues.npy"
    np.save(cues, np.ones((2, 16)))
    for args in (["evaluate", path, "--probes", "1"], ["recall", path, cues],
                 ["export", path, "-o", tmp_path / "out"],
                 ["adapt", path, "--rounds", "1", "--probes", "1", "--log", tmp_path / "l.jsonl"]):
        message = refused(run_cli, tmp_path, *args)
        for word in (str(path), "extra.patterns.kind", "info.kind"):
            assert word in message, (args, word, message)


def test_save_memory_writes_patterns_of_the_memorys_kind_only(model, tmp_path):
    memory, stored = load_memory(model), load_stored_patterns(model)
    other = PatternSet(stored.patterns, "continuous", "mine")
    with pytest.raises(PatternError, match="patterns are a continuous set, but the memory was "
                                           r"trained for binary patterns \(memory.info"):
        save_memory(memory, tmp_path / "m.safetensors", patterns=other)
    assert not (tmp_path / "m.safetensors").exists()
    memory.info = {**memory.info, "kind": "continuous"}  # a matrix is read as the memory's kind
    path = save_memory(memory, tmp_path / "c.safetensors", patterns=stored.patterns)
    assert load_stored_patterns(path).kind == "continuous"
    memory.info = {k: v for k, v in memory.info.items() if k != "kind"}  # no kind: as before
    path = save_memory(memory, tmp_path / "n.safetensors", patterns=other)
    assert load_stored_patterns(path).kind == "continuous"


@pytest.fixture(scope="module")
def continuous(tmp_path_factory):
    """A continuous Hebb model (16 neurons) saved with its patterns, then a copy of it whose
    metadata has no ``info.kind`` (a hand-made or old file)."""
    pset = random_patterns(3, 16, kind="continuous", seed=4)
    memory = train(pset, chip="rram", rule="hebb", fault_seed=1)
    folder = tmp_path_factory.mktemp("continuous")
    full = save_memory(memory, folder / "c.safetensors", patterns=pset)
    return full, _edited(full, folder, lambda m: m["info"].pop("kind"))


def test_a_model_without_info_kind_is_read_as_its_saved_patterns_kind(continuous, tmp_path,
                                                                      run_cli):
    full, bare = continuous
    assert "kind" not in read_metadata(bare)["info"]
    assert load_memory(bare).info["kind"] == "continuous" == load_memory(full).info["kind"]
    cues = tmp_path / "cues.npy"
    np.save(cues, np.linspace(-0.9, 0.9, 32, dtype=np.float32).reshape(2, 16))
    code, out, err = run_cli("recall", bare, cues, "--json")  # took binary: "only -1 and +1"
    assert code == 0, err
    assert json.loads(out)["cues"] == 2
    code, _, err = run_cli("export", bare, "-o", tmp_path / "out")
    assert code == 0, err
    recall = json.loads((tmp_path / "out" / "manifest.json").read_text())["recall"]
    assert (recall["kind"], recall["activation"]) == ("continuous", "tanh")
    code, out, err = run_cli("evaluate", bare, "--probes", "1", "--json")
    assert code == 0, err
    assert json.loads(out)["protocol"]["activation"] == "tanh"


def test_a_model_without_kind_or_patterns_is_binary(model, tmp_path, run_cli):
    memory = load_memory(model)
    memory.info = {k: v for k, v in memory.info.items() if k != "kind"}
    path = save_memory(memory, tmp_path / "bare.safetensors")
    assert "kind" not in load_memory(path).info  # the file's info as it was written
    cues = tmp_path / "cues.npy"
    np.save(cues, np.full((2, 16), 0.5))  # (a binary model takes cues in [-1, 1])
    code, _, err = run_cli("recall", path, cues, "-o", tmp_path / "states.npy")
    assert code == 0, err
    states = np.load(tmp_path / "states.npy")
    assert set(np.unique(states)) <= {-1.0, 1.0}, states  # sign neurons: a binary memory
    np.save(cues, np.full((2, 16), 1.5))
    message = refused(run_cli, tmp_path, "recall", path, cues)
    assert "must lie in [-1, 1]" in message


def test_the_api_refuses_patterns_of_another_kind_than_the_memory(model, continuous,
                                                                  tmp_path):
    binary = load_memory(model), load_stored_patterns(model)
    other = load_memory(continuous[0]), load_stored_patterns(continuous[0])
    for (memory, _), (_, patterns) in ((binary, other), (other, binary)):
        words = (f"patterns are a {patterns.kind} set, but the memory was trained for "
                 f"{memory.info['kind']} patterns")
        with pytest.raises(PatternError, match=words):
            evaluate_memory(memory, patterns)
        with pytest.raises(PatternError, match=words):
            evaluate_many([memory], [patterns], [Protocol()])
        with pytest.raises(PatternError, match=words):
            export_memory(memory, tmp_path / "out", patterns=patterns)
        assert not (tmp_path / "out").exists()
        chip = SimulatedChip.like(memory.layers[0], seed=3)
        for run in (adapt, adapt_read_back):
            with pytest.raises(PatternError, match=words):
                run(memory, chip, patterns)
    memory, patterns = other  # a matrix is read as the memory's kind
    assert evaluate_memory(memory, patterns.patterns).cosine == pytest.approx(
        evaluate_memory(memory, patterns).cosine)
