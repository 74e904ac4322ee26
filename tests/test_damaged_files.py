"""Damaged files given to the commands that read them: one ``error:`` line, exit code 2, nothing
written -- a model file (recall / evaluate / export / load_memory) cut, emptied, replaced, with a
member missing or its metadata or tensors broken; text nested too deeply for a recursive parser
(every JSON / TOML reader); a broken export folder (load_export)."""

from __future__ import annotations

import io
import json
import pickle
import shutil
import warnings

import numpy as np
import pytest
import torch
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save

from tests.conftest import refused
from xbarmem.deploy.reload import load_export
from xbarmem.errors import FileFormatError
from xbarmem.files import MAX_NESTING, NestingError, parse_text
from xbarmem.memory.io import (
    load_memory,
    load_stored_patterns,
    read_metadata,
    saved_patterns,
)


@pytest.fixture(scope="module")
def memory(small_memory):
    return small_memory


@pytest.fixture(scope="module")
def model_bytes(small_model):
    """The bytes of a small saved model (with its patterns)."""
    return small_model.read_bytes()


def _split(raw: bytes) -> tuple[dict, bytes]:
    size = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + size]), raw[8 + size:]


def _join(header: dict, body: bytes) -> bytes:
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + body


def _meta(edit):
    """A damage that edits the ``xbarmem`` metadata object (``edit(meta)`` changes it in place)
    or replaces its text (``edit`` is a str)."""
    def damage(raw: bytes) -> bytes:
        header, body = _split(raw)
        if isinstance(edit, str):
            header["__metadata__"]["xbarmem"] = edit
        else:
            meta = json.loads(header["__metadata__"]["xbarmem"])
            edit(meta)
            header["__metadata__"]["xbarmem"] = json.dumps(meta)
        return _join(header, body)
    return damage


def _entry(name, key, value):
    def damage(raw: bytes) -> bytes:
        header, body = _split(raw)
        header[name][key] = value
        return _join(header, body)
    return damage


def _tensor(edit):
    def damage(raw: bytes) -> bytes:
        header, _ = _split(raw)
        tensors = dict(load_tensors(raw))
        edit(tensors)
        return save(tensors, metadata=header["__metadata__"])
    return damage


def _header_text(edit):
    """A damage that replaces the JSON header's bytes by ``edit(bytes)`` (same length)."""
    def damage(raw: bytes) -> bytes:
        size = int.from_bytes(raw[:8], "little")
        text = edit(raw[8:8 + size])
        assert len(text) == size
        return raw[:8] + text + raw[8 + size:]
    return damage


def _set(name, index, value):
    return _tensor(lambda t: t[name].__setitem__(index, value))


def _drop(name):
    return _tensor(lambda t: t.pop(name))


def _npz(raw: bytes) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, a=np.array([{"x": 1}], dtype=object), allow_pickle=True)
    return buffer.getvalue()


def _continuous(meta: dict) -> None:
    meta["info"]["kind"] = meta["extra"]["patterns"]["kind"] = "continuous"


