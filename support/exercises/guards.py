"""How every checker runs a student's code: time limits that hold, a line
budget, and the "wrong kind of function" checks (used by :mod:`support.exercises`
and every module of :mod:`support.checks`). An ``async def`` answer runs through
:mod:`support.exercises.loop`; what a verdict shows and the evidence it rests on
(short reprs, crashed threads, opened sockets) is :mod:`support.exercises.evidence`.

:class:`Incorrect` and :func:`expect` are the two ways a checker says "wrong";
the guards raise them too.
"""

from __future__ import annotations

import inspect
import random
import sys
import threading
import time
from typing import Any, Callable

from support.fmt import num
from support.osutil import QueuedClock

__all__ = ["Incorrect", "expect", "call_with_limit", "require_sync", "not_a_coroutine", "LIMIT", "LINE_BUDGET",
           "limit", "draw", "SEED"]


class Incorrect(Exception):
    """Raised by a checker: ``message`` says what is wrong, ``hint`` how to go on."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint


def expect(condition: bool, message: str, hint: str = "") -> None:
    """Inside a checker: fail with ``message`` and ``hint`` unless ``condition``."""
    if not condition:
        raise Incorrect(message, hint)


# -- guards: how every checker runs the student's code -------------------------------
#
# Discussion: a student's answer may never return (an endless loop, a join on a
# thread that never ends, an await on something that never comes) or may block
# the event loop (``time.sleep`` inside ``async def``). A checker must still give
# its verdict, in time, and leave the kernel usable. So the student's code runs
# in a daemon thread that the checker waits for with a time limit and never
# joins on the way out. After the limit, the guard tries to end that thread:
# an exception raised inside it with ``PyThreadState_SetAsyncExc`` ends any
# pure-Python loop at its next line; a thread stuck inside a blocking call (in
# C: ``time.sleep``, a lock, a socket) only sees it when the call returns, and
# code that catches ``BaseException`` swallows it: the guard sends it again
# every few ms during STOP_GRACE, and when the thread outlives that the verdict
# says it is still running and why it may be. For an event loop, a heartbeat
# callback tells the two failures apart: if it stopped beating, the loop was
# blocked, not waiting.

#: Time limit (s) for one guarded call: the ONE setting of every checker's limits (a
#: checker that needs more or less asks :func:`limit` for a multiple of it). Tests
#: lower it, so that an answer that never ends costs them a second, not five.
LIMIT = 5.0
#: Lines of Python a guarded call may run when the checker sets a line budget.
LINE_BUDGET = 200_000
#: How long (s) the guard waits for a thread it stopped to end, after the limit ...
STOP_GRACE = 0.2
#: ... plus, at most, the time (s) that thread or the guard's stood in the run queue (:class:`Grace`).
LOADED_GRACE = 2.0
_STILL_RUNNING = ("Sigue ejecutándose en un hilo en segundo plano: o está dentro de una llamada "
                  "bloqueante que no se puede interrumpir (y se detendrá cuando esa llamada vuelva), "
                  "o atrapa la excepción con la que el checker la detiene (un `except BaseException` "
                  "o un `except:` sin tipo). Si no termina o el kernel va lento, reinícialo con "
                  "Kernel > Restart Kernel.")
_SWALLOWS_STOP = ("Sigue ejecutándose en un hilo en segundo plano: atrapa la excepción con la que el "
                  "checker la detiene (un `except BaseException` o un `except:` sin tipo). Reinicia el "
                  "kernel con Kernel > Restart Kernel, y atrapa solo las excepciones que esperas.")
_STOPPED = "El checker la detuvo: no queda nada ejecutándose."
_LOOP_HINT = ("Revisa que cada vuelta del bucle avance hacia su salida: que llegue a un `yield` o a un "
              "`return`, y que cambie la variable que lo controla.")


#: The seed of the inputs a checker draws (:func:`draw`): None in the notebook (the
#: same inputs every time); graded mode (:mod:`support.exercises.graded`) sets a fresh
#: one per run and prints it with the verdict.
SEED: int | None = None


def draw(exercise: str) -> random.Random:
    """The random inputs of ``exercise`` for this run (seeded by :data:`SEED`)."""
    return random.Random(f"{0 if SEED is None else SEED}:{exercise}")


def limit(factor: float = 1.0) -> float:
    """A checker's time limit: ``factor`` times :data:`LIMIT`, read when the check runs."""
    return LIMIT * factor

