"""The course's asyncio crawler (notebook 07): aiohttp + ``asyncio.Queue`` + C workers.

Notebook 07 builds this crawler step by step; this module is its final,
tested version, registered as ``"asyncio"`` in :data:`support.crawlers.registry.CRAWLERS`::

    from support.crawlers.asyncio_crawler import crawl, crawl_sync
    result = await crawl(site.url, concurrency=20)      # in a notebook cell
    result = crawl_sync(site.url, CrawlOptions(concurrency=20))  # in a script or a thread
    print(result.summary())

Both take a :class:`~support.web.report.CrawlOptions` and/or its fields as keywords.

How it works
------------
* One ``aiohttp.ClientSession`` whose connector holds at most ``concurrency``
  connections, and exactly ``concurrency`` worker tasks that take URLs from an
  ``asyncio.Queue``: C requests in flight at most, however many URLs wait.
  The workers live in an ``asyncio.TaskGroup`` and the whole crawl under
  ``asyncio.timeout_at(start + deadline)`` (the loop's time at the start:
  the instant :meth:`_Crawl.time_left` counts to): a worker that crashes on
  a bug stops the crawl and its exception surfaces (an ``ExceptionGroup``);
  it cannot vanish.
* A worker fetches a page, parses its links and puts the new ones in the
  queue. ``queue.join()`` returns when every URL put has been processed: that
  is how the crawl knows it is finished without counting workers.
* When responses arrive in a burst and URLs are already waiting, a worker
  sends its next request before parsing the page it got (:meth:`_Crawl.defer`):
  the network never waits for the parser. Pages over
  :data:`PARSE_ON_LOOP_BYTES` are parsed in a thread, off the loop.
* Every URL met gets one outcome in the :class:`CrawlResult`: ``crawled``
  (fetched and parsed), ``skipped`` (not fetched, or not a page: the reason
  says why) or ``failed`` (the reason says why, from
  :func:`support.web.report.reason_of`). Nothing is dropped silently, not even
  at the deadline.
* Time comes from the event loop (``loop.time()``), so tests can run the
  crawler in virtual time. With ``options.timeline``, each request (aiohttp
  connects, sends and receives in one call) is one "request" span under its
  URL's path.

Guarantees (proved by ``tests/test_crawler_hostile*.py``)
---------------------------------------------------------
* **Time.** With a ``deadline``, the crawl returns at the deadline whatever
  a page contains (the tests allow one ``request_timeout`` of slack): big
  pages are parsed off the loop and their links admitted in slices (the
  deadline checked between two), and no page is recorded past the deadline.
  A request's timeout measures that request, not other pages' parses.
  The default parser (:data:`support.web.links.CRAWL_PARSER`, a tokenizer
  that builds no tree) and link admission are linear in the page's size;
  an href over :data:`support.web.links.MAX_HREF` characters is skipped
  before any work. ``Retry-After`` (seconds or an HTTP date) is waited
  for, up to :data:`MAX_RETRY_AFTER` and never past the deadline: asking
  for longer fails the URL at once.
* **Bytes.** A body is counted decoded (after gzip, deflate, brotli...)
  while it streams, and reading stops past ``max_bytes``: a decompression
  bomb costs ``max_bytes``, not what it inflates to.
* **Memory.** At most C bodies of ``max_bytes`` are held at once; parsing
  one holds the page and its hrefs, no tree. The report lists at most
  ``CrawlReport.sample`` skipped URLs (``sample_chars`` characters, each
  href cut to ``LISTED_CHARS`` with a marker) and counts the rest per
  reason (``unlisted``); URLs skipped for ``max_depth`` or ``max_pages``
  are remembered only while listed: a link trap cannot grow the crawl's
  bookkeeping without bound.
* **Accounting.** Every URL met ends crawled, skipped (why) or failed (why),
  listed or counted: ``len(crawled) + sum(reasons().values())`` is the number
  of URLs and skipped hrefs met (an unlisted URL met twice counts twice). A
  redirect loop says ``"redirect loop"``; a malformed answer says
  ``"malformed response (...)"`` and is not retried; a root URL that cannot
  be crawled is a ``ValueError`` before anything starts. Every key and value
  of the report encodes as UTF-8 (raw bytes of a header percent-encoded).
  A body coded in a way that is not undone (``Content-Encoding: gzip, gzip``)
  is skipped, ``"unsupported encoding (...)"``, never counted as crawled.
* **Politeness** (:mod:`support.crawlers.politeness`, proved by
  ``tests/test_crawler_polite.py``). Every request says who sends it
  (:data:`~support.crawlers.politeness.USER_AGENT`). Each host's
  ``/robots.txt`` is read once, before its first page, with the crawl's
  session, timeout and pacing; a URL it disallows is skipped,
  ``"disallowed by robots.txt"`` (``obey_robots=False`` turns this off;
  ``result.robots`` says what each host answered). A 429 or 503 with
  ``Retry-After`` pauses *every* worker's requests to that host, not only
  the URL that got it, never past the deadline; after a 429 the host's
  requests are also spaced out for the rest of the crawl. The report says
  how long each host was paused (``result.paused``; ``result.waited`` in
  total). A ``Refresh`` header or ``<meta http-equiv="refresh">`` with a URL
  is followed as a redirect (same ``max_redirects``, same loop detection).

Discussion: the state shared between workers (``seen``, the queue, the
report) needs no lock here only because no ``await`` sits between a check
and the act it guards: :meth:`_Crawl.admit` asks "seen?" and adds the URL in
one synchronous call, and a coroutine is never interrupted between two lines
that do not ``await``. That is a property of this code, not a rule of
cooperative multitasking: put an ``await`` between the check and the add and
two workers fetch the same page (notebook 06, section 5, counts those
duplicate GETs); then mark before awaiting, or take an ``asyncio.Lock``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from support.crawlers.admission import Admission
from support.crawlers.fetching import (  # fetch and its constants are re-exported (__all__)
    MAX_RETRY_AFTER,
    PARSE_ON_LOOP_BYTES,
    TRANSIENT_STATUSES,
    ParseThread,
    fetch,
    page_links,
)
from support.crawlers.politeness import USER_AGENT, Hosts, Robots
from support.web.report import (  # CrawlResult is re-exported (__all__)
    DEADLINE,
    DISALLOWED_BY_ROBOTS,
    REDIRECT,
    REDIRECT_LOOP,
    REDIRECT_WITHOUT_LOCATION,
    STOPPED,
    TOO_MANY_REDIRECTS,
    CrawlOptions,
    CrawlResult,
    options_of,
)

__all__ = ["crawl", "crawl_sync", "CrawlResult", "fetch", "TRANSIENT_STATUSES", "MAX_RETRY_AFTER",
           "PARSE_ON_LOOP_BYTES"]

# --------------------------------------------------------------------------
# The crawl: a queue, C workers, and the bookkeeping of every URL
# --------------------------------------------------------------------------


class _Crawl(Admission):
    """The state of one crawl: the queue, the URLs met (:class:`Admission`), the result being filled."""

    def __init__(self, root_url: str, options: CrawlOptions):
        super().__init__(root_url, options)
        self.concurrency = options.concurrency
        self.timeout = aiohttp.ClientTimeout(total=options.request_timeout)
        self.deadline, self.retries, self.backoff = options.deadline, options.retries, options.backoff
        self.max_redirects, self.max_bytes, self.parser = options.max_redirects, options.max_bytes, options.parser
        self.obey_robots, self.robots = options.obey_robots, None
        self.timeline = options.timeline
        self.fetching = 0                  # requests open right now (at most C)
        self.stopped = False
        self.parse_thread: ParseThread | None = None  # started for the first big page

    # -- the workers ---------------------------------------------------------

    async def worker(self) -> None:
        queue = self.queue
        while True:
            url, depth = await queue.get()
            deferred = False
            try:
                deferred = await self.visit(url, depth)
            finally:
                if not deferred:  # a deferred page calls task_done once it is parsed
                    queue.task_done()

    async def visit(self, url: str, depth: int) -> bool:
        """Fetch ``url``; follow its redirects (up to ``max_redirects``); queue its links.

        Returns True when the page's parsing was deferred (see :meth:`defer`).
        """
        result, hops, chain = self.result, 0, [url]
        while True:
            if self.robots is not None and not await self.robots.allows(url):
                result.skip(url, DISALLOWED_BY_ROBOTS)
                self.settle(url)
                return False
            self.in_flight.add(url)
            self.fetching += 1
            result.max_in_flight = max(result.max_in_flight, self.fetching)
            try:
                with _span(self.timeline, url):
                    got = await fetch(
                        self.session, url, timeout=self.timeout, retries=self.retries,
                        backoff=self.backoff, max_bytes=self.max_bytes, on_retry=self._count_retry,
                        time_left=self.time_left, pacer=self.hosts.of(url))
            finally:
                self.fetching -= 1
            if got.kind != "redirect":
                break
            location = got.location
            # A redirect is a page with a single link: its target goes through admission.
            if location is None:
                result.fail(url, REDIRECT_WITHOUT_LOCATION)
                self.settle(url)
                return False
            decision = self.links(location, url)
            result.redirects[url] = decision.href  # raw bytes percent-encoded: every key and value is UTF-8
            if decision.url in chain:  # back into its own chain: it would never end
                result.skip(url, REDIRECT_LOOP)
                self.settle(url)
                return False
            result.skip(url, REDIRECT)
            hops += 1
            if hops > self.max_redirects and decision.url is not None:
                if decision.url not in self.seen:
                    self.seen.add(decision.url)
                    result.skip(decision.url, TOO_MANY_REDIRECTS)
                self.settle(url)
                return False
            target = self.admit(location, url, depth)  # a target it would not follow anyway says why
            self.settle(url)
            if target is None:
                return False
            url = target  # this worker fetches the target itself, right away
            chain.append(url)
        if got.kind == "page":
            body, charset, status = got.body, got.charset, got.status
            if len(body) > PARSE_ON_LOOP_BYTES:  # off the loop: the other workers go on meanwhile
                if self.parse_thread is None:
                    self.parse_thread = ParseThread()
                try:
                    links = await self.loop.run_in_executor(self.parse_thread, page_links, body, charset,
                                                            self.parser)
                except Exception:  # a parser that gives up on malformed HTML
                    self.parse_failed(url)
                else:
                    base = self.record(url, depth, status, len(body), links)
                    if base is not None:  # its links, a slice per turn of the loop, within the deadline
                        await self.admit_in_slices(links.hrefs, base, depth + 1)
                        self.settle(url)
                return False
            if not self.queue.empty() and len(self.to_parse) < self.concurrency:
                self.defer(url, depth, status, (body, charset))
                return True
            self.parse(url, depth, status, (body, charset))
        elif got.kind == "skip":
            result.skip(url, got.reason)
            self.settle(url)
        else:
            result.fail(url, got.reason)
            if got.attempts > 1:
                result.attempts[url] = got.attempts
            self.settle(url)
        return False

    def time_left(self) -> float | None:
        """Seconds until the deadline (0.0 once past it), or None without a deadline."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - (self.loop.time() - self.t0))

    def _count_retry(self) -> None:
        self.result.retries += 1

    # -- the whole crawl -----------------------------------------------------

    async def run(self) -> CrawlResult:
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        result = self.result
        connector = aiohttp.TCPConnector(limit=self.concurrency, limit_per_host=0)
        self.hosts = Hosts(self.loop.time)
        async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                         headers={"User-Agent": USER_AGENT}) as session:
            self.session = session
            if self.obey_robots:
                self.robots = Robots(session, self.hosts, self.timeout)
            root = self.admit(self.root, self.root, 0)
            self.queue.put_nowait((root, 0))
            # The deadline counts from t0, as time_left() does: one clock and one start for both.
            ends = None if self.deadline is None else self.t0 + self.deadline
            try:
                async with asyncio.timeout_at(ends), asyncio.TaskGroup() as self.tasks:
                    workers = [self.tasks.create_task(self.worker(), name=f"worker-{i}")
                               for i in range(self.concurrency)]
                    await self.queue.join()
                    for w in workers:  # idle in queue.get() for ever: the crawl is over
                        w.cancel()
            except TimeoutError:
                result.deadline_reached = True
            finally:  # done, deadline, a bug (ExceptionGroup) or cancelled: nothing is lost
                self.stopped = True
                if self.parse_thread is not None:
                    self.parse_thread.shutdown()  # a parse still running finishes on its own, unwaited
                self.account_for_the_rest(DEADLINE if result.deadline_reached else STOPPED)
                result.paused = self.hosts.paused()
                if self.robots is not None:
                    result.robots = dict(self.robots.status)
        result.seconds = self.loop.time() - self.t0
        self.report_progress()
        if self.progress_error is not None:
            raise RuntimeError("the progress callback raised an exception") from self.progress_error
        return result


