"""Grading with nbgrader, built from the course's own checkers and solutions.

``python -m teacher.grading NN [NN...] [--course build/nbgrader]`` writes an
nbgrader course folder and runs ``nbgrader generate_assignment`` on it:

* ``source/NN/NN_x.ipynb``: the course notebook, where each exercise's stub
  cell becomes an nbgrader *solution* cell (the stub as the student sees it,
  then ``### BEGIN SOLUTION`` ... the reference solution from
  ``teacher/solutions/nbNN.py`` ... ``### END SOLUTION``) and each
  ``check("NN.name", ...)`` cell becomes a locked, autograded *test* cell
  worth :data:`POINTS` that asserts the GRADED verdict is right
  (:func:`support.exercises.graded.grade`: the answer's source, inspected and
  checked in a fresh process with inputs drawn for that run; the kernel's own
  ``check`` stays above it as the student's quick feedback);
* ``release/NN/``: the student version (solutions removed by nbgrader);
* the teacher then collects submissions into ``submitted/STUDENT/NN/`` and runs
  ``nbgrader autograde NN`` (points per student in ``gradebook.db``;
  ``nbgrader export`` writes grades.csv).

The same checkers give the student's self-check in class and the grade: one
source of truth, no second copy of any test.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
POINTS = 2
_CHECK = re.compile(r"""check\(\s*["'](\d\d)\.(\w+)["']\s*,\s*(\w+)\s*\)""")

CONFIG = '''c = get_config()  # noqa: F821 - nbgrader's config object
c.CourseDirectory.course_id = "corrutinas"
c.CourseDirectory.root = {root!r}
# The student version keeps the course's own stub (it raises NotImplementedError,
# and the checker then prints "pendiente"); nbgrader removes only the solution.
c.ClearSolutions.code_stub = {{"python": "# (escribe tu solución en la definición de arriba)"}}
c.Execute.timeout = 120
'''


def _meta(grade_id: str, *, solution: bool, grade: bool, points: int = 0) -> dict:
    meta = {"grade": grade, "solution": solution, "locked": not solution, "grade_id": grade_id,
            "schema_version": 3}
    if grade:
        meta["points"] = points
    return meta


def source_notebook(path: Path) -> nbformat.NotebookNode:
    """The nbgrader source version of a course notebook (see the module's docstring)."""
    nb = nbformat.read(path, as_version=4)
    number = path.name[:2]
    solutions = importlib.import_module(f"teacher.solutions.nb{number}")
    found = 0
    for i, cell in enumerate(nb.cells):
        match = _CHECK.search(cell.source) if cell.cell_type == "code" else None
        if not match:
            continue
        nn, name, answer = match.groups()
        stub = next((c for c in reversed(nb.cells[:i]) if c.cell_type == "code"
                     and re.search(rf"^(async def|def|class) {answer}\b", c.source, re.M)), None)
        if stub is None or "NotImplementedError" not in stub.source:
            raise ValueError(f"{path.name}: no stub cell defines {answer} before check('{nn}.{name}')")
        reference = inspect.getsource(getattr(solutions, name)).rstrip()
        stub.source = f"{stub.source.rstrip()}\n### BEGIN SOLUTION\n{reference}\n### END SOLUTION"
        stub.metadata["nbgrader"] = _meta(f"ex_{nn}_{name}", solution=True, grade=False)
        cell.source = (f"{cell.source.rstrip()}\n"
                       f"from support.exercises import RIGHT\n"
                       f"from support.exercises.graded import grade\n"
                       f"assert grade(\"{nn}.{name}\", {answer}).status == RIGHT")
        cell.metadata["nbgrader"] = _meta(f"test_{nn}_{name}", solution=False, grade=True, points=POINTS)
        found += 1
    if not found:
        raise ValueError(f"{path.name} has no check(...) cells")
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def write_course(course: Path, notebooks: list[Path]) -> list[str]:
    """An nbgrader course folder with one assignment per notebook (named NN)."""
    course.mkdir(parents=True, exist_ok=True)
    (course / "nbgrader_config.py").write_text(CONFIG.format(root=str(course.resolve())))
    assignments = []
    for path in notebooks:
        folder = course / "source" / path.name[:2]
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(source_notebook(path), folder / path.name)
        assignments.append(path.name[:2])
    return assignments


def nbgrader(course: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in ``course`` (its config is found there)."""
    # nbgrader runs its database migrations with the `alembic` command: from this environment
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ, PATH=path))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="+", help="notebook numbers, e.g. 03 08")
    parser.add_argument("--course", default=str(ROOT / "build" / "nbgrader"))
    args = parser.parse_args(argv)
    paths = []
    for number in args.numbers:
        found = sorted((ROOT / "notebooks").glob(f"{int(number):02d}_*.ipynb"))
        if not found:
            parser.error(f"no notebook {number}")
        paths.append(found[0])
    course = Path(args.course)
    for assignment in write_course(course, paths):
        result = nbgrader(course, "generate_assignment", assignment, "--force")
        if result.returncode != 0:
            sys.exit(result.stderr[-2000:])
        print(f"{course}/release/{assignment}/ : versión para estudiantes", file=sys.stderr)


if __name__ == "__main__":
    main()
