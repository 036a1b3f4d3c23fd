"""Coroutines built from generators: a hand-written Future and Task (notebook 04).

This is the reference copy of what notebook 04 teaches, for the crawler of
:mod:`support.crawlers.trampoline`, the generator server of
:mod:`support.servers` and notebook 05, which compares it with asyncio's
``Future.__await__``. The notebook defines :class:`Future` and :class:`Task`
visibly, and ``tests/test_trampoline.py`` proves its definitions and these
behave the same.

* :class:`Future`: a result that is not there yet. ``set_result`` (or
  ``set_exception``) fills it and runs the callbacks registered with
  ``add_done_callback``; ``result()`` returns it (or raises).
* :class:`Task`: the trampoline. It drives a generator-based coroutine: it
  sends the coroutine the *result* of the future it waited for (the lecture
  sends the bound method ``future.result`` without calling it), waits for the
  next future the coroutine yields, and finishes with the coroutine's return
  value (``StopIteration.value``). A Task is itself a Future, so one coroutine
  can wait for another's task.
* :func:`connect`, :func:`send_all`, :func:`read_all`: straight-line socket
  I/O as generator code (``yield from``), driven by a Task on the hand-written
  selector loop of notebook 02 (:class:`support.kernel.eventloop.EventLoop`).
* Time and cancellation (the end of notebook 04): :func:`sleep` (a future
  resolved by a timer of the loop), ``Future.cancel`` / ``Task.cancel`` (a
  :class:`CancelledError` thrown into the coroutine at its ``yield``) and
  :func:`with_timeout`, built from both.

Discussion: cancelling is resolving. ``Future.cancel()`` resolves the future
with a :class:`CancelledError`; the task waiting on it is called back like for
any other failure, and its ``step`` throws the error into the coroutine at the
``yield`` where it waits. ``Task.cancel()`` cancels the future the task waits
on, which is what asyncio's ``Task.cancel`` does with ``_fut_waiter``. Whoever
would have resolved that future later (a timer, a socket) must check
``done()`` first, and a done-callback releases what it held (the timer, the
socket's registration). Our :class:`CancelledError` is an ``Exception``, as
asyncio's was until Python 3.7; since 3.8 asyncio's is a ``BaseException`` so
that ``except Exception`` cannot swallow it (notebook 06).

Discussion: callbacks run synchronously inside ``set_result``, as in the
lecture (and 500lines' crawler); asyncio instead schedules them with
``loop.call_soon``, so its futures need a loop and ours do not. The loop only
ever sees plain callbacks (``fut.set_result``); it knows nothing about
coroutines. That is the whole trick: the Future is the meeting point between
the loop's callbacks and the coroutine's ``yield``.
"""

from __future__ import annotations

import os
import socket
from typing import Any, Callable, Generator

from support.kernel.eventloop import EventLoop

__all__ = [
    "Future", "Task", "InvalidStateError", "CancelledError", "sleep", "with_timeout", "wait_writable", "wait_readable",
    "connect", "send_all", "read_all", "READ_CHUNK",
]

#: Bytes asked of ``recv`` at a time by :func:`read_all` (a page arrives in a few reads).
READ_CHUNK = 65536


class InvalidStateError(RuntimeError):
    """``result()`` of a future that is not done, or setting a done one twice."""


class CancelledError(Exception):
    """A future or task was cancelled (an ``Exception`` here, as in asyncio up to 3.7)."""


class Future:
    """A result that will arrive later: resolved once, then read any number of times."""

    def __init__(self, name: str | None = None):
        self.name = name            # only for traces and reprs
        self._done = False
        self._result: Any = None
        self._exception: BaseException | None = None
        self._callbacks: list[Callable[["Future"], Any]] = []

    def done(self) -> bool:
        return self._done

    def result(self) -> Any:
        """The value given to ``set_result``; raises the exception given to
        ``set_exception``, or :class:`InvalidStateError` if not done yet."""
        if not self._done:
            raise InvalidStateError(f"{self!r} is not done yet")
        if self._exception is not None:
            raise self._exception
        return self._result

    def exception(self) -> BaseException | None:
        if not self._done:
            raise InvalidStateError(f"{self!r} is not done yet")
        return self._exception

    def cancel(self) -> bool:
        """Resolve a pending future with :class:`CancelledError`; ``False`` if already done."""
        if self._done:
            return False
        self.set_exception(CancelledError(f"{self.name or 'future'} cancelled"))
        return True

    def cancelled(self) -> bool:
        return self._done and isinstance(self._exception, CancelledError)

    def set_result(self, value: Any) -> None:
        self._finish(value, None)

    def set_exception(self, exc: BaseException) -> None:
        self._finish(None, exc)

    def add_done_callback(self, fn: Callable[["Future"], Any]) -> None:
        """Call ``fn(self)`` once done; right away if the future is already done."""
        if self._done:
            fn(self)
        else:
            self._callbacks.append(fn)

    def _finish(self, value: Any, exc: BaseException | None) -> None:
        if self._done:
            raise InvalidStateError(f"{self!r} is already done")
        self._result, self._exception, self._done = value, exc, True
        callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:  # synchronously, in the order they were added
            fn(self)

    def __iter__(self):
        """``valor = yield from futuro``: cede el propio futuro a la Task, que
        devuelve su resultado con send (el ``__await__`` de asyncio hace lo mismo).
        En español: el notebook 05 muestra este método."""
        return (yield self)

    def __repr__(self) -> str:
        label = f" {self.name}" if self.name else ""
        if not self._done:
            state = "pending"
        elif self._exception is not None:
            state = f"exception={type(self._exception).__name__}"
        else:
            state = f"result={self._result!r}"
        return f"<{type(self).__name__}{label} {state}>"


