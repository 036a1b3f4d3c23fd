"""support.crawlers.asyncio_crawler: one test per feature of the asyncio crawler, against local servers.

Most tests crawl the labsite (``make_site``); the HTTP behaviours the labsite
does not produce on its own (503 then 200, redirect chains, JSON, huge bodies)
come from a tiny aiohttp server defined here.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time

import aiohttp
import looptime
import pytest
from aiohttp import web
from realtime import takes_about
from virtual_time import serve_here

from support.crawlers.asyncio_crawler import CrawlResult, crawl, crawl_sync
from support.labsite import SiteGraph
from support.labsite.background import BackgroundServer
from support.web.links import LinkFilter, classify, extract_links
from support.web.report import (
    DEADLINE,
    MAX_DEPTH,
    MAX_PAGES,
    REDIRECT,
    REDIRECT_LOOP,
    TIMEOUT,
    TOO_BIG,
    TOO_MANY_REDIRECTS,
    CrawlOptions,
)

# --------------------------------------------------------------------------
# A tiny server for what the labsite does not do
# --------------------------------------------------------------------------


class TinyServer(BackgroundServer):
    """aiohttp app on 127.0.0.1 in a background thread; ``url(path)`` gives full URLs."""

    def __init__(self, app: web.Application):
        super().__init__(app, name="tiny-server")
        self.hits: dict[str, int] = {}
        app.middlewares.append(self._count)
        self.start()

    @web.middleware
    async def _count(self, request, handler):
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        return await handler(request)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def html(*hrefs: str) -> web.Response:
    links = "".join(f'<a href="{h}">x</a>' for h in hrefs)
    return web.Response(text=f"<html><body>{links}</body></html>", content_type="text/html")


def page(*hrefs: str):
    """A handler answering an HTML page with these links."""
    async def handler(request):
        return html(*hrefs)
    return handler


def redirect(location: str, cls=web.HTTPFound):
    async def handler(request):
        raise cls(location)
    return handler


@pytest.fixture
def tiny():
    servers = []

    def make(routes: dict) -> TinyServer:
        app = web.Application()
        for path, handler in routes.items():
            app.router.add_get(path, handler)
        servers.append(TinyServer(app))
        return servers[-1]

    yield make
    for s in servers:
        s.stop()


def accounted(result: CrawlResult, url: str) -> bool:
    return result.outcome(url) is not None


# --------------------------------------------------------------------------
# Links: the fast filter is classify()
# --------------------------------------------------------------------------


def test_link_filter_decides_exactly_as_classify():
    root = "http://127.0.0.1:1234/"
    graph = SiteGraph(200, seed=3)
    hrefs = {link.href for i in range(200) for link in graph.page_links(i, root)}
    hrefs |= {"", " ", ".", "..", "./", "../", "../../x", "./../a/./b", "?q=1", "#x", "x#y",
              "//127.0.0.1:1234/z", "HTTP://127.0.0.1:1234/Z", "http://127.0.0.1:1234",
              "http://127.0.0.1:12345/x", "a b", "é", "/a%20b", "/./x", "mailto:x", "a:b",
              "...", "..x", "/page/3/", "http://[::1", "http://h:99999/",
              "x//y", ".//x", "..//", "b///", "/a//b", ";", "./;", "x;y", "/;", "/a;b/c"}
    pages = [root.rstrip("/") + graph.path_of(i) for i in range(0, 200, 7)]
    pages += [root + "a/b/c?x=1/2", root + "a/b/", root + "a#/b/", root + "a?q#/r/", "http://example.com/d/",
              "http://127.0.0.1:1234.evil/d/", "http://127.0.0.1:12345/d/", "http://127.0.0.1:1234@evil/d/"]
    links = LinkFilter(root)
    for page in pages:
        for href in hrefs:
            assert links(href, page) == classify(href, page, root), (href, page)


def test_link_filter_decides_as_classify_on_random_hrefs():
    rng = random.Random(1)
    pieces = [*"ab/.?#%:@[]2F ;=", "..", "./", "//", "%2e", "%2F", "http://127.0.0.1:1234", "é", "\\", "#/"]
    root = "http://127.0.0.1:1234/"
    pages = [root, root + "a/b", root + "a/b/", root + "a/b?x=/y/", root + "a#/b/", "http://127.0.0.1:1234.x/d/"]
    links = LinkFilter(root)
    for _ in range(20_000):
        href = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        page = rng.choice(pages)
        try:
            expected = classify(href, page, root)
        except ValueError:  # classify's own limits are not the fast path's business
            continue
        assert links(href, page) == expected, (href, page)


@pytest.mark.parametrize("parser", ["html.parser", "lxml", "lxml-tokens", "selectolax"])
def test_every_parser_finds_the_same_hrefs(site, parser):
    for page in (0, 1, 7):
        expected = [link.href for link in site.graph.page_links(page, site.url)]
        assert extract_links(site.html_of(page), parser) == expected


# --------------------------------------------------------------------------
# The crawl on the labsite
# --------------------------------------------------------------------------


def test_crawls_every_page_once_with_normalised_urls(make_site):
    site = make_site(pages=60, seed=1)
    result = crawl_sync(site.url, concurrency=8)
    assert set(result.crawled) == site.all_urls()
    assert all("#" not in url for url in result.crawled)
    # Relative, absolute, fragment and duplicate forms of a link: one fetch per page.
    assert site.stats.by_path["/robots.txt"] == 1  # read once, before the first page (issue 19, point 12)
    assert sorted(n for path, n in site.stats.by_path.items() if path != "/robots.txt") == [1] * 60
    assert not result.failed


def test_same_host_only_and_every_skip_has_a_reason(make_site):
    site = make_site(pages=30)
    result = crawl_sync(site.url, concurrency=4)
    assert all(url.startswith(site.url) for url in result.crawled)
    reasons = set(result.skipped.values())
    assert any(r.startswith("other host") for r in reasons)
    assert {"scheme mailto: is not http", "scheme javascript: is not http"} <= reasons


def test_allow_list_follows_another_host(make_site):
    # The site's absolute links name 127.0.0.1; crawled from "localhost" they are another host.
    site = make_site(pages=30)
    root = f"http://localhost:{site.port}/"
    alone = crawl_sync(root, concurrency=4)
    assert f"other host (127.0.0.1:{site.port})" in alone.skipped.values()
    assert not any(u.startswith("http://127.0.0.1") for u in alone.crawled)
    both = crawl_sync(root, concurrency=4, allowed_hosts={f"127.0.0.1:{site.port}"})
    assert any(u.startswith("http://127.0.0.1") for u in both.crawled)
    assert f"other host (127.0.0.1:{site.port})" not in both.skipped.values()


def test_full_accounting_every_link_of_every_crawled_page(make_site):
    site = make_site(pages=80, seed=2)
    result = crawl_sync(site.url, concurrency=10, max_pages=40)
    for url in result.crawled:
        page = site.graph.page_of(url[len(site.url) - 1:])
        for link in site.graph.page_links(page, site.url):
            decision = classify(link.href, url, site.url)
            if decision.url is None:
                assert link.href in result.skipped
            else:
                assert accounted(result, decision.url), (url, link.href)


def test_max_pages(make_site):
    site = make_site(pages=100)
    result = crawl_sync(site.url, concurrency=5, max_pages=10)
    assert len(result.crawled) == 10
    assert site.stats.requests == 10 + 1  # and /robots.txt, once
    assert MAX_PAGES in result.skipped.values()


def test_max_depth(make_site):
    site = make_site(pages=100, seed=4)
    depths = site.graph.depths()
    result = crawl_sync(site.url, concurrency=5, max_depth=1)
    assert set(result.crawled) == {site.url_of(p) for p in range(100) if depths[p] <= 1}
    too_deep = {u for u, r in result.skipped.items() if r == MAX_DEPTH}
    assert too_deep == {site.url_of(p) for p in range(100) if depths[p] == 2}
    assert max(result.depth.values()) == 1


def test_per_request_timeout(make_site):
    site = make_site(pages=5, latency=2.0)
    result = crawl_sync(site.url, request_timeout=0.2, retries=0)
    assert result.failed == {site.url: TIMEOUT}  # failed, not crawled: it did not wait for the 2 s answer
    assert site.stats.requests == 1 + 1  # /robots.txt timed out too, and counts as no rules
    assert result.robots == {site.url.rstrip("/"): "unreachable (timeout)"}


def test_total_deadline_cancels_and_accounts_for_everything(make_site):
    """Real-time smoke test of the deadline; the exact counts are checked in virtual time below."""
    site = make_site(pages=200, latency=0.3)
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


@pytest.mark.parametrize("parser", ["html.parser", "lxml", "lxml-tokens", "selectolax"])
def test_parsers_crawl_the_same_pages(make_site, parser):
    site = make_site(pages=40)
    assert set(crawl_sync(site.url, concurrency=4, parser=parser).crawled) == site.all_urls()


def test_progress_is_called_as_pages_complete(make_site):
    site = make_site(pages=20)
    seen = []
    result = crawl_sync(site.url, concurrency=3, progress=lambda r: seen.append(r.done))
    assert seen == sorted(seen) and seen[-1] == 20 and len(seen) >= 20
    assert result.done == 20


def test_progress_hears_of_every_outcome_and_the_bar_fills(tiny):
    async def pdf(request):
        return web.Response(body=b"%PDF-1.4", content_type="application/pdf")

    server = tiny({"/": page("/r", "/doc.pdf", "mailto:x@y.z"), "/r": redirect("/ok"), "/doc.pdf": pdf,
                   "/ok": page()})
    seen = []
    result = crawl_sync(server.url(), concurrency=1, progress=lambda r: seen.append((r.done, len(r.skipped))))
    # admitted: /, /r (then skipped: a redirect), /doc.pdf (fetched, then skipped: not HTML), /ok
    assert result.discovered == result.done == 4 and seen[-1] == (4, 3)
    dones = [done for done, _ in seen]
    assert dones == sorted(dones) and set(dones) == {1, 2, 3, 4}  # a call for each admitted URL's outcome
    assert (1, 1) in seen  # the root's call already counts the mailto: it skipped


def test_crawl_sync_works_inside_a_running_loop(make_site):
    site = make_site(pages=10)

    async def inside():
        return crawl_sync(site.url)  # a notebook cell: the loop is running

    assert len(asyncio.run(inside()).crawled) == 10


def test_crawl_awaited_directly(make_site):
    site = make_site(pages=10)
    assert len(asyncio.run(crawl(site.url, concurrency=2)).crawled) == 10


# --------------------------------------------------------------------------
# HTTP behaviours, with the tiny server
# --------------------------------------------------------------------------


def test_retries_with_backoff_after_transient_errors(tiny):
    calls = {"n": 0}

    async def flaky(request):
        calls["n"] += 1
        return html() if calls["n"] > 2 else web.Response(status=503)

    server = tiny({"/": flaky})
    start = time.perf_counter()
    result = crawl_sync(server.url(), retries=2, backoff=0.1)
    assert result.crawled == {server.url(): 200} and result.retries == 2
    assert time.perf_counter() - start >= 0.1 + 0.2  # backoff, then twice the backoff
    calls["n"] = 0
    result = crawl_sync(server.url(), retries=1, backoff=0.01)
    assert result.failed == {server.url(): "HTTP 503"} and result.attempts == {server.url(): 2}


def test_client_errors_are_not_retried(tiny):
    server = tiny({"/": page("/nada")})
    result = crawl_sync(server.url(), retries=3)
    assert result.failed == {server.url("/nada"): "HTTP 404"}
    assert server.hits.get("/nada") == 1 and result.retries == 0


def test_redirects_are_followed_up_to_the_limit(tiny):
    async def hop(request):
        n = int(request.match_info["n"])
        if n == 0:
            return html()
        raise web.HTTPFound(f"/r/{n - 1}")

    server = tiny({"/r/{n}": hop, "/": page("/r/3")})
    result = crawl_sync(server.url(), max_redirects=5)
    assert server.url("/r/0") in result.crawled
    assert [result.skipped[server.url(f"/r/{n}")] for n in (3, 2, 1)] == [REDIRECT] * 3
    assert result.redirects[server.url("/r/3")] == "/r/2"

    result = crawl_sync(server.url(), max_redirects=2)
    assert result.skipped[server.url("/r/0")] == TOO_MANY_REDIRECTS
    assert not any("/r/" in u for u in result.crawled)


def test_redirect_loops_and_other_hosts_end(tiny):
    server = tiny({"/": page("/a", "/fuera"), "/a": redirect("/b"), "/b": redirect("/a"),
                   "/fuera": redirect("http://example.org/", web.HTTPMovedPermanently)})
    result = crawl_sync(server.url(), deadline=5)
    assert not result.deadline_reached
    assert result.skipped[server.url("/a")] == REDIRECT
    assert result.skipped[server.url("/b")] == REDIRECT_LOOP  # /b leads back into its own chain
    assert result.skipped["http://example.org/"] == "other host (example.org)"
    assert server.hits["/a"] == server.hits["/b"] == 1


def test_only_html_is_parsed(tiny):
    async def data(request):
        return web.json_response({"href": "/no-seguir"})

    server = tiny({"/": page("/datos.json"), "/datos.json": data})
    result = crawl_sync(server.url())
    assert result.skipped[server.url("/datos.json")] == "not HTML (application/json)"
    assert "/no-seguir" not in server.hits


def test_bodies_over_max_bytes_are_not_read(tiny):
    big = b"<html>" + b"x" * 200_000 + b"<a href='/oculto'>x</a></html>"

    async def with_length(request):
        return web.Response(body=big, content_type="text/html")

    async def chunked(request):
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for i in range(0, len(big), 10_000):
            await response.write(big[i:i + 10_000])
        await response.write_eof()
        return response

    server = tiny({"/": page("/grande", "/chorro"), "/grande": with_length,
                   "/chorro": chunked})
    result = crawl_sync(server.url(), max_bytes=50_000)
    assert result.skipped[server.url("/grande")] == TOO_BIG
    assert result.skipped[server.url("/chorro")] == TOO_BIG
    assert "/oculto" not in server.hits
    result = crawl_sync(server.url(), max_bytes=1_000_000)
    assert server.url("/oculto") in result.failed  # read, parsed, followed (and 404)


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


def test_a_result_repr_is_a_summary_not_every_url():
    """asyncio.run repr()s its main task's result (3.11, restoring SIGINT): it must stay cheap."""
    result = CrawlResult(concurrency=3)
    for i in range(5000):
        result.ok(f"http://127.0.0.1:1/page/{i}")
    result.skip("mailto:x@example.com", "scheme mailto: is not http")
    result.seconds = 4.5
    assert repr(result) == "<CrawlResult: 5000 crawled, 1 skipped, 0 failed in 4.50 s>"


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


def run_in_virtual_time(main):
    with asyncio.Runner(loop_factory=lambda: looptime.new_event_loop(start=0)) as runner:
        return runner.run(main())


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


def test_options_object_and_keywords_are_the_same_crawl(make_site):
    site = make_site(pages=30)
    a = crawl_sync(site.url, CrawlOptions(concurrency=4, max_pages=9))
    b = crawl_sync(site.url, concurrency=4, max_pages=9)
    assert len(a.crawled) == len(b.crawled) == 9
    assert a.concurrency == b.concurrency == 4
