"""The command line's vocabulary, declared once: every shared option, its bounds and checks.

A concept has one option name and one meaning in every command that has it:

* ``--data SOURCE``: where patterns come from (mnist, mnist-crop24, digits, glyphs, random,
  correlated-R, a file);
* ``--patterns N``: how many patterns are stored (a count, as ``patterns`` in sweep files);
* ``--neurons N``: pattern length (images are resized to side sqrt(N));
* ``--activation sign|tanh``: neuron type;
* ``--corruption KIND --level X``: cue corruption;
* ``--trials N``: repeats (independent chips / networks);
* ``--hidden WIDTHS``: ``64-32`` (two hidden layers), ``16,32`` (two architectures, where a
  command takes several), ``1n`` / ``0.5n`` (a multiple of N);
* ``--rule-options JSON`` / ``--rule-option KEY=VALUE``: trainer options;
* ``--seed``, ``--json``, ``-o/--out``;
* ``--threads N``: torch threads (default 1), on every command that computes numbers, and
  recorded in its JSON, model files, sweep rows and reports.

Old spellings (``--flip``, ``--chips``, ``--side``, ``--n``, ``--count``, ...) stay for one release
as hidden options: they still work and print one ``warning: ...`` line on stderr once the
command has run (none when it is refused: a refusal is one ``error:`` line). The parsers
behind the list and JSON values live in :mod:`xbarmem.cli.parsers`, the checks of the paths a
command reads and writes in :mod:`xbarmem.cli.paths`, what the given options mean together
(which apply, old spellings, the data and chip they name, the request's size) in
:mod:`xbarmem.cli.given`; command modules import only these, :mod:`xbarmem.cli.common`,
:mod:`xbarmem.cli.progress`, the modules split off from them (``capacity_*``) and the
library.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import os
import re
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from xbarmem.checks import MAX_COUNT, MAX_SEED
from xbarmem.cli.common import warn, warn_deprecated, work_begins  # noqa: F401 - o.warn for commands
from xbarmem.cli.given import chip_spec
from xbarmem.cli.parsers import rule_options
from xbarmem.cli.paths import output_check
from xbarmem.errors import ConfigError
from xbarmem.hardware.chip import MAX_CONDUCTANCE, preset_names
from xbarmem.names import ARCHS, PRODUCTS, RECIPES, RULE_NAMES  # noqa: F401 - the CLI's names (o.ARCHS)

if typing.TYPE_CHECKING:
    pass



# ------------------------------------------------------------------------------ bounds
def _range_text(kind: type, ge: float | None, gt: float | None, le: float | None,
                lt: float | None = None) -> str:
    def text(x: float) -> str:
        return str(int(x)) if kind is int else f"{x:g}"

    parts = [f"{op} {text(x)}" for op, x in ((">=", ge), (">", gt), ("<=", le), ("<", lt))
             if x is not None]
    noun = "an integer" if kind is int else "a finite number"
    return noun + (" " + " and ".join(parts) if parts else "")


def _bounds(kind: type, ge: float | None, gt: float | None, le: float | None,
            lt: float | None = None):
    """Parse-time check of a numeric option (typer callback): finite and within its bounds."""
    def check(value: Any) -> Any:
        if value is None:
            return value
        ok = (kind is int or math.isfinite(value)) and (ge is None or value >= ge) and (
            gt is None or value > gt) and (le is None or value <= le) and (
            lt is None or value < lt)
        if not ok:
            raise typer.BadParameter(f"must be {_range_text(kind, ge, gt, le, lt)}, got "
                                     f"{value!r}")
        return value

    check.bounds = (kind, ge, gt, le, lt)  # type: ignore[attr-defined]
    return check


def bounded(kind: Any, *decls: str, ge: float | None = None, gt: float | None = None,
            le: float | None = None, lt: float | None = None, **option: Any) -> Any:
    """A numeric option declared with its bounds: values that are not finite or outside
    ``[ge, le]`` (``gt``: strictly above, ``lt``: strictly below) are refused when the command
    line is parsed, before the command runs (exit 2, one ``error:`` line)."""
    base = int if kind in (int, int | None) else float
    return Annotated[kind, typer.Option(*decls, callback=_bounds(base, ge, gt, le, lt),
                                        **option)]


# MAX_COUNT (xbarmem.checks): the largest count of cues, trials, iterations, ... an option
# accepts, as the Python API (memory limits are checked separately, from the whole request)

# ------------------------------------------------------------------------------ common options
def completes(choices: Callable[[], Any]) -> Callable[[str], list[str]]:
    """Shell completion of an option (``--install-completion``): the ``choices()`` that start
    with what was typed."""
    return lambda incomplete: [c for c in choices() if c.startswith(incomplete)]


Seed = bounded(int, "--seed", metavar="N", ge=0, le=MAX_SEED, help="Seed of all random draws: "
               "the same seed gives the same numbers.")
Json = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")]


def max_threads() -> int:
    """The most ``--threads`` accepted: four per CPU of this machine (more is a typo)."""
    return 4 * (os.cpu_count() or 1)


Threads = bounded(int, "--threads", metavar="N", ge=1, le=max_threads(),
                  help="Torch threads for the computation (default 1: the same numbers "
                  "whatever the number of cores; CPUs of other kinds can differ in the last "
                  "digits, and then in a recall; recorded with the results).")


#: environment variables torch (and its BLAS) read their thread count from when they load
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def torch_threads(threads: int):
    """``--threads N``: checked (1 <= N <= :func:`max_threads`, else ConfigError), then applied
    for the command and undone after it; yields N.

    The thread count changes how torch splits sums, so the last digits of results depend on it;
    fixing it (default 1) makes a command give the same numbers on machines of one CPU kind
    (another CPU's floating-point kernels, e.g. with or without AVX-512, can move the last
    digits, and a recall that is a sign of a sum can then differ). When torch is not
    loaded yet, N goes to :data:`THREAD_VARIABLES`, which torch reads when the command loads
    it -- so a command that refuses its request before any work never loads torch. Otherwise
    ``torch.set_num_threads(N)``; the inter-op pool is sized once per process (torch refuses a
    second call), when the first command runs."""
    if isinstance(threads, bool) or not 1 <= threads <= max_threads():
        raise ConfigError(f"--threads must be between 1 and {max_threads()} (4 per CPU), got "
                          f"{threads}")
    if "torch" not in sys.modules:
        saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
        os.environ.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
        try:
            yield threads
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        return
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # already set, or inter-op work has started
        torch.set_num_interop_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(old)


def out(what: str, *, required: bool = False, folder: bool = False, lazy: bool = False,
        suffixes: tuple[str, ...] = ()) -> Any:
    """``-o/--out``: where a command writes (``what``: e.g. "folder for the PNG"; a file of a
    fixed format names it in ``suffixes``, e.g. ``(".npy",)``). The path is checked when the
    command line is parsed (:func:`check_output`), unless ``lazy`` (the command writes it only
    in some cases and checks it itself)."""
    kind = Path if required else Path | None
    callback = None if lazy else output_check("--out", folder, suffixes)
    return Annotated[kind, typer.Option("--out", "-o", metavar="PATH", help=f"Output: {what}.",
                                        parser=output_path, callback=callback)]


def output(*decls: str, metavar: str = "FILE", help: str, folder: bool = False,
           suffixes: tuple[str, ...] = ()) -> Any:
    """An optional output path option other than ``-o`` (``--csv``, ``--log``, ...), checked
    like ``-o`` when the command line is parsed."""
    return Annotated[Path | None, typer.Option(*decls, metavar=metavar, help=help,
                                               parser=output_path,
                                               callback=output_check(decls[0], folder,
                                                                      suffixes))]


def output_path(text: str | Path) -> Path:
    """An output path as given; an empty or blank one is refused (``Path("")`` is the current
    folder, so ``-o "$DIR"`` with DIR unset would write there)."""
    return Path(_not_blank(text, "give a file or folder name"))


def input_path(text: str | Path) -> Path:
    """An input file as given; an empty or blank one is refused naming its option or argument
    (``Path("")`` is the current folder: 'model file . is a directory')."""
    return Path(_not_blank(text, "give a file name"))


def name_or_file(text: str) -> str:
    """A preset or source name, or a file (``--data``, ``--chip``, ``--circuit``); an empty or
    blank one is refused like :func:`input_path`."""
    return _not_blank(text, "give a name or a file")


def choice_text(text: str) -> str:
    """The value of a named-choice option whose default is None (``--activation``,
    ``--corruption``, ``--fault-model``, ``--recipe``): an empty or blank one is refused naming
    the option (it was taken for "not given": ``--activation ""`` ran with the default)."""
    return _not_blank(text, "give one of the names in --help, or leave the option out")


def _not_blank(text: Any, hint: str) -> Any:
    if isinstance(text, str) and not text.strip():
        raise typer.BadParameter(f"is empty; {hint}")
    return text


# ------------------------------------------------------------------------------ data
DATA_HELP = ("Pattern source: mnist, mnist-crop24 (MNIST from the centred 24x24 window), "
             "digits (scikit-learn 8x8), glyphs (A-Z, a-z, 0-9 in 21 fonts), random, "
             "correlated-R (binary, mean pairwise overlap R), or a file (.npy/.npz/.csv/IDX).")
Data = Annotated[str, typer.Option("--data", metavar="SOURCE", help=DATA_HELP,
                                   parser=name_or_file)]
DemoData = Annotated[str, typer.Option(
    "--data", metavar="SOURCE", parser=name_or_file,
    help="Pattern source: mnist, mnist-crop24 (MNIST from the "
    "centred 24x24 window, the authors' preprocessing) or digits (scikit-learn 8x8).")]


def patterns(default: str) -> Any:
    """``-p/--patterns N`` with the command's default in the help. The value is read as text:
    a non-integer is the deprecated ``--patterns SOURCE`` spelling of train and energy."""
    return Annotated[str | None, typer.Option(
        "--patterns", "-p", metavar="N", help=f"Number of stored patterns (default: "
        f"{default}).")]


# str: ``sign``/``tanh`` is the deprecated ``--neurons`` spelling of --activation (energy)
Neurons = Annotated[str, typer.Option(
    "--neurons", metavar="N", help="Neurons N (pattern length); image data is resized to "
    "side sqrt(N), so N must then be a perfect square.")]
Kind = Annotated[str, typer.Option(
    "--kind", metavar="KIND", help="binary (+-1 patterns) or continuous ([-1, 1]).")]
OnePerClass = Annotated[bool, typer.Option(
    "--one-per-class", help="Store one pattern of each class (digits 0-9; glyphs: 62 "
    "characters); --data of an image set or a file, not random or correlated-R.")]
ZeroOne = Annotated[bool, typer.Option(
    "--zero-one", help="Accept {0,1} pattern files (0 is read as -1): a --data FILE or cues "
    "file, not a built-in set.")]
Pool = bounded(int | None, "--pool", metavar="N", ge=1, le=MAX_COUNT,
               help="Patterns in the pool that subsets are drawn from (default: all of the "
               "source; random: 2000).")

# ------------------------------------------------------------------------------ recall
Activation = Annotated[str | None, typer.Option(
    "--activation", metavar="sign|tanh", parser=choice_text, help="Neuron type (default: sign "
    "for binary patterns, tanh for continuous; tanh on binary = analogue neurons, sign "
    "read-out).")]
Mode = Annotated[str, typer.Option("--mode", metavar="sync|async", help="Recall mode.")]
Probes = bounded(int, "--probes", metavar="N", ge=1, le=MAX_COUNT,
                 help="Corrupted cues per stored pattern.")
MaxIterations = bounded(int, "--max-iterations", metavar="N", ge=1, le=MAX_COUNT,
                        help="Cap on sync steps / async sweeps per recall.")
Trials = bounded(int, "--trials", metavar="N", ge=1, le=MAX_COUNT, help="Repeats: independent "
                 "chips or networks (fault maps, pattern subsets) per result.")

CORRUPTIONS = "flip, gaussian, occlude or salt-pepper"


def corruption(default: str = "flip for binary patterns, gaussian for continuous",
               kinds: str = CORRUPTIONS) -> Any:
    """``--corruption KIND`` with the command's kinds and default in the help."""
    return Annotated[str | None, typer.Option(
        "--corruption", metavar="KIND", parser=choice_text,
        help=f"Cue corruption: {kinds} (default: {default}).")]


