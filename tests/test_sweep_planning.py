"""A sweep's planning made fast (:class:`~xbarmem.experiments.plan_cache.PlanCache`: each
option value checked once, the tables its trials share written once, each trial's keys made
once for the plan and its costs) plans the trials it planned before: the same keys, configs,
order and groups as the slow way (every value checked and every text written for each trial,
:func:`resolve`, ``json.dumps``); and a terminal shows a line while a sweep is planned."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

import xbarmem as xm
from xbarmem.experiments.batches import (
    batch_key,
    depends_on_batch,
    plan_groups,
    train_key,
)
from xbarmem.experiments.plan_cache import PlanCache, canonical
from xbarmem.experiments.resolve import resolve
from xbarmem.experiments.runner import group_cost
from xbarmem.experiments.sweep import keyed_when_set, parse_sweep

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "sweeps"


def _files(folder: Path) -> dict[str, str]:
    """A two-array .npz of {0, 1} patterns with labels, a +-1 .npy and a chip TOML file."""
    rng = np.random.default_rng(0)
    bits = (rng.random((12, 16)) > 0.5).astype(np.float32)
    np.savez(folder / "two.npz", train=bits[:6], test=bits[6:], labels=np.arange(6) % 3)
    np.save(folder / "pm.npy", np.where(rng.random((8, 16)) > 0.5, 1.0, -1.0).astype(np.float32))
    (folder / "chip.toml").write_text(
        xm.load_chip("rram").replace_device(write_noise=1e-6).to_toml())
    return {name: str(folder / name) for name in ("two.npz", "pm.npy", "chip.toml")}


def _specs(folder: Path) -> dict[str, dict]:
    """Sweep tables of several kinds: rule options, tol, on_fraction and a device fault model
    swept; pattern files with data_key and zero_one, a chip file; capacity curves, searches and
    multilayer memories; a larger grid of batched hardware-adaptive trials."""
    f = _files(folder)
    return {
        "mixed": {
            "sweep": {"name": "mixed", "trial": "evaluate", "seeds": 2, "batch": 4},
            "base": {"data": "random", "n_neurons": 16, "patterns": 3, "probes": 2,
                     "fault_model": "device"},
            "grid": {"rule": ["adaptive", "hebb", "pinv"], "fault_rate": [0.0, 0.2],
                     "on_fraction": [0.25, 0.75], "activation": ["sign", "tanh"],
                     "tol": [1e-4, 1e-3], "rule_options": {"adaptive": {"cue_flip": [0.05, 0.1]}}},
            "rule_options": {"adaptive": {"max_steps": 20}}},
        "files": {
            "sweep": {"name": "files", "trial": "evaluate", "seeds": [0, 5], "batch": 2},
            "base": {"n_neurons": 16, "patterns": 2, "probes": 2, "selection": "first"},
            "grid": [{"data": [f["two.npz"]], "data_key": ["train", "test"], "zero_one": [True],
                      "rule": ["adaptive", "storkey"], "chip": [f["chip.toml"], "paper-sim"]},
                     {"data": [f["pm.npy"]], "rule": ["hebb", "adaptive"], "zero_one": [False],
                      "fault_rate": [0.1, 0.3]}]},
        "capacity": {
            "sweep": {"name": "cap", "trial": "capacity", "seeds": 2, "batch": 3},
            "base": {"data": "random", "n_neurons": 16, "probes": 2, "chip": f["chip.toml"],
                     "kind": "continuous"},
            "grid": [{"rule": ["pinv", "adaptive"], "counts": [[1, 2, 3], [2, 4]],
                      "fault_rate": [0.0, 0.1]},
                     {"rule": ["adaptive"], "search": [True], "cue_budget": [0, 64]},
                     {"rule": ["adaptive"], "arch": ["multilayer"], "hidden": ["1n", 8, ["1n", 16]],
                      "counts": [[2, 3]]}]},
        "large": {
            "sweep": {"name": "large", "trial": "evaluate", "seeds": 3, "batch": 8},
            "base": {"data": "random", "n_neurons": 16, "patterns": 2, "probes": 2},
            "grid": {"rule": ["hebb", "pinv", "adaptive"], "fault_rate": [0.0, 0.1, 0.2, 0.3],
                     "level": [0.05, 0.1, 0.15], "patterns": [1, 2, 3, 4]}},
    }


def _slow_groups(trials, batch: int) -> list[list]:
    """:func:`plan_groups` as it was written before, each key of each trial written by
    ``json.dumps`` (:func:`train_key` and :func:`batch_key` without a cache)."""
    groups, buckets, curves = [], {}, {}
    for t in sorted(trials, key=lambda t: t.key):
        if t.config["trial"] == "capacity":
            if t.config["search"]:
                groups.append([t])
                continue
            key = train_key(t.config)
            if key not in curves:
                curves[key] = []
                groups.append(curves[key])  # in the plan where its first trial comes
            curves[key].append(t)
            continue
        buckets.setdefault(batch_key(t.config), {}).setdefault(train_key(t.config), []).append(t)
    for bkey in sorted(buckets):
        nets = [buckets[bkey][k] for k in sorted(buckets[bkey])]
        for i in range(0, len(nets), batch):
            groups.append([t for net in nets[i:i + batch] for t in net])
    return groups


def _slow_plan(spec) -> list[tuple[str, dict]]:
    """The sweep's ``(key, config)`` in order, the slow way: every grid point and seed
    resolved (each value checked) and keyed by ``json.dumps`` of the whole configuration,
    then keyed by its batch as :func:`~xbarmem.experiments.batches.batch_keyed` keys it."""
    planned: dict[str, dict] = {}
    for grid in spec.grids or [{}]:
        for combo in itertools.product(*grid.values()):
            point = dict(zip(grid, combo, strict=True))
            raw = {**spec.base, **{k: v for k, v in point.items()
                                   if not k.startswith("rule_options.")}}
            extra = {k.split(".", 2)[2]: v for k, v in point.items()
                     if k.startswith(f"rule_options.{raw.get('rule', 'adaptive')}.")}
            for seed in spec.seeds:
                config = keyed_when_set(resolve(raw, spec.trial, seed, spec.rule_options, extra))
                text = json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)
                planned.setdefault(hashlib.sha256(text.encode()).hexdigest(), config)
    trials = [type(spec.trials[0])(k, c) for k, c in planned.items()]
    keys = {}
    for group in _slow_groups(trials, spec.batch):
        nets = list(dict.fromkeys(train_key(t.config) for t in group))
        if len(nets) > 1:
            networks = hashlib.sha256("\n".join(nets).encode()).hexdigest()
            keys.update({t.key: hashlib.sha256(f"{t.key} batch {networks}".encode()).hexdigest()
                         for t in group if depends_on_batch(t.config)})
    return [(keys.get(t.key, t.key), t.config) for t in trials]


def _tables(name: str, folder: Path) -> dict:
    if name.endswith(".toml"):
        import tomllib

        return tomllib.loads((EXAMPLES / name).read_text())
    return _specs(folder)[name]


@pytest.mark.filterwarnings("ignore::xbarmem.errors.XbarmemWarning")
@pytest.mark.parametrize("name", ["mixed", "files", "capacity", "large", "capacity.toml",
                                  "fault-tolerance.toml", "storkey-variant.toml"])
def test_a_sweep_plans_the_trials_and_groups_of_the_slow_way(tmp_path, name):
    """Every trial's key, config (with its keys' order) and place, and every group, are
    those of the slow way, for sweeps of rule options, tol, fault options, pattern files
    (data_key, zero_one), a chip file, capacity curves and searches, multilayer memories and
    batched hardware-adaptive trials."""
    spec = parse_sweep(_tables(name, tmp_path), source="s")
    slow = _slow_plan(spec)
    assert [t.key for t in spec.trials] == [k for k, _ in slow]
    assert [json.dumps(t.config) for t in spec.trials] == [json.dumps(c) for _, c in slow]
    assert ([[t.key for t in g] for g in plan_groups(spec.trials, spec.batch)]
            == [[t.key for t in g] for g in _slow_groups(spec.trials, spec.batch)])
    cache = PlanCache()
    assert ([group_cost(g, cache) for g in plan_groups(spec.trials, spec.batch, cache)]
            == [group_cost(g) for g in _slow_groups(spec.trials, spec.batch)])


@pytest.mark.parametrize("config", [
    {"a": 1, "t": {"x": 1.5, "y": [1, 2]}, "u": {"z": None}, "b": "text"},
    {"t": {"k": "\x000\x00"}, "s": "\x000\x00"},  # (a text holding a slot's text)
    {"s": "\x000\x00", "t": {"k": 1}},
    {"e": {}, "t": {"k": {"deep": [0.1, True]}}, "n": -0.0, "u": "é"},
    {"t": {"k": 1}, "again": None},
], ids=["tables", "slot-text-in-table", "slot-text-beside", "empty-and-deep", "one"])
@pytest.mark.parametrize("compact", [True, False])
def test_a_plan_cache_writes_the_text_json_writes(config, compact):
    """:meth:`PlanCache.text` is ``json.dumps`` with sorted keys, character for character
    (texts that hold a slot's text too included), for a configuration written twice, with
    its tables shared by another, and without some keys."""
    cache = PlanCache()
    other = {**config, "a": 2}
    for c in (config, config, other):
        for drop in ((), ("a", "t")):
            kept = {k: v for k, v in c.items() if k not in drop}
            want = (json.dumps(kept, sort_keys=True, separators=(",", ":"), allow_nan=False)
                    if compact else json.dumps(kept, sort_keys=True))
            assert cache.text(c, drop, compact=compact) == want == canonical(kept, compact)


def test_a_plan_cache_refuses_what_json_refuses():
    """A NaN in a store key's text, or a value JSON cannot write, is refused as before."""
    cache = PlanCache()
    with pytest.raises(ValueError):
        cache.text({"t": {"x": float("nan")}}, compact=True)
    with pytest.raises(ValueError):
        cache.text({"x": float("inf")}, compact=True)
    assert cache.text({"x": float("nan")}) == '{"x": NaN}'
    with pytest.raises(TypeError, match="not JSON serializable"):
        cache.text({"x": object()})


def _terminal(monkeypatch, terminal: bool) -> io.StringIO:
    """The planning line's console made a terminal (or not), writing to the returned text."""
    from xbarmem.cli import progress

    text = io.StringIO()
    monkeypatch.setattr(progress, "_console", Console(file=text, width=100, color_system=None,
                                                      force_terminal=terminal))
    return text


@pytest.mark.parametrize("json_out", [False, True])
def test_a_terminal_shows_a_line_while_a_sweep_is_planned(tmp_path, monkeypatch, run_cli,
                                                          json_out):
    """A sweep of 1e5 trials was planned for about 47 s with nothing shown, even on a
    terminal (``--dry-run`` too). Now a terminal shows ``sweep FILE: planning`` and the time
    so far until the plan is made; elsewhere, and under ``--json``, nothing is added."""
    from conftest import tiny_sweep

    sweep = tmp_path / "plan.toml"
    sweep.write_text(tiny_sweep("plan", seeds=2))
    for terminal in (False, True):
        shown = _terminal(monkeypatch, terminal)
        code, out, err = run_cli("sweep", sweep, "--dry-run", *(["--json"] if json_out else []))
        assert code == 0 and "4" in out and err == "", err
        drawn = terminal and not json_out
        assert ("sweep plan.toml: planning" in shown.getvalue()) == drawn, shown.getvalue()


def _fault_rate(i: int, config: dict) -> None:
    config["fault_rate"] = 0.1 * (i % 2)


def _chip(i: int, config: dict) -> None:
    config["chip_spec"] = {**config["chip_spec"], "name": f"edited{i % 2}"}


def _counts(i: int, config: dict) -> None:
    config["counts"] = [1, 2 + i % 2]


@pytest.mark.parametrize(("trial", "edit"), [("evaluate", _fault_rate), ("evaluate", _chip),
                                             ("capacity", _counts)],
                         ids=["fault_rate", "chip_spec", "counts"])
def test_a_run_plans_trials_edited_after_parsing_as_they_are(tmp_path, trial, edit):
    """An API user who edited the configurations of a parsed sweep's trials in place and
    gave them their new keys (new ``Trial`` objects) had them planned by the run as parsed:
    the networks' keys the parsing made were kept with the sweep, so trials whose networks
    now differ were grouped as one (a capacity group trained one curve for both). Now a run
    plans trials other than those parsed afresh: the groups of the slow way."""
    from dataclasses import replace

    from xbarmem.experiments.resolve import trial_key
    from xbarmem.experiments.runner import pending_groups, plan_cache
    from xbarmem.experiments.store import ResultStore

    extra = {"counts": [1, 2]} if trial == "capacity" else {"patterns": 2}
    spec = parse_sweep({"sweep": {"name": "ed", "trial": trial, "seeds": 1, "batch": 1},
                        "base": {"data": "random", "n_neurons": 16, "probes": 2,
                                 "rule": "adaptive", **extra},
                        "grid": {"level": [0.1, 0.2, 0.3, 0.4]}}, source="s")
    assert plan_cache([spec]) is spec._cache[0]  # (a run of the trials parsed reuses it)
    for i, t in enumerate(spec.trials):
        edit(i, t.config)
    spec.trials = [replace(t, key=trial_key(t.config)) for t in spec.trials]
    with ResultStore(tmp_path / "s.db") as db:
        groups, already = pending_groups(spec, db)
    want = [[t.key for t in g] for g in _slow_groups(spec.trials, spec.batch)]
    assert already == 0 and len(want) == 2
    assert [[t.key for t in g] for g in groups] == want
