"""The asyncio crawler against a web nobody here wrote (issue 15, points 4, 8, 9, 10): what the server answers.

``Retry-After`` waited for, or refused at once past the deadline; redirect
loops named; answers that break HTTP (a bad chunk, duplicate lengths, a body
cut short, a raw byte in a header, a name that does not resolve) failed with a
reason and not retried; each new reason in Spanish too. Servers and measures
as in ``tests/test_crawler_hostile.py``.
"""

from __future__ import annotations

import email.utils
import json
import time

import aiohttp
import aiohttp.connector
import aiohttp.resolver
import pytest
from aiohttp import web
from hostile_server import html, links, raw_page

from support.crawlers.asyncio_crawler import crawl_sync
from support.web.report import REDIRECT_LOOP, TOO_MANY_REDIRECTS, label_es

# -- 4. Retry-After ----------------------------------------------------------------


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


# -- 8. redirect loops are named ---------------------------------------------------


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


# -- 9. raw bytes, protocol errors -------------------------------------------------


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


# -- 10. the new reasons, in Spanish -----------------------------------------------


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