def level(default: str = "0.1 for flip and salt-pepper, 0.6 for gaussian and occlude", *,
          flips_only: bool = False) -> Any:
    """``--level X`` with the command's default in the help; ``flips_only``: for a command
    whose cues are bit flips only (:data:`FlipOnly`)."""
    what = ("the share of bits flipped" if flips_only else
            "flip rate, Gaussian sigma (clipped to [-1, 1]) or occluded fraction")
    return bounded(float | None, "--level", metavar="X", ge=0.0,
                   help=f"Corruption level: {what} (default: {default}).")


Corruption = corruption()
Level = level()
FlipOnly = corruption("flip", kinds="flip (bit flips) only, here")

# ------------------------------------------------------------------------------ chip
Chip = Annotated[str, typer.Option(
    "--chip", metavar="NAME|FILE", autocompletion=completes(preset_names), parser=name_or_file,
    help=f"Chip preset ({', '.join(preset_names())}) or TOML file.")]
Faults = bounded(float | None, "--faults", metavar="X", ge=0.0, le=1.0,
                 help="Fraction of stuck devices (overrides the chip's).")
OnFraction = bounded(float, "--on-fraction", metavar="X", ge=0.0, le=1.0,
                     help="Share of stuck-ON devices among the faults of --faults.")
FaultModel = Annotated[str | None, typer.Option(
    "--fault-model", metavar="MODEL", parser=choice_text, help="Fault model, device or weight "
    "(overrides the chip's).")]
