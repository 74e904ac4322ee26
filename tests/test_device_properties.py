"""The device researcher's round trip, checked by properties (hypothesis) over random chips:
windows from 0 S or not and from picosiemens to half a siemens, levels (none, 2, more), tile
sizes that do and do not divide N (1-row and 1-column arrays too), one layer or two, stuck
ON/OFF maps with whole rows stuck and stuck values a measured map holds (0 S, above g_max).

* an export holds every free device in the window (on the level grid with levels), every
  stuck one at its stuck value, and its manifest describes its files exactly: the shape, the
  CSV's rows, and tiles that reassemble into the weights the memory uses
  (``w = (G+ - G-) / siemens_per_weight``; the trained weights within half a level step);
* export -> :func:`load_export` -> export gives the same files;
* a read-back equal to the export's targets leaves adaptation nothing to change; one with
  devices off by more than the tolerance is corrected toward the new targets (every free
  device within the tolerance once they are programmed), stuck devices never written;
* ``chip import`` of the export's devices.csv read back gives back the export's fault map,
  and a chip of larger arrays than the export's is refused, not given a map of other devices.
"""

from __future__ import annotations

import csv
import json
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from xbarmem import (
    ArraySpec,
    ChipSpec,
    DeviceSpec,
    FaultMap,
    Protocol,
    random_patterns,
    save_memory,
    train,
)
from xbarmem.deploy.backend import conductance_targets, target_parameters
from xbarmem.deploy.chip_loop import adapt_read_back
from xbarmem.deploy.export import export_memory
from xbarmem.deploy.readback import load_read_back, read_back_backends
from xbarmem.deploy.reload import load_export
from xbarmem.errors import FileFormatError, XbarmemWarning
from xbarmem.hardware.crossbar import arrays_needed
from xbarmem.hardware.measured import measured_chip, read_measured_csv

SETTINGS = settings(max_examples=20, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@st.composite
def setups(draw, fault_models=("device",), rules=("adaptive",), layers=(1, 2)):
    """``(chip, faults, patterns, train keywords)`` of a random chip, map and memory."""
    g_max = draw(st.sampled_from([2e-10, 1e-8, 1e-6, 150e-6, 1e-3, 0.5]))
    g_min = draw(st.sampled_from([0.0, 0.02, 0.3])) * g_max
    fault_model = draw(st.sampled_from(fault_models))
    device = DeviceSpec(g_min=g_min, g_max=g_max, levels=draw(st.sampled_from([0, 2, 3, 7])),
                        write_noise=draw(st.sampled_from([0.0, 0.05])) * (g_max - g_min))
    chip = ChipSpec(device=device, name="prop", array=ArraySpec(
        rows=draw(st.integers(1, 9)), cols=draw(st.integers(1, 9)), fault_model=fault_model))
    n, rule = draw(st.integers(2, 9)), draw(st.sampled_from(rules))
    bias = rule == "adaptive"  # (the classic rules train one layer, without a bias row)
    hidden = draw(st.integers(2, 6)) if bias and draw(st.sampled_from(layers)) == 2 else None
    widths = [n] + ([hidden] if hidden else []) + [n]
    n_arrays = sum(arrays_needed(chip, b, a + bias)
                   for a, b in zip(widths[:-1], widths[1:], strict=True))
    rates = chip.replace_device(p_stuck_on=draw(st.sampled_from([0.0, 0.05, 0.2])),
                                p_stuck_off=draw(st.sampled_from([0.0, 0.05, 0.2])))
    g = FaultMap.generate(rates, n_arrays, seed=draw(st.integers(0, 9))).g_stuck
    if fault_model == "device":
        row = draw(st.integers(0, chip.array.rows - 1))
        if draw(st.booleans()):  # a whole row of an array stuck, both planes
            g[draw(st.integers(0, n_arrays - 1)), :, row, :] = draw(st.sampled_from([g_min,
                                                                                    g_max]))
        if draw(st.booleans()):  # stuck values of a measured map: 0 S, above g_max
            g[g == g_min] = 0.0
            g[g == g_max] = g_max + 0.02 * (g_max - g_min)
    faults = FaultMap(g, {"source": "test"})
    options = {"max_steps": 20, "finetune_steps": 0} if bias else {}
    if hidden:
        options.update(arch="multilayer", hidden=hidden)
    return chip, faults, random_patterns(3, n, seed=1), {"rule": rule, **options}


def _trained(setup):
    chip, faults, patterns, options = setup
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XbarmemWarning)
        return train(patterns, chip=chip, faults=faults, **options)


