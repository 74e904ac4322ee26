"""A cue corruption of your own: a block of random pixels at a random place of each image.

A corruption is a function `f(x, level, generator) -> tensor` like `xm.flip_bits`: `x` the
clean cues (B, N), `level` its strength, `generator` the torch.Generator for all its random
draws (so cues are reproducible). Put it in a `Protocol` and every evaluation uses it.
Run: python examples/05_custom_corruption.py
"""

import math

import torch

import xbarmem as xm


def noisy_block(x, level, generator):
    """Replace a square block covering about `level` of each square image by random +-1."""
    b, n = x.shape
    side = math.isqrt(n)
    k = max(1, round(side * math.sqrt(level)))                   # block side
    top = torch.randint(0, side - k + 1, (b, 1, 1), generator=generator)
    left = torch.randint(0, side - k + 1, (b, 1, 1), generator=generator)
    r = torch.arange(side)
    inside = (((r[:, None] >= top) & (r[:, None] < top + k))
              & ((r[None, :] >= left) & (r[None, :] < left + k))).reshape(b, n)
    noise = torch.where(torch.rand(b, n, generator=generator) < 0.5, -1.0, 1.0)
    return torch.where(inside, noise, x)


digits = xm.load_mnist(side=8, kind="binary", one_per_class=True)      # (10, 64) in {-1,+1}
chip = xm.load_preset("rram").with_faults(0.2)
memory = xm.train(digits, chip=chip, rule="adaptive", max_steps=150, finetune_steps=0)
for corruption in ("occlude", noisy_block):
    protocol = xm.Protocol(corruption=corruption, level=0.25, probes=10, seed=1)
    score = xm.evaluate_memory(memory, digits, protocol)
    print(f"{protocol.as_dict()['corruption']:12s} 25%: cosine {score.cosine:.3f}  "
          f"exact {score.exact:.2f}")

table = xm.compare_rules(digits, chip, ["pinv", "hebb"], trials=2,
                         protocol=xm.Protocol(corruption=noisy_block, level=0.25, probes=10))
for name, entry in table["rules"].items():
    print(f"{name:5s} under noisy_block: cosine {entry['cosine']:.3f}")
