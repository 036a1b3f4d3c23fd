"""A page that sends the browser elsewhere: the ``Refresh`` header and ``<meta http-equiv="refresh">``.

    Refresh: 0; url=/new-place
    <meta http-equiv="refresh" content="0; url=/new-place">

Browsers follow both after the delay; wget and Scrapy follow them as
redirects. The asyncio crawler does the same (:func:`refresh_target` is asked
about every page it reads): a page with a refresh to another URL counts as a
redirect, ``skipped: "redirect"``, with ``redirects[url]`` saying where to,
and its target goes through the crawler's redirect handling (admission, the
``max_redirects`` limit, ``"redirect loop"``). The delay is not waited for.
A refresh without a URL (``content="30"``: reload this page every 30 s)
is no redirect: the page is crawled as any other.

Discussion: this module reads only the page's first
:data:`REFRESH_SCAN_BYTES` bytes, with the same prescan that finds
``<meta charset>`` (:func:`support.web.response.meta_tags`), not the
link parser: it stays apart from link extraction, and a page whose
``<meta http-equiv="refresh">`` comes after 8 KB of ``<head>`` is crawled as
a page (a browser would follow it).
"""

from __future__ import annotations

import webencodings

from support.web.response import detect_encoding, meta_tags

__all__ = ["refresh_target", "parse_refresh", "REFRESH_SCAN_BYTES"]

#: How much of a page is searched for ``<meta http-equiv="refresh">``.
REFRESH_SCAN_BYTES = 8192

_WHITESPACE = "\t\n\x0c\r "


def parse_refresh(value: str) -> str | None:
    """The URL of a refresh declaration (``"0; url='/x'"`` -> ``"/x"``), or None
    when it names none (a plain reload) or is not one (WHATWG "shared
    declarative refresh steps": digits, a separator, an optional ``url=``, an
    optional quote)."""
    rest = value.lstrip(_WHITESPACE)
    digits = len(rest) - len(rest.lstrip("0123456789"))
    if digits == 0 and not rest.startswith("."):
        return None
    rest = rest[digits:].lstrip("0123456789.")
    if not rest or rest[0] not in ";," + _WHITESPACE:
        return None
    rest = rest.lstrip(_WHITESPACE)
    if rest[:1] in (";", ","):
        rest = rest[1:]
    rest = rest.lstrip(_WHITESPACE)
    if rest[:3].lower() == "url":
        after = rest[3:].lstrip(_WHITESPACE)
        if after.startswith("="):
            rest = after[1:].lstrip(_WHITESPACE)
    if rest[:1] in ("'", '"'):
        rest = rest[1:].partition(rest[0])[0]
    url = rest.strip(_WHITESPACE)
    return url or None


def refresh_target(header: str | None, body: bytes, charset: str | None = None) -> str | None:
    """Where a page's refresh sends the reader: its ``Refresh`` header, else the
    first ``<meta http-equiv="refresh">`` in its first :data:`REFRESH_SCAN_BYTES`
    bytes (decoded in the page's encoding); None when neither names a URL."""
    if header is not None:
        return parse_refresh(header)
    head = body[:REFRESH_SCAN_BYTES]
    if b"refresh" not in head.lower():
        return None  # the common page: no prescan at all
    for attrs in meta_tags(head):
        if attrs.get(b"http-equiv", b"").strip().lower() == b"refresh" and b"content" in attrs:
            encoding = webencodings.lookup(detect_encoding(body, charset))
            return parse_refresh(encoding.codec_info.decode(attrs[b"content"], "replace")[0])
    return None
