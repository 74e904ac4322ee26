"""Chip-in-the-loop adaptation: only free devices are re-programmed, devices that miss their
target are pinned at their read value, recall recovers under a large write error, and the CLI
logs every round."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
import torch

from xbarmem import Protocol, load_preset, save_memory, train
from xbarmem.deploy.backend import SimulatedChip, simulated_backends
from xbarmem.deploy.chip_loop import adapt
from xbarmem.errors import ConfigError, XbarmemWarning
from xbarmem.hardware.faults import FaultMap
from xbarmem.memory.io import load_memory

FAST = {"max_steps": 300, "finetune_steps": 100, "window": 50}


@pytest.fixture(scope="module")
def memory(pats, trained):
    return trained(pats.patterns, "rram", fault_seed=1, program_seed=0, **FAST)


class Recording:
    """Wraps a backend and records every target array it is asked to write."""

    def __init__(self, inner: SimulatedChip) -> None:
        self.inner = inner
        self.n_in, self.n_out = inner.n_in, inner.n_out
        self.calls: list[np.ndarray] = []
        self.reads: list[np.ndarray] = []

    def program(self, targets):
        self.calls.append(np.array(targets))
        return self.inner.program(targets)

    def read_back(self):
        self.reads.append(self.inner.read_back())
        return self.reads[-1]

    def matvec(self, x, generator=None):
        return self.inner.matvec(x, generator)

    def read_outputs(self, x, outputs, generator=None):
        return self.inner.read_outputs(x, outputs, generator)


def test_only_free_devices_are_reprogrammed(memory, pats):
    # noise-free read-back: a device kept (not re-written) reads exactly as before, so the
    # devices pinned in a round are exactly the written ones that missed
    chip = memory.chip.replace_device(write_noise=20e-6, read_noise=0.0)
    rec = Recording(SimulatedChip.like(memory.crossbar, chip=chip, seed=2))
    tol = 5e-6
    result = adapt(memory, rec, pats, rounds=2, target=1.1, tolerance=tol,
                   protocol=Protocol(probes=5))
    assert len(result.rounds) == len(rec.calls) == 3
    known = memory.crossbar.stuck
    fixed = known.copy()
    for rnd, (targets, read, log) in enumerate(zip(rec.calls, rec.reads, result.rounds,
                                                   strict=True)):
        written = ~np.isnan(targets)
        assert not (written & fixed).any(), f"round {rnd} re-wrote a fixed device"
        assert log["written"] == written.sum()
        assert log["skipped_fixed"] == fixed.sum()
        if rnd == 0:
            assert (written == ~known).all()  # open loop: every device the model thinks free
        else:
            assert log["kept"] == (~fixed & ~written).sum() > 0
        # pin rule: written devices reading further than tol from their target
        missed = written & (np.abs(read - np.where(written, targets, read)) > tol)
        assert log["newly_fixed"] == missed.sum() > 0
        fixed |= missed
        assert log["fixed"] + log["known_stuck"] == fixed.sum()
    # the adapted model's fault map holds the known faults plus every pinned device, at the
    # conductance it read when it was pinned
    pinned = result.faults.stuck & ~memory.faults.stuck
    assert pinned.sum() == result.rounds[-1]["fixed"]
    assert np.isfinite(result.faults.g_stuck[pinned]).all()
    first = memory.crossbar.scatter(np.where(np.abs(rec.reads[0] - rec.calls[0]) > tol,
                                             rec.reads[0], np.nan))
    m = ~np.isnan(first)
    np.testing.assert_array_equal(result.faults.g_stuck[: first.shape[0]][m], first[m])
    assert result.memory.info["adapt"]["rounds"] == 2


def test_two_rounds_restore_recall_under_a_large_write_error(memory, pats):
    """Measured (seeded): 40 uS write-error std, tolerance 5 uS, 10 cues per pattern:
    open loop 0.890 -> 0.960 -> 0.972."""
    chip = memory.chip.replace_device(write_noise=40e-6)
    backends = simulated_backends(memory, chip=chip, seed=0)
    result = adapt(memory, backends, pats, rounds=2, target=1.1, tolerance=5e-6,
                   protocol=Protocol(probes=10, seed=0))
    cos = [r["cosine"] for r in result.rounds]
    assert cos[-1] >= cos[0] + 0.05, cos
    written = [r["written"] for r in result.rounds]
    assert written[0] > written[1] > written[2] > 0
    assert not result.reached_target
    summary = result.summary()
    assert summary["gain"] == pytest.approx(cos[-1] - cos[0])


def test_stops_at_target_and_finds_unknown_stuck_devices(memory, pats):
    known = memory.faults.g_stuck
    dev = memory.chip.device
    extra = FaultMap.generate(memory.chip.with_faults(0.1), memory.faults.n_arrays, seed=9)
    true = FaultMap(np.where(np.isnan(known), extra.g_stuck, known))
    backends = simulated_backends(memory, faults=true, seed=1)
    result = adapt(memory, backends, pats, rounds=3, target=0.0, tolerance=5e-6,
                   protocol=Protocol(probes=5))
    assert len(result.rounds) == 1 and result.reached_target  # target met in round 0
    r0 = result.rounds[0]
    assert r0["newly_fixed_at_rail"] > 0
    pinned = result.faults.stuck & ~memory.faults.stuck
    unknown = extra.stuck & np.isnan(known)
    assert (pinned & unknown).sum() > 0.5 * (pinned.sum())  # most pinned ones are the stuck
    rail = np.isclose(result.faults.g_stuck[pinned & unknown], dev.g_min, atol=5e-6) | \
        np.isclose(result.faults.g_stuck[pinned & unknown], dev.g_max, atol=5e-6)
    assert rail.all()


def test_known_stuck_devices_that_read_elsewhere_are_held_at_their_reading(memory, pats):
    """A chip without the model's stuck devices (a fault map drawn for another chip): a known
    stuck device is never written, so it reads erased, at g_min. The loop kept the recorded
    stuck value (g_max for a stuck-ON device) and re-trained against it: with a backend of
    this kind, recall fell from 0.985 to 0.936 after round 1 (odd 24x20 chip, 245 such
    devices, 2026-12-05)."""
    chip = memory.chip.replace_device(read_noise=0.0)
    none = FaultMap(np.full_like(memory.faults.g_stuck, np.nan))
    backend = SimulatedChip.like(memory.crossbar, chip=chip, faults=none, seed=0)
    tol = 5e-6
    result = adapt(memory, backend, pats, rounds=1, target=1.1, tolerance=tol,
                   protocol=Protocol(probes=5))
    dev, known = memory.chip.device, memory.crossbar
    away = known.stuck & (np.abs(np.nan_to_num(known.g_stuck) - dev.g_min) > tol)
    assert away.sum() > 0
    held = result.memory.crossbar
    np.testing.assert_array_equal(held.g_stuck[away], dev.g_min)  # what the chip holds
    near = known.stuck & ~away  # read within the tolerance of its value: kept as recorded
    np.testing.assert_array_equal(held.g_stuck[near], known.g_stuck[near])
    assert result.rounds[0]["fixed_moved"] == away.sum()
    assert result.rounds[1]["fixed_moved"] == 0  # held at the reading, which does not move
    # still stuck (known broken), not pinned
    assert not result.faults.pinned_mask[memory.faults.stuck].any()
    assert result.faults.summary()["stuck"] == memory.faults.summary()["stuck"]


def test_bad_settings_are_refused(memory, pats):
    backends = simulated_backends(memory)
    with pytest.raises(ConfigError, match="rounds"):
        adapt(memory, backends, pats, rounds=-1)
    with pytest.raises(ConfigError, match="tolerance"):
        adapt(memory, backends, pats, tolerance=0)
    weight_model = train(pats.patterns, chip=load_preset("paper-sim").with_faults(0.2),
                         rule="adaptive", max_steps=20, finetune_steps=0)
    with pytest.raises(ConfigError, match="'device' fault model"):
        adapt(weight_model, simulated_backends(weight_model), pats)


def test_a_tolerance_as_wide_as_the_window_is_warned_about(memory, pats, tmp_path, run_cli):
    """The default --tolerance of 3 uS on a chip whose window is 1 uS wide (or a
    tolerance given in the wrong unit) can pin no device that reads inside the window: the
    loop ran and printed nothing about it. Python and CLI warn, naming both widths."""
    window = memory.chip.device.g_range
    words = (f"tolerance {window * 1e6 + 2:g} uS is at least the conductance window of the "
             f"model's chip (g_max - g_min = {window * 1e6:g} uS)")
    with pytest.warns(XbarmemWarning, match=re.escape(words)):
        result = adapt(memory, simulated_backends(memory), pats, rounds=0,
                       tolerance=window + 2e-6, protocol=Protocol(probes=2))
    assert result.rounds[0]["newly_fixed"] == 0
    model = save_memory(memory, tmp_path / "m.safetensors", patterns=pats)
    code, _, err = run_cli("adapt", model, "--rounds", "0", "--probes", "2", "--tolerance",
                           f"{window * 1e6 + 2:g}")
    assert code == 0, err
    assert [line for line in err.splitlines() if line.startswith("warning:")] == [
        f"warning: {words}: no device reading inside the window misses its target by more, so "
        "none is pinned; give a tolerance in uS below the window (a few times the write "
        "error)"], err
    with warnings.catch_warnings():
        warnings.simplefilter("error", XbarmemWarning)
        adapt(memory, simulated_backends(memory), pats, rounds=0, tolerance=window * 0.9,
              protocol=Protocol(probes=2))


def test_cli_adapt_logs_rounds_and_saves_the_adapted_model(memory, pats, tmp_path, run_cli):
    model = save_memory(memory, tmp_path / "m.safetensors", patterns=pats)
    log, adapted = tmp_path / "rounds.jsonl", tmp_path / "adapted.safetensors"
    code, out, err = run_cli("adapt", model, "--rounds", "1", "--target",
                          "1.1", "--write-noise", "30", "--tolerance", "5", "--probes", "5",
                          "--unknown-faults", "0.02", "--log", log, "--out", adapted, "--json")
    assert code == 0, err
    summary = json.loads(out)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["round"] for r in lines] == [0, 1] and lines == summary["rounds"]
    assert summary["settings"]["write_noise_uS"] == pytest.approx(30)
    assert "round 1: re-programmed" in err
    reloaded = load_memory(adapted)
    assert reloaded.faults.stuck.sum() == memory.faults.stuck.sum() + lines[-1]["fixed"]
    code, out, err = run_cli("adapt", model, "--rounds", "0", "--probes", "2")
    assert code == 0, err
    assert "written" in out and "open loop" in out
    # nothing was re-trained (it said "re-trained by the adaptive rule in 0.0 s")
    said = " ".join(out.split())
    assert "no re-training" in said and "re-trained" not in said
    code, out, err = run_cli("adapt", model, "--tolerance", "0")
    assert code == 2 and err.startswith("error:") and "tolerance" in err


def test_cli_adapt_replaces_a_model_option_this_machine_refuses(pats, trained, tmp_path, run_cli,
                                                                 monkeypatch):
    """A model trained with bf16 products elsewhere: re-training it here without bfloat16
    support is refused in one line, and ``--rule-option products=float32`` replaces the
    model's option before the trainer is built."""
    from xbarmem.learning import adaptive

    memory = trained(pats.patterns, "rram", fault_seed=2, program_seed=0, **FAST)
    memory.info["rule_options"] = {**memory.info["rule_options"], "products": "bf16"}
    model = save_memory(memory, tmp_path / "bf16.safetensors", patterns=pats)
    monkeypatch.setattr(adaptive, "bf16_products_supported", lambda: False)
    log = tmp_path / "rounds.jsonl"
    code, out, err = run_cli("adapt", model, "--rounds", "1", "--probes", "2", "--log", log)
    assert code == 2 and not out and "products bf16 needs oneDNN" in err
    assert len([line for line in err.splitlines() if line.strip()]) == 1
    assert not log.exists()
    code, out, err = run_cli("adapt", model, "--rounds", "1", "--probes", "2",
                             "--rule-option", "products=float32", "--json")
    assert code == 0, err
    assert json.loads(out)["rounds"][0]["round"] == 0
    code, out, err = run_cli("adapt", model, "--rule-option", "no_such_option=1")
    assert code == 2 and "no_such_option" in err


