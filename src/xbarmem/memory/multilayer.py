"""Multilayer (encoder/decoder) associative memory on the simulated chip.

The map is ``N -> H_1 (-> H_2 ...) -> N``: every hidden layer computes ``h = tanh(W h_prev + b)``
and the output layer's pre-activation ``W_L h + b_L`` feeds the recall dynamics (``sign`` for
binary patterns -- hidden units stay analogue -- or ``tanh`` to iterate the continuous map).
Layers, placement, programming, recall and device accounting are those of
:class:`~xbarmem.memory.base.Memory`; this module adds the constructor by hidden widths.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch

from xbarmem.checks import check_neurons, checked_keywords, counted, hidden_layer_widths, spanned
from xbarmem.errors import ConfigError
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.faults import FaultMap, chip_for
from xbarmem.memory.base import LayeredMap, Memory, arrays_for_layers

__all__ = ["HiddenWidths", "LayeredMap", "MultilayerMemory", "arrays_for_layers", "layer_sizes",
           "map_shortfall"]

#: hidden widths as every entry point takes them: one width or a list, each an integer >= 1 or
#: a multiple of N (``"1n"``, ``"0.5n"``)
HiddenWidths = int | str | Sequence[int | str]


def layer_sizes(n_neurons: int, hidden: HiddenWidths) -> list[int]:
    """``[N, H_1, ..., N]``: the widths of a multilayer memory; ``hidden`` is one width or a
    list of them, each an integer >= 1 (numpy integers are taken as ints) or a multiple of N
    as the command line and sweeps write it (``"1n"`` = N, ``"0.5n"``:
    :func:`~xbarmem.checks.hidden_layer_widths`, which resolves them here for every entry
    point); :class:`ConfigError` naming ``hidden`` otherwise."""
    n = check_neurons(n_neurons)
    return [n, *hidden_layer_widths(hidden, n), n]


def map_shortfall(chip: ChipSpec, n_arrays: int, sizes: list[int], bias: bool,
                  first: int = 0) -> tuple[int, str] | None:
    """The one check that a fault map of ``n_arrays`` arrays of ``chip`` holds every layer of a
    memory of widths ``sizes`` (``[N, N]`` one layer, ``[N, H..., N]``) from array ``first``:
    None when it does, else the size of map needed and the facts in the words of every
    refusal (``faults=`` here, ``--fault-map`` on the command line, which add whose map it is
    and the way out): ``the fault map covers only 4 arrays of 64x64, but a memory of
    80-100-80 neurons with bias rows needs a map of 8 (layers[0] 100x80 on arrays 0..3,
    layers[1] 80x100 on arrays 4..7; weights outputs x inputs)``."""
    per_layer = arrays_for_layers(chip, sizes, bias)
    need = first + sum(per_layer)
    if need <= n_arrays:
        return None
    one = len(per_layer) == 1
    starts = [first + sum(per_layer[:k]) for k in range(len(per_layer))]
    layers = ", ".join(
        f"{'' if one else f'layers[{k}] '}{n_out}x{n_in} on {spanned('array', s, s + c - 1)}"
        for k, (n_in, n_out, s, c) in enumerate(zip(sizes[:-1], sizes[1:], starts, per_layer,
                                                    strict=True)))
    rows = (" with a bias row" if one else " with bias rows") if bias else ""
    shape = str(sizes[0]) if one else "-".join(map(str, sizes))
    return need, (f"the fault map covers only {counted(n_arrays, 'array')} of "
                  f"{chip.array.rows}x{chip.array.cols}, but a memory of {shape} neurons{rows} "
                  f"needs a map of {need} ({layers}; weights outputs x inputs)")


def _check_map_covers(chip: ChipSpec, faults: FaultMap, sizes: list[int], bias: bool,
                      first: int) -> None:
    """Refuse ``faults`` that cannot hold every layer of a memory of widths ``sizes`` from
    array ``first``, naming all of them (a layer's crossbar names only its own arrays) with
    the facts ``--fault-map`` is refused with (:func:`map_shortfall`); a map of another chip
    as :meth:`FaultMap.check_chip` says."""
    faults.check_chip(chip)
    short = map_shortfall(chip, faults.n_arrays, sizes, bias, first)
    if short is not None:
        need, facts = short
        raise ConfigError(f"faults: {facts}; give one (FaultMap.generate(chip, {need})) or "
                          f"smaller layers")


@checked_keywords
class MultilayerMemory(Memory):
    """An encoder/decoder memory ``N -> H ... -> N`` on a chip.

    Args:
        n_neurons: N, the pattern length.
        hidden: width ``H`` of one hidden layer, or a list of widths; a width may be a
            multiple of N (``"1n"``, ``"0.5n"``), resolved here (``hidden_sizes`` and model
            files hold the integer widths).
        chip: preset name, TOML path or :class:`ChipSpec`.
        faults: the chip's fault map (must cover every layer's arrays); generated from the
            chip's rates with ``fault_seed`` when omitted.
        bias: give every layer a bias row.
        fault_seed: seed of the generated fault map.
        first_array: array of ``faults`` where the first layer starts (the others follow it),
            as a single-layer memory's ``first_array``.

    Raises :class:`~xbarmem.errors.ConfigError` for a bad ``n_neurons`` or ``hidden`` or a
    memory above the memory limit (:class:`~xbarmem.limits.TooLargeError`, one); faults that
    do not fit the chip as :meth:`FaultMap.check_chip` says, or with too few arrays for every
    layer from ``first_array`` (naming the map size needed and each layer's arrays);
    :class:`~xbarmem.errors.FileFormatError` for an unknown chip.
    """

    def __init__(self, n_neurons: int, hidden: HiddenWidths,
                 chip: str | ChipSpec | None = None, faults: FaultMap | None = None, *,
                 bias: bool = True, fault_seed: int = 0, first_array: int = 0) -> None:
        sizes = layer_sizes(n_neurons, hidden)
        if (isinstance(faults, FaultMap) and isinstance(bias, bool)  # (else refused below)
                and isinstance(first_array, numbers.Integral)
                and not isinstance(first_array, bool) and first_array >= 0):
            _check_map_covers(chip_for(chip, faults), faults, sizes, bias, int(first_array))
        super().__init__(sizes, chip, faults, bias=bias,
                         fault_seed=fault_seed, first_array=first_array)

    def rebuild(self, faults: FaultMap) -> MultilayerMemory:
        self.check_faults(faults)
        return MultilayerMemory(self.n_neurons, self.hidden_sizes, self.chip, faults,
                                bias=self.has_bias, first_array=self.layers[0].first_array)

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
