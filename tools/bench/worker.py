"""One crawl in this process, for the benchmark; and the result protocol.

The runner starts one fresh process per crawl, so that the peak RSS and the
CPU seconds it reads are that crawler's alone::

    python -m tools.bench.worker --crawler asyncio --url http://127.0.0.1:PORT/ \\
        --concurrency 100 --pages 2000 --timeout 60 [--option parser=selectolax]

``--crawler`` is a key of ``support.crawlers.registry.CRAWLERS`` and ``--option
NAME=VALUE`` sets any other field of ``support.web.report.CrawlOptions`` (the value
is read as JSON when it parses, else as a string), so a new crawler of the
registry, or a new option, needs no code here.

The result protocol: a worker prints one line, :data:`RESULT_MARK` followed by
a JSON object (:func:`emit`); the runner finds it with :func:`read_result`.
Keys: ``crawler``, ``pages`` (crawled with status 200), ``failed``,
``failures`` (a few reasons), ``wall`` and ``cpu`` (seconds of the crawl
itself, imports excluded), ``rss_mb`` (the process's peak resident memory).
The Scrapy worker (:mod:`tools.bench.scrapy_worker`) speaks it too.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time

from support import osutil

RESULT_MARK = "BENCH-RESULT "


def emit(result: dict) -> None:
    """Print ``result`` as the one result line of this worker, with the process's peak RSS."""
    result = {**result, "rss_mb": osutil.peak_rss() / 2**20}
    print(RESULT_MARK + json.dumps(result), flush=True)


def read_result(stdout: str) -> dict | None:
    """The last result line of a worker's output, or None if there is none."""
    lines = [ln for ln in stdout.splitlines() if ln.startswith(RESULT_MARK)]
    return json.loads(lines[-1][len(RESULT_MARK):]) if lines else None


def arguments(description: str) -> argparse.ArgumentParser:
    """The command line every worker takes (the runner builds it once for all)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", required=True, help="the site's root URL")
    parser.add_argument("--concurrency", type=int, required=True, help="C: requests in flight")
    parser.add_argument("--pages", type=int, required=True, help="N: stop after this many pages")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for the whole crawl")
    parser.add_argument("--cpus", help="run only on these processors (comma-separated)")
    return parser


def start(args: argparse.Namespace) -> None:
    """What every worker does before it loads its crawler: processors, then file limit."""
    if args.cpus:  # before any thread starts: threads inherit it
        osutil.pin({int(x) for x in args.cpus.split(",")})
    osutil.raise_fd_limit()  # a socket per request in flight


def first_line(func) -> str:
    """The first sentence of ``func``'s docstring: what the tables say a crawler is."""
    doc = inspect.getdoc(func) or func.__name__
    paragraph = " ".join(doc.split("\n\n")[0].split())
    return paragraph.split(". ")[0].rstrip(".")


def _registry():
    """``(CRAWLERS, CrawlOptions)``: the crawler registry and its options class."""
    from support.crawlers.registry import CRAWLERS
    from support.web.report import CrawlOptions

    return CRAWLERS, CrawlOptions


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
    """Run registry entry ``crawler`` once; the measured part of the result."""
    crawlers, _ = _registry()
    run = crawlers[crawler]
    from support.web.links import extract_links

    extract_links('<a href="/">x</a>', options.parser)  # load the parser
    wall0, cpu0 = time.perf_counter(), time.process_time()
    report = run(url, options)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return {
        "crawler": crawler,
        "pages": sum(1 for status in report.crawled.values() if status == 200),
        "failed": len(report.failed),
        "failures": sorted(set(map(str, report.failed.values())))[:3],
        "wall": wall, "cpu": cpu,
    }


def main(argv=None) -> int:
    parser = arguments("One crawl of the benchmark, in this process.")
    parser.add_argument("--crawler", required=True, help="a key of support.crawlers.registry.CRAWLERS")
    parser.add_argument("--option", type=option, action="append", default=[],
                        help="another CrawlOptions field, NAME=VALUE (repeatable)")
    args = parser.parse_args(argv)
    start(args)
    crawlers, options_class = _registry()  # every import before the clock starts
    if args.crawler not in crawlers:
        parser.error(f"unknown crawler {args.crawler!r}; known: {', '.join(crawlers)}")
    options = options_class(concurrency=args.concurrency, max_pages=args.pages,
                            deadline=args.timeout, **dict(args.option))
    emit(crawl_once(args.crawler, args.url, options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