def test_multilayer_adaptation_pins_devices_in_every_layer(pats):
    from xbarmem.learning.fit import fit_memories
    from xbarmem.learning.multilayer import MultilayerTrainer
    from xbarmem.memory.multilayer import MultilayerMemory

    mem = MultilayerMemory(25, 12, "rram", fault_seed=1)
    fit_memories(MultilayerTrainer(max_steps=150, finetune_steps=0, window=50),
                 torch.tensor(pats.patterns), [mem])
    backends = simulated_backends(mem, chip=mem.chip.replace_device(write_noise=30e-6))
    result = adapt(mem, backends, pats, rounds=1, target=1.1, tolerance=5e-6,
                   protocol=Protocol(probes=5))
    r0, r1 = result.rounds
    assert r0["written"] == sum(int((~ly.stuck).sum()) for ly in mem.layers)
    assert 0 < r1["written"] < r0["written"] and r1["train_seconds"] > 0
    adapted = result.memory
    assert isinstance(adapted, MultilayerMemory) and len(adapted.target_weights) == 2
    for old, new in zip(mem.layers, adapted.layers, strict=True):
        assert new.stuck.sum() > old.stuck.sum()  # every layer has pinned devices


def test_cli_refuses_a_weight_model_before_opening_the_log(pats, tmp_path, run_cli):
    """The fault-model refusal comes before any output is opened (it came after --log was
    created, leaving an empty log behind)."""
    weight_model = train(pats.patterns, chip=load_preset("paper-sim").with_faults(0.2),
                         rule="adaptive", max_steps=20, finetune_steps=0)
    model = save_memory(weight_model, tmp_path / "w.safetensors", patterns=pats)
    log = tmp_path / "rounds.jsonl"
    code, out, err = run_cli("adapt", model, "--rounds", "0", "--log", log)
    assert code == 2 and not out and "'device' fault model" in err
    assert not log.exists()


