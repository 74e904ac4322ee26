"""On-demand benchmarks of xbarmem against the naive per-network training loop.

Run ``python -m benchmarks [case ...] [--quick] [--json-out FILE]`` from the repository root
(see ``benchmarks/README.md``). Never run as timed tests: the smoke test only checks that the
suite runs and writes well-formed results.

The names below are imported when first used, not with the package: ``python -m
benchmarks.MODULE`` then runs a module that the package has not imported already (which
Python warns about), and ``benchmarks.versus``'s side process, whose ``xbarmem`` is an older
revision's, imports only what it uses.
"""

from __future__ import annotations

import importlib
from typing import Any

#: each public name and the module that defines it
_WHERE = {"CASES": "cases", "BenchConfig": "config", "capacity_counts": "config",
          "DEFAULT_JSON": "runner", "resolve_cases": "runner", "run": "runner"}

__all__ = ["CASES", "DEFAULT_JSON", "BenchConfig", "capacity_counts", "resolve_cases", "run"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'benchmarks' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
