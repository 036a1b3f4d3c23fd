"""The course's asyncio crawler (notebook 07): aiohttp + ``asyncio.Queue`` + C workers.

Notebook 07 builds this crawler step by step; this module is its final,
tested version, the one the benchmark (``tools/bench.py``) imports::

    from support.crawler import crawl, crawl_sync
    result = await crawl(site.url, concurrency=20)      # in a notebook cell
    result = crawl_sync(site.url, concurrency=20)        # in a script or a thread
    print(result.summary())

How it works
------------
* One ``aiohttp.ClientSession`` whose connector holds at most ``concurrency``
  connections, and exactly ``concurrency`` worker tasks that take URLs from an
  ``asyncio.Queue``: C requests in flight at most, however many URLs wait.
* A worker fetches a page, parses its links and puts the new ones in the
  queue. ``queue.join()`` returns when every URL put has been processed: that
  is how the crawl knows it is finished without counting workers.
* When responses arrive in a burst and URLs are already waiting, a worker
  sends its next request before parsing the page it got (:meth:`_Crawl.defer`):
  the network never waits for the parser.
* Every URL met gets one outcome in the :class:`CrawlResult`: ``crawled``
  (fetched and parsed), ``skipped`` (not fetched, or not a page: the reason
  says why) or ``failed`` (the reason says why). Nothing is dropped silently.

Discussion: the only state shared between workers (``seen``, the queue, the
report) is touched between two ``await``s, so no lock is needed: a coroutine
is never interrupted between two lines that do not ``await``. That is the
cooperative multitasking of the lecture, and why the crawler needs no mutex.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Collection

import aiohttp

from support.links import DEFAULT_PARSER, PARSERS, LinkFilter, extract_links, normalize
from support.report import CrawlReport

__all__ = ["crawl", "crawl_sync", "CrawlResult", "fetch", "TRANSIENT_STATUSES",
           "MAX_PAGES", "MAX_DEPTH", "DEADLINE", "REDIRECT", "TOO_MANY_REDIRECTS",
           "TOO_BIG", "TIMEOUT"]

# Reasons (fixed strings, so a report can be counted by reason).
MAX_PAGES = "max_pages reached"          # the same words as support.blocking
MAX_DEPTH = "max_depth reached"
DEADLINE = "deadline"
REDIRECT = "redirect"                    # the URL answered 3xx; its target is met next
TOO_MANY_REDIRECTS = "too many redirects"
TOO_BIG = "body over max_bytes"
TIMEOUT = "timeout"

#: Answers worth asking again after a pause: the server may recover.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


@dataclass(repr=False)  # CrawlReport's short repr, not one listing every URL
class CrawlResult(CrawlReport):
    """A :class:`~support.report.CrawlReport` plus what the asyncio crawl measured.

    ``depth``: url -> link distance from the root, for every URL fetched.
    ``redirects``: url -> the Location it answered. ``finish_times``: seconds
    since the start at which each page was crawled (for plots). ``retries``:
    requests sent again after a transient error. ``max_in_flight``: most
    requests the crawler had open at once (never more than ``concurrency``).
    """

    concurrency: int = 0
    parser: str = DEFAULT_PARSER
    depth: dict[str, int] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    finish_times: list[float] = field(default_factory=list)
    retries: int = 0
    max_in_flight: int = 0
    discovered: int = 0          # URLs admitted to the queue (the progress bar's max)
    bytes: int = 0               # body bytes read
    deadline_reached: bool = False

    @property
    def done(self) -> int:
        """URLs that have an outcome so far (crawled + failed + fetched-then-skipped)."""
        return len(self.crawled) + len(self.failed)

    @property
    def pages_per_second(self) -> float:
        return len(self.crawled) / self.seconds if self.seconds else 0.0

    def by_reason(self) -> dict[tuple[str, str], int]:
        """``(outcome, reason) -> count``, crawled pages counted as ``("crawled", "HTTP 200")``."""
        counts: dict[tuple[str, str], int] = {}
        for status in self.crawled.values():
            key = ("crawled", f"HTTP {status}")
            counts[key] = counts.get(key, 0) + 1
        for outcome, table in (("skipped", self.skipped), ("failed", self.failed)):
            for reason in table.values():
                counts[(outcome, reason)] = counts.get((outcome, reason), 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


# --------------------------------------------------------------------------
# One fetch: status, redirects, content type, size, retries
# --------------------------------------------------------------------------


async def fetch(session: aiohttp.ClientSession, url: str, *, timeout: aiohttp.ClientTimeout | None = None,
                retries: int = 2, backoff: float = 0.05, max_bytes: int = 1_000_000,
                on_retry: Callable[[], None] | None = None) -> tuple[str, object, object]:
    """GET ``url`` once (plus up to ``retries`` retries after a transient error).

    Returns one of ``("page", status, text)``, ``("redirect", status, location)``,
    ``("skip", reason, None)`` or ``("fail", reason, None)``. Transient errors
    (timeouts, resets, 429/5xx) are retried after ``backoff``, ``2*backoff``,
    ``4*backoff``... seconds. Redirects are *not* followed here: the crawler
    decides whether the target is worth a visit.
    """
    reason = "no attempt"
    for attempt in range(retries + 1):
        if attempt:
            if on_retry is not None:
                on_retry()
            await asyncio.sleep(backoff * 2 ** (attempt - 1))
        try:
            async with session.get(url, allow_redirects=False, timeout=timeout) as resp:
                status = resp.status
                if status in TRANSIENT_STATUSES:
                    reason = f"HTTP {status}"
                    continue
                if status in _REDIRECT_STATUSES:
                    return "redirect", status, resp.headers.get("Location")
                if not 200 <= status < 300:
                    return "fail", f"HTTP {status}", None
                ctype = resp.content_type
                if ctype not in _HTML_TYPES:
                    return "skip", f"not HTML ({ctype})", None
                body = await _read_at_most(resp, max_bytes)
                if body is None:
                    return "skip", TOO_BIG, None
                return "page", status, _decode(body, resp.charset)
        except TimeoutError:
            reason = TIMEOUT
        except (aiohttp.ClientSSLError, aiohttp.InvalidURL) as exc:  # asking again will not help
            return "fail", _error_reason(exc), None
        except aiohttp.ClientError as exc:  # reset, refused, disconnected, bad payload...
            reason = _error_reason(exc)
    return "fail", f"{reason} after {retries + 1} attempts" if retries else reason, None


async def _read_at_most(resp: aiohttp.ClientResponse, max_bytes: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed ``max_bytes``."""
    length = resp.content_length
    if length is not None:
        if length > max_bytes:
            return None  # refused from the header alone, the body is never read
        return await resp.read()
    chunks, size = [], 0
    async for chunk in resp.content.iter_any():  # no Content-Length: count as it arrives
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


