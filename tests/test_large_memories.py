"""What the commands print for memories of many arrays (N = 784 on 64x64 arrays: 169 arrays),
shown here on small memories cut into many small arrays."""

from __future__ import annotations

import pytest

from xbarmem import load_preset, random_patterns, save_memory, train


@pytest.fixture(scope="module")
def tiled_model(tmp_path_factory):
    """A pinv memory of 20 neurons on 8x8 arrays (no bias row): 3 x 3 = 9 arrays, arrays 2 and
    5 of 8 rows x 4 columns used, 6 and 7 of 4 x 8, array 8 of 4 x 4."""
    pset = random_patterns(4, 20, seed=1)
    chip = load_preset("ideal").replace_array(rows=8, cols=8)
    memory = train(pset, chip=chip, rule="pinv")
    return save_memory(memory, tmp_path_factory.mktemp("tiled") / "m.safetensors",
                       patterns=pset)


def test_export_says_arrays_of_the_same_used_cells_on_one_line(run_cli, tiled_model,
                                                                tmp_path, monkeypatch):
    """N = 784 on 64x64 arrays: export printed 25 lines of used cells, one per array of the
    last tile row and column, and 169 lines of currents (256 lines, some wrapped at 80
    columns, as a terminal of 80 columns shows them)."""
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run_cli("export", tiled_model, "-o", tmp_path / "e")
    assert code == 0, err
    assert ("cells used of the 8x8 arrays a layer does not fill (the rest unused):\n"
            "  layer 0 arrays 2, 5: rows 0-7, cols 0-3\n"
            "  layer 0 arrays 6-7: rows 0-3, cols 0-7\n"
            "  layer 0 array 8: rows 0-3, cols 0-3\n") in out, out
    lines = out.splitlines()
    currents = lines[lines.index("column currents for inputs in [-1, 1] (manifest.json: "
                                 "every layer's currents):") + 1:]
    assert len(currents) == 2, out  # 9 arrays: the layer's extremes, not a line per array
    assert currents[0].startswith("  layer 0, 9 arrays: I+ - I- in [-"), out
    assert currents[1].startswith("    I+ or I- alone up to "), out
    assert max(map(len, lines)) <= 80, out


def test_export_extremes_are_those_of_the_manifest(run_cli, tiled_model, tmp_path):
    """The layer's line names the widest range of all its arrays and the array reaching it."""
    import json

    code, out, err = run_cli("export", tiled_model, "-o", tmp_path / "e")
    assert code == 0, err
    currents = json.loads((tmp_path / "e" / "manifest.json").read_text())["layers"][0][
        "currents"]
    high = max(currents, key=lambda c: c["differential_A"][1])
    alone = max(currents, key=lambda c: max(c["plane_max_A"]))
    assert (f"I+ - I- in [{-high['differential_A'][1] * 1e6:.4g}, "
            f"{high['differential_A'][1] * 1e6:.4g}] uA (array {high['array']});") in out, out
    assert (f"I+ or I- alone up to {max(alone['plane_max_A']) * 1e6:.4g} uA (array "
            f"{alone['array']})") in out, out


def test_export_lists_each_array_of_a_layer_of_few(run_cli, tiled_model, tmp_path,
                                                   monkeypatch):
    from xbarmem.cli import deploy_output

    monkeypatch.setattr(deploy_output, "ARRAYS_LISTED", 9)
    code, out, err = run_cli("export", tiled_model, "-o", tmp_path / "e")
    assert code == 0, err
    assert sum(line.startswith("  layer 0 array ") and "I+ or I- alone up to" in line
               for line in out.splitlines()) == 9, out


def test_numbers_text_runs_and_cut():
    from xbarmem.cli.deploy_output import numbers_text

    assert numbers_text([3]) == "3"
    assert numbers_text([7, 5, 6, 9]) == "5-7, 9"
    assert numbers_text([12, 25, 38, 51, 64, 77]) == "12, 25, 38, 51, ..., 77"
    assert numbers_text([1, 3, 5, 7, 9]) == "1, 3, 5, 7, 9"


def test_beside_keeps_the_digits_that_show_the_side_of_a_threshold():
    from xbarmem.checks import beside

    assert beside(0.98992, [0.99]) == "0.9899"
    assert beside(0.98992, [0.9, 0.95]) == "0.990"
    assert beside(0.99, [0.99]) == "0.990"
    assert beside(0.9995, [0.999], 3) == "1.000"
    assert beside(0.99896, [0.999], 3) == "0.99896"
    assert beside(float("nan"), [0.99]) == "nan"
    assert beside(-2.9e-6, [0.99]) == "0.000"  # (a pool's worth of patterns: recall at chance)
    assert beside(-2.9e-6, [0.0]) == "-0.000003"


