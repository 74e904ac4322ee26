"""A researcher's own pattern files, read alike by every command and by Python: files whose
name says another format than they hold, an .npz key given for a file of one table, 8-bit
images asked for at a side larger than their own, and the counts the refusals name."""

from __future__ import annotations

import gzip
import io
import json
import re
import struct

import numpy as np
import pytest

import xbarmem as xm
from xbarmem.data.readers import file_neuron_count
from xbarmem.errors import FileFormatError, PatternError

SIGNS = np.where(np.random.default_rng(0).random((3, 16)) < 0.5, -1.0, 1.0)
TEXT = "\n".join(",".join(f"{v:g}" for v in row) for row in SIGNS) + "\n"


def _npy() -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, SIGNS)
    return buffer.getvalue()


def _idx() -> bytes:
    images = np.random.default_rng(1).integers(0, 256, (3, 4, 4), dtype=np.uint8)
    return bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 3, 4, 4) + images.tobytes()


#: (file name, its bytes, what the one-line refusal says): a name that lies about the format
LIES = [
    ("table.csv", _npy(), r"table\.csv: not CSV text as its name says; the file is a NumPy "
     r"\.npy array: name it \.npy$"),
    ("images.npy", _idx(), r"images\.npy: not a NumPy \.npy/\.npz file as its name says; the "
     r"file is an MNIST IDX file: name it \.idx$"),
    ("images-idx3-ubyte", gzip.compress(_idx()), r"images-idx3-ubyte: not an MNIST IDX file as "
     r"its name says; the file is gzip data: add \.gz to its name$"),
    ("rows.npy", gzip.compress(_npy()), r"rows\.npy: not a NumPy \.npy/\.npz file as its name "
     r"says; the file is gzip data: add \.gz to its name$"),
    ("rows.csv.gz", TEXT.encode(), r"rows\.csv\.gz: not gzip data as its name says; the file "
     r"is text: remove \.gz from its name$"),
    ("table.idx", TEXT.encode(), r"table\.idx: not an MNIST IDX file as its name says; the "
     r"file is text: a table of numbers, one pattern per line, is read named \.csv$"),
    ("patterns", _npy(), r"patterns: unknown file type; the file is a NumPy \.npy array: name "
     r"it \.npy$"),
]


@pytest.mark.parametrize(("name", "data", "match"), LIES, ids=[lie[0] for lie in LIES])
def test_a_file_whose_name_lies_is_named_for_what_it_holds(tmp_path, name, data, match):
    """A file whose bytes are another format the readers know than its name says was refused
    in words about its name's format only -- an .npy named .csv "is not UTF-8 text (byte 0x93
    at offset 0)", an IDX file named .npy "bad magic", gzip'd MNIST without .gz "not an IDX
    file (bad magic number)", a CSV named .gz "corrupt gzip data (...incorrect header
    check)". Now the one line says what the file holds and how to name it, the same from
    reading it as from sizing it by its header (:func:`file_neuron_count`)."""
    path = tmp_path / name
    path.write_bytes(data)
    for read in (xm.load_file, file_neuron_count, lambda p: xm.load_patterns(str(p), side=None)):
        with pytest.raises(FileFormatError, match=match):
            read(path)


def test_a_file_whose_name_lies_is_refused_alike_by_every_command(tmp_path, run_cli,
                                                                   small_model):
    """The refusal of a lying file is one line, exit 2, from each command that reads a
    pattern file (train, capacity, energy: --data; recall: the cues), before any work."""
    path = tmp_path / "table.csv"
    path.write_bytes(_npy())
    out = tmp_path / "m.safetensors"
    line = f"error: {path}: not CSV text as its name says; the file is a NumPy .npy array: " \
           f"name it .npy\n"
    for args in (("train", "--data", path, "-o", out), ("capacity", "--data", path),
                 ("energy", "--data", path, "-p", "2"), ("recall", small_model, path)):
        code, stdout, err = run_cli(*args)
        assert (code, stdout, err) == (2, "", line), args
    assert not out.exists()


