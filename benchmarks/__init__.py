"""On-demand benchmarks of xbarmem against the naive per-network training loop.

Run ``python -m benchmarks [case ...] [--quick] [--json-out FILE]`` from the repository root
(see ``benchmarks/README.md``). Never run as timed tests: the smoke test only checks that the
suite runs and writes well-formed results.
"""

from .cases import CASES
from .config import BenchConfig, capacity_counts
from .runner import DEFAULT_JSON, resolve_cases, run

__all__ = ["CASES", "DEFAULT_JSON", "BenchConfig", "capacity_counts", "resolve_cases", "run"]
