"""The benchmark's runs: regimes, entries, the site's process, the workers, the rows.

For each regime (N pages, latency L, concurrency C) the runner starts ONE site
in a process of its own (``support.labsite.ExternalSite``), warms it up, then
runs each entry in a fresh worker process, one after another, so that the peak
RSS and the CPU seconds measured are that crawler's alone and the server's CPU
is not counted against it. With two processors or more, the site runs on the
last one and the crawlers on the others: left to itself, the scheduler often
wakes a crawler on the core of the server that just answered it, and the two
then take turns on one core while the other idles. Crawlers built on threads
are the exception (see :func:`cpu_split`). A crawl shorter than
:data:`REPEAT_BELOW` seconds is run ``repeat`` times and the median run is
reported.

The entries are every crawler of ``support.crawlers.registry.CRAWLERS``, in its order,
then the option presets of :data:`PRESETS`, then Scrapy: adding a crawler to
the registry adds it here.

Efficiency = ideal / wall. The ideal is the physical limit of the site, from
:mod:`support.measure.simulate`: the same crawl with zero CPU cost (each fetch takes
exactly L, at most C in flight, links known when a page arrives), computed at
the concurrency the crawler really has (:attr:`Entry.in_flight`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from support import osutil
from support.crawlers import isolated
from support.crawlers.registry import CRAWLERS, FOLLOWS_C
from tools.bench import scrapy_worker

ROOT = Path(__file__).resolve().parents[2]
UNBOUNDED = 10**9  # the concurrency of a crawler with no limit, for the simulation

#: Crawls shorter than this are run ``repeat`` times and the median run is
#: reported: on a shared machine one short run can be off by several percent.
REPEAT_BELOW = 10.0


@dataclasses.dataclass(frozen=True)
class Regime:
    key: str
    title: str
    pages: int
    latency: float
    concurrency: int

    def __str__(self) -> str:
        return f"{self.title} (N={self.pages}, L={self.latency:g}, C={self.concurrency})"


REGIMES = {
    "latency": Regime("latency", "latency-bound", 2000, 0.2, 100),
    "concurrency": Regime("concurrency", "high concurrency", 5000, 2.0, 1000),
    "cpu": Regime("cpu", "CPU-bound", 2000, 0.0, 100),
}
QUICK = Regime("quick", "quick", 30, 0.05, 10)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One row of the tables: a worker module and what it is told to run."""

    name: str
    note: str
    crawler: str | None = None  # the registry key; None for Scrapy
    options: tuple[tuple[str, object], ...] = ()  # CrawlOptions fields besides C, N, deadline
    module: str = isolated.__name__
    in_flight: int | str | None = FOLLOWS_C  # requests it keeps in flight: C, a number, None = one per URL
    pinned: bool = True  # run on the crawlers' processors only (see cpu_split)

    def concurrency(self, regime: Regime) -> int | None:
        return regime.concurrency if self.in_flight == FOLLOWS_C else self.in_flight

    def arguments(self) -> list[str]:
        args = ["--crawler", self.crawler] if self.crawler else []
        for name, value in self.options:
            args += ["--option", f"{name}={value if isinstance(value, str) else json.dumps(value)}"]
        return args


#: More rows for a registry crawler with other options: name -> (crawler, options).
PRESETS = {"asyncio-selectolax": ("asyncio", (("parser", "selectolax"),))}

#: The same work for every row: no crawler of the table reads robots.txt (Scrapy's worker runs
#: with ROBOTSTXT_OBEY=False; the others cannot), so the one that can is told not to. Reading it
#: costs one round trip before the first page, which the ideal time does not count.
SAME_WORK = (("obey_robots", False),)


