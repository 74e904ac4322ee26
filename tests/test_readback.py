"""Chip-in-the-loop adaptation through files: export -> a chip programmed and read back outside
xbarmem (a simulated chip stands in for the researcher) -> ``adapt --read-back`` -> program
only the new targets -> read back -> the next round. The read-back round runs the steps of the
simulated loop; bad read-backs are refused in one line before any work."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from xbarmem import Protocol, load_preset, save_memory, train
from xbarmem.deploy.backend import BackendMemory, SimulatedChip
from xbarmem.deploy.chip_loop import adapt, adapt_read_back
from xbarmem.deploy.export import export_memory, export_names
from xbarmem.deploy.readback import load_read_back, read_back_backends
from xbarmem.errors import FileFormatError, XbarmemWarning
from xbarmem.evaluation.evaluate import evaluate_memory
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.faults import FaultMap
from xbarmem.memory.io import load_memory

FAST = {"max_steps": 300, "finetune_steps": 100, "window": 50}
TOL = 5e-6


@pytest.fixture(scope="module")
def memory(pats, trained):
    return trained(pats.patterns, "rram", fault_seed=1, program_seed=0, **FAST)


@pytest.fixture
def model(memory, pats, tmp_path):
    return save_memory(memory, tmp_path / "m.safetensors", patterns=pats)


class Researcher:
    """The chip and the researcher's tools: programs an export's targets_S.npy (NaN = leave),
    reads every device back into a file laid out like it. The chip has a 30 uS write error and
    5% stuck devices the model does not know."""

    def __init__(self, memory, seed=3):
        known = memory.faults.g_stuck
        extra = FaultMap.generate(memory.chip.with_faults(0.05), memory.faults.n_arrays, seed=9)
        self.faults = FaultMap(np.where(np.isnan(known), extra.g_stuck, known))
        self.layer = memory.layers[0]
        chip = memory.chip.replace_device(write_noise=30e-6)
        self.chip = SimulatedChip.like(self.layer, chip=chip, faults=self.faults, seed=seed)

    def program(self, folder):
        self.chip.program(self.layer._gather(np.load(folder / "targets_S.npy")))

    def read_back(self, path, fmt="npy"):
        read = self.layer.scatter(self.chip.read_back())
        if fmt == "npy":
            np.save(path, read)
            return path
        with path.open("w", newline="") as handle:  # the export's devices.csv + read_uS
            writer = csv.writer(handle)
            writer.writerow(["array", "row", "col", "polarity", "read_uS"])
            for a, p, i, j in np.argwhere(~np.isnan(read)):
                writer.writerow([a, i, j, ("G+", "G-")[p], f"{read[a, p, i, j] * 1e6:.6f}"])
        return path

    def recall(self, memory, pats):
        return evaluate_memory(BackendMemory(memory, [self.chip]), pats,
                               Protocol(probes=10, seed=0)).cosine


def test_file_round_trip_pins_misses_and_reprograms_only_the_rest(memory, pats, model, tmp_path,
                                                                   run_cli):
    lab = Researcher(memory)
    code, _, err = run_cli("export", model, "--out", tmp_path / "e0")
    assert code == 0, err
    lab.program(tmp_path / "e0")
    before = lab.recall(memory, pats)
    read0 = lab.read_back(tmp_path / "read0.npy")
    m1, e1 = tmp_path / "m1.safetensors", tmp_path / "e1"
    code, out, err = run_cli("adapt", model, "--read-back", read0, "-o", m1, "--export", e1,
                             "--tolerance", "5", "--probes", "5", "--json")
    assert code == 0, err
    summary = json.loads(out)
    # (1) every device the model believed free and that reads further than the tolerance from
    # its export target is pinned in the adapted model, at its read value
    targets = np.load(tmp_path / "e0" / "targets_S.npy")
    read = np.load(read0)
    free = np.load(tmp_path / "e0" / "used.npy") & np.isnan(memory.faults.g_stuck[:1])
    missed = free & (np.abs(read - targets) > TOL)
    adapted = load_memory(m1)
    assert missed.sum() == summary["read"]["newly_fixed"] == len(summary["missed"]) > 0
    np.testing.assert_array_equal(adapted.faults.g_stuck[:1][missed], read[missed])
    assert not (adapted.faults.stuck[:1] & free & ~missed).any()
    rail = [d for d in summary["missed"] if d["at_rail"]]
    assert 0 < len(rail) == summary["read"]["newly_fixed_at_rail"]
    # microsiemens to the export's decimals (a target printed 75.99999999999999)
    from xbarmem.deploy.export import uS_decimals
    places = uS_decimals(memory.chip.device.g_range)
    assert all(d[k] == round(d[k], places) and len(repr(d[k]).split(".")[-1]) <= places
               for d in summary["missed"] for k in ("target_uS", "read_uS"))
    assert adapted.info["adapt"]["read_backs"] == 1
    # (3) the new export asks to program only the devices to re-program; the rest are left
    new = np.load(e1 / "targets_S.npy")
    write = ~np.isnan(new)
    assert write.sum() == summary["program"]["written"] > 0
    assert not (write & adapted.faults.stuck[:1]).any()
    rows = list(csv.DictReader((e1 / "devices.csv").open()))
    assert sum(r["target_uS"] != "" for r in rows) == write.sum()
    assert json.loads((e1 / "manifest.json").read_text())["program"]["devices"] == write.sum()
    assert {p.name for p in e1.iterdir()} <= set(export_names(adapted))  # what --export checks
    g_before = lab.chip.conductances()
    lab.program(e1)
    left = np.isnan(lab.layer._gather(new))
    np.testing.assert_array_equal(lab.chip.conductances()[left], g_before[left])
    # (4) the chip recalls at least as well with the adapted model's targets written
    after = lab.recall(adapted, pats)
    assert after >= before, (before, after)
    # the next read-back continues the loop from the adapted model (CSV this time)
    read1 = lab.read_back(tmp_path / "read1.csv", fmt="csv")
    m2 = tmp_path / "m2.safetensors"
    code, out, err = run_cli("adapt", m1, "--read-back", read1, "-o", m2, "--tolerance", "5",
                             "--probes", "5")
    assert code == 0, err
    assert "missed their target" in out and "re-program" in out
    # the re-training's seconds as the simulated loop's summary prints them (was "(0 s)")
    assert re.search(r"re-trained by the adaptive rule \((\d\.\d|\d\d+) s\)",
                     " ".join(out.split())), out
    second = load_memory(m2)
    assert second.info["adapt"]["read_backs"] == 2
    assert (second.faults.stuck >= adapted.faults.stuck).all()


def test_a_read_back_round_is_a_round_of_the_simulated_loop(memory, pats):
    """The same read (no read noise) gives the same pins and the same re-programming whether
    the loop reads the chip itself (round 0 -> round 1 of ``adapt``) or a file of it."""
    chip = memory.chip.replace_device(write_noise=20e-6, read_noise=0.0)
    sim = SimulatedChip.like(memory.crossbar, chip=chip, seed=2)
    sent = []
    program = sim.program
    sim.program = lambda t: sent.append(np.array(t)) or program(t)
    protocol = Protocol(probes=5)
    looped = adapt(memory, [sim], pats, rounds=1, target=1.1, tolerance=TOL, protocol=protocol)
    replay = SimulatedChip.like(memory.crossbar, chip=chip, seed=2)
    replay.program(sent[0])  # the researcher programs the open-loop targets
    read = memory.crossbar.scatter(replay.read_back())
    result = adapt_read_back(memory, read_back_backends(memory, read), pats, tolerance=TOL,
                             protocol=protocol)
    assert result.read["newly_fixed"] == looped.rounds[0]["newly_fixed"]
    assert result.program["written"] == looped.rounds[1]["written"]
    np.testing.assert_array_equal(result.targets[0], sent[1])
    for key in ("newly_fixed_at_rail", "free", "write_error_rms_uS"):
        assert result.read[key] == looped.rounds[0][key], key


def _files(tmp_path, memory):
    """Read-back files that do not fit ``memory``, one per refusal rule."""
    good = memory.crossbar.scatter(np.stack([memory.crossbar.g_pos, memory.crossbar.g_neg]))
    dev = memory.chip.device

    def save(name, data):
        np.save(tmp_path / name, data)
        return tmp_path / name

    bad = {}
    bad["other arrays"] = save("t.npy", good[:, :, :, :-1])
    bad["two arrays"] = save("two.npy", np.concatenate([good, good]))
    bad["three planes"] = save("three.npy", np.concatenate([good[0], good[0, :1]]))
    neg = good.copy()
    neg[0, 0, 1, 2] = -1e-5  # beyond an instrument's offset (1% of the highest reading)
    bad["negative"] = save("neg.npy", neg)
    inf = good.copy()
    inf[0, 1, 0, 0] = np.inf
    bad["infinite"] = save("inf.npy", inf)
    nan = good.copy()
    nan[0, 0, 3, 4] = np.nan
    bad["no reading"] = save("nan.npy", nan)
    bad["microsiemens"] = save("uS.npy", good * 1e6)
    bad["integers"] = save("int.npy", np.nan_to_num(good, nan=dev.g_min).astype(np.int64))
    bad["float16"] = save("f16.npy", good.astype(np.float16))
    bad["transposed"] = save("T.npy", np.nan_to_num(good, nan=dev.g_min).transpose(0, 1, 3, 2))
    bad["ohms"] = save("ohm.npy", 1.0 / np.maximum(good, 1e-7))
    high = good.copy()
    high[0, 0, 2, 2] = dev.g_max + 5 * dev.g_range
    bad["far above"] = save("high.npy", high)
    bad["all zero"] = save("zero.npy", np.where(np.isnan(good), np.nan, 0.0))
    bad["all g_max"] = save("gmax.npy", np.full_like(good, dev.g_max))
    zeros = tmp_path / "zero.csv"  # every device of a lab's CSV read as 0 uS
    with zeros.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["array", "row", "col", "polarity", "read_uS"])
        for a, p, i, j in np.argwhere(~np.isnan(good)):
            writer.writerow([a, i, j, ("G+", "G-")[p], "0"])
    bad["all zero csv"] = zeros
    kohm = tmp_path / "kohm.csv"  # a lab's CSV with resistances in read_uS
    with kohm.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["array", "row", "col", "polarity", "read_uS"])
        for a, p, i, j in np.argwhere(~np.isnan(good)):
            writer.writerow([a, i, j, ("G+", "G-")[p], f"{1e-3 / good[a, p, i, j]:.6f}"])
    bad["kilohms"] = kohm
    flipped = tmp_path / "T.csv"  # row and col exchanged (the lab's word lines are columns)
    with flipped.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["array", "row", "col", "polarity", "read_uS"])
        whole = np.nan_to_num(good, nan=dev.g_min)
        for a, p, i, j in np.argwhere(np.ones_like(whole, dtype=bool)):
            writer.writerow([a, j, i, ("G+", "G-")[p], f"{whole[a, p, i, j] * 1e6:.6f}"])
    bad["transposed csv"] = flipped
    return bad


@pytest.mark.parametrize("case, fragment", [
    ("other arrays", "a read-back of another model or chip"),
    ("two arrays", "shape (2, 2,"),
    ("three planes", "shape (3, 64, 64), but"),  # the shape given (not with an axis added)
    ("negative", "device (array 0, G+, row 1, col 2) reads -1e-05 S (1 reading below 0 S by "
                 "more than an instrument's offset"),
    ("infinite", "infinite conductance"),
    ("no reading", "has no reading"),
    ("microsiemens", "microsiemens (uS)"),
    # were taken: integer siemens read every device 0 and pinned it there (recheck7c)
    ("integers", "integers (int64) cannot hold conductances in siemens"),
    ("float16", "float16 keeps 3 significant digits"),
    # was taken: the devices off their transposed readings were pinned (recheck7c)
    ("transposed", "follow the model's conductances with rows and columns exchanged (each "
                   "array transposed) (mean distance"),
    ("ohms", "as ohms (conductance = 1 / resistance)"),
    ("far above", "window widths"),
    # were taken: every device off the one value pinned at it
    ("all zero", "used devices reads 0 S although the model programs them"),
    ("all g_max", "reads 0.00015 S although"),
    ("all zero csv", "reads 0 S although"),
    # was "read(s) far above the chip window", of the devices at g_min read as 500 uS
    ("kilohms", "resistances? read_uS must be conductances in microsiemens (1000 / kOhm)"),
    ("transposed csv", "lay them out as the export's devices.csv: row = the input (word "
                       "line), col = the output (bit line)"),
])
def test_bad_read_backs_are_refused_before_any_work(memory, model, tmp_path, run_cli, case,
                                                    fragment):
    path = _files(tmp_path, memory)[case]
    m1, e1 = tmp_path / "m1.safetensors", tmp_path / "e1"
    code, out, err = run_cli("adapt", model, "--read-back", path, "-o", m1, "--export", e1)
    assert code == 2 and not out and err.startswith("error:"), err
    assert len(err.strip().splitlines()) == 1 and fragment in err, err
    assert not m1.exists() and not e1.exists()


@pytest.mark.parametrize("fmt", ["npy", "csv"])
def test_a_read_back_of_the_whole_chip_says_which_arrays_to_give(pats, tmp_path, run_cli, fmt):
    """A model on one array of a three-array measured map, read back whole (every array of
    the chip): the refusal said "a read-back of another model or chip?" of the very chip."""
    chip = load_preset("rram")
    memory = train(pats, chip=chip, faults=FaultMap.generate(chip.with_faults(0.02), 3, seed=2),
                   program_seed=1, max_steps=20, finetune_steps=0)
    assert memory.faults.n_arrays == 3 and memory.layers[0].n_arrays == 1
    model = save_memory(memory, tmp_path / "m.safetensors", patterns=pats)
    whole = np.full((3, 2, 64, 64), 50e-6)
    whole[0] = memory.crossbar.scatter(np.stack([memory.crossbar.g_pos,
                                                 memory.crossbar.g_neg]))[0]
    path = tmp_path / f"read.{fmt}"
    if fmt == "npy":
        np.save(path, whole)
    else:
        lines = [f"{a},{i},{j},{('G+', 'G-')[p]},{whole[a, p, i, j] * 1e6:.6f}"
                 for a, p, i, j in np.argwhere(~np.isnan(whole))]
        path.write_text("\n".join(["array,row,col,polarity,read_uS", *lines]) + "\n")
    m1, e1 = tmp_path / "m1.safetensors", tmp_path / "e1"
    code, out, err = run_cli("adapt", model, "--read-back", path, "-o", m1, "--export", e1)
    assert code == 2 and not out and len(err.strip().splitlines()) == 1, err
    assert err.rstrip().endswith("it reads every array of the model's fault map, but the model "
                                 "uses array 0 of its 3: give the readings of those only"), err
    assert not m1.exists() and not e1.exists()


def test_a_read_back_with_arrays_and_planes_exchanged_is_refused(pats, tmp_path, run_cli):
    """A two-array model's read-back saved as (2 planes, 2 arrays, rows, cols) has the shape
    of the export's (2 arrays, 2 planes, ...) and was taken: its bias array's G+ plane read as
    array 0's G- (recheck7c: 1854 devices "at a rail" pinned)."""
    chip = load_preset("rram").replace_array(rows=25, cols=25)
    memory = train(pats, chip=chip, fault_seed=1, program_seed=1, max_steps=20,
                   finetune_steps=0)
    model = save_memory(memory, tmp_path / "m.safetensors", patterns=pats)
    good = memory.crossbar.scatter(np.stack([memory.crossbar.g_pos, memory.crossbar.g_neg]))
    assert good.shape == (2, 2, 25, 25)
    path = tmp_path / "read.npy"
    np.save(path, np.nan_to_num(good.transpose(1, 0, 2, 3), nan=chip.device.g_min))
    m1 = tmp_path / "m1.safetensors"
    code, out, err = run_cli("adapt", model, "--read-back", path, "-o", m1)
    assert code == 2 and not out and len(err.strip().splitlines()) == 1, err
    assert "follow the model's conductances with the arrays and G+/G- axes exchanged" in err
    assert not m1.exists()
    np.save(path, np.nan_to_num(good, nan=chip.device.g_min))  # laid out right: taken
    code, out, err = run_cli("adapt", model, "--read-back", path, "-o", m1, "--probes", "2")
    assert code == 0 and m1.exists(), err


