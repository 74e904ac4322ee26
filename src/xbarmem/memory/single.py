"""Single-layer associative memory on the simulated chip.

``N`` neurons fully connected through one ``N x N`` weight matrix with no self-connections, plus
a bias, held on a :class:`~xbarmem.hardware.crossbar.Crossbar`. The memory does not learn by itself:
a learning rule (:mod:`xbarmem.learning.classic`, :mod:`xbarmem.learning.adaptive`, glued by
:mod:`xbarmem.learning.fit`) produces target weights, :meth:`SingleLayerMemory.program` writes them
into the devices, and :meth:`SingleLayerMemory.recall` runs the dynamics through the array.
"""

from __future__ import annotations

from typing import Any

import torch

from xbarmem.errors import ConfigError
from xbarmem.hardware.chip import ChipSpec, load_chip
from xbarmem.hardware.crossbar import Crossbar, arrays_needed
from xbarmem.hardware.faults import FaultMap
from xbarmem.memory.recall import RecallResult, recall


class SingleLayerMemory:
    """A Hopfield-style memory of ``n_neurons`` on a chip.

    Args:
        n_neurons: N, the pattern length.
        chip: preset name, TOML path or :class:`ChipSpec`.
        faults: the chip's fault map; generated from the chip's rates with ``fault_seed`` when
            omitted (covering exactly the arrays this memory needs).
        bias: allocate a bias row (the hardware-adaptive rule learns a bias; classic rules
            do not need one).
        fault_seed: seed of the generated fault map.
        first_array: first array of ``faults`` the weight matrix occupies.
    """

    def __init__(self, n_neurons: int, chip: str | ChipSpec = "paper-sim",
                 faults: FaultMap | None = None, *, bias: bool = True, fault_seed: int = 0,
                 first_array: int = 0) -> None:
        if not isinstance(n_neurons, int) or n_neurons < 2:
            raise ConfigError(f"n_neurons must be an integer >= 2, got {n_neurons!r}")
        self.chip = load_chip(chip)
        self.n_neurons = n_neurons
        if faults is None:
            need = first_array + arrays_needed(self.chip, n_neurons, n_neurons + int(bias))
            faults = FaultMap.generate(self.chip, need, seed=fault_seed)
        self.faults = faults
        self.crossbar = Crossbar(self.chip, n_neurons, n_neurons, faults, bias=bias,
                                 first_array=first_array)
        self.target_weights: torch.Tensor | None = None
        self.target_bias: torch.Tensor | None = None
        self.info: dict[str, Any] = {}

    # ------------------------------------------------------------------ hardware view
    @property
    def has_bias(self) -> bool:
        return self.crossbar.has_bias

    @property
    def layers(self) -> list[Crossbar]:
        """The crossbars of this memory (one), as for multilayer memories."""
        return [self.crossbar]

    @property
    def arch(self) -> str:
        """Architecture label, e.g. ``"64"`` (single layer)."""
        return str(self.n_neurons)

    def bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Realisable interval of each weight of ``[W | b]``, ``(N, N + bias)`` weight units."""
        return self.crossbar.bounds()

    def devices(self) -> dict[str, int]:
        """Device accounting: weights, devices (2 per weight), arrays, sensed outputs."""
        cb = self.crossbar
        weights = cb.n_out * cb.n_rows
        return {"weights": weights, "devices": 2 * weights, "arrays": cb.n_arrays,
                "array_rows": self.chip.array.rows, "array_cols": self.chip.array.cols,
                "sensed_outputs": cb.n_out}

    # ------------------------------------------------------------------ programming
    def program(self, weights: torch.Tensor, bias: torch.Tensor | None = None, *,
                seed: int = 0) -> SingleLayerMemory:
        """Write target weights ``(N, N)`` (diagonal must be 0 or realisable) and bias ``(N,)``
        into the devices; programming error is drawn once with ``seed``."""
        w = torch.as_tensor(weights, dtype=torch.float32)
        if bias is not None and not self.has_bias:
            if torch.as_tensor(bias).abs().max() > 0:
                raise ConfigError("this memory has no bias row; build it with bias=True")
            bias = None
        self.crossbar.program(w, bias, seed=seed)
        self.target_weights = w.clone()
        self.target_bias = None if bias is None else torch.as_tensor(bias,
                                                                     dtype=torch.float32).clone()
        return self

    @property
    def weights(self) -> torch.Tensor:
        """Weights as programmed into the devices ``(N, N)`` (no read noise), weight units."""
        return self.crossbar.effective()[0]

    @property
    def bias(self) -> torch.Tensor:
        """Bias as programmed ``(N,)`` (zeros without a bias row), weight units."""
        b = self.crossbar.effective()[1]
        return torch.zeros(self.n_neurons) if b is None else b

    # ------------------------------------------------------------------ recall
    def recall(self, cues: torch.Tensor, *, mode: str = "sync", activation: str = "sign",
               max_iterations: int = 100, seed: int | torch.Generator | None = 0) -> RecallResult:
        """Run recall from ``cues`` ``(B, N)`` through the programmed crossbar (fresh read noise
        at every read). See :func:`xbarmem.memory.recall.recall`."""
        return recall(self.crossbar, cues, mode=mode, activation=activation,
                      max_iterations=max_iterations, seed=seed)
