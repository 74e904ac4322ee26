"""Export of every device's conductance, round trip, manifest contents, and import of a measured
chip from a target-vs-read CSV (malformed lines are named)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from xbarmem import load_preset, save_memory, train
from xbarmem.deploy.export import CSV_COLUMNS, export_memory
from xbarmem.deploy.reload import load_export
from xbarmem.errors import ConfigError, FileFormatError, PatternError
from xbarmem.hardware.faults import FaultMap
from xbarmem.hardware.measured import measured_chip, read_measured_csv, write_error_spread
from xbarmem.hardware.spread import trimmed_std
from xbarmem.memory.multilayer import MultilayerMemory
from xbarmem.memory.single import SingleLayerMemory

FAST = {"max_steps": 100, "finetune_steps": 0, "window": 20}


@pytest.fixture(scope="module")
def tiled(pats, trained):
    """rram devices on 16x16 arrays: 26 rows x 25 outputs -> 2 x 2 tiles, some stuck devices,
    write and read noise."""
    chip = load_preset("rram").replace_array(rows=16, cols=16).with_faults(0.1)
    return trained(pats.patterns, chip, fault_seed=3, program_seed=4, **FAST)


def _cues(pats, copies=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.tensor(pats.patterns).repeat(copies, 1)
    return torch.where(torch.rand(x.shape, generator=gen) < 0.12, -x, x)


def test_cli_export_round_trip_recalls_identically(tiled, pats, tmp_path, run_cli):
    model = save_memory(tiled, tmp_path / "m.safetensors", patterns=pats)
    folder = tmp_path / "export"
    code, out, err = run_cli("export", model, "--out", folder, "--json")
    assert code == 0, err
    manifest = json.loads(out)
    assert manifest == json.loads((folder / "manifest.json").read_text())
    rebuilt = load_export(folder)
    assert isinstance(rebuilt, SingleLayerMemory)
    cues = _cues(pats)
    for mode in ("sync", "async"):
        a, b = tiled.recall(cues, mode=mode, seed=11), rebuilt.recall(cues, mode=mode, seed=11)
        assert torch.equal(a.states, b.states) and torch.equal(a.reads, b.reads)
    np.testing.assert_array_equal(rebuilt.crossbar.g_pos, tiled.crossbar.g_pos)
    torch.testing.assert_close(rebuilt.target_weights, tiled.target_weights, rtol=0, atol=0)
    assert rebuilt.chip == tiled.chip
    np.testing.assert_array_equal(np.load(folder / "patterns.npy"), pats.patterns)
    code, out, _ = run_cli("export", model, "--out", tmp_path / "again")
    assert code == 0 and "devices used" in out and "uA" in out


def test_cli_exports_a_model_saved_without_patterns(tiled, tmp_path, run_cli):
    model = save_memory(tiled, tmp_path / "bare.safetensors")
    code, _, err = run_cli("export", model, "--out", tmp_path / "export")
    assert code == 0, err
    assert not (tmp_path / "export" / "patterns.npy").exists()
    assert isinstance(load_export(tmp_path / "export"), SingleLayerMemory)


def test_device_files_hold_targets_programmed_and_stuck(tiled, tmp_path):
    manifest = export_memory(tiled, tmp_path)
    cb, dev = tiled.crossbar, tiled.chip.device
    n_arrays = cb.n_arrays
    assert manifest["arrays"]["count"] == n_arrays == 4
    target = np.load(tmp_path / "targets_S.npy")
    prog = np.load(tmp_path / "programmed_S.npy")
    stuck = np.load(tmp_path / "stuck_S.npy")
    used = np.load(tmp_path / "used.npy")
    assert target.shape == prog.shape == stuck.shape == used.shape == (n_arrays, 2, 16, 16)
    assert used.sum() == 2 * 25 * 26 == manifest["devices"]["used"]
    # logical view of the files equals the crossbar's programmed state
    np.testing.assert_array_equal(cb._gather(prog), np.stack([cb.g_pos, cb.g_neg]))
    lg_target = cb._gather(target)
    free = ~cb.stuck
    np.testing.assert_array_equal(lg_target[cb.stuck], cb.g_stuck[cb.stuck])
    err = (cb._gather(prog) - lg_target)[free]
    assert 0 < np.abs(err).std() < 2 * dev.write_noise  # target = before write error
    # the targets realise the trained weights wherever the pair can (no write error)
    w_t = (lg_target[0] - lg_target[1]) * cb.w_max / dev.g_range
    lo, hi = cb.bounds()
    want = torch.clamp(torch.cat([tiled.target_weights, tiled.target_bias[:, None]], 1), lo, hi)
    np.testing.assert_allclose(w_t, want.numpy(), atol=1e-6)
    unused_stuck = ~used & ~np.isnan(stuck)
    assert unused_stuck.any()
    np.testing.assert_array_equal(target[unused_stuck], stuck[unused_stuck])
    assert (target[~used & np.isnan(stuck)] == dev.g_min).all()  # unused cells: g_min
    with (tmp_path / "devices.csv").open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == CSV_COLUMNS and len(rows) == 1 + target.size
    by_key = {(int(r[1]), r[4], int(r[2]), int(r[3])): r for r in rows[1:]}
    for a, p, i, j in [(0, 0, 0, 0), (3, 1, 9, 8), tuple(np.argwhere(~np.isnan(stuck))[0])]:
        r = by_key[(a, ("G+", "G-")[p], i, j)]
        assert float(r[6]) == pytest.approx(target[a, p, i, j] * 1e6, abs=1e-6)
        assert float(r[7]) == pytest.approx(prog[a, p, i, j] * 1e6, abs=1e-6)
        assert r[8] == str(int(not np.isnan(stuck[a, p, i, j])))
        assert r[5] == str(int(used[a, p, i, j]))


def test_manifest_places_tiles_bias_rows_and_current_ranges(tiled, pats, tmp_path):
    manifest = export_memory(tiled, tmp_path, patterns=pats, mode="async")
    (layer,) = manifest["layers"]
    assert (manifest["arch"], manifest["layout"], manifest["layer_sizes"]) == \
        ("single", "25", [25, 25])
    assert [t["array"] for t in layer["tiles"]] == [0, 1, 2, 3]
    assert layer["tiles"][3] == {"array": 3, "logical_rows": [16, 26], "logical_cols": [16, 25],
                                 "physical_rows": [0, 10], "physical_cols": [0, 9]}
    # bias row = logical row 25 = row 9 of the second row tile (arrays 2 and 3)
    assert layer["bias_rows"] == [{"array": 2, "row": 9, "logical_cols": [0, 16]},
                                  {"array": 3, "row": 9, "logical_cols": [16, 25]}]
    v = tiled.chip.array.read_voltage
    assert manifest["inputs"]["levels_V"] == {"+1": v, "-1": -v}
    assert layer["siemens_per_weight"] == pytest.approx(tiled.chip.device.g_range
                                                        / tiled.crossbar.w_max)
    assert manifest["recall"]["mode"] == "async" and manifest["recall"]["activation"] == "sign"
    # current ranges: tile partial sums of the noise-free column currents
    cur = tiled.crossbar.currents(torch.tensor(pats.patterns)).double()
    tiles = layer["currents"]
    total_lo = sum(t["at_inputs_A"][0] for t in tiles[:2])  # lower bound of row-tile sums
    assert cur.min().item() >= total_lo - 1e-12
    for t in tiles:
        lo, hi = t["differential_A"]
        assert lo <= t["at_inputs_A"][0] <= t["at_inputs_A"][1] <= hi
        assert max(abs(lo), abs(hi)) <= sum(t["plane_max_A"]) + 1e-12
    assert FaultMap.load(tmp_path / "fault_map.npz").stuck.sum() == \
        manifest["faults"]["summary"]["stuck"]


def test_single_array_currents_match_the_crossbar(pats, tmp_path):
    memory = train(pats.patterns, chip="rram", rule="adaptive", **FAST)
    manifest = export_memory(memory, tmp_path, patterns=pats)
    (tile,) = manifest["layers"][0]["currents"]
    cur = memory.crossbar.currents(torch.tensor(pats.patterns))
    assert tile["at_inputs_A"] == pytest.approx([cur.min().item(), cur.max().item()], rel=1e-5)


def test_multilayer_export_round_trip(tmp_path):
    chip = load_preset("rram").replace_array(rows=16, cols=16).with_faults(0.05)
    mem = MultilayerMemory(20, [8, 6], chip, fault_seed=2)
    gen = torch.Generator().manual_seed(0)
    shapes = [(8, 20), (6, 8), (20, 6)]
    mem.program([0.3 * torch.randn(s, generator=gen) for s in shapes],
                [0.1 * torch.randn(s[0], generator=gen) for s in shapes], seed=5)
    manifest = export_memory(mem, tmp_path)
    assert (manifest["arch"], manifest["layout"], manifest["layer_sizes"]) == \
        ("multilayer", "20-8-6-20", [20, 8, 6, 20])
    assert [ly["first_array"] for ly in manifest["layers"]] == [0, 2, 3]
    rebuilt = load_export(tmp_path)
    cues = torch.where(torch.randn(9, 20, generator=gen) > 0, 1.0, -1.0)
    for mode in ("sync", "async"):
        assert torch.equal(rebuilt.recall(cues, mode=mode, seed=2).states,
                           mem.recall(cues, mode=mode, seed=2).states)


def test_export_errors(tmp_path):
    with pytest.raises(ConfigError, match="not been programmed"):
        export_memory(SingleLayerMemory(9, "rram"), tmp_path)
    with pytest.raises(FileFormatError, match="manifest.json"):
        load_export(tmp_path)


@pytest.mark.parametrize("tag, words", [
    ("xbarmem-export/2", "an xbarmem export of format 'xbarmem-export/2' (a later format than "
                         "this xbarmem ("),
    ("xbarmem-export/0", "an xbarmem export of format 'xbarmem-export/0' (an earlier format"),
    ("somebody/1", "format 'somebody/1', expected 'xbarmem-export/1'")])
def test_an_export_of_another_format_version_says_what_to_do(small_export, tmp_path, tag, words):
    """An export folder of another format number was refused as `format 'xbarmem-export/2',
    expected 'xbarmem-export/1'`: no word of which is newer or what to do."""
    folder = tmp_path / "exp"
    folder.mkdir()
    for member in small_export.iterdir():
        (folder / member.name).write_bytes(member.read_bytes())
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format": tag}))
    with pytest.raises(FileFormatError) as info:
        load_export(folder)
    assert words in str(info.value) and str(folder / "manifest.json") in str(info.value)
    if tag.endswith("/2"):
        assert str(info.value).endswith("reads: install a later xbarmem to read it)")


@pytest.mark.parametrize("write", [lambda m, out, p: save_memory(m, out / "m.safetensors",
                                                                 patterns=p),
                                   lambda m, out, p: export_memory(m, out / "exp", patterns=p)],
                         ids=["save_memory", "export_memory"])
@pytest.mark.parametrize("patterns, message", [
    (np.ones((2, 25)), "N=25 neurons but the memory/chip has 16"),
    (np.full((2, 16), np.nan), "NaN/inf"),
    (np.zeros((2, 16)), "binary patterns must be in"),
])
def test_patterns_saved_with_a_memory_are_checked_before_writing(tmp_path, write, patterns,
                                                                 message):
    """Patterns of another N (or malformed) are refused before a file is written: save_memory
    wrote them, export_memory failed with AttributeError (or a torch shape error) after
    writing most of the folder."""
    mem = SingleLayerMemory(16, "ideal")
    mem.program(torch.zeros(16, 16))
    with pytest.raises(PatternError, match=message):
        write(mem, tmp_path, patterns)
    assert not list(tmp_path.iterdir())
    write(mem, tmp_path, np.ones((2, 16)))  # a plain matrix of the memory's N is taken


@pytest.mark.parametrize("setting, message", [
    ({"mode": "x"}, "recall mode must be one of sync, async, got 'x'"),
    ({"activation": "y"}, "activation must be one of sign, tanh, got 'y'"),
    ({"max_iterations": -3}, "max_iterations must be a positive integer, got -3"),
    ({"max_iterations": 1.5}, "max_iterations must be a positive integer, got 1.5"),
    ({"out": "file"}, "file exists and is not a folder"),
    ({"out": "file/exp"}, "file exists and is not a folder"),
])
def test_export_settings_are_checked_before_writing(tmp_path, setting, message):
    """export_memory checks its recall (check_recall) and folder before writing: mode="x",
    activation="y" and max_iterations=-3 were written into manifest.json, and an out_dir that
    is (or lies in) a file gave FileExistsError."""
    mem = SingleLayerMemory(16, "ideal")
    mem.program(torch.zeros(16, 16))
    (tmp_path / "file").write_text("")
    out = tmp_path / setting.pop("out", "exp")
    with pytest.raises(ConfigError, match=re.escape(message)):
        export_memory(mem, out, **setting)
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


# ---------------------------------------------------------------------------------- measured
def _measured_csv(path, tiled, tmp_path, sigma=1.5e-6, stuck_rate=0.03, seed=0):
    """The export CSV with a ``read_uS`` column: the targets written with Gaussian error, and
    some devices that do not move (stuck ON at 150 uS or OFF at 2 uS)."""
    export_memory(tiled, tmp_path / "exp")
    rng = np.random.default_rng(seed)
    with (tmp_path / "exp" / "devices.csv").open() as handle:
        rows = list(csv.reader(handle))
    rows[0].append("read_uS")
    truth = {}
    for r in rows[1:]:
        if r[5] == "0":
            r.append("")
            continue
        t = float(r[6])
        u = rng.random()
        read = 150.0 if u < stuck_rate / 2 else 2.0 if u < stuck_rate else \
            float(np.clip(t + rng.normal(0, sigma * 1e6), 2.0, 150.0))
        truth[(r[1], r[4], r[2], r[3])] = (t, read, u < stuck_rate)
        r.append(f"{read:.5f}")
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return truth


def test_measured_chip_from_target_vs_read_csv(tiled, tmp_path, run_cli):
    path = tmp_path / "measured.csv"
    truth = _measured_csv(path, tiled, tmp_path)
    meas = read_measured_csv(path, 16, 16)
    assert meas.measured.sum() == len(truth) == 2 * 25 * 26
    chip, faults, summary = measured_chip(meas, tiled.chip)
    assert chip.device.g_min == pytest.approx(2e-6) and chip.device.g_max <= 150e-6
    ok = meas.measured & ~faults.stuck
    # write error estimate: std of read - target over the non-stuck devices programmed inside
    # the targets' range (those clipped at g_min read their target exactly: counted, they
    # made it 1.23 uS for the true 1.5 uS; within 3 robust std of the median error), less the
    # chip's read noise, which each reading holds once (these readings hold none: a little
    # under the true 1.5 uS)
    inside = ok & (meas.target > np.nanmin(meas.target)) & (meas.target < np.nanmax(meas.target))
    s = trimmed_std((meas.read - meas.target)[inside])
    assert chip.device.write_noise == pytest.approx(
        np.sqrt(s ** 2 - tiled.chip.device.read_noise ** 2))
    assert summary["error_std_uS"] == pytest.approx(s * 1e6)
    assert 0.9 * 1.5e-6 < chip.device.write_noise < 1.1 * 1.5e-6
    # every device reading more than the tolerance away from its target is stuck, plus the
    # devices the export already marked stuck
    flagged = meas.known_stuck | (meas.measured & (np.abs(meas.read - meas.target)
                                                   > summary["tolerance_uS"] * 1e-6))
    # the default tolerance is what `chip import --tolerance` says: 5 robust std of read - target
    # of the devices programmed between the lowest and highest target (the write error's 1.5 uS)
    assert summary["tolerance_uS"] * 1e-6 == pytest.approx(5 * write_error_spread(meas))
    assert 1.3e-6 < write_error_spread(meas) < 1.6e-6
    help_text = run_cli("chip", "import", "-h")[1]
    assert "5 robust standard deviations of read - target" in " ".join(
        line.strip("│ ") for line in help_text.splitlines())
    assert (faults.stuck == flagged).all()
    planted = {k for k, (_, _, s) in truth.items() if s}
    found = {(str(a), ("G+", "G-")[p], str(i), str(j)) for a, p, i, j in np.argwhere(flagged)}
    assert len(planted & found) > 0.5 * len(planted)  # the others sit near their target
    assert summary["stuck"] == flagged.sum() > tiled.crossbar.stuck.sum()
    np.testing.assert_allclose(faults.g_stuck[flagged], meas.read[flagged])
    assert chip.array == tiled.chip.array
    out = tmp_path / "map.npz"
    toml = tmp_path / "chip.toml"
    # the export's 16x16 arrays were read into the default chip's 64x64 ones, the rest of each
    # free devices that do not exist: refused, naming the export's array size
    code, _, err = run_cli("chip", "import", path, "--out", out, "--tolerance", "6")
    assert code == 2 and "arrays of 16x16" in err and not out.exists(), err
    (tmp_path / "tiled.toml").write_text(tiled.chip.to_toml())
    code, stdout, err = run_cli("chip", "import", path, "--out", out, "--chip",
                                tmp_path / "tiled.toml", "--chip-out", toml, "--tolerance", "6")
    assert code == 0, err
    assert FaultMap.load(out).array_shape == (16, 16)
    assert "measured devices" in stdout, stdout  # (labels in words; --json: measured_devices)
    loaded = FaultMap.load(out)
    assert loaded.meta["tolerance_S"] == pytest.approx(6e-6)
    from xbarmem import load_chip

    assert load_chip(toml).device.write_noise == pytest.approx(chip.device.write_noise,
                                                               rel=0.05)


GOOD = "array,row,col,polarity,target_uS,read_uS\n0,0,0,G+,50,50.5\n0,0,1,G-,2,2.1\n"


@pytest.mark.parametrize("text, fragments", [
    (GOOD + "0,1,0,G*,50,49\n", ["line 4", "'polarity'", "'G*'"]),
    (GOOD + "0,1,0,G+,fifty,49\n", ["line 4", "'target_uS'", "not a number"]),
    (GOOD + "0,1,0,G+,50\n", ["line 4", "5 fields"]),
    # the range only; now with what the file may be (review3: a 64x32 chip's read-back with
    # row and col exchanged)
    (GOOD + "0,99,0,G+,50,49\n", ["line 4", "'row'", "0..15: the chip's arrays are 16x16 (rows "
                                   "x cols): rows and cols exchanged, or a file of another "
                                   "chip?"]),
    (GOOD + "x,1,0,G+,50,49\n", ["line 4", "'array'", "not an integer"]),
    (GOOD + "-1,1,0,G+,50,49\n", ["line 4", "'array'", "-1 is negative (numbers count from 0)"]),
    (GOOD + "0,1,0,G+,50,-3\n", ["line 4", "'read_uS'", ">= 0"]),
    # was "'nan' must be a finite conductance >= 0 uS", not saying how to mark a device not
    # read (np.savetxt writes NaN as nan; review3)
    (GOOD + "0,1,0,G+,50,nan\n", ["line 4", "'read_uS'", "leave read_uS empty for a device "
                                                           "not measured"]),
    (GOOD + "0,0,0,G+,40,41\n", ["line 4", "already given on line 2"]),
    ("# measured 2026-01-01\narray,row,col,polarity,target_uS\n0,0,0,G+,1\n",
     ["line 2", "read_uS"]),
    ("", ["empty"]),
])
def test_malformed_measurement_names_the_line(tmp_path, text, fragments, run_cli):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(FileFormatError) as info:
        read_measured_csv(path, 16, 16)
    for fragment in fragments:
        assert fragment in str(info.value)
    code, _, err = run_cli("chip", "import", path, "--out",
                        tmp_path / "m.npz")
    assert code == 2 and len(err.strip().splitlines()) == 1 and fragments[0] in err


def test_an_export_over_an_earlier_one_removes_the_files_it_no_longer_holds(tmp_path):
    """A single-layer export into a folder holding a multilayer one left layer1_*.npy (and a
    wider patterns.npy) beside the new manifest."""
    import json

    import xbarmem as xm
    from xbarmem.deploy.export import export_memory

    pats = xm.load_digits().subset(slice(0, 4))
    deep = xm.train(pats, chip="rram", arch="multilayer", hidden=8, max_steps=5,
                    finetune_steps=0)
    out = tmp_path / "export"
    export_memory(deep, out, patterns=pats)
    mine = out / "notes.txt"
    mine.write_text("the user's own file")
    flat = xm.train(pats, chip="rram", rule="hebb")
    manifest = export_memory(flat, out)  # no patterns this time
    assert manifest["removed"] == ["layer0_bias.npy", "layer1_bias.npy", "layer1_weights.npy",
                                   "patterns.npy"]  # hebb: no bias row
    listed = set(json.loads((out / "manifest.json").read_text())["files"].values())
    assert {p.name for p in out.iterdir()} == listed | {"devices.csv", "manifest.json",
                                                        "notes.txt"}
    assert mine.read_text() == "the user's own file"  # not an export's file: kept


def test_load_export_takes_the_kind_of_the_manifests_recall_when_model_info_has_none(tmp_path):
    """A hand-made or older export whose ``model_info`` has no kind was rebuilt as a memory of
    no kind (read as binary); the manifest's ``recall`` entry says which."""
    from xbarmem import load_mnist, train
    from xbarmem.deploy.export import export_memory

    pats = load_mnist(side=4, kind="continuous", n_patterns=3)
    memory = train(pats, chip="rram", max_steps=5)
    export_memory(memory, tmp_path / "e", patterns=pats)
    path = tmp_path / "e" / "manifest.json"
    manifest = json.loads(path.read_text())
    assert manifest["recall"]["kind"] == "continuous"
    del manifest["model_info"]["kind"]
    path.write_text(json.dumps(manifest))
    assert load_export(tmp_path / "e").info["kind"] == "continuous"
    manifest["recall"]["kind"] = "other"  # not a kind: model_info kept as written
    path.write_text(json.dumps(manifest))
    assert "kind" not in load_export(tmp_path / "e").info


