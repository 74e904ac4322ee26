"""``--seed s`` in Python, as docs/guide.md ("Reproducible results") says: ``xm.train`` with
``fault_seed``, ``program_seed`` and the trainer's ``seed`` gives the model ``xbarmem train``
saves, and ``Protocol(seed=s)`` the cues of ``evaluate`` and ``capacity``; the seeds left at 0
give other numbers (so the guide's recipe is needed, not decoration). One torch thread, as the
commands' default ``--threads 1`` (conftest)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import xbarmem as xm
from xbarmem.checks import MAX_SEED
from xbarmem.seeds import offset_seed

SEED = 3
TRAIN = ["--data", "random", "--neurons", "16", "--patterns", "3", "--chip", "rram",
         "--faults", "0.2", "--rule-option", "max_steps=20", "--rule-option", "finetune_steps=4",
         "--seed", str(SEED)]


def _same(a, b) -> bool:
    return all(np.array_equal(x.g_pos, y.g_pos) and np.array_equal(x.g_neg, y.g_neg)
               for x, y in zip(a.layers, b.layers, strict=True))


def test_train_and_evaluate_seed_is_the_api_s_three_seeds_and_the_protocol_s(run_cli, tmp_path):
    code, _, err = run_cli("train", *TRAIN, "-o", tmp_path / "m.safetensors")
    assert code == 0, err
    saved = xm.load_memory(tmp_path / "m.safetensors")
    patterns = xm.load_patterns("random", side=4, n_patterns=3, seed=SEED)
    chip = xm.load_preset("rram").with_faults(0.2)
    options = {"max_steps": 20, "finetune_steps": 4}
    mem = xm.train(patterns, chip=chip, fault_seed=SEED, program_seed=SEED, seed=SEED, **options)
    assert _same(mem, saved) and mem.info["loss"] == saved.info["loss"]
    other = xm.train(patterns, chip=chip, fault_seed=SEED, program_seed=SEED, **options)
    assert not _same(other, saved)  # the trainer's seed left at 0
    code, out, err = run_cli("evaluate", tmp_path / "m.safetensors", "--probes", "4", "--seed",
                             str(SEED), "--json")
    assert code == 0, err
    cli = json.loads(out)
    for seed, same in ((SEED, True), (0, False)):
        score = xm.evaluate_memory(mem, patterns, xm.Protocol(probes=4, seed=seed))
        assert (list(score.per_pattern_cosine) == cli["per_pattern_cosine"]
                and score.mean_iterations == cli["mean_iterations"]) is same, seed


def test_capacity_seed_is_find_capacity_s_seed_and_its_protocol_s(run_cli):
    args = ["--data", "digits", "--rule", "pinv", "--trials", "2", "--probes", "3",
            "--threshold", "0.95", "--seed", str(SEED), "--json"]
    code, out, err = run_cli("capacity", *args)
    assert code == 0, err
    cli = [(p["count"], p["cosine"]) for p in json.loads(out)["results"][0]["points"]]
    pool = xm.load_patterns("digits", side=8)
    for seed, same in ((SEED, True), (0, False)):
        found = xm.find_capacity(pool, rule="pinv", thresholds=(0.95,), trials=2, seed=SEED,
                                 protocol=xm.Protocol(level=0.05, probes=3, seed=seed))
        assert ([(p["count"], p["cosine"]) for p in found.points] == cli) is same, seed


def test_offset_seeds_wrap_to_32_bits_and_leave_other_seeds_alone():
    assert offset_seed(5, 2) == 7 and offset_seed(MAX_SEED - 1, 1) == MAX_SEED
    assert offset_seed(MAX_SEED, 1) == 0 and offset_seed(MAX_SEED, 7919) == 7918
    assert xm.Protocol(seed=MAX_SEED).reseeded(2).seed == 1


@pytest.mark.parametrize("args", [
    ["capacity", "--data", "digits", "--rule", "pinv", "--trials", "2", "--probes", "2",
     "--threshold", "0.95", "--faults", "0.1"],
    ["demo", "--data", "digits", "--trials", "2", "--probes", "2", "-o", "{tmp}/demo"],
    ["adapt", "{model}", "--rounds", "1", "--probes", "2", "--unknown-faults", "0.05"],
])
def test_the_largest_seed_runs_with_several_trials_chips_or_faults(run_cli, tmp_path,
                                                                   small_model, args):
    """``--seed 4294967295`` (the largest the option takes) with ``--trials 2`` stopped with
    ``error: seed must be ... at most 4294967295 (seeds are 32-bit), got 4294967296``: trial
    1's seed, a number the user never gave (``adapt --unknown-faults``: the extra faults'
    seed ``seed + 1``)."""
    args = [a.format(tmp=tmp_path, model=small_model) for a in args]
    code, out, err = run_cli(*args, "--seed", str(MAX_SEED))
    assert code == 0 and "4294967296" not in err, err


def test_find_capacity_takes_the_largest_seed_with_two_trials():
    pool = xm.load_patterns("digits", side=8)
    found = xm.find_capacity(pool, rule="pinv", thresholds=(0.95,), trials=2, seed=MAX_SEED,
                             protocol=xm.Protocol(level=0.05, probes=2, seed=MAX_SEED))
    assert found.capacity[0.95] >= 8 and found.points[0]["trials"] == 2
