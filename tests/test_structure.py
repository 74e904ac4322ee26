"""Structure rules of the source tree: short functions, subpackages that say what they hold."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "xbarmem"

#: The longest a function may be (lines of its body, docstring included).
MAX_FUNCTION_LINES = 60

#: Functions allowed to be longer, with the reason (see the session notes).
LONG_FUNCTIONS: dict[str, str] = {}


def _functions():
    for path in sorted(SRC.rglob("*.py")):
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
    for init in sorted(SRC.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert len(doc.split()) >= 12, f"{init.parent.name}/__init__.py needs a docstring"
        assert "import" in doc.lower(), f"{init.parent.name}: say what it may import"
