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

Fault modes
-----------
``LabSite(..., faults={"drip": 0.1, "error500": 0.05, ...})`` (and ``serve``)
turns a seeded, deterministic share of the pages into hostile ones, for the
robustness lessons and tests. Each value is the fraction of pages 1..N-1 that
get that mode (at least one page when the fraction is > 0; page 0, ``/``, is
never faulted, so a crawl can always start); a page has at most one mode.
Which page got which mode: ``site.fault_of(page)``, ``site.faulty_pages(mode)``.
Tuning knobs go in ``fault_options`` (defaults in ``FAULT_DEFAULTS``).

``drip``
    Slow drip: 200, a ``Content-Length`` for the whole page, then one byte
    every ``drip_interval`` s (0.5) for ``drip_seconds`` (120) before the rest.
    Bytes keep arriving, so only a *total* timeout stops it, never a read timeout.
``reset``
    The connection dies mid-body: 200 with the full ``Content-Length``, half
    the body, then a TCP reset (RST, odd pages) or an early clean close (FIN,
    even pages).
``error500``
    Always ``500 Internal Server Error``.
``error503``
    ``503 Service Unavailable`` (``Retry-After: 1``) for the first
    ``error503_times`` requests of the page (2), then the page: a transient
    fault that retries cure. ``error503_times=None`` makes it permanent.
    ``reset_stats()`` restarts these counters.
``redirect_loop``
    ``/page/i`` redirects (302) to ``/bucle/i``, which redirects (301) back.
``redirect_chain``
    ``/page/i`` -> ``/cadena/i/1`` -> ... -> ``/cadena/i/L`` (``chain_length``
    L = 8 redirects, more than a crawler's usual limit of 5); the last URL
    serves the page. Locations alternate between root-relative and absolute.
``huge``
    A 200 ``text/html`` page of ``huge_bytes`` (5 MB, bigger than a crawler's
    ``max_bytes`` of 1 MB): its links first, then padding. Even pages declare
    ``Content-Length``; odd pages are chunked, so the size is only known while
    reading. Streamed: the server never holds the body in memory.
``binary``
    Not HTML: ``image/png``, ``application/pdf``, ``application/octet-stream``,
    ``application/json`` or ``text/plain`` (chosen per page). The JSON and text
    bodies contain ``<a href>`` markup a crawler must not follow.
``malformed``
    Broken but parseable HTML: upper-case tags, unquoted and single-quoted
    attributes, unclosed and misnested tags, stray end tags, an unclosed
    comment at the end. Every link of the page is still there.
``truncated``
    The HTML stops in the middle of a tag (``Content-Length`` matches what is
    sent: the HTTP exchange is complete, the document is not). Only the links
    before the cut are there.
``odd_links``
    The page's links plus hrefs with odd encodings: padding whitespace, a tab
    inside the path, HTML character references, upper-case scheme, scheme-
    relative ``//host``, dot segments, percent-encoded digits and non-ASCII
    paths, raw non-ASCII, backslashes, user info, a query string, an ``https:``
    URL to this plain-HTTP port, an overlong URL, an out-of-range port and an
    unparseable ``http://[::1`` (``urlsplit`` raises ``ValueError`` on the last
    two). ``site.links_of(page)`` lists them with what each one leads to.
``trap``
    The page links into an endless generated space (a crawler trap):
    ``/trampa/i/1``, whose pages each link ``trap_fanout`` (2) pages deeper
    (``/trampa/i/1/1``, ``/trampa/i/1/2``, ...) forever. Only ``max_pages``,
    ``max_depth`` or a deadline stop a crawler there.

