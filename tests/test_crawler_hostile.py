"""The asyncio crawler against a web nobody here wrote (issue 15, points 1-10).

Every test starts its own small server (``tests/hostile_server.py``) on a
free port of 127.0.0.1 (``::1`` for IPv6) and stops it. What a test measures
is a counter wherever one can say it: requests the server received, entries
in the report, bytes held (``tracemalloc``). Wall-clock bounds appear only
where the wall clock is the claim (the deadline), with the slack named.
"""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import json
import time
import tracemalloc

import aiohttp
import aiohttp.connector
import aiohttp.resolver
import pytest
from aiohttp import web
from hostile_server import html, ipv6_loopback_available, raw_page
from realtime import within

from support.crawlers.asyncio_crawler import crawl_sync
from support.web.report import MAX_PAGES, REDIRECT_LOOP, TOO_BIG, TOO_MANY_REDIRECTS, label_es

#: Slack for a noisy 2-core machine shared with other test runs, on top of a bound.


def links(*hrefs: str, extra: str = "") -> str:
    return "<html><body>" + extra + "".join(f'<a href="{h}">{h}</a>\n' for h in hrefs) + "</body></html>"


def delayed(seconds: float, text: str):
    async def handler(request: web.Request) -> web.Response:
        await asyncio.sleep(seconds)
        return web.Response(text=text, content_type="text/html")
    return handler


def accounted(result) -> int:
    """URLs with an outcome, counted: crawled + failed + skipped (listed or only counted)."""
    return len(result.crawled) + sum(result.reasons().values())


# -- 1. max_bytes counts decoded bytes ------------------------------------------