def _error_reason(exc: aiohttp.ClientError) -> str:
    name = type(exc).__name__
    strerror = getattr(exc, "strerror", None)
    if isinstance(exc, aiohttp.ClientSSLError) or not strerror:
        return name
    return f"{name} ({strerror})"


# --------------------------------------------------------------------------
# The crawl: a queue, C workers, and the bookkeeping of every URL
# --------------------------------------------------------------------------


class _Crawl:
    """The state of one crawl: the queue, the URLs met, and the result being filled."""

    def __init__(self, root_url: str, concurrency: int, max_pages, max_depth, request_timeout,
                 deadline, retries, backoff, max_redirects, max_bytes, allowed_hosts, parser, progress):
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency!r}")
        if max_pages is not None and max_pages < 1:
            raise ValueError(f"max_pages must be >= 1 or None, got {max_pages!r}")
        if parser not in PARSERS:
            raise ValueError(f"parser must be one of {PARSERS}, got {parser!r}")
        self.root = normalize(root_url)
        self.concurrency, self.max_pages, self.max_depth = concurrency, max_pages, max_depth
        self.timeout = aiohttp.ClientTimeout(total=request_timeout)
        self.deadline, self.retries, self.backoff = deadline, retries, backoff
        self.max_redirects, self.max_bytes, self.parser = max_redirects, max_bytes, parser
        self.progress, self.progress_error = progress, None
        self.links = LinkFilter(self.root, allowed_hosts)
        self.result = CrawlResult(concurrency=concurrency, parser=parser)
        self.queue: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
        self.seen: set[str] = set()        # every canonical URL met (admitted or skipped)
        self.pending: dict[str, int] = {}  # admitted, no outcome yet: url -> depth
        self.in_flight: set[str] = set()   # being fetched, or fetched and waiting to be parsed
        self.fetching = 0                  # requests open right now (at most C)
        self.to_parse: deque = deque()     # fetched pages whose parsing was deferred
        self.stopped = False
        self.too_deep: set[str] = set()    # skipped for max_depth (may be met again closer)

    # -- admission: one place decides what enters the queue --------------------

    def admit(self, href: str, page_url: str, depth: int) -> str | None:
        """The canonical URL to visit for ``href`` found on ``page_url``, or None.

        None when the href is skipped (the reason goes to the report) or the
        URL was already met (it has, or will have, its own outcome).
        """
        decision = self.links(href, page_url)
        url = decision.url
        if url is None:
            self.result.skip(href, decision.reason)
            return None
        if url in self.seen:
            if url not in self.too_deep or depth > self.max_depth:
                return None
            self.too_deep.discard(url)      # met again, now close enough to the root
            del self.result.skipped[url]
        elif self.max_depth is not None and depth > self.max_depth:
            self.seen.add(url)
            self.too_deep.add(url)
            self.result.skip(url, MAX_DEPTH)
            return None
        if self.max_pages is not None and self.result.discovered >= self.max_pages:
            self.seen.add(url)
            self.result.skip(url, MAX_PAGES)
            return None
        self.seen.add(url)
        self.pending[url] = depth
        self.result.discovered += 1
        return url

    def settle(self, url: str) -> None:
        """``url`` has its outcome: it is neither pending nor in flight any more."""
        self.pending.pop(url, None)
        self.in_flight.discard(url)

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
        result, hops = self.result, 0
        while True:
            self.in_flight.add(url)
            self.fetching += 1
            result.max_in_flight = max(result.max_in_flight, self.fetching)
            try:
                kind, value, extra = await fetch(
                    self.session, url, timeout=self.timeout, retries=self.retries,
                    backoff=self.backoff, max_bytes=self.max_bytes, on_retry=self._count_retry)
            except Exception as exc:  # anything aiohttp did not foresee: this URL fails, the crawl goes on
                kind, value, extra = "fail", f"error ({type(exc).__name__}: {exc})", None
            finally:
                self.fetching -= 1
            if kind != "redirect":
                break
            # A redirect is a page with a single link: its target goes through admission.
            result.skip(url, REDIRECT)
            self.settle(url)
            if extra is None:
                del result.skipped[url]
                result.fail(url, "redirect without Location")
                return False
            result.redirects[url] = extra
            hops += 1
            if hops > self.max_redirects:
                decision = self.links(extra, url)
                target = decision.url or extra
                if target not in self.seen:
                    self.seen.add(target)
                    result.skip(target, TOO_MANY_REDIRECTS)
                return False
            target = self.admit(extra, url, depth)
            if target is None:
                return False
            url = target  # this worker fetches the target itself, right away
        if kind == "page":
            if not self.queue.empty() and len(self.to_parse) < self.concurrency:
                self.defer(url, depth, value, extra)
                return True
            self.parse(url, depth, value, extra)
        elif kind == "skip":
            result.skip(url, value)
            self.settle(url)
            self.report_progress()
        else:
            result.fail(url, value)
            self.settle(url)
            self.report_progress()
        return False

    # -- parsing: right away, or just after the next request is on its way ----

    def defer(self, url: str, depth: int, status: int, text: str) -> None:
        """Parse this page a little later, so that the worker sends its next request first.

        Discussion: when many responses arrive together, each worker used to
        parse its page before asking for the next one, so the last request
        of the burst left only after every page of the burst was parsed. If
        other URLs are already waiting in the queue, the new links of this
        page are not needed yet: the worker takes the next URL and sends its
        request at once, and the page is parsed by a callback of the loop, one
        page per turn of the loop, between network events. At most C pages
        wait to be parsed, so memory stays bounded.
        """
        self.to_parse.append((url, depth, status, text))
        if len(self.to_parse) == 1:
            asyncio.get_running_loop().call_soon(self._parse_next)

    def _parse_next(self) -> None:
        if not self.to_parse or self.stopped:
            return
        url, depth, status, text = self.to_parse.popleft()
        try:
            self.parse(url, depth, status, text)
        finally:
            self.queue.task_done()
            if self.to_parse:
                asyncio.get_running_loop().call_soon(self._parse_next)

    def parse(self, url: str, depth: int, status: int, text: str) -> None:
        """Record the page as crawled and queue its new links (or fail it if unparseable)."""
        result = self.result
        try:
            hrefs = extract_links(text, self.parser)
        except Exception as exc:  # a parser that gives up on malformed HTML
            result.fail(url, f"parse error ({type(exc).__name__})")
            self.settle(url)
            self.report_progress()
            return
        result.ok(url, status)
        result.depth[url] = depth
        result.bytes += len(text)
        result.finish_times.append(time.perf_counter() - self.t0)
        self.settle(url)
        put = self.queue.put_nowait
        for href in dict.fromkeys(hrefs):  # a page often links the same href twice
            new = self.admit(href, url, depth + 1)
            if new is not None:
                put((new, depth + 1))
        self.report_progress()

    def report_progress(self) -> None:
        """Call ``progress(result)``; if it raises, stop calling it and re-raise at the end."""
        if self.progress is not None:
            try:
                self.progress(self.result)
            except Exception as exc:
                self.progress, self.progress_error = None, exc

    def _count_retry(self) -> None:
        self.result.retries += 1

    # -- the whole crawl -----------------------------------------------------

    async def run(self) -> CrawlResult:
        self.t0 = time.perf_counter()
        result = self.result
        connector = aiohttp.TCPConnector(limit=self.concurrency, limit_per_host=0)
        async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                         headers={"User-Agent": "corrutinas-crawler/1.0"}) as session:
            self.session = session
            root = self.admit(self.root, self.root, 0)
            self.queue.put_nowait((root, 0))
            workers = [asyncio.create_task(self.worker(), name=f"worker-{i}")
                       for i in range(self.concurrency)]
            try:
                if self.deadline is None:
                    await self.queue.join()
                else:
                    await asyncio.wait_for(self.queue.join(), max(self.deadline, 0))
            except TimeoutError:
                result.deadline_reached = True
            finally:
                self.stopped = True
                for w in workers:
                    w.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                self._account_for_the_rest()
        result.seconds = time.perf_counter() - self.t0
        self.report_progress()
        if self.progress_error is not None:
            raise RuntimeError("the progress callback raised an exception") from self.progress_error
        return result

    def _account_for_the_rest(self) -> None:
        """At the deadline (or on cancellation) nothing is lost: URLs being
        fetched fail with "deadline", URLs still queued are skipped with it."""
        for url in list(self.pending):
            if self.result.outcome(url) is None:
                if url in self.in_flight:
                    self.result.fail(url, DEADLINE)
                else:
                    self.result.skip(url, DEADLINE)
        self.pending.clear()
        self.in_flight.clear()


