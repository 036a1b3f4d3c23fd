"""The exercises' guards: a verdict comes back in time, and nothing is left spinning.

Returning within the time limit IS the requirement here, so these tests assert
a wall-clock upper bound: the limit plus the guard's grace, with the suite's one
slack (``tests/realtime.py``). The guard itself needs at most ``2 * STOP_GRACE``
(0,4 s) after the limit.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import threading
import time

import pytest
from realtime import within

from support.exercises import (
    WRONG,
    Incorrect,
    call_with_limit,
    describe_error,
    guards,
    run_async,
    run_check,
    short,
)

LIMIT = 0.5
#: When a verdict is due on an idle machine: the limit, then at most 2 * STOP_GRACE to stop the answer.
VERDICT = LIMIT + 2 * guards.STOP_GRACE


def _timed(guard, fn, *args, **kwargs) -> tuple[Incorrect, float]:
    """The Incorrect that ``guard(fn, ...)`` raises, and how long it took to come back."""
    start = time.perf_counter()
    with pytest.raises(Incorrect) as info:
        guard(fn, *args, limit=LIMIT, **kwargs)
    return info.value, time.perf_counter() - start


def _alive(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name]


def _wait_until_gone(name: str, seconds: float = 5.0) -> bool:
    for thread in _alive(name):
        thread.join(seconds)
    return not _alive(name)


@pytest.fixture(autouse=True)
def no_guarded_thread_before():
    assert _wait_until_gone("exercise") and _wait_until_gone("exercise-loop"), "a previous test left one"


# -- sync answers ---------------------------------------------------------------------


def _spin(*args):
    while True:
        pass


def _spin_and_swallow(*args):
    for _ in itertools.count():  # an `except Exception` around the work cannot keep it going
        try:
            sum(range(1000))
        except Exception:
            continue


def test_an_endless_loop_gets_its_verdict_in_time_and_is_stopped():
    for answer in (_spin, _spin_and_swallow):
        verdict, seconds = _timed(call_with_limit, answer)
        within(seconds, VERDICT, f"{answer.__name__}'s verdict")
        assert "no terminó en 0,5 s (tiempo límite)" in verdict.message
        assert "la detuvo" in verdict.message and verdict.hint
        assert not _alive("exercise"), "the stopped thread is still running"


class _RunQueue:
    """A stand-in for osutil.QueuedClock: every thread it watches has stood in the run
    queue the whole time since it was made (a machine too loaded to let it run)."""

    def __init__(self, native_id=None):
        self.start = time.monotonic()

    def __call__(self):
        return time.monotonic() - self.start

    def close(self):
        pass


def test_a_stopped_thread_not_yet_let_run_is_waited_for(monkeypatch):
    """A stopped thread that the machine has not let run yet is not "still running": the
    grace counts the turns it got. Here it ends 0,5 s after the stop, more than
    STOP_GRACE, and the run queue held it all along."""
    monkeypatch.setattr(guards, "QueuedClock", _RunQueue)
    release = threading.Event()

    def ends_late():
        release.wait()  # a wait in C: the stop lands when it returns

    run = guards._Guarded(ends_late, name="exercise")
    threading.Timer(guards.STOP_GRACE + 0.3, release.set).start()
    assert run.stop(), "called still running while it was only waiting for its turn"
    with guards.Grace(0.05, [threading.current_thread()]) as grace:  # the extra is bounded
        assert 0.05 < grace.left() <= 0.05 + guards.LOADED_GRACE
        time.sleep(0.1)
        assert 0.05 < grace.left(), "the time in the run queue was not added"


def test_a_call_stuck_in_c_is_left_running_and_the_verdict_says_how_to_free_it():
    release = threading.Event()

    def stuck():
        release.wait()  # a lock acquire, in C: PyThreadState_SetAsyncExc cannot interrupt it
        while True:
            pass  # never reached: the pending stop is raised as soon as wait() returns

    verdict, seconds = _timed(call_with_limit, stuck)
    within(seconds, VERDICT, "the verdict")
    assert "Sigue ejecutándose en un hilo en segundo plano" in verdict.message
    assert "Kernel > Restart Kernel" in verdict.message
    assert _alive("exercise")
    release.set()
    assert _wait_until_gone("exercise"), "the pending stop did not end the thread once the call returned"


def test_the_line_budget_and_the_time_limit_work_together():
    def sleeps_forever():
        while True:
            time.sleep(0.01)  # few lines per second: the budget alone would take an hour

    verdict, seconds = _timed(call_with_limit, sleeps_forever, lines=100_000)
    assert "no terminó" in verdict.message
    within(seconds, VERDICT, "the verdict")
    verdict, seconds = _timed(call_with_limit, _spin, lines=1000)
    assert "más de 1.000 líneas" in verdict.message
    assert seconds < LIMIT  # realtime-ok: the line budget answers before the time limit, not at it


def test_code_that_swallows_every_exception_gets_the_line_verdict_and_it_says_so():
    release = threading.Event()

    def swallows_everything():
        while not release.is_set():
            try:
                while not release.is_set():
                    pass
            except BaseException:  # the budget's exception, and the guard's stops
                pass

    verdict, seconds = _timed(call_with_limit, swallows_everything, lines=1000)
    try:
        # the line count, not the time limit (CPython drops a trace function that raises,
        # so one `except BaseException` used to end the budget)
        assert "más de 1.000 líneas" in verdict.message, verdict.message
        within(seconds, VERDICT, "the verdict")
        if _alive("exercise"):  # the guard's repeated stops may or may not get through
            assert "atrapa la excepción" in verdict.message and "llamada bloqueante" not in verdict.message
        else:
            assert "la detuvo" in verdict.message
    finally:
        release.set()
    assert _wait_until_gone("exercise")


def test_results_and_exceptions_come_back_as_if_called_here():
    assert call_with_limit(sum, [1, 2, 3]) == 6
    with pytest.raises(NotImplementedError):  # a stub: the checker says "pendiente"
        call_with_limit(lambda: (_ for _ in ()).throw(NotImplementedError))
    with pytest.raises(TimeoutError):  # the student's own is not the guard's limit
        call_with_limit(lambda: (_ for _ in ()).throw(TimeoutError))


def test_a_checker_with_a_sync_answer_that_never_returns(monkeypatch):
    monkeypatch.setattr(guards, "LIMIT", LIMIT)  # the checkers' one setting
    start = time.perf_counter()
    verdict = run_check("01.separar_respuesta", _spin)
    within(time.perf_counter() - start, VERDICT, "the verdict")
    assert verdict.status == WRONG and "tiempo límite" in verdict.message and verdict.hint


# -- async answers --------------------------------------------------------------------


async def _sleeps_blocking(*args):
    time.sleep(1.5)  # the lesson's bug: blocks the loop


async def _spins_without_await(*args):
    while True:
        pass


async def _awaits_forever(*args):
    await asyncio.Event().wait()


async def _swallows_cancellation(*args):
    while True:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass


def test_time_sleep_inside_async_def_is_told_apart_and_returns_in_time():
    verdict, seconds = _timed(run_async, _sleeps_blocking)
    within(seconds, VERDICT, "the verdict (it used to take the whole sleep)")
    assert "bloqueó el bucle de eventos" in verdict.message
    assert "¿`time.sleep` dentro de `async def`?" in verdict.message
    assert "Kernel > Restart Kernel" in verdict.message  # time.sleep cannot be interrupted ...
    assert "asyncio.sleep" in verdict.hint and "to_thread" in verdict.hint
    assert _wait_until_gone("exercise-loop"), "... but its thread ends once the sleep returns"


def test_a_loop_without_await_blocks_the_loop_and_is_stopped():
    verdict, seconds = _timed(run_async, _spins_without_await)
    within(seconds, VERDICT, "the verdict")
    assert "bloqueó el bucle de eventos" in verdict.message and "un bucle sin `await`" in verdict.message
    assert "la detuvo" in verdict.message
    assert not _alive("exercise-loop")


async def _many_tasks_spin(*args):
    async def spin():
        while True:
            pass

    await asyncio.gather(*(spin() for _ in range(500)))


def test_once_stopped_no_task_of_the_answer_runs_again():
    """The guard's stop ends the task that spins; the 499 queued behind it never start
    (a stop each would outlast STOP_GRACE, and the thread would spin on for ever)."""
    verdict, seconds = _timed(run_async, _many_tasks_spin)
    within(seconds, VERDICT, "the verdict")
    assert "bloqueó el bucle de eventos" in verdict.message and "la detuvo" in verdict.message
    assert _wait_until_gone("exercise-loop", 1.0), "the answer's other tasks kept the thread spinning"


@pytest.mark.parametrize("answer", [_awaits_forever, _swallows_cancellation])
def test_a_coroutine_that_waits_for_ever_did_not_finish_and_is_stopped(answer):
    verdict, seconds = _timed(run_async, answer, hint="¿Esperas algo que nunca llega?")
    within(seconds, VERDICT, "the verdict")
    assert "no terminó en 0,5 s" in verdict.message and "bloqueó" not in verdict.message
    assert verdict.hint == "¿Esperas algo que nunca llega?"
    assert _wait_until_gone("exercise-loop", 1.0)


def test_a_thread_of_the_loops_executor_still_running_is_not_called_stopped():
    release = threading.Event()

    async def offloads():
        await asyncio.to_thread(release.wait)  # the interpreter would wait for it at exit

    verdict, seconds = _timed(run_async, offloads)
    try:
        within(seconds, VERDICT, "the verdict")
        assert "Sigue ejecutándose en un hilo en segundo plano" in verdict.message, verdict.message
        assert "la detuvo" not in verdict.message
    finally:
        release.set()
    assert _wait_until_gone("exercise-loop")
    for thread in threading.enumerate():
        if thread.name.startswith("exercise-executor"):
            thread.join(5)


def test_the_students_own_timeout_error_is_not_the_limit():
    async def times_out():
        async with asyncio.timeout(0.01):
            await asyncio.sleep(1)

    with pytest.raises(TimeoutError):
        run_async(times_out, limit=LIMIT)


def test_a_finished_coroutine_leaves_no_task_behind_and_nothing_on_stderr(capfd, caplog):
    async def leaves_a_task(x):
        asyncio.get_running_loop().create_task(asyncio.sleep(10))
        return x * 2

    assert run_async(leaves_a_task, 21) == 42
    for answer, verdict in ((_spins_without_await, "bloqueó"), (_swallows_cancellation, "no terminó")):
        with pytest.raises(Incorrect, match=verdict):
            run_async(answer, limit=0.2)
    gc.collect()  # "Task was destroyed but it is pending!" would be logged here
    assert _wait_until_gone("exercise-loop")
    assert capfd.readouterr().err == ""
    assert not [r.getMessage() for r in caplog.records if r.name == "asyncio"]


@pytest.mark.parametrize("name", ["05.descargar_todas", "05.obtener_o_none", "05.mapa_acotado"])
def test_a_checker_reports_a_blocked_loop(name, monkeypatch):
    monkeypatch.setattr(guards, "LIMIT", LIMIT)
    start = time.perf_counter()
    verdict = run_check(name, _sleeps_blocking)
    within(time.perf_counter() - start, VERDICT, "the verdict")
    assert verdict.status == WRONG and "bloqueó el bucle de eventos" in verdict.message
    assert _wait_until_gone("exercise-loop")


def test_the_default_limit_is_read_at_call_time(monkeypatch):
    monkeypatch.setattr(guards, "LIMIT", 0.2)
    with pytest.raises(Incorrect, match="0,2 s"):
        call_with_limit(_spin)
    with pytest.raises(Incorrect, match="0,2 s"):
        run_async(_awaits_forever)


def test_every_repr_in_a_verdict_is_short():
    page = "<html>" + "x" * 10_000 + "</html>"
    assert len(short({"url": (200, page)})) <= 80
    assert short("corto") == "'corto'"


def test_an_exception_group_shows_what_is_inside():
    group = ExceptionGroup("unhandled errors in a TaskGroup", [NameError("name 'obtner' is not defined")])
    assert "NameError: name 'obtner' is not defined" in describe_error(group)
