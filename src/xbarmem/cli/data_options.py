"""The stored patterns: ``--data``, ``--patterns``, ``--neurons``, ``--kind``, ``--pool``, ...,
and the sizes of ``energy --sizes``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from xbarmem.checks import MAX_COUNT
from xbarmem.cli.option_types import bounded, choice, completes, name_or_file
from xbarmem.names import KINDS
from xbarmem.sizes import MAX_LOAD

DATA_HELP = ("Pattern source: mnist, mnist-crop24 (MNIST from the centred 24x24 window), "
             "digits (scikit-learn 8x8), glyphs (A-Z, a-z, 0-9 in 21 fonts), random, "
             "correlated-R (binary, mean pairwise overlap R), or a file (.npy/.npz/.csv/IDX).")


def _sources() -> tuple[str, ...]:
    """The named pattern sources ``--data`` completes in the shell (a file, or correlated-R
    with its R, is typed)."""
    from xbarmem.data.builtin import BUILTIN_SOURCES

    return BUILTIN_SOURCES


#: completion of ``--data`` (every command but demo): the named sources
complete_sources = completes(_sources)
#: the pattern sources of ``demo --data`` (:data:`xbarmem.experiments.demo.DEMO_DATA`)
DEMO_SOURCES = ("mnist", "mnist-crop24", "digits")
Data = Annotated[str, typer.Option("--data", metavar="SOURCE", help=DATA_HELP,
                                   parser=name_or_file, autocompletion=complete_sources)]
DemoData = Annotated[str, typer.Option(
    "--data", metavar="SOURCE", parser=name_or_file,
    autocompletion=completes(lambda: DEMO_SOURCES),
    help="Pattern source: mnist, mnist-crop24 (MNIST from the "
    "centred 24x24 window, the authors' preprocessing) or digits (scikit-learn 8x8).")]


def patterns(default: str) -> Any:
    """``-p/--patterns N`` with the command's default in the help. The value is read as text:
    a non-integer is the deprecated ``--patterns SOURCE`` spelling of train and energy (for an
    ``Annotated[str | None, ...]`` alias)."""
    return typer.Option("--patterns", "-p", metavar="N",
                        help=f"Number of stored patterns (default: {default}).")


# str: ``sign``/``tanh`` is the deprecated ``--neurons`` spelling of --activation (energy)
NEURONS_HELP = ("Neurons N (pattern length); image data is resized to side sqrt(N), so N must "
                "then be a perfect square. A file of patterns keeps its own N unless this is "
                "given.")
Neurons = Annotated[str, typer.Option("--neurons", metavar="N", help=NEURONS_HELP)]
DataKey = Annotated[str | None, typer.Option(
    "--key", metavar="NAME", help="The array of a --data .npz file to read (default: its only "
    "array, else the one named patterns or images); an unknown name is refused, naming the "
    "arrays the file holds.")]
CuesKey = Annotated[str | None, typer.Option(
    "--key", metavar="NAME", help="The array of a CUES .npz file to read (default: its only "
    "array, else the one named patterns or images); an unknown name is refused, naming the "
    "arrays the file holds.")]
Kind = Annotated[str, choice(
    "--kind", metavar="KIND", choices=lambda: KINDS, strict=True,
    help="binary (+-1 patterns; 8-bit images binarised at each image's mean) or continuous "
    "([-1, 1]; 8-bit images scaled to it).")]
OnePerClass = Annotated[bool, typer.Option(
    "--one-per-class", help="Store one pattern of each class (digits 0-9; glyphs: 62 "
    "characters); --data of an image set or a file, not random or correlated-R.")]
ZeroOne = Annotated[bool, typer.Option(
    "--zero-one", help="Read a --data FILE (not a built-in set) in [0, 1]: binary {0,1} (0 is "
    "read as -1), continuous values in [0, 1] mapped to [-1, 1] by 2*x - 1.")]
CuesZeroOne = Annotated[bool, typer.Option(
    "--zero-one", help="Read a cues file in [0, 1]: binary {0,1} (0 is read as -1), continuous "
    "values mapped to [-1, 1] by 2*x - 1.")]
Pool = Annotated[int | None, bounded(
    "--pool", metavar="N", ge=1, le=MAX_COUNT, help="Patterns in the pool that subsets are drawn "
    "from (default: all of the source; random: 2000).")]
Sizes = Annotated[str, typer.Option(
    "--sizes", metavar="N,N...", help="Neuron counts N, comma-separated.")]
Load = Annotated[float, bounded(
    "--load", metavar="X", gt=0.0, le=MAX_LOAD, help="--sizes: stored patterns per neuron.")]