@pytest.mark.parametrize("name", ["rows.csv", "images-idx3-ubyte", "images.bin"])
def test_an_npz_key_given_for_a_file_of_one_table_is_refused(tmp_path, name):
    """``load_file(path, key=...)`` of a CSV or IDX file read the file's one table as if it
    were the array named (a typo'd .npz path, or the wrong file, went unnoticed), where an
    .npy file refuses a key; now it is refused alike, naming the key."""
    path = tmp_path / name
    path.write_bytes(TEXT.encode() if name.endswith(".csv") else _idx())
    assert xm.load_file(path).n_patterns == 3  # (without a key: read)
    with pytest.raises(FileFormatError, match=r": is an? (CSV|IDX) file, it has no array "
                       r"named 'patterns' \(key names an array of an \.npz file\)$"):
        xm.load_file(path, key="patterns")


@pytest.mark.parametrize(("shape", "side", "match"), [
    ((3, 3), 8, r"its 3x3 images would be enlarged to side 8, and images are never enlarged: "
     r"give side=None to keep them as they are$"),
    ((4, 4), 8, r"its 4x4 images would be enlarged to side 8, .*: give side 4 or side=None"),
    ((8, 6), 8, r"its 8x6 images would be enlarged to side 8, .*: give a side from 4 to 6 or "
     r"side=None"),
])
def test_images_are_never_enlarged_by_a_side(tmp_path, shape, side, match):
    """``load_file(path, side=8)`` and ``load_patterns(path)`` (whose side is 8 unless told)
    enlarged 8-bit 3x3 or 4x4 images to 8x8 and stretched 8x6 ones, making 64 neurons of 9,
    16 or 48 pixels, where every command reads them at their own N or shrinks them (never
    enlarged, as the guide says); now that side is refused naming the sides there are."""
    path = tmp_path / "small.npy"
    np.save(path, np.random.default_rng(2).integers(0, 256, (5, *shape), dtype=np.uint8))
    for read in (lambda: xm.load_file(path, side=side), lambda: xm.load_patterns(str(path))):
        with pytest.raises(PatternError, match=r"small\.npy: " + match):
            read()
    own = xm.load_file(path)
    assert own.image_shape == shape
    assert xm.load_patterns(str(path), side=None).image_shape == shape
    if min(shape) >= 4:
        top = min(shape)
        assert xm.load_file(path, side=top).image_shape == (top, top)  # (shrunk: read)


def test_refused_counts_are_said_in_the_singular_for_one(tmp_path, run_cli, small_model):
    """A file of one pattern asked for more, and cues of one neuron, were "holds 1 patterns"
    and "have N = 1 neurons"."""
    one = tmp_path / "one.npy"
    np.save(one, SIGNS[:1])
    code, _, err = run_cli("energy", "--data", one, "-p", "2")
    assert (code, err) == (2, f"error: --patterns 2: --data {one} holds 1 pattern; give at "
                              f"most 1\n")
    narrow = tmp_path / "narrow.npy"
    np.save(narrow, SIGNS[:, :1])
    code, _, err = run_cli("recall", small_model, narrow)
    assert code == 2 and "its cues have N = 1 neuron, but the model" in err, err


def test_a_file_without_labels_names_the_option_that_takes_its_first_patterns(
        tmp_path, run_cli):
    """``train --one-per-class`` of a file without labels was refused with "give a number of
    patterns", naming no option. Now the line names --patterns. (`energy`'s default, one per
    class, takes the first patterns of such a file: test_energy_default_...)"""
    path = tmp_path / "rows.npy"
    np.save(path, SIGNS)
    args = ("--one-per-class", "-o", tmp_path / "m.safetensors")
    code, _, err = run_cli("train", "--data", path, *args)
    assert code == 2 and err.startswith(f"error: {path}: no labels to pick one pattern per "
                                        f"class"), err
    assert err.endswith("give n_patterns (CLI: --patterns N) to store its first ones\n"), err


