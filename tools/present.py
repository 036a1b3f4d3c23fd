"""The teacher's outputs of the notebooks: offline reveal.js decks and an offline handout.

``python -m tools.present slides [NB...]`` (``make slides``) and
``python -m tools.present handout [NB...]`` (``make handout``) write to
``build/slides/`` and ``build/handout/``. Nothing they write loads anything
from the internet: reveal.js, require.js, jQuery, MathJax and the widget
manager are local copies (npm pins in ``tools/js/package.json``, installed by
the Makefile into ``build/js/``), found through relative URLs under
``assets/``, so a folder copied to a USB stick still works.

Slide structure is **derived at build time** from the headings
(:func:`mark_slides`), never stored in the committed notebooks:

* a markdown cell that starts with ``#`` or ``##`` opens a slide (a section);
* inside a section, a new sub-slide (reveal's vertical stack) starts when the
  cells so far would overflow one screen (:data:`SCREEN_LINES`, counting
  source lines, text output lines and a figure as :data:`FIGURE_LINES`);
* a code cell's text output longer than :data:`LONG_OUTPUT` lines is cut to
  its first lines in the deck (the handout keeps it whole).

The handout converts the committed notebooks (they carry the outputs and the
widget state of one clean run) to HTML, with links between notebooks
rewritten from ``NN_x.ipynb`` to ``NN_x.html``.
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
JS = ROOT / "build" / "js"
TEMPLATES = ROOT / "tools" / "templates"

SCREEN_LINES = 22
FIGURE_LINES = 14
LONG_OUTPUT = 12

#: asset folder -> where it comes from (under build/js/)
SLIDE_ASSETS = {"reveal.js": "node_modules/reveal.js", "requirejs": "node_modules/requirejs",
                "jquery": "node_modules/jquery", "mathjax": "node_modules/mathjax",
                "html-manager": "html-manager/package/dist"}
HANDOUT_ASSETS = {"requirejs": "node_modules/requirejs", "mathjax": "node_modules/mathjax",
                  "html-manager": "html-manager/package/dist"}

_HEADING = re.compile(r"^\s*#{1,2}\s")
_NB_LINK = re.compile(r"(\]\(|href=[\"'])((?:\./)?\d\d_[\w-]+)\.ipynb")
_REMOTE_IMAGE = re.compile(r"!\[([^\]]*)\]\(https?://[^)]*\)")


def _cell_lines(cell) -> int:
    lines = cell.source.count("\n") + 1
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if "image/png" in data or "image/svg+xml" in data:
            lines += FIGURE_LINES
        text = out.get("text") or data.get("text/plain") or ""
        lines += min(LONG_OUTPUT, "".join(text).count("\n") + 1) if text else 0
    return lines


def mark_slides(nb):
    """A copy of ``nb`` with reveal's ``slideshow`` metadata derived from its headings."""
    nb = copy.deepcopy(nb)
    used = SCREEN_LINES  # the first cell always opens a slide
    for cell in nb.cells:
        lines = _cell_lines(cell)
        if cell.cell_type == "markdown" and _HEADING.match(cell.source):
            kind, used = "slide", lines
        elif used + lines > SCREEN_LINES:
            kind, used = ("slide" if cell is nb.cells[0] else "subslide"), lines
        else:
            kind, used = "-", used + lines
        cell.metadata["slideshow"] = {"slide_type": kind}
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.text.count("\n") > LONG_OUTPUT:
                    kept = out.text.splitlines()[:LONG_OUTPUT]
                    out.text = "\n".join(kept) + "\n[… salida completa en el notebook]\n"
    return nb


def section_count(nb) -> int:
    """How many ``#``/``##`` headings (slides) a notebook has."""
    return sum(1 for c in nb.cells if c.cell_type == "markdown" and _HEADING.match(c.source))


def link_html(nb):
    """A copy of ``nb`` for offline HTML: markdown links to ``NN_x.ipynb`` point
    at ``NN_x.html``, and remote images (the Binder badge) become their alt text."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _REMOTE_IMAGE.sub(r"\1", _NB_LINK.sub(r"\1\2.html", cell.source))
    return nb


def _copy_assets(dest: Path, assets: dict[str, str]) -> None:
    for name, source in assets.items():
        src = JS / source
        if not src.exists():
            raise SystemExit(f"falta {src}: instala los recursos con `make {dest.name}` (npm, tools/js/package.json)")
        if not (dest / "assets" / name).exists():
            shutil.copytree(src, dest / "assets" / name)


def _notebooks(names: list[str]) -> list[Path]:
    paths = [Path(n) for n in names] or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise SystemExit(f"no existe: {', '.join(missing)}")
    return paths


def slides(names: list[str], dest: Path) -> list[Path]:
    """Offline reveal.js decks of the notebooks (all by default) into ``dest``."""
    from nbconvert import SlidesExporter

    dest.mkdir(parents=True, exist_ok=True)
    _copy_assets(dest, SLIDE_ASSETS)
    exporter = SlidesExporter(template_name="offline_reveal", extra_template_basedirs=[str(TEMPLATES)],
                              reveal_url_prefix="assets/reveal.js", reveal_theme="white",
                              require_js_url="assets/requirejs/require.js",
                              jquery_url="assets/jquery/dist/jquery.min.js",
                              widget_renderer_url="assets/html-manager/embed-amd.js",
                              mathjax_url="assets/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe")
    written = []
    for path in _notebooks(names):
        body, _ = exporter.from_notebook_node(link_html(mark_slides(nbformat.read(path, as_version=4))))
        out = dest / f"{path.stem}.slides.html"
        out.write_text(body, encoding="utf-8")
        written.append(out)
    return written


def handout(names: list[str], dest: Path) -> list[Path]:
    """Offline static HTML of the (executed, committed) notebooks into ``dest``."""
    from nbconvert import HTMLExporter

    dest.mkdir(parents=True, exist_ok=True)
    _copy_assets(dest, HANDOUT_ASSETS)
    exporter = HTMLExporter(template_name="offline_lab", extra_template_basedirs=[str(TEMPLATES)],
                            require_js_url="assets/requirejs/require.js",
                            widget_renderer_url="assets/html-manager/embed-amd.js",
                            mathjax_url="assets/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe")
    written = []
    for path in _notebooks(names):
        body, _ = exporter.from_notebook_node(link_html(nbformat.read(path, as_version=4)))
        out = dest / f"{path.stem}.html"
        out.write_text(body, encoding="utf-8")
        written.append(out)
    return written


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("slides", "handout"))
    parser.add_argument("notebooks", nargs="*", help="default: every notebooks/NN_*.ipynb")
    parser.add_argument("--dest", help="default: build/slides or build/handout")
    args = parser.parse_args(argv)
    dest = Path(args.dest or ROOT / "build" / args.what)
    written = (slides if args.what == "slides" else handout)(args.notebooks, dest)
    print(f"{len(written)} archivos en {dest}", file=sys.stderr)


if __name__ == "__main__":
    main()
