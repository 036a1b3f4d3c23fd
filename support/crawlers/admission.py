"""The asyncio crawler from a fetched page to the queue: parse it, record it, admit its links.

:class:`Admission` is the half of :class:`support.crawlers.asyncio_crawler._Crawl`
that never awaits the network: it parses a page (right away, or just after
the worker's next request is on its way), decides for every href it holds
whether its URL is fetched, skipped (why) or was already met, gives every
URL an outcome, and keeps that bookkeeping bounded (issue 19, points 3 and 6):

* URLs skipped for ``max_depth`` or ``max_pages`` are remembered only while
  the report still lists skipped URLs (``CrawlReport.sample``); past that they
  are counted, so a trap that links 100,000 new URLs a page costs counts,
  not memory;
* the hrefs of a big page are admitted in slices of :data:`ADMIT_SLICE`, each
  followed by a turn of the loop and a look at the deadline: a page with a
  million links neither blocks the loop nor makes the crawl overrun.
"""

from __future__ import annotations

import asyncio
from collections import deque

from support.crawlers.fetching import page_links
from support.web.links import LinkFilter, PageLinks, base_url, check_root
from support.web.report import DEADLINE, MAX_DEPTH, MAX_PAGES, PARSE_ERROR, CrawlOptions, CrawlResult

__all__ = ["Admission", "ADMIT_SLICE"]

#: Hrefs admitted in one turn of the loop (about 2 ms of work).
ADMIT_SLICE = 2_000


