"""The nbgrader flow end to end on notebook 03: generate the student version,
autograde a right and a wrong submission, read the points from the gradebook."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import nbformat
import pytest

from teacher import grading
from teacher.solutions import nb03

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / "notebooks" / "03_iteradores_y_generadores.ipynb"
EXERCISES = sorted(name.split(".")[1] for name in nb03.WRONG_ANSWERS)


def _answer(nb, name: str, source: str) -> None:
    """What a student does: write their code into the exercise's cell."""
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"ex_03_{name}")
    cell.source += "\n" + source


def _as(name: str, function) -> str:
    """The source of ``function`` renamed to ``name`` (a named wrong answer, as a student would write it)."""
    return re.sub(r"^(\s*(?:async def|def|class) )\w+", rf"\g<1>{name}", inspect.getsource(function), count=1)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("nbgrader")
    assert grading.write_course(course, [NB]) == ["03"]
    result = grading.nbgrader(course, "generate_assignment", "03", "--force")
    assert result.returncode == 0, result.stderr[-2000:]
    return course


def test_source_has_solution_and_test_cells_from_the_checkers(course):
    nb = nbformat.read(course / "source" / "03" / NB.name, as_version=4)
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(graded) == len(EXERCISES) and all(c.metadata.nbgrader.points == grading.POINTS for c in graded)
    assert all("grade(" in c.source and "== RIGHT" in c.source for c in graded)


def test_student_version_has_the_stubs_and_no_solutions(course):
    released = (course / "release" / "03" / NB.name).read_text()
    assert "BEGIN SOLUTION" not in released
    for name in EXERCISES:
        body = inspect.getsource(getattr(nb03, name)).splitlines()
        assert not [line for line in body[2:] if line.strip() and line.strip() in released
                    and "raise NotImplementedError" not in line and len(line.strip()) > 25], name
    assert released.count("raise NotImplementedError  # tu código aquí") >= len(EXERCISES)


def test_autograde_gives_points_to_right_answers_only(course):
    from nbgrader.api import Gradebook

    release = nbformat.read(course / "release" / "03" / NB.name, as_version=4)
    right, mixed = nbformat.from_dict(release), nbformat.from_dict(release)
    for name in EXERCISES:
        _answer(right, name, inspect.getsource(getattr(nb03, name)))
    first, second = EXERCISES[0], EXERCISES[1]
    _answer(mixed, first, inspect.getsource(getattr(nb03, first)))                    # one right
    _answer(mixed, second, _as(second, nb03.WRONG_ANSWERS[f"03.{second}"][0]))        # one wrong, the rest untouched
    for student, nb in (("ana", right), ("beto", mixed)):
        folder = course / "submitted" / student / "03"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NB.name)
    result = grading.nbgrader(course, "autograde", "03", "--force")
    assert result.returncode == 0, result.stderr[-3000:]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s: gradebook.find_submission("03", s).score for s in ("ana", "beto")}
    assert scores == {"ana": grading.POINTS * len(EXERCISES), "beto": grading.POINTS}, scores


def test_a_notebook_without_checks_is_refused(tmp_path):
    plain = tmp_path / "03_x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), plain)
    with pytest.raises(ValueError, match="no check"):
        grading.source_notebook(plain)
