"""A damaged export folder is refused naming the one file that is wrong, in the export's words.

``load_export`` prefixed every problem of an array file with ``manifest.json`` and named it by
a model file's tensor (``exp/manifest.json: tensor 'layer0.g_pos' holds NaN ...`` when
``programmed_S.npy`` held the NaN), gave a file's own refusals two paths
(``exp/manifest.json: exp/programmed_S.npy: holds int64 ...``) and told a truncated
``stuck_S.npy`` as a wrong shape of ``programmed_S.npy``. Here every file the export writes and
``load_export`` reads (``devices.csv`` is a listing it does not read) is damaged in every way
that applies, in a single-layer and a multilayer export: the message starts with that file's
path, holds it once, and names no other file's path and no tensor.
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from xbarmem.deploy.export import export_memory
from xbarmem.deploy.reload import load_export
from xbarmem.errors import FileFormatError
from xbarmem.hardware.chip import load_preset
from xbarmem.hardware.faults import FaultMap
from xbarmem.learning.fit import fit_memories
from xbarmem.learning.multilayer import MultilayerTrainer
from xbarmem.memory.multilayer import MultilayerMemory

CELL_FILES = ("programmed_S.npy", "stuck_S.npy", "targets_S.npy", "used.npy")
TENSOR_WORDS = ("g_pos", "g_neg", "target_weights", "target_bias", "tensor '")


@pytest.fixture(scope="module")
def exports(small_memory, tmp_path_factory):
    """``{"single": folder, "multi": folder}``: the small single-layer memory's export and a
    16-8-16 memory's on 32x32 arrays with faults (two layers, each on its own array)."""
    pset, memory = small_memory
    root = tmp_path_factory.mktemp("exports")
    export_memory(memory, root / "single", patterns=pset)
    chip = load_preset("rram").replace_array(rows=32, cols=32).with_faults(0.3)
    multi = MultilayerMemory(16, 8, chip)
    fit_memories(MultilayerTrainer(max_steps=5, finetune_steps=0), pset.patterns, [multi])
    export_memory(multi, root / "multi", patterns=pset)
    return {"single": root / "single", "multi": root / "multi"}


def _edit(name, make):
    return lambda folder: np.save(folder / name, make(np.load(folder / name), folder))


def _held_place(folder: Path) -> tuple[int, ...]:
    """A used device the export holds (stuck)."""
    stuck, used = np.load(folder / "stuck_S.npy"), np.load(folder / "used.npy")
    return tuple(np.argwhere(~np.isnan(stuck) & used)[0])


def _moved(a, folder):
    a[_held_place(folder)] += 7e-5
    return a


def _fault_map_moved(folder: Path) -> None:
    saved = FaultMap.load(folder / "fault_map.npz")
    g = saved.g_stuck.copy()
    g[_held_place(folder)] += 7e-5
    FaultMap(g, saved.meta, saved.pinned_mask).save(folder / "fault_map.npz")


def _damages(files: list[str]) -> dict[str, tuple[str, object]]:
    """``label -> (the file that is wrong, damage of the folder)`` for the export's files."""
    out: dict[str, tuple[str, object]] = {}
    for name in files:
        out[f"{name} missing"] = (name, lambda f, n=name: (f / n).unlink())
        out[f"{name} truncated"] = (name, lambda f, n=name: (f / n).write_bytes(
            (f / n).read_bytes()[:-24]))
        if name.endswith(".npz"):
            continue
        out[f"{name} wrong dtype"] = (name, _edit(name, lambda a, f: (
            a.astype(np.float64) if a.dtype == bool else a.astype(np.int64))))
        out[f"{name} wrong shape"] = (name, _edit(name, lambda a, f: a[..., :-1]))
        if name in ("programmed_S.npy", "stuck_S.npy", "targets_S.npy"):
            out[f"{name} outside the chip window"] = (name, _edit(name, lambda a, f: a * 1e6))
        if name not in ("used.npy", "targets_S.npy"):  # (NaN: a free device, leave it)
            out[f"{name} NaN"] = (name, _edit(name, lambda a, f: a * np.nan))
    out["targets_S.npy infinite"] = ("targets_S.npy", _edit("targets_S.npy",
                                                            lambda a, f: a / 0.0))
    for name in ("stuck_S.npy", "programmed_S.npy"):
        out[f"{name} stuck value changed"] = (name, _edit(name, _moved))
    out["fault_map.npz stuck value changed"] = ("fault_map.npz", _fault_map_moved)
    return out


def _manifest(edit):
    def damage(folder: Path) -> None:
        data = json.loads((folder / "manifest.json").read_text())
        edit(data)
        (folder / "manifest.json").write_text(json.dumps(data))
    return "manifest.json", damage


MANIFEST_DAMAGES = {
    "manifest.json w_max text": _manifest(lambda m: m["layers"][0].update(w_max="x")),
    "manifest.json first_array moved": _manifest(lambda m: m["layers"][0].update(
        first_array=2)),
    "manifest.json file outside": _manifest(lambda m: m["files"].update(stuck_npy="../x")),
    "manifest.json tolerance text": _manifest(lambda m: m["faults"].update(
        meta={**m["faults"]["meta"], "adapt_tolerance_S": "x"})),
}

SINGLE = ["programmed_S.npy", "stuck_S.npy", "targets_S.npy", "used.npy", "fault_map.npz",
          "layer0_weights.npy", "layer0_bias.npy", "patterns.npy"]
MULTI = SINGLE + ["layer1_weights.npy", "layer1_bias.npy"]
CASES = ([("single", label) for label in sorted({**_damages(SINGLE), **MANIFEST_DAMAGES})]
         + [("multi", label) for label in sorted({**_damages(MULTI), **MANIFEST_DAMAGES})])


@pytest.mark.parametrize("kind, label", CASES)
def test_a_damaged_export_names_the_one_file_that_is_wrong(exports, tmp_path, kind, label):
    wrong, damage = {**_damages(MULTI), **MANIFEST_DAMAGES}[label]
    folder = tmp_path / "exp"
    shutil.copytree(exports[kind], folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (NaN * a, a / 0)
        damage(folder)
    with pytest.raises(FileFormatError) as info:
        load_export(folder)
    message = str(info.value)
    assert message.startswith(f"{folder / wrong}: "), message
    assert message.count(str(folder)) == 1, message
    for word in TENSOR_WORDS:
        assert word not in message, (word, message)
    value = re.search("NaN|outside|changed|infinite", label)
    if kind == "multi" and value and wrong in CELL_FILES:
        assert re.search(r"layer \d's (free )?device \(array", message), message


def test_an_intact_multilayer_export_loads(exports):
    """(The damaged ones above are refused for their damage, not for being multilayer.)"""
    assert len(load_export(exports["multi"]).layers) == 2
