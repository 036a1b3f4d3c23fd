"""The site is a pure function of (pages, seed, links, faults): pinned byte for byte.

``snapshot()`` digests what the site generates and serves for fixed parameters:
graph targets and depths, healthy HTML and links, the seeded fault assignment,
range latencies, and every fault mode's HTML, parsed links and HTTP answers.

The literals in ``PINNED`` were printed by this same ``snapshot()`` run against
the single-module ``support/labsite.py`` of commit a11f7e2, BEFORE it was split
into the ``support/labsite/`` package. They are not recomputed from the code
under test: a refactor that changes one byte of a page, one seeded choice or
one fault answer fails here. A deliberate change of the generated site must
say so and update them.
"""

from __future__ import annotations

import hashlib

import requests

from support.labsite import FAULT_MODES, LabSite, SiteGraph, assign_faults

BASE = "http://127.0.0.1:8000/"
EVERY_MODE = {mode: 0.05 for mode in FAULT_MODES}
OPTIONS = {"drip_seconds": 0, "huge_bytes": 70_000, "chain_length": 3}
HEADERS = ("content-type", "content-length", "transfer-encoding", "location", "retry-after")


def digest(value) -> str:
    data = value if isinstance(value, bytes) else repr(value).encode()
    return hashlib.sha256(data).hexdigest()[:16]


def answers(site: LabSite, path: str, times: int = 1) -> list:
    """(status, chosen headers, body) of ``times`` GETs, redirects not followed, port hidden."""
    out = []
    for _ in range(times):
        r = requests.get(f"http://127.0.0.1:{site.port}{path}", allow_redirects=False, timeout=10)
        headers = {k: r.headers[k] for k in HEADERS if k in r.headers}
        out.append((r.status_code, hidden(site, repr(headers)), digest(hidden(site, r.content))))
    return out


def hidden(site: LabSite, value):
    """``value`` with this run's port replaced, so that digests do not depend on it."""
    if isinstance(value, bytes):
        return value.replace(f"127.0.0.1:{site.port}".encode(), b"127.0.0.1:PORT")
    return value.replace(f"127.0.0.1:{site.port}", "127.0.0.1:PORT")


def invented_paths(mode: str, page: int) -> list[tuple[str, int]]:
    """URLs a fault invents besides /page/N, each with how many GETs to send."""
    return {
        "error503": [(f"/page/{page}", 3)],
        "redirect_loop": [(f"/bucle/{page}", 1)],
        "redirect_chain": [(f"/cadena/{page}/{k}", 1) for k in (1, 2, 3, 4)],
        "trap": [(f"/trampa/{page}/1", 1), (f"/trampa/{page}/1/2", 1), (f"/trampa/{page}/3", 1)],
    }.get(mode, [])


def snapshot() -> dict[str, str]:
    out = {}
    graph = SiteGraph(pages=300, seed=11, links=5)
    out["graph targets"] = digest([graph.targets(i) for i in range(300)])
    out["graph depths"] = digest(graph.depths())
    for page in (0, 1, 150, 299):
        out[f"graph html {page}"] = digest(graph.render(page, BASE).encode())
        out[f"graph links {page}"] = digest(graph.page_links(page, BASE))
    out["faults 500/9"] = digest(assign_faults(500, 9, {m: 0.04 for m in FAULT_MODES}))
    ranged = LabSite(pages=20, seed=1, latency=(0.05, 0.25))
    out["latency range"] = digest([ranged.latency_of(ranged.graph.path_of(i)) for i in range(20)])
    with LabSite(pages=120, seed=4, links=6, faults=EVERY_MODE, fault_options=OPTIONS) as site:
        out["faults 120/4"] = digest(site.faults)
        healthy = [p for p in range(120) if site.fault_of(p) is None][:3]
        out["healthy html"] = digest([hidden(site, site.html_of(p)) for p in healthy])
        for mode in FAULT_MODES:
            record = []
            for page in site.faulty_pages(mode):
                record.append(hidden(site, site.html_of(page)))
                record.append(hidden(site, repr(site.links_of(page))))
                if mode != "reset":  # its answer is a cut connection, tested in test_labsite_faults
                    record.append(answers(site, f"/page/{page}"))
                for path, times in invented_paths(mode, page):
                    record.append(answers(site, path, times))
            out[f"mode {mode}"] = digest(record)
    return out


# Printed by snapshot() on commit a11f7e2 (single-module labsite), before the split.
PINNED = {
    'graph targets': '7a0053106cdedca7',
    'graph depths': '75004c04dab48eb5',
    'graph html 0': '2a2b9e55844758a9',
    'graph links 0': '21ad947406102c7f',
    'graph html 1': '5b50a876c99b9182',
    'graph links 1': 'f123a074f2fb9a34',
    'graph html 150': '45dbe340bb5c3bb2',
    'graph links 150': '40e0627d0bcade68',
    'graph html 299': '6a15255c986035e8',
    'graph links 299': '827e9f9751d9e9be',
    'faults 500/9': '83deee5f8ae3b99b',
    'latency range': '27c6ec85e0db9229',
    'faults 120/4': '092992a499742e20',
    'healthy html': '1dc78ef722bf946e',
    'mode drip': 'c68bba37d9e7a9b3',
    'mode reset': 'c648cf3983a8773d',
    'mode error500': '1e94b8e4de7fb83a',
    'mode error503': '02be6fe0eaabe337',
    'mode redirect_loop': 'e9ee36e75cccf8c1',
    'mode redirect_chain': '7ad439f21cd42bf6',
    'mode huge': '5fd25bac43855af0',
    'mode binary': '3ccd2266a24e28ed',
    'mode malformed': '57cd4f17831fd746',
    'mode truncated': '0f33577d089dc2ea',
    'mode odd_links': '206d030f477430fe',
    'mode trap': '0bfe049e6e040c47',
}


def test_the_site_is_byte_identical_to_the_pinned_one():
    assert snapshot() == PINNED


def test_small_cases_read_as_literals():
    # Also printed on commit a11f7e2, before the split: readable examples of the same pins.
    assert assign_faults(30, 1, {"error500": 0.1, "trap": 0.1, "drip": 0.05}) == {
        6: "trap", 11: "error500", 14: "trap", 21: "error500", 22: "drip", 28: "error500", 29: "trap"}
    graph = SiteGraph(10, seed=2, links=2)
    assert (graph.targets(0), graph.targets(3)) == ((1, 2, 3, 9, 8), (5, 0, 6))
