"""The entry point (:func:`main`): runs the command and turns library errors into one line
``error: ...`` with exit code 2, a full disk or a closed pipe into its own exit, Ctrl-C and stop
signals (SIGTERM, SIGHUP) into one ``aborted`` line and the stop's exit code; Python warnings
raised while a command runs become ``warning:`` lines (:mod:`xbarmem.cli.messages`).
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from queue import SimpleQueue
from types import FrameType
from typing import Any, NoReturn, Protocol, TypeGuard

import typer
from rich.console import Console
from rich.markup import escape

from xbarmem.cli import apps, messages, streams
from xbarmem.cli.apps import PipeClosed, Stopped, app, cli_hints
from xbarmem.cli.messages import warn
from xbarmem.cli.option_types import unconverted
from xbarmem.cli.tables import console
from xbarmem.errors import XbarmemError, XbarmemWarning, causes
from xbarmem.files import undone_on_failure
from xbarmem.limits import out_of_descriptors


@contextlib.contextmanager
def _warning_lines() -> Iterator[None]:
    """Inside, each distinct :class:`~xbarmem.errors.XbarmemWarning` (a value probably not
    meant, e.g. a chip's noise as wide as its window) is printed once, when issued, as one
    :func:`warn` line (Python prints two, naming a source line), its ``(CLI: --option)``
    pointers read as errors' are (:func:`cli_hints`); other warnings as Python does."""
    shown: set[str] = set()
    with warnings.catch_warnings():
        python = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if not issubclass(category, XbarmemWarning):
                python(message, category, filename, lineno, file, line)
            elif str(message) not in shown:
                shown.add(str(message))
                warn(cli_hints(" ".join(str(message).split())))

        warnings.showwarning = show
        yield


#: signals that stop a command as Ctrl-C does (:class:`Terminated`): SIGTERM (``kill PID``, a
#: batch system ending a job) and SIGHUP (the terminal or SSH session closed, ``kill -HUP``);
#: Python's default for both ends the process at once, without a word, a checkpoint's or
#: report's writer cut short
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                     if hasattr(signal, name))


class Terminated(KeyboardInterrupt):
    """A stop signal (:data:`STOP_SIGNALS`) received by a command: raised where Python raises
    :class:`KeyboardInterrupt` for Ctrl-C, so a command stops as it does on Ctrl-C -- stored
    results kept, one line saying how to resume -- with exit code 128 + the signal's number
    (SIGTERM 143, SIGHUP 129)."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)
        self.signum = int(signum)


def _stopped_by(exc: BaseException) -> Terminated | None:
    """The stop signal (:class:`Terminated`) that ``exc`` was raised while handling, if any: a
    command stopped by SIGHUP because its terminal closed fails to print its last line (EIO),
    and then ends quietly with the signal's exit code (129), not as a failed write (1)."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, Terminated):
        cause = cause.__cause__ or cause.__context__
    return cause


def interrupted_code(exc: BaseException) -> int:
    """The exit code of a command stopped by ``exc`` (or by what caused it: click turns an
    interrupt into ``Abort``): 128 + the signal's number for a stop signal (:class:`Terminated`:
    SIGTERM 143, SIGHUP 129), 130 for Ctrl-C."""
    stop = _stopped_by(exc)
    return 130 if stop is None else 128 + stop.signum


def _terminate(signum: int, frame: FrameType | None) -> None:
    """The handler of Ctrl-C (SIGINT: :class:`KeyboardInterrupt`) and of each of
    :data:`STOP_SIGNALS` (:class:`Terminated`) inside :func:`main`. Run inside
    :func:`_swallowed`, where an exception would be swallowed too, it raises nothing and has
    the signal delivered again (:func:`_again`)."""
    while frame is not None:
        if frame.f_code is _swallowed.__code__:
            _again(signum)
            return
        frame = frame.f_back
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def _swallowed(unraisable: Any) -> None:
    """``sys.unraisablehook`` inside :func:`main`. A signal's exception raised while a
    finalizer ran (a Dask future's ``__del__``, as a sweep's group ended) is one Python
    cannot raise: it printed the exception's traceback and went on, and the command then
    finished with exit 0, as if the signal had never come. Such a signal (one handled by
    :func:`_terminate`) is now delivered again (:func:`_again`), and its exception stops the
    command once the finalizer is over. Anything else goes to the previous hook."""
    exc = unraisable.exc_value
    signum = getattr(exc, "signum", signal.SIGINT)
    if isinstance(exc, KeyboardInterrupt) and signal.getsignal(signum) is _terminate:
        _again(signum)
    else:
        (_hooks[-1] if _hooks else sys.__unraisablehook__)(unraisable)


