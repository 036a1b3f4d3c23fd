"""The course's local web site ("labsite"): a generated site served on 127.0.0.1.

Every crawler in the course crawls this site instead of the internet, so that
latency, faults and page counts are under the student's control and every
timing claim can be measured on the student's own machine.

    >>> from support.labsite import serve
    >>> site = serve(pages=50, latency=0.2)     # one line in a notebook
    >>> site.url
    'http://127.0.0.1:PORT/'

``serve`` is idempotent: calling it again with the same arguments returns the
site that is already running (re-running a notebook cell does not start a
second server). Each site runs in a background thread with its own event loop,
so blocking clients (raw sockets, ``requests``, threads) and asyncio clients in
the notebook's own loop all work against it. Sites stop when the process exits,
or explicitly with ``site.stop()``; ``LabSite`` is also a context manager::

    with LabSite(pages=20, latency=0.1) as site:
        ...

Design notes
------------
* The site is a pure function of its parameters (``pages``, ``seed``,
  ``links``): the same arguments give the same pages, links and latencies.
* It serves only what it generates: the handler matches the request path
  against a fixed pattern and never opens a file, so ``..`` and encoded
  traversal reach nothing but a 404.
* Page 0 is ``/``; page ``i`` is ``/page/i``.  Links come in absolute,
  root-relative and relative forms, with fragments and duplicates, plus links
  a crawler must skip (other hosts, ``mailto:``, ``javascript:``, ``#...``).
"""

from __future__ import annotations

import asyncio
import atexit
import dataclasses
import random
import re
import resource
import threading
import time
from collections import Counter, deque
from typing import Callable, Iterable

from aiohttp import web

__all__ = ["LabSite", "SiteGraph", "serve", "stop_all", "running_sites", "SKIP_KINDS"]

HOST = "127.0.0.1"

#: Links of these kinds appear on the site and must never be fetched by a crawler.
SKIP_KINDS = ("other-host", "mailto", "javascript", "fragment-only")

_EXTERNAL = (
    "http://otro-sitio.example/noticias",
    "https://www.example.org/",
    "http://example.com/page/1",
)
_WORDS = (
    "corrutina hilo socket bucle evento tarea futuro generador selector callback "
    "latencia conexion servidor cliente pagina enlace concurrencia paralelismo "
    "memoria planificador cooperativa apropiativa respuesta solicitud"
).split()

_PAGE_RE = re.compile(r"^/page/(0|[1-9][0-9]{0,5})$")


