"""Notebook 09 under Python's development mode (``-X dev``): the servers a student copies leak nothing.

``-X dev`` shows every ``ResourceWarning`` (a socket, a ``StreamWriter`` or a
transport that was never closed) and turns on asyncio's debug mode. Neither is
visible in a notebook's stored outputs: the warning of an object collected
later, and asyncio's error log (CPython gh-113538's ``Exception in callback
StreamReaderProtocol.connection_made.<locals>.callback ... CancelledError``,
logged for each cancelled ``start_server`` handler on 3.11 and 3.12), go to the
kernel's stderr. So the test starts the kernel itself with ``-X dev`` (a
kernelspec of its own in a temporary ``JUPYTER_PATH``), puts a first cell that
records every ``ResourceWarning`` and every record asyncio logs at ERROR, runs
the notebook top to bottom, and a last cell that collects the garbage and
fails on anything recorded: those warnings are errors here, because they are
the course's own (its sockets, writers and transports). Warnings of the
Jupyter machinery itself (ZMQ sockets) are not the course's and are left out.

Discussion: the loop's slow-callback WARNINGs that debug mode adds (the
kernel's own loop runs in debug mode too) are not errors and are not counted;
notebook 09 collects its own on purpose (section 7).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "09_el_servidor.ipynb"
KERNEL = "corrutinas-dev"

RECORD = '''\
import gc, logging, warnings
_avisos = []
_ajenos = ("zmq", "jupyter", "ipykernel", "tornado", "traitlets")
def _anotar_aviso(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, ResourceWarning) and not any(a in str(filename) for a in _ajenos):
        _avisos.append(f"{category.__name__}: {message} ({filename}:{lineno})")
warnings.simplefilter("always", ResourceWarning)
warnings.showwarning = _anotar_aviso
class _Errores(logging.Handler):
    def emit(self, record):
        _avisos.append(f"asyncio logged {record.levelname}: {record.getMessage()[:300]}")
logging.getLogger("asyncio").addHandler(_Errores(level=logging.ERROR))
'''

CHECK = '''\
for _ in range(3):
    gc.collect()
assert not _avisos, "\\n".join(_avisos)
print("sin avisos")
'''


@pytest.fixture
def dev_kernel(tmp_path, monkeypatch):
    """A kernelspec whose kernel runs under ``python -X dev``, importing this checkout's support/."""
    spec = tmp_path / "kernels" / KERNEL
    spec.mkdir(parents=True)
    path = f"{ROOT}:{os.environ.get('PYTHONPATH', '')}".rstrip(":")
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-X", "dev", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (-X dev)", "language": "python",
        # the class-size setting at 0.1: the same code paths with a tenth of the connections and
        # threads (the timing lessons are nbval's job at full size)
        "env": {"PYTHONPATH": path, "CORRUTINAS_ESCALA": "0.1"},
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    return KERNEL


@pytest.mark.realtime  # the whole notebook runs, and its cells measure time as nbval's do
def test_notebook_09_runs_under_dev_mode_without_resource_warnings_or_asyncio_errors(dev_kernel):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(RECORD))
    nb.cells.append(nbformat.v4.new_code_cell(CHECK))
    client = NotebookClient(nb, timeout=300, kernel_name=dev_kernel,
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:  # the message quotes the cell and what it recorded
        pytest.fail(str(exc)[-3000:])
    assert "sin avisos" in "".join(o.get("text", "") for o in nb.cells[-1].outputs)
