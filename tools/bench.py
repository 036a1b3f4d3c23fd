"""``make bench``: every crawler of the course, and Scrapy, on the same local site.

For each regime (N pages, latency L, concurrency C) the script starts ONE site
in a process of its own (``python -m support.labsite``), warms it up, then
runs each crawler in a fresh process of its own, one after another, so that
the peak RSS and the CPU seconds measured are that crawler's alone and the
server's CPU is not counted against it. With two processors or more, the
site runs on the last one and the crawlers on the others (Linux
``sched_setaffinity``): left to itself, the scheduler often wakes a crawler on
the core of the server that just answered it, and the two then take turns on
one core while the other idles. The thread pool is the exception (see
:func:`cpu_split`). A crawl shorter than 10 s is run three times and the
median run is reported. It prints a table per regime:

    crawler, N, L, C, pages crawled, runs, wall time (median), wall range,
    ideal time, pages/s, efficiency, peak RSS, CPU seconds per page

then the ratios against Scrapy and against the thread pool measured in the
same run, then PASS/FAIL for each target of the benchmark (issue 4). The
exit code is 0 even when a target fails: it is a measurement, not a test.

Efficiency = ideal / wall. The ideal is the physical limit of the site, from
:mod:`support.simulate`: the same crawl with zero CPU cost (each fetch takes
exactly L, at most C in flight, links known when a page arrives). A crawler's
ideal is computed at *its own* concurrency (1 for the sequential crawler,
unbounded for a crawler with no limit), so efficiency says how well it uses
the concurrency it has. With L = 0 the ideal is 0 and efficiency is not
defined: that regime is judged on pages/s.

    python tools/bench.py                    # the three regimes (< 10 minutes)
    python tools/bench.py --regime cpu       # one regime
    python tools/bench.py --quick            # a tiny site, a few seconds (tests)
    python tools/bench.py --markdown docs/bench.md   # also write the report

Internal: ``python tools/bench.py --worker NAME --url URL ...`` runs one crawl
in the current process and prints one JSON line (used by the parent).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import importlib.util
import inspect
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

# The parent imports support.labsite and support.simulate where it needs them,
# not here: a worker must load only its own crawler's modules, or their memory
# would count in its peak RSS.

RESULT_MARK = "BENCH-RESULT "
UNBOUNDED = 10**9  # the concurrency of a crawler with no limit, for the simulation


# --------------------------------------------------------------------------
# What is measured
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Regime:
    key: str
    title: str
    pages: int
    latency: float
    concurrency: int


REGIMES = {
    "latency": Regime("latency", "latency-bound", 2000, 0.2, 100),
    "concurrency": Regime("concurrency", "high concurrency", 5000, 2.0, 1000),
    "cpu": Regime("cpu", "CPU-bound", 2000, 0.0, 100),
}
QUICK = Regime("quick", "quick (tiny site)", 30, 0.05, 10)


@dataclasses.dataclass(frozen=True)
class Crawler:
    name: str
    label: str
    bounded: bool  # does it keep at most C requests in flight?
    note: str
    pinned: bool = True  # run on the crawlers' processors only (see cpu_split)


CRAWLERS = [
    Crawler("sequential", "sequential", True, "one page at a time (C = 1)"),
    Crawler("pool", "thread pool", True, "ThreadPoolExecutor(max_workers=C), notebook 01", pinned=False),
    Crawler("callbacks", "callbacks", False, "hand-written selector loop, notebook 02"),
    Crawler("trampoline", "trampoline", False, "generator Tasks on the notebook-02 loop, notebook 04"),
    Crawler("asyncio", "asyncio", True, "support.crawler, C workers, BeautifulSoup html.parser"),
    Crawler("asyncio-selectolax", "asyncio+selectolax", True, "support.crawler, C workers, selectolax parser"),
    Crawler("scrapy", "scrapy", True, "Scrapy 2.19, CONCURRENT_REQUESTS(_PER_DOMAIN)=C, BFS order"),
]
BY_NAME = {c.name: c for c in CRAWLERS}
#: The rows the issue's targets are judged on.
ASYNCIO_ROWS = ("asyncio", "asyncio-selectolax")


@dataclasses.dataclass
class Row:
    crawler: Crawler
    regime: Regime
    concurrency: int | None  # None: no limit
    ideal: float
    expected: int
    pages: int | None = None
    failed: int | None = None
    wall: float | None = None
    cpu: float | None = None
    rss_mb: float | None = None
    server_cpu: float | None = None
    others: float | None = None  # cores used by other processes of the machine during the crawl
    ideal_cpu: float | None = None  # the simulation with this crawler's measured CPU per page
    walls: list[float] = dataclasses.field(default_factory=list)  # every run's wall time, sorted
    skipped: str | None = None
    error: str | None = None
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.skipped is None and self.error is None and self.wall is not None

    @property
    def complete(self) -> bool:
        return self.ok and self.pages == self.expected and not self.failed

    @property
    def pages_per_s(self) -> float | None:
        return self.pages / self.wall if self.ok and self.wall > 0 else None

    @property
    def efficiency(self) -> float | None:
        if not self.ok or self.ideal <= 0:
            return None
        return self.ideal / self.wall

    @property
    def cpu_per_page(self) -> float | None:
        return self.cpu / self.pages if self.ok and self.pages else None


# --------------------------------------------------------------------------
# The worker: one crawl in this process
# --------------------------------------------------------------------------


def _accepts(func, name: str) -> bool:
    return name in inspect.signature(func).parameters


def peak_rss_mb() -> float:
    """Peak resident set of this process, in MB.

    Read from ``VmHWM`` in /proc/self/status, the high-water mark of this
    process's own memory map. Not ``ru_maxrss``: on Linux that one keeps the
    peak of the *parent* at the time of the fork (it survives ``exec``), so
    every child of a big parent would report at least the parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _crawler_call(name: str, url: str, concurrency: int, pages: int, timeout: float):
    """A function that runs crawler ``name`` once and returns its CrawlReport.

    The crawler's modules are imported here, before the clock starts, so that
    import time is not counted as crawl time.
    """
    from support.links import extract_links

    if name == "sequential":
        from support.blocking import crawl_sequential
        return lambda: crawl_sequential(url, max_pages=pages)
    if name == "pool":
        from support.blocking import crawl_pool
        return lambda: crawl_pool(url, max_pages=pages, workers=concurrency)
    if name == "callbacks":
        from support.callbacks import crawl_callbacks
        return lambda: crawl_callbacks(url, max_pages=pages, timeout=timeout)
    if name == "trampoline":
        from support.trampoline import crawl_trampoline
        return lambda: crawl_trampoline(url, max_pages=pages, timeout=timeout)
    if name in ("asyncio", "asyncio-selectolax"):
        from support.crawler import crawl
        parser = "selectolax" if name == "asyncio-selectolax" else "html.parser"
        extract_links('<a href="/">x</a>', parser)  # load the parser's code too
        kwargs = dict(concurrency=concurrency, max_pages=pages, parser=parser)
        if _accepts(crawl, "deadline"):
            kwargs["deadline"] = timeout
        return lambda: asyncio.run(crawl(url, **kwargs))
    raise ValueError(f"unknown crawler {name!r}")


