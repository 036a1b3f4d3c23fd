"""How every checker runs a student's code: time limits that hold, a line
budget, and the "wrong kind of function" checks (used by :mod:`support.exercises`
and every module of :mod:`support.checks`).

:class:`Incorrect` and :func:`expect` are the two ways a checker says "wrong";
the guards raise them too.
"""

from __future__ import annotations

import asyncio
import collections.abc
import concurrent.futures
import contextlib
import gc
import inspect
import random
import reprlib
import sys
import threading
import time
import weakref
from typing import Any, Callable, Iterator

from support.fmt import num

__all__ = ["Incorrect", "expect", "call_with_limit", "run_async", "require_async", "require_sync",
           "not_a_coroutine", "LIMIT", "LINE_BUDGET", "BLOCKED_OVER", "short", "limit", "excuse_block",
           "thread_errors", "describe_error", "draw", "SEED", "opened_sockets"]


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
#: How long (s) the guard waits for a thread it stopped to end, after the limit.
STOP_GRACE = 0.2
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

_STILL_RUNNING = ("Sigue ejecutándose en un hilo en segundo plano: o está dentro de una llamada "
                  "bloqueante que no se puede interrumpir (y se detendrá cuando esa llamada vuelva), "
                  "o atrapa la excepción con la que el checker la detiene (un `except BaseException` "
                  "o un `except:` sin tipo). Si no termina o el kernel va lento, reinícialo con "
                  "Kernel > Restart Kernel.")
_SWALLOWS_STOP = ("Sigue ejecutándose en un hilo en segundo plano: atrapa la excepción con la que el "
                  "checker la detiene (un `except BaseException` o un `except:` sin tipo). Reinicia el "
                  "kernel con Kernel > Restart Kernel, y atrapa solo las excepciones que esperas.")
_STOPPED = "El checker la detuvo: no queda nada ejecutándose."
_BLOCKING_HINT = ("Dentro de `async def`, espera con `await asyncio.sleep(...)`; una llamada bloqueante "
                  "(time.sleep, requests, un cálculo largo) va a un hilo con `await asyncio.to_thread(...)`. "
                  "Un bucle sin ningún `await` tampoco devuelve el control al bucle de eventos.")
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


_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict, _REPR.maxtuple = 40, 40, 6, 4, 6
_REPR.maxlevel = 3


def short(value: Any, width: int = 80) -> str:
    """``repr(value)`` for a verdict, never longer than ``width`` characters: every
    value a verdict shows goes through here (a page of HTML is not a message)."""
    try:
        text = _REPR.repr(value)
    except Exception:  # a student's __repr__ may raise
        text = f"<{type(value).__name__}>"
    return text if len(text) <= width else text[: width - 4] + " ..."


def describe_error(exc: BaseException, width: int = 300) -> str:
    """``Type: message`` of an exception; for an ``ExceptionGroup``, the ones inside it."""
    if isinstance(exc, BaseExceptionGroup):
        leaves = _leaves(exc)
        inner = "; ".join(f"{type(e).__name__}: {str(e)[:120]}" for e in leaves[:3])
        more = f" (y {len(leaves) - 3} más)" if len(leaves) > 3 else ""
        text = f"{type(exc).__name__} con {len(leaves)} excepción(es) dentro: {inner}{more}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= width else text[: width - 4] + " ..."


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc]


@contextlib.contextmanager
def thread_errors() -> Iterator[list[tuple[str, BaseException]]]:
    """Record, while inside, the exceptions that end a thread (``threading.excepthook``):
    a student's thread that crashes (``args=(url)`` without the comma) is a verdict,
    not a traceback lost in the kernel's log."""
    seen: list[tuple[str, BaseException]] = []
    previous = threading.excepthook

    def record(args) -> None:
        if args.exc_type is SystemExit or isinstance(args.exc_value, _Stop):
            return
        seen.append((getattr(args.thread, "name", "?"), args.exc_value))

    threading.excepthook = record
    try:
        yield seen
    finally:
        threading.excepthook = previous


_OPENED: tuple[str, list[Any]] | None = None


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


def _audit(event: str, args: tuple) -> None:
    opened = _OPENED
    if event == "socket.__new__" and opened is not None and threading.current_thread().name == opened[0]:
        opened[1].append(args[0])