def exported(memory, patterns, folder: Path) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XbarmemWarning)
        return export_memory(memory, folder, patterns=patterns)


def reassembled(folder: Path, name: str, layer: dict) -> np.ndarray:
    """A layer's logical ``(2, n_out, n_rows)`` conductances from an export's ``.npy``, as a
    programming script reads them from the manifest's tiles (every cell exactly once)."""
    g = np.load(folder / name)
    n_rows = layer["n_in"] + int(layer["has_bias"])
    out = np.full((2, layer["n_out"], n_rows), np.nan)
    for t in layer["tiles"]:
        (r0, r1), (c0, c1) = t["logical_rows"], t["logical_cols"]
        (p0, p1), (q0, q1) = t["physical_rows"], t["physical_cols"]
        assert (p1 - p0, q1 - q0) == (r1 - r0, c1 - c0)
        assert np.isnan(out[:, c0:c1, r0:r1]).all()  # no cell of two tiles
        out[:, c0:c1, r0:r1] = g[t["array"], :, p0:p1, q0:q1].transpose(0, 2, 1)
    assert not np.isnan(out).any()  # every cell of one tile
    return out


def _augmented(w, b) -> np.ndarray:
    w = np.asarray(w, dtype=np.float64)
    return w if b is None else np.concatenate([w, np.asarray(b, np.float64)[:, None]], 1)


