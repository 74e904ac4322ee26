"""Runs that share a store, resume one or are stopped: what another run does meanwhile never
mixes into a run's rows what the run itself would not compute.

* The thread count is checked against the stored rows before any work, but a second run
  started while the first had stored nothing yet passed that check: ``xbarmem sweep s.toml
  --store th.sqlite --threads 1`` and, a second later, the same with ``--threads 2`` split the
  work (31 rows of 1 thread, 1 of 2 threads) without a word, and every later run of the sweep
  was refused whichever count it gave ("run with --threads 2 to resume it", then "run with
  --threads 1"). Each claim of a group now checks, in its transaction, the live claims of
  other runners and the rows stored since the run's check: a run meeting another thread count
  among its trials stops before it computes them."""

from __future__ import annotations

import json
import tomllib

import pytest
from conftest import tiny_sweep

from xbarmem.errors import ConfigError
from xbarmem.experiments.claims import Claimant
from xbarmem.experiments.runner import run_sweep
from xbarmem.experiments.store import ResultStore
from xbarmem.experiments.sweep import parse_sweep


def _spec(name: str = "mixed"):
    return parse_sweep(tomllib.loads(tiny_sweep(name, rules=("hebb", "pinv"),
                                                fault_rates=[0.0, 0.3])))


def _threads(store) -> list[int]:
    with ResultStore(store, readonly=True) as db:
        return sorted(r["result"]["threads"] for r in db.rows())


def _stored_meanwhile(store, spec, threads: int, at: int = 0):
    """An ``on_plan`` that stores, as another run of ``threads`` threads would after this run
    checked the store, the row of trial ``at`` of ``spec``."""
    trial = spec.trials[at]

    def plan(todo: int, already: int) -> None:
        with ResultStore(store) as other:
            other.add([(trial.key, spec.name, trial.config,
                        {"cosine": 1.0, "exact": 1.0, "threads": threads}, {})])
    return plan


def _claimed_meanwhile(store, spec, threads: int, at: int = 0):
    """An ``on_plan`` that claims trial ``at`` of ``spec`` for another live runner (this
    process, another token) of ``threads`` threads, as one started at the same time would."""
    trial = spec.trials[at]

    def plan(todo: int, already: int) -> None:
        with ResultStore(store) as other:
            guard = other.guard([t.key for t in spec.trials], threads)
            assert other.claim([trial.key], Claimant.new(), 600, guard=guard) == "claimed"
    return plan


@pytest.mark.parametrize("meanwhile", [_stored_meanwhile, _claimed_meanwhile])
@pytest.mark.parametrize("ours, theirs", [(1, 2), (2, 1), (1, 4)])
def test_a_run_meeting_another_thread_count_meanwhile_stops_before_computing(
        tmp_path, meanwhile, ours, theirs):
    spec, store = _spec(), tmp_path / "s.sqlite"
    ResultStore(store).close()  # (made empty: the other run opens it)
    plan = meanwhile(store, spec, theirs, at=len(spec.trials) - 1)
    with pytest.raises(ConfigError) as caught:
        run_sweep(spec, store, threads=ours, on_plan=plan)
    line = str(caught.value)
    assert "\n" not in line and f"not {ours}" in line and f"--threads {theirs}" in line, line
    assert all(t == theirs for t in _threads(store)), _threads(store)  # none of ours mixed in
    with ResultStore(store, readonly=True) as db:  # this run's claims are gone with it
        claims = db._db.execute("SELECT COUNT(*) FROM claims").fetchone()[0]
    assert claims == (meanwhile is _claimed_meanwhile)


def test_runs_of_one_thread_count_still_share_a_store(tmp_path):
    spec, store = _spec(), tmp_path / "s.sqlite"
    ResultStore(store).close()
    report = run_sweep(spec, store, threads=1,
                       on_plan=_stored_meanwhile(store, spec, 1, at=len(spec.trials) - 1))
    assert (report.ran, report.meanwhile) == (len(spec.trials) - 1, 1)
    assert _threads(store) == [1] * len(spec.trials)


def test_another_thread_count_on_other_trials_of_the_store_is_no_concern(tmp_path):
    spec, other, store = _spec(), _spec("other"), tmp_path / "s.sqlite"
    other = parse_sweep(tomllib.loads(tiny_sweep("other", rules=("storkey",))))
    ResultStore(store).close()
    report = run_sweep(spec, store, threads=1, on_plan=_claimed_meanwhile(store, other, 2))
    assert report.inserted == len(spec.trials)
    assert json.dumps(_threads(store)) == json.dumps([1] * len(spec.trials))


