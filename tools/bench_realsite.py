"""The crawler on a real site: the Python documentation, served on 127.0.0.1 (issue 15, point 10).

The labsite's pages are small and regular; real pages are not (the Python
3.11 docs: 527 pages reachable from ``index.html``, up to 1.7 MB each). This
measures where a crawl of real pages spends its time::

    python -m tools.bench_realsite                          # the default crawler, and each parser
    python -m tools.bench_realsite --parser default --parser html.parser --scrapy

It serves the documentation with ``python -m http.server`` in a child process
(its own core's worth of work, as a real server would be), then runs each
crawl in a fresh child process of its own (``--one``: this same module, with
the benchmark's result line, :func:`support.crawlers.isolated.emit`), so that one
crawl's memory does not count in the next, and prints one row per crawl: wall
seconds, CPU seconds, pages crawled, pages skipped and why, peak RSS. With
``--scrapy`` (needs ``requirements-bench.txt``) it also runs
:mod:`tools.bench.scrapy_worker` on the same site, the industrial reference.

The documentation comes from Debian's ``python3.11-doc`` (or ``python3-doc``)::

    apt-get install -y python3.11-doc        # /usr/share/doc/python3.11/html

When it is not installed, the script says so and exits 0 (nothing measured).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from support.crawlers.isolated import emit, read_result

ROOT = Path(__file__).resolve().parent.parent

#: Where Debian puts the HTML documentation of Python, newest first.
DOC_DIRS = ("/usr/share/doc/python3.11/html", "/usr/share/doc/python3/html", "/usr/share/doc/python3.12/html",
            "/usr/share/doc/python3.13/html")
INSTALL_HINT = ("the Python documentation is not installed: `apt-get install -y python3.11-doc` "
                "(or `python3-doc`) puts it in /usr/share/doc/python3.11/html")
DEFAULT = "default"  # the crawler with no option changed


def find_docs(candidates=DOC_DIRS) -> Path | None:
    """The first directory of ``candidates`` that holds an ``index.html``, or None."""
    for folder in candidates:
        if (Path(folder) / "index.html").is_file():
            return Path(folder)
    return None


class DocServer:
    """``python -m http.server`` on a free port of 127.0.0.1, serving ``folder``; a context manager."""

    def __init__(self, folder: Path):
        self.folder = folder

    def __enter__(self) -> "DocServer":
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(self.folder)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline()  # "Serving HTTP on 127.0.0.1 port 41234 (http://...) ..."
        match = re.search(r"port (\d+)", line)
        if match is None:
            self.process.kill()
            raise RuntimeError(f"http.server did not say its port: {line!r}")
        self.url = f"http://127.0.0.1:{match.group(1)}/"
        return self

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def crawl_once(url: str, parser: str, concurrency: int) -> dict:
    """One crawl of ``url`` in this process, measured (the child's side of ``--one``)."""
    from support.crawlers.asyncio_crawler import crawl_sync
    from support.osutil import reset_peak_rss

    reset_peak_rss()
    options = {} if parser == DEFAULT else {"parser": parser}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = crawl_sync(url, concurrency=concurrency, **options)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    reasons = {f"{outcome}: {reason}": n for (outcome, reason), n in result.by_reason().items()
               if outcome != "crawled" and not reason.startswith("other host")}
    return {"crawler": f"course ({result.parser})", "asked": parser, "wall": wall, "cpu": cpu,
            "pages": len(result.crawled), "failed": len(result.failed), "not_crawled": reasons}


def _child(module: str, *args: str) -> dict:
    """Run ``python -m module args`` from the repository's root; its result line."""
    out = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=900,
                         cwd=ROOT)
    result = read_result(out.stdout)
    if result is None:
        raise RuntimeError(f"{module} printed no result (exit {out.returncode}):\n{out.stderr[-2000:]}")
    return result


def measure(docs: Path, parsers: list[str], concurrency: int, scrapy: bool) -> list[dict]:
    """Serve ``docs`` and crawl it from ``index.html`` once per parser (and with Scrapy)."""
    rows = []
    with DocServer(docs) as server:
        root = server.url + "index.html"
        for parser in parsers:
            rows.append(_child("tools.bench_realsite", "--one", root, "--parser", parser,
                               "--concurrency", str(concurrency)))
        if scrapy:
            row = _child("tools.bench.scrapy_worker", "--url", root, "--concurrency", str(concurrency),
                         "--pages", "100000")
            rows.append({"crawler": "scrapy", "asked": "scrapy", "wall": row["wall"], "cpu": row["cpu"],
                         "pages": row["pages"], "failed": row["failed"], "not_crawled": {},
                         "rss_mb": row["rss_mb"]})
    return rows


def table(rows: list[dict]) -> str:
    lines = [f"{'crawler':28} {'wall s':>7} {'cpu s':>7} {'pages':>6} {'failed':>6} {'peak MB':>8}  not crawled"]
    for r in rows:
        lines.append(f"{r['crawler']:28} {r['wall']:7.2f} {r['cpu']:7.2f} {r['pages']:6d} {r['failed']:6d} "
                     f"{r['rss_mb']:8.0f}  {r['not_crawled'] or ''}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", help="the documentation's folder (default: the first of %s found)" % (DOC_DIRS,))
    parser.add_argument("--parser", action="append",
                        help=f"a parser to measure ({DEFAULT!r}: the crawler's own default); repeatable")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--scrapy", action="store_true", help="also crawl with Scrapy (requirements-bench.txt)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--one", metavar="URL", help=argparse.SUPPRESS)  # the child: one crawl, one line
    args = parser.parse_args(argv)
    parsers = args.parser or [DEFAULT, "html.parser", "lxml", "selectolax"]
    if args.one:
        emit(crawl_once(args.one, parsers[0], args.concurrency))
        return 0
    docs = Path(args.docs) if args.docs else find_docs()
    if docs is None or not (docs / "index.html").is_file():
        print(f"bench_realsite: skipped: {INSTALL_HINT}")
        return 0
    print(f"The Python documentation in {docs} ({sum(1 for _ in docs.rglob('*.html'))} HTML files), "
          f"crawled from index.html at C={args.concurrency}; {os.cpu_count()} cores")
    rows = measure(docs, parsers, args.concurrency, args.scrapy)
    print(json.dumps(rows, indent=1) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
