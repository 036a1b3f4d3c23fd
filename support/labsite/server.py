"""The site served: ``LabSite`` answers requests, looking faulted pages up in the registry.

The server knows no fault by name: a faulted page's mode is a key into
``FAULTS``, whose object renders the page, lists its links and answers.
"""

from __future__ import annotations

import asyncio
import atexit
import dataclasses
import random
import threading
import time
from collections import Counter
from typing import Awaitable, Callable

from aiohttp import web

from support.labsite.background import HOST, BackgroundServer
from support.labsite.faults import FAULTS, assign_faults, merge_options
from support.labsite.graph import Link, SiteGraph
from support.labsite.toolkit import PAGE, Fault, SiteView, Visit, abort, html
from support.osutil import raise_fd_limit

__all__ = ["LabSite", "Stats", "serve", "running_sites", "stop_all"]

Sleep = Callable[[float], Awaitable[object]]


@dataclasses.dataclass
class Stats:
    """What the server saw. Updated on the server's thread; read from any thread."""

    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    abandoned: int = 0  # responses whose client had hung up (e.g. a cancelled task) before they were sent
    by_status: Counter = dataclasses.field(default_factory=Counter)
    by_path: Counter = dataclasses.field(default_factory=Counter)
    get_by_path: Counter = dataclasses.field(default_factory=Counter)  # GETs only (by_path counts HEADs too)
    by_fault: Counter = dataclasses.field(default_factory=Counter)  # fault responses served, per mode
    cut_by_stop: int = 0  # slow responses (drip, huge) abandoned because the site stopped
    arrivals: list = dataclasses.field(default_factory=list)  # (time.monotonic(), path) of each request


def _latency_fn(latency, seed: int) -> Callable[[str], float]:
    """Turn ``latency`` (seconds, or a (low, high) range) into path -> seconds."""
    if isinstance(latency, (int, float)):
        if latency < 0:
            raise ValueError(f"latency must be >= 0, got {latency!r}")
        return lambda path: float(latency)
    try:
        low, high = (float(x) for x in latency)
    except (TypeError, ValueError):
        raise ValueError(f"latency must be seconds or a (low, high) pair, got {latency!r}") from None
    if not 0 <= low <= high:
        raise ValueError(f"latency range must satisfy 0 <= low <= high, got {latency!r}")
    return lambda path: random.Random(f"labsite-latency:{seed}:{path}").uniform(low, high)


