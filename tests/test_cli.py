"""Command-line interface: every command run in-process through ``xbarmem.cli.main()``.

The ``run_cli`` fixture (conftest.py) patches ``sys.argv`` and calls ``main()`` exactly as the
console script does, so error paths (library errors -> one-line ``error: ...`` on stderr, exit
code 2) are tested as a user sees them. Settings are tiny so the whole file runs in seconds.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from xbarmem import cli
from xbarmem.data.builtin import load_mnist
from xbarmem.hardware.chip import load_preset, preset_names
from xbarmem.hardware.faults import FaultMap
from xbarmem.learning.classic import rule_names
from xbarmem.memory.io import load_memory, load_stored_patterns, read_metadata

ALL_RULES = ["adaptive", "hebb", "storkey", "storkey-variant", "pinv", "perceptron"]


def run_json(run_cli, *args: object) -> dict:
    code, out, err = run_cli(*args)
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
        mp.setattr(sys, "argv", ["xbarmem", "train", "--out", str(path), "--data", "mnist",
                                 "--one-per-class", "--neurons", "64", "--chip", "paper-sim",
                                 "--faults", "0", "--rule-option", "max_steps=300", "--json"])
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
def test_demo_runs_twenty_chips_by_default():
    """The demo averages over 20 chips (the 20 trials its issue asks for), from the command
    line and from Python alike."""
    import inspect

    from xbarmem.cli.demo import demo
    from xbarmem.experiments.demo import run_demo

    assert inspect.signature(run_demo).parameters["trials"].default == 20
    assert inspect.signature(demo).parameters["trials"].default == 20


def test_demo_json_reports_all_rules_both_fault_models_and_writes_png(run_cli,
                                                                        tmp_path):
    out_dir = tmp_path / "demo"
    code, out, err = run_cli("demo", "--json", "--out", out_dir,
                         "--trials", "1", "--probes", "2")
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
            assert r["cosine_std"] is None  # one chip: no spread (it said 0.0)
            assert r["variants"]["tanh"]["cosine_std"] is None
    settings = result["settings"]
    assert settings["n_patterns"] == 10 and settings["n_neurons"] == 64
    assert settings["trials"] == 1 and settings["probes"] == 2
    assert settings["labels"] == list(range(10))
    assert settings["data"] == "mnist-crop24"  # the authors' 8x8 MNIST preprocessing
    # the hardware-adaptive rule sits on 2 arrays (64 inputs + bias row > 64 rows)
    assert result["fault_models"]["weight"]["rules"]["adaptive"]["devices"]["arrays"] == 2
    figure = Path(result["figure"])
    assert figure.parent == out_dir and figure.is_file()
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------------------ train
def test_train_json_summary(run_cli, tmp_path):
    model = tmp_path / "m.safetensors"
    summary = run_json(run_cli, "train", "--out", model, "--data", "random",
                       "--patterns", "4", "--neurons", "16", "--chip", "ideal",
                       "--rule-option", "max_steps=200", "--rule-option", "finetune_steps=0",
                       "--rule-option", "flip_steps=0", "--json")
    assert model.is_file()
    assert summary["rule"] == "adaptive"
    assert summary["n_patterns"] == 4 and summary["n_neurons"] == 16
    assert summary["chip"] == "ideal"
    assert 1 <= summary["steps"] <= 200  # no flip-averaged or fine-tune stage: max_steps caps it
    info = read_metadata(model)["info"]
    assert info["rule_options"]["max_steps"] == 200
    assert info["rule_options"]["finetune_steps"] == 0
    assert info["rule_options"]["bias"] is True and info["kind"] == "binary"
    assert summary["fixed_points"] is True
    assert summary["devices"]["weights"] == 16 * 17  # bias column
    assert summary["faults"]["stuck"] == 0


@pytest.mark.parametrize("arch", ["single", "multilayer"])
def test_train_says_it_trained_under_programming_variation(run_cli, tmp_path, arch):
    """`train --rule-option variation=V` said nothing of it (text line and --json alike), so
    a variation-aware model could not be told from the output; both say V, as the model file
    records it, and a training without it says nothing."""
    model = tmp_path / "m.safetensors"
    args = ("train", "--out", model, "--data", "random", "--patterns", "3", "--neurons", "16",
            "--chip", "ideal", "--arch", arch, "--recipe", "fast",
            "--rule-option", "max_steps=5", "--rule-option", "finetune_steps=0")
    summary = run_json(run_cli, *args, "--rule-option", "variation=0.25", "--json")
    assert summary["variation"] == read_metadata(model)["info"]["rule_options"]["variation"]
    assert summary["variation"] == 0.25
    code, out, _ = run_cli(*args, "--rule-option", "variation=0.25")
    assert code == 0
    assert "trained under programming variation 0.25 (weight noise of std 0.25 max|W|)" in \
        " ".join(out.split())
    assert "variation" not in run_json(run_cli, *args, "--json")


def test_train_classic_rule_saves_and_json_is_strict(run_cli, tmp_path):
    model = tmp_path / "pinv.safetensors"
    code, out, err = run_cli("train", "--out", model, "--rule", "pinv",
                         "--data", "mnist", "--one-per-class", "--neurons", "64",
                         "--chip", "paper-sim", "--faults", "0", "--json")
    assert code == 0, err
    summary = _strict_json(out)  # the NaN loss of a classic rule must be null, not NaN
    assert summary["rule"] == "pinv"
    assert summary["loss"] is None
    assert summary["steps"] == 0
    assert summary["fixed_points"] is True  # 10 independent patterns: all fixed points
    assert summary["devices"]["weights"] == 64 * 64  # no bias row
    assert summary["devices"]["arrays"] == 1
    result = run_json(run_cli, "evaluate", model, "--level", "0.0", "--probes",
                      "1", "--json")
    assert result["cosine"] == pytest.approx(1.0)


def test_train_plain_output(run_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # (a temporary folder's path may be wider than 80)
    model = tmp_path / "h.safetensors"
    code, out, err = run_cli("train", "-o", model, "--rule", "hebb",
                         "--data", "random", "--patterns", "2", "--neurons", "16",
                         "--chip", "ideal")
    assert code == 0, err
    text = " ".join(out.split())  # human output may be wrapped to the terminal width
    assert f"saved {model}: hebb rule, 2 patterns, N=16" in text
    # the device accounting in words (hebb: no bias row, 16 x 16 weights on one array)
    assert "256 weights on 512 devices, 1 array of 64x64, 16 sensed outputs" in text
    assert "stuck" not in text and "faulty" not in text  # a chip without faults


@pytest.mark.parametrize(("chip", "said"), [
    ("rram", r"; \d+ of the 512 devices it uses stuck \(\d+ ON, \d+ OFF; (29|30|31)\.\d% "
             r"of the fault map's devices\)$"),
    ("paper-sim", r"; \d+ of the 256 weights it uses faulty \(0\) \((29|30)\.\d% of the fault "
                  r"map's weights\)$")])
def test_train_says_how_faulty_its_chip_is(run_cli, tmp_path, chip, said):
    """The summary line of `train` said nothing of the chip's faults (only --json held
    them): a memory trained on a chip with 30% stuck devices read as one on a clean chip."""
    code, out, err = run_cli("train", "-o", tmp_path / "h.safetensors", "--rule", "hebb",
                             "--data", "random", "--patterns", "2", "--neurons", "16",
                             "--chip", chip, "--faults", "0.3")
    assert code == 0, err
    assert re.search(said, " ".join(out.split())), out


def test_train_says_which_step_cap_ended_an_unconverged_training(run_cli, tmp_path):
    code, out, err = run_cli("train", "-o", tmp_path / "m.safetensors", "--data", "random",
                             "--patterns", "4", "--neurons", "16", "--rule-option",
                             "max_steps=5", "--rule-option", "finetune_steps=3",
                             "--rule-option", "flip_steps=0")
    assert code == 0, err
    text = " ".join(out.split())
    assert ("8 steps (5 basin + 3 fine-tune), converged=False (the basin stage reached "
            "max_steps=5)") in text


def test_options_for_a_rule_without_options_say_it_takes_none(run_cli, tmp_path):
    code, out, err = run_cli("train", "-o", tmp_path / "h.safetensors", "--rule", "hebb",
                             "--data", "random", "--patterns", "2", "--neurons", "16",
                             "--rule-options", '{"lr": 1}')
    assert code == 2 and not out
    assert "unknown rule key lr (it takes no keys)" in err and "allowed" not in err
    assert not (tmp_path / "h.safetensors").exists()


@pytest.mark.parametrize("command", ["train", "capacity"])
def test_bf16_products_without_support_are_refused_before_any_work(run_cli, tmp_path,
                                                                     monkeypatch, command):
    from xbarmem.learning import adaptive

    monkeypatch.setattr(adaptive, "bf16_products_supported", lambda: False)
    model = tmp_path / "m.safetensors"
    args = (["train", "-o", model, "--patterns", "4"] if command == "train"
            else ["capacity", "--arch", "multilayer", "--trials", "1"])
    code, stdout, err = run_cli(*args, "--data", "digits", "--rule-option", "products=bf16")
    assert code == 2 and not stdout
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "products bf16 needs oneDNN with bfloat16 support" in lines[0]
    assert not model.exists()


@pytest.mark.parametrize("value, message", [
    ("bf16", "products bf16 needs oneDNN with bfloat16 support"),
    ("half", "--products must be one of float32, bf16, got 'half'")])
def test_reproduce_products_are_checked_before_any_work(run_cli, tmp_path, monkeypatch, value,
                                                        message):
    from xbarmem.learning import adaptive

    monkeypatch.setattr(adaptive, "bf16_products_supported", lambda: False)
    out = tmp_path / "r"
    code, stdout, err = run_cli("reproduce", "--quick", "--out", out, "--products", value)
    assert code == 2 and not stdout
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0]
    assert not out.exists()


# ------------------------------------------------------------------------------------ evaluate
def test_evaluate_clean_cues_are_fixed_points(run_cli, adaptive_model):
    result = run_json(run_cli, "evaluate", adaptive_model, "--level", "0.0",
                      "--probes", "2", "--json")
    assert result["cosine"] == pytest.approx(1.0)
    assert result["exact"] == 1.0
    assert result["hamming"] == 0.0
    assert result["converged"] == 1.0
    assert result["mean_iterations"] == 1.0  # first step already confirms the fixed point
    assert result["per_pattern_cosine"] == [pytest.approx(1.0)] * 10
    assert result["outcomes"] == {"recalled": 1.0, "other_pattern": 0.0, "inverted": 0.0,
                                  "spurious": 0.0, "not_converged": 0.0}
    expected = {"corruption": "flip", "level": 0.0, "probes": 2, "mode": "sync", "seed": 0}
    assert {k: result["protocol"][k] for k in expected} == expected


def test_evaluate_corrupted_cues(run_cli, adaptive_model):
    result = run_json(run_cli, "evaluate", adaptive_model, "--level", "0.1",
                      "--probes", "3", "--mode", "async", "--json")
    assert -1.0 <= result["cosine"] <= 1.0
    assert result["cosine"] > 0.5  # a fault-free chip recalls 10% flipped digits well
    assert len(result["per_pattern_cosine"]) == 10
    assert sum(result["outcomes"].values()) == pytest.approx(1.0)
    assert result["outcomes"]["recalled"] == pytest.approx(result["exact"])
    code, out, err = run_cli("evaluate", adaptive_model, "--probes", "1")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "10 patterns x 1 cue (flip 0.1), sync sign recall:"
    assert lines[1].startswith("cosine ") and " (cues " in lines[1]
    assert lines[2].startswith("converged ") and "  iterations " in lines[2]
    # the outcome shares of this very evaluation (which cue ends where depends on the trained
    # weights' last bits, so on the CPU): its --json says them
    shares = run_json(run_cli, "evaluate", adaptive_model, "--probes", "1", "--json")["outcomes"]
    assert lines[3] == "ended: " + "  ".join(
        f"{name} {shares[key]:.2f}" for name, key in (
            ("own", "recalled"), ("other", "other_pattern"), ("inverted", "inverted"),
            ("spurious", "spurious"), ("unconverged", "not_converged")))


# ------------------------------------------------------------------------------------ recall
def test_recall_stored_patterns_returns_them_unchanged(run_cli, tmp_path,
                                                       adaptive_model):
    stored = load_mnist(side=8, one_per_class=True).patterns
    cues = tmp_path / "cues.npy"
    np.save(cues, stored)
    states_file = tmp_path / "states.npy"
    result = run_json(run_cli, "recall", adaptive_model, cues, "--out", states_file,
                      "--json")
    assert result["cues"] == 10
    assert result["converged"] == 1.0 and result["cycled"] == 0.0
    assert result["converged_flags"] == [True] * 10
    assert result["iterations"] == [1] * 10
    assert result["states_file"] == str(states_file)
    np.testing.assert_array_equal(np.load(states_file), stored)
    np.testing.assert_array_equal(np.asarray(result["states"], dtype=np.float32), stored)


def test_recall_repairs_a_flipped_cue(run_cli, tmp_path, adaptive_model):
    stored = load_mnist(side=8, one_per_class=True).patterns
    cue = stored[3].copy()
    cue[[0, 9, 20]] *= -1  # three flipped pixels
    cues = tmp_path / "cue.npy"
    np.save(cues, cue[None])
    result = run_json(run_cli, "recall", adaptive_model, cues, "--json")
    assert result["states_file"] is None
    np.testing.assert_array_equal(np.asarray(result["states"][0], dtype=np.float32), stored[3])


@pytest.mark.parametrize("args, record", [
    ((), {"max_iterations": 100}),
    (("--max-iterations", "3"), {"max_iterations": 3}),
    (("--activation", "tanh", "--tol", "0.01"), {"max_iterations": 100, "tol": 0.01}),
    (("--activation", "tanh", "--max-iterations", "5"), {"max_iterations": 5})])
def test_recall_json_records_its_cap_and_tolerance_as_evaluate_does(run_cli, tmp_path,
                                                                     small_model, args, record):
    """``recall --json`` recorded its mode and activation but not --max-iterations or --tol:
    a record of "converged 0.5" that could not say under which cap it ran, where `evaluate
    --json` records both (its protocol: max_iterations, and tol when not the default)."""
    cues = tmp_path / "cues.npy"
    np.save(cues, np.where(np.random.default_rng(0).random((2, 16)) < 0.5, -1.0, 1.0))
    result = run_json(run_cli, "recall", small_model, cues, *args, "--json")
    assert {k: result[k] for k in ("max_iterations", "tol") if k in result} == record
    protocol = run_json(run_cli, "evaluate", small_model, "--probes", "1", *args,
                        "--json")["protocol"]
    assert {k: protocol[k] for k in ("max_iterations", "tol") if k in protocol} == record


def test_recall_zero_one_cues(run_cli, tmp_path, adaptive_model):
    stored = load_mnist(side=8, one_per_class=True).patterns
    cues = tmp_path / "cues01.npy"
    np.save(cues, (stored[:2] > 0).astype(np.float32))
    code, _, err = run_cli("recall", adaptive_model, cues)
    assert_one_line_error(code, err, "{0,1}", "--zero-one")
    result = run_json(run_cli, "recall", adaptive_model, cues, "--zero-one",
                      "--json")
    np.testing.assert_array_equal(np.asarray(result["states"], dtype=np.float32), stored[:2])


def test_recall_reads_image_cues_as_training_read_the_images(run_cli, tmp_path,
                                                             adaptive_model):
    """A file of 28x28 8-bit images recalled by a model trained on them at N = 64 is resized
    to 8x8 and binarised as ``train --data`` read them: ``its cues have N = 784 neurons, but
    the model has N = 64`` refused the very images the model was trained from."""
    from xbarmem.data.builtin import _bundled_mnist

    images, labels = _bundled_mnist()
    first = [int(np.flatnonzero(labels == d)[0]) for d in range(10)]
    np.save(tmp_path / "digits.npy", images[first])
    result = run_json(run_cli, "recall", adaptive_model, tmp_path / "digits.npy", "--json")
    np.testing.assert_array_equal(np.asarray(result["states"], dtype=np.float32),
                                  load_mnist(side=8, one_per_class=True).patterns)
    np.save(tmp_path / "big.npy", np.zeros((2, 4, 4), dtype=np.uint8) + 200)
    code, _, err = run_cli("recall", adaptive_model, tmp_path / "big.npy")
    assert_one_line_error(code, err, "big.npy images are resized to side sqrt(N), side 4 (its "
                          "images are 4x4), so N must be 16; got N = 64 (side 8)")


@pytest.mark.parametrize("cue", ["gaussian", "occluded"])
def test_recall_takes_the_cues_of_a_binary_model_that_python_takes(run_cli, tmp_path,
                                                                    adaptive_model, cue):
    """Noisy or occluded cues (values in [-1, 1], 0 for unknown) of a binary model's patterns
    recall as ``Memory.recall`` recalls them; ``recall`` refused them as no binary patterns,
    advising ``--kind continuous``, an option it does not have."""
    from xbarmem.data.corruption import gaussian_noise

    stored = torch.tensor(load_mnist(side=8, one_per_class=True).patterns)
    cues = gaussian_noise(stored, 0.4, generator=0).numpy()
    if cue == "occluded":  # the top rows unknown: 0
        cues = stored.numpy().copy()
        cues[:, :20] = 0.0
    assert not np.isin(cues, (-1.0, 1.0)).all()
    np.save(tmp_path / "cues.npy", cues)
    result = run_json(run_cli, "recall", adaptive_model, tmp_path / "cues.npy", "--json")
    want = load_memory(adaptive_model).recall(torch.as_tensor(cues), activation="sign")
    np.testing.assert_array_equal(np.asarray(result["states"], dtype=np.float32),
                                  want.states.numpy())
    np.save(tmp_path / "two.npy", cues * 2)
    code, _, err = run_cli("recall", adaptive_model, tmp_path / "two.npy")
    assert_one_line_error(code, err, "two.npy", "must lie in [-1, 1]")
    assert "--kind" not in err


def test_recall_wrong_n(run_cli, adaptive_model, pm1_file):
    code, _, err = run_cli("recall", adaptive_model, pm1_file)
    assert_one_line_error(code, err, "N = 16", "64", str(pm1_file), str(adaptive_model))


# ------------------------------------------------------------------------------------ chip
def test_chip_show_json_round_trips_preset(run_cli):
    shown = run_json(run_cli, "chip", "show", "rram", "--json")
    assert shown == load_preset("rram").to_dict()


def test_chip_show_toml_is_loadable(run_cli, tmp_path):
    code, out, err = run_cli("chip", "show", "rram")
    assert code == 0, err
    path = tmp_path / "copy.toml"
    path.write_text(out)
    assert run_json(run_cli, "chip", "show", path, "--json") == \
        load_preset("rram").to_dict()


@pytest.mark.parametrize("group", ["chip", "circuit"])
def test_shown_presets_keep_their_files_comments_and_load_back(run_cli, tmp_path, group):
    """`chip show rram` said "see comments" in its description but printed none; every
    preset (chips and circuits) is now printed with its file's comments, and still loads."""
    import xbarmem
    from xbarmem.energy.circuit import circuit_names, load_circuit
    from xbarmem.hardware.chip import load_chip, preset_names

    names, load, folder = ((preset_names(), load_chip, "hardware/presets") if group == "chip"
                           else (circuit_names(), load_circuit, "energy/circuits"))
    assert len(names) >= 2
    commented = 0
    for name in names:
        code, out, err = run_cli(group, "show", name)
        assert code == 0, err
        shipped = (Path(xbarmem.__file__).parent / folder / f"{name}.toml").read_text()
        first = shipped.splitlines()[0]
        assert first.startswith("#") and out.startswith(first + "\n")
        comments = [line.split("#", 1)[1].strip() for line in shipped.splitlines()
                    if "=" in line.split("#", 1)[0] and "#" in line and '"' not in line]
        assert all(c in out for c in comments), name
        commented += len(comments)
        path = tmp_path / f"{name}.toml"
        path.write_text(out)
        assert load(path).to_dict() == load(name).to_dict()
    assert commented  # some preset has comments on its values