def test_a_decompression_bomb_is_stopped_at_max_bytes_decoded(make_hostile):
    site = make_hostile()
    site.pages["/"] = html(links("/bomb", "/ok"))
    site.pages["/bomb"] = html(gzip.compress(b"<p>" + b"\0" * 50_000_000, compresslevel=9),
                               **{"Content-Encoding": "gzip"})  # 50 KB on the wire, 50 MB inflated
    site.pages["/ok"] = html("<p>fine</p>")
    tracemalloc.start()
    try:
        result = crawl_sync(site.url, max_bytes=1_000_000, request_timeout=5, deadline=20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.outcome(site.url + "bomb") == "skipped" and result.skipped[site.url + "bomb"] == TOO_BIG
    assert result.outcome(site.url + "ok") == "crawled"
    assert result.bytes < 3_000_000, result.bytes
    assert peak < 20_000_000, f"peak {peak / 1e6:.0f} MB held for max_bytes=1 MB"


# -- 2. parsing does not starve the loop ------------------------------------------

COMMENT_BOMB = "<!--" * 25_000  # 100 KB: ~3 s of html.parser on Python 3.11 (quadratic, CVE-2025-6069)


@pytest.mark.parametrize("parser", [None, "html.parser"])
def test_a_slow_parse_does_not_make_healthy_requests_time_out(make_hostile, parser):
    site = make_hostile()
    slow = [f"/slow/{i}" for i in range(5)]
    site.pages["/"] = html(links("/bomb", *slow))
    site.pages["/bomb"] = html(COMMENT_BOMB)
    for path in slow:
        site.pages[path] = delayed(0.5, "<p>slow but healthy</p>")
    options = {} if parser is None else {"parser": parser}
    result = crawl_sync(site.url, concurrency=6, retries=0, request_timeout=1.5, deadline=30, **options)
    assert {path: result.outcome(site.url + path[1:]) for path in slow} == dict.fromkeys(slow, "crawled"), \
        result.failed


def test_the_deadline_holds_whatever_a_page_contains(make_hostile):
    site = make_hostile()
    site.pages["/"] = html(links("/bomb", "/a", "/b"))
    site.pages["/bomb"] = html("<!--" * 50_000)  # 200 KB: tens of seconds of html.parser
    site.pages["/a"] = site.pages["/b"] = html("<p>x</p>")
    deadline, request_timeout = 1.0, 1.0
    t0 = time.perf_counter()
    result = crawl_sync(site.url, parser="html.parser", deadline=deadline, request_timeout=request_timeout)
    elapsed = time.perf_counter() - t0
    within(elapsed, deadline + request_timeout, f"a crawl with a {deadline} s deadline")
    assert accounted(result) >= 4  # the root, the bomb, /a and /b each have an outcome
    for path in ("a", "b"):
        assert result.outcome(site.url + path) == "crawled"


# -- 3. bookkeeping stays bounded past max_pages ----------------------------------

TRAP_LINKS = 20_000


async def _trap_page(request: web.Request) -> web.Response:
    """Every page links TRAP_LINKS pages nobody has seen."""
    me = request.match_info.get("tail", "") or "root"
    body = "".join(f'<a href="/t/{me}-{i}">.</a>' for i in range(TRAP_LINKS))
    return web.Response(text=body, content_type="text/html")


def test_links_past_max_pages_are_counted_not_stored(make_hostile):
    site = make_hostile()
    site.pages["/"] = site.pages["/t/*"] = _trap_page
    max_pages = 10
    result = crawl_sync(site.url, max_pages=max_pages, concurrency=4, parser="selectolax", deadline=60,
                        max_bytes=5_000_000)
    assert len(result.crawled) == max_pages
    met = 1 + len(result.crawled) * TRAP_LINKS  # the root, and every link of every page crawled
    assert accounted(result) == met
    assert result.reasons()[MAX_PAGES] == met - max_pages
    assert len(result.skipped) <= result.sample < met, f"{len(result.skipped)} skipped URLs stored"
    assert sum(result.unlisted.values()) == met - max_pages - len(result.skipped)
    assert f"+{sum(result.unlisted.values())} counted, not listed" in result.summary()


# -- 4. Retry-After ------------------------------------------------------------

def _busy_for(seconds: float, status: int, retry_after: str):
    """429/503 with ``Retry-After`` until ``seconds`` after the first request; then a page."""
    first: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        now = time.monotonic()
        first[:] = first or [now]
        if now - first[0] < seconds:
            value = retry_after if retry_after != "date" else email.utils.formatdate(time.time() + seconds + 1,
                                                                                     usegmt=True)
            return web.Response(status=status, headers={"Retry-After": value})
        return web.Response(text="<p>ready</p>", content_type="text/html")
    return handler


@pytest.mark.parametrize("status, retry_after", [(429, "1"), (503, "1"), (429, "date")])
def test_retry_after_is_waited_for(make_hostile, status, retry_after):
    site = make_hostile()
    site.pages["/"] = html(links("/busy"))
    site.pages["/busy"] = _busy_for(1.0, status, retry_after)
    result = crawl_sync(site.url, retries=2, deadline=15)
    assert result.outcome(site.url + "busy") == "crawled", result.failed
    assert site.hits["/busy"] == 2  # asked once, then once more after Retry-After


@pytest.mark.parametrize("retry_after, limit", [("3600", "over 30 s"), ("10", "past the deadline")])
def test_retry_after_past_the_deadline_fails_at_once(make_hostile, retry_after, limit):
    site = make_hostile()
    site.pages["/"] = html(links("/busy"))
    site.pages["/busy"] = html("", status=429, **{"Retry-After": retry_after})
    result = crawl_sync(site.url, retries=2, deadline=5)
    assert result.outcome(site.url + "busy") == "failed"
    assert result.failed[site.url + "busy"] == f"HTTP 429 (Retry-After {retry_after} s, {limit})"
    assert site.hits["/busy"] == 1 and not result.deadline_reached


# -- 5. IPv6 literals, and a root the crawler cannot use --------------------------

@pytest.mark.skipif(not ipv6_loopback_available(), reason="this machine cannot bind ::1 (no IPv6 loopback)")
def test_an_ipv6_site_is_crawled(make_hostile):
    site = make_hostile(host="::1")
    root = site.url  # http://[::1]:PORT/
    site.pages["/"] = html(links("/a", f"{root}b", "http://[::1]:1/elsewhere"))
    site.pages["/a"] = site.pages["/b"] = html("<p>x</p>")
    result = crawl_sync(root, deadline=10)
    assert sorted(result.crawled) == [root, root + "a", root + "b"]
    assert result.skipped["http://[::1]:1/elsewhere"] == "other host ([::1]:1)"


@pytest.mark.parametrize("root", ["ftp://127.0.0.1/", "127.0.0.1:8000/page", "http://[::1", "http:///path",
                                  "http://127.0.0.1:99999/", "mailto:x@y.z", ""])
def test_a_root_the_crawler_cannot_use_is_a_clear_error_at_the_start(root):
    with pytest.raises(ValueError, match="root URL"):
        crawl_sync(root, deadline=2)


# -- 6. <base href> --------------------------------------------------------------


def test_relative_links_resolve_against_base_href(make_hostile):
    site = make_hostile()
    site.pages["/"] = html(links("p", extra='<base href="/sub/">'))
    site.pages["/sub/p"] = html("<p>x</p>")
    result = crawl_sync(site.url, deadline=10)
    assert result.outcome(site.url + "sub/p") == "crawled"
    assert site.hits["/p"] == 0


# -- 7. encodings and a missing Content-Type --------------------------------------


def test_encodings_are_detected_in_whatwg_order(make_hostile):
    site = make_hostile()
    site.pages["/"] = html(links("/utf16", "/meta"))
    site.pages["/utf16"] = html(("\ufeff" + links("/enc/u16")).encode("utf-16-le"), content_type="text/html")
    site.pages["/meta"] = html(("<meta charset=iso-8859-1>" + links("/enc/meta-é")).encode("latin-1"),
                               content_type="text/html")
    site.pages["/enc/u16"] = site.pages["/enc/meta-é"] = html("<p>x</p>")
    result = crawl_sync(site.url, deadline=10)
    assert result.outcome(site.url + "enc/u16") == "crawled"
    assert result.outcome(site.url + "enc/meta-%C3%A9") == "crawled"
    assert site.hits["/enc/meta-%C3%A9"] == 1


def test_html_without_a_content_type_is_sniffed(make_raw):
    raw = make_raw({"/": raw_page(b"\n<!DOCTYPE html><html><a href='/x'>x</a></html>"),
                    "/x": raw_page(b"<p>x", "Content-Type: text/html"),
                    "/png": raw_page(b"\x89PNG\r\n\x1a\n\x00\x00")})
    raw.answers["/"] = raw_page(b"\n<!DOCTYPE html><html><a href='/x'>x</a><a href='/png'>p</a></html>")
    result = crawl_sync(raw.url, deadline=10)
    assert result.outcome(raw.url) == "crawled" and result.outcome(raw.url + "x") == "crawled"
    assert result.outcome(raw.url + "png") == "skipped"


# -- 8. redirect loops are named ------------------------------------------------

def _redirect(to: str, status: int = 301):
    return html("", status=status, Location=to)


@pytest.mark.parametrize("pages", [{"/a": "/a"}, {"/a": "/b", "/b": "/a"}])
def test_a_redirect_loop_is_named(make_hostile, pages):
    site = make_hostile()
    site.pages["/"] = html(links("/a"))
    for path, to in pages.items():
        site.pages[path] = _redirect(to)
    result = crawl_sync(site.url, deadline=10)
    assert result.reasons()[REDIRECT_LOOP] == 1, result.reasons()
    assert all(site.hits[path] == 1 for path in pages)


def test_a_redirect_to_another_host_past_max_redirects_says_other_host(make_hostile):
    site = make_hostile()
    site.pages["/"] = html(links("/r0"))
    for i in range(3):
        site.pages[f"/r{i}"] = _redirect(f"/r{i + 1}")
    site.pages["/r3"] = _redirect("http://elsewhere.invalid/")
    result = crawl_sync(site.url, max_redirects=3, deadline=10)
    assert result.skipped.get("http://elsewhere.invalid/") == "other host (elsewhere.invalid)", result.skipped
    assert TOO_MANY_REDIRECTS not in result.reasons()


# -- 9. query strings, https on an http port, NUL, raw bytes, protocol errors ------

def test_two_spellings_of_one_query_are_fetched_once(make_hostile):
    site = make_hostile()
    site.pages["/"] = html(links("/q?a=ñ b", "/q?a=%C3%B1%20b"))
    site.pages["/q"] = html("<p>q</p>")
    result = crawl_sync(site.url, deadline=10)
    assert sum(n for path, n in site.hits.items() if path.startswith("/q")) == 1
    assert [url for url in result.crawled if "/q" in url] == [site.url + "q?a=%C3%B1%20b"]


def test_https_on_the_sites_port_is_not_tried(make_hostile):
    site = make_hostile()
    https = site.url.replace("http://", "https://") + "x"
    site.pages["/"] = html(links(https))
    result = crawl_sync(site.url, deadline=10)
    assert result.outcome(https) == "skipped" and result.skipped[https].startswith("other scheme")
    assert sum(n for path, n in site.hits.items() if path != "/robots.txt") == 1  # the root only: no TLS hello


@pytest.mark.parametrize("parser", [None, "html.parser"])
def test_a_nul_in_an_href_is_never_sent(make_hostile, parser):
    site = make_hostile()
    site.pages["/"] = html(links("/a\x00b", "/ok"))
    site.pages["/ok"] = html("<p>x</p>")
    options = {} if parser is None else {"parser": parser}
    result = crawl_sync(site.url, deadline=10, **options)
    assert result.outcome(site.url + "ok") == "crawled"
    assert not [path for path in site.hits if "%00" in path]


def test_a_raw_byte_in_a_location_leaves_a_report_that_can_be_written(make_raw):
    raw = make_raw({"/": raw_page(b"<a href='/r'>r</a>", "Content-Type: text/html"),
                    "/r": raw_page(b"", "Location: /caf\xe9", status="301 Moved Permanently"),
                    "/caf%E9": raw_page(b"<p>x", "Content-Type: text/html")})
    raw.answers["/r"] = b"HTTP/1.1 301 Moved\r\nLocation: /caf\xe9\r\nContent-Length: 0\r\n\r\n"
    result = crawl_sync(raw.url, deadline=10)
    for table in (result.crawled, result.skipped, result.failed):
        json.dumps(table, ensure_ascii=False).encode("utf-8")
    assert result.outcome(raw.url + "caf%E9") == "crawled"


PROTOCOL_ERRORS = {
    "/chunk": (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"zz\r\nhello\r\n0\r\n\r\n", "chunk size"),
    "/http09": (b"<html><a href=/x>x</a></html>\n", "status line"),
    "/headers": (b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(10_000))
                 + b"Content-Length: 0\r\n\r\n", "headers"),
    "/dupcl": (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
               b"hello!", "Content-Length"),
    "/brotli": (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: br\r\nContent-Length: 10\r\n"
                b"\r\n\x00\x01\x02garbage", "content-encoding"),
}


