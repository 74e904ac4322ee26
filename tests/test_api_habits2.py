"""The Python API under a numpy / PyTorch / scikit-learn user's habits (round 2): seeds that are
numpy integers of any width (``np.uint8``, ``np.int32`` from an array of seeds), and lists of
values given as the 1-D arrays, tensors or ranges a grid search makes (``np.arange``,
``np.linspace``, ``torch.tensor([...])``)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import xbarmem as xm

SRC = Path(__file__).resolve().parents[1] / "src" / "xbarmem"
P = xm.random_patterns(4, 16, seed=0)


def _g(memory) -> list[np.ndarray]:
    return [np.asarray(layer.g_pos).copy() for layer in memory.layers]


def test_every_seed_check_keeps_the_int_it_returns():
    """``check_seed(seed)`` returns the seed as a Python ``int``; a call that dropped it left
    the caller with the user's numpy integer, whose arithmetic (``seed + offset``) overflowed
    in its own dtype (``np.uint8(3)``: OverflowError in ``offset_seed``)."""
    dropped = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
                    and getattr(node.value.func, "id", None) == "check_seed"):
                dropped.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert dropped == []


def _fit_memories(seed):
    memories = [xm.SingleLayerMemory(16, chip="rram")]
    xm.fit_memories(xm.get_rule("hebb"), P, memories, program_seed=seed)
    return memories[0]


def _compare_rules(seed):
    found = xm.compare_rules(P, "rram", ["hebb"], trials=2, fault_seed=seed, program_seed=seed)
    return found["rules"]["hebb"]["cosine"], found["settings"]["program_seed"]


#: entry point -> a function of the seed whose result must not depend on the seed's type
_SEEDED = {
    "train-program_seed": lambda s: xm.train(P, rule="hebb", chip="rram", program_seed=s),
    "train-fault_seed": lambda s: xm.train(P, rule="hebb", chip="rram", fault_seed=s),
    "train-multilayer": lambda s: xm.train(P, arch="multilayer", hidden=4, rule="adaptive",
                                           chip="rram", max_steps=2, finetune_steps=1,
                                           program_seed=s, fault_seed=s),
    "fit_memories": _fit_memories,
    "compare_rules": _compare_rules,
    "memory-fault_seed": lambda s: xm.SingleLayerMemory(16, chip="rram", fault_seed=s),
}


@pytest.mark.parametrize("seed", [np.uint8(250), np.int16(5), np.int32(2**31 - 1),
                                  np.uint32(2**32 - 1)], ids=repr)
@pytest.mark.parametrize("call", sorted(_SEEDED))
def test_numpy_integer_seeds_of_any_width_are_the_seeds_they_hold(call, seed):
    """``xm.train(p, chip="rram", program_seed=np.uint8(3))`` (and ``fit_memories``,
    ``compare_rules``) raised ``OverflowError: Python integer 4294967296 out of bounds for
    uint8`` deep in the seeding; ``memory.info["program_seed"]`` held the numpy integer."""
    got, want = _SEEDED[call](seed), _SEEDED[call](int(seed))
    if isinstance(want, tuple):
        assert got == want and type(got[1]) is int
        return
    assert got.faults == want.faults
    if got.programmed:
        assert all(np.array_equal(a, b) for a, b in zip(_g(got), _g(want), strict=True))
    if "program_seed" in want.info:
        assert type(got.info["program_seed"]) is int
        assert got.info["program_seed"] == want.info["program_seed"]
