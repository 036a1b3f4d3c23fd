"""The asyncio crawler's bookkeeping: which URLs enter the queue, and an outcome for each.

:class:`Admission` is the half of :class:`support.crawlers.asyncio_crawler._Crawl`
that never awaits the network: it decides, for every href a page holds,
whether its URL is fetched, skipped (why) or was already met, and it keeps
that bookkeeping bounded (issue 19, points 3 and 6):

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

from support.web.links import LinkFilter, check_root
from support.web.report import DEADLINE, MAX_DEPTH, MAX_PAGES, CrawlOptions, CrawlResult

__all__ = ["Admission", "ADMIT_SLICE"]

#: Hrefs admitted in one turn of the loop (about 2 ms of work).
ADMIT_SLICE = 2_000


class Admission:
    """The state of one crawl that is not the network: URLs met, pending, in flight; the result."""

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
