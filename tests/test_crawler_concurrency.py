"""support.crawlers.asyncio_crawler: its tasks. The per-request timeout, the
total deadline (it cancels the workers and every URL still gets an outcome),
the connection limit, parsing deferred in a burst, and a bug in a worker or in
a deferred parse surfacing from the task group instead of vanishing.

The deadline's exact counts are checked in virtual time (``looptime``, the
site on the crawler's own loop); one real-time test on the labsite backs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
import pytest
from aiohttp import web
from realtime import takes_about
from virtual_time import run_in_virtual_time, serve_here

from support.crawlers.asyncio_crawler import crawl, crawl_sync
from support.labsite import SiteGraph
from support.web.report import DEADLINE, TIMEOUT

# --------------------------------------------------------------------------
# On the labsite, in real time
# --------------------------------------------------------------------------


def test_per_request_timeout(make_site):
    site = make_site(pages=5, latency=2.0)
    result = crawl_sync(site.url, request_timeout=0.2, retries=0)
    assert result.failed == {site.url: TIMEOUT}  # failed, not crawled: it did not wait for the 2 s answer
    assert site.stats.requests == 1 + 1  # /robots.txt timed out too, and counts as no rules
    assert result.robots == {site.url.rstrip("/"): "unreachable (timeout)"}


def test_total_deadline_cancels_and_accounts_for_everything(make_site):
    """Real-time smoke test of the deadline; the exact counts are checked in virtual time below.
    Three rounds of 0,1 s fit in the first 0,3 s: a loaded machine once held a round of 0,3 s
    past the deadline of 1 s, and only the first page was crawled."""
    site = make_site(pages=200, latency=0.1)
    start = time.perf_counter()
    result = crawl_sync(site.url, concurrency=3, deadline=1.0)
    elapsed = time.perf_counter() - start
    assert result.deadline_reached
    takes_about(elapsed, 1.0, "the crawl")
    assert 3 <= len(result.crawled) < 200
    # The three being fetched (plus, rarely, a fetched page still waiting to be parsed).
    assert 3 <= list(result.failed.values()).count(DEADLINE) <= 6
    assert DEADLINE in result.skipped.values()               # the ones still queued
    assert result.discovered == len(result.crawled) + list(result.failed.values()).count(DEADLINE) + \
        list(result.skipped.values()).count(DEADLINE)


def test_connection_limit_is_the_concurrency(make_site):
    site = make_site(pages=60, latency=0.05)
    result = crawl_sync(site.url, concurrency=4)
    assert len(result.crawled) == 60
    assert 2 <= site.stats.max_in_flight <= 4
    assert result.max_in_flight <= 4


def test_parsing_deferred_in_a_burst_loses_nothing(make_site, monkeypatch):
    import support.crawlers.asyncio_crawler as crawler_module

    deferred = []
    original = crawler_module._Crawl.defer

    def spy(self, url, *rest):
        deferred.append(url)
        assert len(self.to_parse) < self.concurrency  # bounded backlog
        return original(self, url, *rest)

    monkeypatch.setattr(crawler_module._Crawl, "defer", spy)
    site = make_site(pages=120, latency=0.05)
    result = crawl_sync(site.url, concurrency=10)
    assert set(result.crawled) == site.all_urls() and not result.failed
    assert deferred and set(deferred) <= set(result.crawled)


# --------------------------------------------------------------------------
# Structured concurrency, in virtual time: the site runs on the crawler's own
# loop (looptime), so sleeps, timeouts and the deadline cost no wall time and
# the counts they produce are exact.
# --------------------------------------------------------------------------


async def _graph_site(graph: SiteGraph, latency: float):
    """The pages of ``graph`` served on the running loop, each after ``latency`` s.
    Returns (runner, root url)."""
    async def handler(request):
        page = SiteGraph.page_of(request.path)
        if page is None or page >= graph.pages:
            raise web.HTTPNotFound()
        await asyncio.sleep(latency)
        return web.Response(text=graph.render(page, base), content_type="text/html")

    runner, base = await serve_here(handler)
    return runner, base


def test_the_deadline_leaves_no_url_without_an_outcome_in_virtual_time():
    graph = SiteGraph(200, seed=0)

    async def main():
        runner, root = await _graph_site(graph, latency=0.3)
        try:
            return await crawl(root, concurrency=3, deadline=1.0), root
        finally:
            await runner.cleanup()

    result, root = run_in_virtual_time(main)
    assert result.deadline_reached and result.seconds == pytest.approx(1.0, abs=0.01)
    # The root ends at 0.3 s, then two rounds of three requests at 0.6 and 0.9 s;
    # the next three are in flight at 1.0 s.
    assert len(result.crawled) == 1 + 3 + 3
    assert list(result.failed.values()) == [DEADLINE] * 3
    queued = [u for u, why in result.skipped.items() if why == DEADLINE]
    assert queued and len(result.crawled) + 3 + len(queued) == result.discovered == result.done
    met = {u for u in [*result.crawled, *result.failed, *result.skipped] if u.startswith(root)}
    assert all(result.outcome(u) is not None for u in met)


def test_the_deadline_counts_from_the_start_even_when_the_session_is_slow_to_open(monkeypatch):
    import support.crawlers.asyncio_crawler as crawler_module

    real_session = aiohttp.ClientSession

    @contextlib.asynccontextmanager
    async def slow_session(*args, **kwargs):  # 0.5 s between the crawl's start and its first request
        await asyncio.sleep(0.5)
        async with real_session(*args, **kwargs) as session:
            yield session

    monkeypatch.setattr(crawler_module.aiohttp, "ClientSession", slow_session)
    graph = SiteGraph(1, seed=0)

    async def main():
        runner, root = await _graph_site(graph, latency=0.8)  # the only page ends at 1.3 s
        try:
            return await crawl(root, deadline=1.0), root
        finally:
            await runner.cleanup()

    result, root = run_in_virtual_time(main)
    # one clock for both: at 1.0 s the page is in flight, and fails for the deadline (it used to end
    # at 1.3 s, refused by record(), as "crawl stopped" with deadline_reached False)
    assert result.deadline_reached and result.failed == {root: DEADLINE}
    assert result.seconds == pytest.approx(1.0, abs=0.01)


def test_a_worker_bug_surfaces_instead_of_vanishing(monkeypatch):
    import support.crawlers.asyncio_crawler as crawler_module

    graph = SiteGraph(40, seed=0)
    real_admit = crawler_module._Crawl.admit

    def buggy_admit(self, href, page_url, depth):
        if depth == 2:
            raise ZeroDivisionError("a bug in the crawler")
        return real_admit(self, href, page_url, depth)

    monkeypatch.setattr(crawler_module._Crawl, "admit", buggy_admit)

    async def main():
        runner, root = await _graph_site(graph, latency=0.1)
        try:
            return await crawl(root, concurrency=4, deadline=60)
        finally:
            await runner.cleanup()

    with pytest.raises(ExceptionGroup) as caught:
        run_in_virtual_time(main)
    assert caught.group_contains(ZeroDivisionError, match="a bug in the crawler")


def test_a_bug_in_a_deferred_parse_surfaces_too(make_site, monkeypatch):
    import support.crawlers.asyncio_crawler as crawler_module

    real_parse = crawler_module._Crawl.parse
    deferred = []

    def buggy_parse(self, url, depth, status, text):
        if self.stopped is False and any(url == item[0] for item in deferred):
            raise ZeroDivisionError("a bug while parsing later")
        return real_parse(self, url, depth, status, text)

    real_defer = crawler_module._Crawl.defer

    def spy_defer(self, url, *rest):
        deferred.append((url,))
        return real_defer(self, url, *rest)

    monkeypatch.setattr(crawler_module._Crawl, "parse", buggy_parse)
    monkeypatch.setattr(crawler_module._Crawl, "defer", spy_defer)
    site = make_site(pages=120, latency=0.05)
    with pytest.raises(ExceptionGroup) as caught:
        crawl_sync(site.url, concurrency=10, deadline=30)
    assert deferred and caught.group_contains(ZeroDivisionError)
