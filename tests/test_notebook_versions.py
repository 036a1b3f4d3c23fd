"""A notebook cell that depends on the Python version says so: it branches on ``sys.version_info``.

The course runs on CPython 3.11 to 3.14 (noxfile.py runs every notebook on each).
A cell that asserts one version's behaviour passes where it was written and fails
on the next Python a student installs. Two such cells shipped: notebook 09 wrote
the same ``bytes`` object 256 times and read the transport's write buffer (since
3.12 the buffer keeps references, so it counts 16 MiB while memory grows 64 KiB),
and notebook 01 found thread stacks by counting mappings of ``/proc/self/smaps``
(a newer glibc merges neighbouring stacks into one mapping).

So: a registry of what differs by version, and a check over every code cell (and
over ``support/`` for the C-library readings). A cell that uses a registered API
or measures a registered behaviour must contain a branch (``if``) on
``sys.version_info`` (or, for an API, ``hasattr``), with the other branch saying
what that version does instead.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

#: APIs that exist only from some version on: attribute or keyword name -> (version, what it is).
NEW_APIS = {
    "close_clients": ("3.13", "asyncio.Server.close_clients"),
    "abort_clients": ("3.13", "asyncio.Server.abort_clients"),
    "QueueShutDown": ("3.13", "asyncio.Queue.shutdown and QueueShutDown"),
    "eager_task_factory": ("3.12", "asyncio.eager_task_factory"),
    "eager_start": ("3.14", "create_task(..., eager_start=True)"),
    "print_call_graph": ("3.14", "asyncio.print_call_graph"),
    "capture_call_graph": ("3.14", "asyncio.capture_call_graph"),
    "_is_gil_enabled": ("3.13", "sys._is_gil_enabled"),
}


def _names(tree: ast.AST) -> set[str]:
    """Every attribute, name and keyword argument the code mentions."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.keyword) and node.arg:
            found.add(node.arg)
    return found


def _rewrites_one_object(tree: ast.AST) -> bool:
    """A loop that calls ``X.write(NAME)`` with a NAME the loop never rebinds: the same object, again and again."""
    for loop in (n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.AsyncFor, ast.While))):
        bound = {t.id for n in ast.walk(loop) if isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For))
                 for t in ast.walk(n.target if not isinstance(n, ast.Assign) else ast.Tuple(n.targets))
                 if isinstance(t, ast.Name)}
        for call in (n for n in ast.walk(loop) if isinstance(n, ast.Call)):
            if (isinstance(call.func, ast.Attribute) and call.func.attr == "write" and len(call.args) == 1
                    and isinstance(call.args[0], ast.Name) and call.args[0].id not in bound):
                return True
    return False


def _current_task_under_wait_for(tree: ast.AST) -> bool:
    """``wait_for(f(...))`` where ``f``, defined here, asks for ``current_task()``: which task it runs in changed."""
    asking = {f.name for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
              and "current_task" in _names(f)}
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        if name == "wait_for" and call.args and (_names(call.args[0]) & (asking | {"current_task"})):
            return True
    return False


#: Behaviours that changed: name -> (version, why the figure differs, does this cell measure it?).
CHANGED = {
    "write buffer of a repeated object": (
        "3.12", "the selector transport keeps references to written objects (memoryviews), no copy: "
                "get_write_buffer_size() counts bytes referenced, not memory",
        lambda tree, names: "get_write_buffer_size" in names and _rewrites_one_object(tree)),
    "current task inside wait_for": (
        "3.12", "wait_for is built on asyncio.timeout: no new task for a positive timeout",
        lambda tree, names: _current_task_under_wait_for(tree)),
    "as_completed as an async iterator": (
        "3.13", "async for over as_completed yields the original tasks",
        lambda tree, names: any(isinstance(n, ast.AsyncFor) and "as_completed" in _names(n.iter)
                                for n in ast.walk(tree))),
}

#: Readings whose layout depends on the C library, not allowed in the course's code.
C_LIBRARY_READINGS = {
    "/proc/self/smaps": "thread stacks counted as mappings: a newer glibc (2.43) merges neighbouring stacks "
                        "into one mapping; find them with support.osutil.stacks (pthread_getattr_np, /proc/self/pagemap)",
}


def _guarded(tree: ast.AST, allow_hasattr: bool) -> bool:
    """Whether the code branches (if, conditional expression, ``and``) on sys.version_info (or hasattr)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.If, ast.IfExp, ast.BoolOp)):
            test = _names(node.values[0] if isinstance(node, ast.BoolOp) else node.test)
            if "version_info" in test or (allow_hasattr and "hasattr" in test):
                return True
    return False


def problems(source: str) -> list[str]:
    """What in this cell's source depends on the Python version without a branch on it."""
    try:
        tree = compile(re.sub(r"(?m)^\s*[%!].*$", "", source), "<cell>", "exec",  # no IPython magics, shell lines
                       flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)       # cells may await at top level
    except SyntaxError:
        return []  # the cells that fail on purpose (notebook 01's SyntaxError)
    names = _names(tree)
    found = [f"uses {what} (new in {version})" for name, (version, what) in NEW_APIS.items()
             if name in names and not _guarded(tree, allow_hasattr=True)]
    found += [f"measures the {name}, which changed in {version} ({why})"
              for name, (version, why, measures) in CHANGED.items()
              if measures(tree, names) and not _guarded(tree, allow_hasattr=False)]
    return found


