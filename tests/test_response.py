"""support.web.response: a body read within max_bytes as decoded, its MIME type and its encoding (issue 15, 1 and 7)."""

from __future__ import annotations

import asyncio
import gzip
import tracemalloc

import aiohttp
import pytest
from hostile_server import HostileSite, html
from multidict import CIMultiDict

from support.web.reasons import malformed_response, reason_of
from support.web.refresh import REFRESH_SCAN_BYTES, parse_refresh, refresh_target
from support.web.response import (
    BodyTooBig,
    declared_type,
    decode_html,
    detect_encoding,
    mime_type,
    parse_content_type,
    read_body,
    retry_after,
    sniff,
    unsupported_coding,
)

BOMB_DECODED = 50_000_000  # 50 MB of zeros: about 50 KB of gzip
MAX_BYTES = 1_000_000


@pytest.fixture(scope="module")
def bomb_site():
    site = HostileSite().start()
    bomb = gzip.compress(b"\0" * BOMB_DECODED, compresslevel=9)
    site.pages["/bomb"] = html(bomb, **{"Content-Encoding": "gzip"})
    site.pages["/small"] = html(gzip.compress(b"<a href=x>x</a>" * 100), **{"Content-Encoding": "gzip"})
    site.pages["/big-plain"] = html(b"x" * (MAX_BYTES + 1))
    yield site
    site.stop()


async def _read(url: str, max_bytes: int) -> bytes:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return await read_body(resp, max_bytes)


def test_a_decompression_bomb_stops_at_max_bytes_as_decoded(bomb_site):
    tracemalloc.start()
    try:
        with pytest.raises(BodyTooBig) as info:
            asyncio.run(_read(bomb_site.url + "bomb", MAX_BYTES))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert MAX_BYTES < info.value.read < 2 * MAX_BYTES  # the decoded bytes counted, one chunk past the cap
    assert peak < 8 * MAX_BYTES, f"peak {peak / 1e6:.1f} MB for a cap of {MAX_BYTES / 1e6:.1f} MB"


def test_a_compressed_body_under_the_cap_is_read_inflated(bomb_site):
    body = asyncio.run(_read(bomb_site.url + "small", MAX_BYTES))
    assert body == b"<a href=x>x</a>" * 100


def test_a_plain_body_over_the_cap_is_refused_from_its_content_length(bomb_site):
    with pytest.raises(BodyTooBig) as info:
        asyncio.run(_read(bomb_site.url + "big-plain", MAX_BYTES))
    assert info.value.read == 0


class _Streamed:
    """A response whose decoded body arrives in ``count`` chunks of ``size`` bytes (read_body's duck type)."""

    content_length = None
    headers: dict = {}

    def __init__(self, count: int, size: int):
        self.count, self.size = count, size
        self.content = self

    async def iter_any(self):
        for _ in range(self.count):
            yield bytes(self.size)


def test_a_body_up_to_the_cap_is_held_once_not_twice():
    chunk, count = 65_536, 60  # 3.9 MB in 64 KiB chunks, under a 4 MB cap

    async def measure() -> tuple[int, int]:  # the peak, not the body: asyncio.run would repr a returned body
        tracemalloc.start()
        try:
            body = await read_body(_Streamed(count, chunk), 4_000_000)
            return len(body), tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    size, peak = asyncio.run(measure())
    assert size == chunk * count
    # the promise: the body, one chunk, and a buffer's growth slack (an eighth); a final join holds 2x
    assert peak < size * 1.125 + 2 * chunk + 100_000, f"peak {peak / 1e6:.2f} MB for a {size / 1e6:.2f} MB body"


# -- MIME type: the header, or a sniff of the first bytes ----------------------

@pytest.mark.parametrize("header, head, mime", [
    ("text/html; charset=UTF-8", b"", "text/html"),
    ("TEXT/HTML", b"", "text/html"),
    ("application/json", b"<html>", "application/json"),   # a header is obeyed, not second-guessed
    (None, b"\n  <!DOCTYPE html><html>", "text/html"),
    (None, b"<HTML><body>", "text/html"),
    (None, b"<a href='/x'>x</a>", "text/html"),
    (None, b"<!-- hi --><p>", "text/html"),
    ("", b"<p>x", "text/html"),
    ("*/*", b"<title>x</title>", "text/html"),
    ("nonsense", b"<p>x", "text/html"),
    (None, b"<?xml version='1.0'?>", "text/xml"),
    (None, b"%PDF-1.7", "application/pdf"),
    (None, b"\x89PNG\r\n\x1a\n\x00\x00", "application/octet-stream"),
    (None, b"just words", "text/plain"),
    (None, b"<abbr>not a start the standard knows", "text/plain"),
])
def test_mime_type(header, head, mime):
    assert mime_type(header, head) == mime


