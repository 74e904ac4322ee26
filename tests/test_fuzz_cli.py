"""Hostile command lines: every numeric option of every command, outputs and request sizes.

* Every option whose value is a number is declared with its bounds; the fuzz test draws bad
  values (negative, zero, huge, non-numeric, NaN, infinite) for each one of each command and
  checks the house rule: exit 2, one ``error:`` line naming the option, no traceback, and no
  file created or changed in the working folder.
* Outputs are checked before any work: a missing folder, a folder given as a file or a file
  given as a folder are refused with nothing written.
* Requests too large for memory (class 4 of the reliability issue) are refused in well under a
  second naming the estimated size, with a small memory peak.

Hypothesis settings are small (a few examples per option) so the file runs in seconds.
"""

from __future__ import annotations

import hashlib
import re
import resource
import textwrap
import tracemalloc
from pathlib import Path

import pytest
import typer
from conftest import TorchCalls
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xbarmem.cli import apps
from xbarmem.energy.circuit import load_circuit

#: examples drawn per (command, option)
EXAMPLES = 6
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def _commands():
    group = typer.main.get_command(apps.app)
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            for sub, leaf in command.commands.items():
                yield (name, sub), leaf
        else:
            yield (name,), command


def _bounds(param):
    """``(kind, ge, gt, le, lt)`` of a bounded option: its type (``int`` or ``float``, from its
    ``Annotated`` alias) and its bounds (:func:`xbarmem.cli.option_types.bounded`)."""
    bounds = getattr(param.callback, "bounds", None)
    return None if bounds is None else (param.type_descriptor.annotation, *bounds)


def _numeric_options():
    """(command path, flag, (kind, ge, gt, le, lt)) of every bounded numeric option."""
    for path, command in _commands():
        for param in command.params:
            if param.param_type_name == "option" and _bounds(param) is not None:
                yield path, param.opts[0], _bounds(param)


NUMERIC = list(_numeric_options())
NON_NUMERIC = st.sampled_from(["abc", "", " ", "1,5", "0x10", "--", "1e", "one", "\u00e9", "[]"])
NOT_FINITE = st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity"])


def bad_values(kind: type, ge, gt, le, lt=None) -> st.SearchStrategy[str]:
    """Text values outside an option's bounds (or not numbers at all)."""
    options = [NON_NUMERIC]
    if kind is int:
        options.append(st.sampled_from(["1.5", "nan", "1e3"]))
        low = ge if ge is not None else (gt + 1 if gt is not None else None)
        if low is not None:
            options.append(st.integers(max_value=int(low) - 1, min_value=-10**30).map(str))
        if le is not None:
            options.append(st.integers(min_value=int(le) + 1, max_value=10**40).map(str))
    else:
        options.append(NOT_FINITE)
        finite = {"allow_nan": False, "allow_infinity": False}
        if ge is not None:
            options.append(st.floats(min_value=-1e300, max_value=ge, **finite).filter(
                lambda v: v < ge).map(repr))
        if gt is not None:
            options.append(st.floats(min_value=-1e300, max_value=gt, **finite).map(repr))
        if le is not None:
            options.append(st.floats(min_value=le, max_value=1e300, **finite).filter(
                lambda v: v > le).map(repr))
        if lt is not None:
            options.append(st.floats(min_value=lt, max_value=1e300, **finite).map(repr))
    return st.one_of(*options)


#: positional arguments and required options that make each command otherwise complete
FILLERS = {("train",): ["-o", "m.safetensors"], ("evaluate",): ["m.safetensors"],
           ("recall",): ["m.safetensors", "cues.npy"], ("export",): ["m.safetensors", "-o", "x"],
           ("adapt",): ["m.safetensors"], ("chip", "faults"): ["-o", "f.npz"],
           ("chip", "import"): ["codes.npy", "-o", "f.npz"], ("chip", "inspect"): ["f.npz"],
           ("sweep",): ["s.toml"], ("results",): ["s.sqlite"],
           ("plot",): ["s.sqlite", "--kind", "faults"]}


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path -> SHA-256), folders included by name."""
    return {str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest()
                                         if p.is_file() else "dir")
            for p in sorted(folder.rglob("*"))}


def assert_refused(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


#: command lines tried by the fuzz tests of this run (reported with ``-s``)
CASES = {"count": 0}


@pytest.mark.parametrize("path, flag, bounds", NUMERIC,
                         ids=[f"{' '.join(p)} {f}" for p, f, _ in NUMERIC])
def test_bad_numeric_option_refused_before_anything(run_cli, tmp_path, monkeypatch, path, flag,
                                                    bounds):
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)

    @FUZZ
    @given(value=bad_values(*bounds))
    def check(value: str) -> None:
        CASES["count"] += 1
        code, _, err = run_cli(*path, f"{flag}={value}", *FILLERS.get(path, []))
        assert_refused(code, err, flag, "must be ", ", got ")
        assert snapshot(tmp_path) == before

    check()


@pytest.mark.parametrize("value, said", [
    ("0x10", "must be an integer >= 0 and <= 4294967295, got '0x10'"),
    ("1.5", "must be an integer >= 0 and <= 4294967295, got '1.5'"),
    ("", "must be an integer >= 0 and <= 4294967295, got ''")])
def test_a_number_option_that_is_no_number_names_its_value_and_bounds(run_cli, value, said):
    """`--seed 0x10` said "Input should be a valid integer, unable to parse string as an
    integer" (typer's words: neither the value nor the bounds), where `--seed -1` says
    "must be an integer >= 0 and <= 4294967295, got -1"; now both are worded alike."""
    code, _, err = run_cli("capacity", "--seed", value)
    assert_refused(code, err, f"Invalid value for '--seed': {said} (see xbarmem capacity")
    code, _, err = run_cli("train", "--faults", "abc", "-o", "m.safetensors")
    assert_refused(code, err, "'--faults': must be a finite number >= 0 and <= 1, got 'abc'")


def test_every_numeric_option_has_bounds():
    """No int/float option escapes the vocabulary's bounds (the fuzz test would skip it)."""
    for path, command in _commands():
        for param in command.params:
            numeric = param.type_descriptor.annotation in (int, float)
            if param.param_type_name == "option" and numeric:
                assert _bounds(param) is not None, (path, param.opts)
    assert len(NUMERIC) >= 40  # sanity: the walk found the options


