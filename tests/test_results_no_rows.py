"""``results --csv / --parquet / --csv -`` whose filters match no row (a value misspelt:
``--where rule=pinv2``), or of a store holding none, wrote an empty file, replacing the
export a run before wrote there (exit 0, ``wrote 0 rows``); ``plot`` refused the same rows.
Both now refuse in one line naming the store's sweeps, exit 2, nothing written."""

from __future__ import annotations

import pytest
from conftest import tiny_sweep
from test_cli import assert_one_line_error

from xbarmem.experiments.store import ResultStore


@pytest.fixture
def store(tmp_path, run_cli):
    sweep, path = tmp_path / "two.toml", tmp_path / "s.sqlite"
    sweep.write_text(tiny_sweep("two", rules=("pinv", "hebb")))
    assert run_cli("sweep", sweep, "--store", path, "--jobs", "1")[0] == 0
    return path


@pytest.mark.parametrize("output", ["--csv", "--parquet", "--csv -"])
@pytest.mark.parametrize("filters", [["--where", "rule=pinv2"], ["--sweep", "two", "--where",
                                                                  "n_neurons>100"]])
def test_an_export_of_no_rows_is_refused_and_the_last_export_kept(store, run_cli, tmp_path,
                                                                   output, filters):
    flag, *dash = output.split()
    target = tmp_path / ("rows.parquet" if flag == "--parquet" else "rows.csv")
    target.write_text("the last export\n")
    code, out, err = run_cli("results", store, flag, dash[0] if dash else target, *filters)
    assert_one_line_error(code, err, f"{store}: no rows match the filters, nothing to write",
                          "(sweeps in this store: two (2))")
    assert not out and target.read_text() == "the last export\n"


def test_an_export_and_a_plot_of_an_empty_store_are_refused_alike(tmp_path, run_cli):
    path = tmp_path / "empty.sqlite"
    ResultStore(path).close()
    for args, what in ((["--csv", tmp_path / "rows.csv"], "write"),
                       (["--csv", "-"], "write"), (["-o", tmp_path / "f.png"], "draw")):
        code, out, err = run_cli("plot" if what == "draw" else "results", path, *args)
        assert_one_line_error(code, err, f"{path}: no rows are stored yet, nothing to {what} "
                                         f"(sweeps in this store: none)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.sqlite"]


def test_an_export_of_matching_rows_still_writes_them(store, run_cli, tmp_path):
    code, out, err = run_cli("results", store, "--csv", tmp_path / "rows.csv", "--where",
                             "rule=pinv")
    assert code == 0 and "wrote 1 row to" in out + err
    assert len((tmp_path / "rows.csv").read_text().splitlines()) == 2
