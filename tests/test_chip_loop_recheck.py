"""Re-checks of chip-in-the-loop adaptation, programming through backends, pattern files and
the pseudo-inverse rule's train line: each test fails on the defect it names and passes on
the fix."""

from __future__ import annotations

import json

import numpy as np
import pytest


def _full_rank_signs(p: int, n: int) -> np.ndarray:
    """``p`` random +-1 patterns of ``n`` neurons spanning ``min(p, n)`` dimensions."""
    for seed in range(50):
        x = np.random.default_rng(seed).choice([-1.0, 1.0], size=(p, n))
        if np.linalg.matrix_rank(x) == min(p, n):
            return x
    raise AssertionError("no full-rank draw")


def _rank_short_signs(n: int) -> np.ndarray:
    """``n`` +-1 patterns of ``n`` neurons spanning fewer than ``n`` dimensions (a repeat)."""
    x = _full_rank_signs(n, n)
    x[-1] = x[0]
    return x


# ---------------------------------------------------------------- pinv of N independent patterns
@pytest.mark.parametrize(("n", "patterns", "says"), [
    (16, lambda: _full_rank_signs(16, 16), True),   # P = N independent: identity projection
    (9, lambda: _full_rank_signs(9, 9), True),
    (16, lambda: _rank_short_signs(16), False),     # P = N, dependent: another reason
    (16, lambda: _full_rank_signs(6, 16), False),   # P < N: stored, nothing to say
])
def test_pinv_train_line_says_why_no_pattern_is_stored(run_cli, tmp_path, n, patterns, says):
    """``train --rule pinv`` of P = N linearly independent patterns printed only "not every
    stored pattern a fixed point"; a one-line warning now says why (the projection is the
    identity, zero without its diagonal), and only in that case."""
    data = tmp_path / "p.npy"
    np.save(data, patterns())
    code, out, err = run_cli("train", "--data", data, "--rule", "pinv", "--chip", "ideal",
                             "-o", tmp_path / "m.safetensors")
    assert code == 0, err
    warned = [line for line in err.splitlines() if "projection onto them is the identity"
              in line]
    assert len(warned) == (1 if says else 0), err
    if says:
        assert f"span all N = {n} dimensions" in warned[0]


# ---------------------------------------------------------------- adapt keeps the best round
class _Recorded:
    """A :class:`SimulatedChip` whose every read-back is recorded; with ``spoil``, a
    ``program`` call after the first sets every device anywhere in the window (a chip whose
    re-writes disturb the whole array: the re-trained rounds recall less than the open
    loop)."""

    def __init__(self, chip, spoil: bool, seed: int) -> None:
        self.chip, self.spoil, self.calls, self.reads = chip, spoil, 0, []
        self.n_in, self.n_out = chip.n_in, chip.n_out
        self.rng = np.random.default_rng(seed)

    def program(self, targets):
        self.calls += 1
        if self.spoil and self.calls > 1:
            dev = self.chip.crossbar.chip.device
            wild = self.rng.uniform(dev.g_min, dev.g_max, size=targets.shape)
            targets = wild
        return self.chip.program(targets)

    def read_back(self):
        self.reads.append(self.chip.read_back())
        return self.reads[-1]

    def matvec(self, x, generator=None):
        return self.chip.matvec(x, generator)

    def read_outputs(self, x, outputs, generator=None):
        return self.chip.read_outputs(x, outputs, generator)


@pytest.mark.filterwarnings("ignore:.*fixed devices, never written")  # (the spoiling chip)
@pytest.mark.parametrize(("spoil", "seed", "rounds"), [
    (True, 0, 1), (True, 3, 2), (False, 0, 2), (False, 5, 1)])