def test_chip_presets_lists_all(run_cli):
    code, out, err = run_cli("chip", "presets")
    assert code == 0, err
    names = [line.split(":", 1)[0] for line in out.splitlines() if ":" in line]
    for name in ("ideal", "paper-sim", "rram"):
        assert name in names
    assert set(preset_names()) <= set(names)


@pytest.mark.parametrize("group", ["chip", "circuit"])
def test_preset_lists_say_how_to_see_the_comments_their_descriptions_cite(run_cli, group):
    """`chip presets` listed "rram: ... (assumed values, see comments)" (and `circuit
    presets` generic-rram's alike) without saying where the comments are: stderr now names
    the show command; stdout stays the list, one preset a line."""
    code, out, err = run_cli(group, "presets")
    assert code == 0 and "see comments" in out, err
    assert f"xbarmem {group} show NAME prints a preset as TOML with its comments" in err
    assert all(": " in line for line in out.splitlines())


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_chip_faults_then_inspect(run_cli, tmp_path, suffix):
    path = tmp_path / f"m{suffix}"
    made = run_json(run_cli, "chip", "faults", "--arrays", "2", "--faults", "0.3",
                    "--seed", "1", "--out", path, "--json")
    assert path.is_file()
    assert made["arrays"] == 2 and made["rows"] == 64 and made["cols"] == 64
    assert made["devices"] == 2 * 2 * 64 * 64
    seen = run_json(run_cli, "chip", "inspect", path, "--json")
    assert seen["arrays"] == 2
    assert abs(seen["stuck_fraction"] - 0.3) < 0.02
    for key in ("stuck", "stuck_on", "stuck_off", "stuck_fraction", "pairs_fully_stuck_fraction"):
        assert seen[key] == made[key], key
    assert seen["stuck_on"] + seen["stuck_off"] == seen["stuck"]
    assert seen["meta"]["seed"] == 1 and seen["meta"]["source"] == "generated"
    # same seed -> same map
    again = run_json(run_cli, "chip", "faults", "--arrays", "2", "--faults", "0.3",
                     "--seed", "1", "--out", tmp_path / f"again{suffix}", "--json")
    assert again["stuck"] == made["stuck"]


def test_chip_import_codes(run_cli, tmp_path):
    codes = np.random.default_rng(0).integers(-1, 2, size=(2, 64, 64))
    src = tmp_path / "codes.npy"
    np.save(src, codes)
    out_path = tmp_path / "imported.npz"
    code, _, err = run_cli("chip", "import", src, "--out", out_path)
    assert code == 0, err
    seen = run_json(run_cli, "chip", "inspect", out_path, "--json")
    assert seen["arrays"] == 1
    assert seen["stuck_on"] == int((codes == 1).sum())
    assert seen["stuck_off"] == int((codes == -1).sum())
    assert seen["stuck"] == int((codes != 0).sum())
    assert seen["meta"]["source"] == "codes" and seen["meta"]["file"] == str(src)


def test_chip_import_shows_how_the_map_was_made(run_cli, tmp_path):
    """A conductance map's import prints the thresholds it applied (stuck OFF below, ON above;
    was only in `chip inspect`, though they decide every stuck device), as `chip inspect` and
    `chip faults` do with the map's origin: one summary for the three commands."""
    read = np.full((2, 64, 64), 60e-6)
    read[0, 1, 1], read[1, 2, 2] = 1e-6, 149e-6
    src = tmp_path / "g.npy"
    np.save(src, read)
    made = run_json(run_cli, "chip", "import", src, "--as", "conductance", "--off-below",
                    "4e-6", "-o", tmp_path / "g.npz", "--json")
    assert made["meta"]["off_below_S"] == 4e-6 and made["stuck"] == 2, made
    assert made["meta"]["on_above_S"] == pytest.approx(150e-6 - 0.05 * 148e-6)
    code, out, err = run_cli("chip", "import", src, "--as", "conductance", "-o",
                             tmp_path / "h.npz")
    assert code == 0 and "how made: off below (S)" in out and "how made: on above (S)" in out, \
        out + err
    seen = run_json(run_cli, "chip", "inspect", tmp_path / "g.npz", "--json")
    assert seen == {**made, "file": str(tmp_path / "g.npz")}
    generated = run_json(run_cli, "chip", "faults", "--seed", "3", "-o", tmp_path / "f.npz",
                         "--json")
    assert generated["meta"]["seed"] == 3 and generated["meta"]["source"] == "generated"


def test_chip_import_rejects_bad_codes(run_cli, tmp_path):
    src = tmp_path / "bad.npy"
    codes = np.zeros((2, 64, 64))
    codes[1, 2, 3] = 2
    np.save(src, codes)
    code, _, err = run_cli("chip", "import", src, "--out", tmp_path / "x.npz")
    assert_one_line_error(code, err, "bad.npy: fault codes must be -1, 0 or +1; found 2 at "
                          "array 0, G-, row 2, col 3")
    assert not (tmp_path / "x.npz").exists()


def test_a_fault_map_of_another_chip_is_refused_by_every_command(run_cli, tmp_path):
    """import, inspect and train refuse a map whose arrays are not the chip's size, or a
    per-device map on the paper-sim chip (weight fault model), before any work."""
    src = tmp_path / "g.npy"
    read = np.full((2, 32, 32), 60e-6)
    read[0, 1, 1] = 1e-6
    np.save(src, read)
    code, _, err = run_cli("chip", "import", src, "--as", "conductance", "--out",
                           tmp_path / "x.npz")
    assert_one_line_error(code, err, "arrays of 32x32 cells", "rram chip's arrays are 64x64")
    assert not (tmp_path / "x.npz").exists()
    small = FaultMap.from_conductance_map(read, load_preset("rram").device)
    small.save(tmp_path / "small.npz")
    code, _, err = run_cli("chip", "inspect", tmp_path / "small.npz")
    assert_one_line_error(code, err, "small.npz: arrays of 32x32 cells")
    fmap = tmp_path / "dev.npz"
    run_json(run_cli, "chip", "faults", "--chip", "rram", "--arrays", "2", "--faults", "0.2",
             "--out", fmap, "--json")
    code, _, err = run_cli("train", "--data", "random", "--patterns", "3", "--rule", "hebb",
                           "--fault-map", fmap, "--chip", "paper-sim", "--out",
                           tmp_path / "m.safetensors")
    assert_one_line_error(code, err, "dev.npz:", "single stuck device", "weight fault model")
    assert not (tmp_path / "m.safetensors").exists()


