"""Blocking sockets and threads: the lecture's "traditional approach" (notebook 01).

Reference code that notebook 01 teaches and that later notebooks and the
benchmark reuse:

* :func:`fetch`: an HTTP/1.0 GET written by hand over a plain blocking
  ``socket`` (connect, ``sendall``, ``recv`` until the server closes);
* three crawlers over the same site, all called as ``crawl(root_url, options)``
  with a :class:`support.web.report.CrawlOptions` and returning a
  :class:`support.web.report.CrawlReport` (registered in :mod:`support.crawlers.registry`):

  - :func:`crawl_sequential`: one page after another, on one thread;
  - :func:`crawl_thread_per_url`: one new thread per URL discovered (the
    lecture's ``threading.Thread(target=fetch, ...)`` loop, bounded);
  - :func:`crawl_pool`: a fixed pool of worker threads
    (``concurrent.futures.ThreadPoolExecutor``).

All three use :mod:`support.web.links` to find and classify links, stay on the
root's host (and ``allowed_hosts``), fetch each canonical URL once, and give
every URL they meet an outcome: crawled, skipped (with the reason) or failed
(with the reason, from :func:`support.web.report.reason_of`).

Options they honour: ``max_pages``, ``request_timeout`` (bounds each blocking
call: connect, send, each ``recv``), ``deadline``, ``timeline``,
``allowed_hosts``, ``parser``; ``concurrency`` only for the pool. They ignore
``max_depth``, ``retries``, ``backoff``, ``max_redirects`` (a 3xx fails with
its status), ``max_bytes`` and ``progress``.

Discussion: the three crawlers differ only in *who waits*. ``fetch`` blocks its
thread in ``connect`` and ``recv`` while the server takes its time; the
sequential crawler therefore pays every page's latency one after another,
while the threaded ones let the operating system park many blocked threads at
once, so the pages of one "level" of the site are waited for together.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import socket
import threading
import time
from collections import deque
from typing import Any, Collection
from urllib.parse import urlsplit

from support.kernel.tasks import READ_CHUNK
from support.timeline import Timeline
from support.web.links import LinkFilter, extract_links, normalize
from support.web.report import (
    DEADLINE,
    MAX_PAGES,
    PARSE_ERROR,
    REQUEST_TIMEOUT,
    CrawlOptions,
    CrawlReport,
    IncompleteResponse,
    ProtocolError,
    http_reason,
    options_of,
    reason_of,
)

__all__ = [
    "fetch", "fetch_raw", "parse_response", "build_request", "crawl_sequential",
    "crawl_thread_per_url", "crawl_pool", "Frontier", "Deadline", "visit",
]


def build_request(url: str) -> tuple[str, int, bytes]:
    """``(host, port, request bytes)`` of an HTTP/1.0 GET for ``url``.

    The ``Host`` header names the host (and port when it is not 80) of the
    URL itself, not a hard-coded one as in the lecture's snippet.
    """
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"only http:// URLs can be fetched over a plain socket, got {url!r}")
    host, port = parts.hostname, parts.port or 80
    if not host:
        raise ValueError(f"no host in {url!r}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = host if port == 80 else f"{host}:{port}"
    request = f"GET {path} HTTP/1.0\r\nHost: {host_header}\r\n\r\n"
    return host, port, request.encode("ascii")


def fetch_raw(url: str, timeline: Timeline | None = None, timeout: float = REQUEST_TIMEOUT) -> bytes:
    """The raw bytes of the server's answer to a GET of ``url`` (head and body).

    HTTP/1.0 without keep-alive: the server closes the connection after the
    response, so reading until ``recv`` returns ``b""`` reads all of it.
    ``timeout`` bounds each blocking call (connect, send, each recv).
    """
    host, port, request = build_request(url)
    key = urlsplit(url).path or "/"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        with _span(timeline, key, "connect"):
            sock.connect((host, port))
        with _span(timeline, key, "send"):
            sock.sendall(request)  # send() may write only part of it; sendall loops
        chunks = []
        with _span(timeline, key, "receive"):
            while True:
                chunk = sock.recv(READ_CHUNK)  # notebook 01 shows recv(4096); the compared crawlers read alike
                if not chunk:  # b"": the server closed the connection
                    break
                chunks.append(chunk)
    return b"".join(chunks)  # joining once avoids the lecture's quadratic `response += chunk`


def parse_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Split a raw HTTP response into ``(status, headers, body)``.

    Header names are lower-cased. Raises :class:`~support.web.report.ProtocolError`
    (a ``ValueError``) when ``raw`` is not an HTTP response, and its subclass
    :class:`~support.web.report.IncompleteResponse` when the body is shorter than
    its ``Content-Length`` (the connection ended too early).
    """
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise IncompleteResponse("incomplete HTTP response: no blank line after the headers")
    status_line, *header_lines = head.decode("iso-8859-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProtocolError(f"not an HTTP status line: {status_line!r}")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length", "")
    if length.isdigit() and len(body) < int(length):
        raise IncompleteResponse(f"{len(body)} of {length} bytes before the connection closed")
    return int(parts[1]), headers, body


