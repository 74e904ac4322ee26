"""What the commands print for people, round three: captions under tables at the terminal's
width, adapt's one account of its rounds, demo's JSON for one chip, the one name of each data
source in every title and line, and train's account of its steps by stage. Tiny settings;
in-process through ``run_cli``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_output_words import CAPACITY_SWEEP, _swept


# ------------------------------------------------------------------------------ captions
def test_a_caption_is_printed_under_its_table_at_the_terminals_width(run_cli, tmp_path):
    """`results`' caption was centred under the table and wrapped to its width (26 characters
    under a narrow table on an 80-column terminal): now its own lines at the terminal's."""
    code, out, err = run_cli("results", _swept(run_cli, tmp_path, CAPACITY_SWEEP))
    assert code == 0, err
    lines = out.splitlines()
    table_width = max(len(line) for line in lines if "│" in line)
    (first,) = [line for line in lines if "same in every row" in line]
    assert first.startswith("same in every row: sweep=c, n_neurons=16"), out
    assert len(first) > table_width, out


def test_a_grouped_tables_caption_is_printed_under_it_too(run_cli, tmp_path):
    store = _swept(run_cli, tmp_path, CAPACITY_SWEEP)
    code, out, err = run_cli("results", store, "--group-by", "rule")
    assert code == 0, err
    assert any(line.startswith("each metric: the mean over the n settings of a group")
               for line in out.splitlines()), out


# ------------------------------------------------------------------------------ adapt
def test_adapt_gives_one_account_of_its_rounds_round_0_as_programming(small_memory, run_cli,
                                                                      tmp_path):
    """`adapt --rounds 1` printed "round 0: re-programmed 5836" for the first, open-loop
    programming, and each round's line again in the table below it. Now the table is the
    account (stderr holds only a transient bar); under --json, where no table follows, a
    line per round says round 0 programmed its devices."""
    from xbarmem.memory.io import save_memory

    pset, memory = small_memory
    model = save_memory(memory, tmp_path / "m.safetensors", patterns=pset.patterns)
    args = ("adapt", model, "--rounds", "1", "--target", "1.1", "--probes", "2")
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert "round" not in err and "re-programmed 1" not in out, err
    assert "rnd 0: the open-loop programming" in " ".join(out.split()), out
    code, out, err = run_cli(*args, "--json")
    assert code == 0, err
    written = [r["written"] for r in json.loads(out)["rounds"]]
    text = " ".join(err.split())
    assert f"round 0: programmed {written[0]} devices (open loop)," in text, err
    assert f"round 1: re-programmed {written[1]} devices," in text, err
    assert "round 0: re-programmed" not in text, err


# ------------------------------------------------------------------------------ demo
def test_one_chip_has_no_cosine_spread_in_json_or_python():
    """`demo --json` (and compare_rules) reported cosine_std 0.0 for one chip, where no
    spread exists and the table shows "-": None (null)."""
    import xbarmem as xm

    pset = xm.random_patterns(3, 16, seed=0)
    one = xm.compare_rules(pset, "ideal", "hebb", trials=1)["rules"]["hebb"]
    two = xm.compare_rules(pset, "ideal", "hebb", trials=2)["rules"]["hebb"]
    assert one["cosine_std"] is None
    assert isinstance(two["cosine_std"], float)


# ------------------------------------------------------------------------------ data names
def test_data_sources_have_one_name_for_people_in_figures_and_commands():
    """The words the commands use are the figures' words (one table, which viz reads)."""
    from xbarmem.data.sources import DATA_WORDS, data_words
    from xbarmem.viz.series import DATA_WORDS as FIGURE_WORDS

    assert FIGURE_WORDS is DATA_WORDS
    assert [data_words(s) for s in ("random", "MNIST-crop24", "correlated-0.3")] == [
        "random", "MNIST (24x24 crop)", "correlated-0.3"]
    assert data_words(Path("some") / "mine.npy") == "mine.npy"


