"""The chip inside a model file, edited by hand: values that passed the chip spec but made a
command fail after its work began (``adapt`` printed the noise warning, ran a round, then
refused the fault map it had pinned: "stuck at 8e29 S") are refused before any work by every
command, naming the file and the key -- by the chip spec's own bounds where no device has the
value (noise above 1 S, a read voltage above 100 V, a weight range above 1e30), by the model
file's check where the value contradicts the file (``weight_range`` is the ``w_max`` its target
weights were programmed with; under the ``weight`` fault model, the largest free target
weight). Noise a device could have (even wider than the window) still runs: the simulated
read-back holds only what a read-back may hold."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from tests.conftest import refused
from xbarmem import ChipSpec, load_chip, random_patterns, train
from xbarmem.deploy.backend import SimulatedChip
from xbarmem.errors import ConfigError, FileFormatError, XbarmemWarning
from xbarmem.hardware.chip import MAX_READ_VOLTAGE, MAX_W_MAX
from xbarmem.hardware.faults import highest_reading
from xbarmem.memory.io import load_memory, read_metadata, save_memory


@pytest.fixture(scope="module")
def model(small_model):
    return small_model


def _edited(model, tmp_path, section, key, value):
    """A copy of ``model`` whose ``chip.{section}.{key}`` is ``value``."""
    raw = model.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + size])
    meta = json.loads(header["__metadata__"]["xbarmem"])
    meta["chip"][section][key] = value
    header["__metadata__"]["xbarmem"] = json.dumps(meta)
    text = json.dumps(header).encode()
    path = tmp_path / "edited.safetensors"
    path.write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + size:])
    return path


EDITS = {  # name -> (section, key, value, words of the message)
    "read noise 1e30": ("device", "read_noise", 1e30, "device.read_noise = 1e+30 S is no"),
    "read noise 2 S": ("device", "read_noise", 2.0, "device.read_noise = 2 S is no"),
    "write noise 1e300": ("device", "write_noise", 1e300, "device.write_noise = 1e+300 S"),
    "read voltage 1e308": ("array", "read_voltage", 1e308, "array.read_voltage must be"),
    "weight range 1e300": ("array", "weight_range", 1e300, "array.weight_range must be"),
    "weight range not w_max": ("array", "weight_range", 1e-3,
                               "w_max 0.5 contradicts chip.array.weight_range 0.001"),
}
COMMANDS = {"evaluate": ["--probes", "1"], "recall": [], "export": [],
            "adapt": ["--rounds", "1", "--probes", "1"]}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("case", sorted(EDITS))
def test_a_chip_value_that_failed_a_command_later_is_refused_before_any_work(
        case, command, model, tmp_path, run_cli):
    section, key, value, words = EDITS[case]
    path = _edited(model, tmp_path, section, key, value)
    with pytest.raises(FileFormatError, match=words.replace("+", r"\+")):
        load_memory(path)
    cues = tmp_path / "cues.npy"
    np.save(cues, np.ones((2, 16)))
    extra = {"recall": [cues, "-o", tmp_path / "s.npy"], "export": ["-o", tmp_path / "out"],
             "adapt": ["--log", tmp_path / "rounds.log", "-o", tmp_path / "a.safetensors"]}
    message = refused(run_cli, tmp_path, command, path, *extra.get(command, []),
                      *COMMANDS[command])
    assert str(path) in message and words in message, message


@pytest.mark.parametrize("scale", [3.0, 0.5])
def test_a_weight_model_whose_w_max_is_not_its_largest_target_is_refused_on_load(
        scale, tmp_path, run_cli):
    """Under the weight fault model ``w_max`` is the largest free target weight: another was
    refused by ``export`` only ("target weights map to w_max 1.0 but the programmed layer
    uses 3.0"), after ``evaluate`` and ``recall`` had run on the file."""
    pset = random_patterns(3, 16, seed=4)
    memory = train(pset, chip="paper-sim", rule="hebb")
    assert memory.chip.array.fault_model == "weight"
    model = save_memory(memory, tmp_path / "w.safetensors", patterns=pset)
    assert load_memory(model).layers[0].w_max == memory.layers[0].w_max  # intact: loads
    raw = model.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + size])
    meta = json.loads(header["__metadata__"]["xbarmem"])
    wanted, meta["w_max"] = meta["w_max"], meta["w_max"] * scale
    header["__metadata__"]["xbarmem"] = json.dumps(meta)
    text = json.dumps(header).encode()
    path = tmp_path / "edited.safetensors"
    path.write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + size:])
    words = (f"w_max {wanted * scale:g} contradicts {wanted:g}, the largest |target weight| "
             "of its free pairs: under the weight fault model")
    with pytest.raises(FileFormatError) as info:
        load_memory(path)
    assert words in str(info.value)
    cues = tmp_path / "cues.npy"
    np.save(cues, np.ones((2, 16)))
    for args in (["evaluate", path, "--probes", "1"], ["recall", path, cues],
                 ["export", path, "-o", tmp_path / "out"]):
        message = refused(run_cli, tmp_path, *args)
        assert str(path) in message and words in message, message


