"""xbarmem: hardware-adaptive associative memories on simulated memristor crossbars.

Layers (each imports only those above it in this list):
chipspec, faults (device model) -> crossbar -> memory, recall -> rules, adaptive, training
-> corruption, metrics, evaluate -> demo, figures -> cli.
"""

from .adaptive import AdaptiveTrainer, TrainResult
from .chipspec import ArraySpec, ChipSpec, DeviceSpec, load_chip, load_preset, preset_names
from .crossbar import Crossbar
from .data import PatternSet, load_digits, load_file, load_mnist, load_patterns, random_patterns
from .errors import ConfigError, FileFormatError, PatternError, XbarmemError
from .evaluate import Protocol, compare_rules, evaluate_memory
from .faults import FaultMap
from .memory import SingleLayerMemory
from .modelio import load_memory, save_memory
from .recall import FloatMatrix, RecallResult, recall
from .rules import get_rule, rule_names
from .training import fit_memories, train

__version__ = "0.1.0"

__all__ = [
    "AdaptiveTrainer", "ArraySpec", "ChipSpec", "ConfigError", "Crossbar", "DeviceSpec",
    "FaultMap", "FileFormatError", "FloatMatrix", "PatternError", "PatternSet", "Protocol",
    "RecallResult", "SingleLayerMemory", "TrainResult", "XbarmemError", "compare_rules",
    "evaluate_memory", "fit_memories", "get_rule", "load_chip", "load_digits", "load_file",
    "load_memory", "load_mnist", "load_patterns", "load_preset", "preset_names",
    "random_patterns", "recall", "rule_names", "save_memory", "train",
]
