"""Committed notebooks: executed once, in order, from a fresh kernel, and clean.

nbval (run by the same `make test`) re-executes every cell and compares the
outputs of cells tagged ``nbval-check-output``; this file checks what nbval
does not: the state in which the notebooks were committed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
INTENDED_ERROR_TAG = "raises-exception"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

# Things that must never appear in a committed output.
FORBIDDEN = {
    "a machine path": re.compile(r"(/root/|/home/\w|/Users/\w|/tmp/|/work/|/var/folders/|C:\\\\Users|~/\."
                                 r"|site-packages|/lib/python3)"),
    "a Jupyter token": re.compile(r"token=[0-9a-f]{8,}"),
    "a memory address": re.compile(r"\bat 0x[0-9a-f]{6,}"),
}


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def _text(output: dict) -> str:
    if output["output_type"] == "stream":
        return "".join(output["text"])
    if output["output_type"] == "error":
        return "\n".join(output["traceback"])
    data = output.get("data", {})
    return "".join("".join(v) if isinstance(v, list) else str(v)
                   for k, v in data.items() if k.startswith("text/"))


def test_there_are_notebooks():
    names = [p.name for p in NOTEBOOKS]
    assert names and names[0].startswith("00_"), names
    for i, name in enumerate(names):
        assert re.match(rf"{i:02d}_[a-z0-9_]+\.ipynb$", name), f"notebooks are numbered 00_, 01_...: {names}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_executed_in_order_from_a_fresh_kernel(path):
    counts = [c["execution_count"] for c in _code_cells(_load(path))]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts} are not 1..n: re-run it with `make notebooks`")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_errors_but_intended_ones(path):
    for i, cell in enumerate(_code_cells(_load(path)), 1):
        tags = cell["metadata"].get("tags", [])
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        if INTENDED_ERROR_TAG in tags:
            assert errors, f"{path.name} cell [{i}] is tagged {INTENDED_ERROR_TAG} but raised nothing"
        else:
            assert not errors, f"{path.name} cell [{i}] has an error: {errors[0]['ename']}"
        stderr = "".join("".join(o["text"]) for o in cell["outputs"]
                         if o["output_type"] == "stream" and o["name"] == "stderr")
        assert "Traceback" not in stderr and "Warning" not in stderr, (
            f"{path.name} cell [{i}] printed a warning or traceback to stderr:\n{stderr[:500]}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_carry_no_machine_details(path):
    for i, cell in enumerate(_code_cells(_load(path)), 1):
        for output in cell["outputs"]:
            text = _text(output)
            for what, pattern in FORBIDDEN.items():
                m = pattern.search(text)
                assert not m, f"{path.name} cell [{i}] shows {what}: {m.group(0)!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_shape_of_a_lesson(path):
    nb = _load(path)
    cells = nb["cells"]
    assert cells[0]["cell_type"] == "markdown", f"{path.name} must open with prose"
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"
    checked = [c for c in _code_cells(nb) if "nbval-check-output" in c["metadata"].get("tags", [])]
    assert checked, f"{path.name}: tag the cells whose output is the lesson with nbval-check-output"
    long_cells = [i for i, c in enumerate(_code_cells(nb), 1) if len("".join(c["source"]).splitlines()) > 40]
    assert not long_cells, f"{path.name}: code cells over 40 lines {long_cells} belong in support/"
    assert not any(c["metadata"].get("widgets") for c in cells)


def _widget_views(nb: dict) -> list[tuple[int, str]]:
    """(code cell number, model id) of every widget shown in an output."""
    return [(i, output["data"][WIDGET_VIEW]["model_id"]) for i, cell in enumerate(_code_cells(nb), 1)
            for output in cell["outputs"] if WIDGET_VIEW in output.get("data", {})]


def _widget_state(nb: dict) -> dict:
    return nb["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_widget_outputs_carry_their_state(path):
    """Without the state, a reader sees ``IntProgress(value=0, ...)`` text until the
    cell is re-run (and GitHub and nbviewer never draw the widget):
    ``tools/run_notebooks.py`` stores it."""
    nb = _load(path)
    state = _widget_state(nb)
    shown = _widget_views(nb)
    missing = [(cell, model) for cell, model in shown if model not in state]
    assert not missing, (f"{path.name}: widgets shown in cells {sorted({c for c, _ in missing})} have no stored "
                         f"state: re-run it with `python tools/run_notebooks.py {path.name}`")
    # A shown widget's parts (an HBox's progress bar and label) must be there too.
    referenced = set(re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(state)))
    assert referenced <= set(state), f"{path.name}: widget state refers to missing models {referenced - set(state)}"
    for what, pattern in FORBIDDEN.items():
        m = pattern.search(json.dumps(state, ensure_ascii=False))
        assert not m, f"{path.name}: the stored widget state shows {what}: {m.group(0)!r}"
