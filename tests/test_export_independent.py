"""An independent check of ``xbarmem export``: what a device researcher programs, read back
from the export folder alone with numpy (manifest.json, the .npy files, devices.csv), on chips
tests/test_export.py does not try -- levels, write/read noise, 10-50 % stuck devices, both
fault models, arrays that do not divide N, rectangular arrays, a multilayer map over many
arrays, classic rules without a bias row and the adaptive rule with one.

For every chip: targets lie in the window and on a level; stuck devices carry their stuck value
and are flagged; each pair's targets reproduce the trained weight within one level spacing;
the placement is the crossbar tiling and no device holds two weights; the current ranges are
those of the programmed conductances at the read voltage; the CSV equals the .npy files; and
recall computed from the files equals the library's recall.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from xbarmem import FaultMap, load_preset, random_patterns, save_memory, train
from xbarmem.deploy.export import export_memory
from xbarmem.deploy.reload import load_export
from xbarmem.memory.multilayer import MultilayerMemory

FAST = {"max_steps": 60, "finetune_steps": 0, "window": 20}
TIE = 1e-9  # weight units


def _patterns(n, p, seed):
    return np.where(np.random.default_rng(seed).random((p, n)) < 0.5, -1.0, 1.0)


def _chip(rows, cols, *, levels=0, write=0.0, read=0.0, faults=0.0, on=0.5, model="device"):
    return (load_preset("rram").replace_array(rows=rows, cols=cols, fault_model=model)
            .replace_device(levels=levels, write_noise=write, read_noise=read)
            .with_faults(faults, on))


def _multilayer(chip, sizes, seed):
    """A multilayer memory programmed with seeded random weights (no training: the export
    does not care how the weights were found)."""
    mem = MultilayerMemory(sizes[0], sizes[1:-1], chip, fault_seed=seed)
    gen = torch.Generator().manual_seed(seed)
    shapes = list(zip(sizes[1:], sizes[:-1], strict=True))
    mem.program([0.3 * torch.randn(s, generator=gen) for s in shapes],
                [0.1 * torch.randn(s[0], generator=gen) for s in shapes], seed=seed + 1)
    return mem


def _measured_faults(chip, n_arrays, rate, seed):
    """A measured-like fault map: devices stuck anywhere from g_min to half a window above
    g_max (not on a level, some outside the programmable window)."""
    dev, arr = chip.device, chip.array
    rng = np.random.default_rng(seed)
    shape = (n_arrays, 2, arr.rows, arr.cols)
    g = dev.g_min + rng.random(shape) * 1.5 * dev.g_range
    return FaultMap(np.where(rng.random(shape) < rate, g, np.nan), {"source": "test"})


CASES = {
    # N = 100 on 64x64 arrays (2 x 2 tiles), 4 levels, Hebb: no bias row
    "hebb-levels4-N100-64x64": lambda: (train(
        _patterns(100, 6, 1), chip=_chip(64, 64, levels=4, faults=0.1), rule="hebb",
        fault_seed=1, program_seed=2), _patterns(100, 6, 1)),
    # adaptive rule (bias row) on 16 levels with write and read noise, 30 % stuck
    "adaptive-levels16-noise-stuck30": lambda: (train(
        _patterns(25, 3, 2), chip=_chip(16, 16, levels=16, write=2e-6, read=1e-6, faults=0.3),
        rule="adaptive", fault_seed=3, program_seed=4, **FAST), _patterns(25, 3, 2)),
    # 32x48 rectangular arrays, 64 levels, write noise, half the devices stuck (mostly ON)
    "pinv-levels64-32x48-stuck50": lambda: (train(
        _patterns(50, 5, 3), chip=_chip(32, 48, levels=64, write=1e-6, faults=0.5, on=0.8),
        rule="pinv", fault_seed=5, program_seed=6), _patterns(50, 5, 3)),
    # continuous devices, storkey, stuck OFF only
    "storkey-stuck10-off": lambda: (train(
        _patterns(40, 4, 4), chip=_chip(16, 16, faults=0.1, on=0.0), rule="storkey",
        fault_seed=7, program_seed=8), _patterns(40, 4, 4)),
    # the paper's weight fault model with a bias row (the bias row is never faulty)
    "adaptive-weightfaults20": lambda: (train(
        _patterns(25, 3, 5), chip=_chip(16, 16, levels=16, faults=0.2, model="weight"),
        rule="adaptive", fault_seed=9, program_seed=10, **FAST), _patterns(25, 3, 5)),
    # weight fault model without a bias row
    "hebb-weightfaults30": lambda: (train(
        _patterns(30, 3, 6), chip=_chip(16, 16, faults=0.3, model="weight"), rule="hebb",
        fault_seed=11, program_seed=12), _patterns(30, 3, 6)),
    # devices stuck at arbitrary (measured) conductances, 16 levels: free partners compensate;
    # 12x8 arrays (rows != cols): 21 rows incl. the bias row x 20 outputs = 2 x 3 tiles
    "adaptive-measured-stuck25-12x8": lambda: (train(
        _patterns(20, 3, 8), chip=_chip(12, 8, levels=16), rule="adaptive",
        faults=_measured_faults(_chip(12, 8), 6, 0.25, 14), program_seed=15, **FAST),
        _patterns(20, 3, 8)),
    # continuous patterns (tanh recall), 64 levels, 20 % stuck, N = 30 on 16x16 arrays
    "adaptive-continuous-tanh": lambda: (train(
        random_patterns(3, 30, "continuous", seed=9), chip=_chip(16, 16, levels=64, faults=0.2),
        rule="adaptive", fault_seed=16, program_seed=17, **FAST),
        random_patterns(3, 30, "continuous", seed=9)),
    # a scaled-down 784-64-784: 40-12-40 over many 16x16 arrays, levels, write noise, faults
    "multilayer-40-12-40": lambda: (_multilayer(
        _chip(16, 16, levels=16, write=1e-6, faults=0.1), [40, 12, 40], 13),
        _patterns(40, 4, 7)),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def exported(request, tmp_path_factory):
    memory, patterns = CASES[request.param]()
    folder = tmp_path_factory.mktemp(request.param)
    export_memory(memory, folder, patterns=patterns)
    return memory, np.asarray(getattr(patterns, "patterns", patterns)), folder, Export(folder)


class Export:
    """The export folder as a device researcher reads it (numpy and the manifest only)."""

    def __init__(self, folder: Path) -> None:
        self.m = json.loads((folder / "manifest.json").read_text())
        files = self.m["files"]
        self.target = np.load(folder / files["targets_npy"], allow_pickle=False)
        self.prog = np.load(folder / files["programmed_npy"], allow_pickle=False)
        self.stuck = np.load(folder / files["stuck_npy"], allow_pickle=False)
        self.used = np.load(folder / files["used_npy"], allow_pickle=False)
        mp = self.m["mapping"]
        self.g_min, self.g_max, self.levels = mp["g_min_S"], mp["g_max_S"], mp["levels"]
        self.volts = self.m["inputs"]["read_voltage_V"]
        self.weights = [self._params(folder, files, k) for k in range(len(self.m["layers"]))]
        self.patterns = np.load(folder / files["patterns"], allow_pickle=False)

    @staticmethod
    def _params(folder, files, k):
        w = np.load(folder / files[f"layer{k}_weights"], allow_pickle=False).astype(np.float64)
        name = files.get(f"layer{k}_bias")
        b = None if name is None else np.load(folder / name, allow_pickle=False)
        return w, b

    @property
    def step(self) -> float:
        """Level spacing, siemens (0 for continuous devices)."""
        return (self.g_max - self.g_min) / (self.levels - 1) if self.levels >= 2 else 0.0

    def logical(self, data: np.ndarray, layer: dict) -> np.ndarray:
        """``(2, n_out, n_rows)`` of one layer from ``(n_arrays, 2, rows, cols)`` by its tiles:
        logical row = input (bias row last), logical column = output."""
        n_rows = layer["n_in"] + int(layer["has_bias"])
        out = np.full((2, layer["n_out"], n_rows), np.nan)
        for t in layer["tiles"]:
            (r0, r1), (c0, c1) = t["logical_rows"], t["logical_cols"]
            (p0, p1), (q0, q1) = t["physical_rows"], t["physical_cols"]
            out[:, c0:c1, r0:r1] = data[t["array"], :, p0:p1, q0:q1].transpose(0, 2, 1)
        return out

    def fields(self, x: np.ndarray, conductances: np.ndarray | None = None) -> list[np.ndarray]:
        """Every layer's output (weight units) for inputs ``x`` ``(B, N)``: per array tile the
        column currents ``V * u @ (G+ - G-)``, summed over row tiles, divided by
        ``V * siemens_per_weight``; hidden layers apply tanh. Returns each layer's input."""
        g = self.prog if conductances is None else conductances
        inputs, h = [], np.asarray(x, dtype=np.float64)
        for k, layer in enumerate(self.m["layers"]):
            inputs.append(h)
            u = np.concatenate([h, np.ones((len(h), 1))], 1) if layer["has_bias"] else h
            current = np.zeros((len(h), layer["n_out"]))
            for t in layer["tiles"]:
                (r0, r1), (c0, c1) = t["logical_rows"], t["logical_cols"]
                (p0, p1), (q0, q1) = t["physical_rows"], t["physical_cols"]
                dg = g[t["array"], 0, p0:p1, q0:q1] - g[t["array"], 1, p0:p1, q0:q1]
                current[:, c0:c1] += (self.volts * u[:, r0:r1]) @ dg
            h = current / (self.volts * layer["siemens_per_weight"])
            if k < len(self.m["layers"]) - 1:
                h = np.tanh(h)
        inputs.append(h)
        return inputs


