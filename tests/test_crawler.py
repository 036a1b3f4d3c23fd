"""support.crawlers.asyncio_crawler: one test per feature of the asyncio crawler, against local servers.

Here its contract on the labsite (``make_site``): the link filter, every page
once, same host, the limits, every link accounted for, the parsers, progress,
the options and the result. The HTTP behaviours the labsite does not produce
on its own are in ``tests/test_crawler_http.py``, with a tiny server defined
there; timeouts, the deadline and the crawl's tasks in
``tests/test_crawler_concurrency.py``.
"""

from __future__ import annotations

import asyncio
import random

import pytest

from support.crawlers.asyncio_crawler import CrawlResult, crawl, crawl_sync
from support.labsite import SiteGraph
from support.web.links import LinkFilter, classify, extract_links
from support.web.report import MAX_DEPTH, MAX_PAGES, CrawlOptions


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


def test_crawl_sync_works_inside_a_running_loop(make_site):
    site = make_site(pages=10)

    async def inside():
        return crawl_sync(site.url)  # a notebook cell: the loop is running

    assert len(asyncio.run(inside()).crawled) == 10


def test_crawl_awaited_directly(make_site):
    site = make_site(pages=10)
    assert len(asyncio.run(crawl(site.url, concurrency=2)).crawled) == 10


# --------------------------------------------------------------------------
# The options and the result
# --------------------------------------------------------------------------


def test_options_object_and_keywords_are_the_same_crawl(make_site):
    site = make_site(pages=30)
    a = crawl_sync(site.url, CrawlOptions(concurrency=4, max_pages=9))
    b = crawl_sync(site.url, concurrency=4, max_pages=9)
    assert len(a.crawled) == len(b.crawled) == 9
    assert a.concurrency == b.concurrency == 4


def test_a_result_repr_is_a_summary_not_every_url():
    """asyncio.run repr()s its main task's result (3.11, restoring SIGINT): it must stay cheap."""
    result = CrawlResult(concurrency=3)
    for i in range(5000):
        result.ok(f"http://127.0.0.1:1/page/{i}")
    result.skip("mailto:x@example.com", "scheme mailto: is not http")
    result.seconds = 4.5
    assert repr(result) == "<CrawlResult: 5000 crawled, 1 skipped, 0 failed in 4.50 s>"
