"""Graded mode (what nbgrader's test cells call): the answer's source, inspected and
checked in a fresh process with inputs drawn for that run. Every cheat of issue 21
is rejected there; correct answers in several styles are accepted."""

from __future__ import annotations

import importlib

import pytest

from support.exercises import RIGHT, WRONG, guards, run_check
from support.exercises.graded import answer_source, grade, inspect_source
from teacher.solutions import cheats

#: The modules whose code plays the student's notebook in these tests.
NOTEBOOK = tuple(f"teacher.solutions.{m}" for m in ("cheats", *(f"nb{n:02d}" for n in range(1, 10))))
CHEATS = [(name, cheat) for name, found in sorted(cheats.CHEATS.items()) for cheat in found]


@pytest.fixture(autouse=True)
def short_limits(monkeypatch):
    monkeypatch.setattr(guards, "LIMIT", 1.5)


@pytest.mark.parametrize(("name", "cheat"), CHEATS, ids=[c.__name__ for _, c in CHEATS])
def test_every_cheat_is_rejected_when_graded(name, cheat):
    verdict = grade(name, cheat, copied=NOTEBOOK)
    assert verdict.status == WRONG, str(verdict)
    assert "semilla" in verdict.message, str(verdict)


@pytest.mark.parametrize("cheat", sorted(cheats.IN_KERNEL_TOO, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_cheats_that_behave_differently_are_rejected_in_the_kernel_too(cheat):
    name = next(n for n, found in cheats.CHEATS.items() if cheat in found)
    assert run_check(name, cheat).status == WRONG


@pytest.mark.parametrize("name", ["01.descargar_todas", "03.Fibonacci", "03.total_de_tandas",
                                  "04.descargar_todas", "06.visitar_una_vez", "07.simular_ideal"])
def test_correct_answers_pass_when_graded(name):
    module = importlib.import_module(f"teacher.solutions.nb{name[:2]}")
    verdict = grade(name, getattr(module, name.split(".")[1]), copied=NOTEBOOK)
    assert verdict.status == RIGHT, str(verdict)


def test_the_seed_draws_the_inputs_and_is_printed(capsys):
    from teacher.solutions import nb03

    verdict = grade("03.promedio", nb03._promedio_division_entera, seed=1234, copied=NOTEBOOK)
    assert verdict.status == WRONG and "(semilla 1234)" in verdict.message
    assert "(semilla 1234)" in capsys.readouterr().out


def test_the_answer_source_carries_what_it_uses_from_the_notebook():
    from teacher.solutions import nb03

    source = answer_source(nb03.total_de_tandas, copied=NOTEBOOK)
    assert "def tanda(" in source and source.index("def tanda(") < source.index("def total_de_tandas(")
    namespace: dict = {}
    exec(compile(source, "<t>", "exec"), namespace)
    assert run_check("03.total_de_tandas", namespace["total_de_tandas"]).status == RIGHT


@pytest.mark.parametrize(("exercise", "code", "words"), [
    ("05.descargar_todas", "import time\nasync def f(o, u):\n    time.sleep(0.01)\n", "time.sleep"),
    ("03.pares", "def f(n):\n    import sys\n    sys.modules['support.checks.nb03'].expect = print\n", "sys.modules"),
    ("03.pares", "def f(n):\n    from support.checks.nb03 import expect\n", "support.checks"),
    ("07.simular_ideal", "from support.measure.simulate import ideal_time\ndef f(g, c, l):\n    return 0\n",
     "support.measure.simulate"),
    ("09.enviar_todo", "async def f(e, t):\n    e.transport.write(b'')\n", "transport"),
])
def test_the_source_is_inspected_for_what_the_exercise_forbids(exercise, code, words):
    assert words in (inspect_source(exercise, code, "f") or "")


def test_a_correct_source_has_nothing_to_object():
    from teacher.solutions import nb02, nb03

    for exercise, answer in (("03.Fibonacci", nb03.Fibonacci), ("02.descargar_con_plazo", nb02.descargar_con_plazo),
                             ("03.total_de_tandas", nb03.total_de_tandas)):
        name = answer.__name__
        assert inspect_source(exercise, answer_source(answer, copied=NOTEBOOK), name) is None, exercise


def test_an_answer_from_a_notebook_cell_is_copied_with_what_it_uses():
    """In a kernel: the stub and the answer in one cell, a helper from another cell."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        assert shell.run_cell("INICIO = 0\n\ndef primeros():\n    return INICIO, 1\n", store_history=True).success
        cell = ("class Fibonacci:\n    def __init__(self):\n        raise NotImplementedError  # tu código aquí\n"
                "### BEGIN SOLUTION\n"
                "class Fibonacci:\n    def __init__(self):\n        self.a, self.b = primeros()\n"
                "    def __iter__(self):\n        return self\n"
                "    def __next__(self):\n        valor = self.a\n"
                "        self.a, self.b = self.b, self.a + self.b\n        return valor\n")
        assert shell.run_cell(cell, store_history=True).success
        answer = shell.user_ns["Fibonacci"]
        source = answer_source(answer)
        assert "raise NotImplementedError" not in source and "INICIO = 0" in source
        assert grade("03.Fibonacci", answer).status == RIGHT
    finally:
        InteractiveShell.clear_instance()
