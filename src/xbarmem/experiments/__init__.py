"""Experiments: sweep files, the trial function, a crash-safe results store, execution on a
local process pool or a Dask cluster, figures from the store, and ``xbarmem reproduce``.

* :mod:`.sweep` -- TOML sweep files: validation (before anything runs) and grid expansion.
* :mod:`.trial_options` -- what a sweep file may say: its ``[sweep]`` keys and every trial
  option with its default, rule and help.
* :mod:`.resolve` -- the resolved configuration of one trial and its hash (the store key).
* :mod:`.trial` -- turns trial configurations into result rows (batched training of the
  hardware-adaptive networks of one group).
* :mod:`.store` -- SQLite results store (WAL, idempotent inserts, safe under kill -9 and
  concurrent writers, claims that split a sweep between runners; foreign files refused
  untouched, read-only opening), listing, filtering, CSV / Parquet export.
* :mod:`.store_file` -- the store's schema and what an existing file is, read before it is
  touched (refused untouched unless it is a store of this schema); creating the schema;
  read-only opening.
* :mod:`.store_rows` -- the checks of a row before it is stored, and stored rows read back.
* :mod:`.store_where` -- the ``WHERE`` clause of ``--sweep`` and ``--where`` (fields as SQL)
  and the check that the rows it reads hold JSON SQLite can read.
* :mod:`.claims` -- who claims a group of trials (``Claimant``), whether a claim is still
  held, and the store's table of claims.
* :mod:`.fields` -- row fields as dotted names and ``--where`` conditions.
* :mod:`.grouping` -- stored rows grouped by fields, with the mean, std and n of every metric
  (``xbarmem results --group-by``).
* :mod:`.runner` -- runs the missing trials of a sweep; only the driver writes the store.
* :mod:`.executors` -- where the groups run: in-process, on a process pool or on Dask.
* :mod:`.pool` -- the local process pool's workers, which a command may start ahead of need.
* :mod:`.reproduce` -- the paper's headline experiments and ``report.md`` (a package: the
  driver, the shared report machinery, one module per claim).
* :mod:`.demo` -- ``xbarmem demo``: every rule on the same faulty chips.

May import: every library layer below it (viz, deploy, energy, evaluation, learning, memory,
hardware, data, base modules); never cli.
"""

from xbarmem.experiments.store import ResultStore
from xbarmem.experiments.sweep import SweepSpec, load_sweep, parse_sweep

__all__ = ["ResultStore", "SweepSpec", "load_sweep", "parse_sweep"]
