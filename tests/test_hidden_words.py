"""Hidden widths in the command line's words (``1n``, ``0.5n``, ``1n-8``) taken by every entry
point: the command line, sweeps and the Python API (one reader,
:func:`xbarmem.checks.hidden_layer_widths`)."""

from __future__ import annotations

import numpy as np
import pytest

import xbarmem as xm
from xbarmem.checks import hidden_layer_widths, resolve_hidden
from xbarmem.errors import ConfigError
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