@pytest.mark.parametrize("fault_model", ["device", "weight"])
def test_the_manifest_says_what_stuck_S_holds_and_what_the_fault_model_freed(
        pats, tmp_path, fault_model):
    """stuck_S.npy holds stuck and pinned devices alike, and under the weight fault model
    (whose bias is never faulty) the bias rows' devices the fault map has stuck are written
    free -- in stuck_S.npy and in the export's fault_map.npz; the manifest said neither."""
    from xbarmem import load_chip

    chip = load_chip("paper-sim").with_faults(0.3).with_fault_model(fault_model)
    memory = train(pats.patterns, chip=chip, rule="adaptive", fault_seed=1, program_seed=2,
                   max_steps=5, finetune_steps=0)
    manifest = export_memory(memory, tmp_path)
    faults = manifest["faults"]
    assert faults["stuck_npy"].startswith("stuck_S.npy: the conductance each device is held at, "
                                          "NaN = free: the devices the fault map has stuck")
    assert "'pinned'" in faults["stuck_npy"] and "columns stuck, pinned" in faults["stuck_npy"]
    stuck = np.load(tmp_path / "stuck_S.npy")
    in_map = ~np.isnan(memory.faults.g_stuck[:stuck.shape[0]])
    bias_row = np.zeros_like(in_map)
    for row in manifest["layers"][0]["bias_rows"]:
        bias_row[row["array"], :, row["row"], :np.diff(row["logical_cols"])[0]] = True
    freed = in_map & np.isnan(stuck)
    assert faults["freed_by_fault_model"] == int(freed.sum())
    if fault_model == "device":
        assert not freed.any()
    else:  # exactly the bias row's faulty devices
        assert freed.any() and np.array_equal(freed, in_map & bias_row)
        assert FaultMap.load(tmp_path / "fault_map.npz").stuck.sum() == int(
            (~np.isnan(stuck)).sum()) == int(in_map.sum()) - faults["freed_by_fault_model"]


