"""Device model, fault maps and crossbar physics."""

import math
import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from xbarmem.errors import ConfigError, FileFormatError, XbarmemWarning
from xbarmem.hardware.chip import ChipSpec, DeviceSpec, load_chip, load_preset, preset_names
from xbarmem.hardware.crossbar import Crossbar
from xbarmem.hardware.faults import FaultMap
from xbarmem.memory.multilayer import MultilayerMemory
from xbarmem.memory.recall import FloatMatrix, recall
from xbarmem.memory.single import SingleLayerMemory

G_MIN, G_MAX = 2e-6, 150e-6


def chip(**device) -> ChipSpec:
    return load_preset("ideal").replace_device(**device).replace_array(weight_range=1.0)


def one_array(g_stuck_cells: dict[tuple[int, int, int], float], rows=4, cols=4) -> FaultMap:
    g = np.full((1, 2, rows, cols), np.nan)
    for (p, r, c), value in g_stuck_cells.items():
        g[0, p, r, c] = value
    return FaultMap(g)


def small_chip(**device) -> ChipSpec:
    return chip(**device).replace_array(rows=4, cols=4)


# ------------------------------------------------------------------ chip spec
def test_presets_exist_and_round_trip(tmp_path):
    assert {"ideal", "rram", "paper-sim"} <= set(preset_names())
    for name in preset_names():
        spec = load_preset(name)
        assert ChipSpec.from_dict(spec.to_dict()) == spec
        path = tmp_path / f"{name}.toml"
        path.write_text(spec.to_toml())
        assert load_chip(str(path)) == spec
    assert load_preset("paper-sim").array.fault_model == "weight"
    rram = load_preset("rram").device
    assert rram.g_min == 2e-6 and rram.g_max == 150e-6 and 1e-6 <= rram.write_noise <= 3e-6


@pytest.mark.parametrize("table, words", [
    ({"device": {"g_mni": 1e-6}}, "device.g_mni"),
    ({"devise": {}}, "devise"),
    ({"device": {"g_min": 5e-6, "g_max": 5e-6}}, "g_min"),
    ({"device": {"write_noise": -1e-6}}, "write_noise"),
    ({"device": {"read_noise": float("nan")}}, "read_noise"),
    ({"device": {"p_stuck_on": 1.5}}, "p_stuck_on"),
    ({"device": {"p_stuck_on": 0.6, "p_stuck_off": 0.6}}, "<= 1"),
    ({"device": {"levels": 1}}, "levels"),
    ({"array": {"fault_model": "pixel"}}, "fault_model"),
    ({"array": {"rows": 0}}, "array.rows"),
])
def test_bad_chip_values_are_rejected_naming_the_key(table, words):
    with pytest.raises(ConfigError, match=words.replace(".", r"\.").replace("<", "<")):
        ChipSpec.from_dict(table)


@settings(max_examples=40, deadline=None)
@given(key=st.sampled_from(["write_noise", "read_noise"]),
       times=st.one_of(st.floats(0.0, 0.999), st.floats(1.0, 6000.0), st.just(1.0)))
def test_noise_as_wide_as_the_window_is_taken_with_a_warning(key, times):
    """Noise of at least the window's width (every programmed conductance clipped noise) was
    taken silently; it is still taken (a sweep over noise may go there on purpose), with a
    warning naming the value and the window, pointing at the line that made the spec (up to
    the bound of every noise, 1 S: 6757 windows here)."""
    window = G_MAX - G_MIN
    noise = times * window
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spec = ChipSpec.from_dict({"device": {"g_min": G_MIN, "g_max": G_MAX, key: noise}})
    assert getattr(spec.device, key) == noise  # taken either way
    ours = [w for w in caught if issubclass(w.category, XbarmemWarning)]
    if noise < window:
        assert not ours
        return
    assert len(ours) == 1 and ours[0].filename == __file__
    text = str(ours[0].message)
    assert text.startswith(f"device.{key} = {noise:g} S is ") and "\n" not in text
    assert f"conductance window g_max - g_min = {window:g} S" in text


def test_presets_and_noise_below_the_window_give_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", XbarmemWarning)
        for name in preset_names():
            load_preset(name)
        chip(write_noise=0.5 * (G_MAX - G_MIN), read_noise=0.9 * (G_MAX - G_MIN))