@pytest.mark.parametrize(("option", "message"), [
    ({"init": "linear"}, "init linear exists only for multilayer"),
    ({"flip_steps": 0, "warm_start": True}, None)])
def test_options_that_do_not_apply_are_refused_before_round_0(memory, pats, tmp_path, run_cli,
                                                              option, message):
    """An option the memory cannot use (``init=linear`` on one layer) is refused before round 0
    programs a device, by the library and by the command (before ``--log`` is opened); one
    that applies is taken."""
    from xbarmem.learning.adaptive import AdaptiveTrainer

    rec = Recording(SimulatedChip.like(memory.crossbar, chip=memory.chip, seed=2))
    trainer = AdaptiveTrainer(**option, max_steps=5, finetune_steps=0)
    model = save_memory(memory, tmp_path / "m.safetensors", patterns=pats)
    log = tmp_path / "rounds.jsonl"
    args = [f"{key}={json.dumps(value)}" for key, value in option.items()]
    if message is None:
        adapt(memory, rec, pats, rounds=0, trainer=trainer)
        assert rec.calls
        return
    with pytest.raises(ConfigError, match=message):
        adapt(memory, rec, pats, rounds=1, trainer=trainer)
    assert not rec.calls
    code, out, err = run_cli("adapt", model, "--rounds", "1", "--log", log,
                             *[a for arg in args for a in ("--rule-option", arg)])
    assert code == 2 and not out and message in err
    assert not log.exists()


