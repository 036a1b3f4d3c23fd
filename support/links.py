"""Finding the links of a page and deciding which ones a crawler should follow.

Every crawler of the course (blocking, threads, callbacks, generator
coroutines, asyncio) shares these two steps, so they live here once:

* :func:`extract_links` reads the ``href`` of every ``<a>`` with BeautifulSoup,
  as the lecture does;
* :func:`classify` turns one href into the canonical URL to crawl, or into the
  reason to skip it (other host, ``mailto:``, ``javascript:``, only a
  fragment...), so that nothing a crawler meets is dropped without a reason.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup

__all__ = ["extract_links", "classify", "normalize", "Decision", "same_host", "follow"]

#: The parser BeautifulSoup uses unless told otherwise: the standard library's.
DEFAULT_PARSER = "html.parser"


def extract_links(html: str | bytes, parser: str = DEFAULT_PARSER) -> list[str]:
    """Every ``href`` of every ``<a>`` in ``html``, in document order, as written."""
    soup = BeautifulSoup(html, parser)
    return [a["href"] for a in soup.find_all("a", href=True)]


def normalize(url: str) -> str:
    """Canonical form of an absolute http(s) URL: lower-case scheme and host,
    no fragment, no default port, ``/`` for an empty path."""
    url, _fragment = urldefrag(url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def same_host(url: str, other: str) -> bool:
    """True when both absolute URLs name the same host and port."""
    a, b = urlsplit(url), urlsplit(other)
    return (a.hostname, a.port or 80) == (b.hostname, b.port or 80)


class Decision(NamedTuple):
    """What to do with one href: ``url`` to crawl, or ``None`` and ``reason`` to skip."""

    href: str
    url: str | None
    reason: str | None


def classify(href: str, page_url: str, root_url: str | None = None) -> Decision:
    """Resolve ``href`` found on ``page_url``; follow it only if it stays on
    the host of ``root_url`` (default: the page's own host)."""
    root_url = root_url or page_url
    text = href.strip()
    if not text:
        return Decision(href, None, "empty href")
    if text.startswith("#"):
        return Decision(href, None, "fragment only (same page)")
    scheme = urlsplit(text).scheme.lower()
    if scheme and scheme not in ("http", "https"):
        return Decision(href, None, f"scheme {scheme}: is not http")
    url = normalize(urljoin(page_url, text))
    if not same_host(url, root_url):
        return Decision(href, None, f"other host ({urlsplit(url).netloc})")
    return Decision(href, url, None)


def follow(hrefs: Iterable[str], page_url: str, root_url: str | None = None) -> list[str]:
    """The distinct canonical URLs worth crawling among ``hrefs``, in order."""
    out = dict.fromkeys(d.url for d in (classify(h, page_url, root_url) for h in hrefs) if d.url)
    return list(out)
