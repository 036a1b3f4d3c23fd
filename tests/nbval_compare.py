"""nbval's own output check, for a notebook that ran somewhere else: JupyterLab's Run All.

Under ``--nbval-lax`` nbval compares the outputs of the cells tagged
``nbval-check-output`` with the stored ones, after the sanitizers of
``tests/nbval_sanitize.cfg``. ``tests/test_browser.py`` runs the widget notebooks
whole in JupyterLab instead of under nbval, so it asks the same question of what
JupyterLab saved, with nbval's functions (pinned in requirements-ci.txt), not a
second copy of them: :func:`differing_outputs`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

from nbval.plugin import IPyNbCell, coalesce_streams, find_comment_markers, find_metadata_tags, get_sanitize_patterns, nocolors

SANITIZE = Path(__file__).with_name("nbval_sanitize.cfg")
CHECK_TAG = "nbval-check-output"
#: What nbval leaves out of a comparison (``IPyNbFile.__init__`` in nbval 0.11, without
#: ``--nbdime``): random widget model ids, execution counts, tracebacks, images.
SKIP_COMPARE = ("metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
                "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg")


class _Cell:
    """Just what ``IPyNbCell.compare_outputs`` reads of a collected cell."""

    compare_outputs = IPyNbCell.compare_outputs
    format_output_compare = IPyNbCell.format_output_compare
    sanitize = IPyNbCell.sanitize
    colors = nocolors
    config = None

    class ihook:  # no pytest hooks out here: nbval falls back to its own side-by-side report
        @staticmethod
        def pytest_assertrepr_compare(**kwargs):
            return []

    def __init__(self, patterns):
        self.parent = SimpleNamespace(skip_compare=SKIP_COMPARE, sanitize_patterns=dict(patterns))
        self.comparison_traceback: list[str] = []


def _checked(cell) -> bool:
    """Whether ``--nbval-lax`` compares this cell's outputs: nbval's own reading of its tags and
    ``# NBVAL_...`` comments (the comments win, as in ``IPyNbFile.collect``)."""
    options = {**dict(find_metadata_tags(cell.metadata)), **dict(find_comment_markers(cell.source))}
    return options.get("check", False) and not options.get("skip", False) and cell.execution_count is not None


def differing_outputs(ran, reference) -> list[tuple[int, str]]:
    """(cell index, nbval's report) for each code cell of ``reference`` that nbval checks, whose
    outputs in ``ran`` (the same notebook, executed) nbval would call different."""
    cell = _Cell(get_sanitize_patterns(SANITIZE.read_text()))
    differ = []
    for index, (new, old) in enumerate(zip(ran.cells, reference.cells, strict=True)):
        if old.cell_type != "code" or not _checked(old):
            continue
        if not cell.compare_outputs(coalesce_streams(copy.deepcopy(new.outputs)),
                                    coalesce_streams(copy.deepcopy(old.outputs))):
            differ.append((index, "\n".join(cell.comparison_traceback)))
    return differ