# ------------------------------------------------------------------ a store among the outputs
# ``xbarmem reproduce --quick --sections d --out rp --store rp/report.md`` ran its 128 trials
# into a new store rp/report.md for 43 s, then wrote the report over it: every row was gone and
# the report named as its store a Markdown file. A --store that is a file the report writes in
# its folder (the report, a figure, by any spelling or link) is refused before any work.

def _store_as(tmp_path, how: str, name: str):
    out = tmp_path / "rp"
    out.mkdir()
    if how == "plain":
        return out, out / name
    if how == "spelled":
        return out, tmp_path / "rp" / "." / ".." / "rp" / name
    link = tmp_path / "link.sqlite"
    link.symlink_to(out / name)
    return out, link


@pytest.mark.parametrize("how", ["plain", "spelled", "link"])
@pytest.mark.parametrize("name", ["report.md", "d-variation.png"])
def test_reproduce_refuses_a_store_that_its_report_would_replace(run_cli, tmp_path, how, name):
    from conftest import refused

    out, store = _store_as(tmp_path, how, name)
    line = refused(run_cli, tmp_path, "reproduce", "--quick", "--sections", "d", "--jobs", "1",
                   "--out", out, "--store", store)
    assert name in line and "--store" in line, line


def test_the_library_s_reproduce_refuses_it_too(tmp_path):
    from xbarmem.experiments.reproduce import EXPERIMENTS, reproduce

    out, store = _store_as(tmp_path, "plain", "report.md")
    chosen = [e for e in EXPERIMENTS if e.key == "d"]
    with pytest.raises(ConfigError, match="report.md"):
        reproduce(out, quick=True, store=store, experiments=chosen, log=lambda s: None)
    assert list(out.iterdir()) == []


# ------------------------------------------------------------------ an output onto an input
# A file a command writes into its --out folder by its own name, or its -o, was compared with
# some of its inputs only: ``energy --calibrate --chip out/circuit-calibrated.toml -o out``
# replaced the user's chip file with the calibrated circuit, ``export out/manifest.json -o out``
# (a model file of that name) replaced the model with the manifest, and ``chip faults --chip
# c.csv -o c.csv`` replaced the chip file with the fault map (``scaling --chip`` named as its
# results: the same). Every input file of those commands is now compared with every file they
# write, before any work.

ENERGY = ["energy", "--neurons", "16", "--patterns", "2", "--rule", "pinv", "--probes", "1",
          "--calibrate", "-o", "out"]
ONTO_INPUT = [
    ([*ENERGY, "--chip", "out/circuit-calibrated.toml"], "--chip"),
    ([*ENERGY, "--chip", "link.toml"], "--chip"),
    (["energy", "--model", "out/circuit-calibrated.toml", "--probes", "1", "--calibrate",
      "-o", "out"], "--model"),
    (["energy", "--sizes", "16,36", "--chip", "out/energy-vs-n.json", "--probes", "1",
      "-o", "out"], "--chip"),
    (["export", "out/manifest.json", "-o", "out"], "MODEL"),
    (["export", "out/devices.csv", "-o", "./out/"], "MODEL"),
    (["scaling", "--arch", "single", "--rule", "pinv", "--sizes", "16", "--chip",
      "out/scaling-single-binary-pinv.json", "-o", "out"], "--chip"),
    (["chip", "faults", "--chip", "c.csv", "--arrays", "1", "-o", "c.csv"], "--chip"),
    (["chip", "faults", "--chip", "link.toml", "--arrays", "1", "-o", "c.csv"], "--chip"),
]


@pytest.mark.parametrize("args, named", ONTO_INPUT, ids=lambda a: " ".join(a)
                         if isinstance(a, list) else a)
def test_an_output_onto_an_input_of_the_command_is_refused(run_cli, tmp_path, monkeypatch,
                                                          small_model, args, named):
    import shutil

    from conftest import refused

    from xbarmem import load_chip

    monkeypatch.chdir(tmp_path)
    import json

    chip = load_chip("rram")
    (tmp_path / "out").mkdir()
    for name in ("out/circuit-calibrated.toml", "out/energy-vs-n.json", "c.csv",
                 "out/scaling-single-binary-pinv.json"):  # (a .json chip file is read as JSON)
        (tmp_path / name).write_text(json.dumps(chip.to_dict()) if name.endswith(".json")
                                     else chip.to_toml(), encoding="utf-8")
    if "--model" in args or args[0] == "export":
        shutil.copy(small_model, tmp_path / args[args.index("--model") + 1 if "--model" in args
                                                else 1])
    (tmp_path / "link.toml").symlink_to("out/circuit-calibrated.toml" if args[0] == "energy"
                                        else "c.csv")
    line = refused(run_cli, tmp_path, *args)
    assert "is the same file as" in line and named in line, line


# ------------------------------------------------------------------ a dry run says it too
# A sweep file edited after a run (another probes count) and run into the same store warned
# that the store holds rows of its name it does not plan, which results and plot show beside
# the new ones; ``sweep --dry-run``, the look before the run, said nothing of them.