def test_declared_type_is_none_when_the_body_must_decide():
    assert declared_type("Text/HTML; charset=x") == "text/html"
    assert [declared_type(h) for h in (None, "", "html", "unknown/unknown", "*/*", "application/unknown")] == [None] * 6


def test_parse_content_type():
    assert parse_content_type('text/html; Charset="ISO-8859-1"') == ("text/html", "ISO-8859-1")
    assert parse_content_type("text/html;charset=utf-8;q=1") == ("text/html", "utf-8")
    assert parse_content_type("text/html") == ("text/html", None)
    assert parse_content_type(None) is None and parse_content_type("html") is None
    assert sniff(b" " * 2000 + b"<html>") == "text/plain"  # past the 1445 bytes the standard looks at


# -- encoding: BOM, header charset, <meta> prescan, UTF-8 ----------------------

PAGE = '<html><head>{meta}</head><body><a href="/enc/meta-é">é</a></body></html>'


@pytest.mark.parametrize("body, header, encoding", [
    ("\ufeff" + PAGE.format(meta=""), None, "utf-16le"),                         # BOM first...
    ("\ufeff" + PAGE.format(meta="<meta charset=iso-8859-1>"), "koi8-r", "utf-16be"),  # ...over everything
    (PAGE.format(meta="<meta charset=iso-8859-1>"), None, "windows-1252"),     # WHATWG: latin1 is cp1252
    (PAGE.format(meta="<meta charset=iso-8859-1>"), "utf-8", "utf-8"),          # the header beats <meta>
    (PAGE.format(meta="<meta charset=iso-8859-1>"), "no-such-label", "windows-1252"),  # unknown header label
    (PAGE.format(meta='<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">'), None, "koi8-r"),
    (PAGE.format(meta="<!-- <meta charset=koi8-r> --><meta charset='shift_jis'>"), None, "shift_jis"),
    (PAGE.format(meta="<meta charset=utf-16le>"), None, "utf-8"),               # <meta> cannot say UTF-16
    (PAGE.format(meta="<meta charset=bogus><meta charset=koi8-r>"), None, "koi8-r"),
    ("<p>" + "x" * 1100 + PAGE.format(meta="<meta charset=koi8-r>"), None, "utf-8"),  # past 1024 bytes
    (PAGE.format(meta=""), None, "utf-8"),
])
def test_detect_encoding_in_whatwg_order(body, header, encoding):
    codec = {"utf-16le": "utf-16-le", "utf-16be": "utf-16-be", "windows-1252": "cp1252"}.get(encoding, encoding)
    data = body.encode(codec, "replace")
    assert detect_encoding(data, header) == encoding


def test_a_charset_label_with_a_raw_byte_is_an_unknown_label():
    # aiohttp hands a header byte that is not UTF-8 over as a lone surrogate: no encoding has that name,
    # so the <meta> prescan decides, as for any unknown label
    assert detect_encoding(b'<meta charset="iso-8859-2">', "\udcff") == "iso-8859-2"
    assert detect_encoding(b"<p>", "utf-8\udcff") == "utf-8"
    assert decode_html(b"<p>x</p>", "\udcff") == "<p>x</p>"


def test_decode_html_reads_the_link_as_written():
    for data, header in [
        (("\ufeff" + PAGE.format(meta="")).encode("utf-16-le"), None),
        (PAGE.format(meta="<meta charset=iso-8859-1>").encode("latin-1"), None),
        (PAGE.format(meta="").encode("latin-1"), "ISO-8859-1"),
        (PAGE.format(meta="").encode("utf-8"), None),
    ]:
        text = decode_html(data, header)
        assert '<a href="/enc/meta-é">' in text and not text.startswith("\ufeff")


# -- Retry-After -----------------------------------------------------------------

NOW = 1_800_000_000.0  # a fixed clock: 2027-01-15 08:00:00 UTC


