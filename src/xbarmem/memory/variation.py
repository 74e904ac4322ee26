"""Programming variation: a memory's trained targets written again with seeded weight noise.

He et al.'s evaluation protocol: after training, Gaussian noise of std ``v * max|W|`` is added to
every programmed weight of each layer before it is written into the devices. Sweeps
(``variation``), ``xbarmem evaluate --variation`` and :func:`reprogram` all program it here.

Importable without torch (torch and the memory classes are imported when :func:`reprogram`
runs): the command line and sweep files check a variation by :data:`VARIATION` before any work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xbarmem.checks import check_seed, check_type, checked_keywords
from xbarmem.errors import ConfigError
from xbarmem.spec import Number

if TYPE_CHECKING:
    import torch

    from xbarmem.memory.base import Memory

__all__ = ["programmed_targets", "replayed", "reprogram"]

#: the rule of a programming variation ``v`` wherever one is given (API, sweep option, CLI
#: option): a finite number in [0, 1], stored as a float
VARIATION = Number(ge=0.0, le=1.0, as_float=True)

#: the key of ``memory.info`` where :func:`reprogram` records its variation and seed
RECORD = "variation"

#: salt of the variation draw: ``derived_seed(seed, VARIATION_SALT)`` seeds its generator
VARIATION_SALT = 0x7A71


@checked_keywords
def reprogram(memory: Memory, variation: float = 0.0, *, seed: int = 0) -> Memory:
    """Write ``memory``'s trained targets into its devices again, with programming variation.

    Every layer ``k``'s target weights ``W`` (``(n_out, n_in)``, weight units) get Gaussian
    noise of std ``variation * max|W_k|``, where ``max|W_k|`` is the largest ``|W|`` of layer
    ``k`` as :meth:`Memory.program` writes the noise-free targets with this ``seed`` (stuck
    devices and write error included, the bias excluded); biases are programmed as trained;
    a memory without self-connections (``zero_diagonal``, the one-layer memory) gets no noise
    on the diagonal. The perturbed weights are then programmed with :meth:`Memory.program`
    ``(seed=seed)`` (write error, stuck devices, the realisable intervals and, on a chip with
    ``levels``, the rounding onto the levels, which takes away the noise of a weight that
    stays within half a level step of its level, as always);
    ``memory.targets`` keeps the noise-free targets, so calls do not accumulate noise.
    ``memory.info["variation"]`` records ``{"variation": v, "seed": seed}`` (until the memory
    is programmed or trained again): model files and exports keep it, and loading replays this
    call to check the saved ``w_max`` and conductances (:func:`replayed`).

    Args:
        memory: a :class:`Memory` with trained targets (``memory.targets``: trained, loaded
            from a model file or programmed).
        variation: ``v``, dimensionless, in [0, 1]; 0 programs the targets without noise.
        seed: integer >= 0: the write error (as ``Memory.program(seed=...)``) and the noise
            draw (a generator seeded ``derived_seed(seed, 0x7A71)``, layers in order). One
            draw per seed, scaled by ``v``: the same seed at two variations gives the same
            noise pattern, scaled (common random numbers).

    Returns ``memory``, programmed. Raises :class:`~xbarmem.errors.ArgumentError` for a
    ``memory`` that is not a :class:`Memory`, :class:`~xbarmem.errors.ConfigError` for a
    variation that is not a finite number in [0, 1], a bad seed, or a memory without trained
    targets, all before anything is programmed.
    """
    from xbarmem.memory.base import Memory

    check_type(memory, Memory, "memory", "a Memory (SingleLayerMemory, MultilayerMemory)")
    variation = VARIATION(variation, "variation")
    seed = check_seed(seed)
    targets = memory.targets
    if targets is None:
        raise ConfigError("memory has no trained targets (memory.targets is None): train it "
                          "(xbarmem.train) or program it first")
    try:
        weights = _perturbed(memory, variation, seed)
        memory.program(weights, [b for _, b in targets], seed=seed)  # (drops a record)
        memory.info[RECORD] = {"variation": variation, "seed": seed}
    finally:
        memory.targets = targets  # the noise-free targets, not the perturbed ones
    return memory


def _perturbed(memory: Memory, variation: float, seed: int) -> list[torch.Tensor]:
    """The weights :func:`reprogram` programs: every layer's target ``W`` plus its noise (the
    targets themselves at ``variation`` 0); may program ``memory`` (:func:`_peaks`)."""
    import torch

    from xbarmem.seeds import derived_seed

    targets = memory.targets or []
    weights = [w for w, _ in targets]
    if variation == 0:
        return weights
    gen = torch.Generator().manual_seed(derived_seed(seed, VARIATION_SALT))
    noisy = []
    peaks = _peaks(memory, weights, [b for _, b in targets], seed)
    for w, peak in zip(weights, peaks, strict=True):
        dw = variation * peak * torch.randn(w.shape, generator=gen, dtype=torch.float32)
        if memory.zero_diagonal:
            dw.fill_diagonal_(0.0)
        noisy.append(w + dw)
    return noisy  # biases as trained (the paper's protocol perturbs W)


def replayed(memory: Memory) -> Memory | None:
    """What ``memory.info["variation"]`` says ``memory`` is: a fresh memory of its sizes, chip,
    fault map and placement as a model file of it loads (``memory_from_sizes``), with its
    targets, :func:`reprogram`-med with the recorded
    variation and seed (deterministic: the same conductances and ``w_max`` to the bit).
    None when ``memory.info`` records no variation. Raises
    :class:`~xbarmem.errors.ConfigError` for a malformed record (``info.variation...``,
    :class:`~xbarmem.memory.model_meta.VariationRecord`) or a record without target weights."""
    twin, record = _twin(memory)
    if twin is None:
        return None
    return reprogram(twin, record.variation, seed=record.seed)


def programmed_targets(memory: Memory) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """Per layer the ``(W, b)`` ``memory``'s programming aimed at (before write error):
    ``memory.targets``, with the noise of the programming variation ``info["variation"]``
    records added to ``W`` (:func:`reprogram`); errors as :func:`replayed`."""
    twin, record = _twin(memory)
    if twin is None:
        return list(memory.targets or [])
    weights = _perturbed(twin, record.variation, record.seed)
    return [(w, b) for w, (_, b) in zip(weights, memory.targets or [], strict=True)]


def _twin(memory: Memory) -> tuple[Any, Any]:
    """``(a fresh memory as memory, unprogrammed, with its targets; the checked record)``,
    or ``(None, None)`` without a record."""
    from xbarmem.memory.model_meta import VariationRecord

    data = (memory.info or {}).get(RECORD)
    if data is None:
        return None, None
    record = VariationRecord.from_dict(data)
    if memory.targets is None:
        raise ConfigError("info.variation records a reprogramming of target weights the "
                          "memory does not hold (memory.targets is None)")
    from xbarmem.memory.build import memory_from_sizes

    # the memory a model file or export of it loads as (a SingleLayerMemory for [N, N]: no
    # variation on the diagonal), so that what saves is what loads
    twin = memory_from_sizes(list(memory.sizes), memory.chip, memory.faults,
                             bias=memory.has_bias, first_array=memory.layers[0].first_array)
    twin.targets = memory.targets
    return twin, record


def _peaks(memory: Memory, weights: list[torch.Tensor], biases: list[Any],
           seed: int) -> list[float]:
    """``max|W|`` of every layer as programmed without variation with ``seed``, kept on the
    memory per seed for as long as its targets are the same list (a memory programmed with
    new targets computes them again)."""
    cached = memory.__dict__.get("_variation_peaks")
    if cached is None or cached[0] is not memory.targets:
        cached = (memory.targets, {})
        memory.__dict__["_variation_peaks"] = cached
    peaks: dict[int, list[float]] = cached[1]
    if seed not in peaks:
        memory.program(weights, biases, seed=seed)
        peaks[seed] = [float(w.abs().max()) for w, _ in memory.programmed_parameters()]
    return peaks[seed]
