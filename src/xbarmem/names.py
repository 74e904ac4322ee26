"""The names of the learning rules and their recipes, memory architectures, cue corruptions
and recall settings, importable without torch.

The command line and sweep files check names against these before any work is done. The
corruption and recall modules take theirs from here; the rule registry
(:mod:`xbarmem.learning.classic`) defines the same rule names, which a test keeps equal.
"""

from __future__ import annotations

#: learning rules, hardware-adaptive first (:func:`xbarmem.learning.classic.rule_names`)
RULE_NAMES = ("adaptive", "hebb", "storkey", "storkey-variant", "pinv", "perceptron")
#: memory architectures (:data:`xbarmem.memory.build.ARCHS`)
ARCHS = ("single", "multilayer")
#: cue corruptions (:mod:`xbarmem.data.corruption`)
CORRUPTION_METHODS = ("flip", "gaussian", "occlude", "salt-pepper")
#: recall modes and neuron activations (:mod:`xbarmem.memory.recall`)
MODES = ("sync", "async")
#: recipes of the hardware-adaptive rule (:data:`xbarmem.learning.adaptive.RECIPE_OPTIONS`)
RECIPES = ("default", "fast")
#: precisions of the hardware-adaptive rule's training products (its ``products`` option)
PRODUCTS = ("float32", "bf16")
ACTIVATIONS = ("sign", "tanh")
