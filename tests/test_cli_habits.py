"""Command-line habits: fast start, --threads, --json everywhere, completion, readable tables,
refused foot-guns. Settings are tiny; every command runs in-process through ``run_cli``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import tiny_sweep


# ------------------------------------------------------------------------------ fast start
def test_cli_import_does_not_load_heavy_libraries():
    """``xbarmem --help`` must not pay for torch, SciPy or matplotlib (imported when a command
    runs); checked in a fresh interpreter."""
    code = ("import json, sys, xbarmem, xbarmem.cli; "
            "print(json.dumps([m for m in ('torch', 'scipy', 'matplotlib', 'pandas') "
            "if m in sys.modules]))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert json.loads(res.stdout) == []


def test_lazy_package_attributes():
    import xbarmem

    assert set(xbarmem.__all__) <= set(dir(xbarmem))
    assert not {"importlib", "Any", "TYPE_CHECKING", "annotations"} & set(dir(xbarmem))
    for name in xbarmem.__all__:  # every export resolves (a name added without its module fails)
        assert getattr(xbarmem, name) is not None, name
    from xbarmem import PatternSet, train  # noqa: F401 - resolved on first use
    from xbarmem.data.patterns import PatternSet as direct

    assert xbarmem.PatternSet is direct
    assert xbarmem.hardware.__name__ == "xbarmem.hardware"
    with pytest.raises(AttributeError):
        xbarmem.no_such_name  # noqa: B018


def test_cli_vocabulary_lists_agree_with_the_library():
    from xbarmem.learning.classic import rule_names
    from xbarmem.memory.build import ARCHS
    from xbarmem.names import ARCHS as CLI_ARCHS
    from xbarmem.names import RULE_NAMES

    assert list(RULE_NAMES) == rule_names()
    assert tuple(CLI_ARCHS) == tuple(ARCHS)


# ------------------------------------------------------------------------------ completion
def test_shell_completion_of_commands_and_choices(run_cli, monkeypatch):
    def complete(words: str) -> list[str]:
        monkeypatch.setenv("_XBARMEM_COMPLETE", "complete_bash")
        monkeypatch.setenv("COMP_WORDS", words)
        monkeypatch.setenv("COMP_CWORD", str(len(words.split()) - (not words.endswith(" "))))
        code, out, err = run_cli()
        assert code == 0, err
        return out.split()

    assert complete("xbarmem tr") == ["train"]
    assert complete("xbarmem chip i") == ["inspect", "import"]
    assert complete("xbarmem train --rule storkey") == ["storkey", "storkey-variant"]
    assert "paper-sim" in complete("xbarmem train --chip ")
    offered = complete("xbarmem demo --")
    assert "--trials" in offered and "--chips" not in offered  # deprecated spellings: hidden
    monkeypatch.delenv("_XBARMEM_COMPLETE")
    # the install / show options are offered (the script itself depends on the shell typer
    # detects from the parent processes, which differs between a terminal and CI)
    code, out, _ = run_cli("--help")
    assert code == 0 and "--install-completion" in out and "--show-completion" in out


def _completed(run_cli, monkeypatch, words: str) -> list[str]:
    """What bash completion offers for the command line ``words`` (its last word being typed)."""
    monkeypatch.setenv("_XBARMEM_COMPLETE", "complete_bash")
    monkeypatch.setenv("COMP_WORDS", words)
    monkeypatch.setenv("COMP_CWORD", str(len(words.split()) - (not words.endswith(" "))))
    try:
        code, out, err = run_cli()
    finally:
        monkeypatch.delenv("_XBARMEM_COMPLETE")
    assert code == 0, err
    return out.split()


def _named_value_params() -> list[tuple[str, str]]:
    """``(command words, option or "")`` of every visible parameter whose value is a name
    from a list (read by :func:`~xbarmem.cli.option_types.names` or
    :func:`~xbarmem.cli.option_types.choice_text`) or a preset name or file
    (:func:`~xbarmem.cli.option_types.name_or_file`); "" for an argument."""
    import typer

    from xbarmem.cli import option_types
    from xbarmem.cli.apps import app

    found = []

    def walk(command, path):
        for param in command.params:
            info = getattr(getattr(param, "type_descriptor", None), "parameter_info", None)
            parser = getattr(info, "parser", None)
            named = parser in (option_types.name_or_file, option_types.choice_text) or (
                getattr(parser, "__qualname__", "").startswith("names."))
            if named and not getattr(param, "hidden", False):
                option = next((o for o in param.opts if o.startswith("--")), "")
                found.append((" ".join(path), option if param.param_type_name == "option"
                              else ""))
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


_NAMED = _named_value_params()


def test_named_value_parameters_are_found():
    """The walk below sees the options it is about (a change of typer's internals would make
    it find none, and the completion test pass on nothing)."""
    seen = {option for _, option in _NAMED}
    assert {"--mode", "--kind", "--rule", "--chip", "--data", "--corruption"} <= seen
    assert len(_NAMED) > 40


def test_demo_data_completes_the_sources_demo_takes():
    from xbarmem.cli.data_options import DEMO_SOURCES
    from xbarmem.experiments.demo import DEMO_DATA

    assert sorted(DEMO_SOURCES) == sorted(DEMO_DATA)


@pytest.mark.parametrize(("path", "option"), _NAMED, ids=lambda v: v or "ARG")
def test_every_named_value_completes_in_the_shell(run_cli, monkeypatch, path, option):
    """Every option or argument that takes a name completes it in the shell, as --rule and
    --chip did: --mode, --activation, --kind, --arch, --corruption, --fault-model, --data,
    --circuit, plot --kind, chip import --as, reproduce --products, chip show CHIP and
    circuit show CIRCUIT offered nothing."""
    offered = _completed(run_cli, monkeypatch, f"xbarmem {path} {option} ".replace("  ", " "))
    assert offered and not any(word.startswith("-") for word in offered), offered


@pytest.mark.parametrize(("words", "expected"), [
    ("xbarmem evaluate --mode ", ["sync", "async"]),
    ("xbarmem recall --activation t", ["tanh"]),
    ("xbarmem train --kind ", ["binary", "continuous"]),
    ("xbarmem capacity --arch m", ["multilayer"]),
    ("xbarmem train --fault-model ", ["device", "weight"]),
    ("xbarmem energy --circuit p", ["paper-calibrated"]),
    ("xbarmem circuit show g", ["generic-rram"]),
    ("xbarmem chip show r", ["rram"]),
    ("xbarmem train --data mnist", ["mnist", "mnist-crop24"]),
    ("xbarmem demo --data d", ["digits"]),
    ("xbarmem evaluate --corruption s", ["salt-pepper"]),
    ("xbarmem chip import --as c", ["codes", "conductance"]),
    ("xbarmem plot --kind f", ["faults"]),
    ("xbarmem reproduce --products b", ["bf16"]),
])
def test_named_values_complete_to_their_names(run_cli, monkeypatch, words, expected):
    assert _completed(run_cli, monkeypatch, words) == expected


# ------------------------------------------------------------------------------ fixtures
def _main(*args: object) -> None:
    """``xbarmem *args`` in-process for module fixtures (run_cli is per test)."""
    from xbarmem import cli

    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(sys, "argv", ["xbarmem", *map(str, args)])
        try:
            cli.main()
        except SystemExit as exc:
            assert not exc.code, args
    finally:
        mp.undo()


SWEEP = tiny_sweep("tiny", seeds=3, fault_rates=[0.0, 0.2])


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A Hebb model (16 neurons, device fault model), cues, a fault map, a conductance map in
    siemens, a sweep file and its store (12 rows: 2 rules x 2 fault rates x 3 seeds)."""
    import numpy as np

    tmp = tmp_path_factory.mktemp("habits")
    f = {"tmp": tmp, "model": tmp / "hebb.safetensors", "cues": tmp / "cues.npy",
         "map": tmp / "map.npz", "siemens": tmp / "g.npy", "sweep": tmp / "tiny.toml",
         "store": tmp / "tiny.sqlite"}
    _main("train", "--data", "random", "--patterns", "3", "--neurons", "16", "--rule", "hebb",
          "--chip", "ideal", "--faults", "0.05", "-o", f["model"], "--json")
    np.save(f["cues"], np.where(np.random.default_rng(0).random((2, 16)) > 0.5, 1.0, -1.0))
    _main("chip", "faults", "-o", f["map"], "--faults", "0.1", "--json")
    g = np.random.default_rng(1).uniform(5e-6, 140e-6, (2, 64, 64))
    np.save(f["siemens"], g)
    f["sweep"].write_text(SWEEP)
    _main("sweep", f["sweep"], "--store", f["store"], "--jobs", "1", "--json")
    return f


