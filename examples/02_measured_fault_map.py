"""A device researcher's flow: a measured 64x64 array -> what can it store, what to program.

The measured data here is synthetic (a stuck-code map: 0 free, +1 stuck ON, -1 stuck OFF, one
plane per polarity); replace it with your own `.npy` of shape (2, 64, 64).
Writes into the current folder: the trained model `measured-chip-model.safetensors` and its
export, the folder `measured-chip-export` (run it from a scratch folder).
Run: python examples/02_measured_fault_map.py
"""

import numpy as np

import xbarmem as xm
from xbarmem.deploy.export import export_memory

rng = np.random.default_rng(42)
codes = rng.choice([-1, 0, 1], size=(2, 64, 64), p=[0.15, 0.75, 0.10])  # "measured" array
chip = xm.load_preset("rram")
faults = xm.FaultMap.from_codes(codes, chip.device)
print(faults)  # one line; faults.summary(chip.device) gives the counts as a dict

digits = xm.load_digits(kind="binary", one_per_class=True)
# one measured array has 64 rows: store without the bias row so the memory fits on it
memory = xm.train(digits.patterns, chip=chip, faults=faults, rule="adaptive", bias=False)
score = xm.evaluate_memory(memory, digits, xm.Protocol(level=0.1, probes=20))
print(f"recall from 10% flips: cosine {score.cosine:.3f}, exact {score.exact:.2f}")
xm.save_memory(memory, "measured-chip-model.safetensors", patterns=digits)
print("saved measured-chip-model.safetensors")
# what to program: the export's targets (not memory.crossbar.planes(), the simulated chip's
# conductances as written, with its write error); devices.csv lists them per device in uS
export_memory(memory, "measured-chip-export", patterns=digits)
targets = np.load("measured-chip-export/targets_S.npy")  # (arrays, 2, rows, cols) siemens
print("targets to program (uS), G+ of array 0, row (input) 0, columns (outputs) 0-4:",
      ", ".join(f"{g * 1e6:.2f}" for g in targets[0, 0, 0, :5]))
print("every device: measured-chip-export/devices.csv (array, row, col, polarity, target_uS)")