def _install_audit() -> None:
    if not getattr(_audit, "installed", False):
        sys.addaudithook(_audit)  # for good: an audit hook cannot be removed; it is idle outside
        _audit.installed = True


@contextlib.contextmanager
def opened_sockets(thread: str = "exercise") -> Iterator[list[Any]]:
    """The sockets that thread ``thread`` creates while inside (an audit hook sees each
    ``socket.socket``), held until the caller lets go of the list, so that one the
    answer dropped without closing is still there to be seen open: what a checker needs
    to say "you left it open" or "you made it blocking"."""
    global _OPENED
    _install_audit()
    found: list[Any] = []
    _OPENED = (thread, found)
    try:
        yield found
    finally:
        _OPENED = None


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
        try:
            try:
                self.result = self._body()
            except BaseException as exc:  # handed to the caller's thread by outcome()
                self.error = exc
            finally:
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
        STOP_GRACE. Bounded: a thread stuck in C, or that swallows them all, is left behind."""
        deadline = time.monotonic() + STOP_GRACE
        while True:
            with self._lock:
                if not self._finished:
                    _raise_in_thread(self.thread.ident)
            self.thread.join(0.005)
            if not self.thread.is_alive() or time.monotonic() >= deadline:
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


class _TimedSteps(collections.abc.Coroutine):
    """A task's coroutine, each step timed (``send``/``throw`` until it suspends).

    Discussion: what a step held the loop for is counted in three ways that a busy
    machine does not inflate: the CPU time of the loop's thread during the step (a
    computation with no ``await``), the seconds it asked ``time.sleep`` for
    (:func:`_counted_sleep`, in place while :func:`run_async` runs), and, for any other blocking call (``.result()``, a blocking
    socket), the step's wall-clock time once it exceeds :data:`BLOCKED_WALL`. The
    wall clock alone, or the gaps between heartbeats, also grow when another
    thread of the process holds the GIL (the lab site's server, a pool computing)
    or when the machine is loaded, and would blame a correct answer for them."""

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
        watched.slept, cpu, wall = 0.0, time.thread_time(), time.perf_counter()
        try:
            return step(*args)
        finally:
            watched.step_took(time.perf_counter() - wall, time.thread_time() - cpu)

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
        self._excused = False
        self.slept = 0.0

    def _timed_task(self, loop, coro, **kwargs):
        """Every task of the run steps through :class:`_TimedSteps`."""
        return asyncio.Task(_TimedSteps(coro, self) if inspect.iscoroutine(coro) else coro, loop=loop, **kwargs)

    def step_took(self, wall: float, cpu: float) -> None:
        """One step of a task (the code between two awaits that suspend) took ``wall``
        seconds, ``cpu`` of them computing, and asked ``time.sleep`` for :attr:`slept`."""
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
        try:
            self.last_beat = time.monotonic()
            self.loop.call_soon(self._beat)
            return self.loop.run_until_complete(main())
        finally:
            try:
                self._cancel_leftovers()
            finally:
                self.executor.shutdown(wait=False, cancel_futures=True)
                self.loop.close()
                _LOOP_THREADS.pop(threading.get_ident(), None)

    def _cancel_leftovers(self) -> None:
        """Cancel the tasks still pending (as ``asyncio.run`` does), waiting at most STOP_GRACE."""
        pending = [task for task in asyncio.all_tasks(self.loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.wait(pending, timeout=STOP_GRACE))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())

    def executor_busy(self) -> bool:
        """Whether a thread of the loop's executor still runs (e.g. ``to_thread(time.sleep, 60)``):
        nothing can stop it, and the interpreter waits for it at exit. Idle ones (they end
        at once after ``shutdown``) get STOP_GRACE / 4 to do so."""
        deadline = time.monotonic() + STOP_GRACE / 4
        for thread in list(getattr(self.executor, "_threads", ())):
            thread.join(max(0.0, deadline - time.monotonic()))
        return any(thread.is_alive() for thread in getattr(self.executor, "_threads", ()))

    def stop(self) -> None:
        """From another thread: end ``run_until_complete`` at the loop's next turn."""
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
    limit = LIMIT if limit is None else limit
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
        run.thread.join(2 * STOP_GRACE)  # bounded, as every wait here
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


# -- the wrong kind of function ---------------------------------------------------------


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
