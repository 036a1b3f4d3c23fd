"""Notebook 05's lesson code and its support pieces.

The first async crawler is the lesson, so it lives in a notebook cell; these
tests extract that cell with nbformat, exec() it, and check that it crawls the
local site like notebook 01's thread pool (same pages, same skipped links),
honours ``max_paginas`` and its concurrency bound, and reports failures.
They also cover ``support.measure.aio_tools`` and the safety net of the exercise
checkers (a coroutine that never ends is cancelled, not waited for).
"""

from __future__ import annotations

import asyncio

import pytest
from notebook_cells import exec_cells

from support.crawlers.blocking import crawl_pool
from support.exercises import guards, run_check
from support.measure import aio_tools
from support.web.report import MAX_PAGES


@pytest.fixture(scope="module")
def crawl_async():
    """The notebook's ``crawl_async``, defined by exec() of its own cells."""
    ns: dict = {}
    exec("import asyncio, time\nimport aiohttp\n", ns)
    exec_cells("05", "from support.crawlers.blocking import", "async def crawl_async(", namespace=ns, prefix=True)
    return ns["crawl_async"]


def test_crawls_the_whole_site_like_the_thread_pool(crawl_async, make_site):
    site = make_site(pages=40, latency=0.01)
    report = asyncio.run(crawl_async(site.url, concurrencia=10))
    pool = crawl_pool(site.url, concurrency=10)
    assert set(report.crawled) == site.all_urls()
    assert not report.failed
    assert report.skipped == pool.skipped  # the same links skipped, for the same reasons
    assert site.stats.by_path.most_common(1)[0][1] == 2  # each page fetched once per crawler
    assert report.seconds > 0


def test_max_pages_and_bounded_concurrency(crawl_async, make_site):
    site = make_site(pages=40, latency=0.05)
    report = asyncio.run(crawl_async(site.url, max_paginas=12, concurrencia=3))
    assert len(report.crawled) == 12 and not report.failed
    assert MAX_PAGES in report.skipped.values()
    assert site.stats.requests == 12
    assert site.stats.max_in_flight == 3


def test_failures_are_reported(crawl_async, make_site):
    site = make_site(pages=5)
    missing = site.url + "page/999"
    report = asyncio.run(crawl_async(missing))
    assert report.failed == {missing: "HTTP 404"} and not report.crawled

    root = site.url
    site.stop()  # nothing listens on that port any more
    report = asyncio.run(crawl_async(root))
    assert list(report.failed) == [root] and "ClientConnectorError" in report.failed[root]


def test_cpu_bound_runs_in_a_spawned_process():
    assert aio_tools.cpu_bound(10) == sum(i * i for i in range(10))
    with aio_tools.process_pool(1) as pool:
        assert pool.submit(aio_tools.cpu_bound, 1000).result(timeout=30) == aio_tools.cpu_bound(1000)


@pytest.mark.parametrize("name", ["05.descargar_todas", "05.obtener_o_none", "05.mapa_acotado"])
def test_checkers_cancel_a_coroutine_that_never_ends(name, monkeypatch):
    monkeypatch.setattr(guards, "LIMIT", 0.3)  # the checkers' one setting

    async def never_ends(*args):
        await asyncio.Event().wait()

    verdict = run_check(name, never_ends)
    assert verdict.status == "incorrecto" and "no terminó" in verdict.message
