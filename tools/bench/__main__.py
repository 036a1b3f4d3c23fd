"""``make bench``: ``python -m tools.bench [--quick] [--regime R] [--crawler NAME] ...``

Runs the chosen regimes (default: all three), prints a table per regime, the
ratios against Scrapy and the thread pool, notes, the targets (PASS/FAIL) and
the machine; ``--markdown FILE`` also writes them as a page. Progress goes to
stderr. The exit code is 0 even when a target fails: it is a measurement, not
a test (2: bad arguments).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

from tools.bench import report, runner, targets


def parser() -> argparse.ArgumentParser:
    names = [e.name for e in runner.entries()]
    p = argparse.ArgumentParser(prog="python -m tools.bench",
                                description="Benchmark every crawler of the course and Scrapy.")
    p.add_argument("--quick", action="store_true",
                   help=f"only the tiny regime ({runner.QUICK}), a few seconds")
    p.add_argument("--regime", action="append", choices=sorted(runner.REGIMES),
                   help="run only this regime (repeatable); default: all three")
    p.add_argument("--crawler", action="append", choices=names, metavar="NAME",
                   help=f"run only this crawler (repeatable); default: all of {', '.join(names)}")
    p.add_argument("--no-scrapy", action="store_true", help="leave Scrapy out")
    p.add_argument("--budget", type=float, default=120.0,
                   help="skip a crawler whose ideal time exceeds this (seconds)")
    p.add_argument("--repeat", type=int, default=3,
                   help=f"runs of each crawl shorter than {runner.REPEAT_BELOW:g} s; the median is "
                        "reported (default 3)")
    p.add_argument("--markdown", type=Path, help="also write the report to this file")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    regimes = [runner.QUICK] if args.quick else [runner.REGIMES[k] for k in (args.regime or runner.REGIMES)]
    chosen = [e for e in runner.entries() if not args.crawler or e.name in args.crawler]
    if args.no_scrapy or importlib.util.find_spec("scrapy") is None:
        if not args.no_scrapy:
            print("scrapy is not installed (pip install -r requirements-bench.txt): leaving it out")
        chosen = [e for e in chosen if e.name != "scrapy"]

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    info, load0 = report.machine(), report.load()
    start = time.perf_counter()
    results = {regime: runner.run_regime(regime, chosen, args.budget, log, max(args.repeat, 1))
               for regime in regimes}
    seconds = time.perf_counter() - start
    text = report.report(results, info, targets.targets(results), seconds, (load0, report.load()))
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(report.markdown_page(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
