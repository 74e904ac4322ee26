"""Re-measure the numbers quoted in docs/ and write them with their provenance.

    python scripts/measure_docs.py --list                 # entries, estimated cost, last run
    python scripts/measure_docs.py --quick                # every entry estimated < 60 s
    python scripts/measure_docs.py --only energy-64-generic --only adapt-rram
    python scripts/measure_docs.py --all                  # everything (hours on 2 cores)

Each entry runs its xbarmem command(s) in a fresh temporary folder, in a subprocess with
``OMP_NUM_THREADS`` set to ``--threads`` (default 1, so the same command gives the same numbers
on any machine), reads the last command's ``--json`` output and keeps a few headline values.
``docs/measured.json`` gets one record per entry (command, date, torch threads, xbarmem version,
git commit, wall seconds, values); entries not re-run keep their previous record.
``docs/measured.md`` is regenerated from it, and so is every region of README.md and docs/*.md
between ``<!-- measured: NAME -->`` and ``<!-- /measured -->`` (tests/test_docs.py checks they
agree).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def measured_docs() -> list[Path]:
    """The documents whose measured regions this script writes: README.md and docs/*.md."""
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


QUICK_SECONDS = 60.0


@dataclass(frozen=True)
class Entry:
    """One measurement: ``steps`` are xbarmem command lines (``{out}`` is the temporary
    folder); ``values`` maps a label to a ``/``-separated path into the last step's JSON
    output (``"K:path"``: into step K's output, 0-based)."""

    name: str
    what: str
    steps: tuple[str, ...]
    values: dict[str, str] = field(default_factory=dict)
    seconds: float = 30.0  # estimated wall time with one thread on an idle core


ENERGY_VALUES = {"energy async/sync": "ratios/energy_ratio",
                 "latency reduction": "ratios/latency_reduction",
                 "sync steps": "sync/steps/mean", "async steps": "async/steps/mean",
                 "exact sync": "quality/sync/exact"}
#: what one recall costs, part by part, and what programming the chip costs
ENERGY_DETAIL = {**ENERGY_VALUES, "exact async": "quality/async/exact",
                 "sync energy J": "sync/energy_J/mean", "async energy J": "async/energy_J/mean",
                 "sync latency s": "sync/latency_s/mean",
                 "async latency s": "async/latency_s/mean",
                 "sync energy J by part": "sync/energy_breakdown_J",
                 "async energy J by part": "async/energy_breakdown_J",
                 "programming J": "programming/energy_J", "programming s": "programming/time_s"}
REPRO_VALUES = {"summary": "summary"}
#: the multilayer capacity search on digits (benchmark of the multilayer recipe) and its values
ML_SEARCH = ("xbarmem capacity --arch multilayer --hidden 32 --data digits --threshold 0.99 "
             "--trials 2 --json")
ML_SEARCH_VALUES = {"capacity": "results/0/capacity", "seconds": "results/0/seconds",
                    "counts trained": "results/0/evaluations"}

#: the cases of the ``levels-*`` entries: the training paths other than the default recipe's
LEVELS_CASES = ("--seeds 10 --probes 50 --levels 2 4 16 --chips rram:0.3 paper-sim:0.3 "
                "--patterns 8 16")
#: (entry name, what it measures, benchmarks.levels options, estimated seconds)
LEVELS_PATHS = (
    ("fast", "the fast recipe (one layer, binary)", "--recipe fast", 60),
    ("fixed-point", "the fixed-point objective (one layer, binary)", "--objective fixed-point",
     40),
    ("multilayer", "multilayer 64-64-64 memories (binary)", "--arch multilayer", 60),
    ("multilayer-continuous", "multilayer 64-64-64 memories (continuous)",
     "--arch multilayer --kind continuous", 500),
    ("continuous", "one-layer memories (continuous)", "--kind continuous", 180),
)
#: the cases behind quantize's defaults at 8 and 16 levels, on 20 fault maps
LEVELS_MANY = "--seeds 20 --probes 50 --levels 8 16 --chips rram:0.3 paper-sim:0.3 --patterns 8 16"


def json_out(command: str, file: str) -> tuple[str, str]:
    """The steps of a command that writes its JSON to ``--json-out {out}/FILE``: the command,
    then printing that file (the last step's output is what an entry reads)."""
    return (f"{command} --json-out {{out}}/{file}",
            f"python -c \"import sys; sys.stdout.write(open('{{out}}/{file}').read())\"")


def scaling_entry(name: str, what: str, sizes: str, seconds: float, *, trials: int = 1,
                  hidden: str = "1n", threshold: str = "0.99",
                  options: dict[str, Any] | None = None,
                  extra: dict[str, str] | None = None, data: str = "") -> Entry:
    """A multilayer binary ``xbarmem scaling`` run (fixed-point objective plus ``options``;
    on ``data``, default whole-image MNIST) with its capacities and exponent at
    ``threshold``, and ``extra`` values."""
    rule = json.dumps({"objective": "fixed-point", **(options or {})}, separators=(",", ":"))
    rule = rule.replace("{", "{{").replace("}", "}}")
    return Entry(name, what, (
        f"xbarmem scaling --arch multilayer --kind binary{f' --data {data}' if data else ''} "
        f"--sizes {sizes} --hidden {hidden} "
        f"--threshold {threshold} --trials {trials} --probes 10 --rule-options '{rule}' "
        f"--json --out {{out}}",),
        {"N": "sizes", f"capacity @{threshold}": f"capacity/{threshold}",
         "exponent": f"fits/{threshold}/slope", "95% low": f"fits/{threshold}/slope_low",
         "95% high": f"fits/{threshold}/slope_high"} | (extra or {}), seconds)


#: the bf16 entries' runs, each case trained with float32 then with bf16 products: capacity
#: searches ``(kind, N, trainer options as JSON members)`` and one-layer trainings ``(N, P)``
_BF16_SEARCHES = tuple(itertools.product(
    (("binary", 576, '"objective":"fixed-point"'),
     ("continuous", 256, '"objective":"basin","unroll":2,"max_steps":10000')),
    ("float32", "bf16")))
_BF16_SINGLE = tuple(itertools.product(((64, 32), (512, 200)), ("float32", "bf16")))
_BF16_OPTION = {"float32": "", "bf16": ',"products":"bf16"'}


#: the sweeps of the quick reproduce named in docs/performance-log.md (its costliest)
QUICK_SWEEPS = ("e-continuous", "b-capacity", "e-binary", "d-variation",
                "g-correlation-capacity", "d-selections")


def sweep_work_step(prefix: str) -> str:
    """A step printing, from the results store ``{out}/r/results.sqlite``, the compute seconds
    and trials of every sweep (names without ``prefix``) and their total."""
    return ("python -c \"import json, sqlite3; rows = sqlite3.connect('{out}/r/results.sqlite')"
            ".execute('SELECT sweep, COUNT(*), SUM(seconds) FROM trials GROUP BY sweep')"
            f".fetchall(); name = lambda s: s.replace('{prefix}', ''); "
            "print(json.dumps(dict(compute_s=dict((name(r[0]), round(r[2], 1)) for r in rows), "
            "trials=dict((name(r[0]), r[1]) for r in rows), "
            "total_compute_s=round(sum(r[2] for r in rows), 1))))\"")


def demo_entry(name: str, what: str, args: str = "") -> Entry:
    """``xbarmem demo ARGS``: recall (sign; tanh and exact recall for the adaptive rule) of the
    adaptive and pseudo-inverse rules under both fault models."""
    values = {}
    for model in ("weight", "device"):
        rules = f"fault_models/{model}/rules"
        values |= {f"{model}: adaptive": f"{rules}/adaptive/cosine",
                   f"{model}: adaptive exact": f"{rules}/adaptive/exact",
                   f"{model}: adaptive tanh": f"{rules}/adaptive/variants/tanh/cosine",
                   f"{model}: pinv": f"{rules}/pinv/cosine"}
    command = " ".join(filter(None, ("xbarmem demo", args, "--json --out {out}")))
    return Entry(name, what, (command,), values, 90)


def train_evaluate_steps(model: str, train: str, evaluate: tuple[str, ...]) -> tuple[str, ...]:
    """``xbarmem train TRAIN -o {out}/MODEL``, then one ``xbarmem evaluate`` per item of
    ``evaluate`` (its options) on that model, each with ``--json``."""
    return (f"xbarmem train {train} -o {{out}}/{model}",
            *(f"xbarmem evaluate {{out}}/{model} {opts} --json" for opts in evaluate))


#: the ablation of the adaptive trainer's stages: options, demo digits, 50% weight faults
ABLATION = {"fixed-point objective (the paper's)":
            "--rule-option objective=fixed-point --rule-option max_steps=10000",
            "basin stage only": "--rule-option finetune_steps=0", "default (both stages)": ""}


def ablation_entry() -> Entry:
    """Each :data:`ABLATION` option on chips 0-2 (recall from 50 cues per digit, 10% flips)."""
    steps, values = [], {}
    for label, options in ABLATION.items():
        for seed in range(3):
            steps += train_evaluate_steps(
                "m.safetensors", f"--data mnist --one-per-class --chip paper-sim --faults 0.5 "
                f"--seed {seed} {options}".strip(), (f"--probes 50 --seed {seed}",))
            values[f"{label}, chip {seed}"] = f"{len(steps) - 1}:cosine"
    return Entry("ablation-stages", "the adaptive trainer's stages, demo digits, 50% weight "
                 "faults, chips 0-2", tuple(steps), values, 60)


ENTRIES: tuple[Entry, ...] = (
    Entry("energy-64-generic", "energy and latency per recall, N = 64, generic circuit",
          ("xbarmem energy --neurons 64 --arch single --circuit generic-rram --json",),
          ENERGY_VALUES, 40),
    Entry("energy-64-calibrated", "the same with the circuit solved for the paper's 8.8x",
          ("xbarmem energy --neurons 64 --arch single --circuit paper-calibrated --json",),
          ENERGY_DETAIL, 40),
    Entry("energy-64-ideal", "the same cues and circuit on the ideal chip (wider conductances)",
          ("xbarmem energy --neurons 64 --arch single --chip ideal --circuit paper-calibrated "
           "--json",), ENERGY_VALUES, 40),
    Entry("energy-64-multilayer", "the same with a 64-32-64 multilayer memory",
          ("xbarmem energy --neurons 64 --arch multilayer --hidden 32 --circuit "
           "paper-calibrated --json",), ENERGY_VALUES, 40),
    Entry("energy-calibrate", "the two generic-rram constants solved for the paper's ratios on "
          "the current trainer",
          ("xbarmem energy --neurons 64 --calibrate --circuit generic-rram --out {out} --json",),
          {"solved": "calibration/solved", "energy async/sync": "calibration/result/energy_ratio",
           "latency reduction": "calibration/result/latency_reduction",
           "measured sync steps": "calibration/measured/sync_steps/mean",
           "measured async steps": "calibration/measured/async_steps/mean",
           "measured conductance sum S": "calibration/measured/g_total_S"}, 40),
    Entry("energy-sizes", "energy and latency ratios vs N (random patterns, pinv)",
          ("xbarmem energy --sizes 16,64,256,1024 --circuit paper-calibrated --json "
           "--out {out}",),
          {"N": "rows/*/n_neurons", "energy async/sync": "rows/*/energy_ratio",
           "latency reduction": "rows/*/latency_reduction"}, 90),
    Entry("energy-sizes-adaptive", "energy and latency ratios vs N, hardware-adaptive rule",
          ("xbarmem energy --sizes 16,64,256 --rule adaptive --circuit paper-calibrated --json "
           "--out {out}",),
          {"N": "rows/*/n_neurons", "energy async/sync": "rows/*/energy_ratio",
           "latency reduction": "rows/*/latency_reduction"}, 120),
    Entry("energy-64-seeds", "energy-64-calibrated on other chips and cues (seeds 1, 2, 3)",
          tuple(f"xbarmem energy --neurons 64 --arch single --circuit paper-calibrated "
                f"--seed {seed} --json" for seed in (1, 2, 3)),
          {f"seed {seed}: {label}": f"{k}:ratios/{key}" for k, seed in enumerate((1, 2, 3))
           for label, key in (("energy async/sync", "energy_ratio"),
                              ("latency reduction", "latency_reduction"))}, 120),
    Entry("adapt-rram", "chip-in-the-loop adaptation, 35 uS write error",
          ("xbarmem train --data mnist --one-per-class --chip rram -o {out}/rram.safetensors",
           "xbarmem adapt {out}/rram.safetensors --rounds 2 --write-noise 35 --tolerance 5 "
           "--json"),
          {"open loop cosine": "open_loop_cosine", "final cosine": "final_cosine",
           "open loop exact": "open_loop_exact", "final exact": "final_exact",
           "devices written per round": "rounds/*/written",
           "free devices per round": "rounds/*/free",
           "cosine per round": "rounds/*/cosine"}, 30),
    Entry("no-faults-20", "20 stored digits, no faults, 10% flips",
          ("xbarmem train --data mnist-crop24 --patterns 20 --chip paper-sim --faults 0 "
           "-o {out}/m.safetensors",
           "xbarmem evaluate {out}/m.safetensors --level 0.1 --probes 20 --json"),
          {"cosine": "cosine", "exact": "exact"}, 30),
    Entry("no-faults-20-more", "20 stored digits, no faults, 10% flips: tanh recall, seeds 1 "
          "and 2, whole-image MNIST and scikit-learn's digits",
          (*train_evaluate_steps("c0.safetensors", "--data mnist-crop24 --patterns 20 --chip "
                                 "paper-sim --faults 0", ("--level 0.1 --probes 20 "
                                                          "--activation tanh",)),
           *(step for seed in (1, 2) for step in train_evaluate_steps(
               f"c{seed}.safetensors", f"--data mnist-crop24 --patterns 20 --chip paper-sim "
               f"--faults 0 --seed {seed}", (f"--level 0.1 --probes 20 --seed {seed}",))),
           *(step for data in ("mnist", "digits") for step in train_evaluate_steps(
               f"{data}.safetensors", f"--data {data} --patterns 20 --chip paper-sim --faults 0",
               ("--level 0.1 --probes 20", "--level 0.1 --probes 20 --activation tanh")))),
          {"crop24 tanh": "1:cosine", "crop24 seed 1": "3:cosine", "crop24 seed 2": "5:cosine",
           "mnist": "7:cosine", "mnist tanh": "8:cosine", "digits": "10:cosine",
           "digits tanh": "11:cosine"}, 60),
    ablation_entry(),
    Entry("capacity-architectures", "capacity @ 0.99 of one layer and 64-H-64 memories, "
          "scikit-learn digits, training cues at 5% flips; the pseudo-inverse beside them",
          ("xbarmem capacity --arch single,multilayer --hidden 16,32,128 --data digits "
           "--threshold 0.99 --trials 2 --probes 20 --start 24 "
           "--rule-options '{{\"cue_flip\": 0.05}}' --json",
           "xbarmem capacity --rule pinv --data digits --threshold 0.99 --trials 2 --json"),
          {"layout": "0:results/*/layout", "devices": "0:results/*/devices/devices",
           "capacity @0.99": "0:results/*/capacity/0.99",
           "pinv capacity @0.99": "results/0/capacity/0.99"}, 900),
    Entry("scaling-pinv", "pseudo-inverse capacity vs N, binary MNIST, threshold 0.99",
          ("xbarmem scaling --arch single --rule pinv --kind binary --sizes 64,144,256,400 "
           "--threshold 0.99 --trials 2 --probes 10 --json --out {out}",),
          {"N": "sizes", "capacity @0.99": "capacity/0.99",
           "exponent": "fits/0.99/slope", "95% low": "fits/0.99/slope_low",
           "95% high": "fits/0.99/slope_high"}, 60),
    Entry("reproduce-d", "reproduce (d): programming variation, full settings",
          ("python -c \"from xbarmem.experiments.reproduce import reproduce, Variation; "
           "import json; r = reproduce('{out}', experiments=[Variation()], log=lambda s: None); "
           "print(json.dumps({{'summary': r['table'], 'reasons': ''.join("
           "'Measured reason: ' + w + chr(10) for w in r['reasons'].get('d', []))}}))\"",),
          {**REPRO_VALUES, "reasons": "reasons"}, 60),
    Entry("reproduce-f", "reproduce (f): energy and latency, generic circuit",
          ("python -c \"from xbarmem.experiments.reproduce import reproduce, Energy; "
           "import json; r = reproduce('{out}', experiments=[Energy()], log=lambda s: None); "
           "print(json.dumps({{'summary': r['table']}}))\"",), REPRO_VALUES, 30),
    demo_entry("demo", "the demo: 10 digits, 50% stuck, every rule, both fault models"),
    demo_entry("demo-seed-10", "the demo on other chips (seed 10)", "--seed 10"),
    demo_entry("demo-seed-20", "the demo on other chips (seed 20)", "--seed 20"),
    demo_entry("demo-mnist", "the demo from whole-image MNIST (8x8 from 28x28)",
               "--data mnist"),
    demo_entry("demo-digits", "the demo on scikit-learn's 8x8 digits", "--data digits"),
    Entry("reproduce-quick", "xbarmem reproduce --quick (every claim, few seeds)",
          ("python -c \"from xbarmem.experiments.reproduce import reproduce; import json; "
           "r = reproduce('{out}', quick=True, log=lambda s: None); "
           "print(json.dumps({{'verdicts': r['verdicts'], 'summary': r['table'], "
           "'reasons': ''.join('Measured reason (' + k + '): ' + w + chr(10) "
           "for k, ws in r['reasons'].items() for w in ws)}}))\"",),
          {"verdicts": "verdicts", **REPRO_VALUES, "reasons": "reasons"}, 600),
    Entry("reproduce-quick-cli", "xbarmem reproduce --quick, default recipe, 2 jobs",
          ("xbarmem reproduce --quick --out {out}/r --json",),
          {"seconds": "seconds", "verdicts": "verdicts"}, 900),
    Entry("versus-ca29fec", "recall and training time of the default training, the code of "
          "2026-12-02 afternoon against ca29fec (before the logistic tanh and the flip draws)",
          ("python -m benchmarks.versus ca29fec --json --json-out {out}/versus.json",),
          {"table": "table"}, 300),
    Entry("versus-commands-2c11d14", "the capacity search of the performance issue and "
          "reproduce --quick timed with 2c11d14's code (before the default recipe of 2026-12-02 "
          "night) and with this one, one after the other",
          ("python -m benchmarks.versus 2c11d14 --commands --json --json-out {out}/v.json",),
          {"table": "table"}, 600),
    Entry("versus-2c11d14", "recall and training time of the default training with the "
          "default recipe of 2026-12-02 night (bounded flip-averaged stage, shorter sampled "
          "stages) against 2c11d14 (the default recipe of 2026-12-01)",
          ("python -m benchmarks.versus 2c11d14 --json --json-out {out}/versus.json",),
          {"table": "table"}, 300),
    Entry("versus-6ddaca4", "recall and training time of the default training with the "
          "per-batch constants and buffers of 2026-12-03 against 6ddaca4 (the same arithmetic "
          "and draws)",
          ("python -m benchmarks.versus 6ddaca4 --json --json-out {out}/versus.json",),
          {"table": "table"}, 300),
    Entry("versus-commands-6ddaca4", "the capacity search of the performance issue and "
          "reproduce --quick timed with 6ddaca4's code and with this one, one after the other",
          ("python -m benchmarks.versus 6ddaca4 --commands --json --json-out {out}/v.json",),
          {"table": "table"}, 360),
    Entry("versus-00f028f", "recall and training time of the default training with the "
          "weight and update views made once per batch (2026-12-03 morning) against 00f028f "
          "(the same arithmetic and draws)",
          ("python -m benchmarks.versus 00f028f --json --json-out {out}/versus.json",),
          {"table": "table"}, 300),
    Entry("versus-commands-00f028f", "the capacity search of the performance issue and "
          "reproduce --quick timed with 00f028f's code and with this one (views made once per "
          "batch, capacity curves sharing their networks, tanh's last two passes as one), one "
          "after the other",
          ("python -m benchmarks.versus 00f028f --commands --json --json-out {out}/v.json",),
          {"table": "table"}, 360),
    Entry("versus-commands-ff738f1", "the capacity search of the performance issue and "
          "reproduce --quick timed with ff738f1's code (quick (e) continuous at N = 64 and 144) "
          "and with this one (N = 64 and 100), one after the other",
          ("python -m benchmarks.versus ff738f1 --commands --json --json-out {out}/v.json",),
          {"table": "table"}, 360),
    Entry("elementwise", "what one training step's operations cost on this CPU (tanh against "
          "the product and a logistic form of tanh; the cue flips' two draws)",
          ("python -m benchmarks.elementwise --json --json-out {out}/elementwise.json",),
          {f"{name}: {key}": f"shapes/{name}/{key}"
           for name in ("single", "multilayer-continuous")
           for key in ("ms_per_call", "tanh_over_bmm", "tanh_over_logistic_form",
                       "flips_per_bit_over_process", "max_abs_difference_of_tanh_forms")}, 10),
    Entry("levers", "levers of the performance issue measured and not kept: torch.compile, "
          "bfloat16 products, warm-started capacity searches, the flip-averaged stage's start, "
          "the closed-form recall terms, fewer but harder cues, the fine-tune stopped on "
          "held-out recall, a model-guided capacity search, a max-margin start of the fast "
          "recipe",
          ("python -m benchmarks.levers --json --json-out {out}/levers.json",),
          {"table": "table"}, 1100),
    Entry("levers-cues", "fewer but harder training cues (cue_flip 0.15 / 0.2, 3 / 4 cues per "
          "pattern; cues chosen by loss) against the one-layer default on the tuning split",
          ("python -m benchmarks.levers --only hard-cues --json --json-out {out}/levers.json",),
          {"table": "table"}, 150),
    Entry("levers-finetune-stop", "the one-layer default's sign fine-tune stopped when recall "
          "on held-out cues stops improving, against the default on the tuning split",
          ("python -m benchmarks.levers --only finetune-stop --json --json-out "
           "{out}/levers.json",),
          {"table": "table"}, 150),
    Entry("levers-margin", "the fast recipe from a max-margin start (each row's minimum-norm "
          "weights with every stored bit's field at a margin of at least 1) against the "
          "default and the fast recipe on the tuning split",
          ("python -m benchmarks.levers --only margin-start --json --json-out "
           "{out}/levers.json",),
          {"table": "table"}, 60),
    Entry("levers-second-order", "a start by Newton's method (each row's regularised logistic "
          "regression on corrupted cues) alone and before the default's or the fast recipe's "
          "stages, against the default on the tuning split",
          ("python -m benchmarks.levers --only second-order --json --json-out "
           "{out}/levers.json",),
          {"table": "table"}, 40),
    Entry("levers-optimizers", "the optimiser and its schedule (Adam with a warm-up + cosine "
          "or one-cycle schedule over shorter budgets, other betas; L-BFGS of the basin stage "
          "on fixed cues) against the one-layer default on the tuning split",
          ("python -m benchmarks.levers --only optimizers --json --json-out "
           "{out}/levers.json",),
          {"table": "table"}, 200),
    Entry("product-bound", "how fast a one-layer recipe doing the default's matrix products "
          "can be: the naive loop, each recipe's training, its products replayed alone, and "
          "the speed ratios they bound (N = 64, P = 32, random and digits)",
          ("python -m benchmarks.product_bound --json --json-out {out}/pb.json",),
          {**{f"{case} {recipe}: {key}": f"cases/{case}/recipes/{recipe}/{key}"
              for case in ("random", "digits") for recipe in ("default", "fast")
              for key in ("speed_ratio", "speed_ratio_bound", "speed_ratio_bound_at_peak",
                          "speed_ratio_bound_eager", "products_share_of_training",
                          "product_calls", "other_operators")},
           **{f"{case}: naive_seconds": f"cases/{case}/naive_seconds"
              for case in ("random", "digits")},
           "peak GFLOP/s": "peak_gflops", "cheapest operator s": "smallest_operator_seconds"},
          60),
    Entry("fused-step", "the one-layer default's basin step written by hand in C++ ((a) the "
          "trainer's operators from C++, (b) elementwise work fused around the products; "
          "portable and -march=native): per-step and training times, speed ratios over the "
          "naive loop, equality, recall over 5 seeds (N = 64, P = 32, random and digits)",
          ("python -m benchmarks.fused_step --native --seeds 5 --json --json-out "
           "{out}/fs.json",),
          {"table": "table",
           **{f"{case} {v}: speed_ratio": f"cases/{case}/variants/{v}/speed_ratio"
              for case in ("random", "digits")
              for v in ("eager", "cpp_a", "cpp_b", "cpp_b_native")},
           "build s": "build/portable/seconds", "build cold": "build/portable/cold"},
          200),
    Entry("stuck-calls", "stuck devices a measured chip's import calls, right or not, on maps "
          "simulated with the device model (levels 2 to 16 and continuous, write and read "
          "noise, 0 to 50% stuck; 3000 cases)",
          ("python -m benchmarks.stuck_calls --json --json-out {out}/sc.json",),
          {"table": "table",
           "cases above 1% missed, warned wide / undecided / neither": "missed_warned"}, 30),
    Entry("levers-search", "a capacity search stepping by a model of the recall curve against "
          "today's doubling and interpolation, on real searches",
          ("python -m benchmarks.levers --only model-search --json --json-out "
           "{out}/levers.json",),
          {"table": "table"}, 900),
    Entry("reproduce-full", "xbarmem reproduce (full settings, every claim), default recipe, "
          "2 jobs",
          ("xbarmem reproduce --out {out}/r --json", sweep_work_step("reproduce-")),
          {"seconds": "0:seconds", "verdicts": "0:verdicts", "summary": "0:table",
           "reasons": "0:reasons", "compute s in all": "total_compute_s",
           "compute s per sweep": "compute_s", "trials per sweep": "trials"}, 9000),
    Entry("reproduce-quick-work", "xbarmem reproduce --quick, 2 jobs: compute seconds per sweep, "
          "summed from its results store",
          ("xbarmem reproduce --quick --out {out}/r --json", sweep_work_step("reproduce-quick-")),
          {"wall s": "0:seconds", "compute s in all": "total_compute_s",
           **{f"{sweep} compute s": f"compute_s/{sweep}" for sweep in QUICK_SWEEPS},
           **{f"{sweep} trials": f"trials/{sweep}" for sweep in QUICK_SWEEPS}}, 400),
    Entry("reproduce-full-bf16", "xbarmem reproduce (full settings, every claim), default "
          "recipe with bfloat16 training products, 2 jobs",
          ("xbarmem reproduce --products bf16 --out {out}/r --json",
           sweep_work_step("reproduce-full-bf16-")),
          {"seconds": "0:seconds", "verdicts": "0:verdicts", "summary": "0:table",
           "reasons": "0:reasons", "compute s in all": "total_compute_s",
           "compute s per sweep": "compute_s", "trials per sweep": "trials"}, 9000),
    Entry("reproduce-quick-bf16", "xbarmem reproduce --quick --products bf16, 2 jobs",
          ("xbarmem reproduce --quick --products bf16 --out {out}/r --json",
           sweep_work_step("reproduce-quick-bf16-")),
          {"seconds": "0:seconds", "verdicts": "0:verdicts", "summary": "0:table",
           "compute s in all": "total_compute_s"}, 400),
    Entry("reproduce-quick-fast", "xbarmem reproduce --quick --recipe fast, 2 jobs",
          ("xbarmem reproduce --quick --recipe fast --out {out}/r --json",),
          {"seconds": "seconds", "verdicts": "verdicts", "summary": "table"}, 300),
    *(Entry(f"reproduce-d-seed-{s}", f"xbarmem reproduce --quick --sections d --seed {s}: (d) "
            f"at other seeds, 2 jobs",
            (f"xbarmem reproduce --quick --sections d --seed {s} --out {{out}}/r --json",),
            {"verdicts": "verdicts", "summary": "table"}, 300) for s in (1, 2, 3)),
    Entry("reproduce-g", "xbarmem reproduce --quick, section (g) only: recall and capacity "
          "against correlation, glyphs",
          ("python -c \"from xbarmem.experiments.reproduce import Correlation, reproduce; "
           "import json; r = reproduce('{out}', quick=True, experiments=[Correlation()], "
           "log=lambda s: None); t = open(r['path']).read(); i = t.index('## (g)'); "
           "print(json.dumps({{'seconds': r['seconds'], 'verdicts': r['verdicts'], "
           "'section': t[i:t.index('**Commands.**', i)].strip()}}))\"",),
          {"seconds": "seconds", "verdicts": "verdicts", "section": "section"}, 240),
    Entry("recipes-held-out", "the recipes on cases they were not chosen on",
          json_out("python -m benchmarks.recipes --threads 1", "recipes.json"),
          {f"{name}: {what}": f"summary/{name}/{path}"
           for name in ("single: default recipe over earlier default",
                        "single: default recipe of 2026-12-01 over earlier default",
                        "single: fast recipe over earlier default",
                        "multilayer: default recipe over multilayer default of 2026-12-01")
           for what, path in (("speed-up min / median / max", "speed_up_min_median_max"),
                              ("cosine change at 5% flips, mean / worst",
                               "cosine_change_mean_worst/0.05"),
                              ("cosine change at 10% flips, mean / worst",
                               "cosine_change_mean_worst/0.1"))}
          | {"cases": "table"}, 1500),
    Entry("recipes-tuning", "how the one-layer recipes were chosen: every candidate on the "
          "tuning cases",
          json_out("python -m benchmarks.recipe_search --threads 1", "search.json"),
          {"candidates": "table"}, 900),
    Entry("weight-range", "the device presets' weight range on tuning and disjoint cases",
          json_out("python -m benchmarks.weight_range --threads 1", "wr.json"),
          {"mean cosine per w_max": "table"}, 200),
    Entry("levels", "chips with 2 to 8 conductance levels: the hardware-adaptive rule trained "
          "through them (quantize, the default) and as for a continuous chip",
          json_out("python -m benchmarks.levels --threads 1 --seeds 10 --probes 50",
                   "levels.json"),
          {"recall": "table"}, 200),
    *(Entry(f"levels-{name}", f"chips with 2, 4 and 16 conductance levels, {what}: trained "
            "through them (quantize) and as for a continuous chip",
            json_out(f"python -m benchmarks.levels --threads 1 {LEVELS_CASES} {args}",
                     "levels.json"), {"recall": "table"}, seconds)
      for name, what, args, seconds in LEVELS_PATHS),
    *(Entry(f"levels-{name}-many", f"chips with 8 and 16 conductance levels, {what}, 20 fault "
            "maps: trained through them (quantize) and as for a continuous chip",
            json_out(f"python -m benchmarks.levels --threads 1 {LEVELS_MANY} {args}",
                     "levels.json"), {"recall": "table"}, seconds)
      for name, what, args, seconds in (
          ("fixed-point", "the fixed-point objective (one layer, binary)",
           "--objective fixed-point", 60),
          ("multilayer-continuous", "multilayer 64-64-64 memories (continuous)",
           "--arch multilayer --kind continuous", 600))),
    Entry("fixed-point-budget", "multilayer binary memories at the capacity edge: the "
          "fixed-point trainer's own stop against longer training",
          json_out("python -m benchmarks.fixed_point_budget --threads 1", "fpb.json"),
          {"trainings": "table"}, 1200),
    Entry("capacity-multilayer", "multilayer 64-32-64 capacity search on digits at 0.99, "
          "default recipe", (ML_SEARCH,), ML_SEARCH_VALUES, 120),
    Entry("capacity-multilayer-2026-12-01", "the same search with the multilayer binary "
          "options of 2026-12-01 (400 fine-tune steps of 5 updates at 0.01)",
          (ML_SEARCH + " --rule-options '{{\"finetune_steps\": 400, \"finetune_unroll\": 5, "
           "\"finetune_lr\": 0.01}}'",), ML_SEARCH_VALUES, 300),
    Entry("recipes-tuning-multilayer", "how the multilayer recipe was chosen: every candidate "
          "on the multilayer tuning cases",
          json_out("python -m benchmarks.recipe_search --arch multilayer --threads 1",
                   "search.json"),
          {"candidates": "table"}, 150),
    Entry("memory-n1024", "peak memory of the default recipe, N = 1024 single layer, 100 random "
          "patterns, 50% faults (3 + 3 steps: the training state has one size at every step)",
          ("python -c \"import json, xbarmem as xm; x = xm.random_patterns(100, 1024, seed=0); "
           "xm.train(x, chip=xm.load_preset('paper-sim').with_faults(0.5), max_steps=3, "
           "finetune_steps=3); hwm = [v for v in open('/proc/self/status') "
           "if v.startswith('VmHWM')][0].split()[1]; "
           "print(json.dumps({{'peak_rss_mb': int(hwm) / 1024}}))\"",),
          {"peak RSS MB": "peak_rss_mb"}, 20),
    Entry("capacity-search-before-12-01", "the capacity search of the performance issue with "
          "the one-layer default recipe of the day the issue was filed (before 2026-12-01, "
          "explicit options) and today's search, 2 threads",
          ("xbarmem capacity --arch single --data digits --threshold 0.9,0.95,0.99 --trials 2 "
           "--threads 2 --json --rule-options '{{\"warm_start\": false, \"unroll\": 5, "
           "\"recall_loss\": \"mse\", \"cue_copies\": 16, \"lr\": 0.01, \"max_steps\": 3000, "
           "\"finetune_unroll\": 10, \"finetune_steps\": 1000, \"finetune_lr\": 0.003, "
           "\"flip_steps\": 0, \"flip_bound\": 0}}'",), ML_SEARCH_VALUES, 600),
    Entry("capacity-search", "capacity search on 8x8 digits, default vs fast recipe and the "
          "default recipe of 2026-12-01, one after the other (benchmark case 5, 2 threads)",
          json_out("python -m benchmarks 5", "bench.json"),
          {f"{recipe}: {what}": f"cases/5/runs/{recipe}/{key}"
           for recipe in ("default", "fast", "default-2026-12-01")
           for what, key in (("wall s", "seconds"), ("capacities", "capacity"),
                             ("counts trained", "counts_trained"))}
          | {f"speed-up of {r} over default": f"cases/5/speed_ratio_default_over/{r}"
             for r in ("fast", "default-2026-12-01")}, 1500),
    Entry("capacity-digits", "capacity of single layer and 64-H-64 on scikit-learn digits",
          ("xbarmem capacity --arch single,multilayer --hidden 16,32,128 --data digits "
           "--threshold 0.99 --trials 2 --probes 20 --start 24 "
           "--rule-options '{{\"cue_flip\": 0.05}}' --json",), {"results": "results"}, 7200),
    scaling_entry("scaling-multilayer-binary", "multilayer H = N binary scaling exponent",
                  "64,144,256,400", 400, trials=2),
    scaling_entry("scaling-multilayer-binary-784", "multilayer H = N binary scaling exponent, "
                  "N = 64 ... 784 (one network per count)", "64,144,256,400,576,784", 4500,
                  extra={"search seconds per N": "runs/*/seconds",
                         "counts trained per N": "runs/*/evaluations"}),
    scaling_entry("scaling-multilayer-binary-crop24", "multilayer H = N binary scaling exponent "
                  "on the authors' preprocessing (mnist-crop24), N = 64 ... 576 (one network per "
                  "count)", "64,144,256,400,576", 600, data="mnist-crop24",
                  extra={"search seconds per N": "runs/*/seconds"}),
    Entry("scaling-continuous-small", "the continuous multilayer capacity (H = N) at N = 36 "
          "... 144 with (e)'s protocol (one network per count): where the quick run's "
          "two-point slopes lie",
          ("xbarmem scaling --arch multilayer --kind continuous "
           "--sizes 36,49,64,81,100,121,144 --hidden 1n --threshold 0.99 --probes 10 "
           "--pool 5000 --rule-options "
           "'{{\"objective\":\"basin\",\"unroll\":2,\"max_steps\":10000}}' "
           "--json --out {out}",),
          {"N": "sizes", "capacity @0.99": "capacity/0.99", "exponent": "fits/0.99/slope",
           "95% low": "fits/0.99/slope_low", "95% high": "fits/0.99/slope_high"}, 400),
    scaling_entry("scaling-check-base", "the binary exponent with the section's settings, "
                  "one network per count (the checks' baseline)", "64,144,256,400", 600),
    scaling_entry("scaling-check-width", "the binary exponent with H = 2N (one network per "
                  "count)", "64,144,256,400", 900, hidden="2n"),
    scaling_entry("scaling-check-threshold", "the binary exponent at threshold 0.97 (one "
                  "network per count)", "64,144,256,400", 1800, threshold="0.97"),
    scaling_entry("scaling-check-budget", "the binary exponent trained to the loss or 6000 "
                  "steps (one network per count)", "64,144,256", 600,
                  options={"stop": "loss", "max_steps": 6000}),
    Entry("products-bf16", "multilayer capacity searches with float32 and with bf16 training "
          "products (one network per count; run with --threads 2)",
          tuple(f"xbarmem scaling --arch multilayer --kind {kind} --sizes {n} --hidden 1n "
                f"--threshold 0.99 --trials 1 --probes 10 --pool 5000 --rule-options "
                f"'{{{{{options}{_BF16_OPTION[label]}}}}}' --json --out {{out}}/{kind}-{label}"
                for (kind, n, options), label in _BF16_SEARCHES),
          {f"{kind} N = {n}, {label}: {what}": f"{step}:{path}"
           for step, ((kind, n, _), label) in enumerate(_BF16_SEARCHES)
           for what, path in (("capacity @0.99", "capacity/0.99/0"),
                              ("search s", "runs/0/seconds"),
                              ("counts trained", "runs/0/evaluations"))}, 1200),
    Entry("products-bf16-single", "one-layer default recipe with float32 and with bf16 training "
          "products, random patterns, N = 64 (P = 32) and N = 512 (P = 200)",
          tuple(f"xbarmem train --data random --neurons {n} --patterns {p} -o "
                f"{{out}}/{n}-{label}.safetensors --json"
                + (" --rule-option products=bf16" if label == "bf16" else "")
                for (n, p), label in _BF16_SINGLE)
          + tuple(f"xbarmem evaluate {{out}}/{n}-{label}.safetensors --level 0.1 --probes 10 --json"
                  for (n, _), label in _BF16_SINGLE),
          {f"N = {n}, {label}: {what}": f"{step + offset}:{path}"
           for step, ((n, _), label) in enumerate(_BF16_SINGLE)
           for what, path, offset in (("train s", "train_seconds", 0),
                                      ("cosine 10% flips", "cosine", len(_BF16_SINGLE)))}, 120),
    Entry("benchmark-scaling", "the multilayer binary scaling run over N = 64 ... 784 with "
          "2 torch threads (benchmark case 6; run with --threads 2)",
          json_out("python -m benchmarks 6", "bench.json"),
          {"wall s": "cases/6/seconds", "N": "cases/6/sizes/*/n",
           "capacity @0.99": "cases/6/sizes/*/capacity",
           "counts trained per N": "cases/6/sizes/*/counts_trained",
           "search seconds per N": "cases/6/sizes/*/seconds", "exponent": "cases/6/fit/slope",
           "95% low": "cases/6/fit/slope_low", "95% high": "cases/6/fit/slope_high"}, 1800),
    Entry("benchmark-loads", "the performance issue's table: the authors' loop against the "
          "one-layer defaults before and of 2026-12-01, today's default and the fast recipe, "
          "random patterns, N = 64, P = 8 / 24 / 32 / 40 (benchmark case 1p)",
          json_out("python -m benchmarks 1p --threads 1", "bench.json"),
          {"table": "load_table"}, 90),
    Entry("benchmarks", "naive loop vs xbarmem speed-ups (benchmarks package)",
          json_out("python -m benchmarks --threads 1", "bench.json"),
          {f"case {case}: training speed-up over the naive loop, {label}": f"cases/{case}/"
           f"speed_ratio_naive_over/{side}/train"
           for case, label, side in (
               ("1", "default recipe", "xbarmem basin (default)"),
               ("1", "fast recipe", "xbarmem fast recipe"),
               ("1", "fixed-point", "xbarmem fixed-point"),
               ("1r", "default recipe", "xbarmem basin (default)"),
               ("1r", "fast recipe", "xbarmem fast recipe"),
               ("1r", "fixed-point", "xbarmem fixed-point"),
               ("3", "multilayer default", "xbarmem multilayer basin (default)"),
               ("3", "multilayer fast recipe", "xbarmem multilayer fast recipe"),
               ("3", "multilayer fixed-point", "xbarmem multilayer fixed-point"))}
          | {"recipes": "recipe_table",
             # the performance issue's other goals: the capacity curves (case 2: >= 50x at
             # equal capacity) and the N = 1024 point (case 4a: under 60 s)
             "case 2: faults": "cases/2/levels/*/faults",
             "case 2: wall speed-up over the naive loop": "cases/2/levels/*/"
             "speed_ratio_naive_over_xbarmem/wall",
             "case 2: training speed-up over the naive loop": "cases/2/levels/*/"
             "speed_ratio_naive_over_xbarmem/train",
             **{f"case 2: {label} capacity @{t}": f"cases/2/levels/*/{side}/capacity/{t}"
                for side, label in (("naive", "naive"), ("xbarmem", "xbarmem fixed-point"))
                for t in ("0.90", "0.95", "0.99")},
             "case 4a: wall s": "cases/4a/sides/xbarmem/wall_seconds",
             "case 4a: peak RSS bytes": "cases/4a/sides/xbarmem/peak_rss_bytes"},
          900),
)


