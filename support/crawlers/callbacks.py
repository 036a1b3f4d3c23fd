"""Callbacks on one thread: the lecture's non-blocking crawler (notebook 02).

Reference code that notebook 02 teaches and that the benchmark reuses:

* :class:`Fetcher`: one HTTP/1.0 GET over a *non-blocking* socket, driven by
  the callbacks ``on_connected`` / ``on_writable`` / ``on_readable`` that a
  :class:`support.kernel.eventloop.EventLoop` calls when the socket is ready (the
  shape of 500lines' crawler, with errors reported instead of raised);
* :class:`CallbackCrawler` and :func:`crawl_callbacks`: a crawler in which a
  finished fetch parses its page and starts new fetchers for the links it
  finds, all on the calling thread; like every other crawler of the course it
  takes a :class:`support.web.report.CrawlOptions` and returns a
  :class:`support.web.report.CrawlReport`.

Requests, responses, link handling and the ``max_pages`` rule are the ones of
:mod:`support.crawlers.blocking` (imported, not copied), so the blocking, threaded and
callback crawlers crawl exactly the same pages.

Options it honours: ``concurrency`` (fetches in flight), ``max_pages``,
``request_timeout`` (a timer of the loop, ``call_later``, aborts a fetch that
takes longer), ``deadline``, ``timeline``, ``allowed_hosts``, ``parser``. It
ignores ``max_depth``, ``retries``, ``backoff``, ``max_redirects``,
``max_bytes`` and ``progress``.

Discussion: a blocking ``fetch`` is one function whose local variables live
on its thread's stack while it waits. Here the "function" is cut in three
callbacks that return to the loop after each step, so whatever must survive
between steps (the socket, the bytes read so far, when a phase began) lives in
attributes of the ``Fetcher``, and when a callback fails the traceback starts
at the loop, not at whoever asked for the page. Notebooks 03-04 recover
straight-line code with generators.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections import deque
from typing import Any, Callable
from urllib.parse import urlsplit

from support.crawlers.blocking import Frontier, build_request, parse_response
from support.kernel.eventloop import EventLoop
from support.kernel.tasks import READ_CHUNK
from support.osutil import raise_fd_limit
from support.timeline import Timeline
from support.web.links import extract_links, normalize
from support.web.report import (
    DEADLINE,
    PARSE_ERROR,
    REQUEST_TIMEOUT,
    TIMEOUT,
    CrawlOptions,
    CrawlReport,
    http_reason,
    options_of,
    reason_of,
)

__all__ = ["Fetcher", "CallbackCrawler", "crawl_callbacks", "fetch_callbacks"]


class Fetcher:
    """One GET of ``url``, in steps that the event loop calls back.

    ``start()`` begins a non-blocking ``connect`` and returns at once. When
    the fetch ends, successfully or not, ``on_done(fetcher)`` is called once,
    on the loop's thread; then ``status`` and ``body`` hold the answer, or
    ``error`` says why there is none. With a ``timeline``, the phases
    "connect", "send" and "receive" are recorded under the URL's path. A
    fetch not done ``timeout`` seconds after ``start()`` is aborted with
    :data:`~support.web.report.TIMEOUT` (a timer of the loop).
    """

    def __init__(self, loop: EventLoop, url: str, on_done: Callable[["Fetcher"], None],
                 timeline: Timeline | None = None, recv_size: int = READ_CHUNK,
                 timeout: float = REQUEST_TIMEOUT):
        self.loop, self.url, self.on_done, self.timeline = loop, url, on_done, timeline
        self.key = urlsplit(url).path or "/"
        self.recv_size, self.timeout, self.timer = recv_size, timeout, None
        self.sock: socket.socket | None = None
        # State that a blocking fetch would keep in local variables:
        self.request = b""
        self.sent = 0
        self.chunks: list[bytes] = []
        self.phase, self.phase_start = "", 0.0
        # The outcome:
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.body = b""
        self.error: str | None = None
        self.done = False

    # -- the steps, each one a callback --------------------------------------

    def start(self) -> None:
        """Start connecting; the loop calls ``on_connected`` when it is done."""
        self.timer = self.loop.call_later(self.timeout, self.abort, TIMEOUT)
        try:
            host, port, self.request = build_request(self.url)
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setblocking(False)
        except (OSError, ValueError) as exc:
            self.loop.call_soon(self._fail, exc)  # report from the loop, never from inside start()
            return
        self._begin("connect")
        try:
            self.sock.connect((host, port))
        except BlockingIOError:
            pass  # EINPROGRESS: the connection is on its way; nothing is wrong
        except OSError as exc:
            self.loop.call_soon(self._fail, exc)
            return
        self.loop.add_writer(self.sock, self.on_connected)

    def on_connected(self) -> None:
        """The socket became writable: the connection succeeded, or failed."""
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:  # e.g. ECONNREFUSED: a non-blocking connect reports it only now
            self._fail(OSError(err, os.strerror(err)))  # OSError(errno, ...) picks ConnectionRefusedError...
            return
        self._end_phase()
        self._begin("send")
        self.on_writable()

    def on_writable(self) -> None:
        """Send what is left of the request; when all is sent, wait for the answer."""
        try:
            self.sent += self.sock.send(self.request[self.sent:])
        except BlockingIOError:
            pass  # the send buffer is full: try again on the next writable event
        except OSError as exc:
            self._fail(exc)
            return
        if self.sent < len(self.request):
            self.loop.add_writer(self.sock, self.on_writable)
            return
        self._end_phase()
        self._begin("receive")
        self.loop.add_reader(self.sock, self.on_readable)  # replaces the writer registration

    def on_readable(self) -> None:
        """Data arrived (or the server closed): keep it, or finish."""
        try:
            chunk = self.sock.recv(self.recv_size)
        except BlockingIOError:
            return  # spurious wake-up: nothing to read after all
        except OSError as exc:  # e.g. ConnectionResetError
            self._fail(exc)
            return
        if chunk:
            self.chunks.append(chunk)
            return  # wait for the next chunk
        self._end_phase()
        self._close()
        try:
            self.status, self.headers, self.body = parse_response(b"".join(self.chunks))
        except ValueError as exc:
            self.error = reason_of(exc)
        self._finish()

    # -- bookkeeping ---------------------------------------------------------

    def abort(self, reason: str) -> None:
        """Give up (e.g. the crawl timed out): close the socket and report ``reason``."""
        if not self.done:
            self._end_phase()
            self._close()
            self.error = reason
            self._finish()

    def _fail(self, exc: BaseException) -> None:
        self.abort(reason_of(exc))

    def _finish(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.done = True
        self.on_done(self)

    def _close(self) -> None:
        if self.sock is not None:
            try:
                self.loop.remove(self.sock)
            except (KeyError, ValueError):
                pass  # not registered (e.g. connect failed at once)
            self.sock.close()

    def _begin(self, phase: str) -> None:
        self.phase = phase
        self.phase_start = self.timeline.now() if self.timeline is not None else 0.0

    def _end_phase(self) -> None:
        if self.phase and self.timeline is not None:
            self.timeline.add(self.key, self.phase, self.phase_start, self.timeline.now())
        self.phase = ""


def fetch_callbacks(url: str, timeline: Timeline | None = None, timeout: float = REQUEST_TIMEOUT) -> tuple[int, bytes]:
    """``(status, body)`` of one GET driven by callbacks (the same contract as
    :func:`support.crawlers.blocking.fetch`); raises ``OSError`` when the fetch fails."""
    loop, result = EventLoop(), []
    try:
        Fetcher(loop, url, result.append, timeline, timeout=timeout).start()
        loop.run(timeout=math.inf)  # the fetch's own timer ends it
    finally:
        loop.close()
    fetcher = result[0]
    if fetcher.error:
        raise OSError(fetcher.error)
    return fetcher.status, fetcher.body


class CallbackCrawler:
    """A crawler whose only thread is the one that calls :meth:`run`.

    Each finished :class:`Fetcher` lands in :meth:`on_page`, which records the
    outcome, extracts the links and starts a new ``Fetcher`` for every new URL
    of the same host: no thread waits, the loop waits for all sockets at once.
    ``options.concurrency`` bounds how many fetches are in flight; the others
    wait in a queue.
    """

    def __init__(self, root_url: str, options: CrawlOptions | None = None, loop: EventLoop | None = None):
        self.options = options = options_of(options)
        self.root = normalize(root_url)
        self.report = CrawlReport()
        self.frontier = Frontier(self.root, self.report, options)
        self.loop = loop if loop is not None else EventLoop()
        self.max_connections = options.concurrency
        self.in_flight: dict[str, Fetcher] = {}
        self.waiting: deque[str] = deque()
        self.max_in_flight = 0
        self.stopped = False  # the deadline passed

    def fetch(self, url: str) -> None:
        """Start fetching ``url`` now, or queue it if too many fetches are in flight."""
        if self.stopped:
            self.report.skip(url, DEADLINE)
            return
        if len(self.in_flight) >= self.max_connections:
            self.waiting.append(url)
            return
        fetcher = Fetcher(self.loop, url, self.on_page, self.options.timeline,
                          timeout=self.options.request_timeout)
        self.in_flight[url] = fetcher
        self.max_in_flight = max(self.max_in_flight, len(self.in_flight))
        fetcher.start()

    def on_page(self, fetcher: Fetcher) -> None:
        """Callback de cada descarga terminada: la anota y sigue sus enlaces.

        (En español: el notebook 02 muestra este método.)"""
        url = fetcher.url
        del self.in_flight[url]
        if fetcher.error:
            self.report.fail(url, fetcher.error)
        elif fetcher.status != 200:
            self.report.fail(url, http_reason(fetcher.status))
        else:
            try:
                hrefs = extract_links(fetcher.body, self.options.parser)
            except Exception:  # una página que no se puede analizar falla sola, no el recorrido
                self.report.fail(url, PARSE_ERROR)
                hrefs = []
            else:
                self.report.ok(url, fetcher.status)
            for href in hrefs:
                new = self.frontier.admit(href, url)
                if new:
                    self.fetch(new)
        while self.waiting and len(self.in_flight) < self.max_connections:
            self.fetch(self.waiting.popleft())

    def run(self) -> CrawlReport:
        """Crawl from the root until no fetch is pending, or until the deadline."""
        start = time.perf_counter()
        deadline = self.options.deadline
        self.fetch(self.frontier.admit(self.root, self.root))
        try:
            self.loop.run(timeout=math.inf if deadline is None else deadline)
        except TimeoutError:
            self.stopped = True
            while self.waiting:  # fetch() now records each one as skipped
                self.fetch(self.waiting.popleft())
            for fetcher in list(self.in_flight.values()):
                fetcher.abort(DEADLINE)  # on_page records it as failed
        self.report.seconds = time.perf_counter() - start
        return self.report


def crawl_callbacks(root_url: str, options: CrawlOptions | None = None, *, loop: EventLoop | None = None,
                    **knobs: Any) -> CrawlReport:
    """Crawl ``root_url``'s host with callbacks on one thread; see :class:`CallbackCrawler`.

    Pass your own ``loop`` to watch it work (e.g. ``loop.on_turn``, ``loop.turns``);
    otherwise a fresh :class:`EventLoop` is made and closed.
    """
    options = options_of(options, **knobs)
    raise_fd_limit()  # one socket per page in flight
    own = loop is None
    crawler = CallbackCrawler(root_url, options, loop)
    try:
        return crawler.run()
    finally:
        if own:
            crawler.loop.close()