async def crawl(root_url: str, *, concurrency: int = 10, max_pages: int | None = None,
                max_depth: int | None = None, request_timeout: float = 10.0,
                deadline: float | None = None, retries: int = 2, max_redirects: int = 5,
                max_bytes: int = 1_000_000, allowed_hosts: Collection[str] | None = None,
                parser: str = DEFAULT_PARSER, progress: Callable[[CrawlResult], None] | None = None,
                backoff: float = 0.05) -> CrawlResult:
    """Crawl from ``root_url`` with ``concurrency`` workers; return every URL's outcome.

    Parameters
    ----------
    concurrency: C, the worker tasks and the connections of the pool.
    max_pages: most URLs fetched (the rest are skipped with ``"max_pages reached"``).
    max_depth: most links from the root (deeper URLs skipped with ``"max_depth reached"``).
    request_timeout: seconds for one request, connect to last byte.
    deadline: seconds for the whole crawl; then in-flight fetches are cancelled
        (failed: ``"deadline"``) and queued URLs are skipped (``"deadline"``).
    retries, backoff: transient errors (timeouts, resets, 429, 5xx) are tried
        again up to ``retries`` times, after ``backoff``, ``2*backoff``... seconds.
    max_redirects: redirects followed in a row from one URL.
    max_bytes: bodies larger than this are not read (skipped: ``"body over max_bytes"``).
    allowed_hosts: hosts (``"host"`` or ``"host:port"``) to follow besides the root's.
    parser: ``"html.parser"``, ``"lxml"`` (BeautifulSoup builders) or ``"selectolax"``.
    progress: called with the result so far each time a URL gets its outcome.
    """
    crawl_ = _Crawl(root_url, concurrency, max_pages, max_depth, request_timeout, deadline,
                    retries, backoff, max_redirects, max_bytes, allowed_hosts, parser, progress)
    return await crawl_.run()


