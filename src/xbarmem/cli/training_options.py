"""Training: ``--rule``, ``--recipe``, ``--rule-options`` / ``--rule-option`` (the
:data:`trainer_options` group), ``--arch``, ``--hidden``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from xbarmem.cli.option_types import choice, option_group
from xbarmem.cli.parsers import rule_options
from xbarmem.names import ARCHS, RECIPES, RULE_NAMES

Rule = Annotated[str, choice(
    "--rule", metavar="NAME", choices=lambda: RULE_NAMES,
    help=f"Learning rule: {', '.join(RULE_NAMES)}.")]
Recipe = Annotated[str | None, choice(
    "--recipe", metavar="NAME", choices=lambda: RECIPES, blank=False,
    help=f"Recipe of the adaptive rule: {', '.join(RECIPES)} (fast: binary patterns, fewer and "
    "cheaper training steps, lower recall on chips with many stuck devices; default: default). "
    "Options given with --rule-option(s) win.")]
RuleOptions = Annotated[str | None, typer.Option(
    "--rule-options", metavar="JSON", help="Trainer options as a JSON object, e.g. "
    "'{\"max_steps\": 300}'.")]
RuleOption = Annotated[list[str] | None, typer.Option(
    "--rule-option", metavar="KEY=VALUE", help="One trainer option (value read as JSON, "
    "else text), e.g. variation=0.3: train under programming variation of std 0.3 max|W| "
    "(variation-aware); repeatable, overrides --rule-options.")]
HIDDEN_HELP = ("Hidden widths (--arch multilayer): 64-32 = two hidden layers; a width may be "
               "a multiple of N (1n, 0.5n)")
Hidden = Annotated[str, typer.Option("--hidden", metavar="WIDTHS", help=HIDDEN_HELP + ".")]
HiddenSeveral = Annotated[str, typer.Option(
    "--hidden", metavar="WIDTHS", help=HIDDEN_HELP + "; commas separate architectures "
    "(16,32,128).")]
HiddenScaling = Annotated[str, typer.Option(
    "--hidden", metavar="WIDTHS", help=HIDDEN_HELP + "; a width H is H at every N, "
    "a multiple follows N (1n = N, 0.5n = N/2); one architecture per run (for several, run "
    "scaling once for each).")]


def arch(choices: str = "single or multilayer (N -> hidden widths -> N)", *,
         many: bool = False) -> Any:
    """``--arch ARCH`` with the command's choices in the help (for an ``Annotated[str, ...]``
    alias); ``many``: the command takes several, comma-separated (else one name)."""
    return choice("--arch", metavar="ARCH", choices=lambda: ARCHS, strict=True, many=many,
                  help=f"Architecture: {choices}.")


Arch = Annotated[str, arch()]

#: ``--recipe NAME --rule-options JSON --rule-option KEY=VALUE``; the command receives the
#: merged dict.
trainer_options = option_group({"recipe": (Recipe, None), "rule_options": (RuleOptions, None),
                               "rule_option": (RuleOption, None)},
                              lambda **given: rule_options(given["rule_options"],
                                                           given["rule_option"],
                                                           given["recipe"]))