# string options parsed by the commands themselves: only ever-invalid values
TEXT_OPTIONS = [
    (("train",), "--neurons"), (("capacity",), "--neurons"), (("energy",), "--neurons"),
    (("train",), "--patterns"), (("energy",), "--patterns"),
    (("capacity",), "--threshold"), (("scaling",), "--threshold"), (("scaling",), "--sizes"),
    (("energy",), "--sizes"), (("train",), "--hidden"), (("capacity",), "--hidden"),
    (("scaling",), "--hidden"), (("energy",), "--hidden")]
NOT_POSITIVE = st.integers(max_value=0, min_value=-10**20).map(str)
BAD_TEXT = st.one_of(st.sampled_from(["abc", " ", "0x10", "1e", "one", "\u00e9", "[]", "--x",
                                      ",", "nan,2", "2,-1"]), NOT_FINITE, NOT_POSITIVE)
#: a non-integer --patterns is the deprecated --patterns SOURCE spelling: numbers only
BAD_COUNT = st.one_of(NOT_POSITIVE, st.integers(min_value=10**12, max_value=10**30).map(str))
BAD_NEURONS = st.one_of(BAD_TEXT, st.integers(min_value=10**7, max_value=10**30).map(str))
EXTRA = {"train": ["--data", "random", "--patterns", "2"], "capacity": ["--data", "random"],
         "energy": ["--data", "random", "--patterns", "2"], "scaling": []}


@pytest.mark.parametrize("path, flag", TEXT_OPTIONS,
                         ids=[f"{' '.join(p)} {f}" for p, f in TEXT_OPTIONS])
def test_bad_text_option_refused_before_anything(run_cli, tmp_path, monkeypatch, path, flag):
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    extra = EXTRA[path[0]]
    if flag == "--patterns":
        extra = extra[:2]
    values = {"--patterns": BAD_COUNT, "--neurons": BAD_NEURONS}.get(flag, BAD_TEXT)

    @FUZZ
    @given(value=values)
    def check(value: str) -> None:
        CASES["count"] += 1
        code, _, err = run_cli(*path, f"{flag}={value}", *FILLERS.get(path, []), *extra)
        assert_refused(code, err)
        assert snapshot(tmp_path) == before

    check()


ODD_URLS = st.one_of(st.sampled_from([
    "not a url", "", "tcp://", "://host:1", "tcp://host:port", "http://", "tcp:// host:1",
    "tcp://host:1/extra/path", "tcp://host:123456", "file:///etc/passwd", "tcp://a b"]),
    st.text(alphabet=" /:?#@!$%^&*()", min_size=1, max_size=12))


@pytest.mark.parametrize("command", ["sweep", "reproduce"])
def test_scheduler_must_be_an_address(run_cli, tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)

    @FUZZ
    @given(url=ODD_URLS)
    def check(url: str) -> None:
        CASES["count"] += 1
        code, _, err = run_cli(command, f"--scheduler={url}", *FILLERS.get((command,), []))
        assert_refused(code, err, "--scheduler")
        assert snapshot(tmp_path) == before

    check()


# --------------------------------------------------------------------------- outputs first
@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    """A tiny Hebbian model (N = 16, 3 random patterns)."""
    import numpy as np

    from xbarmem import save_memory, train
    from xbarmem.data.patterns import PatternSet

    x = np.where(np.random.default_rng(3).random((3, 16)) > 0.5, 1.0, -1.0).astype(np.float32)
    path = tmp_path_factory.mktemp("model") / "m.safetensors"
    return save_memory(train(x, chip="ideal", rule="hebb"), path,
                       patterns=PatternSet(x, kind="binary"))