#: the ``sys.unraisablehook`` each :func:`_stop_signals_stop` replaced, innermost last
_hooks: list[Any] = []

#: the signals :func:`_again` is to deliver again, and the thread that does (once started)
_redelivered: SimpleQueue[int] = SimpleQueue()

_redeliverer: list[threading.Thread] = []


def _again(signum: int) -> None:
    """Have the main thread's handler of ``signum`` run again, soon, from another thread
    (``_thread.interrupt_main``): asked for in the main thread, the handler would run at
    once, in the code that asked (:func:`_swallowed`); it runs where the main thread is then,
    and asks again if that is still there."""
    _redelivered.put(signum)
    if not _redeliverer:
        thread = threading.Thread(target=_redeliver, name="xbarmem signals", daemon=True)
        if not _redeliverer:  # (not started meanwhile, by a handler run while making it)
            _redeliverer.append(thread)
            thread.start()


def _redeliver() -> None:
    while True:
        _thread.interrupt_main(signal.Signals(_redelivered.get()))


@contextlib.contextmanager
def _stop_signals_stop() -> Iterator[None]:
    """Inside, Ctrl-C (SIGINT, unless ignored or handled by other code) raises
    :class:`KeyboardInterrupt` and each of :data:`STOP_SIGNALS` :class:`Terminated`
    (:func:`_terminate`), even when it lands in a finalizer (:func:`_swallowed`); the previous
    handlers and hook are restored after. Only in the main thread (where handlers can be
    set)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    ctrl_c = (signal.SIGINT,) if signal.getsignal(signal.SIGINT) is signal.default_int_handler \
        else ()
    previous = {signum: signal.signal(signum, _terminate) for signum in ctrl_c + STOP_SIGNALS}
    _hooks.append(sys.unraisablehook)
    sys.unraisablehook = _swallowed
    try:
        yield
    finally:
        sys.unraisablehook = _hooks.pop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main() -> None:
    """Console entry point: runs the app and turns library errors into one-line messages;
    deprecation warnings are printed after the command, and not at all when it is refused;
    other xbarmem warnings once each, as one line (:func:`_warning_lines`), once the command's
    work begins (:func:`work_begins`), and not at all when it is refused before. SIGTERM and
    SIGHUP stop a command as Ctrl-C does (:class:`Terminated`, exit 143 and 129); a broken
    pipe (``| head``) ends it quietly, with exit 141 (:class:`PipeClosed`). A closed
    standard output or a removed current folder is refused before any work (exit 2); a write
    that fails for lack of room is one line (exit 1; :mod:`xbarmem.cli.streams`), and so is a
    path named too long or through a loop of links (exit 2;
    :func:`xbarmem.cli.paths.unusable_name`); a character the terminal's encoding lacks is
    written plainly (:func:`~xbarmem.cli.streams.plain_fallback`)."""
    from xbarmem.cli.paths import missing_current_folder

    unable = streams.closed_output() or missing_current_folder()
    if unable is not None:
        console.print(f"[red]error:[/red] {escape(unable)}", soft_wrap=True, markup=True)
        raise SystemExit(2)
    streams.plain_fallback()
    streams.usable_size_settings()
    try:
        with _warning_lines(), _stop_signals_stop(), _pipes_closed_raise():
            _main()
    except (PipeClosed, BrokenPipeError) as exc:  # (BrokenPipeError: writing a message)
        streams.discard_broken()
        stopped = any(isinstance(e, KeyboardInterrupt) for e in causes(exc))
        raise SystemExit(interrupted_code(exc) if stopped else streams.PIPE_CLOSED_CODE
                         ) from None
    finally:  # (``python -m xbarmem.cli``: see :func:`xbarmem.launch._forget_interrupts_in_eval`)
        eval("None")  # noqa: S307 -- clears CPython's mark of a Ctrl-C raised in an eval


def _pipe_closed(self: Console) -> None:
    """What a Rich console does when it meets a broken pipe, in :func:`main`: it prints
    nothing more, and the command ends (:class:`PipeClosed`). Rich's own ended the process
    with exit code 1 and pointed standard output at the null device, even when the broken
    pipe was standard error."""
    self.quiet = True
    raise PipeClosed


@contextlib.contextmanager
def _pipes_closed_raise() -> Iterator[None]:
    """Inside, every Rich console -- this module's, Typer's help and the progress bars --
    meets a broken pipe with :func:`_pipe_closed`; Rich's own handler is restored after."""
    rich_handler = Console.on_broken_pipe
    Console.on_broken_pipe = _pipe_closed  # type: ignore[method-assign]
    try:
        yield
    finally:
        Console.on_broken_pipe = rich_handler  # type: ignore[method-assign]


