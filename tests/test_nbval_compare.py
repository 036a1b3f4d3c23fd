"""The output check that tests/test_browser.py runs on what JupyterLab saved is nbval's, and can fail."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from nbval_compare import CHECK_TAG, differing_outputs

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _tagged(nb) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and CHECK_TAG in c.metadata.get("tags", [])]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_a_notebook_agrees_with_itself(path):
    nb = nbformat.read(path, as_version=4)
    assert _tagged(nb), f"{path.name}: no cell tagged {CHECK_TAG}"
    assert differing_outputs(copy.deepcopy(nb), nb) == []


def test_a_changed_output_of_a_tagged_cell_is_reported_and_a_sanitized_one_is_not():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("print(x)", execution_count=1, metadata={"tags": [CHECK_TAG]}),
        nbformat.v4.new_code_cell("print(y)", execution_count=2)])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="en 127.0.0.1:4000\n")]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="sin etiqueta\n")]
    ran = copy.deepcopy(nb)
    ran.cells[0].outputs[0].text = "en 127.0.0.1:5123\n"  # another port: the sanitizer's business
    ran.cells[1].outputs[0].text = "otra cosa\n"  # untagged: nbval-lax does not compare it
    assert differing_outputs(ran, nb) == []
    ran.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="en 127.0.0.1:4000\n"),
                            nbformat.v4.new_output("stream", name="stdout", text="y algo más\n")]
    [(index, report)] = differing_outputs(ran, nb)
    assert index == 0 and "y algo más" in report


def test_nbval_s_own_markers_decide_which_cells_count():
    """A ``# NBVAL_CHECK_OUTPUT`` comment checks a cell as the tag does; ``nbval-skip`` leaves it out."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(1)", execution_count=1),
        nbformat.v4.new_code_cell("print(2)", execution_count=2, metadata={"tags": [CHECK_TAG, "nbval-skip"]})])
    for cell in nb.cells:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="antes\n")]
    ran = copy.deepcopy(nb)
    for cell in ran.cells:
        cell.outputs[0].text = "después\n"
    assert [index for index, _ in differing_outputs(ran, nb)] == [0]
