"""What the options a command was given mean together: which were given and which apply
(:func:`applies_only`), old spellings (:func:`deprecated`), the data, chip and pattern count
they name, and the size of the request they make -- all checked before any work. The options
themselves are declared in the option modules (:mod:`xbarmem.cli.option_types` and the
``*_options`` modules it lists)."""

from __future__ import annotations

import json
import math
import typing
from pathlib import Path
from typing import Any

import typer

from xbarmem.checks import counted, reads_as_number, spanned
from xbarmem.cli.messages import note, warn, warn_deprecated
from xbarmem.cli.parsers import check_image_neurons, check_rule_options
from xbarmem.errors import ConfigError
from xbarmem.hardware.chip import ChipSpec, load_chip
from xbarmem.limits import check_bytes
from xbarmem.names import ARCHS, BIT_CORRUPTIONS, LEVEL_BOUNDS, LEVEL_WORDS, default_cues

if typing.TYPE_CHECKING:
    from xbarmem.data.patterns import PatternSet
    from xbarmem.data.readers import ImageStack
    from xbarmem.hardware.faults import FaultMap
    from xbarmem.memory.model_meta import ModelMeta


def given(ctx: typer.Context, name: str) -> bool:
    """Whether parameter ``name`` was given on the command line (not defaulted)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def flag_name(ctx: typer.Context, name: str) -> str:
    """How parameter ``name`` is spelled on the command line (``--out``, ``FILE``)."""
    for param in ctx.command.params:
        if param.name == name:
            long = [opt for opt in param.opts if opt.startswith("--")]
            return long[0] if long else (param.metavar or name.upper())
    return "--" + name.replace("_", "-")


def applies_only(ctx: typer.Context, where: str, *names: str, applies: bool,
                 hint: str = "") -> None:
    """Refuse parameters ``names`` given on the command line (:func:`given`; a default the
    user did not give is never refused) where the command does not read them (``applies``
    false), in one line ``--hidden applies to --arch multilayer only`` (``where``: "to --arch
    multilayer"), instead of ignoring them; ``hint``, if given, follows after "; " (what to
    do instead)."""
    if applies:
        return
    for name in names:
        if given(ctx, name):
            raise ConfigError(f"{flag_name(ctx, name)} applies {where} only"
                              + (f"; {hint}" if hint else ""))


def tanh_only(ctx: typer.Context, activation: str | None,
              where: str = "to tanh recall (continuous patterns, or --activation tanh)") -> None:
    """``--tol`` stops tanh recall only: refused where the command recalls with ``sign``
    (binary patterns without ``--activation tanh``), where it would be read by nothing;
    ``where`` names what it applies to as the command can choose it."""
    applies_only(ctx, where, "tol", applies=activation == "tanh")


def check_data_options(ctx: typer.Context, data: str) -> None:
    """``--zero-one`` and ``--key`` (an .npz array) read files only; ``--one-per-class`` needs
    classes, which drawn sources (random, correlated-R) have not."""
    from xbarmem.data.sources import is_drawn, reads_zero_one

    # the rules of xbarmem.data.sources.check_source_options, named by the flags
    applies_only(ctx, "to --data FILE", "zero_one", "key", applies=reads_zero_one(data))
    applies_only(ctx, "to --data of an image set or file", "one_per_class",
                 applies=not is_drawn(data))


def check_executor_options(ctx: typer.Context, workers: int | None,
                           scheduler: str | None) -> None:
    """``--jobs`` sizes the local process pool, which a Dask cluster replaces."""
    applies_only(ctx, "without --workers or --scheduler", "jobs",
                 applies=workers is None and scheduler is None)


def deprecated(ctx: typer.Context, old: str, value: Any, current: Any, *, new: str | None,
               use: str) -> Any:
    """``value`` of the deprecated option ``old`` if given (with a warning), else ``current``.

    ``new`` names the parameter that replaces it; giving both is refused. ``use`` is the new
    spelling shown in the warning, e.g. ``--corruption flip --level 0.1``.
    """
    if value is None:
        return current
    if new is not None and given(ctx, new):
        flag = "--" + new.replace("_", "-")
        raise ConfigError(f"{old} is deprecated and replaced by {flag}; give only {flag}")
    warn_deprecated(f"{old} is deprecated; use {use}")
    return value


def flip_level(ctx: typer.Context, command: str, corruption: str | None, level: float | None,
               flip: float | None) -> float:
    """Bit-flip rate of ``command`` (demo, energy: flips only): ``--corruption flip --level X``
    or the deprecated ``--flip X``; default 0.1."""
    if corruption not in (None, "flip"):
        raise ConfigError(f"{command} recalls bit-flipped cues only (--corruption flip), got "
                          f"{corruption!r}")
    level = deprecated(ctx, "--flip", flip, level, new="level",
                       use=f"--corruption flip --level {flip}")
    return _level_within("flip", 0.1 if level is None else level)


def _level_within(corruption: str, level: float) -> float:
    """``level``, refused (:class:`ConfigError` naming ``--level``, not the library's
    parameter) above the bound of ``corruption`` (:data:`~xbarmem.names.LEVEL_BOUNDS`: a share
    is at most 1)."""
    bound = LEVEL_BOUNDS.get(corruption)
    if bound is not None and level > bound:
        raise ConfigError(f"--level must be at most {bound:g} for --corruption {corruption} "
                          f"({LEVEL_WORDS[corruption]}), got {level:g}")
    return level


def cues_for(kind: str, corruption: str | None, level: float | None, *,
             flips: float | None = None) -> tuple[str, float, str]:
    """``(corruption, level, activation)`` for patterns of ``kind``
    (:func:`~xbarmem.names.default_cues`: as sweeps take them; ``flips``: this command's flip
    rate, a capacity search flips 5%); flips and salt-and-pepper of continuous patterns are
    refused (:class:`ConfigError`), as sweeps refuse them."""
    corruption, level, activation = default_cues(kind, corruption, level, flips=flips)
    if kind != "binary" and corruption in BIT_CORRUPTIONS:
        raise ConfigError(f"--corruption {corruption} applies to binary patterns only; these "
                          f"are {kind}: use gaussian or occlude")
    return corruption, _level_within(corruption, level), activation


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool) else f"{value:g}" if isinstance(
        value, float) else str(value)


def pattern_count(ctx: typer.Context, patterns: str | None) -> tuple[int | None, str | None]:
    """``--patterns``: ``(count, None)``; a non-integer is the deprecated ``--patterns SOURCE``
    spelling of train and energy: ``(None, source)`` with a warning."""
    if patterns is None:
        return None, None
    try:
        count = int(patterns)
    except ValueError:
        if not patterns.strip() or reads_as_number(patterns):  # '', '1e3', '3.0', 'nan': a count
            raise ConfigError(f"--patterns must be a whole number of patterns (an integer "
                              f">= 1), got {patterns!r}") from None
        warn_deprecated(f"--patterns SOURCE is deprecated; use --data {patterns}")
        return None, patterns
    if count < 1:
        raise ConfigError(f"--patterns must be a positive number of patterns, got {patterns!r}")
    return count, None


def data_and_count(ctx: typer.Context, data: str, patterns: str | None, old_flag: str,
                   old_count: int | None) -> tuple[str, int | None]:
    """``--data`` and ``--patterns`` with their old spellings: ``--patterns SOURCE`` and a
    deprecated count option ``old_flag`` (train's ``--n``, energy's ``--count``)."""
    count, source = pattern_count(ctx, patterns)
    if source is not None:
        if given(ctx, "data"):
            raise ConfigError("--patterns SOURCE is deprecated and replaced by --data; give "
                              "only --data")
        data = source
    count = deprecated(ctx, old_flag, old_count, count, new=None if source else "patterns",
                       use=f"--patterns {old_count}")
    return data, count


def neuron_count(value: str | int) -> int:
    """``--neurons``: an integer >= 2 (:func:`xbarmem.checks.check_neurons`)."""
    from xbarmem.checks import check_neurons

    try:
        n = int(value)
    except ValueError:
        raise ConfigError(f"--neurons must be a number of neurons, got {value!r}") from None
    return check_neurons(n, "--neurons")


def neurons_or_side(ctx: typer.Context, neurons: str, side: int | None) -> int:
    """``--neurons N``, or the deprecated ``--side S`` (N = S^2) of train and capacity."""
    n = neuron_count(neurons)
    if side is None:
        return n
    return deprecated(ctx, "--side", side * side, n, new="neurons", use=f"--neurons {side * side}")


def file_neurons(ctx: typer.Context, data: str, n_neurons: int) -> int | None:
    """The N that ``--data`` must have: ``n_neurons``, except for a file when neither
    ``--neurons`` nor ``--side`` was given (None: the file's own N)."""
    from xbarmem.data.builtin import IMAGE_SETS
    from xbarmem.data.sources import is_drawn

    name = data.strip().lower()
    if name in IMAGE_SETS or is_drawn(name) or given(ctx, "neurons") or given(ctx, "side"):
        return n_neurons
    return None


def data_neurons(ctx: typer.Context, data: str, n_neurons: int, key: str | None = None) -> int:
    """The N of the memories ``--data`` gives: ``n_neurons`` (``--neurons``, ``--side`` or
    their default), except for a file when neither was given (:func:`file_neurons`): the
    file's own N, read from its array's shape. The checks before any work (memory, hidden
    widths such as ``1n``, a fault map's arrays) then size the memory the file gives, not
    one of the default N; a file that cannot be read is refused as loading it would be.
    ``key``: the array of an .npz file (``--key``)."""
    if file_neurons(ctx, data, n_neurons) is not None:
        return n_neurons
    from xbarmem.data.readers import file_neuron_count
    from xbarmem.data.sources import patterns_for

    path = Path(data)
    if not path.is_file():  # (refused by the reading, naming the file)
        patterns_for(data, None)
    return file_neuron_count(path, key) or n_neurons


def load_data(source: str, *, neurons: int, kind: str = "binary", count: int | None = None,
              seed: int = 0, zero_one: bool = False, one_per_class: bool = False,
              ctx: typer.Context | None = None, counted_by: str = "--patterns",
              key: str | None = None) -> PatternSet:
    """Patterns from ``--data`` (:func:`xbarmem.data.sources.patterns_for`): built-in sets
    and image files are resized to side sqrt(N); ``random`` and ``correlated-R`` draw
    ``count`` patterns of N neurons; a file's other patterns must have N neurons, unless the
    command's ``ctx`` shows that neither ``--neurons`` nor ``--side`` was given
    (:func:`file_neurons`: the file's own N). Images and files give their first ``count``
    (after one per class), the option ``counted_by`` (``--patterns``, capacity's ``--pool``)
    refused in one line above what they hold. ``key``: the array of an .npz file
    (``--key``; refused for a built-in or drawn source)."""
    from xbarmem.data.builtin import IMAGE_SETS
    from xbarmem.data.sources import is_drawn, patterns_for

    n_neurons = neurons if ctx is None else file_neurons(ctx, source, neurons)
    if is_drawn(source) and count is None:
        raise ConfigError(f"--data {source} needs --patterns N (the number of patterns)")
    check_image_neurons(source, n_neurons)
    name = source.strip().lower()
    if name in IMAGE_SETS:
        check_data_count(source, count, counted_by, one_per_class, key)
    if is_drawn(source) or name in IMAGE_SETS:
        return patterns_for(source, n_neurons, kind=kind, n_patterns=count, seed=seed,
                            one_per_class=one_per_class)
    pset = patterns_for(source, n_neurons, kind=kind, zero_one=zero_one,
                        one_per_class=one_per_class, key=key)
    if count is None:
        return pset
    _check_count(counted_by, count, source, pset.n_patterns, one_per_class)
    return pset.subset(slice(count))


def check_data_count(source: str, count: int | None, option: str = "--patterns",
                     one_per_class: bool = False, key: str | None = None) -> None:
    """Refuse ``option`` (``count`` patterns) above what ``--data`` ``source`` holds, before
    any work: a built-in image set by its size, a file by its array's header
    (:func:`xbarmem.data.readers.file_pattern_count`); nothing for drawn patterns, a count of
    None or a file that is not there (its reading refuses it). ``key``: the array of an .npz
    file (``--key``)."""
    from xbarmem.data.builtin import IMAGE_SETS, image_set_size
    from xbarmem.data.readers import file_pattern_count
    from xbarmem.data.sources import is_drawn

    name = source.strip().lower()
    if count is None or is_drawn(source):
        return
    held: int | None
    if name in IMAGE_SETS:
        held = IMAGE_SETS[name] if one_per_class else image_set_size(name)
    else:
        held = file_pattern_count(source, key) if Path(source).is_file() else None
    if held is not None:
        _check_count(option, count, source, held, one_per_class)


def _check_count(option: str, count: int, source: str, held: int,
                 one_per_class: bool = False) -> None:
    """``option`` (a number of patterns, ``count``) refused above the ``held`` patterns of
    ``--data`` ``source`` (``one_per_class``: its classes)."""
    if count > held:
        what = counted(held, *(("class", "classes") if one_per_class else ("pattern",)))
        raise ConfigError(f"{option} {count}: --data {source} holds {what}; give at "
                          f"most {held}")


def drawn_pool(data: str, pool: int | None) -> int | None:
    """``--pool``, or for drawn patterns (``random``, ``correlated-R``) the default pool
    :data:`~xbarmem.data.sources.DRAWN_POOL` when it is not given."""
    from xbarmem.data.sources import DRAWN_POOL, is_drawn

    return DRAWN_POOL if pool is None and is_drawn(data) else pool


def sized_data(ctx: typer.Context, data: str, kind: str, pool: int | None,
               key: str | None = None) -> tuple[str | ImageStack, int | None]:
    """``--data`` asked for at several N (:func:`xbarmem.data.sources.sized_source`: a file's
    images read once, its .npz array ``key``, ``--key``: the command's ``ctx`` refuses it for
    no file, :func:`check_data_options`) and its pool (``--pool``, refused above the images
    it holds; drawn patterns: :func:`drawn_pool`) for ``kind`` patterns."""
    from xbarmem.data.sources import sized_pool, sized_source

    check_data_options(ctx, data)
    source = sized_source(data, kind, key=key)
    return source, sized_pool(source, pool, "--pool")


def chip_spec(chip: str, faults: float | None = None, on_fraction: float = 0.5,
              fault_model: str | None = None, ctx: typer.Context | None = None) -> ChipSpec:
    """The chip of ``--chip`` with ``--fault-model`` and ``--faults``/``--on-fraction`` (the
    command's ``ctx``: ``--on-fraction`` without ``--faults`` is refused); without ``--chip``,
    the chip a ``--fault-map`` of the command records (:func:`map_chip`)."""
    if ctx is not None:
        applies_only(ctx, "with --faults", "on_fraction", applies=faults is not None)
    recorded = None if ctx is None or given(ctx, "chip") else map_chip(
        ctx.params.get("fault_map"))
    spec = load_chip(chip) if recorded is None else recorded
    if fault_model is not None:
        spec = spec.with_fault_model(fault_model)
    if ctx is not None and given(ctx, "on_fraction") and spec.array.fault_model != "device":
        model_of = ("--fault-model weight" if fault_model is not None
                    else f"the {spec.name} chip's fault model, weight")
        raise ConfigError(f"--on-fraction applies to the device fault model only, not "
                          f"{model_of}: a faulty weight is 0, neither stuck ON nor OFF (give "
                          f"--fault-model device for devices stuck at g_min or g_max)")
    if faults is not None:
        spec = spec.with_faults(faults, on_fraction)
    return spec


#: a microsiemens option below this share of its chip's conductance window was given in
#: siemens (5e-06 for 5 uS): read in microsiemens, no instrument tells such a step apart
SIEMENS_SHARE = 1e-6


def check_microsiemens(spec: ChipSpec, ctx: typer.Context, *names: str) -> None:
    """Refuse (:class:`ConfigError`) a value of a microsiemens option (parameters ``names`` of
    the command's ``ctx``; one not given is None) that is above 0 and below
    :data:`SIEMENS_SHARE` of ``spec``'s conductance window: a value in siemens where
    microsiemens are read (``--tolerance 5e-06`` for 5 uS), named with the value it meant."""
    window_us = spec.device.g_range * 1e6
    for name in names:
        value = ctx.params.get(name)
        if value is not None and 0 < value < SIEMENS_SHARE * window_us:
            raise ConfigError(f"{flag_name(ctx, name)} = {value:g} uS is less than a millionth "
                              f"of the {spec.name} chip's conductance window ({window_us:.4g} "
                              f"uS): it is in microsiemens; {value:g} S is {value * 1e6:.4g} uS")


def map_chip(path: Path | None) -> ChipSpec | None:
    """The chip the fault map at ``path`` records (:func:`~xbarmem.hardware.faults.
    recorded_chip`), said in a note; None without a map, for one that records no chip (or
    one that cannot be loaded again), or for a file that is no fault map: the command's
    default chip then applies, and the map is loaded and checked against it as before."""
    if path is None:
        return None
    from xbarmem.errors import FileFormatError
    from xbarmem.hardware.faults import FaultMap, recorded_chip

    try:
        spec = recorded_chip(FaultMap.load(path).meta)
    except FileFormatError:  # refused by the command, after its own checks, as before
        return None
    if spec is not None:
        note(f"chip {spec.name}: recorded in the fault map {path} (the chip it was made for; "
             f"--chip overrides it)")
    return spec


def load_map(path: Path, spec: ChipSpec) -> FaultMap:
    """The fault map at ``path`` (:meth:`FaultMap.load`) checked against the command's chip
    ``spec`` (:meth:`FaultMap.check_chip`: refused when it cannot be that chip's), with a
    warning when it was made for a chip of another window
    (:func:`~xbarmem.hardware.faults.warn_other_chip`)."""
    from xbarmem.hardware.faults import FaultMap, warn_other_chip

    fmap = FaultMap.load(path).check_chip(spec, str(path))
    warn_other_chip(fmap, spec)
    return fmap


def check_request(n: int, *, networks: int = 1, cues: int = 0, hidden: list[int] | None = None,
                  chip: ChipSpec | None = None, data: str | None = None, pool: int = 0,
                  cues_are: str = "cue", loaded: bool = False,
                  lower: dict[str, Any] | None = None) -> None:
    """Refuse, before any work, a request whose estimated memory (``networks`` memories of
    ``n`` neurons on ``chip``'s tiles, then ``cues`` recalls, with a ``pool`` of patterns and,
    if ``loaded``, the model read from its file; see :mod:`xbarmem.sizes`) exceeds the limit
    of :mod:`xbarmem.limits`, then (with ``data``) N that the built-in image set ``data``
    cannot be resized to. ``cues_are``: what the refusal calls the ``cues`` (``"pattern"``
    for the patterns a training recalls). ``lower``: the command's options that make the
    request (flag -> value given), named in the refusal as what to lower (:func:`to_lower`)."""
    from xbarmem.sizes import request_bytes

    rows, cols = (chip.array.rows, chip.array.cols) if chip is not None else (64, 64)
    shape = f"N = {n}" + (f", hidden {'-'.join(map(str, hidden))}" if hidden else "")
    trained = f", {counted(networks, 'network')}" if networks else ""  # (0: a model's recall)
    check_bytes(f"this request ({shape}{trained}, {counted(cues, cues_are)})",
                request_bytes(n, networks=networks, cues=cues, hidden=hidden, rows=rows,
                              cols=cols, patterns=pool, loaded=int(loaded)),
                lower=to_lower(lower or {}))
    if data is not None:
        check_image_neurons(data, n)


def to_lower(options: dict[str, Any]) -> str:
    """The options of ``options`` (flag -> value given) a request can be made smaller by, as
    a refusal names them (``"--trials, --probes or --neurons"``): a count above 1, a fraction
    above 0 or a non-empty list (a count at 1, or an option not given, cannot be lowered);
    ``""`` for none."""
    def lowerable(value: Any) -> bool:
        if isinstance(value, float):
            return value > 0
        return value > 1 if isinstance(value, int) else bool(value)

    flags = [flag for flag, value in options.items() if lowerable(value)]
    return f"{', '.join(flags[:-1])} or {flags[-1]}" if len(flags) > 1 else "".join(flags)


def model_request(model: Path, *, probes: int = 0, patterns: bool = False,
                  targets: bool = False) -> ModelMeta:
    """The metadata of the model file ``model`` from its header alone (read and checked
    without torch: a foreign or damaged file is refused as loading it would be), after
    refusing a file without saved patterns when the command needs them (``patterns``), one
    without every layer's target weights when it programs them again (``targets``) and
    ``probes`` cues per stored pattern recalled through it as :func:`check_request` does --
    the checks before torch is loaded of the commands that load a model (the full check
    follows the load)."""
    from xbarmem.memory.model_header import no_patterns, no_targets, read_header

    head = read_header(model, shapes=True)
    if patterns and not head.stored:
        raise no_patterns(model)
    if targets and not head.has_targets:
        raise no_targets(model)
    check_model_cues(head.meta, head.stored * probes, lower={"--probes": probes})
    return head.meta


def check_model_cues(meta: ModelMeta, cues: int, *, lower: dict[str, Any] | None = None
                     ) -> None:
    """Refuse recalling ``cues`` cues through the model ``meta`` describes (its header) when
    the estimate, the model's own memory included, is above the memory limit
    (:func:`check_request`, naming the options of ``lower`` to lower)."""
    check_request(meta.n_neurons, networks=0, cues=cues, hidden=meta.hidden, loaded=True,
                  lower=lower)


# ------------------------------------------------------------------------------ trainer options
def legacy_rule_options(ctx: typer.Context, options: dict[str, Any], **old: Any) -> dict[str, Any]:
    """Merge deprecated dedicated trainer flags (``max_steps=...`` for ``--max-steps``,
    ``bias=False`` for ``--no-bias``) into ``options``, warning for each one given, named as
    given; a key given both ways is refused."""
    merged = dict(options)
    for key, value in old.items():
        if value is None:
            continue
        flag = "--" + ("no-" if value is False else "") + key.replace("_", "-")  # (--no-bias)
        if key in options:
            raise ConfigError(f"{flag} is deprecated and replaced by --rule-option {key}=...; "
                              f"give only --rule-option")
        warn_deprecated(f"{flag} is deprecated; use --rule-option {key}={_text(value)}")
        merged[key] = value
    return merged


def check_arch(ctx: typer.Context, arch: str, rule: str) -> None:
    """``--arch`` (one architecture), ``--rule`` and ``--hidden`` for it: an unknown
    architecture or rule, a multilayer memory of a classic rule, or ``--hidden`` given for a
    single layer, refused before any work."""
    if arch not in ARCHS:
        raise ConfigError(f"--arch must be single or multilayer, got {arch!r}")
    check_rule_options(rule, {})  # (an unknown rule named as such)
    if arch == "multilayer" and rule != "adaptive" and not given(ctx, "arch"):
        # (scaling's default: the user typed no --arch the refusal could name)
        raise ConfigError(f"--rule {rule}: this command's default --arch is multilayer, whose "
                          f"memories are trained by the hardware-adaptive rule only; give "
                          f"--arch single for {rule!r}")
    check_rule_options(rule, {}, multilayer=arch == "multilayer")
    applies_only(ctx, "to --arch multilayer", "hidden", applies=arch == "multilayer")


def _fitting_neurons(spec: ChipSpec, sizes: list[int], bias: bool, have: int,
                     data: str | None) -> str:
    """``: --neurons 32 or fewer fit 1 array``: the largest one-layer memory (``sizes``
    ``[N, N]``) whose weights fit on ``have`` arrays of ``spec``, as ``--data`` ``data`` gives
    one (:func:`_given_neurons`: images a perfect square, a file of patterns its own N, which
    no option changes); empty for a multilayer memory (whose hidden widths fit in many ways)
    or when no N >= 2 fits."""
    from xbarmem.hardware.crossbar import largest_square

    n = largest_square(spec, have, bias)
    if len(sizes) != 2 or n < 2:
        return ""
    arrays = counted(have, "array")
    given_n = _given_neurons(data, n)
    if given_n is None:
        return f": patterns of {n} neurons or fewer fit {arrays}"
    if given_n == 0:
        return ""
    smaller = " or a smaller square" if given_n != n else " or fewer"
    return f": --neurons {given_n}{smaller} fit {arrays}"


def _given_neurons(data: str | None, n: int) -> int | None:
    """The largest N <= ``n`` that ``--neurons`` asks of ``data`` (``--data``; None: any N):
    ``n`` of drawn patterns, the largest perfect square images of a built-in set or a file
    resize to (0 when none does); None for a file of patterns, whose N is its own."""
    from xbarmem.data.sources import image_side, is_drawn, sized_source
    from xbarmem.errors import XbarmemError

    if data is None or is_drawn(data):
        return n
    try:
        source = sized_source(data)  # (a file: read once, as images or not)
    except XbarmemError:
        return None
    for side in range(math.isqrt(n), 1, -1):
        try:
            image_side(source, side * side)
        except XbarmemError:
            continue
        return side * side
    return 0


def check_map_arrays(where: Path, fmap: FaultMap, spec: ChipSpec, sizes: list[int],
                     bias: bool, data: str | None = None) -> None:
    """The ``--fault-map`` ``where`` must hold every array of a memory of layer
    widths ``sizes``: ConfigError naming the file, with the facts of the library's one check
    (:func:`~xbarmem.memory.multilayer.map_shortfall`: the map's arrays, each layer's
    weights and arrays) and the options that fit the memory's ``data`` (``--data``; None:
    any N); a warning names the arrays it leaves unused."""
    from xbarmem.memory.multilayer import arrays_for_layers, map_shortfall

    have = fmap.n_arrays
    short = map_shortfall(spec, have, sizes, bias)
    if short is not None:
        need, facts = short
        fits_unbiased = bias and map_shortfall(spec, have, sizes, False) is None
        raise ConfigError(
            f"{where}: {facts}; give a map of {need} arrays, "
            + ("train without the bias row (--rule-option bias=false), " if fits_unbiased
               else "") + f"or store fewer neurons"
            f"{_fitting_neurons(spec, sizes, bias, have, data)}"
            f"{' (the bias row is one more input row)' if bias else ''}")
    need = sum(arrays_for_layers(spec, sizes, bias))
    if have > need:
        unused = f"array {need} is" if have == need + 1 else f"arrays {need}..{have - 1} are"
        used = spanned("array", 0, need - 1)
        warn(f"{where}: the memory uses {used} of the map's {have}; {unused} left unused")