def test_export_says_when_devices_csv_is_beyond_a_spreadsheet(small_model, run_cli, tmp_path,
                                                              monkeypatch):
    """An N = 784 export's devices.csv held 1,384,448 lines, more than a spreadsheet opens,
    without a word; the summary says so (and where else the targets are), and not below."""
    from xbarmem.cli import deploy

    code, out, err = run_cli("export", small_model, "-o", tmp_path / "a")
    assert code == 0, err
    assert "more than a spreadsheet opens" not in out
    lines = len((tmp_path / "a" / "devices.csv").read_text().splitlines()) - 1
    monkeypatch.setattr(deploy, "SPREADSHEET_ROWS", lines - 1)
    code, out, err = run_cli("export", small_model, "-o", tmp_path / "b")
    assert code == 0, err
    assert f"devices.csv has {lines:,} device lines, more than a spreadsheet opens " \
           f"({lines - 1:,} rows)" in " ".join(out.split()), out


def test_an_export_of_a_reloaded_export_differs_only_in_the_count_its_map_no_longer_holds(
        pats, tmp_path):
    """Under the weight fault model an export frees the bias rows' stuck devices and counts
    them (`faults.freed_by_fault_model`); the memory `load_export` rebuilds has the export's
    fault map, which holds them free already, so its export counts 0 -- legitimately: every
    file and every other manifest entry is the same, and so is recall. The manifest docs (the
    module's and the guide's) say so."""
    import filecmp

    from xbarmem import load_chip
    from xbarmem.deploy import export as export_module

    chip = load_chip("paper-sim").with_faults(0.3).with_fault_model("weight")
    memory = train(pats.patterns, chip=chip, rule="adaptive", fault_seed=1, program_seed=2,
                   max_steps=5, finetune_steps=0)
    first = export_memory(memory, tmp_path / "a", patterns=pats)
    again = export_memory(load_export(tmp_path / "a"), tmp_path / "b", patterns=pats)
    assert first["faults"]["freed_by_fault_model"] > 0 == again["faults"]["freed_by_fault_model"]
    assert ({**first["faults"], "freed_by_fault_model": 0}, {**first, "faults": None}) == (
        again["faults"], {**again, "faults": None})
    for name in sorted(p.name for p in (tmp_path / "a").iterdir()):
        if name != "manifest.json":
            assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False), name
    cues = torch.tensor(pats.patterns, dtype=torch.float32)
    assert torch.equal(memory.recall(cues).states, load_export(tmp_path / "b").recall(cues).states)
    said = " ".join(export_module.__doc__.split())
    assert "exporting it again counts 0" in said
    guide = " ".join((Path(__file__).parents[1] / "docs" / "guide.md").read_text().split())
    assert "a model rebuilt from an export (`load_export`) has the export's map" in guide