def _sync_recall(export: Export, cues: np.ndarray, max_iterations: int) -> np.ndarray:
    """Synchronous dynamics (the manifest's activation) on the exported conductances. sign: a
    cue stops at a fixed point, a 2-cycle or the cap; a zero field keeps the neuron's state (a
    field within ``TIE`` of 0 is a tie: G+ - G- of equal pairs sums to ~1e-18 in float64, to 0
    in the library's float32 weights). tanh: stops when no state moves by more than 1e-4."""
    tanh = export.m["recall"]["activation"] == "tanh"
    out = np.empty_like(cues, dtype=np.float64)
    for b, cue in enumerate(np.asarray(cues, dtype=np.float64)):
        before, cur = None, cue
        for _ in range(max_iterations):
            h = export.fields(cur[None])[-1][0]
            if tanh:
                new = np.tanh(h)
                done = np.abs(new - cur).max() <= 1e-4
                before, cur = cur, new
                if done:
                    break
                continue
            new = np.where(h > TIE, 1.0, np.where(h < -TIE, -1.0, cur))
            done = (new == cur).all() or (before is not None and (new == before).all())
            before, cur = cur, new
            if done:
                break
        out[b] = cur
    return out


def test_targets_in_window_on_levels_and_stuck_devices_flagged(exported):
    _, _, _, ex = exported
    used, stuck = ex.used, ~np.isnan(ex.stuck)
    assert ex.target.shape == ex.prog.shape == ex.stuck.shape == used.shape
    free = ~stuck
    for g in (ex.target[free], ex.prog[free]):
        assert (g >= ex.g_min - 1e-15).all() and (g <= ex.g_max + 1e-15).all()
    if ex.levels >= 2:
        level = (ex.target[free] - ex.g_min) / ex.step
        np.testing.assert_allclose(level, np.round(level), atol=1e-6)
    np.testing.assert_array_equal(ex.target[stuck], ex.stuck[stuck])
    np.testing.assert_array_equal(ex.prog[stuck], ex.stuck[stuck])
    assert (ex.target[~used & free] == ex.g_min).all()
    assert ex.m["devices"]["used_stuck"] == int((used & stuck).sum())


