"""Hidden widths in the command line's words (``1n``, ``0.5n``, ``1n-8``) taken by every entry
point: the command line, sweeps and the Python API (one reader,
:func:`xbarmem.checks.hidden_layer_widths`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import xbarmem as xm
from xbarmem.checks import hidden_layer_widths, resolve_hidden
from xbarmem.errors import ConfigError
from xbarmem.evaluation.hidden_rule import HiddenRule
from xbarmem.evaluation.scaling import run_scaling
from xbarmem.experiments.trial_options import hidden_widths
from xbarmem.memory.io import read_metadata


@pytest.mark.parametrize(("hidden", "widths"), [
    ("1n", [16]), ("0.5n", [8]), (" 2N ", [32]), ("32", [32]), (32, [32]),
    (np.int64(4), [4]), (["1n", 8], [16, 8]), (("0.25n", "3"), [4, 3]),
    (np.array([5, 6]), [5, 6]), ("0.01n", [1]),
])
def test_every_spelling_resolves_as_the_command_line_does(hidden, widths):
    assert hidden_layer_widths(hidden, 16) == widths
    assert xm.MultilayerMemory(16, hidden, "ideal").hidden_sizes == widths


@pytest.mark.parametrize(("hidden", "message"), [
    ("1x", "hidden must be a width \\(an integer >= 1, or a multiple of N such as '1n'\\) or "
           "a list of them, got '1x'"),
    ("64-32", "got '64-32' \\(two or more layers are a list here, e.g. \\[64, 32\\]\\)"),
    ("64,32", "got '64,32' \\(two or more layers are a list here, e.g. \\[64, 32\\]\\)"),
    (["1n", 0], "hidden layer widths must be integers >= 1 or multiples of N \\('1n', "
                "'0.5n'\\), got \\['1n', 0\\]"),
    ("fixed:8", "got 'fixed:8'"), (True, "got True"), ("0n", "got '0n'"),
    ([], "hidden must name at least one hidden layer width"),
])
def test_bad_widths_are_refused_in_one_line(hidden, message):
    with pytest.raises(ConfigError, match=message):
        xm.MultilayerMemory(16, hidden, "ideal")


def test_results_record_the_widths_trained():
    """A sweep's hidden and find_capacity's settings keep one width as an integer, a list as a
    list, each resolved for N (as model files hold them)."""
    assert resolve_hidden("1n", 24) == 24 and resolve_hidden(["0.5n", 8], 24) == [12, 8]
    assert hidden_widths("1n", 24) == 24 and hidden_widths(["1n", 8], 24) == [24, 8]
    pool = xm.random_patterns(6, 16, seed=0)
    res = xm.find_capacity(pool, arch="multilayer", hidden="0.5n", chip="ideal", trials=1,
                           start=2, thresholds=[0.95], resolution=1.0,
                           rule_options={"max_steps": 2, "finetune_steps": 0})
    assert res.settings["hidden"] == 8


def test_train_takes_the_words_of_the_command_line(run_cli, tmp_path):
    """``xm.train(hidden="1n")`` was refused ("hidden must be a positive integer width") while
    ``--hidden 1n`` trained; both now train N -> N -> N, and their model files record the
    same integer widths."""
    patterns = xm.random_patterns(3, 16, seed=0)
    np.save(tmp_path / "p.npy", patterns.patterns)
    code, _, err = run_cli("train", "--data", tmp_path / "p.npy", "--arch", "multilayer",
                           "--hidden", "1n-8", "--chip", "ideal", "--rule-option",
                           "max_steps=2", "-o", tmp_path / "cli.safetensors")
    assert code == 0, err
    memory = xm.train(patterns, arch="multilayer", hidden=["1n", 8], chip="ideal",
                      max_steps=2)
    assert memory.sizes == [16, 16, 8, 16]
    xm.save_memory(memory, tmp_path / "api.safetensors", patterns=patterns)
    cli, api = (read_metadata(tmp_path / f"{k}.safetensors") for k in ("cli", "api"))
    assert cli["hidden"] == api["hidden"] == [16, 8]


def test_a_hidden_ratio_is_shown_as_it_reads_back():
    """The scaling figure's title and the refusal of a width given twice wrote a ratio in six
    digits, as results once did (``HiddenRule.value_text``): ``ratio:1.000001`` was titled
    ``multilayer N-1N-N`` and ``--hidden 1.0000001n,1.0000001n`` "lists 1n twice"."""
    from xbarmem.cli.parsers import hidden_specs
    from xbarmem.viz.figures import scaling_title

    title = scaling_title({"arch": "multilayer", "hidden_rule": "ratio:1.000001"})
    assert title.startswith("multilayer N-1.000001N-N"), title
    assert scaling_title({"arch": "multilayer", "hidden_rule": "ratio:1"}).startswith(
        "multilayer N-N-N")
    with pytest.raises(ConfigError, match=r"lists 1\.0000001n twice"):
        hidden_specs("1.0000001n,1.0000001n", several=True)


@pytest.mark.parametrize("hidden", [0, -2, "ratio:1e400", "fixed:99999999999", "ratio:nan"])
def test_a_scaling_width_out_of_bounds_is_refused_as_written(hidden):
    """``run_scaling(hidden=0)`` and ``--hidden ratio:1e400`` were refused with
    ``got HiddenRule('fixed', 0.0)``, a rule the caller never wrote."""
    from xbarmem.evaluation.hidden_rule import HiddenRule

    with pytest.raises(ConfigError, match=f"got {hidden!r}$") as refused:
        HiddenRule.parse(hidden)
    assert "HiddenRule(" not in str(refused.value)


@pytest.mark.parametrize("hidden", ["ratio:0", "fixed:1.5", "ratio:1e400", "FIXED:8"])
def test_scaling_names_hidden_when_an_old_spelling_is_bad(run_cli, tmp_path, hidden):
    code, out, err = run_cli("scaling", "--data", "random", "--sizes", "16,36",
                             f"--hidden={hidden}", "--out", tmp_path / "s")
    assert code == 2 and err.startswith("error: --hidden: ") and f"got '{hidden}'" in err, err
    assert "HiddenRule(" not in err and not (tmp_path / "s").exists()


# ------------------------------------------------------------------ scaling's hidden layers
_QUICK = {"data": "random", "trials": 1, "thresholds": (0.5,), "resolution": 1.0,
          "protocol": xm.Protocol(level=0.3, probes=1),
          "rule_options": {"max_steps": 2, "finetune_steps": 0}}
_QUICK_CLI = ("--data", "random", "--sizes", "16,25", "--trials", "1", "--probes", "1",
              "--threshold", "0.5", "--level", "0.3", "--resolution", "1", "--rule-option",
              "max_steps=2", "--rule-option", "finetune_steps=0", "--json")


@pytest.mark.parametrize(("hidden", "written", "stem", "title"), [
    ("1n-0.5n", "1n-0.5n", "ratio1-ratio0.5", "multilayer N-N-0.5N-N"),
    ("1n-16", "1n-16", "ratio1-fixed16", "multilayer N-N-16-N"),
])
def test_scaling_takes_the_layers_the_other_commands_take(run_cli, tmp_path, hidden, written,
                                                          stem, title):
    """``capacity --arch multilayer --hidden 1n-0.5n`` searched a memory whose scaling could
    not be run: ``scaling --hidden`` took one width ("scaling takes one hidden width"). It
    now takes the layers as ``capacity`` and ``train`` write them, and its result, file names
    and title name every layer."""
    from xbarmem.viz.figures import scaling_title

    code, out, err = run_cli("scaling", *_QUICK_CLI, "--hidden", hidden, "-o", tmp_path)
    assert code == 0, err
    res = json.loads(out)
    widths = [hidden_layer_widths(["1n", "0.5n"] if "0.5n" in hidden else ["1n", 16], n)
              for n in (16, 25)]
    assert res["settings"]["hidden_rule"] == written
    assert [r["hidden"] for r in res["runs"]] == widths == [r["settings"]["hidden"]
                                                            for r in res["runs"]]
    assert Path(res["files"]["json"]).name == f"scaling-multilayer-binary-{stem}-random.json"
    assert scaling_title(res["settings"]).startswith(title + "\n")


@pytest.mark.parametrize("hidden", ["1n-0.5n", ["1n", "0.5n"], ("1n", HiddenRule("ratio", 0.5)),
                                    np.array([16, 8]), "16-8"])
def test_run_scaling_takes_several_layers_in_every_spelling(hidden):
    """``run_scaling(hidden=["1n", "0.5n"])`` (a list, as ``xm.train`` takes it) and
    ``"1n-0.5n"`` (as the command line and the result's ``hidden_rule`` write it) were
    refused; each now runs the memory N -> N -> N/2 -> N (or 16-8) and records it as
    written."""
    from xbarmem.evaluation.hidden_rule import hidden_layers

    res = run_scaling([16], hidden=hidden, **_QUICK)
    fixed = isinstance(hidden, np.ndarray) or hidden == "16-8"
    assert res["settings"]["hidden_rule"] == ("16-8" if fixed else "1n-0.5n")
    assert res["runs"][0]["hidden"] == [16, 8]
    assert hidden_layers(res["settings"]["hidden_rule"]) == hidden_layers(hidden)


# each one-layer spelling: what the settings held before several layers were taken
_ONE_LAYER = [(32, "fixed:32"), ("32", "fixed:32"), (None, "fixed:32"), ("1n", "ratio:1"),
              ("0.5n", "ratio:0.5"), ("ratio:0.5", "ratio:0.5"), ("fixed:8", "fixed:8"),
              (HiddenRule("ratio", 1.0), "ratio:1"), (["1n"], "ratio:1"), ([8], "fixed:8")]
# the fields of a scaling checkpoint's key (a one-layer run's, as written before)
_KEY_FIELDS = {"arch", "chip", "cue_budget", "data", "hidden_rule", "kind", "pool", "protocol",
               "rule", "rule_options", "seed", "torch_threads", "trainer", "trials", "xbarmem"}


@pytest.mark.parametrize(("hidden", "written"), _ONE_LAYER)
def test_a_one_layer_scaling_run_keeps_its_results_and_checkpoint_key(tmp_path, hidden,
                                                                      written):
    """One hidden layer, in any spelling, is recorded as before several were taken: the
    settings' ``hidden_rule`` ``fixed:H`` / ``ratio:R``, each run's ``hidden`` an integer,
    and the checkpoint's key of the same fields and rule (a run half done before the upgrade
    resumes)."""
    path = tmp_path / "kept.json"
    res = run_scaling([16], hidden=hidden, checkpoint=path, keep_checkpoint=True, **_QUICK)
    assert res["settings"]["hidden_rule"] == written
    assert res["runs"][0]["hidden"] == HiddenRule.parse(written).width(16)
    assert type(res["runs"][0]["hidden"]) is int
    key = json.loads(path.read_text())["key"]
    assert set(key) == _KEY_FIELDS and key["hidden_rule"] == written


def test_a_run_half_done_resumes_under_another_spelling_of_its_layers(monkeypatch, tmp_path):
    """The key is the layers, not their spelling: a run kept under ``--hidden 1n`` resumes as
    ``["1n"]``, one under ``"1n-0.5n"`` as ``["1n", HiddenRule("ratio", 0.5)]``, reusing
    every count (none trained again)."""
    for first, again in (("1n", ["1n"]), ("1n-0.5n", ["1n", HiddenRule("ratio", 0.5)])):
        path = tmp_path / f"{first}.json"
        done = run_scaling([16], hidden=first, checkpoint=path, keep_checkpoint=True, **_QUICK)
        resumed = run_scaling([16], hidden=again, checkpoint=path, **_QUICK)
        assert resumed["resumed"] == len(done["runs"][0]["points"]) > 0
        assert resumed["capacity"] == done["capacity"]


@pytest.mark.parametrize("hidden", ["1n-", "1n--2", "-1", "0n", "abc", "1n-0n", "64,32", [],
                                    ["1n", 0], [1.5], 0, -1, "fixed:8-ratio:x", True])
def test_run_scaling_refuses_bad_layers_before_any_work(monkeypatch, tmp_path, hidden):
    import xbarmem.evaluation.scaling as scaling

    monkeypatch.setattr(scaling, "find_capacity", lambda *a, **k: pytest.fail("ran"))
    with pytest.raises(ConfigError, match=r"^hidden.*got ") as refused:
        run_scaling([16], hidden=hidden, checkpoint=tmp_path / "kept.json", **_QUICK)
    assert "\n" not in str(refused.value) and not (tmp_path / "kept.json").exists()


@pytest.mark.parametrize(("text", "layers"), [("1e-5n", [(1e-5,)]), ("1e-05n-8", [(1e-5,), 8]),
                                              ("2E-1n-1e-1n", [(0.2,), (0.1,)])])
def test_a_multiple_in_exponent_notation_is_one_layer(text, layers):
    """``--hidden 1e-5n`` (as ``hidden_word`` and a sweep take it, and as refusals write a tiny
    multiple: ``1e-05n``) was split at its exponent's minus and refused by every command; the
    layers of the command line and of a scaling result split at ``-`` between widths only."""
    from xbarmem.cli.parsers import hidden_specs, width_text
    from xbarmem.evaluation.hidden_rule import hidden_layers

    assert hidden_specs(text) == [layers]
    assert hidden_specs(width_text(layers)) == [layers]
    assert len(hidden_layers(text)) == len(layers)


@pytest.mark.parametrize("text", ["fixed:8-ratio:1-fixed:4", "fixed:8-4", "ratio:1-8",
                                  "8-ratio:0.5", "1n-0.5n", "64-32", " 1N - 8 ", "1e-05n-8"])
def test_joined_layers_read_alike_by_the_api_and_the_command_line(text):
    """Several layers joined by ``-`` are the command line's words in every reader: ``fixed:H``
    / ``ratio:R`` name one layer only (``run_scaling(hidden="fixed:8-ratio:1")`` ran the layers
    that ``scaling --hidden fixed:8-ratio:1`` refused)."""
    from xbarmem.cli.capacity_checks import hidden_rules_of
    from xbarmem.evaluation.hidden_rule import hidden_layers

    try:
        cli = hidden_rules_of(text)
    except ConfigError:
        with pytest.raises(ConfigError, match=r"^hidden must be hidden widths.*got "):
            hidden_layers(text)
    else:
        assert hidden_layers(text) == cli