def _span(timeline, url: str):
    """A "request" span of ``url``'s path on ``timeline``; nothing without one."""
    return timeline.span(urlsplit(url).path or "/", "request") if timeline is not None else contextlib.nullcontext()


async def crawl(root_url: str, options: CrawlOptions | None = None, **knobs: Any) -> CrawlResult:
    """Crawl from ``root_url`` with ``options.concurrency`` workers; return every URL's outcome.

    ``options`` is a :class:`~support.web.report.CrawlOptions` (see its fields:
    concurrency, max_pages, max_depth, request_timeout, deadline, retries,
    backoff, max_redirects, max_bytes, allowed_hosts, parser, progress,
    obey_robots);
    keywords replace single fields: ``await crawl(url, concurrency=20)``.
    At the ``deadline`` in-flight fetches are cancelled (failed: ``"deadline"``)
    and queued URLs are skipped (``"deadline"``). A bug in the crawler raises
    (an ``ExceptionGroup`` from its ``TaskGroup``).
    """
    return await _Crawl(root_url, options_of(options, **knobs)).run()


def crawl_sync(root_url: str, options: CrawlOptions | None = None, **knobs: Any) -> CrawlResult:
    """:func:`crawl` as a plain call: its own event loop, in this thread or a worker thread.

    With no loop running in this thread (a script, the benchmark), the crawl
    runs here with ``asyncio.run``; inside a notebook, whose own loop is
    already running (``asyncio.run`` cannot be called from the loop's
    thread), it runs in a worker thread and this call waits for it.
    """
    options = options_of(options, **knobs)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(crawl(root_url, options))
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="crawl") as pool:
        return pool.submit(lambda: asyncio.run(crawl(root_url, options))).result()
