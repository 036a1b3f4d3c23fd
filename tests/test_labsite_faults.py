"""The labsite's fault modes (one test or more per mode). Its refusal of path
traversal and its loopback-only socket: tests/test_labsite_safety.py."""

from __future__ import annotations

import asyncio
import inspect
import socket
import time
from urllib.parse import urljoin, urlsplit

import aiohttp
import pytest
import requests
from raw_http import raw_request
from realtime import within

from support.labsite import FAULT_DEFAULTS, FAULT_MODES, FAULTS, LabSite, assign_faults, serve, stop_all
from support.labsite.toolkit import Fault, html
from support.web.links import extract_links

EVERY_MODE = {mode: 0.05 for mode in FAULT_MODES}


def path_of(site: LabSite, page: int) -> bytes:
    return site.graph.path_of(page).encode()


# --------------------------------------------------------------------------
# Choosing the faulted pages
# --------------------------------------------------------------------------


def test_fault_choice_is_seeded_exact_and_spares_the_root():
    a = assign_faults(200, 3, EVERY_MODE)
    assert a == assign_faults(200, 3, dict(reversed(list(EVERY_MODE.items()))))  # order of the dict is irrelevant
    assert a != assign_faults(200, 4, EVERY_MODE)
    assert 0 not in a
    per_mode = {m: sum(1 for v in a.values() if v == m) for m in FAULT_MODES}
    assert per_mode == {m: round(0.05 * 199) for m in FAULT_MODES}
    assert assign_faults(200, 3, {"drip": 1.0}) == {p: "drip" for p in range(1, 200)}
    assert assign_faults(3, 0, {"trap": 0.01}) != {}  # a fraction > 0 gets at least one page
    assert assign_faults(1, 0, {"trap": 0.5}) == {}  # a one-page site has nothing to fault


def test_site_reports_what_it_chose():
    site = LabSite(pages=100, seed=5, faults=EVERY_MODE)
    assert site.faults == assign_faults(100, 5, EVERY_MODE)
    for mode in FAULT_MODES:
        pages = site.faulty_pages(mode)
        assert pages and all(site.fault_of(p) == mode for p in pages)
    assert sorted(site.faulty_pages()) == sorted(site.faults)
    healthy = set(range(100)) - set(site.faults)
    assert 0 in healthy and all(site.fault_of(p) is None for p in healthy)
    assert LabSite(pages=100, seed=5).faults == {}


@pytest.mark.parametrize("kwargs", [
    dict(faults={"lento": 0.1}), dict(faults={"drip": 1.5}), dict(faults={"drip": -0.1}),
    dict(faults={"drip": 0.6, "huge": 0.6}), dict(faults=["drip"]), dict(faults={"drip": True}),
    dict(fault_options={"drip_secs": 3}), dict(fault_options={"drip_interval": 0}),
    dict(fault_options={"chain_length": 0}), dict(fault_options={"error503_times": -1}),
])
def test_bad_fault_parameters_are_clear_errors(kwargs):
    with pytest.raises(ValueError):
        LabSite(pages=20, **kwargs)


def test_serve_tells_sites_apart_by_their_faults():
    try:
        plain = serve(pages=6)
        faulty = serve(pages=6, faults={"error500": 0.5})
        assert faulty is not plain and faulty.faults and not plain.faults
        assert serve(pages=6, faults={"error500": 0.5}) is faulty
        slow = serve(pages=6, faults={"error500": 0.5}, fault_options={"chain_length": 3})
        assert slow is not faulty
    finally:
        stop_all()


def test_healthy_pages_are_unchanged_by_faults(make_site):
    faulty = make_site(pages=60, faults=EVERY_MODE)
    plain = make_site(pages=60)
    for page in set(range(60)) - set(faulty.faults):
        assert faulty.html_of(page).replace(str(faulty.port), "P") == plain.html_of(page).replace(str(plain.port), "P")


# --------------------------------------------------------------------------
# The registry: a mode is one class and one line
# --------------------------------------------------------------------------


class Teapot(Fault):
    """The package docstring's example of a new mode."""

    mode = "teapot"

    async def respond(self, visit):
        return html("<h1>418: soy una tetera</h1>\n", status=418)


