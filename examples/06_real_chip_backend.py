"""A backend for "a real chip": a class that holds the conductances and adds its own write and
read errors, behind the `ChipBackend` protocol (docs/backends.md, docs/extending.md), then
chip-in-the-loop adaptation through it.
Run: python examples/06_real_chip_backend.py
"""

import numpy as np
import torch

import xbarmem as xm
from xbarmem.deploy.backend import BackendMemory, layers_of
from xbarmem.deploy.chip_loop import adapt


class MyChip:
    """One layer [W | b] on "the chip": writes land 8% low plus 3 uS of scatter, every read
    (read-back or product) sees 0.5 uS of fresh read error. Siemens in, weight units out."""

    def __init__(self, layer, seed=0):
        dev = layer.chip.device
        self.n_in, self.n_out = layer.n_in, layer.n_out           # the protocol's attributes
        self.rows = layer.n_in + int(layer.has_bias)              # + the bias row, driven at +1
        self.g_min, self.g_max, self.w_max = dev.g_min, dev.g_max, layer.w_max
        self.g = np.full((2, self.n_out, self.rows), self.g_min)  # (plane, output, input row)
        self.rng = np.random.default_rng(seed)

    def program(self, targets):                                  # siemens; NaN = leave
        write = ~np.isnan(targets)
        landed = 0.92 * np.nan_to_num(targets) + 3e-6 * self.rng.standard_normal(targets.shape)
        self.g = np.where(write, np.clip(landed, self.g_min, self.g_max), self.g)
        return int(write.sum())

    def read_back(self):                                         # (2, n_out, rows) siemens
        return self.g + 0.5e-6 * self.rng.standard_normal(self.g.shape)

    def matvec(self, x, generator=None):                         # (B, n_in) -> (B, n_out)
        g = self.read_back()
        w = torch.as_tensor((g[0] - g[1]) * self.w_max / (self.g_max - self.g_min),
                            dtype=torch.float32)
        if self.rows > self.n_in:
            x = torch.cat([x, torch.ones(len(x), 1)], dim=1)
        return x @ w.T

    def read_outputs(self, x, outputs, generator=None):         # one output per row: (B,)
        return self.matvec(x)[torch.arange(len(x)), outputs]


patterns = xm.random_patterns(8, 32, seed=0)
memory = xm.train(patterns, chip="rram", rule="adaptive", max_steps=100, finetune_steps=0)
chips = [MyChip(layer, seed=k) for k, layer in enumerate(layers_of(memory))]
BackendMemory(memory, chips).program_targets()
score = xm.evaluate_memory(BackendMemory(memory, chips), patterns, xm.Protocol(probes=10))
print(f"open loop on the chip: cosine {score.cosine:.3f}")
result = adapt(memory, chips, patterns, rounds=2, target=0.999, tolerance=3e-6,
               trainer=xm.AdaptiveTrainer(max_steps=100, finetune_steps=0))
for entry in result.rounds:
    print(f"round {entry['round']}: fixed {entry['fixed']} devices, cosine {entry['cosine']:.3f}")