def _output_commands(model: Path, out: str) -> list[list[str]]:
    train = ["train", "--data", "random", "--patterns", "2", "--neurons", "16", "--rule",
             "hebb", "--chip", "ideal"]
    return [[*train, "-o", out], ["recall", str(model), str(model), "-o", out],
            ["adapt", str(model), "--rounds", "0", "--probes", "1", "-o", out],
            ["adapt", str(model), "--rounds", "0", "--probes", "1", "--log", out],
            ["chip", "faults", "-o", out], ["export", str(model), "-o", out],
            ["demo", "--trials", "1", "--probes", "1", "-o", out],
            ["scaling", "--sizes", "16", "-o", out], ["plot", "s.sqlite", "--kind", "faults",
                                                       "-o", out],
            ["results", "s.sqlite", "--csv", out], ["reproduce", "-o", out],
            ["energy", "--neurons", "16", "--calibrate", "-o", out],
            ["sweep", "s.toml", "--store", out]]


def _output_inputs(folder: Path) -> None:
    """The files the commands of :func:`_output_commands` read, and a file and a folder."""
    (folder / "a-folder").mkdir()
    (folder / "a-file").write_text("keep me")
    (folder / "s.sqlite").write_bytes(b"")
    (folder / "s.toml").write_text('[sweep]\nname = "s"\n[base]\ndata = "random"\n'
                                   'n_neurons = 16\npatterns = 2\nselection = "first"\n'
                                   'rule = "hebb"\n')


@pytest.mark.parametrize("where", ["missing/x.out", "a-file/x.out", "a-folder", "a-file"])
def test_outputs_checked_before_any_work(run_cli, tmp_path, monkeypatch, model, where):
    """A file output onto a folder, a folder output onto a file, or an output in a missing
    folder is refused before anything runs; nothing in the folder changes."""
    monkeypatch.chdir(tmp_path)
    _output_inputs(tmp_path)
    before = snapshot(tmp_path)
    folder_outputs = {"export", "demo", "scaling", "reproduce", "energy"}
    for args in _output_commands(model, where):
        is_folder = args[0] in folder_outputs
        if (where == "a-folder" and is_folder) or (where == "a-file" and not is_folder):
            continue  # allowed: an existing folder / file is written into / overwritten
        if where == "a-folder" and args[0] == "recall":
            continue  # recall writes a-folder.npy (np.save's suffix), a new file
        code, _, err = run_cli(*args)
        assert_refused(code, err, where)
        assert snapshot(tmp_path) == before, args


def test_a_file_output_ending_in_a_slash_is_refused(run_cli, tmp_path, monkeypatch, model):
    """``-o out/s.npy/`` names a folder: every file output so named is refused (pathlib dropped
    the slash and the file ``out/s.npy`` was written); nothing in the folder changes."""
    monkeypatch.chdir(tmp_path)
    _output_inputs(tmp_path)
    before = snapshot(tmp_path)
    folder_outputs = {"export", "demo", "scaling", "reproduce", "energy"}
    for args in _output_commands(model, "a-folder/new.out/"):
        if args[0] in folder_outputs:
            continue  # a folder output may end in a slash
        code, _, err = run_cli(*args)
        assert_refused(code, err, "'a-folder/new.out/' ends in '/'", "give a file name")
        assert snapshot(tmp_path) == before, args


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("where", ["/proc/xbarmem-x.out", "/proc"])
def test_outputs_in_a_folder_that_takes_no_files_are_refused(run_cli, tmp_path, monkeypatch,
                                                             model, where):
    """/proc takes no new files although its permission bits (and os.access, for root) say it
    does: every output there is refused before any work, naming the folder; nothing changes."""
    monkeypatch.chdir(tmp_path)
    _output_inputs(tmp_path)
    before = snapshot(tmp_path)
    for args in _output_commands(model, where):
        code, _, err = run_cli(*args)
        assert_refused(code, err, "/proc")
        assert "not writable" in err or "is a folder" in err, err
        assert snapshot(tmp_path) == before, args


@pytest.mark.parametrize("where", ["", " "])
def test_empty_output_paths_are_refused(run_cli, tmp_path, monkeypatch, model, where):
    """An empty output path (``-o "$DIR"`` with DIR unset) is not the current folder: it is
    refused naming the option, and nothing is written there."""
    monkeypatch.chdir(tmp_path)
    _output_inputs(tmp_path)
    before = snapshot(tmp_path)
    for args in _output_commands(model, where):
        code, _, err = run_cli(*args)
        assert_refused(code, err, f"'{args[-2]}'", "is empty")
        assert snapshot(tmp_path) == before, args


