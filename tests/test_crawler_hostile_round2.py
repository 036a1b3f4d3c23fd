"""The asyncio crawler against a hostile web, round 2 (issue 19, points 1, 2, 3, 4, 6, 7, 10).

Each test starts its own small server (``tests/hostile_server.py``) and
measures what a counter can say: entries in the crawl's bookkeeping, bytes
of the report's keys, URLs admitted in one turn of the loop, requests the
server received. Peak memory of a parse is the process's RSS (the parser
allocates in C, where ``tracemalloc`` does not look), sampled by a thread.
Wall-clock bounds appear only where the wall clock is the claim (the
deadline), with the suite's one slack (``tests/realtime.py``).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import psutil
import pytest
from aiohttp import web
from hostile_server import accounted, html, links, raw_page
from realtime import within

from support.crawlers import asyncio_crawler
from support.crawlers.asyncio_crawler import crawl_sync
from support.web.links import CRAWL_PARSER, LinkFilter, classify, extract_page_links
from support.web.report import MAX_DEPTH, CrawlOptions

ROOT = "http://127.0.0.1:8000/"


class PeakRss:
    """The process's peak RSS over a block, sampled every millisecond by a thread."""

    def __enter__(self) -> "PeakRss":
        self._proc = psutil.Process()
        self.start = self.peak = self._proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, self._proc.memory_info().rss)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._proc.memory_info().rss)

    @property
    def grew(self) -> int:
        return self.peak - self.start


def report_as_json(result) -> bytes:
    """Every table of a report written as JSON in UTF-8 (what a student saves to a file)."""
    tables = {"crawled": result.crawled, "skipped": result.skipped, "failed": result.failed,
              "unlisted": dict(result.unlisted), "redirects": getattr(result, "redirects", {}),
              "depth": getattr(result, "depth", {}), "attempts": getattr(result, "attempts", {})}
    return json.dumps(tables, ensure_ascii=False).encode("utf-8")


# -- 1. admission is linear in an href's length, and an absurd href is not even read ----------

def test_an_href_over_the_cap_is_skipped_with_a_reason_before_any_work():
    href = "../" * 200_000 + "x"  # 600 KB: 5 s of the old fast path, which copied the rest per segment
    for decide in (LinkFilter(ROOT), lambda h, page: classify(h, page, ROOT)):
        decision = decide(href, ROOT + "a/b/")
        assert decision.url is None and decision.reason.startswith("href over"), decision.reason


@pytest.mark.parametrize("href", ["../" * 2_000 + "x", "./" * 3_000 + "x", "a/" + "../" * 1_500 + "b/./c",
                                  ".././" * 1_000 + "y"])
def test_the_fast_path_resolves_many_dot_segments_as_classify_does(href):
    page = ROOT + "a/b/c/"
    assert LinkFilter(ROOT)(href, page) == classify(href, page, ROOT)


def test_the_deadline_holds_whatever_an_href_holds(make_hostile):
    site = make_hostile()
    site.pages["/"] = html(links("/dots", "/ok"))
    site.pages["/dots"] = html(links("../" * 600_000 + "x", "/ok2"))  # 1.8 MB, under max_bytes
    site.pages["/ok"] = site.pages["/ok2"] = html("<p>x</p>")
    deadline, request_timeout = 2.0, 1.0
    t0 = time.perf_counter()
    result = crawl_sync(site.url, deadline=deadline, request_timeout=request_timeout)
    within(time.perf_counter() - t0, deadline + request_timeout, f"a crawl with a {deadline} s deadline")
    assert result.outcome(site.url + "ok2") == "crawled" and not result.deadline_reached
    assert [why for why in result.skipped.values() if why.startswith("href over")] == [
        "href over 8192 characters"]


# -- 2. the default parser cannot multiply memory ------------------------------------------

def formatting_bomb(distinct: int, paragraphs: int) -> str:
    """``<p>`` + N distinct ``<b id=i>`` + M x ``<p>x``: an HTML5 tree builder re-creates the
    N open formatting elements in each paragraph (N x M nodes for N + M tags)."""
    return "<p>" + "".join(f"<b id={i}>" for i in range(distinct)) + "<p>x" * paragraphs + '<a href="/end">e</a>'


