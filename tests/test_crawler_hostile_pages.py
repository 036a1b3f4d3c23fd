"""The asyncio crawler against a web nobody here wrote (issue 15, points 5, 6, 7, 9): the pages.

Their URLs and links (IPv6 literals, a root the crawler cannot use,
``<base href>``, two spellings of one query, https on the site's port, a NUL
or no value in an href) and their bytes (encodings in the browsers' order, a
missing or unknown Content-Type, a raw byte in the charset). Servers and
measures as in ``tests/test_crawler_hostile.py``.
"""

from __future__ import annotations

import pytest
from hostile_server import html, ipv6_loopback_available, links, raw_page

from support.crawlers.asyncio_crawler import crawl_sync

# -- 5. IPv6 literals, and a root the crawler cannot use ---------------------------


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


# -- 6. <base href> ----------------------------------------------------------------


def test_relative_links_resolve_against_base_href(make_hostile):
    site = make_hostile()
    site.pages["/"] = html(links("p", extra='<base href="/sub/">'))
    site.pages["/sub/p"] = html("<p>x</p>")
    result = crawl_sync(site.url, deadline=10)
    assert result.outcome(site.url + "sub/p") == "crawled"
    assert site.hits["/p"] == 0


# -- 7. encodings and a missing Content-Type ---------------------------------------


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


# -- 9. query strings, https on an http port, NUL ----------------------------------


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


# -- 11. what a maintainers' review of the crawler found ---------------------------


def test_a_raw_byte_in_the_charset_is_an_unknown_charset_not_a_parse_error(make_raw):
    raw = make_raw({"/": b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=\xff\r\nContent-Length: 22\r\n"
                         b"Connection: close\r\n\r\n<a href='/x'>x</a>    ",
                    "/x": raw_page(b"<p>x", "Content-Type: text/html")})
    result = crawl_sync(raw.url, deadline=10)
    assert result.crawled == {raw.url: 200, raw.url + "x": 200}, result.failed


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
