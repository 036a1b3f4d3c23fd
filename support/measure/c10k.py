"""Helpers of notebook 08 (corrutinas vs hilos en números) that are not the lesson.

The lesson code (a coroutine and a thread that each hold one connection open,
the parsing on the loop and in a pool) stays visible in the notebook; what
lives here is the plumbing around it:

* :func:`external_site` runs the local site in **another process**
  (``python -m support.labsite``). Ten thousand client sockets in the kernel
  plus ten thousand server sockets in the same process would pass this
  machine's limit of open files (``ulimit -n``), and the server's own memory
  would pollute the kernel's measurement. The process is stopped by
  :meth:`ExternalSite.stop`, at the kernel's exit, or by the context manager.
* :func:`rss` and :func:`connections_to`: the kernel's resident memory and
  how many of its TCP connections to a port are established (read from the
  operating system by :mod:`support.osutil`, not from our own counters).
* :func:`sample_pages`, :func:`pages_for_cpu` and :func:`count_links`:
  CPU-bound work (parsing big pages with BeautifulSoup), sized in seconds of
  this machine. ``count_links`` is importable so that a process pool can send
  it to its workers.
* :class:`Heartbeat`: a coroutine that ticks every few milliseconds and
  records the longest gap between two ticks: how long the event loop was
  blocked.
* :func:`cpu_seconds` (this process plus the processes named, e.g. a process
  pool's workers) and :func:`busy_seconds` (every process of the machine): CPU time
  from the operating system, so "cores in use" is CPU seconds over wall
  seconds, and what other programs took meanwhile is the difference.
* :func:`plot_memory`, :func:`plot_times` and :func:`plot_cpu`: the figures.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import time
import warnings
from dataclasses import dataclass, field

from support import osutil
from support.fmt import num, seg
from support.labsite import ExternalSite, SiteGraph
from support.measure import classroom
from support.osutil import busy_seconds, cpu_count, cpu_seconds, fd_limit
from support.web.links import extract_links

__all__ = ["ExternalSite", "external_site", "rss", "connections_to", "sample_pages", "pages_for_cpu", "count_links",
           "count_links_many", "Heartbeat", "usable_connections", "Cost", "cost_per_unit", "meaningful", "plot_memory",
           "plot_times", "plot_cpu", "cpu_count", "fd_limit", "cpu_seconds", "busy_seconds", "KIB"]

KIB = 1024
_SITES: dict[tuple, "ExternalSite"] = {}


def external_site(pages: int = 10, latency: float = 30.0) -> ExternalSite:
    """Start (or reuse) a site in a child process; it stops when this process exits.

    ``latency`` is long on purpose: every request waits that long before its
    answer, so a connection that has sent its request stays open.
    """
    key = (pages, latency)
    site = _SITES.get(key)
    if site is None or not site.running:
        site = _SITES[key] = ExternalSite(pages, latency)
    return site


@atexit.register
def _stop_all() -> None:
    for site in list(_SITES.values()):
        site.stop()
    _SITES.clear()


def rss() -> int:
    """Resident memory of this process, in bytes, after a garbage collection."""
    gc.collect()
    return osutil.rss()


def connections_to(port: int) -> int:
    """How many TCP connections of this process to ``port`` are ESTABLISHED (asks the OS)."""
    return osutil.established_connections(port)


def usable_connections(wanted: int, reserve: int = 500, limit: int | None = None) -> int:
    """``wanted``, capped by the limit of open files (minus ``reserve``); ``limit``
    defaults to this process's, raised first as far as allowed (:func:`fd_limit`),
    and then also caps by the local port range and the files already open
    (:func:`support.measure.classroom.connection_budget`)."""
    if limit is not None:
        return max(1, min(wanted, limit - reserve))
    return max(1, min(wanted, fd_limit() - reserve, classroom.connection_budget(reserve)))


#: Below these, a per-connection memory figure is noise (allocator arenas, page
#: granularity, a garbage collection), not a cost: it is shown but not compared.
MIN_UNITS = 200
MIN_GROWTH = 2 * 1024 * 1024


class Cost(float):
    """Bytes per unit (connection, thread) from a growth of resident memory.

    Never negative by construction (memory given back during the measurement
    is not a negative cost: it is clamped to 0 and the figure marked as not
    meaningful). ``meaningful`` is False, and ``why`` says why in Spanish, when
    too few units or too little growth were measured to tell a cost from noise.
    """

    meaningful: bool
    why: str

    def __new__(cls, before: int, after: int, units: int) -> "Cost":
        if units < 1:
            raise ValueError(f"units must be at least 1, got {units!r}")
        growth = after - before
        self = super().__new__(cls, max(0, growth) / units)
        reasons = []
        if units < MIN_UNITS:
            reasons.append(f"solo {units} unidades (hacen falta {MIN_UNITS} o más)")
        if growth < MIN_GROWTH:
            grew = num(growth / 1024)
            reasons.append(f"la memoria creció {grew} KiB en total, menos que el ruido de "
                           f"{MIN_GROWTH // 1024**2} MiB del medidor")
        self.meaningful, self.why = not reasons, "; ".join(reasons)
        return self


def cost_per_unit(before: int, after: int, units: int) -> Cost:
    """Resident growth from ``before`` to ``after`` bytes, per unit: a :class:`Cost`."""
    return Cost(before, after, units)


def meaningful(**costs: Cost) -> bool:
    """Whether every named cost is meaningful; for those that are not, warn
    (in Spanish) with the figure and why, so that no cell asserts on noise."""
    ok = True
    for name, cost in costs.items():
        if not getattr(cost, "meaningful", True):
            ok = False
            warnings.warn(f"{name}: {cost / 1024:.1f} KiB por unidad no es una medida: {cost.why}. "
                          "Con más conexiones (o sin CORRUTINAS_ESCALA) la cifra significa algo.",
                          classroom.ClassroomWarning, stacklevel=2)
    return ok


def sample_pages(count: int = 40, links: int = 150, seed: int = 1) -> list[str]:
    """``count`` big generated pages (about 11 KB and 190 links each with the defaults)."""
    graph = SiteGraph(pages=max(count, 2 * links), links=links, seed=seed)
    return [graph.render(i, "http://127.0.0.1:8000/") for i in range(count)]


def pages_for_cpu(seconds: float = 1.0, max_pages: int = 2_000) -> list[str]:
    """Sample pages enough for about ``seconds`` of CPU of :func:`count_links` on
    this machine (timed here on a few pages), so that a CPU measurement lasts long
    enough to mean something on a fast machine and stays short on a slow one.

    Discussion: the probe is timed in CPU seconds (``process_time``), after a
    first pass over it: timed by the wall clock, a probe that shares the CPU
    with other programs reads slow, and the lesson then got far less work
    than it said (0.60 s of CPU for "about 1 s")."""
    probe = sample_pages(16)
    for html in probe:  # the parser's imports and caches, before the clock
        count_links(html)
    t0 = time.process_time()
    for html in probe:
        count_links(html)
    per_page = max(time.process_time() - t0, 1e-6) / len(probe)
    return sample_pages(max(len(probe), min(max_pages, round(seconds / per_page))))


def count_links(html: str) -> int:
    """CPU-bound work: parse ``html`` with BeautifulSoup and count its links."""
    return len(extract_links(html))


def count_links_many(pages: list[str]) -> list[int]:
    """:func:`count_links` of each page, in order: one call for a whole batch
    (a process pool then sends one task, not one per page)."""
    return [count_links(html) for html in pages]


@dataclass
class Heartbeat:
    """Ticks every ``interval`` seconds on the running loop; ``max_gap`` is the
    longest time between two ticks (how long the loop could not run it)::

        async with Heartbeat() as latido:
            ...            # the work to observe
        latido.max_gap     # seconds
    """

    interval: float = 0.005
    max_gap: float = 0.0
    ticks: int = 0
    _task: asyncio.Task | None = field(default=None, repr=False)

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(self.interval)
            now = time.perf_counter()
            self.max_gap = max(self.max_gap, now - last)
            self.ticks += 1
            last = now

    async def __aenter__(self) -> "Heartbeat":
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)  # let it start
        return self

    async def __aexit__(self, *exc) -> None:
        try:
            await asyncio.sleep(self.interval * 2)  # one more tick sees a gap that just ended
        finally:  # even when a cancellation arrives during that sleep: the ticking ends here
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass


def _bars(ax, labels, values, colors, fmt):
    bars = ax.bar(labels, values, color=colors)
    for bar, value in zip(bars, values):
        ax.annotate(fmt(value), (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=9)
    ax.tick_params(axis="x", labelsize=9)


def plot_memory(per_unit: dict[str, float], lecture: dict[str, float] | None = None):
    """Bars of bytes per unit (log scale) with the lecture's figures as dashed lines."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.2))
    labels = list(per_unit)
    colors = ["tab:blue" if "corrutina" in k.lower() or "task" in k.lower() else "tab:orange" for k in labels]
    _bars(ax, labels, [v / KIB for v in per_unit.values()], colors,
          lambda v: f"{num(v, 1)} KiB" if v < 1024 else f"{num(v / 1024, 1)} MiB")
    ax.set_yscale("log")
    ax.set_ylabel("memoria por unidad (KiB, escala log)")
    for name, value in (lecture or {}).items():
        ax.axhline(value / KIB, linestyle="--", color="gray", linewidth=1)
        ax.annotate(name, (-0.45, value / KIB), ha="left", va="bottom", fontsize=8, color="gray")
    ax.set_title("Memoria por corrutina y por hilo (medida en esta máquina)")
    fig.tight_layout()
    return fig


