"""A measured chip handed over the way a lab writes it: conductances in microsiemens,
resistances in ohms, readings below zero. One unit check
(:func:`xbarmem.hardware.units.unit_mismatch`) behind every reader of measured values: the
fault map of a conductance map (API and ``chip import --as conductance``), an ``adapt``
read-back, and a measured target-vs-read CSV (warned about: its chip's window comes from the
data)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from xbarmem.errors import FileFormatError, XbarmemWarning
from xbarmem.hardware.chip import load_chip
from xbarmem.hardware.faults import FaultMap
from xbarmem.hardware.measured import measured_chip, read_conductance_csv, read_measured_csv
from xbarmem.hardware.units import unit_mismatch

RRAM = load_chip("rram")
DEV = RRAM.device


def _map(seed: int = 0) -> np.ndarray:
    """A read-back of one 64x64 array in siemens: most devices inside the window, a few stuck
    at the rails."""
    rng = np.random.default_rng(seed)
    g = rng.uniform(20e-6, 130e-6, (2, 64, 64))
    g[rng.random(g.shape) < 0.02] = 1.5e-6
    g[rng.random(g.shape) < 0.01] = 151e-6
    return g


def test_the_unit_is_named_resistances_included():
    g = _map()
    assert unit_mismatch(g, DEV) is None
    assert unit_mismatch(g * 1e6, DEV).startswith("100% fit it as microsiemens (uS) (multiply "
                                                  "by 1e-06)")
    # resistances: the nanosiemens reading fits nearly as well, so both are named, ohms first
    ohms = unit_mismatch(1.0 / g, DEV)
    assert ohms.startswith("100% fit it as ohms (conductance = 1 / resistance) or "), ohms
    assert "nanosiemens" in ohms
    assert unit_mismatch(1e-3 / g, DEV).startswith("100% fit it as kilohms (kOhm)")
    # a file read in microsiemens (a CSV's read_uS) that holds siemens or nanosiemens
    assert unit_mismatch(g, DEV, 1e-6).startswith("100% fit it as siemens (S) (multiply by "
                                                  "1e+06)")
    assert unit_mismatch(g * 1e9, DEV, 1e-6).startswith("100% fit it as nanosiemens (nS) "
                                                        "(multiply by 0.001)")
    assert unit_mismatch(g * 1e6, DEV, 1e-6) is None


@pytest.mark.parametrize(("values", "fragment"), [
    (_map() * 1e6, "microsiemens (uS)"),
    (1.0 / _map(), "as ohms (conductance = 1 / resistance)"),
])
def test_a_conductance_map_in_another_unit_is_refused_naming_it(values, fragment):
    with pytest.raises(FileFormatError, match="conductance map is read in siemens, but most "
                       r"values lie outside the chip window \[2e-06, 0.00015\] S") as info:
        FaultMap.from_conductance_map(values, DEV)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_a_read_back_and_its_targets_in_different_units_are_refused_in_python():
    """``FaultMap.from_readback`` of readings in microsiemens against targets in siemens (or
    the reverse, or resistances) took every device, or most, as stuck at its reading, where
    the measured CSV, the same target-vs-read data, refuses both columns not in one unit. One
    rule (``units.unit_disagreement``) now refuses it in both, each in its own words."""
    rng = np.random.default_rng(0)
    target = np.stack([rng.choice([DEV.g_min, 40e-6, 90e-6, DEV.g_max], size=(64, 64))
                       for _ in range(2)])
    read = np.clip(target + rng.normal(0.0, 2e-6, size=target.shape), 0.0, None)
    assert FaultMap.from_readback(read, target, 10e-6, DEV).stuck.sum() == 0
    with pytest.raises(FileFormatError, match=r"the readings are 1e\+06 times their targets "
                       r"\(median over \d+ devices\): g_read and g_target must both be in "
                       r"siemens"):
        FaultMap.from_readback(read * 1e6, target, 10e-6, DEV)
    with pytest.raises(FileFormatError, match="times their targets"):
        FaultMap.from_readback(read, target * 1e6, 10e-6, DEV)
    with pytest.raises(FileFormatError, match="the readings fall as the targets rise"):
        FaultMap.from_readback(1e-3 / np.maximum(read, 1e-7) * 1e-6, target, 10e-6, DEV)


def test_readings_just_below_zero_are_an_offset_further_ones_refused():
    g = _map()
    g[0, 3, 5], g[1, 2, 2] = -0.3e-6, -1e-6  # within 1% of the highest reading (151 uS)
    for call in (lambda: FaultMap.from_conductance_map(g, DEV),
                 lambda: FaultMap.from_readback(g, _map(), 5e-6, DEV)):
        with pytest.warns(XbarmemWarning, match=r"2 readings below 0 S, down to -1e-06 S "
                          r"\(first: device \(array 0, G\+, row 3, col 5\)\), taken as 0 S: an "
                          r"instrument's offset \(up to 1.51e-06 S below 0 S"):
            fmap = call()
        assert fmap.g_stuck[0, 0, 3, 5] == 0.0 and fmap.g_stuck[0, 1, 2, 2] == 0.0
    g[1, 2, 2] = -2e-6  # further below: refused, naming the first such device
    for call in (lambda: FaultMap.from_conductance_map(g, DEV),
                 lambda: FaultMap.from_readback(g, _map(), 5e-6, DEV)):
        with pytest.raises(FileFormatError, match=r"device \(array 0, G-, row 2, col 2\) reads "
                           r"-2e-06 S \(1 reading below 0 S by more than an instrument's "
                           r"offset, up to 1.51e-06 S"):
            call()
    zero = _map()
    zero[0, 0, 0] = 0.0  # a device reading 0 is stuck OFF at 0
    fmap = FaultMap.from_conductance_map(zero, DEV)
    assert fmap.g_stuck[0, 0, 0, 0] == 0.0


def test_chip_import_refuses_ohms_and_negatives_writing_nothing(run_cli, tmp_path):
    g = _map()
    neg = g.copy()
    neg[0, 7, 9] = -2e-5
    for name, values, fragment in (("ohm", 1.0 / g, "as ohms"),
                                   ("neg", neg, "device (array 0, G+, row 7, col 9) reads "
                                                "-2e-05 S")):
        source, out = tmp_path / f"{name}.npy", tmp_path / f"{name}.npz"
        np.save(source, values)
        code, _, err = run_cli("chip", "import", source, "--as", "conductance", "-o", out)
        assert code == 2 and err.startswith(f"error: {source}: ") and fragment in err, err
        assert len(err.strip().splitlines()) == 1 and not out.exists()


def _measured_csv(path, scale: float) -> None:
    """A target-vs-read CSV of one 8x8 array, every value ``scale`` times microsiemens."""
    rng = np.random.default_rng(3)
    lines = ["array,row,col,polarity,target_uS,read_uS"]
    for i in range(8):
        for j in range(8):
            for polarity in ("G+", "G-"):
                target = rng.uniform(5.0, 140.0)
                read = target + rng.normal(0.0, 1.0) if (i, j) != (2, 3) else 150.0
                lines.append(f"0,{i},{j},{polarity},{target * scale:.6g},{read * scale:.6g}")
    path.write_text("\n".join(lines) + "\n")


def _rewrite(path, target=None, read=None) -> None:
    """Rewrite the target_uS and read_uS columns of the CSV at ``path`` (its last two) through
    the functions ``target`` and ``read`` of their values (None: as they are)."""
    lines = path.read_text().splitlines()
    out = [lines[0]]
    for line in lines[1:]:
        *head, t, r = line.split(",")
        out.append(",".join([*head, t if target is None else f"{target(float(t)):.6g}",
                             r if read is None else f"{read(float(r)):.6g}"]))
    path.write_text("\n".join(out) + "\n")


def test_a_measured_csv_in_another_unit_is_warned_about(tmp_path, run_cli):
    base = RRAM.replace_array(rows=8, cols=8)
    good, nano = tmp_path / "good.csv", tmp_path / "nano.csv"
    _measured_csv(good, 1.0)
    _measured_csv(nano, 1e3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        chip, _, _ = measured_chip(read_measured_csv(good, 8, 8), base)
    assert 100e-6 < chip.device.g_max < 150e-6
    with pytest.warns(XbarmemWarning, match=r"nano.csv: read_uS is read as microsiemens, but "
                      r"most readings lie outside the rram chip's window \[2e-06, 0.00015\] S, "
                      r"and 100% fit it as nanosiemens \(nS\) \(multiply by 0.001\)"):
        measured_chip(read_measured_csv(nano, 8, 8), base)
    toml = tmp_path / "chip.toml"
    toml.write_text(base.to_toml())
    code, _, err = run_cli("chip", "import", nano, "--chip", toml, "-o", tmp_path / "m.npz")
    assert code == 0 and err.startswith("warning: ") and "nanosiemens (nS)" in err, err


def test_a_csv_grid_is_refused_saying_where_a_grid_goes(tmp_path, run_cli):
    grid = tmp_path / "grid.csv"
    np.savetxt(grid, _map()[0] * 1e6, delimiter=",", fmt="%.3f")
    with pytest.raises(FileFormatError, match="line 1: a row of numbers, not the header "
                       r"array,row,col,polarity,target_uS,read_uS: .* read from \.npy/\.npz"):
        read_measured_csv(grid, 64, 64)
    code, _, err = run_cli("chip", "import", grid, "-o", tmp_path / "m.npz")
    assert code == 2 and "a row of numbers" in err and not (tmp_path / "m.npz").exists()


def test_read_and_target_columns_in_different_units_are_refused(tmp_path, run_cli):
    """Only read_uS in siemens (target_uS in microsiemens): refused naming both columns
    (was "stuck at 1e-10 S, far above the chip window" of the window measured from it)."""
    mixed = tmp_path / "mixed.csv"
    _measured_csv(mixed, 1.0)
    _rewrite(mixed, read=lambda r: r * 1e-6)
    with pytest.raises(FileFormatError, match=r"mixed.csv: read_uS is 1e-06 times target_uS "
                       r"\(median over 128 devices\): both columns must be in microsiemens"):
        read_measured_csv(mixed, 8, 8)
    code, _, err = run_cli("chip", "import", mixed, "-o", tmp_path / "m.npz")
    assert code == 2 and "both columns must be in microsiemens" in err, err
    assert not (tmp_path / "m.npz").exists()


def test_columns_named_in_another_unit_are_told_to_be_microsiemens(tmp_path, run_cli,
                                                                   refused_here):
    """A lab's CSV whose columns say their unit, ``target_S`` and ``read_S`` (or ``Read_nS``,
    or ``read`` of none): refused as ``header lacks column(s) target_uS, read_uS`` only. It now
    names the columns it found and that the conductances go in microsiemens, for ``chip
    import`` and a read-back CSV of ``adapt`` alike."""
    lab = tmp_path / "lab.csv"
    _measured_csv(lab, 1.0)
    lines = lab.read_text().splitlines()
    lines[0] = lines[0].replace("target_uS", "target_S").replace("read_uS", "Read_nS")
    lab.write_text("\n".join(lines) + "\n")
    line = refused_here("chip", "import", lab, "-o", tmp_path / "m.npz",
                        names=("header lacks column(s) target_uS, read_uS",))
    assert line.endswith(": 'target_S', 'Read_nS' are not read; give the conductances in "
                         "microsiemens, in columns named target_uS, read_uS"), line
    lab.write_text(lab.read_text().replace("target_S", "target_uS").replace("Read_nS", "read"))
    with pytest.raises(FileFormatError, match="'read' is not read; give the conductances in "
                                              "microsiemens, in a column named read_uS"):
        read_measured_csv(lab, 8, 8)


def test_a_measured_csv_in_ohms_is_refused_naming_the_unit(tmp_path, run_cli):
    """Resistances in ohms in both columns: the window measured from them is nonsense and a
    device reads far above it. The refusal names the unit (it said only "stuck at 0.8 S, far
    above the chip window [0.00653, 0.401] S": the unit warning is not printed when the command
    is refused)."""
    ohms = tmp_path / "ohms.csv"
    _measured_csv(ohms, 1.0)
    _rewrite(ohms, target=lambda t: 1e6 / t, read=lambda r: 1e6 / r)
    base = RRAM.replace_array(rows=8, cols=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XbarmemWarning)
        with pytest.raises(FileFormatError, match=r"ohms.csv: device .* far above the chip "
                           r"window .*; read_uS is read as microsiemens, but most readings lie "
                           r"outside the rram chip's window \[2e-06, 0.00015\] S, and 100% fit "
                           r"it as .*ohms \(conductance = 1 / resistance\)"):
            measured_chip(read_measured_csv(ohms, 8, 8), base)
    toml = tmp_path / "chip.toml"
    toml.write_text(base.to_toml())
    code, _, err = run_cli("chip", "import", ohms, "--chip", toml, "-o", tmp_path / "m.npz")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "as ohms (conductance = 1 / resistance)" in err and not (tmp_path / "m.npz").exists()


def test_a_read_column_of_kilohms_is_refused_not_read_as_a_chip(tmp_path, run_cli):
    """read_uS holding resistances in kilohms (target_uS in microsiemens): their numbers lie
    inside the window read as microsiemens (1000 / 5..140 uS = 7..200), so neither the unit
    check nor the ratio of the columns saw them, and a "measured chip" of window 7-200 uS and
    tens of uS of write error was written, exit 0. The readings fall as the targets rise:
    refused, naming the cause."""
    kohm = tmp_path / "kohm.csv"
    _measured_csv(kohm, 1.0)
    _rewrite(kohm, read=lambda r: 1e3 / r)
    with pytest.raises(FileFormatError, match=r"kohm.csv: read_uS falls as target_uS rises "
                       r"\(rank correlation -0\.\d\d over 128 devices\): resistances\? read_uS "
                       r"must be conductances in microsiemens \(1000 / kOhm\)"):
        read_measured_csv(kohm, 8, 8)
    toml, fmap, chip = tmp_path / "chip.toml", tmp_path / "m.npz", tmp_path / "measured.toml"
    toml.write_text(RRAM.replace_array(rows=8, cols=8).to_toml())
    code, out, err = run_cli("chip", "import", kohm, "--chip", toml, "-o", fmap,
                             "--chip-out", chip)
    assert code == 2 and not out and len(err.strip().splitlines()) == 1, err
    assert "resistances?" in err and not fmap.exists() and not chip.exists()
    # readings that follow their targets (the same file in microsiemens) are read
    _measured_csv(kohm, 1.0)
    assert read_measured_csv(kohm, 8, 8).read.shape == (1, 2, 8, 8)


def _stuck_read_back(rng, n: int, stuck: float) -> tuple[np.ndarray, np.ndarray]:
    """``(target, read)`` uS of ``n`` devices of a 2-150 uS window written with a 2 uS error,
    a share ``stuck`` of them reading a rail instead."""
    target = rng.uniform(2.0, 150.0, n)
    read = target + rng.normal(0.0, 2.0, n)
    at_rail = rng.random(n) < stuck
    read[at_rail] = rng.choice([2.0, 150.0], int(at_rail.sum()))
    return target, np.clip(read, 0.5, None)


def test_kilohms_of_a_chip_with_many_stuck_devices_are_refused(tmp_path):
    """Stuck devices pull the rank correlation of a map of resistances towards 0: with 40% of
    1000 devices stuck it is about -0.4, which the fixed threshold -0.5 let through as
    conductances (49% of such maps with 30% stuck); below -2 / sqrt(devices) and -0.2 it is
    refused."""
    target, read = _stuck_read_back(np.random.default_rng(0), 1000, 0.4)
    lines = ["array,row,col,polarity,target_uS,read_uS"]
    lines += [f"0,{k // 32},{k % 32},{'G+' if k < 1024 else 'G-'},{t:.6g},{1e3 / r:.6g}"
              for k, (t, r) in enumerate(zip(target, read, strict=True))]
    (tmp_path / "kohm.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(FileFormatError, match=r"read_uS falls as target_uS rises \(rank "
                       r"correlation -0\.[2-4]\d over 1000 devices\): resistances\?"):
        read_measured_csv(tmp_path / "kohm.csv", 32, 32)


def test_read_backs_of_few_devices_many_stuck_are_seldom_taken_for_resistances():
    """A read-back of 10 devices, half of them stuck at a rail, falls with its targets by
    chance: the fixed threshold -0.5 took 2.2% of them for resistances; -2 / sqrt(10)
    fewer than 1.5%."""
    from xbarmem.hardware.units import falls_with_target

    rng = np.random.default_rng(0)
    alarms = sum(falls_with_target(*_stuck_read_back(rng, 10, 0.5)[::-1]) is not None
                 for _ in range(4000))
    assert alarms < 60, alarms


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_spreadsheets_csv_is_read_as_the_comma_one(tmp_path, run_cli, delimiter):
    """A CSV saved by a spreadsheet of a locale with decimal commas (``;`` between fields,
    ``12,5``) or tab-separated, after comment lines, is read as the comma one (was refused:
    "header lacks column(s) array, row, col, polarity, target_uS, read_uS", every one of
    them, which the header held)."""
    good = tmp_path / "good.csv"
    _measured_csv(good, 1.0)
    text = good.read_text().replace(",", delimiter)
    if delimiter == ";":
        text = text.replace(".", ",")
    lab = tmp_path / "lab.csv"
    lab.write_text("# read-back 2026-12-01, probe station\n" + text)
    want = read_measured_csv(good, 8, 8)
    got = read_measured_csv(lab, 8, 8)
    np.testing.assert_array_equal(got.read, want.read)
    np.testing.assert_array_equal(got.target, want.target)
    np.testing.assert_array_equal(read_conductance_csv(lab, 8, 8), read_conductance_csv(good, 8, 8))
    toml = tmp_path / "chip.toml"
    toml.write_text(RRAM.replace_array(rows=8, cols=8).to_toml())
    code, _, err = run_cli("chip", "import", lab, "--chip", toml, "-o", tmp_path / "m.npz")
    assert code == 0 and (tmp_path / "m.npz").exists(), err


def test_a_decimal_comma_in_a_comma_separated_csv_is_refused(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text('array,row,col,polarity,target_uS,read_uS\n0,0,0,G+,"12,5",12.4\n')
    with pytest.raises(FileFormatError, match=r"bad.csv: line 2, column 'target_uS': '12,5' "
                       "is not a number"):
        read_measured_csv(bad, 8, 8)


def _reads(n: int, seed: int = 0) -> np.ndarray:
    """``n`` reads ``(n, 2, 64, 64)`` of one array of :func:`_map` (0.5 uS read noise)."""
    rng = np.random.default_rng(seed + 1)
    return np.clip(_map(seed)[None] + rng.normal(0.0, 0.5e-6, (n, 2, 64, 64)), 0.0, None)


def test_repeated_reads_are_not_read_as_pairs_or_arrays(tmp_path, run_cli):
    """A lab's stack of repeated reads: two reads of one plane, ``(2, 64, 64)``, were read as
    the G+ and G- devices of the pairs (every stuck device's partner stuck too), and five
    reads of one array, ``(5, 2, 64, 64)``, as five arrays, exit 0. Their stuck devices
    coincide and their other readings differ by read noise only: refused, saying so."""
    reads = _reads(5)
    with pytest.raises(FileFormatError, match=r"conductance map: the G\+ and G- planes of "
                       r"array 0 read alike \(\d+ of \d+ stuck devices in the same places, the "
                       r"others' readings correlating (0\.9\d|1\.00)\): two reads of one plane\?"):
        FaultMap.from_conductance_map(reads[:2, 0], DEV)
    with pytest.raises(FileFormatError, match=r"arrays 0 and 1 read alike .*: several reads "
                       r"of one array\? .* average repeated reads first"):
        FaultMap.from_conductance_map(reads, DEV)
    stack, out = tmp_path / "reads.npy", tmp_path / "m.npz"
    np.save(stack, reads)
    code, _, err = run_cli("chip", "import", stack, "--as", "conductance", "-o", out)
    assert code == 2 and "several reads of one array?" in err and not out.exists(), err
    assert len(err.strip().splitlines()) == 1
    # their mean is one array; other devices (their own faults and write error) are read
    assert FaultMap.from_conductance_map(reads.mean(axis=0), DEV).n_arrays == 1
    other = np.stack([_map(0), _map(1)])
    assert FaultMap.from_conductance_map(other, DEV).n_arrays == 2
    same_targets = np.stack([_map(0)[0], _map(0)[0] + 2e-6 * np.random.default_rng(5)
                             .standard_normal((64, 64))])
    same_targets[1, :3] = 1e-6  # a few broken rows of its own: not the same devices
    FaultMap.from_conductance_map(np.clip(same_targets, 0.0, None), DEV)


@pytest.mark.parametrize("name", ["gplus.tsv", "gplus.txt", "gplus.npy"])
def test_a_text_table_given_as_an_array_says_it_is_text(tmp_path, run_cli, name):
    """A tab-separated table of conductances (as instruments save them) given where an array
    file goes: "not a NumPy .npy array (bad magic)" named the format's magic number only."""
    table = tmp_path / name
    np.savetxt(table, _map()[0], delimiter="\t")
    out = tmp_path / "m.npz"
    code, _, err = run_cli("chip", "import", table, "--as", "conductance", "-o", out)
    assert code == 2 and len(err.strip().splitlines()) == 1 and not out.exists(), err
    assert err.startswith(f"error: {table}: not a NumPy .npy array; the file is text (a table "
                          "of numbers? an array is read from the binary .npy/.npz files"), err


def test_a_shorted_device_is_refused_saying_what_to_give_it(tmp_path, run_cli):
    """A device shorted to 5 mS on a 150 uS chip: refused (the model holds stuck devices up to
    one window width above g_max), and the message says what a lab does with it (it named
    the limit only)."""
    g = _map()
    g[0, 6, 6] = 5e-3
    source, out = tmp_path / "short.npy", tmp_path / "m.npz"
    np.save(source, g)
    code, _, err = run_cli("chip", "import", source, "--as", "conductance", "-o", out)
    assert code == 2 and len(err.strip().splitlines()) == 1 and not out.exists(), err
    assert "is stuck at 0.005 S, far above the chip window" in err
    assert err.rstrip().endswith("; shorted? give such a device g_max (0.00015 S), stuck ON"), err
    g[0, 6, 6] = DEV.g_max  # as the message says: imported, stuck ON
    assert FaultMap.from_conductance_map(g, DEV).g_stuck[0, 0, 6, 6] == DEV.g_max


@pytest.mark.parametrize("name", ["map.npz", "map.csv"])
def test_a_fault_map_in_microsiemens_is_refused_naming_the_unit(tmp_path, run_cli, name):
    """A fault map written by hand with its stuck values in microsiemens (150 for stuck ON):
    refused as "stuck at 150 S ...; shorted? give such a device g_max", as if every stuck
    device were shorted; the unit check behind every reader of measured values names the
    unit."""
    fmap = FaultMap.generate(load_chip("rram").with_faults(0.1), 2, seed=1)
    siemens = fmap.save(tmp_path / f"s-{name}")
    micro = FaultMap(fmap.g_stuck * 1e6, fmap.meta).save(tmp_path / name)
    model = tmp_path / "m.safetensors"
    code, _, err = run_cli("train", "--chip", "rram", "--fault-map", micro, "--data", "random",
                           "--patterns", "2", "--neurons", "16", "-o", model)
    assert code == 2 and len(err.strip().splitlines()) == 1 and not model.exists(), err
    assert "fit it as microsiemens (uS)" in err and "a fault map holds siemens" in err, err
    assert "shorted" not in err
    assert FaultMap.load(siemens, DEV).n_arrays == 2


def test_a_fault_map_in_microsiemens_with_devices_never_formed_is_named_microsiemens(tmp_path):
    """The guide's measured map (devices never formed read 0.5 uS, below g_min; stuck ON at
    155 uS) imported, then saved with its stuck values in microsiemens: the unit check judged
    them against the window of a programmed device (from g_min / 2), where 0.5 uS does not
    fit, so it named megohms only (0.5 MOhm is 2 uS); a stuck device is held anywhere from
    0 S to g_max + 1 window width, and microsiemens are named first."""
    rng = np.random.default_rng(2)
    g = rng.normal(76e-6, 3e-6, size=(2, 64, 64))
    g[rng.random(g.shape) < 0.06] = 0.5e-6
    g[rng.random(g.shape) < 0.02] = 155e-6
    fmap = FaultMap.from_conductance_map(g, DEV)
    micro = FaultMap(fmap.g_stuck * 1e6, fmap.meta).save(tmp_path / "micro.npz")
    with pytest.raises(FileFormatError) as caught:
        FaultMap.load(micro, DEV)
    message = str(caught.value)
    assert "and 100% fit it as microsiemens (uS)" in message, message
    assert "shorted" not in message
    ohms = FaultMap(np.where(fmap.stuck, 1e-6 / np.nan_to_num(fmap.g_stuck, nan=1.0), np.nan),
                    fmap.meta).save(tmp_path / "ohms.npz")  # megohms: named first
    with pytest.raises(FileFormatError, match="and 100% fit it as megohms"):
        FaultMap.load(ohms, DEV)


@pytest.mark.parametrize("name", ["mask.npy", "mask.npz"])
def test_a_bool_mask_of_stuck_devices_is_refused_as_codes(tmp_path, run_cli, name):
    """A true/false mask of which devices are stuck (no ON / OFF) imported as codes: True was
    read as +1, and every stuck device became stuck ON at g_max without a word."""
    mask = np.zeros((2, 64, 64), dtype=bool)
    mask[0, 1, 1] = mask[1, 2, 3] = True
    source, out = tmp_path / name, tmp_path / "m.npz"
    np.savez(source, stuck=mask) if name.endswith(".npz") else np.save(source, mask)
    code, _, err = run_cli("chip", "import", source, "-o", out)
    assert code == 2 and len(err.strip().splitlines()) == 1 and not out.exists(), err
    assert "true/false (2 true)" in err and "+1 stuck ON" in err, err
    with pytest.raises(FileFormatError, match="a mask says which devices are stuck"):
        FaultMap.from_codes(mask, DEV)
    assert FaultMap.from_codes(mask.astype(np.int8), DEV).stuck.sum() == 2  # as integers


def test_export_says_which_cells_of_an_array_a_layer_uses(run_cli, small_model, tmp_path):
    """A memory of 16 neurons (and its bias row) on 64x64 arrays: the export said "1 array
    of 64x64, 544 devices used" and not where they are; the manifest's tile ranges did not say
    that their stop is excluded ([0, 17]: rows 0-16)."""
    folder = tmp_path / "e"
    code, out, err = run_cli("export", small_model, "-o", folder)
    assert code == 0, err
    assert ("cells used of the 64x64 arrays a layer does not fill (the rest unused):\n"
            "  layer 0 array 0: rows 0-16, cols 0-15\n") in out, out
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["layers"][0]["tiles"][0]["physical_rows"] == [0, 17]
    assert manifest["arrays"]["tiles"].startswith("layers[k].tiles: rows and cols as "
                                                  "[start, stop), stop excluded")


@pytest.mark.parametrize("command, option, value, meant", [
    ("adapt", "--tolerance", "5e-06", "5 uS"),
    ("adapt", "--write-noise", "2e-06", "2 uS"),
    ("adapt", "--read-noise", "5e-07", "0.5 uS"),
    ("adapt --read-back", "--tolerance", "3e-06", "3 uS"),
    ("chip import", "--tolerance", "4e-06", "4 uS"),
])
def test_a_microsiemens_option_given_in_siemens_is_refused_naming_the_value_meant(
        small_model, tmp_path, run_cli, command, option, value, meant):
    """A microsiemens option given in siemens (``--tolerance 5e-06`` for 5 uS) was taken as
    5 pS: adapt pinned every device it read (a tolerance no reading meets), ran its noise at
    picosiemens, and chip import refused the file ("fewer than 2 devices reached their target
    within 5e-06 uS; cannot estimate the window"), never naming the unit. Each is refused
    before any work, naming the option, the chip's window and the value it meant."""
    out_path = tmp_path / ("map.npz" if command == "chip import" else "m1.safetensors")
    if command == "chip import":
        path = tmp_path / "measured.csv"
        _measured_csv(path, 1.0)
        args = ["chip", "import", path, "--chip", "rram", "-o", out_path]
    else:
        args = ["adapt", small_model, "--rounds", "1", "--probes", "2", "-o", out_path]
        if command.endswith("--read-back"):
            read = tmp_path / "read.npy"
            np.save(read, np.full((1, 2, 64, 64), 80e-6))
            args = ["adapt", small_model, "--read-back", read, "-o", out_path]
    code, out, err = run_cli(*args, option, value)
    assert code == 2 and not out and len(err.strip().splitlines()) == 1, err
    assert err.strip() == (f"error: {option} = {value} uS is less than a "
                           f"millionth of the rram chip's conductance window (148 uS): it is in "
                           f"microsiemens; {value} S is {meant}"), err
    assert not out_path.exists()
