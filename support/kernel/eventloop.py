"""The hand-written event loop of notebook 02, reused by notebook 04.

This is the reference copy of the loop a student builds in notebook 02: one
``selectors.DefaultSelector``, callbacks stored as the ``data`` of each
registration, and a loop that asks the selector which sockets are ready and
calls their callbacks. Notebook 04 drives its generator-based coroutines on
this same loop (``tests/test_eventloop.py`` proves notebook 02's definition
and this one behave the same).

Notebook 04 teaches it time: ``call_later``/``call_at`` push a :class:`Timer`
on a heap, and ``select`` waits no longer than until the nearest timer is due
(asyncio's ``loop._scheduled`` is the same heap, read the same way in
``BaseEventLoop._run_once``). The generator ``sleep`` and ``Task.cancel`` built
on it live in :mod:`support.kernel.tasks`.

Discussion: a turn is fair, as asyncio's ``_run_once``. Each turn asks the
selector once (with timeout 0 when callbacks are already ready), queues the
callbacks of the ready sockets and of the due timers behind those already in
``ready``, and runs only the callbacks that were queued when the turn began;
whatever they add with ``call_soon`` waits for the next turn, after another
``select``. So a coroutine that loops on ``sleep(loop, 0)`` cannot starve a
socket, and the ``timeout`` of ``run`` is checked on every turn.
``poll``/``run_next`` are the two halves of a turn, public so that a stepper
(:mod:`support.kernel.stepper`) can stop between them without changing the order.

Discussion: unlike the lecture's ``while True``, this loop *ends* when nothing
is left to wait for (no registered socket, no pending callback, no live
timer), so a notebook cell that runs it returns; and it gives up after
``timeout`` seconds, so a lost callback cannot hang a cell forever.

Discussion: time is injected. ``EventLoop(clock=..., selector=...)`` takes any
``clock()`` returning seconds and any selector; tests pass a fake clock and a
selector whose ``select(timeout)`` advances that clock instead of sleeping, so
timers are tested in virtual time.
"""

from __future__ import annotations

import heapq
import itertools
import math
import selectors
import time
from collections import deque
from typing import Callable

__all__ = ["EventLoop", "Timer"]


class Timer:
    """A callback programmed for a moment of the loop's clock (``when``).

    ``cancel()`` only marks it: the loop drops cancelled timers when they reach
    the top of the heap (asyncio's ``TimerHandle.cancel`` does the same).
    """

    def __init__(self, when: float, callback: Callable, args: tuple):
        self.when, self.callback, self.args = when, callback, args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __repr__(self) -> str:
        state = " cancelled" if self.cancelled else ""
        return f"<Timer at {self.when:.3f}{state} {getattr(self.callback, '__name__', self.callback)}>"


