"""Every command's machine-readable output as a pipeline reads it (``xbarmem CMD --json | jq``,
``pandas.read_csv``): stdout is one strict JSON document (no NaN/Infinity tokens, no bar or
warning), a refusal under ``--json`` leaves stdout empty (exit 2, one ``error:`` line on stderr),
and the JSON and CSV files commands write are strict too."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

SWEEP = ('[sweep]\nname = "z"\ntrial = "evaluate"\nseeds = 1\n[base]\ndata = "random"\n'
         'n_neurons = 16\nprobes = 2\n[grid]\nrule = ["hebb", "pinv"]\npatterns = [2, 3]\n')


def _strict(text: str):
    """``text`` parsed as one strict JSON document: NaN/Infinity refused (as jq and JavaScript
    refuse them), nothing before or after it."""
    def refuse(token: str):
        raise AssertionError(f"non-strict JSON token {token}")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    """A folder with a weight-model memory (m.safetensors), a device-model one (d.safetensors),
    cues, a fault map and a small results store, made once for the module."""
    from typer.testing import CliRunner

    from xbarmem.cli import app

    folder = tmp_path_factory.mktemp("json")
    runner = CliRunner()
    common = ["--data", "random", "--neurons", "16", "-p", "3", "--rule", "pinv"]
    for name, chip in (("m", "paper-sim"), ("d", "rram")):
        done = runner.invoke(app, ["train", *common, "--chip", chip,
                                   "-o", str(folder / f"{name}.safetensors")])
        assert done.exit_code == 0, done.output
    np.save(folder / "cues.npy", np.sign(np.random.default_rng(0).standard_normal((2, 16))))
    (folder / "s.toml").write_text(SWEEP)
    for args in (["chip", "faults", "--chip", "rram", "--arrays", "1", "-o", "f.npz"],
                 ["sweep", "s.toml", "--store", "s.sqlite"]):
        done = runner.invoke(app, [*args[:-1], str(folder / args[-1])] if args[0] == "chip"
                             else [args[0], str(folder / args[1]), args[2],
                                   str(folder / args[3])])
        assert done.exit_code == 0, done.output
    return folder


# each command that has --json, with small fast settings ({f}: the folder of `files`)
COMMANDS = {
    "train": "train --data random --neurons 16 -p 3 --rule hebb -o {f}/t.safetensors",
    "evaluate": "evaluate {f}/m.safetensors --probes 2",
    "recall": "recall {f}/m.safetensors {f}/cues.npy -o {f}/states.npy",
    "chip show": "chip show rram",
    "chip presets": "chip presets",
    "chip faults": "chip faults --chip rram --arrays 1 -o {f}/g.npz",
    "chip inspect": "chip inspect {f}/f.npz",
    "export": "export {f}/m.safetensors -o {f}/exp",
    "adapt": "adapt {f}/d.safetensors --rounds 1 --probes 2 --log {f}/r.jsonl "
             "-o {f}/a.safetensors",
    "capacity": "capacity --data random --neurons 16 --arch single --rule pinv --trials 1 "
                "--probes 2",
    # a threshold the cues pass: warnings, which go to stderr
    "capacity (warns)": "capacity --data random --neurons 16 --arch single --rule pinv "
                        "--trials 1 --probes 2 --threshold 0.5 --pool 20",
    # one size: no power-law fit (null), the case of a value that has none
    "scaling": "scaling --sizes 16 --arch single --rule pinv --trials 1 --probes 2 -o {f}/sc",
    "energy": "energy --model {f}/m.safetensors --probes 2",
    "energy --sizes": "energy --sizes 16 --rule pinv --probes 2 -o {f}/en",
    "circuit show": "circuit show",
    "circuit presets": "circuit presets",
    "sweep --dry-run": "sweep {f}/s.toml --store {f}/dry.sqlite --dry-run",
    "sweep": "sweep {f}/s.toml --store {f}/run.sqlite --jobs 1",
    "results": "results {f}/s.sqlite",
    "results -g": "results {f}/s.sqlite -g rule",
    "results --csv": "results {f}/s.sqlite --csv {f}/rows.csv",
    "plot": "plot {f}/s.sqlite -o {f}/p.png",
}


@pytest.mark.parametrize("command", COMMANDS)
def test_json_stdout_is_one_strict_document(run_cli, files, command):
    code, out, err = run_cli(*COMMANDS[command].format(f=files).split(), "--json")
    assert code == 0, err
    data = _strict(out)
    assert isinstance(data, (dict, list)) and out.endswith("\n") and out.count("\n{") == 0
    assert "\x1b" not in out and "warning" not in out.lower()
    assert "warning: " in err if "warns" in command else "warning" not in err.lower(), err


# one name per concept across the outputs (a pipeline reads them all with one vocabulary):
# keys retired for the name the other outputs give the same thing (old -> new)
RETIRED = {"already_stored": "already", "pending_groups": "groups", "pool_size": "pool",
           "probes_per_pattern": "probes", "architecture": "arch"}
#: keys that are counts wherever they appear: an integer (or null), never a name or a list
COUNTS = ("n_neurons", "n_patterns", "patterns", "pool", "pool_distinct", "trials", "probes",
          "cues", "total", "already", "groups", "seed", "threads")
#: keys that are names (of a data source, a pattern set, a file): a string
NAMES = ("data", "pattern_set", "model", "store", "sweep", "layout")
#: what ``arch`` holds: the word ``--arch`` takes (a memory's widths are its ``layout``)
ARCHS = ("single", "multilayer")
#: subtrees holding other things' own vocabularies: file roles (an export's "patterns":
#: "patterns.npy"), a rule's options as the user gave them
FOREIGN = ("files", "rule_options", "trainer")


def _vocabulary_problems(data, path: str = "") -> list[str]:
    """Where ``data`` (a command's JSON) breaks the vocabulary: a retired key, a count that is
    no integer, a name that is no string, ``faults`` that is no record (the stuck fraction is
    ``fault_rate``), ``n`` that is no sample size (beside ``mean`` and ``std``: N is
    ``n_neurons``), ``neurons`` that names the neuron type (``activation``), ``chips`` that
    counts them (``trials``)."""
    found = []
    if isinstance(data, list):
        for item in data:
            found += _vocabulary_problems(item, f"{path}[]")
        return found
    if not isinstance(data, dict):
        return found
    for key, value in data.items():
        where = f"{path}.{key}"
        pooled = path.endswith(".pooled")  # (results -g: the values pooled, a list each)
        values = value if pooled and isinstance(value, list) else [value]
        if key in RETIRED:
            found.append(f"{where}: retired key (now {RETIRED[key]!r})")
        if key in COUNTS and not all(v is None or (isinstance(v, int)
                                                   and not isinstance(v, bool))
                                     for v in values):
            found.append(f"{where}: a count, got {value!r}")
        if key in NAMES and not all(isinstance(v, str) for v in values):
            found.append(f"{where}: a name, got {value!r}")
        if key == "arch" and not all(v in ARCHS for v in values):
            found.append(f"{where}: the word --arch takes (widths are layout), got {value!r}")
        if key == "layout" and not all(re.fullmatch(r"\d+(-\d+)*", str(v)) for v in values):
            found.append(f"{where}: the layer widths (64, 64-32-64), got {value!r}")
        if key == "sizes" and isinstance(value, list) and len(value) > 1 \
                and value[0] == value[-1]:  # (a list of N holds each N once)
            found.append(f"{where}: a memory's widths [N, ..., N] are layer_sizes, got "
                         f"{value!r} (sizes lists the N of a run)")
        if key == "faults" and not isinstance(value, dict):
            found.append(f"{where}: the faults' record (a stuck fraction is fault_rate), "
                         f"got {value!r}")
        if key == "chips" and not isinstance(value, list):  # (demo: each chip's scores)
            found.append(f"{where}: chips lists each chip's (a number of them is trials)")
        if key == "neurons" and isinstance(value, str):  # (a cost's share is a number)
            found.append(f"{where}: the neuron type is activation")
        if key == "n" and not {"mean", "std"} <= set(data):
            found.append(f"{where}: n is a sample size beside mean and std (N is n_neurons)")
        if key not in FOREIGN:
            found += _vocabulary_problems(value, where)
    return found


def test_every_output_names_one_concept_one_way(run_cli, files):
    """One name per concept in every command's --json: `sweep --dry-run` said `trials`,
    `already_stored`, `pending_groups` where a sweep's summary says `total`, `already`,
    `groups`; `energy --sizes` rows said `n` and `patterns` (a count) where every other
    output says `n_neurons` and `n_patterns`, and its settings, `train` and `energy` said
    `patterns`, capacity and scaling `pool`, for the name of the data (`data` elsewhere, and
    `pool` / `patterns` a count); `energy` and `demo` said `faults` for a stuck fraction
    (`fault_rate`; `faults` is a fault map's record), `demo` `probes_per_pattern` and
    `chips` for `probes` and `trials`; `evaluate` `protocol.neurons` beside `activation`;
    `train` of a multilayer memory `arch` for its widths (`64-32-64`, its `layout`); an
    export's manifest `architecture` for the word and `sizes` for the widths (`layer_sizes`
    in `energy`; `sizes` the list of N in `scaling`), its `model_info.arch` the widths;
    `adapt`'s `memory.sizes` the widths."""
    commands = {**COMMANDS, "demo": "demo --trials 1 --probes 1 --out {f}/demo",
                "train (multilayer)": "train --data random --neurons 16 -p 3 --arch multilayer "
                                      "--hidden 4 --rule-option max_steps=5 --rule-option "
                                      "finetune_steps=0 -o {f}/t2.safetensors",
                "export (multilayer)": "export {f}/t2.safetensors -o {f}/exp-ml"}
    problems = {}
    for name, command in commands.items():
        code, out, err = run_cli(*command.format(f=files).split(), "--json")
        assert code == 0, (name, err)
        problems[name] = _vocabulary_problems(_strict(out))
    assert {name: found for name, found in problems.items() if found} == {}
    dry = _strict(run_cli(*COMMANDS["sweep --dry-run"].format(f=files).split(), "--json")[1])
    ran = _strict(run_cli(*COMMANDS["sweep"].format(f=files).split(), "--json")[1])
    assert {"total", "already", "groups"} <= set(dry) & set(ran)


def test_train_json_names_the_architecture_and_the_widths_apart(run_cli, files):
    """`train --json` said `arch` only of a multilayer memory, holding its widths
    (`"16-4-16"`) where every other output's `arch` is the word `--arch` takes: now `arch`
    (`single` / `multilayer`) and `layout` (the widths, as `Memory.layout`) for both."""
    shapes = {}
    for arch, extra in (("single", []), ("multilayer", ["--hidden", "4", "--rule-option",
                                                        "max_steps=5", "--rule-option",
                                                        "finetune_steps=0"])):
        code, out, err = run_cli("train", "--data", "random", "--neurons", "16", "-p", "3",
                                 "--arch", arch, *extra, "--rule",
                                 "pinv" if arch == "single" else "adaptive",
                                 "-o", files / f"shape-{arch}.safetensors", "--json")
        assert code == 0, err
        data = _strict(out)
        shapes[arch] = (data["arch"], data["layout"])
    assert shapes == {"single": ("single", "16"), "multilayer": ("multilayer", "16-4-16")}


def test_capacity_json_names_each_search_by_its_layout(run_cli):
    """`capacity --json` named each search `architecture`: `single` (the word, which its
    `settings.arch` holds) or the widths `16-4-16`; now `layout`, the widths as `train
    --json` and `Memory.layout` give them (`16` for one layer), beside `settings.arch`."""
    code, out, err = run_cli("capacity", "--arch", "single,multilayer", "--hidden", "4",
                             "--data", "random", "--neurons", "16", "--pool", "8",
                             "--threshold", "0.5", "--trials", "1", "--probes", "1", "--start",
                             "2", "--resolution", "1", "--rule-option", "max_steps=5",
                             "--rule-option", "finetune_steps=0", "--json")
    assert code == 0, err
    results = _strict(out)["results"]
    assert [(r["layout"], r["settings"]["arch"]) for r in results] == [
        ("16", "single"), ("16-4-16", "multilayer")]
    assert not [r for r in results if "architecture" in r]


def test_export_and_adapt_json_name_a_memory_s_widths_layer_sizes(run_cli, files):
    """`export --json` (the manifest) said `architecture` (the word) and `sizes` (the widths),
    `adapt --json` `memory.sizes`, where `energy --json` says `arch` and `layer_sizes` and
    `sizes` is the list of N of `scaling` and `energy --sizes`: now `arch`, `layout` and
    `layer_sizes` in the manifest, `memory.layer_sizes` in adapt's."""
    code, out, err = run_cli(*COMMANDS["export"].format(f=files).split(), "--json")
    assert code == 0, err
    manifest = _strict(out)
    assert (manifest["arch"], manifest["layout"], manifest["layer_sizes"]) == \
        ("single", "16", [16, 16])
    assert not {"architecture", "sizes"} & set(manifest)
    code, out, err = run_cli(*COMMANDS["adapt"].format(f=files).split(), "--json")
    assert code == 0, err
    memory = _strict(out)["memory"]
    assert memory["layer_sizes"] == [16, 16] and "sizes" not in memory


def test_compare_rules_settings_name_things_as_every_output():
    """`compare_rules()["settings"]` said `chips` for the number of chips (a count, where
    `chips` lists each chip's scores and every output counts them `trials`) and held the
    patterns as a record `patterns` (a count everywhere else): now `trials`, and `data`,
    `kind`, `n_patterns`, `n_neurons` as `demo --json` and every result say them."""
    import xbarmem as xm

    pats = xm.random_patterns(3, 16, seed=0)
    res = json.loads(json.dumps(xm.compare_rules(pats, "ideal", ["hebb", "pinv"], trials=2)))
    settings = res["settings"]
    assert (settings["trials"], settings["data"], settings["kind"], settings["n_patterns"],
            settings["n_neurons"]) == (2, pats.name, "binary", 3, 16)
    assert not {"chips", "patterns"} & set(settings)
    assert len(res["rules"]["pinv"]["chips"]) == 2  # (each chip's scores)
    assert _vocabulary_problems(res) == []


def test_evaluate_json_says_the_variation_a_model_was_programmed_with(run_cli, files):
    """`evaluate --json` of a model reprogrammed with programming variation (its
    `info.variation`) said `"variation": null`, as of any model: the JSON did not tell the
    file is reprogrammed. `model_variation` now holds the model's record ({variation, seed};
    null for another model), beside `variation`, the option's; the table says it too."""
    import xbarmem as xm

    reprogrammed = files / "rv.safetensors"
    from xbarmem.memory.io import load_model

    memory, stored = load_model(files / "m.safetensors")
    xm.save_memory(xm.reprogram(memory, 0.1, seed=3), reprogrammed, patterns=stored)
    record = {"variation": 0.1, "seed": 3}
    for model, option, recorded in ((files / "m.safetensors", [], None),
                                    (reprogrammed, [], record),
                                    (reprogrammed, ["--variation", "0.2"], record)):
        code, out, err = run_cli("evaluate", model, "--probes", "2", *option, "--json")
        assert code == 0, err
        data = _strict(out)
        assert data["model_variation"] == recorded
        assert data["variation"] == (0.2 if option else None)
    code, out, err = run_cli("evaluate", reprogrammed, "--probes", "2")
    assert code == 0, err
    assert "model programmed with variation 0.1 (" in out and "seed 3): recalled as saved" in out
    code, out, _ = run_cli("evaluate", reprogrammed, "--probes", "2", "--variation", "0.2")
    assert "seed 3): replaced by --variation" in out


def test_energy_model_says_the_variation_a_model_was_programmed_with(run_cli, files):
    """`energy --model` of a model reprogrammed with programming variation measured it as
    saved but neither the JSON nor the table said it was reprogrammed (`evaluate` does):
    `settings.model_variation` holds the model's record ({variation, seed}; null for another
    model) and the table says it in one line."""
    import xbarmem as xm
    from xbarmem.memory.io import load_model

    reprogrammed = files / "rv-energy.safetensors"
    memory, stored = load_model(files / "m.safetensors")
    xm.save_memory(xm.reprogram(memory, 0.1, seed=3), reprogrammed, patterns=stored)
    for model, recorded in ((files / "m.safetensors", None),
                            (reprogrammed, {"variation": 0.1, "seed": 3})):
        code, out, err = run_cli("energy", "--model", model, "--probes", "2", "--json")
        assert code == 0, err
        assert _strict(out)["settings"]["model_variation"] == recorded
        code, out, err = run_cli("energy", "--model", model, "--probes", "2")
        assert code == 0, err
        assert ("model programmed with variation 0.1 (weight noise of std 0.1 max|W|, seed 3): "
                "measured as saved" in out) == (recorded is not None)


# bad input under --json, one per command: stdout holds nothing (the docs promise one `error:`
# line and exit 2, no JSON error object), the error line is on stderr
REFUSED = {
    "train": "train --data random --neurons 16 -p 3 --rule nosuch",
    "evaluate": "evaluate {f}/missing.safetensors",
    "recall": "recall {f}/m.safetensors {f}/missing.npy",
    "chip show": "chip show nosuch",
    "chip inspect": "chip inspect {f}/missing.npz",
    "export": "export {f}/missing.safetensors -o {f}/exp2",
    "adapt": "adapt {f}/m.safetensors --rounds 1",  # (a weight-model chip: refused)
    "capacity": "capacity --neurons 16 --trials 0",
    "scaling": "scaling --sizes 16,x",
    "energy": "energy --probes 0",
    "circuit show": "circuit show nosuch",
    "sweep": "sweep {f}/missing.toml --store {f}/x.sqlite",
    "results": "results {f}/s.sqlite -w nosuch~~1",
    "plot": "plot {f}/s.sqlite --kind nosuch",
}


@pytest.mark.parametrize("command", REFUSED)
def test_a_refusal_under_json_prints_nothing_on_stdout(run_cli, files, command):
    code, out, err = run_cli(*REFUSED[command].format(f=files).split(), "--json")
    assert code == 2 and out == "", (code, out, err)
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err


def test_adapt_log_lines_are_strict_json_with_null_for_a_non_finite_value(tmp_path):
    """adapt --log wrote each round with ``json.dumps``: a NaN (a cosine a chip's backend
    could not score) as the bare token NaN, which jq and JavaScript refuse; now null, as in
    --json and every other file (:mod:`xbarmem.jsontext`)."""
    from xbarmem.cli.deploy import _RoundLog

    log = tmp_path / "rounds.jsonl"
    entry = {"round": 0, "written": 3, "write_error_rms_uS": math.inf, "cosine": math.nan,
             "exact": 0.5}
    with _RoundLog(log, 1, 0.99, lines=False) as report:
        report(entry)
    (line,) = log.read_text().splitlines()
    assert _strict(line) == {**entry, "write_error_rms_uS": None, "cosine": None}


def test_json_files_written_by_commands_are_strict(run_cli, files):
    """The files the commands above wrote (scaling and energy tables, export manifest,
    adapt log) are strict JSON; a fit that one size cannot give is null."""
    for name, (code, _, err) in {
            "scaling": run_cli(*COMMANDS["scaling"].format(f=files).split()),
            "energy": run_cli(*COMMANDS["energy --sizes"].format(f=files).split()),
            "export": run_cli(*COMMANDS["export"].format(f=files).split()),
            "adapt": run_cli(*COMMANDS["adapt"].format(f=files).split())}.items():
        assert code == 0, (name, err)
    (scaling,) = (files / "sc").glob("*.json")
    assert _strict(scaling.read_text())["fits"] == {"0.99": None}
    for path in [*(files / "en").glob("*.json"), files / "exp" / "manifest.json"]:
        _strict(path.read_text())
    for line in (files / "r.jsonl").read_text().splitlines():
        _strict(line)


def test_results_csv_reads_back_row_for_row_with_exact_floats(run_cli, files):
    """results --csv: a header; floats as repr (they read back equal to --json's); a value a
    row lacks empty; a text with a comma, a quote and a newline (a chip file's description)
    stays in its field, one record per row (quoted as RFC 4180 says, as pandas and the
    csv module read it)."""
    from xbarmem.hardware.chip import load_chip

    text = 'my chip, "quoted"\nsecond line'
    chip = load_chip("paper-sim")
    (files / "c.toml").write_text(chip.to_toml().replace(
        f'description = "{chip.description}"', f"description = {json.dumps(text)}"))
    sweep = files / "c.sweep.toml"
    sweep.write_text(SWEEP.replace('data = "random"', f'data = "random"\nchip = "{files}/c.toml"'))
    code, _, err = run_cli("sweep", sweep, "--store", files / "c.sqlite")
    assert code == 0, err
    code, out, err = run_cli("results", files / "c.sqlite", "--json")
    assert code == 0, err
    stored = _strict(out)
    code, table, err = run_cli("results", files / "c.sqlite", "--csv", "-")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(table)))
    assert [row["key"] for row in rows] == [row["key"] for row in stored]
    for row, json_row in zip(rows, stored, strict=True):
        assert row["config.chip_spec.description"] == text
        assert float(row["result.exact"]) == json_row["result"]["exact"]
        assert float(row["seconds"]) == json_row["seconds"]
        assert row["config.hidden"] == "" and json_row["config"]["hidden"] is None