def test_the_default_parser_holds_a_small_multiple_of_the_page():
    page = formatting_bomb(1_000, 3_000)  # 22 KB: +1.1 GB and 10 s with lexbor's tree
    with PeakRss() as rss:
        t0 = time.process_time()
        found = extract_page_links(page, CRAWL_PARSER)
        cpu = time.process_time() - t0
    assert found.hrefs == ["/end"]
    assert rss.grew < 50 * 2**20 + 20 * len(page), f"+{rss.grew / 2**20:.0f} MiB for a {len(page) / 1e3:.0f} KB page"
    assert cpu < 0.5, f"{cpu:.2f} s of CPU for {len(page) / 1e3:.0f} KB"  # linear: ~5 ms


def test_formatting_bombs_do_not_starve_healthy_pages(make_hostile):
    site = make_hostile()
    bombs, healthy = [f"/bomb/{i}" for i in range(10)], [f"/ok/{i}" for i in range(5)]
    site.pages["/"] = html(links(*bombs, *healthy))
    site.pages["/bomb/*"] = html(formatting_bomb(700, 2_200))  # 15.5 KB: parsed on the loop
    for path in healthy:
        async def slow(request: web.Request) -> web.Response:
            await asyncio.sleep(0.8)
            return web.Response(text="<p>slow but healthy</p>", content_type="text/html")
        site.pages[path] = slow
    with PeakRss() as rss:
        result = crawl_sync(site.url, concurrency=15, retries=0, request_timeout=1.5, deadline=30)
    assert {p: result.outcome(site.url + p[1:]) for p in healthy} == dict.fromkeys(healthy, "crawled"), \
        result.failed
    assert rss.grew < 200 * 2**20, f"+{rss.grew / 2**20:.0f} MiB for 10 pages of 15 KB"


# -- 3. max_depth bookkeeping is bounded -----------------------------------------------------

TRAP_LINKS = 20_000


async def _trap_page(request: web.Request) -> web.Response:
    me = request.match_info.get("tail", "") or "root"
    return web.Response(text="".join(f'<a href="/t/{me}-{i}">.</a>' for i in range(TRAP_LINKS)),
                        content_type="text/html")


def test_urls_past_max_depth_are_counted_not_remembered(make_hostile):
    site = make_hostile()
    site.pages["/"] = site.pages["/t/*"] = _trap_page
    options = CrawlOptions(max_depth=1, max_pages=6, concurrency=4, deadline=60, max_bytes=5_000_000)
    crawl = asyncio_crawler._Crawl(site.url, options)
    crawl.result.sample = 1_000
    result = asyncio.run(crawl.run())
    assert len(result.crawled) == 6
    met = 1 + len(result.crawled) * TRAP_LINKS
    assert accounted(result) == met
    assert result.reasons()[MAX_DEPTH] == (len(result.crawled) - 1) * TRAP_LINKS  # 5 pages at depth 1
    remembered = len(crawl.seen) + len(crawl.too_deep)
    assert remembered <= 2 * (6 + result.sample), f"{remembered:,} URLs remembered for 6 pages"


# -- 4. the report is bounded in bytes ----------------------------------------------------------

async def _page_with_a_huge_href(request: web.Request) -> web.Response:
    n = int(request.match_info.get("tail", "0").rpartition("/")[2] or 0)
    onward = [f"/p/{3 * n + k}" for k in (1, 2, 3)]
    return web.Response(text=links(*onward, "javascript:" + "x" * 900_000 + f"/{n}"), content_type="text/html")


def test_a_huge_skipped_href_is_listed_truncated_and_says_so(make_hostile):
    site = make_hostile()
    site.pages["/"] = site.pages["/p/*"] = _page_with_a_huge_href
    result = crawl_sync(site.url, max_pages=20, deadline=60)
    assert len(result.crawled) == 20
    huge = [key for key in result.skipped if key.startswith("javascript:")]
    assert len(huge) == 20
    assert sum(map(len, result.skipped)) < 50 * 1_000, f"{sum(map(len, result.skipped)):,} characters of keys"
    assert all("characters not kept" in key for key in huge), huge[0][-60:]
    assert result.truncated == 20 and "20 truncated" in result.summary()


