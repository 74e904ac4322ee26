"""Capacity searches resume after an interruption: the tested counts kept in a checkpoint file
are reused (the search goes the same way, to the same capacities) and only the rest is
trained; a checkpoint of other settings, or not a checkpoint at all, is set aside with a
warning; the file is removed when the run completes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import xbarmem as xm
from xbarmem.errors import ConfigError, XbarmemWarning
from xbarmem.evaluation import capacity as capacity_module
from xbarmem.evaluation.capacity import find_capacity
from xbarmem.evaluation.checkpoint import SearchCheckpoint, fingerprint
from xbarmem.evaluation.scaling import run_scaling
from xbarmem.jsontext import dumps

_PROTOCOL = xm.Protocol(level=0.1, probes=2, seed=1)
_RECALL_CURVE = capacity_module.recall_curve


def _counting(monkeypatch, fail_after: int | None = None) -> list[int]:
    """Counts ``recall_curve`` calls (one per trained count); raises KeyboardInterrupt on the
    call after ``fail_after`` of them, as a Ctrl-C in the middle of a search would."""
    calls: list[int] = []
    real = _RECALL_CURVE

    def counted(pool, counts, *args, **kwargs):  # type: ignore[no-untyped-def]
        if fail_after is not None and len(calls) >= fail_after:
            raise KeyboardInterrupt
        calls.append(counts[0])
        return real(pool, counts, *args, **kwargs)

    monkeypatch.setattr(capacity_module, "recall_curve", counted)
    return calls


def _points(result: dict) -> list:
    """Every tested point of a scaling result, without its training time."""
    return [[{k: v for k, v in p.items() if k != "train_seconds"} for p in run["points"]]
            for run in result["runs"]]


def _scaling(path, progress=None):  # type: ignore[no-untyped-def]
    return run_scaling([16, 36], arch="single", rule="pinv", thresholds=(0.9, 0.99),
                       protocol=_PROTOCOL, trials=1, data="mnist", checkpoint=path,
                       progress=progress)


def test_find_capacity_reuses_measured_points_and_trains_nothing_again(monkeypatch):
    pool = xm.random_patterns(60, 16, seed=0)
    measured: dict = {}
    first = find_capacity(pool, rule="hebb", trials=1, protocol=_PROTOCOL, measured=measured)
    assert sorted(measured) == sorted(p["count"] for p in first.points)
    calls = _counting(monkeypatch)
    again = find_capacity(pool, rule="hebb", trials=1, protocol=_PROTOCOL, measured=measured)
    assert calls == []
    assert again.capacity == first.capacity and again.points == first.points
    assert again.devices == first.devices


def test_an_interrupted_scaling_run_resumes_with_the_same_results(monkeypatch, tmp_path):
    clean = _scaling(None)
    path = tmp_path / "kept.json"
    calls = _counting(monkeypatch, fail_after=3)
    with pytest.raises(KeyboardInterrupt):
        _scaling(path)
    assert len(calls) == 3 and path.is_file()
    kept = json.loads(path.read_text())
    assert sum(len(points) for points in kept["points"].values()) == 3
    calls = _counting(monkeypatch)
    resumed = _scaling(path)
    assert resumed["resumed"] == 3 and not path.exists()
    assert len(calls) == sum(len(run["points"]) for run in clean["runs"]) - 3
    assert resumed["capacity"] == clean["capacity"]
    assert dumps(resumed["fits"]) == dumps(clean["fits"])  # (NaN != NaN: as JSON)
    assert _points(resumed) == _points(clean)
    assert [r["devices"] for r in resumed["runs"]] == [r["devices"] for r in clean["runs"]]


@pytest.mark.parametrize("text", ['{"format": "xbarmem capacity-search checkpoint", "key": 1}'])
def test_a_checkpoint_that_is_not_one_is_set_aside_with_a_warning(tmp_path, text):
    path = tmp_path / "kept.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.warns(XbarmemWarning, match="kept.json.*starts anew"):
        kept = SearchCheckpoint(path, {"a": 1})
    assert kept.resumed == 0 and kept.measured("N=16") == {}


def test_a_checkpoint_of_other_settings_is_not_reused(monkeypatch, tmp_path):
    path = tmp_path / "kept.json"
    _counting(monkeypatch, fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        _scaling(path)
    calls = _counting(monkeypatch)
    with pytest.warns(XbarmemWarning, match=r"other settings \(protocol, rule\)"):
        res = run_scaling([16, 25], arch="single", rule="hebb", thresholds=(0.9,),
                          protocol=xm.Protocol(level=0.2, probes=2, seed=1), trials=1,
                          checkpoint=path)
    assert res["resumed"] == 0 and len(calls) == sum(len(r["points"]) for r in res["runs"])


@pytest.mark.parametrize("entry", ["SearchCheckpoint", "run_scaling"])
def test_the_set_aside_warning_points_at_the_users_line(tmp_path, entry):
    """The warning of a checkpoint set aside had a fixed stacklevel: from ``run_scaling`` it
    pointed into xbarmem (``scaling.py``), not at the line that called it; it points at the
    caller's line from every entry point now."""
    path = tmp_path / "kept.json"
    path.write_text('{"format": "xbarmem capacity-search checkpoint", "key": 1}')
    with pytest.warns(XbarmemWarning, match="kept.json.*starts anew") as said:
        if entry == "SearchCheckpoint":
            SearchCheckpoint(path, {"a": 1})
        else:
            run_scaling([16], arch="single", rule="hebb", thresholds=(0.9,), protocol=_PROTOCOL,
                        data="random", pool_size=4, checkpoint=path)
    assert [w.filename for w in said if "starts anew" in str(w.message)] == [__file__]