def raise_fd_limit(wanted: int = 65536) -> int:
    """Raise this process's soft limit of open files towards ``wanted``.

    Thousands of concurrent connections need thousands of file descriptors
    (two per connection when client and server share a process). Returns the
    soft limit in force afterwards.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


# --------------------------------------------------------------------------
# The generated site: a pure function of (pages, seed, links)
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Link:
    """One ``<a href>`` on a page: the text of the href and what it is."""

    href: str
    kind: str  # "absolute", "root-relative", "relative", "fragment", "duplicate" or a SKIP_KINDS entry
    target: int | None  # page number it leads to, None for links to skip


class SiteGraph:
    """The pages of a site and the links between them, without any server.

    Every page is reachable from page 0 (``/``): page ``i > 0`` is linked from
    a *parent* page chosen among the pages before it, plus ``links`` random
    links per page.
    """

    def __init__(self, pages: int = 50, seed: int = 0, links: int = 8):
        if not 1 <= pages <= 100_000:
            raise ValueError(f"pages must be between 1 and 100000, got {pages!r}")
        if links < 0:
            raise ValueError(f"links must be >= 0, got {links!r}")
        self.pages, self.seed, self.links_per_page = pages, seed, links
        rng = random.Random(f"labsite-graph:{seed}")
        children: list[list[int]] = [[] for _ in range(pages)]
        for i in range(1, pages):
            children[rng.randrange(i)].append(i)
        self._out: list[tuple[int, ...]] = []
        for i in range(pages):
            extra = [rng.randrange(pages) for _ in range(links)] if pages > 1 else []
            targets = list(dict.fromkeys(children[i] + [t for t in extra if t != i]))
            self._out.append(tuple(targets))

    @staticmethod
    def path_of(page: int) -> str:
        return "/" if page == 0 else f"/page/{page}"

    @staticmethod
    def page_of(path: str) -> int | None:
        """The page number served at ``path``, or None (the server answers 404)."""
        if path == "/":
            return 0
        m = _PAGE_RE.match(path)
        return int(m.group(1)) if m else None

    def targets(self, page: int) -> tuple[int, ...]:
        """Distinct pages that ``page`` links to (in order of first appearance)."""
        return self._out[page]

    def depths(self) -> list[int]:
        """Link distance of every page from ``/`` (breadth-first)."""
        depth = [-1] * self.pages
        depth[0] = 0
        queue = deque([0])
        while queue:
            p = queue.popleft()
            for t in self._out[p]:
                if depth[t] < 0:
                    depth[t] = depth[p] + 1
                    queue.append(t)
        return depth

    def page_links(self, page: int, base_url: str) -> list[Link]:
        """All the links on ``page``, in the order they appear in its HTML."""
        rng = random.Random(f"labsite-links:{self.seed}:{page}")
        base = base_url.rstrip("/")
        out: list[Link] = []
        for t in self._out[page]:
            path = self.path_of(t)
            form = rng.choice(("absolute", "root-relative", "relative", "fragment"))
            if form == "absolute":
                href = base + path
            elif form == "root-relative":
                href = path
            elif form == "relative":
                if t == 0:
                    href = "../" if page else "./"
                elif page == 0:
                    href = f"page/{t}"
                else:
                    href = rng.choice((f"{t}", f"./{t}", f"../page/{t}"))
            else:
                href = f"{path}#seccion-{rng.randrange(1, 4)}"
            out.append(Link(href, form, t))
            if rng.random() < 0.25:  # the same page linked twice
                out.append(Link(href if rng.random() < 0.5 else base + path, "duplicate", t))
        # Links a crawler must skip. Page 0 carries every kind; others some.
        kinds = SKIP_KINDS if page == 0 else [k for k in SKIP_KINDS if rng.random() < 0.3]
        for kind in kinds:
            if kind == "other-host":
                href = rng.choice(_EXTERNAL)
            elif kind == "mailto":
                href = "mailto:catedra@example.com"
            elif kind == "javascript":
                href = "javascript:void(0)"
            else:
                href = "#arriba"
            out.insert(rng.randrange(len(out) + 1), Link(href, kind, None))
        return out

    def render(self, page: int, base_url: str) -> str:
        """The HTML of ``page``: a title, some text and its links."""
        rng = random.Random(f"labsite-text:{self.seed}:{page}")
        words = " ".join(rng.choice(_WORDS) for _ in range(60))
        items = "\n".join(
            f'    <li><a href="{link.href}">{_label(link)}</a></li>'
            for link in self.page_links(page, base_url)
        )
        return (
            "<!DOCTYPE html>\n<html lang=\"es\">\n<head><meta charset=\"utf-8\">"
            f"<title>Pagina {page}</title></head>\n<body id=\"arriba\">\n"
            f"  <h1>Pagina {page}</h1>\n  <p>{words}</p>\n  <ul>\n{items}\n  </ul>\n"
            "</body>\n</html>\n"
        )


def _label(link: Link) -> str:
    return f"pagina {link.target}" if link.target is not None else link.kind


# --------------------------------------------------------------------------
# Latency
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------


@dataclasses.dataclass
class Stats:
    """What the server saw. Updated on the server's thread; read from any thread."""

    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    by_status: Counter = dataclasses.field(default_factory=Counter)
    by_path: Counter = dataclasses.field(default_factory=Counter)