def entries() -> list[Entry]:
    """Every crawler of the registry, then the presets, then Scrapy."""
    out = [Entry(name, spec.note, crawler=name, in_flight=spec.in_flight, pinned=not spec.threaded,
                 options=tuple(o for o in SAME_WORK if o[0] in spec.honours))
           for name, spec in CRAWLERS.items()]  # the spec says what it keeps in flight, and whether threads
    for name, (crawler, options) in PRESETS.items():
        base = next(e for e in out if e.crawler == crawler)
        settings = ", ".join(f"{k}={v}" for k, v in options)
        out.append(dataclasses.replace(base, name=name, note=f"{base.note} ({settings})",
                                       options=base.options + options))
    out.append(Entry("scrapy", scrapy_worker.__doc__.splitlines()[0].rstrip("."),
                     module=scrapy_worker.__name__))
    return out


@dataclasses.dataclass
class Row:
    entry: Entry
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
    def name(self) -> str:
        return self.entry.name

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

    @property
    def wall_range(self) -> str:
        return f"{self.walls[0]:.2f}-{self.walls[-1]:.2f}" if len(self.walls) > 1 else "-"


# --------------------------------------------------------------------------
# Processors
# --------------------------------------------------------------------------

#: The processors this process may use, read once at import (before any pinning).
ALL_CPUS = osutil.affinity()


def cpu_split(cpus: set[int] | None = ALL_CPUS) -> tuple[set[int] | None, set[int] | None]:
    """(the site's processors, the crawlers' processors) out of ``cpus``;
    (None, None) when there is only one processor or no way to pin.

    A crawler built on threads is not pinned (``Entry.pinned``): on one
    processor, the timed GIL waits of its 1000 threads (every 5 ms each) take
    the processor from the thread holding the GIL; the thread pool took
    43-136 s at C=1000 pinned against 40 s free on this 2-core machine.
    """
    if not cpus or len(cpus) < 2:
        return None, None
    ordered = sorted(cpus)
    return {ordered[-1]}, set(ordered[:-1])


def cpus_text(cpus: set[int] | None) -> str:
    return ",".join(map(str, sorted(cpus))) if cpus else "any"


# --------------------------------------------------------------------------
# One entry: a worker process, once or a few times
# --------------------------------------------------------------------------


def stop(proc: subprocess.Popen | None) -> None:
    """Terminate ``proc`` and its process group (SIGTERM), kill them if they linger (SIGKILL)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def run_one(entry: Entry, regime: Regime, site, ideal: float, expected: int,
            concurrency: int | None, budget: float, repeat: int = 1) -> Row:
    """Measure ``entry``: once, or ``repeat`` times if one run is short; the median run."""
    if ideal > budget:
        row = Row(entry, regime, concurrency, ideal, expected)
        row.skipped = f"skipped: its ideal time {ideal:.0f} s > budget {budget:.0f} s"
        return row
    runs = [run_once(entry, regime, site, ideal, expected, concurrency)]
    while runs[-1].complete and runs[0].wall < REPEAT_BELOW and len(runs) < repeat:
        runs.append(run_once(entry, regime, site, ideal, expected, concurrency))
    walls = sorted(r.wall for r in runs if r.ok)
    if not runs[-1].complete:
        row = runs[-1]  # a run that failed or missed pages is the result, not hidden by a median
    else:
        row = sorted(runs, key=lambda r: r.wall)[(len(runs) - 1) // 2]  # the median run
    row.walls = walls
    return row


def command(entry: Entry, regime: Regime, url: str, concurrency: int | None, timeout: float) -> list[str]:
    """The worker's command line for one crawl of ``entry``."""
    c = concurrency if concurrency is not None else regime.concurrency
    cmd = [sys.executable, "-m", entry.module, "--url", url, "--concurrency", str(c),
           "--pages", str(regime.pages), "--timeout", str(timeout), *entry.arguments()]
    if not entry.pinned and ALL_CPUS:
        cmd += ["--cpus", cpus_text(ALL_CPUS)]
    return cmd


