"""Finding the links of a page and deciding which ones a crawler should follow.

Every crawler of the course (blocking, threads, callbacks, generator
coroutines, asyncio) shares these two steps, so they live here once:

* :func:`extract_links` reads the ``href`` of every ``<a>`` with BeautifulSoup,
  as the lecture does;
* :func:`classify` turns one href into the canonical URL to crawl, or into the
  reason to skip it (other host, ``mailto:``, ``javascript:``, only a
  fragment...), so that nothing a crawler meets is dropped without a reason.

:class:`LinkFilter` is :func:`classify` for one crawl (one root, an optional
allow-list of hosts) with a cache: the asyncio crawler's hot path.

Parsers: ``extract_links(html, parser)`` takes BeautifulSoup's builders
(``"html.parser"``, the standard library's, and ``"lxml"``) or
``"selectolax"`` (the lexbor engine, compiled C, no BeautifulSoup tree at all).
"""

from __future__ import annotations

import posixpath
import re
from typing import Collection, Iterable, NamedTuple
from urllib.parse import quote, urldefrag, urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup
from selectolax.lexbor import LexborHTMLParser

__all__ = ["extract_links", "classify", "normalize", "Decision", "same_host", "follow",
           "LinkFilter", "PARSERS", "EMPTY_HREF", "FRAGMENT_ONLY", "NOT_HTTP", "BAD_URL", "OTHER_HOST"]

#: The parser BeautifulSoup uses unless told otherwise: the standard library's.
DEFAULT_PARSER = "html.parser"

#: Parsers :func:`extract_links` accepts: BeautifulSoup builders, and selectolax.
PARSERS = ("html.parser", "lxml", "selectolax")

# Why :func:`classify` skips an href (stable English codes; the words a student
# reads come from :func:`support.report.label_es`). Templates are filled with
# ``str.format``.
EMPTY_HREF = "empty href"
FRAGMENT_ONLY = "fragment only (same page)"
NOT_HTTP = "scheme {scheme}: is not http"
BAD_URL = "malformed URL ({detail})"
OTHER_HOST = "other host ({host})"


def extract_links(html: str | bytes, parser: str = DEFAULT_PARSER) -> list[str]:
    """Every ``href`` of every ``<a>`` in ``html``, in document order, as written.

    ``parser`` is a BeautifulSoup builder (``"html.parser"``, ``"lxml"``) or
    ``"selectolax"``, which parses with lexbor in C and builds no Python tree.
    """
    if parser == "selectolax":
        return _selectolax_links(html)
    soup = BeautifulSoup(html, parser)
    return [a["href"] for a in soup.find_all("a", href=True)]


def _selectolax_links(html: str | bytes) -> list[str]:
    out = []
    for node in LexborHTMLParser(html).tags("a"):
        href = node.attrs.get("href")
        if href is not None:
            out.append(href)
    return out


# Characters a URL path may carry as they are (RFC 3986 pchar and "/", plus "%").
_PATH_OK = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*")
_PATH_SAFE = "-._~!$&'()*+,;=:@/%"


def normalize(url: str) -> str:
    """Canonical form of an absolute http(s) URL: lower-case scheme and host,
    no fragment, no default port, ``/`` for an empty path, no ``.``/``..``
    segments, and spaces or non-ASCII characters of the path percent-encoded
    (so ``/a b`` and ``/a%20b`` are the same URL).

    A trailing slash is kept: ``/docs/`` and ``/docs`` are different resources
    for HTTP (a server may answer one and not the other).
    """
    url, _fragment = urldefrag(url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    path = parts.path or "/"
    if "%" in path:
        path = _PERCENT.sub(_normalize_escape, path)
    if "/." in path:
        path = _remove_dot_segments(path)
    if not _PATH_OK.fullmatch(path):
        path = quote(path, safe=_PATH_SAFE)
    return urlunsplit((scheme, netloc, path, parts.query, ""))


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
    """True when both absolute URLs name the same host and port."""
    a, b = urlsplit(url), urlsplit(other)
    return (a.hostname, a.port or 80) == (b.hostname, b.port or 80)


class Decision(NamedTuple):
    """What to do with one href: ``url`` to crawl, or ``None`` and ``reason`` to skip."""

    href: str
    url: str | None
    reason: str | None


def classify(href: str, page_url: str, root_url: str | None = None,
             allowed_hosts: Collection[str] | None = None) -> Decision:
    """Resolve ``href`` found on ``page_url``; follow it only if it stays on
    the host of ``root_url`` (default: the page's own host) or on one of
    ``allowed_hosts`` (``"host"`` or ``"host:port"``)."""
    root_url = root_url or page_url
    text = href.strip()
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
        parts.port  # raises ValueError for a port that is not a number
    except ValueError as exc:  # e.g. "http://[::1" or "http://host:99999/"
        return Decision(href, None, BAD_URL.format(detail=exc))
    if not parts.hostname:
        return Decision(href, None, BAD_URL.format(detail="no host"))
    if not same_host(url, root_url) and not _allowed(parts, allowed_hosts):
        return Decision(href, None, OTHER_HOST.format(host=parts.netloc))
    return Decision(href, url, None)


def _allowed(parts, allowed_hosts: Collection[str] | None) -> bool:
    return bool(allowed_hosts) and (parts.netloc in allowed_hosts or parts.hostname in allowed_hosts)


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
        origin = self.origin
        if href.startswith(origin):
            path = href[len(origin):]
            if path[:1] in ("/", "#", "") :
                url = _plain(origin, path or "/")
                if url is not None:
                    return Decision(href, url, None)
        elif href.startswith("/"):
            if not href.startswith("//"):
                url = _plain(origin, href)
                if url is not None:
                    return Decision(href, url, None)
        elif href and href[0] not in "#?" and ":" not in href and page_url.startswith(origin):
            # A relative path: the page's "directory", one level up per "../".
            path = page_url[len(origin):].partition("?")[0]
            base, rest = path[: path.rfind("/") + 1] or "/", href
            while rest.startswith(("./", "../")):
                if rest.startswith("../"):
                    base = base[: base.rstrip("/").rfind("/") + 1] or "/"
                rest = rest.partition("/")[2]
            if rest not in (".", ".."):
                url = _plain(origin, base + rest)
                if url is not None:
                    return Decision(href, url, None)
        return classify(href, page_url, self.root_url, self.allowed_hosts)


def _plain(origin: str, path: str) -> str | None:
    """``origin + path`` without its fragment, if that is already canonical; else None."""
    path = path.partition("#")[0]
    if "/." in path or not _PLAIN_PATH.fullmatch(path):
        return None
    return origin + path


# A path (and query) that normalize() would leave exactly as it is (no escapes to normalize).
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")


def follow(hrefs: Iterable[str], page_url: str, root_url: str | None = None) -> list[str]:
    """The distinct canonical URLs worth crawling among ``hrefs``, in order."""
    out = dict.fromkeys(d.url for d in (classify(h, page_url, root_url) for h in hrefs) if d.url)
    return list(out)
