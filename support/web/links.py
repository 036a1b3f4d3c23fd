"""Finding the links of a page and deciding which ones a crawler should follow.

Every crawler of the course (blocking, threads, callbacks, generator
coroutines, asyncio) shares these two steps, so they live here once:

* :func:`extract_links` reads the ``href`` of every ``<a>`` (BeautifulSoup by
  default, as the lecture does; :func:`extract_page_links` also returns the
  page's first ``<base href>``, and :func:`base_url` turns it into the URL that
  relative links resolve against, as browsers do). Both live in
  :mod:`support.web.parsing`, with the registry of parsers, and are
  re-exported here;
* :func:`classify` turns one href into the canonical URL to crawl, or into the
  reason to skip it (other host, ``mailto:``, ``javascript:``, only a
  fragment...), so that nothing a crawler meets is dropped without a reason.

:class:`LinkFilter` is :func:`classify` for one crawl (one root, an optional
allow-list of hosts) with a cache: the asyncio crawler's hot path.

Parsers: ``extract_links(html, parser)`` takes a name of :data:`PARSERS`
(see :mod:`support.web.parsing`).
"""

from __future__ import annotations

import posixpath
import re
from typing import Collection, Iterable, NamedTuple
from urllib.parse import quote, urldefrag, urljoin, urlsplit, urlunsplit

from support.web.parsing import (  # re-exported: every crawler reads links through this module
    CRAWL_PARSER,
    DEFAULT_PARSER,
    PARSERS,
    PageLinks,
    extract_links,
    extract_page_links,
)

__all__ = ["extract_links", "extract_page_links", "PageLinks", "base_url", "classify", "normalize",
           "Decision", "same_host", "same_origin", "follow", "LinkFilter", "PARSERS", "CRAWL_PARSER", "check_root",
           "EMPTY_HREF", "FRAGMENT_ONLY", "NOT_HTTP", "BAD_URL", "OTHER_HOST", "OTHER_SCHEME", "HREF_TOO_LONG",
           "MAX_HREF", "DEFAULT_PARSER"]

# Why :func:`classify` skips an href (stable English codes; the words a student
# reads come from :func:`support.web.report.label_es`). Templates are filled with
# ``str.format``.
EMPTY_HREF = "empty href"
FRAGMENT_ONLY = "fragment only (same page)"
NOT_HTTP = "scheme {scheme}: is not http"
BAD_URL = "malformed URL ({detail})"
OTHER_HOST = "other host ({host})"
OTHER_SCHEME = "other scheme ({origin})"  # https:// on the http:// site's host and port, or the reverse
HREF_TOO_LONG = "href over {max} characters"

#: Longest href worth reading, in characters: what servers accept in a request line
#: (Apache's 8,190 bytes, nginx's 8 KB buffers). A longer one is skipped
#: (:data:`HREF_TOO_LONG`) before any work: a 3.9 MB href of ``../`` cost the
#: crawler minutes once (issue 19), and none would be answered anyway.
MAX_HREF = 8_192


def base_url(page_url: str, base_href: str | None) -> str:
    """The URL the relative links of ``page_url`` resolve against.

    The first ``<base href>`` resolved against the page's URL (HTML's "frozen
    base URL"); the page's URL when there is none, or when it does not give an
    http(s) URL with a host (``<base href="javascript:...">``, a bad port...).
    """
    if base_href is None:
        return page_url
    text = _clean(base_href)
    if text is None:
        return page_url
    try:
        url = urljoin(page_url, _escape_raw_bytes(text))
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        return page_url
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return page_url
    return url


# Characters a URL path may carry as they are (RFC 3986 pchar and "/", plus "%").
_PATH_OK = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*")
_PATH_SAFE = "-._~!$&'()*+,;=:@/%"


# ... and a query: the same, plus "?" (RFC 3986, 3.4).
_QUERY_OK = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")
_QUERY_SAFE = _PATH_SAFE + "?"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize(url: str) -> str:
    """Canonical form of an absolute http(s) URL: lower-case scheme and host,
    no fragment, no default port, ``/`` for an empty path, no ``.``/``..``
    segments, and spaces or non-ASCII characters of the path and the query
    percent-encoded as UTF-8 (so ``/a b?q=ñ`` and ``/a%20b?q=%C3%B1`` are the
    same URL). An IPv6 literal keeps its brackets (``http://[::1]:8000/``);
    raw bytes that are not UTF-8 (a ``Location`` header with a byte over
    0x7F, which aiohttp hands over as a lone surrogate) are percent-encoded.

    A trailing slash is kept: ``/docs/`` and ``/docs`` are different resources
    for HTTP (a server may answer one and not the other).
    """
    url, _fragment = urldefrag(_escape_raw_bytes(url))
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal: urlsplit took its brackets off
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    path = parts.path or "/"
    if "%" in path:
        path = _PERCENT.sub(_normalize_escape, path)
    if "/." in path:
        path = _remove_dot_segments(path)
    if not _PATH_OK.fullmatch(path):
        path = quote(path, safe=_PATH_SAFE)
    query = parts.query
    if "%" in query:
        query = _PERCENT.sub(_normalize_escape, query)
    if not _QUERY_OK.fullmatch(query):
        query = quote(query, safe=_QUERY_SAFE)
    return urlunsplit((scheme, netloc, path, query, ""))