#: an output naming the same file as another output or an input of the command (run in a folder
#: holding m.safetensors, its hard links hard.safetensors and m.log, cues.npy, p.npy, f.npz
#: and its hard link f-link.toml, g.csv, g.npy, g.npz, s.toml, the stores s.csv and s.png,
#: and p.safetensors, f.safetensors: inputs named like the output, whose name must end in
#: .safetensors)
SAME_FILE = [
    ["adapt", "m.safetensors", "--rounds", "0", "--probes", "1", "--log", "m.log"],
    ["adapt", "m.safetensors", "--rounds", "0", "--probes", "1", "-o", "./m.safetensors"],
    ["adapt", "hard.safetensors", "--rounds", "0", "--probes", "1", "--log", "m.log"],
    ["recall", "m.safetensors", "cues.npy", "-o", "cues.npy"],
    ["train", "--data", "p.safetensors", "--rule", "hebb", "-o", "p.safetensors"],
    ["train", "--data", "random", "--patterns", "2", "--neurons", "16", "--rule", "hebb",
     "--fault-map", "f.safetensors", "-o", "f.safetensors"],
    ["chip", "import", "g.csv", "-o", "f.npz", "--chip-out", "f-link.toml"],
    ["chip", "import", "g.npz", "-o", "g.npz"],
    ["sweep", "s.toml", "--store", "s.toml"],
    ["results", "s.csv", "--csv", "s.csv"],
    ["plot", "s.png", "--kind", "faults", "-o", "s.png"],
    # the calibrated circuit that --calibrate writes into --out, onto the input circuit
    ["energy", "--neurons", "16", "--patterns", "2", "--rule", "pinv", "--calibrate",
     "--circuit", "out/circuit-calibrated.toml", "-o", "out"],
]


@pytest.mark.parametrize("args", SAME_FILE, ids=" ".join)
def test_an_output_onto_another_path_of_the_command_is_refused(run_cli, tmp_path, monkeypatch,
                                                               model, args):
    """adapt --log x -o x let one output overwrite the other, and adapt --log MODEL overwrote
    the model with the log: an output that is the same file (resolved, or the same inode) as
    another output or an input is refused before any work; nothing changes."""
    import os
    import shutil

    import numpy as np

    monkeypatch.chdir(tmp_path)
    shutil.copy(model, "m.safetensors")
    os.link("m.safetensors", "hard.safetensors")
    os.link("m.safetensors", "m.log")  # named as a --log may be
    x = np.where(np.random.default_rng(0).random((2, 16)) > 0.5, 1.0, -1.0)
    np.save("cues.npy", x)
    np.save("p.npy", x)
    np.save("g.npy", np.zeros((2, 64, 64)))
    np.savez("g.npz", codes=np.zeros((2, 64, 64)))
    for name in ("f.npz", "g.csv", "s.toml", "s.csv", "s.png", "p.safetensors",
                 "f.safetensors"):
        Path(name).write_text("keep me")
    os.link("f.npz", "f-link.toml")  # outputs of different suffixes, one file
    Path("out").mkdir()
    Path("out/circuit-calibrated.toml").write_text(load_circuit("generic-rram").to_toml())
    before = snapshot(tmp_path)
    code, _, err = run_cli(*args)
    assert_refused(code, err, "is the same file as")
    assert snapshot(tmp_path) == before


#: every input path, preset or source name of every command ({} = the empty value), and its name
EMPTY_INPUTS = [
    (["evaluate", "{}"], "MODEL"), (["recall", "{}", "cues.npy"], "MODEL"),
    (["recall", "m.safetensors", "{}"], "CUES"), (["export", "{}", "-o", "e"], "MODEL"),
    (["adapt", "{}"], "MODEL"), (["chip", "inspect", "{}"], "MAP"),
    (["chip", "import", "{}", "-o", "f.npz"], "FILE"), (["chip", "show", "{}"], "CHIP"),
    (["chip", "faults", "--chip", "{}", "-o", "f.npz"], "--chip"),
    (["sweep", "{}"], "FILE"), (["results", "{}"], "STORE"),
    (["plot", "{}", "--kind", "faults"], "STORE"),
    (["train", "--data", "{}", "--patterns", "2", "-o", "m2.safetensors"], "--data"),
    (["train", "--data", "random", "--patterns", "2", "--neurons", "16", "--rule", "hebb",
      "--chip", "{}", "-o", "m2.safetensors"], "--chip"),
    (["train", "--data", "random", "--patterns", "2", "--neurons", "16", "--rule", "hebb",
      "--fault-map", "{}", "-o", "m2.safetensors"], "--fault-map"),
    (["capacity", "--data", "{}", "--trials", "1"], "--data"),
    (["scaling", "--data", "{}", "--sizes", "16", "--arch", "single", "--rule", "hebb",
      "--trials", "1", "--pool", "20", "-o", "sc"], "--data"),
    (["energy", "--circuit", "{}", "--neurons", "16"], "--circuit"),
    (["energy", "--data", "{}", "--neurons", "16", "--rule", "hebb"], "--data"),
    (["demo", "--data", "{}", "--trials", "1", "--probes", "1", "-o", "d"], "--data"),
]


