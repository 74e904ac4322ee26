"""The Python API as a PyTorch / scikit-learn user scripts it from outside: the first call of a
process leaves the user's global random streams alone, and tensors in the forms torch hands out
(negative-bit views, sparse, quantized) are read wherever a tensor is taken or returned."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

_FRESH = textwrap.dedent("""
    import random, sys
    import numpy as np
    import torch
    import xbarmem as xm

    torch.manual_seed(7); np.random.seed(7); random.seed(7)

    def states():
        return torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate()

    moved = []
    for name, call in [("load_digits", lambda: xm.load_digits(n_patterns=3)),
                       ("load_patterns digits", lambda: xm.load_patterns("digits")),
                       ("load_glyphs", lambda: xm.load_glyphs(n_patterns=3))]:
        before = states()
        call()
        after = states()
        if not (torch.equal(before[0], after[0]) and np.array_equal(before[1], after[1])
                and before[2] == after[2]):
            moved.append(name)
    print(moved)
""")


def test_the_first_load_of_a_process_moves_no_global_random_state(tmp_path):
    """scikit-learn's import (read by ``load_digits`` the first time in a process) imports
    rich, whose ``rich.style`` draws ``random.getrandbits(24)``: a user's ``random.seed(0)``
    before ``xm.load_digits()`` gave other draws after it, where the guide promises that no
    function of xbarmem moves Python's, numpy's or torch's global random state. The import runs
    inside :func:`~xbarmem.seeds.global_random_kept`. A fresh process: in this one scikit-learn
    may be imported already."""
    script = tmp_path / "s.py"
    script.write_text(_FRESH)
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                         text=True, check=True, timeout=600)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_global_random_kept_restores_every_state_also_on_an_error():
    import random

    import numpy as np
    import torch

    from xbarmem.seeds import global_random_kept

    random.seed(1)
    np.random.seed(1)
    torch.manual_seed(1)
    before = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state())
    with pytest.raises(KeyError), global_random_kept():
        random.random(), np.random.rand(), torch.rand(1)
        raise KeyError("x")
    assert random.getstate() == before[0]
    assert np.array_equal(np.random.get_state()[1], before[1])
    assert torch.equal(torch.get_rng_state(), before[2])