def test_a_nan_similarity_comes_back_as_nan(tmp_path):
    path = tmp_path / "kept.json"
    kept = SearchCheckpoint(path, {"a": 1})
    kept.measured("x")[4] = {"point": {"count": 4, "cosine": math.nan}, "devices": {"d": 1}}
    kept.save()
    again = SearchCheckpoint(path, {"a": 1})
    assert again.resumed == 1 and math.isnan(again.measured("x")[4]["point"]["cosine"])


@pytest.mark.parametrize("where", ["folder", "through-file"])
def test_a_checkpoint_path_that_cannot_be_a_file_is_refused_before_any_work(tmp_path, where):
    (tmp_path / "f").write_text("")
    path = tmp_path if where == "folder" else tmp_path / "f" / "kept.json"
    with pytest.raises(ConfigError, match="checkpoint"):
        run_scaling([16], arch="single", rule="hebb", checkpoint=path)


def test_fingerprint_tells_contents_apart():
    a = np.ones((3, 4), dtype=np.float32)
    b = a.copy()
    b[0, 0] = -1
    assert fingerprint(a) == fingerprint(a.copy()) != fingerprint(b)
    assert fingerprint(a) != fingerprint(a.reshape(4, 3))


def test_cli_scaling_resumes_and_says_so(run_cli, monkeypatch, tmp_path):
    args = ["scaling", "--arch", "single", "--rule", "hebb", "--sizes", "16,25", "--trials",
            "1", "--probes", "2", "--threshold", "0.9,0.99"]
    code, clean, err = run_cli(*args, "-o", tmp_path / "clean", "--json")
    assert code == 0, err
    _counting(monkeypatch, fail_after=3)
    code, _, err = run_cli(*args, "-o", tmp_path / "run")
    kept = tmp_path / "run" / "scaling-single-binary-hebb.checkpoint.json"
    assert code == 130 and "interrupted: the tested counts are kept in" in err and kept.is_file()
    calls = _counting(monkeypatch)
    code, out, err = run_cli(*args, "-o", tmp_path / "run", "--json")
    assert code == 0, err
    res, clean = json.loads(out), json.loads(clean)
    assert res["resumed"] == 3 and len(calls) == sum(len(r["points"]) for r in res["runs"]) - 3
    assert res["capacity"] == clean["capacity"] and _points(res) == _points(clean)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "scaling-single-binary-hebb.json", "scaling-single-binary-hebb.png"]