def test_protocol_errors_are_named_and_not_retried(make_raw):
    answers = {path: answer for path, (answer, _) in PROTOCOL_ERRORS.items()}
    answers["/"] = raw_page(links(*PROTOCOL_ERRORS).encode(), "Content-Type: text/html")
    raw = make_raw(answers)
    result = crawl_sync(raw.url, retries=2, deadline=20)
    for path, (_, words) in PROTOCOL_ERRORS.items():
        reason = result.failed.get(raw.url + path[1:], "")
        assert words.lower() in reason.lower(), (path, reason)
        assert raw.hits[path] == 1, (path, raw.hits[path])


# -- 10. defaults fit real pages -------------------------------------------------


def test_default_limits_fit_a_real_documentation_page(make_hostile):
    """``genindex-all.html`` of the Python 3.11 docs is 1.7 MB: the defaults must crawl it."""
    site = make_hostile()
    site.pages["/"] = html(links("/genindex-all.html"))
    site.pages["/genindex-all.html"] = html(links("/") + "<p>" + "entry " * 350_000 + "</p>")
    result = crawl_sync(site.url, deadline=20)
    assert result.outcome(site.url + "genindex-all.html") == "crawled", result.skipped


@pytest.mark.parametrize("reason, spanish", [
    ("redirect loop", "bucle de redirecciones"),
    ("HTTP 429 (Retry-After 3600 s, over 30 s)", "HTTP 429 (Retry-After de 3600 s, más de 30 s)"),
    ("HTTP 503 (Retry-After 10 s, past the deadline)", "HTTP 503 (Retry-After de 10 s, más allá del plazo total)"),
    ("malformed response (Duplicate Content-Length)", "respuesta mal formada (Duplicate Content-Length)"),
    ("other scheme (https://127.0.0.1:8000)", "otro esquema (https://127.0.0.1:8000)"),
])
def test_the_new_reasons_have_spanish_labels(reason, spanish):
    assert label_es(reason) == spanish