class Admission:
    """The state of one crawl that is not the network: URLs met, pending, in flight; the result.

    A base of ``_Crawl``, which gives it the crawl's clock (``time_left``,
    ``loop``, ``t0``), its ``TaskGroup`` (``tasks``), ``parser``,
    ``concurrency`` and ``stopped``.
    """

    def __init__(self, root_url: str, options: CrawlOptions):
        self.root = check_root(root_url)
        self.max_pages, self.max_depth = options.max_pages, options.max_depth
        self.progress, self.progress_error = options.progress, None
        self.links = LinkFilter(self.root, options.allowed_hosts)
        self.result = CrawlResult(concurrency=options.concurrency, parser=options.parser)
        self.queue: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
        self.seen: set[str] = set()        # canonical URLs met: admitted, or skipped while listed
        self.pending: dict[str, int] = {}  # admitted, no outcome yet: url -> depth
        self.in_flight: set[str] = set()   # being fetched, or fetched and waiting to be parsed
        self.too_deep: set[str] = set()    # skipped for max_depth while listed (may be met again closer)
        self.to_parse: deque = deque()     # fetched pages whose parsing was deferred

    def time_left(self) -> float | None:  # the crawl's clock: see _Crawl.time_left
        raise NotImplementedError

    # -- one href ------------------------------------------------------------

    def admit(self, href: str, page_url: str, depth: int) -> str | None:
        """The canonical URL to visit for ``href`` found on ``page_url``, or None.

        None when the href is skipped (the reason goes to the report, under
        the href as decided: raw bytes percent-encoded, so that every key
        encodes as UTF-8) or the URL was already met (it has, or will have,
        its own outcome).
        """
        decision = self.links(href, page_url)
        url = decision.url
        if url is None:
            self.result.skip(decision.href, decision.reason)
            return None
        if url in self.seen:
            if url not in self.too_deep or depth > self.max_depth:
                return None
            self.too_deep.discard(url)      # met again, now close enough to the root
            self.result.unskip(url, MAX_DEPTH)
        elif self.max_depth is not None and depth > self.max_depth:
            if self.result.listing():  # listed, so remembered; past the report's sample only counted
                self.seen.add(url)
                self.too_deep.add(url)
            self.result.skip(url, MAX_DEPTH)
            return None
        if self.max_pages is not None and self.result.discovered >= self.max_pages:
            if self.result.listing():
                self.seen.add(url)
            self.result.skip(url, MAX_PAGES)
            return None
        self.seen.add(url)
        self.pending[url] = depth
        self.result.discovered += 1
        return url

    # -- every href of a page --------------------------------------------------

    def admit_links(self, hrefs: list[str], start: int, end: int, base: str, depth: int) -> None:
        """Admit ``hrefs[start:end]`` (found at ``depth - 1``) and queue the new URLs at ``depth``."""
        admit, put = self.admit, self.queue.put_nowait
        for i in range(start, min(end, len(hrefs))):
            new = admit(hrefs[i], base, depth)
            if new is not None:
                put((new, depth))

    async def admit_in_slices(self, hrefs: list[str], base: str, depth: int) -> None:
        """:meth:`admit_links` for a big page: :data:`ADMIT_SLICE` hrefs per turn of the loop.

        At the deadline (or if the crawl is cancelled between two slices)
        the hrefs not yet read are counted as skipped, ``"deadline"``: met,
        not followed, and not worth reading any more.
        """
        done = 0
        try:
            while done < len(hrefs) and self.time_left() != 0.0:
                self.admit_links(hrefs, done, done + ADMIT_SLICE, base, depth)
                done += ADMIT_SLICE
                if done < len(hrefs):
                    await asyncio.sleep(0)
        finally:
            if done < len(hrefs):
                self.result.skip_counted(DEADLINE, len(hrefs) - done)

    # -- parsing: right away, or just after the next request is on its way ----

    def defer(self, url: str, depth: int, status: int, page: tuple[bytes, str | None]) -> None:
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
        self.to_parse.append((url, depth, status, page))
        if len(self.to_parse) == 1:
            asyncio.get_running_loop().call_soon(self._parse_next)

    def _parse_next(self) -> None:
        if not self.to_parse or self.stopped:
            return
        url, depth, status, page = self.to_parse.popleft()
        try:
            self.parse(url, depth, status, page)
        except Exception as exc:  # a bug, in a loop callback: hand it to the TaskGroup so it surfaces
            self._surface(exc)
        finally:
            self.queue.task_done()
            if self.to_parse:
                asyncio.get_running_loop().call_soon(self._parse_next)

    def _surface(self, exc: Exception) -> None:
        """Raise ``exc`` in a task of the crawl's TaskGroup, which stops the crawl with it."""
        coro = _reraise(exc)
        try:
            self.tasks.create_task(coro, name="deferred-parse")
        except RuntimeError:  # the group is already stopping on an earlier error: that one surfaces
            coro.close()

    def parse(self, url: str, depth: int, status: int, page: tuple[bytes, str | None]) -> None:
        """Parse a small page on the loop, then :meth:`record` it (or fail it if unparseable)."""
        if self.time_left() == 0.0:
            return  # see record()
        body, charset = page
        try:
            links = page_links(body, charset, self.parser)
        except Exception:  # a parser that gives up on malformed HTML
            self.parse_failed(url)
            return
        base = self.record(url, depth, status, len(body), links)
        if base is not None:  # a small page (PARSE_ON_LOOP_BYTES): a few thousand hrefs at most
            self.admit_links(links.hrefs, 0, len(links.hrefs), base, depth + 1)
            self.settle(url)  # one progress call for the page and the hrefs it skipped

    def parse_failed(self, url: str) -> None:
        self.result.fail(url, PARSE_ERROR)
        self.settle(url)

    def record(self, url: str, depth: int, status: int, size: int, links: PageLinks) -> str | None:
        """Record the page as crawled; return the URL its links resolve against (its ``<base href>``).

        The caller then admits the links and settles the page. Past the
        deadline it does nothing (None): the URL is still in flight, and the
        end of the crawl accounts for it (``"deadline"``), so that a burst of
        pages parsed together cannot make the crawl overrun its deadline.
        """
        if self.time_left() == 0.0:
            return None
        result = self.result
        result.ok(url, status)
        result.depth[url] = depth
        result.bytes += size
        result.finish_times.append(self.loop.time() - self.t0)
        return base_url(url, links.base)

    # -- outcomes --------------------------------------------------------------

    def settle(self, url: str) -> None:
        """``url``, admitted, now has its outcome (recorded just before): it is
        neither pending nor in flight any more, it counts in ``done``, and
        ``progress`` hears of it (and of the skips recorded with it)."""
        if self.pending.pop(url, None) is not None:
            self.result.done += 1
        self.in_flight.discard(url)
        self.report_progress()

    def report_progress(self) -> None:
        """Call ``progress(result)``; if it raises, stop calling it and re-raise at the end."""
        if self.progress is not None:
            try:
                self.progress(self.result)
            except Exception as exc:
                self.progress, self.progress_error = None, exc

    def account_for_the_rest(self, reason: str) -> None:
        """At the deadline (or when the crawl stops early) nothing is lost: URLs
        being fetched fail with ``reason``, URLs still queued are skipped with it."""
        for url in list(self.pending):
            if self.result.outcome(url) is None:
                if url in self.in_flight:
                    self.result.fail(url, reason)
                else:
                    self.result.skip(url, reason)
        self.result.done += len(self.pending)  # every admitted URL has its outcome: the bar is full
        self.pending.clear()
        self.in_flight.clear()


async def _reraise(exc: BaseException) -> None:
    raise exc