def fetch(url: str, timeline: Timeline | None = None, timeout: float = REQUEST_TIMEOUT) -> tuple[int, bytes]:
    """HTTP/1.0 GET of ``url`` over a blocking socket: ``(status, body)``.

    With a ``timeline``, records the spans "connect", "send" and "receive"
    under the URL's path.
    """
    status, _headers, body = parse_response(fetch_raw(url, timeline, timeout))
    return status, body


def _span(timeline: Timeline | None, key: str, phase: str):
    return timeline.span(key, phase) if timeline is not None else contextlib.nullcontext()


# --------------------------------------------------------------------------
# Crawlers
# --------------------------------------------------------------------------


class Deadline:
    """When a crawl must stop: ``left()`` seconds from now (None: no deadline)."""

    def __init__(self, seconds: float | None, clock=time.monotonic):
        self.clock = clock
        self.end = None if seconds is None else clock() + seconds

    def left(self) -> float | None:
        return None if self.end is None else max(self.end - self.clock(), 0.0)

    def passed(self) -> bool:
        return self.end is not None and self.clock() >= self.end


def visit(url: str, options: CrawlOptions, deadline: Deadline) -> tuple[int | None, list[str] | str]:
    """Fetch one page: ``(status, hrefs)`` on success, ``(status or None, reason)`` on failure."""
    left = deadline.left()
    timeout = options.request_timeout if left is None else max(min(options.request_timeout, left), 0.001)
    try:
        status, body = fetch(url, options.timeline, timeout)
    except (OSError, ValueError) as exc:  # refused, reset, timeout, not HTTP...
        return None, DEADLINE if deadline.passed() else reason_of(exc)
    if status != 200:
        return status, http_reason(status)
    try:
        return status, extract_links(body, options.parser)
    except Exception:  # a parser that gives up on malformed HTML: this page fails, not the crawl
        return status, PARSE_ERROR


class Frontier:
    """Which URLs the crawl has met, whether a new one may still be crawled,
    and the outcome of each one.

    Thread-safe: the threaded crawlers call it from many threads. Once
    :meth:`stop` ran (the deadline), it admits nothing more and ignores late
    results: every URL already has its outcome.
    """

    def __init__(self, root_url: str, report: CrawlReport, options: CrawlOptions):
        self.root, self.report, self.max_pages = root_url, report, options.max_pages
        self.links = LinkFilter(root_url, options.allowed_hosts)
        self.seen: set[str] = set()
        self.stopped = False
        self._lock = threading.Lock()

    def admit(self, href: str, page_url: str) -> str | None:
        """The URL to crawl next for ``href`` found on ``page_url``, or None
        (skipped with a reason, or already met)."""
        decision = self.links(href, page_url)
        if decision.url is None:
            self.report.skip(href, decision.reason)
            return None
        with self._lock:
            if decision.url in self.seen:
                return None
            self.seen.add(decision.url)
            if self.stopped:
                self.report.skip(decision.url, DEADLINE)
                return None
            if self.max_pages is not None and len(self.seen) > self.max_pages:
                self.report.skip(decision.url, MAX_PAGES)
                return None
        return decision.url

    def record(self, url: str, status: int | None, result: list[str] | str) -> list[str]:
        """Store the outcome of one :func:`visit`; return the hrefs to look at (if any)."""
        with self._lock:
            if self.stopped:  # too late: the deadline already gave this URL its outcome
                return []
            if isinstance(result, str):
                self.report.fail(url, result)
                return []
            self.report.ok(url, status)
            return result

    def stop(self, queued: Collection[str] = ()) -> None:
        """The deadline passed: ``queued`` URLs are skipped, the others in flight fail."""
        with self._lock:
            self.stopped = True
            for url in self.seen:
                if self.report.outcome(url) is None:
                    if url in queued:
                        self.report.skip(url, DEADLINE)
                    else:
                        self.report.fail(url, DEADLINE)


