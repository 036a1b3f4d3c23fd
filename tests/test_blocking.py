"""support.crawlers.blocking: the hand-written HTTP/1.0 fetch and the three blocking crawlers."""

from __future__ import annotations

import socket
import threading

import pytest
from notebook_cells import exec_cells
from realtime import within

from support.crawlers.blocking import (
    build_request,
    crawl_pool,
    crawl_sequential,
    crawl_thread_per_url,
    fetch,
    fetch_raw,
    parse_response,
)
from support.timeline import Timeline
from support.web.report import CONNECTION_REFUSED, MAX_PAGES

CRAWLERS = [crawl_sequential, crawl_thread_per_url, crawl_pool]


def test_fetch_returns_the_page_the_site_serves(site):
    status, body = fetch(site.url_of(3))
    assert status == 200
    assert body.decode() == site.html_of(3)


def test_fetch_reports_404_without_raising(site):
    status, body = fetch(site.url + "no/existe")
    assert status == 404
    assert b"404" in body


def test_request_names_the_urls_own_host_and_port():
    host, port, request = build_request("http://127.0.0.1:8081/page/2?x=1#frag")
    assert (host, port) == ("127.0.0.1", 8081)
    assert request == b"GET /page/2?x=1 HTTP/1.0\r\nHost: 127.0.0.1:8081\r\n\r\n"
    assert build_request("http://example.com/")[2].endswith(b"Host: example.com\r\n\r\n")
    with pytest.raises(ValueError):
        build_request("https://example.com/")


def test_raw_response_has_head_and_body(site):
    raw = fetch_raw(site.url)
    status, headers, body = parse_response(raw)
    assert raw.startswith(b"HTTP/1.")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert int(headers["content-length"]) == len(body)


@pytest.mark.parametrize("raw", [b"", b"HTTP/1.0 200 OK\r\nX: y\r\n", b"garbage\r\n\r\nbody",
                                 b"HTTP/1.0 abc OK\r\n\r\n"])
def test_parse_response_rejects_what_is_not_http(raw):
    with pytest.raises(ValueError):
        parse_response(raw)


def test_fetch_records_its_three_phases(site):
    tl = Timeline()
    fetch(site.url_of(5), timeline=tl)
    assert [(s.key, s.phase) for s in tl.spans] == [
        ("/page/5", "connect"), ("/page/5", "send"), ("/page/5", "receive")]
    assert all(s.end >= s.start for s in tl.spans)


def test_fetch_times_out_on_a_server_that_never_answers():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with pytest.raises(TimeoutError):
            fetch(f"http://127.0.0.1:{port}/", timeout=0.3)


@pytest.mark.parametrize("crawl", CRAWLERS, ids=lambda f: f.__name__)
def test_crawler_finds_every_page_once_and_explains_every_skip(make_site, crawl):
    site = make_site(pages=25)
    site.reset_stats()
    report = crawl(site.url)
    assert set(report.crawled) == site.all_urls()
    assert set(report.crawled.values()) == {200}
    assert not report.failed
    # Every page was requested exactly once: dedupe across absolute/relative/fragment forms.
    assert site.stats.requests == 25 and max(site.stats.by_path.values()) == 1
    reasons = set(report.skipped.values())
    assert any(r.startswith("other host") for r in reasons)
    assert any("mailto" in r for r in reasons) and any("javascript" in r for r in reasons)
    assert report.seconds > 0


@pytest.mark.parametrize("crawl", CRAWLERS, ids=lambda f: f.__name__)
def test_max_pages_bounds_the_crawl_and_says_why(make_site, crawl):
    site = make_site(pages=40)
    report = crawl(site.url, max_pages=7)
    assert len(report.crawled) == 7
    over = [u for u, r in report.skipped.items() if r == MAX_PAGES]
    assert over and not set(over) & set(report.crawled)
    assert site.stats.requests == 7


@pytest.mark.parametrize("crawl", CRAWLERS, ids=lambda f: f.__name__)
def test_unreachable_root_fails_with_a_reason(crawl):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = crawl(f"http://127.0.0.1:{port}/")
    assert list(report.failed) == [f"http://127.0.0.1:{port}/"]
    assert report.failed[f"http://127.0.0.1:{port}/"] == CONNECTION_REFUSED
    assert not report.crawled


def test_threads_overlap_the_waits_and_sequential_does_not(make_site):
    site = make_site(pages=12, latency=0.1)
    levels = max(site.graph.depths()) + 1
    seq_tl, thr_tl, pool_tl = Timeline(), Timeline(), Timeline()
    seq = crawl_sequential(site.url, timeline=seq_tl)
    thr = crawl_thread_per_url(site.url, timeline=thr_tl)
    pool = crawl_pool(site.url, concurrency=4, timeline=pool_tl)
    assert seq.seconds >= 12 * 0.1 * 0.95
    assert seq_tl.max_overlap() == 1 and len(seq_tl.threads()) == 1
    within(thr.seconds, levels * 0.1, "a thread per URL")  # one round of 0.1 s per level, not 12
    assert thr_tl.max_overlap() > 1 and len(thr_tl.threads()) == 12  # one thread per page
    assert pool_tl.max_overlap() > 1 and len(pool_tl.threads()) <= 4
    assert set(seq.crawled) == set(thr.crawled) == set(pool.crawled)


def test_thread_per_url_leaves_no_thread_behind(make_site):
    site = make_site(pages=15)
    before = threading.active_count()
    crawl_thread_per_url(site.url)
    assert threading.active_count() == before


def _notebook_fetch():
    """The ``fetch`` that notebook 01 defines in a cell, exec()'d on its own."""
    return exec_cells("01", "def fetch(")["fetch"]


def test_the_notebooks_fetch_behaves_like_the_reference(make_site):
    nb_fetch = _notebook_fetch()
    site = make_site(pages=10)
    for url in (site.url, site.url_of(4), site.url + "page/4?x=1", site.url + "no-existe"):
        assert nb_fetch(url) == fetch(url), url
    with socket.socket() as s:  # both fail the same way on a closed port
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/"
    for f in (nb_fetch, fetch):
        with pytest.raises(ConnectionRefusedError):
            f(closed)