def _check_devices_csv(folder: Path, manifest: dict) -> None:
    """``devices.csv`` holds the ``.npy`` files' cells, one row each, in microsiemens."""
    target, used = np.load(folder / "targets_S.npy"), np.load(folder / "used.npy")
    with open(folder / "devices.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == target.size
    step = 10.0 ** -int(rows[0]["target_uS"].split(".")[1].__len__())
    planes = manifest["arrays"]["planes"]
    for line in rows[:: max(1, len(rows) // 200)]:
        at = (int(line["array"]), planes.index(line["polarity"]), int(line["row"]),
              int(line["col"]))
        assert int(line["used"]) == used[at]
        assert abs(float(line["target_uS"]) - target[at] * 1e6) <= step


@SETTINGS
@given(setups(fault_models=("device", "weight"), rules=("adaptive", "hebb")))
def test_an_export_holds_its_devices_and_its_manifest_describes_the_files(setup):
    chip, _, patterns, _ = setup
    memory = _trained(setup)
    dev = chip.device
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "export"
        manifest = exported(memory, patterns, folder)
        target, programmed = np.load(folder / "targets_S.npy"), np.load(folder / "programmed_S.npy")
        stuck, used = np.load(folder / "stuck_S.npy"), np.load(folder / "used.npy")
        assert list(target.shape) == manifest["arrays"]["npy_shape"] == list(used.shape)
        assert manifest["units"]["npy_conductance"] == "S"
        for section in ("device", "array"):  # every value of the chip's has its unit named
            assert all(re.search(rf"\b{key}\b", manifest["units"]["chip"])
                       for key, value in manifest["chip"][section].items()
                       if not isinstance(value, str))
        held, free = ~np.isnan(stuck), used & np.isnan(stuck)
        for g in (target, programmed):
            assert ((g[free] >= dev.g_min) & (g[free] <= dev.g_max)).all()
            assert np.array_equal(g[held], stuck[held])
        if dev.levels:
            grid = dev.g_min + np.arange(dev.levels) * dev.g_range / (dev.levels - 1)
            off = np.abs(target[free][:, None] - grid[None]).min(axis=1)
            assert (off <= 1e-9 * dev.g_range).all()
        _check_devices_csv(folder, manifest)
        for k, (layer, entry) in enumerate(zip(memory.layers, manifest["layers"], strict=True)):
            assert entry["siemens_per_weight"] == pytest.approx(dev.g_range / entry["w_max"])
            g = reassembled(folder, "programmed_S.npy", entry)
            used_w = (g[0] - g[1]) / entry["siemens_per_weight"]
            w, b = layer.effective()
            np.testing.assert_allclose(used_w, _augmented(w, b), rtol=1e-5,
                                       atol=1e-5 * entry["w_max"])
            aimed = reassembled(folder, "targets_S.npy", entry)
            lo, hi = (np.asarray(x, np.float64) for x in layer.bounds())
            wanted = np.clip(_augmented(*target_parameters(memory)[k]), lo, hi)
            step = entry["w_max"] / (dev.levels - 1) if dev.levels else 0.0
            assert np.abs((aimed[0] - aimed[1]) / entry["siemens_per_weight"] - wanted).max() \
                <= step / 2 + 1e-4 * entry["w_max"]
            for bias in entry["bias_rows"]:
                tile = next(t for t in entry["tiles"] if t["array"] == bias["array"]
                            and t["logical_cols"] == bias["logical_cols"])
                assert bias["row"] + tile["logical_rows"][0] == entry["n_in"]


@SETTINGS
@given(setups(fault_models=("device", "weight"), rules=("adaptive", "hebb")))
def test_export_load_export_gives_the_same_files(setup):
    chip, _, patterns, _ = setup
    memory = _trained(setup)
    with tempfile.TemporaryDirectory() as tmp:
        first, second = Path(tmp) / "first", Path(tmp) / "second"
        exported(memory, patterns, first)
        exported(load_export(first), patterns, second)
        assert sorted(p.name for p in first.iterdir()) == sorted(p.name for p in second.iterdir())
        for path in first.iterdir():
            if path.name != "manifest.json":
                assert path.read_bytes() == (second / path.name).read_bytes(), path.name
        one, two = (json.loads((f / "manifest.json").read_text()) for f in (first, second))
        # the bias rows the weight fault model frees are counted by the first export only
        one["faults"].pop("freed_by_fault_model"), two["faults"].pop("freed_by_fault_model")
        assert one == two


def _read_back(memory, patterns, read: np.ndarray | Path, tolerance: float, folder: Path):
    """One round of ``adapt --read-back`` from ``read`` (conductances, or a file)."""
    if not isinstance(read, Path):
        np.save(folder / "read.npy", read)
        read = folder / "read.npy"
    data = load_read_back(read, memory)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XbarmemWarning)
        return adapt_read_back(memory, read_back_backends(memory, data), patterns,
                               tolerance=tolerance, protocol=Protocol(probes=2))


@SETTINGS
@given(setup=setups(), as_csv=st.booleans())
def test_a_read_back_equal_to_the_export_leaves_nothing_to_change(setup, as_csv):
    """targets_S.npy as the read-back, or devices.csv with read_uS = target_uS."""
    chip, _, patterns, _ = setup
    memory = _trained(setup)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        exported(memory, patterns, folder / "export")
        read = np.load(folder / "export" / "targets_S.npy")
        if as_csv:
            read = folder / "export" / "measured.csv"
            _measured_csv(folder / "export", "target_uS")
        result = _read_back(memory, patterns, read, 0.02 * chip.device.g_range, folder)
    assert result.read["newly_fixed"] == result.read["fixed_moved"] == 0
    assert result.program["written"] == 0
    assert all(np.isnan(t).all() for t in result.targets)


@SETTINGS
@given(setups(), st.integers(0, 99))
def test_a_read_back_off_target_is_corrected_and_stuck_devices_stay(setup, seed):
    chip, _, patterns, _ = setup
    memory = _trained(setup)
    dev, tolerance = chip.device, 0.02 * chip.device.g_range
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        exported(memory, patterns, folder / "export")
        targets = np.load(folder / "export" / "targets_S.npy")
        used = np.load(folder / "export" / "used.npy")
        off = used & (np.random.default_rng(seed).random(targets.shape) < 0.2)
        read = targets.copy()  # 3 tolerances toward the middle of the window
        read[off] += np.where(read[off] > dev.g_min + dev.g_range / 2, -3, 3) * tolerance
        result = _read_back(memory, patterns, read, tolerance, folder)
    known = ~np.isnan(memory.faults.g_stuck)
    after = read.copy()
    for layer, sent in zip(result.memory.layers, result.targets, strict=True):
        assert np.isnan(sent[layer.stuck]).all()  # no stuck or pinned device written
        block = layer.scatter(sent)
        at = slice(layer.first_array, layer.first_array + layer.n_arrays)
        after[at] = np.where(np.isnan(block), after[at], block)
    held = result.faults.g_stuck
    assert np.array_equal(held[known & ~off], memory.faults.g_stuck[known & ~off])
    pinned = result.faults.pinned_mask & ~known
    assert np.array_equal(held[pinned], read[pinned]) and not (pinned & ~off).any()
    for layer, (w, b) in zip(result.memory.layers, target_parameters(result.memory),
                             strict=True):
        goal = layer.scatter(conductance_targets(layer, w, b)[0])
        free = layer.scatter(np.where(layer.stuck, np.nan, 0.0)) == 0.0
        at = slice(layer.first_array, layer.first_array + layer.n_arrays)
        assert (np.abs(after[at] - goal)[free] <= tolerance * (1 + 1e-9)).all()


def _measured_csv(folder: Path, column: str = "programmed_uS") -> Path:
    """The export's devices.csv with a ``read_uS`` column: every device read as programmed
    (or as ``column`` says)."""
    with open(folder / "devices.csv", newline="") as src:
        lines = list(csv.DictReader(src))
    path = folder / "measured.csv"
    with open(path, "w", newline="") as dst:
        out = csv.DictWriter(dst, [*lines[0], "read_uS"], lineterminator="\n")
        out.writeheader()
        out.writerows({**line, "read_uS": line[column]} for line in lines)
    return path


@SETTINGS
@given(setup=setups(rules=("adaptive", "hebb")), more_rows=st.integers(1, 3),
       more_cols=st.integers(0, 3))
def test_chip_import_of_an_export_gives_back_its_fault_map(setup, more_rows, more_cols,
                                                           run_cli):
    chip, faults, patterns, options = setup
    chip = chip.replace_device(write_noise=0.0)  # read as written: none missed its target
    memory = _trained((chip, faults, patterns, options))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        exported(memory, patterns, folder)
        target, stuck = np.load(folder / "targets_S.npy"), np.load(folder / "stuck_S.npy")
        free = np.load(folder / "used.npy") & np.isnan(stuck)
        # the measured chip's window is read at the lowest and highest target: the chip's
        # only when some device is written to each (else a stuck ON device at g_max may
        # lie more than a window width above the measured g_max, and be refused)
        assume(free.any() and target[free].max() == chip.device.g_max)
        measured = _measured_csv(folder)
        (folder / "chip.toml").write_text(chip.to_toml())
        code, _, err = run_cli("chip", "import", measured, "--chip", folder / "chip.toml",
                               "--out", folder / "map.npz")
        assume("cannot estimate the window" not in err)  # (too few devices written)
        assert code == 0, err
        made, want = FaultMap.load(folder / "map.npz"), FaultMap.load(folder / "fault_map.npz")
        assert np.array_equal(made.stuck, want.stuck)
        assert np.allclose(made.g_stuck[made.stuck], want.g_stuck[want.stuck], rtol=0,
                           atol=1e-6 * chip.device.g_range)
        if np.load(folder / "used.npy").all():
            return  # (no unused cell listed: its arrays are the size of the memory's)
        larger = chip.replace_array(rows=chip.array.rows + more_rows,
                                    cols=chip.array.cols + more_cols)
        (folder / "larger.toml").write_text(larger.to_toml())
        code, _, err = run_cli("chip", "import", measured, "--chip", folder / "larger.toml",
                               "--out", folder / "other.npz")
        assert code == 2 and not (folder / "other.npz").exists()
        assert f"arrays of {chip.array.rows}x{chip.array.cols}" in err and "--chip" in err


def _adapted_round(setup, folder: Path):
    """An adapted model and the export of what it re-programs (``adapt --read-back``'s
    ``--export``), from a read-back of the targets with a fifth of the devices off."""
    chip, _, patterns, _ = setup
    memory, tolerance = _trained(setup), 0.02 * chip.device.g_range
    exported(memory, patterns, folder / "export")
    read = np.load(folder / "export" / "targets_S.npy")
    off = np.load(folder / "export" / "used.npy") & (
        np.random.default_rng(0).random(read.shape) < 0.2)
    read[off] = np.where(read[off] > chip.device.g_min + chip.device.g_range / 2,
                         read[off] - 3 * tolerance, read[off] + 3 * tolerance)
    result = _read_back(memory, patterns, read, tolerance, folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XbarmemWarning)
        export_memory(result.memory, folder / "round", patterns=patterns,
                      program=result.targets)
    return result


@SETTINGS
@given(setups())
def test_chip_import_of_a_round_to_re_program_keeps_its_stuck_devices(setup):
    """devices.csv of an export of what to re-program, read back once programmed: its stuck
    devices (target left empty, stuck = 1) are stuck in the imported map, at their reading."""
    chip = setup[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result = _adapted_round(setup, folder)
        with open(folder / "round" / "devices.csv", newline="") as src:
            lines = list(csv.DictReader(src))
        with open(folder / "measured.csv", "w", newline="") as dst:
            out = csv.DictWriter(dst, [*lines[0], "read_uS"], lineterminator="\n")
            out.writeheader()
            out.writerows({**line, "read_uS": line["target_uS"] or line["programmed_uS"]}
                          for line in lines)
        try:
            measurement = read_measured_csv(folder / "measured.csv", chip.array.rows,
                                            chip.array.cols)
        except FileFormatError as exc:  # (no device written, none stuck: nothing to read)
            assume("no measured device" not in str(exc))
            raise
    known = result.faults.stuck & ~result.faults.pinned_mask
    n = len(measurement.known_stuck)  # (to the last array with a measured device)
    assert not known[n:].any()
    known = known[:n]
    assert np.array_equal(measurement.known_stuck, known)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", XbarmemWarning)
            _, made, _ = measured_chip(measurement, chip)
    except FileFormatError as exc:  # the window, read where the round writes devices only
        assume("window" not in str(exc))
        raise
    assert np.array_equal(made.stuck & known, known)
    assert np.allclose(made.g_stuck[known], result.faults.g_stuck[:n][known], rtol=0,
                       atol=1e-6 * chip.device.g_range)


@SETTINGS
@given(setups())
def test_a_round_to_re_program_reloads_and_exports_alike(setup):
    """The export of an adapted model's re-programming, loaded (:func:`load_export`) and
    exported with the same targets, gives the same files (its pinned devices too)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result = _adapted_round(setup, folder)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", XbarmemWarning)
            export_memory(load_export(folder / "round"), folder / "again",
                          patterns=setup[2], program=result.targets)
        for path in (folder / "round").iterdir():
            assert path.read_bytes() == (folder / "again" / path.name).read_bytes(), path.name


def test_a_fault_map_is_not_taken_for_measured_data(run_cli, tmp_path):
    """An export's fault_map.npz given to chip import or adapt --read-back is named as what
    it is (its arrays were listed for --key, and g_stuck refused for its NaN)."""
    chip = ChipSpec(array=ArraySpec(rows=8, cols=8), name="prop")
    patterns = random_patterns(3, 6, seed=0)
    memory = train(patterns, chip=chip, faults=FaultMap.generate(chip, 1), rule="hebb")
    exported(memory, patterns, tmp_path / "export")
    save_memory(memory, tmp_path / "m.safetensors", patterns=patterns)
    fmap = tmp_path / "export" / "fault_map.npz"
    for args in (["chip", "import", fmap, "--out", tmp_path / "a.npz"],
                 ["chip", "import", fmap, "--as", "conductance", "--key", "g_stuck", "--out",
                  tmp_path / "a.npz"],
                 ["adapt", tmp_path / "m.safetensors", "--read-back", fmap, "-o",
                  tmp_path / "b.safetensors"]):
        code, _, err = run_cli(*args)
        assert code == 2 and "is a fault map" in err, err
        assert not (tmp_path / "a.npz").exists() and not (tmp_path / "b.safetensors").exists()