def test_cli_capacity_checkpoint(run_cli, monkeypatch, tmp_path):
    data = tmp_path / "p.npy"
    np.save(data, xm.random_patterns(40, 16, seed=2).patterns)
    kept = tmp_path / "kept.json"
    args = ["capacity", "--data", data, "--rule", "hebb", "--trials", "1", "--probes", "2",
            "--threshold", "0.9", "--json"]
    code, clean, err = run_cli(*args)
    assert code == 0, err
    _counting(monkeypatch, fail_after=2)
    code, _, err = run_cli(*args, "--checkpoint", kept)
    assert code == 130 and kept.is_file(), err
    _counting(monkeypatch)
    code, out, err = run_cli(*args, "--checkpoint", kept)
    assert code == 0 and json.loads(out)["resumed"] == 2 and not kept.exists(), err
    assert json.loads(out)["results"][0]["capacity"] == json.loads(clean)["results"][0][
        "capacity"]
    # the same file name with other contents is another key: started anew, with a warning
    _counting(monkeypatch, fail_after=2)
    run_cli(*args, "--checkpoint", kept)
    np.save(data, xm.random_patterns(40, 16, seed=3).patterns)
    _counting(monkeypatch)
    code, out, err = run_cli(*args, "--checkpoint", kept)
    assert code == 0 and json.loads(out)["resumed"] == 0 and "other settings (patterns)" in err


def test_a_checkpoint_of_another_thread_count_names_threads(run_cli, monkeypatch, tmp_path):
    """``capacity --checkpoint`` resumed with another ``--threads`` warned of ``other settings
    (torch_threads)``, a key the user never typed."""
    kept = tmp_path / "kept.json"
    args = ["capacity", "--data", "digits", "--rule", "pinv", "--trials", "1", "--probes", "2",
            "--threshold", "0.95", "--checkpoint", kept]
    _counting(monkeypatch, fail_after=2)
    code, _, err = run_cli(*args)
    assert code == 130 and kept.is_file(), err
    _counting(monkeypatch)
    code, _, err = run_cli(*args, "--threads", "2")
    assert code == 0 and "other settings (threads); this run starts anew" in err, err
    assert "torch_threads" not in err


def test_cli_capacity_checkpoint_must_be_json(run_cli, tmp_path):
    code, _, err = run_cli("capacity", "--checkpoint", tmp_path / "kept.txt")
    assert code == 2 and "--checkpoint" in err and ".json" in err


@pytest.mark.parametrize("measured", [[1], "x", 3])
def test_measured_must_be_a_dict(measured):
    with pytest.raises(xm.ArgumentError, match="measured"):
        find_capacity(xm.random_patterns(10, 16, seed=0), rule="hebb", measured=measured)


@pytest.mark.parametrize("checkpoint", [3, ["a.json"]])
def test_checkpoint_must_be_a_path(checkpoint):
    with pytest.raises(xm.ArgumentError, match="checkpoint"):
        run_scaling([16], arch="single", rule="hebb", checkpoint=checkpoint)


@pytest.mark.parametrize("point", [{"count": 4, "cosine": "abc"}, {"count": 5, "cosine": 0.9},
                                   {"count": True, "cosine": 0.9}, {"cosine": 0.9}])
def test_a_kept_point_that_is_not_one_sets_the_file_aside(tmp_path, point):
    """A point edited by hand (a similarity that is no number, a count other than the one it
    is kept under) would have broken the search after its start: the file is set aside."""
    path = tmp_path / "kept.json"
    kept = SearchCheckpoint(path, {"a": 1})
    kept.measured("x")[4] = {"point": {"count": 4, "cosine": 0.5}, "devices": {}}
    kept.save()
    data = json.loads(path.read_text())
    data["points"]["x"]["4"]["point"] = point
    path.write_text(json.dumps(data))
    with pytest.warns(XbarmemWarning, match="not a readable capacity-search checkpoint"):
        assert SearchCheckpoint(path, {"a": 1}).resumed == 0


