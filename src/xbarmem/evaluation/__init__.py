"""Evaluation: how well memories recall, and how many patterns they hold.

``metrics`` (cosine, Hamming, exact recall), ``evaluate`` (protocols, cues, scores of one or many
memories, rule comparison), ``curve`` (the one recall-vs-stored-patterns curve for single and
multilayer memories, and capacity read-outs), ``capacity`` (capacity search over curve points),
``scaling`` (capacity against pattern size, power-law fits).

May import ``learning``, ``memory``, ``hardware``, ``data`` and the base modules (spec, seeds,
jsontext, files, checks, limits, sizes, names, errors, version); never ``energy``, ``deploy``,
``viz``, ``experiments`` or ``cli``.
"""
