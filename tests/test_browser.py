"""The course in a real JupyterLab: every notebook that uses ipywidgets is
opened in headless Chromium, run with Run > Run All Cells, and checked: the
widgets render (no "Loading widget..." left), no cell errored (except those
tagged ``raises-exception``), every code cell ran. A screenshot of each lands
in ``artifacts/browser/`` (git ignores ``artifacts/``).

That Run All is the notebook's one execution in the session: it checks all
that nbval's would (nbval runs with ``--nbval-lax``: a cell fails when it
raises, the notebooks' claims are asserts, and the cells tagged
``nbval-check-output`` must show their stored outputs, compared by nbval's own
functions in ``tests/nbval_compare.py``), so ``tests/conftest.py``
deselects nbval's cells of a notebook whose Run All here is selected and can
run. Without a browser, nbval runs them as it runs every other notebook.

Skipped, with the reason, only where no Chromium is installed (``.ci/run``
installs Debian's ``chromium``) or Playwright's package is missing. One
JupyterLab server and one browser serve every notebook of the module.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from browser_util import CHROMIUM_ARGS, KERNEL_IDLE, PROMPTS_JS, find_chromium, jupyterlab, run_all_cells, why_no_browser
from nbval_compare import differing_outputs

ROOT = Path(__file__).resolve().parents[1]
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
ARTIFACTS = ROOT / "artifacts" / "browser"
_IMPORTS_WIDGETS = re.compile(r"^\s*(import ipywidgets|from ipywidgets import)", re.MULTILINE)


def _uses_widgets(path: Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    return any(_IMPORTS_WIDGETS.search(cell.source) for cell in nb.cells if cell.cell_type == "code")


WIDGET_NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb") if _uses_widgets(p))
CHROMIUM = find_chromium()

NO_BROWSER = why_no_browser()
#: Seconds a whole Run All may take: notebook 07, the longest, takes about 60 s on 2 cores.
NOTEBOOK_TIMEOUT = 480.0

#: realtime: what JupyterLab shows comes from real runs in a real kernel (the steppers record a
#: crawl over real sockets; Run All measures), so these run in make test's realtime pass, where
#: no third worker loads the machine; there one JupyterLab and one Chromium serve them all.
pytestmark = [pytest.mark.browser, pytest.mark.realtime,
              pytest.mark.skipif(NO_BROWSER is not None, reason=str(NO_BROWSER))]


def shows(locator, text: str) -> None:
    """Wait until ``locator`` shows ``text``. A stepper's panels are widgets of their own, each
    updated by a message of its own: the step's header may show the new step before the state
    does (a loaded make test read the old state once, "cancelada" not yet in it)."""
    from playwright.sync_api import expect
    expect(locator).to_contain_text(text, timeout=15_000)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(page factory, notebook folder): JupyterLab on loopback plus headless Chromium."""
    from playwright import sync_api
    tmp = tmp_path_factory.mktemp("browser")
    root = tmp / "notebooks"
    root.mkdir()
    for notebook in WIDGET_NOTEBOOKS:  # Run All and save touch copies, never the course
        shutil.copy(notebook, root / notebook.name)
    with jupyterlab(root, tmp / "home") as (base, token), sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp / "chromium"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900})
        try:
            yield browser, base, token, root
        finally:
            browser.close()


