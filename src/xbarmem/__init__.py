"""xbarmem: hardware-adaptive associative memories on simulated memristor crossbars.

Layers (each imports only those above it in this list):
chipspec, faults (device model) -> crossbar -> memory, multilayer, recall -> rules, adaptive,
adaptive_multilayer, training -> corruption, metrics, evaluate -> capacity, capacity_search,
scaling -> energy, experiments, demo, figures -> cli.
"""

from .adaptive import AdaptiveTrainer, TrainResult
from .adaptive_multilayer import MultilayerTrainer, fit_multilayer
from .capacity_search import find_capacity
from .chipspec import ArraySpec, ChipSpec, DeviceSpec, load_chip, load_preset, preset_names
from .crossbar import Crossbar
from .data import PatternSet, load_digits, load_file, load_mnist, load_patterns, random_patterns
from .errors import ConfigError, FileFormatError, PatternError, XbarmemError
from .evaluate import Protocol, compare_rules, evaluate_memory
from .faults import FaultMap
from .memory import SingleLayerMemory
from .modelio import load_memory, save_memory
from .multilayer import MultilayerMemory
from .recall import FloatMatrix, RecallResult, recall
from .rules import get_rule, rule_names
from .scaling import HiddenRule, fit_power_law, run_scaling
from .training import fit_memories, train

__version__ = "0.2.0"

__all__ = [
    "AdaptiveTrainer", "ArraySpec", "ChipSpec", "ConfigError", "Crossbar", "DeviceSpec",
    "FaultMap", "FileFormatError", "FloatMatrix", "HiddenRule", "MultilayerMemory",
    "MultilayerTrainer", "PatternError", "PatternSet", "Protocol", "RecallResult",
    "SingleLayerMemory", "TrainResult", "XbarmemError", "compare_rules", "evaluate_memory",
    "find_capacity", "fit_memories", "fit_multilayer", "fit_power_law", "get_rule",
    "load_chip", "load_digits", "load_file",
    "load_memory", "load_mnist", "load_patterns", "load_preset", "preset_names",
    "random_patterns", "recall", "rule_names", "run_scaling", "save_memory", "train",
]