def worker_main(args) -> None:
    if args.cpus:  # before any thread starts: threads inherit it
        os.sched_setaffinity(0, {int(x) for x in args.cpus.split(",")})
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < args.concurrency + 256:
        from support.labsite import raise_fd_limit  # (loads aiohttp: only when needed)

        raise_fd_limit()  # a socket per request in flight; unbounded crawlers raise it themselves
    run = _crawler_call(args.worker, args.url, args.concurrency, args.pages, args.timeout)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    report = run()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    pages = sum(1 for status in report.crawled.values() if status == 200)
    result = {
        "crawler": args.worker, "pages": pages, "failed": len(report.failed),
        "failures": sorted(set(report.failed.values()))[:3],
        "wall": wall, "cpu": cpu, "rss_mb": peak_rss_mb(),
    }
    print(RESULT_MARK + json.dumps(result), flush=True)


# --------------------------------------------------------------------------
# The parent: sites, subprocesses, table
# --------------------------------------------------------------------------


def _stop(proc: subprocess.Popen | None) -> None:
    """Terminate ``proc`` (and its process group), kill it if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, 15)
    except (ProcessLookupError, PermissionError):
        proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.wait(timeout=10)


async def _warm_up(url: str, pages: int, concurrency: int = 2500) -> int:
    """Fetch every page once so the server's render cache is warm for every crawler."""
    from support.labsite import SiteGraph

    parts = urlsplit(url)
    host, port = parts.hostname, parts.port
    sem = asyncio.Semaphore(concurrency)
    ok = 0

    async def get(page: int) -> None:
        nonlocal ok
        path = SiteGraph.path_of(page)
        async with sem:
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode())
                data = await reader.read()
                ok += data.startswith(b"HTTP/1.1 200") or data.startswith(b"HTTP/1.0 200")
            finally:
                writer.close()

    await asyncio.wait_for(asyncio.gather(*(get(p) for p in range(pages))), timeout=120)
    return ok