def _dig(data: Any, path: str) -> Any:
    """The value at a ``/``-separated ``path``; ``*`` maps the rest of the path over a list,
    a number picks one item of a list."""
    key, _, rest = path.partition("/")
    if key == "*":
        return [_dig(item, rest) for item in data] if isinstance(data, list) else None
    if isinstance(data, list) and key.isdigit():
        if int(key) >= len(data):
            return None
        return _dig(data[int(key)], rest) if rest else data[int(key)]
    if not isinstance(data, dict) or key not in data:
        return None
    return _dig(data[key], rest) if rest else data[key]


#: commands that compute numbers take ``--threads`` (default 1), which overrides OMP_NUM_THREADS
THREADED = ("demo", "train", "evaluate", "recall", "adapt", "capacity", "scaling", "energy",
            "sweep", "reproduce")


def _argv(step: str, threads: int = 1) -> list[str]:
    """The program and arguments of ``step``; an ``xbarmem`` command that computes gets
    ``--threads`` unless the step names its own (a second ``--threads`` is refused; click
    once kept the last, so the script's replaced the step's)."""
    words = shlex.split(step)
    if words[0] == "xbarmem":
        extra = (["--threads", str(threads)] if len(words) > 1 and words[1] in THREADED
                 and _own_threads(step) is None else [])
        return [sys.executable, "-m", "xbarmem", *words[1:], *extra]
    if words[0] == "python":
        return [sys.executable, *words[1:]]
    raise SystemExit(f"error: unknown program in step {step!r}")


