"""Notebook 03's checkers never hang, and leave the interpreter as they found it."""

from __future__ import annotations

import sys
import time
import types

import pytest
from notebook_cells import exec_cells
from realtime import within

from support.exercises import RIGHT, WRONG, Incorrect, call_with_limit, guards, run_check
from teacher.solutions import nb03


def _spin_without_yield(n):
    # A generator that never reaches its yield: next() would never return.
    i = 0
    while True:
        i += 1
        if i < 0:
            yield i


def _spin_and_swallow(n):
    # Even an `except Exception` inside the loop cannot keep it running.
    while True:
        try:
            while True:
                pass
        except Exception:
            pass
        yield


class _SpinningIterator:
    def __iter__(self):
        return self

    def __next__(self):
        while True:
            pass


def _promedio_spins():
    while True:
        valor = yield
        while valor is not None:
            pass


@pytest.mark.parametrize("name, answer", [
    ("03.pares", _spin_without_yield),
    ("03.pares", _spin_and_swallow),
    ("03.Fibonacci", _SpinningIterator),
    ("03.promedio", _promedio_spins),
    ("03.total_de_tandas", _spin_without_yield),
])
def test_endless_loops_are_a_wrong_verdict_not_a_hang(name, answer):
    start = time.perf_counter()
    verdict = run_check(name, answer)
    elapsed = time.perf_counter() - start
    assert verdict.status == WRONG, str(verdict)
    assert "bucle sin fin" in verdict.message and verdict.hint
    within(elapsed, guards.LIMIT + 2 * guards.STOP_GRACE, "giving up on an endless loop")


def test_the_line_budget_leaves_the_callers_trace_function_alone():
    seen = []

    def outer_tracer(frame, event, arg):
        seen.append(event)
        return None

    sys.settrace(outer_tracer)
    try:
        with pytest.raises(Incorrect):
            call_with_limit(lambda: _exhaust(_spin_without_yield(0)), lines=1000)
        assert sys.gettrace() is outer_tracer
        assert call_with_limit(sum, [1, 2, 3], lines=1000) == 6
        assert sys.gettrace() is outer_tracer
    finally:
        sys.settrace(None)


def _exhaust(gen):
    for _ in gen:
        pass


def test_the_line_budget_counts_only_lines_run_under_it():
    def forty_lines():
        total = 0
        for i in range(20):
            total += i
        return total

    assert call_with_limit(forty_lines, lines=100) == 190
    with pytest.raises(Incorrect, match="más de 10 líneas"):
        call_with_limit(forty_lines, lines=10)


def test_reference_solutions_are_well_within_the_budget(monkeypatch):
    from support.checks import nb03 as checks

    small = checks.LINE_BUDGET // 20
    monkeypatch.setattr(checks, "LINE_BUDGET", small)
    for name in ("pares", "Fibonacci", "promedio", "total_de_tandas"):
        verdict = run_check(f"03.{name}", getattr(nb03, name))
        assert verdict.status == RIGHT, f"needs more than {small} lines: {verdict}"
    verdict = run_check("03.pares", _spin_without_yield)
    assert f"{small:,}".replace(",", ".") in verdict.message  # the smaller budget was in force


def _notebook_definition(prefix: str, name: str):
    """Exec the notebook's code cell that starts with ``prefix`` and return ``name`` from it."""
    return exec_cells("03", prefix, prefix=True)[name]


def _drive_tanda(tanda, sends):
    gen = tanda()
    next(gen)
    try:
        for value in sends:
            gen.send(value)
    except StopIteration as end:
        return end.value
    return "still running"


@pytest.mark.parametrize("sends", [[None], [1, 2, None], [5, -5, 7, None], [1, 2]])
def test_notebook_tanda_behaves_like_the_solutions_copy(sends):
    notebook_tanda = _notebook_definition("def tanda():", "tanda")
    assert _drive_tanda(notebook_tanda, sends) == _drive_tanda(nb03.tanda, sends)


def test_reference_solution_works_with_the_notebooks_tanda():
    notebook_tanda = _notebook_definition("def tanda():", "tanda")
    # The reference solution's code, but looking up `tanda` in a namespace holding the notebook's.
    solution = types.FunctionType(nb03.total_de_tandas.__code__, {"tanda": notebook_tanda})
    assert run_check("03.total_de_tandas", solution).status == RIGHT


@pytest.mark.parametrize("name", ["03.pares", "03.Fibonacci", "03.promedio", "03.total_de_tandas"])
def test_an_async_def_answer_is_wrong_and_leaves_no_unawaited_coroutine(name, recwarn):
    async def answer(*args):
        return [0, 2, 4]

    verdict = run_check(name, answer)
    assert verdict.status == WRONG and "async def" in verdict.message and verdict.hint
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_a_generator_that_sleeps_in_its_loop_gets_the_time_limit(monkeypatch):

    def pares(n):
        while True:
            time.sleep(0.01)  # so few lines per second that the line budget alone would take an hour
        yield 0

    monkeypatch.setattr(guards, "LIMIT", 0.5)
    start = time.perf_counter()
    verdict = run_check("03.pares", pares)
    assert verdict.status == WRONG and "tiempo límite" in verdict.message, str(verdict)
    within(time.perf_counter() - start, 0.5 + 2 * guards.STOP_GRACE, "the verdict")  # returning in time is the point
