"""The documentation runs: every code block of README.md and docs/*.md, and the public API the
docs promise.

Each file runs top to bottom in its own empty folder: ```python blocks in one namespace,
```bash / ```console blocks command by command through the in-process CLI (``run_cli``). Every
shell command must be an ``xbarmem`` command. An HTML comment on the line before a block
changes how it runs:

* ``<!-- docs-test: skip (reason) -->`` -- not run (installs, hours-long runs); the reason is
  required and shown to the reader as-is;
* ``<!-- docs-test: args --trials 1 -->`` -- every command of the block runs with these
  arguments appended (a smaller run of the same command).

Blocks in any other language (``toml``, ``text``, none) are displayed output, not code.
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import xbarmem as xm

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
MARKER = re.compile(r"<!--\s*docs-test:\s*(\w+)\s*(.*?)\s*-->")
FENCE = re.compile(r"^```(\S*)\s*$")
SHELL = {"bash", "console", "sh", "shell"}


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    marker: tuple[str, str] | None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of a markdown file, each with the marker on the line before it."""
    lines = path.read_text().splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        marker = MARKER.search(lines[i - 1]) if i > 0 else None
        out.append(Block(path, i + 1, m.group(1).lower(), "\n".join(lines[i + 1:end]),
                         (marker.group(1), marker.group(2)) if marker else None))
        i = end + 1
    return out


def shell_commands(block: Block) -> list[list[str]]:
    """The commands of a shell block (``$`` prompts, comments and ``\\`` continuations)."""
    text = re.sub(r"\\\n", " ", block.text)
    commands = []
    for raw in text.splitlines():
        line = raw.strip().removeprefix("$ ")
        words = shlex.split(line, comments=True)
        if words:
            commands.append(words)
    return commands


def _run_shell(block: Block, run_cli) -> None:
    extra = shlex.split(block.marker[1]) if block.marker and block.marker[0] == "args" else []
    for words in shell_commands(block):
        assert words[0] == "xbarmem", (
            f"{block.where}: {' '.join(words)!r} is not an xbarmem command; mark the block "
            "'<!-- docs-test: skip (reason) -->' if it must not run")
        code, _, err = run_cli(*words[1:], *extra)
        assert code == 0, f"{block.where}: {' '.join(words)} -> exit {code}: {err.strip()}"


def _runnable(path: Path) -> list[Block]:
    return [b for b in blocks(path) if (b.lang == "python" or b.lang in SHELL)
            and not (b.marker and b.marker[0] == "skip")]


@pytest.mark.parametrize("path", DOC_FILES, ids=[str(p.relative_to(ROOT)) for p in DOC_FILES])
def test_doc_code_blocks_run(path, tmp_path, monkeypatch, run_cli):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    for block in _runnable(path):
        if block.lang == "python":
            exec(compile(block.text, block.where, "exec"), namespace)  # noqa: S102
        else:
            _run_shell(block, run_cli)


def test_markers_are_known_and_skips_give_a_reason():
    assert len(DOC_FILES) >= 10 and all(path.is_file() for path in DOC_FILES)
    for path in DOC_FILES:
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if "docs-test:" in line:
                assert MARKER.search(line) and i + 1 < len(lines) and FENCE.match(lines[i + 1]), (
                    f"{path.name}:{i + 1}: a docs-test marker must directly precede a ``` fence")
        for block in blocks(path):
            if block.marker is None:
                continue
            kind, rest = block.marker
            assert kind in ("skip", "args"), f"{block.where}: unknown marker {kind!r}"
            if kind == "skip":
                assert re.fullmatch(r"\(.+\)", rest), f"{block.where}: skip needs a (reason)"
            else:
                assert rest and block.lang in SHELL, f"{block.where}: args on a shell block"


def test_docs_have_code_and_readme_demo_and_api_run():
    readme = _runnable(ROOT / "README.md")
    assert [b.lang for b in readme] == ["bash", "python"]
    assert shell_commands(readme[0]) == [["xbarmem", "demo"]]
    assert "xm.train(" in readme[1].text and "print(" in readme[1].text
    for name in ("guide.md", "backends.md"):
        assert _runnable(ROOT / "docs" / name), name


def test_parser_reads_markers_continuations_and_prompts(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("<!-- docs-test: args --trials 1 -->\n```console\n$ xbarmem demo \\\n"
                   "  --json   # comment\n```\n\n```toml\na = 1\n```\n")
    (block, toml) = blocks(doc)
    assert block.marker == ("args", "--trials 1") and toml.lang == "toml"
    assert shell_commands(block) == [["xbarmem", "demo", "--json"]]


def test_readme_is_short_and_its_links_resolve():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 150
    for path in DOC_FILES:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text()):
            assert (path.parent / target).exists(), f"{path.name}: broken link {target}"
    for name in ("guide", "reproduction", "performance", "chip-model", "backends"):
        assert f"docs/{name}.md" in readme


def _anchors(path: Path) -> set[str]:
    """The anchors a markdown file's headings get on GitHub: lower case, characters other than
    letters, digits, spaces, hyphens and underscores dropped, spaces made hyphens, a repeated
    one numbered (``-1``, ``-2``); headings inside code fences are none."""
    anchors: set[str] = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.strip()):
            fenced = not fenced
        heading = re.match(r"#{1,6} (.+)", line)
        if fenced or not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
        numbered, n = slug, 0
        while numbered in anchors:
            n += 1
            numbered = f"{slug}-{n}"
        anchors.add(numbered)
    return anchors


def test_links_to_a_section_name_a_heading_that_exists():
    """A link ``file.md#section`` (or ``#section`` within a page) leads to a heading of that
    file: a renamed heading left its links pointing nowhere, and GitHub opens the page at its
    top without a word."""
    broken = []
    for path in DOC_FILES:
        for target, anchor in re.findall(r"\]\(([^)#:\s]*)#([^)\s]+)\)", path.read_text()):
            page = (path.parent / target) if target else path
            if page.suffix == ".md" and page.exists() and anchor not in _anchors(page):
                broken.append(f"{path.name}: ({target}#{anchor})")
    assert not broken, "links to headings that do not exist: " + ", ".join(broken)


