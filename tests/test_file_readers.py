"""Readers' branches and public refusals that no other test ran (found under coverage): fault-map
files (.csv / .npz) that are not fault maps, measured and read-back CSVs, read-backs of one
array or of too few arrays, 8-bit pattern rows, a hardware driver answering in the wrong shape,
and the memory / crossbar API given weights that do not fit."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.deploy.backend import DriverBackend
from xbarmem.deploy.readback import load_read_back
from xbarmem.errors import ConfigError, FileFormatError, PatternError, XbarmemError
from xbarmem.hardware.faults import FaultMap
from xbarmem.hardware.measured import measured_chip, read_conductance_csv, read_measured_csv

SMALL = xm.load_preset("rram").replace_array(rows=8, cols=8)
DEV = SMALL.device
HEAD = "# xbarmem fault map: arrays=1 rows=2 cols=2"
COLUMNS = "array,plane,row,col,g_stuck_S"


def _one_line(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert "\n" not in str(info.value) and isinstance(info.value, XbarmemError)


# ------------------------------------------------------------------------------- fault maps
@pytest.mark.parametrize(("name", "text", "match"), [
    ("empty.csv", "", "line 1 must be the '# xbarmem fault map"),
    ("nohead.csv", f"hello\n{COLUMNS}\n", "line 1 must be the '# xbarmem fault map"),
    ("badsize.csv", f"# xbarmem fault map: arrays=1 rows=x cols=2\n{COLUMNS}\n",
     "line 1: bad header"),
    ("nosize.csv", f"# xbarmem fault map: arrays=1 rows=2\n{COLUMNS}\n", "line 1: bad header"),
    ("metalist.csv", f"{HEAD} meta=[1]\n{COLUMNS}\n", "line 1: meta must be a JSON object"),
    ("metajson.csv", f"{HEAD} meta={{x\n{COLUMNS}\n", "line 1: bad header"),
    ("nocols.csv", f"{HEAD}\n", "line 2 must be array,plane,row,col,g_stuck_S"),
    ("badcols.csv", f"{HEAD}\narray,row\n", "line 2 must be"),
    ("map.txt", "x", "must end in .npz or .csv"),
])
def test_fault_map_files_that_are_not_maps_are_refused(tmp_path, name, text, match):
    (tmp_path / name).write_text(text)
    _one_line(lambda: FaultMap.load(tmp_path / name), FileFormatError, match)


@pytest.mark.parametrize(("arrays", "match"), [
    ({"other": np.zeros(3)}, "not an xbarmem fault map \\(no 'g_stuck' array"),
    ({"g_stuck": np.full((1, 2, 2, 2), np.nan), "meta": np.array("{x")},
     "'meta' must hold a JSON object"),
    ({"g_stuck": np.full((1, 2, 2, 2), np.nan), "meta": np.array("[1, 2]")},
     "'meta' must hold a JSON object"),
    ({"g_stuck": np.full((1, 2, 2, 2), np.nan), "meta": np.array(3)},
     "'meta' must hold a JSON object"),
    ({"g_stuck": np.full((2, 2, 2), np.nan)}, "must have shape \\(n_arrays, 2, rows, cols\\)"),
    ({"g_stuck": np.array([[[["a"]]]])}, "conductances must be real numbers"),
])
def test_fault_map_npz_files_that_are_not_maps_are_refused(tmp_path, arrays, match):
    np.savez(tmp_path / "m.npz", **arrays)
    _one_line(lambda: FaultMap.load(tmp_path / "m.npz"), FileFormatError, match)


def test_fault_map_csv_round_trip_keeps_every_stuck_device(tmp_path):
    fmap = FaultMap.generate(SMALL.with_faults(0.3), 2, seed=4)
    back = FaultMap.load(fmap.save(tmp_path / "m.csv"))
    np.testing.assert_array_equal(back.g_stuck, fmap.g_stuck)  # NaN = free, in the same places
    assert {k: v for k, v in back.meta.items() if k != "file"} == fmap.meta
    assert back.meta["file"].endswith("m.csv")
    _one_line(lambda: fmap.save(tmp_path / "m.txt"), FileFormatError, "must end in .npz or .csv")
    assert not (tmp_path / "m.txt").exists()


def test_a_fault_map_keeps_the_file_it_was_made_from_as_csv_as_npz(tmp_path):
    """A map imported from a measurement and saved as .csv named itself as its source file on
    load (`meta.file`), the .npz the measurement: both now name the measurement."""
    fmap = FaultMap.from_conductance_map(np.full((1, 2, 64, 64), 60e-6), DEV)
    fmap.meta["file"] = "readback.npy"
    for name in ("m.csv", "m.npz"):
        assert FaultMap.load(fmap.save(tmp_path / name)).meta == fmap.meta, name


def test_fault_maps_from_measurements_refuse_what_does_not_fit():
    ones = np.full((1, 2, 2, 2), 5e-5)
    _one_line(lambda: FaultMap.from_readback(ones, np.full((1, 2, 2, 3), 5e-5), 1e-6, DEV),
              FileFormatError, "read-back map \\(1, 2, 2, 2\\) and targets \\(1, 2, 2, 3\\) differ")
    _one_line(lambda: FaultMap.from_conductance_map(ones, DEV, off_below=1e-4, on_above=5e-5),
              ConfigError, "off_below .* must be below on_above")
    _one_line(lambda: FaultMap(ones.astype(complex)), FileFormatError, "real numbers")
    _one_line(lambda: FaultMap(np.full((1, 2, 2, 2), np.nan), [1]), FileFormatError,
              "meta must be a JSON object")
    # a device off its target by more than the tolerance is stuck at its reading
    target = ones.copy()
    read = ones.copy()
    read[0, 1, 0, 1] = 9e-5
    fmap = FaultMap.from_readback(read, target, 1e-6, DEV)
    assert np.argwhere(fmap.stuck).tolist() == [[0, 1, 0, 1]]
    assert fmap.g_stuck[0, 1, 0, 1] == 9e-5


# ------------------------------------------------------------------------ measured CSV files
@pytest.mark.parametrize(("reader", "text", "match"), [
    (read_conductance_csv, "array,row,col,polarity,read_uS\n0,0,0,G+,10\n0,0,0,G+,11\n",
     "line 3: device \\(array 0, G\\+, row 0, col 0\\) already given on line 2; several "
     "reads of one device\\? give their mean, one line per device"),
    (read_conductance_csv, "array,row,col,polarity,read_uS\n0,0,0,G+,\n",
     "no device read \\(every row lacks read_uS\\)"),
    (read_conductance_csv, "array,row,col,polarity,read_uS,read_uS\n0,0,0,G+,1,2\n",
     "line 1: column 'read_uS' appears twice"),
    (read_measured_csv, "array,row,col,polarity,target_uS,read_uS,stuck\n0,0,0,G+,10,10,2\n",
     "line 2, column 'stuck': '2' is not 0 or 1"),
    (read_measured_csv, "array,row,col,polarity,target_uS,read_uS\n0,0,0,G+,10,\n0,0,1,G+,,4\n",
     "no measured device"),
])
def test_measured_csvs_name_the_line_and_column(tmp_path, reader, text, match):
    (tmp_path / "m.csv").write_text(text)
    _one_line(lambda: reader(tmp_path / "m.csv", 8, 8), FileFormatError, match)


@pytest.mark.parametrize(("reads", "match"), [
    ((10, 90, 95), "fewer than 2 devices reached their target within 1 uS"),
    ((10, 10, 95), "every device that reached its target reads 10 uS"),
])
def test_a_measured_chip_needs_two_distinct_good_devices(tmp_path, reads, match):
    lines = ["array,row,col,polarity,target_uS,read_uS"]
    lines += [f"0,0,{j},G+,10,{r}" for j, r in enumerate(reads)]
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    measurement = read_measured_csv(tmp_path / "m.csv", 8, 8)
    _one_line(lambda: measured_chip(measurement, SMALL, 1e-6), FileFormatError, match)


# ----------------------------------------------------------------------------- read-backs
@pytest.fixture(scope="module")
def four_arrays():
    """A pinv memory of N = 12 on 8x8 arrays: 2 x 2 tiles, arrays 0-3, and its conductances."""
    mem = xm.train(xm.random_patterns(2, 12, seed=0), chip=SMALL, rule="pinv")
    layer = mem.layers[0]
    return mem, layer.scatter(np.stack([layer.g_pos, layer.g_neg]))


def _csv(path, g, arrays):
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["array", "row", "col", "polarity", "read_uS"])
        for a, p, i, j in np.argwhere(~np.isnan(g)):
            if a in arrays:
                out.writerow([a, i, j, ("G+", "G-")[p], repr(float(g[a, p, i, j] * 1e6))])
    return path


def test_a_read_back_csv_missing_an_array_names_its_first_device(four_arrays, tmp_path):
    mem, g = four_arrays
    np.testing.assert_allclose(load_read_back(_csv(tmp_path / "all.csv", g, range(4)), mem), g,
                               rtol=1e-12)
    _one_line(lambda: load_read_back(_csv(tmp_path / "a0.csv", g, [0]), mem), ConfigError,
              "device \\(array 1, G\\+, row 0, col 0\\) and 159 more used by the model has no "
              "reading")
    _one_line(lambda: load_read_back(tmp_path / "all.csv", mem, key="g"), ConfigError,
              "--key applies to an .npz read-back, not all.csv")


def test_a_one_array_read_back_may_drop_the_array_axis(tmp_path):
    mem = xm.train(xm.random_patterns(2, 6, seed=0), chip=SMALL, rule="pinv")
    layer = mem.layers[0]
    g = layer.scatter(np.stack([layer.g_pos, layer.g_neg]))
    assert g.shape == (1, 2, 8, 8)
    np.save(tmp_path / "r.npy", g[0])  # (2, rows, cols)
    np.testing.assert_array_equal(load_read_back(tmp_path / "r.npy", mem), g)


@pytest.mark.parametrize("arrays", [False, True])
def test_g_plus_and_g_minus_planes_read_from_two_arrays_of_an_npz(tmp_path, arrays):
    """``key="PLUS,MINUS"`` stacks two arrays of an .npz as the pairs' G+ and G- planes, for a
    read-back as for ``chip import``: the same as the stacked array."""
    mem = xm.train(xm.random_patterns(2, 6, seed=0), chip=SMALL, rule="pinv")
    layer = mem.layers[0]
    g = layer.scatter(np.stack([layer.g_pos, layer.g_neg]))  # (1, 2, 8, 8)
    plus, minus = (g[:, 0], g[:, 1]) if arrays else (g[0, 0], g[0, 1])
    np.savez(tmp_path / "r.npz", gp=plus, gm=minus, other=np.zeros(3))
    np.testing.assert_array_equal(load_read_back(tmp_path / "r.npz", mem, key="gp, gm"), g)
    # the planes in the other order: the readings follow the other plane's conductances
    # (were read as the chip, every device off its target)
    _one_line(lambda: load_read_back(tmp_path / "r.npz", mem, key="gm,gp"), ConfigError,
              r"r.npz: the readings fall as the model's conductances rise \(rank correlation "
              r"-0\.\d\d over 72 devices\) and follow those of the other plane: G\+ and G- "
              r"swapped\? the axis of size 2 is G\+ then G- \(--key PLUS,MINUS\)")


@pytest.mark.parametrize(("key", "message"), [
    ("gp,", "a key with a comma names two arrays, the G\\+ and G- planes"),
    ("gp,gm,gp", "a key with a comma names two arrays"),
    ("gp,nope", "no array named 'nope'"),
    ("gp,other", "must be two arrays of one shape.*got \\(8, 8\\) and \\(3,\\)"),
    ("other,other", "key 'other,other' names the array 'other' twice: the G\\+ and G- planes "
                    "are two arrays"),
    ("gp,gp", "key 'gp,gp' names the array 'gp' twice"),  # (was taken: G+ read as G- too)
])
def test_bad_plane_keys_are_one_line(tmp_path, key, message):
    g = np.full((8, 8), 50e-6)
    np.savez(tmp_path / "r.npz", gp=g, gm=g, other=np.zeros(3))
    mem = xm.train(xm.random_patterns(2, 6, seed=0), chip=SMALL, rule="pinv")
    _one_line(lambda: load_read_back(tmp_path / "r.npz", mem, key=key), FileFormatError, message)
    np.save(tmp_path / "r.npy", g)
    _one_line(lambda: load_read_back(tmp_path / "r.npy", mem, key="gp,gm"), FileFormatError,
              "single .npy array; the G\\+ and G- planes 'gp,gm' are read from two arrays")


def test_chip_import_reads_the_planes_of_two_arrays(tmp_path, run_cli):
    rng = np.random.default_rng(0)
    g = rng.uniform(2e-6, 150e-6, size=(2, 64, 64))
    np.savez(tmp_path / "planes.npz", g_plus=g[0], g_minus=g[1])
    np.save(tmp_path / "stacked.npy", g)
    code, _, err = run_cli("chip", "import", tmp_path / "planes.npz", "--as", "conductance",
                           "-o", tmp_path / "a.npz")
    assert code == 2 and "--key PLUS,MINUS, as the G+ and G- planes" in err
    code, _, err = run_cli("chip", "import", tmp_path / "planes.npz", "--as", "conductance",
                           "--key", "g_plus,g_minus", "-o", tmp_path / "a.npz")
    assert code == 0, err
    code, _, err = run_cli("chip", "import", tmp_path / "stacked.npy", "--as", "conductance",
                           "-o", tmp_path / "b.npz")
    assert code == 0, err
    a, b = FaultMap.load(tmp_path / "a.npz"), FaultMap.load(tmp_path / "b.npz")
    np.testing.assert_array_equal(a.stuck, b.stuck)
    assert a.stuck.any()


# --------------------------------------------------------------------------- pattern files
def test_8_bit_rows_are_images_binarised_at_their_mean(tmp_path):
    rng = np.random.default_rng(0)
    square = rng.integers(0, 256, size=(3, 64)).astype(np.uint8)
    np.save(tmp_path / "rows.npy", square)
    np.save(tmp_path / "stack.npy", square.reshape(3, 8, 8))
    rows = xm.load_file(tmp_path / "rows.npy")
    assert rows.image_shape == (8, 8)
    expected = np.where(square > square.mean(axis=1, keepdims=True), 1.0, -1.0)
    np.testing.assert_array_equal(rows.patterns, expected)
    for side in (None, 4):  # (P, r*r) rows are read as the (P, r, r) stack they are
        a = xm.load_file(tmp_path / "rows.npy", side=side)
        b = xm.load_file(tmp_path / "stack.npy", side=side)
        np.testing.assert_array_equal(a.patterns, b.patterns)
        assert a.image_shape == b.image_shape
    odd = rng.integers(0, 256, size=(2, 10)).astype(np.uint8)  # rows that are no square
    np.save(tmp_path / "odd.npy", odd)
    got = xm.load_file(tmp_path / "odd.npy")
    assert got.image_shape is None
    np.testing.assert_array_equal(got.patterns,
                                  np.where(odd > odd.mean(axis=1, keepdims=True), 1.0, -1.0))


def test_boolean_patterns_are_zero_one_patterns():
    flags = np.array([[True, False, True], [False, False, True]])
    got = xm.as_pattern_set(flags, zero_one=True)
    np.testing.assert_array_equal(got.patterns, np.where(flags, 1.0, -1.0))
    with pytest.raises(PatternError, match="pass zero_one=True"):
        xm.as_pattern_set(flags)


# -------------------------------------------------------------------------------- drivers
class _Misreading:
    """A driver whose reads or products come back in another shape than asked."""

    def __init__(self, g, read_shape=None, apply_shape=None):
        self.g, self.read_shape, self.apply_shape = g, read_shape, apply_shape

    def write(self, array, targets):
        self.g[array] = np.where(np.isnan(targets), self.g[array], targets)

    def read(self, array):
        return self.g[array] if self.read_shape is None else np.zeros(self.read_shape)

    def apply(self, array, voltages):
        out = np.einsum("br,prc->bpc", voltages, self.g[array])
        return out if self.apply_shape is None else np.zeros(self.apply_shape)


def test_a_driver_answering_in_another_shape_is_named():
    layer = xm.Crossbar(SMALL, 6, 6, FaultMap.empty(1, 8, 8), bias=True)
    layer.program(0.1 * torch.ones(6, 6), torch.zeros(6))
    g = np.full((1, 2, 8, 8), DEV.g_min)
    _one_line(lambda: DriverBackend(_Misreading(g, read_shape=(2, 8)), layer).read_back(),
              PatternError, "driver.read\\(0\\) returned shape \\(2, 8\\), expected \\(2, 8, 8\\)")
    _one_line(lambda: DriverBackend(_Misreading(g, apply_shape=(3, 8)), layer).matvec(
        torch.ones(3, 6)), PatternError,
        "driver.apply\\(0\\) returned shape \\(3, 8\\), expected \\(3, 2, 8\\)")


# ------------------------------------------------------------------------- memories by hand
def test_weights_that_do_not_fit_a_memory_are_refused():
    chip = xm.load_preset("ideal").replace_array(rows=16, cols=16)
    mem = xm.MultilayerMemory(12, 8, chip, fault_seed=0)
    gen = torch.Generator().manual_seed(0)
    w = [0.3 * torch.randn(8, 12, generator=gen), 0.3 * torch.randn(12, 8, generator=gen)]
    b = [0.1 * torch.ones(8), -0.1 * torch.ones(12)]
    assert mem.target_biases is None  # nothing programmed yet
    _one_line(lambda: mem.program(w[:1], b), ConfigError, "need weights for 2 layers, got 1")
    _one_line(lambda: mem.program(w, b[:1]), ConfigError, "need biases for 2 layers, got 1")
    mem.program(w, b)
    for got, want in zip(mem.target_biases, b, strict=True):
        torch.testing.assert_close(got, want)
    for got, want in zip(mem.biases, b, strict=True):  # an ideal chip writes them exactly
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    _one_line(lambda: xm.MultilayerMemory(12, [], chip), ConfigError,
              "hidden must name at least one hidden layer width")
    bar = xm.Crossbar(chip, 12, 12, FaultMap.empty(1, 16, 16))
    _one_line(lambda: bar.matvec(torch.ones(2, 12)), ConfigError, "has not been programmed")
    _one_line(lambda: bar.program(torch.ones(12, 11)), PatternError,
              "weights must have shape \\(12, 12\\), got \\(12, 11\\)")
    _one_line(lambda: bar.program(torch.ones(12, 12), torch.ones(11)), PatternError,
              "bias must have shape \\(12,\\), got \\(11,\\)")
    _one_line(lambda: bar.program(torch.full((12, 12), float("nan"))), PatternError, "NaN or inf")
    bare = xm.Crossbar(chip, 12, 12, FaultMap.empty(1, 16, 16), bias=False)
    _one_line(lambda: bare.program(torch.ones(12, 12), torch.ones(12)), ConfigError,
              "no bias row but a non-zero bias")
    bar.program(0.1 * torch.ones(12, 12))
    _one_line(lambda: bar.matvec(torch.ones(2, 11)), PatternError,
              "input must have shape \\(batch, 12\\), got \\(2, 11\\)")
    _one_line(lambda: bar.set_conductances(np.zeros((12, 12)), np.zeros((12, 12)), 0.5),
              ConfigError, "conductances must have shape \\(12, 13\\)")
    _one_line(lambda: xm.FloatMatrix(torch.ones(3)), PatternError, "non-empty \\(n_out, n_in\\)")
    _one_line(lambda: xm.FloatMatrix(torch.ones(3, 3), torch.ones(2)), PatternError,
              "bias must have shape \\(3,\\), got \\(2,\\)")


def test_rebuild_puts_the_same_memory_on_other_faults():
    chip = xm.load_preset("rram").replace_array(rows=16, cols=16)
    mem = xm.SingleLayerMemory(12, chip, bias=False)
    faults = FaultMap.generate(chip.with_faults(0.2), 1, seed=3)
    new = mem.rebuild(faults)
    assert type(new) is type(mem) and new.sizes == mem.sizes and not new.has_bias
    np.testing.assert_array_equal(new.faults.g_stuck, faults.g_stuck)
    _one_line(lambda: mem.rebuild(FaultMap.empty(1, 8, 8)), ConfigError, "arrays of 8x8 cells")


class _Wordy(_Misreading):
    """A driver whose reads and products are not numbers."""

    def read(self, array):
        return [["x"]]

    def apply(self, array, voltages):
        return None


def test_a_driver_answering_with_no_numbers_is_named():
    """numpy's "could not convert string to float" came through before."""
    layer = xm.Crossbar(SMALL, 6, 6, FaultMap.empty(1, 8, 8), bias=True)
    layer.program(0.1 * torch.ones(6, 6), torch.zeros(6))
    backend = DriverBackend(_Wordy(np.full((1, 2, 8, 8), DEV.g_min)), layer)
    _one_line(backend.read_back, PatternError, "driver.read\\(0\\) must be an array of real")
    _one_line(lambda: backend.matvec(torch.ones(3, 6)), PatternError,
              "driver.apply\\(0\\) must be an array of real")


