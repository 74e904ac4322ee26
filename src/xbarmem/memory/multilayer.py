"""Multilayer (encoder/decoder) associative memory on the simulated chip.

The map is ``N -> H_1 (-> H_2 ...) -> N``: every hidden layer computes ``h = tanh(W h_prev + b)``
and the output layer's pre-activation ``W_L h + b_L`` feeds the recall dynamics (``sign`` for
binary patterns -- hidden units stay analogue -- or ``tanh`` to iterate the continuous map).
Layers, placement, programming, recall and device accounting are those of
:class:`~xbarmem.memory.base.Memory`; this module adds the constructor by hidden widths.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import torch

from xbarmem.checks import check_neurons, checked_keywords, shown
from xbarmem.errors import ConfigError
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.faults import FaultMap
from xbarmem.memory.base import LayeredMap, Memory, arrays_for_layers

__all__ = ["LayeredMap", "MultilayerMemory", "arrays_for_layers", "layer_sizes"]


def layer_sizes(n_neurons: int, hidden: int | Sequence[int]) -> list[int]:
    """``[N, H_1, ..., N]``: the widths of a multilayer memory; validates ``hidden`` (a
    positive integer or a list of them; numpy integers are taken as ints): :class:`ConfigError`
    naming ``hidden`` otherwise."""
    widths: list[Any]  # checked below
    if isinstance(hidden, numbers.Integral):
        widths = [hidden]
    elif (isinstance(hidden, (str, bytes)) or not isinstance(hidden, Iterable)
          or getattr(hidden, "ndim", 1) != 1):
        raise ConfigError(f"hidden must be a positive integer width or a list of them, "
                          f"got {shown(hidden)}")
    else:
        widths = list(hidden)
    if not widths:
        raise ConfigError("hidden must name at least one hidden layer width")
    for h in widths:
        if isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1:
            raise ConfigError(f"hidden layer widths must be positive integers, got {shown(hidden)}")
    return [check_neurons(n_neurons), *(int(h) for h in widths), n_neurons]


@checked_keywords
class MultilayerMemory(Memory):
    """An encoder/decoder memory ``N -> H ... -> N`` on a chip.

    Args:
        n_neurons: N, the pattern length.
        hidden: width ``H`` of one hidden layer, or a list of widths.
        chip: preset name, TOML path or :class:`ChipSpec`.
        faults: the chip's fault map (must cover every layer's arrays); generated from the
            chip's rates with ``fault_seed`` when omitted.
        bias: give every layer a bias row.
        fault_seed: seed of the generated fault map.

    Raises :class:`~xbarmem.errors.ConfigError` for a bad ``n_neurons`` or ``hidden`` or a
    memory above the memory limit (:class:`~xbarmem.limits.TooLargeError`, one); faults that
    do not fit the chip as :meth:`FaultMap.check_chip` says;
    :class:`~xbarmem.errors.FileFormatError` for an unknown chip.
    """

    def __init__(self, n_neurons: int, hidden: int | Sequence[int],
                 chip: str | ChipSpec | None = None, faults: FaultMap | None = None, *,
                 bias: bool = True, fault_seed: int = 0) -> None:
        super().__init__(layer_sizes(n_neurons, hidden), chip, faults, bias=bias,
                         fault_seed=fault_seed)

    def rebuild(self, faults: FaultMap) -> MultilayerMemory:
        self.check_faults(faults)
        return MultilayerMemory(self.n_neurons, self.hidden_sizes, self.chip, faults,
                                bias=self.has_bias)

    @property
    def weights(self) -> list[torch.Tensor]:
        """Programmed weights of every layer, ``(n_out, n_in)`` each (no read noise), weight
        units; :class:`ConfigError` before programming."""
        return [w for w, _ in self.programmed_parameters()]

    @property
    def biases(self) -> list[torch.Tensor]:
        """Programmed biases of every layer, ``(n_out,)`` each (zeros without bias rows),
        weight units; :class:`ConfigError` before programming."""
        return [b for _, b in self.programmed_parameters()]

    @property
    def target_weights(self) -> list[torch.Tensor] | None:
        """Every layer's programmed target ``W`` (None before programming)."""
        return None if self.targets is None else [w for w, _ in self.targets]

    @property
    def target_biases(self) -> list[torch.Tensor | None] | None:
        """Every layer's programmed target bias (None entries without bias rows)."""
        return None if self.targets is None else [b for _, b in self.targets]