def test_far_above_says_how_far(memory, model, tmp_path, run_cli):
    path = _files(tmp_path, memory)["far above"]
    code, _, err = run_cli("adapt", model, "--read-back", path)
    assert code == 2 and "g_max + 5 window widths" in err and "row 2, col 2" in err


def test_other_refusals(memory, pats, model, tmp_path, run_cli):
    read = tmp_path / "read.npy"
    np.save(read, memory.crossbar.scatter(np.stack([memory.crossbar.g_pos,
                                                    memory.crossbar.g_neg])))
    bare = save_memory(memory, tmp_path / "bare.safetensors")
    export = tmp_path / "e0"
    code, _, err = run_cli("export", model, "--out", export)
    assert code == 0, err
    with (export / "devices.csv").open() as src:  # read_uS appended to the export's CSV
        rows = list(csv.reader(src))
    with (export / "devices.csv").open("w", newline="") as dst:
        csv.writer(dst).writerows([rows[0] + ["read_uS"]] + [r + [r[7]] for r in rows[1:]])
    no_read = tmp_path / "no_read.csv"
    no_read.write_text("array,row,col,polarity,target_uS\n0,0,0,G+,2.0\n")
    cases = [
        (("adapt", bare, "--read-back", read), "saved without its patterns"),
        (("adapt", model, "--read-back", export / "devices.csv", "--export", export),
         "--export"),
        (("adapt", model, "--read-back", read, "--rounds", "3"),
         "--rounds applies without --read-back"),
        (("adapt", model, "--export", tmp_path / "e9"), "--export applies with --read-back"),
        (("adapt", model, "--read-back", no_read), "lacks column(s) read_uS"),
        (("adapt", model, "--read-back", read, "--key", "x"), "no array named"),
    ]
    for args, fragment in cases:
        code, out, err = run_cli(*args)
        assert code == 2 and not out and fragment in err, (args, err)
        assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "e9").exists()
    # the export's own devices.csv with read_uS appended is a valid read-back
    code, out, err = run_cli("adapt", model, "--read-back", export / "devices.csv",
                             "--probes", "2")
    assert code == 0, err
    assert "missed their target" in out


