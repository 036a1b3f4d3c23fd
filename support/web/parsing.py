"""Finding the links of a page: the ``href`` of every ``<a>`` and the first ``<base href>``.

Every crawler of the course reads links through :func:`extract_links` or
:func:`extract_page_links` (re-exported by :mod:`support.web.links`), with one
of the parsers of :data:`PARSERS`, a registry name -> extractor:

* ``"html.parser"`` and ``"lxml"``: BeautifulSoup's builders, as the lecture
  does (notebooks 00-05): a Python object per tag, the slow way that teaches;
* ``"lxml-tokens"`` (:data:`CRAWL_PARSER`, the crawlers' default): libxml2's
  HTML5 tokenizer through lxml's *target* interface. It calls back for each
  start tag and never builds a tree, so it holds the page and its hrefs and
  nothing else: memory linear in the page, time linear in the page;
* ``"selectolax"``: lexbor, an HTML5 *tree builder* in C, fast on ordinary
  pages. Kept to compare (``make bench`` runs it), not the default: see below.

Discussion: a crawler needs the links, not a tree. An HTML5 tree builder
repairs bad markup, and some repairs cost more than the page: ``<p>`` + N
distinct ``<b id=i>`` + M x ``<p>x`` makes it re-create the N open formatting
elements inside each of the M paragraphs (the "adoption agency" and
"reconstruct the active formatting elements" steps), N x M nodes for N + M
tags: 16 KB of HTML became +577 MB with lexbor, 22 KB +1.1 GB and 10 s; and
40,000 nested ``<div>`` take it 14 s. A tokenizer does none of that, and
the tokenizer is where HTML5 decides what a link is: the text of ``<title>``,
``<textarea>``, ``<xmp>``, ``<plaintext>``, ``<script>``, ``<style>`` holds no
tags. One thing only the tree builder knows, ``<template>`` (its content is
inert: no browser follows a link in it), the extractors handle themselves.
(``issue 19``, point 2; ``tests/test_crawler_hostile_round2.py``.)
"""

from __future__ import annotations

import re
import threading
from typing import Callable, NamedTuple

from bs4 import BeautifulSoup
from bs4.builder import HTMLParserTreeBuilder
from bs4.builder._htmlparser import BeautifulSoupHTMLParser
from lxml import etree
from selectolax.lexbor import LexborHTMLParser

__all__ = ["extract_links", "extract_page_links", "PageLinks", "PARSERS", "CRAWL_PARSER", "DEFAULT_PARSER"]

#: The parser BeautifulSoup uses unless told otherwise: the standard library's.
DEFAULT_PARSER = "html.parser"

#: The crawlers' default parser (``CrawlOptions.parser``): libxml2's tokenizer,
#: no tree, linear in time and memory whatever the page holds. ``html.parser``
#: is quadratic on an unclosed ``<!--`` (CVE-2025-6069: 100 KB, 3 s; 200 KB, 11 s
#: on Python 3.11) and, behind BeautifulSoup, 40x slower on the Python docs.
CRAWL_PARSER = "lxml-tokens"


class PageLinks(NamedTuple):
    """What a page says about its links: the first ``<base href>`` (as written,
    or None) and the ``href`` of every ``<a>``, in document order."""

    base: str | None
    hrefs: list[str]


def extract_links(html: str | bytes, parser: str = DEFAULT_PARSER) -> list[str]:
    """Every ``href`` of every ``<a>`` in ``html``, in document order, as written.

    ``parser`` is a name of :data:`PARSERS`: a BeautifulSoup builder
    (``"html.parser"``, ``"lxml"``), ``"lxml-tokens"`` or ``"selectolax"``.
    """
    return extract_page_links(html, parser).hrefs


def extract_page_links(html: str | bytes, parser: str = DEFAULT_PARSER) -> PageLinks:
    """:func:`extract_links` plus the first ``<base href>`` of the page (one parse).

    Resolve the hrefs against ``base_url(page_url, links.base)``, not against
    the page's URL: that is what a browser does with a ``<base>`` element.
    """
    try:
        extractor = _EXTRACTORS[parser]
    except KeyError:
        raise ValueError(f"parser must be one of {PARSERS}, got {parser!r}") from None
    return extractor(html)


# -- BeautifulSoup, with html.parser taught the HTML5 raw-text elements ----------------------

class _Html5Tokens(BeautifulSoupHTMLParser):
    """BeautifulSoup's ``html.parser`` reading the text of ``<title>``, ``<textarea>``,
    ``<xmp>``, ``<iframe>``, ``<noembed>``, ``<noframes>`` and ``<plaintext>`` as text,
    as HTML5 does (the standard library knows only ``<script>`` and ``<style>``)."""

    CDATA_CONTENT_ELEMENTS = ("script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes",
                              "plaintext")

    def set_cdata_mode(self, elem: str, **how) -> None:  # Python 3.13.4+ adds escapable=
        super().set_cdata_mode(elem, **how)
        if self.cdata_elem == "plaintext":  # HTML5: nothing ends it, not even </plaintext>
            self.interesting = _NEVER