def _seconds(value: float) -> str:
    """Seconds for a Spanish sentence: one decimal at most, decimal comma (0,5; 3)."""
    return num(value, 1).removesuffix(",0")


class _Stop(BaseException):
    """Raised inside a guarded thread to end it. A ``BaseException``, so that an
    ``except Exception`` in the student's code does not swallow it."""


class _RunawayCode(BaseException):
    """Raised inside the student's code when it exceeds its line budget."""


def _raise_in_thread(thread_id: int) -> bool:
    """Ask CPython to raise :class:`_Stop` in thread ``thread_id`` at its next line of Python."""
    try:
        import ctypes

        set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
    except (ImportError, AttributeError):  # not CPython: nothing can stop the thread
        return False
    return set_async_exc(ctypes.c_ulong(thread_id), ctypes.py_object(_Stop)) == 1


def _checkpoint() -> None:
    """A call that lets a pending :class:`_Stop` be raised where it is caught."""


#: thread id -> the guard whose body runs in that thread (see :func:`settle`)
_GUARDED: dict[int, "_Guarded"] = {}


def settle() -> None:
    """From a guarded body, where its own clean-up begins: the guard sends no stop after
    this, and one already sent surfaces here, not in the middle of the clean-up (where it
    would cut short closing the loop, or end up as an "Exception ignored")."""
    guard = _GUARDED.get(threading.get_ident())
    if guard is not None:
        with guard._lock:
            guard._finished = True
    try:
        _checkpoint()
    except _Stop:
        pass


class Grace:
    """``seconds`` for threads to end, counted in the machine's turns: the time this thread
    or the ones waited for stood in the run queue (ready, not let run) is added, up to
    :data:`LOADED_GRACE`. By the bare wall clock, a thread that was stopped but not yet let
    run to see it is "still running": on a loaded CI, a spinning answer the guard had
    stopped was once reported so."""

    def __init__(self, seconds: float, threads: "list[threading.Thread]") -> None:
        self._threads = threads
        self._clocks = [QueuedClock()] + [QueuedClock(t.native_id) for t in threads if t.native_id is not None]
        self._queued = self._queued_now()
        self._deadline = time.monotonic() + seconds

    def _queued_now(self) -> float:
        return sum(clock() for clock in self._clocks)

    def left(self) -> float:
        """Seconds left to wait (0.0 once the grace is over)."""
        extra = min(self._queued_now() - self._queued, LOADED_GRACE)
        return max(0.0, self._deadline + extra - time.monotonic())

    def join(self) -> bool:
        """Wait for each of the threads within the grace; True if all ended."""
        for thread in self._threads:
            while thread.is_alive() and (left := self.left()) > 0:
                thread.join(min(left, 0.02))
        return not any(thread.is_alive() for thread in self._threads)

    def __enter__(self) -> "Grace":
        return self

    def __exit__(self, *exc: object) -> None:
        for clock in self._clocks:
            clock.close()


class _Guarded:
    """``body()`` in a daemon thread, whose outcome the caller waits for with a limit."""

    def __init__(self, body: Callable[[], Any], name: str, wake: threading.Event | None = None):
        self._body = body
        self.wake = wake if wake is not None else threading.Event()  # set when done (or by the body)
        self._lock = threading.Lock()
        self._finished = False  # once True, the thread is never stopped
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()

    def _main(self) -> None:
        _GUARDED[threading.get_ident()] = self
        try:
            try:
                self.result = self._body()
            except BaseException as exc:  # handed to the caller's thread by outcome()
                self.error = exc
            finally:
                _GUARDED.pop(threading.get_ident(), None)
                with self._lock:
                    self._finished = True
                self.done.set()
                self.wake.set()
            _checkpoint()  # a _Stop sent just before _finished surfaces here, inside the try
        except _Stop:
            pass

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result

    def stop(self) -> bool:
        """Raise :class:`_Stop` inside the thread, again every few ms (code that
        catches ``BaseException`` may swallow some); True if it has ended within
        STOP_GRACE (a :class:`Grace`). Bounded: a thread stuck in C, or that swallows them
        all, is left behind."""
        with Grace(STOP_GRACE, [self.thread]) as grace:
            while True:
                with self._lock:
                    if not self._finished:
                        _raise_in_thread(self.thread.ident)
                self.thread.join(0.005)
                if not self.thread.is_alive() or not grace.left():
                    return not self.thread.is_alive()


