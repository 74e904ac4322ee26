"""A model file whose parts contradict one another is refused when it is read, by every
command and by the Python API, in one line naming the file and the contradiction (exit 2);
every file xbarmem writes still loads.

Accepted before (a table built by editing the arrays and metadata of good files): a stuck
device (stuck ON at g_max, stuck OFF at g_min) whose stored conductance is not its stuck one;
a faulty pair of the ``weight`` fault model storing a weight other than 0; a free device
outside the chip window or between the levels of a chip without write noise; the same in any
layer of a multilayer model; an adapted model's held device read further from its held value
than the adaptation's tolerance, or a tolerance that is no number > 0 (``info.adapt``, the
fault map's ``adapt_tolerance_S``); the target weights of some layers only, a target bias
without target weights; an adapted model whose ``info.adapt.tolerance_S`` differs from its
fault map's ``adapt_tolerance_S``. ``export`` folders read back (``load_export``) share the
check, and ``save_memory`` refuses to write what would not load (a memory reprogrammed with
variation under the ``weight`` fault model whose ``w_max`` no longer is its targets' and whose
``info["variation"]`` record was removed, too).
Conductances are not checked against the target weights: write noise and ``reprogram``'s
variation are unbounded, on a chip without write noise too (a test below saves and loads one).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import model_parts, refused, write_model
from xbarmem import load_preset, random_patterns, train
from xbarmem.deploy.export import export_memory
from xbarmem.deploy.reload import load_export
from xbarmem.errors import ConfigError, FileFormatError
from xbarmem.memory.io import load_memory, load_model, save_memory

PATS = random_patterns(3, 12, seed=1)
_RRAM = load_preset("rram").replace_array(rows=8, cols=8).with_faults(0.2)
_PAPER = load_preset("paper-sim").replace_array(rows=8, cols=8).with_faults(0.2)
CHIPS = {"rram": _RRAM, "levels": _RRAM.replace_device(levels=8, write_noise=0.0),
         "levels-noisy": _RRAM.replace_device(levels=8),
         "paper": _PAPER, "paper-levels": _PAPER.replace_device(levels=6),
         "ideal": load_preset("ideal").replace_array(rows=8, cols=8)}
#: name -> train's keywords: presets, levels, both fault models, multilayer
TRAINED = {
    "rram": dict(chip="rram", rule="pinv"),
    "levels": dict(chip="levels", rule="adaptive", max_steps=20),
    "levels-noisy": dict(chip="levels-noisy", rule="pinv"),
    "paper": dict(chip="paper", rule="adaptive", max_steps=20),
    "paper-levels": dict(chip="paper-levels", rule="pinv"),
    "ideal": dict(chip="ideal", rule="hebb"),
    "ml-rram": dict(chip="rram", arch="multilayer", hidden=6, max_steps=20),
    "ml-paper": dict(chip="paper", arch="multilayer", hidden=[6, 5], max_steps=20),
}
#: name -> (the model adapted, adapt's options): adapted on the simulated chip, again, and
#: from a read-back file (``read``: written by the fixture)
ADAPTED = {
    "adapted": ("rram", ["--rounds", "1", "--unknown-faults", "0.05", "--write-noise", "4",
                         "--read-noise", "1", "--target", "2"]),
    "adapted-levels": ("levels", ["--rounds", "1", "--write-noise", "3", "--read-noise", "1",
                                  "--target", "2"]),
    "adapted-ml": ("ml-rram", ["--rounds", "1", "--read-noise", "1", "--target", "2"]),
    "adapted-twice": ("adapted", ["--rounds", "1", "--tolerance", "1", "--read-noise", "2",
                                  "--target", "2"]),
    "read-back": ("rram", ["--read-back", "read"]),
    "read-back-twice": ("read-back", ["--read-back", "read", "--tolerance", "1"]),
}


@pytest.fixture(scope="module")
def models(tmp_path_factory, run_cli_module):
    """name -> path of every model of :data:`TRAINED` and :data:`ADAPTED`."""
    folder = tmp_path_factory.mktemp("models")
    paths = {}
    for name, options in TRAINED.items():
        memory = train(PATS, **{**options, "chip": CHIPS[options["chip"]]})
        paths[name] = save_memory(memory, folder / f"{name}.safetensors", patterns=PATS)
    export_memory(load_memory(paths["rram"]), folder / "export", patterns=PATS)
    programmed = np.load(folder / "export" / "programmed_S.npy")
    noise = np.random.default_rng(0).normal(0.0, 2e-6, programmed.shape)
    read = np.clip(programmed + noise, 0.0, None)
    read.flat[5] = _RRAM.device.g_max  # a device the model believes free, read stuck ON
    np.save(folder / "read.npy", read)
    for name, (source, options) in ADAPTED.items():
        options = [str(folder / "read.npy") if o == "read" else o for o in options]
        paths[name] = folder / f"{name}.safetensors"
        code, _, err = run_cli_module("adapt", paths[source], *options, "--probes", "2", "-o",
                                      paths[name])
        assert code == 0, err
    return paths


@pytest.fixture(scope="module")
def run_cli_module():
    """``run_cli`` for a module fixture: ``xbarmem *args`` in-process -> (code, out, err)."""
    import contextlib
    import io
    import sys

    from xbarmem import cli

    def run(*args: object) -> tuple[int, str, str]:
        out, err, argv = io.StringIO(), io.StringIO(), sys.argv
        sys.argv = ["xbarmem", *map(str, args)]
        code = 0
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                cli.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.argv = argv
        return code, out.getvalue(), err.getvalue()

    return run


# ------------------------------------------------------------------ every file written loads
@pytest.mark.parametrize("name", [*TRAINED, *ADAPTED])
def test_every_model_xbarmem_writes_loads_and_saves_to_the_same_bytes(name, models, tmp_path):
    memory, patterns = load_model(models[name])
    again = save_memory(memory, tmp_path / "again.safetensors", patterns=patterns)
    assert again.read_bytes() == models[name].read_bytes()
    if name.startswith(("adapted", "read-back")):  # read-back values: the check is exercised
        assert "adapt_tolerance_S" in memory.faults.meta


@pytest.mark.parametrize("name", ["rram", "paper", "levels", "ml-paper", "adapted-ml",
                                  "read-back"])
def test_an_export_reads_back_into_a_model_that_loads(name, models, tmp_path):
    memory, patterns = load_model(models[name])
    export_memory(memory, tmp_path / "out", patterns=patterns)
    again = load_memory(save_memory(load_export(tmp_path / "out"), tmp_path / "m.safetensors"))
    for a, b in zip(memory.layers, again.layers, strict=True):
        np.testing.assert_array_equal(a.planes(), b.planes())


# ------------------------------------------------------------------ contradictions

def _held(memory, layer=0, where="on"):
    """``(tensor name, (i, j), stuck value)`` of the first device of ``layer`` that its fault
    map holds: stuck ON (``on``), stuck OFF (``off``), pinned by adaptation (``pinned``) or
    any (``any``)."""
    crossbar = memory.layers[layer]
    s = crossbar.g_stuck
    mask = ~np.isnan(s)
    if where == "on":
        mask &= s == crossbar.chip.device.g_max
    elif where == "off":
        mask &= s == crossbar.chip.device.g_min
    elif where == "pinned":
        pinned = memory.faults.pinned_mask[crossbar.first_array:
                                            crossbar.first_array + crossbar.n_arrays]
        one = np.zeros(mask.shape)
        for p, i, j in np.argwhere(mask):
            one[:] = 0.0
            one[p, i, j] = 1.0
            if pinned[crossbar.scatter(one, fill=0.0) == 1.0].all():
                return _name(memory, layer, p), (i, j), s[p, i, j]
        raise AssertionError("no pinned device")
    p, i, j = np.argwhere(mask)[0]
    return _name(memory, layer, p), (i, j), s[p, i, j]


def _free(memory, layer=0):
    p, i, j = np.argwhere(np.isnan(memory.layers[layer].g_stuck))[0]
    return _name(memory, layer, p), (i, j)


def _name(memory, layer, plane):
    prefix = "" if len(memory.layers) == 1 else f"layer{layer}."
    return prefix + ("g_pos", "g_neg")[plane]


def _set_held(where, value, layer=0):
    """An edit storing ``value(stuck value)`` for a held device (:func:`_held`)."""
    def edit(tensors, meta, memory):
        name, index, stuck = _held(memory, layer, where)
        tensors[name][index] = value(stuck)
    return edit


def _nudge(tensors, meta, memory):
    """An edit moving a free device 1 uS (inside the window), off the levels of its chip."""
    name, index = _free(memory)
    g = tensors[name][index]
    tensors[name][index] = g + 1e-6 if g < 1e-4 else g - 1e-6


def _set_free(value):
    def edit(tensors, meta, memory):
        name, index = _free(memory)
        tensors[name][index] = value
    return edit


def _fault_meta(key, value):
    def edit(tensors, meta, memory):
        if value is None:
            del meta["fault_meta"][key]
        else:
            meta["fault_meta"][key] = value
    return edit


def _info_tolerance(value):
    def edit(tensors, meta, memory):
        meta["info"]["adapt"]["tolerance_S"] = value
    return edit


def _drop(name):
    def edit(tensors, meta, memory):
        del tensors[name]
    return edit


#: case -> (model, edit(tensors, meta, memory), words of the refusal)
CASES = {
    "stuck ON stored low": ("rram", _set_held("on", lambda s: 2.5e-5),
                            "which is stuck ON at 0.00015 S in the model's fault map"),
    "stuck OFF stored high": ("rram", _set_held("off", lambda s: 1.2e-4),
                              "which is stuck OFF at 2e-06 S in the model's fault map"),
    "weight model faulty pair not 0": ("paper", _set_held("any", lambda s: 1e-4),
                                       "holds 0.0001 S for device"),
    "free below g_min": ("rram", _set_free(1e-6), "outside the chip window"),
    "free above g_max": ("rram", _set_free(1.6e-4), "outside the chip window"),
    "free between levels": ("levels", _nudge,
                            "not one of the chip's 8 conductance levels"),
    "weight model between levels": ("paper-levels", _nudge,
                                    "not one of the chip's 6 conductance levels"),
    "multilayer layer 1 stuck": ("ml-rram", _set_held("on", lambda s: 3e-5, layer=1),
                                 "tensor 'layer1.g_"),
    "multilayer layer 2 pair": ("ml-paper", _set_held("any", lambda s: 9e-5, layer=2),
                                "tensor 'layer2.g_"),
    "adapted pinned far": ("adapted", _set_held("pinned", lambda s: s + 2e-5),
                           "is pinned (by adaptation) at"),
    "adapted stuck past tolerance": ("adapted", _set_held("on", lambda s: s - 3.1e-6),
                                     "further from it than the tolerance of the adaptation"),
    "read-back past tolerance": ("read-back-twice", _set_held("off", lambda s: s + 1.01e-6),
                                 "(1e-06 S)"),
    "adapted without its tolerance": ("adapted-twice", _fault_meta("adapt_tolerance_S", None),
                                      "in the model's fault map"),
    "fault map tolerance text": ("adapted", _fault_meta("adapt_tolerance_S", "3e-6"),
                                 "adapt_tolerance_S (the tolerance of the adaptation"),
    "fault map tolerance 0": ("adapted", _fault_meta("adapt_tolerance_S", 0),
                              "must be a number > 0 siemens, got 0"),
    "info.adapt tolerance negative": ("adapted", _info_tolerance(-3e-6),
                                      "info.adapt.tolerance_S must be > 0"),
    "info.adapt tolerance text": ("adapted", _info_tolerance("3 uS"),
                                  "info.adapt.tolerance_S must be a number"),
    "adapt tolerances differ (info)": ("adapted", _info_tolerance(4e-6),
                                       "info.adapt.tolerance_S 4e-06 S contradicts the fault "
                                       "map's adapt_tolerance_S 3e-06 S"),
    "adapt tolerances differ (map)": ("adapted-twice", _fault_meta("adapt_tolerance_S", 2e-6),
                                      "info.adapt.tolerance_S 1e-06 S contradicts the fault "
                                      "map's adapt_tolerance_S 2e-06 S"),
    "targets of one layer only": ("ml-rram", _drop("layer1.target_weights"),
                                  "missing tensor(s) layer1.target_weights: a model holds the "
                                  "target weights of every layer or of none"),
    "target bias alone": ("levels", _drop("target_weights"),
                          "tensor 'target_bias' without 'target_weights'"),
}


def _edited(models, tmp_path, case):
    base, edit, words = CASES[case]
    tensors, meta = model_parts(models[base])
    edit(tensors, meta, load_memory(models[base]))
    return write_model(tmp_path / "edited.safetensors", tensors, meta), words


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_model_file_that_contradicts_itself_is_refused_naming_it(case, models, tmp_path,
                                                                   run_cli):
    path, words = _edited(models, tmp_path, case)
    with pytest.raises(FileFormatError) as info:
        load_memory(path)
    assert str(info.value).startswith(f"{path}: ") and words in str(info.value)
    cues = tmp_path / "cues.npy"
    np.save(cues, np.ones((1, 12)))
    line = refused(run_cli, tmp_path, "recall", path, cues, "-o", tmp_path / "states.npy")
    assert str(path) in line and words in line


COMMANDS = {"evaluate": ["--probes", "1"], "recall": ["CUES", "-o", "states.npy"],
            "export": ["-o", "out"], "adapt": ["--rounds", "0", "-o", "a.safetensors"],
            "adapt --read-back": ["--read-back", "READ", "-o", "a.safetensors"],
            "energy": ["--probes", "1"]}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_that_reads_a_model_refuses_it_in_one_line(command, models, tmp_path,
                                                                 run_cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path, words = _edited(models, tmp_path, "stuck ON stored low")
    np.save(tmp_path / "cues.npy", np.ones((1, 12)))
    np.save(tmp_path / "read.npy", np.load(models["rram"].parent / "read.npy"))
    args = [{"CUES": "cues.npy", "READ": "read.npy"}.get(a, a) for a in COMMANDS[command]]
    name = command.split()[0]
    where = ["--model", path] if name == "energy" else [path]
    line = refused(run_cli, tmp_path, name, *where, *args)
    assert str(path) in line and "stuck ON" in line and "2.5e-05 S" in line


# ------------------------------------------------------------------ rounding, tolerance
def test_float32_conductances_on_levels_load_and_a_step_off_does_not(models, tmp_path):
    """A file may hold float32 (the header takes it): its levels are rounded, not moved."""
    tensors, meta = model_parts(models["levels"])
    for name in ("g_pos", "g_neg"):
        tensors[name] = tensors[name].astype(np.float32)
    loaded = load_memory(write_model(tmp_path / "f32.safetensors", tensors, meta))
    np.testing.assert_allclose(loaded.layers[0].planes(),
                               load_memory(models["levels"]).layers[0].planes(), rtol=1e-7)
    step = CHIPS["levels"].device.g_range / 7
    name, index = _free(load_memory(models["levels"]))
    tensors[name][index] += np.float32(step / 1000)
    with pytest.raises(FileFormatError, match="not one of the chip's 8 conductance levels"):
        load_memory(write_model(tmp_path / "off.safetensors", tensors, meta))


def test_a_read_back_within_the_adaptations_tolerance_loads(models, tmp_path):
    tensors, meta = model_parts(models["adapted"])
    memory = load_memory(models["adapted"])
    name, index, stuck = _held(memory, where="on")
    read = stuck - 0.999 * 3e-6  # the adaptation's --tolerance: 3 uS
    tensors[name][index] = read
    loaded = load_memory(write_model(tmp_path / "within.safetensors", tensors, meta))
    assert loaded.layers[0].planes()[("g_pos", "g_neg").index(name)][index] == read


# ------------------------------------------------------------------ writers and exports
def test_save_memory_refuses_a_memory_whose_file_would_not_load(models, tmp_path):
    memory = load_memory(models["rram"])
    name, (i, j), _ = _held(memory, where="on")
    crossbar = memory.layers[0]
    g = crossbar.planes()
    g[0 if name == "g_pos" else 1, i, j] = 2.5e-5
    crossbar.set_conductances(g[0], g[1], crossbar.w_max)  # set by hand: accepted there
    out = tmp_path / "m.safetensors"
    with pytest.raises(ConfigError, match="cannot save the memory, its file would not load: "
                                          f"tensor '{name}' \\[{i}, {j}\\] holds 2.5e-05 S"):
        save_memory(memory, out)
    assert not out.exists()


def test_an_export_whose_conductances_contradict_its_stuck_devices_is_refused(models,
                                                                              tmp_path):
    export_memory(load_memory(models["rram"]), tmp_path / "out", patterns=PATS)
    programmed = np.load(tmp_path / "out" / "programmed_S.npy")
    stuck = np.load(tmp_path / "out" / "stuck_S.npy")
    used = np.load(tmp_path / "out" / "used.npy")
    on = tuple(np.argwhere((stuck == _RRAM.device.g_max) & used)[0])
    programmed[on] = 2.5e-5
    np.save(tmp_path / "out" / "programmed_S.npy", programmed)
    with pytest.raises(FileFormatError, match="programmed_S.npy: device \\(array \\d+, .*\\) "
                                              "holds 2.5e-05 S, which is stuck ON") as info:
        load_export(tmp_path / "out")
    assert str(info.value).startswith(str(tmp_path / "out" / "programmed_S.npy"))
    assert "manifest.json" not in str(info.value) and "g_pos" not in str(info.value)


# ------------------------------------------------------------------ one tolerance, one w_max
def test_an_export_whose_two_adapt_tolerances_differ_is_refused(models, tmp_path):
    """The export's manifest carries the model's ``info`` and its fault map's ``meta``: the
    adaptation's tolerance twice, as a model file does; two numbers were read without a word."""
    export_memory(load_memory(models["adapted"]), tmp_path / "out", patterns=PATS)
    manifest = tmp_path / "out" / "manifest.json"
    data = json.loads(manifest.read_text())
    assert data["faults"]["meta"]["adapt_tolerance_S"] == 3e-6
    data["model_info"]["adapt"]["tolerance_S"] = 5e-6
    manifest.write_text(json.dumps(data))
    with pytest.raises(FileFormatError, match="manifest.json: .*info.adapt.tolerance_S 5e-06 S "
                                              "contradicts the fault map's adapt_tolerance_S "
                                              "3e-06 S"):
        load_export(tmp_path / "out")


