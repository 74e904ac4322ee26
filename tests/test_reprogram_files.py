"""A memory reprogrammed with programming variation (:func:`xbarmem.reprogram`) saves and
loads exactly as it was -- same conductances, same ``w_max``, same recall -- and so does an
export of it, on every fault model, with levels and with several layers.

Before, ``save_memory`` refused such a memory under the ``weight`` fault model (``cannot save
the memory, its file would not load: w_max 1.05 contradicts 1``: its ``w_max`` follows the
perturbed weights, its targets stay noise-free) and ``export`` refused it too (``target
weights map to w_max ...``); under the ``device`` fault model it saved, but nothing recorded the
variation, and an export's ``targets_S.npy`` held the noise-free targets, not what programming
aimed at. Now ``reprogram`` records ``info["variation"]`` (``{"variation": v, "seed": s}``),
files and exports keep it, and loading replays the reprogramming: a ``w_max``, a conductance
or a record edited in the file is refused in one line.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import model_parts, refused, write_model
from xbarmem import load_preset, random_patterns, reprogram, train
from xbarmem.deploy.export import export_memory
from xbarmem.deploy.reload import load_export
from xbarmem.errors import ConfigError, FileFormatError
from xbarmem.memory.io import load_memory, save_memory

PATS = random_patterns(3, 12, seed=1)
_RRAM = load_preset("rram").replace_array(rows=8, cols=8).with_faults(0.2)
_PAPER = load_preset("paper-sim").replace_array(rows=8, cols=8).with_faults(0.2)
CHIPS = {"paper": _PAPER, "paper-levels": _PAPER.replace_device(levels=6), "rram": _RRAM,
         "levels": _RRAM.replace_device(levels=8, write_noise=0.0),
         "ideal": load_preset("ideal").replace_array(rows=8, cols=8)}
#: name -> (chip, train's keywords): both fault models, levels, presets, several layers
MEMORIES = {
    "paper": ("paper", dict(rule="pinv")),
    "paper-levels": ("paper-levels", dict(rule="pinv")),
    "ml-paper": ("paper", dict(arch="multilayer", hidden=[6, 5], max_steps=20)),
    "rram": ("rram", dict(rule="pinv")),
    "ideal": ("ideal", dict(rule="hebb")),
    "levels": ("levels", dict(rule="adaptive", max_steps=20)),
    "ml-rram": ("rram", dict(arch="multilayer", hidden=6, max_steps=20)),
}
RECORD = {"variation": 0.1, "seed": 3}


def _reprogrammed(name: str):
    chip, options = MEMORIES[name]
    return reprogram(train(PATS, chip=CHIPS[chip], **options), 0.1, seed=3)


def _recall(memory) -> np.ndarray:
    cues = PATS.patterns.copy()
    cues[:, :3] *= -1
    return memory.recall(cues, seed=0).states.numpy()


def _same(memory, again) -> None:
    """``again`` is ``memory`` as it was: record, conductances, w_max, recall."""
    assert again.info["variation"] == memory.info["variation"] == RECORD
    for a, b in zip(memory.layers, again.layers, strict=True):
        np.testing.assert_array_equal(a.planes(), b.planes())
        assert a.w_max == b.w_max
    np.testing.assert_array_equal(_recall(again), _recall(memory))


def _targets_w_max(memory) -> list[float]:
    return [layer.target_w_max(layer.augment(w, b))
            for layer, (w, b) in zip(memory.layers, memory.targets, strict=True)]


# ------------------------------------------------------------------ model files
@pytest.mark.parametrize("name", sorted(MEMORIES))
def test_a_reprogrammed_memory_saves_and_loads_exactly_as_it_was(name, tmp_path):
    memory = _reprogrammed(name)
    if CHIPS[MEMORIES[name][0]].array.fault_model == "weight":  # the case refused before
        assert all(a.w_max != b for a, b in zip(memory.layers, _targets_w_max(memory),
                                                strict=True))
    path = save_memory(memory, tmp_path / "m.safetensors", patterns=PATS)
    again = load_memory(path)
    _same(memory, again)
    copy = save_memory(again, tmp_path / "again.safetensors", patterns=PATS)
    assert copy.read_bytes() == path.read_bytes()


def _scale_w_max(meta, tensors):
    w = meta["w_max"]
    meta["w_max"] = [x * 1.01 for x in w] if isinstance(w, list) else w * 1.01


def _record(key, value):
    def edit(meta, tensors):
        meta["info"]["variation"][key] = value
    return edit


def _nudge(meta, tensors):
    name = "g_pos" if "g_pos" in tensors else "layer0.g_pos"
    g = tensors[name].copy()
    i, j = np.argwhere(g > g.min())[0]
    g[i, j] -= 1e-9
    tensors[name] = g


def _targets_w_max_in_file(meta, tensors):  # what the generic rule would want
    meta["w_max"] = 1.0


def _drop_record(meta, tensors):
    del meta["info"]["variation"]


#: case -> (model, edit of its metadata / tensors, words of the refusal)
EDITS = {
    "w_max scaled": ("paper", _scale_w_max, "w_max 1.0"),
    "w_max of the targets": ("paper", _targets_w_max_in_file, "w_max 1.0 contradicts"),
    "w_max of a layer": ("ml-paper", _scale_w_max, "w_max[0]"),
    "variation (weight model)": ("paper", _record("variation", 0.2), "variation 0.2, seed 3"),
    "seed (device model)": ("rram", _record("seed", 4), "variation 0.1, seed 4"),
    "variation (levels)": ("levels", _record("variation", 0.3), "variation 0.3"),
    "a conductance": ("ideal", _nudge, "'g_pos': 1 conductance other than reprogramming"),
    "record removed": ("paper", _drop_record, "the largest |target weight|"),
    "record malformed": ("paper", _record("variation", 2), "info.variation.variation"),
    "record with a key more": ("paper", _record("round", 1), "info.variation.round"),
}


@pytest.mark.parametrize("case", sorted(EDITS))
def test_an_edited_file_of_a_reprogrammed_memory_is_refused_in_one_line(case, tmp_path,
                                                                       run_cli):
    name, edit, words = EDITS[case]
    tensors, meta = model_parts(save_memory(_reprogrammed(name), tmp_path / "m.safetensors",
                                       patterns=PATS))
    edit(meta, tensors)
    path = write_model(tmp_path / "edited.safetensors", tensors, meta)
    with pytest.raises(FileFormatError) as info:
        load_memory(path)
    assert str(info.value).startswith(f"{path}: ") and words in str(info.value)
    assert "\n" not in str(info.value)
    np.save(tmp_path / "cues.npy", np.ones((1, 12)))
    line = refused(run_cli, tmp_path, "recall", path, tmp_path / "cues.npy", "-o",
                   tmp_path / "states.npy")
    assert str(path) in line and words in line


def test_programming_or_training_again_drops_the_record_reprogram_replaces_it(tmp_path):
    memory = _reprogrammed("paper")
    reprogram(memory, 0.2, seed=5)
    assert memory.info["variation"] == {"variation": 0.2, "seed": 5}
    memory.program([w for w, _ in memory.targets], [b for _, b in memory.targets], seed=0)
    assert "variation" not in memory.info
    again = load_memory(save_memory(memory, tmp_path / "m.safetensors"))
    assert "variation" not in again.info and again.layers[0].w_max == _targets_w_max(memory)[0]
    assert "variation" not in train(PATS, chip=CHIPS["paper"], rule="pinv").info


def test_save_memory_refuses_a_reprogrammed_memory_whose_record_was_edited(tmp_path):
    out = tmp_path / "m.safetensors"
    memory = _reprogrammed("rram")
    memory.info["variation"]["seed"] = 4  # not what programmed it
    with pytest.raises(ConfigError, match=r"cannot save the memory, its file would not load: "
                                          r"tensor 'g_pos': .*\(variation 0.1, seed 4\)"):
        save_memory(memory, out, patterns=PATS)
    memory.info["variation"] = {"variation": "high", "seed": 3}
    with pytest.raises(ConfigError, match="would not load: .*info.variation.variation"):
        save_memory(memory, out, patterns=PATS)
    assert not out.exists()


def test_save_memory_refuses_a_reprogrammed_memory_its_file_would_load_as_another(tmp_path):
    """A bare ``Memory([N, N])`` has self-connections: ``reprogram`` perturbs its diagonal, but
    its file loads as a ``SingleLayerMemory`` (none): saved before, then refused on load."""
    import torch

    from xbarmem.memory.base import Memory

    memory = Memory([12, 12], CHIPS["rram"])
    weights = 0.3 * torch.randn(12, 12, generator=torch.Generator().manual_seed(0))
    reprogram(memory.program([weights], [torch.zeros(12)]), 0.1, seed=3)
    out = tmp_path / "m.safetensors"
    with pytest.raises(ConfigError, match="would not load: tensor 'g_pos': .*variation 0.1"):
        save_memory(memory, out)
    assert not out.exists()


# ------------------------------------------------------------------ exports
@pytest.mark.parametrize("name", ["paper", "paper-levels", "ml-paper", "rram", "levels"])
def test_an_export_of_a_reprogrammed_memory_reloads_exactly(name, tmp_path):
    memory = _reprogrammed(name)
    manifest = export_memory(memory, tmp_path / "out", patterns=PATS)
    assert manifest["model_info"]["variation"] == RECORD
    assert [entry["w_max"] for entry in manifest["layers"]] == \
        [layer.w_max for layer in memory.layers]
    again = load_export(tmp_path / "out")
    _same(memory, again)
    _same(memory, load_memory(save_memory(again, tmp_path / "m.safetensors")))


def test_an_exports_targets_are_what_reprogramming_aimed_at(tmp_path):
    """On a chip without write noise what programming aims at is what it writes: the export's
    targets are the programmed conductances (before, the noise-free targets' conductances)."""
    memory = _reprogrammed("levels")
    export_memory(memory, tmp_path / "out")
    target = np.load(tmp_path / "out" / "targets_S.npy")
    programmed = np.load(tmp_path / "out" / "programmed_S.npy")
    used = np.load(tmp_path / "out" / "used.npy")
    np.testing.assert_array_equal(target[used], programmed[used])


@pytest.mark.parametrize("key, value, words", [
    ("w_max", None, "w_max[0] "), ("variation", 0.2, "variation 0.2, seed 3")])
def test_an_edited_export_of_a_reprogrammed_memory_is_refused(key, value, words, tmp_path):
    export_memory(_reprogrammed("ml-paper"), tmp_path / "out")
    path = tmp_path / "out" / "manifest.json"
    manifest = json.loads(path.read_text())
    if key == "w_max":
        manifest["layers"][0]["w_max"] *= 1.01
    else:
        manifest["model_info"]["variation"][key] = value
    path.write_text(json.dumps(manifest))
    with pytest.raises(FileFormatError, match="manifest.json: .*" + words.replace("[", r"\[")):
        load_export(tmp_path / "out")


# ------------------------------------------------------------------ commands
def test_every_command_that_reads_a_model_takes_a_reprogrammed_one(tmp_path, run_cli,
                                                                   monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = save_memory(_reprogrammed("paper"), tmp_path / "m.safetensors", patterns=PATS)
    for args in (["evaluate", path, "--probes", "1"],
                 ["evaluate", path, "--probes", "1", "--variation", "0.2"],
                 ["export", path, "-o", "out"], ["energy", "--model", path, "--probes", "1"]):
        code, _, err = run_cli(*args)
        assert code == 0, (args, err)
    _same(load_memory(path), load_export(tmp_path / "out"))


def test_adapting_a_reprogrammed_memory_programs_it_again(tmp_path, run_cli):
    """``adapt`` (the ``device`` fault model only) programs the targets onto a chip and
    reads them back: the adapted model records no variation, and loads."""
    path = save_memory(_reprogrammed("rram"), tmp_path / "m.safetensors", patterns=PATS)
    code, _, err = run_cli("adapt", path, "--rounds", "1", "--probes", "2", "-o",
                           tmp_path / "a.safetensors")
    assert code == 0, err
    adapted = load_memory(tmp_path / "a.safetensors")
    assert "variation" not in adapted.info and "adapt" in adapted.info


def test_a_chip_programmed_from_an_export_of_a_reprogrammed_memory_reads_back_on_target(
        tmp_path):
    """``adapt --read-back`` compares the read-back with what the export asked to program (its
    ``targets_S.npy``): a chip read back holding exactly the reprogrammed memory's conductances
    (on a chip without write noise, its targets) has no device off target (before, it was
    compared with the noise-free targets: every device the variation moved missed)."""
    from xbarmem.deploy.chip_loop import adapt_read_back
    from xbarmem.deploy.readback import read_back_backends

    memory = _reprogrammed("levels")  # (no write noise: programmed = targets)
    export_memory(memory, tmp_path / "out")
    read = np.load(tmp_path / "out" / "programmed_S.npy")
    result = adapt_read_back(memory, read_back_backends(memory, read), PATS)
    assert result.read["newly_fixed"] == 0 and result.read["write_error_rms_uS"] == 0