def crawl_sequential(root_url: str, options: CrawlOptions | None = None, **knobs: Any) -> CrawlReport:
    """Crawl breadth-first, one page at a time, on the calling thread.

    Ignores ``concurrency``: one request at a time is the point.
    """
    options = options_of(options, **knobs)
    report, start, deadline = CrawlReport(), time.perf_counter(), Deadline(options.deadline)
    root = normalize(root_url)
    frontier = Frontier(root, report, options)
    queue = deque([frontier.admit(root, root)])
    while queue and not deadline.passed():
        url = queue.popleft()
        status, result = visit(url, options, deadline)  # the thread waits here, page after page
        for href in frontier.record(url, status, result):
            new = frontier.admit(href, url)
            if new:
                queue.append(new)
    if queue:
        frontier.stop(queued=set(queue))
    report.seconds = time.perf_counter() - start
    return report


def crawl_thread_per_url(root_url: str, options: CrawlOptions | None = None, **knobs: Any) -> CrawlReport:
    """Un hilo nuevo por cada URL descubierta, como en la clase (con el tope ``max_pages``).

    Cada hilo descarga su página y lanza un hilo por cada enlace nuevo que
    encuentra en ella, así que las esperas de todas las páginas conocidas en
    un momento dado se superponen. No usa ``concurrency``: hay tantos hilos
    como URL. (Docstring en español: el notebook 01 muestra esta función.)
    """
    options = options_of(options, **knobs)
    report, start, deadline = CrawlReport(), time.perf_counter(), Deadline(options.deadline)
    root = normalize(root_url)
    frontier = Frontier(root, report, options)
    threads: list[threading.Thread] = []
    lock = threading.Lock()

    def spawn(url: str) -> None:
        t = threading.Thread(target=work, args=(url,), name=f"crawl-{len(threads)}", daemon=True)
        with lock:
            threads.append(t)
        t.start()

    def work(url: str) -> None:
        status, result = visit(url, options, deadline)
        for href in frontier.record(url, status, result):
            new = frontier.admit(href, url)
            if new:
                spawn(new)

    spawn(frontier.admit(root, root))
    joined = 0
    while True:  # un hilo puede lanzar otros: join hasta que no aparezca ninguno nuevo
        with lock:
            if joined == len(threads):
                break
            t = threads[joined]
        t.join(deadline.left())
        if t.is_alive():  # venció el plazo total: los hilos que siguen trabajando fallan con él
            frontier.stop()
            break
        joined += 1
    report.seconds = time.perf_counter() - start
    return report


def crawl_pool(root_url: str, options: CrawlOptions | None = None, **knobs: Any) -> CrawlReport:
    """Crawl with ``concurrency`` reusable threads (``ThreadPoolExecutor``).

    Workers only fetch and extract links; the calling thread collects their
    results as they complete and submits the new URLs, so the number of
    threads stays at ``concurrency`` however large the site is.
    """
    options = options_of(options, **knobs)
    report, start, deadline = CrawlReport(), time.perf_counter(), Deadline(options.deadline)
    root = normalize(root_url)
    frontier = Frontier(root, report, options)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="pool")
    try:
        pending = {pool.submit(visit, root, options, deadline): frontier.admit(root, root)}
        while pending:
            done, _ = concurrent.futures.wait(pending, timeout=deadline.left(),
                                              return_when=concurrent.futures.FIRST_COMPLETED)
            if not done:  # the deadline: URLs not started yet are skipped, the others fail
                frontier.stop(queued={url for future, url in pending.items() if future.cancel()})
                break
            for future in done:
                url = pending.pop(future)
                for href in frontier.record(url, *future.result()):
                    new = frontier.admit(href, url)
                    if new:
                        pending[pool.submit(visit, new, options, deadline)] = new
    finally:
        pool.shutdown(wait=not frontier.stopped, cancel_futures=True)
    report.seconds = time.perf_counter() - start
    return report
