"""Memory estimates of a request, computed from its options before anything is allocated.

No imports beyond the standard library, so the command line estimates before it loads torch.
Each function returns an estimated peak in bytes (an upper-side guess, not a measurement):
float64 values, a few working copies of every weight, device and recall state. Callers pass the
estimate to :func:`xbarmem.limits.check_bytes`, which refuses requests above the limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

#: working copies of each weight while training (weights, gradients, optimiser moments,
#: bounds, noise draws, targets)
WEIGHT_COPIES = 12
#: copies of each device conductance (fault map, targets, programmed and read values)
DEVICE_COPIES = 4
#: float64 copies of each weight of a model loaded from its file, beside its devices
#: (programmed and target weights; measured: 2.4 for N = 1024 and 2048 one-layer models)
LOADED_WEIGHT_COPIES = 3
#: float64 copies of each recall state of N values: cue, target, state, previous states,
#: pre-activations, read noise, metrics (measured: 4-5 in a recall, 7.5-8 with its cues drawn
#: and scored)
STATE_COPIES = 8
#: float64 copies of each hidden layer's state per cue while a multilayer memory recalls
#: (measured: 1.4-1.5)
HIDDEN_COPIES = 1.5
#: bytes of each array tile's bookkeeping (the Python tuple, slices and index that place it):
#: small next to 64x64 tiles, but a 1x1 tile holds two devices and has the same bookkeeping
#: (measured: about 220-320 bytes per tile of N = 300-600 memories on 1x1 arrays)
ARRAY_BYTES = 384
#: bytes of one resolved sweep trial kept in memory (configuration dict, key, chip description)
TRIAL_BYTES = 16 * 1024
_FLOAT = 8


#: the most patterns per neuron a run over sizes stores (``energy --sizes --load``; a one-layer
#: memory holds at most about N patterns)
MAX_LOAD = 2.0


def patterns_at_load(load: float, n: int) -> int:
    """How many patterns a run over sizes stores at N = ``n`` for ``load`` patterns per neuron
    (``energy --sizes``): ``max(2, round(load * n))``, two at least (one pattern has no
    neighbour to be confused with)."""
    return max(2, round(load * n))


def layer_sizes(n: int, hidden: Sequence[int] | None = None) -> list[int]:
    """Neurons per layer: ``[N, N]`` (single layer) or ``[N, *hidden, N]``."""
    return [n, *(hidden or []), n]


def weight_count(sizes: Sequence[int]) -> int:
    """Weights of a memory of layer widths ``sizes`` (``[N, H..., N]``), bias rows included."""
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:],
                                                                  strict=True))


def network_bytes(n: int, hidden: Sequence[int] | None = None, rows: int = 64,
                  cols: int = 64, weight_copies: int = WEIGHT_COPIES) -> int:
    """One memory of ``n`` neurons (``hidden`` widths: multilayer) on ``rows x cols`` tiles:
    its weights with bias rows while training (``weight_copies`` of each; a model loaded
    to recall: :data:`LOADED_WEIGHT_COPIES`), its arrays' devices (2 per weight) and each
    array's bookkeeping (:data:`ARRAY_BYTES`)."""
    sizes = layer_sizes(n, hidden)
    weights, devices, arrays = weight_count(sizes), 0, 0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        layer_arrays = math.ceil((fan_in + 1) / rows) * math.ceil(fan_out / cols)
        devices += 2 * rows * cols * layer_arrays
        arrays += layer_arrays
    return _FLOAT * (weight_copies * weights + DEVICE_COPIES * devices) + ARRAY_BYTES * arrays


def recall_bytes(cues: int, n: int, hidden: Sequence[int] | None = None) -> int:
    """Recalling ``cues`` corrupted cues at once through a memory of ``n`` neurons (with
    ``hidden`` layers of these widths)."""
    return int(_FLOAT * cues * (STATE_COPIES * n + HIDDEN_COPIES * sum(hidden or [])))