def test_the_program_entry_counts_the_devices_to_write(exported):
    """What to program is every used device that is not stuck (the guide, and what the
    simulated chip's open-loop round writes); the manifest counted every used device, stuck
    ones too, and no device to leave, under the rule 'program every cell to its target'."""
    memory, _, _, ex = exported
    write = ex.used & np.isnan(ex.stuck)
    entry = ex.m["program"]
    assert entry["devices"] == int(write.sum()) == sum(int((~ly.stuck).sum())
                                                       for ly in memory.layers)
    assert entry["devices"] + entry["leave"] == ex.m["devices"]["total"]
    assert "neither stuck nor pinned" in entry["rule"]


def _realisable(ex: Export, a: np.ndarray, sp: np.ndarray, sn: np.ndarray, w_max: float,
                fault_model: str) -> np.ndarray:
    """The trained weights ``a`` projected onto what each pair can hold (weight units)."""
    k = w_max / (ex.g_max - ex.g_min)
    free_p, free_n = np.isnan(sp), np.isnan(sn)
    if fault_model == "weight":
        return np.where(free_p & free_n, a, 0.0)
    lo = (np.where(free_p, ex.g_min, sp) - np.where(free_n, ex.g_max, sn)) * k
    hi = (np.where(free_p, ex.g_max, sp) - np.where(free_n, ex.g_min, sn)) * k
    return np.clip(a, lo, hi)