def _measure_script():
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("measure_docs",
                                                  ROOT / "scripts" / "measure_docs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_measured_numbers_carry_command_date_and_threads_and_docs_quote_them():
    """Every number docs/measured.json holds says how, when and with how many threads; the
    generated page and every quoted region of the docs are what the script writes from it."""
    import json

    script = _measure_script()
    records = json.loads((ROOT / "docs" / "measured.json").read_text())
    names = {e.name for e in script.ENTRIES}
    assert records and set(records) <= names
    for name, rec in records.items():
        assert rec["command"] and re.match(r"\d{4}-\d\d-\d\d", rec["date"]), name
        assert rec["torch_threads"] >= 1 and rec["xbarmem"], name
        # every value was found in the output (a renamed key would record None)
        assert all(v is not None for v in rec["values"].values()), name
    assert (ROOT / "docs" / "measured.md").read_text() == script.render(records)
    regions = 0
    for doc in script.measured_docs():
        text = doc.read_text()
        for match in script.REGION.finditer(text):
            assert match.group(2) in names, f"{doc.name}: unknown entry {match.group(2)}"
            regions += 1
        assert script.update_regions(text, records) == text, (
            f"{doc.name}: a measured region differs from docs/measured.json; run "
            "python scripts/measure_docs.py --render")
    assert regions >= len(records)


# ---------------------------------------------------------------- the public API the docs use
def test_train_takes_a_pattern_set_or_a_matrix_and_names_its_zero_one_flag(pats):
    for patterns in (pats, pats.patterns, pats.patterns.tolist()):
        mem = xm.train(patterns, rule="pinv")
        assert mem.n_neurons == pats.n_neurons
    zero_one = (pats.patterns > 0).astype(np.float32)
    with pytest.raises(xm.PatternError, match=r"pass zero_one=True \(CLI: --zero-one\)"):
        xm.train(zero_one, rule="pinv")
    mem = xm.train(zero_one, rule="pinv", zero_one=True)
    with pytest.raises(xm.PatternError, match="non-numeric"):
        xm.train(np.array([["a", "b"]]), rule="pinv")
    assert mem.programmed


def test_as_pattern_set_reads_every_form_once(pats):
    assert xm.as_pattern_set(pats) is pats
    assert xm.as_pattern_set(pats, "continuous").kind == "continuous"
    with pytest.raises(xm.PatternError, match="N=25 neurons but the memory/chip has 9"):
        xm.as_pattern_set(pats, n_neurons=9)
    with pytest.raises(xm.PatternError, match="-1 and"):
        xm.as_pattern_set(pats.patterns * 0.5)


def test_allow_zero_one_is_a_deprecated_alias():
    from xbarmem.data.patterns import validate_patterns

    with pytest.warns(DeprecationWarning, match="zero_one"):
        out = validate_patterns([[0, 1]], allow_zero_one=True)
    np.testing.assert_array_equal(out, [[-1, 1]])


def test_stored_patterns_are_read_back_publicly(pats, tmp_path):
    mem = xm.train(pats, rule="pinv")
    with_patterns = xm.save_memory(mem, tmp_path / "m.safetensors", patterns=pats)
    back = xm.load_stored_patterns(with_patterns)
    np.testing.assert_array_equal(back.patterns, pats.patterns)
    assert (back.kind, back.name, back.image_shape) == (pats.kind, pats.name, (5, 5))
    xm.save_memory(mem, tmp_path / "raw.safetensors", patterns=pats.patterns)  # a plain matrix
    assert xm.load_stored_patterns(tmp_path / "raw.safetensors").n_patterns == 4
    bare = xm.save_memory(mem, tmp_path / "bare.safetensors")
    with pytest.raises(xm.FileFormatError, match="saved without its patterns"):
        xm.load_stored_patterns(bare)
    (tmp_path / "junk.safetensors").write_text("junk")
    with pytest.raises(xm.FileFormatError, match="not (an xbarmem|a readable safetensors) model"):
        xm.load_stored_patterns(tmp_path / "junk.safetensors")


def test_corruption_helpers_are_exported():
    from xbarmem.data import corruption

    for name in ("corrupt", "flip_bits", "gaussian_noise", "occlude_block", "salt_and_pepper"):
        assert getattr(xm, name) is getattr(corruption, name) and name in xm.__all__
    x = np.ones((2, 16), dtype=np.float32)
    assert (xm.flip_bits(x, 1.0, generator=0).numpy() == -1).all()


def test_every_public_entry_point_takes_a_matrix_like_a_pattern_set(pats):
    mem = xm.train(pats, rule="pinv")
    protocol = xm.Protocol(probes=2)
    assert (xm.evaluate_memory(mem, pats.patterns, protocol).cosine
            == xm.evaluate_memory(mem, pats, protocol).cosine)
    with pytest.raises(xm.PatternError, match="has 25"):
        xm.evaluate_memory(mem, pats.patterns[:, :9], protocol)
    rules = xm.compare_rules(pats.patterns, "paper-sim", ["pinv"], trials=1, protocol=protocol)
    assert set(rules["rules"]) == {"pinv"}
    cap = xm.find_capacity(pats.patterns, rule="pinv", trials=1, protocol=protocol,
                           thresholds=(0.5,))
    assert cap.settings["pool"] == 4 and cap.capacity[0.5] >= 1


def test_measure_script_lists_refuses_unknown_entries_and_reads_json_paths(capsys):
    script = _measure_script()
    assert script.main(["--list"]) == 0
    listed = capsys.readouterr().out
    assert all(e.name in listed for e in script.ENTRIES)
    with pytest.raises(SystemExit) as info:
        script.main(["--only", "no-such-entry"])
    assert info.value.code == 2 and "unknown entry 'no-such-entry'" in capsys.readouterr().err
    assert script.main([]) == 2  # nothing chosen: nothing written
    data = {"fits": {"0.99": {"slope": 1.5}}, "rows": [{"n": 16}, {"n": 64}]}
    assert script._dig(data, "fits/0.99/slope") == 1.5
    assert script._dig(data, "rows/*/n") == [16, 64] and script._dig(data, "nope/x") is None
    quick = [e.name for e in script.ENTRIES if e.seconds < script.QUICK_SECONDS]
    assert "energy-64-generic" in quick and "reproduce-quick" not in quick


def parse_problem(words: list[str], root) -> str | None:
    """Why the current CLI's argument parser refuses ``xbarmem WORDS`` (None: it parses):
    the command is resolved and its options and values parsed (parse-time checks included),
    nothing is run."""
    import typer

    words, cmd, path = list(words), root, ["xbarmem"]
    while hasattr(cmd, "commands"):
        if not words or words[0] not in cmd.commands:
            return f"{' '.join(path)} has no command {(words or [''])[0]!r}"
        path.append(words.pop(0))
        cmd = cmd.commands[path[-1]]
    try:
        cmd.make_context(" ".join(path), words)
    except typer.TyperException as exc:
        return exc.format_message()
    return None


def test_measured_commands_parse_with_the_current_cli(tmp_path):
    """What a measured region quotes is what the script runs today, and that still parses: every
    record's command is its entry's, and every ``xbarmem`` step of every entry (with the
    ``--threads`` the script adds) is accepted by the current CLI's parser (not run); every
    ``python -m`` step names a module that exists and every ``python -c`` step compiles. A
    renamed option or subcommand fails here, not hours into ``measure_docs --all``."""
    import importlib.util
    import json

    import typer

    from xbarmem import cli

    script = _measure_script()
    root = typer.main.get_command(cli.app)
    records = json.loads((ROOT / "docs" / "measured.json").read_text())
    problems, parsed = [], 0
    for entry in script.ENTRIES:
        command = " && ".join(step.format(out="OUT") for step in entry.steps)
        if entry.name in records and records[entry.name]["command"] != command:
            problems.append(f"{entry.name}: measured.json holds another command than the "
                            "entry runs; re-measure it (measure_docs --only)")
        for step in entry.steps:
            argv = script._argv(step.format(out=str(tmp_path)))
            if argv[1:3] == ["-m", "xbarmem"]:
                parsed += 1
                if (why := parse_problem(argv[3:], root)) is not None:
                    problems.append(f"{entry.name}: {step!r}: {why}")
            elif argv[1] == "-m" and importlib.util.find_spec(argv[2]) is None:
                problems.append(f"{entry.name}: no module {argv[2]}")
            elif argv[1] == "-c":
                compile(argv[2], entry.name, "exec")  # a python -c step is valid Python
    assert parsed > 50  # the scan reaches the commands it is meant to check
    assert not problems, "\n".join(problems)


def test_measure_script_keeps_a_step_s_own_threads():
    """``capacity-search-before-12-01`` quotes ``--threads 2`` and says "2 threads"; the script
    appended its own ``--threads 1``, which click kept (the last), so the record ran and says
    1 thread. A step naming ``--threads`` keeps it, and its record says so."""
    script = _measure_script()
    step = "xbarmem capacity --data digits --threads 2 --json"
    assert script._argv(step, 1).count("--threads") == 1
    assert script._argv("xbarmem capacity --data digits", 3)[-2:] == ["--threads", "3"]
    entry = next(e for e in script.ENTRIES if e.name == "capacity-search-before-12-01")
    assert script._entry_threads(entry, 1) == 2


def test_parse_problem_names_what_the_cli_refuses():
    import typer

    from xbarmem import cli

    root = typer.main.get_command(cli.app)
    assert parse_problem(["energy", "--neurons", "64", "--threads", "1"], root) is None
    assert "No such option: --neuron" in parse_problem(["energy", "--neuron", "64"], root)
    assert "requires an argument" in parse_problem(["energy", "--neurons"], root)
    assert parse_problem(["chip", "fault"], root) == "xbarmem chip has no command 'fault'"
    assert parse_problem(["nosuch"], root) == "xbarmem has no command 'nosuch'"


# ----------------------------------------------------------------- commands quoted in prose
#: where commands are quoted for users to copy: the docs, the shipped chip and circuit files
#: (their comments), the examples, and the commands measure_docs runs
QUOTED = [*DOC_FILES, *sorted((ROOT / "src" / "xbarmem").rglob("*.toml")),
          *sorted((ROOT / "examples").rglob("*")), ROOT / "scripts" / "measure_docs.py"]
#: ``xbarmem ...`` in backticks (inline code, possibly over line breaks) or starting a line
#: (code blocks, comments; a line of prose that starts with the word is told apart by
#: :func:`quoted_commands`)
INLINE_COMMAND = re.compile(r"`{1,2}(xbarmem [^`]+?)`{1,2}|^[ \t$>#]*(xbarmem [^\n`]+)",
                           re.MULTILINE)


def quoted_commands(text: str, names: set[str] = frozenset()) -> list[str]:
    """Every ``xbarmem`` command quoted in ``text`` (``&&``-chained ones split apart). A line
    that merely starts with the word counts when the next word is a command of ``names``, an
    option or an upper-case placeholder."""
    found = []
    for m in INLINE_COMMAND.finditer(text):
        if m.group(2):
            second = (m.group(2).split() + [""])[1]
            if not (second in names or second.startswith("-") or second.isupper()):
                continue  # prose: "xbarmem is layered ..."
        for part in re.split(r"&&|;|\|\|", m.group(1) or m.group(2)):
            part = " ".join(part.split())
            if part.startswith("xbarmem "):
                found.append(part)
    return found


#: a command quoted without the word ``xbarmem``, in backticks: ``evaluate --variation V``,
#: ``chip inspect``
FRAGMENT = re.compile(r"(?<![`\w])(`{1,2})([a-z][a-z-]* [^`]+?)\1(?!`)")


def fragment_commands(text: str, root) -> list[str]:
    """Commands that prose quotes by their name alone (`` `train --hidden 16` ``, `` `chip
    import` ``), as ``xbarmem ...``: a backticked span whose first word is a command and that
    names an option, or whose first word is a command group (``chip``, ``circuit``)."""
    found = []
    for m in FRAGMENT.finditer(text):
        words = m.group(2).split()
        cmd = root.commands.get(words[0])
        if cmd is not None and (any(w.startswith("-") for w in words[1:])
                                or hasattr(cmd, "commands")):
            found.append("xbarmem " + " ".join(words))
    return found


def unknown_options(command: str, root) -> list[str]:
    """The ``--options`` of ``command`` that its (sub)command does not take, and a subcommand
    name that does not exist (a word after a command group that is neither one of its
    commands, an option nor an upper-case placeholder such as ``COMMAND``)."""
    words = command.split()[1:]
    cmd = root
    while words and hasattr(cmd, "commands") and words[0] in cmd.commands:
        cmd = cmd.commands[words.pop(0)]
    bad = []
    if words and hasattr(cmd, "commands") and re.fullmatch(r"[a-z][a-z0-9-]*", words[0]):
        bad.append(words[0])  # not a command of this group
    known = {opt for p in cmd.params for opt in (*p.opts, *p.secondary_opts)}
    known |= {"--help", "-h"}
    for word in words:
        word = word.strip("[](),.:;'\"")
        if word.startswith("--") and len(word) > 2:
            name = word.split("=", 1)[0]
            if re.fullmatch(r"--[a-z][a-z0-9-]*", name) and name not in known:
                bad.append(name)
    return bad


def test_quoted_commands_name_options_that_exist():
    """A command quoted in prose or a comment is not run by the doc tests; its subcommand and
    options must still exist, or a reader who copies it gets an error. So must those of a
    command quoted without the word ``xbarmem`` (`` `evaluate --variation V` ``), which this
    scan skipped."""
    import typer

    from xbarmem import cli

    root = typer.main.get_command(cli.app)
    problems, seen = [], 0
    for path in QUOTED:
        if not path.is_file() or path.suffix not in {".md", ".toml", ".py", ".txt", ""}:
            continue
        text = path.read_text()
        for command in [*quoted_commands(text, set(root.commands)),
                        *fragment_commands(text, root)]:
            seen += 1
            problems += [f"{path.relative_to(ROOT)}: `{command}`: {opt}"
                         for opt in unknown_options(command, root)]
    assert seen > 100  # the scan finds the commands it is meant to check
    assert not problems, "\n".join(problems)


#: the kinds of bad input the guide's "Bad input and output files" lists, by the words each item
#: opens with, and what the refusal of each says
BAD_INPUT_KINDS = {"an option that the chosen mode does not read": "applies",
                   "an option that takes one value given twice": "more than once",
                   "an output that is the same file as": "is the same file as",
                   "a file output of a fixed format": "the file name must end in",
                   "a number no float holds": "for a float to hold"}


def test_the_guides_bad_input_examples_are_refused_for_the_reason_given(tmp_path, monkeypatch,
                                                                        run_cli):
    """The guide's example of "an output that is the same file as another output or an
    input", `adapt m.safetensors --log m.safetensors`, was refused for its suffix (`--log
    m.safetensors: the file name must end in .jsonl ...`), and `train --hidden 16` for the
    `--out` it lacks: every command an item of that list quotes, run as written in an empty
    folder, exits 2 with the refusal its item names."""
    import typer

    from xbarmem import cli

    root = typer.main.get_command(cli.app)
    guide = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    part = guide[guide.index("## Bad input and output files"):]
    part = part[:part.index("\n\n", part.index("\n* "))]
    items = [" ".join(item.split()) for item in part.split("\n* ")[1:]]
    assert len(items) == len(BAD_INPUT_KINDS), items
    monkeypatch.chdir(tmp_path)
    problems = []
    for item in items:
        reason = next(r for opening, r in BAD_INPUT_KINDS.items() if item.startswith(opening))
        commands = fragment_commands(item, root)
        assert commands, item
        for command in commands:
            code, _, err = run_cli(*shlex.split(command)[1:])
            if code != 2 or reason not in err:
                problems.append(f"`{command}` -> exit {code}: {err.strip()} "
                                f"(the guide: {reason!r})")
    assert not problems, "\n".join(problems)


def test_the_guides_export_item_names_every_file_an_export_writes(small_memory, tmp_path):
    """`xbarmem export` lists `used.npy`, `layer0_bias.npy`, `fault_map.npz` and `patterns.npy`
    among its files; the guide's **Export** item, where a reader looks them up, named none of
    them ("the same data as float64 .npy"). It names every file the export writes (a layer's
    as ``layer<k>_...``), and those are the files an export holds."""
    from xbarmem.deploy.export import export_memory, export_names

    guide = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    item = guide[guide.index("* **Export**"):]
    item = item[:item.index("\n* **", 1)]
    names = export_names(small_memory[1])
    export_memory(small_memory[1], tmp_path / "export", patterns=small_memory[0])
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == sorted(names)
    unnamed = sorted({re.sub(r"\d+", "<k>", name) for name in names}
                     - set(re.findall(r"`([\w<>]+\.\w+)`", item)))
    assert not unnamed, f"the guide's Export item does not name {unnamed}"


#: the arguments that make each example outside tests/test_examples.py's numbered ones small,
#: and what its output then holds
SMALL_EXAMPLE_ARGS = {"demo_sign_limit.py": (
    ["--seeds", "0", "--options", '[{"max_steps": 20, "finetune_steps": 0}]'],
    ["nearest-stored-pattern bound: ", '{"max_steps": 20, "finetune_steps": 0}: sign '])}


def test_every_example_runs_the_unnumbered_ones_here(tmp_path, monkeypatch, capsys):
    """The README sends a reader to `examples/`, "the sign-recall limit" among them, but
    tests/test_examples.py runs the numbered scripts only: `demo_sign_limit.py` ran in no test
    and could break unseen. Every other script of examples/ runs here, with small arguments,
    and prints what its docstring says it prints (the bound and a line per option set)."""
    import runpy

    import torch

    scripts = sorted(p.name for p in (ROOT / "examples").glob("*.py")
                     if not re.match(r"\d", p.name))
    assert sorted(SMALL_EXAMPLE_ARGS) == scripts  # a new script needs its small arguments
    monkeypatch.chdir(tmp_path)
    threads = torch.get_num_threads()
    try:
        for name, (args, printed) in SMALL_EXAMPLE_ARGS.items():
            monkeypatch.setattr(sys, "argv", [name, *args])
            runpy.run_path(str(ROOT / "examples" / name), run_name="__main__")
            out = capsys.readouterr().out
            assert all(text in out for text in printed), out
            assert not list(tmp_path.iterdir()), f"{name} writes into the current folder"
    finally:
        torch.set_num_threads(threads)  # a script sets its own


def test_quoted_command_scan_finds_inline_and_wrapped_commands():
    import typer

    from xbarmem import cli

    text = ("run `xbarmem energy --neuron 64\n  --calibrate` then ``xbarmem chip faults --arrays 2"
            " && xbarmem demo --bogus``\n    xbarmem train --data digits -o m.safetensors\n"
            "`xbarmem chip fault --arrays 2`, `xbarmem COMMAND -h`, `xbarmem --version`\n"
            "xbarmem is layered: prose, not a command\n")
    root = typer.main.get_command(cli.app)
    commands = quoted_commands(text, set(root.commands))
    assert commands == ["xbarmem energy --neuron 64 --calibrate", "xbarmem chip faults --arrays 2",
                        "xbarmem demo --bogus", "xbarmem train --data digits -o m.safetensors",
                        "xbarmem chip fault --arrays 2", "xbarmem COMMAND -h",
                        "xbarmem --version"]
    assert [unknown_options(c, root) for c in commands] == [
        ["--neuron"], [], ["--bogus"], [], ["fault", "--arrays"], [], []]
    prose = ("`evaluate --variaton 0.3` and `chip fault`; not `train`, `plot_rows(rows)`, "
             "``results --csv -``, `recall from cues` or `capacity --checkpoint\n  FILE.json`")
    fragments = fragment_commands(prose, root)
    assert fragments == ["xbarmem evaluate --variaton 0.3", "xbarmem chip fault",
                         "xbarmem results --csv -", "xbarmem capacity --checkpoint FILE.json"]
    assert [unknown_options(c, root) for c in fragments] == [["--variaton"], ["fault"], [], []]


# ------------------------------------------------------------- signatures listed in the docs
#: a bullet that opens with a backticked signature, ``* `name(a, b, k=v)` -- what it is``: the
#: docs' way of listing an API; ``k=v`` there reads as "k defaults to v" (``k=...``: any value)
SIGNATURE = re.compile(r"^\* `((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)\(([^`]*)\)`", re.MULTILINE)


def _documented_object(name: str):
    """What a doc's ``name`` is: a dotted path from ``xbarmem``, or a bare name defined in one
    xbarmem module (``SimulatedChip``), or ``Class.method``."""
    import importlib
    import pkgutil

    import xbarmem

    parts = name.split(".")
    if parts[0] == "xbarmem":
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
            return obj
    found = []
    for info in pkgutil.walk_packages(xbarmem.__path__, "xbarmem."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional extra (dask) that is not installed
            continue
        obj = getattr(module, parts[0], None)
        if obj is not None and getattr(obj, "__module__", None) == module.__name__:
            for attr in parts[1:]:
                obj = getattr(obj, attr)
            found.append(obj)
    assert found, f"{name}: no xbarmem module defines it"
    return found[0]


def documented_signatures() -> list[tuple[str, str, str]]:
    return [(str(path.relative_to(ROOT)), m.group(1), m.group(2))
            for path in DOC_FILES for m in SIGNATURE.finditer(path.read_text())]


@pytest.mark.parametrize("where, name, args", documented_signatures(),
                         ids=[f"{w}:{n}" for w, n, _ in documented_signatures()])
def test_listed_signatures_name_real_parameters_and_their_defaults(where, name, args):
    """A signature listed in the docs takes the arguments it shows, and a keyword shown with a
    value has that value as its default (``adapt(..., tolerance=5e-6)`` was listed while the
    default was 3e-6)."""
    import ast
    import inspect

    params = inspect.signature(_documented_object(name)).parameters
    positional = [p for p in params.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    shown = [a.strip() for a in args.split(",") if a.strip()]
    bare = [a for a in shown if "=" not in a]
    assert len(bare) <= len(positional), f"{where}: {name} takes {len(positional)} positional"
    for arg in shown:
        if "=" not in arg:
            continue
        key, value = (s.strip() for s in arg.split("=", 1))
        assert key in params, f"{where}: {name} has no parameter {key!r}"
        if value != "...":
            assert params[key].default == ast.literal_eval(value), (
                f"{where}: {name}({key}={value}) but its default is {params[key].default!r}")


def test_measured_regions_name_the_cpu_they_ran_on():
    """Results move in their last digits between CPU kinds (with or without AVX-512): a record
    made since names its CPU in the region; older records render as before."""
    module = _measure_script()
    rec = {"date": "2026-12-03 21:00 UTC", "torch_threads": 1, "xbarmem": "0.2.0",
           "commit": "abc1234", "command": "xbarmem demo", "wall_seconds": 1.0,
           "values": {"x": 1}}
    assert "CPU" not in module.fragment("demo", {"demo": rec})
    text = module.fragment("demo", {"demo": {**rec, "cpu": "Some CPU, no AVX-512"}})
    assert "commit abc1234, CPU Some CPU, no AVX-512; `xbarmem demo`" in text
    assert module._cpu().strip()


def test_the_guide_names_the_outcome_keys_and_the_words_evaluate_prints():
    """The guide named only the words of `evaluate`'s `ended:` line (`own`, `other`,
    `unconverged`) as the labels of `outcomes` in `--json` and `Score.outcomes`, whose keys
    are `recalled`, `other_pattern`, `not_converged`: a script reading `outcomes["own"]`
    met a KeyError."""
    from xbarmem.cli.memory import OUTCOME_WORDS
    from xbarmem.evaluation.metrics import OUTCOMES

    guide = " ".join((ROOT / "docs" / "guide.md").read_text().split())
    start = guide.index("where the recalls ended")
    passage = guide[start:guide.index("spurious attractors", start)]
    assert set(OUTCOME_WORDS) == set(OUTCOMES)
    missing = [f"`{name}`" for name in (*OUTCOMES, *OUTCOME_WORDS.values())
               if f"`{name}`" not in passage]
    assert not missing, missing


def test_measured_regions_read_as_lists_and_can_show_their_tables_only():
    """A region's values were one run-on line (630 characters of nine speed-ups above the
    README's table that shows them): a long line is now one bullet per value, and a region
    marked ``tables`` shows its provenance and tables only."""
    module = _measure_script()
    rec = {"date": "2026-12-05 04:00 UTC", "torch_threads": 1, "xbarmem": "0.2.0",
           "commit": "abc1234", "command": "python -m benchmarks", "wall_seconds": 1.0,
           "values": {f"case {i}: a long label for a speed-up": 1.5 * i for i in range(9)}
           | {"table": "| a |\n|---|\n| 1 |"}}
    text = module.fragment("benchmarks", {"benchmarks": rec})
    assert "\n* case 0: a long label for a speed-up 0\n" in text
    assert text.count("\n* case ") == 9 and "| a |" in text
    short = module.fragment("benchmarks", {"benchmarks": {**rec, "values": {"x": 1, "y": 2}}})
    assert "\nx 1; y 2\n" in short
    only = module.fragment("benchmarks", {"benchmarks": rec}, tables_only=True)
    assert "case 0" not in only and "| a |" in only and "`benchmarks`: 2026-12-05" in only
    region = "<!-- measured: benchmarks tables -->\nold\n<!-- /measured -->"
    assert "case 0" not in module.update_regions(region, {"benchmarks": rec})
    assert "| a |" in module.update_regions(region, {"benchmarks": rec})


def _glossary() -> str:
    guide = (ROOT / "docs" / "guide.md").read_text()
    start = guide.index("## Glossary")
    return guide[start:guide.index("\n## ", start + 1)].lower()


def test_the_glossary_defines_every_word_of_the_score_and_device_lines(small_memory,
                                                                      small_model, run_cli,
                                                                      tmp_path):
    """`evaluate` printed `hamming 0.43 bits` and `converged 0.00  iterations 100.0`, and
    `train` and `demo` `... 64 sensed outputs`: words no page of the docs defined. Every word
    of those lines (the labels, not the numbers) is now a term of the guide's glossary."""
    from xbarmem.cli.records import describe_devices

    grey = xm.train(xm.random_patterns(3, 16, kind="continuous", seed=0), max_steps=5)
    xm.save_memory(grey, tmp_path / "c.safetensors",
                   patterns=xm.random_patterns(3, 16, kind="continuous", seed=0))
    lines = [describe_devices(small_memory[1].devices())]
    for model in (small_model, tmp_path / "c.safetensors"):  # (continuous: `exact signs`)
        code, out, err = run_cli("evaluate", model, "--probes", "2")
        assert code == 0, err
        lines += [ln for ln in out.splitlines() if ln.startswith(("cosine", "converged"))]
    assert len(lines) == 5, lines
    glossary = _glossary()
    words = {w.lower() for line in lines for w in re.findall(r"[A-Za-z]{3,}", line)}
    assert {"hamming", "iterations", "sensed", "signs"} <= words
    missing = sorted(w for w in words if not re.search(rf"\b{w}", glossary))
    assert not missing, f"printed, not in the glossary of docs/guide.md: {missing}"


def printed_form(quote: str) -> re.Pattern:
    """A quote of printed output as a pattern of its form: ``...`` stands for any text,
    ``(s)`` for a plural's optional ``s``, a number for any number, spaces for any run of
    spaces."""
    forms = {"...": ".*?", "(s)": "s?"}
    parts = re.split(r"(\.\.\.|\(s\)|\d+(?:\.\d+)?|\s+)", quote)
    return re.compile("".join(
        forms[part] if part in forms else r"\d+(?:\.\d+)?" if part[0].isdigit()
        else r"\s+" if part.isspace() else re.escape(part) for part in parts if part))


def print_claims(text: str) -> list[tuple[tuple[str, ...], str]]:
    """What a page says a command prints, "`capacity` and `scaling` print it as *similarity*
    (`P=8: cosine 1.0000`)": ((commands), quote) for every italic or backticked quote up to
    the end of the sentence, but for names a program reads (`mean_iterations`,
    `Score.cue_cosine`, `--json`)."""
    claims = []
    for m in re.finditer(r"((?:`[a-z]+`(?:,| and) )*`[a-z]+`) prints? (.*?)(?:\.\s+(?=[A-Z*`])|$)",
                         " ".join(text.split())):
        commands = tuple(re.findall(r"`([a-z]+)`", m.group(1)))
        for code, italic in re.findall(r"`([^`]+)`|\*(\w+)\*", m.group(2)):
            if italic or not re.fullmatch(r"-.*|\w*[_.][\w.]*", code):
                claims.append((commands, italic or code))
    return claims


def test_what_the_guide_says_a_command_prints_is_printed(small_model, run_cli, tmp_path):
    """The glossary said "`capacity` prints it [the cosine] as *similarity*": `capacity`
    prints ``P=8: cosine 1.0000`` and ``tested: 8:1.000, ...``, no word "similarity". Every
    quote of the guide's "`COMMAND` prints ..." is, in its form (numbers any numbers), in that
    command's output; a command newly quoted so needs its run added below."""
    chip = xm.load_preset("paper-sim").replace_array(rows=128, cols=128)
    (tmp_path / "c128.toml").write_text(chip.to_toml())
    np.save(tmp_path / "cues.npy", np.ones((2, 16), dtype=np.float32))
    code, _, err = run_cli("train", "--chip", tmp_path / "c128.toml", "--data", "digits",
                           "--patterns", "4", "--rule-option", "max_steps=5",
                           "-o", tmp_path / "c128.safetensors")
    assert code == 0, err
    runs = {"evaluate": (small_model, "--probes", "2"),
            "capacity": ("--rule", "pinv", "--data", "digits", "--trials", "1", "--probes",
                         "2", "--threshold", "0.95"),
            "scaling": ("--arch", "single", "--rule", "pinv", "--sizes", "16,25", "--trials",
                        "1", "--probes", "2", "--out", tmp_path / "scaling"),
            "train": ("--data", "digits", "--patterns", "4", "--rule-option", "max_steps=5",
                      "-o", tmp_path / "t.safetensors"),
            "demo": ("--trials", "1", "--probes", "2", "--out", tmp_path / "demo"),
            "recall": (small_model, tmp_path / "cues.npy", "--out", tmp_path / "s.npy"),
            "export": (tmp_path / "c128.safetensors", "--out", tmp_path / "export")}
    claims = print_claims((ROOT / "docs" / "guide.md").read_text(encoding="utf-8"))
    assert len(claims) >= 6, claims  # the scan finds the claims it checks
    printed = {}
    missing = []
    for commands, quote in claims:
        for command in commands:
            if command not in printed:
                code, out, err = run_cli(command, *runs[command])
                assert code == 0, err
                printed[command] = out + err
            if not printed_form(quote.lower()).search(printed[command].lower()):
                missing.append(f"{command}: {quote!r}")
    assert not missing, f"the guide quotes what these commands do not print: {missing}"


def test_print_claims_and_their_forms_are_read():
    text = ("averaged; `capacity` and `scaling` print it as *similarity* (`P=8: cosine "
            "1.0000`), `tested: 8:1.000, ...`. `evaluate` prints it beside, `cosine ... "
            "(cues ...)`, `cue_cosine` in `--json`, `Score.cue_cosine`. *Exact* is `train` "
            "printed")
    assert print_claims(text) == [
        (("capacity", "scaling"), "similarity"), (("capacity", "scaling"), "P=8: cosine 1.0000"),
        (("capacity", "scaling"), "tested: 8:1.000, ..."), (("evaluate",), "cosine ... (cues ...)")]
    assert printed_form("P=8: cosine 1.0000").search("[0.1 s] single P=16: cosine 0.9984")
    assert printed_form("cosine ... (cues ...)").search("cosine 0.9867 (cues 0.791)  exact")
    assert not printed_form("similarity").search("P=8: cosine 1.0000")
    assert printed_form("... array(s) of 64x64").search("4160 weights, 2 arrays of 64x64")


def _glossary_terms() -> set[str]:
    """The terms the glossary's entries open with, ``* **Pattern, N, P.**``: lower case."""
    return {term.strip().lower() for head in re.findall(r"^\* \*\*(.+?)\.\*\*", _glossary(),
                                                        re.MULTILINE)
            for term in head.split(",")}


def test_the_glossary_names_every_value_of_the_options_that_shape_a_memory():
    """The README opened with "Hopfield-style associative memories" and the guide spoke of
    one-layer and multilayer memories, of H and of the adaptive rule's bias row (`demo`
    prints `with bias row`), none of which the glossary defined: a newcomer met them first in
    the middle of a paragraph. The glossary has an entry for each of those terms, and names
    (in backticks or italics) every value of the options that say what memory is trained and
    how it recalls, as the code lists them: a value added later needs its words there too.
    The chip's own errors too: the guide spoke of programming noise, write error, read noise
    and conductance levels from its third section on, and defined them only in the middle of
    the Chips section."""
    from xbarmem.data.patterns import KINDS
    from xbarmem.hardware.chip import FAULT_MODELS, preset_names
    from xbarmem.learning.adaptive import OBJECTIVES
    from xbarmem.names import ACTIVATIONS, ARCHS, MODES, RECIPES, RULE_NAMES

    glossary = _glossary()
    values = [*ARCHS, *RULE_NAMES, *RECIPES, *OBJECTIVES, *MODES, *ACTIVATIONS, *KINDS,
              *FAULT_MODELS, *preset_names()]
    unnamed = [v for v in values  # `single`, `--arch single` or *single*
               if not re.search(rf"`(--[a-z-]+ )?{re.escape(v)}`|\*{re.escape(v)}\*", glossary)]
    assert not unnamed, f"the glossary of docs/guide.md does not name {unnamed}"
    terms = _glossary_terms()
    assert {"pattern", "n", "p", "array"} <= terms  # the scan reads the entries' heads
    undefined = {"associative memory", "neuron", "weight", "multilayer", "h",
                 "bias row", "programming", "write error", "read noise", "levels"} - terms
    assert not undefined, f"no glossary entry for {sorted(undefined)}"


def _shared_option_row(option: str) -> str:
    """The row of the guide's table "Options the commands share" whose first cell is
    ``option``."""
    text = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith(f"| `{option}")]
    assert len(rows) == 1, f"no single row {option!r} in the guide's shared options"
    return rows[0]


def test_the_guide_names_every_corruption_with_its_default_level():
    """The guide's shared options named `flip` and `gaussian` only: a newcomer met
    `--corruption occlude` and `salt-pepper` in `--help` alone, and not what their `--level`
    means or its default. The row names every kind the code takes, each followed by what
    its level is and its default as the code has it (``names.DEFAULT_LEVELS``; the flips of
    capacity searches and scaling runs, ``names.SEARCH_FLIPS``)."""
    from xbarmem.names import CORRUPTION_METHODS, DEFAULT_LEVELS, SEARCH_FLIPS

    row = _shared_option_row("--corruption KIND --level X")
    def given(kind: str) -> bool:
        return bool(re.search(rf"`{re.escape(kind)}` \([^()]*default {DEFAULT_LEVELS[kind]:g}[,)]",
                              row))

    unnamed = [kind for kind in CORRUPTION_METHODS if not given(kind)]
    assert not unnamed, f"the guide's --corruption row gives no level and default of {unnamed}"
    searches = f"in `capacity` and `scaling` {SEARCH_FLIPS:g})"
    assert searches in row, f"the guide's --corruption row does not say {searches!r}"


# ------------------------------------------------------------------ architecture.md and the tree
SRC = ROOT / "src" / "xbarmem"


def _architecture_table() -> list[tuple[str, str]]:
    """The rows of architecture.md's "Where things live" table: (first column, second)."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^\| (.+?) \| (.+) \|$", text,
                                                         re.MULTILINE)
            if not m.group(1).startswith(("module", "---"))]


def _modules() -> set[str]:
    """Every module of the package as architecture.md names it (``hardware/chip``,
    ``experiments/reproduce/report``); packages' ``__init__`` and ``cli/__main__`` are not
    modules of their own."""
    names = {path.relative_to(SRC).with_suffix("").as_posix() for path in SRC.rglob("*.py")}
    return {name for name in names if not name.endswith(("__init__", "cli/__main__"))}


def architecture_problems() -> list[str]:
    """Modules of the tree that architecture.md's table does not name, and modules it names that
    the tree does not hold. A row names its modules in its first column (``hardware/chip``), or,
    for a row ``pkg/*``, as backticked words of its second column (``circuit``); a backticked
    ``pkg/module`` anywhere in the table names that module."""
    modules, named, problems = _modules(), set(), []
    for first, second in _architecture_table():
        paths = re.findall(r"`([\w/*]+)`", first)
        paths += [p for p in re.findall(r"`([a-z_]+/[a-z_/]+)`", second) if "/" in p]
        for path in paths:
            if path.endswith("/*"):
                package = path[:-2]
                words = set(re.findall(r"`([a-z_]+)/?`", second))
                named |= {m for m in modules if m.startswith(package + "/")
                          and set(m[len(package) + 1:].split("/")) <= words}
            elif path.rstrip("/") in modules or (SRC / path).is_dir():
                named.add(path.rstrip("/"))
            else:
                problems.append(f"names `{path}`, which the tree does not hold")
    problems += [f"does not name `{m}`" for m in sorted(modules - named)]
    return problems


def test_architecture_names_every_module_of_the_tree_and_no_other():
    """docs/architecture.md's table is where a reader looks a module up: a module added since
    (``hardware/levels``, ``learning/quantise``, ``evaluation/checkpoint``) was in no row, and a
    module renamed or removed would still be named."""
    problems = architecture_problems()
    assert not problems, "docs/architecture.md " + "; ".join(problems)


def test_architecture_layers_are_the_import_contract():
    """The layer diagram of architecture.md is the import-linter contract of pyproject.toml,
    layer by layer from the top, each layer's modules in the same order."""
    import tomllib

    contract = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = [[name.strip().removeprefix("xbarmem.") for name in layer.split("|")]
              for layer in contract["contracts"][0]["layers"]]
    diagram = next(b for b in blocks(ROOT / "docs" / "architecture.md") if b.lang == "")
    drawn = [[name.strip() for name in re.split(r"  +", line)[0].split("|")]
             for line in diagram.text.splitlines()]
    assert drawn == layers


def test_architecture_check_sees_a_missing_and_an_unknown_module(monkeypatch):
    rows = [("`hardware/chip`", "chips"), ("`energy/*`", "`circuit`, `model`; see `nope/gone`")]
    monkeypatch.setattr(sys.modules[__name__], "_architecture_table", lambda: rows)
    problems = architecture_problems()
    assert "names `nope/gone`, which the tree does not hold" in problems
    assert "does not name `hardware/faults`" in problems
    assert "does not name `energy/circuit`" not in problems
    assert "does not name `energy/measure`" in problems


# ------------------------------------------------------------------------ the README's commands
def readme_commands() -> list[str]:
    """The commands of the README's table (``| `demo` | what it does |``), in its order."""
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"^\| `([a-z-]+)` \|", readme, re.MULTILINE)


def test_readme_lists_every_command_in_the_order_help_shows_them():
    """The README's table of commands is the one a newcomer reads first: it lists the commands
    of ``xbarmem --help``, no other, in the same order (it had `export` and `adapt` after
    `circuit`, where ``--help`` shows them after `chip`)."""
    import click
    import typer

    from xbarmem import cli

    root = typer.main.get_command(cli.app)
    shown = [name for name in root.list_commands(click.Context(root))
             if not root.commands[name].hidden]
    assert len(shown) >= 15 and readme_commands() == shown


def _preset_rows() -> dict[str, str]:
    """The guide's table of chip presets: name -> its values column."""
    guide = (ROOT / "docs" / "guide.md").read_text()
    table = guide[guide.index("| preset | what | values |"):]
    table = table[:table.index("\n\n")]
    return {m.group(1): m.group(2) for m in re.finditer(r"^\| `([\w-]+)` \| .+? \| (.*) \|$",
                                                        table, re.MULTILINE)}


def test_the_guides_preset_table_is_the_shipped_presets_with_their_values():
    """The guide's table of presets lists every shipped preset, and every number it gives of
    one is a value of that preset's file (a window, noise in uS, a stuck rate in %): a preset
    retuned in its TOML file would leave the table quoting the old value."""
    from xbarmem.hardware.chip import load_preset, preset_names

    rows = _preset_rows()
    assert sorted(rows) == sorted(preset_names())
    for name, values in rows.items():
        device = load_preset(name).device
        known = {round(v * 1e6, 6) for v in (device.g_min, device.g_max, device.write_noise,
                                              device.read_noise)}
        known |= {round(v * 100, 6) for v in (device.p_stuck_on, device.p_stuck_off)}
        quoted = {float(x) for x in re.findall(r"\d+(?:\.\d+)?", values)}
        assert quoted <= known, f"guide.md's {name} row quotes {sorted(quoted - known)}"


def quoted_record_values(text: str, records: dict) -> list[tuple[str, list[str]]]:
    """Outside the measured regions, numbers quoted right after a record's name, "`NAME`:
    2.75x / 3.00x / 1.60x" (up to the next bracket, semicolon or full stop): each entry with
    the numbers its record does not hold."""
    import json

    text = " ".join(re.sub(r"<!-- measured:.*?<!-- /measured -->", "", text, flags=re.S).split())
    found = []
    for m in re.finditer(r"`([a-z0-9-]+)`: ([^();]+?)(?=[();]|\. |$)", text):
        if m.group(1) not in records:
            continue
        held = json.dumps(records[m.group(1)]["values"])
        numbers = re.findall(r"\d+\.\d+", m.group(2))
        found.append((m.group(1), [n for n in numbers
                                   if n not in held and n.rstrip("0").rstrip(".") not in held]))
    return found


def test_numbers_quoted_after_a_records_name_are_that_records():
    """reproduction.md quoted the quick run's (b) ratios as "`reproduce-quick`: 2.50x / 3.00x /
    1.60x" after that record was re-measured at 2.75x: a number quoted beside a record's name
    outside its region is checked against the record."""
    import json

    records = json.loads((ROOT / "docs" / "measured.json").read_text())
    quoted = [(path.name, name, missing) for path in DOC_FILES
              for name, missing in quoted_record_values(path.read_text(), records)]
    assert len(quoted) >= 2  # the scan finds the quotes it checks
    stale = [q for q in quoted if q[2]]
    assert not stale, f"numbers not in the record they are quoted from: {stale}"
    assert quoted_record_values("(`demo`: 0.95 / 1.25x; more)", {"demo": {"values": {
        "cosine": 0.95}}}) == [("demo", ["1.25"])]


def quoted_record_dates(text: str, records: dict) -> list[tuple[str, str, str]]:
    """Outside the measured regions, the date written beside a record's name, "(`NAME`,
    2026-12-05, 1 torch thread)" or "(`NAME` below: 2026-12-04)" (the first date up to the
    next bracket or semicolon), with the record's own: (name, quoted, recorded). A date read
    "of" (the record *of* an earlier day, a run *of* another) names another run and is not
    taken."""
    text = " ".join(re.sub(r"<!-- measured:.*?<!-- /measured -->", "", text, flags=re.S).split())
    found = []
    for m in re.finditer(r"`([a-z0-9][a-z0-9.-]*)`(?: \()?([^();]{0,60})", text):
        date = re.search(r"(?<!of )\b(\d{4}-\d{2}-\d{2})\b", m.group(2))
        if m.group(1) in records and date and not re.search(r"\bof $", m.group(2)[:date.start()]):
            found.append((m.group(1), date.group(1), records[m.group(1)]["date"][:10]))
    return found


#: pages whose history is dated on purpose (the log) or generated from the records (measured.md)
DATED_HISTORY = ("performance-log.md", "measured.md")


def test_the_date_quoted_beside_a_records_name_is_that_records():
    """reproduction.md quoted the pinv scaling row "in `scaling-pinv` (2026-12-03, 1 torch
    thread)" after that record was re-measured on 2026-12-05, and performance.md dated
    `levers-second-order` and `memory-n1024` a day or two before their regions: a reader
    looking for the run quoted finds another day's."""
    import json

    records = json.loads((ROOT / "docs" / "measured.json").read_text())
    quoted = [(path.name, *q) for path in DOC_FILES if path.name not in DATED_HISTORY
              for q in quoted_record_dates(path.read_text(), records)]
    assert len(quoted) >= 5  # the scan finds the dates it checks
    stale = [q for q in quoted if q[2] != q[3]]
    assert not stale, f"dates not the record's (page, record, quoted, recorded): {stale}"


@pytest.mark.parametrize("text, expected", [
    ("(`demo`, 2026-12-01, 1 torch thread)", [("demo", "2026-12-01", "2026-12-05")]),
    ("in `demo` (2026-12-03, 1 torch thread)", [("demo", "2026-12-03", "2026-12-05")]),
    ("(`demo` below: 2026-12-05; 453 MB on 2026-12-03)", [("demo", "2026-12-05", "2026-12-05")]),
    ("(`demo`'s record of 2026-12-02 01:44 UTC)", []),
    ("(`demo`, the run of 2026-12-02)", []),
    ("`demo`; 2026-12-01", []),
    ("<!-- measured: demo -->\n`demo`, 2026-12-01\n<!-- /measured -->", []),
])
def test_record_dates_are_read_beside_the_name_only(text, expected):
    records = {"demo": {"date": "2026-12-05 14:32 UTC"}}
    assert quoted_record_dates(text, records) == expected


def reachable_pages(start: Path) -> set[Path]:
    """The markdown pages a reader reaches from ``start`` by following links."""
    seen, todo = set(), [start.resolve()]
    while todo:
        page = todo.pop()
        if page in seen or page.suffix != ".md" or not page.is_file():
            continue
        seen.add(page)
        for target in re.findall(r"\]\(([^)#:\s]+)(?:#[^)\s]*)?\)", page.read_text()):
            todo.append((page.parent / target).resolve())
    return seen


def test_every_page_of_the_docs_is_reached_from_the_readme():
    """docs/history/'s four pages were named only as text (`docs/history/`), linked from no
    page: a reader of the README could not reach them."""
    reached = reachable_pages(ROOT / "README.md")
    unreached = [str(p.relative_to(ROOT)) for p in DOC_FILES if p.resolve() not in reached]
    assert not unreached, f"pages no link leads to from README.md: {unreached}"


#: the commands whose printed step counts the guide quotes (``N steps (...)``), each run here:
#: a quote with no command among these fails the test below until its command is added
STEP_COMMANDS = (
    ("train", "--data", "digits", "--patterns", "32", "--recipe", "fast", "-o", "fast.safetensors"),
    ("train", "--data", "mnist", "--one-per-class", "--chip", "rram", "--fault-map", "map.npz",
     "--rule-option", "max_steps=200", "--rule-option", "finetune_steps=0", "-o", "m.safetensors"),
    ("train", "--arch", "multilayer", "--hidden", "16", "--data", "digits", "--patterns", "10",
     "-o", "ml.safetensors"),
)


def quoted_step_counts(text: str) -> list[str]:
    """The step counts a page quotes from ``train``'s summary (``300 steps (100 flip + 200
    basin)``, with what follows in the same backticks), whitespace folded."""
    found = re.findall(r"`(\d+ steps \([^`]*)`|prints (\d+\s+steps \([^)]*\))", text)
    return [" ".join((a or b).split()) for a, b in found]


def test_the_guides_quoted_step_counts_are_what_train_prints(tmp_path, monkeypatch, run_cli):
    quotes = quoted_step_counts((ROOT / "docs" / "guide.md").read_text(encoding="utf-8"))
    assert len(quotes) >= 3, quotes
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("chip", "faults", "--chip", "rram", "--arrays", "2", "--faults", "0.3",
                           "--seed", "1", "--out", "map.npz")
    assert code == 0, err
    printed = []
    for words in STEP_COMMANDS:
        code, out, err = run_cli(*words)
        assert code == 0, err
        printed.append(" ".join(out.split()))
    missing = [q for q in quotes if not any(q in text for text in printed)]
    assert not missing, (f"the guide quotes step counts no command prints: {missing} "
                         f"(printed: {printed})")


def test_quoted_step_counts_are_found_in_backticks_and_after_prints():
    text = ("prints `200 steps (100 basin + 100 fine-tune)`. The model above prints 300\n"
            "steps (100 flip + 200 basin). It says `400 steps (300 basin), converged=False`.")
    assert quoted_step_counts(text) == ["200 steps (100 basin + 100 fine-tune)",
                                        "300 steps (100 flip + 200 basin)",
                                        "400 steps (300 basin), converged=False"]


def test_every_where_operator_is_explained_in_the_guide_and_the_help(run_cli):
    """``~`` was listed beside ``!=`` (``results -h``: "also != < <= > >= ~") and nowhere said
    what it does (SQL LIKE: ``rule~p`` matched nothing, ``rule~p%`` the rules starting with
    p): every operator ``--where`` parses is named in the guide's **Fields.** item, and the
    help of ``results`` and ``plot`` says what a ``~`` pattern's ``%`` and ``_`` stand for."""
    from xbarmem.experiments.fields import _OPS

    guide = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    fields = guide[guide.index("* **Fields.**"):]
    fields = " ".join(fields[:fields.index("\n* **", 1)].split())
    missing = [op for op in _OPS if f"`{op}`" not in fields]
    assert not missing, f"the guide's Fields item does not name {missing}"
    assert "`%` stands for any text and `_` for one character" in fields
    for command in ("results", "plot"):
        code, text, _ = run_cli(command, "-h")
        assert code == 0 and "% any text, _ one character" in " ".join(
            text.replace("│", " ").split()), command


def test_the_guides_list_of_sweep_and_command_defaults_is_the_codes():
    """A capacity sweep's row and `capacity` / `scaling` differ in four defaults (level, pool,
    resolution, cue budget) that the guide named one of (the level): its list quotes each
    side's value, here checked against the values the code uses."""
    import inspect

    from xbarmem.cli.capacity_checks import search_protocol
    from xbarmem.data.sources import DRAWN_POOL
    from xbarmem.evaluation.scaling import run_scaling
    from xbarmem.experiments.trial_options import OPTIONS
    from xbarmem.names import DEFAULT_LEVELS

    guide = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    part = guide[guide.index("A capacity trial's defaults are not all"):]
    part = " ".join(part[:part.index("\n\n", part.index("* `level"))].split())
    scaling = inspect.signature(run_scaling).parameters
    quoted = [f"`level = {search_protocol('binary', None, None, 1, 0).level}`",
              f"{DEFAULT_LEVELS['flip']:.0%} flips",
              f"`pool = {DRAWN_POOL}`", f"`pool = {OPTIONS['pool'].default}`",
              f"`resolution = {scaling['resolution'].default}`",
              f"`resolution = {OPTIONS['resolution'].default}`",
              f"`cue_budget = {scaling['cue_budget'].default}`",
              f"`cue_budget = {OPTIONS['cue_budget'].default}`"]
    assert [q for q in quoted if q not in part] == []