def test_pinned_devices_are_labelled_apart_from_stuck_ones(memory, pats, model, tmp_path,
                                                           run_cli):
    """The tour of 2026-12-04: after adapt --read-back, the devices that merely missed their
    target were written stuck=1 in devices.csv and counted in the manifest's devices.stuck
    (3487 of 8192 against 1097 truly stuck), and the fault map's meta said source "adapt"
    beside the generator's seed."""
    lab = Researcher(memory)
    assert run_cli("export", model, "--out", tmp_path / "e0")[0] == 0
    lab.program(tmp_path / "e0")
    read0 = lab.read_back(tmp_path / "read0.npy")
    m1, e1 = tmp_path / "m1.safetensors", tmp_path / "e1"
    code, out, err = run_cli("adapt", model, "--read-back", read0, "-o", m1, "--export", e1,
                             "--tolerance", "5", "--probes", "2", "--json")
    assert code == 0, err
    pinned = json.loads(out)["read"]["newly_fixed"]
    known = int(memory.faults.stuck[:1].sum())
    assert pinned > 0 and known > 0
    rows = list(csv.DictReader((e1 / "devices.csv").open()))
    assert sum(r["stuck"] == "1" for r in rows) == known
    assert sum(r["pinned"] == "1" for r in rows) == pinned
    assert all(r["stuck_uS"] != "" for r in rows if r["pinned"] == "1")
    assert not any(r["stuck"] == "1" and r["pinned"] == "1" for r in rows)
    manifest = json.loads((e1 / "manifest.json").read_text())
    assert manifest["devices"]["stuck"] == known and manifest["devices"]["pinned"] == pinned
    assert manifest["faults"]["summary"]["stuck"] == known
    assert manifest["faults"]["summary"]["pinned"] == pinned
    # the map's meta: made by adapt; the known devices' own provenance kept under its key
    meta = manifest["faults"]["meta"]
    assert meta["source"] == "adapt" and "seed" not in meta
    assert meta["known_faults"] == memory.faults.meta and meta["chip"] == "rram"
    # the model file and the export's fault map keep them apart; so does a later export
    adapted = load_memory(m1)
    assert adapted.faults.pinned_count == pinned
    assert FaultMap.load(e1 / "fault_map.npz").pinned_count == pinned
    code, out, err = run_cli("export", m1, "--out", tmp_path / "e2")
    assert code == 0, err
    again = json.loads((tmp_path / "e2" / "manifest.json").read_text())["devices"]
    assert (again["stuck"], again["pinned"], again["used_pinned"]) == (known, pinned, pinned)
    assert f"({again['used_stuck']} stuck, {pinned} pinned by adapt)" in " ".join(out.split())


