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
#: a corruption's level when none is given (sweeps, evaluate, adapt, capacity): the share of
#: values flipped, set or occluded, or the Gaussian noise sigma
DEFAULT_LEVELS = {"flip": 0.1, "gaussian": 0.6, "occlude": 0.6, "salt-pepper": 0.1}
#: the cue corruption and neuron type of each kind of pattern when none is given
KIND_CUES = {"binary": ("flip", "sign"), "continuous": ("gaussian", "tanh")}
#: recall modes and neuron activations (:mod:`xbarmem.memory.recall`)
MODES = ("sync", "async")
#: recipes of the hardware-adaptive rule (:data:`xbarmem.learning.adaptive.RECIPE_OPTIONS`)
RECIPES = ("default", "fast")
#: precisions of the hardware-adaptive rule's training products (its ``products`` option)
PRODUCTS = ("float32", "bf16")
ACTIVATIONS = ("sign", "tanh")