def test_a_new_mode_is_one_class_and_one_registry_line(make_site, monkeypatch):
    monkeypatch.setitem(FAULTS, "teapot", Teapot)  # the registry line
    site = make_site(pages=20, faults={"teapot": 0.1, "error500": 0.1})
    teapots = site.faulty_pages("teapot")
    assert len(teapots) == 2 and all(raw_request(site, path_of(site, p))[0] == 418 for p in teapots)
    assert site.stats.by_fault == {"teapot": 2}
    # Appended at the end of the registry, it leaves the existing modes' pages where they were.
    assert site.faulty_pages("error500") == LabSite(pages=20, faults={"error500": 0.1}).faulty_pages("error500")


def test_every_mode_is_registered_in_order_with_its_knobs():
    assert tuple(FAULTS) == FAULT_MODES == (
        "drip", "reset", "error500", "error503", "redirect_loop", "redirect_chain",
        "huge", "binary", "malformed", "truncated", "odd_links", "trap")  # the order is part of the seed
    assert all(cls.mode == mode and cls.__doc__ for mode, cls in FAULTS.items())
    assert FAULT_DEFAULTS == {key: value for cls in FAULTS.values() for key, value in cls.defaults.items()}


def test_the_server_names_no_fault_mode():
    import support.labsite.server as server

    source = inspect.getsource(server)
    assert [mode for mode in FAULT_MODES if f'"{mode}"' in source or f"'{mode}'" in source] == []


# --------------------------------------------------------------------------
# One test per mode
# --------------------------------------------------------------------------


def test_drip_never_trips_a_read_timeout_but_takes_its_time(make_site):
    site = make_site(pages=10, faults={"drip": 0.2}, fault_options={"drip_seconds": 1.2, "drip_interval": 0.1})
    page = site.faulty_pages("drip")[0]
    start = time.perf_counter()
    status, headers, body = raw_request(site, path_of(site, page), timeout=1.0)  # a 1 s read timeout
    elapsed = time.perf_counter() - start
    assert status == 200 and body.decode() == site.html_of(page)
    assert int(headers["content-length"]) == len(body)
    assert elapsed >= 1.1, elapsed  # every recv() got a byte in time, yet the page took > 1 s


def test_drip_lasts_its_pauses_in_virtual_time(make_site, virtual_sleep):
    site = make_site(pages=10, faults={"drip": 0.2}, sleep=virtual_sleep)  # default: 120 s of drip
    page = site.faulty_pages("drip")[0]
    status, headers, body = raw_request(site, path_of(site, page))
    assert status == 200 and body.decode() == site.html_of(page)
    interval, seconds = FAULT_DEFAULTS["drip_interval"], FAULT_DEFAULTS["drip_seconds"]
    assert virtual_sleep.calls == [interval] * round(seconds / interval)  # 240 pauses of 0.5 s
    assert site.stats.by_fault["drip"] == 1


def test_drip_is_stopped_by_a_total_timeout_and_by_stop(make_site):
    site = make_site(pages=10, faults={"drip": 0.2})  # default: 120 s of drip
    assert FAULT_DEFAULTS["drip_seconds"] >= 60
    url = site.url_of(site.faulty_pages("drip")[0])

    async def fetch():
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.6)) as session:
            async with session.get(url) as response:
                return await response.read()

    start = time.perf_counter()
    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(fetch())
    within(time.perf_counter() - start, 0.6, "the drip")  # smoke test: 0.6 s, not the drip's 120 s
    deadline = time.monotonic() + 5  # the server lets go of that client at its next byte
    while site.stats.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    assert site.stats.in_flight == 0
    # A client that never gives up is cut when the site stops.
    sock = socket.create_connection((site.host, site.port), timeout=10)
    sock.sendall(b"GET " + urlsplit(url).path.encode() + b" HTTP/1.0\r\n\r\n")
    data = sock.recv(100)
    assert b" 200 OK" in data
    site.stop()
    with sock:
        while chunk := sock.recv(65536):
            data += chunk
    assert site.stats.cut_by_stop == 1  # the drip was cut, not left to the shutdown timeout
    head, _, body = data.partition(b"\r\n\r\n")
    promised = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.startswith(b"Content-Length:"))
    assert len(body) < promised  # a few bytes of the page, never the rest


def test_reset_cuts_the_body_with_rst_or_early_fin(make_site):
    site = make_site(pages=20, faults={"reset": 0.5})
    pages = site.faulty_pages("reset")
    rst = [p for p in pages if p % 2][0]
    fin = [p for p in pages if not p % 2][0]
    with pytest.raises(ConnectionResetError):
        raw_request(site, path_of(site, rst))
    status, headers, body = raw_request(site, path_of(site, fin))
    assert status == 200
    assert int(headers["content-length"]) == len(site.html_of(fin).encode()) > len(body) > 0
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(site.url_of(rst), timeout=5)
    assert site.stats.by_fault["reset"] == 3


