"""The command line's standard streams when they cannot take what a command prints: closed
before the command starts (``>&-``, ``2>&-``), failing part-way (a full disk behind
``> file``, ``> /dev/full``), or in an encoding that cannot write every character printed (an
ASCII or Latin-1 locale, ``PYTHONIOENCODING=ascii``; a file name that is not UTF-8), or read by a
program that stopped reading (``| head``: a broken pipe, :func:`pipe_closed`)."""

from __future__ import annotations

import codecs
import contextlib
import errno
import io
import os
import re
import signal
import sys
import unicodedata

from xbarmem.errors import causes

#: errors of a write that failed for lack of room or a failing device, not for a wrong path
WRITE_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


#: the exit code of a command whose output was a pipe its reader closed (``| head``): 128 +
#: SIGPIPE's number (141), as the shell reports a program that SIGPIPE ended, and as a
#: command stopped by another signal reports it (:func:`xbarmem.cli.entry.interrupted_code`)
PIPE_CLOSED_CODE = 128 + int(getattr(signal, "SIGPIPE", 13))


def pipe_closed(exc: BaseException) -> bool:
    """Whether ``exc`` is (or was raised from) a write into a pipe whose reader is gone
    (``EPIPE``: ``xbarmem results STORE | head -1`` once ``head`` has its line)."""
    return any(isinstance(e, OSError) and e.errno == errno.EPIPE for e in causes(exc))