def test_capacity_tested_counts_below_the_threshold_do_not_read_at_it(capsys):
    """N = 784, adaptive: "C@0.99 25" beside "tested: 25:0.993, 30:0.984, 31:0.990": 31 had a
    cosine of 0.98992, below the threshold, printed as if at it."""
    from xbarmem.cli.capacity_output import report_capacity
    from xbarmem.evaluation.capacity import CapacityResult

    points = [{"count": 25, "cosine": 0.99270}, {"count": 31, "cosine": 0.98992}]
    res = CapacityResult(capacity={0.99: 25}, points=points, devices={"devices": 100},
                         settings={}, seconds=1.0, evaluations=2,
                         capacity_per_device={0.99: 0.25})
    report_capacity([("single", res)], None, False, 1, [0.99], "capacity")
    assert "single tested: 25:0.993, 31:0.9899\n" in capsys.readouterr().out


def test_adapt_rounds_table_keeps_its_digits_at_80_columns(capsys, monkeypatch):
    """adapt of an N = 784 model at 80 columns: the table of rounds (device counts of 7
    digits) was cut to `err u` and `exac`, its exact `1.000` to `1.00` (the header `err uS`,
    which may not wrap, was measured as if it could fold at its space)."""
    from types import SimpleNamespace

    from xbarmem.cli import deploy

    monkeypatch.setattr(deploy.out, "_width", 80)
    entry = {"round": 0, "written": 1206253, "kept": 0, "skipped_fixed": 24627,
             "newly_fixed": 128703, "newly_fixed_at_rail": 3521, "free": 1077550,
             "write_error_rms_uS": 1.8, "cosine": 1.0, "exact": 1.0, "train_seconds": 0.0}
    result = SimpleNamespace(rounds=[entry], reached_target=True)
    summary = {"open_loop_cosine": 1.0, "final_cosine": 1.0, "gain": 0.0,
               "settings": {"rule": "adaptive"}}
    deploy._print_rounds("adaptation of m.safetensors", result, summary, 0.99, None, 148e-6)
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if "written" in line)
    assert header.split() == ["rnd", "written", "kept", "skip", "fixed+", "rail", "free",
                              "err", "uS", "cosine", "exact"], lines
    row = next(line for line in lines if "1206253" in line)
    assert row.split() == ["0", "1206253", "0", "24627", "128703", "3521", "1077550", "1.8",
                           "1.0000", "1.000"], lines
    assert max(map(len, lines[:lines.index(row) + 1])) <= 80, lines


@pytest.mark.parametrize("command", ["evaluate", "recall", "export"])
def test_long_steps_show_what_is_done_on_a_terminal(run_cli, small_model, tmp_path,
                                                    monkeypatch, command):
    """evaluate of an N = 2048 model (600 patterns, async) ran over 170 s without a word on the
    terminal; recall and export (8 million devices: 16 s) too."""
    import io

    import numpy as np

    from xbarmem.cli.tables import console

    screen = io.StringIO()  # stderr as a terminal 200 columns wide (tmp_path is long)
    for name, value in (("_file", screen), ("_force_terminal", True), ("is_interactive", True),
                        ("_width", 200)):
        monkeypatch.setattr(console, name, value)
    cues = tmp_path / "cues.npy"
    np.save(cues, np.ones((5, 16), dtype=np.float32))
    args = {"evaluate": ["--probes", "2", "--mode", "async"], "recall": [cues, "--mode", "async"],
            "export": ["-o", tmp_path / "e"]}[command]
    code, _, err = run_cli(command, small_model, *args)
    assert code == 0, err
    shown = {"evaluate": "recalling 6 cues (N=16, async)", "recall": "recalling 5 cues (N=16, "
             "async)", "export": f"exporting 1 array of 64x64 to {tmp_path / 'e'}"}[command]
    assert shown in screen.getvalue(), screen.getvalue()


def test_work_of_unknown_length_shows_no_eta():
    """energy --model's bar (one recall of all cues, no total) read "ETA estimating…" to its
    end, wrapped onto a second line at 80 columns."""
    from rich.progress import Progress

    from xbarmem.cli.progress import EtaColumn

    clock = [0.0]
    bar = Progress(get_time=lambda: clock[0])
    bar.add_task("recalling", total=None)
    clock[0] = 100.0
    assert EtaColumn().render(bar.tasks[0]).plain == ""


def test_scaling_of_a_classic_rule_says_multilayer_is_its_default(run_cli):
    """`scaling --rule pinv` was refused naming `--arch multilayer`, which the user never typed
    (scaling's default architecture)."""
    code, _, err = run_cli("scaling", "--rule", "pinv", "--sizes", "64,144")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert ("--rule pinv: this command's default --arch is multilayer, whose memories are "
            "trained by the hardware-adaptive rule only; give --arch single for 'pinv'") in err
    code, _, err = run_cli("scaling", "--rule", "pinv", "--arch", "multilayer")
    assert code == 2 and "multilayer memories (--arch multilayer) are trained" in err, err
    code, _, err = run_cli("scaling", "--rule", "pinvv")
    assert code == 2 and "unknown rule 'pinvv'" in err, err