def _own_threads(step: str) -> int | None:
    """The ``--threads`` an ``xbarmem`` step names itself, else ``None``."""
    words = shlex.split(step)
    for i, word in enumerate(words[:-1]):
        if word == "--threads":
            return int(words[i + 1])
    found = [w.split("=", 1)[1] for w in words if w.startswith("--threads=")]
    return int(found[0]) if found else None


def _git_commit() -> str | None:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def _version() -> str:
    sys.path.insert(0, str(ROOT / "src"))
    from xbarmem.version import __version__

    return __version__


def _entry_threads(entry: Entry, threads: int) -> int:
    """The torch threads ``entry`` runs with: those its ``xbarmem`` steps name, else
    ``threads``."""
    own = {_own_threads(step) for step in entry.steps if step.startswith("xbarmem")}
    return own.pop() if len(own) == 1 and None not in own else threads


def run_entry(entry: Entry, threads: int) -> dict[str, Any]:
    """Run one entry's steps in a temporary folder; its record (raises on a failed step)."""
    threads = _entry_threads(entry, threads)
    # OpenMP keeps its default wait policy: with PASSIVE (sleeping workers) each small product
    # of a multi-threaded run waited for its workers to wake (a 2-thread N = 64 scaling search
    # took 18 s instead of 2 s)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), str(ROOT),
                                                        os.environ.get("PYTHONPATH")]))}
    commit = _git_commit()  # the code that runs, even if the tree changes during a long entry
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="measure-") as tmp:
        commands = [step.format(out=tmp) for step in entry.steps]
        outputs = []
        for command in commands:
            proc = subprocess.run(_argv(command, threads), cwd=tmp, env=env, capture_output=True,
                                  text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"{entry.name}: {command!r} failed: {proc.stderr.strip()}")
            outputs.append(proc.stdout)
    return {"what": entry.what,
            "command": " && ".join(step.format(out="OUT") for step in entry.steps),
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "torch_threads": threads, "xbarmem": _version(), "commit": commit, "cpu": _cpu(),
            "wall_seconds": round(time.perf_counter() - began, 1),
            "values": _values(entry.values, outputs)}


