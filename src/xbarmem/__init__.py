"""xbarmem: hardware-adaptive associative memories on simulated memristor crossbars.

The names most users need are exported here: pattern sets and cue corruption, chip specs and
fault maps, ``train`` / ``fit_memories``, memories, programming variation (``reprogram``) and
recall, evaluation and capacity, model files, and the result types these functions return
(``RecallResult``, ``Score``, ``RuleComparison``, ``CapacityResult``, ``ScalingResult``,
``PowerLawFit``, ``FitResult`` -- also known by its earlier name ``TrainResult``). The
subpackages are layered (``docs/architecture.md``): errors, version -> spec, seeds, jsontext ->
hardware, data -> memory -> learning -> evaluation -> energy, deploy -> viz -> experiments ->
cli; each imports only the layers before it.

The names below are imported on first use (PEP 562 module ``__getattr__``), so ``import
xbarmem`` -- and the command line, which starts with it -- does not load torch, SciPy or
matplotlib until something needs them. ``from xbarmem import X`` and ``xbarmem.X`` work as
for eagerly imported names.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from xbarmem.version import __version__  # noqa: F401 - in __all__

#: public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("CORRUPTION_METHODS", "corrupt", "flip_bits", "gaussian_noise",
                     "occlude_block", "salt_and_pepper"), "xbarmem.data.corruption"),
    **dict.fromkeys(("PatternSet", "as_pattern_set"), "xbarmem.data.patterns"),
    **dict.fromkeys(("load_digits", "load_glyphs", "load_mnist", "random_patterns"),
                    "xbarmem.data.builtin"),
    "load_file": "xbarmem.data.readers",
    "load_patterns": "xbarmem.data.sources",
    **dict.fromkeys(("ArgumentError", "ConfigError", "FileFormatError", "PatternError",
                     "XbarmemError", "XbarmemWarning"),
                    "xbarmem.errors"),
    **dict.fromkeys(("CapacityResult", "find_capacity"), "xbarmem.evaluation.capacity"),
    **dict.fromkeys(("Protocol", "RuleComparison", "Score", "compare_rules", "evaluate_memory"),
                    "xbarmem.evaluation.evaluate"),
    **dict.fromkeys(("HiddenRule", "PowerLawFit", "ScalingResult", "fit_power_law",
                     "run_scaling"), "xbarmem.evaluation.scaling"),
    **dict.fromkeys(("ArraySpec", "ChipSpec", "DeviceSpec", "load_chip", "load_preset",
                     "preset_names"), "xbarmem.hardware.chip"),
    "Crossbar": "xbarmem.hardware.crossbar",
    "FaultMap": "xbarmem.hardware.faults",
    **dict.fromkeys(("AdaptiveTrainer", "TrainResult"), "xbarmem.learning.adaptive"),
    **dict.fromkeys(("FitResult", "Problem", "Rule"), "xbarmem.learning.base"),
    **dict.fromkeys(("get_rule", "rule_names"), "xbarmem.learning.classic"),
    **dict.fromkeys(("fit_memories", "train"), "xbarmem.learning.fit"),
    **dict.fromkeys(("MultilayerTrainer", "fit_multilayer"), "xbarmem.learning.multilayer"),
    "Memory": "xbarmem.memory.base",
    **dict.fromkeys(("load_memory", "load_stored_patterns", "read_metadata", "save_memory"),
                    "xbarmem.memory.io"),
    "MultilayerMemory": "xbarmem.memory.multilayer",
    **dict.fromkeys(("FloatMatrix", "RecallResult", "recall"), "xbarmem.memory.recall"),
    "SingleLayerMemory": "xbarmem.memory.single",
    "reprogram": "xbarmem.memory.variation",
}

#: subpackages and modules reachable as attributes (``xbarmem.hardware``), imported on first use
_SUBMODULES = ("cli", "data", "deploy", "energy", "errors", "evaluation", "experiments",
               "hardware", "jsontext", "learning", "memory", "seeds", "spec", "version", "viz")

__all__ = sorted(["__version__", *_EXPORTS])


def __getattr__(name: str) -> Any:
    """Import a public name (or a subpackage) on first use and keep it in this module."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"xbarmem.{name}")
    else:
        raise AttributeError(f"module 'xbarmem' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names and subpackages, not this module's own helpers (``importlib``, ...)."""
    return sorted({*__all__, *_SUBMODULES})


if TYPE_CHECKING:  # static analysis and IDEs see the eager imports
    from xbarmem.data.builtin import (  # noqa: F401
        load_digits,
        load_glyphs,
        load_mnist,
        random_patterns,
    )
    from xbarmem.data.corruption import (  # noqa: F401
        CORRUPTION_METHODS,
        corrupt,
        flip_bits,
        gaussian_noise,
        occlude_block,
        salt_and_pepper,
    )
    from xbarmem.data.patterns import PatternSet, as_pattern_set  # noqa: F401
    from xbarmem.data.readers import load_file  # noqa: F401
    from xbarmem.data.sources import load_patterns  # noqa: F401
    from xbarmem.errors import (  # noqa: F401
        ArgumentError,
        ConfigError,
        FileFormatError,
        PatternError,
        XbarmemError,
        XbarmemWarning,
    )
    from xbarmem.evaluation.capacity import CapacityResult, find_capacity  # noqa: F401
    from xbarmem.evaluation.evaluate import (  # noqa: F401
        Protocol,
        RuleComparison,
        Score,
        compare_rules,
        evaluate_memory,
    )
    from xbarmem.evaluation.scaling import (  # noqa: F401
        HiddenRule,
        PowerLawFit,
        ScalingResult,
        fit_power_law,
        run_scaling,
    )
    from xbarmem.hardware.chip import (  # noqa: F401
        ArraySpec,
        ChipSpec,
        DeviceSpec,
        load_chip,
        load_preset,
        preset_names,
    )
    from xbarmem.hardware.crossbar import Crossbar  # noqa: F401
    from xbarmem.hardware.faults import FaultMap  # noqa: F401
    from xbarmem.learning.adaptive import AdaptiveTrainer, TrainResult  # noqa: F401
    from xbarmem.learning.base import FitResult, Problem, Rule  # noqa: F401
    from xbarmem.learning.classic import get_rule, rule_names  # noqa: F401
    from xbarmem.learning.fit import fit_memories, train  # noqa: F401
    from xbarmem.learning.multilayer import MultilayerTrainer, fit_multilayer  # noqa: F401
    from xbarmem.memory.base import Memory  # noqa: F401
    from xbarmem.memory.io import (  # noqa: F401
        load_memory,
        load_stored_patterns,
        read_metadata,
        save_memory,
    )
    from xbarmem.memory.multilayer import MultilayerMemory  # noqa: F401
    from xbarmem.memory.recall import FloatMatrix, RecallResult, recall  # noqa: F401
    from xbarmem.memory.single import SingleLayerMemory  # noqa: F401
    from xbarmem.memory.variation import reprogram  # noqa: F401
