"""The Python API as a demanding scikit-learn / PyTorch user meets it: copies of objects made
with ``dataclasses.replace`` that kept a default resolved for other values, an export of no
rows that wrote an empty file over the last one, and the inputs, copies and files of the
README's examples."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import io
import json
import pickle

import numpy as np
import pytest

import xbarmem as xm
from xbarmem.errors import ConfigError, FileFormatError
from xbarmem.evaluation.evaluate import as_protocol
from xbarmem.experiments.store import ResultStore


# --------------------------------------------------------------------------- protocol levels
@pytest.mark.parametrize("corruption, level", [("gaussian", 0.6), ("occlude", 0.6),
                                               ("salt-pepper", 0.1)])
def test_a_protocol_copied_with_another_corruption_takes_its_default_level(corruption, level):
    """``replace(Protocol(), corruption="gaussian")`` kept flip's 0.1 where
    ``Protocol(corruption="gaussian")`` takes 0.6: a level the user never asked for."""
    made = xm.Protocol(corruption=corruption)
    assert made.level == level
    assert dataclasses.replace(xm.Protocol(), corruption=corruption) == made
    assert dataclasses.replace(xm.Protocol().reseeded(3), corruption=corruption).level == level
    for kept in (copy.deepcopy(xm.Protocol()), pickle.loads(pickle.dumps(xm.Protocol()))):
        assert dataclasses.replace(kept, corruption=corruption).level == level
    # as_protocol's copy for continuous patterns: its default level follows a corruption too
    cont = as_protocol(None, kind="continuous")
    assert (cont.corruption, cont.level) == ("gaussian", 0.6)
    assert dataclasses.replace(cont, corruption="flip").level == 0.1


def test_a_level_given_is_kept_by_copies_and_the_default_reads_as_before():
    given = xm.Protocol(level=0.2)
    assert dataclasses.replace(given, corruption="gaussian").level == 0.2
    # a level given equal to the default is a level given
    assert dataclasses.replace(xm.Protocol(), corruption="gaussian", level=0.1).level == 0.1
    default = xm.Protocol()
    assert default.level == 0.1 and "level=0.1," in repr(default)
    record = default.as_dict()
    assert record["level"] == 0.1 and type(record["level"]) is float
    assert json.loads(json.dumps(record)) == record
    assert xm.Protocol(**record) == default
    with pytest.raises(ConfigError, match="level is required with corruption"):
        dataclasses.replace(default, corruption=lambda x, level, generator: x)


def test_a_fault_map_copied_with_other_conductances_resolves_its_pinned_devices_again():
    """``replace(fault_map, g_stuck=...)`` of another shape was refused: the all-False pinned
    mask resolved from None for the first shape was copied as if given."""
    fm = xm.FaultMap.generate(xm.load_preset("rram"), 2, seed=0)
    one = dataclasses.replace(fm, g_stuck=fm.g_stuck[:1])
    assert one.n_arrays == 1 and one.pinned.shape == one.g_stuck.shape and not one.pinned.any()
    pinned = np.zeros(fm.g_stuck.shape, dtype=bool)
    pinned[np.unravel_index(np.flatnonzero(~np.isnan(fm.g_stuck))[0], fm.g_stuck.shape)] = True
    held = xm.FaultMap(fm.g_stuck, fm.meta, pinned)
    with pytest.raises(FileFormatError, match="pinned must be a 0/1"):
        dataclasses.replace(held, g_stuck=fm.g_stuck[:1])  # pinned devices given: kept


# --------------------------------------------------------------------------- exports
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("where, which", [((), "are stored yet"),
                                          (["rule=pinv2"], "match the filters")])
def test_an_export_of_no_rows_raises_and_keeps_the_last_file(tmp_path, suffix, where, which):
    """``ResultStore.export`` of no rows wrote an empty file over the last export, where
    ``xbarmem results --csv`` refuses."""
    path = tmp_path / "s.sqlite"
    target = tmp_path / f"rows{suffix}"
    target.write_text("the last export\n")
    with ResultStore(path) as store:
        with pytest.raises(ConfigError, match=f"no rows {which}, nothing to write "
                                              r"\(sweeps in this store: none\)"):
            store.export(target, where)
        stream = io.StringIO()
        with pytest.raises(ConfigError, match=f"no rows {which}"):
            store.write_csv(stream, where)
    assert target.read_text() == "the last export\n" and stream.getvalue() == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"rows{suffix}", "s.sqlite"]


def test_a_closed_store_says_so_in_the_projects_error(tmp_path):
    """A store used after ``close()`` or its ``with`` block raised sqlite3's
    ``ProgrammingError: Cannot operate on a closed database``."""
    with ResultStore(tmp_path / "s.sqlite") as store:
        pass
    for use in (store.rows, store.sweeps, store.table,
                lambda: store.export(tmp_path / "rows.csv")):
        with pytest.raises(ConfigError, match=r"s\.sqlite is closed \(used after close\(\) or "
                                              r"its with block\): open it again"):
            use()
    store.close()  # again: nothing
    assert repr(store).endswith(", closed)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.sqlite"]


# --------------------------------------------------------------------------- arguments
def memory_patterns():
    return xm.random_patterns(3, 16, seed=0)


@pytest.fixture(scope="module")
def memory():
    return xm.train(memory_patterns(), chip="rram", rule="pinv")


def _methods(obj):
    """The public methods of ``obj`` (bound; class and static methods too), by name, read
    without touching its properties (some warn)."""
    return {name: getattr(obj, name) for name in dir(type(obj)) if not name.startswith("_")
            and isinstance(inspect.getattr_static(type(obj), name),
                           staticmethod | classmethod | type(_methods))}


def test_every_public_method_names_an_unknown_keyword(memory, tmp_path):
    """``memory.program(seed=1)``, ``store.rows(wher=...)``, ``chip.to_toml(indent=2)``,
    ``protocol.reseeded(ofset=1)`` raised Python's bare ``TypeError``; the functions and
    ``recall`` raised :class:`ArgumentError` naming the closest keyword."""
    store = ResultStore(tmp_path / "s.sqlite")
    objects = [memory, xm.train(memory_patterns(), chip="ideal", rule="adaptive",
                                arch="multilayer", hidden=4, max_steps=2),
               store, xm.Protocol(), memory.faults, memory.crossbar, xm.load_preset("rram"),
               xm.AdaptiveTrainer(), xm.get_rule("perceptron"),
               xm.evaluate_memory(memory, memory_patterns())]
    checked, bare = 0, []
    for obj in objects:
        for name, method in _methods(obj).items():
            if any(p.kind is p.VAR_KEYWORD
                   for p in inspect.signature(method).parameters.values()):
                continue  # (checks its keywords itself: replace(**changes))
            try:
                method(zzz=1)
            except xm.ArgumentError as exc:
                assert "unknown keyword argument 'zzz'" in str(exc), (name, exc)
                checked += 1
            except TypeError:
                bare.append(f"{type(obj).__name__}.{name}")
    store.close()
    assert not bare and checked > 60, bare


def test_arguments_that_do_not_fit_raise_argument_error_in_pythons_words(memory):
    """``xm.train(patterns, "rram")`` (the chip by position) raised a bare ``TypeError``."""
    patterns = memory_patterns()
    for call, words in (
            (lambda: xm.train(patterns, "rram"), r"train\(\) takes 1 positional argument "
                                                 r"but 2 were given"),
            (lambda: xm.train(), r"train\(\) missing 1 required positional argument: "
                                 r"'patterns'"),
            (lambda: xm.get_rule(), "missing 1 required positional argument: 'name'"),
            (lambda: memory.recall(), "missing 1 required positional argument: 'cues'"),
            (lambda: xm.load_preset("rram").with_faults(0.1, 0.5, 3),
             "takes from 2 to 3 positional arguments but 4 were given"),
            (lambda: xm.Protocol().reseeded(), "missing 1 required positional argument")):
        with pytest.raises(xm.ArgumentError, match=words):
            call()


def test_a_type_error_from_inside_a_call_whose_arguments_fit_is_not_renamed():
    from xbarmem.checks import checked_keywords

    @checked_keywords
    def inside(x, *, y=1):
        return x + "text"  # (a bug of the body: its TypeError is Python's own)

    with pytest.raises(TypeError, match="unsupported operand") as info:
        inside(1, y=2)
    assert not isinstance(info.value, xm.ArgumentError)
    with pytest.raises(xm.ArgumentError, match=r"takes 1 positional argument but 2"):
        inside(1, 2)


def test_a_store_refuses_to_be_pickled_or_copied_in_the_projects_error(tmp_path):
    """``pickle.dumps(store)`` / ``copy.deepcopy(store)`` raised ``TypeError: cannot pickle
    'sqlite3.Connection' object``; ``copy.copy`` shared the connection, so closing the copy
    closed the original."""
    with ResultStore(tmp_path / "s.sqlite") as store:
        for action in (pickle.dumps, copy.deepcopy, copy.copy):
            with pytest.raises(xm.ArgumentError, match="a ResultStore cannot be pickled or "
                                                       "copied .*open it again"):
                action(store)
        assert store.sweeps() == {}


def test_extra_metadata_cannot_take_the_key_of_the_saved_patterns(memory, tmp_path):
    """``save_memory(memory, path, extra={"patterns": ...})`` wrote a file ``load_memory``
    refused (``not an xbarmem model``), or dropped the user's value for the patterns'
    record."""
    path = tmp_path / "m.safetensors"
    for patterns in (None, memory_patterns()):
        with pytest.raises(ConfigError, match="extra must not hold the key 'patterns'"):
            xm.save_memory(memory, path, patterns=patterns, extra={"patterns": "mine"})
    assert not path.exists()
    xm.save_memory(memory, path, extra={"note": "mine"})
    assert xm.load_memory(path).n_neurons == 16


# --------------------------------------------------------------------------- misspelt keywords
def _perceptron_class():
    from xbarmem.learning.classic import CLASSIC_RULES

    return CLASSIC_RULES["perceptron"]


@pytest.mark.parametrize("call, where, close", [
    (lambda: xm.get_rule("perceptron", margn=2), "get_rule()", "margin"),
    (lambda: xm.get_rule("Perceptron", margn=2), "get_rule()", "margin"),
    (lambda: xm.get_rule("adaptive", max_step=2), "get_rule()", "max_steps"),
    (lambda: xm.get_rule("perceptron", max_epoch=2), "get_rule()", "max_epochs"),
    (lambda: _perceptron_class()(margn=2), "Perceptron()", "margin"),
    (lambda: xm.AdaptiveTrainer(max_step=2), "AdaptiveTrainer()", "max_steps"),
    (lambda: xm.MultilayerTrainer(max_step=2), "MultilayerTrainer()", "max_steps"),
    (lambda: xm.train(memory_patterns(), rule="perceptron", margn=2), "train()", "margin"),
    (lambda: xm.DeviceSpec(g_mn=1e-6), "DeviceSpec()", "g_min"),
    (lambda: xm.load_preset("ideal").replace_device(g_mn=1e-6), "DeviceSpec.replace()",
     "g_min"),
    (lambda: xm.load_preset("ideal").replace(devce=None), "ChipSpec.replace()", "device"),
    (lambda: xm.Protocol(prbes=2), "Protocol()", "probes"),
    (lambda: xm.load_patterns("random", sed=1), "load_patterns()", "seed"),
])
def test_a_misspelt_keyword_is_one_error_everywhere(call, where, close):
    """``get_rule("perceptron", margn=2)`` raised ``ConfigError`` (``bad option for rule ...:
    unknown rule key margn``) where the rule's own class, the trainers, ``train`` and the chip
    specs raise ``ArgumentError`` for the same misspelling: every factory that forwards
    keywords raises the one error, in the one form, naming the closest keyword."""
    with pytest.raises(xm.ArgumentError) as info:
        call()
    text = str(info.value)
    assert text.startswith(f"{where} got an unknown keyword argument"), text
    assert text.endswith(f"did you mean {close!r}?"), text
