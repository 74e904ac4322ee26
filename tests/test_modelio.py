"""Model files: save -> load restores the programmed chip exactly, never re-programs, and rejects
foreign or corrupt files with FileFormatError."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.numpy import save_file

from xbarmem import FaultMap, SingleLayerMemory, load_chip, random_patterns, train
from xbarmem.errors import FileFormatError
from xbarmem.hardware.crossbar import Crossbar
from xbarmem.jsontext import dumps
from xbarmem.memory.io import load_memory, read_metadata, save_memory
from xbarmem.memory.model_meta import FORMAT

FAST_ADAPTIVE = {"max_steps": 60, "finetune_steps": 0, "window": 20}


@pytest.fixture(scope="module")
def pset():
    return random_patterns(3, 16, seed=4)


@pytest.fixture(scope="module")
def rram_memory(pset, trained):
    """Adaptive rule on the noisy ``rram`` chip, with some stuck devices: write noise, read
    noise and faults all present, so an accidental re-programming would show."""
    chip = load_chip("rram").with_faults(0.2)
    return trained(pset.patterns, chip, fault_seed=5, program_seed=7, **FAST_ADAPTIVE)


def _cues(pset, copies=4, flips=2, seed=0):
    rng = np.random.default_rng(seed)
    x = np.repeat(pset.patterns, copies, axis=0)
    for row in x:
        row[rng.choice(x.shape[1], flips, replace=False)] *= -1
    return torch.as_tensor(x)


def _assert_same_memory(a: SingleLayerMemory, b: SingleLayerMemory) -> None:
    assert b.n_neurons == a.n_neurons
    assert b.has_bias == a.has_bias
    assert b.chip == a.chip
    assert b.crossbar.first_array == a.crossbar.first_array
    assert b.crossbar.w_max == a.crossbar.w_max
    np.testing.assert_array_equal(b.crossbar.g_pos, a.crossbar.g_pos)
    np.testing.assert_array_equal(b.crossbar.g_neg, a.crossbar.g_neg)
    assert b.crossbar.g_pos.dtype == np.float64
    np.testing.assert_array_equal(b.faults.g_stuck, a.faults.g_stuck)  # NaN == NaN here
    np.testing.assert_array_equal(b.crossbar.g_stuck, a.crossbar.g_stuck)
    assert torch.equal(b.weights, a.weights)
    assert torch.equal(b.bias, a.bias)
    assert torch.equal(b.target_weights, a.target_weights)
    if a.target_bias is None:
        assert b.target_bias is None
    else:
        assert torch.equal(b.target_bias, a.target_bias)
    # NaN as null; how long the training took is not part of the file
    assert "train_seconds" not in b.info
    a_info = {k: v for k, v in a.info.items() if k != "train_seconds"}
    assert dumps(b.info, sort_keys=True) == dumps(a_info, sort_keys=True)


# ------------------------------------------------------------------------------------ round trip
def test_round_trip_restores_conductances_weights_and_recall(tmp_path, pset, rram_memory):
    mem = rram_memory
    assert mem.faults.stuck.any()  # the chip really has stuck devices
    path = save_memory(mem, tmp_path / "m.safetensors", patterns=pset)
    assert path.is_file()
    loaded = load_memory(path)
    _assert_same_memory(mem, loaded)
    assert loaded.faults.meta == mem.faults.meta
    cues = _cues(pset)
    for mode in ("sync", "async"):
        r1 = mem.recall(cues, mode=mode, seed=11)
        r2 = loaded.recall(cues, mode=mode, seed=11)
        assert torch.equal(r1.states, r2.states), mode
        assert torch.equal(r1.iterations, r2.iterations)
        assert torch.equal(r1.converged, r2.converged)


def test_read_noise_makes_seed_matter(pset, rram_memory):
    """Sanity for the recall comparison above: the rram chip's reads are noisy, so identical
    states come from identical seeds, not from a noise-free chip."""
    x = torch.tensor(pset.patterns)
    gen_a, gen_b = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
    ya = rram_memory.crossbar.matvec(x, gen_a)
    yb = rram_memory.crossbar.matvec(x, gen_b)
    assert not torch.equal(ya, yb)


def test_load_does_not_reprogram(tmp_path, monkeypatch, pset, rram_memory):
    path = save_memory(rram_memory, tmp_path / "m.safetensors")

    def forbidden(*args, **kwargs):
        raise AssertionError("load_memory must not program the devices")

    monkeypatch.setattr(Crossbar, "program", forbidden)
    monkeypatch.setattr(SingleLayerMemory, "program", forbidden)
    loaded = load_memory(path)
    np.testing.assert_array_equal(loaded.crossbar.g_pos, rram_memory.crossbar.g_pos)
    np.testing.assert_array_equal(loaded.crossbar.g_neg, rram_memory.crossbar.g_neg)


def test_reprogramming_would_change_conductances(pset, rram_memory):
    """The exact-conductance check is meaningful: programming the same targets again (another
    write-error draw) gives different conductances on the rram chip."""
    twin = SingleLayerMemory(16, rram_memory.chip, rram_memory.faults, bias=True)
    twin.program(rram_memory.target_weights, rram_memory.target_bias, seed=8)
    assert not np.array_equal(twin.crossbar.g_pos, rram_memory.crossbar.g_pos)
    twin.program(rram_memory.target_weights, rram_memory.target_bias, seed=7)
    np.testing.assert_array_equal(twin.crossbar.g_pos, rram_memory.crossbar.g_pos)


def test_round_trip_weight_fault_model_keeps_w_max(tmp_path, pset):
    """Under the ``weight`` model w_max is set from the weights when programming; it must be
    restored, not reset to the chip's weight_range."""
    mem = train(pset.patterns, chip=load_chip("paper-sim").with_faults(0.3), rule="adaptive",
                fault_seed=2, **FAST_ADAPTIVE)
    assert mem.crossbar.w_max != load_chip("paper-sim").array.weight_range
    loaded = load_memory(save_memory(mem, tmp_path / "w.safetensors"))
    _assert_same_memory(mem, loaded)
    pinned = torch.as_tensor(loaded.crossbar.stuck.all(axis=0))[:, :16]
    assert pinned.any() and (loaded.weights[pinned] == 0).all()


