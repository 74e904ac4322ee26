"""A pattern .npz of several arrays, none named ``patterns`` or ``images``, is refused saying
how the caller in that place chooses one, in its own words: a command's ``--key NAME``, a
sweep's ``data_key = NAME``, the Python keyword ``key=NAME``. Before, every reader said all
three at once (``--key NAME (Python: key=...; sweep file: data_key = NAME)``), so a sweep was
told of a ``--key`` it has not and a command of a sweep field."""

from __future__ import annotations

import json

import pytest
from conftest import refused

from tests.test_chip_loop_recheck import _two_arrays  # (an .npz of arrays train, test)
from xbarmem.data.readers import (
    arrays_chosen_by,
    file_neuron_count,
    file_pattern_count,
    load_file,
    load_file_neurons,
)
from xbarmem.data.sources import load_patterns, patterns_for, sized_source
from xbarmem.energy.measure import measure
from xbarmem.errors import ConfigError, FileFormatError
from xbarmem.evaluation.scaling import run_scaling
from xbarmem.experiments.sweep import parse_sweep

#: the words of each place, and those of the others it must not say
_CLI, _API, _SWEEP = "choose one with --key NAME", "choose one with key=NAME", "data_key = NAME"
_WORDS = (_CLI, _API, _SWEEP, "data_key", "--key", "key=")


def _only(line: str, said: str) -> None:
    """``line`` names the arrays and says ``said``, and no other place's words."""
    assert "holds 2 arrays" in line and "'train', 'test'" in line, line
    assert said in line, line
    for other in _WORDS:
        if other not in said:
            assert other not in line, (other, line)


_COMMANDS = {
    "train": ["train", "--rule", "hebb", "--chip", "ideal", "-o", "out.safetensors", "--data"],
    "train --neurons": ["train", "--rule", "hebb", "--neurons", "16", "-o", "out.safetensors",
                        "--data"],
    "capacity": ["capacity", "--rule", "hebb", "--trials", "1", "--probes", "2", "--data"],
    "scaling": ["scaling", "--arch", "single", "--rule", "hebb", "--sizes", "16", "--trials",
                "1", "--out", "o", "--data"],
    "energy": ["energy", "--rule", "hebb", "--probes", "2", "--data"],
    "energy --patterns": ["energy", "--rule", "hebb", "--patterns", "3", "--data"],
}


@pytest.mark.parametrize("command", list(_COMMANDS))
def test_a_command_names_its_key_option(run_cli, tmp_path, monkeypatch, command):
    """Each command reading a --data file names its ``--key NAME`` (not the sweep field, not
    the Python keyword), refused in one line before any work."""
    monkeypatch.chdir(tmp_path)
    line = refused(run_cli, tmp_path, *_COMMANDS[command], _two_arrays(tmp_path))
    _only(line, _CLI)


def test_recall_names_its_key_of_the_cues(run_cli, tmp_path):
    """``recall MODEL CUES`` of a cues .npz of several arrays names recall's ``--key NAME``
    (the array of CUES), and reads the one it names."""
    two = _two_arrays(tmp_path)
    model = tmp_path / "m.safetensors"
    code, _, err = run_cli("train", "--data", two, "--key", "train", "--rule", "hebb",
                           "--chip", "ideal", "-o", model)
    assert code == 0, err
    _only(refused(run_cli, tmp_path, "recall", model, two), _CLI)
    code, out, err = run_cli("recall", model, two, "--key", "test")
    assert code == 0 and "3 cues" in out, err


@pytest.mark.parametrize("read", [
    load_patterns, load_file, lambda p: patterns_for(p, 16), lambda p: sized_source(p),
    lambda p: load_file_neurons(p, 16), file_neuron_count, file_pattern_count])
def test_the_python_readers_name_the_key_argument(tmp_path, read):
    """Every Python reader of a file path says ``key=NAME``, its own argument."""
    with pytest.raises(FileFormatError) as err:
        read(_two_arrays(tmp_path))
    _only(str(err.value), _API)


def _sweep(data) -> dict:
    return {"sweep": {"name": "k", "trial": "evaluate", "seeds": 1},
            "base": {"data": str(data), "n_neurons": 16, "patterns": 3, "selection": "first",
                     "probes": 2, "rule": "pinv"}}


def test_a_sweep_names_its_data_key_field(run_cli, tmp_path):
    """A sweep (Python ``parse_sweep`` and ``xbarmem sweep``, ``--dry-run`` too) says its
    field ``data_key = NAME``, not ``--key``, which the sweep command has not."""
    tables = _sweep(_two_arrays(tmp_path))
    with pytest.raises(ConfigError) as err:
        parse_sweep(tables)
    _only(str(err.value), _SWEEP)
    toml = tmp_path / "s.toml"
    toml.write_text("\n".join(f"[{name}]\n" + "\n".join(f"{k} = {json.dumps(v)}"
                                                        for k, v in table.items())
                              for name, table in tables.items()) + "\n")
    for extra in ((), ("--dry-run",)):
        _only(refused(run_cli, tmp_path, "sweep", toml, "--store", tmp_path / "s.sqlite",
                      *extra), _SWEEP)


@pytest.mark.parametrize("words", [None, "--array NAME"])
def test_a_place_says_its_own_words_or_that_none_can_be_chosen(tmp_path, words):
    """Within :func:`arrays_chosen_by` the refusal says the caller's words; None (a place with
    no way to choose) says so and which names it reads, naming the arrays; after the block the
    Python words are back."""
    path = _two_arrays(tmp_path)
    with arrays_chosen_by(words), pytest.raises(FileFormatError) as err:
        load_file(path)
    line = str(err.value)
    if words is None:
        assert "no other can be chosen here" in line and "as 'patterns'" in line, line
        _only(line, "none is named 'patterns' or 'images'")
    else:
        assert f"choose one with {words}," in line, line
    with pytest.raises(FileFormatError, match="choose one with key=NAME"):
        load_file(path)


@pytest.mark.parametrize("read", [
    load_patterns, load_file, lambda p, key: patterns_for(p, 16, key=key),
    lambda p, key: sized_source(p, key=key), lambda p, key: load_file_neurons(p, 16, key=key),
    file_neuron_count, file_pattern_count,
    lambda p, key: measure(16, data=p, rule="hebb", key=key),
    lambda p, key: run_scaling([16], arch="single", rule="hebb", data=p, key=key)],
    ids=["load_patterns", "load_file", "patterns_for", "sized_source", "load_file_neurons",
         "file_neuron_count", "file_pattern_count", "energy.measure", "run_scaling"])
def test_a_python_reader_told_of_key_takes_it(tmp_path, read):
    """Every Python function that reads a data file and, given an .npz of several arrays, says
    ``choose one with key=NAME`` takes ``key``: an array the file has not is refused naming
    the ones it has, before any work (``run_scaling`` said ``key=NAME`` and had no ``key``)."""
    with pytest.raises(FileFormatError, match="no array named 'nope'.*'train'"):
        read(_two_arrays(tmp_path), key="nope")
