"""Fault modes told by the body: odd HTML, odd links, not HTML at all, an endless space."""

from __future__ import annotations

import html as htmllib
import random
import re

from aiohttp import web

from support.labsite.graph import Link, label
from support.labsite.toolkit import Fault, SiteView, Visit, append_items, html, int_option


class Malformed(Fault):
    """Broken but parseable HTML: upper-case tags, unquoted and single-quoted
    attributes, unclosed and misnested tags, stray end tags, an unclosed
    comment at the end. Every link of the page is still there."""

    mode = "malformed"

    def render(self, page: int, view: SiteView) -> str:
        lines = []
        for i, link in enumerate(view.graph.page_links(page, view.url)):
            href, text = link.href, label(link)
            style = i % 4
            if style == 0 and _unquotable(href):
                lines.append(f"<LI><A HREF={href}>{text}</A>")
            elif style == 1 and "'" not in href:
                lines.append(f"<li><a href='{href}' class=enlace>{text}")
            elif style == 2:
                lines.append(f'<li><a   id=e{i}   href = "{href}"  >{text}</A ></li></li>')
            else:
                lines.append(f'<li><a href="{href}"><b><i>{text}</b></i></a></span></li>')
        return (
            f"<HTML><HEAD><TITLE>Pagina {page}</title>\n<BODY id=arriba><h1>Pagina {page}<h2>sin cerrar\n"
            f"<p>{view.graph.words(page)} <b><i>mal anidado</b></i>\n"
            "<table><tr><td>celda sin cerrar<td>otra\n</div></noexiste>\n<ul>\n"
            + "\n".join(lines)
            + "\n</table></p></p>\n<p>fin &amp texto & suelto < menor\n<!-- comentario sin cerrar\n"
        )


def _unquotable(href: str) -> bool:
    return bool(href) and not re.search(r"[\s\"'=<>`]", href) and not href.endswith("/")