def test_round_trip_classic_rule_without_bias(tmp_path, pset):
    mem = train(pset.patterns, chip="rram", rule="pinv", fault_seed=1, program_seed=3)
    assert not mem.has_bias and mem.target_bias is None
    loaded = load_memory(save_memory(mem, tmp_path / "p.safetensors"))
    _assert_same_memory(mem, loaded)
    assert loaded.info["rule"] == "pinv"
    # a closed-form rule has no loss: None in memory as in the (strict JSON) file
    assert mem.info["loss"] is None and loaded.info["loss"] is None


def test_round_trip_with_offset_fault_map(tmp_path, pset):
    """A memory placed on arrays 1.. of a larger chip map keeps its place and the whole map."""
    chip = load_chip("rram")
    fmap = FaultMap.generate(chip.with_faults(0.1), 3, seed=9)
    mem = SingleLayerMemory(16, chip, fmap, bias=False, first_array=2)
    w = torch.as_tensor(pset.patterns.T @ pset.patterns / 16)
    w.fill_diagonal_(0)
    mem.program(w, seed=4)
    loaded = load_memory(save_memory(mem, tmp_path / "o.safetensors"))
    assert loaded.faults.n_arrays == 3
    _assert_same_memory(mem, loaded)


def test_saved_patterns_are_stored(tmp_path, pset, rram_memory):
    path = save_memory(rram_memory, tmp_path / "m.safetensors", patterns=pset)
    with safe_open(str(path), framework="numpy") as handle:
        np.testing.assert_array_equal(handle.get_tensor("patterns"), pset.patterns)
        assert set(handle.keys()) >= {"g_pos", "g_neg", "fault_g_stuck", "target_weights",
                                      "target_bias", "patterns"}
    meta = read_metadata(path)
    assert meta["extra"]["patterns"] == {"name": pset.name, "kind": "binary", "image_shape": []}


# ------------------------------------------------------------------------------------ metadata
def test_read_metadata_contents(tmp_path, rram_memory):
    path = save_memory(rram_memory, tmp_path / "m.safetensors", extra={"note": "hello"})
    meta = read_metadata(path)
    assert meta["format"] == FORMAT
    assert meta["chip"] == rram_memory.chip.to_dict()
    assert meta["n_neurons"] == 16 and meta["bias"] is True
    assert meta["info"]["rule"] == "adaptive"
    assert meta["info"]["program_seed"] == 7
    assert meta["info"]["rule_options"]["max_steps"] == FAST_ADAPTIVE["max_steps"]
    assert set(meta["versions"]) == {"xbarmem", "torch", "numpy"}
    assert meta["versions"]["numpy"] == np.__version__
    assert meta["fault_meta"]["seed"] == 5
    assert meta["extra"] == {"note": "hello"}