@pytest.mark.parametrize(("text", "expected"), [
    ('"x0","x1","x2"\n"1","-1","1"\n"-1","1","-1"\n', [[1, -1, 1], [-1, 1, -1]]),
    ('"0,5";"-0,25"\n"1";"-1"\n', [[0.5, -0.25], [1, -1]]),
    ('"0,5","-0,25"\n"1","-1"\n', [[0.5, -0.25], [1, -1]]),
    ('"a"\t"b"\n"0.5"\t-1\n', [[0.5, -1]]),
])
def test_a_csv_of_quoted_numbers_is_read(tmp_path, run_cli, text, expected):
    """Spreadsheets and ``csv.QUOTE_ALL`` quote every field (a decimal comma inside the quotes
    whatever the separator); such a CSV was refused (``'"1"' is not a number``). Its numbers
    are read now, by Python and by the commands alike."""
    path = tmp_path / "quoted.csv"
    path.write_text(text)
    got = xm.load_file(path, kind="continuous").patterns
    np.testing.assert_array_equal(got, np.array(expected, dtype=np.float32))
    if len(expected) > 1 and np.isin(expected, (-1, 1)).all():
        code, _, err = run_cli("train", "--data", path, "--rule", "hebb", "-o",
                               tmp_path / "m.safetensors")
        assert code == 0, err
    row_names = tmp_path / "r.csv"  # (R's write.csv: quoted row names, a quoted header)
    row_names.write_text('"","V1","V2"\n"1",1,-1\n"2",-1,1\n"3",1,1\n"4",-1,-1\n')
    with pytest.raises(PatternError, match=r"found 3 other values, .*all in column 0 of 3: a "
                       r"column of labels or row numbers\? remove it$"):
        xm.load_file(row_names)


def test_an_image_of_one_grey_level_is_on_when_bright(tmp_path):
    """8-bit images are binarised at each image's mean, and an image of one grey level has no
    pixel above it: an all-white image (a 0/1 pattern of every neuron on, multiplied by 255 as
    `scaling` tells a 0/1 file to be) was all -1, like an all-black one. It is all +1 now,
    read as patterns, as an image stack resized (scaling) and as recall cues alike."""
    images = np.zeros((3, 4, 4), np.uint8)
    images[0] = 255
    images[1, :2] = 255
    path = tmp_path / "flat.npy"
    np.save(path, images)
    expected = np.array([[1.0] * 16, [1.0] * 8 + [-1.0] * 8, [-1.0] * 16], np.float32)
    np.testing.assert_array_equal(xm.load_file(path).patterns, expected)
    np.testing.assert_array_equal(
        xm.data.readers.load_file_neurons(path, 16, cues=True).patterns, expected)
    stack = xm.data.readers.read_image_stack(path)
    np.testing.assert_array_equal(stack.patterns(4).patterns, expected)
    grey = np.full((1, 4, 4), 100, np.uint8)  # (a dark grey: off)
    np.save(path, grey)
    assert (xm.load_file(path).patterns == -1).all()


def test_zero_one_of_a_file_of_8_bit_images_is_refused_not_ignored(tmp_path, run_cli):
    """8-bit images are binarised at each image's mean whatever ``zero_one``: ``train --data
    images.npy --zero-one`` and ``recall m images.npy --zero-one`` ran as without it, the flag
    ignored without a word (an option the command does not read is refused everywhere
    else). Now it is refused, by Python and each command that has the flag, in one line."""
    images = tmp_path / "images.npy"
    np.save(images, np.random.default_rng(3).integers(0, 256, (3, 4, 4), dtype=np.uint8))
    match = (r"images\.npy: holds 8-bit images \(values 0\.\.255\), read as images whatever "
             r"zero_one, which reads values in \[0, 1\]: drop zero_one=True \(CLI: --zero-one\)$")
    for read in (lambda: xm.load_file(images, zero_one=True),
                 lambda: xm.load_patterns(str(images), side=None, zero_one=True),
                 lambda: xm.data.readers.load_file_neurons(images, 16, zero_one=True,
                                                            cues=True)):
        with pytest.raises(PatternError, match=match):
            read()
    model = tmp_path / "m.safetensors"
    code, _, err = run_cli("train", "--data", images, "--zero-one", "--rule", "hebb", "-o",
                           model)
    assert (code, err.startswith(f"error: {images}: holds 8-bit images")) == (2, True), err
    assert err.endswith("(CLI: --zero-one)\n") and not model.exists()
    assert run_cli("train", "--data", images, "--rule", "hebb", "-o", model)[0] == 0
    code, _, err = run_cli("recall", model, images, "--zero-one")
    assert code == 2 and "drop zero_one=True (CLI: --zero-one)" in err, err
    assert run_cli("recall", model, images)[0] == 0


