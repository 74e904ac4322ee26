"""``reproduce --out DIR`` into a folder of the user's: a file there by a name a run writes
(``report.md``, a figure, the energy cache) that no run of reproduce wrote was replaced, and a
bad cache was refused only after the sweeps ran; now each is refused in one line before any
work, and a report of another run is replaced with a warning naming it."""

import warnings
from pathlib import Path

import pytest
from test_cli import assert_one_line_error

from xbarmem.errors import ConfigError, XbarmemWarning
from xbarmem.experiments.reproduce import Experiment, reproduce


class _Cheap(Experiment):
    """An experiment of no sweep and no library module: a report in a fraction of a second."""

    key = "z"
    title = "a claim whose module is missing"
    claim = "something"
    needs = "xbarmem.no_such_module"


FOREIGN = [("report.md", b"# my paper's notes\n"), ("d-variation.png", b"not a figure"),
           ("d-variation.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
           ("f-energy.json", b"{}"), ("f-energy.json", b"my data")]


@pytest.mark.parametrize("name, content", FOREIGN, ids=[f"{n}-{i}" for i, (n, _) in
                                                        enumerate(FOREIGN)])
def test_a_users_file_by_a_reproduce_name_is_refused_before_any_work(run_cli, tmp_path,
                                                                     monkeypatch, name,
                                                                     content):
    import xbarmem.cli.experiments as cli

    def no_work(*args, **kwargs):
        raise AssertionError("the sweeps started")

    monkeypatch.setattr(cli, "run_with_progress", no_work)
    out = tmp_path / "paper"
    out.mkdir()
    (out / name).write_bytes(content)
    (out / "notes.txt").write_text("mine")
    code, stdout, err = run_cli("reproduce", "--quick", "--sections", "d,f", "--out", out,
                                "--jobs", "1")
    assert_one_line_error(code, err, f"{name} exists and is not a file xbarmem reproduce "
                                     f"wrote", "another --out")
    assert (out / name).read_bytes() == content and (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == sorted([name, "notes.txt"])


def test_a_users_report_is_refused_by_the_api_and_left_as_it_was(tmp_path):
    (tmp_path / "report.md").write_text("my draft\n")
    with pytest.raises(ConfigError, match="report.md exists and is not a file xbarmem "):
        reproduce(tmp_path, quick=True, experiments=[_Cheap()], log=lambda _: None)
    assert (tmp_path / "report.md").read_text() == "my draft\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_a_report_of_another_run_is_replaced_with_a_warning_the_same_run_silently(tmp_path):
    reproduce(tmp_path, quick=True, experiments=[_Cheap()], log=lambda _: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reproduce(tmp_path, quick=True, experiments=[_Cheap()], log=lambda _: None)  # again
        assert not [w for w in caught if issubclass(w.category, XbarmemWarning)]
        reproduce(tmp_path, quick=False, experiments=[_Cheap()], log=lambda _: None)
    said = [str(w.message) for w in caught if issubclass(w.category, XbarmemWarning)]
    assert len(said) == 1 and "is the report of `xbarmem reproduce --quick`" in said[0], said
    assert "another --out" in said[0]
    assert Path(tmp_path / "report.md").read_text().startswith("# xbarmem reproduce: ")


def _users_store(path: Path) -> None:
    from xbarmem.experiments.store import ResultStore

    with ResultStore(path) as db:
        db.add([("0" * 64, "my-sweep", {"rule": "hebb"}, {"cosine": 0.5}, {})])


def test_a_default_store_holding_the_users_sweeps_is_refused_untouched(run_cli, tmp_path,
                                                                       monkeypatch):
    """The folder's ``results.sqlite`` held the user's own sweeps: a run added its sweeps'
    rows to it. ``--store`` naming it says to (the run then goes ahead)."""
    import xbarmem.cli.experiments as cli

    def no_work(*args, **kwargs):
        raise AssertionError("the sweeps started")

    monkeypatch.setattr(cli, "run_with_progress", no_work)
    out = tmp_path / "paper"
    out.mkdir()
    _users_store(out / "results.sqlite")
    before = (out / "results.sqlite").read_bytes()
    code, stdout, err = run_cli("reproduce", "--quick", "--sections", "d", "--out", out,
                                "--jobs", "1")
    assert_one_line_error(code, err, "results.sqlite holds sweeps of your own (my-sweep)",
                          f"--store {out / 'results.sqlite'}")
    assert (out / "results.sqlite").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["results.sqlite"]
    with pytest.raises(ConfigError, match="holds sweeps of your own"):
        reproduce(out, quick=True, experiments=[_Cheap()], log=lambda _: None)
    reproduce(out, quick=True, experiments=[_Cheap()], store=out / "results.sqlite",
              log=lambda _: None)
    assert (out / "report.md").is_file()
