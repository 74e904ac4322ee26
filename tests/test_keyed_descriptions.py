"""Every command's description of a pattern file read with ``--key`` names the .npz array
(``two.npz (array first)``): scaling's ``data_description`` said ``imgs.npz: 12 images ...``
with ``data_key: a`` beside it, the capacity table's title and energy's header line the
file alone. Descriptions of sources read without a key read exactly as before."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xbarmem.data.readers import read_image_stack
from xbarmem.data.sources import data_words, pattern_set_words


def _files(folder):
    """``imgs.npz`` (8-bit 8x8 image arrays ``a`` and ``b``), ``imgs.npy`` (``a``),
    ``two.npz`` (+-1 arrays ``first`` and ``second`` of N = 16) and ``one.npy``."""
    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 256, (12, 8, 8), dtype=np.uint8) for _ in range(2))
    np.savez(folder / "imgs.npz", a=a, b=b)
    np.save(folder / "imgs.npy", a)
    first, second = (rng.choice([-1, 1], size=(p, 16)).astype(np.int8) for p in (5, 4))
    np.savez(folder / "two.npz", first=first, second=second)
    np.save(folder / "one.npy", first)


_SCALING = ["scaling", "--arch", "single", "--rule", "hebb", "--sizes", "16", "--trials", "1",
            "--probes", "2", "--json"]
_CAPACITY = ["capacity", "--arch", "single", "--rule", "hebb", "--trials", "1", "--probes", "2"]
_ENERGY = ["energy", "--arch", "single", "--rule", "hebb", "--probes", "2", "-p", "3"]


def _scaling(run_cli, folder, data, key):
    code, out, err = run_cli(*_SCALING, "--out", folder / "o", "--data", folder / data, *key)
    assert code == 0, err
    return json.loads(out)["settings"]["data_description"]


def _capacity(run_cli, folder, data, key):
    code, out, err = run_cli(*_CAPACITY, "--data", folder / data, *key)
    assert code == 0, err
    return " ".join(next(line for line in out.splitlines() if "capacity on" in line).split())


def _energy(run_cli, folder, data, key):
    code, out, err = run_cli(*_ENERGY, "--data", folder / data, *key)
    assert code == 0, err
    return out.splitlines()[0]


@pytest.mark.parametrize(("describe", "keyed", "plain"), [
    (_scaling, ("imgs.npz", "a", "imgs.npz (array a): 12 images of 8x8 resized to side sqrt(N)"),
     ("imgs.npy", "imgs.npy: 12 images of 8x8 resized to side sqrt(N)")),
    (_capacity, ("two.npz", "first", "capacity on two.npz (array first) patterns (hebb,"),
     ("one.npy", "capacity on one.npy patterns (hebb,")),
    (_energy, ("two.npz", "first", "3 two.npz (array first) patterns, hebb rule"),
     ("one.npy", "3 one.npy patterns, hebb rule")),
])
def test_a_command_describes_a_keyed_file_by_its_array(run_cli, tmp_path, monkeypatch,
                                                        describe, keyed, plain):
    """A run with ``--key NAME`` describes its data as ``FILE (array NAME)``; a run of a file
    without a key describes it as before (the file's name alone)."""
    monkeypatch.chdir(tmp_path)
    _files(tmp_path)
    data, key, said = keyed
    assert said in describe(run_cli, tmp_path, data, ["--key", key])
    data, said = plain
    text = describe(run_cli, tmp_path, data, [])
    assert said in text and "array" not in text, text


@pytest.mark.parametrize(("source", "key", "said"), [
    ("mnist", None, "MNIST"), ("digits", None, "8x8 digit"), ("random", None, "random"),
    ("correlated-0.3", None, "correlated-0.3"), ("data/two.npz", None, "two.npz"),
    ("data/two.npz", "test", "two.npz (array test)")])
def test_data_words_say_the_array_only_when_given(source, key, said):
    """:func:`data_words` and :func:`pattern_set_words`: a file's name with its array when
    one was read, every other source's words unchanged."""
    assert data_words(source, key) == said
    if key is not None:
        assert pattern_set_words("two.npz", key) == said
    else:
        assert pattern_set_words("two.npz") == "two.npz"


def test_an_image_stack_says_its_own_array(tmp_path):
    """An :class:`ImageStack` read with a key is described with it, one without as its file."""
    _files(tmp_path)
    assert data_words(read_image_stack(tmp_path / "imgs.npz", key="b")) == "imgs.npz (array b)"
    assert data_words(read_image_stack(tmp_path / "imgs.npy")) == "imgs.npy"