def test_a_fault_map_keeps_its_pinned_devices_in_both_files(tmp_path):
    fmap = FaultMap.generate(ChipSpec(), 1, seed=2)
    fmap.g_stuck[0, 0, 0, :3] = 5e-5
    pinned = np.zeros(fmap.g_stuck.shape, dtype=bool)
    pinned[0, 0, 0, :2] = True
    held = FaultMap(fmap.g_stuck, fmap.meta, pinned)
    assert "pinned=2" in repr(held) and held.summary()["pinned"] == 2
    for name in ("p.npz", "p.csv"):
        back = FaultMap.load(held.save(tmp_path / name))
        np.testing.assert_array_equal(back.pinned, pinned)
    with pytest.raises(FileFormatError, match="pinned marks a free device"):
        FaultMap(np.full((1, 2, 4, 4), np.nan), {}, np.ones((1, 2, 4, 4), dtype=bool))


def test_load_export_keeps_the_pinned_devices(memory, pats, model, tmp_path, run_cli):
    from xbarmem.deploy.reload import load_export

    lab = Researcher(memory)
    assert run_cli("export", model, "--out", tmp_path / "e0")[0] == 0
    lab.program(tmp_path / "e0")
    read0 = lab.read_back(tmp_path / "read0.npy")
    code, _, err = run_cli("adapt", model, "--read-back", read0, "-o", tmp_path / "m1.safetensors",
                           "--export", tmp_path / "e1", "--tolerance", "5", "--probes", "2")
    assert code == 0, err
    adapted = load_memory(tmp_path / "m1.safetensors")
    reloaded = load_export(tmp_path / "e1")
    assert reloaded.faults.pinned_count == adapted.faults.pinned_count > 0
    np.testing.assert_array_equal(reloaded.faults.pinned_mask[:1], adapted.faults.pinned_mask[:1])


