"""The crawler contract: every entry of support.crawlers.registry.CRAWLERS is called the
same way, crawls the same site the same way, and explains its failures with the
same words (support.web.report.reason_of)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from urllib.parse import urlsplit

import aiohttp
import pytest

from support.crawlers.blocking import parse_response
from support.crawlers.registry import CORE_OPTIONS, CRAWLERS, FOLLOWS_C, OPTIONS, CrawlerSpec, crawl_with
from support.osutil import free_port
from support.timeline import Timeline
from support.web import parsing
from support.web.report import (
    CONNECTION_LOST,
    CONNECTION_REFUSED,
    DEADLINE,
    DISALLOWED_BY_ROBOTS,
    HOST_NOT_FOUND,
    MALFORMED_RESPONSE,
    MALFORMED_URL,
    MAX_DEPTH,
    MAX_PAGES,
    TIMEOUT,
    TLS_ERROR,
    TOO_BIG,
    TOO_MANY_REDIRECTS,
    CrawlOptions,
    CrawlReport,
    IncompleteResponse,
    Outcome,
    ProtocolError,
    http_reason,
    options_of,
    reason_of,
)

NAMES = list(CRAWLERS)


def test_the_registry_names_every_crawler_of_the_course():
    assert NAMES == ["sequential", "thread_per_url", "pool", "callbacks", "trampoline", "asyncio"]
    with pytest.raises(KeyError, match="sequential, thread_per_url"):
        crawl_with("scrapy", "http://127.0.0.1:1/")


def test_every_crawler_crawls_the_same_site_the_same_way(make_site):
    site = make_site(pages=40, latency=0.01)
    options = CrawlOptions(concurrency=8, deadline=60)
    reports = {name: crawl_with(name, site.url, options) for name in NAMES}
    for name, report in reports.items():
        assert isinstance(report, CrawlReport), name
        assert set(report.crawled) == site.all_urls(), name
        assert not report.failed, (name, report.failed)
        assert report.outcome(site.url) is Outcome.CRAWLED
    first = reports["sequential"]
    assert first.reasons()  # the site has links to skip: mailto:, other hosts...
    for name, report in reports.items():
        assert report.skipped == first.skipped, name
        assert report.reasons() == first.reasons(), name
    assert site.stats.by_path.most_common(1)[0][1] == len(NAMES)  # each page once per crawler


def test_every_crawler_gives_the_same_reasons_for_the_same_failures(make_site):
    refused = f"http://127.0.0.1:{free_port()}/"
    site = make_site(pages=30, faults={"error500": 0.2})
    broken = {site.url_of(p) for p in site.faulty_pages("error500")}
    options = CrawlOptions(retries=0, deadline=60)
    for name in NAMES:
        assert crawl_with(name, refused, options).failed == {refused: CONNECTION_REFUSED}, name
        report = crawl_with(name, site.url, options)
        met = {url for url in broken if report.outcome(url)}
        assert met and {report.failed[url] for url in met} == {http_reason(500)}, name


@pytest.mark.parametrize("name", NAMES)
def test_the_deadline_leaves_no_url_without_an_outcome(make_site, name):
    site = make_site(pages=60, latency=0.3)
    report = crawl_with(name, site.url, CrawlOptions(concurrency=3, deadline=0.5))
    admitted = {u for u in [*report.crawled, *report.failed, *report.skipped] if u.startswith(site.url)}
    assert DEADLINE in report.failed.values()           # the fetches in flight at the deadline
    assert len(report.crawled) < site.pages
    for url in admitted:
        assert report.outcome(url) is not None
    assert report.seconds >= 0.5


def test_options_are_one_object_and_knobs_replace_its_fields():
    base = CrawlOptions(concurrency=4, allowed_hosts=["a", "b"])
    assert base.allowed_hosts == frozenset({"a", "b"})
    assert options_of(base, max_pages=3) == CrawlOptions(concurrency=4, max_pages=3, allowed_hosts={"a", "b"})
    assert options_of() == CrawlOptions() and options_of(base) is base
    with pytest.raises(TypeError, match="unknown crawl option.*workers.*concurrency"):
        options_of(base, workers=3)
    for bad in (dict(concurrency=0), dict(max_pages=0), dict(parser="regex"), dict(deadline=-1),
                dict(request_timeout=0), dict(allowed_hosts="example.com")):
        with pytest.raises(ValueError):
            CrawlOptions(**bad)



@pytest.mark.parametrize("knob, value", [
    ("request_timeout", float("inf")), ("request_timeout", float("nan")), ("deadline", float("inf")),
    ("backoff", float("inf")), ("backoff", float("nan")), ("request_timeout", "10"), ("deadline", True),
    ("retries", 1.5), ("retries", True), ("max_redirects", float("inf")), ("max_bytes", 1e6),
    ("concurrency", 2.0), ("max_pages", 3.0), ("max_depth", 1.5), ("max_pages", "3"),
])
def test_options_that_would_crash_a_crawl_midway_are_refused_up_front(knob, value):
    # each of these used to be accepted and to stop the crawl later (an OverflowError in aiohttp's
    # timeout for an infinite request_timeout, a TypeError in range() for retries=1.5...)
    with pytest.raises(ValueError, match=f"^{knob} must be"):
        CrawlOptions(**{knob: value})


def test_whole_numbers_of_any_integer_type_are_counts():
    class Int(int):
        pass

    assert CrawlOptions(retries=Int(3), max_pages=Int(2)).retries == 3
    assert CrawlOptions(request_timeout=1, deadline=0, backoff=0).request_timeout == 1


# --------------------------------------------------------------------------
# reason_of: one family of exceptions after another
# --------------------------------------------------------------------------


def _key():
    return aiohttp.client_reqrep.ConnectionKey("127.0.0.1", 1, False, True, None, None, None)


@pytest.mark.parametrize("exc, reason", [
    (TimeoutError(), TIMEOUT),
    (socket.timeout("timed out"), TIMEOUT),
    (asyncio.TimeoutError(), TIMEOUT),
    (OSError(110, "Connection timed out"), TIMEOUT),
    (ConnectionRefusedError(111, "Connection refused"), CONNECTION_REFUSED),
    (OSError(111, "Connection refused"), CONNECTION_REFUSED),
    (ConnectionResetError(104, "Connection reset by peer"), CONNECTION_LOST),
    (BrokenPipeError(32, "Broken pipe"), CONNECTION_LOST),
    (IncompleteResponse("686 of 1373 bytes"), CONNECTION_LOST),
    (ProtocolError("not an HTTP status line"), MALFORMED_RESPONSE),
    (ssl.SSLError(1, "wrong version number"), TLS_ERROR),
    (socket.gaierror(-2, "Name or service not known"), HOST_NOT_FOUND),
    (aiohttp.ServerTimeoutError("read"), TIMEOUT),
    (aiohttp.ClientConnectorError(_key(), ConnectionRefusedError(111, "refused")), CONNECTION_REFUSED),
    (aiohttp.ClientConnectorSSLError(_key(), ssl.SSLError(1, "wrong version")), TLS_ERROR),
    # aiohttp with aiodns (AsyncResolver) wraps a name that does not resolve as a bare OSError(None, msg)
    (aiohttp.ClientConnectorDNSError(_key(), OSError(None, "Domain name not found")), HOST_NOT_FOUND),
    (aiohttp.ClientConnectorDNSError(_key(), socket.gaierror(-2, "Name or service not known")), HOST_NOT_FOUND),
    (aiohttp.ServerDisconnectedError(), CONNECTION_LOST),
    (aiohttp.ClientPayloadError("Response payload is not completed"), CONNECTION_LOST),
    (aiohttp.ClientOSError(104, "Connection reset by peer"), CONNECTION_LOST),
    (aiohttp.InvalidURL("http://[::1"), MALFORMED_URL),
    (aiohttp.ClientResponseError(None, (), status=503), "HTTP 503"),
    (KeyError("x"), "error (KeyError: 'x')"),
])
def test_reason_of_each_exception_family(exc, reason):
    assert reason_of(exc) == reason


def test_a_short_body_is_an_incomplete_response_not_a_page():
    with pytest.raises(IncompleteResponse):
        parse_response(b"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\n<a>")
    assert parse_response(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n<a>")[2] == b"<a>"


def test_a_crawler_measured_in_its_own_process(make_site):
    from support.crawlers.isolated import measure_isolated

    site = make_site(pages=20)
    m = measure_isolated("sequential", site.url, 2, max_pages=5)
    assert m["crawled"] == 5 and m["failed"] == 0 and m["wall"] > 0 and m["peak_growth_kb"] >= 0
    assert site.stats.requests == 5  # the child crawled this site, over HTTP
    with pytest.raises(ValueError, match="unknown crawler"):
        measure_isolated("threads", site.url, 2)


# --------------------------------------------------------------------------
# The registry's specs: every option a crawler claims, proved on that crawler
# --------------------------------------------------------------------------
# Each probe crawls with one option set and checks what only a crawler that
# honours it can show: outcomes and reasons, the site's counters, the spans
# of a timeline, the delays asked of a (fake) sleep. None bounds the wall clock.


def _silent_server():
    """A listening socket that never accepts: connections succeed, no answer ever comes."""
    return socket.create_server(("127.0.0.1", 0))


def _probe_max_pages(make_site, name):
    site = make_site(pages=30)
    report = crawl_with(name, site.url, CrawlOptions(max_pages=7, concurrency=3))
    pages = site.stats.requests - site.stats.by_path["/robots.txt"]  # the asyncio crawler asks for robots.txt first
    assert len(report.crawled) == 7 and pages == 7
    assert MAX_PAGES in report.reasons()


def _probe_request_timeout(make_site, name):
    with _silent_server() as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        report = crawl_with(name, url, CrawlOptions(request_timeout=0.2, deadline=5, retries=0))
    assert report.failed == {url: TIMEOUT}  # not DEADLINE: the request's own timer ended it


def _probe_deadline(make_site, name):
    with _silent_server() as silent:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        report = crawl_with(name, url, CrawlOptions(request_timeout=60, deadline=0.2, retries=0))
    # failed in flight, or skipped while it waited its turn (the asyncio crawler reads robots.txt first)
    assert {**report.skipped, **report.failed} == {url: DEADLINE}


def _probe_timeline(make_site, name):
    site = make_site(pages=10)
    timeline = Timeline()
    report = crawl_with(name, site.url, CrawlOptions(timeline=timeline, concurrency=3))
    assert report.crawled and {urlsplit(u).path for u in report.crawled} <= set(timeline.keys())


def _probe_allowed_hosts(make_site, name):
    # The site's absolute links name 127.0.0.1; crawled from "localhost", they are another host.
    site = make_site(pages=10)
    root = site.url.replace("127.0.0.1", "localhost")
    alone = crawl_with(name, root, CrawlOptions(concurrency=3))
    allowed = crawl_with(name, root, CrawlOptions(concurrency=3, allowed_hosts={f"127.0.0.1:{site.port}"}))
    assert not {u for u in alone.crawled if urlsplit(u).hostname == "127.0.0.1"}
    assert {u for u in allowed.crawled if urlsplit(u).hostname == "127.0.0.1"}


def _probe_parser(make_site, name, monkeypatch):
    site = make_site(pages=8)
    built = []
    soup = parsing.BeautifulSoup

    def counting(markup, features=None, *args, **kwargs):
        built.append(features)
        return soup(markup, features, *args, **kwargs)

    monkeypatch.setattr(parsing, "BeautifulSoup", counting)
    crawl_with(name, site.url, CrawlOptions(parser="selectolax", concurrency=3))
    assert built == []  # selectolax builds no BeautifulSoup
    report = crawl_with(name, site.url, CrawlOptions(parser="lxml", concurrency=3))
    assert built and set(built) == {"lxml"} and len(built) >= len(report.crawled)


def _probe_max_depth(make_site, name):
    site = make_site(pages=30)
    depths = site.graph.depths()
    report = crawl_with(name, site.url, CrawlOptions(max_depth=1, concurrency=3))
    assert max(depths) > 1 and MAX_DEPTH in report.reasons()
    assert len(report.crawled) == sum(1 for d in depths if d <= 1)


def _probe_retries(make_site, name):
    site = make_site(pages=30, faults={"error500": 0.2})
    broken = {site.url_of(p) for p in site.faulty_pages("error500")}
    report = crawl_with(name, site.url, CrawlOptions(retries=2, backoff=0, concurrency=3))
    met = [url for url in broken if url in report.failed]
    assert met and all(site.stats.get_by_path[urlsplit(u).path] == 3 for u in met)  # 1 + 2 retries


def _probe_backoff(make_site, name, monkeypatch):
    site = make_site(pages=30, faults={"error500": 0.2})
    asked, real_sleep = [], asyncio.sleep

    async def fake_sleep(delay, *args, **kwargs):  # virtual: note the delay, do not wait it
        if delay > 0:
            asked.append(delay)
        return await real_sleep(0, *args, **kwargs)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    crawl_with(name, site.url, CrawlOptions(retries=2, backoff=7.0, concurrency=3))
    assert 7.0 in asked and 14.0 in asked  # backoff, then 2 x backoff


def _probe_max_redirects(make_site, name):
    site = make_site(pages=30, faults={"redirect_chain": 0.2})
    assert TOO_MANY_REDIRECTS in crawl_with(name, site.url, CrawlOptions(max_redirects=0)).reasons()


def _probe_max_bytes(make_site, name):
    site = make_site(pages=10)
    report = crawl_with(name, site.url, CrawlOptions(max_bytes=200))
    assert report.skipped.get(site.url) == TOO_BIG or TOO_BIG in report.reasons()
    assert not report.crawled


def _probe_progress(make_site, name):
    site = make_site(pages=10)
    calls = []
    report = crawl_with(name, site.url, CrawlOptions(progress=lambda r: calls.append(len(r.crawled))))
    assert len(calls) >= len(report.crawled) and calls[-1] == len(report.crawled)


def _probe_obey_robots(make_site, name):
    site = make_site(pages=10, robots="User-agent: *\nDisallow: /page/3")
    page = site.url_of(3)
    obeyed = crawl_with(name, site.url, CrawlOptions())
    assert obeyed.skipped.get(page) == DISALLOWED_BY_ROBOTS and site.stats.by_path["/page/3"] == 0
    ignored = crawl_with(name, site.url, CrawlOptions(obey_robots=False))
    assert page in ignored.crawled and site.stats.by_path["/page/3"] == 1


PROBES = {
    "max_pages": _probe_max_pages, "request_timeout": _probe_request_timeout, "deadline": _probe_deadline,
    "timeline": _probe_timeline, "allowed_hosts": _probe_allowed_hosts, "parser": _probe_parser,
    "max_depth": _probe_max_depth, "retries": _probe_retries, "backoff": _probe_backoff,
    "max_redirects": _probe_max_redirects, "max_bytes": _probe_max_bytes, "progress": _probe_progress,
    "obey_robots": _probe_obey_robots,
}


def test_every_option_has_a_probe_and_every_crawler_claims_the_core():
    assert set(PROBES) == set(OPTIONS)
    for name, spec in CRAWLERS.items():
        assert CORE_OPTIONS <= spec.honours, name
    with pytest.raises(ValueError, match="missing.*request_timeout"):
        CrawlerSpec(crawl_with, honours=CORE_OPTIONS - {"request_timeout"})


@pytest.mark.parametrize("name, option", [(name, option) for name, spec in CRAWLERS.items()
                                          for option in OPTIONS if option in spec.honours])
def test_each_crawler_honours_each_option_its_spec_claims(make_site, monkeypatch, name, option):
    probe = PROBES[option]
    if "monkeypatch" in probe.__code__.co_varnames:
        probe(make_site, name, monkeypatch)
    else:
        probe(make_site, name)


@pytest.mark.parametrize("name", NAMES)
def test_requests_in_flight_are_what_the_spec_says(make_site, name):
    site = make_site(pages=30, latency=0.05)
    crawl_with(name, site.url, CrawlOptions(concurrency=3))
    in_flight = CRAWLERS[name].in_flight
    if in_flight == FOLLOWS_C:
        assert site.stats.max_in_flight == 3
    elif in_flight is None:  # one per URL discovered, all at once
        assert site.stats.max_in_flight > 3
    else:
        assert site.stats.max_in_flight == in_flight
