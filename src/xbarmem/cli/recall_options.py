"""Cues and recall, and what is measured of it: ``--activation``, ``--mode``, ``--probes``,
``--tol``, ``--corruption``, ``--level``, ``--trials``, the capacity search (``--threshold``,
...) and ``energy --calibrate``'s targets."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from xbarmem.checks import MAX_COUNT
from xbarmem.cli.option_types import bounded, choice, choice_text, completes
from xbarmem.names import ACTIVATIONS, CORRUPTION_METHODS, MODES

Activation = Annotated[str | None, choice(
    "--activation", metavar="sign|tanh", choices=lambda: ACTIVATIONS, blank=False,
    strict=True,
    help="Neuron type (default: sign for binary patterns, tanh for continuous; tanh on "
    "binary = analogue neurons, sign read-out).")]
Mode = Annotated[str, choice("--mode", metavar="sync|async", choices=lambda: MODES,
                             strict=True, help="Recall mode.")]
Probes = Annotated[int, bounded(
    "--probes", metavar="N", ge=1, le=MAX_COUNT, help="Corrupted cues per stored pattern.")]
MaxIterations = Annotated[int, bounded(
    "--max-iterations", metavar="N", ge=1, le=MAX_COUNT, help="Cap on sync steps / async sweeps "
    "per recall.")]
Tol = Annotated[float, bounded(
    "--tol", metavar="X", ge=0.0, help="tanh recall: a cue has settled when no neuron's state "
    "changes by more than X in a step (async: a sweep). Under read noise tanh states change "
    "by about the noise at every step: recall then runs to its cap of steps unless X is at "
    "least that large.")]


def trials(differ: str = "fault maps, pattern subsets") -> Any:
    """``--trials N`` with what differs from one of the command's trials to the next in the
    help (``differ``; demo: the fault maps only), for an ``Annotated[int, ...]`` alias."""
    return bounded("--trials", metavar="N", ge=1, le=MAX_COUNT, help=f"Repeats: independent "
                   f"chips or networks ({differ}) per result. The hardware-adaptive rule "
                   f"trains them together: another number of trials changes each trial's "
                   f"numbers.")


Trials = Annotated[int, trials()]

CORRUPTIONS = "flip, gaussian, occlude or salt-pepper"


def corruption(default: str = "flip for binary patterns, gaussian for continuous",
               kinds: str = CORRUPTIONS) -> Any:
    """``--corruption KIND`` with the command's kinds and default in the help (for an
    ``Annotated[str | None, ...]`` alias)."""
    return typer.Option("--corruption", metavar="KIND", parser=choice_text,
                        autocompletion=completes(lambda: CORRUPTION_METHODS),
                        help=f"Cue corruption: {kinds} (default: {default}).")


def level(default: str = "0.1 for flip and salt-pepper, 0.6 for gaussian and occlude", *,
          flips_only: bool = False) -> Any:
    """``--level X`` with the command's default in the help; ``flips_only``: for a command
    whose cues are bit flips only (:data:`FlipOnly`). For an ``Annotated[float | None, ...]``
    alias."""
    what = ("the share of bits flipped" if flips_only else
            "flip or salt-pepper rate, Gaussian noise sigma (in pattern units; the noisy "
            "cue is clipped to [-1, 1]; of binary patterns, the cue is its signs) or "
            "occluded fraction")
    return bounded("--level", metavar="X", ge=0.0,
                   help=f"Corruption level: {what} (default: {default}).")


Corruption = Annotated[str | None, corruption()]
Level = Annotated[float | None, level()]
FlipOnly = Annotated[str | None, typer.Option(
    "--corruption", metavar="KIND", parser=choice_text, autocompletion=completes(lambda: ("flip",)),
    help="Cue corruption: flip (bit flips), the only kind this command takes.")]

# ------------------------------------------------------------------------------ capacity search
Threshold = Annotated[str, typer.Option(
    "--threshold", metavar="X[,X...]", help="Recall similarity threshold(s), comma-separated.")]
Resolution = Annotated[float, bounded(
    "--resolution", metavar="X", ge=0.0, le=1.0, help="Relative bracket width at which the search "
    "stops (0 = exact).")]
Start = Annotated[int | None, bounded(
    "--start", metavar="N", ge=1, le=MAX_COUNT, help="First count tried (default: N/8 rounded "
    "down, at least 2, for one layer; N rounded down to even for multilayer memories); at most "
    "the pool's distinct patterns.")]

# ------------------------------------------------------------------------------ energy --calibrate
TargetEnergy = Annotated[float | None, bounded(
    "--target-energy", metavar="X", gt=0.0, help="--calibrate: async/sync energy ratio (default: "
    "the paper's).")]
TargetLatency = Annotated[float | None, bounded(
    "--target-latency", metavar="X", gt=0.0, lt=1.0, help="--calibrate: latency reduction (1 - "
    "sync/async; default: the paper's).")]
