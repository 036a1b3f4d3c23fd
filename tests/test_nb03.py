"""Notebook 03's checkers never hang, and leave the interpreter as they found it."""

from __future__ import annotations

import sys
import time

import pytest

from support.checks.nb03 import bounded
from support.exercises import Incorrect, RIGHT, WRONG, run_check
from support.solutions import nb03


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
    assert elapsed < 5.0, f"the checker took {elapsed:.1f} s to give up"


def test_bounded_restores_the_previous_trace_function():
    seen = []

    def outer_tracer(frame, event, arg):
        seen.append(event)
        return None

    sys.settrace(outer_tracer)
    try:
        with pytest.raises(Incorrect):
            bounded(lambda: _exhaust(_spin_without_yield(0)), budget=1000)
        assert sys.gettrace() is outer_tracer
        assert bounded(sum, [1, 2, 3]) == 6
        assert sys.gettrace() is outer_tracer
    finally:
        sys.settrace(None)


def _exhaust(gen):
    for _ in gen:
        pass


def test_bounded_counts_only_lines_run_under_it():
    def forty_lines():
        total = 0
        for i in range(20):
            total += i
        return total

    assert bounded(forty_lines, budget=100) == 190
    with pytest.raises(Incorrect):
        bounded(forty_lines, budget=10)


def test_reference_solutions_are_well_within_the_budget(monkeypatch):
    from support.checks import nb03 as checks

    small = checks.LINE_BUDGET // 20
    monkeypatch.setitem(checks.bounded.__kwdefaults__, "budget", small)
    for name in ("pares", "Fibonacci", "promedio", "total_de_tandas"):
        verdict = run_check(f"03.{name}", getattr(nb03, name))
        assert verdict.status == RIGHT, f"needs more than {small} lines: {verdict}"
    verdict = run_check("03.pares", _spin_without_yield)
    assert f"{small:,}" in verdict.message  # the smaller budget was the one in force