def _cells(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for number, cell in enumerate((c for c in nb["cells"] if c["cell_type"] == "code"), 1):
        yield number, "".join(cell["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_version_specific_cells_branch_on_the_version(path):
    bad = {n: found for n, source in _cells(path) if (found := problems(source))}
    assert not bad, f"{path.name}: cells (code cell number: what) without a sys.version_info branch: {bad}"


def c_library_problems(text: str) -> list[str]:
    """The C-library-dependent readings this module's code makes: a string naming the file outside a
    docstring, or a call to a function named after it (``osutil.smaps()``)."""
    tree = ast.parse(text)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
               and id(n) not in docstrings]
    calls = {n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
             for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return [why for reading, why in C_LIBRARY_READINGS.items()
            if any(reading in s for s in strings) or reading.rsplit("/", 1)[1] in calls]


def test_the_course_code_reads_no_c_library_dependent_layout():
    for py in sorted([*(ROOT / "support").rglob("*.py"), *(ROOT / "tools").rglob("*.py")]):
        assert not c_library_problems(py.read_text(encoding="utf-8")), py.relative_to(ROOT)


# -- the check can fail: the two cells that failed on 3.12+ and 3.14, as they were -----------------

OLD_NB09_BACKPRESSURE = '''
TOTAL, TROZO = 16 * 2**20, b"x" * 65536
bufer_max = {}

async def enviar_mucho(lector, escritor, backend, con_drain):
    await lector.readuntil(servers.END)
    escritor.write(b"HTTP/1.0 200 OK\\r\\n\\r\\n")
    for _ in range(TOTAL // len(TROZO)):
        escritor.write(TROZO)
        bufer_max[con_drain] = max(bufer_max.get(con_drain, 0), escritor.transport.get_write_buffer_size())
        if con_drain:
            await escritor.drain()
    await escritor.drain()
    escritor.close()
'''

OLD_MEMORY_MAPPINGS = '''
def _mappings():
    out = {}
    with open("/proc/self/smaps") as f:
        for line in f:
            pass
    return out
'''

OLD_MEMORY_MAPPINGS_VIA_OSUTIL = '''
def _mappings():
    """Every mapping of this process, from /proc/self/smaps."""
    lines = osutil.smaps()
    return lines
'''


def test_the_old_backpressure_cell_is_caught_and_a_guarded_one_is_not():
    why = CHANGED["write buffer of a repeated object"][1]
    assert problems(OLD_NB09_BACKPRESSURE) == [f"measures the write buffer of a repeated object, which changed in 3.12 ({why})"]
    fresh = OLD_NB09_BACKPRESSURE.replace("        escritor.write(TROZO)",
                                          "        trozo = bytes(65536)\n        escritor.write(trozo)")
    assert problems(fresh) == []
    guarded = OLD_NB09_BACKPRESSURE + "\nif sys.version_info >= (3, 12):\n    pass\n"
    assert problems(guarded) == []


def test_the_old_stack_reading_is_caught():
    assert c_library_problems(OLD_MEMORY_MAPPINGS) == [C_LIBRARY_READINGS["/proc/self/smaps"]]
    assert c_library_problems(OLD_MEMORY_MAPPINGS_VIA_OSUTIL) == [C_LIBRARY_READINGS["/proc/self/smaps"]]
    assert c_library_problems('"""Not /proc/self/smaps: a docstring may say why."""\nopen("/proc/self/pagemap", "rb")') == []


def test_new_apis_need_a_guard():
    assert problems("servidor.close_clients()") == ["uses asyncio.Server.close_clients (new in 3.13)"]
    assert problems("if sys.version_info >= (3, 13):\n    servidor.close_clients()") == []
    assert problems("if hasattr(asyncio, 'eager_task_factory'):\n    asyncio.eager_task_factory") == []
    assert problems("libre = hasattr(sys, '_is_gil_enabled') and not sys._is_gil_enabled()") == []
    assert problems("libre = not sys._is_gil_enabled()") == ["uses sys._is_gil_enabled (new in 3.13)"]
    assert problems("asyncio.create_task(c(), eager_start=True)") == ["uses create_task(..., eager_start=True) (new in 3.14)"]
    assert problems("async for t in asyncio.as_completed(ts):\n    pass") != []
    asks = "async def quien():\n    return asyncio.current_task()\n"
    assert problems(asks + "t = await asyncio.wait_for(quien(), 1)") != []   # top-level await, as in a cell
    assert problems(asks + "t = await asyncio.wait_for(evento.wait(), 1)") == []
