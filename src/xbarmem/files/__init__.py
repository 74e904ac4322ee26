"""Users' files in and results out: the one boundary every reader and writer goes through.

Reading (:mod:`~xbarmem.files.reading`, :mod:`~xbarmem.files.arrays`) turns every way a file
can be wrong -- missing, a directory, unreadable, not UTF-8, a corrupt gzip body, a corrupt
``.npy`` / ``.npz``, an object array (never unpickled) -- into one
:class:`~xbarmem.errors.FileFormatError` naming the file, and checks the memory it will need
against :mod:`xbarmem.limits` before allocating it. Writing (:mod:`~xbarmem.files.paths`,
:mod:`~xbarmem.files.folders`, :mod:`~xbarmem.files.writing`, :mod:`~xbarmem.files.locks`)
checks every output before any work, writes each result file whole or not at all, removes the
folders a failed command made, and holds a file for one process at a time.

May import :mod:`xbarmem.checks`, :mod:`xbarmem.errors` and :mod:`xbarmem.limits` only (the
layers contract in ``pyproject.toml``); within it, ``paths`` imports none of the others,
``folders`` and ``reading`` import ``paths``, and ``writing``, ``locks`` and ``arrays`` import
those.
"""

from xbarmem.files.arrays import TORCH_SAVE, ArrayFile, is_torch_save, npy_size, what_is
from xbarmem.files.folders import (
    make_folder,
    undone_on_failure,
    undone_on_failure_of,
    written_together,
)
from xbarmem.files.locks import FileLock
from xbarmem.files.paths import (
    as_path,
    broken_link,
    can_create_in,
    check_members_writable,
    check_outputs_in,
    folder_member,
    home_expanded,
    link_target,
    missing,
    no_folder,
    output_file,
    output_folder,
    same_file,
    wrong_suffix,
)
from xbarmem.files.reading import (
    CHUNK,
    MAX_NESTING,
    NestingError,
    NumberError,
    decode,
    gunzip,
    opened,
    parse_text,
    read_bytes,
    read_text,
    unparsed,
)
from xbarmem.files.writing import (
    fingerprint,
    write_atomically,
    write_file,
    write_npy,
    write_replacing,
)

__all__ = ["CHUNK", "MAX_NESTING", "TORCH_SAVE", "ArrayFile", "FileLock", "NestingError",
           "NumberError",
           "as_path", "broken_link", "can_create_in", "check_members_writable", "check_outputs_in",
           "decode", "fingerprint", "is_torch_save",
           "folder_member", "gunzip", "home_expanded", "link_target", "make_folder", "missing",
           "no_folder", "npy_size", "opened", "output_file", "output_folder", "parse_text",
           "read_bytes", "read_text", "same_file", "undone_on_failure", "undone_on_failure_of",
           "unparsed", "what_is", "write_atomically", "write_file", "write_npy", "write_replacing",
           "written_together", "wrong_suffix"]