# ------------------------------------------------------------------------------ --json
#: every command, with tiny arguments that make it print JSON ({name} = a file of `files`)
JSON_RUNS: dict[str, list[str]] = {
    "demo": ["-o", "{tmp}/demo"],  # run_demo replaced by a stub: the real one trains 12 rules
    "train": ["--data", "random", "--patterns", "3", "--neurons", "16", "--rule", "hebb", "-o",
              "{tmp}/t.safetensors"],
    "evaluate": ["{model}", "--probes", "2"],
    "recall": ["{model}", "{cues}"],
    "chip show": ["rram"],
    "chip presets": [],
    "chip faults": ["-o", "{tmp}/f.npz"],
    "chip inspect": ["{map}"],
    "chip import": ["{siemens}", "--as", "conductance", "-o", "{tmp}/imported.npz"],
    "export": ["{model}", "-o", "{tmp}/export"],
    "adapt": ["{model}", "--rounds", "0", "--probes", "2"],
    "capacity": ["--data", "random", "--neurons", "16", "--rule", "hebb", "--trials", "1",
                 "--probes", "2", "--pool", "20"],
    "scaling": ["--arch", "single", "--rule", "hebb", "--sizes", "16", "--trials", "1",
                "--probes", "2", "--pool", "20", "-o", "{tmp}/scaling"],
    "energy": ["--data", "random", "--patterns", "3", "--neurons", "16", "--rule", "hebb",
               "--probes", "2"],
    "circuit show": ["paper-calibrated"],
    "circuit presets": [],
    "sweep": ["{sweep}", "--store", "{store}", "--jobs", "1"],
    "results": ["{store}", "--group-by", "rule"],
    "plot": ["{store}", "--kind", "faults", "-o", "{tmp}/faults.png"],
    "reproduce": ["-o", "{tmp}/reproduce"],  # with no experiments: the report alone
}


