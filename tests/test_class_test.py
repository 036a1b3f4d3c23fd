"""tools/class_test: what it checks and reports, without starting a hub (make class-test does)."""

from __future__ import annotations

from argparse import Namespace

import pytest

from tools import class_test
from tools.class_test import NotebookRun, Usage

ARGS = Namespace(nofile=4096, pids=1024, escala="0.1")
LIMITS = {"nofile": 4096, "pids_max": 1024, "escala": 0.1, "escala_env": "0.1"}


class FakeSampler:
    def __init__(self, users):
        self.peak = {user: Usage(rss=300 * 2**20, threads=200, fds=2100, pids=210, processes=5) for user in users}
        self.peak_by_notebook = {}


def checks(runs: dict) -> dict[str, bool]:
    return {text.split(" ")[0]: ok for text, ok in class_test.report(runs, FakeSampler(runs), ARGS)}


def test_a_class_where_everything_passed_under_the_limits_passes(capsys):
    runs = {"alumno1": [NotebookRun("08_x", cells=28, limits=LIMITS, busy=1)],
            "alumno2": [NotebookRun("08_x", cells=28, limits=LIMITS)]}
    assert all(checks(runs).values())
    out = capsys.readouterr().out
    assert "alumno1" in out and "300 MB" in out and "busy: 1 timing comparisons" in out


@pytest.mark.parametrize("run", [
    NotebookRun("08_x", cells=3, limits=LIMITS, error="cell 12: AssertionError: medido: t = 0,2"),
    NotebookRun("08_x", cells=28, limits={**LIMITS, "pids_max": None}),  # the kernel saw no pids limit
    NotebookRun("08_x", cells=28, limits={**LIMITS, "escala": 1.0}),
    NotebookRun("08_x", cells=28, limits=LIMITS, meaningless=1),
])
def test_a_failed_notebook_missing_limits_or_a_meaningless_figure_fail_the_class(run):
    runs = {"alumno1": [NotebookRun("01_x", cells=30, limits=LIMITS)], "alumno2": [run]}
    assert not all(checks(runs).values())


def test_warnings_are_kept_without_the_kernels_file_names():
    line = "/tmp/ipykernel_29075/3424775092.py:22: ClassroomWarning: hilos: 100 en lugar de 1.000 (CORRUTINAS_ESCALA=0.1)"
    assert class_test.WARNING.search(line).group(0) == "ClassroomWarning: hilos: 100 en lugar de 1.000 (CORRUTINAS_ESCALA=0.1)"
    assert class_test.WARNING.search("UserWarning: algo").group(0) == "UserWarning: algo"
    assert class_test.WARNING.search("print de una celda") is None


def test_notebooks_are_found_by_their_number():
    assert [p.name[:2] for p in class_test.notebook_paths(list(class_test.HEAVIEST))] == list(class_test.HEAVIEST)
    with pytest.raises(SystemExit, match="no notebook starts with 99_"):
        class_test.notebook_paths(["99"])
