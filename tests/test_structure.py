"""Structure rules of the source tree: short functions, subpackages that say what they hold."""

from __future__ import annotations

import ast
import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "xbarmem"

#: The longest a function may be (lines of its body, docstring included).
MAX_FUNCTION_LINES = 60

#: Functions allowed to be longer, with the reason (see the session notes).
LONG_FUNCTIONS: dict[str, str] = {}


def _functions():
    paths = sorted(SRC.rglob("*.py"))
    assert len(paths) >= 50, SRC  # a wrong SRC would check nothing
    for path in paths:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path.relative_to(SRC).as_posix(), node


def test_functions_are_short():
    long = []
    for where, node in _functions():
        length = node.end_lineno - node.lineno + 1
        name = f"{where}:{node.name}"
        if length > MAX_FUNCTION_LINES and name not in LONG_FUNCTIONS:
            long.append(f"{name} ({length} lines)")
    assert not long, "functions longer than 60 lines: " + ", ".join(long)


def test_every_subpackage_says_what_it_holds_and_may_import():
    inits = sorted(SRC.glob("*/__init__.py"))
    assert len(inits) >= 8, SRC
    for init in inits:
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert len(doc.split()) >= 12, f"{init.parent.name}/__init__.py needs a docstring"
        assert "import" in doc.lower(), f"{init.parent.name}: say what it may import"


def _lint_imports(tree: Path) -> subprocess.CompletedProcess:
    """import-linter's contracts of ``tree/pyproject.toml`` checked against ``tree/src``, in the
    Python running the tests: the ``lint-imports`` on PATH may be another interpreter's (a pyenv
    shim, a venv with system packages), which checks the xbarmem installed there and passes
    whatever this tree imports."""
    code = ("import pathlib, sys, xbarmem\n"
            "assert pathlib.Path(xbarmem.__file__).resolve().is_relative_to("
            "pathlib.Path('src').resolve()), xbarmem.__file__\n"
            "from importlinter.cli import lint_imports\n"
            "sys.exit(lint_imports(no_cache=True, no_logo=True))")
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True,
                          text=True, timeout=120)