def _commands() -> dict[str, set[str]]:
    """Every command (``chip show``) with its visible option names."""
    import typer

    from xbarmem import cli

    def walk(group, prefix):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from walk(command, f"{prefix}{name} ")
            else:
                yield f"{prefix}{name}", {o for p in command.params if not getattr(
                    p, "hidden", False) for o in getattr(p, "opts", [])}

    return dict(walk(typer.main.get_command(cli.app), ""))


def test_the_json_table_lists_every_command():
    commands = _commands()
    assert set(JSON_RUNS) == set(commands)
    assert all("--json" in opts for opts in commands.values())


def _strict(text: str):
    def bad(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=bad)


@pytest.mark.parametrize("command", list(JSON_RUNS))
def test_every_command_prints_strict_json(run_cli, files, monkeypatch, command):
    import xbarmem.experiments.demo as demo
    import xbarmem.experiments.reproduce as reproduce

    monkeypatch.setattr(demo, "run_demo", lambda **kw: {"settings": {}, "fault_models": {},
                                                        "figure": None, "seconds": 0.0})
    monkeypatch.setattr(reproduce, "EXPERIMENTS", [])
    args = [a.format(**files) for a in JSON_RUNS[command]]
    code, out, err = run_cli(*command.split(), *args, "--json")
    assert code == 0, err
    data = _strict(out)  # stdout is pure JSON (progress and warnings go to stderr)
    if "--threads" in _commands()[command]:
        assert data["threads"] == 1, command


def _seeds(data) -> list:
    """The values of every key of ``data`` (nested) naming a seed (``seed``, ``recall_seed``)."""
    if isinstance(data, dict):
        return [v for k, v in data.items() if k.endswith("seed")] + [
            s for v in data.values() for s in _seeds(v)]
    return [s for v in data for s in _seeds(v)] if isinstance(data, list) else []


@pytest.mark.parametrize("command", [c for c, opts in _commands().items()
                                     if "--seed" in opts and c != "demo"])
def test_every_command_that_takes_a_seed_prints_it_in_its_json(run_cli, files, monkeypatch,
                                                              command):
    """A result says how to reproduce it: ``train --json`` and ``recall --json`` (whose
    asynchronous recall draws its neuron order from ``--seed``) did not say their seed.
    (``demo`` is a stub here; its JSON is run_demo's, whose settings hold the seed;
    ``reproduce`` runs no experiment here: its JSON holds the run seed all the same.)"""
    import xbarmem.experiments.reproduce as reproduce

    monkeypatch.setattr(reproduce, "EXPERIMENTS", [])
    args = [a.format(**files) for a in JSON_RUNS[command]]
    code, out, err = run_cli(*command.split(), *args, "--seed", "7", "--json")
    assert code == 0, err
    assert 7 in _seeds(_strict(out)), command


# ------------------------------------------------------------------------------ --threads
#: the commands that compute results (and so take --threads); export writes a chip's devices
#: and its manifest.json, equal to its --json
NUMBERS = {"demo", "train", "evaluate", "recall", "adapt", "capacity", "scaling", "energy",
           "sweep", "reproduce"}


def test_threads_on_every_command_that_computes_numbers():
    have = {name for name, opts in _commands().items() if "--threads" in opts}
    assert have == NUMBERS


