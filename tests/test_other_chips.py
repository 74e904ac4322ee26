"""Chips and maps other than the shipped ones, as a device researcher brings them: a fault map
file holding stuck codes where siemens belong, a map made for a chip of another window, a chip
description saved as JSON."""

import json
import warnings

import numpy as np
import pytest

import xbarmem as xm
from xbarmem.errors import FileFormatError, XbarmemWarning
from xbarmem.hardware.chip import load_chip, load_preset, preset_names
from xbarmem.hardware.faults import FaultMap

SHAPE = (2, 2, 16, 16)


def small(name: str = "rram", **device) -> xm.ChipSpec:
    """A preset on 16x16 arrays, its device values replaced by ``device``."""
    return load_preset(name).replace_device(**device).replace_array(rows=16, cols=16)


def codes(kind: str) -> np.ndarray:
    """A would-be ``g_stuck`` written as codes or a mask: no NaN, every value -1, 0 or +1."""
    rng = np.random.default_rng(0)
    draw = rng.random(SHAPE)
    if kind == "zeros":  # 0 meant free
        return np.zeros(SHAPE)
    if kind == "mask":  # 1 stuck, 0 free
        return (draw < 0.1).astype(np.float64)
    if kind == "int-mask":
        return (draw < 0.1).astype(np.int64)
    return np.where(draw < 0.05, -1.0, np.where(draw > 0.95, 1.0, 0.0))  # stuck codes


# ------------------------------------------------------------------ codes saved as g_stuck
@pytest.mark.parametrize("kind", ["zeros", "mask", "int-mask", "codes"])
def test_codes_saved_as_a_fault_map_are_refused(tmp_path, kind):
    path = tmp_path / "map.npz"
    np.savez(path, g_stuck=codes(kind))  # a hand-made file: no meta
    with pytest.raises(FileFormatError) as caught:
        FaultMap.load(path)
    message = str(caught.value)
    assert "map.npz" in message and "-1, 0 and +1" in message and "chip import" in message
    assert "\n" not in message


@pytest.mark.parametrize("kind", ["zeros", "mask", "codes"])
def test_codes_given_to_train_are_refused_in_one_line(refused_here, tmp_path, kind):
    np.savez(tmp_path / "map.npz", g_stuck=codes(kind))
    chip = tmp_path / "chip.toml"
    chip.write_text(small().to_toml())
    refused_here("train", "--data", "random", "--patterns", "2", "--neurons", "8", "--chip",
                 chip, "--fault-map", "map.npz", "-o", "m.safetensors",
                 names=("map.npz", "chip import"))


@pytest.mark.parametrize("kind", ["mask", "codes"])
def test_codes_as_a_fault_map_in_python_name_them(kind):
    with pytest.raises(FileFormatError, match="stuck codes or a 0/1 mask"):
        FaultMap(codes(kind)).check_chip(small())


def test_maps_that_hold_siemens_still_load(tmp_path):
    """What worked before still does: a map without meta holding siemens and NaN, and a map
    of every device stuck OFF at 0 S that xbarmem wrote (its meta says where it comes from)."""
    g = np.full(SHAPE, np.nan)
    g[0, 0, :3, :3] = 2e-6
    np.savez(tmp_path / "plain.npz", g_stuck=g)
    assert int(FaultMap.load(tmp_path / "plain.npz").stuck.sum()) == 9
    chip = small(g_min=0.0).with_faults(1.0, on_fraction=0.0)
    drawn = FaultMap.generate(chip, 2)
    assert not np.isnan(drawn.g_stuck).any() and (drawn.g_stuck == 0).all()
    assert FaultMap.load(drawn.save(tmp_path / "off.npz")) == drawn


def test_readings_saved_as_a_fault_map_are_refused_pointing_to_chip_import(refused_here,
                                                                          tmp_path):
    """A measured conductance map saved by hand as ``g_stuck`` (no NaN, no meta): every device
    was read as stuck at its reading, and ``train`` stored patterns on a chip of no free
    device without a word. A map without provenance of no free device is refused, whatever
    its values, saying what ``g_stuck`` holds and how readings become a map."""
    rng = np.random.default_rng(0)
    readings = rng.normal(76e-6, 3e-6, size=SHAPE)
    np.savez(tmp_path / "map.npz", g_stuck=readings)
    with pytest.raises(FileFormatError) as caught:
        FaultMap.load(tmp_path / "map.npz")
    message = str(caught.value)
    assert "no device of the map is free (NaN)" in message and "\n" not in message
    assert "chip import FILE --as conductance" in message and "-1, 0 and +1" not in message
    chip = tmp_path / "chip.toml"
    chip.write_text(small().to_toml())
    refused_here("train", "--data", "random", "--patterns", "2", "--neurons", "8", "--chip",
                 chip, "--fault-map", "map.npz", "-o", "m.safetensors",
                 names=("map.npz", "--as conductance"))
    made = FaultMap.from_conductance_map(readings, small().device)  # as the message says
    assert FaultMap.load(made.save(tmp_path / "made.npz")) == made


