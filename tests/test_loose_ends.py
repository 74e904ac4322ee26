"""Loose ends other reviews left: one answer per question across the Python API and the
command line (hidden widths, a fault map too small, a sweep's text of several widths,
integer grey levels)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from xbarmem.errors import ConfigError, PatternError


# ----------------------------------------------------------- 1. multilayer without hidden
def test_train_without_hidden_takes_the_default_width_as_find_capacity_does():
    """``xm.train(..., arch="multilayer")`` without ``hidden`` refused ("a multilayer memory
    needs hidden") while ``find_capacity``, ``recall_curve``, ``run_scaling``, a sweep and the
    command line's ``train`` / ``capacity`` take the default width 32. Now ``train`` does."""
    import xbarmem as xm
    from xbarmem.learning.fit import DEFAULT_HIDDEN

    assert DEFAULT_HIDDEN == 32
    patterns = xm.random_patterns(3, 16, seed=0)
    memory = xm.train(patterns, chip="ideal", arch="multilayer",
                      max_steps=2, finetune_steps=0)
    assert memory.hidden_sizes == [DEFAULT_HIDDEN]
    given = xm.train(patterns, chip="ideal", arch="multilayer", hidden=DEFAULT_HIDDEN,
                     max_steps=2, finetune_steps=0)
    assert given.sizes == memory.sizes
    with pytest.raises(ConfigError, match=r"^hidden=8 applies to arch='multilayer' only$"):
        xm.train(patterns, chip="ideal", hidden=8)


# ------------------------------------------------------------ 2. a map too small, one check
def _small_map(tmp_path: Path, arrays: int):
    import xbarmem as xm
    from xbarmem.hardware.faults import FaultMap

    chip = xm.load_chip("rram")
    fmap = FaultMap.generate(chip, arrays, seed=0)
    fmap.save(tmp_path / "map.npz")
    return chip, fmap


FACTS = ("the fault map covers only 4 arrays of 64x64, but a memory of 80-100-80 neurons with "
         "bias rows needs a map of 8 (layers[0] 100x80 on arrays 0..3, layers[1] 80x100 on "
         "arrays 4..7; weights outputs x inputs)")


def test_a_map_too_small_is_told_with_the_same_facts_in_python_and_on_the_command_line(
        tmp_path, run_cli):
    """The CLI said ``map.npz: 4 arrays of 64x64 cells, but this memory's weights (100x80 +
    bias row + 80x100 + bias row; outputs x inputs) need 8``, Python ``faults: the fault map
    covers only 4 arrays ... needs a map of 8 (layers[0] on arrays 0..3, ...)``: two checks in
    two wordings. Now one check: the same facts (each layer's weights and arrays, the map's
    arrays), the CLI naming the file and its options, Python the argument."""
    import xbarmem as xm

    chip, fmap = _small_map(tmp_path, 4)
    with pytest.raises(ConfigError) as err:
        xm.MultilayerMemory(80, 100, chip, fmap)
    assert str(err.value) == (f"faults: {FACTS}; give one (FaultMap.generate(chip, 8)) or "
                              f"smaller layers")
    data = tmp_path / "p.npy"
    np.save(data, xm.random_patterns(3, 80, seed=0).patterns)
    code, _, err_text = run_cli("train", "--data", data, "--arch", "multilayer", "--hidden",
                                "100", "--chip", "rram", "--fault-map", tmp_path / "map.npz",
                                "-o", tmp_path / "m.safetensors")
    assert code == 2 and f"{tmp_path / 'map.npz'}: {FACTS}; give a map of 8 arrays" in err_text
    assert not (tmp_path / "m.safetensors").exists()


def test_a_one_layer_map_too_small_says_the_arrays_and_how_many_neurons_fit(tmp_path, run_cli):
    """The command line's one-layer refusal keeps its facts in the shared words and its
    hints (no bias row, the largest N that fits)."""
    _small_map(tmp_path, 1)
    code, _, err = run_cli("train", "--data", "random", "--patterns", "3", "--neurons", "64",
                           "--chip", "rram", "--fault-map", tmp_path / "map.npz",
                           "-o", tmp_path / "m.safetensors")
    assert code == 2, err
    assert (f"{tmp_path / 'map.npz'}: the fault map covers only 1 array of 64x64, but a memory "
            f"of 64 neurons with a bias row needs a map of 2 (64x64 on arrays 0..1; weights "
            f"outputs x inputs); give a map of 2 arrays, train without the bias row "
            f"(--rule-option bias=false), or store fewer neurons: --neurons 63 or fewer fit "
            f"1 array") in " ".join(err.split())


@pytest.mark.parametrize(("command", "data", "hint"), [
    ("train", "random", ": --neurons 63 or fewer fit 1 array"),
    ("train", "mnist", ": --neurons 49 or a smaller square fit 1 array"),
    ("train", "mnist-crop24", ": --neurons 49 or a smaller square fit 1 array"),
    ("train", "images.npy", ": --neurons 49 or a smaller square fit 1 array"),
    ("train", "patterns.npy", ": patterns of 63 neurons or fewer fit 1 array"),
    ("capacity", "images.npy", ": --neurons 49 or a smaller square fit 1 array"),
    ("capacity", "patterns.npy", ": patterns of 63 neurons or fewer fit 1 array"),
])
def test_the_neurons_that_fit_a_small_map_are_ones_the_data_gives(tmp_path, run_cli, command,
                                                                   data, hint):
    """A map too small for a one-layer memory said "--neurons 63 or fewer fit 1 array" of
    every --data: images, which take a perfect square only, refused 63 ("N must be a perfect
    square"), and a file of patterns keeps its own N whatever --neurons says. The hint now
    names what the data gives: the largest square of images, the N of a file of patterns."""
    import xbarmem as xm

    _small_map(tmp_path, 1)
    np.save(tmp_path / "images.npy", (np.arange(6 * 28 * 28) % 251).reshape(6, 28, 28)
            .astype(np.uint8))
    np.save(tmp_path / "patterns.npy", xm.random_patterns(4, 100, seed=0).patterns)
    source = str(tmp_path / data) if data.endswith(".npy") else data
    neurons = [] if data == "patterns.npy" else ["--neurons", "100"]
    args = (["train", "--patterns", "3", "-o", tmp_path / "m.safetensors"] if command == "train"
            else ["capacity", "--trials", "1"])
    code, out, err = run_cli(*args, "--data", source, *neurons, "--chip", "rram",
                             "--fault-map", tmp_path / "map.npz")
    text = " ".join(err.split())
    assert code == 2 and not out and "a memory of 100 neurons with a bias row" in text, err
    assert text.endswith(f"or store fewer neurons{hint} (the bias row is one more input row)"), err
    assert not (tmp_path / "m.safetensors").exists()


# ---------------------------------------------------- 3. a sweep's text of several widths
@pytest.mark.parametrize(("text", "items"), [
    ("8-8", "[8, 8]"), ("8,8", "[8, 8]"), ("8, 8", "[8, 8]"), ("8 8", "[8, 8]"),
    ("[8, 8]", "[8, 8]"), ("1n,16", '["1n", 16]'), ("64;32", "[64, 32]"),
])
def test_every_text_of_several_widths_gets_the_list_hint(refused_here, tmp_path, text, items):
    """``hidden = "8-8"`` was told to write ``[8, 8]``; ``"8,8"`` (and ``"8 8"``,
    ``"[8, 8]"``) got no hint. Each spelling of several widths now gets the same one."""
    (tmp_path / "s.toml").write_text(
        f'[sweep]\nname = "g"\n[base]\narch = "multilayer"\nn_neurons = 16\n'
        f'hidden = "{text}"\n')
    line = refused_here("sweep", "s.toml", "--dry-run", names=("[base] hidden",))
    assert line.endswith(f"; several hidden layers are written as a list, {items}"), line


@pytest.mark.parametrize("text", ["8", "1n", "eight", "8,", ",8", "8,x", "0,8"])
def test_a_text_that_is_no_list_of_widths_gets_no_list_hint(text):
    from xbarmem.experiments.trial_options import HiddenWidths

    rule = HiddenWidths()
    if not rule.accepts(text):
        assert "written as a list" not in str(rule.error("hidden", "[base] hidden", text))


# ------------------------------------------------------- 5. integer grey levels 0..255
def _grey(dtype) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (3, 64)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int16, np.uint16])
@pytest.mark.parametrize("kind", ["binary", "continuous"])
def test_integer_grey_levels_are_read_as_8_bit_grey_everywhere(tmp_path, dtype, kind):
    """Integer arrays of grey levels 0..255 in a dtype other than uint8 (int64 from numpy
    arithmetic) were refused, while uint8 ones are 8-bit grey: now every integer dtype is read
    as uint8 is, by .npy, .npz, .csv and the Python API alike."""
    import xbarmem as xm
    from xbarmem.data.readers import load_file

    grey = _grey(dtype)
    expected = load_file(_saved(tmp_path, "u8.npy", grey.astype(np.uint8)), kind).patterns
    np.savez(tmp_path / "g.npz", patterns=grey)
    np.savetxt(tmp_path / "g.csv", grey, fmt="%d", delimiter=",")
    for path in (_saved(tmp_path, "g.npy", grey), tmp_path / "g.npz", tmp_path / "g.csv"):
        np.testing.assert_array_equal(load_file(path, kind).patterns, expected)
    np.testing.assert_array_equal(xm.as_pattern_set(grey, kind).patterns, expected)
    np.testing.assert_array_equal(xm.as_pattern_set(grey.astype(np.uint8), kind).patterns,
                                  expected)


