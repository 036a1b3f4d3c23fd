"""A notebook's timing asserts say what they measured (issue 14).

An ``assert`` whose condition reads a clock fails, now and then, on a busy
machine; when it does, the student must see the measured figures and what to
do. The house form is ``assert t_cb < t_sec / 2, medido(t_cb=t_cb, t_sec=t_sec)``
(``support.fmt.medido``). This test finds the timing asserts by reading the
notebook's code: a name is *timed* when a cell assigns it (or appends to it)
from a clock reading (``time.perf_counter()``, ``process_time()``,
``thread_time()``, ``monotonic()``, ``loop.time()``, ``timeit.repeat``), from a
``.seconds`` attribute, or from another timed name; an assert is a timing
assert when its condition reads a timed name or a ``.seconds`` (a ``len()`` of
a list of timings is a count, not a time).

Discussion: the reading is a lower bound, not a proof. Only top-level cell code
is followed (a function that returns a time hides it), so an assert can be a
timing one without this test noticing; it never calls an exact assert a timing
one in the notebooks it covers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NUMBERS = ("00", "01", "02", "03", "04", "05", "06", "07", "08", "09")
CLOCKS = {"perf_counter", "process_time", "thread_time", "monotonic", "time", "repeat"}
APPENDS = {"append", "extend", "add"}


def _reads_clock(node: ast.AST, timed: set[str]) -> bool:
    """Does the expression read a clock, a ``.seconds`` or a timed name (outside ``len()``)?"""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
        return False
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CLOCKS:
        return True
    if isinstance(node, ast.Attribute) and node.attr == "seconds":
        return True
    if isinstance(node, ast.Name) and node.id in timed:
        return True
    return any(_reads_clock(child, timed) for child in ast.iter_child_nodes(node))


def _base_name(target: ast.AST) -> str | None:
    while isinstance(target, ast.Subscript):
        target = target.value
    return target.id if isinstance(target, ast.Name) else None


def _names(target: ast.AST) -> list[str]:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for t in target.elts for n in _names(t)]
    name = _base_name(target.value if isinstance(target, ast.Starred) else target)
    return [name] if name else []


def _cell_code(source: str) -> list[ast.stmt]:
    """The statements of a cell, in order, outside function and class bodies (the cell's own flow)."""
    python = TransformerManager().transform_cell(source)   # IPython's %magic lines become calls
    tree = compile(python, "<cell>", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)

    def flow(statements):
        for stmt in statements:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            yield stmt
            for field in ("body", "handlers", "orelse", "finalbody"):
                yield from flow(getattr(stmt, field, []))

    return list(flow(tree.body))


def _assignments(stmt: ast.stmt) -> list[tuple[list[str], ast.AST]]:
    """(names, value) pairs a statement binds or fills; tuples on both sides pair up."""
    if isinstance(stmt, ast.Assign):
        pairs = []
        for target in stmt.targets:
            if isinstance(target, ast.Tuple) and isinstance(stmt.value, ast.Tuple) \
                    and len(target.elts) == len(stmt.value.elts):
                pairs += [(_names(t), v) for t, v in zip(target.elts, stmt.value.elts)]
            else:
                pairs.append((_names(target), stmt.value))
        return pairs
    if isinstance(stmt, (ast.AugAssign, ast.AnnAssign)) and stmt.value is not None:
        return [(_names(stmt.target), stmt.value)]
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        return [(_names(stmt.target), stmt.iter)]
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        func = stmt.value.func
        if isinstance(func, ast.Attribute) and func.attr in APPENDS and _base_name(func.value):
            return [([_base_name(func.value)], ast.Tuple(elts=list(stmt.value.args), ctx=ast.Load()))]
    return []


def timing_asserts(sources: list[str]) -> list[tuple[int, ast.Assert]]:
    """(cell, assert) for every timing assert in a notebook's code cells, given in order."""
    cells = [(i, _cell_code(source)) for i, source in enumerate(sources)]
    timed: set[str] = set()
    while True:   # names are the notebook's globals: grow the timed set to a fixed point
        grown = {name for _, stmts in cells for stmt in stmts for names, value in _assignments(stmt)
                 if _reads_clock(value, timed) for name in names}
        if grown <= timed:
            break
        timed |= grown
    return [(i, stmt) for i, stmts in cells for stmt in stmts
            if isinstance(stmt, ast.Assert) and _reads_clock(stmt.test, timed)]


def _says_medido(stmt: ast.Assert) -> bool:
    msg = stmt.msg
    return isinstance(msg, ast.Call) and (getattr(msg.func, "id", None) == "medido"
                                          or getattr(msg.func, "attr", None) == "medido")


def _code_sources(number: str) -> list[str]:
    (path,) = NOTEBOOKS.glob(f"{number}_*.ipynb")
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"
            and "raises-exception" not in c.metadata.get("tags", [])]   # intended errors may not even parse


@pytest.mark.parametrize("number", NUMBERS)
def test_every_timing_assert_says_medido(number):
    sources = _code_sources(number)
    bare = [f"code cell {i + 1}: {ast.unparse(stmt)}"
            for i, stmt in timing_asserts(sources) if not _says_medido(stmt)]
    assert not bare, (f"notebook {number}: these timing asserts need `, medido(name=value, ...)` "
                      "(support.fmt.medido) as their message:\n" + "\n".join(bare))


def test_the_reading_finds_what_it_should():
    sources = [
        "import time\ninicio = time.perf_counter()\nhecho = True",
        "t_a, n = time.perf_counter() - inicio, 3\nllegadas = []\nllegadas.append(t_a)",
        "r = informe\nfor x in range(2):\n    assert r.seconds < 1\n"
        "assert t_a < 1, medido(t_a=t_a)\nassert llegadas[0] < 2\nassert n == 3 and hecho\n"
        "assert len(llegadas) == 1\nasync def f():\n    assert t_a < 0",
    ]
    found = [(i, ast.unparse(a.test), _says_medido(a)) for i, a in timing_asserts(sources)]
    assert found == [(2, "r.seconds < 1", False), (2, "t_a < 1", True), (2, "llegadas[0] < 2", False)]
