"""Old spellings of options, hidden from ``--help``: each still works for one release and prints
a ``warning: ...`` line (:mod:`xbarmem.cli.given` reads them)."""

from __future__ import annotations

from typing import Annotated

import typer

from xbarmem.checks import MAX_COUNT
from xbarmem.cli.option_types import bounded
from xbarmem.names import ACTIVATIONS

# Old spellings, hidden from --help; each still works for one release with a warning.
OldFlip = Annotated[float | None, bounded(
    "--flip", hidden=True, ge=0.0, le=1.0, help="Deprecated: --corruption flip --level X.")]
OldChips = Annotated[int | None, bounded(
    "--chips", hidden=True, ge=1, le=MAX_COUNT, help="Deprecated: --trials N.")]
OldSide = Annotated[int | None, bounded(
    "--side", hidden=True, ge=1, le=MAX_COUNT, help="Deprecated: --neurons N (N = side^2).")]
OldCount = Annotated[int | None, bounded(
    "--n", hidden=True, ge=1, le=MAX_COUNT, help="Deprecated: --patterns N.")]
OldNeuronsN = Annotated[int | None, bounded(
    "--n", hidden=True, ge=1, le=MAX_COUNT, help="Deprecated: --neurons N.")]
OldEnergyCount = Annotated[int | None, bounded(
    "--count", hidden=True, ge=1, le=MAX_COUNT, help="Deprecated: --patterns N.")]


def old_activation(text: object) -> str | None:
    """The activation (``sign``, ``tanh``) the old ``--neurons`` spelling ``text`` names, in
    any case and spacing, else None: the one reading of ``--neurons sign|tanh`` (``energy``
    takes a number of neurons there too)."""
    word = text.strip().lower() if isinstance(text, str) else None
    return word if word in ACTIVATIONS else None


def _old_activation(text: str) -> str:
    """The neuron type of the old ``--neurons sign|tanh`` (any case); a number or another
    word is refused naming ``--neurons`` (``evaluate --neurons 64``, the pattern length of
    ``train``, was refused as ``activation must be one of sign, tanh, got '64'``: an option
    the user never typed)."""
    activation = old_activation(text)
    if activation is not None:
        return activation
    raise typer.BadParameter(
        f"{text!r}: here --neurons is the old spelling of --activation sign|tanh; the "
        f"model sets its number of neurons N")


OldActivation = Annotated[str | None, typer.Option(
    "--neurons", hidden=True, parser=_old_activation,
    help="Deprecated: --activation sign|tanh.")]
OldMaxSteps = Annotated[int | None, bounded(
    "--max-steps", hidden=True, ge=1, le=MAX_COUNT, help="Deprecated: --rule-option max_steps=N.")]
OldObjective = Annotated[str | None, typer.Option(
    "--objective", hidden=True, help="Deprecated: --rule-option objective=NAME.")]
OldNoiseInjection = Annotated[bool | None, typer.Option(
    "--noise-injection/--no-noise-injection", hidden=True,
    help="Deprecated: --rule-option noise_injection=true.")]
OldFinetuneSteps = Annotated[int | None, bounded(
    "--finetune-steps", hidden=True, ge=0, le=MAX_COUNT, help="Deprecated: --rule-option "
    "finetune_steps=N.")]
OldBias = Annotated[bool | None, typer.Option(
    "--bias/--no-bias", hidden=True, help="Deprecated: --rule-option bias=true|false.")]