# ------------------------------------------------------------------ a map of another window
OTHER = {"g_min": 1e-7, "g_max": 1e-5, "write_noise": 0.0, "read_noise": 0.0}


@pytest.mark.parametrize("made_for, on, used_on", [
    (small(**OTHER), 0.5, small()),            # its stuck ON devices (10 uS), mid-window here
    (small(), 0.0, small(**OTHER)),            # its stuck OFF devices (2 uS), mid-window here
    (small(g_min=50e-6), 0.5, small()),        # its stuck OFF devices at 50 uS
    (small(g_max=60e-6), 1.0, small()),        # its stuck ON devices at 60 uS
])
def test_a_map_of_another_window_is_warned_about(made_for, on, used_on):
    fmap = FaultMap.generate(made_for.with_faults(0.2, on), 2, seed=1)
    patterns = xm.random_patterns(2, 8, seed=0)
    with pytest.warns(XbarmemWarning, match="made for the .* chip .*neither stuck ON nor OFF"):
        xm.train(patterns, chip=used_on, faults=fmap, rule="hebb")


@pytest.mark.parametrize("made_for, rate, used_on", [
    (small(), 0.2, small()),                              # its own chip
    (small(**OTHER), 0.2, None),                          # the chip it records
    (small(g_min=2.5e-6, g_max=148e-6), 0.2, small()),    # a measured window, close to it
    (small(**OTHER), 0.0, small()),                       # nothing stuck
])
def test_a_map_of_its_own_window_is_not_warned_about(made_for, rate, used_on):
    fmap = FaultMap.generate(made_for.with_faults(rate), 2, seed=1)
    patterns = xm.random_patterns(2, 8, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", XbarmemWarning)
        xm.train(patterns, chip=used_on, faults=fmap, rule="hebb")


@pytest.mark.parametrize("command", [
    ("chip", "inspect", "map.npz"),
    ("train", "--data", "random", "--patterns", "2", "--neurons", "8", "--rule", "hebb",
     "--fault-map", "map.npz", "-o", "m.safetensors"),
])
def test_commands_warn_of_a_map_of_another_window_once(run_cli, tmp_path, monkeypatch,
                                                       command):
    monkeypatch.chdir(tmp_path)
    FaultMap.generate(small(**OTHER).with_faults(0.2), 2, seed=1).save("map.npz")
    (tmp_path / "rram16.toml").write_text(small().to_toml())
    code, _, err = run_cli(*command, "--chip", "rram16.toml")
    assert code == 0, err
    lines = [line for line in err.splitlines() if "made for the" in line]
    assert len(lines) == 1 and lines[0].startswith("warning: "), err
    assert "rram16 chip" in lines[0]


# ------------------------------------------------------------------ JSON chip files
@pytest.mark.parametrize("name", preset_names())
def test_a_chip_shown_as_json_reads_back(run_cli, tmp_path, name):
    code, out, err = run_cli("chip", "show", name, "--json")
    assert code == 0, err
    path = tmp_path / "chip.json"
    path.write_text(out)
    assert load_chip(path) == load_preset(name)
    edited = json.loads(out)
    edited["name"], edited["array"]["rows"] = "mine", 48
    path.write_text(json.dumps(edited))
    assert load_chip(path).array.rows == 48 and load_chip(path).name == "mine"


@pytest.mark.parametrize("text, words", [
    ("[1, 2]", "one object"),
    ("{bad", "not valid JSON"),
    ('{"device": {"g_max": 150}}', "device.g_max"),
    ('{"device": {"gmax": 1e-4}}', "did you mean device.g_max"),
])
def test_a_bad_json_chip_is_refused_naming_the_file(refused_here, tmp_path, text, words):
    (tmp_path / "chip.json").write_text(text)
    refused_here("chip", "show", "chip.json", names=("chip.json", words))
