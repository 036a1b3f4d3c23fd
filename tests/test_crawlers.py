"""The crawler contract: every entry of support.crawlers.registry.CRAWLERS is called the
same way, crawls the same site the same way, and explains its failures with the
same words (support.web.report.reason_of)."""

from __future__ import annotations

import asyncio
import socket
import ssl

import aiohttp
import pytest

from support.crawlers.blocking import parse_response
from support.crawlers.registry import CRAWLERS, crawl_with
from support.osutil import free_port
from support.web.report import (
    CONNECTION_LOST,
    CONNECTION_REFUSED,
    DEADLINE,
    HOST_NOT_FOUND,
    MALFORMED_RESPONSE,
    MALFORMED_URL,
    MAX_PAGES,
    TIMEOUT,
    TLS_ERROR,
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


@pytest.mark.parametrize("name", NAMES)
def test_max_pages_means_the_same_for_every_crawler(make_site, name):
    site = make_site(pages=30)
    report = crawl_with(name, site.url, CrawlOptions(max_pages=7, concurrency=3))
    robots = 1 if name == "asyncio" else 0  # the asyncio crawler reads /robots.txt first (CrawlOptions.obey_robots)
    assert len(report.crawled) == 7 and site.stats.requests == 7 + robots
    assert MAX_PAGES in report.reasons()


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
    assert m["crawled"] == 5 and m["failed"] == 0 and m["seconds"] > 0 and m["peak_growth_kb"] >= 0
    assert site.stats.requests == 5  # the child crawled this site, over HTTP
    with pytest.raises(ValueError, match="unknown crawler"):
        measure_isolated("threads", site.url, 2)