def test_a_known_stuck_device_read_elsewhere_is_held_at_its_reading(memory, pats, model,
                                                                     tmp_path, run_cli):
    """A read-back in which the model's known stuck devices read erased (the chip does not
    have the stuck devices of the map the model was trained for): the adapted model held them
    at their recorded value, re-trained against devices the chip does not have, and its
    export's stuck_uS disagreed with its programmed_uS."""
    dev = memory.chip.device
    chip = memory.chip.replace_device(read_noise=0.0)
    none = FaultMap(np.full_like(memory.faults.g_stuck, np.nan))
    sim = SimulatedChip.like(memory.crossbar, chip=chip, faults=none, seed=4)
    assert run_cli("export", model, "--out", tmp_path / "e0")[0] == 0
    e0 = tmp_path / "e0"  # programmed as the guide says: the devices with stuck = 0
    targets = np.where(np.isnan(np.load(e0 / "stuck_S.npy")), np.load(e0 / "targets_S.npy"),
                       np.nan)
    sim.program(memory.crossbar._gather(targets))
    read = memory.crossbar.scatter(sim.read_back())
    np.save(tmp_path / "read0.npy", read)
    m1, e1 = tmp_path / "m1.safetensors", tmp_path / "e1"
    code, out, err = run_cli("adapt", model, "--read-back", tmp_path / "read0.npy", "-o", m1,
                             "--export", e1, "--tolerance", "5", "--probes", "2")
    assert code == 0, err
    known = memory.faults.g_stuck[:1]
    away = ~np.isnan(known) & (np.abs(np.nan_to_num(known) - dev.g_min) > TOL) & \
        np.load(e0 / "used.npy")
    assert away.sum() > 0
    np.testing.assert_array_equal(load_memory(m1).faults.g_stuck[:1][away], read[away])
    np.testing.assert_array_equal(np.load(e1 / "stuck_S.npy")[away], read[away])
    assert (f"now held at their reading: {int(away.sum())} device{'' if away.sum() == 1 else 's'}"
            in " ".join(out.split())), out


