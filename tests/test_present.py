"""make slides and make handout: structure from the headings, offline, checked in headless Chromium.

The decks and the handout are built from the committed notebooks into a
temporary folder, served on 127.0.0.1 by a throwaway HTTP server, and opened in
Debian's Chromium (Playwright): every request the page makes is recorded, and
any that leaves 127.0.0.1 fails the test. Screenshots go to ``artifacts/present/``.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
from browser_util import CHROMIUM_ARGS, find_chromium

from tools import present

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "present"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NB02 = ROOT / "notebooks" / "02_selectores_y_callbacks.ipynb"
NB08 = ROOT / "notebooks" / "08_corrutinas_vs_hilos.ipynb"


# -- the slide structure, without a browser ----------------------------------------

@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_every_heading_opens_a_slide_and_long_sections_split(path):
    nb = nbformat.read(path, as_version=4)
    marked = present.mark_slides(nb)
    kinds = [c.metadata["slideshow"]["slide_type"] for c in marked.cells]
    headings = present.section_count(nb)
    assert headings >= 2, f"{path.name}: a notebook has a title and sections"
    assert kinds[0] == "slide" and kinds.count("slide") == headings + (not present._HEADING.match(nb.cells[0].source))
    assert kinds.count("slide") + kinds.count("subslide") > headings, "long sections must split into sub-slides"
    for cell, kind in zip(marked.cells, kinds):
        if kind == "slide":
            assert cell.cell_type == "markdown" and present._HEADING.match(cell.source) or cell is marked.cells[0]
    # derived at build time: the committed notebook carries no slide metadata
    assert not [c for c in nb.cells if "slideshow" in c.metadata], f"{path.name} stores slide metadata"


def test_long_outputs_are_cut_in_the_deck_only():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("x")])
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="".join(f"{i}\n" for i in range(40)))]
    text = present.mark_slides(nb).cells[1].outputs[0].text
    assert text.count("\n") == present.LONG_OUTPUT + 1 and "salida completa" in text
    assert nb.cells[1].outputs[0].text.count("\n") == 40


def test_links_between_notebooks_point_at_the_html():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "Siguiente: [notebook 03](03_iteradores_y_generadores.ipynb), [web](https://example.org/a.ipynb) "
        "[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/x/y)")])
    out = present.link_html(nb).cells[0].source
    assert "(03_iteradores_y_generadores.html)" in out and "https://example.org/a.ipynb" in out
    assert "[Binder](https://mybinder.org/v2/gh/x/y)" in out and "badge_logo" not in out


# -- in headless Chromium ------------------------------------------------------------

CHROMIUM = find_chromium()
browser_only = [pytest.mark.browser,
                pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)"),
                # Without Node.js, `make test` skips these (and says so); CI has Node and must run them.
                pytest.mark.skipif(not (present.JS / ".installed").exists() and not os.environ.get("CI"),
                                   reason="offline JavaScript not installed: it needs Node.js and npm "
                                          "(make build/js/.installed)")]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(base URL, page factory, requests seen): decks and handout of 00, 02, 08 on loopback."""
    for mark in browser_only:
        if mark.name == "skipif" and mark.args[0]:
            pytest.skip(mark.kwargs["reason"])
    sync_api = pytest.importorskip("playwright.sync_api")
    tmp = tmp_path_factory.mktemp("present")
    names = [str(ROOT / "notebooks" / "00_bienvenida.ipynb"), str(NB02), str(NB08)]
    present.slides(names, tmp / "slides")
    present.handout(names + [str(ROOT / "notebooks" / "01_sockets_bloqueantes.ipynb")], tmp / "handout")
    handler = functools.partial(_QuietHandler, directory=str(tmp))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    seen: list[str] = []
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch_persistent_context(
                str(tmp / "chromium"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1280, "height": 800})
            browser.on("request", lambda request: seen.append(request.url))
            try:
                yield f"http://127.0.0.1:{server.server_address[1]}", browser, seen
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _outside(seen: list[str]) -> list[str]:
    return [u for u in seen if urlparse(u).scheme not in ("data", "blob", "about")
            and urlparse(u).hostname != "127.0.0.1"]


@pytest.mark.browser
@pytest.mark.parametrize("path", [ROOT / "notebooks" / "00_bienvenida.ipynb", NB02, NB08], ids=lambda p: p.stem[:2])
def test_deck_has_the_slides_and_loads_nothing_from_outside(served, path):
    base, browser, seen = served
    page = browser.new_page()
    page.goto(f"{base}/slides/{path.stem}.slides.html")
    page.wait_for_selector(".reveal.ready", timeout=30_000)
    top = page.locator(".reveal .slides > section").count()
    total = page.locator(".reveal .slides section:not(.stack)").count()
    headings = present.section_count(nbformat.read(path, as_version=4))
    assert top >= headings and total > headings, (top, total, headings)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{path.stem}.slide1.png"))
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(1000)   # the transition
    page.screenshot(path=str(ARTIFACTS / f"{path.stem}.slide2.png"))
    page.close()
    assert not _outside(seen), _outside(seen)[:5]


@pytest.mark.browser
def test_handout_renders_widgets_and_links_offline(served):
    base, browser, seen = served
    page = browser.new_page()
    page.goto(f"{base}/handout/{NB08.stem}.html")
    page.wait_for_selector(".widget-slider, .widget-hslider", timeout=30_000)   # drawn from the saved state
    assert page.locator(".widget-progress, .progress").count() >= 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "08.handout.png"))
    page.goto(f"{base}/handout/00_bienvenida.html")
    link = page.locator('a[href="01_sockets_bloqueantes.html"]').first
    assert link.count() == 1, "notebook 00 links to notebook 01's page"
    link.click()
    page.wait_for_url(f"{base}/handout/01_sockets_bloqueantes.html")
    assert "Sockets" in page.title() or page.locator("h1").first.inner_text()
    page.close()
    assert not _outside(seen), _outside(seen)[:5]
