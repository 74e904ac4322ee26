"""Faults that are not independent: a whole row and a whole column stuck, as a broken word line
or bit line leaves them, built with `FaultMap.from_codes`, saved, and trained for from Python
and from the command line (`xbarmem train --fault-map FILE`).
Writes into the current folder: the fault map `stuck-lines.npz`, the patterns `patterns.npy`
and the command line's model `lines.safetensors` (run it from a scratch folder).
Run: python examples/04_stuck_lines_fault_map.py
"""

import subprocess
import sys

import numpy as np

import xbarmem as xm

chip = xm.load_preset("rram")                       # device fault model, 64x64 arrays
n = 64
arrays = xm.SingleLayerMemory(n, chip).devices()["arrays"]   # N x (N + 1) with the bias row
rows, cols = chip.array.rows, chip.array.cols
codes = np.zeros((arrays, 2, rows, cols), dtype=int)  # 0 free, +1 stuck ON, -1 stuck OFF
codes[0, :, 10, :] = -1                             # array 0: input row 10 stuck OFF, both planes
codes[0, 0, :, 20] = +1                             # array 0: output column 20, G+ stuck ON
faults = xm.FaultMap.from_codes(codes, chip.device)
print(faults)  # one line; faults.summary(chip.device) gives the counts as a dict
faults.save("stuck-lines.npz")

patterns = xm.random_patterns(12, n, seed=0)
protocol = xm.Protocol(level=0.1, probes=10, seed=1)
short = {"max_steps": 100, "finetune_steps": 0, "flip_steps": 0}   # a tiny run
for rule in ("pinv", "adaptive"):
    memory = xm.train(patterns, chip=chip, faults=xm.FaultMap.load("stuck-lines.npz"),
                      rule=rule, **(short if rule == "adaptive" else {}))
    score = xm.evaluate_memory(memory, patterns, protocol)
    print(f"{rule:9s} on stuck lines: cosine {score.cosine:.3f}  exact {score.exact:.2f}")

np.save("patterns.npy", patterns.patterns)
command = [sys.executable, "-m", "xbarmem", "train", "--data", "patterns.npy", "--chip", "rram",
           "--fault-map", "stuck-lines.npz", "--rule", "adaptive",
           *[w for k, v in short.items() for w in ("--rule-option", f"{k}={v}")],
           "-o", "lines.safetensors"]
subprocess.run(command, check=True)
memory = xm.load_memory("lines.safetensors")
score = xm.evaluate_memory(memory, patterns, protocol)
print(f"CLI-trained model: cosine {score.cosine:.3f}, fault map {memory.faults.meta['source']}")