@pytest.mark.parametrize("changes", [
    {"device": {"read_noise": 1.0, "g_max": 1.0}}, {"device": {"write_noise": 1.0}},
    {"array": {"read_voltage": MAX_READ_VOLTAGE}}, {"array": {"weight_range": MAX_W_MAX}},
    {"device": {"read_noise": 1e-3}}])
def test_the_bounds_keep_values_a_device_could_have(changes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XbarmemWarning)  # noise wider than the window
        chip = ChipSpec.from_dict(changes)
    for section, values in changes.items():
        for key, value in values.items():
            assert getattr(getattr(chip, section), key) == value


@pytest.mark.parametrize("changes, words", [
    ({"device": {"read_noise": 1.5}}, "device.read_noise = 1.5 S is no memristor's noise"),
    ({"device": {"write_noise": 2.0}}, "2 uS is 2e-06"),
    ({"array": {"read_voltage": 101.0}}, "array.read_voltage must be in (0.0, 100.0]"),
    ({"array": {"weight_range": 1e31}}, "array.weight_range must be"),
])
def test_the_chip_spec_refuses_values_no_device_has(changes, words, tmp_path):
    with pytest.raises(ConfigError) as info:
        ChipSpec.from_dict(changes)
    assert words in str(info.value)
    (section, values), = changes.items()
    (key, value), = values.items()
    chip = tmp_path / "chip.toml"
    chip.write_text(f"[{section}]\n{key} = {value}\n")
    with pytest.raises(ConfigError) as info:
        load_chip(chip)
    assert str(chip) in str(info.value) and words in str(info.value)


def test_adapt_runs_with_read_noise_wider_than_the_window(model, tmp_path, run_cli):
    """A read noise of 1 mS (7x the window) or --read-noise 2000 uS pinned devices at readings
    above g_max + 1 window: the fault map then refused them after the first round."""
    path = _edited(model, tmp_path, "device", "read_noise", 1e-3)
    for args in ([path], [model, "--read-noise", "2000"]):
        out = tmp_path / "adapted.safetensors"
        code, _, err = run_cli("adapt", *args, "--rounds", "2", "--probes", "1", "-o", out)
        assert code == 0 and "Traceback" not in err, err
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", XbarmemWarning)  # the noise of the edited chip
            adapted = load_memory(out)
            assert read_metadata(out)["info"]["adapt"]["rounds"] >= 1
        assert adapted.faults.check_window(adapted.chip.device)
        out.unlink()


def test_the_simulated_read_back_holds_what_a_read_back_may_hold(model):
    memory = load_memory(model)
    layer = memory.layers[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XbarmemWarning)
        noisy = layer.chip.replace_device(read_noise=1e-2)
    read = SimulatedChip.like(layer, chip=noisy, seed=3).read_back()
    assert read.min() == 0.0 and read.max() == highest_reading(layer.chip.device)
    quiet = SimulatedChip.like(layer, seed=3)  # the model's own (small) noise: as before
    true = quiet.conductances()
    read = quiet.read_back()
    assert 0 < np.abs(read - true).max() < 10 * layer.chip.device.read_noise


def test_adapts_noise_options_have_the_chip_specs_bound(model, tmp_path, run_cli):
    for option in ("--read-noise", "--write-noise"):
        message = refused(run_cli, tmp_path, "adapt", model, option, "1e30", "--rounds", "1")
        assert option in message and "<= 1e+06" in message, message
