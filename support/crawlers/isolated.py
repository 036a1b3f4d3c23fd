"""Measure one crawl in a fresh Python process: its time and its memory alone.

Notebook 07 compares the memory of the asyncio crawler with the thread pool's.
Measured inside the notebook's kernel, what the kernel already holds would
blur the numbers, so each crawl runs in a child process, a module run with
``python -m support.crawlers.isolated NAME URL CONCURRENCY MAX_PAGES``, which prints
one line of JSON. Any crawler of :data:`support.crawlers.registry.CRAWLERS` can be
measured. Memory is read through :mod:`support.osutil` (peak RSS, reset just
before the crawl, where the OS allows it: Linux).
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys

from support.crawlers.registry import CRAWLERS, crawl_with
from support.osutil import peak_rss, reset_peak_rss, rss
from support.web.report import CrawlOptions

__all__ = ["measure_isolated", "main"]


def measure_isolated(name: str, url: str, concurrency: int, max_pages: int = 10_000,
                     timeout: float = 120.0) -> dict:
    """Crawl ``url`` with crawler ``name`` in a fresh Python process; report time and memory.

    Returns ``seconds``, ``crawled``, ``failed`` and ``peak_growth_kb``: how
    much the process's peak resident memory (reset just before the crawl) grew
    over its resident memory after the imports, so that the imports do not count.
    """
    if name not in CRAWLERS:
        raise ValueError(f"unknown crawler {name!r}; the crawlers are: {', '.join(CRAWLERS)}")
    out = subprocess.run([sys.executable, "-m", "support.crawlers.isolated", name, url, str(concurrency), str(max_pages)],
                         capture_output=True, text=True, timeout=timeout, check=True)
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m support.crawlers.isolated", description=__doc__.split("\n")[0])
    parser.add_argument("crawler", choices=list(CRAWLERS))
    parser.add_argument("url")
    parser.add_argument("concurrency", type=int)
    parser.add_argument("max_pages", type=int)
    args = parser.parse_args(argv)
    options = CrawlOptions(concurrency=args.concurrency, max_pages=args.max_pages)
    gc.collect()
    reset_peak_rss()  # peak := current, where the OS allows it (Linux)
    before = rss()
    report = crawl_with(args.crawler, args.url, options)
    print(json.dumps({"seconds": report.seconds, "crawled": len(report.crawled), "failed": len(report.failed),
                      "peak_growth_kb": max(peak_rss() - before, 0) // 1024}))


if __name__ == "__main__":
    main()