class LabSite:
    """A generated site served from a background thread on 127.0.0.1.

    Parameters
    ----------
    pages: number of pages (1..100000). seed: makes links, latencies and
    faults reproducible. links: random links per page (plus the tree links
    that make every page reachable). latency: seconds before each response,
    or a ``(low, high)`` range drawn per page from the seed. port: 0 picks a
    free port. backlog: the listen queue; large so thousands of simultaneous
    connects are not refused. faults: mode -> fraction of pages (see the
    package docstring and ``FAULT_MODES``). fault_options: overrides of
    ``FAULT_DEFAULTS``. sleep: how the server waits (latency, drip pauses);
    ``asyncio.sleep`` unless a test injects virtual time. robots: the text
    served at ``/robots.txt`` (``"User-agent: *\nDisallow: /page/3"``); None,
    the default, answers it 404 like any unknown path (no rules).
    """

    def __init__(self, pages: int = 50, seed: int = 0, links: int = 8, latency=0.0,
                 port: int = 0, backlog: int = 8192, faults: dict | None = None,
                 fault_options: dict | None = None, sleep: Sleep = asyncio.sleep, robots: str | None = None):
        self.graph = SiteGraph(pages, seed, links)
        self.latency_of = _latency_fn(latency, seed)
        self.fault_options = merge_options(fault_options)
        self._faults = assign_faults(pages, seed, faults)
        # One object per mode in use, so that a mode's state (503s sent) is this site's.
        used = set(self._faults.values())
        self._modes: dict[str, Fault] = {m: FAULTS[m](self.fault_options) for m in FAULTS if m in used}
        self.params = dict(pages=pages, seed=seed, links=links, latency=latency)
        if faults:
            self.params["faults"] = {m: faults[m] for m in FAULTS if m in faults}
        if fault_options:
            self.params["fault_options"] = dict(fault_options)
        if robots is not None:
            self.params["robots"] = self.robots = str(robots)
        else:
            self.robots = None
        self._requested_port, self._sleep = port, sleep
        self._server = BackgroundServer(self._handle, port, backlog, name="labsite")
        self.stats = Stats()
        self._html: dict[int, bytes] = {}  # rendered pages (a page never changes)
        self._closing: asyncio.Event | None = None
        self._site_view: SiteView | None = None
        self.port: int | None = None

    # -- public API ---------------------------------------------------------

    @property
    def url(self) -> str:
        """The site's root URL, e.g. ``http://127.0.0.1:40123/``."""
        self._require_running()
        return f"http://{HOST}:{self.port}/"

    @property
    def host(self) -> str:
        return HOST

    @property
    def pages(self) -> int:
        return self.graph.pages

    @property
    def running(self) -> bool:
        return self._server.running

    @property
    def addresses(self) -> list[tuple]:
        """The (host, port) of every listening socket (only 127.0.0.1)."""
        self._require_running()
        return self._server.addresses

    def url_of(self, page: int) -> str:
        """Canonical absolute URL of page ``page``."""
        self._require_running()
        return f"http://{HOST}:{self.port}{self.graph.path_of(page)}"

    def all_urls(self) -> set[str]:
        """Canonical URLs of every page: what a complete crawl must find."""
        return {self.url_of(i) for i in range(self.pages)}

    def html_of(self, page: int) -> str:
        """The HTML the server sends for ``page`` (without fetching it).

        For ``malformed``, ``truncated``, ``odd_links`` and ``trap`` pages, the
        faulted HTML; for the other modes, the page's own HTML (which a
        ``drip``, ``reset``, ``error503`` or ``redirect_chain`` page sends
        slowly, partly, eventually or at the end of the chain).
        """
        return self._page_bytes(page).decode()

    def links_of(self, page: int) -> list[Link]:
        """The links of ``page`` as a parser reads them from the HTML it serves
        (its faulted HTML included)."""
        links = self.graph.page_links(page, self.url)
        fault = self._fault_at(page)
        return links if fault is None else fault.links(page, self._view(), links)

    # -- faults -------------------------------------------------------------

    def fault_of(self, page: int) -> str | None:
        """The fault mode of ``page``, or None for a healthy page."""
        return self._faults.get(page)

    def faulty_pages(self, mode: str | None = None) -> list[int]:
        """Pages with fault ``mode`` (every faulted page when ``mode`` is None)."""
        if mode is not None and mode not in FAULTS:
            raise ValueError(f"unknown fault mode {mode!r}; known: {', '.join(FAULTS)}")
        return [p for p, m in self._faults.items() if mode is None or m == mode]

    @property
    def faults(self) -> dict[int, str]:
        """Page -> fault mode of every faulted page."""
        return dict(self._faults)

    def trap_url(self, page: int, *levels: int) -> str:
        """URL of a page inside the trap entered from ``page`` (levels default to ``1``)."""
        self._require_running()
        return f"http://{HOST}:{self.port}/trampa/{page}/" + "/".join(map(str, levels or (1,)))

    def reset_stats(self) -> None:
        """Fresh statistics; the transient 503 pages fail again from the start."""
        self.stats = Stats()
        for fault in self._modes.values():
            fault.reset()

    # -- life cycle ---------------------------------------------------------

    def start(self) -> "LabSite":
        if self.running:
            return self
        raise_fd_limit()
        self._closing = asyncio.Event()  # Discussion: fresh per run; it binds to the new loop on first use
        self._server.start()
        self.port = self._server.port
        return self

    def stop(self) -> None:
        """Stop the server and join its thread. Safe to call twice.

        Slow responses in progress (drip, huge) are cut at once."""
        self._server.stop(first=self._closing.set if self._closing is not None else None)
        with _REGISTRY_LOCK:
            if _REGISTRY.get(self._key()) is self:
                del _REGISTRY[self._key()]

    def __enter__(self) -> "LabSite":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        p = self.params
        extra = f" faults={len(self._faults)} pages" if self._faults else ""
        return f"<LabSite {where} pages={p['pages']} seed={p['seed']} latency={p['latency']}{extra}>"

    # -- internals ----------------------------------------------------------

    def _key(self):
        p = self.params
        lat = p["latency"] if isinstance(p["latency"], (int, float)) else tuple(p["latency"])
        faults = tuple(sorted(p.get("faults", {}).items()))
        options = tuple(sorted(p.get("fault_options", {}).items()))
        return (p["pages"], p["seed"], p["links"], lat, self._requested_port, faults, options, p.get("robots"))

    def _require_running(self) -> None:
        if self.port is None or not self.running:
            raise RuntimeError("the site is not running: call start() or use serve()")

    def _view(self) -> SiteView:
        view = self._site_view
        if view is None or view.hostport != f"{HOST}:{self.port}":  # Discussion: one per port, not per request
            self._require_running()
            view = self._site_view = SiteView(self.graph, f"http://{HOST}:{self.port}/", f"{HOST}:{self.port}")
        return view

    def _fault_at(self, page: int) -> Fault | None:
        mode = self._faults.get(page)
        return None if mode is None else self._modes[mode]

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        stats = self.stats
        stats.requests += 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        stats.by_path[request.path] += 1
        stats.arrivals.append((time.monotonic(), request.path))
        stats.get_by_path[request.path] += request.method == "GET"
        try:
            response = await self._respond(request)
        finally:
            stats.in_flight -= 1
        stats.by_status[response.status] += 1
        stats.abandoned += request.transport is None or request.transport.is_closing()
        return response

    async def _respond(self, request: web.BaseRequest) -> web.StreamResponse:
        delay = self.latency_of(request.path)
        if delay:
            await self._sleep(delay)
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, text="405: solo GET\n", headers={"Allow": "GET, HEAD"})
        # Discussion: match the raw path. Nothing is ever looked up on disk,
        # and an encoded traversal such as /page/%2e%2e/x never matches.
        path = request.raw_path
        if path == "/robots.txt" and self.robots is not None:
            return web.Response(text=self.robots, content_type="text/plain")
        page = self.graph.page_of(path)
        if page is not None and page < self.pages:
            fault = self._fault_at(page)
            if fault is None:
                return self._page_response(page)
            answer = await fault.respond(self._visit(request, page))
        else:
            fault, page, match = self._invented(path)
            answer = None if fault is None else await fault.respond_invented(self._visit(request, page), match)
            if answer is None:
                return web.Response(status=404, text="404: no existe esa pagina\n")
        if answer is PAGE:
            return self._page_response(page)
        self.stats.by_fault[fault.mode] += 1
        return answer

    def _invented(self, path: str) -> tuple[Fault | None, int | None, object]:
        """The fault that invented ``path`` (a ``/bucle``, ``/cadena``, ``/trampa`` URL), its page and match."""
        for mode, fault in self._modes.items():
            match = fault.invents.match(path) if fault.invents is not None else None
            # Discussion: an invented URL exists only under a page of its own
            # mode: /trampa/5/1 is a 404 unless page 5 is a trap.
            if match and self._faults.get(int(match.group(1))) == mode:
                return fault, int(match.group(1)), match
        return None, None, None

    def _visit(self, request: web.BaseRequest, page: int) -> Visit:
        return Visit(request, page, self._view(), self._page_bytes(page), self._pause,
                     self._closing.is_set, lambda: self._cut(request))

    def _page_response(self, page: int) -> web.Response:
        return html(self._page_bytes(page))

    def _page_bytes(self, page: int) -> bytes:
        body = self._html.get(page)
        if body is None:
            fault = self._fault_at(page)
            text = None if fault is None else fault.render(page, self._view())
            body = self._html[page] = (self.graph.render(page, self.url) if text is None else text).encode()
        return body

    async def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` with the site's sleep; True (at once) if the site is stopping."""
        if self._closing.is_set():
            return True
        sleeping = asyncio.ensure_future(self._sleep(seconds))
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            await asyncio.wait((sleeping, closing), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            closing.cancel()
        return self._closing.is_set()

    def _cut(self, request: web.BaseRequest) -> None:
        self.stats.cut_by_stop += 1
        abort(request)


# --------------------------------------------------------------------------
# One-line use from a notebook
# --------------------------------------------------------------------------

_REGISTRY: dict[tuple, LabSite] = {}
_REGISTRY_LOCK = threading.Lock()


def serve(pages: int = 50, seed: int = 0, links: int = 8, latency=0.0, port: int = 0,
          faults: dict | None = None, fault_options: dict | None = None, robots: str | None = None) -> LabSite:
    """Start (or reuse) a local site with these parameters and return it.

    Calling ``serve`` again with the same arguments (faults included) returns
    the running site. All sites stop when the Python process (the notebook's
    kernel) exits. ``robots`` is the site's ``/robots.txt`` (see :class:`LabSite`).
    """
    site = LabSite(pages=pages, seed=seed, links=links, latency=latency, port=port,
                   faults=faults, fault_options=fault_options, robots=robots)
    key = site._key()
    with _REGISTRY_LOCK:
        running = _REGISTRY.get(key)
        if running is not None and running.running:
            return running
        _REGISTRY[key] = site.start()
    return site


def running_sites() -> list[LabSite]:
    return [s for s in _REGISTRY.values() if s.running]


def stop_all() -> None:
    """Stop every site started with ``serve``."""
    for site in list(_REGISTRY.values()):
        site.stop()
    _REGISTRY.clear()


atexit.register(stop_all)
