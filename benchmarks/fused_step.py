"""``python -m benchmarks.fused_step``: the default's basin step written by hand in C++.

The performance issue asks the one-layer default recipe to train one network (N = 64, P = 32)
at least 20x faster than the naive paper loop. The trainer runs its step as PyTorch operators
one by one; this script builds (``torch.utils.cpp_extension.load_inline``, from
``benchmarks/fused_step.cpp``) one basin-stage step (loss, gradient, Adam, projection) for
exactly the default's case, in two variants, and puts it in place of the trainer's step
(``xbarmem.learning.stages.basin_step``) while it measures:

* **(a)** the trainer's ATen operators, one by one, called from C++;
* **(b)** the elementwise work fused into hand loops around the same matrix products
  (``at::bmm_out``), Adam and the projection in one loop;
* **products alone**: (b)'s matrix products with no elementwise work (what no step doing the
  default's products can go below).

In one run, on 32 random patterns and 32 8x8 MNIST digits (N = 64, no faults, the fault map
and seed of case 1): the build's time (a cold build unless ``--build-dir`` holds one); per-step
times of the trainer's step, (a), (b) and the products alone in the basin stage and the sign
fine-tune, from the state and generator of the real stages' first step; whole default
trainings with the trainer's step and with (a) and (b), and their speed ratio over the naive
loop (:mod:`benchmarks.naive`, as ``benchmarks.product_bound`` runs it); the equality of the
steps (gradient, and parameters after ``--check-steps`` steps from the same state: (a) is meant
to be bit-identical); recall cosine at 5% and 10% flips of every training (20 cues per pattern,
training seeds ``0 .. --seeds - 1``).

Needs a C++ compiler and ninja (refused in one line, exit 2, before any work, when missing).
Compile flags are portable (``-O3``, no ``-march``); ``--native`` also builds and measures (b)
with ``-march=native``. The build goes to ``--build-dir`` (kept) or to a temporary folder
removed at the end, never to torch's cache.

Results go to ``benchmarks/results/fused_step.json`` with the date, torch threads and command;
``--json`` prints them. Takes about two minutes with one thread, half a minute of it the
build; ``--quick`` (a smoke test: shortened trainings, a few steps) under a minute.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from xbarmem import load_mnist, random_patterns, train
from xbarmem.checks import tensor_of
from xbarmem.evaluation.evaluate import Protocol, evaluate_memory
from xbarmem.learning import stages
from xbarmem.learning.batch import batch_constants

from . import command_line
from .cases import fault_map, paper_chip
from .naive import train_naive, weight_mask
from .recipes import provenance, write_result

SOURCE = Path(__file__).resolve().with_name("fused_step.cpp")
FLAGS = ("-O3", "-ffp-contract=off", "-fno-trapping-math", "-fno-math-errno")
NATIVE = ("-march=native",)
CASES = ("random", "digits")
FLIPS = (0.05, 0.10)
#: --quick: shortened trainings (rule options), naive steps, timed steps, checked steps
QUICK = {"options": {"flip_steps": 10, "max_steps": 20, "finetune_steps": 10},
         "naive_steps": 200, "steps": 5, "check_steps": 3, "warmup": 2}
WARMUP = 20
QUICK_NOTE = ("quick run: shortened trainings and a few timed steps for the smoke test; its "
              "numbers are not comparable with a full run's")
TRAINER_STEP = stages.basin_step


def toolchain_problem() -> str | None:
    """Why the C++ step cannot be built here (None when it can): no C++ compiler (``$CXX``,
    else ``c++``, as torch's builder calls it), no ninja, or no Python headers."""
    compiler = os.environ.get("CXX", "c++")
    if shutil.which(compiler) is None:
        return f"the C++ step needs a C++ compiler: {compiler} not found"
    from torch.utils.cpp_extension import is_ninja_available

    if not is_ninja_available():
        return "the C++ step needs ninja (pip install ninja): not found"
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").is_file():
        return "the C++ step needs Python's headers (Python.h): not found"
    return None


def build_dir_problem(path: Path) -> str | None:
    """Why ``path`` cannot be the build folder (None when it can): a file, a path under a
    file, or a place this process may not write. Checked without writing anything."""
    if path.exists() and not path.is_dir():
        return f"--build-dir {path} is not a folder"
    parent = path
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"--build-dir {path}: {parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"--build-dir {path}: not writable here"
    return None


def build(directory: Path, native: bool) -> tuple[Any, dict[str, Any]]:
    """The extension built (or loaded) in ``directory``/NAME, and the build's record: seconds,
    whether the folder held no build before (cold), the flags."""
    name = "xbarmem_fused_step" + ("_native" if native else "")
    folder = directory / name
    folder.mkdir(parents=True, exist_ok=True)
    cold = not any(folder.iterdir())
    flags = [*FLAGS, *(NATIVE if native else ())]
    from torch.utils.cpp_extension import load_inline

    began = time.perf_counter()
    module = load_inline(name, cpp_sources=[SOURCE.read_text(encoding="utf-8")],
                         extra_cflags=flags, build_directory=str(folder), verbose=False)
    return module, {"seconds": time.perf_counter() - began, "cold": cold, "flags": flags}


# ---------------------------------------------------------------------------------- the step
def supported(path, x, valid, kind, noise, quant) -> None:
    """Raise RuntimeError unless the C++ step computes what the trainer's step would here."""
    opts = path.opts
    ok = (type(path).__name__ == "SingleLayerFit" and opts.bias and kind == "binary"
          and tuple(noise) == (0.0, 0.0) and opts.variation <= 0 and quant is None
          and bool(valid.all()) and opts.recall_loss == "mse" and opts.optimizer == "adam"
          and opts.finetune_temperature == 1.0)
    if not ok:
        raise RuntimeError("the C++ step covers only the one-layer default recipe's case")


def cpp_step(function: Callable[..., Any]) -> Callable[..., Any]:
    """A :func:`xbarmem.learning.stages.basin_step` doing its work with the C++ ``function``
    (``step_a`` or ``step_b`` of the extension)."""
    def step(path, a, moments, lo, hi, x, valid, kind, gen, noise, unroll, late, quant,
             straight_through, step, rate, want):
        supported(path, x, valid, kind, noise, quant)
        first, second, count = moments
        c = batch_constants(path, x, valid, path.opts.cue_copies)  # (made once per batch)
        return function(a, first, second, count, lo.contiguous(), hi.contiguous(), rate,
                        x.contiguous(), c.target, c.fixed_slope, c.fixed_scale, c.cue_slope,
                        c.cue_scale, late, late.tolist(), gen, path.opts.cue_flip, unroll,
                        straight_through, want)
    return step


def steps_of(modules: dict[str, Any]) -> dict[str, Callable[..., Any]]:
    """Every step measured: the trainer's (``eager``), (a), (b) (and (b) native)."""
    out = {"eager": TRAINER_STEP, "cpp_a": cpp_step(modules["portable"].step_a),
           "cpp_b": cpp_step(modules["portable"].step_b)}
    if "native" in modules:
        out["cpp_b_native"] = cpp_step(modules["native"].step_b)
    return out


@contextlib.contextmanager
def using(step: Callable[..., Any]) -> Iterator[None]:
    """``with using(step):`` the trainer's stages call ``step`` as their step."""
    stages.basin_step = step
    try:
        yield
    finally:
        stages.basin_step = TRAINER_STEP


# ---------------------------------------------------------------------------------- the cases
def patterns(case: str):
    """The case's pattern set (32 random patterns, seed 0, or 32 8x8 digits)."""
    return (random_patterns(32, 64, seed=0) if case == "random"
            else load_mnist(side=8, n_patterns=32))


def fit(x: torch.Tensor, seed: int, quick: bool):
    """The default training of ``x`` as case 1 trains it (``paper-sim``, no faults)."""
    chip = paper_chip(0.0)
    options = QUICK["options"] if quick else {}
    return train(x, chip=chip, rule="adaptive", faults=fault_map(chip, x.shape[1], 0),
                 seed=seed, **options)


def first_steps(x: torch.Tensor, quick: bool) -> dict[str, dict[str, Any]]:
    """The arguments of the first step of the basin stage and of the fine-tune (parameters,
    moments and generator state copied) in a default training of ``x``."""
    found: dict[str, dict[str, Any]] = {}

    def record(*args):
        label = "fine-tune" if args[13] else "basin"
        if args[14] == 1 and label not in found:
            a, (first, second, count), gen = args[1], args[2], args[8]
            found[label] = {"args": list(args), "a": a.clone(), "moments": (
                first.clone(), second.clone(), count.clone()), "gen": gen.get_state()}
        return TRAINER_STEP(*args)

    with using(record):
        fit(x, 0, quick)
    return found


def fresh(c: dict[str, Any], want: bool) -> tuple[list[Any], torch.Generator]:
    """The recorded step's arguments with fresh copies of the state and the generator."""
    args = list(c["args"])
    gen = torch.Generator()
    gen.set_state(c["gen"])
    args[1], args[2], args[8] = c["a"].clone(), tuple(m.clone() for m in c["moments"]), gen
    args[16] = want
    return args, gen


def cpp_loss_grad(function: Callable[..., Any], args: list[Any]):
    """``(loss, gradient)`` of the C++ ``function`` (``loss_grad_a`` / ``loss_grad_b``) at the
    step arguments ``args``."""
    path, a, x, valid, gen, unroll, late, st = (args[0], args[1], args[5], args[6], args[8],
                                                args[10], args[11], args[13])
    c = batch_constants(path, x, valid, path.opts.cue_copies)
    return function(a, x.contiguous(), c.target, c.fixed_slope, c.fixed_scale, c.cue_slope,
                    c.cue_scale, late, late.tolist(), gen, path.opts.cue_flip, unroll, st, True)


def _diff(u: torch.Tensor, v: torch.Tensor) -> dict[str, Any]:
    """Largest absolute difference, it relative to ``max |v|``, and bit-identity."""
    most = float((u - v).abs().max())
    return {"max_abs": most, "max_rel": most / max(float(v.abs().max()), 1e-30),
            "identical": bool(torch.equal(u, v))}


def equality(module, steps: dict[str, Callable[..., Any]], c: dict[str, Any],
             k: int) -> dict[str, Any]:
    """(a) and (b) against the trainer's step from one recorded state: the loss and gradient
    of one call (and whether the generators end in the same state), and the parameters after
    ``k`` steps (at the first step's learning rate)."""
    args, gen = fresh(c, True)
    path, a, x, valid, kind, noise, unroll, late, st = (args[0], args[1], args[5], args[6],
                                                        args[7], args[9], args[10], args[11],
                                                        args[13])
    loss, grad = path.basin_loss_grad(a, x, valid, kind, gen, noise, unroll, late, st,
                                      want_loss=True)
    out: dict[str, Any] = {"steps": k}
    for v, function in (("cpp_a", module.loss_grad_a), ("cpp_b", module.loss_grad_b)):
        theirs, their_gen = fresh(c, True)
        their_loss, their_grad = cpp_loss_grad(function, theirs)
        out[v] = {"gradient": _diff(their_grad, grad), "loss": _diff(their_loss, loss),
                  "generator_same_state": bool(torch.equal(their_gen.get_state(),
                                                           gen.get_state()))}
    after = {}
    for v, step in steps.items():
        args, _ = fresh(c, True)
        for count in range(1, k + 1):
            args[14] = count
            step(*args)
        after[v] = args[1]
    for v in after:
        if v != "eager":
            out.setdefault(v, {})["parameters"] = _diff(after[v], after["eager"])
    return out


def step_seconds(step: Callable[..., Any], c: dict[str, Any], steps: int, warmup: int) -> float:
    """Seconds per step of ``step`` from the recorded state (the loss computed in the basin
    stage's steps only, as the stages do between reports), after ``warmup`` steps."""
    args, _ = fresh(c, not c["args"][13])
    for count in range(1, warmup + steps + 1):
        if count == warmup + 1:
            began = time.perf_counter()
        args[14] = count
        step(*args)
    return (time.perf_counter() - began) / steps


def per_step(modules, steps: dict[str, Callable[..., Any]], c: dict[str, Any], count: int,
             warmup: int, repeats: int) -> dict[str, Any]:
    """Microseconds per step of every step (interleaved, ``repeats`` times) and of (b)'s
    products alone: the minimum and median of each."""
    args = c["args"]
    x, unroll = args[5], args[10]
    rows = x.shape[1] * args[0].opts.cue_copies
    each: dict[str, list[float]] = {v: [] for v in (*steps, "products")}
    for _ in range(repeats):
        for v, step in steps.items():
            each[v].append(step_seconds(step, c, count, warmup) * 1e6)
        each["products"].append(modules["portable"].products_b(
            c["a"], x.contiguous(), rows, unroll, count) * 1e6)
    row = {"unroll": unroll, "cue_rows": rows, "us_each": each}
    row |= {f"{v}_us": statistics.median(t) for v, t in each.items()}
    row |= {f"{v}_us_min": min(t) for v, t in each.items()}
    return row


def recall(memory, pset) -> dict[str, float]:
    """Recall cosine at each of :data:`FLIPS` (20 flip cues per pattern, seed 0)."""
    return {f"{level:.2f}": evaluate_memory(memory, pset, Protocol(
        corruption="flip", level=level, probes=20, mode="sync", activation="sign",
        max_iterations=100, seed=0)).cosine for level in FLIPS}


def trainings(case: str, steps: dict[str, Callable[..., Any]], repeats: int, seeds: int,
              quick: bool) -> dict[str, Any]:
    """The naive loop and the default training with each step (interleaved, ``repeats``
    times, after one untimed training each), their speed ratios and recall."""
    pset = patterns(case)
    x = tensor_of(pset.patterns)
    chip = paper_chip(0.0)
    mask = weight_mask(chip, fault_map(chip, x.shape[1], 0), x.shape[1])
    limit = {"max_steps": QUICK["naive_steps"]} if quick else {}
    naive = [train_naive(x, mask, seed=0, **limit).seconds for _ in range(repeats)]
    times: dict[str, list[float]] = {v: [] for v in steps}
    memories = {}
    for rep in range(repeats + 1):
        for v, step in steps.items():
            with using(step):
                began = time.perf_counter()
                memories[v] = fit(x, 0, quick)
                if rep:
                    times[v].append(time.perf_counter() - began)
    rows = {}
    for v, step in steps.items():
        with using(step):
            cosines = [recall(memories[v], pset)] + [recall(fit(x, seed, quick), pset)
                                                     for seed in range(1, seeds)]
        rows[v] = {"train_seconds": statistics.median(times[v]), "train_seconds_each": times[v],
                   "speed_ratio": statistics.median(naive) / statistics.median(times[v]),
                   "steps": int(memories[v].info["steps"]),
                   "max_weight_diff_vs_eager": float(
                       (memories[v].weights - memories["eager"].weights).abs().max()),
                   "cosine_seed0": cosines[0],
                   "cosine_per_seed": {lvl: [cos[lvl] for cos in cosines] for lvl in cosines[0]},
                   "cosine_mean": {lvl: statistics.mean(cos[lvl] for cos in cosines)
                                   for lvl in cosines[0]}}
    for r in rows.values():  # the largest recall difference of one seed from the trainer's
        r["cosine_largest_seed_diff_vs_eager"] = {lvl: max(
            (abs(c - e) for c, e in zip(r["cosine_per_seed"][lvl],
                                        rows["eager"]["cosine_per_seed"][lvl], strict=True)))
            for lvl in r["cosine_per_seed"]}
    return {"naive_seconds": statistics.median(naive), "naive_seconds_each": naive,
            "variants": rows}


def measure(modules, quick: bool, repeats: int, seeds: int, check_steps: int) -> dict[str, Any]:
    """Per case: the per-step times, the equality check and the trainings."""
    count, warmup = (QUICK["steps"], QUICK["warmup"]) if quick else (200, WARMUP)
    steps = steps_of(modules)
    cases = {}
    for case in CASES:
        recorded = first_steps(tensor_of(patterns(case).patterns), quick)
        cases[case] = {
            "per_step": {stage: per_step(modules, steps, c, count, warmup, repeats)
                         for stage, c in recorded.items()},
            "equality": {stage: equality(modules["portable"], steps, c, check_steps)
                         for stage, c in recorded.items()},
            **trainings(case, steps, repeats, seeds, quick)}
    return cases


NAMES = {"eager": "trainer's step (eager)", "cpp_a": "C++ (a)", "cpp_b": "C++ (b)",
         "cpp_b_native": "C++ (b), -march=native"}


def table(cases: dict[str, Any], builds: dict[str, Any]) -> str:
    """The result as three markdown tables: steps, equality, trainings."""
    variants = [v for v in NAMES if v in cases["random"]["variants"]]
    lines = ["| case | stage (unroll) | " + " | ".join(f"{NAMES[v]} us" for v in variants)
             + " | products alone us | trainer's / (b) |", "|---" * (len(variants) + 4) + "|"]
    for case, row in cases.items():
        for stage, r in row["per_step"].items():
            lines.append(f"| {case} | {stage} ({r['unroll']}) | " + " | ".join(
                f"{r[f'{v}_us']:.0f}" for v in variants) + f" | {r['products_us']:.0f} | "
                f"{r['eager_us'] / r['cpp_b_us']:.2f}x |")
    lines += ["", "| case | stage | gradient (a): max rel diff | gradient (b): max rel diff | "
              "parameters after K steps (a): max abs diff | (b): max abs diff |",
              "|---|---|---|---|---|---|"]
    for case, row in cases.items():
        for stage, e in row["equality"].items():
            a, b = e["cpp_a"], e["cpp_b"]
            lines.append(
                f"| {case} | {stage} | {_said(a['gradient'])} | {_said(b['gradient'])} | "
                f"{_said(a['parameters'], 'max_abs')} (K {e['steps']}) | "
                f"{_said(b['parameters'], 'max_abs')} |")
    seeds = len(cases["random"]["variants"]["eager"]["cosine_per_seed"]["0.05"])
    lines += ["", "| case | step | training s | ratio over the naive loop | cosine 5% / 10% "
              f"(seed 0) | mean over {seeds} seed(s) | largest seed's difference from eager | "
              "max weight diff vs eager (seed 0) |", "|---|---|---|---|---|---|---|---|"]
    for case, row in cases.items():
        for v, r in row["variants"].items():
            cos, mean = r["cosine_seed0"], r["cosine_mean"]
            most = r["cosine_largest_seed_diff_vs_eager"]
            lines.append(f"| {case} (naive {row['naive_seconds']:.2f} s) | {NAMES[v]} | "
                         f"{r['train_seconds']:.3f} | {r['speed_ratio']:.1f}x | "
                         f"{cos['0.05']:.4f} / {cos['0.10']:.4f} | "
                         f"{mean['0.05']:.4f} / {mean['0.10']:.4f} | "
                         f"{most['0.05']:.4f} / {most['0.10']:.4f} | "
                         f"{r['max_weight_diff_vs_eager']:.2g} |")
    built = "; ".join(f"{name} ({' '.join(b['flags'])}): {b['seconds']:.1f} s "
                      f"({'cold' if b['cold'] else 'warm'} build)" for name, b in builds.items())
    return "\n".join([*lines, "", f"Build time, included in no time above: {built}"])


def _said(d: dict[str, Any], key: str = "max_rel") -> str:
    return "bit-identical" if d["identical"] else f"{d[key]:.1e}"


def run(args) -> dict[str, Any]:
    """Build the extension(s) in ``--build-dir`` or a temporary folder (removed after), and
    measure."""
    temporary = args.build_dir is None
    directory = Path(tempfile.mkdtemp(prefix="xbarmem-fused-")) if temporary else args.build_dir
    try:
        modules, builds = {}, {}
        for name in ("portable", "native") if args.native else ("portable",):
            modules[name], builds[name] = build(directory, name == "native")
        check = args.check_steps or (QUICK["check_steps"] if args.quick else 100)
        cases = measure(modules, args.quick, args.repeats, args.seeds, check)
    finally:
        if temporary:
            shutil.rmtree(directory, ignore_errors=True)
    return {"build": builds, "cases": cases, "table": table(cases, builds)}


@command_line.one_line_refusals
def main(argv: list[str] | None = None) -> int:
    parser = command_line.parser("fused_step", __doc__)
    command_line.threads_option(parser)
    parser.add_argument("--repeats", type=command_line.count(), default=3,
                        help="timed trainings and step blocks per variant (default 3)")
    parser.add_argument("--seeds", type=command_line.count(100), default=1,
                        help="training seeds whose recall is measured (default 1: seed 0)")
    parser.add_argument("--check-steps", type=command_line.count(10_000), default=None,
                        help="steps compared from the same state (default 100; 3 with --quick)")
    parser.add_argument("--build-dir", type=Path, default=None,
                        help="build folder, kept (default: a temporary folder, removed)")
    parser.add_argument("--native", action="store_true",
                        help="also build and measure (b) with -march=native")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: shortened trainings, a few timed steps")
    command_line.results_options(parser, "fused_step")
    args = parser.parse_args(argv)
    if not command_line.json_out_ok(args.json_out):
        return 2
    problem = None if args.build_dir is None else build_dir_problem(args.build_dir)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    problem = toolchain_problem()
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    result = {**provenance("fused_step", argv), **run(args)}
    result["note"] = QUICK_NOTE if args.quick else None
    if not args.json:  # (with --json stdout holds only the JSON)
        print(result["table"])
        if args.quick:
            print(QUICK_NOTE)
    return write_result(result, args.json_out, json_stdout=args.json)


if __name__ == "__main__":
    raise SystemExit(main())