def crawl_sync(root_url: str, **kwargs) -> CrawlResult:
    """Run :func:`crawl` on a fresh event loop in a worker thread and wait for it.

    Works in scripts and inside a notebook, whose own loop is already running
    (``asyncio.run`` cannot be called from the loop's thread).
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="crawl") as pool:
        return pool.submit(lambda: asyncio.run(crawl(root_url, **kwargs))).result()


# --------------------------------------------------------------------------
# Measuring a crawler on its own (notebook 07 compares memory with threads)
# --------------------------------------------------------------------------

_ISOLATED = """
import gc, json, re, sys
from support.blocking import crawl_pool
from support.crawler import crawl_sync

def status(field):
    return int(re.search(field + r":\\s+(\\d+)", open("/proc/self/status").read()).group(1))

kind, url, c, max_pages = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
gc.collect()
try:
    open("/proc/self/clear_refs", "w").write("5")  # peak RSS := current RSS (Linux)
except OSError:
    pass
before = status("VmRSS")
if kind == "asyncio":
    report = crawl_sync(url, concurrency=c, max_pages=max_pages)
else:
    report = crawl_pool(url, workers=c, max_pages=max_pages)
print(json.dumps({"seconds": report.seconds, "crawled": len(report.crawled),
                  "failed": len(report.failed), "peak_growth_kb": status("VmHWM") - before}))
"""


def measure_isolated(kind: str, url: str, concurrency: int, max_pages: int = 10_000,
                     timeout: float = 120.0) -> dict:
    """Crawl ``url`` in a fresh Python process and report its time and memory.

    ``kind`` is ``"asyncio"`` (:func:`crawl_sync`) or ``"threads"``
    (:func:`support.blocking.crawl_pool` with ``concurrency`` workers). Returns
    ``seconds``, ``crawled``, ``failed`` and ``peak_growth_kb``: how much the
    process's peak resident memory (``VmHWM``, reset just before the crawl)
    grew over its resident memory after the imports, so that what the
    notebook's kernel already holds does not count. Linux only.
    """
    import json
    import subprocess
    import sys

    if kind not in ("asyncio", "threads"):
        raise ValueError(f"kind must be 'asyncio' or 'threads', got {kind!r}")
    out = subprocess.run([sys.executable, "-c", _ISOLATED, kind, url, str(concurrency), str(max_pages)],
                         capture_output=True, text=True, timeout=timeout, check=True)
    return json.loads(out.stdout)

