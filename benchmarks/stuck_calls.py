"""``python -m benchmarks.stuck_calls``: stuck devices a measured chip's import calls, right or not.

Measured maps are simulated with the project's own device model: targets of one 64x64 array
(both planes), random (uniform over the window, or over its levels) or a trained memory's
(a projection rule's weights of 8 random +-1 patterns, scaled to the weight range, programmed
through :class:`~xbarmem.hardware.crossbar.Crossbar`); each device written as
:meth:`Crossbar.program` writes it (quantised to the levels, a Gaussian write error, clipped to
the window), read with Gaussian read noise (readings below 0 S taken as 0 S); a share of the
devices stuck (half at g_min, half at g_max), read at their stuck conductance. Each map goes
through :func:`~xbarmem.hardware.measured.measured_chip` with its default tolerance.

Counted per case: **false** stuck calls (free devices called stuck, share of the free ones)
and **missed** stuck devices among those the data tell (stuck ``10 x sqrt(write^2 + read^2)``
and 1% of the window or more from their target; share of them), and the cases that warn of
devices it cannot tell apart. Noise is given in level spacings (``window / 15`` on a
continuous chip). Prints the summary as a markdown table.

Results go to ``benchmarks/results/stuck_calls.json`` with the date, torch threads and command;
``--json`` prints them. Takes about half a minute.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from xbarmem.errors import FileFormatError
from xbarmem.hardware.chip import ChipSpec, load_chip
from xbarmem.hardware.crossbar import Crossbar
from xbarmem.hardware.faults import FaultMap
from xbarmem.hardware.measured import Measurement, measured_chip

from . import command_line
from .recipes import provenance, write_result

LEVELS = (2, 3, 4, 8, 16, 0)
WRITE = (0.0, 0.05, 0.2, 0.5, 1.0)  # write noise std, level spacings
READ = (0.0, 0.01, 0.05, 0.2, 0.5)  # read noise std, level spacings
RATES = (0.0, 0.02, 0.1, 0.3, 0.5)
G_MINS = (2e-6, 0.0)
KINDS = ("random", "trained")
SIDE = 64


@dataclass
class Case:
    levels: int
    write: float
    read: float
    rate: float
    g_min: float
    kind: str


def _trained_weights(rng: np.random.Generator) -> np.ndarray:
    """A projection rule's weights of 8 random +-1 patterns of 64 neurons, largest 1."""
    x = np.where(rng.random((SIDE, 8)) < 0.5, -1.0, 1.0)
    w = x @ np.linalg.pinv(x)
    return w / np.abs(w).max()


def _targets(chip: ChipSpec, kind: str, rng: np.random.Generator) -> np.ndarray:
    """``(1, 2, 64, 64)`` targets: the levels (or window) uniformly, or a trained memory's."""
    d = chip.device
    if kind == "random":
        if d.levels:
            k = rng.integers(0, d.levels, (1, 2, SIDE, SIDE))
            return np.where(k == d.levels - 1, d.g_max, d.g_min + k * d.g_range / (d.levels - 1))
        return rng.uniform(d.g_min, d.g_max, (1, 2, SIDE, SIDE))
    ideal = chip.replace_device(write_noise=0.0)
    layer = Crossbar(ideal, SIDE, SIDE, FaultMap.empty(1, SIDE, SIDE), bias=False)
    w = _trained_weights(rng) * chip.array.weight_range
    return layer.program(torch.as_tensor(w, dtype=torch.float32)).planes()[None]


def simulate(case: Case, seed: int = 0) -> tuple[Measurement, np.ndarray]:
    """A simulated measurement of ``case`` and the mask of its stuck devices."""
    rng = np.random.default_rng(seed)
    base = load_chip("rram")
    spacing = (base.device.g_max - case.g_min) / ((case.levels or 16) - 1)
    chip = base.replace_device(g_min=case.g_min, levels=case.levels)
    d = chip.device
    target = _targets(chip, case.kind, rng)
    written = np.clip(target + rng.normal(0.0, case.write * spacing, target.shape), d.g_min,
                      d.g_max)
    stuck = rng.random(target.shape) < case.rate
    on = rng.random(target.shape) < 0.5
    g = np.where(stuck, np.where(on, d.g_max, d.g_min), written)
    read = np.maximum(g + rng.normal(0.0, case.read * spacing, g.shape), 0.0)
    return Measurement(target, read, "sim.csv"), stuck