@pytest.mark.parametrize(("seconds", "shown"), [(0.48, "0.5"), (0.04, "0.0"), (9.94, "9.9"),
                                                (12.4, "12"), (1234.0, "1234")])
def test_adapt_summary_seconds_are_not_rounded_to_zero(seconds, shown):
    """The summary line printed "re-training 0 s" for a 0.48 s re-training."""
    from xbarmem.checks import seconds_text

    assert seconds_text(seconds) == shown


def test_a_nanosiemens_chip_shows_its_conductances_in_digits(pats, trained, tmp_path, run_cli):
    """On a chip of a 1-10 nS window every microsiemens was shown to 1 or 2 decimals: the
    rounds' err uS read 0.0 and a missed device "target 0.00 uS, read 0.00 uS". They are shown
    to the digits of the window (an rram chip's as before: 1.8, 5.08)."""
    chip = load_preset("rram").replace_device(g_min=1e-9, g_max=1e-8, write_noise=1e-10,
                                              read_noise=2e-11)
    model = save_memory(trained(pats.patterns, chip, fault_seed=1, program_seed=0,
                                max_steps=50), tmp_path / "nano.safetensors", patterns=pats)
    code, out, err = run_cli("adapt", model, "--rounds", "0", "--probes", "2", "--tolerance",
                             "0.0001")
    assert code == 0, err
    row = next(line.split() for line in out.splitlines() if line.split()[:1] == ["0"])
    assert float(row[7]) > 0 and row[7].startswith("0.000"), out  # err uS: 0.0001, not 0.0


