"""``xbarmem results`` exports rows in the order of its table: the store holds rows in the
order they were computed (``--jobs 2``, ``--workers`` and resumed sweeps each another), and
``--csv`` / ``--json`` wrote that order, so one sweep exported two different files."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import tiny_sweep
from xbarmem.errors import ArgumentError
from xbarmem.experiments.runner import run_sweep
from xbarmem.experiments.store import ResultStore
from xbarmem.experiments.sweep import load_sweep

#: what differs between two runs of one sweep whatever their order: when a row was stored
WALL_TIME = "finished"


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """Two stores of the same rows of one sweep, stored in opposite orders (as two runs that
    computed them in different orders leave them)."""
    folder = tmp_path_factory.mktemp("order")
    sweep = folder / "t.toml"
    sweep.write_text(tiny_sweep("t", seeds=2, rules=("hebb", "pinv"), fault_rates=[0.0, 0.1]))
    first, second = folder / "first.sqlite", folder / "second.sqlite"
    run_sweep(load_sweep(sweep), first, jobs=1)
    with ResultStore(first, readonly=True) as db:
        rows = db.rows()
    with ResultStore(second) as db:
        db.add([(r["key"], r["sweep"], r["config"], r["result"],
                 {"seconds": r["seconds"], "host": r["host"], "pid": r["pid"]})
                for r in reversed(rows)])
    with ResultStore(second, readonly=True) as db:  # (the store's order differs)
        assert [r["key"] for r in db.rows()] == [r["key"] for r in reversed(rows)]
    return first, second


def _csv(text: str) -> list[list[str]]:
    table = list(csv.reader(io.StringIO(text)))
    at = table[0].index(WALL_TIME)
    return [row[:at] + row[at + 1:] for row in table]


def _json(text: str) -> list[dict]:
    return [{k: v for k, v in row.items() if k != WALL_TIME} for row in json.loads(text)]


def test_exports_of_one_sweep_are_the_same_whatever_order_it_was_computed_in(stores, run_cli,
                                                                             tmp_path):
    texts = {}
    for k, store in enumerate(stores):
        code, out, err = run_cli("results", store, "--csv", tmp_path / f"{k}.csv")
        assert code == 0, err
        code, csv_out, err = run_cli("results", store, "--csv", "-")
        assert code == 0, err
        code, json_out, err = run_cli("results", store, "--json")
        assert code == 0, err
        texts[k] = ((tmp_path / f"{k}.csv").read_text(), csv_out, json_out)
    assert _csv(texts[0][0]) == _csv(texts[1][0]) == _csv(texts[0][1]) == _csv(texts[1][1])
    assert _json(texts[0][2]) == _json(texts[1][2])
    # in the order of the table: rule, then fault rate, then seed
    rows = _json(texts[0][2])
    order = [(r["config"]["rule"], r["config"]["fault_rate"], r["config"]["seed"]) for r in rows]
    assert order == sorted(order) and len(order) == 8


def test_the_store_keeps_its_own_order_unless_asked_for_another(stores, tmp_path):
    """``ResultStore.export`` / ``write_csv`` write the rows oldest first, as ``rows`` reads
    them, or in the ``order`` a function gives; one that is not a function is refused before
    anything is written."""
    with ResultStore(stores[1], readonly=True) as db:
        keys = [r["key"] for r in db.rows()]
        stream = io.StringIO()
        db.write_csv(stream, order=lambda rows: sorted(rows, key=lambda r: r["key"]))
        assert [r["key"] for r in csv.DictReader(io.StringIO(stream.getvalue()))] == sorted(keys)
        db.export(tmp_path / "plain.csv")
        with (tmp_path / "plain.csv").open(newline="") as fh:
            assert [r["key"] for r in csv.DictReader(fh)] == keys
        with pytest.raises(ArgumentError, match="^order must be a function \\(or None\\), "
                                                "got 'key'$"):
            db.export(tmp_path / "bad.csv", order="key")
    assert not (tmp_path / "bad.csv").exists()
