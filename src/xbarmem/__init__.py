"""xbarmem: hardware-adaptive associative memories on simulated memristor crossbars.

The names most users need are exported here: pattern sets and cue corruption, chip specs and
fault maps, ``train`` / ``fit_memories``, memories and recall, evaluation and capacity, model
files. The subpackages are layered (``docs/architecture.md``): errors, version -> spec, seeds,
jsontext -> hardware, data -> memory -> learning -> evaluation -> energy, deploy -> viz ->
experiments -> cli; each imports only the layers before it.
"""

from xbarmem.data.corruption import (
    CORRUPTION_METHODS,
    corrupt,
    flip_bits,
    gaussian_noise,
    occlude_block,
    salt_and_pepper,
)
from xbarmem.data.patterns import (
    PatternSet,
    as_pattern_set,
    load_digits,
    load_file,
    load_mnist,
    load_patterns,
    random_patterns,
)
from xbarmem.errors import ConfigError, FileFormatError, PatternError, XbarmemError
from xbarmem.evaluation.capacity import find_capacity
from xbarmem.evaluation.evaluate import Protocol, compare_rules, evaluate_memory
from xbarmem.evaluation.scaling import HiddenRule, fit_power_law, run_scaling
from xbarmem.hardware.chip import (
    ArraySpec,
    ChipSpec,
    DeviceSpec,
    load_chip,
    load_preset,
    preset_names,
)
from xbarmem.hardware.crossbar import Crossbar
from xbarmem.hardware.faults import FaultMap
from xbarmem.learning.adaptive import AdaptiveTrainer, TrainResult
from xbarmem.learning.base import FitResult, Problem, Rule
from xbarmem.learning.classic import get_rule, rule_names
from xbarmem.learning.fit import fit_memories, train
from xbarmem.learning.multilayer import MultilayerTrainer, fit_multilayer
from xbarmem.memory.base import Memory
from xbarmem.memory.io import load_memory, load_stored_patterns, save_memory
from xbarmem.memory.multilayer import MultilayerMemory
from xbarmem.memory.recall import FloatMatrix, RecallResult, recall
from xbarmem.memory.single import SingleLayerMemory
from xbarmem.version import __version__

__all__ = [
    "CORRUPTION_METHODS", "AdaptiveTrainer", "ArraySpec", "ChipSpec", "ConfigError", "Crossbar",
    "DeviceSpec", "FaultMap", "FileFormatError", "FitResult", "FloatMatrix", "HiddenRule",
    "Memory", "MultilayerMemory", "MultilayerTrainer", "PatternError", "PatternSet", "Problem",
    "Protocol", "RecallResult", "Rule", "SingleLayerMemory", "TrainResult", "XbarmemError",
    "__version__", "as_pattern_set", "compare_rules", "corrupt", "evaluate_memory",
    "find_capacity", "fit_memories", "fit_multilayer", "fit_power_law", "flip_bits",
    "gaussian_noise", "get_rule", "load_chip", "load_digits", "load_file", "load_memory",
    "load_mnist", "load_patterns", "load_preset", "load_stored_patterns", "occlude_block",
    "preset_names", "random_patterns", "recall", "rule_names", "run_scaling", "salt_and_pepper",
    "save_memory", "train",
]
