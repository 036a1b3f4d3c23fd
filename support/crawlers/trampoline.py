"""Coroutines built from generators: a hand-written Future and Task (notebook 04).

This is the reference copy of what notebook 04 teaches, for the benchmark
(``tools/bench.py``) and for notebook 05, which compares it with asyncio's
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
* :func:`connect`, :func:`send_all`, :func:`read_all`, :func:`fetch`: an
  HTTP/1.0 GET written as straight-line generator code (``yield from``),
  driven by a Task on the hand-written selector loop of notebook 02
  (:class:`support.kernel.eventloop.EventLoop`).
* :func:`crawl_trampoline`: the crawler of notebooks 01-02 on these coroutines,
  one Task per URL, one thread; ``crawl(root_url, options) -> CrawlReport``
  like every crawler of the course (:mod:`support.crawlers.registry`).
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

import contextlib
import math
import os
import socket
import time
from typing import Any, Callable, Generator
from urllib.parse import urlsplit

from support.crawlers.blocking import Frontier, build_request, parse_response
from support.kernel.eventloop import EventLoop
from support.osutil import raise_fd_limit
from support.timeline import Timeline
from support.web.links import extract_links, normalize
from support.web.report import PARSE_ERROR, CrawlOptions, CrawlReport, http_reason, options_of, reason_of

__all__ = [
    "Future", "Task", "InvalidStateError", "CancelledError", "sleep", "with_timeout", "wait_writable", "wait_readable",
    "connect", "send_all", "read_all", "fetch", "crawl_trampoline",
]


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


def read_all(loop: EventLoop, sock: socket.socket, label: str = "", chunk: int = 65536):
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


def _span(timeline: Timeline | None, key: str, phase: str):
    return timeline.span(key, phase) if timeline is not None else contextlib.nullcontext()


def fetch(loop: EventLoop, url: str, timeline: Timeline | None = None):
    """Coroutine: HTTP/1.0 GET of ``url``; returns ``(status, body)``.

    Straight-line code: connect, send, read, one after the other, each a
    ``yield from`` that suspends the coroutine until the loop sees the socket
    ready. With a ``timeline``, records "connect", "send" and "receive" spans
    under the URL's path (a ``with`` block can span a suspension).
    """
    host, port, request = build_request(url)
    key = urlsplit(url).path or "/"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with _span(timeline, key, "connect"):
            yield from connect(loop, sock, (host, port), key)
        with _span(timeline, key, "send"):
            yield from send_all(loop, sock, request, key)
        with _span(timeline, key, "receive"):
            raw = yield from read_all(loop, sock, key)
    status, _headers, body = parse_response(raw)
    return status, body


# --------------------------------------------------------------------------
# The crawler
# --------------------------------------------------------------------------


def crawl_trampoline(root_url: str, options: CrawlOptions | None = None, *, loop: EventLoop | None = None,
                     **knobs: Any) -> CrawlReport:
    """Crawl the site at ``root_url`` with one generator coroutine (Task) per URL,
    on one thread and one hand-written selector loop.

    Every URL met ends crawled, skipped (with the reason) or failed (with the
    reason: connection errors, non-HTTP answers, or the crawl's ``deadline``).
    Pass your own ``loop`` to watch it work (``loop.on_turn``, ``loop.turns``);
    otherwise a fresh :class:`EventLoop` is made and closed.

    Options it honours: ``max_pages``, ``deadline``, ``timeline``,
    ``allowed_hosts``, ``parser``. It ignores ``concurrency`` (every URL gets
    its Task at once), ``request_timeout`` (the loop has no timers: only
    ``deadline`` bounds a server that never answers), ``max_depth``,
    ``retries``, ``backoff``, ``max_redirects``, ``max_bytes`` and ``progress``.
    """
    options = options_of(options, **knobs)
    raise_fd_limit()  # one socket per page in flight
    report, start = CrawlReport(), time.perf_counter()
    root = normalize(root_url)
    frontier = Frontier(root, report, options)
    own = loop is None
    loop = EventLoop() if own else loop
    tasks: dict[str, Task] = {}

    def visit(url: str):
        try:
            status, body = yield from fetch(loop, url, options.timeline)
        except (OSError, ValueError) as exc:  # refused, reset, not HTTP...
            report.fail(url, reason_of(exc))
            return
        try:
            result = extract_links(body, options.parser) if status == 200 else http_reason(status)
        except Exception:  # a page we cannot parse fails alone, not the crawl
            result = PARSE_ERROR
        for href in frontier.record(url, status, result):
            new = frontier.admit(href, url)
            if new:
                tasks[new] = Task(visit(new), name=new)

    timed_out = False
    try:
        tasks[root] = Task(visit(frontier.admit(root, root)), name=root)
        loop.run(timeout=math.inf if options.deadline is None else options.deadline)
    except TimeoutError:
        timed_out = True
    finally:
        for sock in loop.watched():
            loop.remove(sock)
        if own:
            loop.close()
    if timed_out:
        frontier.stop()  # every task still waiting fails with the deadline
        for task in tasks.values():
            if not task.done():
                task.coro.close()  # runs the coroutine's `with` blocks: closes its socket
    for task in tasks.values():  # a bug in visit() must not pass silently
        if task.done() and task.exception() is not None:
            raise task.exception()
    report.seconds = time.perf_counter() - start
    return report