def test_adapt_of_a_weight_fault_model_says_how_to_train_for_it():
    """adapt of a model trained on train's default chip (paper-sim, weight fault model) was
    refused without saying what model it needs, nor how to get one."""
    from xbarmem.deploy.chip_loop import check_settings
    from xbarmem.errors import ConfigError

    memory = train(random_patterns(3, 16, seed=0), chip="paper-sim", rule="pinv")
    with pytest.raises(ConfigError) as caught:
        check_settings(memory, 1, 3e-6)
    assert str(caught.value).endswith(
        "the model's chip paper-sim has the 'weight' model: train it on a chip of the 'device' "
        "model (train --fault-model device, or --chip rram)"), caught.value


def test_a_models_recall_too_large_is_not_called_zero_networks(run_cli, small_model,
                                                                monkeypatch):
    """evaluate of an N = 2048 model with --probes 100: `this request (N = 2048, 0 networks,
    60000 cues)`: the model is one network, and none is trained."""
    monkeypatch.setenv("XBARMEM_MAX_BYTES", "1M")
    code, out, err = run_cli("evaluate", small_model, "--probes", "2000")
    assert code == 2 and not out, err
    assert err.startswith("error: this request (N = 16, 6000 cues) would need about "), err


@pytest.mark.parametrize("width", [60, 80, 100])
def test_a_long_progress_line_keeps_its_time_and_eta(width):
    """At 80 columns, train's line at N = 784 read `training adaptive on 50 patterns (N=78…
    … step 20 (of at most 200), loss 0.70…`: no bar, percentage, elapsed time or ETA."""
    import io

    from rich.console import Console

    from xbarmem.cli.progress import work_bar

    screen = io.StringIO()
    clock = [0.0]
    bar = work_bar(Console(file=screen, width=width, force_terminal=True, color_system=None))
    bar.get_time = lambda: clock[0]
    task = bar.add_task("training adaptive on 50 patterns (N=784)", total=200, detail="",
                        bound=True)
    bar.update(task, completed=100, detail="step 100 (of at most 200), loss 0.002475")
    clock[0] = 30.0
    bar.console.print(bar.make_tasks_table(bar.tasks))
    lines = screen.getvalue().splitlines()
    assert len(lines) == 1 and len(lines[0]) <= width, lines
    assert lines[0].startswith("training ") and " 50% step " in lines[0], lines
    assert lines[0].rstrip().endswith(" 0:00:30 ETA <= 0:00:30"), lines


def test_adapt_bar_says_which_round_is_retrained():
    """adapt at N = 1024: the bar sat at 50% for two minutes reading `round 0: cosine 1.0000`
    (round 1 re-training), its ETA growing all along (round 0, quick, counted as a round)."""
    from xbarmem.cli.deploy import _RoundLog

    with _RoundLog(None, 2, 0.99, lines=False) as log:
        task = log.bar.tasks[0]
        assert task.total == 2 and task.fields["detail"] == "round 0: programming, reading back"
        log({"round": 0, "cosine": 0.9, "written": 1, "newly_fixed": 0, "exact": 0.5})
        assert task.completed == 0
        assert task.fields["detail"] == "re-training round 1 of 2; round 0: cosine 0.9000"
        log({"round": 1, "cosine": 0.995, "written": 1, "newly_fixed": 0, "exact": 0.9})
        assert task.completed == 1 and task.fields["detail"] == "round 1: cosine 0.9950"


def test_a_models_recall_counts_the_model_against_the_limit(run_cli, small_model, monkeypatch):
    """evaluate of an N = 2048 model (20 probes of 600 patterns): estimated 1.46 GiB, the cues'
    recall alone; the process took 1.73 GiB beyond torch's own, the loaded model's 1024 arrays
    uncounted. Here: 60 cues of 16 neurons (60 KiB) through a model of one 64x64 array (its
    devices 256 KiB), under a limit that reading the model's file (287 KiB) stays within."""
    monkeypatch.setenv("XBARMEM_MAX_BYTES", "310K")
    for command in (["evaluate", small_model], ["energy", "--model", small_model]):
        code, out, err = run_cli(*command)
        assert code == 2 and not out, err
        assert "this request (N = 16, 60 cues) would need about 3" in err, err


def test_export_names_a_single_used_row_as_one_row(run_cli, tmp_path):
    """The bias row of N = 64 on 64x64 arrays fills one row of the second array: export said
    ``rows 0-0``, a range of one."""
    memory = train(random_patterns(3, 64, seed=2), chip="ideal", max_steps=2,
                   finetune_steps=0, flip_steps=0)  # (a bias: the adaptive rule)
    model = save_memory(memory, tmp_path / "m.safetensors")
    code, out, err = run_cli("export", model, "-o", tmp_path / "e")
    assert code == 0, err
    assert "  layer 0 array 1: row 0, cols 0-63\n" in out, out
    assert "0-0" not in out, out