def test_pairs_reproduce_the_trained_weights(exported):
    _, _, _, ex = exported
    fault_model = ex.m["chip"]["array"]["fault_model"]
    for layer, (w, b) in zip(ex.m["layers"], ex.weights, strict=True):
        a = w if b is None else np.concatenate([w, np.asarray(b, np.float64)[:, None]], 1)
        assert layer["has_bias"] == (b is not None)
        t = ex.logical(ex.target, layer)
        s = ex.logical(ex.stuck, layer)
        w_max = layer["w_max"]
        assert layer["siemens_per_weight"] == pytest.approx((ex.g_max - ex.g_min) / w_max)
        want = _realisable(ex, a, s[0], s[1], w_max, fault_model)
        got = w_max * (t[0] - t[1]) / (ex.g_max - ex.g_min)
        spacing = w_max * ex.step / (ex.g_max - ex.g_min)
        np.testing.assert_allclose(got, want, rtol=0, atol=spacing + 1e-6 * w_max)


def test_placement_is_the_tiling_and_no_device_holds_two_weights(exported):
    _, _, _, ex = exported
    n_arrays, _, rows, cols = ex.target.shape
    assert ex.m["arrays"]["npy_shape"] == [n_arrays, 2, rows, cols]
    owner = np.full((n_arrays, rows, cols), -1)
    for k, layer in enumerate(ex.m["layers"]):
        n_rows = layer["n_in"] + int(layer["has_bias"])
        n_ct = math.ceil(layer["n_out"] / cols)
        seen = np.zeros((layer["n_out"], n_rows), dtype=int)
        for t in layer["tiles"]:
            (r0, r1), (c0, c1) = t["logical_rows"], t["logical_cols"]
            rt, ct = r0 // rows, c0 // cols
            assert r0 == rt * rows and r1 == min(r0 + rows, n_rows)
            assert c0 == ct * cols and c1 == min(c0 + cols, layer["n_out"])
            assert t["array"] == layer["first_array"] + rt * n_ct + ct
            assert t["physical_rows"] == [0, r1 - r0] and t["physical_cols"] == [0, c1 - c0]
            cell = owner[t["array"], 0:r1 - r0, 0:c1 - c0]
            assert (cell == -1).all(), "a device holds two weights"
            cell[...] = k
            seen[c0:c1, r0:r1] += 1
        assert (seen == 1).all()  # every weight of [W | b] placed exactly once
        if layer["has_bias"]:
            for bias in layer["bias_rows"]:
                assert bias["row"] == layer["n_in"] - (layer["n_in"] // rows) * rows
    np.testing.assert_array_equal(ex.used, np.broadcast_to((owner >= 0)[:, None], ex.used.shape))


def test_current_ranges_are_those_of_the_programmed_conductances(exported):
    _, _, _, ex = exported
    inputs = ex.fields(ex.patterns)
    for layer, x in zip(ex.m["layers"], inputs, strict=False):
        u = np.concatenate([x, np.ones((len(x), 1))], 1) if layer["has_bias"] else x
        for t, cur in zip(layer["tiles"], layer["currents"], strict=True):
            assert cur["array"] == t["array"]
            r0, r1 = t["logical_rows"]
            (p0, p1), (q0, q1) = t["physical_rows"], t["physical_cols"]
            g = ex.prog[t["array"], :, p0:p1, q0:q1]
            i = (ex.volts * u[:, r0:r1]) @ (g[0] - g[1])
            assert cur["at_inputs_A"] == pytest.approx([i.min(), i.max()], rel=1e-5, abs=1e-12)
            plane = ex.volts * g.sum(axis=1).max(axis=1)
            assert cur["plane_max_A"] == pytest.approx(list(plane), rel=1e-9)
            # extremes over any input in [-1, 1] (bias row held at +V_read)
            dg = g[0] - g[1]
            bias = np.arange(r0, r1) == layer["n_in"] if layer["has_bias"] else np.zeros(
                r1 - r0, bool)
            centre = ex.volts * dg[bias].sum(axis=0)
            swing = ex.volts * np.abs(dg[~bias]).sum(axis=0)
            assert cur["differential_A"] == pytest.approx(
                [(centre - swing).min(), (centre + swing).max()], rel=1e-9)
            lo, hi = cur["differential_A"]
            assert lo <= i.min() + 1e-12 and i.max() <= hi + 1e-12


def _read_csv(path: Path, shape) -> dict[str, np.ndarray]:
    cols = {name: np.full(shape, np.nan) for name in ("target", "prog", "stuck", "stuck_uS",
                                                      "used", "layer", "pinned")}
    with path.open() as handle:
        reader = csv.reader(handle)
        header = next(reader)
        assert header == ["layer", "array", "row", "col", "polarity", "used", "target_uS",
                          "programmed_uS", "stuck", "stuck_uS", "pinned"]
        for r in reader:
            key = (int(r[1]), ("G+", "G-").index(r[4]), int(r[2]), int(r[3]))
            for name, text in zip(("layer", "used", "target", "prog", "stuck", "stuck_uS",
                                   "pinned"),
                                  (r[0], r[5], r[6], r[7], r[8], r[9], r[10]), strict=True):
                cols[name][key] = float(text) if text else np.nan
    return cols


def test_csv_equals_the_npy_files(exported):
    _, _, folder, ex = exported
    c = _read_csv(folder / "devices.csv", ex.target.shape)
    assert ex.m["units"]["csv_conductance"] == "uS" and ex.m["units"]["npy_conductance"] == "S"
    np.testing.assert_allclose(c["target"] * 1e-6, ex.target, rtol=0, atol=1e-12)
    np.testing.assert_allclose(c["prog"] * 1e-6, ex.prog, rtol=0, atol=1e-12)
    np.testing.assert_allclose(c["stuck_uS"] * 1e-6, ex.stuck, rtol=0, atol=1e-12)
    # a device held at a conductance is stuck (broken) or pinned (by adaptation), never both
    np.testing.assert_array_equal((c["stuck"] == 1) | (c["pinned"] == 1), ~np.isnan(ex.stuck))
    assert not ((c["stuck"] == 1) & (c["pinned"] == 1)).any()
    np.testing.assert_array_equal(c["used"] == 1, ex.used)
    layers = np.nan_to_num(c["layer"], nan=-1)
    assert ((layers >= 0) == ex.used).all()


def _library_fields(memory, x: np.ndarray) -> np.ndarray:
    """The memory's noise-free output fields (its programmed weights, weight units)."""
    h = torch.as_tensor(x, dtype=torch.float64)
    for k, layer in enumerate(memory.layers):
        w, b = layer.effective()
        h = h @ w.double().T + (0 if b is None else b.double())
        if k < len(memory.layers) - 1:
            h = torch.tanh(h)
    return h.numpy()


def _cues(patterns: np.ndarray) -> np.ndarray:
    x = np.repeat(patterns, 3, axis=0)
    return np.where(np.random.default_rng(0).random(x.shape) < 0.15, -x, x)


def test_recall_from_the_files_equals_the_library(exported):
    """The files' noise-free fields are the memory's on every chip; on chips without read
    noise, sync recall from the files alone gives the states of load_export and of the
    memory."""
    memory, patterns, folder, ex = exported
    cues = _cues(patterns)
    np.testing.assert_allclose(ex.fields(cues)[-1], _library_fields(memory, cues),
                               rtol=1e-5, atol=1e-5)
    if memory.chip.device.read_noise > 0:
        return
    mine = _sync_recall(ex, cues, 100)
    act = ex.m["recall"]["activation"]
    lib = load_export(folder).recall(torch.as_tensor(cues), activation=act, seed=0).states
    orig = memory.recall(torch.as_tensor(cues), activation=act).states
    atol = 1e-3 if act == "tanh" else 0
    np.testing.assert_allclose(mine, lib.numpy(), rtol=0, atol=atol)
    np.testing.assert_allclose(mine, orig.numpy(), rtol=0, atol=atol)


def test_cli_recall_equals_recall_from_the_files(tmp_path, run_cli):
    """`xbarmem recall` on the saved model gives the states computed from its export."""
    memory, patterns = CASES["hebb-levels4-N100-64x64"]()
    model = save_memory(memory, tmp_path / "m.safetensors", patterns=patterns)
    code, _, err = run_cli("export", model, "--out", tmp_path / "exp")
    assert code == 0, err
    cues = _cues(patterns)
    np.save(tmp_path / "cues.npy", cues)
    code, _, err = run_cli("recall", model, tmp_path / "cues.npy", "-o", tmp_path / "s.npy")
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"),
                                  _sync_recall(Export(tmp_path / "exp"), cues, 100))