def discard_broken() -> None:
    """Point standard output and error at the null device where they cannot be flushed (a
    broken pipe), so that what is still held for them, flushed at exit, is not a second
    error ("Exception ignored ... BrokenPipeError" and exit 120); a stream that still works
    (the terminal beside ``| head``) is kept."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            with contextlib.suppress(OSError, ValueError, AttributeError,
                                     io.UnsupportedOperation):
                _to_null(stream.fileno())
        except AttributeError:  # None: closed before the start
            pass


def closed_output() -> str | None:
    """Why the command cannot print, when standard output is closed (Python then sets
    ``sys.stdout`` to ``None`` and every line it prints is lost without a word) or open for
    reading only, else ``None``. A standard error that cannot be written is pointed at the
    null device first: exit codes still say how a command ended, though nothing can be said,
    and no file the command opens later takes its descriptor (what it printed would go into
    that file)."""
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (kept open until the process ends)
    else:
        fd = _descriptor(sys.stderr)
        if fd is not None and not _writable(fd):
            _to_null(fd)
    if sys.stdout is None or not _writable(_descriptor(sys.stdout)):
        return "standard output is closed: redirect it to a file, or to /dev/null to discard it"
    return None


#: the name of :func:`_plain`, the error handler of the standard streams
PLAIN = "xbarmem-plain"

#: what a character the command prints is written as where the stream's encoding has no such
#: character (other letters: without their accents, else ``?``)
PLAIN_TEXT = {"\u00b1": "+/-", "\u00d7": "x", "\u00b5": "u", "\u03bc": "u", "\u2026": "...",
              "\u2192": "->", "\u2190": "<-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
              "\u2264": "<=", "\u2265": ">=", "\u2248": "~", "\u00b7": ".", "\u00b0": " deg",
              "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a7": "S"}


#: the control characters a terminal acts on instead of showing (C0 but tab, DEL, C1), as
#: ``\xNN``: an escape sequence in a file name recoloured, retitled or cleared the terminal
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if c != 0x09}


#: :data:`_CONTROL` but the line break: what :func:`shown_as_written` escapes
_CONTROL_IN_LINES = {c: v for c, v in _CONTROL.items() if c != 0x0A}


def shown_as_written(text: str) -> str:
    """``text`` with every control character a terminal would act on (:data:`_CONTROL`, line
    breaks kept) as ``\\xNN``: what a command prints on its own lines (``saved PATH``, a
    table's title) names paths, and an escape sequence in one recoloured the terminal."""
    return text.translate(_CONTROL_IN_LINES)


#: a word (no space) longer than any a message needs to show whole: a value typed on the
#: command line echoed by a refusal (``--neurons`` of 5000 characters), cut as
#: :func:`xbarmem.checks.shown` cuts a long text (its first 60 characters and its length)
_LONG_WORD = re.compile(r"\S{301,}")
#: the quote and punctuation that close a word (``'...':``), kept after the cut
_WORD_END = re.compile(r"[\'\"]?[:;,.)]*$")


def _cut_word(match: re.Match[str]) -> str:
    word = match.group()
    end = _WORD_END.search(word).group()  # type: ignore[union-attr]  # (matches "" at least)
    quote, rest = (end[:1], end[1:]) if end[:1] in ("'", '"') else ("", end)
    length = len(word) - len(end) - (1 if word[0] in ("'", '"') else 0)
    return f"{word[:60]}{quote}... ({length} characters){rest}"


def one_line(text: str) -> str:
    """``text`` as one line that a terminal shows as written: its line breaks as spaces (a
    path may hold one), any other control character as ``\\xNN`` (:data:`_CONTROL`), and a
    word of more than 300 characters (a value typed on the command line, echoed) cut to its
    first 60 and its length. Every ``error:``, ``warning:`` and ``note:`` line goes through
    it."""
    return _LONG_WORD.sub(_cut_word, " ".join(text.splitlines()).translate(_CONTROL))


def _plain(exc: UnicodeError) -> tuple[str, int]:
    """Error handler :data:`PLAIN`: the characters ``exc`` could not encode, in ASCII
    (:data:`PLAIN_TEXT`, a letter without its accents, else ``?``); a byte of a file name that
    is not UTF-8 (Python keeps it as a lone surrogate) as ``\\xNN``."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    text = []
    for char in exc.object[exc.start:exc.end]:
        if "\udc80" <= char <= "\udcff":
            text.append(f"\\x{ord(char) - 0xDC00:02x}")
        else:
            bare = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            text.append(PLAIN_TEXT.get(char) or bare or "?")
    return "".join(text), exc.end


def plain_fallback() -> None:
    """Standard output and error write what their encoding has no character for as
    :func:`_plain` does (``+/-`` for a plus-minus sign, ``\\xff`` for a byte of a file name
    that is not UTF-8) instead of ending the command with ``UnicodeEncodeError``, whatever the
    locale; every character their encoding has is written as it is. (Files are written as
    UTF-8 whatever the locale.)"""
    try:
        codecs.lookup_error(PLAIN)
    except LookupError:
        codecs.register_error(PLAIN, _plain)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and not stream.closed:
            with contextlib.suppress(ValueError, OSError, io.UnsupportedOperation):
                stream.reconfigure(errors=PLAIN)


#: what the environment may set the terminal's size with: the shell's width and height, and
#: Typer's width of ``--help``
SIZE_VARIABLES = ("COLUMNS", "LINES", "TERMINAL_WIDTH")


def usable_size_settings() -> None:
    """Drop a terminal size the environment gives that is not a positive whole number
    (:data:`SIZE_VARIABLES`; ``COLUMNS=0`` is set by some CI systems and editors' shells), so
    the terminal's own size applies: Rich drew every line one character wide at ``COLUMNS=0``
    (an error message came out empty) and ``TERMINAL_WIDTH=abc`` ended ``--help`` in a
    ValueError."""
    for name in SIZE_VARIABLES:
        value = os.environ.get(name)
        if value is not None and not (value.strip().isdigit() and int(value) > 0):
            del os.environ[name]


def _descriptor(stream: object) -> int | None:
    """``stream``'s file descriptor; ``None`` for one without (a test's capture)."""
    try:
        return stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        return None


def _writable(fd: int | None) -> bool:
    """Whether ``fd`` is open for writing (``True`` for ``None``: no descriptor to check).
    A closed descriptor may have been taken by a file the shell or Python opened since, open
    for reading: that counts as closed."""
    if fd is None:
        return True
    try:
        import fcntl
    except ImportError:  # Windows: whether it is open at all
        try:
            os.fstat(fd)
        except OSError:
            return False
        return True
    try:
        mode = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
    except OSError:
        return False
    return mode in (os.O_WRONLY, os.O_RDWR)


def write_failure(exc: OSError) -> str | None:
    """The one-line message for ``exc`` when it is a write that failed for lack of room or
    a failing device (:data:`WRITE_FAILURES`), else ``None``. Standard output is then pointed
    at the null device if it cannot be flushed, so Python's own flush at exit does not fail
    again with a traceback."""
    if exc.errno not in WRITE_FAILURES:
        return None
    try:
        sys.stdout.flush()
    except OSError:
        with contextlib.suppress(OSError, ValueError, AttributeError, io.UnsupportedOperation):
            _to_null(sys.stdout.fileno())
    where = f" ({exc.filename})" if exc.filename else ""
    return f"writing failed: {exc.strerror}{where}"


def discard_output() -> None:
    """Point standard output and error at the null device (a terminal that is gone: every
    write fails with EIO), so that nothing printed or flushed at exit fails again."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError, io.UnsupportedOperation):
            _to_null(stream.fileno())


def _to_null(fd: int) -> None:
    null = os.open(os.devnull, os.O_WRONLY)
    if null != fd:
        os.dup2(null, fd)
        os.close(null)