def request_bytes(n: int, *, networks: int = 1, cues: int = 0,
                  hidden: Sequence[int] | None = None, rows: int = 64, cols: int = 64,
                  patterns: int = 0, loaded: int = 0) -> int:
    """``networks`` memories trained together, then ``cues`` cues recalled, while a pool of
    ``patterns`` validated patterns of ``n`` neurons (float32) and ``loaded`` models read
    from their files are held."""
    return (networks * network_bytes(n, hidden, rows, cols) + recall_bytes(cues, n, hidden)
            + 4 * patterns * n
            + loaded * network_bytes(n, hidden, rows, cols, LOADED_WEIGHT_COPIES))


#: float32 values held per cue value (a sampled cue row times the width of each layer, input and
#: output included) for each update the hardware-adaptive rule unrolls from its corrupted cues,
#: and once more beside them: states, field slopes, errors and their gradients (measured: 2-2.5
#: per unrolled update and 2.5 beside, one-layer memories of N = 256-512)
CUE_VALUE_COPIES = 3


#: bytes of float64 temporaries one slice of rows of the closed-form warm start may hold (it
#: builds and solves its rows' Gram matrices a slice at a time:
#: :func:`xbarmem.learning.single_fit.row_grams`, :func:`~xbarmem.learning.single_fit.row_solve`)
WARM_START_SLICE_BYTES = 64 * 2 ** 20


def warm_start_bytes(networks: int, patterns: int, n_neurons: int) -> int:
    """The closed-form warm start of ``networks`` one-layer memories of ``n_neurons`` neurons
    on ``patterns`` patterns each (``warm_start``, the fast recipe): every row's
    ``patterns x patterns`` Gram matrix in float64, ``N x P^2`` values per network, beside
    the temporaries of the slices of rows built and solved at a time
    (:data:`WARM_START_SLICE_BYTES` each at most)."""
    t, p, n = int(networks), int(patterns), int(n_neurons)
    grams = _FLOAT * t * n * p * p
    return grams + min(2 * WARM_START_SLICE_BYTES, grams + _FLOAT * t * p * n * (n + 1))


def cue_bytes(networks: int, patterns: int, sizes: Sequence[int], cue_copies: int,
              unroll: int) -> int:
    """The ``cue_copies`` sampled cues per pattern of ``networks`` memories of layer widths
    ``sizes`` trained on ``patterns`` patterns each, followed through ``unroll`` unrolled
    updates (:data:`CUE_VALUE_COPIES`; see :func:`cue_load`)."""
    cue_values = int(networks) * int(patterns) * int(cue_copies) * sum(sizes)
    return 4 * CUE_VALUE_COPIES * (int(unroll) + 1) * cue_values


def fit_bytes(networks: int, patterns: int, sizes: Sequence[int], options: Mapping[str, Any],
              kind: str) -> int:
    """``networks`` memories of layer widths ``sizes`` (``[N, H..., N]``) trained together by
    the hardware-adaptive rule with the resolved ``options`` (a mapping, as :func:`cue_load`
    reads it) on ``patterns`` patterns of ``kind`` each: their weights (:data:`WEIGHT_COPIES`
    of each) and :func:`fit_cue_bytes`. The one estimate the trainer refuses by before its
    first step and every check before a run sizes its training with."""
    return (_FLOAT * WEIGHT_COPIES * int(networks) * weight_count(sizes)
            + fit_cue_bytes(networks, patterns, sizes, options, kind))


