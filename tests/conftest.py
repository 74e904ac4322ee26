"""Shared test fixtures.

Torch runs single-threaded in the tests: the networks are small, and on a 2-core machine shared
with other processes a second intra-op thread mostly adds contention.
"""

import pytest
import torch

from xbarmem.data.patterns import load_mnist


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def pats():
    """Four bundled MNIST digits at 5x5 (N = 25), binary."""
    return load_mnist(side=5, n=4, seed=0)


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """``run_cli(*args) -> (exit code, stdout, stderr)``: ``xbarmem *args`` run in-process through
    ``xbarmem.cli.main()`` exactly as the console script does (``sys.argv`` patched), so error
    paths (one-line ``error: ...`` on stderr, exit code 2) are tested as a user sees them."""
    import sys

    from xbarmem import cli

    def run(*args: object) -> tuple[int, str, str]:
        capsys.readouterr()  # drop anything printed before
        monkeypatch.setattr(sys, "argv", ["xbarmem", *map(str, args)])
        code = 0
        try:
            cli.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture(scope="session")
def trained():
    """``trained(patterns, chip, *, fault_seed, program_seed, max_steps, finetune_steps=0,
    window=20)``: a single-layer memory trained by the hardware-adaptive rule on a small step
    budget and programmed -- the one recipe behind the modules' trained-memory fixtures (each
    module keeps its own chip, seeds and budget)."""
    from xbarmem import train

    def make(patterns, chip, *, fault_seed: int, program_seed: int, max_steps: int,
             finetune_steps: int = 0, window: int = 20):
        return train(patterns, chip=chip, rule="adaptive", fault_seed=fault_seed,
                     program_seed=program_seed, max_steps=max_steps,
                     finetune_steps=finetune_steps, window=window)
    return make


@pytest.fixture
def one_thread():
    """One torch thread for the test (restored after): timings and float sums as on a quiet
    machine. Modules use it with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
