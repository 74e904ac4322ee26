"""Docstrings of the public API state its contracts: every public callable -- the names of
``xbarmem.__all__`` and of each subpackage's ``__all__``, the results types they return, and
the public methods of these classes -- has a docstring that mentions every parameter of its
signature and documents no parameter the signature lacks. The names are enumerated, not
listed, so a new public function without a documented argument fails here.

A parameter is *mentioned* as ``name`` (double backticks, also ``name=...``, ``name.attr``,
``*name``) or as an ``Args:`` entry (``name: ...``); a parameter is *documented* by an
``Args:`` entry or a line-leading ``name``: in prose. A class's constructor parameters may be
documented in the class docstring or in ``__init__``'s.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

import xbarmem as xm
from xbarmem.experiments import load_sweep

SRC = Path(xm.__file__).resolve().parent

#: section headers whose entries are parameters (Google style)
ARG_SECTIONS = ("Args", "Arguments", "Parameters", "Keyword Args", "Keyword Arguments")
#: a dataclass documents its fields (the constructor's parameters) as attributes
CLASS_SECTIONS = (*ARG_SECTIONS, "Attributes")
CODE = re.compile(r"``(.+?)``", re.DOTALL)
SECTION = re.compile(r"^(\s*)([A-Z][A-Za-z ]*):\s*$")
ENTRY = re.compile(r"^\s*\*{0,2}([A-Za-z_]\w*)\s*(?:\([^)]*\))?\s*:")
PROSE = re.compile(r"(?:^|\.\s+)``\*{0,2}([A-Za-z_]\w*)``:", re.MULTILINE)


def _public_modules() -> list[types.ModuleType]:
    inits = sorted(SRC.glob("*/__init__.py"))
    assert len(inits) >= 8, SRC
    return [xm, *(importlib.import_module(f"xbarmem.{p.parent.name}") for p in inits)]


#: a documentation page or example importing from a module: ``from xbarmem.a.b import X, Y``
TAUGHT_IMPORT = re.compile(r"^\s*from (xbarmem(?:\.\w+)+) import \(?([\w ,\n]+?)\)?\s*$",
                           re.MULTILINE)
ROOT = SRC.parent.parent


def taught_imports() -> dict[str, list[str]]:
    """``{module: names}`` the README, ``docs/`` and ``examples/`` import from modules below
    the package's subpackages (``from xbarmem.deploy.backend import BackendMemory``): public,
    since users are told to import them."""
    out: dict[str, list[str]] = {}
    for path in [ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("examples/*.py")]:
        for module, names in TAUGHT_IMPORT.findall(path.read_text(encoding="utf-8")):
            words = [w for w in re.split(r"[,\s]+", names) if w and w != "as"]
            out.setdefault(module, []).extend(w for w in words if w not in out[module])
    return out


def test_every_name_the_docs_import_is_in_its_module_all():
    """A name the docs import from a module is in that module's ``__all__`` (so the checks
    here see it, and ``help()`` of the module lists it)."""
    taught = taught_imports()
    assert "xbarmem.deploy.backend" in taught and "BackendMemory" in taught[
        "xbarmem.deploy.backend"]
    missing = [f"{module}.{name}" for module, names in taught.items() for name in names
               if name not in getattr(importlib.import_module(module), "__all__", ())]
    assert missing == []


def public_names() -> dict[str, object]:
    """Every callable of a public ``__all__`` defined in xbarmem (submodules aside), and of
    the ``__all__`` of every module the docs import from (:func:`taught_imports`)."""
    found: dict[str, object] = {}
    taught = [importlib.import_module(module) for module in taught_imports()]
    for module in [*_public_modules(), *taught]:
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            if (callable(value) and not isinstance(value, types.ModuleType)
                    and getattr(value, "__module__", "").startswith("xbarmem")):
                found[f"{module.__name__}.{name}"] = value
    return found


def _methods(cls: type) -> Iterator[tuple[str, object]]:
    """The public methods and properties a class defines or inherits from an xbarmem class."""
    seen: set[str] = set()
    for base in cls.__mro__:
        if not base.__module__.startswith("xbarmem"):
            continue
        for name, value in vars(base).items():
            if name in seen or (name.startswith("_") and name != "__init__"):
                continue
            seen.add(name)
            if isinstance(value, property):
                yield name, value
            elif isinstance(value, (staticmethod, classmethod)) or inspect.isfunction(value):
                # as help() shows it: an override without a docstring shows its base's
                yield name, getattr(cls, name)


def returned_classes(funcs: dict[str, object]) -> dict[str, type]:
    """xbarmem classes named in the return annotations of ``funcs`` (results types such as
    ``find_capacity``'s ``CapacityResult``): public through the calls that give them."""
    out: dict[str, type] = {}
    for value in funcs.values():
        if isinstance(value, property) or inspect.isclass(value):
            continue
        func = inspect.unwrap(getattr(value, "__func__", value))  # type: ignore[arg-type]
        hint = inspect.signature(func).return_annotation
        module = inspect.getmodule(func)
        text = hint if isinstance(hint, str) else getattr(hint, "__name__", "")
        for word in re.findall(r"[A-Za-z_]\w*", text):
            cls = getattr(module, word, None)
            if inspect.isclass(cls) and cls.__module__.startswith("xbarmem"):
                out[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return out


def public_callables() -> dict[str, object]:
    """:func:`public_names`, the results types they return (:func:`returned_classes`, until
    no new one), and the public methods of all these classes, by qualified name; one entry
    per function object (an inherited method is checked where it is first found)."""
    out: dict[str, object] = {}
    seen: set[int] = set()
    todo = dict(public_names())
    while todo:
        added: dict[str, object] = {}
        for qualified, value in todo.items():
            if any(value is v for v in out.values()):
                continue
            out[qualified] = added[qualified] = value
            if inspect.isclass(value):
                for name, member in _methods(value):
                    key = getattr(member, "fget", None) or getattr(member, "__func__", member)
                    if id(key) not in seen:
                        seen.add(id(key))
                        out[f"{qualified}.{name}"] = added[f"{qualified}.{name}"] = member
        todo = {k: v for k, v in returned_classes(added).items() if k not in out}
    return out


def documented(doc: str, sections: tuple[str, ...] = ARG_SECTIONS) -> set[str]:
    """The parameter names a docstring documents: ``Args:`` entries, line-leading prose."""
    names = {m.group(1) for m in PROSE.finditer(doc)}
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        header = SECTION.match(line)
        if not header or header.group(2) not in sections:
            continue
        indent = None
        for entry in lines[i + 1:]:
            if not entry.strip():
                continue
            depth = len(entry) - len(entry.lstrip())
            if depth <= len(header.group(1)):
                break
            indent = depth if indent is None else indent
            match = ENTRY.match(entry)
            if depth == indent and match:
                names.add(match.group(1))
    return names


def mentioned(doc: str, name: str) -> bool:
    """``name`` appears as a word in double backticks or as an ``Args:``/``Attributes:``
    entry."""
    word = re.compile(rf"(?<![\w.]){name}\b")
    return (any(word.search(code) for code in CODE.findall(doc))
            or name in documented(doc, CLASS_SECTIONS))


def _parameters(func: Callable) -> list[str]:
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature
        return []
    return [p.name for p in params if p.name not in ("self", "cls")]


def _signature_and_doc(obj: object) -> tuple[list[str], str] | None:
    """The parameters to document and the text that must document them (None: no docstring
    of its own)."""
    if inspect.isclass(obj):
        own = (vars(obj).get("__doc__") or "").strip()
        if not inspect.isfunction(obj.__init__) or getattr(obj, "_is_protocol", False):
            return ([], own) if own else None  # object's, Exception's, a typing.Protocol's
        doc = own + "\n" + (inspect.getdoc(obj.__init__) or "")  # type: ignore[misc]
        return (_parameters(obj), doc) if own else None  # type: ignore[arg-type]
    doc = inspect.getdoc(obj) or ""
    return (_parameters(obj), doc) if doc.strip() else None  # type: ignore[arg-type]


def contract_problems(qualified: str, obj: object) -> list[str]:
    """What is wrong with one public callable's docstring (empty: nothing)."""
    if qualified.endswith(".__init__"):
        return []  # checked with its class
    if isinstance(obj, property):
        return [] if (obj.__doc__ or "").strip() else [f"{qualified}: no docstring"]
    found = _signature_and_doc(obj)
    if found is None:
        return [f"{qualified}: no docstring"]
    params, doc = found
    problems = [f"{qualified}: parameter {p!r} not mentioned" for p in params
                if not mentioned(doc, p)]
    known = set(params) | (set(dir(obj)) if inspect.isclass(obj) else set())
    problems += [f"{qualified}: documents {d!r}, which is no parameter"
                 for d in sorted(documented(doc) - known)]
    return problems


def test_public_callables_are_enumerated():
    """Functions, classes, methods (inherited ones once) and properties are all found."""
    names = public_callables()
    assert len(names) > 150
    for expected in ("xbarmem.train", "xbarmem.Memory.recall", "xbarmem.FaultMap.generate",
                     "xbarmem.FaultMap.stuck", "xbarmem.experiments.ResultStore.rows",
                     "xbarmem.cli.main", "xbarmem.spec.Number.accepts",
                     # results types, exported, and public through the calls that
                     # return them
                     "xbarmem.CapacityResult", "xbarmem.Score.as_dict",
                     "xbarmem.PowerLawFit.predict", "xbarmem.RuleComparison.as_dict"):
        assert expected in names, expected
    assert any(name.endswith(".from_dict") for name in names)


@pytest.mark.parametrize("qualified", sorted(public_callables()))
def test_docstring_states_every_parameter(qualified):
    assert contract_problems(qualified, public_callables()[qualified]) == []


# ------------------------------------------------------------------ the check can fail
def _missing_parameter(patterns, seed: int = 0):
    """Store ``patterns``."""


def _extra_parameter(patterns):
    """Store patterns.

    Args:
        patterns: the patterns.
        chip: a parameter that no longer exists.
    """


class _UndocumentedField:
    """A class whose constructor takes ``a`` and one more argument."""

    def __init__(self, a: int, b: int) -> None:
        self.a, self.b = a, b


def test_the_check_fails_on_a_missing_or_stale_parameter():
    assert contract_problems("m._missing_parameter", _missing_parameter) == [
        "m._missing_parameter: parameter 'seed' not mentioned"]
    assert contract_problems("m._extra_parameter", _extra_parameter) == [
        "m._extra_parameter: documents 'chip', which is no parameter"]
    assert contract_problems("m.C", _UndocumentedField) == ["m.C: parameter 'b' not mentioned"]
    assert contract_problems("m.f", lambda x: x) == ["m.f: no docstring"]
    assert contract_problems("m.p", property(lambda self: 1)) == ["m.p: no docstring"]


def test_spec_fields_declared_with_help_are_in_the_class_docstring():
    """``help(xm.AdaptiveTrainer)`` lists every option with its help and default (generated
    from the field declarations, so it cannot go stale); a subclass lists its base's."""
    for cls in (xm.AdaptiveTrainer, xm.MultilayerTrainer):
        doc = cls.__doc__ or ""
        assert "Attributes:" in doc
        for f in dataclasses.fields(cls):
            assert re.search(rf"^    {f.name}: ", doc, re.MULTILINE), (cls.__name__, f.name)
    entries = fields_doc(xm.AdaptiveTrainer)
    assert entries["cue_flip"].endswith(f"(default ``{xm.AdaptiveTrainer().cue_flip!r}``)")
    # a help text that states its default (from the recipe) is not given a second one
    assert entries["max_steps"].count("(default") == 1


def fields_doc(cls: type) -> dict[str, str]:
    """``{field: its Attributes entry}`` of a class docstring, continuation lines joined."""
    out: dict[str, str] = {}
    name = ""
    for line in (cls.__doc__ or "").split("Attributes:", 1)[1].splitlines():
        entry = re.match(r" {4}(\w+): (.*)", line)
        if entry:
            name, out[entry[1]] = entry[1], entry[2]
        elif name and line.startswith(" " * 8):
            out[name] += " " + line.strip()
    return out


# ------------------------------------------------------------------ the contracts hold
def test_docstring_examples_run(tmp_path, monkeypatch):
    """Every example (``>>>``) in a public docstring runs and prints what it says (one marked
    ``+SKIP`` is not run)."""
    import doctest

    monkeypatch.chdir(tmp_path)
    finder, runner = doctest.DocTestFinder(recurse=False), doctest.DocTestRunner()
    ran = 0
    for qualified, obj in public_callables().items():
        target = getattr(obj, "fget", None) or getattr(obj, "__func__", obj)
        module = inspect.getmodule(target)
        for test in finder.find(target, qualified, module=module, globs=dict(vars(module))):
            ran += len(test.examples)
            result = runner.run(test)
            assert result.failed == 0, qualified
    assert ran >= 8


def _stated_errors():
    """``(call, error type the docstring states, words of the message)``, one per claim."""
    chip = xm.load_chip("rram")
    crossbar = xm.Crossbar(chip, 4, 4, xm.FaultMap.empty(1, 64, 64))
    x = torch.ones(2, 16)
    g = np.full((4, 5), 50e-6)
    return [
        (lambda: xm.corrupt(x, "blur", 0.1), xm.PatternError, "corruption method"),
        (lambda: xm.corrupt(x, "flip", 0.1, generator=-1), xm.ConfigError, "generator"),
        (lambda: xm.gaussian_noise(x, -0.1), xm.PatternError, "sigma"),
        (lambda: xm.occlude_block(x, (3, 3), 0.1), xm.PatternError, "image_shape"),
        (lambda: xm.load_digits(seed=-1), xm.ConfigError, "seed"),
        (lambda: xm.load_digits(n_patterns=0), xm.PatternError, "n_patterns must"),
        (lambda: xm.load_preset("nope"), xm.ConfigError, "nope"),
        (lambda: xm.load_chip("nope"), xm.FileFormatError, "nope"),
        (lambda: xm.load_chip({}), xm.ArgumentError, "ChipSpec"),
        (lambda: xm.load_memory("nope.safetensors"), xm.FileFormatError, "no such"),
        (lambda: xm.fit_power_law([16.0], [2.0]), xm.ConfigError, "two"),
        (lambda: xm.train(x, rule="hebb", progress=3), xm.ArgumentError, "progress"),
        (lambda: xm.train(x, rule="hebb", hidden=4), xm.ConfigError, "hidden"),
        (lambda: xm.evaluate_memory(3, x), xm.ArgumentError, "memory"),
        (lambda: crossbar.matvec(torch.ones(1, 4)), xm.ConfigError, "program"),
        (lambda: crossbar.set_conductances(-g, g, 0.5), xm.ConfigError, "siemens"),
        (lambda: crossbar.set_conductances(g * 1e6, g, 0.5), xm.ConfigError, "siemens"),
        (lambda: xm.FaultMap.generate("rram", 1), xm.ArgumentError, "ChipSpec"),
        (lambda: xm.FaultMap.empty(1, 4, 4).save("map.txt"), xm.FileFormatError, ".npz"),
        (lambda: xm.FaultMap(np.full((1, 2, 4, 4), np.nan), {"when": object()}),
         xm.FileFormatError, "JSON"),
        (lambda: xm.HiddenRule.parse("wide"), xm.ConfigError, "hidden rule"),
        (lambda: xm.random_patterns(3, 4).subset(7), xm.PatternError, "index"),
        (lambda: chip.with_faults(2.0), xm.ConfigError, "rate must be in"),
        (lambda: chip.replace_device(gmin=1e-6), xm.ArgumentError,
         "'gmin'; did you mean 'g_min'?"),
        (lambda: load_sweep("nope.toml"), xm.FileFormatError, "no such"),
        (lambda: xm.SingleLayerMemory(1, "ideal"), xm.ConfigError, "n_neurons"),
        (lambda: xm.Protocol(level=2.0), xm.PatternError, "level"),
        (lambda: xm.Protocol(probes=0), xm.ConfigError, "probes"),
        (lambda: xm.Protocol(probs=2), xm.ArgumentError, "probs"),
        (lambda: xm.SingleLayerMemory(16, "nope"), xm.FileFormatError, "nope"),
    ]


def test_stated_errors_are_raised(tmp_path, monkeypatch):
    """What the docstrings say a bad call raises, it raises: the type named and a message
    naming the problem (nothing is written by a refused ``save``)."""
    monkeypatch.chdir(tmp_path)
    for call, error, words in _stated_errors():
        with pytest.raises(error) as caught:
            call()
        assert words in str(caught.value), (error, str(caught.value))
    assert list(tmp_path.iterdir()) == []


def test_crossbar_shapes_and_units_are_as_stated():
    """Conductances in siemens inside the window, ``(2, n_out, n_rows)``; reads in weight units,
    ``(B, n_out)`` / ``(B,)``; currents in amperes: volts times siemens."""
    chip = xm.load_chip("rram")
    crossbar = xm.Crossbar(chip, 5, 7, xm.FaultMap.generate(chip, 1, seed=1))
    weights = torch.linspace(-0.3, 0.3, 35).reshape(5, 7)
    crossbar.program(weights, torch.zeros(5), seed=0)
    planes = crossbar.planes()
    assert planes.shape == (2, 5, 8) and crossbar.n_rows == 8
    assert chip.device.g_min <= planes.min() and planes.max() <= chip.device.g_max
    x = torch.tensor([[1.0, -1, 1, -1, 1, -1, 1], [1.0] * 7])
    assert crossbar.matvec(x).shape == (2, 5)
    assert crossbar.read_outputs(x, torch.tensor([0, 4])).shape == (2,)
    rows = torch.cat([x, torch.ones(2, 1)], dim=1).double()
    volts = rows * chip.array.read_voltage
    amperes = volts @ torch.as_tensor(planes[0] - planes[1]).T
    assert torch.allclose(crossbar.currents(x).double(), amperes, rtol=1e-5, atol=1e-12)
    w, b = crossbar.effective()
    assert w.shape == (5, 7) and b is not None and b.shape == (5,)
    lo, hi = crossbar.bounds()
    assert lo.shape == hi.shape == (5, 8) and lo.dtype == torch.float32


def test_fault_map_and_recall_shapes_are_as_stated():
    chip = xm.load_chip("rram").with_faults(0.2)
    faults = xm.FaultMap.generate(chip, 2, seed=0)
    assert faults.g_stuck.shape == (2, 2, 64, 64) and faults.g_stuck.dtype == np.float64
    assert faults.n_arrays == 2 and faults.array_shape == (64, 64)
    stuck = faults.g_stuck[faults.stuck]
    assert stuck.size and set(np.unique(stuck)) <= {chip.device.g_min, chip.device.g_max}
    patterns = xm.random_patterns(3, 16, seed=0)
    assert patterns.patterns.shape == (3, 16) and patterns.patterns.dtype == np.float32
    memory = xm.train(patterns, chip="ideal", rule="hebb")
    result = memory.recall(patterns.patterns[:2])
    assert result.states.shape == (2, 16) and result.states.dtype == torch.float32
    assert result.iterations.shape == result.reads.shape == (2,)
    assert result.iterations.dtype == result.reads.dtype == torch.int64
    assert result.converged.dtype == result.cycled.dtype == torch.bool
    cues = xm.corrupt(patterns.patterns, "flip", 0.1, generator=0)
    assert cues.shape == (3, 16) and cues.dtype == torch.float32


def test_compare_rules_returns_the_keys_it_states():
    """``rules`` may be one name (as stated and hinted); each rule's entry has exactly the
    keys the docstring lists."""
    out = xm.compare_rules(xm.random_patterns(3, 16, seed=0), "ideal", "hebb", trials=1)
    assert set(out) == {"rules", "settings"}
    assert set(out["rules"]["hebb"]) == {
        "cosine", "cosine_std", "exact", "hamming", "converged", "mean_iterations",
        "train_seconds", "train_steps_mean", "devices", "chips", "variants"}
    assert out["rules"]["hebb"]["variants"] == {}


# ------------------------------------------------------------- results compared with ==
def _tensor_dataclasses() -> Iterator[type]:
    """Every dataclass of the library (commands aside) with a field typed as a tensor or an
    array (a function's signature aside: ``Protocol.corruption``)."""
    import pkgutil

    found = 0
    for info in pkgutil.walk_packages(xm.__path__, "xbarmem."):
        if info.name.startswith("xbarmem.cli") or info.name == "xbarmem.launch":
            continue
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (inspect.isclass(obj) and dataclasses.is_dataclass(obj)
                    and obj.__module__ == module.__name__ and obj.__dataclass_params__.eq
                    and any(re.search(r"Tensor|ndarray", re.sub(r"Callable\[.*\]", "", str(f.type)))
                            for f in dataclasses.fields(obj))):
                found += 1
                yield obj
    assert found >= 8


def test_no_result_holding_tensors_keeps_the_generated_equality():
    """A dataclass's generated ``==`` compares its fields as a tuple, which raises torch's
    'Boolean value of Tensor with more than one value is ambiguous' (numpy's 'truth value of
    an array ... is ambiguous') for two Scores or RecallResults."""
    generated = [cls.__qualname__ for cls in _tensor_dataclasses()
                 if cls.__eq__.__code__.co_filename == "<string>"]
    assert not generated, generated


def test_results_holding_tensors_compare_by_value():
    patterns = xm.random_patterns(4, 16, seed=0)
    memory = xm.train(patterns, rule="pinv")
    protocol = xm.Protocol(level=0.2, probes=3, seed=1)
    first, again = (xm.evaluate_memory(memory, patterns, protocol) for _ in range(2))
    assert first == again and first.states is not again.states
    assert first != xm.evaluate_memory(memory, patterns, xm.Protocol(level=0.3, seed=2))
    recall = memory.recall(patterns.patterns)
    assert recall == memory.recall(patterns.patterns)
    assert recall != memory.recall(patterns.patterns, mode="async")
    problem = xm.Problem.of(patterns.patterns)
    rule = xm.get_rule("hebb")
    fit, fit_again = rule.fit(problem), rule.fit(problem)
    assert fit == fit_again  # loss NaN (closed form) matches NaN
    with pytest.raises(TypeError, match="unhashable"):
        hash(first)


#: other spellings of "how many patterns" (the API's one name is ``n_patterns``)
PATTERN_COUNT_SPELLINGS = {"n", "count", "num_patterns", "npatterns", "n_pattern", "P", "p",
                           "num", "number", "patterns_count"}
#: public parameters so spelt that count something else: function qualname -> what they count
OTHER_COUNTS = {
    "HiddenRule.width": "neurons N",
    "PowerLawFit.predict": "network sizes N",
    "counted": "things of any noun (a text helper)",
    "check_entry": "the count key of a stored search point (a file format)",
    "point_passes": "trials behind a mean",
}


def _modules_with_all() -> Iterator[types.ModuleType]:
    """Every module of the package that declares an ``__all__`` (never a ``__main__``)."""
    for path in sorted(SRC.rglob("*.py")):
        if path.stem == "__main__" or "__all__" not in path.read_text(encoding="utf-8"):
            continue
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        yield importlib.import_module(".".join(parts[:-1] if parts[-1] == "__init__" else parts))


def test_one_name_for_the_number_of_patterns():
    """The loaders took the number of patterns as ``n`` and ``seeds.random_subset`` as
    ``count`` while ``random_patterns``, ``measure`` and the command line's ``--patterns``
    say ``n_patterns``: no public function (of any ``__all__``) or method of a public class
    spells a parameter ``n``, ``count``, ``num_patterns``, ``P`` ... unless it counts
    something else (:data:`OTHER_COUNTS`)."""
    funcs: dict[str, Callable] = {}
    for module in _modules_with_all():
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) and value.__module__.startswith("xbarmem"):
                funcs.update({f"{value.__qualname__}.{m}": getattr(f, "fget", f)
                              for m, f in _methods(value) if not isinstance(f, property)})
            elif inspect.isfunction(value) and value.__module__.startswith("xbarmem"):
                funcs[value.__qualname__] = value
    assert {"load_mnist", "random_subset", "HiddenRule.width"} <= set(funcs)
    spelt = {qualname: sorted(set(_parameters(func)) & PATTERN_COUNT_SPELLINGS)
             for qualname, func in funcs.items()}
    assert {q: names for q, names in spelt.items() if names and q not in OTHER_COUNTS} == {}
    assert all(spelt.get(q) for q in OTHER_COUNTS), "an exception no longer needed"
