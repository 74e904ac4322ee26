"""``xbarmem reproduce --seed S`` / ``reproduce(seed=S)``: every trial's seeds move with the run
seed, without overlapping another run seed's; its sweeps, report, figures, (f)'s cache and JSON
name it; seed 0 is the run without it; bad seeds are refused before anything is written."""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import refused

from xbarmem.checks import MAX_RUN_SEED, MAX_SEED, SEED_STRIDE
from xbarmem.errors import ConfigError
from xbarmem.experiments import reproduce as rep
from xbarmem.experiments.reproduce import report
from xbarmem.experiments.store import ResultStore


@functools.cache
def _planned(seed: int, quick: bool) -> list:
    """Every sweep of every experiment under run seed ``seed`` (planned once per module)."""
    token = rep.TRAINING.set(rep.Training(seed=seed))
    try:
        return [s for e in rep.EXPERIMENTS for s in e.sweeps(quick)]
    finally:
        rep.TRAINING.reset(token)


def _unseeded(config: dict) -> dict:
    """A trial's configuration without its seeds (the trial's and its trainer's)."""
    options = {k: v for k, v in (config.get("rule_options") or {}).items() if k != "seed"}
    return {**{k: v for k, v in config.items() if k != "seed"}, "rule_options": options}


@pytest.mark.parametrize("quick", [True, False])
def test_run_seeds_share_no_trial_seed_and_seed_0_is_the_run_without_it(quick):
    """Seed 1's sweeps are seed 0's (same grids, seed counts) under their own names, every
    trial seed moved by the stride: no trial seed, and so no trial, is shared with seed 0 (in
    the quick and the full protocol), while seed 0 is the run without ``--seed``."""
    zero, one = _planned(0, quick), _planned(1, quick)
    run = "quick" if quick else "full"
    assert all(s.name.startswith(f"reproduce-{run}-") and "seed" not in s.name for s in zero)
    assert [s.name for s in one] == [s.name.replace(f"reproduce-{run}-",
                                                    f"reproduce-{run}-seed1-") for s in zero]
    assert all(max(s.seeds) < SEED_STRIDE for s in zero)  # the stride covers every sweep
    for a, b in zip(zero, one, strict=True):
        assert b.seeds == [SEED_STRIDE + k for k in a.seeds]
        assert len(a.trials) == len(b.trials)
        for ta, tb in zip(a.trials, b.trials, strict=True):
            assert tb.config["seed"] == SEED_STRIDE + ta.config["seed"]
            trainer = tb.config.get("rule_options") or {}
            assert trainer.get("seed", tb.config["seed"]) == tb.config["seed"]  # training
            assert _unseeded(tb.config) == _unseeded(ta.config)
    assert {t.config["seed"] for s in zero for t in s.trials}.isdisjoint(
        t.config["seed"] for s in one for t in s.trials)
    assert {t.key for s in zero for t in s.trials}.isdisjoint(
        t.key for s in one for t in s.trials)


def test_the_other_protocols_seeds_do_not_overlap_either():
    """Seed 1's quick run shares no trial seed with seed 0's full run, nor seed 0's quick run
    with seed 1's full run."""
    def seeds(specs):
        return {k for s in specs for k in s.seeds}

    assert seeds(_planned(1, True)).isdisjoint(seeds(_planned(0, False)))
    assert seeds(_planned(0, True)).isdisjoint(seeds(_planned(1, False)))


def test_the_report_its_commands_settings_and_json_state_the_seed(tmp_path):
    seen = {}
    for seed in (0, 1):
        res = rep.reproduce(tmp_path / str(seed), quick=True, seed=seed,
                            experiments=[rep.Correlation(), rep.Patterns()], log=lambda _: None,
                            run=lambda specs, db, seed=seed: seen.update({seed: specs}))
        text = Path(res["path"]).read_text()
        assert res["seed"] == seed and json.dumps(res)
        assert ("--seed" in text) == bool(seed) and ("seed1" in text) == bool(seed)
    assert text.startswith("# xbarmem reproduce --quick --sections g,c --seed 1: ")
    assert f"xbarmem reproduce --quick --sections g,c --seed 1 --out {tmp_path / '1'}" in text
    assert "run seed 1 (`--seed 1`): every sweep of n seeds runs seeds 1000 to 1000 + n - 1" \
        in text
    assert ("Run seed 1 (`--seed 1`): every seed k named above runs as trial seed 1000 + k."
            in text)  # the settings of (c) (the other's, without rows, has none)
    assert "xbarmem results" in text and f"--sweep {seen[1][0].name}" in text