@pytest.mark.parametrize("arch", ["single", "multilayer"])
def test_the_same_training_writes_the_same_bytes(tmp_path, pset, arch):
    """Two trainings with one seed write byte-identical files: nothing of the run (how long
    it took) goes into the file; the timing stays on the memory in hand."""
    paths = []
    for k in range(2):
        mem = train(pset.patterns, chip="rram", arch=arch, max_steps=5, finetune_steps=2,
                    hidden=8 if arch == "multilayer" else None,
                    fault_seed=1, program_seed=2, seed=3)
        mem.info["train_seconds"] = float(k + 1)  # two runs never take the same time
        paths.append(save_memory(mem, tmp_path / f"m{k}.safetensors", patterns=pset))
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_file_is_not_a_pickle(tmp_path, rram_memory):
    path = save_memory(rram_memory, tmp_path / "m.safetensors")
    raw = path.read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + header_len])  # a safetensors JSON header
    assert "xbarmem" in header["__metadata__"]
    assert not raw.startswith(b"\x80")  # pickle protocol marker
    assert header["g_pos"]["dtype"] == "F64"


# ------------------------------------------------------------------------------------ errors
def test_saving_unprogrammed_memory_raises(tmp_path):
    mem = SingleLayerMemory(16, "ideal")
    path = tmp_path / "empty.safetensors"
    with pytest.raises(FileFormatError, match="not been trained"):
        save_memory(mem, path)
    assert not path.exists()


@pytest.mark.parametrize("name", ["m.npz", "m.npy", "model", "m.safetensors.bak"])
def test_a_model_named_as_another_format_is_refused_and_nothing_written(tmp_path, rram_memory,
                                                                       name):
    """``save_memory(mem, "m.npz")`` wrote a safetensors file under an .npz name (numpy then
    refused it as pickled data), where ``train -o m.npz``, ``FaultMap.save`` and
    ``save_figure`` refuse a name of another format; an existing file is kept."""
    path = tmp_path / name
    path.write_bytes(b"kept")
    got = name if "." in name else f"{path} (no extension)"
    with pytest.raises(FileFormatError,
                       match=re.escape(f"model file must end in .safetensors, got {got}")):
        save_memory(rram_memory, path)
    assert path.read_bytes() == b"kept"
    assert load_memory(save_memory(rram_memory, tmp_path / "M.SafeTensors")).n_neurons == 16


def test_load_missing_file(tmp_path):
    with pytest.raises(FileFormatError, match="no such model file"):
        load_memory(tmp_path / "absent.safetensors")


def test_load_random_bytes(tmp_path):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(np.random.default_rng(0).bytes(300))
    for read in (load_memory, read_metadata):
        with pytest.raises(FileFormatError) as info:
            read(path)
        assert str(info.value) == f"{path}: not a readable safetensors model (bad header size)"


@pytest.mark.parametrize("make", ["fifo", "folder"])
def test_model_that_is_no_regular_file(tmp_path, make):
    """A named pipe or a folder given as the model is refused as loading refuses it: reading
    the header of a pipe waited for a writer that never came."""
    import os

    path = tmp_path / "m.safetensors"
    if make == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("named pipes")
        os.mkfifo(path)
    else:
        path.mkdir()
    expected = "is not a regular file" if make == "fifo" else "is a directory, not a file"
    for read in (load_memory, read_metadata):
        assert expected in _refusal_within_seconds(read, path), read


def _refusal_within_seconds(read, path, seconds: float = 10.0) -> str:
    """The FileFormatError message of ``read(path)``; a read still waiting after ``seconds``
    (on a named pipe) is released by opening the pipe for writing, and fails the test."""
    import threading

    got: list[BaseException | None] = []

    def run() -> None:
        try:
            read(path)
            got.append(None)
        except BaseException as exc:  # handed to the test's thread, checked there
            got.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        path.open("wb").close()  # the reader's open returns; then it reads an empty file
        thread.join(seconds)
        raise AssertionError(f"{read.__name__} waited on {path.name}")
    assert got and isinstance(got[0], FileFormatError), got
    return str(got[0])


def test_read_header_counts_the_stored_patterns_and_checks_shapes(tmp_path, rram_memory):
    """The torch-free header reader gives the stored pattern count (0 without patterns) and,
    with ``shapes``, refuses tensors the metadata does not imply as loading does."""
    from xbarmem.memory.model_header import read_header

    pset = random_patterns(5, rram_memory.n_neurons, seed=1)
    path = save_memory(rram_memory, tmp_path / "m.safetensors", patterns=pset)
    head = read_header(path, shapes=True)
    assert (head.stored, head.meta.n_neurons, head.data["format"]) == (5, 16, FORMAT)
    assert read_header(save_memory(rram_memory, tmp_path / "bare.safetensors")).stored == 0
    with safe_open(str(path), framework="numpy") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
        metadata = handle.metadata()
    save_file({**tensors, "patterns": tensors["patterns"][:, :3]}, str(path), metadata=metadata)
    assert read_header(path).stored == 5  # (shapes unchecked)
    with pytest.raises(FileFormatError, match="tensor 'patterns' is F32 \\[5, 3\\]"):
        read_header(path, shapes=True)