def test_the_manifest_describes_the_chip_as_trained_on(run_cli, tmp_path):
    """A model trained with ``--chip ideal --faults 0.3`` was exported with the preset's
    description, "Perfect devices: no faults, ...", beside its 30% stuck devices."""
    model, folder = tmp_path / "m.safetensors", tmp_path / "export"
    code, _, err = run_cli("train", "--chip", "ideal", "--faults", "0.3", "--data", "random",
                           "--patterns", "3", "--neurons", "16", "--rule", "hebb", "-o", model)
    assert code == 0, err
    code, _, err = run_cli("export", model, "--out", folder)
    assert code == 0, err
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["chip"]["description"].endswith(
        " Here: device.p_stuck_on = 0.15, device.p_stuck_off = 0.15."), manifest["chip"]


def test_the_manifest_says_how_the_weight_files_lie_on_the_arrays(tmp_path):
    """``layer<k>_weights.npy`` is ``(n_out, n_in)``, the transpose of the arrays' rows x
    cols; nothing in the export said so, and a one-layer memory's square matrix compared with
    the targets' ``G+ - G-`` row by row looked wrong by up to a full weight (review3). The
    manifest says it, and what it says holds: the targets give ``W.T`` on the tiles."""
    chip = load_preset("ideal").replace_array(rows=16, cols=16)  # no faults: targets = W
    mem = MultilayerMemory(20, [8], chip, fault_seed=0)
    gen = torch.Generator().manual_seed(0)
    mem.program([0.1 * torch.rand(s, generator=gen) - 0.05 for s in [(8, 20), (20, 8)]],
                [0.1 * torch.rand(s, generator=gen) - 0.05 for s in [8, 20]], seed=5)
    manifest = export_memory(mem, tmp_path)
    said = manifest["mapping"]["weights_npy"]
    assert "(n_out, n_in)" in said and "transpose of the arrays' rows x cols" in said
    targets = np.load(tmp_path / "targets_S.npy")
    for layer in manifest["layers"]:
        k = layer["index"]
        weights = np.load(tmp_path / f"layer{k}_weights.npy")
        assert weights.shape == (layer["n_out"], layer["n_in"])
        held = np.zeros((layer["n_in"] + 1, layer["n_out"]))
        for tile in layer["tiles"]:
            (r0, r1), (c0, c1) = tile["logical_rows"], tile["logical_cols"]
            (p0, p1), (q0, q1) = tile["physical_rows"], tile["physical_cols"]
            diff = targets[tile["array"], 0] - targets[tile["array"], 1]
            held[r0:r1, c0:c1] = diff[p0:p1, q0:q1] / layer["siemens_per_weight"]
        bias = np.load(tmp_path / f"layer{k}_bias.npy")
        np.testing.assert_allclose(held, np.vstack([weights.T, bias[None]]), atol=1e-6)