def test_adapt_keeps_the_round_of_the_best_mean_cosine(small_memory, spoil, seed, rounds):
    """``adapt`` returned the last round's model (targets, read-back conductances, fault map)
    even when an earlier round recalled better (a chip whose re-writes go wrong); it now keeps
    the round of the best mean cosine, names it (``kept_round``, ``kept_cosine``) and its
    model is that round's read-back and targets."""
    import xbarmem as xm
    from xbarmem.deploy.backend import simulated_backends
    from xbarmem.deploy.chip_loop import adapt

    pset, memory = small_memory
    chip = _Recorded(simulated_backends(memory, seed=seed)[0], spoil, seed)
    result = adapt(memory, [chip], pset, rounds=rounds, target=1.01,
                   protocol=xm.Protocol(probes=4))
    cosines = [r["cosine"] for r in result.rounds]
    assert len(cosines) == rounds + 1
    best = max(range(len(cosines)), key=lambda r: (cosines[r], result.rounds[r]["exact"], r))
    if spoil:
        assert cosines[-1] < cosines[0] and best < rounds  # (the case the defect showed)
    summary = result.as_dict()
    assert summary["kept_round"] == best == result.kept_round
    assert summary["kept_cosine"] == cosines[best]
    assert summary["final_cosine"] == cosines[-1]
    assert np.array_equal(result.memory.layers[0].planes(), chip.reads[best])
    assert result.memory.info["adapt"]["kept_round"] == best
    if best == 0:  # the open loop: the model's own targets, nothing re-trained
        for (w, _), (w0, _) in zip(result.memory.targets, memory.targets, strict=True):
            assert np.array_equal(w.numpy(), w0.numpy())


@pytest.mark.parametrize(("kept", "count", "said"), [
    (0, 3, "; kept round 0 (mean cosine 0.9100, the best): the model is round 0's, the chip "
           "was last written in round 2"),
    (1, 3, "; kept round 1 (mean cosine 0.9100, the best): the model is round 1's, the chip "
           "was last written in round 2"),
    (1, 4, "; kept round 1 (mean cosine 0.9100, the best): the model is round 1's, the chip "
           "was last written in round 3"),
    (2, 3, ""), (0, 1, "")])
def test_adapt_summary_line_names_the_round_kept(capsys, kept, count, said):
    """The summary line of ``adapt`` said nothing of which round's model it saved; it names
    the round kept when it is not the last, and that the simulated chip was last written in
    the last round (it holds that round's writes, not the saved model's; it said only the
    round kept), and the warning of a last round below the open loop names it too."""
    from xbarmem.cli.deploy import _kept_text, _warn_if_worse

    summary = {"kept_round": kept, "kept_cosine": 0.91, "open_loop_cosine": 0.91,
               "final_cosine": 0.5, "gain": -0.41, "settings": {"rule": "adaptive"}}
    assert _kept_text(summary, count) == said
    _warn_if_worse(summary, None)
    err = capsys.readouterr().err
    assert f"the adapted model is round {kept}'s, of the best mean cosine (0.9100)" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(("kept", "kept_cosine"), [(None, None), (0, 0.8), (1, 0.9), (3, 0.8)])
def test_adapt_warning_of_a_worse_last_round_does_not_contradict_the_round_kept(
        capsys, kept, kept_cosine):
    """``adapt -o`` whose round 1 recalled 0.8667, above the open loop's 0.7583, and whose last
    round 0.7500 warned that it saved round 1's model and that "the model as given,
    programmed once, recalled better than the re-trained rounds": a re-trained round did
    better. That is said only when the round kept is round 0 (or none is named); a
    re-trained round kept is said to be at least the open loop's, the rounds after it worse."""
    from xbarmem.cli.deploy import _warn_if_worse

    summary = {"open_loop_cosine": 0.8, "final_cosine": 0.7, "gain": -0.1,
               "settings": {"rule": "adaptive"}}
    if kept is not None:
        summary.update(kept_round=kept, kept_cosine=kept_cosine)
    _warn_if_worse(summary, None)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "0.8000 (open loop) to 0.7000 (last round)" in err, err
    as_given = "the model as given, programmed once, recalled better" in err
    assert as_given is (not kept), err
    if kept:
        assert f"round {kept}'s, of the best mean cosine ({kept_cosine:.4f}); the rounds " \
               "after it, re-trained by the adaptive rule around more pinned devices, " \
               "recalled less" in err, err


