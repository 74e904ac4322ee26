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
