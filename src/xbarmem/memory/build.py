"""Building memories by architecture name: ``"single"`` (one ``N x N`` layer) or
``"multilayer"`` (``N -> hidden ... -> N``)."""

from __future__ import annotations

from collections.abc import Sequence

from xbarmem.errors import ConfigError
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.faults import FaultMap
from xbarmem.memory.base import Memory
from xbarmem.memory.multilayer import MultilayerMemory
from xbarmem.memory.single import SingleLayerMemory

#: The architecture names every layer accepts.
ARCHS = ("single", "multilayer")


def make_memory(n_neurons: int, *, arch: str = "single",
                hidden: int | Sequence[int] | None = None, chip: str | ChipSpec = "paper-sim",
                faults: FaultMap | None = None, bias: bool = True,
                fault_seed: int = 0) -> Memory:
    """An unprogrammed memory of ``n_neurons``: ``arch="single"`` or ``"multilayer"`` (with
    ``hidden`` widths). Raises :class:`ConfigError` for an unknown ``arch`` or a multilayer
    memory without ``hidden``."""
    if arch not in ARCHS:
        raise ConfigError(f"arch must be one of {ARCHS}, got {arch!r}")
    if arch == "single":
        return SingleLayerMemory(n_neurons, chip, faults, bias=bias, fault_seed=fault_seed)
    if hidden is None:
        raise ConfigError("a multilayer memory needs hidden (hidden layer width)")
    return MultilayerMemory(n_neurons, hidden, chip, faults, bias=bias, fault_seed=fault_seed)