def _cpu() -> str:
    """The CPU's model name and whether it has AVX-512 (:func:`benchmarks.command_line.cpu`):
    another kind of CPU can move results in their last digits (and a recall, a sign of a sum,
    then visibly)."""
    if str(ROOT) not in sys.path:  # (run as ``python scripts/measure_docs.py``)
        sys.path.insert(0, str(ROOT))
    from benchmarks.command_line import cpu

    return cpu()


def _values(paths: dict[str, str], outputs: list[str]) -> dict[str, Any]:
    """``{label: value}`` for ``paths`` (``"K:path"``: in step K's JSON output, else in the
    last step's); each output is parsed once, and only if a path reads it."""
    parsed: dict[int, Any] = {}
    values = {}
    for label, path in paths.items():
        step, sep, rest = path.partition(":")
        k, path = (int(step), rest) if sep and step.isdigit() else (len(outputs) - 1, path)
        if k not in parsed:
            parsed[k] = json.loads(outputs[k])
        values[label] = _dig(parsed[k], path)
    return values


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list) and all(isinstance(v, int | float) for v in value):
        return " / ".join(_cell(v) for v in value)
    if isinstance(value, str) and "\n" in value:
        return "see measured.json"
    if isinstance(value, dict) and all(isinstance(v, str | int | float) for v in value.values()):
        text = ", ".join(f"{k}: {_cell(v)}" for k, v in value.items())  # e.g. verdicts by claim
        return text if len(text) <= 200 else "see measured.json"
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else "see measured.json"