# ---------------------------------------------------------------- a backend's narrower window
@pytest.mark.parametrize(("low", "high", "clipped"), [
    (0.0, 0.5, True),    # upper half of the window missing
    (0.3, 1.0, True),    # lower part missing
    (0.2, 0.8, True),    # both edges inside
    (0.0, 1.0, False),   # the model chip's own window
    (-0.5, 1.5, False),  # wider: every target fits
])
def test_programming_a_backend_of_a_narrower_window_is_warned_once(small_memory, low, high,
                                                                   clipped):
    """A :class:`SimulatedChip` of a chip whose window is narrower than the model's clipped
    the model's targets to its edges without a word (adapt then pinned them there); a
    warning now names both windows and how many targets are clipped, once per backend
    however many rounds program it."""
    import warnings

    import xbarmem as xm
    from xbarmem.deploy.backend import BackendMemory, SimulatedChip
    from xbarmem.deploy.chip_loop import adapt
    from xbarmem.errors import XbarmemWarning
    from xbarmem.hardware.crossbar import Crossbar

    pset, memory = small_memory
    layer, dev = memory.layers[0], memory.chip.device
    g_min = max(dev.g_min + low * dev.g_range, 0.0)
    other = memory.chip.replace_device(g_min=g_min, g_max=dev.g_min + high * dev.g_range)

    def backend():
        return SimulatedChip(Crossbar(other, layer.n_out, layer.n_in, layer.faults,
                                      bias=layer.has_bias, first_array=layer.first_array),
                             w_max=layer.w_max)

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        BackendMemory(memory, [backend()]).program_targets()
        adapt(memory, [backend()], pset, rounds=1, target=1.01, tolerance=5e-6,
              protocol=xm.Protocol(probes=2))
    said = [str(w.message) for w in seen if issubclass(w.category, XbarmemWarning)
            and "is narrower than the model chip's" in str(w.message)]
    assert len(said) == (2 if clipped else 0), said  # (one per backend)
    if clipped:
        assert f"model chip's [{dev.g_min * 1e6:.4g}, {dev.g_max * 1e6:.4g}] uS" in said[0]
        assert " targets programmed fall outside it and are clipped to its edges" in said[0]
        shared = (max(g_min, dev.g_min), min(dev.g_min + high * dev.g_range, dev.g_max))
        assert f"(they share [{shared[0] * 1e6:.4g}, {shared[1] * 1e6:.4g}] uS)" in said[0]


def test_a_backend_whose_window_misses_the_model_chips_is_refused(small_memory):
    """A backend of a window that does not overlap the model chip's cannot hold any target:
    refused (one line) before anything is programmed."""
    from xbarmem.deploy.backend import BackendMemory, SimulatedChip
    from xbarmem.errors import ConfigError
    from xbarmem.hardware.crossbar import Crossbar

    _, memory = small_memory
    layer, dev = memory.layers[0], memory.chip.device
    other = memory.chip.replace_device(g_min=dev.g_max * 2, g_max=dev.g_max * 3)
    chip = SimulatedChip(Crossbar(other, layer.n_out, layer.n_in, layer.faults,
                                  bias=layer.has_bias, first_array=layer.first_array),
                         w_max=layer.w_max)
    with pytest.raises(ConfigError, match="do not overlap: none of the model's targets"):
        BackendMemory(memory, [chip])


# ---------------------------------------------------------------- --key: one array of an .npz
def _two_arrays(folder):
    """An .npz of two pattern arrays, ``train`` (5 x 16) and ``test`` (3 x 16), +-1."""
    rng = np.random.default_rng(0)
    path = folder / "two.npz"
    np.savez(path, train=rng.choice([-1, 1], size=(5, 16)).astype(np.int8),
             test=rng.choice([-1, 1], size=(3, 16)).astype(np.int8))
    return path