class EventLoop:
    """A selector, a queue of ready callbacks, and the loop that runs them."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 selector: selectors.BaseSelector | None = None):
        self.clock = clock
        self.selector = selector if selector is not None else selectors.DefaultSelector()
        self.ready: deque[tuple[Callable, tuple, object]] = deque()  # (callback, args, selector key or None)
        self.timers: list[tuple[float, int, Timer]] = []  # a heap: the nearest timer first
        self._order = itertools.count()  # ties keep the order they were programmed in
        self.turns = 0                # how many times the loop asked the selector
        self.on_turn: Callable | None = None  # optional hook(loop, events), for traces

    # -- registering interest -------------------------------------------

    def add_writer(self, sock, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once ``sock`` can be written (e.g. it connected)."""
        self._watch(sock, selectors.EVENT_WRITE, callback)

    def add_reader(self, sock, callback: Callable[[], None]) -> None:
        """Call ``callback()`` each time ``sock`` has data (or the peer closed)."""
        self._watch(sock, selectors.EVENT_READ, callback)

    def remove(self, sock) -> None:
        """Stop watching ``sock``."""
        self.selector.unregister(sock)

    def call_soon(self, callback: Callable, *args) -> None:
        """Run ``callback(*args)`` on the next turn of the loop."""
        self.ready.append((callback, args, None))

    def time(self) -> float:
        """The loop's clock, in seconds (``time.monotonic`` unless injected)."""
        return self.clock()

    def call_at(self, when: float, callback: Callable, *args) -> Timer:
        """Ejecuta ``callback(*args)`` cuando el reloj llega a ``when``; devuelve el :class:`Timer`.

        (En español: el notebook 04 muestra este método.)"""
        timer = Timer(when, callback, args)
        heapq.heappush(self.timers, (when, next(self._order), timer))
        return timer

    def call_later(self, delay: float, callback: Callable, *args) -> Timer:
        """Run ``callback(*args)`` ``delay`` seconds from now; returns the :class:`Timer`."""
        return self.call_at(self.clock() + delay, callback, *args)

    def _watch(self, sock, events: int, callback: Callable[[], None]) -> None:
        try:
            self.selector.modify(sock, events, callback)
        except KeyError:  # not registered yet
            self.selector.register(sock, events, callback)

    # -- the loop ----------------------------------------------------------

    def watched(self) -> list:
        """The sockets being watched right now (e.g. to close them after a timeout)."""
        return [key.fileobj for key in self.selector.get_map().values()]

    def watching(self, sock) -> bool:
        """Whether ``sock`` is being watched (one look-up in the selector's map, not a scan)."""
        try:
            return sock in self.selector.get_map()
        except ValueError:  # closed (fileno -1) and not registered
            return False

    def _current(self, key) -> bool:
        """Whether ``key`` (from this turn's ``select``) is still how its socket is watched."""
        try:
            return self.selector.get_map()[key.fileobj] is key
        except (KeyError, ValueError):  # removed, or closed and removed
            return False

    def pending(self) -> int:
        """Sockets being watched, callbacks waiting to run and live timers."""
        return len(self.selector.get_map()) + len(self.ready) + self._live_timers()

    def _live_timers(self) -> int:
        while self.timers and self.timers[0][2].cancelled:  # drop cancelled ones at the top
            heapq.heappop(self.timers)
        return sum(not timer.cancelled for _when, _n, timer in self.timers)

    def _due_timers_to_ready(self) -> None:
        now = self.clock()
        while self.timers and (self.timers[0][2].cancelled or self.timers[0][0] <= now):
            _when, _n, timer = heapq.heappop(self.timers)
            if not timer.cancelled:
                self.ready.append((timer.callback, timer.args, None))

    def _wait(self, deadline: float) -> float:
        """Cuánto puede dormir el ``select`` de esta vuelta: 0 si hay callbacks listos;
        si no, hasta el próximo temporizador o el plazo (1 s como mucho).

        (En español: el notebook 04 muestra este método.)"""
        if self.ready:
            return 0.0                              # hay trabajo: select solo mira, no duerme
        wait = min(1.0, deadline - self.clock())
        if self.timers:                             # despertar a tiempo para el próximo temporizador
            wait = min(wait, self.timers[0][0] - self.clock())
        return max(0.0, wait)

    def poll(self, deadline: float = math.inf) -> int:
        """La primera mitad de una vuelta: un ``select``, y los callbacks de los sockets
        listos y de los temporizadores vencidos van al final de ``ready``. Devuelve
        cuántos callbacks corre esta vuelta (``run_once`` corre esos).

        (En español: el notebook 04 muestra este método.)"""
        events = self.selector.select(timeout=self._wait(deadline))
        self.turns += 1
        if self.on_turn is not None:
            self.on_turn(self, events)
        for key, _mask in events:
            self.ready.append((key.data, (), key))  # el callback del socket, a la cola (con su clave)
        self._due_timers_to_ready()
        return len(self.ready)

    def run_next(self) -> None:
        """Saca el primer callback de ``ready`` y lo llama (un paso de la vuelta).

        (En español: el notebook 04 muestra este método.)"""
        callback, args, key = self.ready.popleft()
        if key is None or self._current(key):  # un callback anterior pudo quitar su socket
            callback(*args)

    def run_once(self, deadline: float = math.inf) -> None:
        """Una vuelta del bucle, como ``BaseEventLoop._run_once`` de asyncio.

        (En español: el notebook 04 muestra este método.)"""
        # Como asyncio: preguntamos al selector en CADA vuelta (con espera 0 si ya
        # hay trabajo), así un socket listo nunca espera detrás de los callbacks.
        n = self.poll(deadline)
        # Solo los callbacks que estaban en la cola al empezar esta parte: los que
        # se agreguen mientras tanto (call_soon) corren en la vuelta siguiente,
        # después de otro select.
        for _ in range(n):
            self.run_next()

    def run(self, timeout: float = 60.0) -> None:
        """Run until nothing is pending; raise ``TimeoutError`` after ``timeout`` s."""
        deadline = self.clock() + timeout
        while self.pending():
            self.run_once(deadline)
            if self.pending() and self.clock() >= deadline:  # el plazo se mira en cada vuelta
                raise TimeoutError(f"event loop still waiting on {self.pending()} item(s) after {timeout} s")

    def close(self) -> None:
        self.selector.close()
