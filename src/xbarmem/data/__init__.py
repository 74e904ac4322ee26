"""Patterns and cues: built-in data sets, users' files, validation and seeded corruption.

* :mod:`~xbarmem.data.patterns` -- :class:`PatternSet` (validated ``(P, N)`` float32 patterns
  with kind, labels and image shape), the checks every pattern matrix passes, images to
  patterns.
* :mod:`~xbarmem.data.builtin` -- the bundled MNIST subset and font glyphs (``datasets/``),
  scikit-learn's 8x8 digits, random and correlated patterns.
* :mod:`~xbarmem.data.readers` -- users' files (``.npy``/``.npz``/``.csv``/MNIST IDX, gzip'd
  or not).
* :mod:`~xbarmem.data.sources` -- a source by name (built-in set, drawn patterns or a file),
  by image side (``load_patterns``) or by N (``patterns_for``).
* :mod:`~xbarmem.data.corruption` -- seeded cue corruption: bit flips, Gaussian noise,
  occlusion, salt-and-pepper.

May import: the base modules (spec, seeds, jsontext, files, checks, limits, sizes, names,
errors, version) only; independent of the chip model.
"""
