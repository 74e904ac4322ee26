"""Learning rules and the training entry point.

* :mod:`.base` -- the contract: :class:`~xbarmem.learning.base.Problem` in,
  :class:`~xbarmem.learning.base.FitResult` out, for every :class:`~xbarmem.learning.base.Rule`.
* :mod:`.classic` -- Hebb, Storkey, the Storkey variant, pseudo-inverse, perceptron; ``get_rule``.
* :mod:`.adaptive` -- the hardware-adaptive rule (``AdaptiveTrainer``), with its single-layer
  (:mod:`.single_fit`) and multilayer (:mod:`.multilayer_fit`) paths and the machinery they
  share: the stages and their progress reports (:mod:`.stages`), the flip-averaged stage
  (:mod:`.flip_stage`), the optimiser update and stopping criteria (:mod:`.optimizer`), the
  batch and its per-batch constants (:mod:`.batch`), the random draws of a step (:mod:`.noise`)
  and the basin objective's loss and gradient terms (:mod:`.objective`), the opt-in closed-form
  start of continuous multilayer memories (:mod:`.linear_start`); :mod:`.multilayer` keeps the
  earlier multilayer names.
* :mod:`.fit` -- ``fit_memories`` (train and program any memories) and ``train``.

May import ``memory``, ``hardware``, ``data`` and the base modules (spec, seeds, jsontext,
files, checks, limits, sizes, names, errors, version); never ``evaluation`` or above.
"""