@pytest.mark.parametrize("where", ["", " "])
@pytest.mark.parametrize("args, name", EMPTY_INPUTS, ids=[" ".join(a) for a, _ in EMPTY_INPUTS])
def test_empty_input_paths_are_refused(run_cli, tmp_path, monkeypatch, model, args, name,
                                       where):
    """An empty input (``"$MODEL"`` with MODEL unset) was read as the current folder ('model
    file . is a directory') or named nothing ('... got '); it is refused naming its option or
    argument, before anything is read or written."""
    import shutil

    monkeypatch.chdir(tmp_path)
    shutil.copy(model, "m.safetensors")
    before = snapshot(tmp_path)
    code, _, err = run_cli(*[where if a == "{}" else a for a in args])
    assert_refused(code, err, f"'{name}'", "is empty")
    assert snapshot(tmp_path) == before


def test_existing_output_file_is_overwritten(run_cli, tmp_path, model):
    import numpy as np

    from xbarmem.memory.io import load_stored_patterns

    np.save(tmp_path / "cues.npy", load_stored_patterns(model).patterns)
    out = tmp_path / "states.npy"
    out.write_bytes(b"old")
    code, _, err = run_cli("recall", model, tmp_path / "cues.npy", "-o", out)
    assert code == 0, err
    assert out.read_bytes()[:6] == b"\x93NUMPY"


# ------------------------------------------------------------------------- named choices
def _choice_options():
    """(command path, flag) of every named-choice option (its parser is
    :func:`xbarmem.cli.option_types.names`: a name outside its choices is left to the command's
    own check)."""
    for path, command in _commands():
        for param in command.params:
            parser = getattr(param.type_descriptor.parameter_info, "parser", None)
            if "names.<locals>" in getattr(parser, "__qualname__", ""):
                yield path, param.opts[0]


CHOICES = list(_choice_options())
#: what makes each command otherwise complete and small, so that the option is the one at fault
#: (a choice option that applies only alongside another: that one given)
CHOICE_CONTEXT = {
    ("train",): ["--data", "random", "--patterns", "2", "--neurons", "16", "--rule", "hebb",
                 "--chip", "ideal", "-o", "m2.safetensors"],
    ("capacity",): ["--data", "random", "--neurons", "16", "--rule", "hebb", "--trials", "1"],
    ("scaling",): ["--sizes", "16", "--arch", "single", "--rule", "hebb", "-o", "sc"],
    ("energy",): ["--neurons", "16", "--data", "random", "--rule", "hebb"],
    ("evaluate",): ["m.safetensors"], ("recall",): ["m.safetensors", "cues.npy"],
    ("export",): ["m.safetensors", "-o", "x"], ("adapt",): ["m.safetensors", "--rounds", "0"],
    ("chip", "faults"): ["-o", "f.npz", "--neurons", "16"],
    ("chip", "import"): ["m.safetensors", "-o", "f.npz"],
    ("plot",): ["s.sqlite"], ("reproduce",): ["--quick", "--jobs", "1"]}


@pytest.mark.parametrize("value", ["zzz", "", " ", "single,zzz", "\u00e9"])
@pytest.mark.parametrize("path, flag", CHOICES, ids=[f"{' '.join(p)} {f}" for p, f in CHOICES])
def test_a_name_outside_a_choice_option_is_refused(run_cli, tmp_path, monkeypatch, model, path,
                                                   flag, value):
    """Every named-choice option of every command refuses a name outside its choices (or a
    blank one) in one line naming it, before anything is written: `chip faults --neurons 16
    --arch zzz` wrote a single-layer map (its `--arch` was read by no check)."""
    monkeypatch.chdir(tmp_path)
    import numpy as np

    (tmp_path / "m.safetensors").write_bytes(model.read_bytes())
    (tmp_path / "s.sqlite").write_bytes(b"")
    np.save(tmp_path / "cues.npy", np.ones((2, 16), dtype=np.float32))
    before = snapshot(tmp_path)
    context = CHOICE_CONTEXT[path]
    if flag in context:  # (an option is given once)
        at = context.index(flag)
        context = context[:at] + context[at + 2:]
    code, _, err = run_cli(*path, *context, f"{flag}={value}")
    assert_refused(code, err)
    if value.strip():
        assert repr(value.split(",")[-1]).strip("'") in err, err
    assert snapshot(tmp_path) == before


def test_every_command_with_a_choice_option_is_fuzzed():
    """The walk finds the named-choice options, and each command has its context above."""
    assert len(CHOICES) >= 30
    assert {path for path, _ in CHOICES} <= set(CHOICE_CONTEXT)


LONG = "x" * 5000
LONG_VALUES = [["train", "-o", "m.safetensors", "--data", LONG],
               ["train", "-o", "m.safetensors", "--data", "random", "--neurons", LONG],
               ["capacity", "--data", "random", "--threshold", LONG],
               ["capacity", "--data", "random", "--rule", LONG],
               ["capacity", "--data", "random", "--arch", LONG],
               ["scaling", "--sizes", LONG], ["demo", "--corruption", LONG],
               ["chip", "show", LONG], ["chip", "faults", "-o", "f.npz", "--neurons", LONG],
               ["results", "s.sqlite", "--where", LONG], ["plot", "s.sqlite", "--kind", LONG]]