def test_capacity_and_demo_name_their_data_as_the_figures_do(run_cli, tmp_path):
    """capacity's title said `random-binary` (the pattern set's internal name) where the user
    typed `--data random`; demo said `MNIST (centre 24x24 crop)` where figures say
    `MNIST (24x24 crop)`."""
    code, out, err = run_cli("capacity", "--rule", "pinv", "--data", "random", "--neurons", "16",
                             "--pool", "20", "--trials", "1", "--probes", "1")
    assert code == 0, err
    assert "capacity on random patterns (pinv" in out and "random-binary" not in out, out
    code, out, err = run_cli("demo", "--trials", "1", "--probes", "1", "-o", tmp_path)
    assert code == 0, err
    assert re.match(r"Recall of 10 MNIST \(24x24 crop\) patterns \(8x8 images, one per digit "
                    r"class\)", " ".join(out.split())), out
    # digits are named "8x8 digit": the size once ("10 8x8 digit patterns (8x8 images, ...")
    code, out, err = run_cli("demo", "--data", "digits", "--trials", "1", "--probes", "1", "-o",
                             tmp_path)
    assert code == 0, err
    assert " ".join(out.split()).startswith("Recall of 10 8x8 digit patterns (one per digit "
                                            "class), N=64,"), out


def test_capacity_says_its_patterns_are_continuous_as_scaling_and_figures_do(run_cli):
    """`capacity --kind continuous` titled its table `capacity on random patterns (pinv,
    gaussian 0.6, 1 trial)`, as a binary search's, where `scaling` says `continuous MNIST`
    and figures `continuous ... patterns`."""
    args = ("capacity", "--rule", "pinv", "--data", "random", "--neurons", "16", "--pool", "20",
            "--trials", "1", "--probes", "1", "--threshold", "0.5")
    code, out, err = run_cli(*args, "--kind", "continuous")
    assert code == 0, err
    assert "capacity on continuous random patterns (pinv, paper-sim chip, gaussian 0.6" in (
        " ".join(out.split())), out
    # the title wider than 80 columns breaks between phrases, not inside "1 trial"
    assert re.search(r"^ *1 trial\) *$", out, re.M), out
    code, out, err = run_cli(*args)
    assert code == 0 and "capacity on random patterns (pinv, paper-sim chip, flip 0.05" in (
        " ".join(out.split())), out


@pytest.mark.parametrize(("chip", "said"), [
    (("--chip", "rram", "--faults", "0.3"), "(pinv, rram chip, 30% faults, flip 0.05"),
    (("--chip", "ideal"), "(pinv, ideal chip, flip 0.05")])
def test_capacity_names_the_chip_it_searched_on(run_cli, chip, said):
    """The capacity table's title named data, rule and cues but not the chip: a table of a
    search on a chip with 30% stuck devices read as one on a clean chip."""
    code, out, err = run_cli("capacity", "--rule", "pinv", "--data", "random", "--neurons",
                             "16", "--pool", "20", "--trials", "1", "--probes", "1", *chip)
    assert code == 0, err
    assert said in " ".join(out.split()), out


# ------------------------------------------------------------------------------ train steps
def _train_line(run_cli, tmp_path, *options):
    code, out, err = run_cli("train", "-o", tmp_path / "m.safetensors", "--data", "random",
                             "--patterns", "3", "--neurons", "16", *options)
    assert code == 0, err
    return " ".join(out.split())


def test_train_counts_the_steps_of_each_stage(run_cli, tmp_path):
    """`train --arch multilayer` printed `400 steps, converged=False (max_steps=300
    reached)`: the 300-step stage plus the 100-step fine-tune, unexplained. Every stage's
    steps as the trainer counted them (a basin stage that converges early has fewer than its
    cap), and which stage converged or reached its cap."""
    text = _train_line(run_cli, tmp_path, "--arch", "multilayer", "--hidden", "8",
                       "--rule-option", "max_steps=30", "--rule-option", "finetune_steps=7")
    assert ("37 steps (30 basin + 7 fine-tune), converged=False (the basin stage reached "
            "max_steps=30)") in text, text
    text = _train_line(run_cli, tmp_path, "--rule-option", "flip_steps=5", "--rule-option",
                       "max_steps=9", "--rule-option", "finetune_steps=4")
    assert ("18 steps (5 flip + 9 basin + 4 fine-tune), converged=False (the basin stage "
            "reached max_steps=9)") in text, text
    text = _train_line(run_cli, tmp_path, "--rule-option", "flip_steps=5")
    found = re.search(r"(\d+) steps \(5 flip \+ (\d+) basin \+ (\d+) fine-tune\), "
                      r"converged=True \(the basin stage\)", text)
    assert found and int(found[1]) == 5 + int(found[2]) + int(found[3]), text