def fit_words(networks: int, patterns: int | str, sizes: Sequence[int],
              options: Mapping[str, Any], kind: str) -> str:
    """The training :func:`fit_bytes` sizes, in words, as a refusal names it: ``networks``
    networks of layer widths ``sizes`` on ``patterns`` patterns (a count, or words such as
    ``"up to 256 patterns"``), the cues of each and the unrolled updates of the resolved
    ``options`` for ``kind`` patterns (:func:`cue_load`), and a one-layer warm start."""
    copies, depth = cue_load(options, kind)
    shown = _counted(patterns, "pattern") if isinstance(patterns, int) else patterns
    warm = bool(options.get("warm_start")) and len(sizes) == 2
    return (f"training {_counted(networks, 'network')} of layer widths "
            f"{'-'.join(map(str, sizes))} on {shown}, {_counted(copies, 'cue')} of each "
            f"(cue_copies) through {_counted(depth, 'unrolled update')}"
            + (" from a closed-form warm start" if warm else ""))


def _counted(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural unless one (:func:`xbarmem.checks.counted`, which this
    layer cannot import)."""
    return f"{count} {noun}{'s' * (count != 1)}"


def fit_cue_bytes(networks: int, patterns: int, sizes: Sequence[int],
                  options: Mapping[str, Any], kind: str) -> int:
    """What training ``networks`` memories of layer widths ``sizes`` on ``patterns`` patterns of
    ``kind`` each by the hardware-adaptive rule with the resolved ``options`` holds beside
    their weights: the sampled cues (:func:`cue_bytes` of :func:`cue_load`) and a one-layer
    ``warm_start``'s Gram matrices (:func:`warm_start_bytes`)."""
    copies, depth = cue_load(options, kind)
    warm = bool(options.get("warm_start")) and len(sizes) == 2
    return cue_bytes(networks, patterns, sizes, copies, depth) + (
        warm_start_bytes(networks, patterns, sizes[0]) if warm else 0)


def cue_load(options: Mapping[str, Any], kind: str) -> tuple[int, int]:
    """``(cue copies per pattern, unrolled updates)`` of the hardware-adaptive rule with the
    resolved ``options`` (a mapping, e.g. ``AdaptiveTrainer.resolved().to_dict()`` or a sweep
    trial's ``rule_options``) on patterns of ``kind``: ``cue_copies`` and the deeper of
    ``unroll`` and, where binary patterns are fine-tuned (``finetune_steps``),
    ``finetune_unroll``; ``(0, 0)`` for the fixed-point objective, which draws no cues."""
    if options.get("objective", "basin") != "basin":
        return 0, 0
    fine = int(options.get("finetune_unroll") or 0) if (
        kind == "binary" and options.get("finetune_steps")) else 0
    return int(options.get("cue_copies") or 0), max(int(options.get("unroll") or 0), fine)


#: bytes per device while a fault map is drawn, read, or built from an array of codes or
#: conductances, then checked, summarised and saved: the map (float64), the draws or converted
#: values (float64), boolean masks, and with every device stuck the stuck values and the saved
#: file's buffers (measured: 21 bytes per device at the chips' rates, 34 with all stuck)
FAULT_MAP_BYTES_PER_DEVICE = 36


def fault_map_bytes(arrays: int, rows: int, cols: int,
                    per_device: int = FAULT_MAP_BYTES_PER_DEVICE) -> int:
    """A fault map of ``arrays`` tiles of ``rows x cols`` cells (two devices each) while it is
    drawn or read (``per_device`` bytes per device)."""
    return 2 * int(arrays) * int(rows) * int(cols) * int(per_device)


#: bytes per pattern value while a pattern matrix is validated or converted: the float32 copy,
#: its finite / {-1, 0, +1} masks and a {0, 1} matrix's mapped copy; 8-bit images: the float32
#: images, their resized copy and the binarised patterns (measured: 6-20 bytes per value)
PATTERN_BYTES_PER_VALUE = 24


def pattern_bytes(values: int, held: int = 0) -> int:
    """Validating (or converting) a pattern matrix of ``values`` numbers while ``held`` bytes
    (a file's raw bytes and its loaded array) are kept."""
    return int(held) + PATTERN_BYTES_PER_VALUE * int(values)


def sweep_bytes(trials: int) -> int:
    """The resolved trials of a sweep expansion."""
    return TRIAL_BYTES * trials