def _saved(tmp_path: Path, name: str, arr: np.ndarray) -> Path:
    np.save(tmp_path / name, arr)
    return tmp_path / name


@pytest.mark.parametrize(("values", "shown"), [
    ([[0, 300, 5, 9]], "from 0 to 300"), ([[-5, 3, 1, 2]], "from -5 to 3"),
    ([[-2, 1, -1, 1]], "from -2 to 1"),
])
def test_integers_outside_the_grey_range_are_refused_naming_it(tmp_path, values, shown):
    import xbarmem as xm
    from xbarmem.data.readers import load_file

    arr = np.array(values, dtype=np.int64)
    path = _saved(tmp_path, "bad.npy", arr)
    for read in (lambda: load_file(path), lambda: xm.as_pattern_set(arr)):
        with pytest.raises(PatternError) as err:
            read()
        assert re.search(f"int64 values {shown}; integer patterns are -1/1, 0/1 or 8-bit grey "
                         f"levels 0..255", str(err.value)), err.value


def test_binary_integers_stay_binary(tmp_path):
    """Integer {-1, 1} and {0, 1} (with zero_one) matrices are binary patterns as before."""
    import xbarmem as xm

    pm = np.array([[1, -1, 1, -1], [-1, 1, 1, 1]], dtype=np.int64)
    np.testing.assert_array_equal(xm.as_pattern_set(pm).patterns, pm.astype(np.float32))
    np.testing.assert_array_equal(xm.as_pattern_set((pm + 1) // 2, zero_one=True).patterns,
                                  pm.astype(np.float32))
    with pytest.raises(PatternError, match="8-bit grey levels"):
        xm.as_pattern_set(_grey(np.int64), zero_one=True)


# ------------------------------------------------ 4. an output that is a broken symbolic link
@pytest.mark.parametrize(("args", "option", "name"), [
    (["train", "--data", "random", "--neurons", "16", "--patterns", "2", "--rule", "hebb"],
     "--out", "m.safetensors"),
    (["chip", "faults", "--neurons", "16"], "--out", "f.npz"),
    (["capacity", "--data", "random", "--neurons", "16", "--trials", "1", "--probes", "2",
      "--rule", "pinv"], "--checkpoint", "c.json"),
])
def test_an_output_that_is_a_broken_link_is_refused_before_any_work(run_cli, tmp_path, args,
                                                                    option, name):
    """``train -o LINK`` with LINK a symbolic link to a file that does not exist wrote through
    the link, creating its target elsewhere: a file the command was not asked to write. Now
    one line, exit 2, before any work, for every output the commands check, and nothing is
    written (the link stays as it was)."""
    from conftest import refused

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    link = work / name
    link.symlink_to(elsewhere / name)
    line = refused(run_cli, tmp_path, *args, option, link)
    assert line == (f"error: {option} {link}: a broken symbolic link (to {elsewhere / name}, "
                    f"which does not exist; nothing is written through it): remove it or name "
                    f"another file")
    assert not (elsewhere / name).exists() and link.is_symlink()


def test_an_output_that_is_a_link_to_an_existing_file_rewrites_that_file(run_cli, tmp_path):
    """The other side of the rule: a link to an existing file is followed, as it always was;
    the file it leads to is rewritten and the link stays a link."""
    target = tmp_path / "real.safetensors"
    target.write_bytes(b"old")
    link = tmp_path / "m.safetensors"
    link.symlink_to(target)
    code, _, err = run_cli("train", "--data", "random", "--neurons", "16", "--patterns", "2",
                           "--rule", "hebb", "-o", link)
    assert code == 0, err
    assert link.is_symlink() and target.read_bytes() != b"old"


def test_the_library_refuses_a_broken_link_as_the_command_line_does(tmp_path, small_memory):
    """``save_memory`` and ``export_memory`` wrote through a broken link too (the model
    created where the link leads, the export folder made there); now refused, nothing made."""
    from xbarmem.deploy.export import export_memory
    from xbarmem.errors import XbarmemError
    from xbarmem.memory.io import save_memory

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name, write in (("m.safetensors", lambda p: save_memory(small_memory[1], p)),
                        ("exported", lambda p: export_memory(small_memory[1], p))):
        link = tmp_path / name
        link.symlink_to(elsewhere / name)
        with pytest.raises(XbarmemError, match=f"a broken symbolic link \\(to "
                           f"{re.escape(str(elsewhere / name))}, which does not exist"):
            write(link)
        assert link.is_symlink() and not (elsewhere / name).exists()
