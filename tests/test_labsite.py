"""The local web site: deterministic, all link kinds, latency, 404s, loopback only, clean stop."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import requests
from realtime import takes_about

from support.labsite import SKIP_KINDS, ExternalSite, LabSite, SiteGraph, serve, stop_all
from support.web.links import classify, extract_links, follow


def raw_get(site: LabSite, path: str) -> tuple[int, bytes]:
    """HTTP/1.0 GET over a plain socket: the bytes go to the server exactly as written."""
    with socket.create_connection((site.host, site.port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {site.host}\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def crawl_everything(site: LabSite) -> set[str]:
    """Follow every followable link from / (blocking, no concurrency): the reachable set."""
    seen, todo = {site.url}, [site.url]
    while todo:
        url = todo.pop()
        response = requests.get(url, timeout=5)
        assert response.status_code == 200, url
        for link in follow(extract_links(response.text), url):
            if link not in seen:
                seen.add(link)
                todo.append(link)
    return seen


def test_same_parameters_give_the_same_site():
    a, b = SiteGraph(pages=200, seed=7), SiteGraph(pages=200, seed=7)
    assert [a.targets(i) for i in range(200)] == [b.targets(i) for i in range(200)]
    assert a.render(5, "http://h:1/") == b.render(5, "http://h:1/")
    c = SiteGraph(pages=200, seed=8)
    assert [a.targets(i) for i in range(200)] != [c.targets(i) for i in range(200)]


def test_every_page_is_reachable_from_the_root():
    for pages in (1, 2, 50, 2000):
        depths = SiteGraph(pages=pages, seed=3).depths()
        assert min(depths) == 0 and all(d >= 0 for d in depths), pages


def test_a_crawl_finds_exactly_the_generated_pages(site):
    assert crawl_everything(site) == site.all_urls()
    assert site.stats.by_status[404] == 0


def test_served_html_is_what_the_graph_renders(site):
    status, body = raw_get(site, "/page/4")
    assert status == 200
    assert body.decode() == site.html_of(4)


def test_every_kind_of_link_appears(site):
    kinds = {link.kind for page in range(site.pages) for link in site.graph.page_links(page, site.url)}
    assert {"absolute", "root-relative", "relative", "fragment", "duplicate", *SKIP_KINDS} <= kinds
    # Page 0 carries every kind a crawler must skip, and classify() names why.
    hrefs = extract_links(site.html_of(0))
    reasons = {classify(h, site.url).reason for h in hrefs} - {None}
    assert any("other host" in r for r in reasons)
    assert any("mailto" in r for r in reasons)
    assert any("javascript" in r for r in reasons)
    assert any("fragment" in r for r in reasons)


def test_links_to_other_hosts_never_reach_a_server(site):
    external = [link.href for p in range(site.pages) for link in site.graph.page_links(p, site.url)
                if link.kind == "other-host"]
    assert external and all("127.0.0.1" not in h and "localhost" not in h for h in external)


def test_every_answer_waits_its_latency_first(make_site, virtual_sleep):
    site = make_site(pages=5, latency=0.3, sleep=virtual_sleep)
    assert [raw_get(site, p)[0] for p in ("/", "/page/4", "/nada")] == [200, 200, 404]
    assert virtual_sleep.calls == [0.3, 0.3, 0.3]  # 404s too: the latency is the network's


def test_fixed_latency_is_honoured_in_real_time(make_site):
    site = make_site(pages=5, latency=0.3)
    start = time.perf_counter()
    status, _ = raw_get(site, "/")
    elapsed = time.perf_counter() - start
    assert status == 200
    takes_about(elapsed, 0.3, "a 0.3 s page")  # smoke test: the injected sleep is really asyncio.sleep


def test_latency_range_is_seeded_per_page(make_site, virtual_sleep):
    site = make_site(pages=20, latency=(0.05, 0.25), seed=1, sleep=virtual_sleep)
    values = [site.latency_of(site.graph.path_of(i)) for i in range(20)]
    assert all(0.05 <= v <= 0.25 for v in values)
    assert len(set(values)) > 10  # really random...
    again = LabSite(pages=20, latency=(0.05, 0.25), seed=1)
    assert values == [again.latency_of(again.graph.path_of(i)) for i in range(20)]  # ...but reproducible
    for i in range(20):
        raw_get(site, site.graph.path_of(i))
    assert virtual_sleep.calls == values  # and each page waits its own


def test_concurrent_requests_overlap_their_latency(make_site):
    # The latency is a gate that opens only once all 40 requests are inside
    # the server: a server that handled them one at a time would never open it
    # (each request would give up after 10 s and answer 500).
    arrived, everyone = 0, asyncio.Event()

    async def gate(seconds: float) -> None:
        nonlocal arrived
        arrived += 1
        if arrived == 40:
            everyone.set()
        await asyncio.wait_for(everyone.wait(), 10)

    site = make_site(pages=40, latency=0.5, sleep=gate)
    with ThreadPoolExecutor(40) as pool:
        statuses = list(pool.map(lambda i: raw_get(site, site.graph.path_of(i))[0], range(40)))
    assert statuses == [200] * 40
    assert site.stats.max_in_flight == 40 and site.stats.in_flight == 0


@pytest.mark.parametrize("path", ["/nada", "/page/30", "/page/-1", "/page/01", "/page/3/", "/page/1x",
                                  "/pages/1", "/index.html", "/robots.txt"])
def test_unknown_paths_are_404(site, path):
    assert raw_get(site, path)[0] == 404


@pytest.mark.parametrize("path", ["/../../etc/passwd", "/page/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
                                  "/page/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/..%2f..%2fetc%2fpasswd",
                                  "/page/1/../../../etc/passwd"])
def test_traversal_reaches_nothing(site, path):
    status, body = raw_get(site, path)
    assert status == 404
    assert b"root:" not in body


def test_only_get_is_served(site):
    assert requests.post(site.url, timeout=5).status_code == 405


def test_binds_loopback_only(site):
    assert site.url.startswith("http://127.0.0.1:")
    listening = [c.laddr for c in psutil.Process().net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == site.port]
    assert listening and {addr.ip for addr in listening} == {"127.0.0.1"}, listening


def test_stop_leaves_no_thread_and_frees_the_port():
    before = set(threading.enumerate())
    site = LabSite(pages=3).start()
    port = site.port
    assert raw_get(site, "/")[0] == 200
    site.stop()
    site.stop()  # twice is fine
    assert set(threading.enumerate()) <= before
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    with pytest.raises(RuntimeError, match="not running"):
        _ = site.url


def test_context_manager_stops():
    with LabSite(pages=3) as site:
        assert raw_get(site, "/")[0] == 200
    assert not site.running


def test_serve_is_idempotent_and_stop_all_stops():
    try:
        a = serve(pages=7, latency=0.01)
        assert serve(pages=7, latency=0.01) is a
        b = serve(pages=8, latency=0.01)
        assert b is not a and b.port != a.port
    finally:
        stop_all()
    assert not a.running and not b.running


@pytest.mark.parametrize("params", [dict(pages=0), dict(pages=-5), dict(links=-1), dict(latency=-1),
                                    dict(latency=(0.3, 0.1)), dict(latency="slow")])
def test_bad_parameters_are_clear_errors(params):
    with pytest.raises(ValueError):
        LabSite(**params)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="processor pinning is Linux only")
def test_external_site_runs_only_on_the_processors_it_is_given():
    cpu = min(os.sched_getaffinity(0))
    with ExternalSite(pages=3, latency=0.0, cpus={cpu}) as site:
        threads = [int(t) for t in os.listdir(f"/proc/{site.process.pid}/task")]
        assert len(threads) >= 2  # the main thread and the server's
        assert all(os.sched_getaffinity(t) == {cpu} for t in threads)
        assert requests.get(site.url, timeout=5).status_code == 200


@pytest.mark.parametrize("cpus", ["x", ",", "0;1"])
def test_site_command_line_rejects_a_bad_processor_list(cpus):
    done = subprocess.run([sys.executable, "-m", "support.labsite", "--cpus", cpus],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "argument --cpus:" in done.stderr and "Traceback" not in done.stderr


# The package's floors: a module imports only from the floors below it.
FLOORS = {
    "graph": 0, "toolkit": 1, "faults.status": 2, "faults.content": 2, "faults.stream": 2,
    "faults": 3, "background": 3, "server": 4, "external": 5, "__init__": 6, "__main__": 6,
}


def test_the_package_imports_only_downwards():
    import ast
    import pathlib

    import support.labsite

    root = pathlib.Path(support.labsite.__file__).parent
    files = {path.relative_to(root).with_suffix("").as_posix().replace("/__init__", "").replace("/", "."): path
             for path in root.rglob("*.py")}
    assert set(files) == set(FLOORS)
    for name, path in files.items():
        nodes = list(ast.walk(ast.parse(path.read_text())))
        imported = {node.module for node in nodes if isinstance(node, ast.ImportFrom) and node.module}
        imported |= {alias.name for node in nodes if isinstance(node, ast.Import) for alias in node.names}
        inside = {m.removeprefix("support.labsite.") for m in imported if m.startswith("support.labsite.")}
        assert all(FLOORS[m] < FLOORS[name] for m in inside), (name, inside)
        if name == "graph":  # the pure floor: no server library
            assert not any(m.startswith("aiohttp") for m in imported) and "support.osutil" not in imported