def _model(folder, run_cli):
    path = folder / "m.safetensors"
    code, _, err = run_cli("train", "--data", folder / "two.npz", "--key", "train", "--rule",
                           "hebb", "--chip", "ideal", "-o", path)
    assert code == 0, err
    return path


#: every command reading a pattern file: its arguments before the file's, and after
_READERS = {
    "train": lambda f, m: ["train", "--rule", "hebb", "--chip", "ideal", "-o",
                           f / "out.safetensors", "--data"],
    "capacity": lambda f, m: ["capacity", "--rule", "hebb", "--chip", "ideal", "--trials", "1",
                              "--probes", "2", "--data"],
    "recall": lambda f, m: ["recall", m],
    "energy": lambda f, m: ["energy", "--rule", "hebb", "--chip", "ideal", "--patterns", "3",
                            "--probes", "2", "--data"],
}


@pytest.mark.parametrize("command", list(_READERS))
@pytest.mark.parametrize(("key", "refused"), [
    ("test", None), ("train", None),
    ("nope", "no array named 'nope' (arrays: 'train', 'test')"),
    (None, "choose one with --key NAME")])
def test_key_picks_one_array_of_a_pattern_npz(run_cli, tmp_path, command, key, refused):
    """A pattern ``.npz`` of several arrays (``train``, ``test``) could not be read by any
    command (refused, "save the one to load as 'patterns'"); ``--key NAME`` picks one, an
    unknown name is refused naming the arrays the file holds."""
    data = _two_arrays(tmp_path)
    model = _model(tmp_path, run_cli)
    args = [*_READERS[command](tmp_path, model), data, *(["--key", key] if key else [])]
    code, out, err = run_cli(*args)
    if refused is None:
        assert code == 0, err
        if command == "recall":
            assert f"{3 if key == 'test' else 5} cues" in out, out
    else:
        assert code == 2 and refused in err and err.count("\n") == 1, err


_SCALING = ["scaling", "--arch", "single", "--rule", "hebb", "--sizes", "16,36", "--trials",
            "1", "--probes", "2", "--json"]


@pytest.mark.parametrize("command", ["train", "capacity", "energy", "scaling"])
def test_key_is_refused_for_a_built_in_source(run_cli, tmp_path, command):
    """``--key`` names an array of a --data file: refused (one line) for a built-in set."""
    before = ([*_SCALING, "--out", tmp_path / "o"] if command == "scaling"
              else _READERS[command](tmp_path, None)[:-1])
    code, _, err = run_cli(*before, "--data", "digits", "--key", "x")
    assert code == 2 and "--key applies to --data FILE only" in err, err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("key", "refused"), [
    ("small", None), ("large", None),
    ("nope", "no array named 'nope' (arrays: 'small', 'large')"),
    (None, "choose one with --key NAME")])
def test_scaling_reads_the_images_of_the_array_key_names(run_cli, tmp_path, key, refused):
    """``scaling --data FILE.npz`` of two image arrays: ``--key`` picks the one whose images
    every N resizes (the arrays differ, so do the capacities found); unknown or none chosen:
    refused in one line before any work, naming the arrays."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "imgs.npz", small=rng.integers(0, 256, (12, 8, 8), dtype=np.uint8),
             large=np.kron(rng.integers(0, 2, (12, 3, 3), dtype=np.uint8) * 255,
                           np.ones((4, 4), np.uint8)))
    args = [*_SCALING, "--out", tmp_path / "o", "--data", tmp_path / "imgs.npz"]
    code, out, err = run_cli(*args, *(["--key", key] if key else []))
    if refused is not None:
        assert code == 2 and refused in err and err.count("\n") == 1, err
        assert not (tmp_path / "o").exists()
        return
    assert code == 0, err
    other = run_cli(*args, "--key", "large" if key == "small" else "small")
    assert json.loads(out)["capacity"] != json.loads(other[1])["capacity"]