def test_import_contracts_hold_for_this_tree():
    result = _lint_imports(SRC.parents[1])
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts_refuse_an_upward_import(tmp_path):
    """The layers contract is a real check: memory importing evaluation breaks it."""
    shutil.copytree(SRC.parent, tmp_path / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copy(SRC.parents[1] / "pyproject.toml", tmp_path)
    with (tmp_path / "src" / "xbarmem" / "memory" / "single.py").open("a") as f:
        f.write("from xbarmem.evaluation import curve  # noqa: E402\n")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "xbarmem.memory.single -> xbarmem.evaluation.curve" in result.stdout


def _weak_checks(tree: ast.AST):
    """Checks in a test module that cannot fail, or catch any error at all."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            test = node.test
            # x == x (calls excluded: f() == f() checks that f is deterministic)
            same = (isinstance(test, ast.Compare) and len(test.ops) == 1
                    and ast.dump(test.left) == ast.dump(test.comparators[0])
                    and not any(isinstance(n, ast.Call) for n in ast.walk(test.left)))
            anything = any(isinstance(n, ast.Call) and ast.unparse(n.func) == "isinstance"
                           and ast.unparse(n.args[-1]) == "object" for n in ast.walk(test))
            if isinstance(test, ast.Constant) or same or anything:
                yield node.lineno, ast.unparse(test)
        elif (isinstance(node, ast.Call) and ast.unparse(node.func).endswith("raises")
              and node.args and ast.unparse(node.args[0]) in ("Exception", "BaseException")):
            yield node.lineno, ast.unparse(node)


def test_tests_can_fail_and_name_the_error_they_expect():
    """`assert x == x`, `assert True`, `isinstance(x, object)` pass whatever the code does, and
    `pytest.raises(Exception)` passes on a raw numpy/torch error: name the xbarmem error."""
    files = sorted(Path(__file__).parent.rglob("test_*.py"))
    assert len(files) > 30
    weak = [f"{path.name}:{line}: {text}" for path in files
            for line, text in _weak_checks(ast.parse(path.read_text()))]
    assert not weak, "\n".join(weak)


def test_docstrings_come_first():
    """A string placed after a statement is no docstring: ``help()`` and the API docs show
    nothing (``FaultMap.check_chip`` had its check before its docstring)."""
    late = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                late += [f"{path.relative_to(SRC).as_posix()}:{st.lineno} ({node.name})"
                         for st in node.body[1:] if isinstance(st, ast.Expr)
                         and isinstance(st.value, ast.Constant) and isinstance(st.value.value, str)]
    assert not late, "strings after the first statement: " + ", ".join(late)


def _blank_lines_above(lines: list[str], first: int) -> int:
    """The longest run of blank lines directly above line ``first`` (1-based), among the
    comment lines there (a section comment may stand between the two blank lines and the
    definition)."""
    i, run, longest = first - 2, 0, 0
    while i >= 0 and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
        run = run + 1 if not lines[i].strip() else 0
        longest, i = max(longest, run), i - 1
    return longest


def test_top_level_definitions_stand_two_blank_lines_apart():
    """Every top-level function and class, and every statement after one, has exactly two blank
    lines above it (pycodestyle's E302/E303/E305, preview-only rules in ruff): merges had left
    one, three or four in places."""
    root = SRC.parents[1]
    paths = sorted([*SRC.rglob("*.py"), *(root / "tests").rglob("*.py"),
                    *(root / "benchmarks").rglob("*.py"), *(root / "scripts").rglob("*.py")])
    defs = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    bad = []
    for path in paths:
        text = path.read_text()
        lines, body = text.splitlines(), ast.parse(text).body
        for before, node in zip(body, body[1:], strict=False):
            if not (isinstance(node, defs) or isinstance(before, defs)):
                continue
            first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
            if _blank_lines_above(lines, first) != 2:
                bad.append(f"{path.relative_to(root)}:{first}")
    assert not bad, bad


def test_counts_are_written_with_counted():
    """A count is written by :func:`xbarmem.checks.counted` (``1 array``, ``2 arrays``), never
    as ``{n} array(s)``: messages of every layer read ``1 network(s), 2 pattern(s)``."""
    import re

    # adjacent string literals read as one (a count and its noun on two lines were missed)
    joined = re.compile(r"\"\s*\n\s*f?\"")
    slip = re.compile(r"\}\s*(?:[A-Za-z/]+ )*[A-Za-z]+\(s\)")
    slips = [f"{path.relative_to(SRC)}: {found.group()}"
             for path in sorted(SRC.rglob("*.py"))
             for found in slip.finditer(joined.sub("", path.read_text()))]
    assert not slips, slips


# ----------------------------------------------------- a vocabulary of names is spelt once
def _vocabularies() -> dict[str, tuple[str, ...]]:
    """The tuples of names :mod:`xbarmem.names` declares (rules, architectures, kinds, modes,
    activations, corruptions, ...): the one place each is written."""
    import xbarmem.names as names

    return {key: value for key, value in vars(names).items() if key.isupper()
            and isinstance(value, tuple) and len(value) >= 2
            and all(isinstance(v, str) for v in value)}


def _checked_literals(tree: ast.AST):
    """String tuples, lists and sets a value is checked against or declared as: the right side
    of ``in`` / ``not in``, an argument of a call (``Choice(...)``, ``check_choice(...)``), an
    assigned or returned value (``lambda: (...)`` too). Loops over a few names (``for mode in
    ("sync", "async")``, the two columns of a table) are layout, not a vocabulary, and are not
    listed."""
    def strings(node):
        # (a None among the names is "not given": ``activation not in (None, "sign", "tanh")``)
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and len(node.elts) >= 2 and all(
                isinstance(e, ast.Constant) and (e.value is None or isinstance(e.value, str))
                for e in node.elts):
            return node
        return None

    for node in ast.walk(tree):
        found = []
        if isinstance(node, ast.Compare):
            found = [c for op, c in zip(node.ops, node.comparators, strict=True)
                     if isinstance(op, (ast.In, ast.NotIn))]
        elif isinstance(node, ast.Call):
            found = [*node.args, *(k.value for k in node.keywords)]
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.Return)) and node.value is not None:
            found = [node.value]
        elif isinstance(node, ast.Lambda):
            found = [node.body]
        for candidate in found:
            literal = strings(candidate)
            if literal is not None:
                yield literal.lineno, {e.value for e in literal.elts if e.value is not None}


def vocabulary_respelt(vocabulary: str, sources: dict[str, str]) -> list[str]:
    """``path:line`` of each place in ``sources`` (``{path: text}``) that writes the names of
    ``xbarmem.names.<vocabulary>`` out again instead of using it."""
    names = set(_vocabularies()[vocabulary])
    return [f"{path}:{line}" for path, text in sources.items()
            for line, values in _literals_in(text) if values == names]


@functools.cache
def _literals_in(text: str) -> tuple[tuple[int, set[str]], ...]:
    """:func:`_checked_literals` of the source ``text``, parsed once per test process (every
    vocabulary reads every module of the package)."""
    return tuple(_checked_literals(ast.parse(text)))


def _sources() -> dict[str, str]:
    return {path.relative_to(SRC).as_posix(): path.read_text() for path in sorted(SRC.rglob("*.py"))
            if path != SRC / "names.py"}


@pytest.mark.parametrize("vocabulary", sorted(_vocabularies()))
def test_each_vocabulary_of_names_is_written_once(vocabulary):
    """A list of names (the pattern kinds, architectures, recall modes, activations) checked
    against in two places drifts apart: the pattern kinds were written in five modules, the
    export command checked ``--mode`` and ``--activation`` against its own copy, in its own
    words. Every check and declaration takes the tuple from :mod:`xbarmem.names`."""
    where = vocabulary_respelt(vocabulary, _sources())
    assert not where, f"names.{vocabulary} written out again at " + ", ".join(where)


@pytest.mark.parametrize(("vocabulary", "code", "found"), [
    ("KINDS", 'KINDS = ("binary", "continuous")', True),
    ("KINDS", 'ok = kind not in ("continuous", "binary")', True),
    ("KINDS", 'parse = names(lambda: ("binary", "continuous"))', True),
    ("ARCHS", 'arch: str = Choice(("single", "multilayer"))', True),
    ("ACTIVATIONS", 'check(x, choices=["sign", "tanh"])', True),
    ("MODES", 'ok = mode in {"sync", "async"}', True),
    ("ACTIVATIONS", 'ok = activation not in (None, "sign", "tanh")', True),
    ("MODES", 'for mode in ("sync", "async"):\n    pass', False),
    ("KINDS", 'ok = kind in ("binary", "continuous", "other")', False),
    ("KINDS", 'from xbarmem.names import KINDS\nok = kind in KINDS', False),
])
def test_a_respelt_vocabulary_is_seen(vocabulary, code, found):
    assert bool(vocabulary_respelt(vocabulary, {"x.py": code})) is found


# --------------------------------------------- each subpackage's "May import" is the truth
#: what a subpackage's docstring means by "the base modules"
BASE_MODULES = {"spec", "seeds", "jsontext", "files", "checks", "limits", "sizes", "names",
                "errors", "version"}


def _contract_layers() -> list[set[str]]:
    """The layers of pyproject.toml's import contract, top first, as top-level module names."""
    import tomllib

    data = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())
    layers = data["tool"]["importlinter"]["contracts"][0]["layers"]
    return [{part.strip().removeprefix("xbarmem.") for part in layer.split("|")}
            for layer in layers]


def _below(package: str) -> set[str]:
    layers = _contract_layers()
    at = next(i for i, layer in enumerate(layers) if package in layer)
    return set().union(*layers[at + 1:])


def may_import_claim(package: str, doc: str) -> set[str]:
    """The top-level modules the docstring ``doc`` of ``package`` says it may import: the names
    from its "May import" up to "never" (or the paragraph's end), "the base modules" read as
    :data:`BASE_MODULES`, "below" as every layer below it in the contract."""
    at = doc.lower().find("may import")
    assert at >= 0, f"{package}: no 'May import' sentence"
    sentence = re.split(r"\n\n|never|[Ww]ithin it", doc[at:])[0]
    known = set().union(*_contract_layers())
    claim = {w for w in re.findall(r"[a-z_]+", sentence) if w in known and w != package}
    if "base modules" in sentence:
        claim |= BASE_MODULES
    if "below" in sentence:
        claim |= _below(package)
    return claim


def imported_modules(package: str) -> set[str]:
    """The top-level xbarmem modules the files of ``package`` import (at the top, inside
    functions or for type checking: the contract counts them all), besides itself."""
    found = set()
    for path in (SRC / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom)
                     else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            found |= {n.split(".")[1] for n in names if n.startswith("xbarmem.")}
    return found - {package}


SUBPACKAGES = sorted(p.parent.name for p in SRC.glob("*/__init__.py"))


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_what_a_subpackage_says_it_may_import_is_true(package):
    """learning's, evaluation's and deploy's docstrings listed a few of the base modules they
    import, checks' left out limits, cli's said nothing: a newcomer reading them would not
    know where a new import may go. The claim holds every module the package imports and none
    the contract refuses it ("the base modules" is read as all ten: a list in parentheses
    after it is not checked)."""
    doc = ast.get_docstring(ast.parse((SRC / package / "__init__.py").read_text())) or ""
    claim = may_import_claim(package, doc)
    unsaid = imported_modules(package) - claim
    assert not unsaid, f"{package} imports {sorted(unsaid)}; its docstring's 'May import' " \
                       f"does not say so"
    refused = claim - _below(package)
    assert not refused, f"{package}'s docstring lets it import {sorted(refused)}, above it"


@pytest.mark.parametrize(("doc", "imports", "holds"), [
    ("May import ``memory`` and ``data``.", {"memory", "data"}, True),
    ("May import ``memory``; never ``data``.", {"memory", "data"}, False),
    ("May import: the base modules only.", {"errors", "files"}, True),
    ("May import: errors only.", {"errors", "files"}, False),
    ("May import: everything below it.", {"memory", "errors"}, True),
])
def test_a_false_may_import_is_seen(doc, imports, holds):
    assert (imports <= may_import_claim("learning", doc)) is holds
