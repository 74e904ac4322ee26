"""The memory interface: ``N`` neurons through a stack of crossbar layers on one chip.

A :class:`Memory` maps a state ``(B, N)`` through layers ``N -> H_1 (-> H_2 ...) -> N``: every
layer is a :class:`~xbarmem.hardware.crossbar.Crossbar` ``[W | b]`` on its own arrays of one chip
fault map (layer ``k`` starts at the array after the last array of layer ``k - 1``), hidden
layers apply ``tanh`` and the last layer's pre-activation feeds the recall dynamics. The
single-layer Hopfield memory is the one-layer case ``[N, N]`` (no self-connections:
``zero_diagonal``); :class:`~xbarmem.memory.single.SingleLayerMemory` and
:class:`~xbarmem.memory.multilayer.MultilayerMemory` are its two constructors.

Weights and biases are in weight units (those of :meth:`Crossbar.bounds`). A memory does not
learn by itself: a learning rule produces per-layer targets, :meth:`Memory.program` writes them
into the devices and :meth:`Memory.recall` runs the dynamics through the arrays.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from xbarmem.checks import (
    ArrayLike,
    as_real_array,
    check_count,
    check_flag,
    check_neurons,
    check_type,
    checked_keywords,
    counted,
    is_choice,
    listed,
    shown,
    tensor_of,
)
from xbarmem.data.patterns import KINDS, PatternSet, as_pattern_set
from xbarmem.errors import ConfigError, PatternError
from xbarmem.hardware.chip import ChipSpec
from xbarmem.hardware.crossbar import Crossbar, arrays_needed, largest_square
from xbarmem.hardware.faults import FAULTS_TAKEN, FaultMap, chip_for
from xbarmem.limits import check_bytes
from xbarmem.memory.recall import DEFAULT_TOL, RecallResult, matrix_ties, recall
from xbarmem.memory.variation import RECORD as VARIATION_RECORD
from xbarmem.seeds import offset_seed
from xbarmem.sizes import network_bytes, recall_bytes
from xbarmem.spec import check_seed

#: layer ``k`` of a memory draws its write error with seed ``seed + PROGRAM_SEED_STRIDE * k``
PROGRAM_SEED_STRIDE = 7919


def arrays_for_layers(chip: ChipSpec, sizes: Sequence[int], bias: bool = True) -> list[int]:
    """Arrays each layer ``sizes[k] -> sizes[k + 1]`` occupies (bias row included)."""
    return [arrays_needed(chip, n_out, n_in + int(bias))
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]


class LayeredMap:
    """The recall-engine view of a stack of programmed layers (``n_in == n_out == N``).

    ``layers`` are crossbars or anything with their ``matvec`` / ``read_outputs``. ``matvec``
    returns the last layer's pre-activation for a batch ``(B, N) -> (B, N)``, weight units;
    hidden layers apply ``tanh``. Every layer read draws fresh read noise. With one layer it
    reads exactly as that layer.
    """

    def __init__(self, layers: Sequence[Any]) -> None:
        self.layers = list(layers)
        self.n_in, self.n_out = self.layers[0].n_in, self.layers[-1].n_out

    def __repr__(self) -> str:
        """``LayeredMap(16-8-16, layers=2)``: the widths through the layers, not their
        conductances."""
        widths = [self.n_in, *(layer.n_out for layer in self.layers)]
        return f"LayeredMap({'-'.join(map(str, widths))}, layers={len(self.layers)})"

    def hidden(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Activity of the last hidden layer ``(B, H_last)`` (``x`` itself for one layer),
        read noise drawn from ``generator``."""
        h = x
        for layer in self.layers[:-1]:
            h = torch.tanh(layer.matvec(h, generator))
        return h

    def matvec(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The last layer's pre-activation for ``x`` ``(B, N)`` -> ``(B, N)`` (see the class
        docstring), read noise drawn from ``generator``."""
        return self.layers[-1].matvec(self.hidden(x, generator), generator)

    def read_outputs(self, x: torch.Tensor, outputs: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
        """Output ``outputs[k]`` of the last layer for row ``k`` of ``x`` -> ``(B,)`` (hidden
        layers read in full), read noise drawn from ``generator``."""
        return self.layers[-1].read_outputs(self.hidden(x, generator), outputs, generator)

    def tie_tolerance(self) -> torch.Tensor | None:
        """The last layer's ``tie_tolerance()`` ``(N,)`` (fields within it of 0 are 0 to
        :func:`~xbarmem.memory.recall.recall`), None for a layer without one."""
        return matrix_ties(self.layers[-1])


def _refuse_one_layer(chip: ChipSpec, faults: FaultMap, n: int, bias: bool) -> None:
    """Refuse a one-layer memory of ``n`` neurons whose matrix the arrays of ``faults`` cannot
    hold: the crossbar's refusal, then the most neurons a one-layer memory on them can have
    (:func:`~xbarmem.hardware.crossbar.largest_square`), as ``--neurons`` is told on the
    command line. Only the memory knows its matrix is all of it: a multilayer memory's first
    layer may be square (hidden width N) and its crossbar is refused without the hint. A map
    of another chip is refused as :meth:`FaultMap.check_chip` refuses it."""
    faults.check_chip(chip)
    try:
        Crossbar(chip, n, n, faults, bias=bias)
    except ConfigError as exc:
        most = largest_square(chip, faults.n_arrays, bias)
        if most < 2:
            raise
        raise ConfigError(f"{exc}; a memory of up to {most} neurons fits "
                          f"{counted(faults.n_arrays, 'array')}") from None


def _nesting(value: Any) -> int | None:
    """How deep ``value`` nests: an array's or tensor's ``ndim``, a list or tuple one more than
    its first item (1 when empty), 0 for anything else, None for None."""
    if value is None:
        return None
    if hasattr(value, "ndim"):
        return int(value.ndim)
    if isinstance(value, list | tuple):
        return 1 + (_nesting(value[0]) or 0) if value else 1
    return 0


def per_layer(values: Any, depth: int) -> list[Any]:
    """``values`` given to :meth:`Memory.program` as one entry per layer: a list or tuple
    holding an entry of ``depth`` dimensions (2: a weight matrix, 1: a bias) or None is one
    entry per layer, as given; anything else -- a bare matrix or bias, nested lists of
    numbers among them (``W.tolist()``: rows of numbers, not layers) -- the one layer's."""
    if isinstance(values, list | tuple) and (not values or any(
            v is None or _nesting(v) == depth for v in values)):
        return list(values)
    return [values]