def test_a_figure_names_the_run_seed(tmp_path, monkeypatch):
    titles = []
    monkeypatch.setattr(report, "plot_rows", lambda rows, kind, **o: titles.append(o["title"]))
    monkeypatch.setattr(report, "save_figure", lambda figure, path: None)
    for seed in (0, 7):
        token = rep.TRAINING.set(rep.Training(seed=seed))
        try:
            report.write_figure(tmp_path / "f.png", [], "faults", title="N = 64")
        finally:
            rep.TRAINING.reset(token)
    assert titles == ["N = 64", "N = 64 (--seed 7)"]


def test_energy_measures_with_the_run_seed_into_its_own_cache(tmp_path, monkeypatch):
    """(f) is measured directly, not by a sweep: its seed moves with the run seed too, and a
    run seed keeps its own cache (seed 0's in the same folder is not read as seed 1's)."""
    from types import SimpleNamespace

    from xbarmem.energy import measure as energy

    seeds = []
    ratios = {"energy_ratio": 8.0, "latency_reduction": 0.99}
    monkeypatch.setattr(energy, "measure", lambda n, seed=0: seeds.append(("64", seed)) or
                        SimpleNamespace(sync_steps=[2.0], async_steps=[90.0]))
    monkeypatch.setattr(energy, "energy_report", lambda m, circuit: {"ratios": ratios})
    monkeypatch.setattr(energy, "measure_sizes", lambda sizes, circuit, seed=0: seeds.append(
        ("sizes", seed)) or {"rows": [{"n_neurons": 16, "sync_steps": 2.0, "async_steps": 9.0,
                                       **ratios}]})
    for seed in (0, 2, 0):
        res = rep.reproduce(tmp_path, quick=True, seed=seed, experiments=[rep.Energy()],
                            log=lambda _: None)
        assert "f-energy" in Path(res["path"]).read_text()
    assert seeds == [("64", 0), ("sizes", 0), ("64", 2000), ("sizes", 2000)]  # 0: its cache
    assert (tmp_path / "f-energy.json").is_file() and (tmp_path / "f-energy-seed2.json").is_file()
    assert "measure(64, seed=2000)" not in Path(res["path"]).read_text()
    assert rep.output_names(seed=2)[-1] == "f-energy-seed2.json"
    assert rep.output_names()[-1] == "f-energy.json"


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True, None, MAX_RUN_SEED + 1, MAX_SEED])
def test_a_bad_seed_is_refused_before_anything_is_written(tmp_path, seed):
    with pytest.raises(ConfigError, match="^seed must be an integer >= 0"):
        rep.reproduce(tmp_path / "r", quick=True, seed=seed, experiments=[rep.Correlation()],
                      run=lambda specs, db: None, log=lambda _: None)
    assert not (tmp_path / "r").exists()


def test_the_largest_seed_keeps_its_trial_seeds_32_bit():
    top = _planned(MAX_RUN_SEED, True)
    assert max(k for s in top for k in s.seeds) <= MAX_SEED
    assert (MAX_RUN_SEED + 1) * SEED_STRIDE + SEED_STRIDE - 1 > MAX_SEED  # the largest


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", str(MAX_RUN_SEED + 1), ""])
def test_cli_refuses_a_bad_seed_in_one_line(run_cli, tmp_path, value):
    line = refused(run_cli, tmp_path, "reproduce", "--quick", "--sections", "g", "--seed",
                   value, "--out", tmp_path / "r", names=("--seed",))
    assert not (tmp_path / "r").exists(), line


def test_cli_passes_the_seed_and_prints_it_in_json(run_cli, tmp_path, monkeypatch):
    seen = []

    def fake(out_dir, **kw):
        seen.append(kw["seed"])
        return {"path": str(Path(out_dir) / "report.md"), "seed": kw["seed"]}

    monkeypatch.setattr(rep, "reproduce", fake)
    code, out, err = run_cli("reproduce", "--quick", "--sections", "g", "--seed", "3",
                             "--out", tmp_path / "r", "--json")
    assert code == 0, err
    assert seen == [3] and json.loads(out)["seed"] == 3


def test_the_terminal_summary_names_the_seed(run_cli, tmp_path, monkeypatch):
    def fake(out_dir, **kw):
        return {"path": str(Path(out_dir) / "report.md"), "seed": kw["seed"], "quick": True,
                "rows": [["(d) claim", "0.95", "0.99", "ok"]], "verdicts": {"d": "partly"},
                "claims": {"d": "variation"}, "seconds": 1.0, "not_run_note": ""}

    monkeypatch.setattr(rep, "reproduce", fake)
    for seed, said in ((0, False), (4, True)):
        code, out, err = run_cli("reproduce", "--quick", "--sections", "d", "--seed", str(seed),
                                 "--out", tmp_path / "r")
        assert code == 0, err
        assert ("at --seed 4" in " ".join(out.split())) is said, out