@pytest.mark.parametrize("args", LONG_VALUES, ids=[a[0] + " " + a[-2] for a in LONG_VALUES])
def test_a_very_long_value_is_cut_in_its_refusal(run_cli, tmp_path, monkeypatch, args):
    """A value of 5000 characters was echoed whole in its one-line refusal (`--neurons xxx...`:
    a 5000-character error line) by every check that quotes what it refuses with ``{!r}``;
    every error line now cuts a word of more than 300 characters to its first 60 and its
    length, as :func:`xbarmem.checks.shown` does."""
    monkeypatch.chdir(tmp_path)
    from xbarmem.experiments.store import ResultStore

    ResultStore(tmp_path / "s.sqlite").close()
    before = snapshot(tmp_path)
    code, _, err = run_cli(*args)
    assert_refused(code, err, "... (5000 characters)")
    assert len(err) < 600, err
    assert snapshot(tmp_path) == before


# --------------------------------------------------------------------------- sizes first
HUGE_SWEEP = textwrap.dedent("""\
    [sweep]
    name = "huge"
    seeds = 100000000
    [base]
    data = "random"
    n_neurons = 16
    patterns = 2
    selection = "first"
    rule = "hebb"
    """)


def _huge_requests(model: Path) -> list[list[str]]:
    return [
        ["train", "-o", "m.safetensors", "--data", "random", "--patterns", "3", "--neurons",
         str(10**9)],
        ["energy", "--neurons", str(10**6)],
        ["energy", "--sizes", f"64,{10**6}"],
        ["capacity", "--data", "random", "--neurons", str(10**9)],
        ["capacity", "--data", "random", "--neurons", "64", "--probes", str(10**8)],
        ["capacity", "--data", "random", "--neurons", "64", "--trials", str(10**8)],
        ["capacity", "--data", "random", "--neurons", "64", "--pool", str(10**9)],
        ["scaling", "--sizes", "64,144", "--probes", str(10**9)],  # (N itself: <= 784)
        ["chip", "faults", "-o", "f.npz", "--arrays", str(10**9)],
        ["evaluate", str(model), "--probes", str(10**9)],
        ["adapt", str(model), "--probes", str(10**9)],
        ["demo", "--trials", str(10**8)],
        ["sweep", "huge.toml", "--store", "s.sqlite"],
    ]


