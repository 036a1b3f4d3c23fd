"""Every crawler of the course, by name: one contract, many implementations.

Each entry is a :class:`CrawlerSpec`: the crawl function, a plain synchronous
call ``crawl(root_url, options) -> CrawlReport``
(:class:`~support.web.report.CrawlOptions` in, :class:`~support.web.report.CrawlReport`
out), and the facts the rest of the course needs about it: the options it
honours, whether it is built on threads, how many requests it keeps in
flight. The benchmark, the isolated measurements and the tests read this
registry and nothing else::

    from support.crawlers.registry import CRAWLERS, crawl_with
    from support.web.report import CrawlOptions
    for name in CRAWLERS:
        print(name, crawl_with(name, site.url, CrawlOptions(concurrency=20)).summary())

Adding a crawler = one module with a ``crawl_x(root_url, options=None, **knobs)``
and one entry below; ``tests/test_crawlers.py`` then proves every option it
claims to honour (and :data:`CORE_OPTIONS`, which every crawler honours). A
preset of options (e.g. the asyncio crawler with the selectolax parser) is not
a crawler: pass ``CrawlOptions(parser="selectolax")``.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Callable

from support.crawlers.asyncio_crawler import crawl_sync
from support.crawlers.blocking import crawl_pool, crawl_sequential, crawl_thread_per_url
from support.crawlers.callbacks import crawl_callbacks
from support.crawlers.trampoline import crawl_trampoline
from support.web.report import CrawlOptions, CrawlReport

__all__ = ["CRAWLERS", "CrawlerSpec", "crawl_with", "CORE_OPTIONS", "OPTIONS", "FOLLOWS_C"]

#: Every field of :class:`CrawlOptions` (``concurrency`` is told by ``in_flight`` instead).
OPTIONS = tuple(f.name for f in dataclasses.fields(CrawlOptions) if f.name != "concurrency")
#: The options every crawler of the course honours.
CORE_OPTIONS = frozenset({"max_pages", "request_timeout", "deadline", "timeline", "allowed_hosts", "parser"})
#: ``in_flight`` of a crawler that keeps ``options.concurrency`` requests in flight.
FOLLOWS_C = "C"


@dataclasses.dataclass(frozen=True)
class CrawlerSpec:
    """One crawler of the registry and what it promises.

    crawl: ``crawl(root_url, options) -> CrawlReport``.
    honours: the :data:`OPTIONS` it honours (at least :data:`CORE_OPTIONS`); it ignores the rest.
    threaded: built on threads (the benchmark does not pin it to the crawlers' processors).
    in_flight: requests it keeps in flight: :data:`FOLLOWS_C` (``options.concurrency``),
        a number, or None (one per URL discovered, all at once).
    """

    crawl: Callable[[str, CrawlOptions], CrawlReport]
    honours: frozenset[str] = CORE_OPTIONS
    threaded: bool = False
    in_flight: int | str | None = FOLLOWS_C

    def __post_init__(self):
        unknown = set(self.honours) - set(OPTIONS)
        if unknown or not CORE_OPTIONS <= self.honours:
            raise ValueError(f"{self.crawl.__name__}: honours {sorted(self.honours)}; unknown {sorted(unknown)}, "
                             f"missing {sorted(CORE_OPTIONS - self.honours)}")

    def __call__(self, root_url: str, options: CrawlOptions | None = None) -> CrawlReport:
        return self.crawl(root_url, options if options is not None else CrawlOptions())

    @property
    def note(self) -> str:
        """The first sentence of the crawl function's docstring: what the tables say it is."""
        doc = inspect.getdoc(self.crawl) or self.crawl.__name__
        paragraph = " ".join(doc.split("\n\n")[0].split())
        return paragraph.split(". ")[0].rstrip(".")


#: name -> spec, in the order the course meets them.
CRAWLERS: dict[str, CrawlerSpec] = {
    # notebook 01: one page after another
    "sequential": CrawlerSpec(crawl_sequential, in_flight=1),
    # notebook 01: the lecture's thread per URL
    "thread_per_url": CrawlerSpec(crawl_thread_per_url, threaded=True, in_flight=None),
    # notebook 01: ThreadPoolExecutor of C threads
    "pool": CrawlerSpec(crawl_pool, threaded=True),
    # notebook 02: selector loop and callbacks
    "callbacks": CrawlerSpec(crawl_callbacks),
    # notebook 04: generator coroutines on a hand-written Task
    "trampoline": CrawlerSpec(crawl_trampoline, in_flight=None),
    # notebook 07: aiohttp, a queue, C workers in a TaskGroup
    "asyncio": CrawlerSpec(crawl_sync, honours=frozenset(OPTIONS)),
}


def crawl_with(name: str, root_url: str, options: CrawlOptions | None = None) -> CrawlReport:
    """Crawl ``root_url`` with the crawler registered as ``name``."""
    try:
        crawler = CRAWLERS[name]
    except KeyError:
        raise KeyError(f"unknown crawler {name!r}; the crawlers are: {', '.join(CRAWLERS)}") from None
    return crawler(root_url, options)
