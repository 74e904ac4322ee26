"""The package version (one place; stored with every model, trial and report), the versions
of the packages that compute a result (:func:`versions`, recorded with every model and every
command's results), and the words of a refusal of a file written in another format version
(:func:`format_advice`)."""

from importlib import metadata

__version__ = "0.3.0.dev0"

#: the installed packages whose versions decide a result's numbers, in the order recorded
RECORDED_PACKAGES = ("xbarmem", "torch", "numpy")


def versions() -> dict[str, str]:
    """``{"xbarmem", "torch", "numpy"}``: each installed package's version as its metadata
    states it (``"unknown"`` where there is none), read without importing the package; what a
    model file's ``versions`` and every computing command's JSON record."""
    out = {}
    for pkg in RECORDED_PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def format_number(tag: object, name: str) -> int | None:
    """The number ``N`` of a format tag ``NAME/N`` of this ``name`` (``xbarmem-model/2`` -> 2),
    else None (another name, or not a tag: not such a file at all)."""
    if not isinstance(tag, str) or not tag.startswith(f"{name}/"):
        return None
    number = tag[len(name) + 1:]
    return int(number) if number.isascii() and number.isdigit() and len(number) < 6 else None


def format_advice(found: int, reads: int, written_by: object = None) -> str:
    """The end of the refusal of a file of format number ``found`` where this version
    ``reads`` another: which xbarmem wrote it (``written_by``, the version the file records,
    when it holds one) and what to do -- a later format needs a later xbarmem, an earlier one
    the xbarmem that wrote it."""
    by = (f"written by xbarmem {written_by}, " if isinstance(written_by, str)
          and 0 < len(written_by) <= 40 and all(c.isascii() and (c.isalnum() or c in ".+-")
                                                for c in written_by) else "")
    if found > reads:
        return (f"{by}a later format than this xbarmem ({__version__}) reads: install a later "
                "xbarmem to read it")
    return (f"{by}an earlier format than this xbarmem ({__version__}) reads: read it with the "
            "xbarmem that wrote it")