def test_some_notebook_has_widgets():
    assert WIDGET_NOTEBOOKS, "no notebook imports ipywidgets: the browser test would check nothing"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("notebook", WIDGET_NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_in_jupyterlab_and_widgets_render(lab, notebook):
    browser, base, token, root = lab
    started = time.monotonic()
    page = browser.new_page()
    try:
        try:
            run_seconds = run_all_cells(page, base, token, notebook.name, run_timeout=NOTEBOOK_TIMEOUT)
        finally:
            first_widget = page.locator(".jp-OutputArea .jupyter-widgets").first
            if first_widget.count():
                first_widget.scroll_into_view_if_needed()  # the screenshot shows a widget
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{notebook.stem}.png"))
        loading = page.get_by_text("Loading widget...").count()
        broken = page.get_by_text("Error displaying widget").count()
        widgets = page.locator(".jp-OutputArea .jupyter-widgets").count()
        sliders = page.locator(".jp-OutputArea .widget-slider").count()
        progress = page.locator(".jp-OutputArea .widget-progress, .jp-OutputArea .progress").count()
    finally:
        page.close()

    ran = nbformat.read(root / notebook.name, as_version=4)  # what JupyterLab saved after Run All
    errors = [(i, o.get("ename"), o.get("evalue", "")[:200]) for i, c in enumerate(ran.cells)
              if c.cell_type == "code" and "raises-exception" not in c.metadata.get("tags", [])
              for o in c.outputs if o.output_type == "error"]
    assert not errors, f"cells that errored (index, exception): {errors}"
    not_run = [i for i, c in enumerate(ran.cells) if c.cell_type == "code" and not c.execution_count]
    assert not not_run, f"code cells that never ran: {not_run}"
    differ = differing_outputs(ran, nbformat.read(notebook, as_version=4))  # nbval's check of tagged cells
    assert not differ, "outputs that differ from the stored ones:\n" + "\n".join(f"cell {i}: {r}" for i, r in differ)
    source = "\n".join(c.source for c in ran.cells if c.cell_type == "code")
    assert loading == 0 and broken == 0, f"{loading} widgets still 'Loading widget...', {broken} failed to display"
    assert widgets >= 1, "no widget rendered"
    assert sliders >= ("IntSlider(" in source) and progress >= ("IntProgress(" in source), (sliders, progress)
    # The course's settings (saveState) store the widgets with the notebook on save,
    # so they are still drawn after a reload with a new kernel.
    saved = ran.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    shown = {o.data["application/vnd.jupyter.widget-view+json"]["model_id"] for c in ran.cells
             if c.cell_type == "code" for o in c.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})}
    assert shown and shown <= set(saved), f"saving did not store the widgets' state: {len(shown - set(saved))} missing"
    print(f"\n{notebook.name}: Run All {run_seconds:.1f} s, test {time.monotonic() - started:.1f} s, "
          f"{widgets} widget views ({sliders} sliders, {progress} progress bars)")


def test_stored_widgets_render_before_running(lab):
    """A notebook executed by tools/run_notebooks.py (as committed notebooks
    are) opens with its widgets drawn, before any cell runs: no
    ``IntProgress(value=...)`` text."""
    from tools.run_notebooks import run

    browser, base, token, root = lab
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("import ipywidgets as widgets\n"
                                          "widgets.HBox([widgets.IntProgress(value=3, max=10), widgets.Label('3/10')])"),
                nbformat.v4.new_code_cell("widgets.IntSlider(value=7, description='C')")]
    path = root / "ya_ejecutado.ipynb"
    nbformat.write(nb, path)
    run(path)
    # Widgets are drawn only in trusted notebooks: `make lab` and Binder's postBuild trust the course's.
    env = dict(os.environ, JUPYTER_DATA_DIR=str(root.parent / "home" / "data"))
    subprocess.run([sys.executable, "-m", "jupyter", "trust", str(path)], env=env, check=True,
                   capture_output=True, timeout=60)
    page = browser.new_page()
    try:
        page.goto(f"{base}/lab/tree/{path.name}?token={token}&reset", wait_until="domcontentloaded")
        try:
            page.get_by_text(KERNEL_IDLE).first.wait_for(timeout=90_000)  # the widget manager waits for it
            page.locator(".jp-OutputArea .widget-slider").first.wait_for(timeout=30_000)
        finally:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "widgets_before_running.png"))
        sliders = page.locator(".jp-OutputArea .widget-slider").count()
        progress = page.locator(".jp-OutputArea .widget-progress, .jp-OutputArea .progress").count()
        as_text = page.locator(".jp-OutputArea").get_by_text(re.compile(r"IntProgress\(|IntSlider\(")).count()
        prompts = page.evaluate(PROMPTS_JS)
    finally:
        page.close()
    assert sliders == 1 and progress == 1 and as_text == 0, (sliders, progress, as_text)
    assert prompts == ["[1]:", "[2]:"], f"the cells must not have run again: {prompts}"


