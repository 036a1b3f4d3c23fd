"""Every exercise checker accepts its reference solution and rejects typical wrong answers."""

from __future__ import annotations

import asyncio
import importlib
import threading
import time

import pytest
from realtime import within

from support.exercises import PENDING, RIGHT, WRONG, guards, registry, run_check

EXERCISES = sorted(registry())
#: The checkers' one time limit, lowered here: an answer that never ends costs a second, not five.
TEST_LIMIT = 1.5


@pytest.fixture(autouse=True)
def short_limits(monkeypatch):
    monkeypatch.setattr(guards, "LIMIT", TEST_LIMIT)


def _solutions(name: str):
    module = importlib.import_module(f"teacher.solutions.nb{name.split('.')[0]}")
    return module, name.split(".", 1)[1]


def test_every_notebook_from_01_has_exercises():
    notebooks = {name.split(".")[0] for name in EXERCISES}
    for nb in notebooks:
        count = sum(1 for name in EXERCISES if name.startswith(nb + "."))
        assert 2 <= count <= 4, f"notebook {nb} has {count} exercises, COURSE.md asks for 2-4"


@pytest.mark.parametrize("name", EXERCISES)
def test_solution_is_accepted(name):
    module, attr = _solutions(name)
    verdict = run_check(name, getattr(module, attr))
    assert verdict.status == RIGHT, str(verdict)


@pytest.mark.parametrize("name", EXERCISES)
def test_typical_wrong_answers_are_rejected(name):
    module, _ = _solutions(name)
    wrong = module.WRONG_ANSWERS.get(name, [])
    assert len(wrong) >= 2, f"{name}: list at least two typical wrong answers"
    for entry in wrong:
        answer, names = entry if isinstance(entry, tuple) else (entry, "")
        verdict = run_check(name, answer)
        assert verdict.status == WRONG, f"{name} accepted a wrong answer ({answer.__name__}): {verdict}"
        assert verdict.hint, f"{name}: a wrong answer must come with a hint"
        assert names in verdict.message, f"{name}: the verdict on {answer.__name__} must name the mistake " \
                                         f"({names!r}): {verdict}"
        assert len(str(verdict)) < 900, f"{name}: a verdict of {len(str(verdict))} characters: {verdict}"


@pytest.mark.parametrize("name", EXERCISES)
# The test hands an async stub to sync checkers too; the coroutine they create is never awaited.
@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
def test_unsolved_stub_is_pending(name):
    def stub(*args, **kwargs):
        raise NotImplementedError

    async def async_stub(*args, **kwargs):
        raise NotImplementedError

    assert run_check(name, None).status == PENDING
    # A stub is sync or async depending on the exercise: one of the two forms must read as pending.
    verdicts = {run_check(name, stub).status, run_check(name, async_stub).status}
    assert PENDING in verdicts, f"{name}: an untouched stub must be 'pendiente', got {verdicts}"


# -- a failed exercise cell leaves an older definition behind (in IPython) ----------------

class _Shell:
    """A real IPython shell in this process (``get_ipython()`` finds it), running cells as a notebook does."""

    def __init__(self):
        from IPython.core.interactiveshell import InteractiveShell

        self.shell = InteractiveShell.instance()

    def run(self, cell: str) -> bool:
        return self.shell.run_cell(cell, store_history=True).success

    def check(self, name: str, answer: str):
        assert self.run(f"from support.exercises import check\nveredicto = check({name!r}, {answer})")
        return self.shell.user_ns["veredicto"]


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    yield _Shell()
    InteractiveShell.clear_instance()


STUB = "def pares(n):\n    raise NotImplementedError  # tu código aquí\n"
BROKEN = "def pares(n)\n    yield from range(0, n, 2)\n"  # SyntaxError: the def never runs
SOLVED = "def pares(n):\n    yield from range(0, n, 2)\n"


def test_a_failed_exercise_cell_asks_to_run_it_again(shell, capsys):
    assert shell.run(STUB) and not shell.run(BROKEN)
    verdict = shell.check("03.pares", "pares")
    assert verdict.status == PENDING and "vuelve a ejecutar la celda del ejercicio" in verdict.message
    assert "NotImplementedError" not in verdict.message  # the old stub was not checked
    assert "vuelve a ejecutar la celda del ejercicio" in capsys.readouterr().out


def test_after_the_fix_the_new_definition_is_checked(shell):
    for cell in (STUB, BROKEN, SOLVED):
        shell.run(cell)
    verdict = shell.check("03.pares", "pares")
    assert verdict.status == RIGHT, str(verdict)


def test_an_untouched_stub_is_still_plain_pending(shell):
    shell.run(STUB)
    verdict = shell.check("03.pares", "pares")
    assert verdict.status == PENDING and "NotImplementedError" in verdict.message


def test_a_class_answer_is_compared_through_its_methods(shell):
    assert shell.run("class Fibonacci:\n    def __init__(self):\n        raise NotImplementedError\n")
    assert not shell.run("class Fibonacci\n    pass\n")
    verdict = shell.check("03.Fibonacci", "Fibonacci")
    assert verdict.status == PENDING and "vuelve a ejecutar" in verdict.message


def test_outside_ipython_nothing_is_compared():
    from support.exercises import check

    def pares(n):
        raise NotImplementedError

    assert "NotImplementedError" in check("03.pares", pares).message


# -- an answer that never ends gets its verdict within the limit, and leaves nothing running --------

ASYNC_ONES = ["05.descargar_todas", "06.todas_o_ninguna", "07.crawler_acotado", "08.contar_por_lotes",
              "09.leer_con_limite"]


async def _awaits_for_ever(*args, **kwargs):
    while True:
        await asyncio.sleep(0)


async def _spins_without_await(*args, **kwargs):
    while True:
        pass


@pytest.mark.parametrize("name", ASYNC_ONES)
@pytest.mark.parametrize("answer", [_awaits_for_ever, _spins_without_await], ids=["awaits", "spins"])
def test_an_endless_answer_gets_its_verdict_in_time_and_is_stopped(name, answer, monkeypatch):
    monkeypatch.setattr(guards, "LIMIT", 0.5)
    start = time.perf_counter()
    verdict = run_check(name, answer)
    # the checker may run the answer up to twice its limit (07 asks for limit(2)), plus the guard's grace
    within(time.perf_counter() - start, 2 * guards.LIMIT + 4 * guards.STOP_GRACE, f"{name}: the verdict")
    assert verdict.status == WRONG and "límite" in verdict.message, str(verdict)
    left = [t for t in threading.enumerate() if t.name.startswith("exercise")]
    for thread in left:
        thread.join(1.0)
    assert not [t for t in left if t.is_alive()], "the answer is still running after its verdict"


def test_an_answer_that_patches_the_checker_leaves_it_as_it_was():
    from support.checks import nb03
    from teacher.solutions import cheats

    original = nb03.expect
    run_check("03.pares", cheats.pares_parchea_el_checker)  # it may pass its own check: graded mode is for grades
    assert nb03.expect is original
    assert run_check("03.promedio", cheats.promedio_fijo).status == WRONG