FaultMapFile = Annotated[Path | None, typer.Option(
    "--fault-map", metavar="FILE", help="Fault map file (.npz/.csv) to train for (instead of "
    "--faults).",
    parser=input_path)]

# ------------------------------------------------------------------------------ training
Rule = Annotated[str, typer.Option(
    "--rule", metavar="NAME", autocompletion=completes(lambda: RULE_NAMES),
    help=f"Learning rule: {', '.join(RULE_NAMES)}.")]
Recipe = Annotated[str | None, typer.Option(
    "--recipe", metavar="NAME", autocompletion=completes(lambda: RECIPES), parser=choice_text,
    help=f"Recipe of the adaptive rule: {', '.join(RECIPES)} (fast: binary patterns, fewer and "
    "cheaper training steps, lower recall on chips with many stuck devices; default: default). "
    "Options given with --rule-option(s) win.")]
RuleOptions = Annotated[str | None, typer.Option(
    "--rule-options", metavar="JSON", help="Trainer options as a JSON object, e.g. "
    "'{\"max_steps\": 300}'.")]
RuleOption = Annotated[list[str] | None, typer.Option(
    "--rule-option", metavar="KEY=VALUE", help="One trainer option (value read as JSON, "
    "else text); repeatable, overrides --rule-options.")]