Every fault URL is matched against fixed patterns of digits, like the pages:
still no file system access. The server logs nothing (a malformed request is
answered 400 without a word on stderr).
"""

from __future__ import annotations

import asyncio
import atexit
import dataclasses
import html
import logging
import os
import random
import re
import selectors
import socket
import struct
import subprocess
import sys
import threading
import time
from collections import Counter, deque
from typing import Callable, Iterable

from aiohttp import web

from support.osutil import raise_fd_limit

__all__ = ["ExternalSite", "LabSite", "SiteGraph", "serve", "stop_all", "running_sites", "SKIP_KINDS",
           "FAULT_MODES", "FAULT_DEFAULTS", "raise_fd_limit"]

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
_LOOP_RE = re.compile(r"^/bucle/([1-9][0-9]{0,5})$")
_CHAIN_RE = re.compile(r"^/cadena/([1-9][0-9]{0,5})/([1-9][0-9]{0,2})$")
_TRAP_RE = re.compile(r"^/trampa/([1-9][0-9]{0,5})((?:/[1-9][0-9]{0,2})+)$")

#: Every fault mode, in the order pages are handed out to them (see the module docstring).
FAULT_MODES = ("drip", "reset", "error500", "error503", "redirect_loop", "redirect_chain",
               "huge", "binary", "malformed", "truncated", "odd_links", "trap")

#: Knobs of the fault modes; override any of them with ``fault_options``.
FAULT_DEFAULTS = {
    "drip_seconds": 120.0,    # how long a drip page takes to arrive
    "drip_interval": 0.5,     # seconds between two bytes of a drip page
    "error503_times": 2,      # requests answered 503 before the page (None: always)
    "huge_bytes": 5_000_000,  # size of a huge page
    "chain_length": 8,        # redirects in a chain
    "trap_fanout": 2,         # links one level deeper on every trap page
}

# The server's own logger: silent, so a malformed request never prints to stderr.
_QUIET = logging.getLogger("support.labsite.server")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


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
        return self.render_items(page, [
            f'    <li><a href="{link.href}">{_label(link)}</a></li>'
            for link in self.page_links(page, base_url)
        ])

    def words(self, page: int) -> str:
        """The page's text (60 seeded words)."""
        rng = random.Random(f"labsite-text:{self.seed}:{page}")
        return " ".join(rng.choice(_WORDS) for _ in range(60))

    def render_items(self, page: int, item_lines: list[str]) -> str:
        """The page's HTML around the given ``<li>`` lines (what ``render`` uses)."""
        words = self.words(page)
        items = "\n".join(item_lines)
        return (
            "<!DOCTYPE html>\n<html lang=\"es\">\n<head><meta charset=\"utf-8\">"
            f"<title>Pagina {page}</title></head>\n<body id=\"arriba\">\n"
            f"  <h1>Pagina {page}</h1>\n  <p>{words}</p>\n  <ul>\n{items}\n  </ul>\n"
            "</body>\n</html>\n"
        )


def _label(link: Link) -> str:
    return f"pagina {link.target}" if link.target is not None else link.kind


# --------------------------------------------------------------------------
# Fault modes: which pages, and what hostile things they send
# --------------------------------------------------------------------------


def _fault_options(options) -> dict:
    merged = dict(FAULT_DEFAULTS)
    for key, value in dict(options or {}).items():
        if key not in FAULT_DEFAULTS:
            raise ValueError(f"unknown fault option {key!r}; known: {', '.join(FAULT_DEFAULTS)}")
        merged[key] = value
    for key in ("drip_seconds", "drip_interval"):
        if not isinstance(merged[key], (int, float)) or merged[key] < 0:
            raise ValueError(f"{key} must be seconds >= 0, got {merged[key]!r}")
    if merged["drip_interval"] <= 0:
        raise ValueError("drip_interval must be > 0")
    times = merged["error503_times"]
    if times is not None and (not isinstance(times, int) or times < 0):
        raise ValueError(f"error503_times must be an int >= 0 or None, got {times!r}")
    for key, low, high in (("huge_bytes", 1, 10**9), ("chain_length", 1, 999), ("trap_fanout", 1, 9)):
        if not isinstance(merged[key], int) or not low <= merged[key] <= high:
            raise ValueError(f"{key} must be an int in {low}..{high}, got {merged[key]!r}")
    return merged


