"""The Python API as a demanding scikit-learn / PyTorch user meets it: copies of objects made
with ``dataclasses.replace`` that kept a default resolved for other values, an export of no
rows that wrote an empty file over the last one, and the inputs, copies and files of the
README's examples."""

from __future__ import annotations

import copy
import dataclasses
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
