"""Scrapy, the industrial reference: CONCURRENT_REQUESTS(_PER_DOMAIN)=C, breadth-first.

One crawl of the local site, run by the benchmark in a fresh process of its
own (so that its peak RSS and CPU seconds are Scrapy's alone), with the same
command line as :mod:`support.crawlers.isolated` minus ``--crawler``::

    python -m tools.bench.scrapy_worker --url http://127.0.0.1:PORT/ --concurrency 100 --pages 2000

It crawls the site like the course's crawlers do: every same-host link, each
URL once (Scrapy's default duplicate filter), breadth-first (Scrapy's
documented settings for breadth-first order: ``DEPTH_PRIORITY = 1`` and FIFO
queues), ``C`` requests in flight (``CONCURRENT_REQUESTS`` and
``CONCURRENT_REQUESTS_PER_DOMAIN``), no robots.txt, no delay, no autothrottle,
no telnet console, no extensions but the page-count stop. It prints the
worker's result line (:func:`support.crawlers.isolated.emit`): pages crawled, pages
failed, wall seconds and CPU seconds from the spider's opening to its closing,
and the process's peak RSS.

Needs ``scrapy`` (``requirements-bench.txt``), not part of the course's pins.
"""

from __future__ import annotations

import re
import sys
import time
from urllib.parse import urlsplit

from support.crawlers.isolated import arguments, emit, start


def run(url: str, concurrency: int, pages: int, timeout: float) -> dict:
    import scrapy
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from scrapy.linkextractors import LinkExtractor

    parts = urlsplit(url)
    host, root = parts.hostname, f"{parts.scheme}://{parts.netloc}/"
    result = {"crawler": "scrapy", "failed": 0}
    crawled: set[str] = set()
    clock: dict[str, float] = {}

    class SiteSpider(scrapy.Spider):
        name = "labsite"
        allowed_domains = [host]
        # Same host *and port*: allow_domains compares the netloc with its port
        # against the bare IP and would drop every link of the site.
        links = LinkExtractor(allow=[rf"^{re.escape(root)}"])

        async def start(self):
            # Unlike start_urls, this start request goes through the duplicate
            # filter, so the root is not crawled a second time when a page links to it.
            yield scrapy.Request(url, callback=self.parse, errback=self.failed)

        def parse(self, response):
            crawled.add(response.url)
            for link in self.links.extract_links(response):
                yield response.follow(link.url, callback=self.parse, errback=self.failed)

        def failed(self, failure):
            result["failed"] += 1

        @classmethod
        def from_crawler(cls, crawler, *args, **kwargs):
            spider = super().from_crawler(crawler, *args, **kwargs)
            crawler.signals.connect(spider.opened, signal=signals.spider_opened)
            crawler.signals.connect(spider.closed_, signal=signals.spider_closed)
            return spider

        def opened(self, spider):
            clock["wall0"], clock["cpu0"] = time.perf_counter(), time.process_time()

        def closed_(self, spider, reason):
            clock["wall1"], clock["cpu1"] = time.perf_counter(), time.process_time()
            result["close_reason"] = reason

    settings = {
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "CONCURRENT_REQUESTS_PER_IP": 0,
        "ROBOTSTXT_OBEY": False,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "LOG_INSTALL_ROOT_HANDLER": True,
        "TELNETCONSOLE_ENABLED": False,
        # No extension but the one that stops the crawl after N pages.
        "EXTENSIONS_BASE": {"scrapy.extensions.closespider.CloseSpider": 0},
        "CLOSESPIDER_PAGECOUNT": pages,
        "CLOSESPIDER_TIMEOUT": timeout,
        # Breadth-first, like the course's crawlers and the ideal's simulation.
        "DEPTH_PRIORITY": 1,
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        "RETRY_ENABLED": False,
        "COOKIES_ENABLED": False,
        "DOWNLOAD_TIMEOUT": 60,
    }
    process = CrawlerProcess(settings)
    process.crawl(SiteSpider)
    process.start()
    result["pages"] = len(crawled)
    result["wall"] = clock["wall1"] - clock["wall0"]
    result["cpu"] = clock["cpu1"] - clock["cpu0"]
    return result


def main(argv=None) -> int:
    args = arguments(__doc__.splitlines()[0]).parse_args(argv)
    start(args)
    emit(run(args.url, args.concurrency, args.pages, args.timeout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
