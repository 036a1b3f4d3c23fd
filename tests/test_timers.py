"""Timers and cancellation on the toy loop (support.kernel.eventloop, support.kernel.tasks),
in virtual time: the clock moves only when the loop would wait."""

from __future__ import annotations

import socket
import time
from types import SimpleNamespace

import pytest
from notebook_cells import exec_cells
from virtual_time import virtual_loop

import support.kernel.tasks as reference
from support.crawlers.trampoline import fetch
from support.kernel.eventloop import EventLoop
from support.kernel.tasks import CancelledError, Task, sleep, with_timeout


def test_call_later_runs_callbacks_in_time_order_and_select_waits_for_the_nearest():
    loop, clock = virtual_loop()
    t0, log = clock(), []
    loop.call_later(0.3, lambda: log.append(("c", round(clock() - t0, 6))))
    loop.call_later(0.1, lambda: log.append(("a", round(clock() - t0, 6))))
    loop.call_later(0.2, lambda: log.append(("b", round(clock() - t0, 6))))
    loop.run(timeout=5)
    assert log == [("a", 0.1), ("b", 0.2), ("c", 0.3)]
    assert [round(w, 6) for w in loop.selector.waits] == [0.1, 0.1, 0.1]  # never longer than the nearest timer
    assert loop.pending() == 0


def test_timers_due_at_the_same_moment_keep_their_order_and_call_at_takes_absolute_times():
    loop, clock = virtual_loop()
    log = []
    for name in "xyz":
        loop.call_at(clock() + 1, log.append, name)
    loop.call_at(clock() + 0.5, log.append, "first")
    loop.run(timeout=5)
    assert log == ["first", "x", "y", "z"]


def test_a_cancelled_timer_never_runs_and_does_not_keep_the_loop_alive():
    loop, clock = virtual_loop()
    t0, log = clock(), []
    doomed = loop.call_later(100, log.append, "never")
    loop.call_later(0.5, doomed.cancel)
    assert loop.pending() == 2
    loop.run(timeout=1000)
    assert log == [] and doomed.cancelled
    assert clock() - t0 == pytest.approx(0.5)  # ended at the cancel, not at 100 s


def test_a_timer_past_the_loop_timeout_is_a_timeout_error():
    loop, clock = virtual_loop()
    t0 = clock()
    loop.call_later(10, lambda: None)
    with pytest.raises(TimeoutError):
        loop.run(timeout=2)
    assert clock() - t0 == pytest.approx(2)


def test_timers_and_sockets_share_the_loop():
    loop, clock = virtual_loop()
    a, b = socket.socketpair()
    log = []
    try:
        def readable():
            log.append(("read", a.recv(10)))
            loop.remove(a)
        loop.add_reader(a, readable)
        loop.call_later(1, lambda: (log.append(("timer", None)), b.send(b"hola")))
        loop.run(timeout=5)
    finally:
        a.close()
        b.close()
    assert log == [("timer", None), ("read", b"hola")]


def test_the_real_clock_is_the_default_and_timers_really_wait():
    loop, log = EventLoop(), []
    start = time.monotonic()
    loop.call_later(0.1, lambda: log.append(time.monotonic() - start))
    loop.run(timeout=5)
    loop.close()
    assert len(log) == 1 and log[0] >= 0.1


# --------------------------------------------------------------------------
# sleep, cancel, with_timeout
# --------------------------------------------------------------------------


def test_three_sleeps_overlap():
    loop, clock = virtual_loop()
    t0, log = clock(), []

    def nap(name, seconds):
        yield from sleep(loop, seconds)
        log.append((name, round(clock() - t0, 6)))
        return name

    tasks = [Task(nap(n, s), n) for n, s in [("tres", 3), ("uno", 1), ("dos", 2)]]
    loop.run(timeout=10)
    assert log == [("uno", 1), ("dos", 2), ("tres", 3)]
    assert [t.result() for t in tasks] == ["tres", "uno", "dos"]
    assert clock() - t0 == pytest.approx(3)  # not 6: they sleep at the same time


def test_cancel_throws_cancelled_error_at_the_yield_and_releases_the_timer():
    loop, clock = virtual_loop()
    t0, log = clock(), []

    def sleeper():
        try:
            yield from sleep(loop, 100)
            log.append("woke up")
        except CancelledError:
            log.append(("cancelled at", round(clock() - t0, 6)))
            raise
        finally:
            log.append("finally")

    task = Task(sleeper(), "dormilona")
    loop.call_later(0.5, task.cancel)
    loop.run(timeout=1000)
    assert log == [("cancelled at", 0.5), "finally"]
    assert task.cancelled()
    with pytest.raises(CancelledError):
        task.result()
    assert clock() - t0 == pytest.approx(0.5) and loop.pending() == 0
    assert task.cancel() is False  # already done


def test_cancelling_a_task_cancels_the_task_it_waits_on():
    loop, _clock = virtual_loop()

    def inner():
        yield from sleep(loop, 100)

    def outer(log):
        try:
            yield from Task(inner(), "inner")
        except CancelledError:
            log.append("outer saw it")
            raise

    log = []
    task = Task(outer(log), "outer")
    inner_task = task.waiting_on
    loop.call_later(1, task.cancel)
    loop.run(timeout=1000)
    assert inner_task.cancelled() and task.cancelled() and log == ["outer saw it"]


def test_a_coroutine_may_catch_the_cancellation_and_go_on():
    loop, _clock = virtual_loop()

    def stubborn():
        try:
            yield from sleep(loop, 100)
        except CancelledError:
            pass
        return "seguí"

    task = Task(stubborn())
    assert task.cancel() is True
    assert task.result() == "seguí" and not task.cancelled()


