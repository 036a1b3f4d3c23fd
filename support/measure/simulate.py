"""The ideal time of a crawl: a discrete-event simulation with zero CPU cost.

``tools/bench`` (the benchmark) divides this ideal by the measured wall time of each crawler
to get its *efficiency*. The ideal is the physical limit of one site, not a
formula: each fetch takes exactly the site's latency ``L``, at most ``C``
fetches are in flight, and a page's links are known only when the page
arrives, so the site's link depth is counted and nothing else (no parsing, no
connection set-up, no scheduling).

The simulated crawler behaves like the course's crawlers: the root is fetched
first; the links of an arriving page are appended to one FIFO queue (pages
already met are skipped); whenever a slot is free, the oldest queued page
starts. Fetches that end at the same instant all deliver their links before
the freed slots are refilled (with zero CPU cost, they happen at once).

    >>> from support.labsite import SiteGraph
    >>> simulate(SiteGraph(pages=200), concurrency=20, latency=0.1).seconds  # doctest: +SKIP
    1.3

Two limits bound the result: with ``C >= N`` the crawl takes
``(max depth + 1) * L`` (one round trip per level of the site), and it can
never beat ``ceil(N / C) * L`` (every fetch needs a slot for ``L``).
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence, Union

__all__ = ["SimResult", "simulate", "ideal_time"]

#: Anything that gives the pages a page links to: an object with ``targets(page)``
#: (e.g. :class:`support.labsite.SiteGraph`), a mapping or sequence page -> targets,
#: or a function page -> targets.
Graph = Union[Callable[[int], Sequence[int]], Mapping[int, Sequence[int]], Sequence[Sequence[int]], object]


@dataclass(frozen=True)
class SimResult:
    """What the simulated crawl did.

    ``seconds``: when the last fetch ended (the ideal wall time).
    ``pages``: pages fetched (the pages reachable from the root).
    ``max_in_flight``: the most fetches in flight at once (<= concurrency).
    ``order``: pages in the order their fetches started.
    """

    seconds: float
    pages: int
    max_in_flight: int
    order: tuple[int, ...]


def _targets_fn(graph: Graph) -> Callable[[int], Sequence[int]]:
    if hasattr(graph, "targets"):
        return graph.targets  # SiteGraph
    if callable(graph):
        return graph
    if isinstance(graph, Mapping):
        return lambda page: graph.get(page, ())
    return lambda page: graph[page]


def simulate(graph: Graph, concurrency: int, latency: float | Callable[[int], float],
             root: int = 0, cpu: float = 0.0) -> SimResult:
    """Simulate a BFS-discovery crawl of ``graph`` from ``root``.

    ``concurrency``: at most this many fetches in flight (>= 1).
    ``latency``: seconds every fetch takes, or a function page -> seconds.
    ``cpu``: seconds of CPU each arrived page costs before its links are known
    and its slot is free again, on ONE processor (pages wait their turn in
    arrival order). 0 gives the ideal; a measured CPU cost per page shows how
    much of a crawler's gap to the ideal that cost alone explains.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be >= 1, got {concurrency!r}")
    if cpu < 0:
        raise ValueError(f"cpu must be >= 0, got {cpu!r}")
    targets = _targets_fn(graph)
    latency_of = latency if callable(latency) else (lambda page, _l=float(latency): _l)
    if not callable(latency) and latency < 0:
        raise ValueError(f"latency must be >= 0, got {latency!r}")

    seen = {root}
    queue: deque[int] = deque([root])
    # Events: (time, sequence, page, kind). kind 0: the fetch ends (the page
    # arrives); kind 1: the page is processed (links known, slot free).
    events: list[tuple[float, int, int, int]] = []
    busy = 0          # slots taken: fetching, or waiting for / using the CPU
    cpu_free = 0.0    # when the processor is next free
    order: list[int] = []
    seq = 0
    now = 0.0
    max_in_flight = 0

    def start_fetches() -> None:
        nonlocal busy, seq, max_in_flight
        while queue and busy < concurrency:
            page = queue.popleft()
            heapq.heappush(events, (now + latency_of(page), seq, page, 0))
            seq += 1
            busy += 1
            order.append(page)
        max_in_flight = max(max_in_flight, busy)

    start_fetches()
    while events:
        now = events[0][0]
        # Everything that happens at this instant (pages arriving, and with
        # zero CPU their processing too) before the freed slots are refilled.
        while events and events[0][0] == now:
            _t, _seq, page, kind = heapq.heappop(events)
            if kind == 0:
                cpu_free = max(cpu_free, now) + cpu
                heapq.heappush(events, (cpu_free, seq, page, 1))
                seq += 1
                continue
            busy -= 1
            for t in targets(page):
                if t not in seen:
                    seen.add(t)
                    queue.append(t)
        start_fetches()
    return SimResult(seconds=now, pages=len(order), max_in_flight=max_in_flight, order=tuple(order))


def ideal_time(graph: Graph, concurrency: int, latency: float | Callable[[int], float],
               root: int = 0) -> float:
    """Seconds the crawl of ``graph`` takes with zero CPU cost (see :func:`simulate`)."""
    return simulate(graph, concurrency, latency, root).seconds
