"""Building memories by architecture name: ``"single"`` (one ``N x N`` layer) or
``"multilayer"`` (``N -> hidden ... -> N``), or by layer widths (:func:`memory_from_sizes`, as
model files and exports give them)."""

from __future__ import annotations

from collections.abc import Sequence

from xbarmem.checks import check_choice, counted
from xbarmem.errors import ConfigError
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.crossbar import arrays_needed
from xbarmem.hardware.faults import FaultMap
from xbarmem.limits import check_bytes
from xbarmem.memory.base import Memory, arrays_for_layers
from xbarmem.memory.multilayer import HiddenWidths, MultilayerMemory, layer_sizes
from xbarmem.memory.single import SingleLayerMemory
from xbarmem.names import ARCHS  # noqa: F401 - the architecture names, re-exported
from xbarmem.sizes import network_bytes


def make_memory(n_neurons: int, *, arch: str = "single",
                hidden: HiddenWidths | None = None, chip: str | ChipSpec | None = None,
                faults: FaultMap | None = None, bias: bool = True,
                fault_seed: int = 0) -> Memory:
    """An unprogrammed memory of ``n_neurons``: ``arch="single"`` or ``"multilayer"`` (with
    ``hidden`` widths). Raises :class:`ConfigError` for an unknown ``arch`` or a multilayer
    memory without ``hidden``."""
    arch = check_choice(arch, ARCHS, "arch")
    if arch == "single":
        return SingleLayerMemory(n_neurons, chip, faults, bias=bias, fault_seed=fault_seed)
    if hidden is None:
        raise ConfigError("a multilayer memory needs hidden (hidden layer width)")
    return MultilayerMemory(n_neurons, hidden, chip, faults, bias=bias, fault_seed=fault_seed)


def check_memories(count: int, n_neurons: int, chip: ChipSpec, *,
                   hidden: Sequence[int] | None = None, given: str = "") -> None:
    """Refuse, before any fault map or memory is made, ``count`` memories of ``n_neurons``
    neurons (``hidden``: the hidden widths of multilayer ones) on ``chip``'s tiles, held and
    trained together, whose estimated memory (:func:`xbarmem.sizes.network_bytes` each) is
    above the limit: raises :class:`~xbarmem.limits.TooLargeError` (a ConfigError), its
    message led by ``given``, what the caller asked for that makes ``count``, in its words
    (``"trials = 1000"``: what to lower). Each memory checks itself alone
    (:class:`~xbarmem.memory.base.Memory`), which a million small ones all pass."""
    if count <= 1:  # (one memory: its own check says it)
        return
    rows, cols = chip.array.rows, chip.array.cols
    shape = f"N = {n_neurons}" + (f", hidden {'-'.join(map(str, hidden))}" if hidden else "")
    what = (f"{counted(count, 'memory', 'memories')} of {shape} on {rows}x{cols} arrays "
            f"trained together")
    check_bytes(f"{given} ({what})" if given else what,
                count * network_bytes(n_neurons, hidden, rows, cols))


def arrays_with_bias(chip: ChipSpec, n_neurons: int, *, arch: str = "single",
                     hidden: HiddenWidths | None = None) -> int:
    """Arrays an ``arch`` memory of ``n_neurons`` occupies with bias rows: the size of the
    fault map that every rule's memory on one seeded chip shares, whether or not the rule
    uses its bias row. Raises :class:`ConfigError` for an unknown ``arch`` (as
    :func:`make_memory` does: a name outside :data:`ARCHS` was sized as a single layer)."""
    if check_choice(arch, ARCHS, "arch") == "multilayer":
        sizes = layer_sizes(n_neurons, hidden)  # type: ignore[arg-type]  # refuses None
        return sum(arrays_for_layers(chip, sizes))
    return arrays_needed(chip, n_neurons, n_neurons + 1)


def memory_from_sizes(sizes: list[int], chip: ChipSpec, faults: FaultMap, *, bias: bool,
                      first_array: int = 0) -> Memory:
    """An unprogrammed memory of widths ``sizes`` on ``faults``: a
    :class:`SingleLayerMemory` for ``[N, N]``, a :class:`MultilayerMemory` for ``[N, H..., N]``,
    its first layer at array ``first_array``."""
    if len(sizes) == 2:
        return SingleLayerMemory(int(sizes[0]), chip, faults, bias=bias,
                                 first_array=first_array)
    return MultilayerMemory(int(sizes[0]), [int(h) for h in sizes[1:-1]], chip, faults, bias=bias,
                            first_array=first_array)
