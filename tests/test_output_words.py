"""The words of every command's output: durations (one rule, :func:`xbarmem.checks.seconds_text`),
counts and their nouns (:func:`xbarmem.checks.counted`), the labels of field tables and
captions, and the names of settings in figures. Tiny settings; in-process through ``run_cli``."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "xbarmem"


# ------------------------------------------------------------------------------ seconds
def test_no_command_formats_seconds_itself():
    """capacity's table printed 'seconds 0' for a 0.4 s run (whole seconds), its log lines
    '[0 s]', train '0.12 s', sweep '0.0 s' -- each command its own precision: every duration
    printed goes through seconds_text."""
    own = re.compile(r"\{[^{}]*(seconds|elapsed)[^{}]*:\.\d+f\}")
    found = [f"{path.relative_to(SRC)}:{n}" for path in sorted(SRC.rglob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1) if own.search(line)
             and path.relative_to(SRC).as_posix() != "checks/words.py"]  # (seconds_text)
    assert not found, found


@pytest.mark.parametrize(("seconds", "shown"), [(0.0, "0.0"), (0.4, "0.4"), (9.96, "10"),
                                                (59.6, "60")])
def test_seconds_text(seconds, shown):
    from xbarmem.checks import seconds_text

    assert seconds_text(seconds) == shown


def test_capacity_table_shows_a_sub_second_run_in_tenths(run_cli, monkeypatch, tmp_path):
    from rich.console import Console

    from xbarmem.cli import capacity_output

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(capacity_output, "out", Console(width=300))
    code, out, err = run_cli("capacity", "--rule", "pinv", "--data", "random", "--neurons", "16",
                             "--pool", "20", "--trials", "1", "--probes", "1")
    assert code == 0, err
    row = next(line for line in out.splitlines() if "single" in line and "│" in line)
    seconds = row.replace("│", " ").split()[-1]
    assert re.fullmatch(r"\d\.\d", seconds), row  # (a tiny run: well below 10 s)
    assert all(re.match(r"\[\d+\.\d s\] ", line) for line in err.splitlines()
               if line.startswith("[")), err


# ------------------------------------------------------------------------------ counts
def test_counted():
    from xbarmem.checks import counted

    assert [counted(n, "trial") for n in (0, 1, 2)] == ["0 trials", "1 trial", "2 trials"]
    assert counted(1, "capacity search", "capacity searches") == "1 capacity search"
    assert counted(3, "capacity search", "capacity searches") == "3 capacity searches"


def test_a_count_of_one_reads_in_the_singular(run_cli, tmp_path, monkeypatch):
    """'sweep s: 1 trials, 0 already stored, 1 new rows', 'wrote 1 rows', 'saved m: hebb
    rule, 1 patterns', '1 patterns x 1 cues': a count of one in every command's words (the
    sweep's line keeps its shape otherwise: logs grep it)."""
    from conftest import tiny_sweep

    monkeypatch.setenv("COLUMNS", "400")  # (a temporary folder's path may be wider than 80)
    (tmp_path / "s.toml").write_text(tiny_sweep("s", rules=("hebb",)))
    store = tmp_path / "r.sqlite"
    code, out, err = run_cli("sweep", tmp_path / "s.toml", "--store", store, "--jobs", "1")
    assert code == 0, err
    assert re.match(r"sweep s: 1 trial, 0 already stored, 1 new row \(in-process, [\d.]+ s\) "
                    r"-> ", out), out
    code, _, err = run_cli("results", store, "--csv", tmp_path / "rows.csv")
    assert code == 0 and " ".join(err.split()) == f"wrote 1 row to {tmp_path / 'rows.csv'}", err
    model = tmp_path / "m.safetensors"
    code, out, err = run_cli("train", "-o", model, "--rule", "hebb", "--data", "random",
                             "--patterns", "1", "--neurons", "16")
    assert code == 0 and f"saved {model}: hebb rule, 1 pattern, N=16" in " ".join(out.split())
    code, out, err = run_cli("evaluate", model, "--probes", "1")
    assert code == 0 and out.startswith("1 pattern x 1 cue (flip 0.1)"), out


def test_train_says_how_many_of_its_patterns_are_distinct(run_cli, tmp_path):
    """A file that repeats patterns (or images alike once binarised: glyphs I, i and l at
    8x8) trained as if all were different, without a word."""
    rows = np.where(np.random.default_rng(0).random((4, 16)) < 0.5, -1, 1).astype(np.int8)
    np.save(tmp_path / "p.npy", np.vstack([rows, rows[:2]]))
    code, out, err = run_cli("train", "-o", tmp_path / "m.safetensors", "--rule", "hebb",
                             "--data", tmp_path / "p.npy")
    assert code == 0 and "hebb rule, 6 patterns (4 distinct), N=16" in " ".join(out.split())
    code, out, err = run_cli("train", "-o", tmp_path / "m.safetensors", "--rule", "hebb",
                             "--data", tmp_path / "p.npy", "--patterns", "4")
    assert code == 0 and "hebb rule, 4 patterns, N=16" in " ".join(out.split()), out


def test_the_capacity_title_counts_its_trials_in_words(run_cli, tmp_path):
    """The title said '1 trial'."""
    code, out, err = run_cli("capacity", "--rule", "pinv", "--data", "random", "--neurons", "16",
                             "--pool", "20", "--trials", "1", "--probes", "1")
    assert code == 0, err
    assert "1 trial)" in " ".join(out.split()) and "trial(s)" not in out, out


# ------------------------------------------------------------------------------ field tables
def test_field_tables_label_their_keys_in_words():
    """`sweep --dry-run` and `chip inspect` labelled their rows with JSON keys
    (`already_stored`, `pending_groups`, `pairs_fully_stuck_fraction`, `meta.p_stuck_on`);
    `--json` keeps the keys (a dry run's now those of a run's summary: `total`, `already`,
    `groups`, labelled as before)."""
    from xbarmem.cli.records import field_label

    assert field_label("total") == "trials"
    assert field_label("already") == "already stored"
    assert field_label("groups") == "groups to run"
    assert field_label("pairs_fully_stuck_fraction") == "pairs fully stuck (fraction)"
    assert field_label("meta.p_stuck_on") == "how made: P(stuck ON)"
    assert field_label("meta.off_below_S") == "how made: off below (S)"


def test_a_long_value_folds_and_the_labels_stay_whole(run_cli, tmp_path):
    """With a long path in the value column, labels broke over lines ('pairs with' / 'a
    stuck' / 'device')."""
    folder = tmp_path / ("a-folder-of-a-long-name-" * 3)
    folder.mkdir()
    code, out, err = run_cli("chip", "faults", "-o", folder / "f.npz")
    assert code == 0, err
    assert re.search(r"^\s*pairs with a stuck device \(fraction\)\s+0\.\d+\s*$", out, re.M), out
    assert "how made: fault model" in out, out


# ------------------------------------------------------------------------------ results
CAPACITY_SWEEP = """[sweep]
name = "c"
trial = "capacity"
seeds = 1

[base]
data = "random"
n_neurons = 16
pool = 40
probes = 1
max_iterations = 10
search = true
thresholds = [0.9]

[grid]
rule = ["hebb", "pinv"]
"""


def test_results_caption_leaves_out_fields_no_row_has(run_cli, tmp_path):
    """Capacity searches have no `patterns`: the caption said `patterns=-` (a field that does
    not apply, shown as a value every row shares)."""
    code, out, err = run_cli("results", _swept(run_cli, tmp_path, CAPACITY_SWEEP))
    assert code == 0, err
    text = " ".join(out.split())
    assert "same in every row: sweep=c, n_neurons=16" in text, out
    assert "patterns" not in text and "=-" not in text, out


CONTINUOUS_SWEEP = """[sweep]
name = "g"
trial = "evaluate"
seeds = 1

[base]
data = "random"
kind = "continuous"
n_neurons = 16
patterns = 3
probes = 1
max_iterations = 10

[grid]
rule = ["hebb", "pinv"]
"""


def test_results_caption_says_what_the_rows_store_and_what_level_measures(run_cli, tmp_path):
    """A sweep of continuous patterns under Gaussian noise: the caption said `level=0.6` and
    nothing of the patterns' kind or the corruption, so its table read as a binary sweep's at
    60% flips. The data, kind and corruption every row shares are said, the corruption before
    its level; where one varies, it is a column instead."""
    store = _swept(run_cli, tmp_path, CONTINUOUS_SWEEP)
    code, out, err = run_cli("results", store)
    assert code == 0, err
    text = " ".join(out.split())
    assert ("same in every row: sweep=g, n_neurons=16, data=random, kind=continuous, "
            "patterns=3, fault_rate=0, variation=0, corruption=gaussian, level=0.6, seed=0"
            ) in text, out
    code, out, err = run_cli("results", store, "--columns", "rule,seed")
    assert code == 0 and "same in every row" not in out and "kind" not in out, out


# ------------------------------------------------------------------------------ figures
def _swept(run_cli, folder: Path, sweep: str) -> Path:
    """The store of the sweep file text ``sweep``, run with one job in ``folder``."""
    (folder / "s.toml").write_text(sweep)
    store = folder / "s.sqlite"
    code, _, err = run_cli("sweep", folder / "s.toml", "--store", store, "--jobs", "1")
    assert code == 0, err
    return store


def _row(rule, fault, cosine, seed=0, **extra):
    config = {"trial": "evaluate", "rule": rule, "fault_rate": fault, "seed": seed,
              "n_neurons": 16, "patterns": 3, "data": "random", "variation": 0.0,
              "corruption": "flip", "level": 0.1, "rule_options": {}, **extra}
    return {"trial": "evaluate", "config": config, "result": {"cosine": cosine}}


def test_panels_and_legends_name_settings_as_the_title_does():
    """Panel titles said `n_neurons=16` and `level=0.05` where the figure's title says `N =
    25` and `10% flips`; panels were ordered by their text (N = 100 before N = 16)."""
    from xbarmem.viz.results import plot_rows

    rows = [_row(rule, f, 0.9 - f - n / 1000, n_neurons=n, level=level)
            for rule in ("hebb", "pinv") for f in (0.0, 0.3) for n in (100, 16)
            for level in (0.05, 0.2)]  # (series apart: equal ones are named so in the legend)
    fig = plot_rows(rows, "faults")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["5% flips, N = 16", "5% flips, N = 100", "20% flips, N = 16",
                      "20% flips, N = 100"], titles
    one_rule = [r for r in rows if r["config"]["rule"] == "pinv" and r["config"]["level"] == 0.2]
    legend = plot_rows(one_rule, "faults").legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["N = 16", "N = 100"]


def test_setting_words_of_every_preferred_setting():
    from xbarmem.viz.series import setting_words

    assert setting_words("fault_rate", 0.1) == "10% stuck"
    assert setting_words("fault_rate", 0.0) == "no faults"
    assert setting_words("patterns", 3) == "P = 3"
    assert setting_words("hidden", [64, 32]) == "hidden widths 64-32"
    assert setting_words("data", "mnist-crop24") == "MNIST (24x24 crop)"
    assert setting_words("self_field", True) == "self_field=true"  # a rule option: its key


@pytest.mark.parametrize(("key", "value", "words"), [
    ("self_field", True, "self_field=true"), ("noise_injection", False, "noise_injection=false"),
    ("warm_start", True, "warm_start=true"), ("search", False, "search=false")])
def test_a_true_false_setting_is_labelled_as_sweep_files_write_it(key, value, words):
    """A swept true/false rule option was labelled ``noise_injection=False`` in a figure's
    legend and title, Python's word, where the sweep file and ``--where`` say false."""
    from xbarmem.viz.series import setting_words

    assert setting_words(key, value) == words


@pytest.mark.parametrize(("cosines", "low", "high"), [
    ((1.0, 1.0), (0.88, 0.9), (1.0, 1.004)),  # flat at 1: was 0.96 .. 1.04
    ((0.0, 1.0), (-0.09, -0.02), (1.0, 1.031)),  # 0 .. 1: not to 1.08 (nor below -0.09)
    ((0.5, 0.5), (0.44, 0.45), (0.55, 0.56)),  # flat elsewhere: around it
])
def test_a_cosine_axis_ends_near_1(cosines, low, high):
    from xbarmem.viz.results import plot_rows

    rows = [_row("pinv", f, c) for f, c in zip((0.0, 0.3), cosines, strict=True)]
    bottom, top = plot_rows(rows, "faults").axes[0].get_ylim()
    assert low[0] <= bottom <= low[1] and high[0] <= top <= high[1], (bottom, top)


def test_scaling_titles_name_data_as_the_other_figures_do():
    from xbarmem.viz.figures import scaling_title

    title = scaling_title({"arch": "single", "rule": "pinv", "kind": "binary",
                           "data": "mnist-crop24"})
    assert title == "single layer, pinv\nbinary MNIST (24x24 crop)"


def test_titles_name_a_chips_conductance_levels_where_they_name_its_faults(run_cli, tmp_path):
    """A chip with `levels = 4` was titled as a continuous one ("lev4 chip, 2% faults"):
    capacity's table, energy's header and the scaling title now name the levels, each through
    `chip_words` (a continuous chip, levels 0, as before)."""
    from xbarmem import load_preset
    from xbarmem.hardware.chip import chip_words, spec_words
    from xbarmem.viz.figures import scaling_title

    chip = load_preset("rram").replace_device(levels=4)
    (tmp_path / "lev4.toml").write_text(chip.to_toml().replace('name = "rram"', 'name = "lev4"'))
    said = "lev4 chip with 4 conductance levels, 2% faults"
    assert chip_words("lev4", 0.02, 4) == said
    assert chip_words("rram", 0.3) == "rram chip, 30% faults"
    assert chip_words("rram", 0.3, 4, fault_map="m.npz") == (
        "rram chip with 4 conductance levels, faults of m.npz")
    assert spec_words(chip) == spec_words(chip.to_dict()) == (
        "rram chip with 4 conductance levels, 2% faults")
    assert scaling_title({"chip": chip.to_dict()}) == (
        "rram chip with 4 conductance levels, 2% faults")
    common = ["--data", "random", "--neurons", 16, "--rule", "hebb", "--chip",
              tmp_path / "lev4.toml"]
    code, out, err = run_cli("capacity", *common, "--trials", 1, "--probes", 2, "--threshold",
                             0.95)
    assert code == 0 and f"(hebb, {said}, flip 0.05, 1 trial)" in " ".join(out.split()), out
    code, out, err = run_cli("energy", *common, "--patterns", 2, "--probes", 1)
    assert code == 0 and f"hebb rule, {said}, 2 cues" in " ".join(out.split()), out


# ------------------------------------------------------------------------------ demo
def test_demo_of_one_chip_has_no_spread_column(run_cli, tmp_path):
    """`demo --trials 1` showed a `± chips` column of "-" in every row (a field that does not
    apply); the line under the tables says there is no spread over one chip."""
    code, out, err = run_cli("demo", "--trials", "1", "--probes", "1", "-o", tmp_path)
    assert code == 0, err
    assert "± chips" not in out and "no spread over one chip" in " ".join(out.split()), out
    header = next(line for line in out.splitlines() if "rule" in line and "cosine" in line)
    assert header.replace("┃", " ").split() == ["rule", "cosine", "exact", "tanh", "neurons"]


ARCH_SWEEP = """[sweep]
name = "a"
trial = "evaluate"
seeds = 1

[base]
data = "random"
n_neurons = 16
patterns = 2
probes = 1
max_iterations = 5
rule = "adaptive"

[rule_options.adaptive]
max_steps = 5

[[grid]]
arch = ["single"]
fault_rate = [0.0, 0.2]

[[grid]]
arch = ["multilayer"]
hidden = [[4]]
fault_rate = [0.0, 0.2]
"""


def test_results_shows_a_setting_that_tells_rows_apart(run_cli, tmp_path):
    """A sweep of single-layer and multilayer memories showed two rows alike at each fault
    rate (`arch` was no default column): a setting that varies among rows of one trial kind
    is a column."""
    store = _swept(run_cli, tmp_path, ARCH_SWEEP)
    code, out, err = run_cli("results", store)
    assert code == 0, err
    header = next(line for line in out.splitlines() if "fault_rate" in line)
    assert header.replace("┃", " ").split()[:3] == ["arch", "hidden", "fault_rate"], out
    rows = [line.replace("│", " ").split() for line in out.splitlines() if "│" in line]
    assert [r[:3] for r in rows] == [["multilayer", "4", "0"], ["multilayer", "4", "0.2"],
                                     ["single", "-", "0"], ["single", "-", "0.2"]], out


def test_a_scaling_title_breaks_its_lines_between_phrases():
    """'continuous random, Gaussian noise sigma = 0.6, paper-sim' / 'chip': the title was
    wrapped at 60 characters, inside a phrase."""
    from xbarmem.viz.figures import scaling_plot

    result = {"sizes": [16, 25], "capacity": {"0.9": [4, 5]}, "fits": {"0.9": None},
              "settings": {"arch": "single", "rule": "adaptive", "kind": "continuous",
                           "data": "random", "chip": {"name": "paper-sim"},
                           "protocol": {"corruption": "gaussian", "level": 0.6}}}
    title = scaling_plot(result).axes[0].get_title()
    assert title.split("\n") == ["single layer, adaptive",
                                 "continuous random, Gaussian noise sigma = 0.6",
                                 "paper-sim chip"], title


# ------------------------------------------------------------------------------ evaluate
def test_evaluate_of_continuous_patterns_counts_signs_not_bits(run_cli, tmp_path):
    """`evaluate` of a continuous model printed 'hamming 0.50 bits': its patterns have no
    bits; exact recall and Hamming distance compare signs, and say so (an 'exact 0.200' beside
    a cosine of 0.9997 read as poor recall)."""
    model = tmp_path / "c.safetensors"
    code, _, err = run_cli("train", "-o", model, "--kind", "continuous", "--data", "random",
                           "--neurons", "16", "--patterns", "2", "--rule-option", "max_steps=5")
    assert code == 0, err
    code, out, err = run_cli("evaluate", model, "--probes", "1")
    assert code == 0, err
    assert re.search(r"\(cues \d\.\d{3}\)  exact signs \d\.\d{3}  hamming \d\.\d\d signs\n",
                     out), out
    assert "bits" not in out, out


def test_a_continuous_file_in_0_1_is_warned_about_once_by_every_command_reading_it(run_cli,
                                                                                 tmp_path):
    """`train --kind continuous --data grey.npy` and `recall` of cues in [0, 1] read grey
    levels in [0, 1] as values in [-1, 1] without a word (a cue's recall ended at another
    pattern): one warning line each, saying how to map them; the work is done as before."""
    import numpy as np

    grey = np.linspace(0.0, 1.0, 48, dtype=np.float32).reshape(3, 16)
    np.save(tmp_path / "grey.npy", grey)
    model = tmp_path / "c.safetensors"
    for args in (("train", "-o", model, "--kind", "continuous", "--data", tmp_path / "grey.npy",
                  "--rule", "pinv"), ("recall", model, tmp_path / "grey.npy")):
        code, out, err = run_cli(*args)
        assert code == 0, err
        lines = [line for line in err.splitlines() if line.startswith("warning: ")]
        assert lines == [f"warning: {tmp_path / 'grey.npy'}: every value lies in [0, 1], read "
                         "as continuous values in [-1, 1] as they are (0 is the middle of the "
                         "range, not its end); read grey levels in [0, 1] as 2*x - 1 with "
                         "zero_one=True (CLI: --zero-one)"], err


def test_a_warning_names_an_option_only_where_the_command_has_it(run_cli, tmp_path):
    """A sweep of a file of grey levels in [0, 1] was told to read them "with --zero-one",
    which `sweep` has not: a warning's `(CLI: --option)` pointer is read as an error's is,
    kept where the command has the option, in a sweep file's words for sweep (its key
    zero_one)."""
    import numpy as np

    np.save(tmp_path / "grey.npy", np.linspace(0.0, 1.0, 48, dtype=np.float32).reshape(3, 16))
    (tmp_path / "s.toml").write_text(
        '[sweep]\nname = "grey"\ntrial = "evaluate"\nseeds = 1\nbatch = 1\n\n'
        f'[base]\ndata = "{tmp_path / "grey.npy"}"\nkind = "continuous"\nn_neurons = 16\n'
        'patterns = 3\nselection = "first"\nprobes = 2\nmax_iterations = 10\nrule = "pinv"\n')
    code, _, err = run_cli("sweep", tmp_path / "s.toml", "--store", tmp_path / "s.sqlite",
                           "--dry-run")
    assert code == 0, err
    line = next(line for line in err.splitlines() if "every value lies in [0, 1]" in line)
    assert line.endswith("with zero_one=True (sweep file: zero_one = true, in [base] or "
                         "[grid])"), line


@pytest.mark.parametrize("command", ["train", "recall", "capacity", "energy"])
@pytest.mark.parametrize("values, warned", [
    ([-1.0, 1.0], True),   # +-1 already: --zero-one changed nothing
    ([0.0, 1.0], False),   # what --zero-one is for
    ([1.0], False),        # all +1: reads the same either way
])
def test_zero_one_given_for_a_file_of_pm1_values_is_warned_about_by_every_command(
        run_cli, tmp_path, command, values, warned):
    """`--zero-one` given for a file of -1 and +1 (binary already) was taken without a word
    by every command that has the flag (the file was read as it is): one warning line naming
    the file and the flag; the work is done as before. A {0, 1} file, and an all-+1 one, are
    not warned about."""
    rng = np.random.default_rng(1)
    data = rng.choice(values, size=(4, 16)).astype(np.float32)
    data[0, :2] = values[0], values[-1]  # (each value present)
    np.save(tmp_path / "d.npy", data)
    model = tmp_path / "m.safetensors"
    if command == "recall":
        np.save(tmp_path / "p.npy", np.where(data > 0.5, 1.0, -1.0).astype(np.float32))
        assert run_cli("train", "-o", model, "--data", tmp_path / "p.npy", "--rule", "hebb")[0] == 0
    args = {"train": ("train", "-o", model, "--data", tmp_path / "d.npy", "--rule", "hebb"),
            "recall": ("recall", model, tmp_path / "d.npy", "-o", tmp_path / "r.npy"),
            "capacity": ("capacity", "--data", tmp_path / "d.npy", "--rule", "hebb", "--trials",
                         "1", "--probes", "2", "--threshold", "0.5", "--json"),
            "energy": ("energy", "--data", tmp_path / "d.npy", "--rule", "hebb", "--patterns",
                       "2", "--probes", "2", "--json")}[command]
    code, _, err = run_cli(*args, "--zero-one")
    assert code == 0, err
    lines = [line for line in err.splitlines() if "changed nothing" in line]
    expected = [f"warning: {tmp_path / 'd.npy'}: every value is -1 or +1, binary already: "
                "zero_one=True (CLI: --zero-one), which maps 0 -> -1 and 1 -> +1, changed "
                "nothing; drop it"]
    assert lines == (expected if warned else []), err
