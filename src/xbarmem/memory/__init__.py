"""Memories on the simulated chip: layers of crossbars, programming, recall, model files.

* :mod:`.base` -- :class:`~xbarmem.memory.base.Memory`, the one interface every consumer uses
  (layers on one fault map, ``bounds()``, ``noise()``, ``program()``, ``targets``, ``recall()``,
  ``devices()``, ``rebuild()``), and :class:`~xbarmem.memory.base.LayeredMap`.
* :mod:`.single` / :mod:`.multilayer` -- its two constructors, ``SingleLayerMemory`` (``[N, N]``)
  and ``MultilayerMemory`` (``[N, H..., N]``).
* :mod:`.build` -- a memory by architecture name or by layer widths.
* :mod:`.variation` -- :func:`~xbarmem.memory.variation.reprogram`: the trained targets
  programmed again with programming variation (He et al.'s protocol).
* :mod:`.recall` -- the recall engine; :mod:`.io` -- safetensors model files, whose metadata
  schema is :mod:`.model_meta`, whose header is read and checked by :mod:`.model_header` and
  whose saved conductances and target weights (an export's too) by :mod:`.saved_tensors`
  (the conductances against the fault map and chip: :mod:`.device_state`).

May import ``hardware``, ``data`` and the base modules; never learning or anything above.
"""
