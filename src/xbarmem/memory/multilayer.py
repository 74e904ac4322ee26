"""Multilayer (encoder/decoder) associative memory on the simulated chip.

The map is ``N -> H_1 (-> H_2 ...) -> N``: every hidden layer computes ``h = tanh(W h_prev + b)``
and the output layer's pre-activation ``W_L h + b_L`` feeds the recall dynamics (``sign`` for
binary patterns -- hidden units stay analogue -- or ``tanh`` to iterate the continuous map).
Every layer is a :class:`~xbarmem.hardware.crossbar.Crossbar` on its own arrays of one chip fault map:
layer ``k`` starts at the array after the last array of layer ``k - 1``.

Recall runs through the generic engine :func:`xbarmem.memory.recall.recall` via :class:`LayeredMap`:

* a synchronous step is one product per layer (all outputs updated at once);
* an asynchronous step updates one output neuron: a full read of every hidden layer, then one
  output column read.

Device accounting (:meth:`MultilayerMemory.devices`): weights and bias weights of every layer,
two devices per weight, arrays, and sensed outputs (every layer's outputs are sensed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from xbarmem.errors import ConfigError
from xbarmem.hardware.chip import ChipSpec, load_chip
from xbarmem.hardware.crossbar import Crossbar, arrays_needed
from xbarmem.hardware.faults import FaultMap
from xbarmem.memory.recall import RecallResult, recall


def layer_sizes(n_neurons: int, hidden: int | Sequence[int]) -> list[int]:
    """``[N, H_1, ..., N]``: the widths of a multilayer memory; validates ``hidden``."""
    widths = [hidden] if isinstance(hidden, int) else list(hidden)
    if not widths:
        raise ConfigError("hidden must name at least one hidden layer width")
    for h in widths:
        if isinstance(h, bool) or not isinstance(h, int) or h < 1:
            raise ConfigError(f"hidden layer widths must be positive integers, got {hidden!r}")
    if not isinstance(n_neurons, int) or n_neurons < 2:
        raise ConfigError(f"n_neurons must be an integer >= 2, got {n_neurons!r}")
    return [n_neurons, *widths, n_neurons]


def arrays_for_layers(chip: ChipSpec, sizes: Sequence[int], bias: bool = True) -> list[int]:
    """Arrays each layer ``sizes[k] -> sizes[k + 1]`` occupies (bias row included)."""
    return [arrays_needed(chip, n_out, n_in + int(bias))
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]


class LayeredMap:
    """The recall-engine view of a stack of programmed crossbars (``n_in == n_out == N``).

    ``matvec`` returns the output layer's pre-activation for a batch ``(B, N) -> (B, N)``,
    weight units; hidden layers apply ``tanh``. Every layer read draws fresh read noise.
    """

    def __init__(self, layers: Sequence[Any]) -> None:
        self.layers = list(layers)
        self.n_in, self.n_out = self.layers[0].n_in, self.layers[-1].n_out

    def hidden(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Activity of the last hidden layer ``(B, H_last)``."""
        h = x
        for layer in self.layers[:-1]:
            h = torch.tanh(layer.matvec(h, generator))
        return h

    def matvec(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.layers[-1].matvec(self.hidden(x, generator), generator)

    def read_outputs(self, x: torch.Tensor, outputs: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        return self.layers[-1].read_outputs(self.hidden(x, generator), outputs, generator)


class MultilayerMemory:
    """An encoder/decoder memory ``N -> H ... -> N`` on a chip.

    Args:
        n_neurons: N, the pattern length.
        hidden: width ``H`` of one hidden layer, or a list of widths.
        chip: preset name, TOML path or :class:`ChipSpec`.
        faults: the chip's fault map (must cover every layer's arrays); generated from the
            chip's rates with ``fault_seed`` when omitted.
        bias: give every layer a bias row.
        fault_seed: seed of the generated fault map.
    """

    def __init__(self, n_neurons: int, hidden: int | Sequence[int],
                 chip: str | ChipSpec = "paper-sim", faults: FaultMap | None = None, *,
                 bias: bool = True, fault_seed: int = 0) -> None:
        self.sizes = layer_sizes(n_neurons, hidden)
        self.chip = load_chip(chip)
        self.n_neurons = n_neurons
        self.hidden_sizes = self.sizes[1:-1]
        per_layer = arrays_for_layers(self.chip, self.sizes, bias)
        if faults is None:
            faults = FaultMap.generate(self.chip, sum(per_layer), seed=fault_seed)
        self.faults = faults
        self.layers: list[Crossbar] = []
        first = 0
        for (n_in, n_out), count in zip(zip(self.sizes[:-1], self.sizes[1:], strict=True),
                                         per_layer, strict=True):
            self.layers.append(Crossbar(self.chip, n_out, n_in, faults, bias=bias,
                                        first_array=first))
            first += count
        self.target_weights: list[torch.Tensor] | None = None
        self.target_biases: list[torch.Tensor] | None = None
        self.info: dict[str, Any] = {}

    # ------------------------------------------------------------------ hardware view
    @property
    def has_bias(self) -> bool:
        return self.layers[0].has_bias

    @property
    def arch(self) -> str:
        """Architecture label, e.g. ``"64-32-64"``."""
        return "-".join(str(s) for s in self.sizes)

    def bounds(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Realisable interval of every weight of every layer's ``[W | b]``, weight units."""
        return [layer.bounds() for layer in self.layers]

    def devices(self) -> dict[str, int]:
        """Device accounting summed over layers: weights, devices (2 per weight), arrays,
        sensed outputs (every layer's outputs are sensed each synchronous step)."""
        weights = sum(layer.n_out * layer.n_rows for layer in self.layers)
        return {"weights": weights, "devices": 2 * weights,
                "arrays": sum(layer.n_arrays for layer in self.layers),
                "array_rows": self.chip.array.rows, "array_cols": self.chip.array.cols,
                "sensed_outputs": sum(layer.n_out for layer in self.layers),
                "layers": len(self.layers)}

    # ------------------------------------------------------------------ programming
    def program(self, weights: Sequence[torch.Tensor],
                biases: Sequence[torch.Tensor | None] | None = None, *,
                seed: int = 0) -> MultilayerMemory:
        """Write every layer's target weights ``(n_out, n_in)`` and bias ``(n_out,)``; layer
        ``k``'s write error is drawn with seed ``seed + 7919 * k``."""
        if len(weights) != len(self.layers):
            raise ConfigError(f"need weights for {len(self.layers)} layers, got {len(weights)}")
        biases = list(biases) if biases is not None else [None] * len(self.layers)
        if len(biases) != len(self.layers):
            raise ConfigError(f"need biases for {len(self.layers)} layers, got {len(biases)}")
        for k, (layer, w, b) in enumerate(zip(self.layers, weights, biases, strict=True)):
            layer.program(w, b, seed=seed + 7919 * k)
        self.target_weights = [torch.as_tensor(w, dtype=torch.float32).clone() for w in weights]
        self.target_biases = [None if b is None else torch.as_tensor(b, dtype=torch.float32)
                              .clone() for b in biases]
        return self

    @property
    def weights(self) -> list[torch.Tensor]:
        """Programmed weights of every layer (no read noise), weight units."""
        return [layer.effective()[0] for layer in self.layers]

    @property
    def biases(self) -> list[torch.Tensor]:
        """Programmed biases of every layer (zeros without bias rows), weight units."""
        out = []
        for layer in self.layers:
            b = layer.effective()[1]
            out.append(torch.zeros(layer.n_out) if b is None else b)
        return out

    def map(self) -> LayeredMap:
        """The programmed layers as one matrix-like object for :func:`xbarmem.memory.recall.recall`."""
        return LayeredMap(self.layers)

    # ------------------------------------------------------------------ recall
    def recall(self, cues: torch.Tensor, *, mode: str = "sync", activation: str = "sign",
               max_iterations: int = 100, seed: int | torch.Generator | None = 0) -> RecallResult:
        """Run recall from ``cues`` ``(B, N)``; see the module docstring for what a step reads.
        ``RecallResult.reads`` counts output-layer reads (sync: one full product of every layer
        per step)."""
        return recall(self.map(), cues, mode=mode, activation=activation,
                      max_iterations=max_iterations, seed=seed)
