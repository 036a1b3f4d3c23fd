"""The asyncio crawler against a web nobody here wrote (issue 15, points 1-10): its limits.

A decompression bomb, a page that takes seconds to parse and a link trap cost
``max_bytes``, the deadline and a bounded bookkeeping; the defaults still fit a
real page. What the server answers (``Retry-After``, redirects, broken HTTP) is
in ``tests/test_crawler_hostile_http.py``; the pages' URLs, links and encodings
in ``tests/test_crawler_hostile_pages.py``.

Every test starts its own small server (``tests/hostile_server.py``) on a
free port of 127.0.0.1 (``::1`` for IPv6) and stops it. What a test measures
is a counter wherever one can say it: requests the server received, entries
in the report, bytes held (``tracemalloc``). Wall-clock bounds appear only
where the wall clock is the claim (the deadline), with the slack named.
"""

from __future__ import annotations

import asyncio
import gzip
import time
import tracemalloc

import pytest
from aiohttp import web
from hostile_server import accounted, html, links
from realtime import within

from support.crawlers.asyncio_crawler import crawl_sync
from support.web.report import MAX_PAGES, TOO_BIG


def delayed(seconds: float, text: str):
    async def handler(request: web.Request) -> web.Response:
        await asyncio.sleep(seconds)
        return web.Response(text=text, content_type="text/html")
    return handler


# -- 1. max_bytes counts decoded bytes ---------------------------------------------


def test_a_decompression_bomb_is_stopped_at_max_bytes_decoded(make_hostile):
    site = make_hostile()
    site.pages["/"] = html(links("/bomb", "/ok"))
    site.pages["/bomb"] = html(gzip.compress(b"<p>" + b"\0" * 50_000_000, compresslevel=9),
                               **{"Content-Encoding": "gzip"})  # 50 KB on the wire, 50 MB inflated
    site.pages["/ok"] = html("<p>fine</p>")
    tracemalloc.start()
    try:
        result = crawl_sync(site.url, max_bytes=1_000_000, request_timeout=5, deadline=20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.outcome(site.url + "bomb") == "skipped" and result.skipped[site.url + "bomb"] == TOO_BIG
    assert result.outcome(site.url + "ok") == "crawled"
    assert result.bytes < 3_000_000, result.bytes
    assert peak < 20_000_000, f"peak {peak / 1e6:.0f} MB held for max_bytes=1 MB"


# -- 2. parsing does not starve the loop -------------------------------------------


COMMENT_BOMB = "<!--" * 25_000  # 100 KB: ~3 s of html.parser on Python 3.11 (quadratic, CVE-2025-6069)


@pytest.mark.parametrize("parser", [None, "html.parser"])
def test_a_slow_parse_does_not_make_healthy_requests_time_out(make_hostile, parser):
    site = make_hostile()
    slow = [f"/slow/{i}" for i in range(5)]
    site.pages["/"] = html(links("/bomb", *slow))
    site.pages["/bomb"] = html(COMMENT_BOMB)
    for path in slow:
        site.pages[path] = delayed(0.5, "<p>slow but healthy</p>")
    options = {} if parser is None else {"parser": parser}
    result = crawl_sync(site.url, concurrency=6, retries=0, request_timeout=1.5, deadline=30, **options)
    assert {path: result.outcome(site.url + path[1:]) for path in slow} == dict.fromkeys(slow, "crawled"), \
        result.failed


def test_the_deadline_holds_whatever_a_page_contains(make_hostile):
    site = make_hostile()
    site.pages["/"] = html(links("/bomb", "/a", "/b"))
    site.pages["/bomb"] = html("<!--" * 50_000)  # 200 KB: tens of seconds of html.parser
    site.pages["/a"] = site.pages["/b"] = html("<p>x</p>")
    deadline, request_timeout = 1.0, 1.0
    t0 = time.perf_counter()
    result = crawl_sync(site.url, parser="html.parser", deadline=deadline, request_timeout=request_timeout)
    elapsed = time.perf_counter() - t0
    within(elapsed, deadline + request_timeout, f"a crawl with a {deadline} s deadline")
    assert accounted(result) >= 4  # the root, the bomb, /a and /b each have an outcome
    for path in ("a", "b"):
        assert result.outcome(site.url + path) == "crawled"


# -- 3. bookkeeping stays bounded past max_pages -----------------------------------


TRAP_LINKS = 20_000


async def _trap_page(request: web.Request) -> web.Response:
    """Every page links TRAP_LINKS pages nobody has seen."""
    me = request.match_info.get("tail", "") or "root"
    body = "".join(f'<a href="/t/{me}-{i}">.</a>' for i in range(TRAP_LINKS))
    return web.Response(text=body, content_type="text/html")


def test_links_past_max_pages_are_counted_not_stored(make_hostile):
    site = make_hostile()
    site.pages["/"] = site.pages["/t/*"] = _trap_page
    max_pages = 10
    result = crawl_sync(site.url, max_pages=max_pages, concurrency=4, parser="selectolax", deadline=60,
                        max_bytes=5_000_000)
    assert len(result.crawled) == max_pages
    met = 1 + len(result.crawled) * TRAP_LINKS  # the root, and every link of every page crawled
    assert accounted(result) == met
    assert result.reasons()[MAX_PAGES] == met - max_pages
    assert len(result.skipped) <= result.sample < met, f"{len(result.skipped)} skipped URLs stored"
    assert sum(result.unlisted.values()) == met - max_pages - len(result.skipped)
    assert f"+{sum(result.unlisted.values())} counted, not listed" in result.summary()


# -- 10. defaults fit real pages ---------------------------------------------------


def test_default_limits_fit_a_real_documentation_page(make_hostile):
    """``genindex-all.html`` of the Python 3.11 docs is 1.7 MB: the defaults must crawl it."""
    site = make_hostile()
    site.pages["/"] = html(links("/genindex-all.html"))
    site.pages["/genindex-all.html"] = html(links("/") + "<p>" + "entry " * 350_000 + "</p>")
    result = crawl_sync(site.url, deadline=20)
    assert result.outcome(site.url + "genindex-all.html") == "crawled", result.skipped