def test_with_timeout_returns_in_time_or_raises_timeout_error_at_the_limit():
    loop, clock = virtual_loop()

    def job(seconds):
        yield from sleep(loop, seconds)
        return seconds

    t0 = clock()
    fast = Task(with_timeout(loop, job(1), 2))
    slow = Task(with_timeout(loop, job(5), 2))
    loop.run(timeout=100)
    assert fast.result() == 1
    with pytest.raises(TimeoutError):
        slow.result()
    assert clock() - t0 == pytest.approx(2)  # the slow job was cut at the limit, its timer released
    assert loop.pending() == 0


def test_with_timeout_overruns_when_the_coroutine_swallows_the_cancellation():
    loop, clock = virtual_loop()

    def swallower():
        try:
            yield from sleep(loop, 10)
        except Exception:  # CancelledError is an Exception here: swallowed
            pass
        yield from sleep(loop, 3)  # ...and it goes on working past the limit
        return "tarde"

    t0 = clock()
    task = Task(with_timeout(loop, swallower(), 1))
    loop.run(timeout=100)
    assert task.result() == "tarde"  # no TimeoutError at all
    assert clock() - t0 == pytest.approx(4)  # 1 s limit, 4 s spent


def test_a_cancel_from_elsewhere_is_not_a_timeout():
    loop, _clock = virtual_loop()

    def job():
        yield from sleep(loop, 5)

    outer = Task(with_timeout(loop, job(), 10))
    loop.call_later(1, outer.cancel)
    loop.run(timeout=100)
    assert outer.cancelled()  # CancelledError, not TimeoutError


def test_with_timeout_cancels_a_fetch_and_unregisters_its_socket():
    slow = socket.socket()
    slow.bind(("127.0.0.1", 0))
    slow.listen()  # accepts the connection, never answers
    loop, clock = virtual_loop()  # a real socket, virtual time (the selector polls it, then jumps)
    try:
        url = f"http://127.0.0.1:{slow.getsockname()[1]}/"
        task = Task(with_timeout(loop, fetch(loop, url), 0.2))
        start = clock()
        loop.run(timeout=5)
        elapsed = clock() - start
        left = loop.pending()
    finally:
        slow.close()
        loop.close()
    with pytest.raises(TimeoutError):
        task.result()
    assert left == 0  # the cancelled read released its socket: nothing keeps the loop waiting
    assert elapsed == pytest.approx(0.2)  # ended at the limit, not at the loop's timeout


# --------------------------------------------------------------------------
# Notebook 04's own dormir / cancelar / con_tiempo_limite behave like support's
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def notebook04():
    ns = exec_cells("04", "class Future:", "class Task(Future):", "def dormir(", "class CancelledError",
                    "def con_tiempo_limite(", prefix=True)
    return SimpleNamespace(Task=ns["Task"], sleep=ns["dormir"], cancel=ns["cancelar"],
                           with_timeout=ns["con_tiempo_limite"], CancelledError=ns["CancelledError"])


def _support():
    return SimpleNamespace(Task=reference.Task, sleep=reference.sleep, cancel=lambda t: t.cancel(),
                           with_timeout=reference.with_timeout, CancelledError=reference.CancelledError)


def scenario(impl) -> list:
    """Sleeps, a cancel (of a task waiting on a task), a timeout, a met limit and a
    swallowed cancel, on one virtual loop; the log of what happened and when."""
    loop, clock = virtual_loop()
    t0, log = clock(), []
    def at():
        return round(clock() - t0, 6)

    def nap(name, seconds):
        try:
            yield from impl.sleep(loop, seconds)
        except impl.CancelledError:
            log.append((name, "cancelled", at()))
            raise
        finally:
            log.append((name, "finally", at()))
        return name

    def waits_for_a_task(name):
        return (yield from impl.Task(nap(name + "-inner", 50), name + "-inner"))

    def swallower():
        try:
            yield from impl.sleep(loop, 10)
        except Exception:
            log.append(("swallower", "swallowed", at()))
        yield from impl.sleep(loop, 3)
        return "late"

    tasks = {
        "short": impl.Task(nap("short", 1), "short"),
        "chain": impl.Task(waits_for_a_task("chain"), "chain"),
        "limited": impl.Task(impl.with_timeout(loop, nap("limited", 9), 2), "limited"),
        "in-time": impl.Task(impl.with_timeout(loop, nap("in-time", 0.5), 2), "in-time"),
        "stubborn": impl.Task(impl.with_timeout(loop, swallower(), 1), "stubborn"),
    }
    loop.call_later(1.5, lambda: log.append(("cancel chain", impl.cancel(tasks["chain"]), at())))
    loop.call_later(8, lambda: log.append(("cancel short again", impl.cancel(tasks["short"]), at())))
    loop.run(timeout=100)
    for name, task in tasks.items():
        try:
            log.append((name, "result", task.result()))
        except (impl.CancelledError, TimeoutError) as exc:
            log.append((name, type(exc).__name__))
    log.append(("end", at(), loop.pending()))
    return log


def test_notebook_timers_and_cancel_behave_like_support(notebook04):
    expected = scenario(_support())
    assert scenario(notebook04) == expected
    assert ("limited", "TimeoutError") in expected and ("chain", "CancelledError") in expected
    assert ("stubborn", "result", "late") in expected and ("swallower", "swallowed", 1) in expected
    assert ("cancel short again", False, 8) in expected and expected[-1] == ("end", 8, 0)
