"""The exercise loop over the whole run: a block anywhere in it is a wrong answer, a
machine that does not let the loop run is not, and a missing ``await`` is the verdict
(:mod:`support.exercises.loop`). The guards' time limits: tests/test_exercise_guards.py."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import threading
import time

import pytest

from support import osutil
from support.exercises import Incorrect, excuse_block, loop, require_async, run_async

LIMIT = 0.5


# -- over the whole run: a short block, a missing await ------------------------------


async def _blocks_briefly_then_returns(*args):
    await asyncio.sleep(0.01)
    time.sleep(0.06)  # well under any time limit, and still a blocked loop
    await asyncio.sleep(0.01)
    return "listo"


def test_a_short_block_anywhere_in_the_run_is_a_blocked_loop():
    with pytest.raises(Incorrect) as info:
        run_async(_blocks_briefly_then_returns, limit=LIMIT)
    verdict = info.value  # the verdict of a run that ended, not of the time limit: it names the block's length
    assert "bloqueó el bucle de eventos" in verdict.message and "`time.sleep`" in verdict.message
    assert "ms seguidos" in verdict.message and "tiempo límite" not in verdict.message, verdict.message


async def _waits_in_a_blocking_call():
    await asyncio.sleep(0.01)
    threading.Event().wait(0.3)  # neither CPU nor time.sleep: only the wall clock sees it (.result(), a socket)
    return "listo"


def test_a_step_that_waits_in_a_blocking_call_is_a_blocked_loop():
    with pytest.raises(Incorrect, match="bloqueó el bucle de eventos"):
        run_async(_waits_in_a_blocking_call, limit=2.0)


@pytest.mark.skipif(not (osutil.HAS_PROC and osutil.HAS_AFFINITY), reason="Linux's run queue, and pinning")
def test_a_step_the_machine_did_not_let_run_is_not_a_blocked_loop():
    """A loaded machine is not the answer's fault: the loop's thread, pinned beside a
    process that spins and at the lowest priority, gets about 1 % of its processor, so
    a 10 ms step takes some 0,4 s by the wall clock, nearly all of it in the run queue."""
    cpu = min(osutil.affinity())
    spinner = subprocess.Popen([sys.executable, "-c", f"import os; os.sched_setaffinity(0, {{{cpu}}}); "
                                "print(flush=True)\nwhile True: pass"], stdout=subprocess.PIPE)
    walls = []

    async def starved():
        os.sched_setaffinity(0, {cpu})  # this thread only (it ends with the run)
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        await asyncio.sleep(0)
        start, cpu_start = time.perf_counter(), time.thread_time()
        while time.thread_time() - cpu_start < 0.01:  # 10 ms of computing, a quarter of BLOCKED_OVER
            pass
        walls.append(time.perf_counter() - start)
        await asyncio.sleep(0)
        return "listo"

    try:
        spinner.stdout.readline()  # it runs, pinned
        assert run_async(starved, limit=5.0) == "listo"
    finally:
        spinner.kill()
        spinner.wait()
    assert walls[0] > loop.BLOCKED_WALL, f"the step was not held back ({walls[0]:.3f} s): the test proves nothing"


def test_the_checkers_own_blocking_step_is_excused():
    async def checker_collects():
        time.sleep(0.06)  # e.g. gc.collect() in 06.lanzar
        excuse_block()
        await asyncio.sleep(0)
        return "ok"

    assert run_async(checker_collects, limit=LIMIT) == "ok"


def test_a_missing_await_is_the_verdict_whatever_the_checker_catches():
    async def gathers_without_await(n):
        return asyncio.gather(*(asyncio.sleep(0.01, i) for i in range(n)))

    answer = require_async(gathers_without_await, "descargar_todas")

    async def scenario():
        try:
            return await answer(3)
        except BaseException as exc:  # a checker that collects the answer's errors
            return exc

    with pytest.raises(Incorrect, match="falta `await`"):
        run_async(scenario, limit=LIMIT)


def test_a_list_of_coroutines_is_a_missing_await_and_raises_no_warning(recwarn):
    async def coroutines(n):
        return [asyncio.sleep(0.01) for _ in range(n)]

    with pytest.raises(Incorrect, match="una lista con 3"):
        run_async(require_async(coroutines, "f"), 3, limit=LIMIT)
    gc.collect()
    assert not [w for w in recwarn if "never awaited" in str(w.message)]