HIDDEN_HELP = ("Hidden widths (--arch multilayer): 64-32 = two hidden layers; a width may be "
               "a multiple of N (1n, 0.5n)")
Hidden = Annotated[str, typer.Option("--hidden", metavar="WIDTHS", help=HIDDEN_HELP + ".")]
HiddenSeveral = Annotated[str, typer.Option(
    "--hidden", metavar="WIDTHS", help=HIDDEN_HELP + "; commas separate architectures "
    "(16,32,128).")]
HiddenOne = Annotated[str, typer.Option(
    "--hidden", metavar="WIDTH", help="Hidden width (--arch multilayer; one hidden layer): H "
    "at every N, or a multiple of N (1n = N, 0.5n = N/2).")]


def arch(choices: str = "single or multilayer (N -> hidden widths -> N)") -> Any:
    return Annotated[str, typer.Option("--arch", metavar="ARCH", help=f"Architecture: "
                                       f"{choices}.")]


Arch = arch()
Threshold = Annotated[str, typer.Option(
    "--threshold", metavar="X[,X...]", help="Recall similarity threshold(s), comma-separated.")]
Resolution = bounded(float, "--resolution", metavar="X", ge=0.0, le=1.0, help="Relative "
                     "bracket width at which the search stops (0 = exact).")
Sizes = Annotated[str, typer.Option(
    "--sizes", metavar="N,N...", help="Neuron counts N, comma-separated.")]

# ------------------------------------------------------------------------------ deprecated
# Old spellings, hidden from --help; each still works for one release with a warning.
OldFlip = bounded(float | None, "--flip", hidden=True, ge=0.0, le=1.0,
                  help="Deprecated: --corruption flip --level X.")
OldChips = bounded(int | None, "--chips", hidden=True, ge=1, le=MAX_COUNT,
                   help="Deprecated: --trials N.")
OldSide = bounded(int | None, "--side", hidden=True, ge=1, le=MAX_COUNT,
                  help="Deprecated: --neurons N (N = side^2).")
OldCount = bounded(int | None, "--n", hidden=True, ge=1, le=MAX_COUNT,
                   help="Deprecated: --patterns N.")
OldNeuronsN = bounded(int | None, "--n", hidden=True, ge=1, le=MAX_COUNT,
                      help="Deprecated: --neurons N.")
OldEnergyCount = bounded(int | None, "--count", hidden=True, ge=1, le=MAX_COUNT,
                         help="Deprecated: --patterns N.")
OldActivation = Annotated[str | None, typer.Option(
    "--neurons", hidden=True, help="Deprecated: --activation sign|tanh.")]
