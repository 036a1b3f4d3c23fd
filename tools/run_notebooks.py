"""Execute notebooks top to bottom on a fresh kernel and store their outputs.

    python tools/run_notebooks.py notebooks/01_sockets_bloqueantes.ipynb [...]

This is how committed outputs are produced: one clean run per notebook, from
the notebook's own folder (as JupyterLab and Binder run it). Cells tagged
``raises-exception`` may fail; any other error stops with a message and the
notebook is not written. Per-cell timestamps are dropped so that re-running
changes only what the run really changed. The widgets' state is stored
(``metadata.widgets``, as nbclient's ``store_widget_state`` writes it): with
it JupyterLab, GitHub and nbviewer draw the last run's sliders and progress
bars before anyone runs a cell, instead of ``IntSlider(value=...)`` text.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def merge_streams(outputs: list) -> list:
    """Join consecutive prints to the same stream into one output, as a reader
    sees them (the kernel may flush one cell's prints in several pieces)."""
    merged: list = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (out.output_type == "stream" and prev is not None and prev.output_type == "stream"
                and prev.name == out.name):
            prev.text += out.text
        else:
            merged.append(out)
    return merged


def run(path: Path, timeout: int = 600) -> float:
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)  # a previous run's state, if this run shows no widget
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return elapsed


def main(paths: list[str]) -> int:
    for p in paths:
        path = Path(p)
        try:
            elapsed = run(path)
        except Exception as exc:  # report and go on with the next notebook
            print(f"FAILED {path}: {type(exc).__name__}: {str(exc)[-2000:]}", file=sys.stderr)
            return 1
        print(f"{path}: {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