@pytest.mark.parametrize("metadata", [None, {"other": "1"}, {"xbarmem": "{not json"},
                                      {"xbarmem": "[1, 2, 3]"}, {"xbarmem": '"text"'},
                                      {"xbarmem": '{"format": "someone-else/2"}'},
                                      {"xbarmem": json.dumps({"format": FORMAT})}])
def test_load_foreign_safetensors(tmp_path, metadata):
    path = tmp_path / "foreign.safetensors"
    save_file({"weight": np.ones((3, 3), np.float32)}, str(path), metadata=metadata)
    with pytest.raises(FileFormatError, match="not an xbarmem model"):
        load_memory(path)


@pytest.mark.parametrize("metadata", [None, {"xbarmem": "[1]"}, {"xbarmem": "nope"}])
def test_read_metadata_foreign(tmp_path, metadata):
    path = tmp_path / "foreign.safetensors"
    save_file({"weight": np.ones(2, np.float32)}, str(path), metadata=metadata)
    with pytest.raises(FileFormatError, match="not an xbarmem model"):
        read_metadata(path)


def test_load_model_missing_tensor(tmp_path, rram_memory):
    """A model whose conductance tensor was stripped is rejected, not half-loaded."""
    path = save_memory(rram_memory, tmp_path / "m.safetensors")
    with safe_open(str(path), framework="numpy") as handle:
        meta = handle.metadata()
        tensors = {k: handle.get_tensor(k) for k in handle.keys() if k != "g_neg"}
    stripped = tmp_path / "stripped.safetensors"
    save_file(tensors, str(stripped), metadata=meta)
    with pytest.raises(FileFormatError, match="g_neg"):
        load_memory(stripped)


def test_load_truncated_file(tmp_path, rram_memory):
    path = save_memory(rram_memory, tmp_path / "m.safetensors")
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(FileFormatError, match="cut.safetensors"):
        load_memory(cut)


def test_model_with_invalid_chip_names_the_file(tmp_path):
    from safetensors.numpy import load_file

    mem = SingleLayerMemory(4, "ideal", bias=False)
    mem.program(torch.zeros(4, 4))
    path = save_memory(mem, tmp_path / "ok.safetensors")
    meta = read_metadata(path)
    meta["chip"]["device"]["g_min"] = -1.0  # impossible window
    bad = tmp_path / "bad.safetensors"
    save_file(load_file(str(path)), str(bad), metadata={"xbarmem": json.dumps(meta)})
    with pytest.raises(FileFormatError, match="bad.safetensors.*g_min"):
        load_memory(bad)


def test_older_files_with_bare_nan_still_load(tmp_path, pset):
    """Files written before the metadata was strict JSON hold a bare NaN (a classic rule's
    loss): they load, the NaN read as null."""
    mem = train(pset.patterns, chip="rram", rule="pinv", fault_seed=1, program_seed=3)
    path = save_memory(mem, tmp_path / "p.safetensors")
    meta = read_metadata(path)
    meta["info"]["loss"] = float("nan")
    old = tmp_path / "old.safetensors"
    with safe_open(str(path), framework="numpy") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    save_file(tensors, str(old), metadata={"xbarmem": json.dumps(meta)})  # bare NaN
    assert "NaN" in json.dumps(meta)
    loaded = load_memory(old)
    assert loaded.info["loss"] is None
    np.testing.assert_array_equal(loaded.crossbar.g_pos, mem.crossbar.g_pos)


def test_a_saved_model_keeps_its_files_mode_and_writes_through_a_link(tmp_path, rram_memory):
    """safetensors renames a temporary file (mode 0600) over the target: a model file came
    out private whatever the umask, an existing file lost its mode and a link its target."""
    import os

    old = os.umask(0o022)
    try:
        fresh = save_memory(rram_memory, tmp_path / "fresh.safetensors")
        assert fresh.stat().st_mode & 0o777 == 0o644
        shared = tmp_path / "shared.safetensors"
        shared.write_bytes(b"")
        shared.chmod(0o664)
        save_memory(rram_memory, shared)
        assert shared.stat().st_mode & 0o777 == 0o664 and shared.stat().st_size > 0
        link = tmp_path / "latest.safetensors"
        link.symlink_to(shared.name)
        save_memory(rram_memory, link)
        assert link.is_symlink() and load_memory(link).n_neurons == rram_memory.n_neurons
    finally:
        os.umask(old)
