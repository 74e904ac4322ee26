"""Behaviour check for refactors: run CLI commands and compare their JSON with a capture.

The captures in this folder were made with the code before the restructuring (commit 72bfb33,
torch 2.13.0 CPU, 2 torch threads on a 2-core machine), except ``cap-ml``, ``scal-ml``,
``train-ml`` and ``energy-ml``, re-taken on 2026-12-01 when multilayer memories storing binary
patterns got new default training options, and ``demo``, ``demo-digits``, ``cap-adapt``,
``energy`` and ``train-digits``, re-taken later that day when one-layer memories storing binary
patterns did, and ``cap-ml``, ``energy-ml``, ``scal-ml`` and ``train-ml`` again on 2026-12-02
when the multilayer binary fine-tune became shorter, and ``demo``, ``demo-digits``, ``cap-adapt``,
``energy`` and ``train-digits`` again on 2026-12-02 night, when the default one-layer binary
recipe took the bounded flip-averaged stage (on an Intel Xeon with AVX-512; intended changes, see
CHANGELOG.md), and ``cap-pinv``, ``cap-adapt``, ``cap-ml``, ``scal-pinv`` and ``scal-ml`` on
2026-12-03, when capacity searches began to store distinct patterns only (``scal-ml``'s N = 16
capacity was the whole pool of 10,000, of 509 distinct images; one ``cap-pinv`` point had a
repeat) and to record ``pool_distinct`` (``scaling``: ``data``); ``scal-pinv``'s
``cue_budget`` was set from 1024 to 0 by hand on 2026-12-07, when a classic rule's searches
began to record the budget that applies to them (none), as a sweep's rows do. Timing
fields are ignored; every other value must match exactly (floats within 1e-9 relative), except
where a named, intended change is listed in ``INTENDED``.

    python tests/behaviour/check.py            # run every case, compare, print differences
    python tests/behaviour/check.py demo energy  # only these cases
    python tests/behaviour/check.py --capture   # (re)write the captures from the current code
    python tests/behaviour/check.py --against REV [CASE ...]  # REV's code on this machine

The captures hold what one machine computed: training and even the pseudo-inverse move in the
last bits with the CPU's floating-point kernels, and recall (a sign of a sum) then moves
visibly (on an AVX-512 machine of 2026-12-02 ``cap-pinv`` and ``scal-pinv`` differ from their
captures at the commit that made them). On another machine, ``--against REV`` runs every case
with the code of git revision ``REV`` (exported to a temporary folder) and with the current
tree, one after the other, and compares the two.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the repository root: benchmarks
from benchmarks.versus import export_source  # noqa: E402  (one exporter for both tools)

#: name -> CLI arguments (after ``xbarmem``); ``{tmp}`` is a fresh folder per run. The captures
#: were made with the old option names (--chips, --side, --n, --patterns SOURCE, --hidden
#: ratio:1); these are the same runs in the new vocabulary.
CASES: dict[str, list[str]] = {
    "demo": ["demo", "--json", "--out", "{tmp}"],
    "demo-digits": ["demo", "--json", "--data", "digits", "--trials", "2", "--seed", "10",
                    "--out", "{tmp}"],
    "cap-pinv": ["capacity", "--rule", "pinv", "--data", "digits", "--trials", "2",
                 "--threshold", "0.9,0.95,0.99", "--json"],
    "cap-adapt": ["capacity", "--arch", "single", "--data", "random", "--neurons", "25",
                  "--threshold", "0.95", "--trials", "1", "--probes", "5", "--json"],
    "cap-ml": ["capacity", "--arch", "multilayer", "--hidden", "16", "--data", "random",
               "--neurons", "16", "--threshold", "0.9", "--trials", "1", "--probes", "5",
               "--json"],
    # the default circuit became generic-rram; the captures used paper-calibrated
    # (without --out: a single-size run writes no file, and `energy` refuses --out there)
    "energy": ["energy", "--neurons", "64", "--circuit", "paper-calibrated", "--json"],
    "energy-ml": ["energy", "--neurons", "64", "--arch", "multilayer", "--hidden", "32",
                  "--circuit", "paper-calibrated", "--json"],
    "energy-sizes": ["energy", "--sizes", "16,64", "--circuit", "paper-calibrated", "--json",
                     "--out", "{tmp}"],
    "scal-pinv": ["scaling", "--arch", "single", "--rule", "pinv", "--kind", "binary",
                  "--sizes", "64,144,256", "--threshold", "0.99", "--trials", "2", "--probes",
                  "10", "--json", "--out", "{tmp}"],
    "scal-ml": ["scaling", "--arch", "multilayer", "--kind", "binary", "--sizes", "16,36",
                "--hidden", "8", "--threshold", "0.9", "--probes", "3", "--rule-options",
                '{"max_steps": 200, "finetune_steps": 50}', "--json", "--out", "{tmp}"],
    "train-digits": ["train", "--data", "digits", "--patterns", "10", "--out",
                     "{tmp}/m.safetensors", "--json"],
    "train-ml": ["train", "--data", "digits", "--patterns", "10", "--arch", "multilayer",
                 "--hidden", "32", "--out", "{tmp}/m.safetensors", "--json"],
}

#: every command above computes with ``--threads`` torch threads (default 1 since the CLI
#: records it); the captures were made with 2
THREADS = ["--threads", "2"]

#: dotted key paths (``[]`` for any list index) whose differences are intended, with the reason.
INTENDED: dict[str, str] = {
    ".threads": "added: the torch thread count every result records",
    ".versions": "added: the xbarmem, torch and numpy versions every result records",
    ".layers[].per_step": "added: each layer's share of one recall step (energy)",
    ".rows[].spread": "added: std, min and max over cues of each energy --sizes mean",
    ".fit_notes": "added: why a scaling fit leaves sizes out, or why a threshold has none",
}

_TIMING = ("seconds", "time_s", "elapsed")

_SEARCH = {".settings.pool": "data", ".settings.pool_size": "pool"}
_ENERGY = {".settings.patterns": "data", ".settings.faults": "fault_rate"}
#: keys renamed since a capture (one name per concept across the --json outputs), per case,
#: one dict per round of renames in the order they were made (a revision between two rounds
#: has the first's names): dotted path in the capture -> the key's name now; compared under
#: the new name
RENAMED: list[dict[str, dict[str, str]]] = [
    {"demo": {".settings.patterns": "pattern_set", ".settings.probes_per_pattern": "probes",
              ".settings.chips": "trials", ".settings.faults": "fault_rate"},
     "cap": {f".results[]{k}": v for k, v in _SEARCH.items()},
     "scal": {**{f".runs[]{k}": v for k, v in _SEARCH.items()},
              ".settings.pool": "data_description", ".settings.pool_size": "pool"},
     "energy": {**_ENERGY, ".rows[].n": "n_neurons", ".rows[].patterns": "n_patterns"},
     "train": {".patterns": "data"}},
    # the architecture word apart from the layer widths: `arch` is single / multilayer,
    # `layout` the widths (train's `arch` held a multilayer memory's widths, capacity's
    # `architecture` the word or the widths)
    {"cap": {".results[].architecture": "layout"}, "train": {".arch": "layout"}},
]
#: values changed with a renamed key (case, path now) -> (value then, value now)
REVALUED = {("energy-sizes", ".settings.data"): ("random +-1", "random-binary"),
            ("cap-pinv", ".results[].layout"): ("single", "64"),  # (N = 64: digits)
            ("cap-adapt", ".results[].layout"): ("single", "25")}
#: keys added since a capture whose values the capture holds under other keys, per case:
#: path of the object -> {key: its value from the object (its keys renamed)}
DERIVED: dict[str, dict[str, dict[str, Callable[[dict], Any]]]] = {
    "train": {"": {"layout": lambda o: str(o["n_neurons"]),  # (one layer: it said none)
                   "arch": lambda o: "multilayer" if "-" in o["layout"] else "single"}},
}


def renamed(case: str, obj):
    """A capture of ``case`` with the keys :data:`RENAMED` since under their names now (each
    round of renames in turn) and the keys :data:`DERIVED` from it added."""
    for names in RENAMED:
        obj = _renamed(case, names.get(case.split("-")[0], {}), obj)
    return _derived(case, DERIVED.get(case.split("-")[0], {}), obj)


def _renamed(case: str, names: dict[str, str], obj, path=""):
    """``obj`` (at ``path``) with the keys of one round of renames ``names`` under their names
    now. An object that already has a key's name now (output of a revision after the rename,
    where the old name may mean another thing: ``pool``) is taken as it is."""
    if isinstance(obj, dict):
        out = {}
        here = {old.rsplit(".", 1)[1]: new for old, new in names.items()
                if old.rsplit(".", 1)[0] == path}
        current = any(new in obj for new in set(here.values()) - set(here))
        for k, v in obj.items():
            key = k if current else names.get(f"{path}.{k}", k)
            value = _renamed(case, names, v, f"{path}.{k}")
            old, new = REVALUED.get((case, f"{path}.{key}"), (None, None))
            out[key] = new if old is not None and value == old else value
        return out
    if isinstance(obj, list):
        return [_renamed(case, names, v, f"{path}[]") for v in obj]
    return obj


def _derived(case: str, added: dict[str, dict[str, Callable[[dict], Any]]], obj, path=""):
    """``obj`` (at ``path``) with the keys ``added`` it lacks, each computed from it."""
    if isinstance(obj, dict):
        out = {k: _derived(case, added, v, f"{path}.{k}") for k, v in obj.items()}
        for key, value in added.get(path, {}).items():
            if key not in out:
                out[key] = value(out)
        return out
    if isinstance(obj, list):
        return [_derived(case, added, v, f"{path}[]") for v in obj]
    return obj


def _normal(obj, path=""):
    if isinstance(obj, dict):
        return {k: _normal(v, f"{path}.{k}") for k, v in obj.items()
                if not any(t in k for t in _TIMING)}
    if isinstance(obj, list):
        return [_normal(v, f"{path}[]") for v in obj]
    return obj


def diff(a, b, path="") -> list[str]:
    """Differences between two normalised JSON values, one line each."""
    if path in INTENDED:
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                if f"{path}.{k}" not in INTENDED:
                    out.append(f"{path}.{k}: only in {'capture' if k in a else 'now'}")
                continue
            out += diff(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: length {len(a)} -> {len(b)}"]
        return [d for x, y in zip(a, b, strict=True) for d in diff(x, y, f"{path}[]")]
    if isinstance(a, float) and isinstance(b, (int, float)):
        if math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            return []
    elif a == b:
        return []
    return [f"{path}: {a!r} -> {b!r}"]


def run(name: str, src: Path | None = None) -> dict:
    """Case ``name``'s normalised JSON, computed by the installed xbarmem or, with ``src``, by
    the package in that folder."""
    env = {**os.environ, "COLUMNS": "200"}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory() as tmp:
        args = [a.replace("{tmp}", tmp) for a in CASES[name]] + THREADS
        done = subprocess.run([sys.executable, "-m", "xbarmem.cli", *args], capture_output=True,
                              text=True, env=env, check=False)
        # paths inside the output name the temporary folder: compare them without it
    if done.returncode:
        raise SystemExit(f"{name}: exit {done.returncode}\n{done.stderr[-2000:]}")
    return _normal(json.loads(done.stdout.replace(tmp, "{tmp}")))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python tests/behaviour/check.py", description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="*", metavar="CASE",
                        help=f"cases to run (default: all): {', '.join(CASES)}")
    parser.add_argument("--capture", action="store_true",
                        help="(re)write the captures from the current code")
    parser.add_argument("--against", metavar="REV",
                        help="compare with git revision REV's code run on this machine")
    args = parser.parse_args(argv)
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case {unknown[0]} (cases: {', '.join(CASES)})")
    capture, against, names = args.capture, args.against, args.cases or list(CASES)
    with tempfile.TemporaryDirectory() as tmp:
        old = export_source(against, Path(tmp)) if against else None
        return _compare(names, capture, old)


def _compare(names: list[str], capture: bool, old: Path | None) -> int:
    failed = 0
    for name in names:
        path = HERE / f"{name}.json"
        if old is None and not capture and not path.exists():
            print(f"{name}: no capture, skipped")
            continue
        before = run(name, old) if old is not None else None
        now = run(name)
        if capture:
            path.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
            print(f"{name}: captured")
            continue
        lines = diff(renamed(name, before if old is not None else json.loads(path.read_text())),
                     now)
        failed += bool(lines)
        print(f"{name}: {'same' if not lines else f'{len(lines)} differences'}")
        for line in lines[:20]:
            print("   ", line)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
