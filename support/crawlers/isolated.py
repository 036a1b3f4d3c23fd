"""One crawl in a fresh Python process: its time, CPU and memory alone.

Measured inside a notebook's kernel (or the benchmark's runner), what the
process already holds would blur the numbers, so a crawl runs in a child::

    python -m support.crawlers.isolated --crawler asyncio --url http://127.0.0.1:PORT/ \\
        --concurrency 100 --pages 2000 [--timeout 60] [--cpus 1,2] [--option parser=selectolax]

``--crawler`` is a key of :data:`support.crawlers.registry.CRAWLERS` and
``--option NAME=VALUE`` sets any other field of
:class:`~support.web.report.CrawlOptions` (the value is read as JSON when it
parses, else as a string), so a new crawler or a new option needs no code here.
Notebook 07 calls :func:`measure_isolated`; the benchmark (:mod:`tools.bench`)
runs the same command line.

The result protocol: the child prints one line, :data:`RESULT_MARK` followed
by a JSON object (:func:`emit`); :func:`read_result` finds it. Keys:
``crawler``; ``pages`` (crawled with status 200), ``crawled`` (every URL
crawled), ``failed``, ``failures`` (a few reasons); ``wall`` and ``cpu``
(seconds of the crawl itself, imports excluded); ``rss_mb`` (the process's
peak resident memory) and ``peak_growth_kb`` (how much the peak, reset just
before the crawl where the OS allows it, grew over the resident memory after
the imports). The Scrapy worker of the benchmark speaks it too.

Discussion: this module imports the crawlers only when it crawls, so that a
process that merely speaks the protocol (Scrapy's) does not carry them.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time

from support import osutil

__all__ = ["RESULT_MARK", "emit", "read_result", "arguments", "start", "option", "crawl_once",
           "measure_isolated", "main"]

RESULT_MARK = "BENCH-RESULT "


def emit(result: dict) -> None:
    """Print ``result`` as the one result line of this process, with its peak RSS."""
    result = {**result, "rss_mb": osutil.peak_rss() / 2**20}
    print(RESULT_MARK + json.dumps(result), flush=True)


def read_result(stdout: str) -> dict | None:
    """The last result line of a child's output, or None if there is none."""
    lines = [ln for ln in stdout.splitlines() if ln.startswith(RESULT_MARK)]
    return json.loads(lines[-1][len(RESULT_MARK):]) if lines else None


def arguments(description: str) -> argparse.ArgumentParser:
    """The command line every one-crawl process takes (this one and Scrapy's)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", required=True, help="the site's root URL")
    parser.add_argument("--concurrency", type=int, required=True, help="C: requests in flight")
    parser.add_argument("--pages", type=int, required=True, help="N: stop after this many pages")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for the whole crawl")
    parser.add_argument("--cpus", help="run only on these processors (comma-separated)")
    return parser


def start(args: argparse.Namespace) -> None:
    """What every one-crawl process does before it loads its crawler: processors, then file limit."""
    if args.cpus:  # before any thread starts: threads inherit it
        osutil.pin({int(x) for x in args.cpus.split(",")})
    osutil.raise_fd_limit()  # a socket per request in flight


def option(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` -> (name, value); the value is JSON if it parses (``2``, ``null``), else text."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def crawl_once(crawler: str, url: str, options) -> dict:
    """Run registry entry ``crawler`` once in this process; the measured part of the result."""
    from support.crawlers.registry import CRAWLERS
    from support.web.links import extract_links

    extract_links('<a href="/">x</a>', options.parser)  # load the parser
    gc.collect()
    osutil.reset_peak_rss()  # peak := current, where the OS allows it (Linux)
    before = osutil.rss()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    report = CRAWLERS[crawler](url, options)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {
        "crawler": crawler,
        "pages": sum(1 for status in report.crawled.values() if status == 200),
        "crawled": len(report.crawled),
        "failed": len(report.failed),
        "failures": sorted(set(map(str, report.failed.values())))[:3],
        "wall": wall, "cpu": cpu,
        "peak_growth_kb": max(osutil.peak_rss() - before, 0) // 1024,
    }


def measure_isolated(name: str, url: str, concurrency: int, max_pages: int = 10_000,
                     timeout: float = 120.0) -> dict:
    """Crawl ``url`` with crawler ``name`` in a fresh Python process; its result (see the module)."""
    from support.crawlers.registry import CRAWLERS

    if name not in CRAWLERS:
        raise ValueError(f"unknown crawler {name!r}; the crawlers are: {', '.join(CRAWLERS)}")
    out = subprocess.run([sys.executable, "-m", __name__, "--crawler", name, "--url", url,
                          "--concurrency", str(concurrency), "--pages", str(max_pages), "--timeout", str(timeout)],
                         capture_output=True, text=True, timeout=timeout + 30, check=True)
    return read_result(out.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = arguments("One crawl in this process, measured.")
    parser.add_argument("--crawler", required=True, help="a key of support.crawlers.registry.CRAWLERS")
    parser.add_argument("--option", type=option, action="append", default=[],
                        help="another CrawlOptions field, NAME=VALUE (repeatable)")
    args = parser.parse_args(argv)
    start(args)
    from support.crawlers.registry import CRAWLERS  # every import before the clock starts
    from support.web.report import CrawlOptions

    if args.crawler not in CRAWLERS:
        parser.error(f"unknown crawler {args.crawler!r}; known: {', '.join(CRAWLERS)}")
    options = CrawlOptions(concurrency=args.concurrency, max_pages=args.pages,
                           deadline=args.timeout, **dict(args.option))
    emit(crawl_once(args.crawler, args.url, options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
