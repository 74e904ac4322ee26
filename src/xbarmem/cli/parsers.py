"""Parsers of the command line's list and JSON values (``--threshold 0.9,0.99``,
``--sizes``, ``--hidden 64-32`` / ``1n``, ``--rule-options`` / ``--rule-option``) and the
checks of the trainer options they give; each refuses a bad value with one
:class:`~xbarmem.errors.ConfigError` line naming the option."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from xbarmem.checks import choices_text, closest_choice, lost_number, ratio_width
from xbarmem.errors import ConfigError, PatternError
from xbarmem.files import NumberError, parse_text
from xbarmem.names import OWN_RULE, RECIPES, RULE_NAMES

if TYPE_CHECKING:
    from xbarmem.data.readers import ImageStack


def floats(text: str, what: str) -> list[float]:
    """Comma-separated numbers, each given once (:func:`each_once`); an empty value (``16,``,
    ``16,,25``) is refused, as in the lists of field names and ``--hidden``."""
    if not text.strip():
        raise ConfigError(f"{what} is empty")
    lost = next(filter(None, map(lost_number, text.split(","))), None)
    if lost is not None:
        raise ConfigError(f"{what}: {lost}")
    try:
        values = [float(v) for v in text.split(",")]  # float("") is a ValueError
    except ValueError:
        raise ConfigError(f"{what} must be comma-separated numbers, got {text!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise ConfigError(f"{what} must be finite numbers, got {text!r}")
    return each_once(values, what, text, show=lambda v: f"{v:g}")


def each_once(values: list[Any], what: str, text: str,
              show: Callable[[Any], str] = str) -> list[Any]:
    """``values`` of the list option ``what`` (given as ``text``), refused when one is given
    twice (``--sizes 64,64`` ran N = 64 twice and fitted it twice): ConfigError naming it."""
    seen: list[Any] = []
    for value in values:
        if value in seen:
            raise ConfigError(f"{what} lists {show(value)} twice, got {text!r}; give each "
                              f"value once")
        seen.append(value)
    return values


def thresholds(text: str) -> list[float]:
    """``--threshold``: comma-separated similarities in (0, 1]."""
    values = floats(text, "--threshold")
    if not all(0 < v <= 1 for v in values):
        raise ConfigError(f"--threshold must be similarities in (0, 1], got {text!r}")
    return values


def neuron_sizes(text: str, what: str = "--sizes", data: str | ImageStack | None = None
                 ) -> list[int]:
    """Comma-separated numbers of neurons, each an integer >= 2
    (:func:`xbarmem.checks.check_neurons`) that the built-in image set or file's images
    ``data`` (if given) can be resized to (:func:`check_image_neurons`)."""
    from xbarmem.checks import check_neurons

    # each N by the one rule (--sizes 0 said "must be positive integers", which 1 is)
    sizes = [check_neurons(int(n) if n == int(n) else n, f"{what} (each N)")
             for n in floats(text, what)]
    for n in sizes:
        check_image_neurons(data or "", n, what)
    return sizes


#: one hidden width: an integer, or ``(multiple of N,)`` for ``1n`` / ``0.5n``
Width = int | tuple[float]


def _width(part: str, text: str, several: bool) -> Width:
    """One width of ``--hidden`` (the words of :meth:`HiddenRule.word`, as a sweep's
    ``hidden``): an integer, or ``(R,)`` for ``Rn``; the error shows commas between
    architectures only where the command takes ``several`` (one architecture: commas are
    refused, or an old spelling of ``-``)."""
    from xbarmem.evaluation.hidden_rule import HiddenRule

    try:
        rule = HiddenRule.word(part)
    except ConfigError:
        archs = "16,32 = two architectures, " if several else ""
        raise ConfigError(f"--hidden must be positive integer widths (64-32 = two layers, "
                          f"{archs}0.5n = half of N), got {text!r}") from None
    return int(rule.value) if rule.kind == "fixed" else (rule.value,)


def hidden_specs(text: str, *, several: bool = False) -> list[list[Width]]:
    """``--hidden``: architectures (``,``) of layer widths (``-``,
    :func:`~xbarmem.evaluation.hidden_rule.layer_words`); one unless ``several``."""
    from xbarmem.evaluation.hidden_rule import layer_words

    archs = [a for a in str(text).split(",")]
    if any(not a.strip() for a in archs):
        raise ConfigError(f"--hidden has an empty width list: {text!r}")
    if len(archs) > 1 and not several:
        raise ConfigError(f"--hidden takes one architecture here (64-32 = two hidden layers), "
                          f"got {text!r}")
    return each_once([[_width(w, text, several) for w in layer_words(a)] for a in archs],
                     "--hidden", text, show=width_text)


def width_text(spec: list[Width]) -> str:
    """One architecture of ``--hidden`` in its words: ``64-32``, ``0.5n-8``."""
    from xbarmem.evaluation.hidden_rule import HiddenRule

    return "-".join(HiddenRule("ratio", w[0]).word_text if isinstance(w, tuple) else str(w)
                    for w in spec)


def resolve_widths(spec: list[Width], n: int) -> list[int]:
    """Widths of one architecture for N neurons (``Rn`` -> ``max(1, round(R N))``)."""
    return [w if isinstance(w, int) else ratio_width(w[0], n) for w in spec]


def hidden_widths(text: str, n: int) -> list[int]:
    """``--hidden`` of a command taking one architecture, resolved for N neurons."""
    return resolve_widths(hidden_specs(text)[0], n)


def rule_options(text: str | None, pairs: list[str] | None,
                 recipe: str | None = None) -> dict[str, Any]:
    """``--recipe NAME``, then ``--rule-options JSON``, then ``--rule-option KEY=VALUE`` (values:
    JSON scalars, else text), merged in that order."""
    options: dict[str, Any] = {}
    if recipe is not None:
        if recipe not in RECIPES:
            raise ConfigError(f"--recipe must be one of {', '.join(RECIPES)}, got {recipe!r}")
        options["recipe"] = recipe
    if text is not None:
        if not text.strip():
            raise ConfigError("--rule-options is empty; give a JSON object, e.g. "
                              "'{\"cue_flip\": 0.05}'")
        try:
            value = parse_text(json.loads, text)
        except NumberError as exc:  # (valid JSON: 1e-400, read as 0)
            raise ConfigError(f"--rule-options: {exc}") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--rule-options must be a JSON object: {exc}") from None
        if not isinstance(value, dict):
            raise ConfigError("--rule-options must be a JSON object, e.g. '{\"cue_flip\": 0.05}'")
        options.update(value)
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--rule-option must be KEY=VALUE, got {pair!r}")
        try:
            value = parse_text(json.loads, raw)
        except NumberError as exc:  # (1e-400: read as 0)
            raise ConfigError(f"--rule-option {pair!r}: {exc}") from None
        except json.JSONDecodeError:
            value = raw
        options[key.strip()] = raw if isinstance(value, (dict, list)) else value
    return options


def check_rule_options(rule: str, options: dict[str, Any], *, multilayer: bool = False,
                       sizes: list[int] | None = None, kind: str | None = None) -> None:
    """Refuse unknown or invalid trainer options, and a multilayer memory of a rule other than
    the hardware-adaptive one, before any work is done; with the memory's layer widths
    ``sizes`` (and the patterns' ``kind``, when known), the hardware-adaptive rule's options
    that do not apply to them (``refuse_inapplicable``: e.g. ``init=linear`` on a hidden layer
    narrower than N), as training would refuse them once begun."""
    if rule not in RULE_NAMES:
        raise ConfigError(f"unknown rule {rule!r} (available: {choices_text(RULE_NAMES)})"
                          f"{closest_choice(rule, RULE_NAMES) or OWN_RULE}")
    if multilayer and rule != "adaptive":
        raise ConfigError(f"--rule {rule}: multilayer memories (--arch multilayer) are trained "
                          f"by the hardware-adaptive rule only; give --arch single for {rule!r}")
    if not options:
        return
    if "recipe" in options and rule != "adaptive":
        raise ConfigError(f"--recipe applies to the adaptive rule only, not {rule!r}")
    from xbarmem.learning.classic import rule_from_options

    if not multilayer:
        trainer = rule_from_options(rule, options)  # ConfigError: bad option for rule ...
    else:
        from xbarmem.learning.multilayer import MultilayerTrainer

        try:  # from_dict: an unknown key is named with the allowed ones, as for one layer
            trainer = MultilayerTrainer.from_dict(options)
        except ConfigError as exc:
            raise ConfigError(f"bad option for rule {rule!r} (multilayer): {exc}") from None
    if sizes is not None and rule == "adaptive":
        trainer.refuse_inapplicable(len(sizes) - 1, kind, sizes)


def check_image_neurons(source: str | ImageStack, neurons: int | None,
                        what: str = "--neurons") -> None:
    """Refuse a number of neurons (option ``what``) that a built-in image set ``source`` or a
    file's :class:`~xbarmem.data.readers.ImageStack` cannot be resized to."""
    from xbarmem.data.builtin import IMAGE_SETS
    from xbarmem.data.sources import image_side

    if neurons is not None and (not isinstance(source, str)
                                or source.strip().lower() in IMAGE_SETS):
        try:
            image_side(source, neurons)
        except PatternError as exc:
            raise ConfigError(f"{what}: {exc}") from None