def assign_faults(pages: int, seed: int, faults) -> dict[int, str]:
    """Page -> fault mode for a site of ``pages`` pages: seeded, deterministic.

    ``faults`` maps modes of ``FAULT_MODES`` to the fraction of pages 1..N-1
    that get them (rounded, at least one page when the fraction is > 0).
    Page 0 is never faulted; a page gets at most one mode.
    """
    if not faults:
        return {}
    if not isinstance(faults, dict):
        raise ValueError(f"faults must be a dict mode -> fraction, got {faults!r}")
    unknown = set(faults) - set(FAULT_MODES)
    if unknown:
        raise ValueError(f"unknown fault modes {sorted(unknown)}; known: {', '.join(FAULT_MODES)}")
    candidates = pages - 1
    counts = {}
    for mode in FAULT_MODES:
        fraction = faults.get(mode, 0)
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
            raise ValueError(f"fault fraction of {mode!r} must be in [0, 1], got {fraction!r}")
        count = round(fraction * candidates)
        counts[mode] = max(count, 1) if fraction > 0 and candidates > 0 else count
    if sum(counts.values()) > candidates:
        raise ValueError(f"the faults ask for {sum(counts.values())} pages but the site has only "
                         f"{candidates} besides /")
    order = list(range(1, pages))
    random.Random(f"labsite-faults:{seed}").shuffle(order)
    chosen, it = {}, iter(order)
    for mode in FAULT_MODES:
        for _ in range(counts[mode]):
            chosen[next(it)] = mode
    return dict(sorted(chosen.items()))


def _odd_links(page: int, targets: tuple[int, ...], hostport: str) -> list[tuple[str, Link]]:
    """(href as written in the HTML, Link as a parser reads it) for an ``odd_links`` page."""
    rng = random.Random(f"labsite-odd:{page}")
    t = rng.choice([x for x in targets if x] or [page])
    d = str(t)
    entity = "".join(f"&#{ord(c)};" for c in d)
    out = [
        (f"  /page/{d}\n", "odd-whitespace", t),
        (f"/pa\tge/{d}", "odd-tab", t),
        (f"/page/{entity}", "odd-entity", t),
        (f"HTTP://{hostport}/page/{d}", "odd-case", t),
        (f"//{hostport}/page/{d}", "odd-scheme-relative", t),
        (f"/page/{d}/../{d}", "odd-dot-segments", t),
        (f"http://usuario@{hostport}/page/{d}", "odd-userinfo", t),
        ("/page/" + "".join(f"%3{c}" for c in d), "odd-percent-digits", None),
        (f"/p%C3%A1gina/{d}", "odd-percent-utf8", None),
        (f"/página/{d}", "odd-non-ascii", None),
        (f"\\page\\{d}", "odd-backslash", None),
        (f"/page/{d}?vista=completa&amp;orden=1", "odd-query", None),
        (f"https://{hostport}/page/{d}", "odd-https", None),
        (f"/page/{d}?relleno=" + "x" * 9000, "odd-overlong", None),
        ("http://127.0.0.1:99999/page/1", "odd-bad-port", None),
        ("http://[::1", "odd-invalid", None),
        ("JAVASCRIPT:void(0)", "odd-scheme-case", None),
        ("data:text/html,&lt;a href=/page/1&gt;", "odd-data", None),
    ]
    return [(raw, Link(html.unescape(raw), kind, target)) for raw, kind, target in out]


def _unquotable(href: str) -> bool:
    return bool(href) and not re.search(r"[\s\"'=<>`]", href) and not href.endswith("/")


