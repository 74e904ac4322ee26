"""What the benchmarks' command lines share: a parser named as the benchmark is run, whose
errors are one line, the check of the results file made before any work, and a refusal by
xbarmem itself in one line (:func:`one_line_refusals`)."""

from __future__ import annotations

import argparse
import functools
import math
import os
import platform
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from xbarmem.checks import MAX_COUNT, MAX_SEED
from xbarmem.errors import XbarmemError


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``prog: error: ...``, exit 2): the usage
    ``--help`` shows is not repeated above it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def one_line_refusals(main: Callable[[list[str] | None], int]
                      ) -> Callable[[list[str] | None], int]:
    """``main`` of a benchmark's command line, with what xbarmem refuses while it runs (an
    :class:`~xbarmem.errors.XbarmemError`: a request above the memory limit, patterns a source
    does not have) one line ``error: ...`` and exit 2, not a traceback. The options are checked
    before any work by their types; this covers what only the library can judge."""
    @functools.wraps(main)
    def run(argv: list[str] | None = None) -> int:
        try:
            return main(argv)
        except XbarmemError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return run


def _integer(text: str) -> int:
    """``text`` as an integer, else the option's error (an argparse ``type``'s first step)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def count(upper: int = MAX_COUNT) -> Callable[[str], int]:
    """An argparse ``type``: an integer in ``1 .. upper`` (a count: steps, cues, threads,
    patterns), else the option's one-line error (exit 2) before any work."""
    def parse(text: str) -> int:
        value = _integer(text)
        if not 1 <= value <= upper:
            raise argparse.ArgumentTypeError(f"must be >= 1, got {value}" if value < 1 else
                                             f"must be <= {upper}, got {value}")
        return value
    parse.__name__ = "count"
    return parse


def seed(text: str) -> int:
    """An argparse ``type``: a seed, an integer in ``0 ..`` 2**32 - 1 (xbarmem's seeds)."""
    value = _integer(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be in 0..{MAX_SEED}, got {value}")
    return value


def number(low: float, high: float = math.inf, *,
           low_open: bool = False) -> Callable[[str], float]:
    """An argparse ``type``: a finite number in ``[low, high]`` (``(low, high]`` with
    ``low_open``), else the option's one-line error (exit 2) before any work."""
    lower = f"{'>' if low_open else '>='} {low:g}"
    wanted = lower if math.isinf(high) else f"{lower} and <= {high:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not math.isfinite(value) or value < low or (low_open and value == low) \
                or value > high:
            raise argparse.ArgumentTypeError(f"must be a finite number {wanted}, got {text}")
        return value
    parse.__name__ = "number"
    return parse


def _plain(text: str) -> str:
    """Docstring text as help prints it: one paragraph, no reST markup."""
    text = re.sub(r":\w+:`~?([^`]*)`", r"\1", " ".join(text.split()))
    return text.replace("``", "")


def parser(module: str, doc: str | None) -> Parser:
    """The parser of ``python -m benchmarks.MODULE`` (``module`` "" for ``python -m
    benchmarks``): named so in its usage and errors, described by the first paragraph of
    ``doc`` (without its leading ``python -m ...:``) and closed by the sentences of ``doc``
    from "Results go to" on (where the results go and how long a run takes)."""
    paragraphs = (doc or "").split("\n\n")
    description = re.sub(r"^``python -m [^`]*``:\s*", "", paragraphs[0].strip())
    ending = next((p[p.index("Results go to"):] for p in paragraphs if "Results go to" in p), "")
    description, ending = _plain(description), _plain(ending)
    return Parser(prog="python -m benchmarks" + (f".{module}" if module else ""),
                  description=description[:1].upper() + description[1:],
                  epilog=ending or None)


#: where a benchmark writes its results unless told (``--json-out``)
RESULTS = Path(__file__).resolve().parent / "results"


def threads_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--threads`` (torch threads, an integer >= 1, default 1) to ``parser``."""
    parser.add_argument("--threads", type=count(), default=1, help="torch threads (default 1)")


def results_options(parser: argparse.ArgumentParser, name: str, *, printed: bool = True) -> None:
    """Add a benchmark's output options to ``parser``: ``--json`` (print the result as JSON;
    only where ``printed``) and ``--json-out`` (the result file, by default
    ``benchmarks/results/NAME.json``)."""
    if printed:
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--json-out", type=Path, default=RESULTS / f"{name}.json",
                        help=f"result file (default: benchmarks/results/{name}.json)")


def json_out_problem(path: Path) -> str | None:
    """Why the results cannot be written to ``path`` (None when they can): a folder, a path
    under a file, or a place this process may not write. Checked without writing anything,
    before the run (folders are made when the results are written)."""
    if path.is_dir():
        return f"--json-out {path} is a folder; give a file name"
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"--json-out {path}: {parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists()
                                                     and not os.access(path, os.W_OK)):
        return f"--json-out {path}: not writable here"
    return None


def json_out_ok(path: Path | None) -> bool:
    """True when the results can be written to ``path`` (or ``path`` is None); else False and
    one line on stderr naming the problem (:func:`json_out_problem`)."""
    problem = None if path is None else json_out_problem(Path(path))
    if problem:
        print(f"error: {problem}", file=sys.stderr)
    return problem is None


def cpu() -> str:
    """The CPU's model name and whether it has AVX-512 (another kind of CPU can move results
    in their last digits, and speed ratios more)."""
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return platform.processor() or platform.machine() or "unknown"
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                 if line.startswith("model name")), platform.machine() or "unknown")
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines()
                  if line.startswith("flags")), [])
    return f"{name}, {'with' if 'avx512f' in flags else 'no'} AVX-512"


def machine() -> dict[str, str | int | None]:
    """What a result file says of the machine that measured it: the CPU (:func:`cpu`), its
    logical CPU count, the operating system, and the Python and torch versions."""
    import torch

    return {"cpu": cpu(), "cpu_count": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "torch": torch.__version__}


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True,
                              timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def code() -> dict[str, str | None]:
    """What a result file says of the code that measured it: the xbarmem version and, when the
    xbarmem imported comes from a git checkout, its commit (short hash, ``+dirty`` when
    ``src/`` or ``benchmarks/`` differ from it; None otherwise)."""
    import xbarmem

    top = _git("-C", str(Path(xbarmem.__file__).resolve().parent), "rev-parse",
               "--show-toplevel")
    head = None if not top else _git("-C", top, "rev-parse", "--short", "HEAD")
    if head:
        dirty = _git("-C", top, "status", "--porcelain", "--untracked-files=no", "--", "src",
                     "benchmarks")
        head += "+dirty" if dirty else ""
    return {"xbarmem": xbarmem.__version__, "commit": head}