@pytest.mark.parametrize("edit", [("probes = 2", "probes = 3"),
                                  ("max_iterations = 10", "max_iterations = 12"),
                                  ('"hebb", ', "")])
def test_a_dry_run_warns_of_rows_the_file_no_longer_plans_as_the_run_does(run_cli, tmp_path,
                                                                         edit):
    sweep, store = tmp_path / "s.toml", tmp_path / "s.sqlite"
    sweep.write_text(tiny_sweep("edited"), encoding="utf-8")
    code, _, err = run_cli("sweep", sweep, "--store", store, "--jobs", "1")
    assert code == 0, err
    sweep.write_text(tiny_sweep("edited").replace(*edit), encoding="utf-8")
    before = store.read_bytes()
    code, _, dry = run_cli("sweep", sweep, "--store", store, "--dry-run")
    assert code == 0, dry
    assert store.read_bytes() == before
    code, _, ran = run_cli("sweep", sweep, "--store", store, "--jobs", "1")
    assert code == 0, ran
    said = [line for line in ran.splitlines() if "does not plan" in line]
    assert said and said[0] in dry.splitlines(), (said, dry)


def test_a_dry_run_of_an_unedited_file_warns_of_nothing(run_cli, tmp_path):
    sweep, store = tmp_path / "s.toml", tmp_path / "s.sqlite"
    sweep.write_text(tiny_sweep("same"), encoding="utf-8")
    assert run_cli("sweep", sweep, "--store", store, "--jobs", "1")[0] == 0
    code, _, dry = run_cli("sweep", sweep, "--store", store, "--dry-run")
    assert code == 0 and "warning" not in dry, dry


# ------------------------------------------------------------------ a damaged store
# A store cut short or with a page overwritten was refused in one line that named the damage
# but not what to do ("store s.sqlite: not a readable SQLite database (database disk image is
# malformed)"): every such refusal now says the file is left as it is and to use a copy made
# before the damage, or another store.

def _damaged(store, how: str) -> None:
    size = store.stat().st_size
    if how == "cut":
        with open(store, "r+b") as fh:
            fh.truncate(size // 3)
    elif how == "header":
        with open(store, "r+b") as fh:
            fh.truncate(100)
    else:  # the last pages overwritten: the file opens, its rows cannot be read
        with open(store, "r+b") as fh:
            fh.seek(size - 3 * 4096)
            fh.write(b"\xff" * 3 * 4096)


@pytest.mark.parametrize("how", ["cut", "header", "pages"])
@pytest.mark.parametrize("command", ["sweep", "results", "plot"])
def test_a_damaged_store_is_refused_saying_what_to_do(run_cli, tmp_path, how, command):
    from conftest import refused

    sweep, store = tmp_path / "s.toml", tmp_path / "s.sqlite"
    sweep.write_text(tiny_sweep("dmg", seeds=3, fault_rates=[0.0, 0.1, 0.2, 0.3]),
                     encoding="utf-8")
    assert run_cli("sweep", sweep, "--store", store, "--jobs", "1")[0] == 0
    _damaged(store, how)
    args = {"sweep": ("sweep", sweep, "--store", store, "--jobs", "1"),
            "results": ("results", store), "plot": ("plot", store, "-o", tmp_path / "f.png")}
    line = refused(run_cli, tmp_path, *args[command])
    assert "s.sqlite" in line and line.endswith("or another store"), line


# ------------------------------------------------------------------ a damaged row
# A stored row whose result was edited or damaged (``result = '[]'``, a result without its
# cosine, a config that is no object) was counted as done by ``sweep`` -- "2 already stored, 0
# new rows", exit 0 -- and refused only later by ``results`` and ``plot``. A run now refuses it
# before any work, naming the row and what to do, and leaves the store as it was.
@pytest.mark.parametrize(("column", "value"), [
    ("result", "[]"), ("result", '{"threads": 1}'), ("config", "[1]"), ("result", "{")])
def test_a_run_refuses_a_stored_row_no_reader_takes(tmp_path, column, value):
    import hashlib
    import sqlite3

    from xbarmem.errors import FileFormatError

    store, spec = tmp_path / "s.sqlite", _spec()
    run_sweep(spec, store, jobs=1)
    with sqlite3.connect(store) as db:
        key = db.execute("SELECT key FROM trials ORDER BY key LIMIT 1").fetchone()[0]
        db.execute(f"UPDATE trials SET {column} = ? WHERE key = ?", (value, key))
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    with pytest.raises(FileFormatError, match=rf"row {key[:12]}.*a run would take that row as "
                                              r"done: delete it to compute it again"):
        run_sweep(spec, store, jobs=1)
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before