@pytest.fixture(scope="module")
def layered(pats):
    """A multilayer memory trained briefly (its ``info["arch"]``: the widths ``25-8-25``)."""
    return train(pats, chip="rram", arch="multilayer", hidden=8, max_steps=5, finetune_steps=0)


def test_the_manifest_names_the_memory_s_shape_as_every_output(layered, pats, tmp_path):
    """The manifest said `architecture` for the word (`multilayer`) and `sizes` for the widths
    (`sizes` is the list of N of `scaling` and `energy --sizes`), its `model_info.arch` the
    widths (`25-8-25`) where every output's `arch` is the word: now `arch`, `layout` and
    `layer_sizes` as `train` / `energy --json` name them, `model_info.layout`; the memory
    loaded back has its `info` (`info["arch"]` the widths, as its model file keeps it)."""
    manifest = export_memory(layered, tmp_path / "out", patterns=pats)
    assert (manifest["arch"], manifest["layout"], manifest["layer_sizes"]) == \
        ("multilayer", "25-8-25", [25, 8, 25])
    assert not {"architecture", "sizes"} & set(manifest)
    info = manifest["model_info"]
    assert info["layout"] == "25-8-25" and "arch" not in info
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["model_info"] == info
    again = load_export(tmp_path / "out")
    assert again.info == layered.info and again.info["arch"] == "25-8-25"
    from xbarmem.memory.io import load_memory

    saved = load_memory(save_memory(again, tmp_path / "again.safetensors")).info
    assert saved == load_memory(save_memory(layered, tmp_path / "m.safetensors")).info
    assert saved["arch"] == "25-8-25"