@pytest.mark.parametrize("layout, fragment", [
    (lambda g: np.swapaxes(g, -1, -2), "rows and cols exchanged (each array transposed?)"),
    (lambda g: np.swapaxes(g, 0, 1), "the array and G+/G- axes exchanged?"),
    (lambda g: g[:1], "the readings of 1 array, but the model uses 3: give every array's, "
                      "stacked as (3, 2, 30, 9)"),
    (lambda g: g[0], "the readings of 1 array, but the model uses 3"),
    (lambda g: np.concatenate([g[0, 0], g[0, 1]], axis=1), "one grid of single devices? pair "
                                                          "them into the G+ and G- planes"),
    (lambda g: g[0, 0], "one plane of devices: give both"),
    (lambda g: np.stack([g, g * 1.01]), "2 reads of every device stacked? one reading per "
                                        "device is read: give their mean over the reads' axis"),
    (lambda g: np.moveaxis(g, 1, -1), "the axis of size 2 (G+, G-) is last: move it before "
                                      "the rows and cols (np.moveaxis(a, -1, -3))"),
])
def test_a_read_back_laid_out_otherwise_says_how(pats, tmp_path, run_cli, layout, fragment):
    """A read-back of the model's devices in another layout than the export's (each array
    transposed, planes before arrays, one array of three, single devices not paired) was
    refused as "a read-back of another model or chip?" (review3); the refusal says which."""
    chip = load_preset("rram").replace_array(rows=30, cols=9)
    memory = train(pats, chip=chip, fault_seed=1, program_seed=1, max_steps=20,
                   finetune_steps=0)
    model = save_memory(memory, tmp_path / "m.safetensors", patterns=pats)
    good = np.nan_to_num(memory.crossbar.scatter(np.stack([memory.crossbar.g_pos,
                                                           memory.crossbar.g_neg])),
                         nan=chip.device.g_min)
    assert good.shape == (3, 2, 30, 9)
    path = tmp_path / "read.npy"
    np.save(path, layout(good))
    m1 = tmp_path / "m1.safetensors"
    code, out, err = run_cli("adapt", model, "--read-back", path, "-o", m1)
    assert code == 2 and not out and len(err.strip().splitlines()) == 1, err
    assert fragment in err and "another model or chip" not in err, err
    assert not m1.exists()


