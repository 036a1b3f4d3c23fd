"""The course's local web site ("labsite"): a generated site served on 127.0.0.1.

Every crawler in the course crawls this site instead of the internet, so that
latency, faults and page counts are under the student's control and every
timing claim can be measured on the student's own machine.

    >>> from support.labsite import serve
    >>> site = serve(pages=50, latency=0.2)     # one line in a notebook
    >>> site.url
    'http://127.0.0.1:PORT/'

``serve`` is idempotent: calling it again with the same arguments returns the
site that is already running. Sites stop when the process exits, or with
``site.stop()``; ``LabSite`` is also a context manager::

    with LabSite(pages=20, latency=0.1) as site:
        ...

What the site promises
----------------------
1. **Same parameters, same site.** Pages, links, latencies and faulted pages
   are a pure function of (pages, seed, links, faults): byte for byte, on
   every machine (``tests/test_labsite_pinned.py`` holds it to that).
2. **Only what it generates.** Every URL is matched against fixed patterns of
   digits; nothing is looked up on disk, so no traversal reaches a file.
3. **Loopback only, and quiet.** It listens on 127.0.0.1 alone and writes
   nothing on stderr (a malformed request is a silent 400).
4. **Never in the client's way.** It runs in a thread with its own event
   loop, so blocking clients (sockets, ``requests``, threads) and asyncio
   clients on the notebook's loop all work; it holds thousands of slow
   connections at once (the C10K lesson).
5. **Stopping stops.** ``stop()`` cuts slow responses (drip, huge) at once and
   joins the thread; the port is free afterwards.
6. **It counts what it saw** (``site.stats``), so tests and notebooks assert
   on counters (requests at once, requests per path, fault answers) rather
   than on the wall clock.
7. **No robots.txt unless asked.** ``/robots.txt`` is a 404 (no rules), as
   any path it does not generate; ``LabSite(..., robots="User-agent: *\n...")``
   (and ``serve(robots=...)``) serves that text there, for notebook 07's
   polite crawler. It is not part of the generated pages: the pinned site is
   the same with or without it.

Layout (a module imports only from the rows above it)
------------------------------------------------------
``graph``       the pages and links as data (``SiteGraph``): pure, no server
``toolkit``     what a fault is (``Fault``), is given (``SiteView``, ``Visit``) and answers with
``faults``      one class per mode (``status``, ``content``, ``stream``) and the registry ``FAULTS``
``background``  serve an aiohttp app or handler on 127.0.0.1 from a thread (every in-process server)
``server``      ``LabSite``, ``serve``, ``stop_all``: requests -> the page, or the page's fault object
``external``    ``ExternalSite`` (the site in a child process) and ``python -m support.labsite``

Fault modes
-----------
``LabSite(..., faults={"drip": 0.1, "error500": 0.05, ...})`` (and ``serve``)
turns a seeded, deterministic share of pages 1..N-1 into hostile ones (at
least one page when the fraction is > 0; ``/`` is never faulted; a page has
at most one mode). ``site.fault_of(page)``, ``site.faulty_pages(mode)`` say
which; knobs go in ``fault_options`` (defaults in ``FAULT_DEFAULTS``); each
mode's class docstring says exactly what it sends:

``drip`` one byte every 0.5 s for 120 s; ``reset`` half the body, then RST or
FIN; ``error500``; ``error503`` twice, then the page; ``redirect_loop``;
``redirect_chain`` of 8; ``huge`` 5 MB, with and without ``Content-Length``;
``binary`` (PNG, PDF, JSON...); ``malformed`` and ``truncated`` HTML;
``odd_links`` (odd encodings of hrefs); ``trap`` (an endless link space).

Adding a mode is one class and one registry line. A mode that answers
``418 I'm a teapot`` on its pages, in ``faults/status.py``::

    class Teapot(Fault):
        \"\"\"Always ``418 I'm a teapot``.\"\"\"
        mode = "teapot"

        async def respond(self, visit):
            return html("<h1>418: soy una tetera</h1>\\n", status=418)

and ``Teapot,`` at the end of ``FAULTS`` in ``faults/__init__.py``. A class
may also override ``render`` (its HTML), ``links`` (what a parser reads from
it), ``invents`` + ``respond_invented`` (URLs of its own, like ``/bucle/N``),
declare ``defaults`` and ``check`` for its knobs, and ``reset`` its state.
The server is not touched: it counts every answer in ``stats.by_fault[mode]``
except ``PAGE`` ("send the page as a healthy one").
"""

from support.labsite.external import ExternalSite, main
from support.labsite.faults import FAULT_DEFAULTS, FAULT_MODES, FAULTS, assign_faults
from support.labsite.graph import SKIP_KINDS, Link, SiteGraph
from support.labsite.server import LabSite, Stats, running_sites, serve, stop_all
from support.osutil import raise_fd_limit  # kept importable from here (it moved to support.osutil)

__all__ = ["ExternalSite", "LabSite", "SiteGraph", "serve", "stop_all", "running_sites", "SKIP_KINDS",
           "FAULT_MODES", "FAULT_DEFAULTS", "FAULTS", "assign_faults", "Link", "Stats", "main",
           "raise_fd_limit"]
