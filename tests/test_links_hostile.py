"""support.web.links against hrefs nobody here wrote (issue 15, points 5, 6, 9).

IPv6 literals, ``<base href>``, query strings, ``https://`` on an ``http://``
port, control characters and raw bytes: each one turned into a wrong URL, a
crash or a useless request before.
"""

from __future__ import annotations

import json

import pytest

from support.web.links import (
    PARSERS,
    LinkFilter,
    base_url,
    check_root,
    classify,
    extract_page_links,
    normalize,
    same_origin,
)

ROOT = "http://127.0.0.1:8000/"
PAGE = ROOT + "dir/page"


# -- point 5: IPv6 literals keep their brackets --------------------------------

@pytest.mark.parametrize("url, canonical", [
    ("http://[::1]:8000/a", "http://[::1]:8000/a"),
    ("HTTP://[::1]:80/", "http://[::1]/"),
    ("http://[2001:DB8::1]/x#f", "http://[2001:db8::1]/x"),
])
def test_ipv6_literal_keeps_its_brackets(url, canonical):
    assert normalize(url) == canonical
    assert normalize(canonical) == canonical


def test_ipv6_links_are_followed_on_their_site_and_skipped_elsewhere():
    root = "http://[::1]:8000/"
    assert classify("/b", root).url == "http://[::1]:8000/b"
    assert classify("http://[::1]:8000/c", root).url == "http://[::1]:8000/c"
    assert LinkFilter(root)("d", root + "x/").url == "http://[::1]:8000/x/d"
    other = classify("http://[::1]:9000/", root)
    assert other.url is None and other.reason == "other host ([::1]:9000)"
    # ...unless allowed, written with or without brackets.
    for allowed in ("[::1]:9000", "::1", "[::1]"):
        assert classify("http://[::1]:9000/", root, allowed_hosts={allowed}).url == "http://[::1]:9000/"


# -- point 6: <base href> ------------------------------------------------------

BASED = """<html><head><base href="/other/dir/"><base href="/ignored/"></head>
<body><a href="a">a</a> <a href="../b">b</a> <a href="/c">c</a></body></html>"""


@pytest.mark.parametrize("parser", PARSERS)
def test_links_resolve_against_the_first_base_href(parser):
    links = extract_page_links(BASED, parser)
    assert links.base == "/other/dir/"
    assert links.hrefs == ["a", "../b", "/c"]
    base = base_url(PAGE, links.base)
    assert base == ROOT + "other/dir/"
    urls = [classify(h, base, ROOT).url for h in links.hrefs]
    assert urls == [ROOT + "other/dir/a", ROOT + "other/b", ROOT + "c"]
    assert [LinkFilter(ROOT)(h, base).url for h in links.hrefs] == urls


@pytest.mark.parametrize("base_href", [None, "javascript:alert(1)", "http://h:99999/", "/x\x00y", "mailto:x@y"])
def test_a_base_that_gives_no_http_url_is_ignored(base_href):
    assert base_url(PAGE, base_href) == PAGE


@pytest.mark.parametrize("parser", PARSERS)
def test_a_page_without_base_resolves_against_itself(parser):
    links = extract_page_links('<a href="x">x</a><base target="_top">', parser)
    assert links.base is None and base_url(PAGE, links.base) == PAGE


@pytest.mark.parametrize("parser", PARSERS)
def test_an_href_without_a_value_is_an_empty_href_for_every_parser(parser):
    # <a href> is there, with no value: every parser reports it ("empty href" for the crawler),
    # and a <base href> without a value is the first <base href> all the same
    links = extract_page_links('<base href><base href="/x/"><a href>x</a><a href="">y</a><a>z</a>', parser)
    assert links == ("", ["", ""])