class LabSite:
    """A generated site served from a background thread on 127.0.0.1.

    Parameters
    ----------
    pages: number of pages (1..100000). seed: makes links and latencies
    reproducible. links: random links per page (plus the tree links that make
    every page reachable). latency: seconds before each response, or a
    ``(low, high)`` range drawn per page from the seed. port: 0 picks a free
    port. backlog: the listen queue; large so thousands of simultaneous
    connects are not refused.
    """

    def __init__(self, pages: int = 50, seed: int = 0, links: int = 8, latency=0.0,
                 port: int = 0, backlog: int = 8192):
        self.graph = SiteGraph(pages, seed, links)
        self.latency_of = _latency_fn(latency, seed)
        self.params = dict(pages=pages, seed=seed, links=links, latency=latency)
        self._requested_port, self._backlog = port, backlog
        self.stats = Stats()
        self._html: dict[int, bytes] = {}  # rendered pages (a page never changes)
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.BaseRunner | None = None

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
        return self._thread is not None and self._thread.is_alive()

    def url_of(self, page: int) -> str:
        """Canonical absolute URL of page ``page``."""
        self._require_running()
        return f"http://{HOST}:{self.port}{self.graph.path_of(page)}"

    def all_urls(self) -> set[str]:
        """Canonical URLs of every page: what a complete crawl must find."""
        return {self.url_of(i) for i in range(self.pages)}

    def html_of(self, page: int) -> str:
        """The HTML the server sends for ``page`` (without fetching it)."""
        return self.graph.render(page, self.url)

    def reset_stats(self) -> None:
        self.stats = Stats()

    def start(self) -> "LabSite":
        if self.running:
            return self
        raise_fd_limit()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._start_server())
            except BaseException as exc:  # reported to the caller of start()
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._runner.cleanup())
                loop.close()

        self._thread = threading.Thread(target=run, name=f"labsite-{id(self):x}", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"labsite could not start: {failure[0]!r}") from failure[0]
        return self

    def stop(self) -> None:
        """Stop the server and join its thread. Safe to call twice."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if thread.is_alive() and loop is not None:
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._thread = None
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
        return f"<LabSite {where} pages={p['pages']} seed={p['seed']} latency={p['latency']}>"

    # -- internals ----------------------------------------------------------

    def _key(self):
        p = self.params
        lat = p["latency"] if isinstance(p["latency"], (int, float)) else tuple(p["latency"])
        return (p["pages"], p["seed"], p["links"], lat, self._requested_port)

    def _require_running(self) -> None:
        if self.port is None or not self.running:
            raise RuntimeError("the site is not running: call start() or use serve()")

    async def _start_server(self) -> None:
        server = web.Server(self._handle, access_log=None)
        self._runner = web.ServerRunner(server, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, self._requested_port,
                           backlog=self._backlog, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        stats = self.stats
        stats.requests += 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        stats.by_path[request.path] += 1
        try:
            response = await self._respond(request)
        finally:
            stats.in_flight -= 1
        stats.by_status[response.status] += 1
        return response

    async def _respond(self, request: web.BaseRequest) -> web.StreamResponse:
        delay = self.latency_of(request.path)
        if delay:
            await asyncio.sleep(delay)
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, text="405: solo GET\n", headers={"Allow": "GET, HEAD"})
        # Match the raw path: nothing is ever looked up on disk, and an encoded
        # traversal such as /page/%2e%2e/x never matches the page pattern.
        page = self.graph.page_of(request.raw_path)
        if page is None or page >= self.pages:
            return web.Response(status=404, text="404: no existe esa pagina\n")
        body = self._html.get(page)
        if body is None:
            body = self._html[page] = self.graph.render(page, self.url).encode()
        return web.Response(body=body, content_type="text/html", charset="utf-8")


# --------------------------------------------------------------------------
# One-line use from a notebook
# --------------------------------------------------------------------------

_REGISTRY: dict[tuple, LabSite] = {}
_REGISTRY_LOCK = threading.Lock()


def serve(pages: int = 50, seed: int = 0, links: int = 8, latency=0.0, port: int = 0) -> LabSite:
    """Start (or reuse) a local site with these parameters and return it.

    Calling ``serve`` again with the same arguments returns the running site.
    All sites stop when the Python process (the notebook's kernel) exits.
    """
    site = LabSite(pages=pages, seed=seed, links=links, latency=latency, port=port)
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


def main(argv: Iterable[str] | None = None) -> None:
    """``python -m support.labsite``: serve a site until interrupted."""
    import argparse

    parser = argparse.ArgumentParser(description="Serve the course's local web site on 127.0.0.1.")
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--links", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each response")
    parser.add_argument("--latency-max", type=float, default=None,
                        help="if given, latency is drawn per page in [--latency, --latency-max]")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    latency = args.latency if args.latency_max is None else (args.latency, args.latency_max)
    site = LabSite(args.pages, args.seed, args.links, latency, args.port).start()
    print(site.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()


if __name__ == "__main__":
    main()