def test_error500_always_fails(make_site):
    site = make_site(pages=20, faults={"error500": 0.1})
    page = site.faulty_pages("error500")[0]
    assert [raw_request(site, path_of(site, page))[0] for _ in range(3)] == [500] * 3
    assert site.stats.by_status[500] == 3


def test_error503_is_transient_and_can_be_permanent(make_site):
    site = make_site(pages=20, faults={"error503": 0.1})
    page = site.faulty_pages("error503")[0]
    answers = [raw_request(site, path_of(site, page)) for _ in range(FAULT_DEFAULTS["error503_times"] + 2)]
    assert [a[0] for a in answers] == [503] * FAULT_DEFAULTS["error503_times"] + [200, 200]
    assert answers[0][1]["retry-after"] == "1"
    assert answers[-1][2].decode() == site.html_of(page)
    site.reset_stats()
    assert raw_request(site, path_of(site, page))[0] == 503  # counters restart with the stats
    forever = make_site(pages=20, faults={"error503": 0.1}, fault_options={"error503_times": None})
    page = forever.faulty_pages("error503")[0]
    assert [raw_request(forever, path_of(forever, page))[0] for _ in range(5)] == [503] * 5


def test_redirect_loop_never_ends(make_site):
    site = make_site(pages=20, faults={"redirect_loop": 0.1})
    page = site.faulty_pages("redirect_loop")[0]
    path, seen = f"/page/{page}", []
    for _ in range(6):
        status, headers, _ = raw_request(site, path.encode())
        assert status in (301, 302)
        seen.append(path)
        path = headers["location"]
    assert seen == [f"/page/{page}", f"/bucle/{page}"] * 3
    with pytest.raises(requests.TooManyRedirects):
        requests.get(site.url_of(page), timeout=5)


def test_redirect_chain_is_longer_than_five_and_ends_at_the_page(make_site):
    site = make_site(pages=20, faults={"redirect_chain": 0.1})
    page = site.faulty_pages("redirect_chain")[0]
    response = requests.get(site.url_of(page), timeout=5)  # requests follows up to 30
    assert response.status_code == 200 and response.text == site.html_of(page)
    assert len(response.history) == FAULT_DEFAULTS["chain_length"] > 5
    locations = [r.headers["Location"] for r in response.history]
    assert any(loc.startswith("http://127.0.0.1:") for loc in locations)
    assert any(loc.startswith("/cadena/") for loc in locations)
    session = requests.Session()
    session.max_redirects = 5
    with pytest.raises(requests.TooManyRedirects):
        session.get(site.url_of(page), timeout=5)
    assert raw_request(site, f"/cadena/{page}/{FAULT_DEFAULTS['chain_length'] + 1}".encode())[0] == 404
    healthy = next(p for p in range(1, 20) if site.fault_of(p) is None)
    assert raw_request(site, f"/cadena/{healthy}/1".encode())[0] == 404


def test_huge_pages_exceed_a_crawlers_limit_with_and_without_length(make_site):
    site = make_site(pages=40, faults={"huge": 0.2})
    pages = site.faulty_pages("huge")
    even = [p for p in pages if not p % 2][0]
    odd = [p for p in pages if p % 2][0]
    for page in (even, odd):
        response = requests.get(site.url_of(page), timeout=10)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
        assert len(response.content) == FAULT_DEFAULTS["huge_bytes"] > 1_000_000
        # its links come first: a crawler that stops at 1 MB still sees them
        assert extract_links(response.content[:100_000].decode()) == [link.href for link in site.links_of(page)]
    assert requests.head(site.url_of(even), timeout=5).status_code == 200
    declared = requests.get(site.url_of(even), stream=True, timeout=5)
    chunked = requests.get(site.url_of(odd), stream=True, timeout=5)
    assert int(declared.headers["Content-Length"]) == FAULT_DEFAULTS["huge_bytes"]
    assert "Content-Length" not in chunked.headers and chunked.headers["Transfer-Encoding"] == "chunked"
    declared.close()
    chunked.close()  # a client that gives up early: the server lets go too
    deadline = time.monotonic() + 5
    while site.stats.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    assert site.stats.in_flight == 0
    assert raw_request(site, b"/")[0] == 200


