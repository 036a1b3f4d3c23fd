"""How a checker runs an ``async def`` answer: a fresh event loop in a guarded thread,
a time limit that holds, and the loop watched over the whole run.

:func:`run_async` returns ``await fn(*args)`` or raises :class:`Incorrect`:
the loop blocked (a step of any task held it more than :data:`BLOCKED_OVER`,
even in a run that ends in time), did not finish, or an answer returned
something it never awaited (:func:`require_async` wraps the answer to see it).
The time limit is :data:`support.exercises.guards.LIMIT`, the one setting.
"""

from __future__ import annotations

import asyncio
import collections.abc
import concurrent.futures
import contextlib
import gc
import inspect
import threading
import time
import weakref
from typing import Any, Callable

from support.exercises import guards
from support.exercises.guards import (
    _STILL_RUNNING,
    _STOPPED,
    STOP_GRACE,
    Grace,
    Incorrect,
    _Guarded,
    _seconds,
    _Stop,
    expect,
    settle,
)
from support.fmt import num
from support.osutil import QueuedClock

__all__ = ["run_async", "require_async", "excuse_block", "BLOCKED_OVER"]

#: The heartbeat's period (s) on an exercise's event loop ...
HEARTBEAT = 0.05
#: ... and how late (s) it may be at the limit before the loop counts as blocked (half the limit, if less).
BLOCKED_AFTER = 0.25
#: The longest the loop may go without running a callback, over the whole run (s):
#: a longer block (``time.sleep(0.05)`` inside ``async def``, a computation with no
#: ``await``) is a wrong answer even when the coroutine ends in time.
BLOCKED_OVER = 0.04
#: A step that takes this long (s) by the wall clock blocked the loop whatever it did
#: (``.result()`` on a future, a blocking socket): see :class:`_TimedSteps`.
BLOCKED_WALL = 0.25

_BLOCKING_HINT = ("Dentro de `async def`, espera con `await asyncio.sleep(...)`; una llamada bloqueante "
                  "(time.sleep, requests, un cálculo largo) va a un hilo con `await asyncio.to_thread(...)`. "
                  "Un bucle sin ningún `await` tampoco devuelve el control al bucle de eventos.")


#: thread id -> the watched loop running in that thread (its task steps count their sleeps)
_LOOP_THREADS: dict[int, Any] = {}
_SLEEP = time.sleep


def _counted_sleep(secs: float) -> None:
    """``time.sleep`` while an exercise's loop runs: the same, and counted when it is
    called on that loop's thread (the audit event ``time.sleep`` is Python 3.12's)."""
    watched = _LOOP_THREADS.get(threading.get_ident())
    if watched is not None:
        watched.slept += secs
    _SLEEP(secs)


class _TimedSteps(collections.abc.Coroutine):
    """A task's coroutine, each step timed (``send``/``throw`` until it suspends).

    Discussion: what a step held the loop for is counted in three ways that a busy
    machine does not inflate: the CPU time of the loop's thread during the step (a
    computation with no ``await``), the seconds it asked ``time.sleep`` for
    (:func:`_counted_sleep`, in place while :func:`run_async` runs), and, for any other blocking call (``.result()``, a blocking
    socket), the step's wall-clock time once it exceeds :data:`BLOCKED_WALL`, less the
    time the thread stood ready to run while the machine ran others (Linux's
    ``run_delay``, :class:`support.osutil.QueuedClock`). The wall clock alone, or the gaps
    between heartbeats, also grow when another thread of the process holds the GIL
    (the lab site's server, a pool computing) or when the machine is loaded, and
    would blame a correct answer for them: a loaded CI once held a right answer's
    step 256 ms in the run queue."""

    def __init__(self, coro, watched: "_WatchedLoop"):
        self._coro, self._watched = coro, watched
        self.__name__ = getattr(coro, "__name__", "coro")
        self.__qualname__ = getattr(coro, "__qualname__", self.__name__)

    def send(self, value):
        return self._step(self._coro.send, value)

    def throw(self, *args):
        return self._step(self._coro.throw, *args)

    def _step(self, step, *args):
        watched = self._watched
        if watched.stopping:  # the verdict is given: no more of the answer's code starts
            with contextlib.suppress(Exception):
                self._coro.close()
            raise asyncio.CancelledError
        watched.slept, cpu, queued, wall = 0.0, time.thread_time(), watched.queued(), time.perf_counter()
        try:
            return step(*args)
        finally:
            wall = time.perf_counter() - wall
            watched.step_took(wall - (watched.queued() - queued), time.thread_time() - cpu)

    def close(self):
        return self._coro.close()

    def __await__(self):
        return self._coro.__await__()

    @property
    def cr_frame(self):
        return getattr(self._coro, "cr_frame", None)

    @property
    def cr_running(self):
        return getattr(self._coro, "cr_running", False)

    def __repr__(self) -> str:
        return repr(self._coro)


_WATCHED: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _WatchedLoop]" = weakref.WeakKeyDictionary()


