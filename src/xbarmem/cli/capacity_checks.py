"""The option checks of ``xbarmem capacity`` and ``xbarmem scaling``, made before any work.

The architectures of ``--arch`` / ``--hidden`` and the rule options each takes
(:func:`architectures`), scaling's hidden layers (:func:`hidden_rules_of`), the request's size
and a ``--fault-map`` that must fit the chip (:func:`check_requests`), and the recall protocol
(:func:`search_protocol`, :func:`tol_words`).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from xbarmem.checks import choices_text, closest_choice
from xbarmem.cli import given, parsers
from xbarmem.cli.messages import warn_deprecated
from xbarmem.errors import ConfigError
from xbarmem.names import ARCHS, DEFAULT_TOL, SEARCH_FLIPS

if TYPE_CHECKING:
    from xbarmem.evaluation.evaluate import Protocol
    from xbarmem.evaluation.hidden_rule import HiddenRule
    from xbarmem.hardware.chip import ChipSpec


def search_protocol(kind: str, corruption: str | None, level: float | None, probes: int,
                    seed: int, tol: float = DEFAULT_TOL, *,
                    ctx: typer.Context | None = None) -> Protocol:
    """The recall protocol of a capacity search, ``tol`` its tanh stopping tolerance
    (``--tol``, refused where the patterns' recall is sign, :func:`given.tanh_only`, when the
    command's ``ctx`` is given; a
    threshold its cues pass by themselves, and tanh recalls under read noise that ran to the
    cap, are warned about by the search, :mod:`~xbarmem.evaluation.cue_check`)."""
    from xbarmem.evaluation.evaluate import Protocol

    corruption, level, activation = given.cues_for(kind, corruption, level, flips=SEARCH_FLIPS)
    if ctx is not None:
        given.tanh_only(ctx, activation, "to continuous patterns (tanh recall)")
    return Protocol(corruption=corruption, level=level, probes=probes, activation=activation,
                    seed=seed, tol=tol)


def tol_words(protocol: Protocol) -> str:
    """What a search's title adds for its protocol's ``tol``: ``, tol 0.05``, nothing at the
    default (the titles of searches that set none are as before)."""
    from xbarmem.names import tol_entry

    return "".join(f", tol {v:g}" for v in tol_entry(protocol.tol).values())


def check_requests(ctx: typer.Context, configs: list, n_neurons: int, spec: ChipSpec,
                    fault_map: Path | None, rule: str, options: dict, *, n_pool: int | None,
                    trials: int, probes: int):
    """Refuse, before any data is loaded, a search too large for the memory limit and a
    ``--fault-map`` that does not fit the chip or some architecture's arrays; returns the
    map (None without ``--fault-map``)."""
    stored = min(n_pool or 2 * n_neurons, 2 * n_neurons)  # counts tried: up to ~2N
    distinct_layers(configs, n_neurons)
    for _, spec_h in configs:
        widths = None if spec_h is None else parsers.resolve_widths(spec_h, n_neurons)
        given.check_request(n_neurons, networks=trials, cues=trials * stored * probes,
                            pool=n_pool or 0, hidden=widths, chip=spec, lower={
                                "--trials": trials, "--probes": probes, "--pool": n_pool,
                                "--neurons": n_neurons, "--hidden": widths})
    given.applies_only(ctx, "without --fault-map", "faults", applies=fault_map is None)
    if fault_map is None:
        return None
    from xbarmem.evaluation.curve import curve_trainer

    fmap = given.load_map(fault_map, spec)
    for a, spec_h in configs:
        widths = [] if spec_h is None else parsers.resolve_widths(spec_h, n_neurons)
        given.check_map_arrays(fault_map, fmap, spec, [n_neurons, *widths, n_neurons],
                               curve_trainer(a, rule, options, 0).bias, ctx.params.get("data"))
    return fmap


def check_fits(patterns, configs: list, rule: str, options: dict, *, trials: int,
               seed: int, start: int | None = None) -> None:
    """Refuse, before any search trains, ``rule`` ``options`` that do not apply to an
    architecture of ``configs`` (:func:`check_options_fit`), then a search whose training at
    a count it may test (up to :func:`~xbarmem.evaluation.search_plan.search_reach` of the
    ``patterns``' distinct ones, at least ``start``) the trainer would refuse mid-run
    (:func:`~xbarmem.evaluation.capacity.check_fit`), naming ``--pool`` (what caps the search),
    ``--start`` when it is what sizes it, and ``--trials`` to lower: of several architectures,
    the count every one fits
    (:func:`~xbarmem.evaluation.search_plan.check_search_fits`)."""
    from xbarmem.evaluation.capacity import check_fit
    from xbarmem.evaluation.search_plan import check_search_fits, search_reach

    n = patterns.n_neurons
    check_options_fit(rule, options, patterns.kind,
                      [[n, *parsers.resolve_widths(h, n), n] if h else [n, n] for _, h in configs])

    def check(a: str, spec_h: list | None) -> None:
        widths = None if spec_h is None else parsers.resolve_widths(spec_h, n)
        beyond = start is not None and start > search_reach(a, n, None)  # (what sizes it)
        check_fit(patterns, a, rule, options, widths, trials=trials, seed=seed, start=start,
                  pool_word="--pool", lower=given.to_lower({"--start": start if beyond else 0,
                                                            "--trials": trials}))

    check_search_fits(partial(check, a, h) for a, h in configs)


def distinct_layers(configs: list, n_neurons: int) -> None:
    """Refuse two ``--hidden`` architectures that are the same memory at ``n_neurons``
    (``8,0.5n`` at N = 16: each searched, and tabled, twice), as ``--hidden 8,8`` is."""
    seen: dict[tuple[int, ...], str] = {}
    for _, spec_h in configs:
        if spec_h is None:
            continue
        widths = tuple(parsers.resolve_widths(spec_h, n_neurons))
        text = parsers.width_text(spec_h)
        if widths in seen:
            layers = "-".join(map(str, (n_neurons, *widths, n_neurons)))
            raise ConfigError(f"--hidden lists {seen[widths]} and {text}, both {layers} at "
                              f"N = {n_neurons}; give each architecture once")
        seen[widths] = text


def check_options_fit(rule: str, options: dict, kind: str, layouts: list[list[int]]) -> None:
    """Refuse, before any search, trainer ``options`` that do not apply to a memory of one of
    the layer widths ``layouts`` (``[N, H..., N]``) storing ``kind`` patterns (``init=linear``
    on a hidden layer narrower than N, ``flip_steps`` for continuous patterns, ...), as
    training would once begun."""
    for sizes in layouts:
        parsers.check_rule_options(rule, options, multilayer=len(sizes) > 2, sizes=sizes,
                                   kind=kind)


def architectures(ctx: typer.Context, arch: str, hidden: str, rule: str, options: dict
                   ) -> list[tuple[str, list[parsers.Width] | None]]:
    """``--arch single,multilayer --hidden 32,128`` -> single, then one multilayer per width
    list (``-`` separates layers of one architecture, ``,`` separates architectures);
    ``--hidden`` given without a multilayer architecture is refused, and ``rule`` with
    ``options`` is checked for every architecture."""
    out: list[tuple[str, list[parsers.Width] | None]] = []
    widths = parsers.hidden_specs(hidden, several=True)  # checked even when unused
    for a in parsers.each_once([a.strip() for a in arch.split(",") if a.strip()], "--arch", arch):
        if a not in ARCHS:
            raise ConfigError(f"--arch must be one of {choices_text(ARCHS)} (comma-separated), "
                              f"got {a!r}{closest_choice(a, ARCHS)}")
        if a == "single":
            out.append(("single", None))
        else:
            out.extend(("multilayer", h) for h in widths)
    if not out:
        raise ConfigError("--arch is empty")
    given.applies_only(ctx, "to --arch multilayer", "hidden",
                   applies=any(a == "multilayer" for a, _ in out))
    for a in dict.fromkeys(a for a, _ in out):
        parsers.check_rule_options(rule, options, multilayer=a == "multilayer")
    return out


def hidden_rules_of(text: str) -> tuple[HiddenRule, ...]:
    """Scaling's hidden layers, one rule per layer, read as every command reads ``--hidden``
    (:func:`parsers.hidden_specs`: ``32``, ``1n``, ``64-32``, ``1n-0.5n``); the old one-layer
    ``fixed:H`` / ``ratio:R`` spellings still work, with a warning. Several architectures
    (``16,32``) are refused: one scaling run fits one."""
    from xbarmem.evaluation.hidden_rule import HiddenRule

    if ":" in text:
        try:
            rule = HiddenRule.parse(text)
        except ConfigError:  # (its message names no option)
            raise ConfigError(f"--hidden: the old spellings fixed:H / ratio:R take one width, "
                              f"H an integer >= 1 or R > 0 (now H, Rn; 64-32 = two layers), "
                              f"got {text!r}") from None
        warn_deprecated(f"--hidden {text} is deprecated; use --hidden {rule.word_text}")
        return (rule,)
    if "," in text:
        raise ConfigError(f"--hidden: scaling fits one architecture (64-32 = two hidden "
                          f"layers); run it once per architecture of {text!r}")
    (widths,) = parsers.hidden_specs(text)
    return tuple(HiddenRule("fixed", w) if isinstance(w, int) else HiddenRule("ratio", w[0])
                 for w in widths)