def test_an_export_of_an_earlier_version_still_loads(layered, pats, tmp_path):
    """Exports written before the shape was named as the outputs name it (`architecture`,
    `sizes`, `model_info.arch` the widths) load as they did, into the same memory."""
    export_memory(layered, tmp_path / "out", patterns=pats)
    path = tmp_path / "out" / "manifest.json"
    manifest = json.loads(path.read_text())
    earlier = {("architecture" if k == "arch" else "sizes" if k == "layer_sizes" else k): v
               for k, v in manifest.items() if k != "layout"}
    earlier["model_info"] = {("arch" if k == "layout" else k): v
                             for k, v in manifest["model_info"].items()}
    path.write_text(json.dumps(earlier))
    again = load_export(tmp_path / "out")
    assert again.info == layered.info and again.sizes == [25, 8, 25]
    cues = torch.tensor(pats.patterns)
    assert torch.equal(again.recall(cues, seed=1).states, layered.recall(cues, seed=1).states)


def _multilayer_export(folder):
    """An export of a three-layer memory in ``folder`` (its layer1_*, layer2_* files are stale
    for an export of a single-layer memory there)."""
    from xbarmem import random_patterns

    deep = train(random_patterns(3, 16, seed=4), chip="rram", arch="multilayer",
                 hidden=[8, 8], max_steps=5, finetune_steps=0)
    export_memory(deep, folder)