def test_every_command_reading_patterns_takes_a_file_of_zeros_and_ones(tmp_path, run_cli):
    """A file of binary patterns written as 0/1 was read by ``train`` and ``recall`` with
    ``--zero-one`` but refused by ``capacity`` and ``energy``, which had no such flag ("xbarmem
    capacity has no --zero-one"). Both take it now and read the file as ``train`` does (0 as
    -1); given with a built-in set, or with ``energy --model``, it is refused as ``train``
    refuses it."""
    rng = np.random.default_rng(5)
    zo = tmp_path / "zo.npy"
    np.save(zo, (rng.random((6, 16)) < 0.5).astype(np.float32))
    code, out, err = run_cli("capacity", "--data", zo, "--zero-one", "--rule", "pinv",
                             "--threshold", "0.9", "--trials", "1", "--probes", "2", "--json")
    assert code == 0, err
    assert json.loads(out)["results"][0]["capacity"]["0.9"] >= 1
    code, out, err = run_cli("energy", "--data", zo, "--zero-one", "--patterns", "4",
                             "--rule", "pinv", "--probes", "2", "--json")
    assert code == 0, err
    assert json.loads(out)["settings"]["n_neurons"] == 16
    for command in (("capacity",), ("energy",)):
        code, _, err = run_cli(*command, "--data", "digits", "--zero-one")
        assert (code, err.strip()) == (2, "error: --zero-one applies to --data FILE only"), err
    model = tmp_path / "m.safetensors"
    assert run_cli("train", "--data", zo, "--zero-one", "--rule", "hebb", "-o", model)[0] == 0
    code, _, err = run_cli("energy", "--model", model, "--zero-one")
    assert (code, err.strip()) == (2, "error: --zero-one applies without --model only"), err
    from xbarmem.data.sources import patterns_for
    from xbarmem.memory.io import load_model

    stored = load_model(model)[1].patterns
    pset = patterns_for(str(zo), 16, n_patterns=6, zero_one=True)
    np.testing.assert_array_equal(np.asarray(stored), np.asarray(pset.patterns))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
@pytest.mark.parametrize("separator", [",", "\t"])
def test_a_csv_saved_as_unicode_text_is_read(tmp_path, run_cli, encoding, separator):
    """Excel's "Unicode text" (UTF-16 with its byte-order mark, tab-separated) and other
    Unicode saves were refused as "not UTF-8 text"; a text file with the byte-order mark of
    UTF-16 or UTF-32 is read in that encoding, by every reader of text (patterns, measured
    maps, sweep files), and sniffed as text (not "holds ..." another format)."""
    x = np.where(np.random.default_rng(2).random((4, 16)) < 0.5, -1, 1)
    text = "\r\n".join(separator.join(map(str, row)) for row in x) + "\r\n"
    bom = {"utf-16-le": "\ufeff", "utf-16-be": "\ufeff"}.get(encoding, "")
    path = tmp_path / "p.csv"
    path.write_bytes((bom + text).encode(encoding))
    np.testing.assert_array_equal(np.asarray(xm.load_file(path).patterns), x)
    model = tmp_path / "m.safetensors"
    code, _, err = run_cli("train", "--data", path, "--rule", "hebb", "-o", model)
    assert code == 0, err


def test_utf16_text_without_its_mark_is_refused_naming_the_nul_bytes(tmp_path):
    """UTF-16 without a byte-order mark is not read as text of another encoding (which it
    cannot be told from): it was refused as "corrupt CSV file ('\\x00-\\x001\\x00' is not a
    number)"; it is refused naming the NUL bytes and how to save it."""
    path = tmp_path / "p.csv"
    path.write_bytes("1,-1\n-1,1\n".encode("utf-16-le"))
    with pytest.raises(FileFormatError, match=r"p\.csv holds NUL bytes .* save it as UTF-8$"):
        xm.load_file(path)