def _machine_busy_seconds() -> float:
    """CPU seconds all the machine's cores have spent busy since boot (Linux /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return float("nan")


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _projected(crawler: Crawler, regime: Regime, ideal: float) -> float:
    if crawler.name == "sequential":
        return regime.pages * regime.latency
    return ideal


#: Crawls shorter than this are run ``--repeat`` times and the median run is
#: reported: on a shared machine one short run can be off by several percent.
REPEAT_BELOW = 10.0


def run_one(crawler: Crawler, regime: Regime, site, ideal: float,
            expected: int, concurrency: int | None, budget: float, repeat: int = 1) -> Row:
    """Measure ``crawler``: once, or ``repeat`` times if one run is short; the median run."""
    projected = _projected(crawler, regime, ideal)
    if projected > budget:
        row = Row(crawler, regime, concurrency, ideal, expected)
        row.skipped = f"skipped: projected N x L = {projected:.0f} s > budget {budget:.0f} s"
        return row
    runs = [_run_once(crawler, regime, site, ideal, expected, concurrency, projected)]
    while runs[-1].complete and runs[0].wall < REPEAT_BELOW and len(runs) < repeat:
        runs.append(_run_once(crawler, regime, site, ideal, expected, concurrency, projected))
    walls = sorted(r.wall for r in runs if r.ok)
    if not runs[-1].complete:
        row = runs[-1]  # a run that failed or missed pages is the result, not hidden by a median
    else:
        row = sorted(runs, key=lambda r: r.wall)[(len(runs) - 1) // 2]  # the median run
    row.walls = walls
    return row


def _run_once(crawler: Crawler, regime: Regime, site, ideal: float,
              expected: int, concurrency: int | None, projected: float) -> Row:
    row = Row(crawler, regime, concurrency, ideal, expected)
    timeout = max(60.0, 4 * projected + 60)
    c = concurrency if concurrency is not None else regime.concurrency
    if crawler.name == "scrapy":
        cmd = [sys.executable, str(ROOT / "tools" / "bench_scrapy.py"), "--url", site.url,
               "--concurrency", str(c), "--pages", str(regime.pages), "--timeout", str(timeout)]
    else:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", crawler.name,
               "--url", site.url, "--concurrency", str(c), "--pages", str(regime.pages),
               "--timeout", str(timeout)]
        if not crawler.pinned and ALL_CPUS:
            cmd += ["--cpus", _cpus(ALL_CPUS)]
    server0, busy0 = site.cpu_seconds(), _machine_busy_seconds()
    children0 = _children_cpu_seconds()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        _stop(proc)
        row.error = f"timeout: killed after {timeout + 30:.0f} s"
        return row
    finally:
        _stop(proc)
    row.server_cpu = site.cpu_seconds() - server0
    elapsed = time.perf_counter() - t0
    # CPU the machine spent on anything but this crawler's process and the site.
    other = (_machine_busy_seconds() - busy0) - (_children_cpu_seconds() - children0) - row.server_cpu
    row.others = max(other, 0.0) / elapsed if elapsed > 0 else None
    lines = [ln for ln in out.splitlines() if ln.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        tail = (err.strip().splitlines() or ["no output"])[-1]
        row.error = f"error (exit {proc.returncode}): {tail[:120]}"
        return row
    data = json.loads(lines[-1][len(RESULT_MARK):])
    row.pages, row.failed = data["pages"], data["failed"]
    row.wall, row.cpu, row.rss_mb = data["wall"], data["cpu"], data["rss_mb"]
    if row.pages != expected or row.failed:
        row.notes.append(f"INCOMPLETE: {row.pages}/{expected} pages, {row.failed} failed "
                         f"{data.get('failures', '')}")
    return row


#: The processors this script may use, read once at start (before any pinning).
ALL_CPUS = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None


def cpu_split() -> tuple[set[int] | None, set[int] | None]:
    """(the site's processors, the crawlers' processors); (None, None) when
    there is only one processor or no way to pin (not Linux).

    A crawler built on threads is not pinned (``Crawler.pinned``): on one
    processor, the timed GIL waits of its 1000 threads (every 5 ms each) take
    the processor from the thread holding the GIL; the thread pool took
    43-136 s at C=1000 pinned against 40 s free on this 2-core machine.
    """
    if ALL_CPUS is None:
        return None, None
    cpus = sorted(ALL_CPUS)
    if len(cpus) < 2:
        return None, None
    return {cpus[-1]}, set(cpus[:-1])


def _cpus(cpus: set[int] | None) -> str:
    return ",".join(map(str, sorted(cpus))) if cpus else "any"


def run_regime(regime: Regime, crawlers: list[Crawler], budget: float, log,
               repeat: int = 1) -> list[Row]:
    from support.labsite import ExternalSite, SiteGraph, raise_fd_limit
    from support.simulate import simulate

    raise_fd_limit()  # the warm-up opens thousands of connections
    graph = SiteGraph(regime.pages)  # the labsite's defaults: seed 0, 8 links a page
    expected = sum(1 for d in graph.depths() if d >= 0)
    ideals: dict[int, float] = {}

    def ideal_at(c: int) -> float:
        if c not in ideals:
            ideals[c] = simulate(graph, c, regime.latency).seconds
        return ideals[c]

    log(f"\n== {regime.title}: N={regime.pages}, L={regime.latency:g} s, C={regime.concurrency} "
        f"(ideal {ideal_at(regime.concurrency):.2f} s, site depth {max(graph.depths())}) ==")
    site_cpus, crawler_cpus = cpu_split()
    # Its own process: its CPU is not the crawler's. Pinned apart: they never share a core.
    with ExternalSite(regime.pages, regime.latency, cpus=site_cpus) as site:
        warm = asyncio.run(_warm_up(site.url, regime.pages))
        log(f"   site {site.url} warmed up ({warm}/{regime.pages} pages); "
            f"site on CPU {_cpus(site_cpus)}, crawlers on CPU {_cpus(crawler_cpus)}")
        if crawler_cpus:
            os.sched_setaffinity(0, crawler_cpus)  # the crawlers' processes inherit it
        try:
            rows = _run_crawlers(regime, crawlers, site, graph, expected, ideal_at, budget, log,
                                 repeat)
        finally:
            if crawler_cpus:
                os.sched_setaffinity(0, ALL_CPUS)
    return rows


def _run_crawlers(regime, crawlers, site, graph, expected, ideal_at, budget, log,
                  repeat) -> list[Row]:
    from support.simulate import simulate

    rows = []
    for crawler in crawlers:
        if crawler.name == "sequential":
            c = 1
        elif crawler.bounded:
            c = regime.concurrency
        else:
            c = None
        row = run_one(crawler, regime, site, ideal_at(c or UNBOUNDED), expected, c, budget, repeat)
        if row.ok and row.pages:
            row.ideal_cpu = simulate(graph, c or UNBOUNDED, regime.latency,
                                     cpu=row.cpu_per_page).seconds
        rows.append(row)
        log("   " + _progress(row))
    return rows


def _progress(row: Row) -> str:
    if not row.ok:
        return f"{row.crawler.label:<18} {row.skipped or row.error}"
    eff = f"{row.efficiency:.3f}" if row.efficiency is not None else "n/a"
    runs = f", median of {len(row.walls)} runs {_wall_range(row)} s" if len(row.walls) > 1 else ""
    return (f"{row.crawler.label:<18} {row.pages}/{row.expected} pages in {row.wall:.2f} s "
            f"(efficiency {eff}, {row.rss_mb:.0f} MB, CPU {row.cpu:.2f} s{runs})")


def _wall_range(row: Row) -> str:
    return f"{row.walls[0]:.2f}-{row.walls[-1]:.2f}" if len(row.walls) > 1 else "-"


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def _fmt(value, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def table(rows: list[Row]) -> str:
    head = ["crawler", "N", "L (s)", "C", "pages", "runs", "wall (s)", "wall range (s)", "ideal (s)",
            "pages/s", "efficiency", "peak RSS (MB)", "CPU s/page", "ideal+CPU (s)", "server CPU (s)",
            "others (cores)"]
    body = []
    for r in rows:
        c = "none" if r.concurrency is None else str(r.concurrency)
        if not r.ok:
            body.append([r.crawler.label, str(r.regime.pages), f"{r.regime.latency:g}", c,
                         r.skipped or r.error])
            continue
        pages = f"{r.pages}" + ("" if r.complete else " !")
        body.append([r.crawler.label, str(r.regime.pages), f"{r.regime.latency:g}", c, pages,
                     str(len(r.walls)), f"{r.wall:.2f}", _wall_range(r), f"{r.ideal:.2f}",
                     f"{r.pages_per_s:.0f}",
                     _fmt(r.efficiency, ".3f", "n/a (L=0)"), f"{r.rss_mb:.0f}",
                     f"{r.cpu_per_page:.5f}", _fmt(r.ideal_cpu, ".2f"), _fmt(r.server_cpu, ".1f"),
                     _fmt(r.others, ".2f")])
    full = [b for b in body if len(b) == len(head)]
    widths = [max(len(x[i]) for x in [head] + full) for i in range(len(head))]
    right = set(range(1, len(head)))

    def line(cells):
        if len(cells) < len(head):  # a skipped row: the message spans the measured columns
            return "  ".join(_cell(x, widths[i], i in right) for i, x in enumerate(cells[:4])) \
                + "  " + cells[4]
        return "  ".join(_cell(x, widths[i], i in right) for i, x in enumerate(cells))

    out = [line(head), "  ".join("-" * w for w in widths)] + [line(b) for b in body]
    return "\n".join(x.rstrip() for x in out)


def _cell(text: str, width: int, right: bool) -> str:
    return text.rjust(width) if right else text.ljust(width)


def ratios(rows: list[Row]) -> str:
    by = {r.crawler.name: r for r in rows if r.ok}
    refs = [("scrapy", "Scrapy"), ("pool", "thread pool")]
    head = ["crawler"]
    for _, label in refs:
        head += [f"pages/s / {label}", f"RSS / {label}", f"CPU per page / {label}"]
    body = []
    for r in rows:
        if not r.ok:
            continue
        cells = [r.crawler.label]
        for ref_name, _ in refs:
            ref = by.get(ref_name)
            if ref is None:
                cells += ["-", "-", "-"]
                continue
            cells += [f"{r.pages_per_s / ref.pages_per_s:.2f}x", f"{r.rss_mb / ref.rss_mb:.2f}x",
                      f"{r.cpu_per_page / ref.cpu_per_page:.2f}x"]
        body.append(cells)
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    out = ["  ".join(_cell(x, widths[i], i > 0) for i, x in enumerate(cells)) for cells in [head] + body]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(x.rstrip() for x in out)


def notes(rows: list[Row]) -> str:
    seen, out = set(), []
    for r in rows:
        if r.crawler.name not in seen:
            seen.add(r.crawler.name)
            limit = "" if r.crawler.bounded else " No concurrency limit: a socket per URL discovered."
            free = ("" if r.crawler.pinned or cpu_split()[0] is None else
                    " Not pinned: it may use every processor, the site's included (its threads "
                    "fight for the GIL; on one processor their timed waits starve the holder).")
            out.append(f"- {r.crawler.label}: {r.crawler.note}.{limit}{free}")
        for n in r.notes:
            out.append(f"- {r.crawler.label}: {n}")
    out.append("- ideal+CPU: the same simulation as the ideal, but each page also costs the crawler's "
               "measured CPU s/page on one processor; wall minus ideal+CPU is time lost elsewhere "
               "(the server, connection set-up, scheduling, other processes).")
    out.append("- server CPU: CPU seconds the site's process used during that crawl.")
    out.append("- others: cores' worth of CPU used by the rest of the machine (other users' "
               "processes) while that crawler ran; well above 0 means the crawl shared the CPU.")
    return "\n".join(out)


@dataclasses.dataclass
class Verdict:
    passed: bool | None  # None: could not be judged
    text: str

    def __str__(self) -> str:
        tag = {True: "PASS", False: "FAIL", None: "N/A "}[self.passed]
        return f"{tag}  {self.text}"


def targets(results: dict[str, list[Row]]) -> list[Verdict]:
    """The issue's targets, judged for each configuration of the asyncio crawler."""
    out: list[Verdict] = []

    def row(rows, name):
        return next((r for r in rows if r.crawler.name == name and r.ok), None)

    for name in ASYNCIO_ROWS:
        label = BY_NAME[name].label
        if "latency" in results:
            rows = results["latency"]
            a = row(rows, name)
            out.append(_judge(a, lambda a: a.complete and a.efficiency >= 0.97,
                              f"latency-bound (N=2000, L=0.2, C=100): {label} efficiency "
                              f"{_fmt(a and a.efficiency, '.3f')} >= 0.97"))
        if "concurrency" in results:
            rows = results["concurrency"]
            a, s, p = row(rows, name), row(rows, "scrapy"), row(rows, "pool")
            out.append(_judge(a, lambda a: a.complete and a.efficiency >= 0.95,
                              f"high concurrency (N=5000, L=2, C=1000): {label} efficiency "
                              f"{_fmt(a and a.efficiency, '.3f')} >= 0.95"))
            out.append(_judge(a and s, lambda _: a.rss_mb <= s.rss_mb / 3,
                              f"high concurrency: {label} peak RSS {_fmt(a and a.rss_mb, '.0f')} MB "
                              f"<= 1/3 of Scrapy's {_fmt(s and s.rss_mb, '.0f')} MB"))
            out.append(_judge(a and p, lambda _: a.rss_mb < p.rss_mb,
                              f"high concurrency: {label} peak RSS {_fmt(a and a.rss_mb, '.0f')} MB "
                              f"< thread pool's {_fmt(p and p.rss_mb, '.0f')} MB at C=1000"))
        if "cpu" in results:
            rows = results["cpu"]
            a, s = row(rows, name), row(rows, "scrapy")
            ratio = a.pages_per_s / s.pages_per_s if a and s else None
            out.append(_judge(a and s, lambda _: a.complete and ratio >= 5,
                              f"CPU-bound (N=2000, L=0, C=100): {label} "
                              f"{_fmt(a and a.pages_per_s, '.0f')} pages/s = "
                              f"{_fmt(ratio, '.1f')}x Scrapy's {_fmt(s and s.pages_per_s, '.0f')} "
                              f"(>= 5x)"))
    for key, rows in results.items():
        measured = [r for r in rows if r.ok]
        missing = [f"{r.crawler.label} ({r.pages}/{r.expected}, {r.failed} failed)"
                   for r in measured if not r.complete]
        errors = [r.crawler.label for r in rows if r.error]
        if measured or errors:
            text = (f"{rows[0].regime.title}: every crawler measured "
                    f"crawled all {rows[0].expected} pages")
            if missing or errors:
                text += ": NOT " + ", ".join(missing + [f"{e} (error)" for e in errors])
            out.append(Verdict(not missing and not errors, text))
    return out