def test_binary_pages_are_not_html_and_hide_decoy_links(make_site):
    site = make_site(pages=200, faults={"binary": 0.2})
    types = set()
    for page in site.faulty_pages("binary"):
        status, headers, body = raw_request(site, path_of(site, page))
        ctype = headers["content-type"].split(";")[0]
        assert status == 200 and ctype != "text/html"
        types.add(ctype)
        if ctype in ("text/plain", "application/json"):
            decoy = f"/page/{site.pages + page}".encode()
            assert decoy in body and raw_request(site, decoy)[0] == 404
    assert types == {"image/png", "application/pdf", "application/octet-stream", "application/json", "text/plain"}


@pytest.mark.parametrize("parser", ["html.parser", "lxml"])
def test_malformed_html_still_yields_every_link(make_site, parser):
    site = make_site(pages=60, faults={"malformed": 0.2})
    for page in site.faulty_pages("malformed"):
        status, _, body = raw_request(site, path_of(site, page))
        text = body.decode()
        assert status == 200 and text == site.html_of(page)
        assert "<!-- comentario sin cerrar" in text and "</html>" not in text.lower()
        assert extract_links(text, parser) == [link.href for link in site.graph.page_links(page, site.url)]


def test_truncated_html_stops_inside_a_tag(make_site):
    site = make_site(pages=60, faults={"truncated": 0.2})
    for page in site.faulty_pages("truncated"):
        status, headers, body = raw_request(site, path_of(site, page))
        assert status == 200 and int(headers["content-length"]) == len(body)
        text = body.decode()
        assert text == site.html_of(page) and text.endswith("<a hr") and "</html>" not in text
        full = site.graph.page_links(page, site.url)
        links = site.links_of(page)
        assert links == full[:len(links)] and len(links) < len(full)
        assert extract_links(text) == [link.href for link in links]


def test_odd_links_parse_resolve_and_never_break_the_server(make_site):
    site = make_site(pages=30, faults={"odd_links": 0.1})
    page = site.faulty_pages("odd_links")[0]
    page_url = site.url_of(page)
    odd = [link for link in site.links_of(page) if link.kind.startswith("odd-")]
    assert len({link.kind for link in odd}) == len(odd) >= 15
    assert extract_links(site.html_of(page)) == [link.href for link in site.links_of(page)]
    by_kind = {link.kind: link for link in odd}
    assert by_kind["odd-entity"].href == f"/page/{by_kind['odd-entity'].target}"  # the parser decodes &#NN;
    with pytest.raises(ValueError):
        urlsplit(by_kind["odd-invalid"].href)
    with pytest.raises(ValueError):
        _ = urlsplit(by_kind["odd-bad-port"].href).port
    for link in odd:
        if link.target is not None:  # resolved the standard way, it reaches that page
            response = requests.get(urljoin(page_url, link.href.strip()), timeout=5)
            assert response.status_code == 200 and response.text == site.html_of(link.target), link
    for kind in ("odd-percent-utf8", "odd-non-ascii", "odd-backslash", "odd-query"):
        assert requests.get(urljoin(page_url, by_kind[kind].href), timeout=5).status_code == 404, kind
    assert requests.get(urljoin(page_url, by_kind["odd-overlong"].href), timeout=5).status_code in (400, 414)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(by_kind["odd-https"].href, timeout=5)
    assert raw_request(site, b"/")[0] == 200  # still serving


def test_trap_is_endless_and_only_where_planted(make_site):
    site = make_site(pages=30, faults={"trap": 0.1})
    page = site.faulty_pages("trap")[0]
    entry = [link.href for link in site.links_of(page) if link.kind == "trap"]
    assert entry == [f"/trampa/{page}/1"] and entry[0] in extract_links(site.html_of(page))
    url, seen = urljoin(site.url, entry[0]), set()
    for _level in range(1, 41):  # 40 levels down, and it goes on
        response = requests.get(url, timeout=5)
        assert response.status_code == 200, url
        deeper = [urljoin(url, h) for h in extract_links(response.text) if "/trampa/" in h]
        assert len(deeper) == FAULT_DEFAULTS["trap_fanout"] and not seen & set(deeper)
        seen.add(url)
        url = deeper[-1]
    assert urlsplit(url).path.count("/") == 3 + 40 and site.stats.by_fault["trap"] == 40
    healthy = next(p for p in range(1, 30) if site.fault_of(p) is None)
    assert raw_request(site, f"/trampa/{healthy}/1".encode())[0] == 404
    assert raw_request(site, f"/trampa/{page}/3".encode())[0] == 404  # beyond the fan-out