_BINARY_TYPES = ("image/png", "application/pdf", "application/octet-stream", "application/json", "text/plain")


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
    abandoned: int = 0  # responses whose client had hung up (e.g. a cancelled task) before they were sent
    by_status: Counter = dataclasses.field(default_factory=Counter)
    by_path: Counter = dataclasses.field(default_factory=Counter)
    get_by_path: Counter = dataclasses.field(default_factory=Counter)  # GETs only (by_path counts HEADs too)
    by_fault: Counter = dataclasses.field(default_factory=Counter)  # fault responses served, per mode


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
    module docstring and ``FAULT_MODES``). fault_options: overrides of
    ``FAULT_DEFAULTS``.
    """

    def __init__(self, pages: int = 50, seed: int = 0, links: int = 8, latency=0.0,
                 port: int = 0, backlog: int = 8192, faults: dict | None = None,
                 fault_options: dict | None = None):
        self.graph = SiteGraph(pages, seed, links)
        self.latency_of = _latency_fn(latency, seed)
        self.fault_options = _fault_options(fault_options)
        self._faults = assign_faults(pages, seed, faults)
        self.params = dict(pages=pages, seed=seed, links=links, latency=latency)
        if faults:
            self.params["faults"] = {m: faults[m] for m in FAULT_MODES if m in faults}
        if fault_options:
            self.params["fault_options"] = dict(fault_options)
        self._requested_port, self._backlog = port, backlog
        self.stats = Stats()
        self._html: dict[int, bytes] = {}  # rendered pages (a page never changes)
        self._hits503: Counter = Counter()  # 503s already sent, per page
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.BaseRunner | None = None
        self._closing: asyncio.Event | None = None

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

    @property
    def addresses(self) -> list[tuple]:
        """The (host, port) of every listening socket (only 127.0.0.1)."""
        self._require_running()
        return list(self._runner.addresses)

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
        mode = self._faults.get(page)
        if mode == "truncated":
            return links[:self._truncation(page)[1]]
        if mode == "odd_links":
            return links + [link for _raw, link in _odd_links(page, self.graph.targets(page), self._hostport)]
        if mode == "trap":
            return links + [Link(f"/trampa/{page}/1", "trap", None)]
        return links

    # -- faults -------------------------------------------------------------

    def fault_of(self, page: int) -> str | None:
        """The fault mode of ``page``, or None for a healthy page."""
        return self._faults.get(page)

    def faulty_pages(self, mode: str | None = None) -> list[int]:
        """Pages with fault ``mode`` (every faulted page when ``mode`` is None)."""
        if mode is not None and mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r}; known: {', '.join(FAULT_MODES)}")
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
        self._hits503 = Counter()

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
        """Stop the server and join its thread. Safe to call twice.

        Slow responses in progress (drip, huge) are cut at once."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if thread.is_alive() and loop is not None:
            try:
                loop.call_soon_threadsafe(self._closing.set)
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:  # the loop closed meanwhile
                pass
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
        extra = f" faults={len(self._faults)} pages" if self._faults else ""
        return f"<LabSite {where} pages={p['pages']} seed={p['seed']} latency={p['latency']}{extra}>"

    # -- internals ----------------------------------------------------------

    def _key(self):
        p = self.params
        lat = p["latency"] if isinstance(p["latency"], (int, float)) else tuple(p["latency"])
        faults = tuple(sorted(p.get("faults", {}).items()))
        options = tuple(sorted(p.get("fault_options", {}).items()))
        return (p["pages"], p["seed"], p["links"], lat, self._requested_port, faults, options)

    def _require_running(self) -> None:
        if self.port is None or not self.running:
            raise RuntimeError("the site is not running: call start() or use serve()")

    @property
    def _hostport(self) -> str:
        return f"{HOST}:{self.port}"

    async def _start_server(self) -> None:
        self._closing = asyncio.Event()
        server = web.Server(self._handle, access_log=None, logger=_QUIET)
        self._runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=5.0)
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
            await asyncio.sleep(delay)
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, text="405: solo GET\n", headers={"Allow": "GET, HEAD"})
        # Match the raw path: nothing is ever looked up on disk, and an encoded
        # traversal such as /page/%2e%2e/x never matches the page pattern.
        path = request.raw_path
        page = self.graph.page_of(path)
        if page is not None and page < self.pages:
            mode = self._faults.get(page)
            if mode is None:
                return self._html_response(page)
            return await self._faulty(request, page, mode)
        if self._faults:
            response = self._fault_path(path)
            if response is not None:
                return response
        return web.Response(status=404, text="404: no existe esa pagina\n")

    def _html_response(self, page: int) -> web.Response:
        return web.Response(body=self._page_bytes(page), content_type="text/html", charset="utf-8")

    def _page_bytes(self, page: int) -> bytes:
        body = self._html.get(page)
        if body is None:
            body = self._html[page] = self._render(page).encode()
        return body

    def _render(self, page: int) -> str:
        mode = self._faults.get(page)
        if mode == "malformed":
            return self._render_malformed(page)
        if mode == "truncated":
            return self._truncation(page)[0]
        if mode in ("odd_links", "trap"):
            full = self.graph.render(page, self.url)
            if mode == "odd_links":
                extra = [f'    <li><a href="{raw}">{link.kind}</a></li>'
                         for raw, link in _odd_links(page, self.graph.targets(page), self._hostport)]
            else:
                extra = [f'    <li><a href="/trampa/{page}/1">mas paginas</a></li>']
            return full.replace("\n  </ul>\n", "\n" + "\n".join(extra) + "\n  </ul>\n", 1)
        return self.graph.render(page, self.url)

    def _truncation(self, page: int) -> tuple[str, int]:
        """(HTML cut inside a tag past its middle, number of links before the cut)."""
        full = self.graph.render(page, self.url)
        cut = full.find("<a href=", len(full) // 2)
        cut = len(full) // 2 if cut < 0 else cut + len("<a hr")
        return full[:cut], full[:cut].count("<a href=")

    def _render_malformed(self, page: int) -> str:
        lines = []
        for i, link in enumerate(self.graph.page_links(page, self.url)):
            href, label = link.href, _label(link)
            style = i % 4
            if style == 0 and _unquotable(href):
                lines.append(f"<LI><A HREF={href}>{label}</A>")
            elif style == 1 and "'" not in href:
                lines.append(f"<li><a href='{href}' class=enlace>{label}")
            elif style == 2:
                lines.append(f'<li><a   id=e{i}   href = "{href}"  >{label}</A ></li></li>')
            else:
                lines.append(f'<li><a href="{href}"><b><i>{label}</b></i></a></span></li>')
        return (
            f"<HTML><HEAD><TITLE>Pagina {page}</title>\n<BODY id=arriba><h1>Pagina {page}<h2>sin cerrar\n"
            f"<p>{self.graph.words(page)} <b><i>mal anidado</b></i>\n"
            "<table><tr><td>celda sin cerrar<td>otra\n</div></noexiste>\n<ul>\n"
            + "\n".join(lines)
            + "\n</table></p></p>\n<p>fin &amp texto & suelto < menor\n<!-- comentario sin cerrar\n"
        )

    def _fault_path(self, path: str) -> web.StreamResponse | None:
        """Responses for the URLs faults invent (/bucle, /cadena, /trampa), else None."""
        if m := _LOOP_RE.match(path):
            page = int(m.group(1))
            if self._faults.get(page) == "redirect_loop":
                self.stats.by_fault["redirect_loop"] += 1
                return web.Response(status=301, text="301\n", headers={"Location": f"/page/{page}"})
        elif m := _CHAIN_RE.match(path):
            page, k = int(m.group(1)), int(m.group(2))
            length = self.fault_options["chain_length"]
            if self._faults.get(page) == "redirect_chain" and k <= length:
                if k == length:
                    return self._html_response(page)
                return self._redirect_in_chain(page, k + 1)
        elif m := _TRAP_RE.match(path):
            page, levels = int(m.group(1)), [int(x) for x in m.group(2)[1:].split("/")]
            fanout = self.fault_options["trap_fanout"]
            if self._faults.get(page) == "trap" and all(1 <= x <= fanout for x in levels):
                self.stats.by_fault["trap"] += 1
                items = [f'    <li><a href="{path}/{k}">mas adentro {k}</a></li>' for k in range(1, fanout + 1)]
                items.append('    <li><a href="/">inicio</a></li>')
                body = self.graph.render_items(page, items).replace(
                    f"Pagina {page}<", f"Trampa {'/'.join(map(str, levels))}<")
                return web.Response(text=body, content_type="text/html", charset="utf-8")
        return None

    def _redirect_in_chain(self, page: int, k: int) -> web.Response:
        self.stats.by_fault["redirect_chain"] += 1
        path = f"/cadena/{page}/{k}"
        location = path if k % 2 else f"http://{self._hostport}{path}"
        return web.Response(status=302, text="302\n", headers={"Location": location})

    async def _pause(self, seconds: float) -> bool:
        """Sleep ``seconds``; True (at once) if the site is stopping."""
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
            return True
        except asyncio.TimeoutError:
            return False

    async def _faulty(self, request: web.BaseRequest, page: int, mode: str) -> web.StreamResponse:
        opts, stats = self.fault_options, self.stats
        if mode == "error503":
            times = opts["error503_times"]
            if times is not None and self._hits503[page] >= times:
                return self._html_response(page)
            self._hits503[page] += 1
            stats.by_fault[mode] += 1
            return web.Response(status=503, text="<h1>503: vuelve a intentarlo</h1>\n",
                                content_type="text/html", headers={"Retry-After": "1"})
        stats.by_fault[mode] += 1
        if mode == "error500":
            return web.Response(status=500, text="<h1>500: error interno</h1>\n", content_type="text/html")
        if mode == "redirect_loop":
            return web.Response(status=302, text="302\n", headers={"Location": f"/bucle/{page}"})
        if mode == "redirect_chain":
            stats.by_fault[mode] -= 1  # counted by _redirect_in_chain
            return self._redirect_in_chain(page, 1)
        if mode == "binary":
            return self._binary(page)
        if mode in ("malformed", "truncated", "odd_links", "trap"):
            return self._html_response(page)
        if request.method == "HEAD":  # streaming modes: headers only
            return web.Response(status=200, content_type="text/html", charset="utf-8")
        response = web.StreamResponse(status=200)
        response.content_type, response.charset = "text/html", "utf-8"
        try:
            if mode == "drip":
                await self._drip(request, response, self._page_bytes(page))
            elif mode == "reset":
                body = self._page_bytes(page)
                response.content_length = len(body)
                await response.prepare(request)
                await response.write(body[: len(body) // 2])
                transport = request.transport
                if transport is not None:
                    if page % 2:  # RST: linger 0, then close
                        sock = transport.get_extra_info("socket")
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        transport.abort()
                    else:  # FIN before the promised length
                        transport.close()
            elif mode == "huge":
                await self._huge(request, response, page)
        except ConnectionError:  # the client went away: nothing more to send
            pass
        return response

    async def _drip(self, request, response, body: bytes) -> None:
        opts = self.fault_options
        response.content_length = len(body)
        await response.prepare(request)
        loop = asyncio.get_running_loop()
        end = loop.time() + opts["drip_seconds"]
        sent = 0
        while (remaining := end - loop.time()) > 0:
            if await self._pause(min(opts["drip_interval"], remaining)):
                _abort(request)
                return
            if sent < len(body) - 1:
                await response.write(body[sent:sent + 1])
                sent += 1
        await response.write(body[sent:])

    async def _huge(self, request, response, page: int) -> None:
        size = self.fault_options["huge_bytes"]
        full = self.graph.render(page, self.url).encode()
        tail = b"</pre>\n</body>\n</html>\n"
        head = full[: full.rindex(b"</body>")] + b"<pre>\n"
        filler = max(0, size - len(head) - len(tail))
        if page % 2 == 0:
            response.content_length = len(head) + filler + len(tail)
        else:
            response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(head)
        block = (b"relleno " * 8191 + b"\n")[:65536]
        while filler > 0:
            if self._closing.is_set():
                _abort(request)
                return
            piece = block[:filler]
            await response.write(piece)
            filler -= len(piece)
        await response.write(tail)

    def _binary(self, page: int) -> web.Response:
        rng = random.Random(f"labsite-binary:{self.graph.seed}:{page}")
        kind = rng.choice(_BINARY_TYPES)
        decoy = f"/page/{self.pages + page}"  # a page that does not exist: following it is a bug
        if kind == "image/png":
            body = b"\x89PNG\r\n\x1a\n" + rng.randbytes(2048)
        elif kind == "application/pdf":
            body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + rng.randbytes(2048) + b"\n%%EOF\n"
        elif kind == "application/octet-stream":
            body = rng.randbytes(4096)
        elif kind == "application/json":
            body = ('{"pagina": %d, "html": "<a href=\\"%s\\">no es un enlace</a>"}\n' % (page, decoy)).encode()
        else:
            body = f'Pagina {page} en texto plano.\n<a href="{decoy}">no es un enlace</a>\n'.encode()
        charset = "utf-8" if kind in ("application/json", "text/plain") else None
        return web.Response(body=body, content_type=kind, charset=charset)


def _abort(request: web.BaseRequest) -> None:
    """Close the request's connection at once (the site is stopping)."""
    if request.transport is not None:
        request.transport.abort()


# --------------------------------------------------------------------------
# One-line use from a notebook
# --------------------------------------------------------------------------

_REGISTRY: dict[tuple, LabSite] = {}
_REGISTRY_LOCK = threading.Lock()


def serve(pages: int = 50, seed: int = 0, links: int = 8, latency=0.0, port: int = 0,
          faults: dict | None = None, fault_options: dict | None = None) -> LabSite:
    """Start (or reuse) a local site with these parameters and return it.

    Calling ``serve`` again with the same arguments (faults included) returns
    the running site. All sites stop when the Python process (the notebook's
    kernel) exits.
    """
    site = LabSite(pages=pages, seed=seed, links=links, latency=latency, port=port,
                   faults=faults, fault_options=fault_options)
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


class ExternalSite:
    """The local site served by a child process (``python -m support.labsite``).

    For measurements where the server must not share the measuring process:
    its own CPU (the benchmark) or file descriptors and memory (notebook 08).
    A context manager; :meth:`stop` terminates the process (SIGTERM, then
    SIGKILL after 5 s). ``cpus``: run the site only on these processors
    (Linux), so that it never competes with a measured process pinned to the
    others.
    """

    def __init__(self, pages: int = 10, latency: float = 30.0, start_timeout: float = 30.0,
                 cpus: Iterable[int] | None = None):
        self.pages, self.latency = pages, latency
        self.cpus = sorted(cpus) if cpus is not None else None
        cmd = [sys.executable, "-m", "support.labsite", "--pages", str(pages), "--latency", str(latency)]
        if self.cpus is not None:
            cmd += ["--cpus", ",".join(map(str, self.cpus))]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        stdin=subprocess.DEVNULL, text=True)
        with selectors.DefaultSelector() as sel:  # read the URL it prints, with a time limit
            sel.register(self.process.stdout, selectors.EVENT_READ)
            ready = sel.select(start_timeout)
        line = self.process.stdout.readline().strip() if ready else ""
        if not line.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"the site process did not start (it printed {line!r})")
        self.url = line
        self.host = "127.0.0.1"
        self.port = int(line.rsplit(":", 1)[1].strip("/"))

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def cpu_seconds(self) -> float:
        """CPU seconds the site's process has used so far (user + system)."""
        import psutil  # only here: the site itself never needs it

        try:
            times = psutil.Process(self.process.pid).cpu_times()
        except psutil.Error:
            return float("nan")
        return times.user + times.system

    def stop(self) -> None:
        """Terminate the child process (SIGTERM, then SIGKILL after 5 s). Safe twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process.stdout and not self.process.stdout.closed:
            self.process.stdout.close()

    def __enter__(self) -> "ExternalSite":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.process.pid}" if self.running else "stopped"
        return f"<ExternalSite {self.url} pages={self.pages} latency={self.latency} ({state})>"


def _cpu_list(text: str) -> set[int]:
    """``"0,1"`` -> ``{0, 1}``, for ``--cpus``."""
    import argparse

    try:
        cpus = {int(x) for x in text.split(",") if x.strip()}
    except ValueError:
        raise argparse.ArgumentTypeError(f"processor numbers separated by commas, not {text!r}") from None
    if not cpus:
        raise argparse.ArgumentTypeError("at least one processor number")
    if not hasattr(os, "sched_setaffinity"):
        raise argparse.ArgumentTypeError("pinning to processors needs Linux (os.sched_setaffinity)")
    return cpus


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
    parser.add_argument("--cpus", type=_cpu_list, default=None, metavar="0,1",
                        help="run only on these processors (Linux), e.g. to keep a benchmark's "
                             "client and server on different cores")
    parser.add_argument("--fault", action="append", default=[], metavar="MODE=FRACTION",
                        help=f"fault mode and share of pages, repeatable; modes: {', '.join(FAULT_MODES)}")
    parser.add_argument("--fault-option", action="append", default=[], metavar="KEY=VALUE",
                        help=f"override a fault knob: {', '.join(FAULT_DEFAULTS)}")
    args = parser.parse_args(argv)
    if args.cpus is not None:  # before the server's thread starts: threads inherit it
        os.sched_setaffinity(0, args.cpus)
    latency = args.latency if args.latency_max is None else (args.latency, args.latency_max)
    faults = {}
    for item in args.fault:
        mode, _, fraction = item.partition("=")
        faults[mode] = float(fraction)
    options = {}
    for item in args.fault_option:
        key, _, value = item.partition("=")
        options[key] = None if value == "None" else (float(value) if "." in value else int(value))
    site = LabSite(args.pages, args.seed, args.links, latency, args.port,
                   faults=faults or None, fault_options=options or None).start()
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