def _runaway(budget: int, hint: str) -> Incorrect:
    return Incorrect(f"tu código ejecutó más de {num(budget)} líneas sin terminar: "
                     "parece un bucle sin fin.", hint or _LOOP_HINT)


def _line_budget(fn: Callable[..., Any], args: tuple, kwargs: dict, budget: int, hint: str,
                 tripped: threading.Event, wake: threading.Event) -> Any:
    """``fn(*args, **kwargs)`` in this thread, stopping its Python code after ``budget`` lines.

    Past the budget the tracer sets ``tripped`` and ``wake`` (the waiting checker
    wakes up and gives the line-count verdict) and raises :class:`_RunawayCode`. Discussion:
    CPython removes a trace function that raises, so an ``except BaseException``
    in the student's code swallows that one exception and the budget with it;
    ``tripped`` still tells the checker, which then stops the thread as it
    stops any other (:meth:`_Guarded.stop`)."""
    lines = 0

    def tracer(frame, event, arg):
        nonlocal lines
        if event == "line":
            lines += 1
            if lines > budget:
                tripped.set()
                wake.set()
                raise _RunawayCode
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        return fn(*args, **kwargs)
    except _RunawayCode:
        raise _runaway(budget, hint) from None
    finally:
        sys.settrace(previous)


def call_with_limit(fn: Callable[..., Any], *args: Any, limit: float | None = None, lines: int | None = None,
                    hint: str = "", **kwargs: Any) -> Any:
    """Return ``fn(*args, **kwargs)``, run in a daemon thread; :class:`Incorrect` after ``limit``
    seconds (:data:`LIMIT` if not given), returned within about ``limit + STOP_GRACE``.

    With ``lines``, the call may also run at most that many lines of Python (a
    line budget: an endless loop gets its verdict in well under a second, and
    the checker code that ``fn`` may be runs under it too). ``hint`` goes with
    either verdict. An exception of ``fn`` (``NotImplementedError`` from a stub,
    an :class:`Incorrect`) is raised here as if ``fn`` had run in this thread.
    """
    limit = LIMIT if limit is None else limit
    tripped, wake = threading.Event(), threading.Event()  # the line budget ran out; done or that
    body = ((lambda: _line_budget(fn, args, kwargs, lines, hint, tripped, wake)) if lines
            else (lambda: fn(*args, **kwargs)))
    run = _Guarded(body, name="exercise", wake=wake)
    wake.wait(limit)
    if run.done.wait(STOP_GRACE if tripped.is_set() else 0):  # done (the budget's verdict included)
        return run.outcome()
    stopped = run.stop()
    if tripped.is_set():  # the budget ran out and its exception was swallowed
        verdict = _runaway(lines, hint)
        raise Incorrect(f"{verdict.message} {_STOPPED if stopped else _SWALLOWS_STOP}", verdict.hint)
    left = _STOPPED if stopped else _STILL_RUNNING
    raise Incorrect(f"tu código no terminó en {_seconds(limit)} s (tiempo límite). {left}",
                    hint or "¿Un bucle sin salida, o una espera a algo que nunca llega?")


# -- the wrong kind of function ---------------------------------------------------------

def require_sync(fn: Any, name: str) -> None:
    """Fail if ``fn`` is an ``async def`` function where a plain ``def`` is asked for."""
    expect(not inspect.iscoroutinefunction(fn),
           f"{name} es una función común (`def`), no `async def`: aquí no hay nada que esperar.",
           "Escríbela con `def`, sin `async`.")


def not_a_coroutine(result: Any, message: str = "tu función es una corrutina (`async def`); "
                    "aquí se pide una función común.", hint: str = "Escríbela con `def`, sin `async`.") -> Any:
    """Return ``result`` unless it is a coroutine object (the answer was an ``async def``
    where a ``def`` was asked for): then close it, so that Python does not warn that
    it was never awaited, and fail with ``message`` and ``hint``."""
    if inspect.iscoroutine(result):
        result.close()
        raise Incorrect(message, hint)
    return result