def test_saving_leaves_no_temporary_file(tmp_path):
    kept = SearchCheckpoint(tmp_path / "kept.json", {"a": 1})
    for p in (2, 4):
        kept.measured("x")[p] = {"point": {"count": p, "cosine": 0.5}, "devices": {}}
        kept.save()
    # (the lock file that keeps other runs out, while the run lasts)
    assert sorted(f.name for f in tmp_path.iterdir()) == [".kept.json.lock", "kept.json"]
    kept.remove()
    assert not list(tmp_path.iterdir())


def test_cli_capacity_interrupted_without_checkpoint_says_how_to_keep_the_counts(
        run_cli, monkeypatch):
    _counting(monkeypatch, fail_after=1)
    code, _, err = run_cli("capacity", "--data", "random", "--neurons", "16", "--rule", "hebb",
                           "--trials", "1", "--probes", "1")
    assert code == 130 and "aborted (with --checkpoint FILE.json" in err, err


def test_cli_scaling_keeps_the_checkpoint_until_its_files_are_written(run_cli, monkeypatch,
                                                                       tmp_path):
    """A run killed after the last search but before its JSON and figure are written (here:
    Ctrl-C while the figure is saved) loses no count: the checkpoint is still there."""
    from xbarmem.cli import capacity as cli_capacity

    def interrupted(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_capacity, "write_scaling", interrupted)
    args = ["scaling", "--arch", "single", "--rule", "hebb", "--sizes", "16,25", "--trials",
            "1", "--probes", "2", "--threshold", "0.9", "-o", tmp_path]
    code, _, _ = run_cli(*args)
    assert code != 0
    kept = json.loads((tmp_path / "scaling-single-binary-hebb.checkpoint.json").read_text())
    assert kept["points"] and all(kept["points"].values())


def test_run_scaling_keep_checkpoint_leaves_the_file(tmp_path):
    path = tmp_path / "kept.json"
    res = run_scaling([16], arch="single", rule="hebb", thresholds=(0.9,), protocol=_PROTOCOL,
                      trials=1, checkpoint=path, keep_checkpoint=True)
    assert path.is_file() and res["resumed"] == 0
    again = run_scaling([16], arch="single", rule="hebb", thresholds=(0.9,),
                        protocol=_PROTOCOL, trials=1, checkpoint=path)
    assert again["resumed"] == len(res["runs"][0]["points"]) and not path.exists()
    with pytest.raises(ConfigError, match="keep_checkpoint"):
        run_scaling([16], arch="single", rule="hebb", checkpoint=path, keep_checkpoint="yes")


def test_a_checkpoint_kept_under_trainer_defaults_that_changed_since_is_not_reused(
        run_cli, monkeypatch, tmp_path):
    """The key held the trainer options as given, not as they applied: a search interrupted
    by one version and resumed by a later one whose defaults differ (``quantize``, training
    through a chip's conductance levels, came under the same options) took the kept points for
    its own and mixed both ways of training in one curve (`xbarmem capacity --rule adaptive
    --chip lv8.toml --checkpoint c.json`: kept 16:0.999 and 32:0.971 beside its own counts,
    where a fresh run measured 16:0.998 and 32:0.976). The key holds them with their defaults
    (``trainer``); a file without them is one an earlier version wrote, and says so."""
    from xbarmem.learning import adaptive
    from xbarmem.learning.classic import keyed_options

    kept = tmp_path / "kept.json"
    args = ["capacity", "--data", "digits", "--rule", "adaptive", "--rule-option",
            "max_steps=5", "--rule-option", "finetune_steps=2", "--trials", "1", "--probes",
            "2", "--threshold", "0.95", "--checkpoint", kept]
    _counting(monkeypatch, fail_after=2)
    code, _, err = run_cli(*args)
    assert code == 130 and kept.is_file(), err
    key = json.loads(kept.read_text())["key"]
    assert key["trainer"] == {"single": keyed_options(
        "adaptive", {"max_steps": 5, "finetune_steps": 2})} and key["trainer"]["single"]["lr"]
    saved = kept.read_text()
    monkeypatch.setitem(adaptive.DEFAULTS["single"], "lr", 0.02)  # a later version's default
    _counting(monkeypatch)
    code, out, err = run_cli(*args)
    assert code == 0 and "other settings (trainer options with their defaults)" in err, err
    assert "2 tested counts kept" not in out + err
    monkeypatch.undo()
    data = json.loads(saved)
    del data["key"]["trainer"]  # as the versions before it wrote the file
    kept.write_text(json.dumps(data))
    _counting(monkeypatch)
    code, _, err = run_cli(*args)
    assert code == 0, err
    assert ("kept.json: the points kept there were measured by an earlier xbarmem, which did "
            "not record trainer options with their defaults; this run starts anew") in err