@pytest.mark.parametrize(("data", "as_", "fragments"), [
    ("nan", "conductance", ("m.npy: conductance map has 2 NaN/inf values",
                            "first: array 0, G-, row 3, col 5", "read_uS")),
    ("plane", "conductance", ("m.npy: conductance map must have shape", "got (64, 64)",
                              "stack the G+ and G- planes")),
    ("three", "conductance", ("m.npy: conductance map must have shape", "got (3, 64, 64)")),
    ("siemens", "codes", ("m.npy: fault codes must be -1, 0 or +1; found 6e-05 at array 0, "
                          "G+, row 0, col 0", "--as conductance")),
    ("whole uS", "codes", ("m.npy: fault codes must be -1, 0 or +1; found 60 at array 0, G+, "
                           "row 0, col 0 (8192 such values); 5 distinct values look like "
                           "conductances (CLI: --as conductance)",)),
    ("twos", "codes", ("found 2 at array 0, G+, row 0, col 0 (8192 such values)",)),
])
def test_chip_import_of_a_bad_array_names_the_file_and_the_device(run_cli, tmp_path, data,
                                                                  as_, fragments):
    """A measured array map with unreadable (NaN) cells, a single (rows, cols) plane, three
    planes (the shape given, not one with an axis added), or conductances read as stuck
    codes: one line naming the file, the first device (array, plane, row, col) and what to
    do."""
    read = np.full((3 if data == "three" else 2, 64, 64), 60e-6)
    if data == "nan":
        read[1, 3, 5] = read[1, 9, 9] = np.nan
    if data == "whole uS":  # a read-back in microsiemens, rounded (no fractional value)
        read = 60.0 + 2.0 * (np.arange(read.size).reshape(read.shape) % 5)
    if data == "twos":  # a code of another convention: not a conductance
        read = np.full(read.shape, 2.0)
    np.save(tmp_path / "m.npy", read[0] if data == "plane" else read)
    code, _, err = run_cli("chip", "import", tmp_path / "m.npy", "--as", as_, "--out",
                           tmp_path / "x.npz")
    assert_one_line_error(code, err, *fragments)
    assert data != "twos" or "conductance" not in err
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.parametrize("args", [
    ["chip", "faults", "--chip", "paper-sim"],
    ["train", "--data", "random", "--patterns", "2", "--neurons", "16", "--rule", "hebb"],
    ["chip", "faults", "--chip", "rram", "--fault-model", "weight"],
])
def test_on_fraction_is_refused_under_the_weight_fault_model(run_cli, tmp_path, args):
    """A faulty weight of the weight model is 0, neither stuck ON nor OFF: `--faults 0.3
    --on-fraction 1` on paper-sim (train's default chip) drew the same map as 0.5 and said
    "stuck ON 0". Refused naming the model and what to give; with --fault-model device it
    applies."""
    out = tmp_path / ("m.safetensors" if args[0] == "train" else "f.npz")
    code, _, err = run_cli(*args, "--faults", "0.3", "--on-fraction", "1", "-o", out)
    model_of = ("--fault-model weight" if "--fault-model" in args
                else "the paper-sim chip's fault model, weight")
    assert_one_line_error(code, err, f"--on-fraction applies to the device fault model only, "
                          f"not {model_of}: a faulty weight is 0, neither stuck ON nor OFF")
    assert not out.exists()
    device = [a for a in args if a not in ("--fault-model", "weight")]
    code, _, err = run_cli(*device, "--faults", "0.3", "--on-fraction", "1", "--fault-model",
                           "device", "-o", out)
    assert code == 0 and out.exists(), err


def test_train_names_the_arrays_a_fault_map_leaves_unused(run_cli, tmp_path):
    """A --fault-map of more arrays than the memory occupies trains with a warning naming
    the unused ones (a classic rule: no bias row, one 64x64 array for N = 64)."""
    fmap = tmp_path / "map3.npz"
    run_json(run_cli, "chip", "faults", "--chip", "rram", "--arrays", "3", "--out", fmap,
             "--json")
    code, _, err = run_cli("train", "--data", "random", "--patterns", "3", "--chip", "rram",
                           "--rule", "hebb", "--fault-map", fmap, "--out",
                           tmp_path / "m.safetensors")
    assert code == 0, err
    assert "warning: " in err and "map3.npz: the memory uses array 0 of the map's 3; " \
        "arrays 1..2 are left unused" in err


def test_noise_as_wide_as_the_window_is_one_warning_line(run_cli, tmp_path):
    """A chip whose write noise is as wide as its window (every programmed conductance clipped
    noise; 200 uS written for 2 uS) ran silently; each command now says so in one line on
    stderr, once however often the chip is rebuilt (a sweep's workers included), and runs."""
    wide = tmp_path / "wide.toml"
    wide.write_text("[device]\ng_min = 2e-6\ng_max = 150e-6\nwrite_noise = 200e-6\n")
    line = ("warning: device.write_noise = 0.0002 S is 1.35 times the conductance window "
            "g_max - g_min = 0.000148 S: every programmed conductance is mostly noise clipped")
    (tmp_path / "s.toml").write_text(
        f'[sweep]\nname = "wide"\ntrial = "evaluate"\nseeds = 2\nbatch = 1\n\n[base]\n'
        f'data = "random"\nn_neurons = 16\npatterns = 3\nprobes = 2\nchip = "{wide}"\n\n'
        f'[grid]\nrule = ["hebb", "pinv"]\n')
    for args in (["chip", "show", wide],
                 ["train", "--data", "random", "--patterns", "3", "--neurons", "16", "--chip",
                  wide, "--rule", "pinv", "--out", tmp_path / "m.safetensors"],
                 ["sweep", tmp_path / "s.toml", "--store", tmp_path / "s.sqlite", "--jobs", "1",
                  "--json"]):
        code, _, err = run_cli(*args)
        assert code == 0 and err.startswith(line) and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(("args", "named"), [
    (["train", "--data", "nosuch.npy", "--out", "m.safetensors"], "nosuch.npy"),
    (["capacity", "--data", "nosuch.npy"], "nosuch.npy"),
    (["capacity", "--data", "random", "--neurons", "16", "--rule", "hebb", "--rule-options",
      '{"zzz": 1}'], "zzz"),
    (["scaling", "--sizes", "16,abc", "-o", "sc"], "--sizes"),
    (["energy", "--neurons", "1"], "--neurons"),
    (["chip", "import", "map.npy", "--as", "conductance", "--out", "f.npz"], "map.npy"),
])
def test_warnings_are_not_printed_before_a_refusal(run_cli, tmp_path, monkeypatch, args, named):
    """A chip that warns (noise wider than its window; conductances mostly outside it) and an
    input refused after the chip was read printed the warning and then the error: a refused
    command now prints its one error line only, and nothing is written."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "wide.toml").write_text(
        "[device]\ng_min = 2e-6\ng_max = 150e-6\nwrite_noise = 200e-6\n")
    # read-back conductances mostly outside the window (a warning) of the wrong shape (refused)
    np.save(tmp_path / "map.npy", np.full((2, 3, 5), 200e-6))
    code, _, err = run_cli(*args, "--chip", "wide.toml")
    assert_one_line_error(code, err, named)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.npy", "wide.toml"]


def test_train_on_imported_fault_map(run_cli, tmp_path):
    """A fault map file is honoured: a pinned weight stays at its stuck value."""
    fmap = tmp_path / "map.npz"
    run_json(run_cli, "chip", "faults", "--chip", "paper-sim", "--arrays", "1",
             "--faults", "0.5", "--seed", "3", "--out", fmap, "--json")
    model = tmp_path / "m.safetensors"
    summary = run_json(run_cli, "train", "--out", model, "--rule", "hebb",
                       "--data", "random", "--patterns", "3", "--neurons", "64",
                       "--chip", "paper-sim",
                       "--fault-map", fmap, "--json")
    assert summary["faults"]["arrays"] == 1
    assert summary["faults"]["pairs_fully_stuck_fraction"] == pytest.approx(0.5, abs=0.05)
    memory = load_memory(model)
    pinned = torch.as_tensor(memory.crossbar.stuck.all(axis=0))  # (N, N) faulty weights
    assert 0.4 < pinned.float().mean() < 0.6
    w = memory.weights
    assert (w[pinned] == 0).all()
    assert (w[~pinned] != 0).float().mean() > 0.5


# ------------------------------------------------------------------------------------ errors
def test_error_missing_pattern_file(run_cli, tmp_path):
    missing = tmp_path / "nope.npy"
    code, _, err = run_cli("train", "--out", tmp_path / "m.safetensors",
                       "--data", missing)
    assert_one_line_error(code, err, "nope.npy", "no such file")
    assert not (tmp_path / "m.safetensors").exists()


def test_error_nan_in_patterns(run_cli, tmp_path):
    path = tmp_path / "nan.npy"
    x = np.ones((3, 16), dtype=np.float32)
    x[1, 5] = np.nan
    np.save(path, x)
    code, _, err = run_cli("train", "--out", tmp_path / "m.safetensors",
                       "--data", path, "--rule", "hebb")
    assert_one_line_error(code, err, "NaN", "(1, 5)")


def test_zero_one_patterns_need_flag(run_cli, tmp_path):
    path = tmp_path / "zo.npy"
    x = (np.random.default_rng(1).random((4, 16)) > 0.5).astype(np.float32)
    np.save(path, x)
    model = tmp_path / "m.safetensors"
    code, _, err = run_cli("train", "--out", model, "--data", path,
                       "--rule", "hebb", "--chip", "ideal")
    assert_one_line_error(code, err, "{0,1}", "--zero-one")
    assert not model.exists()
    summary = run_json(run_cli, "train", "--out", model, "--data", path,
                       "--zero-one", "--rule", "hebb", "--chip", "ideal", "--json")
    assert summary["n_patterns"] == 4 and summary["n_neurons"] == 16
    stored = load_stored_patterns(model).patterns
    np.testing.assert_array_equal(stored, np.where(x > 0, 1.0, -1.0))


def test_error_chip_toml_unknown_key(run_cli, tmp_path, pm1_file):
    chip = tmp_path / "chip.toml"
    chip.write_text("[device]\ng_min = 1e-6\nmystery_knob = 3\n")
    code, _, err = run_cli("train", "--out", tmp_path / "m.safetensors",
                       "--data", pm1_file, "--rule", "hebb", "--chip", chip)
    assert_one_line_error(code, err, "device.mystery_knob")
    code, _, err = run_cli("chip", "show", chip)
    assert_one_line_error(code, err, "device.mystery_knob")


def test_error_chip_toml_bad_window(run_cli, tmp_path):
    chip = tmp_path / "chip.toml"
    chip.write_text("[device]\ng_min = 1e-4\ng_max = 1e-5\n")
    code, _, err = run_cli("chip", "show", chip)
    assert_one_line_error(code, err, "g_min", "g_max")
    chip.write_text("[device]\ng_min = 5e-5\ng_max = 5e-5\n")
    code, _, err = run_cli("chip", "faults", "--chip", chip, "--out",
                       tmp_path / "m.npz")
    assert_one_line_error(code, err, "g_min", "g_max")


def test_error_message_with_brackets_is_not_eaten_as_markup(run_cli, tmp_path):
    chip = tmp_path / "chip.toml"
    chip.write_text("device = 3\n")
    code, _, err = run_cli("chip", "show", chip)
    assert_one_line_error(code, err, "[device] must be a table")


def test_error_unknown_preset(run_cli, tmp_path):
    code, _, err = run_cli("chip", "show", "no-such-chip")
    assert_one_line_error(code, err, "no-such-chip", "rram")
    code, _, err = run_cli("train", "--out", tmp_path / "m.safetensors",
                       "--chip", "no-such-chip", "--rule", "hebb")
    assert_one_line_error(code, err, "no-such-chip")


def test_error_unknown_rule(run_cli, tmp_path):
    code, _, err = run_cli("train", "--out", tmp_path / "m.safetensors",
                       "--data", "random", "--patterns", "2", "--neurons", "16",
                       "--rule", "hopfieldx")
    assert_one_line_error(code, err, "hopfieldx", *rule_names())


def test_error_bad_option_values(run_cli, tmp_path):
    code, _, err = run_cli("train", "--out", tmp_path / "m.safetensors",
                       "--data", "random", "--patterns", "2", "--neurons", "16", "--faults", "1.5")
    assert_one_line_error(code, err, "faults", "1.5")
    code, _, err = run_cli("train", "--out", tmp_path / "m.safetensors",
                       "--data", "random", "--patterns", "2", "--neurons", "16",
                       "--fault-model", "pixel")
    assert_one_line_error(code, err, "fault_model", "pixel")


def test_error_corrupt_model_random_bytes(run_cli, tmp_path):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(np.random.default_rng(0).bytes(512))
    code, _, err = run_cli("evaluate", path)
    assert_one_line_error(code, err, "junk.safetensors")


@pytest.mark.parametrize("metadata", [None, {"xbarmem": "not json"}, {"xbarmem": "[1, 2]"},
                                      {"xbarmem": '{"format": "other/1"}'},
                                      {"xbarmem": '{"format": "xbarmem-model/1"}'}])
def test_error_foreign_safetensors(run_cli, tmp_path, metadata):
    path = tmp_path / "foreign.safetensors"
    save_file({"weight": np.zeros((4, 4), np.float32)}, str(path), metadata=metadata)
    code, _, err = run_cli("evaluate", path)
    assert_one_line_error(code, err, "foreign.safetensors", "not an xbarmem model")
    code, _, err = run_cli("recall", path, path)
    assert_one_line_error(code, err, "foreign.safetensors")


def test_error_missing_model(run_cli, tmp_path):
    code, _, err = run_cli("evaluate", tmp_path / "absent.safetensors")
    assert_one_line_error(code, err, "absent.safetensors")


def test_error_model_without_patterns(run_cli, tmp_path):
    from xbarmem import save_memory, train

    x = np.where(np.random.default_rng(2).random((3, 16)) > 0.5, 1.0, -1.0)
    path = save_memory(train(x, chip="ideal", rule="hebb"), tmp_path / "bare.safetensors")
    code, _, err = run_cli("evaluate", path)
    assert_one_line_error(code, err, "saved without its patterns")


def test_error_fault_map_too_small(run_cli, tmp_path):
    fmap = tmp_path / "one.npz"
    run_json(run_cli, "chip", "faults", "--chip", "paper-sim", "--arrays", "1",
             "--faults", "0", "--out", fmap, "--json")
    model = tmp_path / "m.safetensors"
    # adaptive + bias: 64 inputs + 1 bias row = 65 rows -> 2 arrays of 64x64
    code, _, err = run_cli("train", "--out", model, "--data", "mnist",
                       "--one-per-class", "--neurons", "64", "--chip", "paper-sim",
                       "--fault-map", fmap, "--rule-option", "max_steps=5")
    assert_one_line_error(code, err, "one.npz: the fault map covers only 1 array of 64x64",
                          "with a bias row needs a map of 2 (64x64 on arrays 0..1; weights "
                          "outputs x inputs)")
    assert not model.exists()
    # a classic rule has no bias row and fits on the single array
    summary = run_json(run_cli, "train", "--out", model, "--data", "mnist",
                       "--one-per-class", "--neurons", "64", "--chip", "paper-sim", "--rule",
                       "hebb", "--fault-map", fmap, "--json")
    assert summary["devices"]["arrays"] == 1


def test_error_fault_map_wrong_tile_size(run_cli, tmp_path):
    from xbarmem import FaultMap

    fmap = FaultMap.empty(2, 32, 32).save(tmp_path / "small.npz")
    code, _, err = run_cli("train", "--out", tmp_path / "m.safetensors",
                       "--data", "random", "--patterns", "2", "--neurons", "16", "--rule", "hebb",
                       "--fault-map", fmap)
    assert_one_line_error(code, err, "32x32", "64x64")


def test_usage_error_exit_code(run_cli):
    code, _, err = run_cli("evaluate")
    assert code == 2
    assert "Traceback" not in err
    assert "Missing argument 'MODEL'" in err


def test_no_infinite_values_leak_into_json():
    from xbarmem.jsontext import dumps, plain

    value = {"a": float("nan"), "b": [float("inf"), 1.5], "c": np.float32(2.0),
             "d": torch.tensor([1, 2]), "e": (np.int64(3),), 4: "key"}
    assert plain(value) == {"a": None, "b": [None, 1.5], "c": 2.0, "d": [1, 2], "e": [3],
                            "4": "key"}
    assert "NaN" not in dumps(value) and "Infinity" not in dumps(value)
    with pytest.raises(TypeError, match="not JSON serialisable"):
        plain({"x": object()})


# ------------------------------------------------------------------------------ vocabulary
def _commands():
    """(path, click command) of every leaf command, e.g. (("chip", "show"), <Command>)."""
    import typer

    def walk(group, prefix):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from walk(command, (*prefix, name))
            else:
                yield (*prefix, name), command

    found = list(walk(typer.main.get_command(cli.app), ()))
    assert len(found) >= 15, found  # the tests looping over them check every command
    return found


def _options(command):
    return [p for p in command.params if getattr(p, "param_type_name", "") == "option"]


COMMANDS = [path for path, _ in _commands()]


@pytest.mark.parametrize("path", [(), ("chip",), *COMMANDS], ids=lambda p: " ".join(p) or "-")
def test_help_fits_80_columns(run_cli, monkeypatch, path):
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run_cli(*path, "--help")
    assert code == 0, err
    assert "Usage: xbarmem" in out
    too_long = [line for line in out.splitlines() if len(line) > 80]
    assert not too_long, "\n".join(too_long)
    assert run_cli(*path, "-h")[1] == out  # -h is --help


@pytest.mark.parametrize("path", [p for p in COMMANDS if p[0] == "chip"], ids=" ".join)
def test_chip_options_speak_of_the_chip_not_of_data(path):
    """``chip faults --help`` said --neurons is the "pattern length; image data is resized to
    side sqrt(N) ... a file of patterns keeps its own N", though it reads no data: it sizes
    the arrays of the memory the map is drawn for. No chip command's option speaks of data."""
    command = dict(_commands())[path]
    for option in _options(command):
        words = " ".join((option.help or "").split()).lower()
        for data_word in ("pattern length", "image data", "file of patterns", "sqrt(n)"):
            assert data_word not in words, (option.opts, option.help)
    if path == ("chip", "faults"):
        (neurons,) = [o for o in _options(command) if "--neurons" in o.opts]
        assert "array" in neurons.help and "map is drawn for" in neurons.help