def _escape_raw_bytes(text: str) -> str:
    """Percent-encode the raw bytes a string carries as lone surrogates
    (``"\\udcff"`` -> ``"%FF"``): what aiohttp gives for a header byte that is
    not UTF-8. Such a string cannot be printed, encoded, or sent as it is."""
    if not _SURROGATE.search(text):
        return text
    return _SURROGATE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8", "surrogateescape")),
                          text)


_SURROGATE = re.compile("[\udc80-\udcff]+")


_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _normalize_escape(match: re.Match) -> str:
    """``%38`` -> ``8`` (an unreserved character needs no escape; servers and
    clients decode it, so ``/page/%38`` *is* ``/page/8``); other escapes in
    upper case (RFC 3986, 6.2.2)."""
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def _remove_dot_segments(path: str) -> str:
    """``/a/./b/../c`` -> ``/a/c`` (RFC 3986, 5.2.4), keeping a trailing slash."""
    trailing = path.endswith(("/", "/.", "/.."))
    clean = posixpath.normpath(path)
    if clean.startswith("//"):  # normpath keeps a leading "//"
        clean = "/" + clean.lstrip("/")
    return clean + "/" if trailing and clean != "/" else clean


def same_host(url: str, other: str) -> bool:
    """True when both absolute URLs name the same host and port (whatever the scheme)."""
    a, b = urlsplit(url), urlsplit(other)
    return (a.hostname, _port(a)) == (b.hostname, _port(b))


def same_origin(url: str, other: str) -> bool:
    """True when both absolute URLs have the same scheme, host and port.

    ``https://127.0.0.1:8000/`` is not the site ``http://127.0.0.1:8000/``:
    a plain HTTP port does not speak TLS (browsers call this the origin).
    """
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme.lower(), a.hostname, _port(a)) == (b.scheme.lower(), b.hostname, _port(b))


def _port(parts) -> int | None:
    return parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())


