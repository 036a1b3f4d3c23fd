"""The generated site as data: pages, links and HTML, a pure function of (pages, seed, links).

No server, no sockets, no aiohttp: the crawlers' simulations and the
benchmark import this floor alone (``SiteGraph``), and everything above it
(faults, server) renders through it.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections import deque

__all__ = ["Link", "SiteGraph", "SKIP_KINDS", "label"]

#: Links of these kinds appear on the site and must never be fetched by a crawler.
SKIP_KINDS = ("other-host", "mailto", "javascript", "fragment-only")

_EXTERNAL = (
    "http://otro-sitio.example/noticias",
    "https://www.example.org/",
    "http://example.com/page/1",
)
_WORDS = (
    "corrutina hilo socket bucle evento tarea futuro generador selector callback "
    "latencia conexion servidor cliente pagina enlace concurrencia paralelismo "
    "memoria planificador cooperativa apropiativa respuesta solicitud"
).split()

# Discussion: the only paths the site answers are these digit patterns (and
# the ones a fault adds, also digits): there is nothing to traverse.
_PAGE_RE = re.compile(r"^/page/(0|[1-9][0-9]{0,5})$")


@dataclasses.dataclass(frozen=True)
class Link:
    """One ``<a href>`` on a page: the text of the href and what it is."""

    href: str
    kind: str  # "absolute", "root-relative", "relative", "fragment", "duplicate" or a SKIP_KINDS entry
    target: int | None  # page number it leads to, None for links to skip


def label(link: Link) -> str:
    """The text of a link on the page: ``pagina N``, or its kind for links to skip."""
    return f"pagina {link.target}" if link.target is not None else link.kind


class SiteGraph:
    """The pages of a site and the links between them, without any server.

    Every page is reachable from page 0 (``/``): page ``i > 0`` is linked from
    a *parent* page chosen among the pages before it, plus ``links`` random
    links per page.
    """

    def __init__(self, pages: int = 50, seed: int = 0, links: int = 8):
        if not 1 <= pages <= 100_000:
            raise ValueError(f"pages must be between 1 and 100000, got {pages!r}")
        if links < 0:
            raise ValueError(f"links must be >= 0, got {links!r}")
        self.pages, self.seed, self.links_per_page = pages, seed, links
        # Discussion: every random choice draws from a Random seeded by a
        # string naming what it is for; a new kind of choice gets a new name,
        # so it never shifts the draws of the existing ones.
        rng = random.Random(f"labsite-graph:{seed}")
        children: list[list[int]] = [[] for _ in range(pages)]
        for i in range(1, pages):
            children[rng.randrange(i)].append(i)
        self._out: list[tuple[int, ...]] = []
        for i in range(pages):
            extra = [rng.randrange(pages) for _ in range(links)] if pages > 1 else []
            targets = list(dict.fromkeys(children[i] + [t for t in extra if t != i]))
            self._out.append(tuple(targets))

    @staticmethod
    def path_of(page: int) -> str:
        return "/" if page == 0 else f"/page/{page}"

    @staticmethod
    def page_of(path: str) -> int | None:
        """The page number served at ``path``, or None (the server answers 404)."""
        if path == "/":
            return 0
        m = _PAGE_RE.match(path)
        return int(m.group(1)) if m else None

    def targets(self, page: int) -> tuple[int, ...]:
        """Distinct pages that ``page`` links to (in order of first appearance)."""
        return self._out[page]

    def depths(self) -> list[int]:
        """Link distance of every page from ``/`` (breadth-first)."""
        depth = [-1] * self.pages
        depth[0] = 0
        queue = deque([0])
        while queue:
            p = queue.popleft()
            for t in self._out[p]:
                if depth[t] < 0:
                    depth[t] = depth[p] + 1
                    queue.append(t)
        return depth

    def page_links(self, page: int, base_url: str) -> list[Link]:
        """All the links on ``page``, in the order they appear in its HTML."""
        rng = random.Random(f"labsite-links:{self.seed}:{page}")
        base = base_url.rstrip("/")
        out: list[Link] = []
        for t in self._out[page]:
            path = self.path_of(t)
            form = rng.choice(("absolute", "root-relative", "relative", "fragment"))
            out.append(Link(_href(form, base, path, page, t, rng), form, t))
            if rng.random() < 0.25:  # the same page linked twice
                out.append(Link(out[-1].href if rng.random() < 0.5 else base + path, "duplicate", t))
        # Links a crawler must skip. Page 0 carries every kind; others some.
        kinds = SKIP_KINDS if page == 0 else [k for k in SKIP_KINDS if rng.random() < 0.3]
        for kind in kinds:
            if kind == "other-host":
                href = rng.choice(_EXTERNAL)
            elif kind == "mailto":
                href = "mailto:catedra@example.com"
            elif kind == "javascript":
                href = "javascript:void(0)"
            else:
                href = "#arriba"
            out.insert(rng.randrange(len(out) + 1), Link(href, kind, None))
        return out

    def render(self, page: int, base_url: str) -> str:
        """The HTML of ``page``: a title, some text and its links."""
        return self.render_items(page, [
            f'    <li><a href="{link.href}">{label(link)}</a></li>'
            for link in self.page_links(page, base_url)
        ])

    def words(self, page: int) -> str:
        """The page's text (60 seeded words)."""
        rng = random.Random(f"labsite-text:{self.seed}:{page}")
        return " ".join(rng.choice(_WORDS) for _ in range(60))

    def render_items(self, page: int, item_lines: list[str]) -> str:
        """The page's HTML around the given ``<li>`` lines (what ``render`` uses)."""
        words = self.words(page)
        items = "\n".join(item_lines)
        return (
            "<!DOCTYPE html>\n<html lang=\"es\">\n<head><meta charset=\"utf-8\">"
            f"<title>Pagina {page}</title></head>\n<body id=\"arriba\">\n"
            f"  <h1>Pagina {page}</h1>\n  <p>{words}</p>\n  <ul>\n{items}\n  </ul>\n"
            "</body>\n</html>\n"
        )


def _href(form: str, base: str, path: str, page: int, target: int, rng: random.Random) -> str:
    """The href of a link from ``page`` to ``target`` written in ``form``."""
    if form == "absolute":
        return base + path
    if form == "root-relative":
        return path
    if form == "relative":
        if target == 0:
            return "../" if page else "./"
        if page == 0:
            return f"page/{target}"
        return rng.choice((f"{target}", f"./{target}", f"../page/{target}"))
    return f"{path}#seccion-{rng.randrange(1, 4)}"