_NEVER = re.compile(r"(?!)")


class _Html5Builder(HTMLParserTreeBuilder):
    def feed(self, markup) -> None:
        super().feed(markup, _parser_class=_Html5Tokens)


def _soup_page(features: str, builder=None) -> Callable[[str | bytes], PageLinks]:
    def extract(html: str | bytes) -> PageLinks:
        soup = BeautifulSoup(html, features) if builder is None else BeautifulSoup(html, builder=builder())
        for template in soup.find_all("template"):  # inert content: not the document's links
            template.decompose()
        base = soup.find("base", href=True)
        return PageLinks(base["href"] if base is not None else None,
                         [a["href"] for a in soup.find_all("a", href=True)])
    return extract


# -- libxml2's tokenizer, no tree ----------------------------------------------------------

class _LinkTarget:
    """lxml parser target: keeps the hrefs of ``<a>`` and the first ``<base href>``, nothing else."""

    __slots__ = ("hrefs", "base")

    def __init__(self):
        self.hrefs: list[str] = []
        self.base: str | None = None

    def start(self, tag: str, attrib) -> None:
        if tag == "a":
            href = attrib.get("href")
            if href is not None:
                self.hrefs.append(href)
        elif tag == "base" and self.base is None:
            self.base = attrib.get("href")

    def close(self) -> PageLinks:
        """The page's links; the target is then empty again, for the next page."""
        found = PageLinks(self.base, self.hrefs)
        self.hrefs, self.base = [], None
        return found


class _TemplateAwareTarget(_LinkTarget):
    """:class:`_LinkTarget` that ignores what is inside ``<template>`` (only for pages that have one:
    an ``end`` callback for every tag costs a third more time)."""

    __slots__ = ("inert",)

    def __init__(self):
        super().__init__()
        self.inert = 0

    def start(self, tag: str, attrib) -> None:
        if tag == "template":
            self.inert += 1
        elif not self.inert:
            super().start(tag, attrib)

    def end(self, tag: str) -> None:
        if tag == "template" and self.inert:
            self.inert -= 1

    def close(self) -> PageLinks:
        self.inert = 0
        return super().close()


_TEMPLATE = re.compile(r"<template", re.IGNORECASE)
_PARSERS = threading.local()  # one lxml parser per thread and target class, reused page after page


def _lxml_tokens(html: str | bytes) -> PageLinks:
    """Discussion: a new ``etree.HTMLParser`` per page costs more than parsing a small page
    (73 us against 32 us for a labsite page): each thread keeps one per kind of target."""
    probe = html if isinstance(html, str) else html.decode("latin-1")  # only to look for "<template"
    kind = _TemplateAwareTarget if _TEMPLATE.search(probe) else _LinkTarget
    parser = getattr(_PARSERS, kind.__name__, None)
    if parser is None:
        parser = etree.HTMLParser(target=kind(), recover=True, no_network=True, huge_tree=True)
        setattr(_PARSERS, kind.__name__, parser)
    try:
        parser.feed(html)
        return parser.close()
    except etree.LxmlError:  # nothing to parse at all ("Document is empty"): no links
        delattr(_PARSERS, kind.__name__)  # a parser that failed midway is not reused
        return parser.target.close()


# -- lexbor's tree ---------------------------------------------------------------------

def _selectolax_page(html: str | bytes) -> PageLinks:
    # An attribute written without a value (<a href>) is None for lexbor and "" for
    # BeautifulSoup: it is there all the same, an empty href (and an empty <base href>).
    tree = LexborHTMLParser(html)
    base = next((b.attrs["href"] or "" for b in tree.tags("base") if "href" in b.attrs), None)
    hrefs = []
    for node in tree.tags("a"):
        attrs = node.attrs
        if "href" in attrs:
            hrefs.append(attrs["href"] or "")
    return PageLinks(base, hrefs)


#: Parser name -> extractor (html -> :class:`PageLinks`): the one registry of parsers.
_EXTRACTORS: dict[str, Callable[[str | bytes], PageLinks]] = {
    "html.parser": _soup_page("html.parser", _Html5Builder),
    "lxml": _soup_page("lxml"),
    "lxml-tokens": _lxml_tokens,
    "selectolax": _selectolax_page,
}

#: Parsers :func:`extract_links` accepts (and ``CrawlOptions.parser``).
PARSERS = tuple(_EXTRACTORS)
