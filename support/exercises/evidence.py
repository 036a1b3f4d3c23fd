"""What a verdict shows, and evidence a checker gathers besides the answer's result.

* :func:`short`: every value a verdict shows, never a page long;
* :func:`describe_error`: an exception, or what an ``ExceptionGroup`` holds;
* :func:`thread_errors`: the exceptions that ended a thread while a check ran
  (``args=(url)`` without the comma kills every thread, silently);
* :func:`opened_sockets`: the sockets the answer created (left open? blocking?).
"""

from __future__ import annotations

import contextlib
import reprlib
import sys
import threading
from typing import Any, Iterator

from support.exercises.guards import _Stop

__all__ = ["short", "describe_error", "thread_errors", "opened_sockets"]

_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict, _REPR.maxtuple = 40, 40, 6, 4, 6
_REPR.maxlevel = 3


def short(value: Any, width: int = 80) -> str:
    """``repr(value)`` for a verdict, never longer than ``width`` characters: every
    value a verdict shows goes through here (a page of HTML is not a message)."""
    try:
        text = _REPR.repr(value)
    except Exception:  # a student's __repr__ may raise
        text = f"<{type(value).__name__}>"
    return text if len(text) <= width else text[: width - 4] + " ..."


def describe_error(exc: BaseException, width: int = 300) -> str:
    """``Type: message`` of an exception; for an ``ExceptionGroup``, the ones inside it."""
    if isinstance(exc, BaseExceptionGroup):
        leaves = _leaves(exc)
        inner = "; ".join(f"{type(e).__name__}: {str(e)[:120]}" for e in leaves[:3])
        more = f" (y {len(leaves) - 3} más)" if len(leaves) > 3 else ""
        text = f"{type(exc).__name__} con {len(leaves)} excepción(es) dentro: {inner}{more}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= width else text[: width - 4] + " ..."


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc]


@contextlib.contextmanager
def thread_errors() -> Iterator[list[tuple[str, BaseException]]]:
    """Record, while inside, the exceptions that end a thread (``threading.excepthook``):
    a student's thread that crashes (``args=(url)`` without the comma) is a verdict,
    not a traceback lost in the kernel's log."""
    seen: list[tuple[str, BaseException]] = []
    previous = threading.excepthook

    def record(args) -> None:
        if args.exc_type is SystemExit or isinstance(args.exc_value, _Stop):
            return
        seen.append((getattr(args.thread, "name", "?"), args.exc_value))

    threading.excepthook = record
    try:
        yield seen
    finally:
        threading.excepthook = previous


_OPENED: tuple[str, list[Any]] | None = None


def _audit(event: str, args: tuple) -> None:
    opened = _OPENED
    if event == "socket.__new__" and opened is not None and threading.current_thread().name == opened[0]:
        opened[1].append(args[0])


def _install_audit() -> None:
    if not getattr(_audit, "installed", False):
        sys.addaudithook(_audit)  # for good: an audit hook cannot be removed; it is idle outside
        _audit.installed = True


@contextlib.contextmanager
def opened_sockets(thread: str = "exercise") -> Iterator[list[Any]]:
    """The sockets that thread ``thread`` creates while inside (an audit hook sees each
    ``socket.socket``), held until the caller lets go of the list, so that one the
    answer dropped without closing is still there to be seen open: what a checker needs
    to say "you left it open" or "you made it blocking"."""
    global _OPENED
    _install_audit()
    found: list[Any] = []
    _OPENED = (thread, found)
    try:
        yield found
    finally:
        _OPENED = None
