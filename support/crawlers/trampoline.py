"""The crawler of notebooks 01-02 on generator coroutines (notebook 04).

:func:`crawl_trampoline` runs one Task per URL, on one thread and one
hand-written selector loop; ``crawl(root_url, options) -> CrawlReport`` like
every crawler of the course (:mod:`support.crawlers.registry`). The Future,
Task, timers and straight-line socket I/O it stands on are the toy kernel's,
:mod:`support.kernel.tasks`; :func:`fetch` here adds HTTP/1.0 on top of them.
The benchmark (:mod:`tools.bench`) and notebook 04 run it.
"""

from __future__ import annotations

import contextlib
import math
import socket
import time
from typing import Any
from urllib.parse import urlsplit

from support.crawlers.blocking import Frontier, build_request, parse_response
from support.kernel.eventloop import EventLoop
from support.kernel.tasks import Task, connect, read_all, send_all, with_timeout
from support.osutil import raise_fd_limit
from support.timeline import Timeline
from support.web.links import extract_links, normalize
from support.web.report import PARSE_ERROR, CrawlOptions, CrawlReport, http_reason, options_of, reason_of

__all__ = ["fetch", "crawl_trampoline"]


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


def crawl_trampoline(root_url: str, options: CrawlOptions | None = None, *, loop: EventLoop | None = None,
                     **knobs: Any) -> CrawlReport:
    """Crawl the site at ``root_url`` with one generator coroutine (Task) per URL,
    on one thread and one hand-written selector loop.

    Every URL met ends crawled, skipped (with the reason) or failed (with the
    reason: connection errors, non-HTTP answers, or the crawl's ``deadline``).
    Pass your own ``loop`` to watch it work (``loop.on_turn``, ``loop.turns``);
    otherwise a fresh :class:`EventLoop` is made and closed.

    Options it honours: ``max_pages``, ``request_timeout`` (a timer of the
    loop cancels a fetch that takes longer: :func:`~support.kernel.tasks.with_timeout`),
    ``deadline``, ``timeline``, ``allowed_hosts``, ``parser``. It ignores
    ``concurrency`` (every URL gets its Task at once), ``max_depth``,
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
            status, body = yield from with_timeout(loop, fetch(loop, url, options.timeline),
                                                   options.request_timeout, name=url)
        except (OSError, ValueError) as exc:  # refused, reset, timeout, not HTTP...
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
