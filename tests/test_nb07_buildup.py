"""Notebook 07 builds the crawler up, one class per section; support/crawlers/asyncio_crawler.py is its tested final form.

These tests exec() the notebook's own class cells (``Admision`` ... ``ConPlazo``)
and prove that the last step crawls the local site like
:func:`support.crawlers.asyncio_crawler.crawl`: the same crawled URLs, the same outcome and
reason for every URL and href, the same reason counts. They also check what
the notebook claims of the steps (bounded workers, retries counted by the
server, the accounting at the deadline, a worker's bug surfacing).
Only the plain site is compared: the module's answers to hostile pages
(redirects, non-HTML, huge bodies) are its own, and the notebook says so.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from notebook_cells import exec_cells

from support.crawlers.asyncio_crawler import crawl
from support.labsite import LabSite
from support.web.report import DEADLINE, MAX_PAGES, STOPPED, CrawlOptions

STEPS = ("class Admision:", "class Visita(Admision):", "class Crawler(Visita):",
         "class ConReintentos(Crawler):", "class ConPlazo(ConReintentos):")


@pytest.fixture(scope="module")
def nb():
    """The notebook's step classes, defined by exec() of its own cells (after the names its first cell imports)."""
    ns: dict = {}
    exec("import asyncio\nimport aiohttp\nfrom support.web.links import classify, extract_links, follow, normalize\n", ns)
    return exec_cells("07", *STEPS, namespace=ns)


def _same(ours, module):
    assert set(ours.crawled) == set(module.crawled)
    assert ours.crawled == module.crawled          # the same status per page
    assert ours.skipped == module.skipped          # the same reason per URL or href
    assert ours.failed == module.failed
    assert ours.reasons() == module.reasons()


def _both(nb, root, concurrency, **notebook_knobs):
    ours = asyncio.run(nb["ConPlazo"](root, C=concurrency, **notebook_knobs).correr())
    module_knobs = {"max_pages": notebook_knobs.get("max_paginas")}
    module = asyncio.run(crawl(root, CrawlOptions(concurrency=concurrency, **module_knobs)))
    return ours, module


def test_the_last_step_crawls_the_site_like_the_module(nb, make_site):
    site = make_site(pages=60, latency=0.01)
    ours, module = _both(nb, site.url, 10)
    _same(ours, module)
    assert set(ours.crawled) == site.all_urls() and not ours.failed
    assert ours.skipped  # the site's other hosts, mailto:, javascript:, fragments: each with its reason
    assert site.stats.get_by_path.most_common(1)[0][1] == 2  # each page fetched once by each crawler


def test_max_pages_admits_the_same_urls(nb, make_site):
    # One worker: both crawlers admit URLs in the same (breadth-first) order, so the same 20 win.
    site = make_site(pages=60)
    ours, module = _both(nb, site.url, 1, max_paginas=20)
    _same(ours, module)
    assert len(ours.crawled) == 20 and Counter(ours.skipped.values())[MAX_PAGES] > 0


def test_failures_have_the_same_reasons(nb, make_site):
    site = make_site(pages=5)
    ours, module = _both(nb, site.url + "page/999", 3)
    _same(ours, module)
    assert ours.failed == {site.url + "page/999": "HTTP 404"}

    with LabSite(pages=2) as gone:
        root = gone.url  # nobody listens there once the with block is over
    ours, module = _both(nb, root, 3)
    _same(ours, module)
    assert ours.failed == {root: "connection refused"}


def test_bounded_workers_and_max_pages(nb, make_site):
    site = make_site(pages=40, latency=0.03)
    report = asyncio.run(nb["Crawler"](site.url, C=4).correr())
    assert set(report.crawled) == site.all_urls()
    assert site.stats.max_in_flight == 4 and set(site.stats.get_by_path.values()) == {1}
    site.reset_stats()
    report = asyncio.run(nb["Crawler"](site.url, C=4, max_paginas=10).correr())
    assert len(report.crawled) == site.stats.requests == 10


def test_retries_are_counted_by_the_server(nb, make_site):
    site = make_site(pages=30, faults={"error503": 0.3})
    report = asyncio.run(nb["ConReintentos"](site.url, C=5, reintentos=2, espera=0.01).correr())
    assert set(report.crawled) == site.all_urls() and not report.failed
    assert site.stats.by_status[503] == 2 * len(site.faulty_pages("error503"))
    site.reset_stats()
    report = asyncio.run(nb["ConReintentos"](site.url, C=5, reintentos=1, espera=0.01).correr())
    assert set(report.failed.values()) == {"HTTP 503"}  # still 503 after the last try: that status is the reason


def test_at_the_deadline_every_url_has_an_outcome(nb, make_site):
    site = make_site(pages=100, latency=0.05)
    crawler = nb["ConPlazo"](site.url, C=5, plazo=0.3)
    report = asyncio.run(crawler.correr())
    assert crawler.vencido and site.stats.requests < site.pages
    in_flight = Counter(report.failed.values())[DEADLINE]
    queued = Counter(report.skipped.values())[DEADLINE]
    assert 1 <= in_flight <= 5 and queued > 0
    assert len(report.crawled) + in_flight + queued == crawler.admitidas
    assert all(report.outcome(url) is not None for url in crawler.vistos)


def test_a_workers_bug_surfaces_after_the_accounting(nb, make_site):
    site = make_site(pages=60, latency=0.01)

    class Buggy(nb["ConPlazo"]):
        def admitir(self, href, pagina):
            if pagina.endswith("/page/3"):
                raise KeyError(href)
            return super().admitir(href, pagina)

    crawler = Buggy(site.url, C=5)
    with pytest.raises(ExceptionGroup) as caught:
        asyncio.run(crawler.correr())
    assert caught.group_contains(KeyError)
    assert STOPPED in crawler.informe.reasons()
    assert all(crawler.informe.outcome(url) is not None for url in crawler.vistos)