@pytest.mark.parametrize("path", [(), ("chip",), *COMMANDS], ids=lambda p: " ".join(p) or "-")
def test_help_shows_flags_without_a_value_type(run_cli, monkeypatch, path):
    """Newer Typer printed ``--json <bool>``, as if a flag took a value (``--json true`` is
    refused): flags show no value type."""
    monkeypatch.setenv("COLUMNS", "100")
    out = run_cli(*path, "--help")[1]
    assert "<bool>" not in out
    assert re.search(r"--help\s+-h\s+Show this message and exit", out), out
    if path in {("sweep",), ("results",), ("chip", "show")}:
        assert re.search(r"--json\s+Print the result as JSON", out), out


def test_an_option_that_overrides_the_chip_is_on_a_command_with_a_chip_option():
    """`demo --faults` said "(overrides the chip's)", but demo has no --chip: it runs on a
    preset chip per fault model. An option whose help overrides "the chip's" setting belongs
    to a command that takes --chip."""
    checked = 0
    for path, command in _commands():
        options = _options(command)
        has_chip = any("--chip" in o.opts for o in options)
        for option in options:
            if "overrides the chip's" in " ".join((option.help or "").split()):
                assert has_chip, (path, option.opts, option.help)
                checked += 1
    assert checked >= 10, checked


@pytest.mark.parametrize(("path", "differ"), [
    (("demo",), "(fault maps; the same 10 digits on each)"),
    (("capacity",), "(fault maps, pattern subsets)"),
    (("scaling",), "(fault maps, pattern subsets)"),
])
def test_trials_help_says_what_differs_between_the_trials_of_its_command(path, differ):
    """`demo --trials` said its trials differ in "fault maps, pattern subsets"; every trial of
    the demo stores the same 10 digits (one per class), on its own fault map."""
    (trials,) = [o for o in _options(dict(_commands())[path]) if "--trials" in o.opts]
    assert differ in " ".join(trials.help.split()), trials.help


def test_level_help_says_what_the_level_of_each_corruption_offered_is():
    """`--level` said "flip rate, Gaussian sigma (clipped to [-1, 1]) or occluded fraction":
    nothing of salt-pepper, offered by `--corruption`, and read as if sigma were clipped."""
    checked = 0
    for path, command in _commands():
        params = {p.name: p for p in _options(command)}
        offered = getattr(params.get("corruption"), "help", "") or ""
        if "level" not in params or "salt-pepper" not in offered:
            continue
        text = " ".join(params["level"].help.split())
        assert text.startswith("Corruption level: flip or salt-pepper rate, Gaussian noise "
                               "sigma (in pattern units; the noisy cue is clipped to [-1, 1]; "
                               "of binary patterns, the cue is its signs) or occluded "
                               "fraction (default: "), (path, text)
        checked += 1
    assert checked >= 4, checked


def test_every_parameter_has_help():
    for path, command in _commands():
        assert command.help and command.help.strip(), path
        for param in command.params:
            assert (getattr(param, "help", None) or "").strip(), (path, param.name)


#: a measured quantity in a help text: a duration, a speed-up or a peak memory (units and
#: defaults are fine: "--timeout SECONDS", "[default: 1]"); measured numbers live in docs/ with
#: their command, date and thread count, where they can be re-measured
MEASURED_IN_HELP = re.compile(
    r"\b(?:\d[\d.,]*\s*|(?:one|two|three|a few|several)(?: to \w+)?\s+)"
    r"(?:seconds?|minutes?|hours?|ms|s)\b"
    r"|\ban hour\b|\bidle\b|\d[\d.,]*\s*x\s+(?:faster|slower)|\d[\d.,]*x\b(?!\d)"
    r"|\d[\d.,]*\s*[MG]B\b", re.IGNORECASE)


def test_help_texts_quote_no_measurements():
    """reproduce --quick said 'one to two minutes on an idle 2-core machine' and 'under an hour',
    numbers that change with the code and the machine and that nothing re-measured."""
    assert MEASURED_IN_HELP.search("one to two minutes on an idle 2-core machine")
    assert MEASURED_IN_HELP.search("under an hour") and MEASURED_IN_HELP.search("3.5x faster")
    assert not MEASURED_IN_HELP.search("64x64 arrays, 2 x 64 x 64 devices, timeout in seconds")
    for path, command in _commands():
        for text in (command.help or "", *(getattr(p, "help", "") or "" for p in command.params)):
            found = MEASURED_IN_HELP.search(text)
            assert found is None, (path, found.group(0), text)


def test_help_texts_do_not_send_the_reader_to_a_python_module():
    """chip import -h described its .csv only as "(see xbarmem.hardware.measured)": a command
    line user needs the columns in the help, not a module to read."""
    for path, command in _commands():
        for text in (command.help or "", *(getattr(p, "help", "") or "" for p in command.params)):
            found = re.search(r"\bxbarmem\.[a-z_]+", text)
            assert found is None, (path, found.group(0), text)


def test_help_texts_name_only_options_of_their_command():
    """recall --zero-one's help spoke of "a --data FILE or cues file, not a built-in set", but
    recall has no --data and reads no built-in set. An option of another command is named
    with it (`energy --circuit`)."""
    names = {name for path, _ in _commands() for name in path}
    for path, command in _commands():
        own = {opt for p in command.params for opt in getattr(p, "opts", [])}
        for text in (command.help or "", *(getattr(p, "help", "") or "" for p in command.params)):
            for found in re.finditer(r"(?<![\w-])(\w+ )?(--[a-z][a-z-]*)", text):
                other = (found.group(1) or "").strip() in names
                assert other or found.group(2) in own, (path, found.group(0), text)


#: the commands that read a fault map (``--fault-map FILE`` or ``MAP``) on a chip of ``--chip``
MAP_COMMANDS = [path for path, command in _commands()
                if {"fault_map", "chip"} <= {p.name for p in command.params}]


@pytest.mark.parametrize("path", [("train",), ("capacity",), ("chip", "inspect")],
                         ids=" ".join)
def test_help_of_a_fault_map_says_the_chip_it_is_read_on(path):
    """chip inspect -h showed `MAP  Fault map (.npz or .csv).` beside `--chip [default:
    rram]`, yet without --chip the map is read on the chip it records (a map of the ideal chip
    was summarised as one; train's and capacity's --fault-map said so, each in its own
    words)."""
    from xbarmem.cli.hardware_options import MAP_CHIP_WORDS

    assert path in MAP_COMMANDS and len(MAP_COMMANDS) == 3, MAP_COMMANDS  # a new one: add it
    command = dict(_commands())[path]
    param = next(p for p in command.params if p.name == "fault_map")
    assert MAP_CHIP_WORDS in " ".join((param.help or "").split()), (path, param.help)


def test_help_texts_close_their_brackets():
    """chip import --as read 'codes (stuck codes (0 free, +1 ON, -1 OFF) or conductance'."""
    for path, command in _commands():
        for text in (command.help or "", *(getattr(p, "help", "") or "" for p in command.params)):
            assert text.count("(") == text.count(")") and text.count("[") == text.count("]"), (
                path, text)


@pytest.mark.parametrize(("path", "option", "says"), [
    (("chip", "import"), "--off-below", "siemens; default: g_min + 5% of the chip's window"),
    (("chip", "import"), "--on-above", "siemens; default: g_max - 5% of the chip's window"),
    (("capacity",), "--pool", "default: all of the source; random: 2000"),
    (("scaling",), "--pool", "default: all of the source"),
    (("energy",), "--hidden", "(default 32)"),
    (("plot",), "--title", "default: the settings every drawn row shares"),
    (("train",), "--recipe", "default: default"),
])
def test_options_without_a_default_value_say_what_leaving_them_out_does(path, option, says):
    command = dict(_commands())[path]
    param = next(p for p in _options(command) if option in p.opts)
    assert param.default in (None, "") and says in param.help


def test_one_vocabulary():
    """A concept has one option name everywhere; the old names are hidden aliases only. One
    help per shared option, but ``chip faults --neurons``: it sizes the arrays a fault map
    holds and reads no data, so it speaks of the chip (test_chip_options_speak_of_the_chip_
    not_of_data), not of pattern files and images as the data commands' ``--neurons`` does."""
    old = {"--flip", "--chips", "--n", "--count", "--side", "--max-steps", "--objective",
           "--noise-injection", "--finetune-steps", "--bias"}
    helps: dict[str, set[str]] = {}
    for path, command in _commands():
        visible = {opt: p for p in _options(command) if not p.hidden for opt in p.opts}
        assert not old & set(visible), (path, old & set(visible))
        assert "--json" in visible, path  # every command can print its result as JSON
        for opt, p in visible.items():
            if not (opt == "--neurons" and path[0] == "chip"):  # (the chip's own words: below)
                helps.setdefault(opt, set()).add(p.help)
        if "--out" in visible:
            assert "-o" in visible["--out"].opts, path
        if "--corruption" in visible:
            assert "--level" in visible, path
        if "--rule-options" in visible:
            assert "--rule-option" in visible, path
        neurons = visible.get("--neurons")
        assert neurons is None or neurons.metavar == "N", path  # a count, never sign|tanh
        patterns = visible.get("--patterns")
        assert patterns is None or patterns.metavar == "N", path  # a count, never a source
    for opt in ("--seed", "--json", "--neurons", "--activation", "--probes", "--tol",
                "--rule-options", "--rule-option", "--chip"):
        assert len(helps[opt]) == 1, (opt, helps[opt])  # declared once, same help everywhere
    # declared once, each command's help saying what differs there (demo: no --chip, and the
    # same digits in every trial)
    assert all(h.startswith("Repeats: independent chips or networks (") for h in helps["--trials"])
    assert all(h.startswith("Fraction of stuck devices; of faulty weights under the weight fault "
                            "model (") for h in helps["--faults"])
    assert all(h.startswith("Pattern source: ") for h in helps["--data"])  # demo: fewer
    from xbarmem.names import RULE_NAMES  # (energy's --rule named none of them)

    assert all(h.startswith(f"Learning rule: {', '.join(RULE_NAMES)}") for h in helps["--rule"])
    assert all(h.startswith("Output: ") for h in helps["--out"])
    assert all(h.startswith("Number of stored patterns") for h in helps["--patterns"])
    trains = {" ".join(path) for path, command in _commands()
              if "--rule-options" in {o for p in _options(command) for o in p.opts}}
    assert {"train", "capacity", "scaling", "energy", "adapt"} <= trains


#: the modules that declare the shared options (the CLI's vocabulary), one per concern
OPTION_MODULES = {"option_types", "data_options", "recall_options", "hardware_options",
                  "training_options", "output_options", "run_options", "old_options"}