OldMaxSteps = bounded(int | None, "--max-steps", hidden=True, ge=1, le=MAX_COUNT,
                      help="Deprecated: --rule-option max_steps=N.")
OldObjective = Annotated[str | None, typer.Option(
    "--objective", hidden=True, help="Deprecated: --rule-option objective=NAME.")]
OldNoiseInjection = Annotated[bool | None, typer.Option(
    "--noise-injection/--no-noise-injection", hidden=True,
    help="Deprecated: --rule-option noise_injection=true.")]
OldFinetuneSteps = bounded(int | None, "--finetune-steps", hidden=True, ge=0, le=MAX_COUNT,
                           help="Deprecated: --rule-option finetune_steps=N.")
OldBias = Annotated[bool | None, typer.Option(
    "--bias/--no-bias", hidden=True, help="Deprecated: --rule-option bias=true|false.")]


# ------------------------------------------------------------------------------ one command's
# numeric options: declared here too, so that every number on the command line has its bounds
Arrays = bounded(int, "--arrays", metavar="N", ge=1, le=MAX_COUNT, help="Number of arrays.")
OffBelow = bounded(float | None, "--off-below", metavar="S", ge=0.0,
                   help="--as conductance: stuck OFF below this (siemens; default: g_min + 5% of "
                   "the chip's window).")
OnAbove = bounded(float | None, "--on-above", metavar="S", ge=0.0,
                  help="--as conductance: stuck ON above this (siemens; default: g_max - 5% of "
                  "the chip's window).")
ImportTolerance = bounded(float | None, "--tolerance", metavar="uS", gt=0.0, help=".csv: stuck "
                          "if |read - target| exceeds this (default: robust estimate).")
Start = bounded(int | None, "--start", metavar="N", ge=1, le=MAX_COUNT,
                help="First count tried (default: N/8 for one layer, N for multilayer "
                "memories).")
Load = bounded(float, "--load", metavar="X", gt=0.0, le=1000.0,
               help="--sizes: stored patterns per neuron.")
TargetEnergy = bounded(float | None, "--target-energy", metavar="X", gt=0.0,
                       help="--calibrate: async/sync energy ratio (default: the paper's).")
TargetLatency = bounded(float | None, "--target-latency", metavar="X", gt=0.0, lt=1.0,
                        help="--calibrate: latency reduction (1 - sync/async; default: the "
                        "paper's).")
Rounds = bounded(int, "--rounds", metavar="N", ge=0, le=10**6,
                 help="Adaptation rounds after the open-loop round 0.")
Target = bounded(float, "--target", metavar="X", ge=-1.0, help="Stop once the mean cosine "
                 "reaches this (above 1: run every round).")
Tolerance = bounded(float, "--tolerance", metavar="uS", gt=0.0, help="A device reading further "
                    "than this from its target is fixed.")
#: the largest device noise, microsiemens (a std of a conductance; no device's is larger)
_MAX_NOISE_US = MAX_CONDUCTANCE * 1e6
WriteNoise = bounded(float | None, "--write-noise", metavar="uS", ge=0.0, le=_MAX_NOISE_US,
                     help="Write-error "
                     "std of the simulated chip (--read-back: of the recall estimate after "
                     "re-programming; default: the model's chip).")
ReadNoise = bounded(float | None, "--read-noise", metavar="uS", ge=0.0, le=_MAX_NOISE_US,
                    help="Read-noise std "
                    "of the simulated chip (--read-back: of the recall estimates; default: "
                    "the model's chip).")
ReadBack = Annotated[Path | None, typer.Option(
    "--read-back", metavar="FILE", parser=input_path,
    help="Conductances read back from a chip programmed with the model's export: one round "
         "from this file instead of the simulated chip. (n_arrays, 2, rows, cols) siemens in "
         ".npy/.npz (the layout of the export's targets_S.npy), or a .csv with columns "
         "array,row,col,polarity,read_uS (its devices.csv with a read_uS column). With it, "
         "--key and --export apply; --rounds, --target, --unknown-faults, --read-averages and "
         "--log (the simulated chip's) do not.")]
Key = Annotated[str | None, typer.Option("--key", metavar="NAME",
                                         help="Array name inside an .npz.")]
UnknownFaults = bounded(float, "--unknown-faults", metavar="X", ge=0.0, le=1.0, help="Extra "
                        "fraction of devices stuck on the simulated chip that the model does "
                        "not know (half at g_max, half at g_min).")