def plot_times(seconds: dict[str, float], counts: dict[str, int]):
    """Two panels: total time to open the connections, and time per 1,000 of them."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    labels = [f"{k}\n({num(counts[k])} conexiones)" for k in seconds]
    colors = ["tab:blue" if "corrutina" in k.lower() else "tab:orange" for k in seconds]
    _bars(left, labels, list(seconds.values()), colors, seg)
    left.set_ylabel("segundos en abrirlas todas")
    _bars(right, labels, [seconds[k] / counts[k] * 1000 for k in seconds], colors, seg)
    right.set_ylabel("segundos por cada 1.000")
    fig.suptitle("Abrir y sostener conexiones: corrutinas contra hilos")
    fig.tight_layout()
    return fig


def plot_cpu(results: dict[str, tuple[float, float, float]]):
    """Three panels for CPU-bound work run several ways (``results``: name ->
    (wall seconds, longest time the loop was blocked, cores in use on average))."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
    labels = list(results)
    colors = ["tab:blue", "tab:orange", "tab:green"][:len(labels)]
    panels = [(0, 1, "segundos en total", seg),
              (1, 1000, "bucle bloqueado como máximo (ms)", lambda v: f"{num(v)} ms"),
              (2, 1, "núcleos en uso (promedio)", lambda v: num(v, 2))]
    for ax, (index, scale, title, fmt) in zip(axes, panels):
        _bars(ax, [k.replace(" de ", "\nde ") for k in labels], [results[k][index] * scale for k in labels],
              colors, fmt)
        ax.set_title(title, fontsize=10)
    fig.suptitle("Trabajo de CPU: en el bucle, en hilos y en procesos")
    fig.tight_layout()
    return fig
