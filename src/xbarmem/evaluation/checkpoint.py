"""Resuming capacity searches: every tested count kept in a JSON file as it is measured.

A :class:`SearchCheckpoint` holds the points of one or more named capacity searches (one per
pattern size ``N`` in a scaling run, one per architecture in ``xbarmem capacity``) under a
*key*: everything a point's value depends on (architecture, data -- a user's patterns and
fault map by :func:`fingerprint` --, rule, chip, recall protocol, trials, seed, trainer
options with their defaults (``trainer``: a default changed since the points were measured
is another key), xbarmem's version and the torch thread count, which can change the
numbers), but not the thresholds, resolution or sizes, which only decide which counts are
tested. A search started
again with the same key reuses the kept points (:func:`xbarmem.evaluation.capacity.find_capacity`,
``measured=``) and so goes the same way to the same capacities, training only the counts it
had not reached. The file is plain JSON (never unpickled), replaced atomically after every
point, so a run killed at any moment leaves the points measured before; a file that holds
another key, or whose points are damaged, is set aside with a warning and the search starts
anew; a file that is no such checkpoint (another program's JSON) is refused, left as it is.
One run at a time uses a file: from construction until :meth:`SearchCheckpoint.close` (or the
process ends), another process's checkpoint of the same file is refused
(:class:`~xbarmem.files.FileLock`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from xbarmem.checks import check_callback, check_type, shown
from xbarmem.errors import ConfigError, caller_stacklevel, warn
from xbarmem.files import (
    FileLock,
    as_path,
    fingerprint,
    make_folder,
    output_folder,
    parse_text,
    read_text,
    undone_on_failure,
    write_file,
)
from xbarmem.jsontext import dumps, plain
from xbarmem.version import __version__

__all__ = ["SearchCheckpoint", "check_entry", "fingerprint"]

_FORMAT = "xbarmem capacity-search checkpoint"
#: the key's own entries as a warning names them: the words of ``--threads`` and ``--version``
_SHOWN = {"torch_threads": "threads", "xbarmem": "xbarmem version",
          "trainer": "trainer options with their defaults"}
#: the entries of xbarmem's own keys that checkpoints written by earlier versions lack
_ADDED = ("trainer",)


class SearchCheckpoint:
    """The points of capacity searches under ``key``, kept in ``path`` (see the module
    docstring). :meth:`measured` gives one size's points to pass to ``find_capacity``;
    :meth:`save` writes them all; :meth:`remove` deletes the file once the run is done."""

    def __init__(self, path: str | Path, key: dict[str, Any]) -> None:
        check_type(key, dict, "key", "a dict (the settings the points depend on)")
        try:
            key_text = dumps({"xbarmem": __version__, "torch_threads": torch.get_num_threads(),
                              **key})
        except (TypeError, ValueError, RuntimeError, NotImplementedError) as exc:
            raise ConfigError(f"key must hold JSON values only (texts, numbers, lists, dicts, "
                              f"arrays): {str(exc)[:80]}") from None
        self.path = as_path(path, "checkpoint")
        if self.path.is_dir():
            raise ConfigError(f"checkpoint {self.path}: a file path is needed, not a folder")
        output_folder(self.path.parent, "checkpoint", "checkpoint", error=ConfigError)
        folder = next(f for f in self.path.absolute().parents if f.exists())
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ConfigError(f"checkpoint {self.path}: cannot write in {folder}")
        self.key = json.loads(key_text)
        self._searches: dict[str, dict[int, dict[str, Any]]] = {}
        self._lock = FileLock(self.path, "checkpoint", error=ConfigError)  # (one run at a time)
        self.resumed = self._load()

    def _load(self) -> int:
        """Reads the kept points when the file holds this key; returns how many."""
        data = self._own_file()
        if data is None:
            return 0
        try:
            if data["key"] != self.key:
                differ = sorted(_SHOWN.get(k, k) for k in {*data["key"], *self.key}
                                if data["key"].get(k) != self.key.get(k))
                unrecorded = [_SHOWN[k] for k in _ADDED if k in self.key and k not in data["key"]]
                others = [d for d in differ if d not in unrecorded]
                why = (f"were measured by an earlier xbarmem, which did not record "
                       f"{', '.join(unrecorded)}"
                       + (f", and are of other settings ({', '.join(map(str, others))})"
                          if others else "") if unrecorded else
                       f"are of other settings ({', '.join(map(str, differ))})")
                warn(f"{self.path}: the points kept there {why}; this run starts anew and "
                     f"replaces them", stacklevel=caller_stacklevel())
                return 0
            self._searches = {str(name): {int(p): _entry(e, int(p)) for p, e in points.items()}
                              for name, points in data["points"].items()}
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError,
                AttributeError) as exc:
            warn(f"{self.path}: not a readable capacity-search checkpoint ({exc}); "
                 "this run starts anew and replaces it", stacklevel=caller_stacklevel())
            self._searches = {}
            return 0
        return sum(len(points) for points in self._searches.values())

    def _own_file(self) -> dict[str, Any] | None:
        """The file's JSON object when it is a capacity-search checkpoint; None when there is
        no file or it is empty (a new checkpoint). Any other file -- another program's JSON,
        an export's manifest, text that is not JSON -- is not this run's to replace (it is
        deleted once the search completes): :class:`ConfigError`, before any work."""
        if not self.path.exists():
            return None
        text = read_text(self.path, "checkpoint")
        if not text.strip():
            return None
        try:
            data = parse_text(json.loads, text)
        except ValueError as exc:
            data, why = None, f"not JSON: {str(exc)[:60]}"
        else:
            why = "JSON of another kind"
        if not (isinstance(data, dict) and data.get("format") == _FORMAT):
            raise ConfigError(f"checkpoint {self.path}: not a capacity-search checkpoint "
                              f"({why}); refusing to replace it: name a new file, or remove "
                              f"it")
        return data

    def measured(self, search: str) -> dict[int, dict[str, Any]]:
        """The points of the search named ``search`` (filled in place by the search)."""
        check_type(search, str, "search", "a text (the search's name)")
        return self._searches.setdefault(search, {})

    def saving(self, then: Callable[[int, float], None] | None = None
               ) -> Callable[[int, float], None]:
        """A search's ``progress(count, similarity)`` callback that saves the file, then
        calls ``then``."""
        check_callback(then, "then")

        def tested(count: int, similarity: float) -> None:
            self.save()
            if then is not None:
                then(count, similarity)

        return tested

    def save(self) -> None:
        """Writes every point kept so far (the file is replaced in one step:
        :func:`~xbarmem.files.write_file`)."""
        text = dumps({"format": _FORMAT, "key": self.key, "points": plain(self._searches)})
        with undone_on_failure():
            make_folder(self.path.parent)
            write_file(self.path, text)

    def remove(self) -> None:
        """Deletes the file (the run it served is complete) and ends :meth:`close`."""
        self.path.unlink(missing_ok=True)
        self.close()

    def __enter__(self) -> SearchCheckpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Lets another run use the file: from construction until then (or until this
        process ends), another :class:`SearchCheckpoint` of the same file is refused
        (:class:`~xbarmem.files.FileLock`)."""
        self._lock.release()