# -- 11. what a maintainers' review of the crawler found ---------------------------


@pytest.mark.parametrize("value", ["²", "Wed, 21 Oct 99999999999999999999 07:28:00 GMT"])
def test_a_hostile_retry_after_fails_one_url_not_the_crawl(make_hostile, value):
    site = make_hostile()
    site.pages["/"] = html(links("/busy", "/ok"))
    site.pages["/busy"] = html("busy", status=503, **{"Retry-After": value})
    site.pages["/ok"] = html("<p>fine</p>")
    result = crawl_sync(site.url, retries=1, backoff=0.01, deadline=10)
    assert result.failed == {site.url + "busy": "HTTP 503"}  # an unusable Retry-After: the backoff decides
    assert result.outcome(site.url + "ok") == "crawled" and site.hits["/busy"] == 2


def test_a_raw_byte_in_the_charset_is_an_unknown_charset_not_a_parse_error(make_raw):
    raw = make_raw({"/": b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=\xff\r\nContent-Length: 22\r\n"
                         b"Connection: close\r\n\r\n<a href='/x'>x</a>    ",
                    "/x": raw_page(b"<p>x", "Content-Type: text/html")})
    result = crawl_sync(raw.url, deadline=10)
    assert result.crawled == {raw.url: 200, raw.url + "x": 200}, result.failed