@pytest.mark.parametrize("reads, shape", [(3, "(3, 2, 64, 64)"), (2, "(2, 1, 2, 64, 64)"),
                                          (4, "(4, 2, 2, 64, 64)")])
def test_repeated_reads_stacked_are_told_to_be_averaged(pats, tmp_path, run_cli, reads, shape):
    """Several reads of every device saved as one stack, reads first, were refused as "a
    read-back of another model or chip?" (adapt --read-back) or with no word of reads (chip
    import: "must have shape (2, rows, cols) or (n_arrays, 2, rows, cols) ... got (3, 1, 2,
    32, 48)"); both now say to give their mean. Of a model on one array, ``(3, 2, 64, 64)``;
    a read-back of every array of its fault map keeps its own hint (above)."""
    chip = load_preset("rram")
    memory = train(pats, chip=chip, fault_seed=1, program_seed=1, max_steps=20,
                   finetune_steps=0)
    assert memory.layers[0].n_arrays == 1 and memory.faults.n_arrays == 1
    model = save_memory(memory, tmp_path / "m.safetensors", patterns=pats)
    good = np.nan_to_num(memory.crossbar.scatter(np.stack([memory.crossbar.g_pos,
                                                           memory.crossbar.g_neg])),
                         nan=chip.device.g_min)
    rng = np.random.default_rng(0)
    arrays = good if shape.count(",") == 4 else good[0]
    if shape.startswith("(4, 2, 2"):
        arrays = np.concatenate([good, good])
    stack = np.stack([arrays + rng.normal(0, 1e-7, arrays.shape) for _ in range(reads)])
    assert str(stack.shape) == shape
    path, m1 = tmp_path / "reads.npy", tmp_path / "m1.safetensors"
    np.save(path, np.abs(stack))
    told = f"{reads} reads of every device stacked? one reading per device is read: give their "
    if not shape.startswith("(4, 2, 2"):  # a model of one array
        code, out, err = run_cli("adapt", model, "--read-back", path, "-o", m1)
        assert code == 2 and not out and len(err.strip().splitlines()) == 1, err
        assert told in err and "another model or chip" not in err, err
        assert not m1.exists()
    if stack.ndim == 5:  # chip import reads a 4-D stack as arrays (and says they read alike)
        out_map = tmp_path / "map.npz"
        code, out, err = run_cli("chip", "import", path, "--as", "conductance", "-o", out_map)
        assert code == 2 and not out and len(err.strip().splitlines()) == 1, err
        assert told in err and not out_map.exists(), err


def test_a_read_back_csv_with_nan_for_a_device_not_read_says_to_leave_it_empty(
        memory, model, tmp_path, run_cli):
    """np.savetxt writes an unread device as ``nan``: the refusal said "'nan' must be a finite
    conductance >= 0 uS", not that an empty read_uS marks it (review3). The same file with
    the cell empty is taken."""
    good = memory.crossbar.scatter(np.stack([memory.crossbar.g_pos, memory.crossbar.g_neg]))
    lines = ["array,row,col,polarity,read_uS"]
    for a, p, i, j in np.argwhere(np.ones_like(good, dtype=bool)):
        value = good[a, p, i, j]
        lines.append(f"{a},{i},{j},{('G+', 'G-')[p]},"
                     f"{'nan' if np.isnan(value) else f'{value * 1e6:.6f}'}")
    path = tmp_path / "read.csv"
    path.write_text("\n".join(lines) + "\n")
    m1 = tmp_path / "m1.safetensors"
    code, out, err = run_cli("adapt", model, "--read-back", path, "-o", m1)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "leave read_uS empty for a device not measured" in err and not m1.exists(), err
    path.write_text(path.read_text().replace(",nan\n", ",\n"))
    code, out, err = run_cli("adapt", model, "--read-back", path, "-o", m1, "--probes", "2")
    assert code == 0 and m1.exists(), err