class Task(Future):
    """Drives a generator-based coroutine from future to future (the trampoline).

    The first step starts the coroutine right away (sends ``None``), as the
    lecture's ``Task.__init__`` does. Each step sends the coroutine the
    *result* of the future it was waiting for (or throws its exception into
    it), takes the next future the coroutine yields, and asks to be called
    back when that one is done. When the coroutine returns, the task is
    resolved with its return value; when it raises, with its exception.
    """

    def __init__(self, coro: Generator, name: str | None = None):
        super().__init__(name)
        self.coro = coro
        self.waiting_on: Future | None = None  # the future the coroutine yielded last
        start = Future("start")
        start.set_result(None)
        self.step(start)

    def step(self, future: Future) -> None:
        self.waiting_on = None
        try:
            try:
                value = future.result()  # result(), llamado: no el método sin llamar
            except Exception as exc:
                next_future = self.coro.throw(exc)
            else:
                next_future = self.coro.send(value)
        except StopIteration as stop:  # la corrutina hizo return
            self.set_result(stop.value)
            return
        except Exception as exc:  # la corrutina lanzó una excepción
            self.set_exception(exc)
            return
        self.waiting_on = next_future
        next_future.add_done_callback(self.step)

    def cancel(self) -> bool:
        """Cancel the future the coroutine waits on, so that ``step`` throws
        :class:`CancelledError` into the coroutine at its ``yield``. The
        coroutine may clean up (``finally``, ``with``) and re-raise, or catch
        it. ``False`` if the task is done, or running (it waits on nothing)."""
        if self._done or self.waiting_on is None:
            return False
        return self.waiting_on.cancel()


# --------------------------------------------------------------------------
# Time: sleep and timeouts on the loop's timers
# --------------------------------------------------------------------------


def _resolve_unless_done(future: Future, value: Any = None) -> None:
    if not future.done():  # it may have been cancelled meanwhile
        future.set_result(value)


def sleep(loop: EventLoop, seconds: float):
    """Coroutine: suspend for ``seconds`` on ``loop``'s timers (``yield from sleep(loop, 1)``).

    Cancelled, it cancels its timer, so the loop does not wait for it."""
    future = Future(f"sleep {seconds}")
    timer = loop.call_later(seconds, _resolve_unless_done, future)
    future.add_done_callback(lambda _f: timer.cancel())
    yield from future


def with_timeout(loop: EventLoop, coro: Generator, seconds: float, name: str | None = None):
    """Coroutine: run ``coro`` as a Task; past ``seconds``, cancel it and raise ``TimeoutError``.

    A timer cancels the task (a :class:`CancelledError` at its ``yield``); we
    turn that cancellation, and only that one, into ``TimeoutError``. The timer
    is cancelled when the task ends first.
    """
    task = Task(coro, name)
    expired = []

    def expire() -> None:
        expired.append(loop.time())
        task.cancel()

    timer = loop.call_later(seconds, expire)
    try:
        return (yield from task)
    except CancelledError:
        if expired:
            raise TimeoutError(f"{name or 'coroutine'} took longer than {seconds} s") from None
        raise
    except GeneratorExit:  # the waiting coroutine was closed: close the task's too (its `with` blocks run)
        task.coro.close()
        raise
    finally:
        timer.cancel()


# --------------------------------------------------------------------------
# Straight-line I/O on the hand-written loop
# --------------------------------------------------------------------------


def _wait(loop: EventLoop, sock: socket.socket, watch: Callable, name: str | None) -> Future:
    """A future resolved (once) when the loop sees ``sock`` ready."""
    future = Future(name)

    def ready() -> None:
        loop.remove(sock)  # one-shot: stop watching before waking the coroutine
        future.set_result(None)

    def released(f: Future) -> None:
        if f.cancelled():  # nobody waits any more: stop watching the socket
            loop.remove(sock)

    watch(sock, ready)
    future.add_done_callback(released)
    return future


def wait_writable(loop: EventLoop, sock: socket.socket, name: str | None = None) -> Future:
    return _wait(loop, sock, loop.add_writer, name)


def wait_readable(loop: EventLoop, sock: socket.socket, name: str | None = None) -> Future:
    return _wait(loop, sock, loop.add_reader, name)


def connect(loop: EventLoop, sock: socket.socket, address: tuple[str, int], label: str = ""):
    """Coroutine: connect the non-blocking ``sock``; raises ``OSError`` if refused."""
    sock.setblocking(False)
    try:
        sock.connect(address)
    except BlockingIOError:  # EINPROGRESS: the connection has started
        pass
    yield from wait_writable(loop, sock, f"connect {label}".strip())
    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    if err:  # OSError(errno, ...) picks the subclass: ConnectionRefusedError, ...
        raise OSError(err, os.strerror(err))


def send_all(loop: EventLoop, sock: socket.socket, data: bytes, label: str = ""):
    """Coroutine: send all of ``data``, waiting whenever the socket's buffer is full."""
    view = memoryview(data)
    while view:
        try:
            sent = sock.send(view)
        except BlockingIOError:
            yield from wait_writable(loop, sock, f"send {label}".strip())
            continue
        view = view[sent:]


def read_all(loop: EventLoop, sock: socket.socket, label: str = "", chunk: int = READ_CHUNK):
    """Coroutine: read until the peer closes; returns the bytes."""
    chunks = []
    while True:
        yield from wait_readable(loop, sock, f"read {label}".strip())
        try:
            data = sock.recv(chunk)
        except BlockingIOError:  # spurious wake-up: wait again
            continue
        if not data:  # b"": the server closed the connection
            return b"".join(chunks)
        chunks.append(data)