def render(records: dict[str, Any]) -> str:
    """``docs/measured.md``: one row per measured entry, then the entries never measured."""
    lines = ["# Measured numbers (generated)", "",
             "Written by `python scripts/measure_docs.py`; do not edit by hand. Every row: the",
             "command (`OUT` = a temporary folder), when it ran, torch threads, xbarmem version",
             "and git commit; wall s is the whole entry, imports included, on a machine that",
             "may have been shared. The full values are in `docs/measured.json`.", "",
             "| entry | values | command | date | threads | version | commit | wall s |",
             "|---|---|---|---|---|---|---|---|"]
    for entry in ENTRIES:
        rec = records.get(entry.name)
        if rec is None:
            continue
        values = "; ".join(f"{k} {_cell(v)}" for k, v in rec["values"].items()) or "-"
        lines.append(f"| `{entry.name}` | {values} | `{rec['command']}` | {rec['date']} | "
                     f"{rec['torch_threads']} | {rec['xbarmem']} | {rec['commit'] or '-'} | "
                     f"{rec['wall_seconds']} |")
    for entry in ENTRIES:
        for label, value in records.get(entry.name, {}).get("values", {}).items():
            if isinstance(value, str) and "\n" in value:
                lines += ["", f"`{entry.name}`, {label} ({records[entry.name]['date']}):", "",
                          value]
    missing = [e for e in ENTRIES if e.name not in records]
    if missing:
        lines += ["", "Not yet measured by this script (estimated wall time with one thread):", ""]
        lines += [f"* `{e.name}` ({e.what}; ~{e.seconds:g} s): "
                  f"`python scripts/measure_docs.py --only {e.name}`" for e in missing]
    return "\n".join(lines) + "\n"


