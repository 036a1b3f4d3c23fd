"""Every crawler of the course, by name: one contract, many implementations.

Each entry is a plain synchronous call ``crawl(root_url, options) -> CrawlReport``
(:class:`~support.web.report.CrawlOptions` in, :class:`~support.web.report.CrawlReport`
out), so the benchmark, the isolated measurements and the tests iterate this
registry with no translation layer::

    from support.crawlers.registry import CRAWLERS, crawl_with
    from support.web.report import CrawlOptions
    for name in CRAWLERS:
        print(name, crawl_with(name, site.url, CrawlOptions(concurrency=20)).summary())

Adding a crawler = one module with a ``crawl_x(root_url, options=None, **knobs)``
and one line below. A preset of options (e.g. the asyncio crawler with the
selectolax parser) is not a crawler: pass ``CrawlOptions(parser="selectolax")``.
"""

from __future__ import annotations

from typing import Callable

from support.crawlers.asyncio_crawler import crawl_sync
from support.crawlers.blocking import crawl_pool, crawl_sequential, crawl_thread_per_url
from support.crawlers.callbacks import crawl_callbacks
from support.crawlers.trampoline import crawl_trampoline
from support.web.report import CrawlOptions, CrawlReport

__all__ = ["CRAWLERS", "crawl_with"]

#: name -> crawl(root_url, options) -> CrawlReport, in the order the course meets them.
CRAWLERS: dict[str, Callable[[str, CrawlOptions], CrawlReport]] = {
    "sequential": crawl_sequential,          # notebook 01: one page after another
    "thread_per_url": crawl_thread_per_url,  # notebook 01: the lecture's thread per URL
    "pool": crawl_pool,                      # notebook 01: ThreadPoolExecutor of C threads
    "callbacks": crawl_callbacks,            # notebook 02: selector loop and callbacks
    "trampoline": crawl_trampoline,          # notebook 04: generator coroutines on a hand-written Task
    "asyncio": crawl_sync,                   # notebook 07: aiohttp, a queue, C workers in a TaskGroup
}


def crawl_with(name: str, root_url: str, options: CrawlOptions | None = None) -> CrawlReport:
    """Crawl ``root_url`` with the crawler registered as ``name``."""
    try:
        crawler = CRAWLERS[name]
    except KeyError:
        raise KeyError(f"unknown crawler {name!r}; the crawlers are: {', '.join(CRAWLERS)}") from None
    return crawler(root_url, options if options is not None else CrawlOptions())