# -- 6. a million links in one page: admission in slices --------------------------------------

def _many_links(n: int):
    body = "".join(f"<a href={i}>" for i in range(n)).encode()  # 1 M: 14.9 MB

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/html")
    return handler, len(body)


def test_the_links_of_a_huge_page_are_admitted_in_slices(make_hostile):
    site = make_hostile()
    site.pages["/"], size = _many_links(300_000)
    site.pages["/*"] = html("<p>x</p>")
    crawl = asyncio_crawler._Crawl(site.url, CrawlOptions(max_bytes=16_000_000, deadline=30, max_pages=1_000))
    most = 0

    async def run():
        nonlocal most
        task = asyncio.create_task(crawl.run())
        before = 0
        while not task.done():
            await asyncio.sleep(0)
            met = crawl.result.discovered + sum(crawl.result.unlisted.values()) + len(crawl.result.skipped)
            most, before = max(most, met - before), met
        return task.result()

    result = asyncio.run(run())
    assert accounted(result) == 1 + 300_000 or result.deadline_reached
    assert most <= 10_000, f"{most:,} hrefs admitted in one turn of the loop"


def test_a_million_links_in_one_page_keep_the_deadline(make_hostile):
    site = make_hostile()
    site.pages["/"], size = _many_links(1_000_000)
    deadline, request_timeout = 6.0, 1.0  # time to fetch and parse it: then admission alone overran by seconds
    t0 = time.perf_counter()
    result = crawl_sync(site.url, max_bytes=16_000_000, deadline=deadline, request_timeout=request_timeout)
    within(time.perf_counter() - t0, deadline + request_timeout, f"a crawl with a {deadline} s deadline")
    assert result.outcome(site.url) is not None


# -- 7. every key of a report encodes as UTF-8 ---------------------------------------------------

def test_raw_bytes_in_a_location_leave_a_report_that_can_be_written(make_raw):
    raw = make_raw({"/": raw_page(links("/r1", "/r2").encode(), "Content-Type: text/html"),
                    "/redir/%F1x": raw_page(b"<p>x", "Content-Type: text/html")})
    raw.answers["/r1"] = b"HTTP/1.1 301 Moved\r\nLocation: /redir/\xf1x\r\nContent-Length: 0\r\n\r\n"
    raw.answers["/r2"] = b"HTTP/1.1 301 Moved\r\nLocation: javascript:\xff\xfe\r\nContent-Length: 0\r\n\r\n"
    result = crawl_sync(raw.url, deadline=10)
    report_as_json(result)  # raises UnicodeEncodeError on a lone surrogate
    assert result.redirects[raw.url + "r1"] == "/redir/%F1x"
    assert result.skipped["javascript:%FF%FE"] == "scheme javascript: is not http"
    assert result.outcome(raw.url + "redir/%F1x") == "crawled"


# -- 10. parser="html.parser" follows no link a browser would not -----------------------------------

INERT = {"title": "<title><a href=/t>t</a></title>", "textarea": "<textarea><a href=/ta></textarea>",
         "xmp": "<xmp><a href=/xmp></xmp>", "template": "<template><a href=/tpl></a><base href=/b/></template>",
         "plaintext": "<plaintext><a href=/pt></plaintext><a href=/pt2>"}


@pytest.mark.parametrize("parser", ["html.parser", CRAWL_PARSER, "selectolax"])
@pytest.mark.parametrize("element", INERT)
def test_links_a_browser_never_makes_are_not_extracted(parser, element):
    page = '<a href="/before">b</a>' + INERT[element] + ('<a href="/after">a</a>' if element != "plaintext" else "")
    found = extract_page_links(page, parser)
    assert found.hrefs == ["/before"] + (["/after"] if element != "plaintext" else [])
    assert found.base is None


def test_the_html_parser_crawl_makes_no_request_a_browser_would_not(make_hostile):
    site = make_hostile()
    site.pages["/"] = html("".join(INERT.values()))
    result = crawl_sync(site.url, parser="html.parser", deadline=10)
    assert result.crawled == {site.url: 200}
    assert set(site.hits) <= {"/", "/robots.txt"}, site.hits