@pytest.mark.parametrize("command, shape", [
    (("chip", "import", "--as", "conductance"), (1, 3, 2, 64, 64)),
    (("chip", "import", "--as", "conductance"), (1, 1, 2, 64, 64)),
    (("chip", "import"), (1, 2, 2, 64, 64)),
    (("chip", "import"), (1, 1, 1, 2, 64, 64)),
    (("adapt",), (1, 1, 2, 64, 64)),
])
def test_a_measured_array_with_an_axis_of_size_1_in_front_says_to_drop_it(
        pats, tmp_path, run_cli, command, shape):
    """A measured map or read-back saved with one axis of size 1 more in front (``a[None]``)
    was refused ending ``got (1, 3, 2, 64, 64): None`` (chip import: the hint of stacked reads,
    None for one read, was written into the line) or as "a read-back of another model or
    chip?" (adapt --read-back); both now say to drop the axis, and an array of more axes
    still, which no hint fits, ends at its shape."""
    chip = load_preset("rram")
    values = np.full(shape, 80e-6) if "conductance" in command or "adapt" in command else (
        np.zeros(shape))
    path, out_path = tmp_path / "measured.npy", tmp_path / "out.npz"
    np.save(path, values)
    if command == ("adapt",):
        memory = train(pats, chip=chip, fault_seed=1, program_seed=1, max_steps=20,
                       finetune_steps=0)
        model = save_memory(memory, tmp_path / "m.safetensors", patterns=pats)
        out_path = tmp_path / "m1.safetensors"
        code, out, err = run_cli("adapt", model, "--read-back", path, "-o", out_path)
    else:
        code, out, err = run_cli(*command, path, "-o", out_path)
    assert code == 2 and not out and len(err.strip().splitlines()) == 1, err
    assert "None" not in err and "another model or chip" not in err, err
    if len(shape) == 5:
        assert err.rstrip().endswith(f"an axis of size 1 in front of {shape[1:]}: drop it "
                                     "(a[0])"), err
    else:
        assert err.rstrip().endswith(f"got {shape}"), err
    assert not out_path.exists()


def test_a_read_back_that_does_not_follow_the_model_is_warned_about(memory, model, tmp_path,
                                                                    run_cli):
    """A conductance map read before programming (every device near mid-window) given to
    ``adapt --read-back``: every free device missed its target and was pinned, the round run
    and the adapted model saved without a word on why. A read-back whose readings hardly
    follow the model's conductances (rank correlation within +-0.2) is warned about; a
    read-back of the programming is not."""
    export_memory(memory, tmp_path / "e")
    programmed = np.load(tmp_path / "e" / "programmed_S.npy")
    rng = np.random.default_rng(0)
    before = np.clip(rng.normal(76e-6, 3e-6, size=programmed.shape), 0.0, None)
    np.save(tmp_path / "before.npy", before)
    code, _, err = run_cli("adapt", model, "--read-back", tmp_path / "before.npy", "--probes",
                           "2", "-o", tmp_path / "a.safetensors")
    assert code == 0, err
    warned = [line for line in err.splitlines() if "hardly follow" in line]
    assert len(warned) == 1 and "before.npy" in warned[0], err
    assert "a map read before programming, or the read-back of another model?" in warned[0]
    with pytest.warns(XbarmemWarning, match="hardly follow") as caught:  # at the user's line
        load_read_back(tmp_path / "before.npy", memory)
    assert [w.filename for w in caught] == [__file__]
    offset = programmed.copy()
    offset[0, 0, 0, 0] = -1e-9  # an instrument's offset: warned at the user's line too
    np.save(tmp_path / "offset.npy", offset)
    with pytest.warns(XbarmemWarning, match="below 0 S") as caught:
        load_read_back(tmp_path / "offset.npy", memory)
    assert [w.filename for w in caught] == [__file__]
    read = np.clip(programmed + rng.normal(0.0, 2e-6, size=programmed.shape), 0.0, None)
    np.save(tmp_path / "read.npy", read)
    code, _, err = run_cli("adapt", model, "--read-back", tmp_path / "read.npy", "--probes",
                           "2", "-o", tmp_path / "b.safetensors")
    assert code == 0 and "hardly follow" not in err, err