#: ``<!-- measured: NAME -->`` regenerates the entry's provenance, values and tables;
#: ``<!-- measured: NAME tables -->`` its provenance and tables only (the values are in them).
REGION = re.compile(r"(<!-- measured: ([\w-]+)( tables)? -->\n)(.*?)(<!-- /measured -->)", re.S)
#: a line of values longer than this is shown as one bullet per value
LONG_VALUES = 240


def fragment(name: str, records: dict[str, Any], *, tables_only: bool = False) -> str:
    """What a ``<!-- measured: NAME -->`` region of a doc holds: the entry's values with their
    provenance (or a note that it has not been measured yet); with ``tables_only`` the values
    a table does not show are left out. A line of values longer than :data:`LONG_VALUES`
    characters is written as one bullet per value."""
    rec = records.get(name)
    if rec is None:
        return f"*`{name}`: not measured yet (`python scripts/measure_docs.py --only {name}`).*\n"
    head = (f"*Re-measured* (`{name}`: {rec['date']}, {rec['torch_threads']} torch "
            f"thread(s), xbarmem {rec['xbarmem']}, commit {rec['commit'] or '-'}"
            + (f", CPU {rec['cpu']}" if rec.get("cpu") else "") + f"; `{rec['command']}`):")
    blocks = {k: _block(k, v) for k, v in rec["values"].items()}
    tables = [b for b in blocks.values() if b is not None]
    pairs = [] if tables_only and tables else [
        f"{k} {_cell(v)}" for k, v in rec["values"].items() if blocks[k] is None]
    if len("; ".join(pairs)) > LONG_VALUES:
        values = ["", *(f"* {p}" for p in pairs)]
    else:
        values = ["; ".join(pairs)] if pairs else []
    lines = [head, *values, *(["", *tables] if tables else [])]
    return "\n".join(lines) + "\n"