def test_command_modules_do_not_import_each_other():
    """A command module imports the shared modules and, besides, only the modules its own code
    is split into (``capacity`` -> ``capacity_checks``, ``capacity_output``), which import
    only the shared ones."""
    import ast

    folder = Path(cli.__file__).parent
    shared = {*(f"xbarmem.cli.{m}" for m in ("apps", "entry", "messages", "tables", "records")),
              "xbarmem.cli.given", "xbarmem.cli.parsers",
              "xbarmem.cli.paths", "xbarmem.cli.progress", "xbarmem.cli.streams",
              "xbarmem.cli",
              *(f"xbarmem.cli.{m}" for m in OPTION_MODULES)}
    modules = [p for p in folder.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(modules) >= 10, modules
    assert OPTION_MODULES <= {p.stem for p in modules}, "an option module was renamed"
    for path in modules:
        own = {f"xbarmem.cli.{p.stem}" for p in modules if p.stem.startswith(path.stem + "_")}
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xbarmem.cli"):
                assert node.module in shared | own, (path.name, node.module)
                if node.module == "xbarmem.cli":
                    assert {a.name for a in node.names} <= {
                        "given", "apps", "messages", "tables", "records", "parsers", "paths",
                        "streams", *OPTION_MODULES}, path.name


def test_version(run_cli):
    from xbarmem.version import __version__

    code, out, _ = run_cli("--version")
    assert code == 0 and out.strip() == f"xbarmem {__version__}"


# ------------------------------------------------------------------------------ deprecated
def _untimed(obj):
    if isinstance(obj, dict):
        return {k: _untimed(v) for k, v in obj.items() if "seconds" not in k and "time" not in k}
    if isinstance(obj, list):
        return [_untimed(v) for v in obj]
    return obj


def _same_as_new(run_cli, old: list, new: list, warned: list[str]) -> dict:
    """The old spelling gives the new spelling's JSON and warns once per old option."""
    code, out, err = run_cli(*new, "--json")
    assert code == 0, err
    assert "warning" not in err
    now = json.loads(out)
    code, out, err = run_cli(*old, "--json")
    assert code == 0, err
    assert _untimed(json.loads(out)) == _untimed(now)  # stdout stays pure JSON
    lines = [line for line in err.splitlines() if line.startswith("warning: ")]
    for flag in warned:
        assert any(line.startswith(f"warning: {flag} is deprecated; use ") for line in lines), (
            flag, err)
    assert len(lines) == len(warned), err
    return now


def test_deprecated_train_spellings(run_cli, tmp_path):
    model = tmp_path / "m.safetensors"
    _same_as_new(
        run_cli,
        ["train", "-o", model, "--patterns", "random", "--n", "3", "--side", "4", "--chip",
         "ideal", "--objective", "basin", "--no-noise-injection", "--max-steps", "20",
         "--finetune-steps", "0", "--bias"],
        ["train", "-o", model, "--data", "random", "--patterns", "3", "--neurons", "16",
         "--chip", "ideal", "--rule-options", '{"objective": "basin", "noise_injection": false}',
         "--rule-option", "max_steps=20", "--rule-option", "finetune_steps=0", "--rule-option",
         "bias=true"],
        ["--patterns SOURCE", "--n", "--side", "--objective", "--no-noise-injection",
         "--max-steps", "--finetune-steps", "--bias"])  # (--no-X was named --X: 'use X=false')
    code, _, err = run_cli("train", "-o", model, "-p", "random", "--n", "2", "--side", "4",
                           "--rule", "hebb", "--chip", "ideal")
    assert code == 0 and "use --data random" in err and "use --neurons 16" in err, err


def test_deprecated_energy_spellings(run_cli):
    report = _same_as_new(
        run_cli,
        ["energy", "--n", "16", "--patterns", "random", "--count", "2",
         "--probes", "2", "--flip", "0.2", "--neurons", "tanh", "--max-steps", "10"],
        ["energy", "--neurons", "16", "--data", "random", "--patterns", "2",
         "--probes", "2", "--corruption", "flip", "--level", "0.2", "--activation", "tanh",
         "--rule-option", "max_steps=10"],
        ["--n", "--patterns SOURCE", "--count", "--flip", "--neurons", "--max-steps"])
    assert report["settings"]["flip"] == 0.2 and report["settings"]["n_neurons"] == 16


def test_deprecated_energy_hidden_commas(run_cli):
    report = _same_as_new(
        run_cli,
        ["energy", "--neurons", "16", "--arch", "multilayer", "--hidden", "8,4", "--data",
         "random", "--patterns", "2", "--probes", "2", "--rule-option", "max_steps=10"],
        ["energy", "--neurons", "16", "--arch", "multilayer", "--hidden", "8-4", "--data",
         "random", "--patterns", "2", "--probes", "2", "--rule-option", "max_steps=10"],
        ["--hidden 8,4"])
    assert report["settings"]["layer_sizes"] == [16, 8, 4, 16]


def test_deprecated_capacity_side(run_cli):
    args = ["capacity", "--rule", "pinv", "--data", "random", "--pool", "30", "--threshold",
            "0.95", "--trials", "1", "--probes", "2"]
    res = _same_as_new(run_cli, [*args, "--side", "4"], [*args, "--neurons", "16"], ["--side"])
    assert res["results"][0]["settings"]["n_neurons"] == 16


def test_deprecated_scaling_hidden_rule(run_cli, tmp_path):
    args = ["scaling", "--arch", "multilayer", "--sizes", "16", "--pool", "40", "--threshold",
            "0.95", "--probes", "2", "--rule-option", "max_steps=20", "--rule-option",
            "finetune_steps=0", "--resolution", "0.5", "--out", tmp_path]
    res = _same_as_new(run_cli, [*args, "--hidden", "ratio:1"], [*args, "--hidden", "1n"],
                       ["--hidden ratio:1"])
    assert res["settings"]["hidden_rule"] == "ratio:1"


def test_deprecated_demo_spellings(run_cli, monkeypatch):
    import xbarmem.experiments.demo as demo

    calls = []
    monkeypatch.setattr(demo, "run_demo", lambda **kw: calls.append(kw) or {"ok": 1})
    _same_as_new(run_cli, ["demo", "--flip", "0.2", "--chips", "2"],
                 ["demo", "--corruption", "flip", "--level", "0.2", "--trials", "2"],
                 ["--flip", "--chips"])
    assert [(c["flip"], c["trials"]) for c in calls] == [(0.2, 2), (0.2, 2)]
    code, _, err = run_cli("demo", "--flip", "0.2", "--level", "0.3")
    assert_one_line_error(code, err, "--flip", "--level")


def test_export_says_what_its_current_ranges_are(run_cli, adaptive_model, tmp_path):
    """export printed 'plane max 1002.9 uA' after each array: a term no page explains."""
    code, out, err = run_cli("export", adaptive_model, "-o", tmp_path / "export")
    assert code == 0, err
    assert "plane max" not in out
    assert "column currents for inputs in [-1, 1] (manifest.json: every layer's currents)" in out
    assert re.search(r"layer 0 array 0: I\+ - I- in \[-?[\d.]+, [\d.]+\] uA; I\+ or I- "
                     r"alone up to [\d.]+ uA", " ".join(out.split())), out


def test_plot_help_says_what_is_drawn_and_what_svg_writes(run_cli, monkeypatch):
    """plot -h said 'similarity' (of what?) and '--svg: SVG instead of PNG (default name)'."""
    monkeypatch.setenv("COLUMNS", "200")
    out = " ".join(run_cli("plot", "-h")[1].split())
    assert "mean recall cosine similarity (each point: mean and std over seeds)" in out
    assert "Write KIND.svg instead of KIND.png" in out


def test_deprecated_neurons_for_activation(run_cli, adaptive_model, tmp_path):
    args = ["evaluate", adaptive_model, "--probes", "1"]
    _same_as_new(run_cli, [*args, "--neurons", "tanh"], [*args, "--activation", "tanh"],
                 ["--neurons"])
    args = ["export", adaptive_model, "-o", tmp_path / "export"]
    manifest = _same_as_new(run_cli, [*args, "--neurons", "tanh"],
                            [*args, "--activation", "tanh"], ["--neurons"])
    assert "tanh" in json.dumps(manifest)


@pytest.mark.parametrize("command", ["evaluate", "export"])
def test_neurons_as_a_count_on_a_model_command_names_the_option_typed(run_cli, small_model,
                                                                      tmp_path, command):
    """`evaluate m.safetensors --neurons 64` (the guide's shared `--neurons N`, pattern length)
    was refused as `activation must be one of sign, tanh, got '64'` (`export`: `--activation
    must be ...`): options the user never typed. The refusal names --neurons, what it means
    on these commands and that the model sets N."""
    args = [command, small_model, *(["-o", tmp_path / "e"] if command == "export" else [])]
    code, out, err = run_cli(*args, "--neurons", "64")
    assert_one_line_error(code, err)
    assert "'--neurons'" in err and "activation must" not in err, err
    assert "old spelling of --activation sign|tanh" in err and "model sets" in err, err
    assert not (tmp_path / "e").exists()


@pytest.mark.parametrize("command", ["evaluate", "export", "energy"])
def test_old_neurons_spelling_is_read_alike_by_every_command(run_cli, small_model, tmp_path,
                                                             command):
    """The old ``--neurons sign|tanh`` was read in two places: ``energy --neurons Tanh`` was
    refused (``--neurons must be a number of neurons``) where evaluate and export took it as
    ``tanh``."""
    args = {"evaluate": ["evaluate", small_model, "--probes", "1"],
            "export": ["export", small_model, "-o", tmp_path / "e"],
            "energy": ["energy", "--neurons", " TaNh ", "--patterns", "2", "--probes", "1",
                       "--rule", "hebb"]}[command]
    if command != "energy":
        args = [*args, "--neurons", " TaNh "]
    code, _, err = run_cli(*args)
    assert code == 0, err
    assert "warning: --neurons is deprecated; use --activation tanh" in err, err


@pytest.mark.parametrize(("option", "value"), [("--mode", "asyn"), ("--activation", "relu"),
                                               ("--activation", "Sine")])
def test_export_refuses_recall_settings_as_evaluate_does(run_cli, small_model, tmp_path,
                                                          option, value):
    """export checked --mode and --activation against a copy of its own, in words of its own
    (``--mode must be sync or async, got 'asyn'``, no closest name): the one check of recall
    settings now refuses them for both commands alike, before anything is written."""
    code, _, evaluate_err = run_cli("evaluate", small_model, option, value)
    assert_one_line_error(code, evaluate_err)
    code, _, export_err = run_cli("export", small_model, "-o", tmp_path / "e", option, value)
    assert_one_line_error(code, export_err)
    assert export_err == evaluate_err.replace("evaluate", "export")
    assert not (tmp_path / "e").exists()


@pytest.mark.parametrize("args", [
    ["train", "--patterns", "mnist", "--neurons", "16", "-o", "m.safetensors"],
    ["train", "--data", "random", "--patterns", "2", "--side", "4", "--max-steps", "5",
     "--rule-option", "nosuch=1", "-o", "m.safetensors"],
    ["evaluate", "missing.safetensors", "--neurons", "tanh"],
    ["export", "missing.safetensors", "--neurons", "sign", "-o", "out"],
    ["capacity", "--data", "random", "--side", "4", "--rule", "nosuch"],
    ["scaling", "--hidden", "ratio:1", "--rule", "nosuch", "-o", "sc"],
    ["energy", "--n", "16", "--flip", "0.2", "--rule-option", "nosuch=1"],
    ["demo", "--chips", "100000000", "-o", "d"],
], ids=" ".join)
def test_a_refusal_after_a_deprecated_spelling_is_one_line(run_cli, tmp_path, monkeypatch,
                                                           args):
    """An old spelling warned at once, so a command refused after reading it printed
    'warning: ... is deprecated' and then the error: the warning now waits until the command
    has run (test_deprecated_*: it is still printed), and a refusal is its one error line."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(*args)
    assert_one_line_error(code, err)
    assert "deprecated" not in err and not out
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------ parsers
HIDDEN_COMMANDS = {
    "train": ["train", "--data", "random", "--patterns", "2", "--neurons", "16", "--arch",
              "multilayer", "-o", "{tmp}/m.safetensors"],
    "capacity": ["capacity", "--arch", "multilayer"],
    "energy": ["energy", "--arch", "multilayer", "--data", "random"],
    "scaling": ["scaling", "--out", "{tmp}"],
}


@pytest.mark.parametrize("value", ["-5", "0", "abc", "1.5", "0n", "-0.5n", "32--16"])
@pytest.mark.parametrize("command", list(HIDDEN_COMMANDS))
def test_bad_hidden_widths_fail_in_one_line(run_cli, tmp_path, command, value):
    args = [a.replace("{tmp}", str(tmp_path)) for a in HIDDEN_COMMANDS[command]]
    code, _, err = run_cli(*args, f"--hidden={value}")
    assert_one_line_error(code, err, "--hidden", value)


@pytest.mark.parametrize("command", ["train", "energy", "capacity"])  # (scaling: one width)
def test_a_bad_hidden_width_names_commas_only_where_they_separate_architectures(
        run_cli, tmp_path, command):
    """`energy --hidden 0` (and train's) said "16,32 = two architectures": these commands take
    one architecture, and refuse 16,32 (energy reads it as the old 16-32); only capacity's
    --hidden separates architectures by commas."""
    args = [a.replace("{tmp}", str(tmp_path)) for a in HIDDEN_COMMANDS[command]]
    code, _, err = run_cli(*args, "--hidden=0")
    assert_one_line_error(code, err, "--hidden", "64-32 = two layers")
    several = command == "capacity"
    assert ("16,32 = two architectures" in err) == several, err


def test_hidden_syntax():
    from xbarmem.cli.parsers import hidden_specs, hidden_widths
    from xbarmem.errors import ConfigError

    assert hidden_widths("64-32", 64) == [64, 32]
    assert hidden_widths("1n", 100) == [100] and hidden_widths("0.5n-8", 64) == [32, 8]
    assert hidden_specs("16,32-8,1n", several=True) == [[16], [32, 8], [(1.0,)]]
    with pytest.raises(ConfigError, match=r"^--hidden takes one architecture here .* '16,32'$"):
        hidden_specs("16,32")


def test_hidden_multiple_of_n_in_capacity(run_cli):
    data = run_json(run_cli, "capacity", "--arch", "multilayer", "--hidden", "0.25n",
                    "--data", "random", "--neurons", "16", "--pool", "8", "--threshold",
                    "0.5", "--trials", "1", "--probes", "1", "--start", "2", "--resolution",
                    "1", "--rule-option", "max_steps=5", "--rule-option", "finetune_steps=0",
                    "--json")
    assert data["results"][0]["layout"] == "16-4-16"


def test_rule_options_are_checked_and_merged(run_cli, tmp_path):
    from xbarmem.cli.parsers import rule_options

    assert rule_options('{"a": 1, "b": "x"}', ["b=2", "c=fixed-point", "d=true", "e=[1]"]) == {
        "a": 1, "b": 2, "c": "fixed-point", "d": True, "e": "[1]"}
    base = ["train", "-o", tmp_path / "m.safetensors", "--data", "random", "--patterns", "2",
            "--neurons", "16"]
    code, _, err = run_cli(*base, "--rule-option", "no_such_option=1")
    assert_one_line_error(code, err, "no_such_option")
    code, _, err = run_cli(*base, "--rule", "hebb", "--rule-option", "no_such_option=1")
    assert_one_line_error(code, err, "no_such_option")
    code, _, err = run_cli(*base, "--rule-option", "max_steps")
    assert_one_line_error(code, err, "KEY=VALUE")
    code, _, err = run_cli("capacity", "--rule-options", '{"cue_fliq": 0.1}')
    assert_one_line_error(code, err, "cue_fliq")


@pytest.mark.parametrize("data, neurons, top", [("glyphs", "1024", 28), ("mnist", "9", 28),
                                                 ("mnist-crop24", "784", 24)])
def test_image_side_out_of_range_is_one_line_naming_neurons(run_cli, tmp_path, data, neurons,
                                                             top):
    out = tmp_path / "m.safetensors"
    code, _, err = run_cli("train", "-o", out, "--data", data, "--neurons", neurons,
                           "--patterns", "2", "--rule", "pinv")
    assert_one_line_error(code, err, "--neurons", f"side 4..{top}", neurons)
    assert not out.exists()


@pytest.mark.parametrize("data", ["digits", "file"])
@pytest.mark.parametrize("command", ["train", "capacity", "energy"])
def test_more_patterns_than_the_data_holds_names_the_option(run_cli, tmp_path, pm1_file, data,
                                                            command):
    """``train`` / ``energy --patterns`` and ``capacity --pool`` above what ``--data`` holds
    are refused naming the option the user gave (``requested n=5000 patterns but only 1797
    are available``: the Python keyword, as energy still said), and one per class
    counts the classes."""
    source, held = ("digits", 1797) if data == "digits" else (pm1_file, 4)
    option = "--pool" if command == "capacity" else "--patterns"
    args = ("-o", tmp_path / "m.safetensors") if command == "train" else ()
    code, _, err = run_cli(command, *args, "--data", source, option, "5000", "--rule", "hebb")
    assert_one_line_error(code, err, f"{option} 5000: --data {source} holds {held} patterns; "
                                     f"give at most {held}")
    assert not (tmp_path / "m.safetensors").exists()
    if data == "digits" and command == "train":
        code, _, err = run_cli(command, *args, "--data", source, "--one-per-class", option, "11")
        assert_one_line_error(code, err, "--patterns 11: --data digits holds 10 classes")


def test_neurons_must_be_square_for_images(run_cli, tmp_path):
    code, _, err = run_cli("train", "-o", tmp_path / "m.safetensors", "--data", "digits",
                           "--neurons", "50")
    assert_one_line_error(code, err, "--neurons", "N must be 64", "50")
    code, _, err = run_cli("train", "-o", tmp_path / "m.safetensors", "--data", "mnist",
                           "--neurons", "50")
    assert_one_line_error(code, err, "--neurons", "perfect square", "50")
    code, _, err = run_cli("energy", "--data", "glyphs", "--neurons", "30")
    assert_one_line_error(code, err, "--neurons", "perfect square", "30")


def test_a_file_has_its_own_number_of_neurons(run_cli, tmp_path):
    """Numeric patterns in a file need no --neurons; a --neurons that states another N than
    the file's is refused, one that states the same is accepted (by train, capacity and
    energy alike)."""
    data = tmp_path / "p50.npy"
    np.save(data, np.where(np.random.default_rng(0).random((4, 50)) < 0.5, -1.0, 1.0))
    for neurons in ((), ("--neurons", "50")):
        out = tmp_path / f"m{len(neurons)}.safetensors"
        code, _, err = run_cli("train", "-o", out, "--data", data, "--rule", "pinv", *neurons)
        assert code == 0 and out.exists(), err
    code, _, err = run_cli("train", "-o", tmp_path / "x.safetensors", "--data", data,
                           "--neurons", "64")
    assert_one_line_error(code, err, "p50.npy", "N = 50", "not 64")
    code, _, err = run_cli("capacity", "--data", data, "--neurons", "64", "--rule", "pinv")
    assert_one_line_error(code, err, "p50.npy", "N = 50", "not 64")
    code, out, err = run_cli("energy", "--data", data, "--neurons", "50", "--patterns", "3",
                             "--rule", "pinv", "--json")
    assert code == 0, err
    assert json.loads(out)["settings"]["n_patterns"] == 3
    code, out, err = run_cli("energy", "--data", data, "--neurons", "50", "--rule", "pinv",
                             "--json")  # (no labels: its first patterns, all 4 of them)
    assert code == 0, err
    assert json.loads(out)["settings"]["n_patterns"] == 4
    summary = run_json(run_cli, "train", "-o", tmp_path / "r.safetensors", "--data", "random",
                       "--patterns", "2", "--neurons", "10", "--rule", "hebb", "--chip",
                       "ideal", "--json")
    assert summary["n_neurons"] == 10  # random patterns need no square N


@pytest.mark.parametrize("command", ["train", "capacity", "energy"])
def test_help_says_what_a_file_is_read_as(run_cli, command):
    """The help said ``--neurons [default: 64]`` though a file keeps its own N, and not how
    ``--kind`` reads 8-bit images (binarised at each image's mean), which a user's grey
    image file gets without a word."""
    code, out, _ = run_cli(command, "--help")
    text = " ".join(out.replace("│", " ").split())
    assert code == 0 and "A file of patterns keeps its own N unless this is given." in text
    if command != "energy":
        assert "8-bit images binarised at each image's mean" in text


def test_a_file_of_one_neuron_is_refused_as_such(run_cli, tmp_path):
    """A file whose patterns have N = 1 is refused by name and rule (train said it held more
    patterns than the memory could store; capacity named an argument the user never gave)."""
    data = tmp_path / "n1.npy"
    np.save(data, np.array([[1.0], [-1.0], [1.0]], dtype=np.float32))
    for args in (["train", "-o", tmp_path / "m.safetensors"], ["capacity"]):
        code, _, err = run_cli(*args, "--data", data, "--rule", "hebb")
        assert_one_line_error(code, err, "n1.npy", "at least 2 neurons")
    assert not (tmp_path / "m.safetensors").exists()


def test_an_all_zero_continuous_pattern_is_refused(run_cli, tmp_path):
    """A zero row of continuous data has no recall cosine: train stored it and evaluate scored
    it cosine 0 with exact 1; train and capacity refuse it in one line naming its row."""
    data = tmp_path / "z.npy"
    x = np.random.default_rng(0).uniform(-1, 1, (4, 16)).astype(np.float32)
    x[1] = 0.0
    np.save(data, x)
    for args in (["train", "-o", tmp_path / "m.safetensors"], ["capacity"]):
        code, _, err = run_cli(*args, "--data", data, "--kind", "continuous", "--rule", "hebb")
        assert_one_line_error(code, err, "z.npy", "all zeros, first row 1")
    assert not (tmp_path / "m.safetensors").exists()


def test_an_npz_of_several_unnamed_arrays_says_what_a_cli_user_can_do(run_cli, tmp_path,
                                                                       pm1_file):
    """An .npz holding several arrays, none named 'patterns' or 'images': the refusal told CLI
    users to "pass key=", which no command takes; it says which name the file needs."""
    data = tmp_path / "two.npz"
    np.savez(data, a=np.load(pm1_file), b=np.load(pm1_file))
    code, _, err = run_cli("train", "-o", tmp_path / "m.safetensors", "--data", data,
                           "--rule", "hebb")
    assert_one_line_error(code, err, "two.npz", "holds 2 arrays", "as 'patterns'", "'a', 'b'")
    assert "pass key=" not in err


@pytest.mark.parametrize("args", [
    ["scaling", "--sizes", "16", "--rule", "hebb"],  # (scaling's default arch: multilayer)
    ["scaling", "--sizes", "16", "--arch", "single", "--rule", "nosuch"],
    ["capacity", "--data", "random", "--neurons", "16", "--arch", "multilayer", "--rule", "hebb"],
    ["capacity", "--data", "random", "--neurons", "16", "--rule", "nosuch"],
])
def test_refusals_come_before_the_threshold_warning(run_cli, tmp_path, args):
    """A low threshold warns, but only once the command line is accepted: an unknown rule or a
    multilayer memory of a classic rule is one error line, refused before any data is loaded."""
    out = ["-o", tmp_path / "sc"] if args[0] == "scaling" else []
    code, _, err = run_cli(*args, "--threshold", "0.9", "--trials", "1", "--probes", "1", *out)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert "rule" in lines[0]
    assert not (tmp_path / "sc").exists()


@pytest.mark.parametrize("args, names", [
    (["--data", "correlated--0.1"], ("correlated--0.1", "[0, 1)")),
    (["--data", "correlated-:0.4"], ("correlated-:0.4",)),
    (["--data", "random", "--rule-options", ""], ("--rule-options", "empty")),
    (["--data", "random", "--rule-options", " "], ("--rule-options", "empty")),
])
def test_malformed_values_are_not_read_leniently(run_cli, tmp_path, args, names):
    """correlated--0.1 was read as R = 0.1 (every leading '-' stripped) and an empty
    --rule-options as no options; both are refused naming what is wrong."""
    code, _, err = run_cli("train", *args, "--patterns", "2", "--neurons", "16", "--rule",
                           "hebb", "-o", tmp_path / "m.safetensors")
    assert_one_line_error(code, err, *names)
    assert not (tmp_path / "m.safetensors").exists()


# ------------------------------------------------------------------------------ unread options
_TRAIN = ["train", "--data", "random", "--patterns", "2", "--neurons", "16", "--rule", "hebb",
          "-o", "m.safetensors"]
#: small enough that a run is quick where the option was ignored (the test without the fix)
_ENERGY = ["energy", "--neurons", "16", "--data", "random", "--patterns", "2", "--rule", "hebb",
           "--probes", "1"]
_SIZES = ["energy", "--sizes", "16", "--rule", "hebb", "--probes", "1"]
_SEARCH = ["--rule", "hebb", "--trials", "1", "--probes", "1", "--pool", "20"]
#: an option given where the chosen mode never reads it, and its one-line refusal
NOT_READ = [
    ([*_TRAIN, "--hidden", "16"], "--hidden applies to --arch multilayer only"),
    ([*_TRAIN, "--fault-map", "f.npz", "--faults", "0.1"], "--faults applies without "
     "--fault-map only"),
    ([*_TRAIN, "--on-fraction", "0.3"], "--on-fraction applies with --faults only"),
    ([*_TRAIN, "--max-steps", "5"], "--max-steps applies to --rule adaptive only"),
    ([*_TRAIN, "--zero-one"], "--zero-one applies to --data FILE only"),
    ([*_TRAIN, "--one-per-class"], "--one-per-class applies to --data of an image set or file "
     "only"),
    (["capacity", "--data", "random", "--neurons", "16", *_SEARCH, "--hidden", "16"],
     "--hidden applies to --arch multilayer only"),
    (["scaling", "--arch", "single", "--sizes", "16", *_SEARCH, "--hidden", "1n", "-o", "sc"],
     "--hidden applies to --arch multilayer only"),
    ([*_ENERGY, "--arch", "single", "--hidden", "8"], "--hidden applies to --arch multilayer "
     "only"),
    ([*_SIZES, "--calibrate", "-o", "e"], "--calibrate applies without "
     "--sizes only"),
    ([*_SIZES, "--neurons", "16"], "--neurons applies without --sizes only"),
    ([*_SIZES, "--patterns", "3"], "--patterns applies without --sizes "
     "only"),
    ([*_ENERGY, "--load", "0.2"], "--load applies with --sizes only"),
    ([*_ENERGY, "--target-latency", "0.9"], "--target-latency applies with --calibrate only"),
    ([*_ENERGY, "-o", "e"], "--out applies with --sizes or --calibrate only"),
    (["chip", "faults", "--on-fraction", "0.5", "-o", "f.npz"], "--on-fraction applies with "
     "--faults only"),
    (["chip", "import", "g.npy", "--chip-out", "c.toml", "-o", "f.npz"], "--chip-out applies to "
     "a .csv FILE only"),
    (["chip", "import", "g.csv", "--key", "g", "-o", "f.npz"], "--key applies to an array FILE "
     "(.npy/.npz) only"),
    (["chip", "import", "g.npy", "--on-above", "1e-4", "-o", "f.npz"], "--on-above applies with "
     "--as conductance only"),
    (["sweep", "s.toml", "--list-options"], "FILE applies without --list-options only"),
    (["sweep", "s.toml", "--dry-run", "--jobs", "1"], "--jobs applies without --dry-run only"),
    (["sweep", "s.toml", "--workers", "2", "--jobs", "1"], "--jobs applies without --workers or "
     "--scheduler only"),
    (["reproduce", "-o", "r", "--workers", "2", "--jobs", "2"], "--jobs applies without "
     "--workers or --scheduler only"),
    (["results", "s.sqlite", "--metric", "cosine"], "--metric applies with --group-by only"),
    (["results", "s.sqlite", "--csv", "a.csv", "--group-by", "rule"], "--group-by applies "
     "without --csv or --parquet only"),
    (["results", "s.sqlite", "--json", "--limit", "3"], "--limit applies without --group-by or "
     "--json only"),
    (["results", "s.sqlite", "--group-by", "rule", "--columns", "rule"], "--columns applies "
     "without --group-by or --json only"),
    (["plot", "s.sqlite", "--kind", "faults", "--svg", "-o", "x.png"], "--svg contradicts --out "
     "x.png"),
]


def _option_help(args: list, flag: str) -> tuple[object, str]:
    """The (sub)command that ``args`` run and the help text of its option ``flag``."""
    import typer

    cmd, words = typer.main.get_command(cli.app), [str(a) for a in args]
    while words and hasattr(cmd, "commands") and words[0] in cmd.commands:
        cmd = cmd.commands[words.pop(0)]
    helps = {opt: p.help or "" for p in cmd.params for opt in getattr(p, "opts", ())}
    return helps, helps.get(flag, "")


def _applies_with(message: str) -> tuple[str, str, list[str]]:
    """``(flag, where, options that decide)`` of a refusal ``"--x applies with --y only"``."""
    flag, _, where = message.removesuffix(" only").partition(" applies ")
    return flag, where, re.findall(r"--[a-z][a-z-]*", where)


#: the refusals naming an option that decides the mode (not a file kind, not a deprecated
#: spelling, not a contradiction)
MODE_OF_OPTION = [(args, message) for args, message in NOT_READ
                  if _applies_with(message)[2] and message.startswith("--")
                  and not message.startswith("--max-steps ")]


@pytest.mark.parametrize("args, message", MODE_OF_OPTION,
                         ids=[" ".join(a) for a, _ in MODE_OF_OPTION])
def test_help_says_where_an_option_applies(args, message):
    """An option refused outside a mode says so in --help, before a user is refused: its own
    help names the option that decides (``--metric`` said "default: cosine and exact" while
    the table of rows shows cosine only and --metric is refused there), or that option's help
    names it."""
    flag, where, governing = _applies_with(message)
    helps, text = _option_help(args, flag)
    assert any(g in text for g in governing) or any(flag in helps.get(g, "")
                                                    for g in governing), (
        f"{flag} --help does not say it applies {where} only: {text!r}")


@pytest.mark.parametrize("args, message", NOT_READ, ids=[" ".join(a) for a, _ in NOT_READ])
def test_options_the_command_does_not_read_are_refused(run_cli, tmp_path, monkeypatch, args,
                                                        message):
    """An option given where the chosen mode never reads it was ignored (exit 0, no message);
    it is refused in one line naming it and where it applies, before anything is read or
    written. Defaults the user did not give are never refused (the other tests run them)."""
    import xbarmem.experiments.reproduce as reproduce

    monkeypatch.setattr(reproduce, "EXPERIMENTS", [])  # (refused before it would run)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(*args)
    assert_one_line_error(code, err, message)
    assert err.startswith(f"error: {message}") and not out
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", [["train", "--patterns", "2", "-o", "{tmp}/m.safetensors"],
                                     ["capacity"], ["energy", "--rule", "hebb"]])
def test_fewer_than_two_neurons_are_refused_naming_the_option(run_cli, tmp_path, command):
    """`train --data random --neurons 1` said 'N must be ...', not which option."""
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    code, _, err = run_cli(*args, "--data", "random", "--neurons", "1")
    assert_one_line_error(code, err, "--neurons must be an integer >= 2", "got 1")


@pytest.mark.parametrize(("args", "fragments"), [
    (["energy", "--sizes", "1,4", "--rule", "hebb"], ["--sizes (each N) must be", "got 1"]),
    (["scaling", "--sizes", "1,16", "--arch", "single", "--rule", "hebb"], ["--sizes (each N)"]),
    (["scaling", "--sizes", "16,20", "--arch", "single", "--rule", "hebb"],
     ["--sizes: mnist images", "perfect square"]),
    (["energy", "--sizes", "0,4"], ["--sizes (each N) must be an integer >= 2", "got 0"]),
    (["scaling", "--sizes", "16.5", "--arch", "single"], ["must be an integer >= 2",
                                                          "got 16.5"])])
def test_bad_sizes_are_refused_naming_sizes(run_cli, args, fragments):
    """`energy --sizes 1,4` said 'sizes must be ...' and `scaling --sizes 16,20` 'sizes: ...'
    (the Python arguments), not the option; `--sizes 0` said 'must be positive integers',
    which 1 is and is refused too."""
    code, _, err = run_cli(*args)
    assert_one_line_error(code, err, *fragments)


def test_energy_multilayer_without_hidden_takes_the_default_width(run_cli):
    """`energy --arch multilayer` and `measure(arch="multilayer")` without hidden widths were
    refused while `train`, `capacity`, `find_capacity` and `xm.train` take the default width:
    every entry point now takes it (`learning.fit.DEFAULT_HIDDEN`)."""
    import json

    from xbarmem.energy.measure import measure
    from xbarmem.learning.fit import DEFAULT_HIDDEN

    code, out, err = run_cli("energy", "--arch", "multilayer", "--neurons", "16", "--data",
                             "random", "--patterns", "2", "--max-steps", "5", "--json")
    assert code == 0, err
    assert json.loads(out)["settings"]["layer_sizes"] == [16, DEFAULT_HIDDEN, 16]
    result = measure(16, arch="multilayer", data="random", n_patterns=2, max_steps=5)
    assert result.info["layer_sizes"] == [16, DEFAULT_HIDDEN, 16]


def test_capacity_table_says_which_threshold_its_per_device_column_reads(run_cli, monkeypatch,
                                                                         tmp_path):
    """With several thresholds the table's "C/1k devices" column read the lowest one without
    saying so, and its last two columns were headed "counts" (how many were tested) and "s"."""
    from rich.console import Console

    from xbarmem.cli import capacity_output

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(capacity_output, "out", Console(width=300))  # headers on one line
    code, out, err = run_cli("capacity", "--rule", "pinv", "--data", "random", "--neurons", "16",
                             "--pool", "20", "--trials", "1", "--probes", "1",
                             "--threshold", "0.95,0.99")
    assert code == 0, err
    header = next(line for line in out.splitlines() if "architecture" in line)
    assert "C@0.95 per 1k devices" in header and "counts tested" in header
    assert "seconds" in header, header


def test_evaluate_json_names_the_activation_as_recall_does(run_cli, tmp_path):
    """``evaluate --json`` recorded the neuron type only as ``neurons``; ``recall --json``, the
    demo and the option call it ``activation``: both keys, then ``activation`` alone (one name
    per concept)."""
    model = tmp_path / "m.safetensors"
    code, _, err = run_cli("train", "--out", model, "--rule", "hebb", "--data", "random",
                           "--patterns", "3", "--neurons", "16")
    assert code == 0, err
    protocol = run_json(run_cli, "evaluate", model, "--probes", "1", "--activation", "tanh",
                        "--json")["protocol"]
    assert protocol["activation"] == "tanh" and "neurons" not in protocol


def test_demo_heading_counts_in_the_singular(run_cli, tmp_path):
    code, out, err = run_cli("demo", "--trials", "1", "--probes", "1", "-o", tmp_path)
    assert code == 0, err
    text = " ".join(out.split())
    assert "1 chip x 1 cue per digit" in text
    # one chip has no spread: no column of it (it showed "-" in every row), not 0.000
    assert "no spread over one chip" in text and "± std" not in text and "± chips" not in text
    rows = [line for line in out.splitlines() if line.startswith("│ ")]
    assert rows and all(len(line.split("│")) == 6 for line in rows)  # rule and 3 numbers
    # the last line says what its seconds measured (it read "(0.7 s)" after a 3.7 s run)
    assert re.search(r"figure: .*demo-recall\.png \(every rule trained and recalled in "
                     r"[\d.]+ s\)$", text), text


def test_held_warnings_come_before_the_results_of_a_command_without_progress(run_cli,
                                                                          tmp_path):
    """Warnings are held while a command checks its inputs; one without a progress display
    (evaluate) printed its chip's warning after its results: now before its first output."""
    import os
    import subprocess
    import sys

    wide = tmp_path / "wide.toml"
    wide.write_text("[device]\ng_min = 2e-6\ng_max = 150e-6\nwrite_noise = 200e-6\n")
    model = tmp_path / "m.safetensors"
    code, _, err = run_cli("train", "--data", "random", "--patterns", "3", "--neurons", "16",
                           "--chip", wide, "--rule", "hebb", "--out", model)
    assert code == 0, err
    for args, last in ((["evaluate", str(model), "--probes", "1"], "ended: own"),
                       (["chip", "show", str(wide)], "fault_model")):
        both = subprocess.run([sys.executable, "-m", "xbarmem", *args], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, check=False,
                              env={**os.environ, "COLUMNS": "200"})
        assert both.returncode == 0, both.stdout
        assert both.stdout.startswith("warning: device.write_noise"), both.stdout
        assert last in both.stdout.strip().splitlines()[-1], both.stdout


def test_evaluate_takes_max_iterations_as_recall_does(run_cli, tmp_path):
    """``recall`` and ``export`` capped the recall's iterations; ``evaluate`` could not."""
    model = tmp_path / "m.safetensors"
    code, _, err = run_cli("train", "--rule", "hebb", "--data", "random", "--patterns", "12",
                           "--neurons", "16", "--out", model)
    assert code == 0, err
    res = run_json(run_cli, "evaluate", model, "--probes", "2", "--level", "0.3",
                   "--max-iterations", "1", "--json")
    assert res["protocol"]["max_iterations"] == 1 and res["mean_iterations"] <= 1
    code, out, err = run_cli("evaluate", model, "--probes", "2", "--max-iterations", "2")
    assert code == 0 and " bits\n" in out, err


def _evaluate_sweep(run_cli, tmp_path, grid: dict, *, seeds: int = 1, tables: dict | None = None,
                    **base) -> Path:
    """The store of an evaluate sweep over random N = 16 patterns (one cue per pattern) with
    ``base`` settings, ``grid`` and the sweep file's other ``tables``, run with one job."""
    from tomli_w import dumps

    (tmp_path / "s.toml").write_text(dumps({
        "sweep": {"name": "s", "trial": "evaluate", "seeds": seeds},
        "base": {"data": "random", "n_neurons": 16, "probes": 1, **base}, "grid": grid,
        **(tables or {})}))
    store = tmp_path / "s.sqlite"
    code, _, err = run_cli("sweep", tmp_path / "s.toml", "--store", store, "--jobs", "1")
    assert code == 0, err
    return store


_SELF_FIELD = {"rule_options": {"storkey-variant": {"self_field": [False, True]}}}


def test_results_rows_show_swept_rule_options_and_exact_recall(run_cli, tmp_path):
    """The table of rows showed neither a swept rule option (rows of two readings looked
    alike) nor the exact-recall rate, under one column "cosine / capacity"."""
    store = _evaluate_sweep(run_cli, tmp_path, {"fault_rate": [0.0, 0.3], **_SELF_FIELD},
                            patterns=4, rule="storkey-variant")
    code, out, err = run_cli("results", store)
    assert code == 0, err
    header = " ".join(out.split())
    for column in ("rule_options.self_field", "fault_rate", "cosine", "exact"):
        assert column in header, (column, out)
    assert "true" in out and "false" in out and "cosine / capacity" not in out


def test_results_of_a_rule_comparison_show_no_rule_options_that_only_the_rule_tells_apart(
        run_cli, tmp_path, monkeypatch):
    """A sweep comparing the adaptive rule with classic ones showed every adaptive option as a
    column at 80 columns (set on its rows, "-" on the others: "varying"), the rule's name
    folded and cosine/exact off the table; an option swept within one rule is still shown."""
    grid = {"rule": ["adaptive", "pinv"], "fault_rate": [0.0, 0.2]}
    fixed = {"rule_options": {"adaptive": {"max_steps": 20, "finetune_steps": 5}}}
    store = _evaluate_sweep(run_cli, tmp_path, grid, patterns=3, tables=fixed)
    code, out, err = run_cli("results", store)
    assert code == 0, err
    assert "rule_options" not in out and "adaptive" in out and "warning" not in err, out
    header = " ".join(out.split())
    assert all(c in header for c in ("rule", "fault_rate", "cosine", "exact")), out
    grid["rule_options"] = {"adaptive": {"max_steps": [20, 30]}}
    (tmp_path / "b").mkdir()
    store = _evaluate_sweep(run_cli, tmp_path / "b", grid, patterns=3,
                            tables={"rule_options": {"adaptive": {"finetune_steps": 5}}})
    monkeypatch.setenv("COLUMNS", "200")  # (header cells unfolded)
    code, out, err = run_cli("results", store)
    assert code == 0, err
    assert "rule_options.max_steps" in out and "finetune" not in out, out


def test_results_limited_to_rows_of_one_reading_name_the_swept_option_they_share(
        run_cli, tmp_path, monkeypatch):
    """`results stv.sqlite --limit 8` (quoted by examples/sweeps/storkey-variant.toml) showed
    8 rows of one of the two swept `self_field` readings, and neither a column nor the
    caption said which: the option columns came from the rows shown only. They come from
    every matching row's settings, so the caption names the reading the rows shown share."""
    grid = {"fault_rate": [0.0, 0.2],
            "rule_options": {"storkey-variant": {"self_field": [False, True]}}}
    store = _evaluate_sweep(run_cli, tmp_path, grid, patterns=3, rule="storkey-variant")
    monkeypatch.setenv("COLUMNS", "200")  # (the caption on one line)
    code, out, err = run_cli("results", store, "--limit", "1")
    assert code == 0, err
    text = " ".join(out.split())
    assert "4 rows (first 1)" in text, out
    caption = text[text.index("same in the 1 row shown:"):]
    assert re.search(r"rule_options\.self_field=(true|false)", caption), out
    code, out, err = run_cli("results", store, "--limit", "2", "--where", "fault_rate=0")
    assert code == 0, err
    assert "rule_options.self_field" in out and "true" in out and "false" in out, out


def test_results_of_one_row_show_its_recall_on_an_80_column_terminal(run_cli, tmp_path):
    """One row (``--where`` picking one) printed every field as a column: at 80 columns the
    table was cut and its cosine and exact columns were not shown; the title said "1 rows"."""
    store = _evaluate_sweep(run_cli, tmp_path, {"fault_rate": [0.0, 0.2]}, patterns=3,
                            rule="pinv")
    code, out, err = run_cli("results", store, "--where", "fault_rate=0.2")
    assert code == 0, err
    text = " ".join(out.split())
    assert "1 row" in text and "1 rows" not in text
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), out
    header = next(line for line in lines if "cosine" in line)
    assert "exact" in header and "fault_rate=0.2" in text


def test_results_of_many_fields_keep_their_recall_columns_at_80_columns(run_cli, tmp_path):
    """Six varying fields (a grid over five settings and the seed) cut the table before its
    exact column at 80 columns: the field columns now fold first."""
    store = _evaluate_sweep(run_cli, tmp_path, {
        "fault_rate": [0.0, 0.2], "patterns": [2, 3], "variation": [0.0, 0.1],
        "level": [0.05, 0.1], **_SELF_FIELD}, seeds=2, rule="storkey-variant")
    code, out, err = run_cli("results", store)  # (the first 50 rows: every field varies)
    assert code == 0, err
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), out
    rule = next(i for i, line in enumerate(lines)
                if line.strip() and set(line.strip()) <= set("─━┡╇┩"))  # under the header
    header = " ".join(lines[:rule])  # boxed, or without vertical lines when that keeps words
    assert "cosine" in header and "exact" in header and "seed" in header, out