def _idx(dims: tuple[int, ...], code: int = 0x08, extra: int = 0) -> bytes:
    import struct

    body = bytes(int(np.prod(dims)) * {0x08: 1, 0x0D: 4}[code] + extra)
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + body


def _pattern_files(folder) -> dict[str, object]:
    """Files a `--data` file's N is read from, good and bad, by name."""
    import io
    import zipfile

    rng = np.random.default_rng(0)
    signs = np.where(rng.random((3, 12)) < 0.5, -1.0, 1.0)
    images = rng.integers(0, 256, (4, 8, 8), dtype=np.uint8)
    made = {"rows.npy": signs, "images.npy": images, "one-d.npy": signs[0],
            "no-rows.npy": signs[:0], "big-endian.npy": signs.astype(">f8")}
    for name, array in made.items():
        np.save(folder / name, array)
    np.savez(folder / "one.npz", x=signs)
    np.savez(folder / "labelled.npz", patterns=signs, labels=np.arange(3))
    np.savez_compressed(folder / "packed.npz", images=images, other=signs)
    np.savez(folder / "two.npz", a=signs, b=signs)
    np.save(folder / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    buffer = io.BytesIO()
    np.save(buffer, signs)
    (folder / "cut.npy").write_bytes(buffer.getvalue()[:-8])
    (folder / "header-cut.npy").write_bytes(buffer.getvalue()[:40])
    with zipfile.ZipFile(folder / "cut-member.npz", "w") as archive:
        archive.writestr("patterns.npy", buffer.getvalue()[:-8])
    (folder / "zip-junk.npz").write_bytes(b"PK\x03\x04" + bytes(40))
    (folder / "empty.npy").write_bytes(b"")
    (folder / "text.npy").write_text("1,2,3\n4,5,6\n")
    (folder / "sqlite.npy").write_bytes(b"SQLite format 3\x00" + bytes(100))
    (folder / "images-idx3-ubyte").write_bytes(_idx((4, 8, 8)))
    (folder / "floats.idx").write_bytes(_idx((3, 12), 0x0D))
    (folder / "labels.idx").write_bytes(_idx((4,)))
    (folder / "long.idx").write_bytes(_idx((4, 8, 8), extra=3))
    (folder / "bad.idx").write_bytes(b"\x00\x01\x08\x03")
    (folder / "table.bin").write_text("1 2 3\n")
    (folder / "folder.npy").mkdir()
    return {p.name: p for p in sorted(folder.iterdir())} | {"missing.npy": folder / "none.npy"}


def test_a_data_files_n_is_read_from_its_header_with_the_readings_refusals(tmp_path,
                                                                           monkeypatch):
    """`--data FILE` without --neurons read the whole array once to size the checks before
    any work (`file_neuron_count`) and again to train. An .npy, .npz member or IDX file is now
    read to its header only -- nothing is loaded -- and gives the same N, or the same refusal,
    in the same words, as reading the file (good files, damaged ones, the memory limit)."""
    import xbarmem.data.readers as readers
    import xbarmem.files.arrays as arrays

    def outcome(call, path):
        try:
            return call(path)
        except XbarmemError as exc:
            return type(exc).__name__, str(exc)

    def whole(path):  # (file_neuron_count as it read the file before)
        arr = readers._read_array(path, None)[0]
        return int(np.prod(arr.shape[1:])) if arr.ndim in (2, 3) and arr.shape[0] else None

    paths = _pattern_files(tmp_path)
    seen, loaded = [], []
    for limit in ("none", "3000"):
        monkeypatch.setenv("XBARMEM_MAX_BYTES", limit)
        expected = {name: outcome(whole, p) for name, p in paths.items()}
        with monkeypatch.context() as m:
            m.setattr(arrays, "_load_npy", lambda raw, where: loaded.append(where))
            m.setattr(readers, "_parse_idx", lambda raw, path: loaded.append(path))
            got = {name: outcome(readers.file_neuron_count, p) for name, p in paths.items()}
        assert got == expected and not loaded
        seen.append(expected)
    assert seen[0]["rows.npy"] == 12 and seen[0]["images-idx3-ubyte"] == 64
    assert seen[0]["packed.npz"] == 64 and seen[0]["one-d.npy"] is None
    assert "two.npz: holds 2 arrays; none is named" in str(seen[0]["two.npz"])
    assert seen[1]["images.npy"][0] == "TooLargeError", seen[1]  # (the limit refuses some)


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_an_array_file_of_an_open_file_loads_what_one_of_its_bytes_loads(tmp_path, suffix,
                                                                         monkeypatch):
    """``ArrayFile.of_file`` (headers read from an open file) loads an array as ``ArrayFile``
    of the file's bytes does: it called a sound file corrupt ("truncated .npy header", "File
    is not a zip file"), reading bytes it never held; the memory limit is checked first."""
    from xbarmem.files import ArrayFile
    from xbarmem.limits import ENV, TooLargeError

    data = np.arange(12.0).reshape(3, 4)
    path = tmp_path / f"a{suffix}"
    np.save(path, data) if suffix == ".npy" else np.savez(path, x=data)
    key = None if suffix == ".npy" else "x"
    whole = ArrayFile(path.read_bytes(), str(path))
    with path.open("rb") as handle:
        held = ArrayFile.of_file(handle, path.stat().st_size, str(path))
        for load in ("pick", "array", "planes"):
            assert np.array_equal(getattr(held, load)(key), getattr(whole, load)(key))
        monkeypatch.setenv(ENV, "64")
        with pytest.raises(TooLargeError):
            held.pick(key)