def _judge(subject, check, text: str) -> Verdict:
    if not subject:
        return Verdict(None, text + " (not measured)")
    return Verdict(bool(check(subject)), text)


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                model = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for mod in ("aiohttp", "bs4", "selectolax", "scrapy"):
        if importlib.util.find_spec(mod) is not None:
            m = __import__(mod)
            versions.append(f"{mod} {getattr(m, '__version__', '?')}")
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": str(os.cpu_count()),
        "cpu": model,
        "memory": _mem_total(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
        "packages": ", ".join(versions),
        "pinning": _pinning(),
    }


def _pinning() -> str:
    site, crawlers = cpu_split()
    if site is None:
        return "none (one processor, or not Linux): site and crawlers share the processors"
    free = ", ".join(c.label for c in CRAWLERS if not c.pinned)
    return (f"site on CPU {_cpus(site)}, each crawler on CPU {_cpus(crawlers)} "
            f"(except {free}: on CPU {_cpus(ALL_CPUS)}, see the notes)")


def _mem_total() -> str:
    try:
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        return f"{kb / 2**20:.0f} GB"
    except (OSError, IndexError, ValueError):
        return "unknown"


def report(results: dict[str, list[Row]], regimes: list[Regime], info: dict[str, str],
           verdicts: list[Verdict], seconds: float, load: tuple) -> str:
    parts = []
    for regime in regimes:
        rows = results[regime.key]
        parts.append(f"### {regime.title}: N={regime.pages}, L={regime.latency:g} s, "
                     f"C={regime.concurrency}\n")
        parts.append("```\n" + table(rows) + "\n```\n")
        parts.append("Ratios in the same run (pages/s: higher is better; RSS and CPU per page: "
                     "lower is better):\n")
        parts.append("```\n" + ratios(rows) + "\n```\n")
    all_rows = [r for regime in regimes for r in results[regime.key]]
    parts.append("Notes (`!` after the page count: the crawler missed pages or some failed):\n\n"
                 + notes(all_rows) + "\n")
    parts.append("### Targets\n\n```\n" + "\n".join(str(v) for v in verdicts) + "\n```\n")
    mach = "\n".join(f"- {k}: {v}" for k, v in info.items())
    others = [r.others for r in all_rows if r.others is not None]
    busy = max(others, default=0.0)
    mean = sum(others) / len(others) if others else 0.0
    parts.append(f"### Machine\n\n{mach}\n- load average (1, 5, 15 min) before / after: "
                 f"{load[0]} / {load[1]}\n- CPU used by other processes during the crawls: "
                 f"{mean:.2f} cores on average, {busy:.2f} at most\n- whole run: {seconds:.0f} s\n")
    if busy > 0.5:
        parts.append(f"WARNING: other processes used up to {busy:.1f} of the {os.cpu_count()} cores "
                     "during this run; the crawls they overlapped are slower than on a quiet machine.\n")
    return "\n".join(parts)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark every crawler of the course and Scrapy.")
    parser.add_argument("--quick", action="store_true", help="one tiny regime (N=30), a few seconds")
    parser.add_argument("--regime", action="append", choices=sorted(REGIMES),
                        help="run only this regime (repeatable); default: all three")
    parser.add_argument("--crawler", action="append", choices=[c.name for c in CRAWLERS],
                        help="run only this crawler (repeatable); default: all")
    parser.add_argument("--no-scrapy", action="store_true", help="leave Scrapy out")
    parser.add_argument("--budget", type=float, default=120.0,
                        help="skip a crawler whose projected time exceeds this (seconds)")
    parser.add_argument("--repeat", type=int, default=3,
                        help=f"runs of each crawl shorter than {REPEAT_BELOW:g} s; the median is "
                             "reported (default 3)")
    parser.add_argument("--markdown", type=Path, help="also write the report to this file")
    # internal: one crawl in this process
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=10, help=argparse.SUPPRESS)
    parser.add_argument("--pages", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=300.0, help=argparse.SUPPRESS)
    parser.add_argument("--cpus", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        worker_main(args)
        return 0

    regimes = [QUICK] if args.quick else [REGIMES[k] for k in (args.regime or REGIMES)]
    crawlers = [c for c in CRAWLERS if not args.crawler or c.name in args.crawler]
    if args.no_scrapy or importlib.util.find_spec("scrapy") is None:
        if not args.no_scrapy:
            print("scrapy is not installed (pip install -r requirements-bench.txt): leaving it out")
        crawlers = [c for c in crawlers if c.name != "scrapy"]

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    info = machine()
    load0 = " ".join(f"{x:.2f}" for x in os.getloadavg())
    start = time.perf_counter()
    results = {}
    for regime in regimes:
        results[regime.key] = run_regime(regime, crawlers, args.budget, log, max(args.repeat, 1))
    seconds = time.perf_counter() - start
    load1 = " ".join(f"{x:.2f}" for x in os.getloadavg())
    verdicts = targets(results)
    text = report(results, regimes, info, verdicts, seconds, (load0, load1))
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(_markdown_page(text))
    return 0


def _markdown_page(text: str) -> str:
    return ("# Benchmark: the course's crawlers and Scrapy on the same local site\n\n"
            "Written by `python tools/bench.py --markdown docs/bench.md` (`make bench` prints the "
            "same report). Each crawler runs in a fresh process of its own against one site served "
            "by another process; efficiency = ideal / wall, where the ideal is the discrete-event "
            "simulation of the same crawl with zero CPU (`support/simulate.py`): each fetch takes "
            "exactly L, at most C in flight, links known when a page arrives. A crawler's ideal "
            "is computed at its own concurrency. CPU s/page counts the crawler's process only; "
            "peak RSS is the crawler process's maximum resident set.\n\n" + text)


if __name__ == "__main__":
    sys.exit(main())