def _checked_sizes(sizes: Any) -> list[int]:
    """``sizes`` (layer widths, input first) as ints: a list or tuple of at least two
    integers, the first (the neurons) >= 2, every one >= 1 and the last equal to the first
    (the layers map ``N`` neurons back to ``N``), or a 1-D array, tensor or ``range`` of them
    (read by :func:`~xbarmem.checks.listed`, as every list argument); :class:`ConfigError`
    otherwise."""
    sizes = listed(sizes, "sizes")
    if not isinstance(sizes, list | tuple) or len(sizes) < 2:
        raise ConfigError(f"sizes must list at least two layer widths (N first), "
                          f"got {shown(sizes)}")
    checked = [check_neurons(sizes[0], "sizes[0] (the number of neurons)"),
               *(check_count(s, "a layer width of sizes") for s in sizes[1:])]
    if checked[-1] != checked[0]:
        raise ConfigError(f"sizes must end with N = sizes[0] (a memory maps its {checked[0]} "
                          f"neurons back to themselves), got {shown(list(sizes))}")
    return checked


@checked_keywords
class Memory:
    """Layers ``sizes[k] -> sizes[k + 1]`` of crossbars on one chip fault map.

    Args:
        sizes: ``[N, N]`` (one layer) or ``[N, H_1, ..., N]`` (a list, tuple, ``range`` or
            1-D array): :class:`ConfigError` for fewer than two widths, a width below 1 (``N``
            below 2) or a last width that is not ``N``.
        chip: preset name, TOML path or :class:`ChipSpec`; None (default): the chip
            ``faults`` records (``meta["chip"]``), else ``paper-sim``.
        faults: the chip's fault map (must cover every layer's arrays); generated from the
            chip's rates with ``fault_seed`` when omitted, covering exactly the arrays needed.
        bias: give every layer a bias row.
        fault_seed: seed of the generated fault map.
        first_array: array of ``faults`` where the first layer starts.

    Raises :class:`~xbarmem.limits.TooLargeError` (a :class:`ConfigError`) before allocating
    anything when the memory's estimated training footprint
    (:func:`xbarmem.sizes.network_bytes`) is above the limit of :mod:`xbarmem.limits`.

    Attributes:
        chip, faults, sizes, n_neurons (``N``), hidden_sizes (``sizes[1:-1]``), layers,
        targets (per layer ``(W, b)`` as last programmed, ``b`` None without a bias, or None),
        info (how the memory was trained: JSON-able dict).
    """

    #: the one-layer memory is a Hopfield network: no self-connections (``W_ii`` held at the
    #: realisable value closest to 0 by training)
    zero_diagonal: ClassVar[bool] = False

    def __init__(self, sizes: Sequence[int], chip: str | ChipSpec | None = None,
                 faults: FaultMap | None = None, *, bias: bool = True, fault_seed: int = 0,
                 first_array: int = 0) -> None:
        fault_seed = check_seed(fault_seed, "fault_seed")
        bias = check_flag(bias, "bias")
        check_count(first_array, "first_array", minimum=0)
        self.chip = chip_for(chip, faults)
        self.sizes = _checked_sizes(sizes)
        self.n_neurons = self.sizes[0]
        self.hidden_sizes = self.sizes[1:-1]
        rows, cols = self.chip.array.rows, self.chip.array.cols
        shape = (f"N = {self.n_neurons}" if len(self.sizes) == 2
                 else "-".join(map(str, self.sizes)))
        check_bytes(f"a memory of {shape} neurons on {rows}x{cols} arrays",
                    network_bytes(self.n_neurons, self.hidden_sizes, rows, cols))
        per_layer = arrays_for_layers(self.chip, self.sizes, bias)
        if faults is None:
            faults = FaultMap.generate(self.chip, first_array + sum(per_layer), seed=fault_seed)
        check_type(faults, FaultMap, "faults", FAULTS_TAKEN)
        self.faults = faults
        self.layers: list[Crossbar] = []
        first = first_array
        if len(self.sizes) == 2 and not first_array and per_layer[0] > faults.n_arrays:
            _refuse_one_layer(self.chip, faults, self.n_neurons, bias)
        for (n_in, n_out), count in zip(zip(self.sizes[:-1], self.sizes[1:], strict=True),
                                         per_layer, strict=True):
            self.layers.append(Crossbar(self.chip, n_out, n_in, faults, bias=bias,
                                        first_array=first))
            first += count
        self.targets: list[tuple[torch.Tensor, torch.Tensor | None]] | None = None
        self.info: dict[str, Any] = {}

    def __repr__(self) -> str:
        """``SingleLayerMemory(N=64, chip='rram', arrays=2, bias=True, rule='adaptive',
        kind='binary')``, ``MultilayerMemory(layout='64-32-64', ...)``: widths, chip,
        placement and, once trained, how."""
        shape = (f"N={self.n_neurons}" if len(self.sizes) == 2
                 else f"layout={self.layout!r}")
        parts = [shape, f"chip={self.chip.name!r}",
                 f"arrays={sum(layer.n_arrays for layer in self.layers)}",
                 f"bias={self.has_bias}"]
        parts += [f"{key}={self.info[key]!r}" for key in ("rule", "kind") if key in self.info]
        if not self.programmed:
            parts.append("programmed=False")
        return f"{type(self).__name__}({', '.join(parts)})"

    # ------------------------------------------------------------------ hardware view
    @property
    def has_bias(self) -> bool:
        """Whether the layers have bias rows."""
        return self.layers[0].has_bias

    @property
    def architecture(self) -> str:
        """The word every ``arch=`` argument, sweep and model file takes for this memory:
        ``"single"`` (one layer) or ``"multilayer"``."""
        return "single" if len(self.layers) == 1 else "multilayer"

    @property
    def layout(self) -> str:
        """The layer widths as a label: ``"64"`` for one layer, ``"64-32-64"`` for several
        (what ``info["arch"]`` of a trained multilayer memory records)."""
        if len(self.layers) == 1:
            return str(self.n_neurons)
        return "-".join(str(s) for s in self.sizes)

    @property
    def arch(self) -> str:
        """Deprecated name of :attr:`layout` (a ``DeprecationWarning``): the widths label
        ``"64-32-64"``, where every ``arch=`` argument and model file's ``arch`` is the word
        ``"single"`` or ``"multilayer"`` (:attr:`architecture`)."""
        warnings.warn("Memory.arch is deprecated: it is the widths label (use Memory.layout), "
                      "not the architecture word 'single' / 'multilayer' that arch= takes "
                      "(Memory.architecture)",
                      DeprecationWarning, stacklevel=2)
        return self.layout

    def bounds(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer, the realisable interval ``(lo, hi)`` of every weight of its ``[W | b]``,
        each float32 ``(n_out, n_in + bias)``, weight units."""
        return [layer.bounds() for layer in self.layers]

    def noise(self) -> tuple[float, float]:
        """``(write error std, read-noise std per unit input norm)`` in weight units of the
        first layer (what training injects): ``write_noise * sqrt(2) * w_max / (g_max - g_min)``
        and :attr:`Crossbar.read_noise_scale`."""
        layer = self.layers[0]
        dev = self.chip.device
        write = dev.write_noise * math.sqrt(2.0) * layer.w_max / dev.g_range
        return write, layer.read_noise_scale

    def devices(self) -> dict[str, int]:
        """Device accounting summed over layers: weights (bias weights included), devices
        (2 per weight), arrays, array size, sensed outputs (every layer's outputs are sensed
        each synchronous step) and, with several layers, ``layers``."""
        weights = sum(layer.n_out * layer.n_rows for layer in self.layers)
        out = {"weights": weights, "devices": 2 * weights,
               "arrays": sum(layer.n_arrays for layer in self.layers),
               "array_rows": self.chip.array.rows, "array_cols": self.chip.array.cols,
               "sensed_outputs": sum(layer.n_out for layer in self.layers)}
        if len(self.layers) > 1:
            out["layers"] = len(self.layers)
        return out

    def faults_in_use(self) -> dict[str, int]:
        """Faults among the devices this memory uses (its layers' weight and bias pairs; a
        fault map covers whole arrays, of which a small memory uses part): ``devices`` (2 per
        weight), ``stuck`` (devices pinned by adaptation are not stuck, as in
        :meth:`FaultMap.summary`), ``stuck_on`` / ``stuck_off`` (stuck at or above / below the
        middle of the chip's window), and ``weights`` and ``weights_faulty`` (pairs with both
        devices stuck: the weight fault model's faulty weights, pinned at 0)."""
        mid = 0.5 * (self.chip.device.g_min + self.chip.device.g_max)
        out = dict.fromkeys(("devices", "stuck", "stuck_on", "stuck_off", "weights",
                             "weights_faulty"), 0)
        for layer in self.layers:
            pinned = layer._gather(self.faults.pinned_mask.astype(float)) == 1.0
            stuck = ~np.isnan(layer.g_stuck) & ~pinned
            on = int((layer.g_stuck[stuck] >= mid).sum())
            out["devices"] += stuck.size
            out["stuck"] += int(stuck.sum())
            out["stuck_on"] += on
            out["stuck_off"] += int(stuck.sum()) - on
            out["weights"] += stuck[0].size
            out["weights_faulty"] += int(stuck.all(axis=0).sum())
        return out

    @staticmethod
    def check_faults(faults: FaultMap) -> FaultMap:
        """``faults`` if a :class:`FaultMap`, else :class:`~xbarmem.errors.ArgumentError`
        (``rebuild`` needs the faults of the new chip; None would draw a map silently)."""
        return check_type(faults, FaultMap, "faults", "a FaultMap (the new chip's faults)")

    def rebuild(self, faults: FaultMap) -> Memory:
        """An unprogrammed memory of the same chip, sizes, bias rows and placement on
        ``faults`` (the constructors keep their own type)."""
        self.check_faults(faults)
        return Memory(self.sizes, self.chip, faults, bias=self.has_bias,
                      first_array=self.layers[0].first_array)

    # ------------------------------------------------------------------ programming
    def program(self, weights: Sequence[torch.Tensor] | torch.Tensor,
                biases: Sequence[torch.Tensor | None] | torch.Tensor | None = None, *,
                seed: int = 0) -> Memory:
        """Write every layer's target weights ``(n_out, n_in)`` and bias ``(n_out,)``.

        ``weights`` / ``biases`` list one entry per layer (a one-layer memory also takes the
        bare matrix and bias: a tensor, an array or nested lists, :func:`per_layer`);
        ``biases`` None (or a None entry) means no bias. A bias given to a memory without bias
        rows must be all zeros (:class:`ConfigError` otherwise) and is dropped. Layer ``k``'s
        write error is drawn with seed ``seed + 7919 * k``, wrapped to a 32-bit seed
        (:func:`~xbarmem.seeds.offset_seed`, as the deploy backends draw it). The targets are
        kept in :attr:`targets`; a programming variation recorded in
        ``info["variation"]`` (:func:`~xbarmem.memory.variation.reprogram`) is removed.
        Returns ``self``.
        """
        seed = check_seed(seed)
        # per layer; entries are checked and converted below (tensors, arrays, nested lists)
        weights = per_layer(weights, 2)
        biases = [None] * len(self.layers) if biases is None else per_layer(biases, 1)
        for name, given in (("weights", weights), ("biases", biases)):
            if len(given) != len(self.layers):
                raise ConfigError(f"need {name} for {counted(len(self.layers), 'layer')}, got "
                                  f"{len(given)}")
        targets = []
        for k, (layer, w, b) in enumerate(zip(self.layers, weights, biases, strict=True)):
            w = tensor_of(as_real_array(w, "weights", error=PatternError, dtype=None),
                          dtype=torch.float32)
            if b is not None and not self.has_bias:
                if np.any(as_real_array(b, "biases", error=PatternError) != 0):
                    raise ConfigError("this memory has no bias row; build it with bias=True")
                b = None
            layer.program(w, b, seed=offset_seed(seed, PROGRAM_SEED_STRIDE * k))
            targets.append((w.clone(), None if b is None else torch.as_tensor(
                as_real_array(b, "biases", error=PatternError, dtype=None),
                dtype=torch.float32).clone()))
        self.targets = targets
        self.info.pop(VARIATION_RECORD, None)  # programmed without variation now
        return self

    @property
    def programmed(self) -> bool:
        """Whether every layer has been programmed."""
        return all(layer.programmed for layer in self.layers)

    def programmed_parameters(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer ``(W, b)`` as the devices hold them (no read noise), weight units; ``b``
        is zeros without a bias row."""
        out = []
        for layer in self.layers:
            w, b = layer.effective()
            out.append((w, torch.zeros(layer.n_out, dtype=torch.float32) if b is None else b))
        return out

    # ------------------------------------------------------------------ recall
    def map(self) -> LayeredMap:
        """The programmed layers as one matrix for :func:`xbarmem.memory.recall.recall`."""
        return LayeredMap(self.layers)

    @checked_keywords
    def recall(self, cues: ArrayLike, *, mode: str = "sync", activation: str | None = None,
               max_iterations: int = 100, tol: float = DEFAULT_TOL,
               seed: int | torch.Generator | None = 0) -> RecallResult:
        """Run recall from ``cues`` ``(B, N)`` (numpy, torch on any device, or nested lists; read
        as float32 on the CPU) through the programmed layers (fresh read noise at every read);
        ``RecallResult.states`` is float32 ``(B, N)``. ``seed``: integer >= 0 or a
        ``torch.Generator`` (read noise, async order); ``mode``, ``activation``,
        ``max_iterations`` and ``tol`` as in :func:`~xbarmem.memory.recall.recall`;
        ``activation`` None: the neurons of the memory's kind (:func:`memory_kind`: ``tanh`` for
        continuous patterns, else ``sign``), as the ``recall`` command chooses them. Raises
        :class:`~xbarmem.errors.PatternError` for cues that are not a finite ``(B, N)`` matrix
        (``B >= 1``) in [-1, 1], or (``sign``) are a {0, 1} matrix,
        :class:`~xbarmem.errors.ConfigError` for a bad mode, activation, cap or seed or an
        unprogrammed memory,
        :class:`~xbarmem.errors.ArgumentError` for an unknown keyword. A synchronous step is one
        product per layer; an asynchronous step reads every hidden layer in full, then one
        output column. ``RecallResult.reads`` counts output-layer reads. See
        :func:`xbarmem.memory.recall.recall`. Cues whose recall would need more memory than the
        limit (:func:`xbarmem.sizes.recall_bytes`, hidden layers included) raise
        :class:`~xbarmem.limits.TooLargeError` before any is read."""
        shape = getattr(cues, "shape", None)
        count = int(shape[0]) if shape else len(cues) if isinstance(cues, list | tuple) else 0
        layers = "-".join(map(str, self.sizes))
        check_bytes(f"recalling {counted(count, 'cue')} through a memory of {layers} neurons",
                    recall_bytes(count, self.n_neurons, self.hidden_sizes))
        if activation is None:
            activation = "tanh" if memory_kind(self) == "continuous" else "sign"
        return recall(self.map(), cues, mode=mode, activation=activation,
                      max_iterations=max_iterations, tol=tol, seed=seed)


# ---------------------------------------------------------------------- the patterns' kind
def memory_kind(memory: Any) -> str | None:
    """The kind of patterns ``memory`` was trained for: its ``info["kind"]`` (``binary`` or
    ``continuous``; a loaded model file without it has its saved patterns' kind, see
    :func:`xbarmem.memory.model_meta.ModelMeta.kind`), or None when the memory does not say
    (one built and programmed by hand)."""
    kind = (getattr(memory, "info", None) or {}).get("kind")
    return kind if is_choice(kind, KINDS) else None


def memory_patterns(memory: Any, patterns: Any, what: str = "patterns") -> PatternSet:
    """``patterns`` (a :class:`~xbarmem.data.patterns.PatternSet` or a ``(P, N)`` matrix,
    read as the memory's kind) as a set ``memory`` stores, the one check of every entry point
    that takes patterns with a memory (evaluate, export, save, adapt):
    :class:`~xbarmem.errors.PatternError` for a set of another kind than
    :func:`memory_kind` or another ``N``, or one no memory stores
    (:func:`~xbarmem.data.patterns.as_pattern_set`)."""
    kind = memory_kind(memory)
    if isinstance(patterns, PatternSet) and kind is not None and patterns.kind != kind:
        raise PatternError(f"{what} are a {patterns.kind} set, but the memory was trained for "
                           f"{kind} patterns (memory.info['kind']): give the patterns it stores")
    return as_pattern_set(patterns, kind, n_neurons=memory.n_neurons)
