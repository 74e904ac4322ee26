"""A device researcher's flow: a measured 64x64 array -> what can it store, what to program.

The measured data here is synthetic (a stuck-code map: 0 free, +1 stuck ON, -1 stuck OFF, one
plane per polarity); replace it with your own `.npy` of shape (2, 64, 64).
Run: python examples/02_measured_fault_map.py
"""

import numpy as np

import xbarmem as xm

rng = np.random.default_rng(42)
codes = rng.choice([-1, 0, 1], size=(2, 64, 64), p=[0.15, 0.75, 0.10])  # "measured" array
chip = xm.load_preset("rram")
faults = xm.FaultMap.from_codes(codes, chip.device)
print(faults.summary(chip.device))

digits = xm.load_digits(kind="binary", one_per_class=True)
# one measured array has 64 rows: store without the bias row so the memory fits on it
memory = xm.train(digits.patterns, chip=chip, faults=faults, rule="adaptive", bias=False)
score = xm.evaluate_memory(memory, digits, xm.Protocol(level=0.1, probes=20))
print(f"recall from 10% flips: cosine {score.cosine:.3f}, exact {score.exact:.2f}")
print("conductances to program (siemens), G+ of output 0, first 5 inputs:",
      memory.crossbar.planes()[0][0, :5])
xm.save_memory(memory, "measured-chip-model.safetensors", patterns=digits)
print("saved measured-chip-model.safetensors")
