"""Chip-in-the-loop adaptation: program, read back, pin what missed, re-train the rest.

Write-verify is never exact. :func:`adapt` closes the loop between a trained model (the digital
twin: chip spec, known fault map, placement) and a chip behind a
:class:`~xbarmem.deploy.backend.ChipBackend`:

* **round 0 (open loop)** -- program the model's targets into every device the model believes
  free, read every device back;
* after every read-back, a free device whose read conductance misses its current target by more
  than ``tolerance`` siemens -- a write error too large, or a stuck device the model did not
  know -- is **fixed at its read value**: it joins the fault map (NaN = free), marked
  :attr:`~xbarmem.hardware.faults.FaultMap.pinned` (held like a stuck device, not known to be
  broken); a fixed device (known stuck or pinned) that reads further than ``tolerance`` from
  the value the map holds it at is held at its reading instead (``fixed_moved``): re-training
  compensates for the device the chip has, not the one the map recorded;
* **rounds 1..K** -- re-train the hardware-adaptive rule against that fault map (pinned devices
  enter the trainer as realisable intervals via :meth:`Crossbar.bounds`), compute new targets
  and re-program only free devices whose read value is more than ``tolerance`` from their new
  target; fixed devices are never re-written (counted);
* after each round recall is scored through the backend (mean cosine, exact-recall rate) and the
  loop stops early once the mean cosine reaches ``target``;
* the adapted model is the round of the best mean cosine (``kept_round``; a re-trained round
  can recall less than an earlier one: its re-written devices carry new write error), round 0
  included -- the backends hold what the last round wrote.

Every round is a dict (see :class:`AdaptResult`), so callers log it as JSON lines.

:func:`adapt_read_back` runs one round of the same steps for a chip programmed outside
xbarmem: it starts from the read-back (compare with the model's targets, pin), re-trains and
ends with the re-programming (what to write, NaN = leave), scoring recall before and after.
The ``weight`` fault model has no per-device conductances to pin and is refused.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import torch

from xbarmem.checks import (
    as_written,
    check_callback,
    check_type,
    checked_keywords,
    is_bool,
    result_repr,
    shown,
    tensor_of,
    value_equality,
)
from xbarmem.data.patterns import PatternSet
from xbarmem.deploy.backend import (
    BackendMemory,
    ChipBackend,
    conductance_targets,
    target_parameters,
)
from xbarmem.errors import (
    ConfigError,
    FileFormatError,
    XbarmemError,
    caller_stacklevel,
    warn,
)
from xbarmem.evaluation.capped import warns_capped
from xbarmem.evaluation.evaluate import Protocol, as_protocol, evaluate_memory
from xbarmem.hardware.crossbar import Crossbar
from xbarmem.hardware.faults import PLANES, FaultMap
from xbarmem.learning.adaptive import AdaptiveTrainer
from xbarmem.learning.base import Problem, check_fit_result, check_rule, checked_options
from xbarmem.learning.classic import rule_from_options
from xbarmem.learning.fit import levels_info
from xbarmem.memory.base import Memory, memory_kind, memory_patterns
from xbarmem.memory.variation import RECORD as VARIATION_RECORD
from xbarmem.memory.variation import programmed_targets
from xbarmem.spec import Number

__all__ = ["AdaptResult", "ReadBackResult", "adapt", "adapt_read_back", "default_trainer"]


@value_equality
@dataclass
class AdaptResult:
    """Outcome of :func:`adapt`.

    Attributes:
        rounds: one dict per round: ``round``, ``written`` (devices re-programmed),
            ``kept`` (free devices already within tolerance of their new target, not
            re-written), ``skipped_fixed`` (fixed devices not re-written: known stuck + pinned),
            ``newly_fixed`` (pinned after this round's read-back), ``newly_fixed_at_rail`` (of
            those, reading within tolerance of g_min or g_max: what a stuck device looks like,
            and also a large write error clipped by the window), ``fixed`` (pinned
            so far), ``known_stuck``, ``free``, ``fixed_moved`` (fixed devices, known stuck or
            pinned, read further than tolerance from the value they were held at: held at
            that reading from then on), ``write_error_rms_uS`` (read - target over the
            devices written), ``cosine``, ``exact``, ``train_seconds``.
        memory: the adapted model of the kept round (``kept_round``): its fault map (the
            pinned devices as of its read-back), trained target weights and conductances as
            read back in that round. The backends hold what the last round wrote: program the
            model's targets (e.g. :func:`~xbarmem.deploy.export.export_memory`) to put the
            kept round's on a chip.
        faults: that fault map (known stuck devices plus pinned ones at their read values).
        reached_target: the mean cosine reached ``target``.
        settings: what the loop ran with: ``rounds``, ``target``, ``tolerance_uS``
            (microsiemens), ``protocol`` (a dict), the re-training ``rule``'s name and its
            options (``trainer``).
        kept_round: the round whose model :attr:`memory` is: the highest mean cosine, then
            exact-recall rate, of the rounds (a tie: the later one); None: the last round.
    """

    rounds: list[dict[str, Any]]
    memory: Any
    faults: FaultMap
    reached_target: bool
    settings: dict[str, Any] = field(default_factory=dict)
    kept_round: int | None = None

    @property
    def kept(self) -> dict[str, Any]:
        """The round's dict of :attr:`kept_round` (the last round's when None)."""
        return self.rounds[-1 if self.kept_round is None else self.kept_round]

    def __repr__(self) -> str:
        """How many rounds ran (round 0, the open loop, included: ``len(rounds)``), the first
        and last round's cosine, whether the target was reached, the round kept, the adapted
        memory and its fault map (:meth:`as_dict` holds every round)."""
        return result_repr("AdaptResult", {
            "rounds": len(self.rounds), "open_loop_cosine": self.rounds[0]["cosine"],
            "final_cosine": self.rounds[-1]["cosine"], "reached_target": self.reached_target,
            "kept_round": self.kept["round"], "memory": self.memory, "faults": self.faults})

    def as_dict(self) -> dict[str, Any]:
        """Every round and setting as a JSON-able dict: ``rounds``, ``open_loop_cosine``,
        ``final_cosine`` (the last round's), ``gain`` (final - open loop), ``open_loop_exact``,
        ``final_exact``, ``kept_round`` (the round whose model :attr:`memory` is: the best
        mean cosine), ``kept_cosine``, ``kept_exact``, ``reached_target``, ``settings``
        (rounds, target, tolerance, protocol, the re-training ``rule``'s name and its options,
        ``trainer``), and the adapted model: ``memory`` (its
        ``layer_sizes``, ``chip`` name, ``bias``; on a chip with levels ``levels`` and
        ``through_levels``) and ``faults`` (its fault map's summary: stuck ON /
        OFF, ``pinned``). The model itself is :attr:`memory` (saved by
        :func:`~xbarmem.memory.io.save_memory`)."""
        first, last, kept = self.rounds[0], self.rounds[-1], self.kept
        return {"rounds": self.rounds, "open_loop_cosine": first["cosine"],
                "final_cosine": last["cosine"], "gain": last["cosine"] - first["cosine"],
                "open_loop_exact": first["exact"], "final_exact": last["exact"],
                "kept_round": kept["round"], "kept_cosine": kept["cosine"],
                "kept_exact": kept["exact"], "reached_target": self.reached_target,
                "settings": self.settings,
                **_model_entries(self.memory, self.faults)}

    def summary(self) -> dict[str, Any]:
        """The same dict as :meth:`as_dict` (its name in earlier versions)."""
        return self.as_dict()


def _model_entries(memory: Any, faults: FaultMap) -> dict[str, Any]:
    """What an adaptation result's ``as_dict`` says of the adapted model: ``memory`` (its
    ``layer_sizes``, the widths ``[N, H..., N]`` as every output names them, ``chip`` name,
    ``bias`` rows; on a chip with conductance levels also ``levels`` and ``through_levels``,
    as its ``info`` holds them:
    :func:`~xbarmem.learning.fit.levels_info`) and ``faults``, its fault map's
    :meth:`~xbarmem.hardware.faults.FaultMap.summary` with the chip's device (stuck devices
    ON / OFF, and the devices ``pinned`` at their read value)."""
    info = memory.info or {}
    levels = {key: info[key] for key in ("levels", "through_levels") if key in info}
    return {"memory": {"layer_sizes": [int(n) for n in memory.sizes], "chip": memory.chip.name,
                       "bias": memory.has_bias, **levels},
            "faults": faults.summary(memory.chip.device)}


def default_trainer(memory: Memory, **overrides: Any) -> AdaptiveTrainer:
    """The trainer to re-train ``memory`` with: its own hardware-adaptive options when it was
    trained by the adaptive rule, defaults otherwise (bias as the memory's), with
    ``overrides`` in place of its own before the trainer is built (so an option this machine
    refuses, e.g. ``products="bf16"`` without bfloat16 support, can be replaced). Raises
    :class:`ConfigError` for an unknown or refused option of ``overrides``, or one that does
    not apply to the memory (``refuse_inapplicable``: e.g. ``init="linear"`` on one layer),
    :class:`~xbarmem.errors.FileFormatError` ``info.rule_options of the memory: ...`` when the
    memory's own options (as read from its file) are what is refused."""
    info = memory.info or {}
    own = dict(info.get("rule_options", {})) if info.get("rule") == "adaptive" else {}
    own["bias"] = memory.has_bias
    try:
        trainer = rule_from_options("adaptive", {**own, **overrides})
    except ConfigError as exc:
        try:  # the options given, on the defaults: refused, they are what is wrong
            rule_from_options("adaptive", {"bias": memory.has_bias, **overrides})
        except ConfigError:
            raise exc from None
        raise FileFormatError(f"info.rule_options of the memory: {exc}") from None
    trainer.refuse_inapplicable(len(memory.layers), memory_kind(memory), list(memory.sizes))
    return trainer


def retrained(trainer: Any, options: dict[str, Any]) -> dict[str, Any]:
    """What an adapted model's ``info["adapt"]`` says of the rule that re-trained it:
    ``rule`` (its name) and ``rule_options``. Its ``info["rule"]`` and ``info["rule_options"]``
    stay those of the training it started from (a model trained by ``pinv`` or a rule of the
    user's is re-trained by the hardware-adaptive rule unless another trainer is given)."""
    return {"rule": str(trainer.name), "rule_options": options}


def _retrain(rule, twin: Memory, x: torch.Tensor, kind: str
             ) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """Train ``rule`` against the twin's realisable intervals; ``[(W, b)]`` per layer. Marks
    the twin's ``info`` with whether the rule trained through the chip's levels
    (:func:`~xbarmem.learning.fit.levels_info`), for the adapted model to record."""
    problem = Problem.for_memories(x, [twin], kind=kind)
    result = check_fit_result(rule.fit(problem), problem, rule.name)
    twin.info = levels_info(twin, result.through_levels)
    biases = result.biases if result.biases is not None and twin.has_bias else None
    return [(w[0], None if biases is None else biases[k][0])
            for k, w in enumerate(result.weights)]


class _Loop:
    """The state of the loop: devices pinned by read-back and the last read of every layer."""

    def __init__(self, memory: Memory, view: BackendMemory, tolerance: float) -> None:
        self.memory, self.view, self.tolerance = memory, view, tolerance
        self.known = memory.faults.g_stuck
        self.pinned = np.full_like(self.known, np.nan)  # devices fixed by read-back, siemens
        #: fixed devices (known stuck or pinned) read further than the tolerance from the value
        #: they were held at: held at that reading from then on (NaN = as held), siemens
        self.moved = np.full_like(self.known, np.nan)
        self.reads: list[np.ndarray | None] = [None] * len(memory.layers)
        self.goals: list[np.ndarray] = []  # conductance goals of the last targets, per layer
        self.sent: list[np.ndarray] = []  # what was last programmed (NaN = left), per layer
        #: fixed devices read again with no write in between: how many of them moved by more
        #: than the tolerance since their last reading, and how many were read again
        self.reread = np.zeros(2, dtype=np.int64)

    def faults(self) -> FaultMap:
        """Known stuck devices plus the pinned ones (:attr:`FaultMap.pinned`: those pinned
        now and by an earlier adaptation). Its ``meta``: ``source`` adapt, the tolerance,
        the chip the model's map records, and that map's own ``meta`` under
        ``known_faults`` (the seed or the import's file and thresholds: the stuck devices'
        provenance)."""
        known = self.memory.faults
        pinned = known.pinned_mask | (np.isnan(self.known) & ~np.isnan(self.pinned))
        meta: dict[str, Any] = {"source": "adapt", "adapt_tolerance_S": self.tolerance}
        if "chip" in known.meta:
            meta["chip"] = known.meta["chip"]
        meta["known_faults"] = known.meta
        held = np.where(np.isnan(self.known), self.pinned, self.known)
        return FaultMap(np.where(np.isnan(self.moved), held, self.moved), meta, pinned)

    def expect(self, twin: Memory, params) -> list[np.ndarray]:
        """The conductance goals of ``params`` (per layer ``(W, b)``) on ``twin``; they become
        what the next read-back is compared with, every free device as written (as after the
        open-loop round, or a chip programmed outside xbarmem). Returns the goals."""
        self.goals = []
        for k, (layer, tw, (w, b)) in enumerate(zip(self.memory.layers, twin.layers, params,
                                                    strict=True)):
            goal, w_max = conductance_targets(tw, w, b)
            if not np.isclose(w_max, layer.w_max):
                raise ConfigError(f"layer {k}: targets map to w_max {w_max}, the chip uses "
                                  f"{layer.w_max}")
            self.goals.append(goal)
        self.sent = [np.where(tw.stuck, np.nan, g) for tw, g in zip(twin.layers, self.goals,
                                                                      strict=True)]
        return self.goals

    def program(self, twin: Memory, params) -> dict[str, int]:
        """Program ``params`` through the backends where needed: every free device before the
        first read-back, afterwards only free devices read further than ``tolerance`` from
        their goal (NaN = leave). Keeps what was sent (:attr:`sent`); returns the counts
        ``written``, ``kept``, ``skipped_fixed``."""
        stats = dict.fromkeys(("written", "kept", "skipped_fixed"), 0)
        for k, (tw, be, goal) in enumerate(zip(twin.layers, self.view.checked,
                                               self.expect(twin, params), strict=True)):
            free = ~tw.stuck
            write = free if self.reads[k] is None else free & (
                np.abs(goal - self.reads[k]) > self.tolerance)
            self.sent[k] = np.where(write, goal, np.nan)
            be.program(self.sent[k])
            for key, count in (("written", write), ("kept", free & ~write),
                               ("skipped_fixed", ~free)):
                stats[key] += int(count.sum())
        return stats

    def read(self, twin: Memory) -> dict[str, Any]:
        """Read every backend back, pin the free devices that missed their goal and hold the
        fixed ones that read off their held value at their reading; returns the counts
        ``newly_fixed``, ``newly_fixed_at_rail``, ``free``, ``fixed_moved`` and
        ``write_error_rms_uS`` (read - goal over the devices last sent)."""
        stats: dict[str, Any] = dict.fromkeys(("newly_fixed", "newly_fixed_at_rail", "free",
                                               "fixed_moved"), 0)
        sq_err, sent = 0.0, 0
        for k, (layer, tw, be, goal) in enumerate(zip(
                self.memory.layers, twin.layers, self.view.checked, self.goals, strict=True)):
            read = be.read_back()
            free, written = ~tw.stuck, ~np.isnan(self.sent[k])
            if self.reads[k] is not None:  # fixed devices are never written: read twice
                again = np.abs(read - cast(np.ndarray, self.reads[k]))[~free]
                self.reread += np.array([int((again > self.tolerance).sum()), again.size])
            self.reads[k] = read
            miss, moved = self._pin(layer, free, read, goal)
            for key, count in (("newly_fixed", miss), ("newly_fixed_at_rail",
                                                       miss & self._at_rail(read)),
                               ("free", free & ~miss), ("fixed_moved", moved)):
                stats[key] += int(count.sum())
            sq_err += float(((read - goal)[written] ** 2).sum())
            sent += int(written.sum())
        stats["write_error_rms_uS"] = 1e6 * math.sqrt(sq_err / max(sent, 1))
        return stats

    def _pin(self, layer: Crossbar, free, read, goal) -> tuple[np.ndarray, np.ndarray]:
        """Pin the free devices of ``layer`` whose read value misses the goal, and hold the
        fixed ones (known stuck, pinned) that read further than the tolerance from the value
        they are held at (their goal) at that reading: the device the chip really has, not the
        one its fault map recorded (a stuck device of a map drawn for another chip, one stuck
        at another value, a drifting one), so that re-training compensates for what the chip
        holds. Returns both masks (logical, as ``read``)."""
        off = np.abs(read - goal) > self.tolerance
        miss, moved = free & off, ~free & off
        sl = slice(layer.first_array, layer.first_array + layer.n_arrays)
        for mask, held in ((miss, self.pinned), (moved, self.moved)):
            block = layer.scatter(np.where(mask, read, np.nan))
            held[sl] = np.where(np.isnan(block), held[sl], block)
        return miss, moved

    def _at_rail(self, read: np.ndarray) -> np.ndarray:
        dev = self.memory.chip.device
        return ((np.abs(read - dev.g_min) <= self.tolerance)
                | (np.abs(read - dev.g_max) <= self.tolerance))

    def state(self) -> tuple[FaultMap, list[np.ndarray]]:
        """What the loop holds after a read-back: its fault map (:meth:`faults`) and every
        layer's reading (a round :func:`adapt` keeps is rebuilt from it)."""
        return self.faults(), list(cast(list[np.ndarray], self.reads))

    def adapted(self, params, info: dict[str, Any], twin: Memory | None = None,
                state: tuple[FaultMap, list[np.ndarray]] | None = None) -> Memory:
        """The adapted model: pinned devices in its fault map, the read conductances and
        target weights ``params`` -- the last read-back's, or those of ``state`` (a round's
        :meth:`state`, with its ``params``) --, ``info`` as its ``info["adapt"]``; with the
        ``twin`` the targets were re-trained on, whether that training went through the
        chip's levels (its ``info``, :func:`_retrain`) in place of the model's own. Warns of
        unsteady reads (:func:`_warn_unsteady`)."""
        _warn_unsteady(self)  # (adapt's later rounds: adapt_read_back reads once)
        faults, reads = self.state() if state is None else state  # (read back by now)
        adapted = self.memory.rebuild(faults)
        for layer, read in zip(adapted.layers, reads, strict=True):
            layer.set_conductances(read[0], read[1], layer.w_max)
        adapted.targets = [(w, b) for w, b in params]
        own = {k: v for k, v in (self.memory.info or {}).items()
               if k != VARIATION_RECORD}  # programmed again: no variation (reprogram's)
        adapted.info = {**own, **(twin.info if twin is not None else {}),
                        "adapt": {**info, "tolerance_S": self.tolerance}}
        return adapted

    def missed(self, twin: Memory) -> list[dict[str, Any]]:
        """The devices pinned by the last read-back, in physical coordinates: ``layer``,
        ``array``, ``polarity``, ``row``, ``col``, ``target_uS``, ``read_uS`` (microsiemens
        to the export's decimals, :func:`~xbarmem.deploy.export.uS_decimals`), ``at_rail``."""
        from xbarmem.deploy.export import uS_decimals

        places = uS_decimals(self.memory.chip.device.g_range)
        rows = []
        for k, (layer, tw, goal, read) in enumerate(zip(
                self.memory.layers, twin.layers, self.goals,
                cast(list[np.ndarray], self.reads), strict=True)):  # read back by now
            miss = ~tw.stuck & (np.abs(read - goal) > self.tolerance)
            at_rail = layer.scatter(np.where(miss, self._at_rail(read), np.nan))
            goal_p, read_p = layer.scatter(goal), layer.scatter(read)
            for a, p, i, j in np.argwhere(~np.isnan(at_rail)):
                rows.append({"layer": k, "array": layer.first_array + int(a),
                             "polarity": PLANES[p], "row": int(i), "col": int(j),
                             "target_uS": round(float(goal_p[a, p, i, j]) * 1e6, places),
                             "read_uS": round(float(read_p[a, p, i, j]) * 1e6, places),
                             "at_rail": bool(at_rail[a, p, i, j])})
        return rows


def check_settings(memory: Memory, rounds: int, tolerance: float) -> float:
    """``tolerance`` as written (:func:`~xbarmem.checks.as_written`: a numpy float32 number as
    its decimal), after refusing (:class:`ConfigError`) settings :func:`adapt` /
    :func:`adapt_read_back` cannot run: ``rounds`` not an integer >= 0, ``tolerance``
    (siemens) not > 0, a memory under the ``weight`` fault model. Warn
    (:class:`~xbarmem.errors.XbarmemWarning`) of a ``tolerance`` at least the width of the
    chip's window: no device reading inside the window can miss its target by more (the
    default 3 uS on a chip of a 1 uS window)."""
    check_type(memory, Memory, "memory", "a Memory (from train or load_memory)")
    Number(integer=True, ge=0)(rounds, "rounds")
    if is_bool(tolerance) or not isinstance(tolerance, numbers.Real) or not tolerance > 0:
        raise ConfigError(f"tolerance must be > 0 siemens, got {shown(tolerance)}")
    if memory.chip.array.fault_model != "device":
        raise ConfigError(f"chip-in-the-loop adaptation needs the 'device' fault model (the "
                          f"'weight' model has no device conductances to pin); the model's "
                          f"chip {memory.chip.name} has the "
                          f"{memory.chip.array.fault_model!r} model: train it on a chip of the "
                          f"'device' model (train --fault-model device, or --chip rram)")
    window = memory.chip.device.g_range
    if tolerance >= window:
        warn(f"tolerance {tolerance * 1e6:g} uS is at least the conductance window of the "
             f"model's chip (g_max - g_min = {window * 1e6:g} uS): no device reading inside "
             "the window misses its target by more, so none is pinned; give a tolerance in uS "
             "below the window (a few times the write error)",
             stacklevel=4)  # (4: the caller of adapt / adapt_read_back, through checked_keywords)
    return as_written(tolerance)


def _setup(memory: Memory, backends, patterns: PatternSet, protocol: Protocol | None, trainer
           ) -> tuple[BackendMemory, Protocol, Any, torch.Tensor]:
    """The chip view, the recall protocol and trainer (defaults filled in) and the patterns as
    a tensor; :class:`ConfigError` for patterns of another N, and for trainer options that do
    not apply to the memory (``refuse_inapplicable``: e.g. ``init="linear"`` on one layer),
    before round 0 programs anything."""
    view = BackendMemory(memory, backends)
    kind = patterns.kind
    protocol = as_protocol(protocol, Protocol(probes=20), kind=kind)
    trainer = default_trainer(memory) if trainer is None else check_rule(trainer, "trainer")
    refuse = getattr(trainer, "refuse_inapplicable", None)
    if refuse is not None:
        refuse(len(memory.layers), kind, list(memory.sizes))
    checked_options(trainer, len(memory.layers), kind)  # recorded in the result's settings
    x = tensor_of(patterns.patterns, dtype=torch.float32)
    if x.shape[1] != memory.n_neurons:
        raise ConfigError(f"patterns have N={x.shape[1]} but the memory has {memory.n_neurons}")
    return view, protocol, trainer, x


#: a share of fixed devices (never written) whose readings move by more than the tolerance
#: between two read-backs above which the chip's reads are taken as too unsteady for it
UNSTEADY_SHARE = 0.5


def _warn_unsteady(loop: _Loop) -> None:
    """Warn (:class:`~xbarmem.errors.XbarmemWarning`) when more than :data:`UNSTEADY_SHARE`
    of the fixed devices read again in later rounds (at least 10; they are never written)
    moved by more than the tolerance between two read-backs: the chip's read noise (or
    drift) exceeds the tolerance, so free devices are pinned, and fixed ones held, at noise
    (``newly_fixed`` and ``fixed_moved`` count it)."""
    moved, reread = (int(v) for v in loop.reread)
    if reread >= 10 and moved > UNSTEADY_SHARE * reread:
        warn(f"{moved} of {reread} fixed devices, never written, read more than the tolerance "
             f"({loop.tolerance * 1e6:g} uS) away from their previous read-back: the chip's "
             "read noise or drift exceeds the tolerance, so devices are pinned and held at "
             "noise; give a tolerance above the read noise, or average several reads per "
             "read-back", stacklevel=caller_stacklevel())


@contextmanager
def _noted_round(rnd: int) -> Iterator[None]:
    """Run round ``rnd`` of :func:`adapt`; an error of a backend's own (or of anything but
    xbarmem's refusals, :class:`~xbarmem.errors.XbarmemError`, which stay one line) goes
    through unchanged with a note saying where the loop stopped, which rounds were measured
    (each passed to ``callback`` as it was: the loop returns no result) and how to start
    again."""
    try:
        yield
    except Exception as exc:
        if not isinstance(exc, XbarmemError):
            done = ("no round was measured" if rnd == 0 else "round 0 measured and passed to "
                    "callback" if rnd == 1 else f"rounds 0-{rnd - 1} measured, each passed to "
                    "callback")
            exc.add_note(f"adapt stopped in round {rnd} ({done}); the chip holds what this "
                         "round wrote before the error: run adapt again to start over (its "
                         "round 0 programs every free device)")
        raise


@checked_keywords
@warns_capped
def adapt(memory: Memory, backends: ChipBackend | Sequence[ChipBackend],
          patterns: PatternSet, *, rounds: int = 2, target: float = 0.99,
          tolerance: float = 3e-6, protocol: Protocol | None = None, trainer=None,
          callback: Callable[[dict[str, Any]], None] | None = None) -> AdaptResult:
    """Run chip-in-the-loop adaptation (see module docstring).

    Args:
        memory: the trained model (a :class:`~xbarmem.memory.base.Memory`) with its targets.
        backends: the chip, one backend per layer.
        patterns: the stored patterns (re-training and scoring).
        rounds: adaptation rounds after the open-loop round 0 (0 = open loop only).
        target: stop once the mean cosine similarity reaches this.
        tolerance: siemens; a device whose read value misses its target by more is fixed.
        protocol: recall test of every round (default: 10% flips, 20 cues per pattern,
            sync recall, sign neurons for binary / tanh for continuous patterns, seed 0; the
            same cues every round).
        trainer: re-training rule (default :func:`default_trainer`): any
            :class:`~xbarmem.learning.base.Rule` (checked by
            :func:`~xbarmem.learning.base.check_rule`; ``ArgumentError`` naming what it
            lacks).
        callback: called with each round's dict as soon as it is measured.

    Returns an :class:`AdaptResult` of the kept round's model (:class:`_Best`: the best mean
    cosine, not necessarily the last round). Warns once of tanh recalls under read noise that
    ran to their cap (every round's in one line), as ``evaluate_memory``, and of reads varying
    by more than ``tolerance``.
    """
    tolerance = check_settings(memory, rounds, tolerance)
    target, callback = Number(ge=-1.0)(target, "target"), check_callback(callback, "callback")
    patterns = memory_patterns(memory, patterns)
    view, protocol, trainer, x = _setup(memory, backends, patterns, protocol, trainer)
    kind, loop, params = patterns.kind, _Loop(memory, view, tolerance), target_parameters(memory)
    log: list[dict[str, Any]] = []
    reached, best = False, _Best()  # (the round kept)
    for rnd in range(rounds + 1):
        seconds = 0.0
        twin = memory.rebuild(loop.faults())
        with _noted_round(rnd):
            if rnd > 0:
                start = time.perf_counter()
                params = _retrain(trainer, twin, x, kind)
                seconds = time.perf_counter() - start
            stats = {**loop.program(twin, params), **loop.read(twin)}
            score = evaluate_memory(view, patterns, protocol)
        rms = stats.pop("write_error_rms_uS")
        entry = {"round": rnd, **stats, "fixed": int((~np.isnan(loop.pinned)).sum()),
                 "known_stuck": int(sum(int(ly.stuck.sum()) for ly in memory.layers)),
                 "write_error_rms_uS": rms,
                 "cosine": score.cosine, "exact": score.exact, "train_seconds": seconds}
        log.append(entry)
        best.offer(entry, params, loop, twin)
        if callback is not None:
            callback(entry)
        if reached := score.cosine >= target:
            break
    options = checked_options(trainer, len(memory.layers), kind)
    adapted = best.adapted(loop, log, retrained(trainer, options))
    settings = {"rounds": rounds, "target": target, "tolerance_uS": tolerance * 1e6,
                "protocol": protocol.as_dict(), "rule": trainer.name, "trainer": options}
    return AdaptResult(log, adapted, adapted.faults, reached, settings, best.round)


class _Best:
    """The round :func:`adapt` keeps: the one of the highest mean cosine, then exact-recall
    rate (a tie: the later round, the one nearer what the chip holds), with what it left --
    target weights, the twin they were trained on, the loop's fault map and readings."""

    def __init__(self) -> None:
        self.key: tuple[float, float] | None = None
        self.round, self.cosine, self.exact = 0, math.nan, math.nan
        self.params: Any = None
        self.twin: Any = None
        self.state: Any = None

    def offer(self, entry: dict[str, Any], params, loop: _Loop, twin: Memory) -> None:
        """Keep round ``entry`` (its ``params``, ``twin`` and ``loop`` state) if it recalls
        at least as well as the one kept (mean cosine, then exact)."""
        key = (float(entry["cosine"]), float(entry["exact"]))
        if self.key is None or key >= self.key:  # (a NaN cosine never replaces one)
            self.key, self.round = key, int(entry["round"])
            self.cosine, self.exact = entry["cosine"], entry["exact"]
            self.params, self.twin, self.state = params, twin, loop.state()

    def adapted(self, loop: _Loop, log: list[dict[str, Any]], trained: dict[str, Any]
                ) -> Memory:
        """The adapted model of the round kept (:meth:`_Loop.adapted`), its ``info["adapt"]``
        saying how many ``rounds`` ran after round 0, the last one's cosine
        (``final_cosine``), the round kept (``kept_round``, ``kept_cosine``, ``kept_exact``)
        and, when rounds re-trained the model, the rule that did (``trained``,
        :func:`retrained`; also when round 0 is the one kept)."""
        info = {"rounds": len(log) - 1, "final_cosine": log[-1]["cosine"],
                "kept_round": self.round, "kept_cosine": self.cosine, "kept_exact": self.exact,
                **(trained if len(log) > 1 else {})}
        return loop.adapted(self.params, info, self.twin, self.state)  # (round 0: a twin
        # that trained nothing, info {})


@value_equality
@dataclass
class ReadBackResult:
    """Outcome of :func:`adapt_read_back`: one round that starts from a read-back.

    Attributes:
        read: the read-back compared with the model's targets: ``newly_fixed`` (free devices
            further than ``tolerance`` from their target, now pinned at their read value),
            ``newly_fixed_at_rail`` (of those, reading within ``tolerance`` of g_min or g_max),
            ``free``, ``fixed`` (pinned so far), ``known_stuck``, ``fixed_moved`` (known stuck
            or pinned devices reading further than ``tolerance`` from their recorded value,
            now held at their reading), ``write_error_rms_uS`` (read - target over every
            device the model believed free).
        program: the re-programming sent to the backends after re-training: ``written``,
            ``kept`` (free devices left, already within tolerance), ``skipped_fixed``,
            ``train_seconds``.
        before: recall through the backends (``cosine``, ``exact``) as read back.
        after: recall through the backends once the re-programming was sent to them.
        missed: the newly pinned devices (:meth:`_Loop.missed`: physical coordinates, target and
            read in microsiemens, ``at_rail``).
        targets: per layer, the conductances sent to ``program``, float64
            ``(2, n_out, n_rows)`` siemens, NaN = leave the device.
        memory: the adapted model (pinned devices in its fault map, the read-back conductances,
            the re-trained target weights); ``faults`` its fault map.
        settings: ``tolerance_uS`` (microsiemens), ``protocol`` (a dict), the re-training
            ``rule``'s name and its options (``trainer``).
    """

    read: dict[str, Any]
    program: dict[str, Any]
    before: dict[str, float]
    after: dict[str, float]
    missed: list[dict[str, Any]]
    targets: list[np.ndarray]
    memory: Any
    faults: FaultMap
    settings: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        """Recall before and after, the devices pinned and re-written, the adapted memory
        (:meth:`as_dict` holds every value)."""
        return result_repr("ReadBackResult", {
            "cosine_before": self.before.get("cosine"), "cosine_after": self.after.get("cosine"),
            "newly_fixed": self.read.get("newly_fixed"), "written": self.program.get("written"),
            "memory": self.memory})

    def as_dict(self) -> dict[str, Any]:
        """Every value but the arrays as a JSON-able dict: ``read``, ``program``, ``before``,
        ``after``, ``missed``, ``settings`` (tolerance, protocol, the re-training ``rule``'s
        name and its options, ``trainer``), and the adapted model as
        :meth:`AdaptResult.as_dict` gives it (``memory``, ``faults``). The conductances to
        write are :attr:`targets` (NaN = leave; ``export_memory(..., program=result.targets)``
        writes them), the model :attr:`memory`."""
        return {"read": self.read, "program": self.program, "before": self.before,
                "after": self.after, "missed": self.missed, "settings": self.settings,
                **_model_entries(self.memory, self.faults)}

    def summary(self) -> dict[str, Any]:
        """The same dict as :meth:`as_dict` (its name in earlier versions)."""
        return self.as_dict()


@checked_keywords
@warns_capped
def adapt_read_back(memory: Memory, backends: ChipBackend | Sequence[ChipBackend],
                    patterns: PatternSet, *, tolerance: float = 3e-6,
                    protocol: Protocol | None = None, trainer=None) -> ReadBackResult:
    """One round of the loop that starts from a read-back of a chip holding the model's targets
    (programmed outside xbarmem, e.g. from :func:`~xbarmem.deploy.export.export_memory`): read
    back, pin what missed, score, re-train, program only the free devices that are off their
    new target, score. The steps are those of :func:`adapt` (same pin and re-program rules).
    An adapted model continues the loop: its targets are the ones its read-back is compared
    with; a memory :func:`~xbarmem.memory.variation.reprogram`-med with variation is compared
    with its targets plus that variation's noise, what its export's targets are.

    Args: ``memory``, ``patterns``, ``tolerance`` (siemens), ``protocol`` and ``trainer`` as
    :func:`adapt` takes them; ``backends`` read back what the chip holds (e.g.
    :class:`~xbarmem.deploy.readback.ReadBackChip` around a read-back file). Warns once of
    tanh recalls under read noise that ran to their cap, as :func:`adapt`.
    """
    tolerance = check_settings(memory, 0, tolerance)
    patterns = memory_patterns(memory, patterns)
    view, protocol, trainer, x = _setup(memory, backends, patterns, protocol, trainer)
    loop = _Loop(memory, view, tolerance)
    twin = memory.rebuild(loop.faults())
    target_parameters(memory)  # (a memory without targets refused)
    loop.expect(twin, programmed_targets(memory))  # what its export asked to program
    read = {**loop.read(twin), "fixed": int((~np.isnan(loop.pinned)).sum()),
            "known_stuck": int(sum(int(ly.stuck.sum()) for ly in memory.layers))}
    missed = loop.missed(twin)
    before = evaluate_memory(view, patterns, protocol)
    twin = memory.rebuild(loop.faults())
    start = time.perf_counter()
    params = _retrain(trainer, twin, x, patterns.kind)
    program = {**loop.program(twin, params), "train_seconds": time.perf_counter() - start}
    after = evaluate_memory(view, patterns, protocol)
    previous = (memory.info or {}).get("adapt")
    count = previous.get("read_backs", 0) if isinstance(previous, dict) else 0
    options = checked_options(trainer, len(memory.layers), patterns.kind)
    adapted = loop.adapted(params, {"read_backs": int(count) + 1,
                                    "read_back_cosine": before.cosine,
                                    "estimated_cosine": after.cosine,
                                    **retrained(trainer, options)}, twin)
    settings = {"tolerance_uS": tolerance * 1e6, "protocol": protocol.as_dict(),
                "rule": trainer.name, "trainer": options}
    return ReadBackResult(read, program, {"cosine": before.cosine, "exact": before.exact},
                          {"cosine": after.cosine, "exact": after.exact}, missed,
                          list(loop.sent), adapted, adapted.faults, settings)
