"""The names of the learning rules and memory architectures, importable without torch.

The command line and sweep files check names against these before any work is done; the
modules that implement them (:mod:`xbarmem.learning.classic`, :mod:`xbarmem.memory.build`)
define the same names, which a test keeps equal.
"""

from __future__ import annotations

#: learning rules, hardware-adaptive first (:func:`xbarmem.learning.classic.rule_names`)
RULE_NAMES = ("adaptive", "hebb", "storkey", "storkey-variant", "pinv", "perceptron")
#: memory architectures (:data:`xbarmem.memory.build.ARCHS`)
ARCHS = ("single", "multilayer")