@pytest.mark.parametrize("command, name", [
    ("export", "layer2_weights.npy"),  # the MODEL saved under a stale file's name
    ("export", "layer1_bias.npy"),
    ("adapt", "layer2_bias.npy"),  # the --read-back
    ("adapt", "layer1_weights.npy"),
])
def test_an_earlier_exports_file_that_is_an_input_is_refused_not_removed(
        command, name, small_model, small_memory, run_cli, tmp_path):
    """An export into a folder whose earlier export lists a file this one does not hold
    removes that file; when it was the command's input (the model, the read-back) the export
    deleted it: refused before any work, naming the file, the folder untouched."""
    folder = tmp_path / "exp"
    _multilayer_export(folder)
    given = folder / name
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p != given}
    if command == "export":
        given.write_bytes(small_model.read_bytes())
        args = ("export", given, "--out", folder)
    else:
        np.save(given, _read_back_of(small_memory[1]))
        args = ("adapt", small_model, "--read-back", given, "--export", folder, "--probes", "2")
    kept = given.read_bytes()
    code, _, err = run_cli(*args)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert name in err and "earlier export" in err and "removes" in err, err
    assert given.read_bytes() == kept
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p != given} == before


def _read_back_of(memory):
    """A read-back of ``memory``'s arrays as programmed: ``(n_arrays, 2, rows, cols)`` siemens
    (the layout of the export's ``programmed_S.npy``)."""
    from xbarmem.deploy.export import programmed_cells

    g = programmed_cells(memory)
    return np.where(np.isnan(g), memory.chip.device.g_min, g)