def score(case: Case, seed: int = 0) -> dict[str, float]:
    """False calls, missed detectable stuck devices (counts and shares), warnings."""
    meas, stuck = simulate(case, seed)
    spacing = (150e-6 - case.g_min) / ((case.levels or 16) - 1)
    sigma = spacing * np.hypot(case.write, case.read)
    true_g = np.where(meas.read > 0.5 * (150e-6 + case.g_min), 150e-6, case.g_min)
    tell = stuck & (np.abs(true_g - meas.target) > max(10 * sigma, 0.01 * (150e-6 - case.g_min)))
    base = load_chip("rram").replace_device(g_min=case.g_min, levels=case.levels)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        try:
            _, faults, _ = measured_chip(meas, base.replace_array(rows=SIDE, cols=SIDE))
        except FileFormatError:  # read noise carrying readings beyond what a map may hold
            return {"false": 0, "false_share": 0.0, "missed": 0, "missed_share": 0.0,
                    "tell": int(tell.sum()), "warned": 0.0, "wide": 0.0, "refused": 1.0}
    called = faults.stuck
    false = int((called & ~stuck).sum())
    missed = int((tell & ~called).sum())
    return {"false": false, "false_share": false / max(1, int((~stuck).sum())),
            "missed": missed, "missed_share": missed / max(1, int(tell.sum())),
            "tell": int(tell.sum()),
            "warned": float(any("cannot be told" in str(w.message) for w in said)),
            "wide": float(any("readings' range" in str(w.message) for w in said)),
            "refused": 0.0}


def cases() -> list[Case]:
    return [Case(*c) for c in itertools.product(LEVELS, WRITE, READ, RATES, G_MINS, KINDS)]


def _row(name: str, rows: list[tuple[Case, dict[str, float]]]) -> dict[str, float | int | str]:
    """One summary row: cases, cases above 0.1% false calls / 1% missed, the worst shares,
    and the cases that warned (undecided, wide) or were refused."""
    return {"rows": name, "cases": len(rows),
            "false_cases": sum(r["false_share"] > 1e-3 for _, r in rows),
            "worst_false": max(r["false_share"] for _, r in rows),
            "missed_cases": sum(r["missed_share"] > 0.01 for _, r in rows),
            "worst_missed": max(r["missed_share"] for _, r in rows),
            "undecided": int(sum(r["warned"] for _, r in rows)),
            "wide": int(sum(r["wide"] for _, r in rows)),
            "refused": int(sum(r["refused"] for _, r in rows))}


def measure(seed: int) -> tuple[list[dict], list[tuple[Case, dict[str, float]]]]:
    """Every case scored, and the summary rows: per level count up to 30% stuck, at 50%, all."""
    scored = [(c, score(c, seed)) for c in cases()]
    rows = [_row(f"{levels or 'none'} (0-30%)",
                 [(c, r) for c, r in scored if c.levels == levels and c.rate < 0.5])
            for levels in LEVELS]
    rows += [_row("all (50%)", [(c, r) for c, r in scored if c.rate == 0.5]),
             _row("all", scored)]
    return rows, scored


def missed_warned(scored: list[tuple[Case, dict[str, float]]]) -> str:
    """How many of the cases above 1% missed stuck devices warned of a tolerance as wide as
    the readings (*wide*), else of devices that cannot be told (*undecided*), or of neither:
    ``"wide / undecided / neither"``."""
    missed = [r for _, r in scored if r["missed_share"] > 0.01]
    wide = sum(bool(r["wide"]) for r in missed)
    undecided = sum(bool(r["warned"]) and not r["wide"] for r in missed)
    return f"{wide} / {undecided} / {len(missed) - wide - undecided}"


def table(rows: list[dict]) -> str:
    """The summary rows as a markdown table."""
    lines = ["| levels (stuck) | cases | >0.1% false | worst false | >1% missed | worst missed "
             "| undecided | wide | refused |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['rows']} | {r['cases']} | {r['false_cases']} | {r['worst_false']:.1%} | "
              f"{r['missed_cases']} | {r['worst_missed']:.1%} | {r['undecided']} | {r['wide']} "
              f"| {r['refused']} |" for r in rows]
    return "\n".join(lines)


@command_line.one_line_refusals
def main(argv: list[str] | None = None) -> int:
    parser = command_line.parser("stuck_calls", __doc__)
    parser.add_argument("--seed", type=command_line.seed, default=0,
                        help="seed of the simulated maps (default 0)")
    parser.add_argument("--verbose", action="store_true", help="print every bad case")
    command_line.results_options(parser, "stuck_calls")
    args = parser.parse_args(argv)
    if not command_line.json_out_ok(args.json_out):
        return 2
    torch.set_num_threads(1)
    rows, scored = measure(args.seed)
    result = {**provenance("stuck_calls", argv), "seed": args.seed, "cases": len(scored),
              "rows": rows, "table": table(rows), "missed_warned": missed_warned(scored)}
    if not args.json:  # (with --json stdout holds only the JSON)
        print(result["table"])
        print(f"cases above 1% missed, warned wide / undecided / neither: "
              f"{result['missed_warned']}")
        if args.verbose:
            for c, r in scored:
                if r["false_share"] > 1e-3 or r["missed_share"] > 0.01:
                    print(c, {k: round(v, 4) for k, v in r.items()})
    return write_result(result, args.json_out, json_stdout=args.json)


if __name__ == "__main__":
    raise SystemExit(main())