def test_save_memory_refuses_a_weight_model_whose_w_max_its_record_does_not_explain(tmp_path):
    """``reprogram`` with variation under the ``weight`` fault model sets ``w_max`` by the
    perturbed weights, while the memory keeps its noise-free targets: it saves and loads by
    its ``info["variation"]`` record (``tests/test_reprogram_files.py``). Without the record
    the file would not load (the w_max check): refused before writing, as a contradicting
    device state is. Under the ``device`` fault model it saves and loads -- on a chip without
    write noise too, its conductances far from what its targets program (so no check of
    conductances against targets holds for every file xbarmem writes)."""
    from xbarmem.memory.variation import reprogram

    out = tmp_path / "m.safetensors"
    memory = reprogram(train(PATS, chip=CHIPS["paper"], rule="pinv"), 0.1, seed=3)
    del memory.info["variation"]
    with pytest.raises(ConfigError, match="cannot save the memory, its file would not load: "
                                          "w_max .* contradicts 1, the largest"):
        save_memory(memory, out, patterns=PATS)
    assert not out.exists()
    for chip in ("rram", "ideal", "levels"):
        memory = train(PATS, chip=CHIPS[chip], rule="pinv")
        programmed = memory.layers[0].planes()
        reprogram(memory, 0.1, seed=3)
        assert np.abs(memory.layers[0].planes() - programmed).max() > 5e-6
        again = load_memory(save_memory(memory, out, patterns=PATS))
        np.testing.assert_array_equal(again.layers[0].planes(), memory.layers[0].planes())