DEEP = "[" * 5000 + "]" * 5000
DAMAGES = {  # name -> (damage, words of the message)
    "truncated": (lambda raw: raw[:len(raw) // 2], ["truncated"]),
    "header cut": (lambda raw: raw[:20], ["not a readable safetensors model"]),
    "zero bytes": (lambda raw: b"", ["empty (0 bytes)"]),
    "random bytes": (lambda raw: np.random.default_rng(0).bytes(4000), ["bad header size"]),
    "pickle npz": (_npz, ["zip archive"]),
    "pickle": (lambda raw: pickle.dumps({"a": 1}), ["pickle (never unpickled)"]),
    "member missing": (_drop("g_neg"), ["missing tensor(s) g_neg"]),
    "metadata not JSON": (_meta('{"format": "xbarmem-model/1", '), ["metadata is not valid JSON"]),
    "metadata nested too deep": (_meta('{"format": "xbarmem-model/1", "x": ' + DEEP + "}"),
                                 ["nested more than"]),
    "n_neurons text": (_meta(lambda m: m.update(n_neurons="16")), ["n_neurons must be"]),
    "bias a number": (_meta(lambda m: m.update(bias=1)), ["bias must be true or false"]),
    "chip a text": (_meta(lambda m: m.update(chip="rram")), ["chip must be a table"]),
    "another N": (_meta(lambda m: m.update(n_neurons=25)), ["expected float", "25x26"]),
    "another layer count": (_meta(lambda m: m.update(arch="multilayer", hidden=[16],
                                                     w_max=[1.0, 1.0])),
                            ["unexpected tensor", "multilayer"]),
    "format version": (_meta(lambda m: m.update(format="xbarmem-model/2")),
                       ["an xbarmem model of format 'xbarmem-model/2' (written by xbarmem ",
                        ", a later format than this xbarmem (", ") reads: install a later "
                        "xbarmem to read it)"]),
    "earlier format": (_meta(lambda m: m.update(format="xbarmem-model/0", versions={
        "xbarmem": "0.0.1"})), ["format 'xbarmem-model/0' (written by xbarmem 0.0.1, an "
                                "earlier format", "read it with the xbarmem that wrote it"]),
    "info.kind": (_meta(lambda m: m["info"].update(kind="rgb")), ["info.kind must be one of"]),
    "NaN weights": (_set("g_pos", (0, 0), np.nan), ["'g_pos' holds NaN"]),
    "NaN targets": (_set("target_weights", (0, 0), np.nan), ["'target_weights' holds NaN"]),
    "conductance below 0": (_set("g_pos", (0, 0), -1.0), ["conductance outside"]),
    "stuck map infinite": (_set("fault_g_stuck", (0, 0, 0, 0), np.inf), ["fault map"]),
    "integer tensor": (_tensor(lambda t: t.update(g_pos=t["g_pos"].astype(np.int64))),
                       ["'g_pos' is I64"]),
    "offsets not numbers": (_entry("g_pos", "data_offsets", ["a", "b"]), ["data_offsets"]),
    "offsets past the end": (_entry("g_pos", "data_offsets", [0, 10**12]), ["truncated"]),
    "header not JSON": (_header_text(lambda text: b"{" + b"x" * (len(text) - 1)),
                        ["not a readable safetensors model (Expecting"]),
    "header a list": (_header_text(lambda text: b"[" + b" " * (len(text) - 2) + b"]"),
                      ["not a readable safetensors model (header)"]),
    "single with hidden": (_meta(lambda m: m.update(hidden=[8])),
                           ["a single-layer model has no hidden widths"]),
    "w_max overflowing": (_meta(lambda m: m.update(w_max=1e308)), ["w_max must be"]),
    "single w_max a list": (_meta(lambda m: m.update(w_max=[1.0])), ["one w_max number"]),
    "multilayer without hidden": (_meta(lambda m: m.update(arch="multilayer", w_max=[1.0])),
                                  ["a multilayer model needs hidden widths"]),
    "image_shape of another N": (_meta(lambda m: m["extra"]["patterns"].update(
        image_shape=[3, 3])), ["image_shape [3, 3] does not match n_neurons 16"]),
    "image_shape of one side": (_meta(lambda m: m["extra"]["patterns"].update(
        image_shape=[16])), ["image_shape must be [] or [h, w]"]),
    "labels of another count": (_meta(lambda m: m["extra"]["patterns"].update(labels=[1])),
                                ["invalid saved patterns", "labels"]),
    "a saved pattern of zeros": (lambda raw: _set("patterns", 1, 0.0)(_meta(_continuous)(raw)),
                                 ["invalid saved patterns", "1 pattern is all zeros"]),
}


@pytest.fixture(params=sorted(DAMAGES))
def damaged(request, model_bytes, tmp_path):
    damage, words = DAMAGES[request.param]
    path = tmp_path / "models" / "damaged.safetensors"
    path.parent.mkdir()
    path.write_bytes(damage(model_bytes))
    return path, words


@pytest.mark.parametrize("command", ["recall", "evaluate", "export", "load_memory"])
def test_a_damaged_model_is_refused_in_one_line_before_any_work(damaged, command, run_cli,
                                                                tmp_path):
    path, words = damaged
    cues = tmp_path / "cues.npy"
    np.save(cues, np.ones((2, 16)))
    if command == "load_memory":
        with pytest.raises(FileFormatError) as info:
            load_memory(path)
        message = str(info.value)
    else:
        args = {"recall": ["recall", path, cues, "--out", tmp_path / "states.npy"],
                "evaluate": ["evaluate", path, "--probes", "1"],
                "export": ["export", path, "--out", tmp_path / "exported"]}[command]
        message = refused(run_cli, tmp_path, *args)
        assert not (tmp_path / "states.npy").exists() and not (tmp_path / "exported").exists()
    assert str(path) in message
    for word in words:
        assert word in message, (word, message)


def test_adapt_refuses_a_saved_pattern_of_zeros_before_opening_its_log(model_bytes, run_cli,
                                                                       tmp_path):
    """A continuous model saved with a zero pattern: ``adapt`` opened its log, then refused the
    patterns naming no file (``evaluate`` and ``export`` named none either)."""
    path = tmp_path / "zeros.safetensors"
    path.write_bytes(DAMAGES["a saved pattern of zeros"][0](model_bytes))
    for read in (load_memory, saved_patterns, load_stored_patterns):
        with pytest.raises(FileFormatError, match="all zeros"):
            read(path)
    message = refused(run_cli, tmp_path, "adapt", path, "--rounds", "1", "--probes", "1",
                      "--log", tmp_path / "rounds.log")
    assert str(path) in message and "all zeros" in message


@pytest.mark.parametrize("read", [load_memory, read_metadata, saved_patterns,
                                  load_stored_patterns])
@pytest.mark.parametrize("given, words", [("absent", ["no such model file"]),
                                          ("folder", ["is a directory, not a file"]),
                                          ("empty", ["empty (0 bytes)"])])
def test_every_model_reader_refuses_a_missing_folder_or_empty_path(read, given, words, tmp_path):
    path = tmp_path / "m.safetensors"
    if given == "folder":
        path.mkdir()
    elif given == "empty":
        path.write_bytes(b"")
    with pytest.raises(FileFormatError) as info:
        read(path)
    assert str(path) in str(info.value)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


@pytest.mark.parametrize("damage", ["zero bytes", "random bytes", "pickle", "pickle npz",
                                    "header cut", "header not JSON", "metadata not JSON",
                                    "format version", "n_neurons text"])
def test_read_metadata_says_what_the_file_is_as_load_memory_does(damage, model_bytes, tmp_path):
    """read_metadata reads the header only (it called an empty file or a pickle a "bad header
    size")."""
    path = tmp_path / "damaged.safetensors"
    make, words = DAMAGES[damage]
    path.write_bytes(make(model_bytes))
    with pytest.raises(FileFormatError) as info:
        read_metadata(path)
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_a_folder_given_as_the_model_is_refused(run_cli, tmp_path):
    folder = tmp_path / "m.safetensors"
    folder.mkdir()
    assert "is a directory" in refused(run_cli, tmp_path, "evaluate", folder)


# ------------------------------------------------------------- JSON / TOML nested too deeply
def test_parse_text_keeps_what_parses_within_the_limit_and_refuses_deeper():
    ok = "[" * MAX_NESTING + "]" * MAX_NESTING
    assert parse_text(json.loads, ok) == json.loads(ok)
    for text in ("[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1), DEEP):
        with pytest.raises(NestingError, match="nested more than"):
            parse_text(json.loads, text)
    with pytest.raises(json.JSONDecodeError):  # the error of the parser, unchanged
        parse_text(json.loads, "{")


def _write(path, text):
    path.write_text(text)
    return path


DEEP_TOML = "x = " + DEEP + "\n"
DEEP_JSON = '{"x": ' + DEEP + "}"
READERS = {  # name -> (args for xbarmem given a folder, words)
    "chip TOML": (lambda d: ["train", "--data", "random", "-p", "2", "--neurons", "16",
                             "--chip", _write(d / "c.toml", DEEP_TOML),
                             "--out", d / "m.safetensors"],
                  ["c.toml", "not valid TOML"]),
    "fault map header": (lambda d: ["train", "--data", "random", "-p", "2", "--neurons", "16",
                                    "--fault-map", _write(d / "f.csv", "# xbarmem fault map: "
                                                          "arrays=1 rows=64 cols=64 meta="
                                                          + DEEP_JSON + "\n"),
                                    "--out", d / "m.safetensors"],
                         ["f.csv", "bad header"]),
    "sweep TOML": (lambda d: ["sweep", _write(d / "s.toml", DEEP_TOML), "--dry-run"],
                   ["s.toml", "not valid TOML"]),
    "--rule-options": (lambda d: ["train", "--data", "random", "-p", "2", "--neurons", "16",
                                  "--rule-options", '{"a": ' + DEEP + "}",
                                  "--out", d / "m.safetensors"],
                       ["--rule-options"]),
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_text_nested_too_deeply_is_refused_in_one_line(reader, run_cli, tmp_path):
    make, words = READERS[reader]
    args = make(tmp_path)
    message = refused(run_cli, tmp_path, *args)
    for word in [*words, "nested more than"]:
        assert word in message, (word, message)


# ------------------------------------------------------------------------ broken export folders
def _manifest(edit):
    def damage(folder):
        path = folder / "manifest.json"
        if isinstance(edit, str):
            path.write_text(edit)
            return
        manifest = json.loads(path.read_text())
        edit(manifest)
        path.write_text(json.dumps(manifest))
    return damage


def _earlier(manifest, sizes):
    """``manifest`` with its widths ``sizes`` under their name of earlier versions."""
    del manifest["layer_sizes"]
    manifest["sizes"] = sizes


def _array(name, make):
    return lambda folder: np.save(folder / name, make(np.load(folder / name)))


EXPORT_DAMAGES = {  # name -> (damage of the folder, words of the message)
    "manifest not JSON": (_manifest("{not json"), ["manifest.json", "not valid JSON"]),
    "manifest nested too deep": (_manifest('{"x": ' + DEEP + "}"), ["nested more than"]),
    "no files key": (_manifest(lambda m: m.pop("files")), ["missing export manifest key files"]),
    "files a list": (_manifest(lambda m: m.update(files=[])), ["files must be a table"]),
    "file outside (..)": (_manifest(lambda m: m["files"].update(stuck_npy="../stuck_S.npy")),
                          ["files.stuck_npy", "in the export folder", "../stuck_S.npy"]),
    "absolute path": (_manifest(lambda m: m["files"].update(programmed_npy="/tmp/p.npy")),
                      ["files.programmed_npy", "in the export folder"]),
    "file name a number": (_manifest(lambda m: m["files"].update(stuck_npy=5)),
                           ["files.stuck_npy", "got 5"]),
    "file missing": (lambda folder: (folder / "programmed_S.npy").unlink(),
                     ["programmed_S.npy: missing (the manifest lists it"]),
    "sizes text": (_manifest(lambda m: m.update(layer_sizes="ab")), ["layer_sizes must be"]),
    "another N": (_manifest(lambda m: m.update(layer_sizes=[25, 25])),
                  ["do not match layer_sizes"]),
    # an export of an earlier version names its widths `sizes`: told by that name
    "sizes text (earlier)": (_manifest(lambda m: _earlier(m, "ab")), [" sizes must be"]),
    "another N (earlier)": (_manifest(lambda m: _earlier(m, [25, 25])),
                            ["do not match sizes [25, 25]"]),
    "more layers": (_manifest(lambda m: m["layers"].append(m["layers"][0])),
                    ["need 1 layer", "lists 2"]),
    "w_max text": (_manifest(lambda m: m["layers"][0].update(w_max="x")), ["layers.w_max"]),
    "w_max overflowing": (_manifest(lambda m: m["layers"][0].update(w_max=1e308)),
                          ["layers.w_max"]),
    "w_max null": (_manifest(lambda m: m["layers"][0].update(w_max=None)), ["layers.w_max"]),
    "w_max not the targets'": (_manifest(lambda m: m["layers"][0].update(w_max=1.5)),
                               ["w_max 1.5 contradicts chip.array.weight_range 0.5"]),
    "has_bias text": (_manifest(lambda m: m["layers"][0].update(has_bias="no")),
                      ["layers.has_bias"]),
    "first_array float": (_manifest(lambda m: m["layers"][0].update(first_array=0.0)),
                          ["layers.first_array"]),
    "faults a text": (_manifest(lambda m: m.update(faults="x")), ["faults must be a table"]),
    "model_info kind": (_manifest(lambda m: m.update(model_info={"kind": "rgb"})),
                        ["info.kind"]),
    "programmed shape": (_array("programmed_S.npy", lambda a: a[:, :, :3]),
                         ["programmed_S.npy", "expected float of shape"]),
    "programmed integers": (_array("programmed_S.npy", lambda a: a.astype(np.int64)),
                            ["programmed_S.npy", "int64"]),
    "programmed text": (_array("programmed_S.npy", lambda a: a.astype(str)),
                        ["programmed_S.npy", "expected float"]),
    "conductance above the window": (_array("programmed_S.npy", lambda a: a * 1e6),
                                     ["programmed_S.npy: ", "outside [0"]),
    "conductance below 0": (_array("programmed_S.npy", lambda a: -a), ["outside [0"]),
    "NaN conductances": (_array("programmed_S.npy", lambda a: a * np.nan), ["NaN"]),
    "weights shape": (_array("layer0_weights.npy", lambda a: a[:3, :3]),
                      ["layer0_weights.npy: holds float32 [3, 3]", "16x16"]),
    "weights NaN": (_array("layer0_weights.npy", lambda a: a * np.nan),
                    ["layer0_weights.npy: holds NaN"]),
    "bias shape": (_array("layer0_bias.npy", lambda a: a[:7]), ["layer0_bias.npy: holds"]),
    "weights pickled": (_array("layer0_weights.npy", lambda a: np.array([{}], dtype=object)),
                        ["never unpickled"]),
}


@pytest.fixture(scope="module")
def export_folder(small_export):
    return small_export


@pytest.mark.parametrize("damage", sorted(EXPORT_DAMAGES))
def test_a_broken_export_folder_is_refused_naming_the_problem(damage, export_folder, memory,
                                                              tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(export_folder, folder)
    make, words = EXPORT_DAMAGES[damage]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN * a
        make(folder)
    with pytest.raises(FileFormatError) as info:
        load_export(folder)
    message = str(info.value)
    assert str(folder) in message
    for word in words:
        assert word in message, (word, message)


def test_an_intact_export_folder_still_loads_as_the_model(export_folder, memory):
    rebuilt = load_export(export_folder)
    np.testing.assert_array_equal(rebuilt.crossbar.g_pos, memory[1].crossbar.g_pos)
    assert torch.equal(rebuilt.target_weights, memory[1].target_weights)