@pytest.mark.parametrize("other", ["other.safetensors", "patterns.csv", "map.npz"])
def test_a_log_named_as_another_format_is_refused_and_the_file_kept(run_cli, tmp_path, memory,
                                                                    pats, other):
    """``--log`` is JSON lines: a name of another format (another model, a pattern file, a
    fault map, given by mistake) is refused before any work, as every output of a fixed
    format is; the file was replaced by the rounds' lines."""
    model = tmp_path / "m.safetensors"
    save_memory(memory, model, patterns=pats)
    target = tmp_path / other
    target.write_bytes(b"keep me")
    code, out, err = run_cli("adapt", model, "--rounds", "1", "--probes", "1", "--log", target)
    assert code == 2 and not out, err
    assert err.strip() == (f"error: --log {target}: the file name must end in .jsonl or .json "
                           f"or .ndjson or .log")
    assert target.read_bytes() == b"keep me"


@pytest.mark.parametrize(("first", "final", "warned"), [
    (0.55, 0.05, True), (0.75, 0.7167, True), (0.5, 0.5, False), (0.2, 0.9, False)])
def test_adapt_warns_when_the_last_round_recalls_less_than_the_open_loop(capsys, first, final,
                                                                         warned):
    """``adapt`` saved the last round's model and printed ``0.5500 (open loop) -> 0.0500``
    without a word that the model as given did better (seen on a 3-neuron memory with a
    fifth of its devices stuck); a line on stderr now says so, with ``--json`` too."""
    from xbarmem.cli.deploy import _warn_if_worse

    summary = {"open_loop_cosine": first, "final_cosine": final, "gain": final - first,
               "settings": {"rule": "adaptive"}}
    _warn_if_worse(summary, None)
    err = capsys.readouterr().err
    assert ("adaptation lowered the mean cosine" in err) is warned, err
    if warned:
        assert f"{first:.4f} (open loop) to {final:.4f}" in err and err.count("\n") == 1