class _Tiny(rep.Experiment):
    """A claim of tiny real trials (16 random neurons, hebb and pinv, 2 seeds)."""

    key, title, claim = "t", "tiny", "it holds"

    def sweeps(self, quick):
        return [report.sweep_spec(self.name(quick, "tiny"), {
            "sweep": {"trial": "evaluate", "seeds": 2, "batch": 1},
            "base": {"data": "random", "n_neurons": 16, "patterns": 3, "selection": "first",
                     "probes": 2, "max_iterations": 10},
            "grid": {"rule": ["hebb", "pinv"]}})]

    def section(self, ctx):
        sec = rep.Section(self.key, self.title, self.claim, settings="tiny trials.")
        rows = ctx.rows(self.name(ctx.quick, "tiny"))
        sec.judge([(f"{len(rows)} rows", len(rows) == 4)], "four rows")
        return sec


def test_a_seed_1_run_resumes_beside_seed_0_in_one_store(tmp_path):
    """An interrupted seed-1 run resumes its own trials (those stored are not run again), in a
    store that also holds seed 0's, whose rows it leaves alone."""
    store = tmp_path / "s.sqlite"
    ran: list[int] = []

    def interrupted(specs, db):
        from xbarmem.experiments.runner import run_sweep

        spec = specs[0]
        run_sweep([dataclasses.replace(spec, trials=spec.trials[:1])], db)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rep.reproduce(tmp_path / "one", quick=True, seed=1, store=store,
                      experiments=[_Tiny()], run=interrupted, log=lambda _: None)
    rep.reproduce(tmp_path / "zero", quick=True, store=store, experiments=[_Tiny()],
                  log=lambda _: None)
    with ResultStore(store) as db:
        first = {r["key"]: r for r in db.rows()}
    assert len(first) == 5

    def counted(specs, db):
        from xbarmem.experiments.runner import run_sweep

        missing = [t for s in specs for t in s.trials if t.key not in db.finished(
            [t.key for t in s.trials])]
        ran.append(len(missing))
        run_sweep(specs, db)

    said: list[str] = []
    res = rep.reproduce(tmp_path / "one", quick=True, seed=1, store=store,
                        experiments=[_Tiny()], run=counted, log=said.append)
    assert said[0].startswith("reproduce (quick, --seed 1): 4 trials in 1 sweeps")
    assert ran == [3] and res["verdicts"] == {"t": "reproduced"} and res["seed"] == 1
    with ResultStore(store) as db:
        rows = {r["key"]: r for r in db.rows()}
    assert len(rows) == 8 and all(rows[k] == r for k, r in first.items())
    by_sweep = {}
    for r in rows.values():
        by_sweep.setdefault(r["sweep"], set()).add(r["config"]["seed"])
    assert by_sweep == {"reproduce-quick-t-tiny": {0, 1},
                        "reproduce-quick-seed1-t-tiny": {1000, 1001}}
    text = Path(res["path"]).read_text()
    assert "seed=1)" in text  # the python -c command of a claim of another type


def test_a_quick_and_a_full_run_in_one_folder_measure_their_own_energy_sizes(tmp_path,
                                                                             monkeypatch):
    """(f)'s cache was one file per run seed, whatever the protocol: a full run into a folder
    a quick run had written read the quick run's sizes (N up to 100 instead of 256) and judged
    the growth with N on them. The cache keeps its protocol; the other protocol measures its
    own sizes again (the N = 64 measurement, the same in both, is kept)."""
    from xbarmem.energy import measure as energy

    calls = []
    ratios = {"energy_ratio": 8.0, "latency_reduction": 0.99}
    monkeypatch.setattr(energy, "measure", lambda n, seed=0: calls.append(64) or
                        SimpleNamespace(sync_steps=[2.0], async_steps=[90.0]))
    monkeypatch.setattr(energy, "energy_report", lambda m, circuit: {"ratios": ratios})
    monkeypatch.setattr(energy, "measure_sizes", lambda sizes, circuit, seed=0: calls.append(
        tuple(sizes)) or {"rows": [{"n_neurons": n, "sync_steps": 2.0, "async_steps": 9.0, **ratios}
                                   for n in sizes]})
    quick, full = tuple(rep.Energy.sizes(True)), tuple(rep.Energy.sizes(False))
    for is_quick in (True, False, False, True):
        ctx = SimpleNamespace(quick=is_quick, out_dir=tmp_path, log=lambda _: None)
        data = rep.Energy().measured(ctx, 0)
        sizes = tuple(row["n_neurons"] for row in data["sizes"]["rows"])
        assert sizes == (quick if is_quick else full)
    assert calls == [64, quick, full, quick]
    cache = tmp_path / rep.Energy.CACHE
    old = json.loads(cache.read_text())
    del old["quick"]  # a cache written before the protocol was kept: told by its sizes
    cache.write_text(json.dumps(old))
    rep.Energy().measured(SimpleNamespace(quick=False, out_dir=tmp_path, log=print), 0)
    assert calls[-1] == full and json.loads(cache.read_text())["quick"] is False