def _binary_files(tmp_path):
    """A model, an .npy, an .npz, a SQLite store and unknown binary bytes, as files."""
    from xbarmem.data.patterns import PatternSet

    x = np.where(np.random.default_rng(3).random((2, 16)) < 0.5, -1.0, 1.0)
    model = tmp_path / "m.safetensors"
    xm.save_memory(xm.train(x, chip="ideal", rule="hebb"), model,
                   patterns=PatternSet(x, kind="binary"))
    np.save(tmp_path / "a.npy", x)
    np.savez(tmp_path / "a.npz", x=x)
    import sqlite3

    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    (tmp_path / "b.bin").write_bytes(bytes(range(256)))
    return {"m.safetensors": "a safetensors file", "a.npy": "a NumPy .npy array",
            "a.npz": "a zip archive (.npz)", "s.sqlite": "a SQLite database",
            "b.bin": "it holds NUL bytes (offset 0), as a binary file does"}


@pytest.mark.parametrize("given", ["m.safetensors", "a.npy", "a.npz", "s.sqlite", "b.bin"])
@pytest.mark.parametrize("suffix, args", [
    (".toml", ("chip", "show")), (".toml", ("sweep", "--dry-run")),
    (".csv", ("chip", "import", "-o", "f.npz")), (".csv", ("train", "-o", "t.safetensors",
                                                          "--data"))],
    ids=["chip-show", "sweep", "chip-import", "train-data"])
def test_a_binary_file_given_as_text_is_said_to_be_one(tmp_path, run_cli, monkeypatch, given,
                                                       suffix, args):
    """A model file, an array, a store given where text is read (a chip TOML, a sweep, a
    measured .csv, a pattern .csv) was "text saved as UTF-16 without its byte-order mark?
    save it as UTF-8", whatever it was: the hint fits UTF-16 text alone (NULs at every other
    byte); a binary file of a known kind is now named as what it is, another said to be
    binary (``files.reading.decode``, every reader of text), in Python too."""
    monkeypatch.chdir(tmp_path)
    said = _binary_files(tmp_path)[given]
    path = tmp_path / f"given{suffix}"
    path.write_bytes((tmp_path / given).read_bytes())
    code, _, err = run_cli(*args, path)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    not_text = "(is not text|not CSV text as its name says); the file is |is not text: "
    assert re.search(not_text, err) and said in err and "UTF-16" not in err, err
    call = xm.load_chip if suffix == ".toml" else xm.load_file
    with pytest.raises(FileFormatError, match=not_text) as info:
        call(path)
    assert said in str(info.value) and "UTF-16" not in str(info.value)
    assert not {"f.npz", "t.safetensors"} & {p.name for p in tmp_path.iterdir()}


@pytest.mark.parametrize(("rows", "labels", "stored"), [
    (30, None, 10),            # no labels: its first 10 (DEFAULT_PATTERNS), as random's 10
    (4, None, 4),              # no labels, fewer than 10: all of them
    (30, np.arange(30) % 3, 3),  # labelled: one per class, as ever
])
@pytest.mark.parametrize("via", ["cli", "api"])
def test_energy_default_of_a_file_without_labels_is_its_first_patterns(
        tmp_path, run_cli, rows, labels, stored, via):
    """`energy --data FILE` (and `measure(data=FILE)`) stores one pattern per class by
    default, and refused a file without labels, which it had not been asked to sort by class
    ("no labels to pick one pattern per class"): such a file now gives its first 10 patterns
    (all, when fewer), as `random` gives 10; a labelled file one per class as before."""
    x = np.where(np.random.default_rng(rows).random((rows, 16)) > 0.5, 1.0, -1.0)
    path = tmp_path / ("p.npy" if labels is None else "p.npz")
    np.save(path, x) if labels is None else np.savez(path, patterns=x, labels=labels)
    if via == "api":
        from xbarmem.energy.measure import measure

        m = measure(16, data=str(path), rule="hebb", probes=1, chip="ideal")
        assert m.info["n_patterns"] == stored
        return
    code, out, err = run_cli("energy", "--data", path, "--rule", "hebb", "--probes", "1",
                             "--chip", "ideal", "--json")
    assert code == 0, err
    assert json.loads(out)["settings"]["n_patterns"] == stored
