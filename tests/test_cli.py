"""Command-line interface: every command run in-process through ``xbarmem.cli.app.main()``.

The helper patches ``sys.argv`` and calls ``main()`` exactly as the console script does, so error
paths (library errors -> one-line ``error: ...`` on stderr, exit code 2) are tested as a user
sees them. Settings are tiny so the whole file runs in seconds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from xbarmem import cli
from xbarmem.data.patterns import load_mnist
from xbarmem.hardware.chip import load_preset, preset_names
from xbarmem.learning.classic import rule_names
from xbarmem.memory.io import load_memory, read_metadata

ALL_RULES = ["adaptive", "hebb", "storkey", "storkey-variant", "pinv", "perceptron"]


def run(monkeypatch, capsys, *args: object) -> tuple[int, str, str]:
    """Run ``xbarmem *args`` through ``cli.main()``; return (exit code, stdout, stderr)."""
    capsys.readouterr()  # drop anything printed before
    monkeypatch.setattr(sys, "argv", ["xbarmem", *map(str, args)])
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(monkeypatch, capsys, *args: object) -> dict:
    code, out, err = run(monkeypatch, capsys, *args)
    assert code == 0, err
    return json.loads(out)


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    """Exit code 2, a single ``error: ...`` line naming the problem, no traceback."""
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def _strict_json(text: str):
    """json.loads that rejects NaN/Infinity (as strict parsers such as jq do)."""
    def bad(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=bad)


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def adaptive_model(tmp_path_factory) -> Path:
    """Adaptive rule, 10 MNIST digits 8x8, fault-free paper-sim chip (trained once)."""
    path = tmp_path_factory.mktemp("model") / "adaptive.safetensors"
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(sys, "argv", ["xbarmem", "train", "--out", str(path), "--patterns", "mnist",
                                 "--one-per-class", "--side", "8", "--chip", "paper-sim",
                                 "--faults", "0", "--max-steps", "300", "--json"])
        cli.main()
    finally:
        mp.undo()
    assert path.is_file()
    return path


@pytest.fixture
def pm1_file(tmp_path) -> Path:
    """Four random +-1 patterns of 16 neurons."""
    rng = np.random.default_rng(0)
    path = tmp_path / "pm1.npy"
    np.save(path, np.where(rng.random((4, 16)) > 0.5, 1.0, -1.0).astype(np.float32))
    return path


# ------------------------------------------------------------------------------------ demo
def test_demo_json_reports_all_rules_both_fault_models_and_writes_png(monkeypatch, capsys,
                                                                        tmp_path):
    out_dir = tmp_path / "demo"
    code, out, err = run(monkeypatch, capsys, "demo", "--json", "--out", out_dir,
                         "--chips", "1", "--probes", "2")
    assert code == 0, err
    result = _strict_json(out)
    assert set(result["fault_models"]) == {"weight", "device"}
    for model, chip in (("weight", "paper-sim"), ("device", "ideal")):
        entry = result["fault_models"][model]
        assert entry["chip"]["name"] == chip
        assert entry["chip"]["array"]["fault_model"] == model
        assert entry["chip"]["device"]["p_stuck_on"] + entry["chip"]["device"][
            "p_stuck_off"] == pytest.approx(0.5)
        assert list(entry["rules"]) == ALL_RULES
        for name, r in entry["rules"].items():
            assert -1.0 <= r["cosine"] <= 1.0, (model, name)
            assert 0.0 <= r["exact"] <= 1.0
            assert len(r["chips"]) == 1
            assert len(r["chips"][0]["per_pattern_cosine"]) == 10
            assert r["cosine_std"] == 0.0  # one chip
    settings = result["settings"]
    assert settings["n_patterns"] == 10 and settings["n_neurons"] == 64
    assert settings["chips"] == 1 and settings["probes_per_pattern"] == 2
    assert settings["labels"] == list(range(10))
    assert settings["data"] == "mnist-crop24"  # the authors' 8x8 MNIST preprocessing
    # the hardware-adaptive rule sits on 2 arrays (64 inputs + bias row > 64 rows)
    assert result["fault_models"]["weight"]["rules"]["adaptive"]["devices"]["arrays"] == 2
    figure = Path(result["figure"])
    assert figure.parent == out_dir and figure.is_file()
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------------------ train
def test_train_json_summary(monkeypatch, capsys, tmp_path):
    model = tmp_path / "m.safetensors"
    summary = run_json(monkeypatch, capsys, "train", "--out", model, "--patterns", "random",
                       "--n", "4", "--side", "4", "--chip", "ideal", "--max-steps", "200",
                       "--finetune-steps", "0", "--json")
    assert model.is_file()
    assert summary["rule"] == "adaptive"
    assert summary["n_patterns"] == 4 and summary["n_neurons"] == 16
    assert summary["chip"] == "ideal"
    assert 1 <= summary["steps"] <= 200  # no fine-tune stage: --max-steps caps training
    info = read_metadata(model)["info"]
    assert info["rule_options"]["max_steps"] == 200
    assert info["rule_options"]["finetune_steps"] == 0
    assert info["rule_options"]["bias"] is True and info["kind"] == "binary"
    assert summary["fixed_points"] is True
    assert summary["devices"]["weights"] == 16 * 17  # bias column
    assert summary["faults"]["stuck"] == 0


def test_train_classic_rule_saves_and_json_is_strict(monkeypatch, capsys, tmp_path):
    model = tmp_path / "pinv.safetensors"
    code, out, err = run(monkeypatch, capsys, "train", "--out", model, "--rule", "pinv",
                         "--patterns", "mnist", "--one-per-class", "--side", "8",
                         "--chip", "paper-sim", "--faults", "0", "--json")
    assert code == 0, err
    summary = _strict_json(out)  # the NaN loss of a classic rule must be null, not NaN
    assert summary["rule"] == "pinv"
    assert summary["loss"] is None
    assert summary["steps"] == 0
    assert summary["fixed_points"] is True  # 10 independent patterns: all fixed points
    assert summary["devices"]["weights"] == 64 * 64  # no bias row
    assert summary["devices"]["arrays"] == 1
    result = run_json(monkeypatch, capsys, "evaluate", model, "--level", "0.0", "--probes",
                      "1", "--json")
    assert result["cosine"] == pytest.approx(1.0)


def test_train_plain_output(monkeypatch, capsys, tmp_path):
    model = tmp_path / "h.safetensors"
    code, out, err = run(monkeypatch, capsys, "train", "-o", model, "--rule", "hebb",
                         "--patterns", "random", "--n", "2", "--side", "4", "--chip", "ideal")
    assert code == 0, err
    text = " ".join(out.split())  # human output may be wrapped to the terminal width
    assert f"saved {model}: hebb rule, 2 patterns, N=16" in text


# ------------------------------------------------------------------------------------ evaluate
def test_evaluate_clean_cues_are_fixed_points(monkeypatch, capsys, adaptive_model):
    result = run_json(monkeypatch, capsys, "evaluate", adaptive_model, "--level", "0.0",
                      "--probes", "2", "--json")
    assert result["cosine"] == pytest.approx(1.0)
    assert result["exact"] == 1.0
    assert result["hamming"] == 0.0
    assert result["converged"] == 1.0
    assert result["mean_iterations"] == 1.0  # first step already confirms the fixed point
    assert result["per_pattern_cosine"] == [pytest.approx(1.0)] * 10
    expected = {"corruption": "flip", "level": 0.0, "probes": 2, "mode": "sync", "seed": 0}
    assert {k: result["protocol"][k] for k in expected} == expected


def test_evaluate_corrupted_cues(monkeypatch, capsys, adaptive_model):
    result = run_json(monkeypatch, capsys, "evaluate", adaptive_model, "--level", "0.1",
                      "--probes", "3", "--mode", "async", "--json")
    assert -1.0 <= result["cosine"] <= 1.0
    assert result["cosine"] > 0.5  # a fault-free chip recalls 10% flipped digits well
    assert len(result["per_pattern_cosine"]) == 10
    code, out, err = run(monkeypatch, capsys, "evaluate", adaptive_model, "--probes", "1")
    assert code == 0, err
    assert out.startswith("cosine ")


# ------------------------------------------------------------------------------------ recall
def test_recall_stored_patterns_returns_them_unchanged(monkeypatch, capsys, tmp_path,
                                                       adaptive_model):
    stored = load_mnist(side=8, one_per_class=True).patterns
    cues = tmp_path / "cues.npy"
    np.save(cues, stored)
    states_file = tmp_path / "states.npy"
    result = run_json(monkeypatch, capsys, "recall", adaptive_model, cues, "--out", states_file,
                      "--json")
    assert result["cues"] == 10
    assert result["converged"] == 1.0 and result["cycled"] == 0.0
    assert result["converged_flags"] == [True] * 10
    assert result["iterations"] == [1] * 10
    assert result["states_file"] == str(states_file)
    np.testing.assert_array_equal(np.load(states_file), stored)
    np.testing.assert_array_equal(np.asarray(result["states"], dtype=np.float32), stored)


def test_recall_repairs_a_flipped_cue(monkeypatch, capsys, tmp_path, adaptive_model):
    stored = load_mnist(side=8, one_per_class=True).patterns
    cue = stored[3].copy()
    cue[[0, 9, 20]] *= -1  # three flipped pixels
    cues = tmp_path / "cue.npy"
    np.save(cues, cue[None])
    result = run_json(monkeypatch, capsys, "recall", adaptive_model, cues, "--json")
    assert result["states_file"] is None
    np.testing.assert_array_equal(np.asarray(result["states"][0], dtype=np.float32), stored[3])


def test_recall_zero_one_cues(monkeypatch, capsys, tmp_path, adaptive_model):
    stored = load_mnist(side=8, one_per_class=True).patterns
    cues = tmp_path / "cues01.npy"
    np.save(cues, (stored[:2] > 0).astype(np.float32))
    code, _, err = run(monkeypatch, capsys, "recall", adaptive_model, cues)
    assert_one_line_error(code, err, "{0,1}", "--zero-one")
    result = run_json(monkeypatch, capsys, "recall", adaptive_model, cues, "--zero-one",
                      "--json")
    np.testing.assert_array_equal(np.asarray(result["states"], dtype=np.float32), stored[:2])


def test_recall_wrong_n(monkeypatch, capsys, adaptive_model, pm1_file):
    code, _, err = run(monkeypatch, capsys, "recall", adaptive_model, pm1_file)
    assert_one_line_error(code, err, "N=16", "64")


# ------------------------------------------------------------------------------------ chip
def test_chip_show_json_round_trips_preset(monkeypatch, capsys):
    shown = run_json(monkeypatch, capsys, "chip", "show", "rram", "--json")
    assert shown == load_preset("rram").to_dict()


def test_chip_show_toml_is_loadable(monkeypatch, capsys, tmp_path):
    code, out, err = run(monkeypatch, capsys, "chip", "show", "rram")
    assert code == 0, err
    path = tmp_path / "copy.toml"
    path.write_text(out)
    assert run_json(monkeypatch, capsys, "chip", "show", path, "--json") == \
        load_preset("rram").to_dict()


def test_chip_presets_lists_all(monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "chip", "presets")
    assert code == 0, err
    names = [line.split(":", 1)[0] for line in out.splitlines() if ":" in line]
    for name in ("ideal", "paper-sim", "rram"):
        assert name in names
    assert set(preset_names()) <= set(names)


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_chip_faults_then_inspect(monkeypatch, capsys, tmp_path, suffix):
    path = tmp_path / f"m{suffix}"
    made = run_json(monkeypatch, capsys, "chip", "faults", "--arrays", "2", "--faults", "0.3",
                    "--seed", "1", "--out", path, "--json")
    assert path.is_file()
    assert made["arrays"] == 2 and made["rows"] == 64 and made["cols"] == 64
    assert made["devices"] == 2 * 2 * 64 * 64
    seen = run_json(monkeypatch, capsys, "chip", "inspect", path, "--json")
    assert seen["arrays"] == 2
    assert abs(seen["stuck_fraction"] - 0.3) < 0.02
    for key in ("stuck", "stuck_on", "stuck_off", "stuck_fraction", "pairs_fully_stuck"):
        assert seen[key] == made[key], key
    assert seen["stuck_on"] + seen["stuck_off"] == seen["stuck"]
    assert seen["meta"]["seed"] == 1 and seen["meta"]["source"] == "generated"
    # same seed -> same map
    again = run_json(monkeypatch, capsys, "chip", "faults", "--arrays", "2", "--faults", "0.3",
                     "--seed", "1", "--out", tmp_path / f"again{suffix}", "--json")
    assert again["stuck"] == made["stuck"]


def test_chip_import_codes(monkeypatch, capsys, tmp_path):
    codes = np.random.default_rng(0).integers(-1, 2, size=(2, 64, 64))
    src = tmp_path / "codes.npy"
    np.save(src, codes)
    out_path = tmp_path / "imported.npz"
    code, _, err = run(monkeypatch, capsys, "chip", "import", src, "--out", out_path)
    assert code == 0, err
    seen = run_json(monkeypatch, capsys, "chip", "inspect", out_path, "--json")
    assert seen["arrays"] == 1
    assert seen["stuck_on"] == int((codes == 1).sum())
    assert seen["stuck_off"] == int((codes == -1).sum())
    assert seen["stuck"] == int((codes != 0).sum())
    assert seen["meta"]["source"] == "codes" and seen["meta"]["file"] == str(src)


def test_chip_import_rejects_bad_codes(monkeypatch, capsys, tmp_path):
    src = tmp_path / "bad.npy"
    codes = np.zeros((2, 64, 64))
    codes[1, 2, 3] = 2
    np.save(src, codes)
    code, _, err = run(monkeypatch, capsys, "chip", "import", src, "--out", tmp_path / "x.npz")
    assert_one_line_error(code, err, "-1, 0 or +1", "(0, 1, 2, 3)")
    assert not (tmp_path / "x.npz").exists()


def test_train_on_imported_fault_map(monkeypatch, capsys, tmp_path):
    """A fault map file is honoured: a pinned weight stays at its stuck value."""
    fmap = tmp_path / "map.npz"
    run_json(monkeypatch, capsys, "chip", "faults", "--chip", "paper-sim", "--arrays", "1",
             "--faults", "0.5", "--seed", "3", "--out", fmap, "--json")
    model = tmp_path / "m.safetensors"
    summary = run_json(monkeypatch, capsys, "train", "--out", model, "--rule", "hebb",
                       "--patterns", "random", "--n", "3", "--side", "8", "--chip", "paper-sim",
                       "--fault-map", fmap, "--json")
    assert summary["faults"]["arrays"] == 1
    assert summary["faults"]["pairs_fully_stuck"] == pytest.approx(0.5, abs=0.05)
    memory = load_memory(model)
    pinned = torch.as_tensor(memory.crossbar.stuck.all(axis=0))  # (N, N) faulty weights
    assert 0.4 < pinned.float().mean() < 0.6
    w = memory.weights
    assert (w[pinned] == 0).all()
    assert (w[~pinned] != 0).float().mean() > 0.5


# ------------------------------------------------------------------------------------ errors
def test_error_missing_pattern_file(monkeypatch, capsys, tmp_path):
    missing = tmp_path / "nope.npy"
    code, _, err = run(monkeypatch, capsys, "train", "--out", tmp_path / "m.safetensors",
                       "--patterns", missing)
    assert_one_line_error(code, err, "nope.npy", "no such file")
    assert not (tmp_path / "m.safetensors").exists()


def test_error_nan_in_patterns(monkeypatch, capsys, tmp_path):
    path = tmp_path / "nan.npy"
    x = np.ones((3, 16), dtype=np.float32)
    x[1, 5] = np.nan
    np.save(path, x)
    code, _, err = run(monkeypatch, capsys, "train", "--out", tmp_path / "m.safetensors",
                       "--patterns", path, "--rule", "hebb")
    assert_one_line_error(code, err, "NaN", "(1, 5)")


def test_zero_one_patterns_need_flag(monkeypatch, capsys, tmp_path):
    path = tmp_path / "zo.npy"
    x = (np.random.default_rng(1).random((4, 16)) > 0.5).astype(np.float32)
    np.save(path, x)
    model = tmp_path / "m.safetensors"
    code, _, err = run(monkeypatch, capsys, "train", "--out", model, "--patterns", path,
                       "--rule", "hebb", "--chip", "ideal")
    assert_one_line_error(code, err, "{0,1}", "--zero-one")
    assert not model.exists()
    summary = run_json(monkeypatch, capsys, "train", "--out", model, "--patterns", path,
                       "--zero-one", "--rule", "hebb", "--chip", "ideal", "--json")
    assert summary["n_patterns"] == 4 and summary["n_neurons"] == 16
    stored = cli.app.load_memory_patterns(model).patterns
    np.testing.assert_array_equal(stored, np.where(x > 0, 1.0, -1.0))


def test_error_chip_toml_unknown_key(monkeypatch, capsys, tmp_path, pm1_file):
    chip = tmp_path / "chip.toml"
    chip.write_text("[device]\ng_min = 1e-6\nmystery_knob = 3\n")
    code, _, err = run(monkeypatch, capsys, "train", "--out", tmp_path / "m.safetensors",
                       "--patterns", pm1_file, "--rule", "hebb", "--chip", chip)
    assert_one_line_error(code, err, "device.mystery_knob")
    code, _, err = run(monkeypatch, capsys, "chip", "show", chip)
    assert_one_line_error(code, err, "device.mystery_knob")


def test_error_chip_toml_bad_window(monkeypatch, capsys, tmp_path):
    chip = tmp_path / "chip.toml"
    chip.write_text("[device]\ng_min = 1e-4\ng_max = 1e-5\n")
    code, _, err = run(monkeypatch, capsys, "chip", "show", chip)
    assert_one_line_error(code, err, "g_min", "g_max")
    chip.write_text("[device]\ng_min = 5e-5\ng_max = 5e-5\n")
    code, _, err = run(monkeypatch, capsys, "chip", "faults", "--chip", chip, "--out",
                       tmp_path / "m.npz")
    assert_one_line_error(code, err, "g_min", "g_max")


def test_error_message_with_brackets_is_not_eaten_as_markup(monkeypatch, capsys, tmp_path):
    chip = tmp_path / "chip.toml"
    chip.write_text("device = 3\n")
    code, _, err = run(monkeypatch, capsys, "chip", "show", chip)
    assert_one_line_error(code, err, "[device] must be a table")


def test_error_unknown_preset(monkeypatch, capsys, tmp_path):
    code, _, err = run(monkeypatch, capsys, "chip", "show", "no-such-chip")
    assert_one_line_error(code, err, "no-such-chip", "rram")
    code, _, err = run(monkeypatch, capsys, "train", "--out", tmp_path / "m.safetensors",
                       "--chip", "no-such-chip", "--rule", "hebb")
    assert_one_line_error(code, err, "no-such-chip")


def test_error_unknown_rule(monkeypatch, capsys, tmp_path):
    code, _, err = run(monkeypatch, capsys, "train", "--out", tmp_path / "m.safetensors",
                       "--patterns", "random", "--n", "2", "--side", "4", "--rule", "hopfieldx")
    assert_one_line_error(code, err, "hopfieldx", *rule_names())


def test_error_bad_option_values(monkeypatch, capsys, tmp_path):
    code, _, err = run(monkeypatch, capsys, "train", "--out", tmp_path / "m.safetensors",
                       "--patterns", "random", "--n", "2", "--side", "4", "--faults", "1.5")
    assert_one_line_error(code, err, "faults", "1.5")
    code, _, err = run(monkeypatch, capsys, "train", "--out", tmp_path / "m.safetensors",
                       "--patterns", "random", "--n", "2", "--side", "4",
                       "--fault-model", "pixel")
    assert_one_line_error(code, err, "fault_model", "pixel")


def test_error_corrupt_model_random_bytes(monkeypatch, capsys, tmp_path):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(np.random.default_rng(0).bytes(512))
    code, _, err = run(monkeypatch, capsys, "evaluate", path)
    assert_one_line_error(code, err, "junk.safetensors")


@pytest.mark.parametrize("metadata", [None, {"xbarmem": "not json"}, {"xbarmem": "[1, 2]"},
                                      {"xbarmem": '{"format": "other/1"}'},
                                      {"xbarmem": '{"format": "xbarmem-model/1"}'}])
def test_error_foreign_safetensors(monkeypatch, capsys, tmp_path, metadata):
    path = tmp_path / "foreign.safetensors"
    save_file({"weight": np.zeros((4, 4), np.float32)}, str(path), metadata=metadata)
    code, _, err = run(monkeypatch, capsys, "evaluate", path)
    assert_one_line_error(code, err, "foreign.safetensors", "not an xbarmem model")
    code, _, err = run(monkeypatch, capsys, "recall", path, path)
    assert_one_line_error(code, err, "foreign.safetensors")


def test_error_missing_model(monkeypatch, capsys, tmp_path):
    code, _, err = run(monkeypatch, capsys, "evaluate", tmp_path / "absent.safetensors")
    assert_one_line_error(code, err, "absent.safetensors")


def test_error_model_without_patterns(monkeypatch, capsys, tmp_path):
    from xbarmem import save_memory, train

    x = np.where(np.random.default_rng(2).random((3, 16)) > 0.5, 1.0, -1.0)
    path = save_memory(train(x, chip="ideal", rule="hebb"), tmp_path / "bare.safetensors")
    code, _, err = run(monkeypatch, capsys, "evaluate", path)
    assert_one_line_error(code, err, "no stored patterns")


def test_error_fault_map_too_small(monkeypatch, capsys, tmp_path):
    fmap = tmp_path / "one.npz"
    run_json(monkeypatch, capsys, "chip", "faults", "--chip", "paper-sim", "--arrays", "1",
             "--faults", "0", "--out", fmap, "--json")
    model = tmp_path / "m.safetensors"
    # adaptive + bias: 64 inputs + 1 bias row = 65 rows -> 2 arrays of 64x64
    code, _, err = run(monkeypatch, capsys, "train", "--out", model, "--patterns", "mnist",
                       "--one-per-class", "--side", "8", "--chip", "paper-sim",
                       "--fault-map", fmap, "--max-steps", "5")
    assert_one_line_error(code, err, "64x65", "covers only 1 array")
    assert not model.exists()
    # a classic rule has no bias row and fits on the single array
    summary = run_json(monkeypatch, capsys, "train", "--out", model, "--patterns", "mnist",
                       "--one-per-class", "--side", "8", "--chip", "paper-sim", "--rule",
                       "hebb", "--fault-map", fmap, "--json")
    assert summary["devices"]["arrays"] == 1


def test_error_fault_map_wrong_tile_size(monkeypatch, capsys, tmp_path):
    from xbarmem import FaultMap

    fmap = FaultMap.empty(2, 32, 32).save(tmp_path / "small.npz")
    code, _, err = run(monkeypatch, capsys, "train", "--out", tmp_path / "m.safetensors",
                       "--patterns", "random", "--n", "2", "--side", "4", "--rule", "hebb",
                       "--fault-map", fmap)
    assert_one_line_error(code, err, "32x32", "64x64")


def test_usage_error_exit_code(monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "evaluate")
    assert code == 2
    assert "Traceback" not in err
    assert "Missing argument 'model'" in err


def test_no_infinite_values_leak_into_json():
    assert cli.common._finite({"a": float("nan"), "b": [float("inf"), 1.5], "c": np.float32(2.0),
                        "d": torch.tensor([1, 2]), "e": (np.int64(3),)}) == \
        {"a": None, "b": [None, 1.5], "c": 2.0, "d": [1, 2], "e": [3]}