def _block(label: str, value: Any) -> str | None:
    """A value shown as lines of its own below the values: a text of several lines (a table),
    the measured reasons of a report (``{claim: [reason, ...]}``) as one line each, or a
    mapping of numbers too long for the line of values (``label: key value, ...``)."""
    if isinstance(value, str) and "\n" in value:
        return value
    if (isinstance(value, dict) and value and _cell(value) == "see measured.json"
            and all(isinstance(v, int | float) for v in value.values())):
        return f"{label}: " + ", ".join(f"{k} {_cell(v)}" for k, v in value.items())
    if (isinstance(value, dict) and value and all(
            isinstance(v, list) and all(isinstance(w, str) for w in v) for v in value.values())):
        return "\n".join(f"Measured reason ({k}): {w}" for k, ws in value.items() for w in ws)
    return None


def update_regions(text: str, records: dict[str, Any]) -> str:
    """``text`` with every measured region regenerated from ``records``."""
    return REGION.sub(lambda m: m.group(1) + fragment(m.group(2), records,
                                                      tables_only=bool(m.group(3)))
                      + m.group(5), text)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run this entry (repeatable)")
    parser.add_argument("--quick", action="store_true",
                        help=f"run every entry estimated under {QUICK_SECONDS:g} s")
    parser.add_argument("--all", action="store_true", help="run every entry")
    parser.add_argument("--list", action="store_true", help="list the entries and exit")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--render", action="store_true",
                        help="only regenerate docs/measured.md from docs/measured.json")
    args = parser.parse_args(argv)
    names = {e.name for e in ENTRIES}
    unknown = [n for n in args.only if n not in names]
    if unknown:
        parser.exit(2, f"error: unknown entry {unknown[0]!r} (see --list)\n")
    if args.threads < 1:
        parser.exit(2, f"error: --threads must be >= 1, got {args.threads}\n")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    path = DOCS / "measured.json"
    records = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if args.list:
        for e in ENTRIES:
            last = records.get(e.name, {}).get("date", "never")
            print(f"{e.name:28s} ~{e.seconds:>6g} s  last: {last:22s} {e.what}")
        return 0
    chosen = [e for e in ENTRIES if args.all or e.name in args.only
              or (args.quick and e.seconds < QUICK_SECONDS)]
    if not chosen and not args.render:
        print("error: choose entries with --only NAME, --quick or --all (see --list)",
              file=sys.stderr)
        return 2
    for entry in chosen:
        print(f"{entry.name} ...", flush=True)
        record = run_entry(entry, args.threads)
        print(f"  {record['wall_seconds']} s: {record['values']}")
        # re-read: another run may have written other entries while this one ran
        records = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        records[entry.name] = record
        path.write_text(json.dumps(records, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    records = json.loads(json.dumps(records, sort_keys=True))  # render what the file holds
    (DOCS / "measured.md").write_text(render(records), encoding="utf-8")
    for doc in measured_docs():
        text = doc.read_text(encoding="utf-8")
        if (new := update_regions(text, records)) != text:
            doc.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