@pytest.mark.parametrize("index", range(13))
def test_huge_requests_refused_before_any_work_naming_the_estimate(run_cli, tmp_path, monkeypatch,
                                                                   model, index):
    """Refused from the estimate alone: no torch function runs (no tensor is made, no product,
    no draw), nothing large is allocated, nothing is written. (Not a wall-clock bound: a shared
    machine's load would decide it.)"""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "huge.toml").write_text(HUGE_SWEEP)
    before = snapshot(tmp_path)
    args = _huge_requests(model)[index]
    command = args[:2] if args[0] == "chip" else args[:1]
    run_cli(*command, "--no-such-option")  # typer's first-parse imports: not this request's
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    tracemalloc.start()
    try:
        with TorchCalls() as torch_calls:
            code, _, err = run_cli(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_refused(code, err, "need about")
    assert re.search(r"about [0-9.e+]+ (KiB|MiB|GiB|TiB|PiB)", err), err
    assert torch_calls.called == [], (args, torch_calls.called[:10])
    assert peak < 500 * 2**20, (args, peak)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss < 500 * 1024
    assert snapshot(tmp_path) == before


#: what each of :func:`_huge_requests` must name to lower (its options; the sweep's keys)
_TO_LOWER = ["--patterns or --neurons", "--probes or --neurons", "--probes, --load or --sizes",
             "--neurons", "--probes", "--trials", "--pool", "--probes", "--arrays", "--probes",
             "--probes", "--trials", "seeds"]


@pytest.mark.parametrize("index", range(13))
def test_huge_requests_name_what_to_lower_in_the_commands_words(run_cli, tmp_path,
                                                               monkeypatch, model, index):
    """A refusal for size names the command's own options to lower (`lower --trials ...`, a
    sweep its file's keys), each an option of that command, not only the quantities (`N = 64,
    100000 networks`); the Python API keeps its parameters' words (below)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "huge.toml").write_text(HUGE_SWEEP)
    args = _huge_requests(model)[index]
    code, _, err = run_cli(*args)
    assert_refused(code, err, "need about")
    named = re.search(r"\(lower (.+), or set XBARMEM_MAX_BYTES to change the limit\)$",
                      err.strip())
    assert named, err
    for word in re.split(r", | or ", _TO_LOWER[index]):
        assert word in re.split(r", | or ", named.group(1)), (word, err)
    command = args[:2] if args[0] == "chip" else args[:1]
    _, help_text, _ = run_cli(*command, "--help")
    for flag in re.findall(r"--[a-z-]+", named.group(1)):
        assert flag in help_text, (flag, err)


def test_the_api_refusal_for_size_names_no_command_line_option():
    """The same limit, met through the library, names its quantities, never a flag."""
    from xbarmem.errors import ConfigError
    from xbarmem.hardware.chip import load_chip
    from xbarmem.hardware.faults import FaultMap

    with pytest.raises(ConfigError, match="set XBARMEM_MAX_BYTES to change it") as refused:
        FaultMap.generate(load_chip("ideal"), 10**9)
    assert "--" not in str(refused.value)


def test_the_torch_call_counter_sees_training(run_cli, tmp_path, monkeypatch):
    """The counter above is not blind: a small training run calls torch functions."""
    monkeypatch.chdir(tmp_path)
    with TorchCalls() as torch_calls:
        code, _, err = run_cli("train", "-o", "m.safetensors", "--data", "random", "--patterns",
                               "3", "--neurons", "16", "--rule", "hebb")
    assert code == 0, err
    assert len(torch_calls.called) > 10


def test_the_limit_is_configurable(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XBARMEM_MAX_BYTES", "1M")
    code, _, err = run_cli("chip", "faults", "-o", "f.npz", "--arrays", "100")
    assert_refused(code, err, "100 arrays", "limit of 1 MiB")
    monkeypatch.setenv("XBARMEM_MAX_BYTES", "lots")
    code, _, err = run_cli("chip", "faults", "-o", "f.npz")
    assert_refused(code, err, "XBARMEM_MAX_BYTES")
    monkeypatch.delenv("XBARMEM_MAX_BYTES")
    code, _, err = run_cli("chip", "faults", "-o", "f.npz", "--arrays", "100")
    assert code == 0, err


@pytest.mark.parametrize("args", [
    ["train", "--data", "random", "--patterns", "3", "--neurons", "1000000000", "-o",
     "m.safetensors"],
    ["energy", "--neurons", "1000000"],
    ["chip", "faults", "--chip", "rram", "--arrays", "1000000000", "-o", "f.npz"],
    ["capacity", "--data", "random", "--neurons", "64", "--probes", "100000000"],
    ["scaling", "--sizes", "64,144", "--probes", "1000000000"],
])
def test_huge_requests_are_refused_before_torch_is_loaded(tmp_path, args):
    """A fresh process refuses a huge request before it loads torch (the slow part of a start),
    so the refusal is quick and small (peak memory as the kernel reports it, Linux)."""
    loaded, maxrss_kb, exit_code, err = _fresh_cli(tmp_path, *args)
    assert exit_code == 2 and "need about" in err, err
    assert not loaded and maxrss_kb < 500 * 1024
    assert not list(tmp_path.iterdir())


def _fresh_cli(cwd: Path, *args: str, env: dict[str, str] | None = None
               ) -> tuple[bool, int, int, str]:
    """Run ``xbarmem ARGS`` in a fresh Python process in ``cwd`` (with ``env`` added): whether
    torch was loaded when it ended, its peak RSS in KiB, its exit code and its stderr."""
    import os
    import subprocess
    import sys

    # peak RSS of this process image: VmHWM (ru_maxrss would include the forking parent's)
    code = ("import sys; from xbarmem.cli import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
            "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
            "print('torch' in sys.modules, hwm[0], code)")
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})
    loaded, maxrss_kb, exit_code = proc.stdout.split()
    return loaded == "True", int(maxrss_kb), int(exit_code), proc.stderr


@pytest.mark.parametrize("args, fragments", [
    (["evaluate", "{model}", "--probes", str(10**9)], ("3000000000 cues", "need about")),
    (["adapt", "{model}", "--probes", str(10**9)], ("3000000000 cues", "need about")),
    (["recall", "{model}", "cues.npy"], ("20000 cues", "limit of 12 MiB")),
    (["evaluate", "cues.npy"], ("cues.npy: not a readable safetensors model",)),
    (["recall", "{model}.gz", "cues.npy"], ("no such model file",)),
], ids=["evaluate", "adapt", "recall", "foreign", "missing"])
def test_model_requests_are_refused_before_torch_is_loaded(tmp_path, model, args, fragments):
    """evaluate, recall and adapt size the request from the model file's header (N, hidden
    widths, the stored patterns, recall's cues) and refuse it before torch is loaded; they
    used to load the model first. A foreign or missing model file is refused as early, with
    its one line. (Cues: 20000 x 16, read within the 12 MiB limit; recalled, about 20 MiB.)"""
    import numpy as np

    np.save(tmp_path / "cues.npy", np.ones((20000, 16), np.int8))
    before = snapshot(tmp_path)
    loaded, maxrss_kb, exit_code, err = _fresh_cli(
        tmp_path, *[a.format(model=model) for a in args], env={"XBARMEM_MAX_BYTES": "12M"})
    assert_refused(exit_code, err, *fragments)
    assert not loaded and maxrss_kb < 500 * 1024
    assert snapshot(tmp_path) == before


#: the named-choice options whose parser refuses a name outside their choices
STRICT = ("--mode", "--activation", "--arch", "--kind")
EARLY_CHOICES = [(path, flag) for path, flag in CHOICES if flag in STRICT and path != ("plot",)]


def _choice_refused(tmp_path, model, path: tuple[str, ...], flag: str,
                    value: str) -> tuple[int, str]:
    """``xbarmem *path ... flag value`` run in a fresh process in ``tmp_path`` (a model and a
    cue file there, the command's other options from :data:`CHOICE_CONTEXT`): its exit code
    and stderr, checked to have loaded no torch and to have left ``tmp_path`` as it was."""
    import numpy as np

    (tmp_path / "m.safetensors").write_bytes(model.read_bytes())
    np.save(tmp_path / "cues.npy", np.ones((2, 16), dtype=np.float32))
    context = CHOICE_CONTEXT[path]
    if flag in context:  # (an option is given once)
        at = context.index(flag)
        context = context[:at] + context[at + 2:]
    before = snapshot(tmp_path)
    loaded, _, exit_code, err = _fresh_cli(tmp_path, *path, *context, flag, value)
    assert not loaded
    assert snapshot(tmp_path) == before
    return exit_code, err


@pytest.mark.parametrize("path, flag", EARLY_CHOICES,
                         ids=[f"{' '.join(p)} {f}" for p, f in EARLY_CHOICES])
def test_a_choice_outside_its_names_is_refused_before_torch_is_loaded(tmp_path, model, path,
                                                                       flag):
    """`evaluate m.safetensors --mode zzz` (recall, export, adapt; `--activation relu` there
    and in energy; `energy --arch zzz`, `capacity --kind zzz`) loaded torch, and the model,
    seconds, before the library refused it in its words ("recall mode must be one of sync,
    async"); the option's parser now refuses it naming the option, before torch is loaded."""
    exit_code, err = _choice_refused(tmp_path, model, path, flag, "zzz")
    assert_refused(exit_code, err, f"Invalid value for '{flag}': must be one of ", "got 'zzz'")


#: the strict options that take one name (capacity --arch takes several, comma-separated)
ONE_NAME = [(path, flag) for path, flag in EARLY_CHOICES if (path, flag) != (("capacity",),
                                                                              "--arch")]
#: two of each strict option's names, as a list
TWO_NAMES = {"--mode": "sync,async", "--activation": "sign,tanh", "--arch": "single,multilayer",
             "--kind": "binary,continuous"}


@pytest.mark.parametrize("path, flag", ONE_NAME, ids=[f"{' '.join(p)} {f}" for p, f in ONE_NAME])
def test_a_list_for_a_one_name_choice_is_refused_before_torch_is_loaded(tmp_path, model, path,
                                                                        flag):
    """`recall m.safetensors cues.npy --mode sync,async` (each name known) passed the strict
    parser, which reads comma lists for capacity's --arch, and was refused after torch was
    loaded, in the library's words ("recall mode must be one of sync, async, got 'sync,async';
    did you mean 'async'?"); `energy --arch single,multilayer`, `train --kind
    binary,continuous` alike. The parser of an option that takes one name refuses a list."""
    exit_code, err = _choice_refused(tmp_path, model, path, flag, TWO_NAMES[flag])
    assert_refused(exit_code, err, f"Invalid value for '{flag}': takes one name, one of ",
                   f"got '{TWO_NAMES[flag]}'")


def test_capacity_arch_takes_a_list(run_cli):
    """capacity --arch reads both architectures, comma-separated, in any case (one table)."""
    code, out, err = run_cli("capacity", "--data", "random", "--neurons", "16", "--arch",
                             "Multilayer,single", "--recipe", "fast", "--probes", "1",
                             "--trials", "1", "--json")
    assert code == 0, err
    assert "16-32-16" in out and "single" in out


@pytest.mark.parametrize("command", ["evaluate", "adapt"])
def test_a_model_without_its_patterns_is_refused_before_torch_is_loaded(tmp_path, command):
    """evaluate and adapt recall the patterns saved with the model: a file saved without them
    is refused from its header, before torch is loaded (it was refused after loading)."""
    import numpy as np

    from xbarmem import save_memory, train

    x = np.where(np.random.default_rng(4).random((3, 16)) > 0.5, 1.0, -1.0).astype(np.float32)
    save_memory(train(x, chip="ideal", rule="hebb"), tmp_path / "bare.safetensors")
    before = snapshot(tmp_path)
    loaded, _, exit_code, err = _fresh_cli(tmp_path, command, "bare.safetensors")
    assert_refused(exit_code, err, "bare.safetensors: this model was saved without its patterns")
    assert not loaded
    assert snapshot(tmp_path) == before
