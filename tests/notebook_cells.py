"""Run a notebook's own definitions inside a test.

The lesson's code stays visible in the notebooks, and a reference copy lives in
support/; tests exec() the notebook's cells with these helpers and prove both
behave the same, so the two copies cannot drift apart.
"""

from __future__ import annotations

import functools
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@functools.lru_cache(maxsize=None)
def _code_sources(number: str) -> tuple[str, ...]:
    (path,) = NOTEBOOKS.glob(f"{number}_*.ipynb")
    nb = nbformat.read(path, as_version=4)
    return tuple(c.source for c in nb.cells if c.cell_type == "code")


def code_cell(number: str, marker: str, *, prefix: bool = False) -> str:
    """The source of the one code cell of notebook ``number`` (e.g. "04") that
    contains ``marker`` (or starts with it, when ``prefix``)."""
    found = [s for s in _code_sources(number) if (s.startswith(marker) if prefix else marker in s)]
    assert len(found) == 1, f"notebook {number}: expected one code cell with {marker!r}, found {len(found)}"
    return found[0]


def exec_cells(number: str, *markers: str, namespace: dict | None = None, prefix: bool = False) -> dict:
    """exec() the cells named by ``markers``, in order, in ``namespace``; return it."""
    namespace = {} if namespace is None else namespace
    for marker in markers:
        source = code_cell(number, marker, prefix=prefix)
        exec(compile(source, f"notebook {number}: {marker}", "exec"), namespace)
    return namespace