def test_bad_toml_file_and_unknown_preset(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[device\ng_min = 1")
    with pytest.raises(FileFormatError, match="TOML"):
        load_chip(str(bad))
    with pytest.raises(FileFormatError, match="no chip preset or file"):
        load_chip("not-a-chip")


def test_keys_a_chip_file_leaves_out_take_the_ideal_presets_values(tmp_path):
    """A chip file of one key was read with the other keys at values no page named; the guide
    says they are the ``ideal`` preset's, as read."""
    from pathlib import Path

    path = tmp_path / "part.toml"
    path.write_text("[device]\np_stuck_on = 0.1\n[array]\nrows = 8\n")
    chip, ideal = load_chip(str(path)), load_preset("ideal")
    assert chip.device.p_stuck_on == 0.1 and chip.array.rows == 8
    assert chip.replace_device(p_stuck_on=0.0).device == ideal.device
    assert chip.replace_array(rows=64).array == ideal.array
    guide = " ".join((Path(__file__).parents[1] / "docs" / "guide.md").read_text().split())
    assert "A key left out takes the `ideal` preset's value" in guide


# ------------------------------------------------------------------ fault maps
def test_generated_fault_rates_and_seed():
    spec = load_preset("ideal").with_faults(0.3, on_fraction=0.25)
    fm = FaultMap.generate(spec, 4, seed=3)
    s = fm.summary(spec.device)
    assert abs(s["stuck_fraction"] - 0.3) < 0.02
    assert abs(s["stuck_on"] / s["stuck"] - 0.25) < 0.03
    assert set(np.unique(fm.g_stuck[fm.stuck])) == {G_MIN, G_MAX}
    np.testing.assert_array_equal(FaultMap.generate(spec, 4, seed=3).g_stuck, fm.g_stuck)
    assert not np.array_equal(FaultMap.generate(spec, 4, seed=4).g_stuck, fm.g_stuck)


def test_weight_model_faults_are_whole_pairs_at_zero():
    spec = load_preset("paper-sim").with_faults(0.5)
    fm = FaultMap.generate(spec, 1, seed=0)
    np.testing.assert_array_equal(fm.stuck[0, 0], fm.stuck[0, 1])
    assert abs(fm.stuck[0, 0].mean() - 0.5) < 0.03


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_fault_map_file_round_trip(tmp_path, suffix):
    spec = load_preset("rram").with_faults(0.2)
    fm = FaultMap.generate(spec, 2, seed=7)
    back = FaultMap.load(fm.save(tmp_path / f"map{suffix}"))
    np.testing.assert_array_equal(back.g_stuck, fm.g_stuck)
    assert back.meta["seed"] == 7


@pytest.mark.parametrize("suffix", [".NPZ", ".CSV", ".Npz"])
def test_a_fault_map_named_in_capitals_is_written_and_read(tmp_path, run_cli, suffix):
    """`chip faults -o MAP.NPZ` passed the command line's check of the name (which, as for
    every output, reads the suffix in any case) and then failed in FaultMap.save: `fault map
    file must end in .npz or .csv, got MAP.NPZ` (exit 2, nothing written); FaultMap.load
    refused such a file alike. Both now read the suffix in any case."""
    spec = load_preset("rram").with_faults(0.2)
    fm = FaultMap.generate(spec, 2, seed=7)
    back = FaultMap.load(fm.save(tmp_path / f"api{suffix}"))
    np.testing.assert_array_equal(back.g_stuck, fm.g_stuck)
    made = tmp_path / f"cli{suffix}"
    code, _, err = run_cli("chip", "faults", "--neurons", "16", "-o", made, "--json")
    assert code == 0 and made.is_file(), err
    code, _, err = run_cli("chip", "inspect", made, "--json")
    assert code == 0, err
    code, _, err = run_cli("train", "--data", "random", "-p", "2", "--neurons", "16", "--rule",
                           "hebb", "--fault-map", made, "-o", tmp_path / "m.safetensors")
    assert code == 0, err


def test_fault_map_csv_errors_name_the_line(tmp_path):
    fm = FaultMap.generate(load_preset("ideal").with_faults(0.1), 1, seed=0)
    path = fm.save(tmp_path / "m.csv")
    lines = path.read_text().splitlines()
    lines[3] = "0,G+,x,1,2e-6"
    path.write_text("\n".join(lines))
    with pytest.raises(FileFormatError, match="line 4"):
        FaultMap.load(path)
    with pytest.raises(FileFormatError, match="no such fault map"):
        FaultMap.load(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(FileFormatError, match="unreadable"):
        FaultMap.load(tmp_path / "junk.npz")


def test_measured_maps_import():
    dev = load_preset("rram").device
    codes = np.zeros((2, 3, 3), dtype=int)
    codes[0, 0, 0], codes[1, 2, 1] = 1, -1
    fm = FaultMap.from_codes(codes, dev)
    assert fm.g_stuck[0, 0, 0, 0] == dev.g_max and fm.g_stuck[0, 1, 2, 1] == dev.g_min
    assert fm.stuck.sum() == 2
    with pytest.raises(FileFormatError, match="codes"):
        FaultMap.from_codes(codes * 2, dev)
    read = np.full((2, 3, 3), 60e-6)
    read[0, 1, 1], read[1, 0, 2] = 1e-6, 149e-6
    fm = FaultMap.from_conductance_map(read, dev)
    assert fm.stuck.sum() == 2 and fm.g_stuck[0, 0, 1, 1] == 1e-6
    target = np.full((2, 3, 3), 60e-6)
    fm = FaultMap.from_readback(read, target, 5e-6, dev)
    assert fm.stuck.sum() == 2


def test_a_map_made_for_another_chip_is_refused():
    """A map whose arrays are not the chip's size (another chip, a transposed map), or a
    per-device map on a chip of the weight fault model, is refused naming the problem, by
    :meth:`FaultMap.check_chip` and by every crossbar built on it."""
    rram, paper = load_preset("rram"), load_preset("paper-sim")
    small = FaultMap.generate(rram.replace_array(rows=32, cols=48), 2, seed=0)
    with pytest.raises(ConfigError, match="m.npz: arrays of 32x48 cells, but the rram chip's "
                                          "arrays are 64x64"):
        small.check_chip(rram, "m.npz")
    per_device = FaultMap.generate(rram.with_faults(0.2), 2, seed=0)
    with pytest.raises(ConfigError, match=r"pairs? with a single stuck device.*weight fault"):
        Crossbar(paper, 64, 64, per_device)
    Crossbar(rram, 64, 64, per_device)  # the chip it was made for
    Crossbar(rram, 64, 64, FaultMap.generate(paper.with_faults(0.2), 2, seed=0))  # whole pairs
    Crossbar(paper, 64, 64, FaultMap.generate(paper.with_faults(0.2), 2, seed=0))


@pytest.mark.parametrize("arrays", [1, 3])
def test_a_map_with_its_pair_axis_last_says_where_it_goes(arrays):
    """``np.stack([g_plus, g_minus], axis=-1)``, (rows, cols, 2), was refused naming the
    shapes taken only (review3); the refusal says that the axis of size 2 is last and how to
    move it, and the moved map is taken."""
    read = np.random.default_rng(0).uniform(20e-6, 120e-6, size=(arrays, 2, 16, 8))
    last = np.moveaxis(read, 1, -1)[0] if arrays == 1 else np.moveaxis(read, 1, -1)
    device = load_preset("rram").device
    with pytest.raises(FileFormatError, match=re.escape(
            "its axis of size 2 is last; move it before the rows and cols (np.moveaxis(a, -1, "
            "-3))")):
        FaultMap.from_conductance_map(last, device)
    moved = FaultMap.from_conductance_map(np.moveaxis(last, -1, -3), device)
    assert moved.g_stuck.shape == (arrays, 2, 16, 8)


@pytest.mark.parametrize("planes", [1, 3, 4])
@pytest.mark.parametrize("build", ["conductance", "readback"])
def test_a_stack_of_single_planes_says_to_pair_them(planes, build):
    """A stack of single device planes, ``(4, rows, cols)`` (an .npz's G+ planes of 4 arrays
    read alone, ``--key gp``), was refused naming the shapes taken only: the refusal says they
    are planes, not pairs, and how to pair them."""
    g = np.random.default_rng(0).uniform(20e-6, 120e-6, size=(planes, 16, 8))
    device = load_preset("rram").device
    said = re.escape(f"got {g.shape}: {planes} plane{'s' if planes > 1 else ''} of devices, not "
                     f"the G+ and G- planes of "
                     f"pairs; stack each array's two as (n_arrays, 2, rows, cols), or save the "
                     f"G+ and the G- planes in one .npz and read them with the key PLUS,MINUS")
    with pytest.raises(FileFormatError, match=said):
        if build == "conductance":
            FaultMap.from_conductance_map(g, device)
        else:
            FaultMap.from_readback(g, g, 1e-6, device)


@pytest.mark.parametrize("option, value", [("on_above", 1e-3), ("off_below", 0.01),
                                           ("on_above", 1e9)])
def test_a_threshold_too_high_in_any_unit_gets_no_microsiemens_hint(option, value):
    """``off_below = 1e-3`` (1 mS, far above the chip) was told "0.001 uS is 1e-09 S", a
    conductance far below the chip's window: the hint is given only where the value read in
    microsiemens is a conductance of the chip's scale."""
    read = np.full((2, 16, 8), 60e-6)
    with pytest.raises(ConfigError, match="it is in siemens$"):
        FaultMap.from_conductance_map(read, load_preset("rram").device, **{option: value})


@pytest.mark.parametrize("option, value", [("on_above", 95.0), ("off_below", 5.0)])
def test_a_threshold_meant_in_microsiemens_is_refused(option, value, tmp_path, run_cli):
    """``--on-above 95`` (95 uS meant; the option is in siemens) was taken: no reading lies
    above 95 S, so the devices stuck ON were imported free (review3). A threshold above every
    reading a map may hold is refused, saying it is in siemens."""
    read = np.full((2, 16, 8), 60e-6)
    read[0, 1, 1], read[1, 2, 2] = 149e-6, 1e-7            # one stuck ON, one stuck OFF
    device = load_preset("rram").device
    with pytest.raises(ConfigError, match=re.escape(f"{value:g} uS is {value * 1e-6:g} S")):
        FaultMap.from_conductance_map(read, device, **{option: value})
    assert FaultMap.from_conductance_map(read, device, **{option: value * 1e-6}).stuck.sum() == 2
    grid, out = tmp_path / "g.npy", tmp_path / "m.npz"
    np.save(grid, read)
    chip = tmp_path / "c.toml"
    chip.write_text(load_preset("rram").replace_array(rows=16, cols=8).to_toml())
    code, _, err = run_cli("chip", "import", grid, "--as", "conductance", "--chip", chip,
                           f"--{option.replace('_', '-')}", str(value), "-o", out)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "in siemens" in err, err
    assert f"--{option.replace('_', '-')} = " in err, err  # the option, not the keyword
    assert not out.exists()
    code, _, err = run_cli("chip", "import", tmp_path / "absent.npy", "--as", "conductance",
                           "--chip", chip, f"--{option.replace('_', '-')}", str(value), "-o", out)
    assert code == 2 and "in siemens" in err, err  # refused before the file is read


def test_thresholds_in_the_wrong_order_are_refused_by_their_options(tmp_path, run_cli):
    """``--off-below`` above ``--on-above`` was refused as "off_below (...) must be below
    on_above (...)", the Python keywords, after the map was read; the options are named, first."""
    code, _, err = run_cli("chip", "import", tmp_path / "absent.npy", "--as", "conductance",
                           "--off-below", "1e-4", "--on-above", "5e-5", "-o", tmp_path / "m.npz")
    assert code == 2 and "--off-below (0.0001 S) must be below --on-above (5e-05 S)" in err, err


def test_a_map_of_other_arrays_on_a_chip_file_says_to_edit_that_file(tmp_path):
    """On a chip of the user's own TOML file the refusal said "edit what 'xbarmem chip show
    rram' prints", a preset the user never named (review3); it says to edit the chip's file,
    and still names the preset for a preset."""
    path = tmp_path / "lab.toml"
    path.write_text('name = "lab"\n[array]\nrows = 64\ncols = 32\n')
    lab = load_chip(path)
    other = FaultMap.generate(lab.replace_array(rows=48, cols=40), 1, seed=0)
    with pytest.raises(ConfigError) as info:
        other.check_chip(lab, "m.npz")
    assert "chip show rram" not in str(info.value)
    assert "rows = 48 and cols = 40 in [array] (edit the chip's own TOML file" in str(info.value)
    with pytest.raises(ConfigError, match="edit what 'xbarmem chip show rram' prints"):
        other.check_chip(load_preset("rram"), "m.npz")


def test_a_map_too_small_for_a_memory_names_the_most_neurons_it_holds():
    """``xm.train`` of 64 neurons on one measured array of 64x32 pairs said only that the map
    "covers only 1 array"; it now names the largest memory that fits (N + 1 rows with the bias
    row, N columns: 32), and a memory of that size is built on the map.
    :func:`largest_square` is the brute-force answer on arrays of several shapes."""
    from xbarmem.hardware.crossbar import arrays_needed, largest_square

    rram = load_preset("rram")
    chip = rram.replace_array(rows=64, cols=32)
    fmap = FaultMap.generate(chip.with_faults(0.1), 1, seed=0)
    with pytest.raises(ConfigError, match="covers only 1 array; a memory of up to 32 neurons "
                                          "fits 1 array$"):
        SingleLayerMemory(64, chip, fmap)
    assert SingleLayerMemory(32, chip, fmap).layers[0].n_arrays == 1
    for spec in (rram, chip, rram.replace_array(rows=16, cols=48)):
        for arrays in range(5):
            for bias in (True, False):
                fits = [n for n in range(1, 300) if arrays_needed(spec, n, n + bias) <= arrays]
                assert largest_square(spec, arrays, bias) == max(fits, default=0)


def test_a_multilayer_memory_too_large_for_its_map_is_not_told_a_one_layer_size():
    """A multilayer memory whose first layer is square (hidden width N, the paper's ``1n``)
    was told "a memory of up to 32 neurons fits 1 array" by that layer's crossbar, where no
    multilayer memory of 32 neurons fits (it needs two layers' arrays); the hint is the one-layer
    memory's (and a lone matrix is no memory)."""
    chip = load_preset("rram").replace_array(rows=64, cols=32)
    fmap = FaultMap.generate(chip.with_faults(0.1), 1, seed=0)
    for build in (lambda: MultilayerMemory(40, [40], chip, fmap),
                  lambda: Crossbar(chip, 40, 40, fmap)):
        with pytest.raises(ConfigError, match="covers only 1 array") as err:
            build()
        assert "neurons fits" not in str(err.value)


# ------------------------------------------------------------------ crossbar
def test_stuck_on_device_allows_only_one_sign():
    spec = small_chip()
    fm = one_array({(0, 1, 0): G_MAX, (1, 2, 0): G_MAX, (0, 3, 1): G_MIN, (1, 3, 1): G_MAX})
    cb = Crossbar(spec, 4, 3, fm, bias=True)
    lo, hi = cb.bounds()
    # logical weight (out i, in j) sits at physical row j, column i
    assert (lo[0, 1], hi[0, 1]) == (0.0, 1.0)         # G+ stuck ON: only w >= 0
    assert (lo[0, 2], hi[0, 2]) == (-1.0, 0.0)        # G- stuck ON: only w <= 0
    assert lo[1, 3] == hi[1, 3] == -1.0               # both stuck: pinned (bias column)
    assert (lo[2, 2], hi[2, 2]) == (-1.0, 1.0)        # free pair
    w = torch.full((4, 3), -0.7)
    cb.program(w, torch.zeros(4))
    w_eff, b_eff = cb.effective()
    assert w_eff[0, 1] == pytest.approx(0.0, abs=1e-6)   # clipped to the realisable interval
    assert w_eff[0, 2] == pytest.approx(-0.7, abs=1e-6)  # free G+ compensates the stuck G-
    assert b_eff[1] == pytest.approx(-1.0, abs=1e-6)
    assert cb.g_pos[0, 1] == G_MAX                       # the stuck device did not move


def test_ideal_chip_reproduces_float_recall():
    torch.manual_seed(0)
    n = 20
    w = torch.randn(n, n)
    w = (w + w.T) / 2
    w.fill_diagonal_(0)
    w = w / w.abs().max()
    b = 0.1 * torch.randn(n)
    spec = chip()
    cb = Crossbar(spec, n, n, FaultMap.empty(1, 64, 64), bias=True).program(w, b)
    w_eff, b_eff = cb.effective()
    torch.testing.assert_close(w_eff, w, atol=1e-6, rtol=0)
    cues = torch.where(torch.rand(30, n) < 0.5, 1.0, -1.0)
    a = recall(cb, cues, max_iterations=50)
    f = recall(FloatMatrix(w, b), cues, max_iterations=50)
    torch.testing.assert_close(a.states, f.states)
    torch.testing.assert_close(a.iterations, f.iterations)


def test_write_error_statistics_match_spec():
    sigma = 3e-6
    spec = chip(write_noise=sigma)
    cb = Crossbar(spec, 64, 64, FaultMap.empty(1, 64, 64), bias=False)
    w = torch.full((64, 64), 0.5)
    cb.program(w, seed=1)
    target = G_MIN + 0.5 * (G_MAX - G_MIN)
    err = cb.g_pos - target
    assert abs(err.mean()) < 3 * sigma / 64
    assert err.std() == pytest.approx(sigma, rel=0.05)
    assert (cb.g_neg >= G_MIN).all()  # clipped to the window
    first = cb.g_pos.copy()
    cb.program(w, seed=1)
    np.testing.assert_array_equal(cb.g_pos, first)   # seeded
    cb.program(w, seed=2)
    assert not np.array_equal(cb.g_pos, first)


def test_reads_are_noisy_but_programming_is_not_repeated():
    spec = chip(read_noise=1e-6)
    cb = Crossbar(spec, 64, 64, FaultMap.empty(1, 64, 64), bias=False)
    cb.program(torch.full((64, 64), 0.25), seed=0)
    g_before = cb.g_pos.copy()
    x = torch.ones(2000, 64)
    gen = torch.Generator().manual_seed(0)
    y1, y2 = cb.matvec(x, gen), cb.matvec(x, gen)
    assert not torch.equal(y1, y2)                      # fresh noise per read
    np.testing.assert_array_equal(cb.g_pos, g_before)   # devices untouched by reads
    expected_std = cb.w_max / (G_MAX - G_MIN) * 1e-6 * math.sqrt(2 * 64)
    assert float((y1 - 16.0).std()) == pytest.approx(expected_std, rel=0.05)
    assert float((y1 - 16.0).mean()) == pytest.approx(0.0, abs=3 * expected_std / 40)


def test_output_referred_read_noise_matches_per_device_simulation():
    """The exact Gaussian shortcut equals drawing every device's read noise."""
    s = 2e-6
    spec = chip(read_noise=s)
    cb = Crossbar(spec, 8, 8, FaultMap.empty(1, 64, 64), bias=False)
    cb.program(torch.rand(8, 8) * 2 - 1)
    x = torch.where(torch.rand(1, 8) < 0.5, 1.0, -1.0)
    fast = cb.matvec(x.expand(20000, -1), torch.Generator().manual_seed(1))[:, 0]
    rng = np.random.default_rng(0)
    k = cb.w_max / spec.device.g_range
    gp = cb.g_pos[0] + rng.normal(0, s, (20000, 8))
    gn = cb.g_neg[0] + rng.normal(0, s, (20000, 8))
    slow = ((gp - gn) * k) @ x[0].numpy()
    assert float(fast.std()) == pytest.approx(slow.std(), rel=0.05)
    assert float(fast.mean()) == pytest.approx(slow.mean(), abs=0.01)


def test_levels_quantise_free_devices():
    spec = chip(levels=5)
    cb = Crossbar(spec, 8, 8, FaultMap.empty(1, 64, 64), bias=False)
    cb.program(torch.rand(8, 8) * 2 - 1)
    grid = G_MIN + np.arange(5) * (G_MAX - G_MIN) / 4
    for g in (cb.g_pos, cb.g_neg):
        assert np.abs(g[..., None] - grid).min(axis=-1).max() < 1e-12


def test_one_array_row_or_column_is_named_as_one(tmp_path):
    """A range of one was written as a range: a matrix refused for the one array it needs past
    the map said "needs arrays 1..1", a measurement of one row "lie in rows 0..0" (as export
    printed "rows 0-0"); each is named as one now, a range as before."""
    from xbarmem.hardware.measured import measured_chip, read_measured_csv

    spec = chip().replace_array(rows=16, cols=16)
    with pytest.raises(ConfigError, match="needs array 1 of 16x16, but"):
        Crossbar(spec, 16, 16, FaultMap.empty(1, 16, 16), bias=False, first_array=1)
    with pytest.raises(ConfigError, match="needs arrays 0..1 of 16x16, but"):
        Crossbar(spec, 16, 16, FaultMap.empty(1, 16, 16))
    rng = np.random.default_rng(0)
    lines = ["array,row,col,polarity,target_uS,read_uS"] + [
        f"{a},0,{j},{pol},{t:.3f},{t + rng.normal():.3f}" for a in range(2) for j in range(16)
        for pol in ("G+", "G-") for t in [rng.uniform(5.0, 140.0)]]
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    with pytest.warns(XbarmemWarning, match="lie in row 0 and cols 0..15 only"):
        measured_chip(read_measured_csv(tmp_path / "m.csv", 64, 64), load_preset("rram"))


def test_large_matrix_tiles_over_arrays():
    spec = chip().replace_array(rows=16, cols=16)
    fm = FaultMap.generate(spec.with_faults(0.2), 6, seed=0)
    with pytest.raises(ConfigError, match="needs arrays"):
        Crossbar(spec, 40, 39, fm, bias=True)      # only 6 arrays in the map
    fm9 = FaultMap.generate(spec.with_faults(0.2), 9, seed=0)
    cb = Crossbar(spec, 40, 39, fm9, bias=True)    # 40 rows x 40 cols -> 3 x 3 tiles
    assert cb.n_arrays == 9
    # scatter(gather(x)) restores the physical map where the matrix lives
    back = cb.scatter(cb.g_stuck)
    used = ~np.isnan(cb.scatter(np.zeros_like(cb.g_stuck)))
    np.testing.assert_array_equal(back[used], fm9.g_stuck[used])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 0.9))
def test_programmed_weights_always_inside_bounds(seed, rate):
    spec = chip().with_faults(rate, on_fraction=0.5).replace_array(rows=8, cols=8)
    fm = FaultMap.generate(spec, 1, seed=seed)
    cb = Crossbar(spec, 8, 7, fm, bias=True)
    lo, hi = cb.bounds()
    assert (lo <= hi).all()
    w = torch.randn(8, 7, generator=torch.Generator().manual_seed(seed)) * 2
    cb.program(w, torch.zeros(8))
    a = torch.cat(cb.effective()[0:1] + (cb.effective()[1][:, None],), dim=1)
    assert (a >= lo - 1e-5).all() and (a <= hi + 1e-5).all()
    stuck = cb.stuck
    np.testing.assert_array_equal(cb.g_pos[stuck[0]], cb.g_stuck[0][stuck[0]])
    np.testing.assert_array_equal(cb.g_neg[stuck[1]], cb.g_stuck[1][stuck[1]])


def test_weight_model_pins_faulty_weights_at_zero_and_scales_free_ones():
    spec = load_preset("paper-sim").with_faults(0.5).replace_array(rows=8, cols=8)
    fm = FaultMap.generate(spec, 2, seed=1)
    cb = Crossbar(spec, 8, 8, fm, bias=True)
    lo, hi = cb.bounds()
    faulty = (lo == 0) & (hi == 0)
    assert 0.3 < faulty[:, :8].float().mean() < 0.7
    assert not faulty[:, 8].any()                   # the bias is never faulty
    w = torch.randn(8, 8) * 5
    cb.program(w, torch.ones(8) * 7)
    w_eff, b_eff = cb.effective()
    assert (w_eff[faulty[:, :8]] == 0).all()
    torch.testing.assert_close(w_eff[~faulty[:, :8]], w[~faulty[:, :8]], atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(b_eff, torch.ones(8) * 7, atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("g_max", [150, 1.5, 1e3])
def test_a_conductance_window_in_microsiemens_written_as_siemens_is_refused(g_max):
    """A chip file with g_max = 150 (microsiemens meant) trained a memory of 150-S devices."""
    with pytest.raises(ConfigError, match=r"device.g_max = .* S is no memristor's conductance"):
        DeviceSpec(g_min=0.0, g_max=g_max)
    assert DeviceSpec(g_min=0.0, g_max=1.0).g_max == 1.0  # the bound itself is taken


@pytest.mark.parametrize("g_min, g_max, message", [
    (2.0, 150e-6, "device.g_min = 2 S is no memristor's conductance (at most 1 S, a 1-ohm "
                  "device): conductances are in siemens, e.g. 2 uS is 2e-06"),
    (2.0, 150.0, "device.g_max = 150 S is no memristor's conductance"),
    (0.5, 150e-6, "device.g_min (0.5 S) must be below device.g_max (0.00015 S): conductances "
                  "are in siemens, e.g. 0.5 uS is 5e-07"),
    (10.0, 1e-3, "device.g_min = 10 S is no memristor's conductance"),
])
def test_a_window_half_in_microsiemens_is_refused_naming_the_unit(g_min, g_max, message):
    """A window of g_min in microsiemens and g_max in siemens (g_min = 2, g_max = 150e-6) was
    refused as "device.g_min (2 S) must be below device.g_max (0.00015 S)", no word of the
    unit; g_min above 1 S is now refused as g_max is, and a g_min of the window's scale
    read in microsiemens is named."""
    with pytest.raises(ConfigError) as info:
        DeviceSpec(g_min=g_min, g_max=g_max)
    assert str(info.value).startswith(message), info.value
    with pytest.raises(ConfigError) as swapped:  # (both in siemens, swapped: no unit hint)
        DeviceSpec(g_min=1e-4, g_max=1e-5)
    assert str(swapped.value) == "device.g_min (0.0001 S) must be below device.g_max (1e-05 S)"


# ------------------------------------------------------------------ the chip a map records
def test_fault_maps_record_the_chip_they_were_made_for(tmp_path):
    from xbarmem.hardware.faults import chip_record, recorded_chip

    rram = load_preset("rram")
    assert FaultMap.generate(rram, 1).meta["chip"] == "rram"
    other = rram.with_faults(0.3)  # a preset with other rates: its whole description
    record = FaultMap.generate(other, 1).meta["chip"]
    assert record == other.to_dict() and recorded_chip({"chip": record}) == other
    assert chip_record(rram) == "rram" and recorded_chip({"chip": "rram"}) == rram
    # none recorded, or one that cannot be loaded again: None (the command's default applies)
    for meta in ({}, {"chip": "no-such-chip"}, {"chip": {"device": {"g_min": -1}}},
                 {"chip": 3}):
        assert recorded_chip(meta) is None


def _map_of_codes(tmp_path, chip="rram"):
    codes = np.zeros((1, 2, 64, 64), dtype=np.int64)
    codes[0, 0, 0, 2] = 1  # one device of a pair stuck: a per-device map (refused by paper-sim)
    np.save(tmp_path / "codes.npy", codes)
    return codes


def test_train_without_chip_uses_the_chip_its_fault_map_records(tmp_path, run_cli):
    _map_of_codes(tmp_path)
    out = tmp_path / "f.npz"
    code, _, err = run_cli("chip", "import", tmp_path / "codes.npy", "-o", out)
    assert code == 0, err
    assert FaultMap.load(out).meta["chip"] == "rram"
    code, stdout, err = run_cli("train", "--fault-map", out, "--data", "random", "-p", "3",
                                "--neurons", "16", "--rule", "hebb", "-o",
                                tmp_path / "m.safetensors", "--json")
    assert code == 0, err
    assert '"chip": "rram"' in stdout
    assert f"note: chip rram: recorded in the fault map {out}" in err
    # --chip wins (and the map is then checked against it, as before)
    code, _, err = run_cli("train", "--fault-map", out, "--chip", "paper-sim", "--data",
                           "random", "-p", "3", "--neurons", "16", "-o",
                           tmp_path / "m2.safetensors")
    assert code == 2 and "paper-sim chip uses the weight fault model" in err
    assert "note:" not in err


def test_a_map_without_a_chip_keeps_the_default(tmp_path, run_cli):
    fmap = FaultMap.from_codes(_map_of_codes(tmp_path), load_preset("rram").device)
    fmap.save(tmp_path / "old.npz")  # as maps were written before: no chip recorded
    code, _, err = run_cli("train", "--fault-map", tmp_path / "old.npz", "--data", "random",
                           "-p", "3", "--neurons", "16", "-o", tmp_path / "m.safetensors")
    assert code == 2 and "--chip rram" in err and "note:" not in err


def test_capacity_and_inspect_use_the_recorded_chip(tmp_path, run_cli):
    chip = load_preset("rram").replace_array(rows=32)
    (tmp_path / "mine.toml").write_text(chip.replace(name="mine").to_toml())
    code, _, err = run_cli("chip", "faults", "--chip", tmp_path / "mine.toml", "-o",
                           tmp_path / "t.npz")
    assert code == 0, err
    code, stdout, err = run_cli("chip", "inspect", tmp_path / "t.npz")
    assert code == 0 and "note: chip mine:" in err, err
    assert "mine (its description recorded in full: --json)" in " ".join(stdout.split())
    code, stdout, err = run_cli("capacity", "--fault-map", tmp_path / "t.npz", "--data",
                                "random", "--neurons", "16", "--trials", "1", "--probes", "1",
                                "--rule", "hebb", "--json")
    assert code == 0, err
    assert '"rows": 32' in stdout and "note: chip mine:" in err


def test_a_measured_chip_is_written_in_the_shortest_form_of_its_values(tmp_path, run_cli):
    """153.129 uS read as 153.129 * 1e-6 S showed as g_max = 0.00015312899999999998."""
    rows = ["array,row,col,polarity,target_uS,read_uS"]
    reads = [2.5, 40.0, 80.0, 120.0, 153.129, 60.0]
    rows += [f"0,0,{j},G+,{r},{r}" for j, r in enumerate(reads)]
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    code, out, err = run_cli("chip", "import", tmp_path / "m.csv", "-o", tmp_path / "f.npz",
                             "--chip-out", tmp_path / "chip.toml", "--tolerance", "1")
    assert code == 0, err
    toml = (tmp_path / "chip.toml").read_text()
    assert "g_max = 0.000153129  # S\n" in toml and "g_min = 2.5e-06  # S\n" in toml, toml
    assert FaultMap.load(tmp_path / "f.npz").meta["chip"]["name"] == "measured"


def test_a_measured_csv_of_smaller_arrays_than_the_chip_is_warned_about(tmp_path, run_cli):
    """The devices.csv of a model on 16x16 tiles, read back and imported with the default
    chip (64x64 arrays), made a map of 64x64 arrays with every measured device in their
    corner, its stuck devices on other weights, and said nothing; a chip of those arrays, or
    a measurement that reaches past half of the rows or columns and is not every device of
    the same corner of each array, imports without a word."""
    from xbarmem.hardware.measured import measured_chip, read_measured_csv

    rng = np.random.default_rng(0)
    lines = ["array,row,col,polarity,target_uS,read_uS"]
    for a in range(2):
        for i in range(16):
            for j in range(16):
                for pol in ("G+", "G-"):
                    target = rng.uniform(5.0, 140.0)
                    lines.append(f"{a},{i},{j},{pol},{target:.3f},{target + rng.normal():.3f}")
    path = tmp_path / "m.csv"
    path.write_text("\n".join(lines) + "\n")
    words = ("m.csv: the measured devices lie in rows 0..15 and cols 0..15 only of the rram "
             "chip's 64x64 arrays (the others are left free); if the measured chip's arrays are "
             "16x16, give a chip with rows = 16 and cols = 16 in [array] (--chip FILE); if "
             "they are the devices a memory uses, list the others with an empty read_uS, as its "
             "export's devices.csv does")
    rram = load_preset("rram")
    with pytest.warns(XbarmemWarning, match=re.escape(words)):
        measured_chip(read_measured_csv(path, 64, 64), rram)
    code, _, err = run_cli("chip", "import", path, "-o", tmp_path / "f.npz")
    assert code == 0 and err.strip() == f"warning: {path.parent}/{words}", err
    with warnings.catch_warnings():
        warnings.simplefilter("error", XbarmemWarning)
        measured_chip(read_measured_csv(path, 16, 16), rram.replace_array(rows=16, cols=16))
    # past half of the rows: whole 16x16 arrays still warned (a 48x40 chip imported as
    # 64x64 was silent), the devices a memory uses (not alike in every array) not
    wide = rram.replace_array(rows=31, cols=64)
    with pytest.warns(XbarmemWarning, match=re.escape("if the measured chip's arrays are 16x16")):
        measured_chip(read_measured_csv(path, 31, 64), wide)
    (tmp_path / "used.csv").write_text("\n".join(
        [lines[0], *(x for x in lines[1:] if not x.startswith("1,15,"))]) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", XbarmemWarning)
        measured_chip(read_measured_csv(tmp_path / "used.csv", 31, 64), wide)
    # one array measured in its corner: a small memory's devices (or the used ones only)
    (tmp_path / "one.csv").write_text("\n".join(
        [lines[0], *(x for x in lines[1:] if x.startswith("0,"))]) + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", XbarmemWarning)
        measured_chip(read_measured_csv(tmp_path / "one.csv", 64, 64), rram)


def test_the_python_api_takes_the_chip_a_map_records():
    """train / Memory / find_capacity given a fault map and no chip: the map's chip (was
    paper-sim whatever the map was made for)."""
    import xbarmem as xm

    rram = load_preset("rram")
    fmap = FaultMap.generate(rram, 1, seed=3)
    memory = xm.train(xm.random_patterns(3, 16, seed=0), faults=fmap, rule="hebb")
    assert memory.chip == rram and memory.faults is fmap
    assert xm.SingleLayerMemory(16, faults=fmap).chip == rram
    with pytest.raises(ConfigError, match="paper-sim chip uses the weight fault model"):
        xm.SingleLayerMemory(16, faults=FaultMap(fmap.g_stuck))  # no chip recorded: paper-sim
    assert xm.SingleLayerMemory(16).chip.name == "paper-sim"
    assert xm.SingleLayerMemory(16, "ideal", fmap).chip.name == "ideal"  # a chip given wins
    result = xm.find_capacity(xm.random_patterns(40, 16, seed=1), faults=fmap, rule="hebb",
                              trials=1, protocol=xm.Protocol(level=0.05, probes=1))
    assert result.settings["chip"]["name"] == "rram"


def test_a_conductance_map_whose_every_device_reads_stuck_is_warned_about(run_cli, tmp_path):
    """A map read before programming (every device at g_min) imported as 100% stuck without a
    word, and a memory trained on it stored nothing; a map with one free device is warned
    about as most of its devices stuck, not every one."""
    device = load_preset("rram").device
    at_min = np.full((2, 8, 8), device.g_min)
    with pytest.warns(XbarmemWarning, match=r"every device of the conductance map \(128\) "
                                            r"reads outside \[9\.4e-06, 0\.0001426\] S"):
        FaultMap.from_conductance_map(at_min, device)
    at_min[0, 3, 3] = 0.5 * (device.g_min + device.g_max)
    with pytest.warns(XbarmemWarning, match=r"99% of the devices of the conductance map "
                                            r"\(127 of 128\) read outside"):
        assert FaultMap.from_conductance_map(at_min, device).summary(device)["stuck"] == 127
    np.save(tmp_path / "m.npy", np.full((2, 64, 64), device.g_max))
    code, _, err = run_cli("chip", "import", tmp_path / "m.npy", "--as", "conductance",
                           "--chip", "rram", "-o", tmp_path / "f.npz")
    assert code == 0 and err.count("every device of the conductance map (8192)") == 1, err


def test_a_read_back_of_programmed_weights_imported_as_a_map_is_warned_about(run_cli, tmp_path):
    """An export's ``programmed_S.npy`` (or a read-back of it) given to ``chip import --as
    conductance``: a free pair holds its weight with one device at g_min, so 81% of the
    devices, in every pair, were taken as stuck without a word (only a map of every device
    stuck was warned about). More than half stuck is warned about, and a map with a device
    outside in nearly every pair names the read-back and ``adapt --read-back``; a map of 30%
    stuck devices is quiet."""
    device = load_preset("rram").device
    rng = np.random.default_rng(0)
    weights = rng.uniform(-1, 1, size=(64, 64))
    programmed = np.stack([np.where(weights > 0, device.g_min + weights * device.g_range,
                                    device.g_min),
                           np.where(weights < 0, device.g_min - weights * device.g_range,
                                    device.g_min)])
    np.save(tmp_path / "programmed.npy", programmed)
    code, _, err = run_cli("chip", "import", tmp_path / "programmed.npy", "--as", "conductance",
                           "--chip", "rram", "-o", tmp_path / "f.npz")
    assert code == 0 and err.count("warning:") == 1, err
    assert "of the devices of the conductance map (" in err and "are taken as stuck" in err
    assert "read-back of programmed weights (100% of the pairs" in err, err
    assert "xbarmem adapt MODEL --read-back FILE" in err
    mid = rng.normal(76e-6, 3e-6, size=(2, 64, 64))
    mid[rng.random(mid.shape) < 0.6] = device.g_min  # a chip mostly broken: not a read-back
    with pytest.warns(XbarmemWarning, match="of the devices of the conductance map") as caught:
        FaultMap.from_conductance_map(mid, device)
    assert "read-back of programmed weights" not in str(caught[0].message)
    mid[rng.random(mid.shape) < 0.7] = 76e-6  # about 30% stuck
    with warnings.catch_warnings():
        warnings.simplefilter("error", XbarmemWarning)
        FaultMap.from_conductance_map(mid, device)


def test_a_yield_map_and_nan_for_free_given_as_codes_are_named(run_cli, tmp_path):
    """Two conventions a lab's map of which devices work may follow, given to ``chip import``
    as stuck codes: 1 for a working device (a yield map) was read as 95% of the devices stuck
    ON, exit 0 without a word, and NaN for a free device (as a fault map's g_stuck has it) was
    refused as ``found nan`` only. The first warns of most devices stuck, naming the yield
    map; the second says a free device's code is 0. A map of few stuck devices is quiet."""
    device = load_preset("rram").device
    rng = np.random.default_rng(0)
    working = (rng.random((2, 64, 64)) > 0.05).astype(np.int8)
    np.save(tmp_path / "yield.npy", working)
    code, _, err = run_cli("chip", "import", tmp_path / "yield.npy", "-o", tmp_path / "y.npz")
    assert code == 0 and err.count("warning:") == 1, err
    assert "% of the devices of the fault codes (" in err and "stuck ON, 0 stuck OFF" in err
    assert "a yield map of 1 for a working device" in err
    codes = np.where(working == 1, 0, -1).astype(np.int8)  # the same map as codes: quiet
    with warnings.catch_warnings():
        warnings.simplefilter("error", XbarmemWarning)
        assert FaultMap.from_codes(codes, device).stuck.sum() == (working == 0).sum()
    nan_free = np.where(codes == 0, np.nan, codes.astype(float))
    with pytest.raises(FileFormatError, match=r"a free device's code is 0: give 0 for it "
                                              r"\(np\.nan_to_num\(codes\)\)"):
        FaultMap.from_codes(nan_free, device)


def test_a_weight_model_map_is_shown_as_faulty_weights(run_cli, tmp_path):
    """`chip faults --chip paper-sim` showed `stuck ON 0`, `stuck OFF 2446` beside
    `P(stuck ON) 0.15`: a split the weight fault model does not have (a faulty weight is 0).
    Its table now counts faulty weights; --json keeps every key; device maps are unchanged."""
    code, out, err = run_cli("chip", "faults", "--chip", "paper-sim", "--faults", "0.3",
                             "-o", tmp_path / "w.npz")
    assert code == 0, err
    text = " ".join(out.split())
    assert re.search(r"faulty weights \(0\) (\d+) of 4096 \(0\.\d+\)", text), text
    assert "P(faulty weight) 0.3" in text and "stuck ON" not in text, text
    code, out, _ = run_cli("chip", "inspect", tmp_path / "w.npz", "--json")
    assert code == 0 and '"stuck_on": 0' in out
    code, out, _ = run_cli("chip", "faults", "--chip", "rram", "--faults", "0.3",
                           "-o", tmp_path / "d.npz")
    assert code == 0 and "stuck ON" in out and "faulty weights" not in out


def test_chip_faults_sizes_a_map_for_a_memory_of_n_neurons(run_cli, tmp_path):
    """`chip faults --arrays K` left a lab to work out K for N = 784 (169 arrays of 64x64, the
    bias row included); `--neurons N` (with --arch / --hidden) counts them as the memory's
    own map would be, and a map drawn so fits `train --fault-map`."""
    import json

    from xbarmem.hardware.chip import load_chip
    from xbarmem.memory.build import arrays_with_bias

    rram = load_chip("rram")
    cases = [(("--neurons", "100"), arrays_with_bias(rram, 100)),
             (("--neurons", "64", "--arch", "multilayer", "--hidden", "1n"),
              arrays_with_bias(rram, 64, arch="multilayer", hidden=[64]))]
    assert [want for _, want in cases] == [4, 4]
    for k, (args, want) in enumerate(cases):
        code, out, err = run_cli("chip", "faults", *args, "-o", tmp_path / f"m{k}.npz", "--json")
        assert code == 0, err
        assert json.loads(out)["arrays"] == want
    code, _, err = run_cli("train", "--data", "mnist", "--neurons", "100", "--patterns", "3",
                           "--rule", "hebb", "--chip", "rram", "--fault-map", tmp_path / "m0.npz",
                           "-o", tmp_path / "m.safetensors")
    assert code == 0, err
    for args, fragment in ((("--neurons", "64", "--arrays", "2"), "give --arrays or --neurons"),
                           (("--arch", "multilayer"), "--arch applies to --neurons only"),
                           (("--neurons", "64", "--hidden", "8"),
                            "--hidden applies to --arch multilayer only")):
        code, _, err = run_cli("chip", "faults", *args, "-o", tmp_path / "x.npz")
        assert code == 2 and fragment in err and not (tmp_path / "x.npz").exists(), err


def test_a_changed_copy_of_a_chip_says_what_changed():
    """``ideal.with_faults(0.3)`` kept the preset's description, "Perfect devices: no faults,
    ...", which model files and export manifests then said of a chip with 30% stuck devices.
    The copy's description ends with the fields that differ; a copy's copy joins its changes;
    a copy that changes nothing, or gives its own description, is described as given."""
    ideal = load_preset("ideal")
    faulty = ideal.with_faults(0.3)
    assert faulty.description == (f"{ideal.description} Here: device.p_stuck_on = 0.15, "
                                  f"device.p_stuck_off = 0.15.")
    again = faulty.with_faults(0.1, on_fraction=1.0).with_fault_model("weight")
    assert again.description == (f"{ideal.description} Here: device.p_stuck_on = 0.1, "
                                 f"device.p_stuck_off = 0, array.fault_model = weight.")
    assert ideal.with_faults(0.0).description == ideal.description
    assert ideal.replace_device(p_stuck_on=0.2).replace(description="mine").description == "mine"
    assert ideal.replace(description="", device=faulty.device).description == ""
    bare = ChipSpec().replace_array(rows=32)
    assert bare.description == "Here: array.rows = 32."
    assert ChipSpec.from_dict(faulty.to_dict()) == faulty  # (a model file's chip reads back)