def test_the_stepper_of_notebook_02_steps_in_jupyterlab(lab):
    """Notebook 02's stepper cells (its Fetcher, the recording, the view with its questions)
    in a real JupyterLab: clicking the buttons moves the view, and a question is answered."""
    sys.path.insert(0, str(ROOT / "tests"))
    from notebook_cells import code_cell

    browser, base, token, root = lab
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    setup = ("import selectors, socket\nfrom selectors import EVENT_READ, EVENT_WRITE\n"
             "from support.crawlers.blocking import build_request, parse_response\n"
             "from support.fmt import seg\nfrom support.labsite import serve\n"
             "from support.kernel.eventloop import EventLoop")
    nb.cells = [nbformat.v4.new_code_cell(s) for s in (
        setup, code_cell("02", "class Fetcher:"), code_cell("02", "class FetcherQueAnota"),
        code_cell("02", "vista(pasos, preguntas)"))]
    nbformat.write(nb, root / "paso_a_paso.ipynb")
    page = browser.new_page()
    try:
        run_all_cells(page, base, token, "paso_a_paso.ipynb")
        view = page.locator(".stepper-view").first
        view.wait_for(timeout=30_000)
        header = view.locator(".stepper-paso")
        assert header.inner_text().startswith("Paso 0 de 15")
        question = view.locator(".stepper-pregunta")
        assert "¿Qué devolverá select en la vuelta 1?" in question.inner_text()  # asked before step 1
        state = view.locator(".stepper-estado")
        before = state.inner_text()
        view.get_by_role("button", name="Siguiente vuelta").click()
        page.wait_for_function("() => document.querySelector('.stepper-paso').innerText.startsWith('Paso 1 ')")
        shows(state, "on_connected de «/page/2» (socket 1)")  # the queue filled
        assert state.inner_text() != before
        shows(view.locator(".stepper-pasado"), "socket 1 (escribir), socket 2 (escribir)")
        shows(question, "¿Qué callback corre ahora?")
        question.get_by_text("on_connected de «/page/2» (socket 1)", exact=True).click()
        question.get_by_role("button", name="Comprobar").click()
        page.get_by_text("¡Bien!").first.wait_for(timeout=10_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        view.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "stepper_02_pregunta.png"), full_page=False)
        view.get_by_role("button", name="Siguiente callback").click()
        page.wait_for_function("() => document.querySelector('.stepper-paso').innerText.startsWith('Paso 2 ')")
        shows(state, "on_readable de «/page/2»")  # its connect callback ran: now it waits to read
        view.get_by_role("button", name="Hasta el final").click()
        page.wait_for_function("() => document.querySelector('.stepper-paso').innerText.includes('fin')")
        assert "Paso 15 de 15" in header.inner_text()
        page.screenshot(path=str(ARTIFACTS / "stepper_02_final.png"), full_page=False)
    finally:
        page.close()


def test_the_stepper_of_notebook_04_shows_tasks_timers_and_the_cancel(lab):
    """Notebook 04's stepper cells on its own Future, Task, fetcher, dormir and cancelar: the
    view shows each task's suspended source line, the timer heap, and where the cancel lands."""
    sys.path.insert(0, str(ROOT / "tests"))
    from notebook_cells import code_cell

    browser, base, token, root = lab
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    setup = ("import socket\nfrom urllib.parse import urlsplit\n"
             "from support.crawlers.blocking import build_request, parse_response\n"
             "from support.timeline import Timeline\nfrom support.labsite import serve\n"
             "from support.kernel.eventloop import EventLoop\nmini = serve(pages=3, latency=(0.05, 0.4))")
    markers = ["class Future:", "class Task(Future):", "def esperar(", "def conectar(", "def enviar(", "def leer(",
               "class Fetcher:", "def dormir(", "class CancelledError", "def dormilona(",
               "tareas_paso = [", "vista(pasos, preguntas)"]
    cells = [setup] + [code_cell("04", m) for m in markers]
    cells[markers.index("def dormilona(") + 1] = cells[markers.index("def dormilona(") + 1].split("\nloop, registro")[0]
    nb.cells = [nbformat.v4.new_code_cell(s) for s in cells]
    nbformat.write(nb, root / "paso_a_paso_04.ipynb")
    page = browser.new_page()
    try:
        run_all_cells(page, base, token, "paso_a_paso_04.ipynb")
        view = page.locator(".stepper-view").first
        view.wait_for(timeout=30_000)
        state = view.locator(".stepper-estado")
        first = state.inner_text()
        assert "fetch → conectar, línea" in first and "siesta → dormir, línea" in first
        assert "cancelar(«dormilona»)" in first  # the timer heap
        for _ in range(2):  # the select of turn 1, then its callback (the view stops before the next question)
            view.get_by_role("button", name="Siguiente vuelta").click()
        page.wait_for_function("() => document.querySelector('.stepper-paso').innerText.startsWith('Paso 2 ')")
        shows(state, "fetch → leer, línea 4: yield from esperar(loop, sock, loop.add_reader")
        assert state.inner_text() != first
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        view.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "stepper_04_tareas.png"), full_page=False)
        view.get_by_role("button", name="Hasta el final").click()
        page.wait_for_function("() => document.querySelector('.stepper-paso').innerText.includes('fin')")
        shows(state, "cancelada")
        shows(view.locator(".stepper-pasado"), "la cancelación llega a dormilona")
        page.screenshot(path=str(ARTIFACTS / "stepper_04_final.png"), full_page=False)
    finally:
        page.close()