def test_commands_write_json_only_through_jsontext():
    """Every JSON a command prints or writes goes through :mod:`xbarmem.jsontext` (strict: NaN
    and infinities as null, a file name's undecodable bytes as ``\\xNN``): adapt --log used
    ``json.dumps``, which writes the bare NaN/Infinity tokens. The one ``json.dumps`` left
    shows a bool of a refused option in an ``error:`` line (``true``), no output."""
    import ast

    import xbarmem.cli

    found = []
    for path in sorted(Path(xbarmem.cli.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and node.attr in ("dump", "dumps")
                    and isinstance(node.value, ast.Name) and node.value.id == "json"):
                found.append(f"{path.name}:{node.lineno}")
    assert [where.split(":")[0] for where in found] == ["given.py"], found


def test_a_bar_drawing_command_piped_writes_only_json_on_stdout(tmp_path):
    """capacity draws a progress bar and scaling lines on stderr; with stdout a pipe (``|
    jq``) and stderr a pipe too, stdout is the one JSON document and nothing else."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "xbarmem", *COMMANDS["capacity"].split(),
                           "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _strict(done.stdout)["results"][0]["capacity"] and "P=" in done.stderr


def test_a_csv_fault_map_reads_back_exactly_after_its_comment_line(run_cli, tmp_path):
    """chip faults -o map.csv, as the guide describes it: a `#` line holding the map's meta as
    JSON, the header, one row per stuck device with the conductance as it reads back exactly
    (the same map saved as .npz holds the same values)."""
    maps = {suffix: tmp_path / f"map{suffix}" for suffix in (".csv", ".npz")}
    for path in maps.values():
        code, _, err = run_cli("chip", "faults", "--chip", "rram", "--arrays", "1", "-o", path)
        assert code == 0, err
    first, *lines = maps[".csv"].read_text().splitlines()
    assert first.startswith("# xbarmem fault map: arrays=1 rows=64 cols=64 meta=")
    assert _strict(first.split(" meta=", 1)[1])["chip"] == "rram"
    rows = list(csv.DictReader(lines))
    assert list(rows[0]) == ["array", "plane", "row", "col", "g_stuck_S"]
    g_stuck = np.load(maps[".npz"])["g_stuck"]
    planes = {"G+": 0, "G-": 1}
    assert rows and all(float(r["g_stuck_S"]) == g_stuck[int(r["array"]), planes[r["plane"]],
                                                         int(r["row"]), int(r["col"])]
                        for r in rows)


@pytest.mark.skipif(sys.platform != "linux", reason="a file name that is no UTF-8 text")
def test_scaling_of_a_file_named_with_a_byte_that_is_no_text_writes_its_figure(run_cli,
                                                                               tmp_path):
    """`scaling --data $'q\\xff.npy'` ended in a matplotlib traceback (exit 1: no font draws
    the lone surrogate Python holds the byte as, in the figure's title); its JSON file held the
    escape "\\udcff" where --json writes "\\\\xff", so the next run warned that the file held
    another data set's results."""
    import os

    name = os.fsdecode(b"q\xff.npy")
    images = np.random.default_rng(0).integers(0, 256, (40, 8, 8)).astype(np.uint8)
    np.save(tmp_path / name, images)
    args = ("scaling", "--data", tmp_path / name, "--sizes", "16,25", "--trials", "1",
            "--arch", "single", "--rule", "pinv", "--out", tmp_path / "sc")
    code, _, err = run_cli(*args)
    assert code == 0, err
    written = sorted((tmp_path / "sc").iterdir())
    assert [p.suffix for p in written] == [".json", ".png"]
    text = written[0].read_bytes()
    assert b"udcff" not in text and b"q\\\\xff.npy" in text
    code, _, err = run_cli(*args)
    assert code == 0 and "holds the results" not in err, err
