"""Single-layer associative memory on the simulated chip.

``N`` neurons fully connected through one ``N x N`` weight matrix with no self-connections, plus
a bias, held on one :class:`~xbarmem.hardware.crossbar.Crossbar`: the one-layer case of
:class:`~xbarmem.memory.base.Memory`, with accessors for its one matrix.
"""

from __future__ import annotations

import torch

from xbarmem.checks import check_neurons, checked_keywords
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.crossbar import Crossbar
from xbarmem.hardware.faults import FaultMap
from xbarmem.memory.base import Memory


@checked_keywords
class SingleLayerMemory(Memory):
    """A Hopfield-style memory of ``n_neurons`` on a chip (sizes ``[N, N]``).

    Args:
        n_neurons: N, the pattern length.
        chip: preset name, TOML path or :class:`ChipSpec`.
        faults: the chip's fault map; generated from the chip's rates with ``fault_seed`` when
            omitted (covering exactly the arrays this memory needs).
        bias: allocate a bias row (the hardware-adaptive rule learns a bias; classic rules
            do not need one).
        fault_seed: seed of the generated fault map.
        first_array: first array of ``faults`` the weight matrix occupies.

    Raises :class:`~xbarmem.errors.ConfigError` for ``n_neurons`` below 2 or a memory above
    the memory limit (:class:`~xbarmem.limits.TooLargeError`, one); faults that do not fit
    the chip as :meth:`FaultMap.check_chip` says; :class:`~xbarmem.errors.FileFormatError`
    for an unknown chip.
    """

    zero_diagonal = True

    def __init__(self, n_neurons: int, chip: str | ChipSpec | None = None,
                 faults: FaultMap | None = None, *, bias: bool = True, fault_seed: int = 0,
                 first_array: int = 0) -> None:
        check_neurons(n_neurons)
        super().__init__([n_neurons, n_neurons], chip, faults, bias=bias, fault_seed=fault_seed,
                         first_array=first_array)

    def rebuild(self, faults: FaultMap) -> SingleLayerMemory:
        self.check_faults(faults)
        return SingleLayerMemory(self.n_neurons, self.chip, faults, bias=self.has_bias,
                                 first_array=self.crossbar.first_array)

    @property
    def crossbar(self) -> Crossbar:
        """The memory's one crossbar (``layers[0]``)."""
        return self.layers[0]

    @property
    def weights(self) -> torch.Tensor:
        """Weights as programmed into the devices ``(N, N)`` (no read noise), weight units;
        :class:`ConfigError` before programming."""
        return self.crossbar.effective()[0]

    @property
    def bias(self) -> torch.Tensor:
        """Bias as programmed ``(N,)`` (zeros without a bias row), weight units;
        :class:`ConfigError` before programming."""
        return self.programmed_parameters()[0][1]

    @property
    def target_weights(self) -> torch.Tensor | None:
        """The programmed target ``W`` ``(N, N)`` (None before programming)."""
        return None if self.targets is None else self.targets[0][0]

    @property
    def target_bias(self) -> torch.Tensor | None:
        """The programmed target bias ``(N,)`` (None without one)."""
        return None if self.targets is None else self.targets[0][1]