@pytest.mark.parametrize("base_href, hrefs", [
    ("/a#/b/", ["y", "x//z", "./y", "/y"]),                      # a base with a fragment
    ("http://example.com/d/", ["/x", "x", "../x"]),               # a base on another host
    ("http://127.0.0.1:8000.evil/d/", ["/x", "x"]),               # ... that starts like the root's origin
])
def test_the_fast_filter_resolves_against_a_base_as_classify_does(base_href, hrefs):
    base = base_url(PAGE, base_href)
    for href in hrefs:
        assert LinkFilter(ROOT)(href, base) == classify(href, base, ROOT), (href, base)


# -- point 9: the query string is normalised like the path ---------------------

@pytest.mark.parametrize("href", ["/q?a=ñ b", "/q?a=%C3%B1%20b", "/q?a=%c3%b1%20b", "/q?a=ñ%20b#x",
                                  ROOT + "q?a=%C3%B1 b"])
def test_query_spellings_are_one_url(href):
    assert classify(href, PAGE).url == ROOT + "q?a=%C3%B1%20b"
    assert LinkFilter(ROOT)(href, PAGE).url == ROOT + "q?a=%C3%B1%20b"


def test_query_unreserved_escapes_are_decoded_and_reserved_ones_kept():
    assert normalize(ROOT + "q?x=%41%2f&y=1?z") == ROOT + "q?x=A%2F&y=1?z"


# -- point 9: https:// on the http:// site's port is another site --------------

def test_https_on_the_same_port_is_not_the_same_site():
    assert not same_origin("https://127.0.0.1:8000/", ROOT)
    assert same_origin("HTTP://127.0.0.1:8000/x", ROOT)
    assert same_origin("https://example.com/", "https://example.com:443/")
    decision = classify("https://127.0.0.1:8000/x", PAGE, ROOT)
    assert decision.url is None and decision.reason == "other scheme (https://127.0.0.1:8000)"
    assert LinkFilter(ROOT)("https://127.0.0.1:8000/x", PAGE) == decision


# -- point 9: control characters and raw bytes ---------------------------------

@pytest.mark.parametrize("href", ["/a\x00b", "/a\x01b", "/x\x7fy", "/x\x7f"])
def test_control_characters_are_skipped_not_sent(href):
    for decide in (classify, LinkFilter(ROOT)):
        decision = decide(href, PAGE)
        assert decision.url is None and decision.reason == "malformed URL (control character)"


@pytest.mark.parametrize("href, url", [
    ("\x00 /page/1 \x1f", ROOT + "page/1"),  # C0 and space at both ends are stripped, as browsers do
    ("/pa\tge/\n1\r", ROOT + "page/1"),      # tab, CR and LF are removed anywhere
])
def test_href_is_cleaned_as_a_browser_does(href, url):
    assert classify(href, PAGE).url == url
    assert LinkFilter(ROOT)(href, PAGE).url == url


def test_raw_bytes_become_escapes_and_every_key_is_utf8():
    location = b"/caf\xe9?x=\xff".decode("utf-8", "surrogateescape")  # how aiohttp hands over a raw byte
    decision = classify(location, PAGE)
    assert decision.url == ROOT + "caf%E9?x=%FF"
    assert decision.href == "/caf%E9?x=%FF"
    json.dumps({decision.href: decision.url}).encode("utf-8")  # a report key that can be written out
    assert normalize("http://h" + location) == "http://h/caf%E9?x=%FF"


# -- point 5: a root URL the crawler cannot use --------------------------------

@pytest.mark.parametrize("root", ["ftp://127.0.0.1/", "127.0.0.1:8000/page", "http://[::1", "http:///path",
                                  "http://127.0.0.1:99999/", "mailto:x@y.z", "", "http://h/a\x00b", None])
def test_a_root_that_cannot_be_crawled_is_a_clear_error(root):
    with pytest.raises(ValueError, match="root URL"):
        check_root(root)


@pytest.mark.parametrize("root, canonical", [("HTTP://[::1]:8000", "http://[::1]:8000/"),
                                             (" http://127.0.0.1:8000/a b ", "http://127.0.0.1:8000/a%20b")])
def test_a_good_root_comes_back_canonical(root, canonical):
    assert check_root(root) == canonical