def test_save_memory_refuses_metadata_load_memory_would_refuse(models, tmp_path):
    memory, patterns = load_model(models["adapted"])
    memory.info["adapt"]["tolerance_S"] = 4e-6  # edited: the fault map says 3e-6
    out = tmp_path / "m.safetensors"
    with pytest.raises(ConfigError, match="cannot save the memory, its file would not load: "
                                          "bad metadata: .*info.adapt.tolerance_S 4e-06 S "
                                          "contradicts"):
        save_memory(memory, out, patterns=patterns)
    assert not out.exists()


def test_an_adapted_exports_manifest_says_a_held_device_is_its_read_back(models, tmp_path):
    """The manifest's stuck_S.npy description said nothing of read values: a measured chip's
    stuck devices lie where they read (outside [g_min, g_max] too), and an adapted model's
    held device is programmed at its read-back while stuck_S.npy holds its recorded value."""
    manifest = export_memory(load_memory(models["adapted"]), tmp_path / "out", patterns=PATS)
    programmed = np.load(tmp_path / "out" / "programmed_S.npy")
    stuck = np.load(tmp_path / "out" / "stuck_S.npy")
    held = np.load(tmp_path / "out" / "used.npy") & ~np.isnan(stuck)
    apart = np.abs(programmed - stuck)[held]
    tolerance = manifest["faults"]["meta"]["adapt_tolerance_S"]
    assert apart.max() > 0 and apart.max() <= tolerance * (1 + 1e-6)
    words = manifest["faults"]["stuck_npy"]
    for said in ("outside [g_min_S, g_max_S]", "programmed_S.npy holds every device as read "
                 "back, a held one too", "faults.meta.adapt_tolerance_S"):
        assert said in words, said
    assert "faults.stuck_npy" in manifest["mapping"]["free_pair"]
    guide = (Path(__file__).parents[1] / "docs" / "guide.md").read_text()
    assert "keeps the\n  conductance it reads" in guide