def test_a_scaling_checkpoint_holds_the_trainer_options_with_their_defaults(monkeypatch,
                                                                            tmp_path):
    path = tmp_path / "kept.json"
    _counting(monkeypatch, fail_after=1)
    with pytest.raises(KeyboardInterrupt):
        run_scaling([16, 36], arch="single", rule="perceptron", rule_options={"margin": 0.5},
                    thresholds=(0.9,), protocol=_PROTOCOL, trials=1, checkpoint=path)
    trainer = json.loads(path.read_text())["key"]["trainer"]
    assert trainer == {"margin": 0.5, "max_epochs": 2000}


def test_a_checkpoint_of_an_earlier_version_names_the_settings_changed_since_too(tmp_path):
    """A checkpoint written before keys held ``trainer`` was said to be "measured by an
    earlier xbarmem, which did not record trainer options" only, even when the run changed a
    setting of its own (its seed): that reason was left out."""
    from xbarmem.errors import XbarmemWarning
    from xbarmem.evaluation.checkpoint import SearchCheckpoint

    path = tmp_path / "kept.json"
    with SearchCheckpoint(path, {"seed": 0, "trainer": {"lr": 0.01}}) as kept:
        kept.save()
    data = json.loads(path.read_text())
    del data["key"]["trainer"]  # as the versions before it wrote the file
    path.write_text(json.dumps(data))
    for seed, said in ((0, "with their defaults; this run"),
                       (1, "with their defaults, and are of other settings (seed); this run")):
        with pytest.warns(XbarmemWarning, match="which did not record trainer options") as got:
            SearchCheckpoint(path, {"seed": seed, "trainer": {"lr": 0.01}}).close()
        assert said in str(got[0].message), got[0].message


@pytest.mark.parametrize("text", ['{"format": "xbarmem-export/1", "layers": []}', "[1, 2]",
                                  "not json at all", '{"a": NaN', '{"points": {}}', "\udcff"])
def test_a_file_that_is_no_checkpoint_is_refused_and_left_as_it_is(run_cli, tmp_path,
                                                                   monkeypatch, text):
    """`capacity --checkpoint export/manifest.json` (or any other JSON file) warned, replaced
    the file with its points and deleted it when the search completed: a file that is not a
    capacity-search checkpoint is not the run's to replace; it is refused before any work,
    exit 2, in one line, and nothing in the folder changes."""
    from tests.conftest import refused

    monkeypatch.chdir(tmp_path)
    (tmp_path / "other.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    calls = _counting(monkeypatch)
    line = refused(run_cli, tmp_path, "capacity", "--data", "random", "--neurons", "16",
                   "--rule", "hebb", "--trials", "1", "--probes", "1", "--checkpoint",
                   "other.json", names=("other.json",))
    assert ("refusing to replace it" in line or "not UTF-8" in line) and not calls
    with pytest.raises(xm.XbarmemError, match="not a capacity-search checkpoint|not UTF-8"):
        SearchCheckpoint(tmp_path / "other.json", {"a": 1})


def test_an_empty_file_becomes_a_checkpoint(tmp_path, recwarn):
    (tmp_path / "new.json").write_text("")
    assert SearchCheckpoint(tmp_path / "new.json", {"a": 1}).resumed == 0
    assert not recwarn.list