def _refusals() -> list[tuple[str, str, list[str]]]:
    """Every ``applies_only(ctx, WHERE, NAME, ...)`` call of the CLI's source: (module, WHERE,
    parameter names); a call in ``given`` (the shared checks: ``--data FILE``, ``--faults``,
    ``--arch multilayer``, ``--workers``) or in an option module (:data:`OPTION_MODULES`)
    applies to every command that has both the governing option and the one refused."""
    import ast

    cli = Path(__file__).resolve().parents[1] / "src" / "xbarmem" / "cli"
    found = []
    for path in sorted(cli.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            func = getattr(node, "func", None)
            if getattr(func, "attr", getattr(func, "id", None)) != "applies_only":
                continue
            texts = [a.value for a in node.args[1:] if isinstance(a, ast.Constant)
                     and isinstance(a.value, str)]
            if len(texts) >= 2 and isinstance(node.args[1], ast.Constant):
                found.append((path.stem, texts[0], texts[1:]))
    return found


def test_every_option_refused_outside_a_mode_says_so_in_help():
    """The help of every option that ``applies_only`` refuses outside a mode (``adapt
    --rounds`` with ``--read-back``, ``sweep --jobs`` with ``--list-options``, ...) names the
    option deciding the mode, or that option's help names it: found from the source, so a
    new refusal cannot be left out of the help (the list of refusal cases above covered some)."""
    refusals = _refusals()
    assert len(refusals) > 15
    missing, checked = [], 0
    for path, cmd in _commands():
        name, module = " ".join(path), cmd.callback.__module__.rsplit(".", 1)[-1]
        params = {p.name: p for p in _options(cmd) if not p.hidden}
        helps = {flag: p.help or "" for p in params.values() for flag in p.opts}
        for where_module, where, names in refusals:
            governing = re.findall(r"--[a-z][a-z-]*", where)
            if where_module not in {module, "given", *OPTION_MODULES} or not governing or not all(
                    g in helps for g in governing):
                continue
            for param in filter(None, map(params.get, names)):
                flag = param.opts[0]
                checked += 1
                if flag not in governing and not (
                        any(g in (param.help or "") for g in governing)
                        or any(flag in helps[g] for g in governing)):
                    missing.append(f"{name} {flag} ({where})")
    assert checked > 40, checked
    assert not missing, "help does not say where these apply: " + "; ".join(missing)


def test_results_export_help_says_the_table_options_are_refused():
    """`results --csv` said the view's --group-by, --metric, --columns and --limit "do not
    apply" (read: ignored) and `--parquet` said nothing of them, while both refuse them (exit
    2); both helps now say "not with" them, as the refusal does."""
    view = "not with --group-by, --metric, --columns or --limit"
    for flag in ("--csv", "--parquet"):
        assert view in _option_help(["results"], flag)[1], flag


def test_results_read_a_rule_option_as_a_sweep_file_spells_it(run_cli, tmp_path):
    """A sweep file sweeps ``rule_options.storkey-variant.self_field``; the store holds it as
    the row's ``rule_options.self_field``, and ``results`` refused the sweep file's spelling:
    both now name it, in --columns, --group-by and --where."""
    (tmp_path / "s.toml").write_text(
        '[sweep]\nname = "opt"\ntrial = "evaluate"\nseeds = 1\n\n[base]\ndata = "random"\n'
        'n_neurons = 16\npatterns = 4\nprobes = 1\nrule = "storkey-variant"\n\n'
        '[grid.rule_options.storkey-variant]\nself_field = [false, true]\n')
    store = tmp_path / "s.sqlite"
    assert run_cli("sweep", tmp_path / "s.toml", "--store", store, "--jobs", "1")[0] == 0
    spelled = "rule_options.storkey-variant.self_field"
    code, out, err = run_cli("results", store, "--columns", spelled)
    assert code == 0 and "true" in out and "false" in out, err
    groups = run_json(run_cli, "results", store, "--group-by", spelled, "--json")
    assert len(groups) == 2, groups
    rows = run_json(run_cli, "results", store, "--where", f"{spelled}=true", "--json")
    assert len(rows) == 1 and rows[0]["config"]["rule_options"]["self_field"] is True


def test_capacity_table_of_three_thresholds_keeps_its_words_at_80_columns(run_cli, monkeypatch,
                                                                         tmp_path):
    """Nine columns need 90 characters boxed with every header word whole: at 80 the table
    printed 'archit' / 'ecture' and 'secon' / 'ds'; it now drops its vertical lines."""
    import io

    from xbarmem.cli import capacity_output
    from xbarmem.cli.tables import _Console

    monkeypatch.chdir(tmp_path)
    console = _Console(width=80, file=io.StringIO(), color_system=None)
    monkeypatch.setattr(capacity_output, "out", console)
    code, _, err = run_cli("capacity", "--rule", "pinv", "--data", "random", "--neurons", "16",
                           "--pool", "20", "--trials", "1", "--probes", "1",
                           "--threshold", "0.9,0.95,0.99")
    assert code == 0, err
    text = console.file.getvalue()
    assert all(len(line) <= 80 for line in text.splitlines()), text
    words = set(text.split())
    assert {"architecture", "devices", "arrays", "C@0.9", "C@0.95", "C@0.99", "counts",
            "tested", "seconds", "single"} <= words, text


def test_adapt_corrupts_a_continuous_models_cues_as_evaluate_does(run_cli, tmp_path):
    """adapt flipped 10% of a continuous model's values by default (evaluate and capacity
    add Gaussian noise 0.6 there); one rule now (`given.cues_for`)."""
    model = tmp_path / "c.safetensors"
    code, _, err = run_cli("train", "--data", "mnist", "--kind", "continuous", "--patterns", "3",
                           "--neurons", "16", "--chip", "rram", "--rule-option", "max_steps=20",
                           "--out", model)
    assert code == 0, err
    adapted = run_json(run_cli, "adapt", model, "--rounds", "1", "--probes", "1", "--json")
    evaluated = run_json(run_cli, "evaluate", model, "--probes", "1", "--json")
    for protocol in (adapted["settings"]["protocol"], evaluated["protocol"]):
        assert (protocol["corruption"], protocol["level"], protocol["activation"]) == (
            "gaussian", 0.6, "tanh")
    occluded = run_json(run_cli, "adapt", model, "--rounds", "1", "--probes", "1",
                        "--corruption", "occlude", "--json")["settings"]["protocol"]
    assert (occluded["corruption"], occluded["level"]) == ("occlude", 0.6)  # as sweeps take it


@pytest.mark.parametrize("corruption", ["flip", "salt-pepper"])
def test_bit_corruptions_of_continuous_patterns_are_refused_as_sweeps_refuse_them(
        run_cli, tmp_path, corruption):
    """A sweep refused flips of continuous patterns; evaluate, adapt and capacity ran them."""
    model = tmp_path / "c.safetensors"
    code, _, err = run_cli("train", "--data", "mnist", "--kind", "continuous", "--patterns", "3",
                           "--neurons", "16", "--chip", "rram", "--rule", "hebb", "--out", model)
    assert code == 0, err
    for args in (["evaluate", model], ["adapt", model, "--rounds", "1"],
                 ["capacity", "--data", "mnist", "--kind", "continuous", "--rule", "hebb",
                  "--neurons", "16", "--trials", "1"]):
        code, out, err = run_cli(*args, "--corruption", corruption, "--probes", "1")
        assert code == 2 and not out, (args, err)
        assert err.strip() == (f"error: --corruption {corruption} applies to binary patterns "
                               "only; these are continuous: use gaussian or occlude"), err


def test_a_corruption_is_read_as_the_api_reads_it_before_any_work(run_cli, small_model):
    """``--corruption blur`` (or ``salt_pepper``, which the API takes) without ``--level``
    met a KeyError traceback in capacity and scaling (the default level's table)."""
    for args in (["capacity", "--trials", "1"],
                 ["scaling", "--sizes", "16", "--trials", "1"], ["evaluate", small_model]):
        code, out, err = run_cli(*args, "--corruption", "blur")
        assert (code, out) == (2, ""), (args, err)
        assert err.strip() == ("error: unknown corruption method 'blur': expected one of flip, "
                               "gaussian, occlude, salt-pepper"), err
    protocol = run_json(run_cli, "evaluate", small_model, "--corruption", "Salt_Pepper",
                        "--probes", "1", "--json")["protocol"]
    assert (protocol["corruption"], protocol["level"]) == ("salt-pepper", 0.1)


def test_recall_takes_the_activation_evaluate_takes(run_cli, tmp_path, small_model):
    """``recall`` recalled with the model's default neurons only, while ``evaluate`` and
    ``export`` take ``--activation``: analogue tanh neurons on a binary model, read out by
    their sign as evaluate scores them (the states saved and in --json are +-1)."""
    import numpy as np

    cues = tmp_path / "cues.npy"
    np.save(cues, np.where(np.random.default_rng(0).standard_normal((4, 16)) >= 0, 1.0, -1.0))
    got = {}
    for activation in ("sign", "tanh"):
        out = tmp_path / f"{activation}.npy"
        result = run_json(run_cli, "recall", small_model, cues, "--activation", activation,
                          "--out", out, "--json")
        assert result["activation"] == activation
        got[activation] = np.load(out)
        assert set(np.unique(got[activation])) <= {-1.0, 1.0}
        assert np.array_equal(np.asarray(result["states"]), got[activation])
    code, _, err = run_cli("recall", small_model, cues, "--activation", "relu")
    assert code == 2 and "'--activation': must be one of sign, tanh" in err


def test_scaling_says_a_fit_of_two_sizes_has_no_interval_and_prints_no_undefined_r2(
        monkeypatch):
    """``scaling`` printed "R^2 1.000" for a line through two sizes (a perfect fit, it read)
    and "R^2 nan" for capacities all equal."""
    import io

    from xbarmem.cli import capacity_output
    from xbarmem.cli.tables import _Console

    console = _Console(width=100, file=io.StringIO(), color_system=None)
    monkeypatch.setattr(capacity_output, "out", console)
    nan = float("nan")
    fits = {"1.0": {"slope": 0.0, "slope_low": nan, "slope_high": nan, "prefactor": 1.0,
                    "r2": nan, "points": 2, "confidence": 0.95},
            "0.9": {"slope": 0.0, "slope_low": 0.0, "slope_high": 0.0, "prefactor": 2.0,
                    "r2": nan, "points": 3, "confidence": 0.95}}
    res = {"sizes": [16, 36, 64], "capacity": {"1.0": [0, 1, 1], "0.9": [2, 2, 2]},
           "runs": [{"capacity": {}, "settings": {}}] * 3, "fits": fits,
           "files": {"png": "s.png", "json": "s.json"}}
    capacity_output.print_scaling(res, "scaling")
    text = console.file.getvalue()
    assert "nan" not in text and "R^2 1.000" not in text, text
    assert "threshold 1.0: C ~ N^0.00 (a line through 2 sizes of capacity > 0: no CI)" in text
    assert "threshold 0.9: C ~ N^0.00 (95% CI 0.00..0.00)\n" in text


def test_scaling_says_why_a_threshold_has_no_fit(monkeypatch):
    """``scaling --sizes 16`` (capacity 4) said "not enough non-zero capacities to fit": its
    capacity is not zero, there is one size. The line counts the sizes of capacity > 0."""
    import io

    from xbarmem.cli import capacity_output
    from xbarmem.cli.tables import _Console

    console = _Console(width=100, file=io.StringIO(), color_system=None)
    monkeypatch.setattr(capacity_output, "out", console)
    res = {"sizes": [16], "capacity": {"0.99": [4]}, "runs": [{"capacity": {}, "settings": {}}],
           "fits": {"0.99": None}, "files": {"png": "s.png", "json": "s.json"}}
    capacity_output.print_scaling(res, "scaling")
    assert "threshold 0.99: no fit: 1 size of capacity > 0 (4 at N = 16); a fit needs 2\n" in (
        console.file.getvalue())
    res.update(sizes=[16, 36, 64], capacity={"0.99": [0, 3, 0]}, fits={"0.99": None},
               runs=[{"capacity": {}, "settings": {}}] * 3)
    capacity_output.print_scaling(res, "scaling")
    assert ("threshold 0.99: no fit: 1 size of capacity > 0 of 3 (3 at N = 36); a fit needs 2"
            in console.file.getvalue())