ReadAverages = bounded(int, "--read-averages", metavar="N", ge=1, le=10**6,
                       help="Reads averaged per read-back.")
Jobs = bounded(int, "--jobs", "-j", metavar="N", ge=1, le=1024,
               help="Local worker processes (1 = in this process; not with --workers or "
               "--scheduler).")
Workers = bounded(int | None, "--workers", metavar="N", ge=1, le=1024,
                  help="Start a local Dask cluster with this many worker processes (at most "
                  "one per core).")
Limit = bounded(int | None, "--limit", metavar="N", ge=0, le=MAX_COUNT,
                help="Show at most this many rows (not with --group-by, --json, --csv or "
                "--parquet).")

#: a Dask scheduler address: PROTOCOL://HOST[:PORT] or HOST:PORT
_SCHEDULER = re.compile(r"^(?:(?:tcp|tls|ucx|ws|wss|inproc)://)?"
                        r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::\d{1,5})?/?$")


def _scheduler(value: str | None) -> str | None:
    if value is None:
        return value
    if not _SCHEDULER.match(value) or not value.strip("/").rpartition("/")[2]:
        raise typer.BadParameter(f"must be a Dask scheduler address such as "
                                 f"tcp://HOST:8786, got {value!r}")
    return value


Scheduler = Annotated[str | None, typer.Option(
    "--scheduler", metavar="URL", help="Use an existing Dask cluster, e.g. tcp://HOST:8786.",
    callback=_scheduler)]


# ------------------------------------------------------------------------------ option groups
def _group(params: dict[str, tuple[Any, Any]], build: Callable[..., Any], *,
           scoped: bool = False, contextual: bool = False):
    """Options that always go together, declared once: ``params`` maps each parameter name to
    its (annotated option type, default). ``group(target, **defaults)`` decorates a command:
    the options are added to its signature (after its own), and the command receives
    ``build(**their values)`` in its parameter ``target`` instead of the raw values
    (``scoped``: ``build`` returns a context manager, held while the command runs, and the
    command receives what it yields; ``contextual``: ``build`` also receives ``ctx=`` the
    command's context, to see which options were given)."""
    def for_command(target: str, **defaults: Any):
        def decorate(fn):
            hints = typing.get_type_hints(fn, include_extras=True)
            sig = inspect.signature(fn)
            own = [p.replace(annotation=hints.get(p.name, p.annotation))
                   for p in sig.parameters.values() if p.name != target]
            added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=kind,
                                       default=defaults.get(name, default))
                     for name, (kind, default) in params.items()]
            ctx_name = next((p.name for p in own if p.annotation is typer.Context), None)
            if contextual and ctx_name is None:  # typer passes the context to this parameter
                ctx_name = "group_context"
                added.append(inspect.Parameter(ctx_name, inspect.Parameter.KEYWORD_ONLY,
                                               annotation=typer.Context))

            @functools.wraps(fn)
            def command(*args: Any, **kwargs: Any) -> Any:
                values = {name: kwargs.pop(name) for name in params}
                if contextual:
                    values["ctx"] = (kwargs.pop if ctx_name == "group_context" else
                                     kwargs.get)(ctx_name)
                built = build(**values)
                if not scoped:
                    return fn(*args, **kwargs, **{target: built})
                with built as value:
                    return fn(*args, **kwargs, **{target: value})

            command.__signature__ = sig.replace(parameters=[*own, *added])
            command.__annotations__ = {p.name: p.annotation for p in (*own, *added)}
            return command
        return decorate
    return for_command


#: ``--chip --faults --on-fraction --fault-model``; the command receives the :class:`ChipSpec`.
chip_options = _group({"chip": (Chip, "paper-sim"), "faults": (Faults, None),
                       "on_fraction": (OnFraction, 0.5), "fault_model": (FaultModel, None)},
                      chip_spec, contextual=True)

#: ``--recipe NAME --rule-options JSON --rule-option KEY=VALUE``; the command receives the
#: merged dict.
trainer_options = _group({"recipe": (Recipe, None), "rule_options": (RuleOptions, None),
                          "rule_option": (RuleOption, None)},
                         lambda **given: rule_options(given["rule_options"],
                                                      given["rule_option"], given["recipe"]))

#: ``--threads N`` on every command that computes numbers; the command runs with N torch threads
#: (:func:`torch_threads`) and receives N to record it in its output.
threads_option = _group({"threads": (Threads, 1)}, torch_threads, scoped=True)