def _entry(entry: dict[str, Any], kept_as: int) -> dict[str, Any]:
    """A kept point as the search made it: a cosine written as null (NaN) read back as NaN;
    ValueError for a point that is not one (a count that is not the ``kept_as`` it is kept
    under, a similarity that is no number)."""
    point, devices = dict(entry["point"]), dict(entry["devices"])
    for name in ("cosine", "exact", "hamming"):
        if name in point and point[name] is None:
            point[name] = math.nan
    count, cosine = point.get("count"), point.get("cosine")
    if (isinstance(count, bool) or count != kept_as or kept_as < 1
            or isinstance(cosine, bool) or not isinstance(cosine, int | float)):
        raise ValueError(f"a point {count!r} / {cosine!r} is not a count and its similarity")
    return {"point": point, "devices": devices}


def check_entry(entry: Any, count: int, name: str) -> None:
    """Refuse (:class:`ConfigError` naming ``name``) an ``entry`` that is not a point a search
    made for ``count`` patterns (:func:`_entry`'s rule: ``{"point": {"count": count, "cosine":
    a number, ...}, "devices": {...}}``)."""
    try:
        _entry(entry, count)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ConfigError(f"{name} must be a point kept by a search ({{'point': {{'count': "
                          f"{count}, 'cosine': ...}}, 'devices': {{...}}}}), got "
                          f"{shown(entry)}") from None
