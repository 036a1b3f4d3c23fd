"""The student build carries no answers: solutions and answer keys stay on the teacher's side.

The reference solutions live in ``teacher/solutions/`` (tests/test_exercises.py
still proves every checker with them); here we prove that what a student gets
(the student build, Binder's image, the installed package, the checkers'
namespace) cannot hand out a solution or an answer key.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from support.checks import nb08
from support.exercises import WRONG, run_check
from teacher.solutions import nb08 as solutions08
from tools.student_build import TEACHER_ONLY, build, student_files

ROOT = Path(__file__).resolve().parent.parent


def test_the_package_does_not_ship_the_teacher_side():
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert not [p for p in packages if "solution" in p or p.startswith("teacher")], packages
    assert not (ROOT / "support" / "solutions").exists(), "solutions belong in teacher/solutions/"


def test_support_never_imports_the_teacher_side():
    for path in (ROOT / "support").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names if n.split(".")[0] == "teacher"], f"{path} imports the teacher's side"


def test_binder_removes_the_teacher_side_before_installing():
    script = (ROOT / "binder" / "postBuild").read_text()
    removal = next(line for line in script.splitlines() if line.startswith("rm -rf "))
    for path in TEACHER_ONLY:
        assert path.rstrip("/") in removal.split(), path
    assert script.index(removal) < script.index("pip install")


def test_student_build_has_no_teacher_files_and_cannot_import_solutions(tmp_path):
    dest = tmp_path / "alumno"
    files = build(dest)
    assert files == student_files()
    assert "notebooks/08_corrutinas_vs_hilos.ipynb" in files and "support/checks/nb08.py" in files
    assert not [f for f in files if f.startswith("teacher/")]
    assert not (dest / "teacher").exists()
    # a student's kernel imports from the build (-S: not from this checkout's editable install)
    def find_solutions(where):
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # only `where` is on the path
        return subprocess.run([sys.executable, "-S", "-m", "teacher.solutions.nb08"], cwd=where, env=env,
                              capture_output=True, text=True, timeout=60).stderr

    assert "No module named 'teacher'" in find_solutions(dest)
    assert "No module named 'teacher'" not in find_solutions(ROOT)  # the same probe finds them in the teacher's copy


def test_student_build_refuses_to_overwrite_the_repository():
    with pytest.raises(ValueError):
        build(ROOT)


def test_the_checker_holds_fingerprints_that_match_the_teachers_key():
    assert set(nb08.SCENARIOS) == set(solutions08.ANSWER_KEY)
    for scenario, (right, _why) in solutions08.ANSWER_KEY.items():
        assert nb08._RIGHT[scenario] == nb08.answer_digest(scenario, right)
        assert solutions08.elegir(scenario) == right
    visible = repr(vars(nb08).get("SCENARIOS")) + repr(nb08._RIGHT)
    for _right, why in solutions08.ANSWER_KEY.values():
        assert why not in visible


@pytest.mark.parametrize("scenario", sorted(solutions08.ANSWER_KEY))
def test_a_wrong_choice_is_told_wrong_without_naming_the_right_one(scenario):
    right = solutions08.ANSWER_KEY[scenario][0]
    wrong = next(c for c in nb08.CHOICES if c != right)

    def answer(s):
        return wrong if s == scenario else solutions08.elegir(s)

    verdict = run_check("08.elegir", answer)
    assert verdict.status == WRONG
    assert scenario in str(verdict) and right not in str(verdict), str(verdict)