class Truncated(Fault):
    """The HTML stops in the middle of a tag (``Content-Length`` matches what is
    sent: the HTTP exchange is complete, the document is not). Only the links
    before the cut are there."""

    mode = "truncated"

    def render(self, page: int, view: SiteView) -> str:
        return self._cut(page, view)[0]

    def links(self, page: int, view: SiteView, links: list[Link]) -> list[Link]:
        return links[:self._cut(page, view)[1]]

    @staticmethod
    def _cut(page: int, view: SiteView) -> tuple[str, int]:
        """(HTML cut inside a tag past its middle, number of links before the cut)."""
        full = view.graph.render(page, view.url)
        cut = full.find("<a href=", len(full) // 2)
        cut = len(full) // 2 if cut < 0 else cut + len("<a hr")
        return full[:cut], full[:cut].count("<a href=")


class OddLinks(Fault):
    """The page's links plus hrefs with odd encodings: padding whitespace, a tab
    inside the path, HTML character references, upper-case scheme, scheme-
    relative ``//host``, dot segments, percent-encoded digits and non-ASCII
    paths, raw non-ASCII, backslashes, user info, a query string, an ``https:``
    URL to this plain-HTTP port, an overlong URL, an out-of-range port and an
    unparseable ``http://[::1`` (``urlsplit`` raises ``ValueError`` on the last
    two). ``site.links_of(page)`` lists them with what each one leads to."""

    mode = "odd_links"

    def render(self, page: int, view: SiteView) -> str:
        return append_items(view.graph.render(page, view.url), [
            f'    <li><a href="{raw}">{link.kind}</a></li>' for raw, link in _odd_links(page, view)])

    def links(self, page: int, view: SiteView, links: list[Link]) -> list[Link]:
        return links + [link for _raw, link in _odd_links(page, view)]


def _odd_links(page: int, view: SiteView) -> list[tuple[str, Link]]:
    """(href as written in the HTML, Link as a parser reads it) for an ``odd_links`` page."""
    rng = random.Random(f"labsite-odd:{page}")
    t = rng.choice([x for x in view.graph.targets(page) if x] or [page])
    d, hostport = str(t), view.hostport
    entity = "".join(f"&#{ord(c)};" for c in d)
    out = [
        (f"  /page/{d}\n", "odd-whitespace", t),
        (f"/pa\tge/{d}", "odd-tab", t),
        (f"/page/{entity}", "odd-entity", t),
        (f"HTTP://{hostport}/page/{d}", "odd-case", t),
        (f"//{hostport}/page/{d}", "odd-scheme-relative", t),
        (f"/page/{d}/../{d}", "odd-dot-segments", t),
        (f"http://usuario@{hostport}/page/{d}", "odd-userinfo", t),
        ("/page/" + "".join(f"%3{c}" for c in d), "odd-percent-digits", None),
        (f"/p%C3%A1gina/{d}", "odd-percent-utf8", None),
        (f"/página/{d}", "odd-non-ascii", None),
        (f"\\page\\{d}", "odd-backslash", None),
        (f"/page/{d}?vista=completa&amp;orden=1", "odd-query", None),
        (f"https://{hostport}/page/{d}", "odd-https", None),
        (f"/page/{d}?relleno=" + "x" * 9000, "odd-overlong", None),
        ("http://127.0.0.1:99999/page/1", "odd-bad-port", None),
        ("http://[::1", "odd-invalid", None),
        ("JAVASCRIPT:void(0)", "odd-scheme-case", None),
        ("data:text/html,&lt;a href=/page/1&gt;", "odd-data", None),
    ]
    return [(raw, Link(htmllib.unescape(raw), kind, target)) for raw, kind, target in out]


class Binary(Fault):
    """Not HTML: ``image/png``, ``application/pdf``, ``application/octet-stream``,
    ``application/json`` or ``text/plain`` (chosen per page). The JSON and text
    bodies contain ``<a href>`` markup a crawler must not follow."""

    mode = "binary"
    TYPES = ("image/png", "application/pdf", "application/octet-stream", "application/json", "text/plain")

    async def respond(self, visit: Visit):
        graph, page = visit.view.graph, visit.page
        rng = random.Random(f"labsite-binary:{graph.seed}:{page}")
        kind = rng.choice(self.TYPES)
        decoy = f"/page/{graph.pages + page}"  # a page that does not exist: following it is a bug
        if kind == "image/png":
            body = b"\x89PNG\r\n\x1a\n" + rng.randbytes(2048)
        elif kind == "application/pdf":
            body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + rng.randbytes(2048) + b"\n%%EOF\n"
        elif kind == "application/octet-stream":
            body = rng.randbytes(4096)
        elif kind == "application/json":
            body = ('{"pagina": %d, "html": "<a href=\\"%s\\">no es un enlace</a>"}\n' % (page, decoy)).encode()
        else:
            body = f'Pagina {page} en texto plano.\n<a href="{decoy}">no es un enlace</a>\n'.encode()
        charset = "utf-8" if kind in ("application/json", "text/plain") else None
        return web.Response(body=body, content_type=kind, charset=charset)


class Trap(Fault):
    """The page links into an endless generated space (a crawler trap):
    ``/trampa/i/1``, whose pages each link ``trap_fanout`` (2) pages deeper
    (``/trampa/i/1/1``, ``/trampa/i/1/2``, ...) forever. Only ``max_pages``,
    ``max_depth`` or a deadline stop a crawler there."""

    mode = "trap"
    defaults = {"trap_fanout": 2}  # links one level deeper on every trap page
    invents = re.compile(r"^/trampa/([1-9][0-9]{0,5})((?:/[1-9][0-9]{0,2})+)$")

    @classmethod
    def check(cls, options: dict) -> None:
        int_option(options, "trap_fanout", 1, 9)

    def render(self, page: int, view: SiteView) -> str:
        return append_items(view.graph.render(page, view.url),
                            [f'    <li><a href="/trampa/{page}/1">mas paginas</a></li>'])

    def links(self, page: int, view: SiteView, links: list[Link]) -> list[Link]:
        return links + [Link(f"/trampa/{page}/1", "trap", None)]

    async def respond_invented(self, visit: Visit, match):
        path, page, fanout = match.group(0), visit.page, self.options["trap_fanout"]
        levels = [int(x) for x in match.group(2)[1:].split("/")]
        if not all(1 <= x <= fanout for x in levels):
            return None
        items = [f'    <li><a href="{path}/{k}">mas adentro {k}</a></li>' for k in range(1, fanout + 1)]
        items.append('    <li><a href="/">inicio</a></li>')
        body = visit.view.graph.render_items(page, items).replace(
            f"Pagina {page}<", f"Trampa {'/'.join(map(str, levels))}<")
        return html(body)
