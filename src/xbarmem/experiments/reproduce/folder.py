"""The files of a report's folder a run replaces or reads back, checked before any work.

``xbarmem reproduce --out DIR`` writes its report, figures and energy cache into DIR by fixed
names (:func:`~xbarmem.experiments.reproduce.output_names`). DIR may be a folder of the user's
(a paper's folder holding its own ``report.md``): a file of such a name that no run of
``reproduce`` wrote is refused (:func:`check_own_files`), not replaced; a report of another run
(other sections, seed, recipe, quick or full) is replaced with a warning naming it
(:func:`warn_replaced`).
"""

from __future__ import annotations

from pathlib import Path

from xbarmem.errors import ConfigError, FileFormatError, warn

#: the first line of every report a run writes begins so
REPORT_HEAD = "# xbarmem reproduce"
#: a PNG file's first bytes, and the text chunk matplotlib writes near its start
PNG_MAGIC, PNG_WRITER = b"\x89PNG\r\n\x1a\n", b"Software\x00Matplotlib"


def _first_line(path: Path) -> str:
    with open(path, "rb") as fh:
        return fh.readline(4096).decode("utf-8", "replace").rstrip("\r\n")


def _why_not_ours(path: Path) -> str:
    """Why ``path`` (an existing regular file) is not one a run of ``reproduce`` wrote, or
    ``""`` when it is (or its kind is not recognised: then it is replaced as documented)."""
    if path.suffix == ".md":
        line = _first_line(path)
        return "" if line.startswith(REPORT_HEAD) else "its first line is not a report's head"
    if path.suffix == ".png":
        with open(path, "rb") as fh:
            head = fh.read(4096)
        return "" if head.startswith(PNG_MAGIC) and PNG_WRITER in head else \
            "not a figure xbarmem drew"
    if path.suffix == ".json":
        from xbarmem.experiments.reproduce.energy import _cached

        try:
            _cached(path)
        except FileFormatError as exc:
            return str(exc).removeprefix(f"{path}: ").split("; delete it")[0]
    return ""


def check_own_files(folder: str | Path, names: list[str], store: str = "") -> None:
    """Refuse (:class:`ConfigError`), before any work, a file of ``folder`` named in
    ``names`` (the files a run writes or reads back there) that a run of ``reproduce`` did
    not write: a report whose first line is not a report's head, a figure that is not a PNG
    matplotlib drew, an energy cache that is not one (unreadable, or an entry missing). The
    results store (``store``, its name) is left to :class:`ResultStore`, which refuses a
    file that is not a store. Nothing in a folder still to be made."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for name in names:
        path = folder / name
        if name == store or not path.is_file():
            continue
        why = _why_not_ours(path)
        if why:
            raise ConfigError(f"cannot write the report in {folder}: {name} exists and is not "
                              f"a file xbarmem reproduce wrote ({why}); move it away, or give "
                              f"another --out")


def report_title(path: Path) -> str | None:
    """The title of the report at ``path`` (its first line without ``#`` and the paper), or
    None when there is no report there."""
    if not path.is_file():
        return None
    line = _first_line(path)
    if not line.startswith(REPORT_HEAD):
        return None
    return line.removeprefix("# ").split(": He et al.")[0]


def warn_replaced(path: Path, title: str) -> None:
    """Warn when the report at ``path`` is of another run than ``title``'s (its sections,
    seed, recipe, products, quick or full): this run replaces it (the rows stay in the
    store). Nothing when there is none or it is of the same run."""
    found = report_title(path)
    if found is not None and found != title:
        warn(f"{path} is the report of `{found}`: this run replaces it and its figures (its "
             f"rows stay in the store; give another --out to keep both)")