@pytest.mark.parametrize("value, seconds", [
    ("1", 1.0), (" 120 ", 120.0), ("0", 0.0),
    ("Fri, 15 Jan 2027 08:00:30 GMT", 30.0),
    ("Fri, 15 Jan 2027 07:00:00 GMT", 0.0),   # a date in the past: ask again now
    (None, None), ("", None), ("soon", None), ("-5", None), ("1.5", None),
    ("Fri, 15 Jan 2027 08:00:30", None),      # a date without its zone is not an HTTP date
    ("²", None), ("١٢", None),                # str.isdigit() says yes; HTTP's digits are ASCII
    ("Wed, 21 Oct 99999999999999999999 07:28:00 GMT", None),  # a year no datetime holds
])
def test_retry_after(value, seconds):
    assert retry_after(value, now=NOW) == seconds


# -- issue 19, point 9: Python charset aliases after the WHATWG lookup ------------------


@pytest.mark.parametrize("label, encoding", [
    ("latin-1", "windows-1252"),    # Python's alias of iso8859-1, which WHATWG reads as windows-1252
    ("LATIN_1", "windows-1252"),
    ("utf_8", "utf-8"),
    ("cp1251", "windows-1251"),
    ("latin1", "windows-1252"),     # a WHATWG label itself
    ("rot13", "utf-8"),             # a Python codec, but no charset of the web: ignored
    ("utf-7", "utf-8"),
    ("hex", "utf-8"),
])
def test_a_python_alias_is_accepted_only_for_a_web_encoding(label, encoding):
    assert detect_encoding(b"<p>x</p>", label) == encoding


def test_latin_1_reads_an_enye():
    assert decode_html("<a href='/año'>".encode("latin-1"), "latin-1") == "<a href='/año'>"  # before: '/a\ufffdo'


# -- issue 19, point 11: refresh -----------------------------------------------------------


@pytest.mark.parametrize("value, url", [
    ("0; url=/x", "/x"),
    ("0;URL='/a b'", "/a b"),
    ('5, url="http://e.example/y"  ', "http://e.example/y"),
    ("0; /bare", "/bare"),
    (" 3.5 ;url = /z", "/z"),
    ("30", None),             # a reload, not a redirect
    ("", None),
    ("soon; url=/x", None),   # not a refresh: no delay
    ("0x; url=/x", None),
])
def test_parse_refresh(value, url):
    assert parse_refresh(value) == url


def test_refresh_target_reads_the_header_first_then_the_meta_in_the_page_encoding():
    page = '<head><!-- <meta http-equiv="refresh" content="0;url=/comment"> -->' \
           '<meta http-equiv="REFRESH" content="0; url=/a\xf1o"></head>'
    assert refresh_target(None, page.encode("latin-1"), "iso-8859-1") == "/año"
    assert refresh_target("0; url=/h", page.encode("latin-1")) == "/h"
    assert refresh_target(None, b"<p>refresh me</p>") is None
    late = b"<head>" + b" " * REFRESH_SCAN_BYTES + b'<meta http-equiv="refresh" content="0;url=/late">'
    assert refresh_target(None, late) is None  # only the first REFRESH_SCAN_BYTES are looked at


# -- issue 19, point 8: codings aiohttp does not undo ----------------------------------------


@pytest.mark.parametrize("headers, named", [
    ({"Content-Encoding": "gzip"}, None),
    ({"Content-Encoding": "identity"}, None),
    ({"Transfer-Encoding": "chunked"}, None),
    ({"Content-Encoding": "gzip, gzip"}, "Content-Encoding: gzip, gzip"),
    ({"Content-Encoding": "x-gzip"}, "Content-Encoding: x-gzip"),
    ({"Transfer-Encoding": "gzip, chunked"}, "Transfer-Encoding: gzip, chunked"),
])
def test_unsupported_coding(headers, named):
    assert unsupported_coding(CIMultiDict(headers)) == named


def test_two_content_encoding_headers_are_stacked_codings():
    assert unsupported_coding(CIMultiDict([("Content-Encoding", "gzip"), ("Content-Encoding", "gzip")])) \
        == "Content-Encoding: gzip, gzip"


def test_too_many_trailers_from_the_python_parser_is_malformed_not_lost():
    from aiohttp.http_exceptions import BadHttpMessage, ContentLengthError

    bad = aiohttp.ClientPayloadError("Response payload is not completed")
    bad.__cause__ = BadHttpMessage("Too many trailers received")
    cut = aiohttp.ClientPayloadError("Response payload is not completed")
    cut.__cause__ = ContentLengthError("Not enough data to satisfy content length header.")
    assert malformed_response(bad) == "malformed response (Too many trailers received)"  # before: None
    assert malformed_response(cut) is None and reason_of(cut) == "connection lost"