def _not_our_stop(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """The loop's exception handler: the guard's own stop, landed in a task of the answer's
    (and from there in a ``gather`` nobody awaits any more), is no error to log."""
    if not isinstance(context.get("exception"), _Stop):
        loop.default_exception_handler(context)


class _WatchedLoop:
    """A fresh event loop, run in the guarded thread, with a heartbeat seen from outside.

    It also keeps the longest step of any task over the whole run (:attr:`longest_block`,
    see :class:`_TimedSteps`): a loop blocked for 50 ms in the middle of a run that
    ends in time is still a blocked loop. ``fault`` is a verdict found inside the run
    (a missing ``await``, see :func:`require_async`) that wins over any other."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.last_beat = time.monotonic()
        self.longest_block = 0.0
        self.fault: Incorrect | None = None
        self.executor = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="exercise-executor")
        _WATCHED[self.loop] = self
        self.loop.set_task_factory(self._timed_task)
        self.loop.set_exception_handler(_not_our_stop)
        self._excused = False
        self.slept = 0.0
        #: Set by :meth:`stop`: every task's next step is cancelled instead of run. The guard's
        #: stop ends the step that is running; without this, each task queued behind it
        #: (500 that spin, say) would need a stop of its own, more than STOP_GRACE allows.
        self.stopping = False
        #: The loop thread's time in the run queue (made in that thread, by :meth:`run`).
        self.queued: Callable[[], float] = lambda: 0.0

    def _timed_task(self, loop, coro, **kwargs):
        """Every task of the run steps through :class:`_TimedSteps`."""
        return asyncio.Task(_TimedSteps(coro, self) if inspect.iscoroutine(coro) else coro, loop=loop, **kwargs)

    def step_took(self, wall: float, cpu: float) -> None:
        """One step of a task (the code between two awaits that suspend) held the thread
        ``wall`` seconds (its time in the run queue left out), ``cpu`` of them computing,
        and asked ``time.sleep`` for :attr:`slept`."""
        if self._excused:
            self._excused = False
            return
        held = wall if wall > BLOCKED_WALL else max(cpu, self.slept)
        self.longest_block = max(self.longest_block, held)

    def _beat(self) -> None:
        self.last_beat = time.monotonic()
        self.loop.call_later(HEARTBEAT, self._beat)

    def excuse(self) -> None:
        """The checker's own blocking work (a ``gc.collect()``) does not count as the answer's:
        the step that is running now is left out."""
        self.last_beat = time.monotonic()
        self._excused = True

    def blocked_for(self) -> float:
        """Seconds since the loop last ran a callback (about HEARTBEAT when it is not blocked)."""
        return time.monotonic() - self.last_beat

    def run(self, coroutine_function: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        async def main():
            return await coroutine_function(*args, **kwargs)

        # ours, so that leaving does not wait for it; but the interpreter joins its
        # threads at exit (concurrent.futures does): see executor_busy()
        self.loop.set_default_executor(self.executor)
        _LOOP_THREADS[threading.get_ident()] = self
        queued = self.queued = QueuedClock()
        try:
            self.last_beat = time.monotonic()
            self.loop.call_soon(self._beat)
            return self.loop.run_until_complete(main())
        finally:
            settle()  # the answer's part is over: no stop may land in closing the loop
            try:
                self._cancel_leftovers()
            finally:
                self.executor.shutdown(wait=False, cancel_futures=True)
                self.loop.close()
                _LOOP_THREADS.pop(threading.get_ident(), None)
                queued.close()

    def _cancel_leftovers(self) -> None:
        """Cancel the tasks still pending (as ``asyncio.run`` does), waiting at most STOP_GRACE."""
        self.loop.set_task_factory(None)  # the clean-up's own tasks run, even when stopping
        pending = [task for task in asyncio.all_tasks(self.loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.wait(pending, timeout=STOP_GRACE))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())

    def executor_busy(self) -> bool:
        """Whether a thread of the loop's executor still runs (e.g. ``to_thread(time.sleep, 60)``):
        nothing can stop it, and the interpreter waits for it at exit. Idle ones (they end
        at once after ``shutdown``) get STOP_GRACE / 4 to do so (a :class:`Grace`)."""
        with Grace(STOP_GRACE / 4, list(getattr(self.executor, "_threads", ()))) as grace:
            return not grace.join()

    def stop(self) -> None:
        """From another thread: end ``run_until_complete`` at the loop's next turn, and
        run no more steps of any task (see :attr:`stopping`)."""
        self.stopping = True
        try:
            self.loop.call_soon_threadsafe(self.loop.stop)
        except RuntimeError:  # already closed
            pass


def excuse_block() -> None:
    """Called by a checker on an exercise's loop right after its own blocking step."""
    try:
        watched = _WATCHED.get(asyncio.get_running_loop())
    except RuntimeError:
        return
    if watched is not None:
        watched.excuse()


def _blocked_verdict(watched: _WatchedLoop) -> Incorrect:
    return Incorrect(f"tu corrutina bloqueó el bucle de eventos {num(watched.longest_block * 1000, 0)} ms "
                     f"seguidos (más de {num(BLOCKED_OVER * 1000, 0)} ms sin devolverle el control): "
                     "¿`time.sleep` dentro de `async def`, o un cálculo sin `await`?", _BLOCKING_HINT)


def run_async(fn: Callable[..., Any], *args: Any, limit: float | None = None, hint: str = "", **kwargs: Any) -> Any:
    """Return ``await fn(*args, **kwargs)``, run on a fresh event loop in a daemon thread.

    Inside a notebook the kernel's own loop is already running, so a checker
    cannot ``asyncio.run`` the student's coroutine in its own thread. After
    ``limit`` seconds the verdict is :class:`Incorrect`, returned within about
    ``limit + 2 * STOP_GRACE``: "blocked the event loop N s" if the loop's
    heartbeat stopped (``time.sleep`` or a loop with no ``await``; ``hint`` is
    then the guard's own), else "did not finish" with ``hint``. A
    ``TimeoutError`` of the student's own is raised here like any exception.
    """
    limit = guards.LIMIT if limit is None else limit  # read now: tests lower it
    watched = _WatchedLoop()
    collecting = gc.isenabled()
    gc.disable()  # a collection of a big kernel's heap would look like a blocked loop
    time.sleep = _counted_sleep
    try:
        run = _Guarded(lambda: watched.run(fn, args, kwargs), name="exercise-loop")
        finished = run.done.wait(limit)
    finally:
        time.sleep = _SLEEP
        if collecting:
            gc.enable()
    if finished:
        if watched.fault is not None:  # a missing await explains everything that follows
            raise watched.fault
        if watched.longest_block > BLOCKED_OVER:
            raise _blocked_verdict(watched)
        return run.outcome()
    if watched.fault is not None:
        watched.stop()
        run.stop()
        raise watched.fault
    blocked = watched.blocked_for()
    watched.stop()  # a waiting loop stops at its next turn and cancels what is left
    if blocked < min(BLOCKED_AFTER, limit / 2):
        with Grace(2 * STOP_GRACE, [run.thread]) as grace:  # bounded, as every wait here
            grace.join()
        stopped = not run.thread.is_alive() or run.stop()
        left = _STOPPED if stopped and not watched.executor_busy() else _STILL_RUNNING
        raise Incorrect(f"tu corrutina no terminó en {_seconds(limit)} s (tiempo límite). {left}",
                        hint or "¿Esperas algo que nunca llega, o un bucle sin salida?")
    if run.stop() and not watched.executor_busy():  # it ended at once: a Python loop with no await
        raise Incorrect(f"tu corrutina bloqueó el bucle de eventos {_seconds(blocked)} s sin devolverle el "
                        f"control (tiempo límite: {_seconds(limit)} s): ¿`time.sleep` dentro de `async def`, o un bucle sin "
                        f"`await`? {_STOPPED}",
                        _BLOCKING_HINT)
    raise Incorrect(f"tu corrutina bloqueó el bucle de eventos {_seconds(blocked)} s (tiempo límite: "
                    f"{_seconds(limit)} s): ¿`time.sleep` dentro de `async def`? {_STILL_RUNNING}",
                    _BLOCKING_HINT)


def require_async(fn: Any, name: str) -> Callable[..., Any]:
    """Fail unless ``fn`` is an ``async def`` function (the exercise awaits it); return
    ``fn`` wrapped so that a result that was never awaited (a coroutine, a future, a
    list of them: ``return asyncio.gather(...)`` without ``await``) is the verdict
    "falta `await`", whatever the checker looks at next. Checkers call the wrapper."""
    expect(inspect.iscoroutinefunction(fn), f"{name} debe ser una corrutina: defínela con `async def`.",
           f"Escribe `async def {name}(...)` y usa `await` dentro.")

    async def awaited(*args: Any, **kwargs: Any) -> Any:
        result = await fn(*args, **kwargs)
        what = _unawaited(result)
        if what:
            fault = Incorrect(f"{name} devolvió {what} sin esperarlo: falta `await`.",
                              "Sin `await`, devuelves la promesa de un resultado, no el resultado: "
                              "`return await asyncio.gather(...)`, `resultado = await tarea`.")
            watched = _WATCHED.get(asyncio.get_running_loop())
            if watched is not None and watched.fault is None:
                watched.fault = fault
            raise fault
        return result

    awaited.__wrapped__ = fn
    return awaited


def _unawaited(value: Any) -> str:
    """What in ``value`` was never awaited ("" if nothing); closes or cancels it, so
    that Python does not warn about it on top of the verdict."""
    items = list(value) if isinstance(value, (list, tuple, set)) else [value]
    pending = [v for v in items if inspect.isawaitable(v) or isinstance(v, concurrent.futures.Future)]
    if not pending:
        return ""
    for item in pending:
        if inspect.iscoroutine(item):
            item.close()
        elif hasattr(item, "cancel"):
            item.cancel()
    kind = type(pending[0]).__name__
    kind = {"coroutine": "una corrutina", "_GatheringFuture": "el Future de gather"}.get(kind, f"un {kind}")
    return kind if value is pending[0] else f"una lista con {len(pending)} objeto(s) esperables ({kind}, ...)"
