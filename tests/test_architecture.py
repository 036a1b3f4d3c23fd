"""The house rules that can be read from the source, checked: the layers of
``support/``, the one door to the operating system, the teacher's code kept
out of the students', and no module over 400 lines.

Discussion: a small AST walk rather than import-linter. The layers are seven
lines here; the other rules (no ``/proc`` path outside osutil, none in a
notebook cell, no ``teacher`` import from a notebook) are about string
constants and notebook cells, which an import graph does not see; and one file
with no new pin stays in ``make test``. Every import counts, lazy ones (inside
a function) and ``TYPE_CHECKING`` ones included.
"""

from __future__ import annotations

import ast
import datetime
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUPPORT = ROOT / "support"

#: The floors of support/, high to low. A module may import its own floor and
#: the floors below it, never one above. Each name is a subpackage, or a
#: top-level module (the foundations).
FLOORS = [
    {"exercises", "checks"},   # the exercise API and its checkers (they meet through a lazy registry)
    {"servers"},               # notebook 09: designs, load generator, backend
    {"crawlers", "measure"},   # the crawlers; the measurements (independent: see INDEPENDENT)
    {"labsite"},               # the local web site
    {"kernel", "web"},         # the toy event loop and tasks; links, responses, reasons, the report
    {"fmt", "timeline", "osutil"},  # foundations
]
#: Pairs on one floor that never import each other (either way).
INDEPENDENT = [("crawlers", "measure"), ("kernel", "web")]
#: Imports forbidden although the floors would allow them: (importer, imported).
FORBIDDEN = [
    ("crawlers", "labsite"),  # crawlers meet the site over HTTP only (and so never reach it through measure)
]

#: Modules only :mod:`support.osutil` may import, and path prefixes only it may name.
OS_MODULES = {"resource", "psutil"}
OS_PATHS = re.compile(r"^/(proc|sys)(/|$)")
#: Files that talk to the OS themselves, and why.
OS_EXEMPT = {
    # JupyterHub loads it in its own process, and a teacher copies it to a real hub where the
    # course is not importable: it sets the file limit and joins the cgroup itself.
    "tools/class_hub/jupyterhub_config.py",
    # Mounts the host's /sys and /dev into a Debian chroot for Python 3.14 (root, never imported by the
    # course): it reads nothing there; the suite inside asks support.osutil as everywhere.
    "tools/sid_chroot.py",
}

#: At most this many lines in a module.
MAX_LINES = 400
#: Modules over MAX_LINES that their owners are trimming, with the day they were listed.
#: The integrator removes an entry once its module is back under the limit.
KNOWN_LONG: dict[str, datetime.date] = {}
#: Never measured: reference solutions (the exercise's whole answer key, one per notebook).
LONG_BY_NATURE = re.compile(r"^teacher/solutions/")


def _python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every module ``path`` imports, absolute, with its line; ``from pkg import name``
    counts as ``pkg.name`` when that is a module of the course."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                is_module = (ROOT / Path(*candidate.split("."))).with_suffix(".py").exists() or \
                    (ROOT / Path(*candidate.split("."))).is_dir()
                out.append((candidate if is_module else base, node.lineno))
    return out


def _part(module: str) -> str | None:
    """The layer name of a ``support`` module (its subpackage or foundation module), None for ``support`` itself."""
    parts = module.split(".")
    return parts[1] if parts[0] == "support" and len(parts) > 1 else None


FLOOR_OF = {name: level for level, names in enumerate(FLOORS) for name in names}