def test_a_body_cut_short_is_a_connection_lost_chunked_or_not(make_raw):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
    raw = make_raw({"/": raw_page(links("/cl", "/chunked").encode(), "Content-Type: text/html"),
                    "/cl": head + b"Content-Length: 1000\r\n\r\n<html><p>only part of it",
                    "/chunked": head + b"Transfer-Encoding: chunked\r\n\r\n3e8\r\n<html><p>only part of it"})
    result = crawl_sync(raw.url, retries=2, backoff=0.01, deadline=10)
    assert result.failed == {raw.url + "cl": "connection lost", raw.url + "chunked": "connection lost"}
    assert raw.hits["/cl"] == raw.hits["/chunked"] == 3  # transient: asked again, as any connection lost


class _NoSuchHost(aiohttp.resolver.ThreadedResolver):
    """A resolver that answers like aiodns for a name that does not exist, without asking anyone."""

    async def resolve(self, host, port=0, family=0):
        raise OSError(None, "Domain name not found")  # as aiohttp.resolver.AsyncResolver raises it


def test_a_name_that_does_not_resolve_is_host_not_found(monkeypatch):
    monkeypatch.setattr(aiohttp.connector, "DefaultResolver", _NoSuchHost)
    result = crawl_sync("http://nowhere.invalid/", retries=0, deadline=10)
    assert result.failed == {"http://nowhere.invalid/": "host not found"}


@pytest.mark.parametrize("content_type", ["unknown/unknown", "*/*", "application/unknown"])
def test_a_page_typed_unknown_is_read_and_sniffed(make_hostile, content_type):
    site = make_hostile()
    site.pages["/"] = html(links("/unk", "/unk-pdf"))
    site.pages["/unk"] = html(links("/from-unk", extra="<!DOCTYPE html>"), content_type=content_type)
    site.pages["/unk-pdf"] = html(b"%PDF-1.4 not a page", content_type=content_type)
    site.pages["/from-unk"] = html("<p>x</p>")
    result = crawl_sync(site.url, deadline=10)
    assert result.outcome(site.url + "unk") == "crawled" and result.outcome(site.url + "from-unk") == "crawled"
    assert result.skipped == {site.url + "unk-pdf": "not HTML (application/pdf)"}


def test_a_base_href_with_a_fragment_or_on_another_host_resolves_as_a_browser_does(make_hostile):
    site = make_hostile()
    site.pages["/"] = html(links("/b/", "/o/"))
    site.pages["/b/"] = html(links("y", extra='<base href="/a#/b/">'))  # "y" is /y, not the base's /a
    site.pages["/o/"] = html(links("/x", extra='<base href="http://elsewhere.invalid/">'))
    site.pages["/y"] = html("<p>y</p>")
    result = crawl_sync(site.url, deadline=10)
    assert set(result.crawled) == {site.url, site.url + "b/", site.url + "o/", site.url + "y"}
    assert result.skipped == {"/x": "other host (elsewhere.invalid)"}
    assert site.hits["/a"] == site.hits["/x"] == 0


@pytest.mark.parametrize("parser", ["selectolax", "html.parser"])
def test_an_href_without_a_value_is_skipped_with_a_reason(make_hostile, parser):
    site = make_hostile()
    site.pages["/"] = html("<a href>nothing</a>")
    result = crawl_sync(site.url, deadline=10, parser=parser)
    assert result.skipped == {"": "empty href"}
