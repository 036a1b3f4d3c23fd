"""support.web.links: one canonical URL per resource, and a reason for every skipped href."""

from __future__ import annotations

import pytest

from support.web.links import LinkFilter, classify, follow, normalize

ROOT = "http://127.0.0.1:8000/"


@pytest.mark.parametrize("url, canonical", [
    ("HTTP://127.0.0.1:8000/page/1#x", "http://127.0.0.1:8000/page/1"),
    ("http://example.com:80", "http://example.com/"),
    ("http://127.0.0.1:8000/page/%38", "http://127.0.0.1:8000/page/8"),      # unreserved escape decoded
    ("http://127.0.0.1:8000/page/%2e%2e/page/2", "http://127.0.0.1:8000/page/2"),  # ...even a dot
    ("http://127.0.0.1:8000/a%2fb", "http://127.0.0.1:8000/a%2Fb"),         # reserved escape kept, upper case
    ("http://127.0.0.1:8000/a b", "http://127.0.0.1:8000/a%20b"),
    ("http://127.0.0.1:8000/a/./b/../c/", "http://127.0.0.1:8000/a/c/"),
])
def test_normalize(url, canonical):
    assert normalize(url) == canonical
    assert normalize(canonical) == canonical  # idempotent


@pytest.mark.parametrize("href, reason", [
    ("mailto:a@b.c", "mailto"), ("javascript:void(0)", "javascript"), ("#arriba", "fragment"),
    ("http://otro.example/x", "other host"), ("", "empty"),
])
def test_skipped_hrefs_say_why(href, reason):
    decision = classify(href, ROOT + "page/3")
    assert decision.url is None and reason in decision.reason


@pytest.mark.parametrize("href", ["/page/%38", "%38", "./%38", "../page/%38", "http://127.0.0.1:8000/page/%38#x", "8"])
def test_escaped_and_plain_forms_are_one_url(href):
    assert classify(href, ROOT + "page/3").url == ROOT + "page/8"
    assert LinkFilter(ROOT)(href, ROOT + "page/3").url == ROOT + "page/8"


def test_follow_dedupes_in_order():
    hrefs = ["/page/2", "page/%32", "mailto:x@y.z", "/page/1#a", "/page/1"]
    assert follow(hrefs, ROOT) == [ROOT + "page/2", ROOT + "page/1"]