# What WHATWG's URL parser strips from both ends of an href (C0 controls and
# space), what it removes anywhere (tab, CR, LF), and what is left over that
# no URL should carry (other C0 controls, DEL: a NUL would be sent as %00).
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_TAB_OR_NEWLINE = re.compile("[\t\n\r]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _clean(href: str) -> str | None:
    """``href`` as a browser reads it, or None if it holds a control character."""
    text = _TAB_OR_NEWLINE.sub("", href.strip(_C0_AND_SPACE))
    return None if _CONTROL.search(text) else text


class Decision(NamedTuple):
    """What to do with one href: ``url`` to crawl, or ``None`` and ``reason`` to skip.

    ``href`` is the href as written, except that raw bytes that are not UTF-8
    are percent-encoded (so that it can be a key of a report written as JSON).
    """

    href: str
    url: str | None
    reason: str | None


def classify(href: str, page_url: str, root_url: str | None = None,
             allowed_hosts: Collection[str] | None = None) -> Decision:
    """Resolve ``href`` found on ``page_url``; follow it only if it stays on
    the host of ``root_url`` (default: the page's own host) or on one of
    ``allowed_hosts`` (``"host"`` or ``"host:port"``)."""
    if len(href) > MAX_HREF:
        return _too_long(href)
    root_url = root_url or page_url
    href = _escape_raw_bytes(href)
    text = _clean(href)
    if text is None:
        return Decision(href, None, BAD_URL.format(detail="control character"))
    if not text:
        return Decision(href, None, EMPTY_HREF)
    if text.startswith("#"):
        return Decision(href, None, FRAGMENT_ONLY)
    try:
        scheme = urlsplit(text).scheme.lower()
        if scheme and scheme not in ("http", "https"):
            return Decision(href, None, NOT_HTTP.format(scheme=scheme))
        url = normalize(urljoin(page_url, text))
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError as exc:  # e.g. "http://[::1" or "http://host:99999/"
        return Decision(href, None, BAD_URL.format(detail=exc))
    if not parts.hostname:
        return Decision(href, None, BAD_URL.format(detail="no host"))
    if not same_origin(url, root_url) and not _allowed(parts, allowed_hosts):
        if same_host(url, root_url):  # https:// on an http:// site's port, or the reverse
            return Decision(href, None, OTHER_SCHEME.format(origin=f"{parts.scheme}://{parts.netloc}"))
        return Decision(href, None, OTHER_HOST.format(host=parts.netloc))
    return Decision(href, url, None)


def _too_long(href: str) -> Decision:
    return Decision(_escape_raw_bytes(href), None, HREF_TOO_LONG.format(max=MAX_HREF))


def check_root(url: str) -> str:
    """The canonical form of a crawl's root URL, or a ``ValueError`` saying why it cannot be one.

    A root must be an absolute ``http://`` or ``https://`` URL with a host and
    a valid port, with no control characters: what a crawler can fetch at all.
    Checked once, at the start, so that a typo is an error there and then
    instead of a crawl that fails in a stranger way later.
    """
    if not isinstance(url, str):
        raise ValueError(f"root URL must be a string, got {type(url).__name__}")
    text = _clean(url)
    problem = None
    if text is None:
        problem = "it holds a control character"
    else:
        try:
            parts = urlsplit(text)
            if parts.scheme.lower() not in ("http", "https"):
                problem = "it is not an absolute http:// or https:// URL"
            elif not parts.hostname:
                problem = "it has no host"
            else:
                _ = parts.port  # raises ValueError for a port that is not a number
        except ValueError as exc:
            problem = f"it is malformed ({exc})"
    if problem is not None:
        raise ValueError(f"cannot crawl from root URL {url!r}: {problem}")
    return normalize(text)


def _allowed(parts, allowed_hosts: Collection[str] | None) -> bool:
    if not allowed_hosts:
        return False
    host = parts.hostname
    bracketed = f"[{host}]" if host and ":" in host else host  # "[::1]" or "::1" both allow an IPv6 host
    return parts.netloc in allowed_hosts or host in allowed_hosts or bracketed in allowed_hosts


class LinkFilter:
    """:func:`classify` for every href of one crawl, with a fast path.

    The crawler classifies every href of every page, so this is its hot loop.
    Most hrefs take one of three plain forms: absolute on the root's origin
    (``http://127.0.0.1:PORT/page/3``), root-relative (``/page/3``) or a bare
    relative name (``3``), maybe with a ``#fragment``. For those the canonical
    URL is a string concatenation; every other href (dot segments, queries,
    other schemes or hosts, odd characters...) goes through :func:`classify`.
    Both paths give the same :class:`Decision` (``tests/test_crawler.py``).
    """

    def __init__(self, root_url: str, allowed_hosts: Collection[str] | None = None):
        self.root_url = normalize(root_url)
        parts = urlsplit(self.root_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"  # no trailing slash
        self.allowed_hosts = frozenset(allowed_hosts) if allowed_hosts else None

    def __call__(self, href: str, page_url: str) -> Decision:
        if len(href) > MAX_HREF:
            return _too_long(href)
        origin = self.origin
        if href.startswith(origin):
            path = href[len(origin):]
            if path[:1] in ("/", "#", "") :
                url = _plain(origin, path or "/")
                if url is not None:
                    return Decision(href, url, None)
            return classify(href, page_url, self.root_url, self.allowed_hosts)
        # A relative href resolves on the page's origin: the fast path only when that is the root's
        # (a <base href> may name another host; "http://127.0.0.1:8000.evil/" starts with "...:8000").
        if not (page_url.startswith(origin) and page_url[len(origin):len(origin) + 1] in ("/", "?", "#", "")):
            return classify(href, page_url, self.root_url, self.allowed_hosts)
        if href.startswith("/"):
            if not href.startswith("//"):
                url = _plain(origin, href)
                if url is not None:
                    return Decision(href, url, None)
        elif href and href[0] not in "#?" and ":" not in href:
            # A relative path: the page's "directory", one level up per "../"
            # (the page's URL may carry a fragment: a <base href="/a#/b/">).
            # An index walks the href (copying the rest once per segment was quadratic: issue 19).
            path = page_url[len(origin):].partition("#")[0].partition("?")[0]
            base, i = path[: path.rfind("/") + 1] or "/", 0
            while href.startswith(("./", "../"), i):
                if href.startswith("../", i):
                    base = base[: base.rstrip("/").rfind("/") + 1] or "/"
                    i += 3
                else:
                    i += 2
            rest = href[i:]
            if rest not in (".", ".."):
                url = _plain(origin, base + rest)
                if url is not None:
                    return Decision(href, url, None)
        return classify(href, page_url, self.root_url, self.allowed_hosts)


def _plain(origin: str, path: str) -> str | None:
    """``origin + path`` without its fragment, if that is already canonical; else None.

    Also None for an empty segment (``//``) or a ``;``: ``urljoin``, which
    :func:`classify` uses, drops some of those (``x//y`` -> ``x/y``, a bare
    ``;``), so only :func:`classify` can say what they become.
    """
    path = path.partition("#")[0]
    if "/." in path or "//" in path or ";" in path or not _PLAIN_PATH.fullmatch(path):
        return None
    return origin + path


# A path (and query) that normalize() would leave exactly as it is (no escapes to normalize).
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")


def follow(hrefs: Iterable[str], page_url: str, root_url: str | None = None) -> list[str]:
    """The distinct canonical URLs worth crawling among ``hrefs``, in order."""
    out = dict.fromkeys(d.url for d in (classify(h, page_url, root_url) for h in hrefs) if d.url)
    return list(out)
