"""``xbarmem results`` over a store holding rows of two xbarmem versions (a sweep resumed after
an upgrade): the rows told apart by a ``version`` column, groups that mix them said, and a rule
option that only some rows record counted as varying."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import tiny_sweep
from xbarmem.cli.results import _swept_options
from xbarmem.experiments.runner import run_sweep
from xbarmem.experiments.sweep import load_sweep
from xbarmem.version import __version__

OLD = "0.1.0"


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A store of one sweep (hebb and pinv, two seeds) whose seed-0 rows an older xbarmem
    wrote."""
    folder = tmp_path_factory.mktemp("versions")
    sweep = folder / "t.toml"
    sweep.write_text(tiny_sweep("t", seeds=2, rules=("hebb", "pinv"), fault_rates=[0.0]))
    store = folder / "s.sqlite"
    run_sweep(load_sweep(sweep), store, jobs=1)
    with sqlite3.connect(store) as db:
        db.execute("UPDATE trials SET version = ? WHERE json_extract(config, '$.seed') = 0",
                   (OLD,))
    return store


def test_rows_of_two_versions_show_a_version_column(mixed, run_cli):
    code, out, err = run_cli("results", mixed, "--columns", "rule,seed,version")
    assert code == 0, err
    assert OLD in out and __version__ in out
    code, out, err = run_cli("results", mixed)
    assert code == 0, err
    head = next(line for line in out.splitlines() if "rule" in line)
    assert "version" in head, out
    assert out.count(OLD) == 2, out


def test_groups_that_mix_versions_are_said(mixed, run_cli):
    code, out, err = run_cli("results", mixed, "--group-by", "rule")
    assert code == 0, err
    text = " ".join(out.split())
    assert f"rows of xbarmem {OLD}, {__version__} are grouped together: add version to " \
           "--group-by" in text, out
    code, out, err = run_cli("results", mixed, "--group-by", "rule,version")
    assert code == 0, err
    assert "grouped together" not in " ".join(out.split())


def test_an_option_some_rows_lack_is_a_swept_option():
    rows = [{"trial": "evaluate", "config": {"rule": "adaptive", "rule_options": opts}}
            for opts in ({"quantize": False, "seed": 0}, {"seed": 1})]
    assert _swept_options(rows) == ["rule_options.quantize"]
    same = [{"trial": "evaluate", "config": {"rule": "adaptive",
                                             "rule_options": {"quantize": False, "seed": s}}}
            for s in (0, 1)]
    assert _swept_options(same) == []


def test_group_tables_head_capacities_as_the_capacity_command_does(tmp_path, run_cli,
                                                                    monkeypatch):
    """Three thresholds' ``capacity.0.95`` headers folded mid-word at 80 columns
    (``capacity.`` / ``0.95``); a table of groups heads them ``C@0.95``, as ``capacity`` and
    ``scaling`` do, and says so in its caption; --metric and --json keep ``capacity.T``."""
    sweep = tmp_path / "c.toml"
    sweep.write_text('[sweep]\nname = "c"\ntrial = "capacity"\nseeds = 2\n[base]\n'
                     'rule = "pinv"\ndata = "random"\nsearch = true\nprobes = 2\n'
                     'thresholds = [0.9, 0.95, 0.99]\n[grid]\nn_neurons = [16, 25]\n')
    store = tmp_path / "c.sqlite"
    run_sweep(load_sweep(sweep), store, jobs=1)
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run_cli("results", store, "--group-by", "rule,n_neurons")
    assert code == 0, err
    head = next(line for line in out.splitlines() if "rule" in line)
    assert head.split()[-6:] == ["C@0.9", "+-std", "C@0.95", "+-std", "C@0.99", "+-std"], out
    assert "C@T: the capacity at threshold T (capacity.T" in " ".join(out.split())
    assert "wider than" not in err
    code, out, err = run_cli("results", store, "--group-by", "rule", "--json")
    assert code == 0 and "capacity.0.95" in out and "C@" not in out
