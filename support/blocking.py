"""Blocking sockets and threads: the lecture's "traditional approach" (notebook 01).

Reference code that notebook 01 teaches and that later notebooks and the
benchmark reuse:

* :func:`fetch`: an HTTP/1.0 GET written by hand over a plain blocking
  ``socket`` (connect, ``sendall``, ``recv`` until the server closes);
* three crawlers over the same site, all returning a
  :class:`support.report.CrawlReport`:

  - :func:`crawl_sequential`: one page after another, on one thread;
  - :func:`crawl_thread_per_url`: one new thread per URL discovered (the
    lecture's ``threading.Thread(target=fetch, ...)`` loop, bounded);
  - :func:`crawl_pool`: a fixed pool of worker threads
    (``concurrent.futures.ThreadPoolExecutor``).

All three use :mod:`support.links` to find and classify links, stay on the
root's host, fetch each canonical URL once, and give every URL they meet an
outcome: crawled, skipped (with the reason) or failed (with the reason).

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
from urllib.parse import urlsplit

from support.links import classify, extract_links, normalize
from support.report import CrawlReport
from support.timeline import Timeline

__all__ = [
    "fetch", "fetch_raw", "parse_response", "build_request", "crawl_sequential",
    "crawl_thread_per_url", "crawl_pool", "MAX_PAGES_REASON", "Frontier", "record_visit",
]

#: Reason recorded for URLs found after the crawl reached ``max_pages``.
MAX_PAGES_REASON = "max_pages reached"


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


def fetch_raw(url: str, timeline: Timeline | None = None, timeout: float = 10.0) -> bytes:
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
                chunk = sock.recv(4096)
                if not chunk:  # b"": the server closed the connection
                    break
                chunks.append(chunk)
    return b"".join(chunks)  # joining once avoids the lecture's quadratic `response += chunk`


def parse_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Split a raw HTTP response into ``(status, headers, body)``.

    Header names are lower-cased. Raises ``ValueError`` when ``raw`` is not an
    HTTP response.
    """
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("incomplete HTTP response: no blank line after the headers")
    status_line, *header_lines = head.decode("iso-8859-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ValueError(f"not an HTTP status line: {status_line!r}")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers, body


def fetch(url: str, timeline: Timeline | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
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


def _visit(url: str, timeline: Timeline | None) -> tuple[int | None, list[str] | str]:
    """Fetch one page: ``(status, hrefs)`` on success, ``(status or None, reason)`` on failure."""
    try:
        status, body = fetch(url, timeline)
    except (OSError, ValueError) as exc:  # refused, reset, timeout, not HTTP...
        return None, f"{type(exc).__name__}: {exc}"
    if status != 200:
        return status, f"HTTP {status}"
    return status, extract_links(body)


class Frontier:
    """Which URLs the crawl has met, and whether a new one may still be crawled.

    Thread-safe: the thread-per-URL crawler calls :meth:`admit` from many threads.
    """

    def __init__(self, root_url: str, report: CrawlReport, max_pages: int | None):
        if max_pages is not None and max_pages < 1:
            raise ValueError(f"max_pages must be >= 1 or None, got {max_pages!r}")
        self.root, self.report, self.max_pages = root_url, report, max_pages
        self.seen: set[str] = set()
        self._lock = threading.Lock()

    def admit(self, href: str, page_url: str) -> str | None:
        """The URL to crawl next for ``href`` found on ``page_url``, or None
        (skipped with a reason, or already met)."""
        decision = classify(href, page_url, self.root)
        if decision.url is None:
            self.report.skip(href, decision.reason)
            return None
        with self._lock:
            if decision.url in self.seen:
                return None
            if self.max_pages is not None and len(self.seen) >= self.max_pages:
                self.report.skip(decision.url, MAX_PAGES_REASON)
                return None
            self.seen.add(decision.url)
        return decision.url


def record_visit(report: CrawlReport, url: str, status: int | None, result) -> list[str]:
    """Store the outcome of one visit; return the hrefs to look at (if any)."""
    if isinstance(result, str):
        report.fail(url, result)
        return []
    report.ok(url, status)
    return result


def crawl_sequential(root_url: str, max_pages: int | None = None,
                     timeline: Timeline | None = None) -> CrawlReport:
    """Crawl breadth-first, one page at a time, on the calling thread."""
    report, start = CrawlReport(), time.perf_counter()
    root = normalize(root_url)
    frontier = Frontier(root, report, max_pages)
    queue = deque([frontier.admit(root, root)])
    while queue:
        url = queue.popleft()
        status, result = _visit(url, timeline)  # the thread waits here, page after page
        for href in record_visit(report, url, status, result):
            new = frontier.admit(href, url)
            if new:
                queue.append(new)
    report.seconds = time.perf_counter() - start
    return report


def crawl_thread_per_url(root_url: str, max_pages: int | None = None,
                         timeline: Timeline | None = None) -> CrawlReport:
    """One new thread per URL discovered, as in the lecture (bounded by ``max_pages``).

    Each thread fetches its page and starts a thread for every new link on it,
    so the waits of all the pages known at a given moment overlap.
    """
    report, start = CrawlReport(), time.perf_counter()
    root = normalize(root_url)
    frontier = Frontier(root, report, max_pages)
    threads: list[threading.Thread] = []
    lock = threading.Lock()

    def spawn(url: str) -> None:
        t = threading.Thread(target=work, args=(url,), name=f"crawl-{len(threads)}")
        with lock:
            threads.append(t)
        t.start()

    def work(url: str) -> None:
        status, result = _visit(url, timeline)
        for href in record_visit(report, url, status, result):
            new = frontier.admit(href, url)
            if new:
                spawn(new)

    spawn(frontier.admit(root, root))
    joined = 0
    while True:  # a thread may start others: join until no new thread appeared
        with lock:
            if joined == len(threads):
                break
            t = threads[joined]
        t.join()
        joined += 1
    report.seconds = time.perf_counter() - start
    return report


def crawl_pool(root_url: str, max_pages: int | None = None, workers: int = 20,
               timeline: Timeline | None = None) -> CrawlReport:
    """Crawl with ``workers`` reusable threads (``ThreadPoolExecutor``).

    Workers only fetch and extract links; the calling thread collects their
    results as they complete and submits the new URLs, so the number of
    threads stays at ``workers`` however large the site is.
    """
    report, start = CrawlReport(), time.perf_counter()
    root = normalize(root_url)
    frontier = Frontier(root, report, max_pages)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers,
                                               thread_name_prefix="pool") as pool:
        pending = {pool.submit(_visit, root, timeline): frontier.admit(root, root)}
        while pending:
            done, _ = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                url = pending.pop(future)
                status, result = future.result()
                for href in record_visit(report, url, status, result):
                    new = frontier.admit(href, url)
                    if new:
                        pending[pool.submit(_visit, new, timeline)] = new
    report.seconds = time.perf_counter() - start
    return report
