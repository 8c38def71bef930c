"""Ctrl-C and SIGTERM as requests to stop, honoured where stopping is safe.

Python turns a signal into an exception at whatever line the main thread is
running. Inside TensorFlow that leaves tf.data's and the runtime's worker
threads mid-work, and tearing the interpreter down under them can crash the
process (SIGSEGV) after the interrupt. So while TensorFlow works, the signal
handlers only note the signal: training looks at the note at every batch
boundary and stops there, and the other steps look at it between steps
(`check`). The exception is raised once TensorFlow is idle, and the process
exits normally.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

from .errors import Terminated

NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal's number, as shells report it

_noted: list[int] = []  # the signals received while deferring, oldest first
_depth = 0  # how many `deferred()` blocks are open


def _raise(signum: int, frame=None) -> None:
    """The handler outside `deferred()`: Ctrl-C and SIGTERM raise at once."""
    raise exception_for(signum)


def _note(signum: int, frame=None) -> None:
    _noted.append(signum)


def exception_for(signum: int) -> BaseException:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def signal_of(exc: BaseException) -> int:
    """The signal behind a KeyboardInterrupt or Terminated."""
    return signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT


def install() -> None:
    """Make SIGTERM raise `Terminated` the way Ctrl-C raises KeyboardInterrupt (for the command line)."""
    signal.signal(signal.SIGINT, _raise)
    signal.signal(signal.SIGTERM, _raise)


def requested() -> int | None:
    """The first signal received inside `deferred()` and not yet acted on, if any."""
    return _noted[0] if _noted else None


def check() -> None:
    """Raise the exception of a signal received inside `deferred()`, once it is safe to stop."""
    if _noted:
        signum = _noted[0]
        _noted.clear()
        raise exception_for(signum)


def forget() -> None:
    """The caller has acted on the signals received so far (for example, stopped training)."""
    _noted.clear()


@contextmanager
def deferred():
    """Within the block, Ctrl-C and SIGTERM are noted (see `requested`) instead of raised.

    Blocks nest; leaving the outermost one restores the previous handlers and
    raises a signal that arrived and was not acted on, so none is ever lost.
    Outside the main thread, signals cannot be handled and nothing changes.
    """
    global _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    if _depth == 0:
        _noted.clear()
        for signum in NAMES:
            previous[signum] = signal.signal(signum, _note)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            for signum, handler in previous.items():
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
    if _depth == 0:
        check()