def run_once(entry: Entry, regime: Regime, site, ideal: float, expected: int,
             concurrency: int | None) -> Row:
    row = Row(entry, regime, concurrency, ideal, expected)
    timeout = max(60.0, 4 * ideal + 60)
    server0, busy0 = site.cpu_seconds(), osutil.busy_seconds()
    children0 = osutil.reaped_children_cpu_seconds()
    t0 = time.perf_counter()
    proc = subprocess.Popen(command(entry, regime, site.url, concurrency, timeout), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        row.error = f"timeout: killed after {timeout + 30:.0f} s"
        return row
    finally:
        stop(proc)
    row.server_cpu = site.cpu_seconds() - server0
    elapsed = time.perf_counter() - t0
    # CPU the machine spent on anything but this crawler's process and the site.
    other = ((osutil.busy_seconds() - busy0) - (osutil.reaped_children_cpu_seconds() - children0)
             - row.server_cpu)
    row.others = max(other, 0.0) / elapsed if elapsed > 0 else None
    data = isolated.read_result(out)
    if proc.returncode != 0 or data is None:
        tail = (err.strip().splitlines() or ["no output"])[-1]
        row.error = f"error (exit {proc.returncode}): {tail[:120]}"
        return row
    row.pages, row.failed = data["pages"], data["failed"]
    row.wall, row.cpu, row.rss_mb = data["wall"], data["cpu"], data["rss_mb"]
    if row.pages != expected or row.failed:
        row.notes.append(f"INCOMPLETE: {row.pages}/{expected} pages, {row.failed} failed "
                         f"{data.get('failures', '')}")
    return row


# --------------------------------------------------------------------------
# One regime: the site, then every entry
# --------------------------------------------------------------------------


async def warm_up(url: str, pages: int, concurrency: int = 2500) -> int:
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


def run_regime(regime: Regime, chosen: list[Entry], budget: float, log: Callable[[str], None],
               repeat: int = 1) -> list[Row]:
    from support.labsite import ExternalSite, SiteGraph
    from support.measure.simulate import simulate

    osutil.raise_fd_limit()  # the warm-up opens thousands of connections
    graph = SiteGraph(regime.pages)  # the labsite's defaults: seed 0, 8 links a page
    expected = sum(1 for d in graph.depths() if d >= 0)
    ideals: dict[int, float] = {}

    def ideal_at(c: int | None) -> float:
        c = c or UNBOUNDED
        if c not in ideals:
            ideals[c] = simulate(graph, c, regime.latency).seconds
        return ideals[c]

    log(f"\n== {regime}: ideal {ideal_at(regime.concurrency):.2f} s, "
        f"site depth {max(graph.depths())} ==")
    site_cpus, crawler_cpus = cpu_split()
    # Its own process: its CPU is not the crawler's. Pinned apart: they never share a core.
    with ExternalSite(regime.pages, regime.latency, cpus=site_cpus) as site:
        warm = asyncio.run(warm_up(site.url, regime.pages))
        log(f"   site {site.url} warmed up ({warm}/{regime.pages} pages); "
            f"site on CPU {cpus_text(site_cpus)}, crawlers on CPU {cpus_text(crawler_cpus)}")
        if crawler_cpus:
            osutil.pin(crawler_cpus)  # the workers inherit it
        try:
            rows = []
            for entry in chosen:
                c = entry.concurrency(regime)
                row = run_one(entry, regime, site, ideal_at(c), expected, c, budget, repeat)
                if row.ok and row.pages:
                    row.ideal_cpu = simulate(graph, c or UNBOUNDED, regime.latency,
                                             cpu=row.cpu_per_page).seconds
                rows.append(row)
                log("   " + progress(row))
        finally:
            if crawler_cpus:
                osutil.pin(ALL_CPUS)
    return rows


def progress(row: Row) -> str:
    if not row.ok:
        return f"{row.name:<18} {row.skipped or row.error}"
    eff = f"{row.efficiency:.3f}" if row.efficiency is not None else "n/a"
    runs = f", median of {len(row.walls)} runs {row.wall_range} s" if len(row.walls) > 1 else ""
    return (f"{row.name:<18} {row.pages}/{row.expected} pages in {row.wall:.2f} s "
            f"(efficiency {eff}, {row.rss_mb:.0f} MB, CPU {row.cpu:.2f} s{runs})")