class _UsageError(Protocol):
    """What :func:`_main` uses of a usage error."""

    def show(self) -> None: ...

    def format_message(self) -> str: ...


def _usage_error(exc: Exception) -> TypeGuard[_UsageError]:
    """Whether ``exc`` is a usage error: click's, or one of the click vendored by newer
    typer."""
    import click

    return isinstance(exc, click.ClickException) or (
        type(exc).__module__.startswith("typer") and hasattr(exc, "show")
        and hasattr(exc, "format_message"))


def _refused(message: str, code: int, exc: BaseException) -> NoReturn:
    """End the command :func:`_main` runs, stopped by ``exc``, with ``error: message`` on one
    line (:func:`~xbarmem.cli.streams.one_line`: a path may hold a line break or an escape
    sequence) and exit ``code``: no deprecations, and no warnings held while its inputs were
    checked. Escaped: messages like "[device] must be a table" are not Rich markup;
    soft-wrapped: one line whatever the terminal width. A process out of file descriptors says
    nothing more at its exit (:func:`_quiet_exit`)."""
    messages.drop_held_lines()
    if out_of_descriptors(exc) is not None:
        _quiet_exit()
    line = streams.one_line(message)
    try:
        console.print(f"[red]error:[/red] {escape(line)}", soft_wrap=True, markup=True)
    except OSError:  # e.g. no descriptor left for what Rich imports to print it
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stderr.write(f"error: {line}\n")
            sys.stderr.flush()
    raise SystemExit(code) from None


def _visible_suggestions(exc: object) -> None:
    """An unknown option's suggestions (click's "Did you mean --x?" / "Possible options")
    without the options the command's help hides (old spellings kept for scripts,
    :mod:`xbarmem.cli.old_options`): ``energy --kind`` suggested ``--n``."""
    ctx, close = getattr(exc, "ctx", None), getattr(exc, "possibilities", None)
    if ctx is None or not close:
        return
    hidden = {opt for param in ctx.command.params if getattr(param, "hidden", False)
              for opt in (*param.opts, *param.secondary_opts)}
    typed = str(getattr(exc, "option_name", ""))
    # (--help is offered only for a mistyped help: `export --level` was asked "--help?")
    shown = _closest(typed, [opt for opt in close if opt not in hidden
                             and (opt != "--help" or typed.lstrip("-").startswith("h"))])
    if len(shown) == 1:  # worded as a mistyped command's: "... Did you mean 'train'?"
        exc.message += f". Did you mean {shown[0]}?"  # type: ignore[attr-defined]
        shown = []
    exc.possibilities = shown  # type: ignore[attr-defined]


