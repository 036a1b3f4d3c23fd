"""support.crawlers.callbacks: the callback fetcher and crawler on one thread (notebook 02, benchmark)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from notebook_cells import exec_cells
from realtime import within

from support.crawlers.blocking import crawl_sequential, fetch
from support.crawlers.callbacks import CallbackCrawler, Fetcher, crawl_callbacks, fetch_callbacks
from support.kernel.eventloop import EventLoop
from support.osutil import free_port
from support.timeline import Timeline
from support.web.report import CONNECTION_LOST, CONNECTION_REFUSED, DEADLINE, MALFORMED_RESPONSE, MAX_PAGES, CrawlOptions


def test_fetch_gives_what_the_blocking_fetch_gives(site):
    for url in (site.url, site.url_of(7), site.url + "no/existe"):
        assert fetch_callbacks(url) == fetch(url)
    assert fetch_callbacks(site.url_of(7))[1].decode() == site.html_of(7)


def test_fetcher_records_its_three_phases_in_order(site):
    tl, loop, done = Timeline(), EventLoop(), []
    Fetcher(loop, site.url_of(4), done.append, tl).start()
    assert done == [], "start() must return before anything is fetched"
    loop.run(timeout=5)
    assert [f.status for f in done] == [200]
    assert [(s.key, s.phase) for s in tl.spans] == [
        ("/page/4", "connect"), ("/page/4", "send"), ("/page/4", "receive")]
    assert all(a.end <= b.start for a, b in zip(tl.spans, tl.spans[1:]))
    assert loop.pending() == 0


def test_crawl_meets_the_same_urls_as_the_sequential_crawler(make_site):
    site = make_site(pages=20, latency=0.05)
    expected = crawl_sequential(site.url)
    report = crawl_callbacks(site.url)
    assert set(report.crawled) == site.all_urls()
    assert report.crawled == expected.crawled
    assert report.skipped == expected.skipped
    assert report.failed == {}
    assert report.seconds > 0


def test_one_thread_many_requests_at_once(make_site):
    site = make_site(pages=20, latency=0.2)
    before = threading.active_count()
    counts, loop, tl = [], EventLoop(), Timeline()
    loop.on_turn = lambda lp, events: counts.append(threading.active_count())
    report = crawl_callbacks(site.url, timeline=tl, loop=loop)
    assert len(report.crawled) == 20
    assert tl.threads() == {threading.current_thread().name}
    assert counts and max(counts) == before == threading.active_count()
    assert tl.max_overlap() >= 5, "requests of one level of the site must be in flight together"
    assert site.stats.max_in_flight >= 5
    # 20 pages one after another take >= 4 s; overlapped, one round of 0.2 s per level of the site.
    within(report.seconds, (max(site.graph.depths()) + 1) * 0.2, "the overlapped crawl")


def test_max_pages_skips_the_rest_with_a_reason(make_site):
    site = make_site(pages=30)
    report = crawl_callbacks(site.url, max_pages=7)
    assert len(report.crawled) == 7
    over = [u for u, why in report.skipped.items() if why == MAX_PAGES]
    assert over and all(u in site.all_urls() for u in over)
    assert site.stats.requests == 7


def test_max_connections_bounds_requests_in_flight(make_site):
    site = make_site(pages=30, latency=0.05)
    crawler = CallbackCrawler(site.url, CrawlOptions(concurrency=3, deadline=10))
    report = crawler.run()
    assert set(report.crawled) == site.all_urls()
    assert crawler.max_in_flight == 3
    assert site.stats.max_in_flight <= 3


def test_a_moderately_big_crawl_scales(make_site):
    site = make_site(pages=300, latency=0.1)
    report = crawl_callbacks(site.url, concurrency=300, deadline=30)
    assert set(report.crawled) == site.all_urls()
    assert report.failed == {}
    assert site.stats.max_in_flight >= 50


def test_refused_connection_is_a_failure_not_a_crash():
    url = f"http://127.0.0.1:{free_port()}/"
    report = crawl_callbacks(url, deadline=5)
    assert report.crawled == {}
    assert report.failed[url] == CONNECTION_REFUSED
    with pytest.raises(OSError):
        fetch_callbacks(url)


class _RawServer:
    """Accepts connections on a thread and answers each with ``behaviour(conn)``."""

    def __init__(self, behaviour, count):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.thread = threading.Thread(target=self._serve, args=(behaviour, count), daemon=True)
        self.thread.start()

    def _serve(self, behaviour, count):
        for _ in range(count):
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(1024)
                behaviour(conn)

    def close(self):
        self.sock.close()
        self.thread.join(timeout=5)


def _reset(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


@pytest.mark.parametrize("behaviour, expected", [
    (_reset, CONNECTION_LOST),
    (lambda conn: conn.sendall(b"no soy HTTP\r\n\r\n"), MALFORMED_RESPONSE),
    (lambda conn: conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 99\r\n\r\n<a>"), CONNECTION_LOST),
    (lambda conn: conn.sendall(b"HTTP/1.0 500 Internal Server Error\r\n\r\nboom"), "HTTP 500"),
])
def test_bad_answers_are_failures_with_a_reason(behaviour, expected):
    server = _RawServer(behaviour, count=1)
    try:
        report = crawl_callbacks(server.url, deadline=5)
    finally:
        server.close()
    assert report.crawled == {}
    assert report.failed[server.url] == expected


def test_deadline_fails_what_is_pending_and_closes_every_socket(make_site):
    site = make_site(pages=10, latency=1.0)
    loop = EventLoop()
    report = crawl_callbacks(site.url, deadline=0.3, loop=loop)
    assert report.failed == {site.url: DEADLINE}
    assert site.stats.requests == 1 and report.seconds >= 0.3  # failed, not crawled: it did not wait for the 1 s answer
    assert loop.pending() == 0


def test_the_notebook_fetcher_gets_what_the_support_fetcher_gets(site):
    """Notebook 02 teaches a short Fetcher; support.crawlers.callbacks.Fetcher is the reference copy."""
    import selectors

    from support.crawlers.blocking import build_request, parse_response
    ns = exec_cells("02", "class Fetcher:", namespace={
        "socket": socket, "build_request": build_request, "parse_response": parse_response,
        "EVENT_READ": selectors.EVENT_READ, "EVENT_WRITE": selectors.EVENT_WRITE})
    got = {}

    class Quiet(ns["Fetcher"]):
        def terminado(self, respuesta):
            got[self.url] = parse_response(respuesta)[::2]  # (status, body)

    bucle = exec_cells("02", "def bucle(", namespace={"time": time})["bucle"]
    urls = [site.url, site.url_of(9), site.url + "no/existe"]
    sel = selectors.DefaultSelector()
    for url in urls:
        Quiet(sel, url).fetch()
    bucle(sel, timeout=5)
    sel.close()

    loop, done = EventLoop(), []
    for url in urls:
        Fetcher(loop, url, done.append).start()
    loop.run(timeout=5)
    loop.close()
    assert got == {f.url: (f.status, f.body) for f in done}
    assert got[site.url_of(9)] == (200, site.html_of(9).encode())