def layer_violations(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        mine = _part(_module_name(path))
        for imported, line in _imports(path):
            theirs = _part(imported) if imported.startswith("support") else None
            if mine is None or theirs is None or mine == theirs:
                continue
            where = f"{path.relative_to(ROOT)}:{line} imports {imported}"
            if mine not in FLOOR_OF or theirs not in FLOOR_OF:
                found.append(f"{where}: {mine if mine not in FLOOR_OF else theirs} is on no floor (add it to FLOORS)")
            elif FLOOR_OF[theirs] < FLOOR_OF[mine]:
                found.append(f"{where}: {mine} is below {theirs}")
            elif (mine, theirs) in FORBIDDEN:
                found.append(f"{where}: {mine} must not import {theirs}")
            elif (mine, theirs) in INDEPENDENT or (theirs, mine) in INDEPENDENT:
                found.append(f"{where}: {mine} and {theirs} are independent")
    return found


def _string_constants(tree: ast.AST) -> list[ast.Constant]:
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [node for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


def os_violations(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("support/osutil/") or rel in OS_EXEMPT:
            continue
        for imported, line in _imports(path):
            if imported.split(".")[0] in OS_MODULES:
                found.append(f"{rel}:{line} imports {imported} (ask support.osutil)")
        for node in _string_constants(ast.parse(path.read_text())):
            if OS_PATHS.match(node.value):
                found.append(f"{rel}:{node.lineno} names {node.value!r} (ask support.osutil)")
    return found


def _code_cells(notebook: Path) -> list[tuple[int, str]]:
    cells = json.loads(notebook.read_text())["cells"]
    return [(i, "".join(c["source"])) for i, c in enumerate(cells) if c["cell_type"] == "code"]


NOTEBOOK_RULES = [
    (re.compile(r"^\s*(import|from)\s+teacher\b", re.M), "imports teacher (the answer key)"),
    (re.compile(r"^\s*(import|from)\s+(resource|psutil)\b", re.M), "asks the OS itself (ask support.osutil)"),
    (re.compile(r"['\"]/(proc|sys)/"), "names /proc or /sys (ask support.osutil)"),
]


def notebook_violations(notebooks: list[Path]) -> list[str]:
    return [f"{nb.relative_to(ROOT)} cell {i}: {why}" for nb in notebooks for i, source in _code_cells(nb)
            for rule, why in NOTEBOOK_RULES if rule.search(source)]


def teacher_violations(files: list[Path]) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line} imports {imported}" for path in files
            for imported, line in _imports(path) if imported.split(".")[0] == "teacher"]


def long_modules(files: list[Path]) -> dict[str, int]:
    out = {}
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES and not LONG_BY_NATURE.match(rel):
            out[rel] = lines
    return out


# -- the tests -----------------------------------------------------------------


def test_every_part_of_support_is_on_a_floor():
    parts = {p.name for p in SUPPORT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    parts |= {p.stem for p in SUPPORT.glob("*.py") if p.name != "__init__.py"}
    assert parts == set(FLOOR_OF)


def test_support_imports_only_downwards_and_as_the_contract_says():
    assert layer_violations(_python_files("support")) == []


def test_only_osutil_asks_the_operating_system():
    assert os_violations(_python_files("support", "tools")) == []
    assert notebook_violations(sorted((ROOT / "notebooks").glob("*.ipynb"))) == []


def test_the_students_code_never_imports_the_teachers():
    assert teacher_violations(_python_files("support")) == []


def test_no_module_is_over_400_lines():
    long = long_modules(_python_files("support", "tools", "teacher", "tests"))
    assert {name: n for name, n in long.items() if name not in KNOWN_LONG} == {}
    assert set(KNOWN_LONG) <= set(long), f"back under {MAX_LINES} lines: remove from KNOWN_LONG: " \
                                        f"{sorted(set(KNOWN_LONG) - set(long))}"


# -- the checks can fail: each one on a file that breaks its rule ---------------------


@pytest.fixture
def planted(tmp_path, monkeypatch):
    """Write a module into a scratch copy of the tree's layout and return its path."""
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)

    def plant(relative: str, text: str) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(tmp_path).parents:
            if parent != Path(".") and parent.parts[0] == "support":
                (tmp_path / parent / "__init__.py").touch()
        path.write_text(text)
        return path

    for name in ("labsite", "measure", "crawlers", "kernel", "web"):
        plant(f"support/{name}/__init__.py", "")
    return plant


def test_the_layer_check_catches_an_upward_a_forbidden_and_a_sideways_import(planted):
    bad = [planted("support/kernel/up.py", "from support.crawlers import registry\n"),
           planted("support/crawlers/site.py", "import support.labsite\n"),
           planted("support/web/side.py", "def f():\n    from support.kernel import tasks\n")]
    found = layer_violations(bad)
    assert len(found) == 3, found
    assert "kernel is below crawlers" in found[0] and "must not import labsite" in found[1]
    assert "independent" in found[2]


def test_the_os_check_catches_an_import_and_a_path_but_not_a_docstring(planted):
    bad = planted("support/measure/peek.py", '"""Reads /proc/self/status, in prose."""\n'
                                             "import psutil\nPATH = '/sys/fs/cgroup/pids.max'\n")
    assert len(os_violations([bad])) == 2


def test_the_size_check_catches_a_long_module(planted):
    long = planted("support/web/long.py", "x = 1\n" * (MAX_LINES + 1))
    assert long_modules([long]) == {"support/web/long.py": MAX_LINES + 1}