@pytest.mark.parametrize("options, stages", [
    (("--arch", "multilayer", "--hidden", "8", "--rule-option", "max_steps=30",
      "--rule-option", "finetune_steps=7"), {"basin": 30, "fine-tune": 7}),
    (("--rule-option", "flip_steps=5", "--rule-option", "max_steps=9", "--rule-option",
      "finetune_steps=4"), {"flip": 5, "basin": 9, "fine-tune": 4}),
    (("--rule-option", "objective=fixed-point", "--rule-option", "max_steps=3"),
     {"fixed-point": 3}),
    (("--rule", "hebb"), None)])
def test_train_json_counts_the_steps_of_each_stage(run_cli, tmp_path, options, stages):
    """``train --json`` said ``"steps": 400, "max_steps": 300`` for a multilayer memory, the
    fine-tune's steps unexplained (the text line names each stage's); it names them too."""
    code, out, err = run_cli("train", "-o", tmp_path / "m.safetensors", "--data", "random",
                             "--patterns", "3", "--neurons", "16", "--json", *options)
    assert code == 0, err
    summary = json.loads(out)
    assert summary.get("stages") == stages
    if stages is not None:
        assert summary["steps"] == sum(stages.values())


def test_train_of_one_stage_says_steps_as_before(run_cli, tmp_path):
    text = _train_line(run_cli, tmp_path, "--kind", "continuous", "--rule-option",
                       "max_steps=6")
    assert "6 steps, converged=False (max_steps=6 reached)" in text, text
    assert "(the" not in text and "basin" not in text, text
    text = _train_line(run_cli, tmp_path, "--rule", "hebb")
    assert "0 steps, converged=True," in text, text


def test_train_says_when_the_perceptron_stopped_at_its_sweep_cap(run_cli, tmp_path):
    """The perceptron stopped by ``max_epochs`` short of its margin was reported
    ``converged=True``; it is ``converged=False (max_epochs=2 reached)``, in JSON false."""
    capped = ("--rule", "perceptron", "--rule-option", "margin=4", "--rule-option",
              "max_epochs=2")
    text = _train_line(run_cli, tmp_path, *capped)
    assert "0 steps, converged=False (max_epochs=2 reached)," in text, text
    code, out, err = run_cli("train", "-o", tmp_path / "j.safetensors", "--data", "random",
                             "--patterns", "3", "--neurons", "16", "--json", *capped)
    assert code == 0, err
    assert json.loads(out)["converged"] is False
    text = _train_line(run_cli, tmp_path, "--rule", "perceptron")
    assert "0 steps, converged=True," in text, text


def test_capacity_progress_names_the_cosine_as_its_table_does(run_cli):
    """The search's progress lines said `single P=4: similarity 0.5969` where its table, JSON
    and --threshold help say cosine."""
    code, out, err = run_cli("capacity", "--rule", "pinv", "--data", "random", "--neurons",
                             "16", "--pool", "20", "--trials", "1", "--probes", "1")
    assert code == 0, err
    assert re.search(r"single P=\d+: cosine \d\.\d{4}", err + out) and "similarity" not in (
        err + out), err


def test_a_message_read_by_a_program_is_one_line(run_cli, tmp_path):
    """Piped or redirected (no terminal), `train`'s summary was wrapped at 80 columns, one
    `0.0 s` split over two lines, so `xbarmem train ... | grep converged` missed its end; text
    written where no terminal reads it now keeps each message on one line."""
    code, out, err = run_cli("train", "-o", tmp_path / "m.safetensors", "--data", "random",
                             "--patterns", "3", "--neurons", "16")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1 and len(lines[0]) > 80, out
    assert lines[0].startswith("saved ") and "converged=" in lines[0], out


def test_train_says_when_a_stored_pattern_is_no_fixed_point(run_cli, tmp_path):
    """16 random patterns of N = 16 (past any rule's capacity) trained to ``converged=True``
    and the line said nothing more; JSON said ``fixed_points: false``. The line says it now,
    and says nothing where every stored pattern is one."""
    code, out, err = run_cli("train", "-o", tmp_path / "m.safetensors", "--data", "random",
                             "--patterns", "16", "--neurons", "16", "--rule", "hebb")
    assert code == 0, err
    text = " ".join(out.split())
    assert "converged=True, not every stored pattern a fixed point," in text, text
    text = _train_line(run_cli, tmp_path, "--rule", "pinv")
    assert "fixed point" not in text, text