@pytest.mark.parametrize("command", sorted(NUMBERS))
def test_every_computing_command_records_the_versions_that_computed_it(run_cli, files, tmp_path,
                                                                       monkeypatch, command):
    """A result says what computed it, as a model file and a sweep's row do: ``versions``
    (xbarmem, torch, numpy) beside ``threads`` in the JSON of every command that computes
    numbers, and in the JSON files ``scaling`` and ``energy --sizes`` write (they held the
    seed and the thread count, but no version: a number could not be told from one another
    xbarmem or torch computed)."""
    import xbarmem.experiments.demo as demo
    import xbarmem.experiments.reproduce as reproduce

    monkeypatch.setattr(demo, "run_demo", lambda **kw: {"settings": {}, "fault_models": {},
                                                        "figure": None, "seconds": 0.0})
    monkeypatch.setattr(reproduce, "EXPERIMENTS", [])
    args = [a.format(**{**files, "tmp": tmp_path}) for a in JSON_RUNS[command]]
    code, out, err = run_cli(*command.split(), *args, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data.get("versions") == _installed_versions(), command
    if command == "scaling":  # the result file holds what --json prints
        assert json.loads(Path(data["files"]["json"]).read_text())["versions"] == data["versions"]


def _installed_versions() -> dict[str, str]:
    from importlib import metadata

    return {pkg: metadata.version(pkg) for pkg in ("xbarmem", "torch", "numpy")}


def test_energy_sizes_file_records_the_versions(run_cli, tmp_path):
    code, out, err = run_cli("energy", "--sizes", "16", "--probes", "2", "-o", tmp_path, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data.get("versions") == _installed_versions()
    assert json.loads(Path(data["files"]["json"]).read_text())["versions"] == data["versions"]


def test_a_model_file_records_the_versions_the_commands_record(tmp_path):
    """The one record of versions: a model file's is what the commands' JSON holds."""
    import xbarmem as xm
    from xbarmem.version import versions

    path = xm.save_memory(xm.train(xm.random_patterns(2, 16, seed=0), rule="hebb"),
                          tmp_path / "m.safetensors")
    assert xm.read_metadata(path)["versions"] == versions() == _installed_versions()


@pytest.mark.parametrize("value", ["0", "-1", "100000"])
@pytest.mark.parametrize("command", sorted(NUMBERS))
def test_bad_thread_counts_are_refused_before_any_work(run_cli, files, tmp_path, command,
                                                      value):
    args = [a.format(**{**files, "tmp": tmp_path}) for a in JSON_RUNS[command]]
    code, out, err = run_cli(*command.split(), *args, "--threads", value)
    assert code == 2, err
    assert err.startswith("error: Invalid value for '--threads': must be an integer >= 1") and len(
        err.strip().splitlines()) == 1, err
    assert not out
    assert not list(tmp_path.iterdir())  # nothing written


def test_threads_before_torch_loads_go_to_its_environment_and_are_undone():
    """A command that has not loaded torch yet hands ``--threads N`` to torch through
    ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` (torch then starts with N threads), and the
    variables are as before once the command ends (unset here, another value there)."""
    script = """
import os, sys
os.environ.pop("OMP_NUM_THREADS", None)
os.environ["MKL_NUM_THREADS"] = "7"
from xbarmem.cli.run_options import torch_threads
assert "torch" not in sys.modules
with torch_threads(2) as n:
    import torch
    print(n, torch.get_num_threads(), os.environ["OMP_NUM_THREADS"], os.environ["MKL_NUM_THREADS"])
print(os.environ.get("OMP_NUM_THREADS"), os.environ.get("MKL_NUM_THREADS"))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["2 2 2 2", "None 7"]


def _untimed(obj):
    if isinstance(obj, dict):
        return {k: _untimed(v) for k, v in obj.items() if "seconds" not in k}
    if isinstance(obj, list):
        return [_untimed(v) for v in obj]
    return obj


def test_threads_recorded_and_results_repeatable(run_cli, tmp_path):
    import torch

    from xbarmem.memory.io import read_metadata

    def train(threads: str, name: str) -> dict:
        code, out, err = run_cli("train", "--data", "random", "--patterns", "3", "--neurons",
                                 "16", "--rule-option", "max_steps=30", "--rule-option",
                                 "finetune_steps=10", "--threads", threads, "-o",
                                 tmp_path / name, "--json")
        assert code == 0, err
        return json.loads(out)

    before = torch.get_num_threads()
    one, again = train("1", "a.safetensors"), train("1", "b.safetensors")
    assert one["threads"] == 1 and _untimed(one | {"model": 0}) == _untimed(again | {"model": 0})
    assert read_metadata(tmp_path / "a.safetensors")["threads"] == 1
    two = train("2", "c.safetensors")
    assert two["threads"] == 2
    assert read_metadata(tmp_path / "c.safetensors")["threads"] == 2
    assert torch.get_num_threads() == before  # the command's thread count is not left behind
    evaluations = [json.loads(run_cli("evaluate", tmp_path / "a.safetensors", "--probes", "3",
                                      "--json")[1]) for _ in range(2)]
    assert evaluations[0] == evaluations[1] and evaluations[0]["threads"] == 1


def test_sweep_rows_record_their_thread_count(files):
    from xbarmem.experiments.store import ResultStore

    with ResultStore(files["store"]) as db:
        rows = db.rows()
    assert len(rows) == 12 and {r["result"]["threads"] for r in rows} == {1}


def test_reproduce_states_threads(run_cli, tmp_path, monkeypatch):
    import xbarmem.experiments.reproduce as reproduce

    monkeypatch.setattr(reproduce, "EXPERIMENTS", [])
    code, out, err = run_cli("reproduce", "-o", tmp_path, "--threads", "2", "--json")
    assert code == 0, err
    assert json.loads(out)["threads"] == 2
    assert "2 torch threads per trial" in (tmp_path / "report.md").read_text()


def test_reproduce_prints_its_summary_as_a_table_of_the_terminals_width(run_cli, tmp_path,
                                                                        monkeypatch):
    """The summary was the report's markdown printed as text: wrapped mid-row at 80 columns
    (a row's "| below |" on a line of its own), also into a file."""
    import xbarmem.experiments.reproduce as reproduce

    rows = [["(b) capacity ratio HA/pinv, 50% faults, threshold 0.99, 10% flips", "3x",
             "1.60x (8 vs 5; per-seed means 1.60x)", "below"],
            ["(e) multilayer exponent, binary, H = N, threshold 0.99", "1.49",
             "1.39 [1.19, 1.60]", "ok"]]

    def fake(out_dir, **_):
        table = "\n".join(["| claim | paper | xbarmem (measured) | bar |", "|---|---|---|---|",
                           *(f"| {' | '.join(r)} |" for r in rows)])
        return {"path": str(out_dir / "report.md"), "table": table, "rows": rows,
                "seconds": 1.0, "quick": False, "verdicts": {"b": "partly", "e": "partly"},
                "claims": {"b": "Capacity of hardware-adaptive learning vs pseudo-inverse",
                           "e": "Multilayer capacity scaling exponents"}}

    monkeypatch.setattr(reproduce, "reproduce", fake)
    monkeypatch.setenv("COLUMNS", "80")
    code, out, err = run_cli("reproduce", "-o", tmp_path, "--jobs", "1")
    assert code == 0 and "warning" not in err, err
    assert all(len(line) <= 80 for line in out.splitlines()) and "|---" not in out, out
    words = " ".join(out.split())
    assert all(w in words for r in rows for cell in r for w in cell.split()), out
    assert "[1.19, 1.60]" in out and "report: " in out


# ------------------------------------------------------------------------------ tables
@pytest.mark.parametrize("command", ["chip faults", "chip inspect", "chip import",
                                     "sweep --dry-run"])
def test_human_output_is_a_table_not_a_dict_repr(run_cli, files, tmp_path, command):
    args = {"chip faults": ["-o", tmp_path / "f.npz"], "chip inspect": [files["map"]],
            "chip import": [files["siemens"], "--as", "conductance", "-o", tmp_path / "i.npz"],
            "sweep --dry-run": [files["sweep"], "--store", files["store"]]}[command]
    code, out, err = run_cli(*command.split(), *args)
    assert code == 0, err
    assert "{" not in out and "':" not in out  # no Python dict repr
    label = "already stored" if "sweep" in command else "stuck (fraction)"
    line = next(line for line in out.splitlines() if label in line)
    cells = re.split(r"\s{2,}", line.strip())  # aligned: field, value
    assert cells[0] == label and len(cells) == 2, line
    if command == "sweep --dry-run":
        assert cells[1] == "12"
    keys = re.findall(r"\b[a-z]+_[a-zA-Z_]+\b", out)  # words, not JSON keys ("pending_groups")
    assert not [k for k in keys if k not in str(args)], out  # (a path's own words aside)


# ------------------------------------------------------------------------------ foot-guns
def test_train_on_a_whole_large_set_is_refused(run_cli, tmp_path):
    out = tmp_path / "m.safetensors"
    code, _, err = run_cli("train", "-o", out)  # default --data mnist: 10,000 digits
    assert code == 2 and err.startswith("error: --data mnist holds 10000 patterns"), err
    assert "--patterns N" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    code, _, err = run_cli("train", "--data", "digits", "--neurons", "64", "--rule", "hebb",
                           "-o", out)
    assert code == 2 and "--patterns N" in err, err  # 1797 digits, 64 neurons
    code, _, err = run_cli("train", "--data", "digits", "--neurons", "64", "--rule", "hebb",
                           "--patterns", "3", "-o", out)
    assert code == 0 and out.is_file(), err


def test_conductances_in_another_unit_are_refused(run_cli, files, tmp_path, capsys):
    import numpy as np

    g = np.load(files["siemens"])
    for name, values, unit in (("uS", g * 1e6, "100% fit it as microsiemens (uS)"),
                               ("mS", g * 1e3, "fit it as millisiemens (mS)"),
                               ("ohm", 1.0 / g, "as ohms (conductance = 1 / resistance)")):
        source, out = tmp_path / f"{name}.npy", tmp_path / "m.npz"
        np.save(source, values)
        code, _, err = run_cli("chip", "import", source, "--as", "conductance", "-o", out)
        assert code == 2 and err.startswith(f"error: {source}: conductance map is read in "
                                            "siemens, but most values lie outside"), err
        assert unit in err and len(err.strip().splitlines()) == 1
        assert not out.exists()
    # siemens, but ten times the rram window: no unit explains it, and a fault map cannot hold
    # values that far above the window -> one error naming the likely cause, nothing written
    source = tmp_path / "far.npy"
    np.save(source, g * 10)
    code, out, err = run_cli("chip", "import", source, "--as", "conductance", "-o",
                             tmp_path / "far.npz", "--json")
    assert code == 2 and err.startswith("error: ") and "--chip" in err, err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "far.npz").exists()
    # just above the window (within one window width): a warning, the map is written
    from xbarmem.cli.chip import check_siemens
    from xbarmem.hardware.chip import load_chip

    chip = load_chip("rram")
    capsys.readouterr()
    check_siemens(np.full((2, 2), chip.device.g_max * 1.8), chip)
    err = capsys.readouterr().err
    assert err.startswith("warning: 100% of the conductances lie outside") and "--chip" in err
    code, out, err = run_cli("chip", "import", files["siemens"], "--as", "conductance", "-o",
                             tmp_path / "ok.npz", "--json")
    assert code == 0 and not err and json.loads(out)["stuck_fraction"] < 0.1


# ------------------------------------------------------------------------------ results
def test_results_grouped_with_mean_std_and_n(run_cli, files):
    code, out, err = run_cli("results", files["store"], "--group-by", "rule,fault_rate",
                             "--json")
    assert code == 0, err
    groups = json.loads(out)
    assert [g["group"] for g in groups] == [
        {"rule": r, "fault_rate": f} for r in ("hebb", "pinv") for f in (0.0, 0.2)]
    assert all(g["n"] == 3 and g["count"]["cosine"] == 3 for g in groups)
    code, out, err = run_cli("results", files["store"], "--json", "--where", "rule=pinv",
                             "--where", "fault_rate=0.2")
    cosines = [r["result"]["cosine"] for r in json.loads(out)]
    pinv = groups[3]
    assert pinv["mean"]["cosine"] == pytest.approx(sum(cosines) / 3)
    assert pinv["std"]["cosine"] == pytest.approx(float(__import__("numpy").std(cosines,
                                                                                 ddof=1)))
    code, out, err = run_cli("results", files["store"], "-g", "rule")
    assert code == 0, err
    lines = [line.split() for line in out.splitlines()]
    assert ["hebb", "6"] in [line[:2] for line in lines]
    assert any("+-std" in line for line in lines)


def test_results_table_keeps_whole_cells(run_cli, files, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    code, out, err = run_cli("results", files["store"], "--limit", "4")
    assert code == 0, err
    assert "…" not in out  # folded, never cut
    assert "same in the 4 rows shown: sweep=tiny" in " ".join(out.split())
    code, out, err = run_cli("results", files["store"], "--where", "rule=pinv")
    assert code == 0 and "same in every row: sweep=tiny, rule=pinv" in " ".join(out.split())
    code, out, err = run_cli("results", files["store"], "--columns", "rule,seed,result.exact",
                             "--limit", "2")
    assert code == 0 and "result.exact" in out, err


#: commands that print tables wider than a narrow terminal, with tiny arguments (as JSON_RUNS)
WIDE_TABLES: dict[str, list[str]] = {
    "energy --sizes": ["--sizes", "16", "--rule", "hebb", "--probes", "2", "-o", "{tmp}/e"],
    "energy": JSON_RUNS["energy"], "capacity": JSON_RUNS["capacity"],
    "adapt": JSON_RUNS["adapt"], "results": JSON_RUNS["results"],
}


@pytest.mark.parametrize("command", list(WIDE_TABLES))
def test_tables_fold_cells_in_a_narrow_terminal_never_cut_them(run_cli, files, monkeypatch,
                                                                command):
    """Every command's tables print through the one console that folds cells: at 60 columns
    energy --sizes cut 'exact s/a' to '0.98/0…' (the async rate lost)."""
    monkeypatch.setenv("COLUMNS", "60")
    args = [a.format(**files) for a in WIDE_TABLES[command]]
    code, out, err = run_cli(command.split()[0], *args)
    assert code == 0, err
    assert "┃" in out or "─" in out  # a table was printed
    assert "…" not in out, out


@pytest.mark.parametrize("width", [40, 52, 55, 60, 63, 66, 80])
def test_table_headers_wrap_between_words_while_the_table_fits(width):
    """A header word is broken inside only when the table cannot fit otherwise: at 80 columns
    'architecture' printed as 'archit' / 'ecture' though the table had room for it; a table
    too wide for its words boxed drops its vertical lines first (at 55 and 60 here); no column
    is ever hidden or cut to make the words fit."""
    import io

    from rich.table import Table

    from xbarmem.cli.tables import _Console

    headers = ["architecture", "devices", "C@0.9", "C@0.99", "counts tested", "seconds"]
    table = Table(title="t")
    for header in headers:
        table.add_column(header, justify="right")
    table.add_row("single", "4900", "30", "9", "11", "8")
    console = _Console(width=width, file=io.StringIO(), color_system=None)
    console.print(table)
    text = console.file.getvalue()
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines), text
    row = next(line for line in lines if "single" in line)
    assert row.replace("│", " ").split() == ["single", "4900", "30", "9", "11", "8"], text
    longest = sum(max(len(w) for w in h.split()) for h in headers)
    if longest + 3 * len(headers) + 1 <= width:  # boxed, every word whole
        assert lines[1].count("┳") == len(headers) - 1, text
    if longest + 2 * (len(headers) - 1) <= width:  # at worst without vertical lines
        words = {word for line in lines for word in line.replace("┃", " ").split()}
        assert {"architecture", "devices", "tested", "seconds", "single"} <= words, text


def test_print_table_measures_the_table_once_for_its_warning_and_its_drawing(monkeypatch):
    """The check for words a too-narrow terminal breaks measured every header and cell, and
    printing the table measured them all again to fold its columns."""
    import io

    from rich.table import Table

    from xbarmem.cli import tables

    calls = []
    real = tables._measure
    monkeypatch.setattr(tables, "_measure", lambda *a: calls.append(a) or real(*a))
    warned = []
    monkeypatch.setattr(tables, "warn", warned.append)
    for width, wide in ((20, True), (80, False)):
        table = Table()
        for header in ("architecture", "counts tested", "seconds"):
            table.add_column(header)
        table.add_row("multilayer", "11", "8")
        console = tables._Console(width=width, file=io.StringIO(), color_system=None)
        calls.clear()
        warned.clear()
        console.print_table(table, "--columns FIELD,...")
        assert len(calls) == 1, width
        assert warned == ([f"the table is wider than this terminal ({width} columns): "
                           "--columns FIELD,..., or widen the terminal"] if wide else [])
        text = console.file.getvalue()  # drawn either way; its words whole when it fits
        assert " 11 " in text and ("multilayer" in text) is not wide, text


def test_results_rows_are_sorted_by_their_columns(run_cli, files):
    """The table listed rows in the order they were stored: the sweep's fault rates
    alternating within each seed (0, 0.2, 0, 0.2, ...), a capacity sweep of two processes
    N = 49 first; rows are sorted by the fields shown, in their order."""
    code, out, err = run_cli("results", files["store"])
    assert code == 0, err
    rows = [line.replace("│", " ").split() for line in out.splitlines()
            if line.startswith("│ ")]
    assert [r[0] for r in rows] == ["hebb"] * 6 + ["pinv"] * 6, out
    assert [(float(r[1]), int(r[2])) for r in rows[:6]] == [
        (0.0, 0), (0.0, 1), (0.0, 2), (0.2, 0), (0.2, 1), (0.2, 2)], out
    code, out, err = run_cli("results", files["store"], "--columns", "seed,rule")
    assert code == 0, err
    rows = [line.replace("│", " ").split() for line in out.splitlines()
            if line.startswith("│ ")]
    assert [r[0] for r in rows] == ["0"] * 4 + ["1"] * 4 + ["2"] * 4, out


def test_results_export_with_json_says_what_it_wrote(run_cli, files, tmp_path):
    target = tmp_path / "rows.csv"
    code, out, err = run_cli("results", files["store"], "--where", "rule=hebb", "--csv", target,
                             "--json")
    assert code == 0, err
    assert json.loads(out) == {"files": [str(target)], "rows": 6}
    assert len(target.read_text().splitlines()) == 7  # header + 6 rows


def test_results_csv_to_standard_output_is_the_file_export(run_cli, files, tmp_path):
    """``--csv -`` prints what ``--csv FILE`` writes (a user piping rows into another
    program had to make a file, or a link to /dev/stdout named .csv); with --json, both on
    standard output, it is refused."""
    target = tmp_path / "rows.csv"
    code, _, err = run_cli("results", files["store"], "--where", "rule=hebb", "--csv", target)
    assert code == 0, err
    code, out, err = run_cli("results", files["store"], "--where", "rule=hebb", "--csv", "-")
    assert code == 0, err
    assert out == target.read_bytes().decode() and err == "wrote 6 rows to standard output\n"
    assert not (tmp_path / "-").exists()
    code, out, err = run_cli("results", files["store"], "--csv", "-", "--json")
    assert code == 2 and not out and err.startswith("error: --csv - and --json would both")


@pytest.mark.parametrize("option", ["--group-by", "--metric", "--columns"])
def test_results_bad_field_lists(run_cli, files, option):
    code, _, err = run_cli("results", files["store"], option, "rule,,seed")
    assert code == 2 and err.startswith(f"error: {option} must be comma-separated"), err


def test_results_too_wide_for_the_terminal_say_how_to_show_less(run_cli, files, monkeypatch):
    """A grouped table of many metrics at 80 columns broke every sweep name and header into
    pieces with no word on why; a warning now names --metric (rows: --columns)."""
    import io

    from xbarmem.cli import results
    from xbarmem.cli.tables import _Console

    for width, warned in ((28, True), (200, False)):
        console = _Console(width=width, file=io.StringIO(), color_system=None)
        monkeypatch.setattr(results, "out", console)
        code, _, err = run_cli("results", files["store"], "--group-by", "rule")
        assert code == 0, err
        assert ("--metric NAME,... to choose its metrics" in err) is warned, err
        code, _, err = run_cli("results", files["store"])
        assert code == 0, err
        assert ("--columns FIELD,... to choose its fields" in err) is warned, err


def test_a_table_too_wide_for_its_minimum_widths_folds_and_loses_no_digit(run_cli, files,
                                                                          monkeypatch):
    """``results --group-by rule,fault_rate`` of four metrics at 80 columns kept each
    column's minimum width, drew the table wider than the terminal and cut every line at its
    edge: the last std column read ``0.`` for 0.25 and ``3`` for 3.9, with no mark. The cells
    fold instead; every line fits and every mean and std is there whole."""
    width = 80
    monkeypatch.setenv("COLUMNS", str(width))
    metrics = ("cosine", "exact", "mean_iterations", "hamming")
    args = ("results", files["store"], "--group-by", "rule,fault_rate", "--metric",
            ",".join(metrics))
    code, out, err = run_cli(*args)
    assert code == 0 and "wider than this terminal" in err, err
    assert all(len(line) <= width for line in out.splitlines()), out
    code, text, err = run_cli(*args, "--json")
    assert code == 0, err
    rows = [line.split() for line in out.splitlines() if line.startswith(("hebb", "pinv"))]
    for group, row in zip(json.loads(text), rows, strict=True):
        shown = [f"{group[k][m]:{'.4g' if k == 'mean' else '.2g'}}"
                 for m in metrics for k in ("mean", "std")]
        assert row[-len(shown):] == shown, out


def test_names_and_paths_are_printed_as_written_not_as_rich_markup(run_cli, tmp_path):
    """Rich read ``[v2]`` in ``m[v2].safetensors`` (and a sweep named ``x[bold]y``) as a
    style tag and dropped it: ``saved m.safetensors`` named a file that does not exist. Every
    console prints text as written; styled lines escape what they quote."""
    def squash(text: str) -> str:  # the lines as a terminal wraps them, joined
        return "".join(text.split())

    model = tmp_path / "m[v2].safetensors"
    code, out, err = run_cli("train", "--data", "digits", "--patterns", "4", "--rule", "pinv",
                             "-o", model)
    assert code == 0, err
    assert squash(f"saved {model}:") in squash(out)
    sweep, store = tmp_path / "s.toml", tmp_path / "s[red].sqlite"
    sweep.write_text(tiny_sweep("x[bold]y", rules=("hebb",)))
    code, out, err = run_cli("sweep", sweep, "--store", store, "--jobs", "1")
    assert code == 0, err
    assert squash("sweep x[bold]y:") in squash(out) and squash(str(store)) in squash(out)
    code, out, err = run_cli("results", store)
    assert code == 0 and "s[red].sqlite" in squash(out), err
    code, out, err = run_cli("train", "--data", "digits", "--patterns", "4",
                             "-o", tmp_path / "no[pe]" / "m.safetensors")
    assert code == 2 and "no[pe]" in err