def _closest(typed: str, close: list[str]) -> list[str]:
    """Of the options click found close to the unknown option ``typed``, those as close as the
    closest (similarity within 0.1 of its, :class:`difflib.SequenceMatcher`), closest first:
    click listed every one it found, in alphabetical order, so ``train --rul`` read "Possible
    options: --faults, --out, --rule", the one meant last."""
    import difflib

    score = {opt: difflib.SequenceMatcher(None, typed, opt).ratio() for opt in close}
    best = max(score.values(), default=0.0)
    return sorted((opt for opt in close if score[opt] >= best - 0.1), key=lambda o: -score[o])


def _dashed_file(exc: object) -> str | None:
    """For an unknown option that is the start of a file's name on the command line
    (``evaluate -m.safetensors``: click reads ``-m``), how to name that file; else None."""
    option = getattr(exc, "option_name", None)
    if not isinstance(option, str) or not option.startswith("-"):
        return None
    for word in sys.argv[1:]:
        if word.startswith(option) and os.path.lexists(word):
            return f" (a file named {word}: write it ./{word})"
    return None


def _quiet_exit() -> None:
    """Nothing more is printed by what Python collects at this process's exit
    (:func:`_say_nothing`, run at exit: the command's warning filters are restored by then):
    objects half-made when the process ran out of file descriptors (an event loop of Dask's
    without its self-pipe, a coroutine never started) failed again there, with a traceback
    ("Exception ignored in ...") and a RuntimeWarning after the command's one line."""
    import atexit

    atexit.unregister(_say_nothing)  # (once, however often it is asked)
    atexit.register(_say_nothing)


def _say_nothing() -> None:
    sys.unraisablehook = lambda _: None
    warnings.simplefilter("ignore")


def _aborted(exc: BaseException) -> NoReturn:
    """End a command that Ctrl-C or a stop signal stopped (``exc``, or what caused it): one
    ``aborted`` line where it can be said, and the stop's exit code (:func:`interrupted_code`)."""
    try:
        console.print("aborted")
    except (OSError, PipeClosed):  # its terminal closed or its reader gone: nothing can
        streams.discard_output()    # be said (the stop decides the exit code)
    raise SystemExit(interrupted_code(exc)) from None


def _main() -> None:
    messages.hold_lines()
    apps.command_begins()
    try:
        # typer.Exit(n) comes back as a return value (Ctrl-C: Stopped); a command that fails
        # leaves no empty folder it made (xbarmem.files.undone_on_failure)
        with undone_on_failure():
            code = app(standalone_mode=False, prog_name="xbarmem")
            if isinstance(code, int) and code:
                raise SystemExit(code)
    except XbarmemError as exc:
        _refused(cli_hints(str(exc)), 2, exc)
    except (typer.Abort, KeyboardInterrupt, Stopped) as exc:
        _aborted(exc)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except OSError as exc:
        from xbarmem.cli.paths import unusable_name

        failed, code = streams.write_failure(exc), 1  # the disk: exit 1; the name given: 2
        if failed is not None and _stopped_by(exc) is not None:  # its terminal closed
            streams.discard_output()
            raise SystemExit(interrupted_code(exc)) from None
        if failed is None:
            failed, code = unusable_name(exc) or out_of_descriptors(exc), 2
        if failed is None:
            raise
        _refused(failed, code, exc)
    except Exception as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # a stop the interpreter wrapped:
            _aborted(exc)  # (3.11: a RuntimeError of __set_name__ while a module imported)
        if (lacking := out_of_descriptors(exc)) is not None:  # (Dask's RuntimeError)
            _refused(lacking, 2, exc)
        error: BaseException = exc  # (the check below narrows exc's type)
        if not _usage_error(exc):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare group: its help
            messages.drop_held_lines()
            exc.show()
            raise SystemExit(getattr(exc, "exit_code", 2)) from None
        # one line, as library errors: what is wrong, and where to read more
        ctx = getattr(exc, "ctx", None)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        if (worded := unconverted(exc)) is not None:
            exc.message = worded  # type: ignore[attr-defined]
        _visible_suggestions(exc)
        _refused(exc.format_message() + (_dashed_file(exc) or hint),
                 getattr(exc, "exit_code", 2), error)
    finally:
        messages.release_held_lines()
