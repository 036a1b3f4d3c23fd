"""Virtual time for the toy loop: a clock that only moves when the loop waits.

``EventLoop(clock=clock, selector=VirtualSelector(clock))``: whenever the loop
would block in ``select(timeout)`` with nothing ready, the selector advances
the clock by ``timeout`` instead of sleeping (trio's ``MockClock`` with
autojump, in a dozen lines). Sockets still work: the real selector is polled
without blocking first. The tests use it (``tests/virtual_time.py``), and so
does the stepper of notebooks 02 and 04 (:mod:`support.kernel.stepper`).

:class:`SteadySelector` makes steps over *real* sockets (the local site)
repeat the same way on every run: the network takes no virtual time. While a
watched socket has not answered yet, it waits for it in real time (up to
``patience`` seconds), then lets ``settle`` seconds pass so that sockets
answering together are returned together, in the order they were registered.
Only when no socket answers does the clock jump to the timeout (the next
timer). Discussion: this is a model for stepping, not for measuring: a timer
shorter than a server's latency fires *after* the server's answer here.
"""

from __future__ import annotations

import selectors
import time

__all__ = ["VirtualClock", "VirtualSelector", "SteadySelector", "virtual_loop"]


class VirtualClock:
    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now


class VirtualSelector(selectors.DefaultSelector):
    def __init__(self, clock: VirtualClock):
        super().__init__()
        self.clock = clock
        self.waits: list[float] = []  # every timeout the loop asked for

    def select(self, timeout=None):
        events = super().select(timeout=0)
        if not events and timeout:
            self.waits.append(timeout)
            self.clock.now += timeout
        return events


class SteadySelector(VirtualSelector):
    """A :class:`VirtualSelector` that waits (in real time) for watched sockets first."""

    def __init__(self, clock: VirtualClock, patience: float = 5.0, settle: float = 0.03):
        super().__init__(clock)
        self.patience, self.settle = patience, settle
        self._order: dict[int, int] = {}  # fd -> registration number, for a stable order

    def register(self, fileobj, events, data=None):
        key = super().register(fileobj, events, data)
        self._order.setdefault(key.fd, len(self._order))
        return key

    def unregister(self, fileobj):
        key = super().unregister(fileobj)
        self._order.pop(key.fd, None)
        return key

    def select(self, timeout=None):
        events = selectors.DefaultSelector.select(self, timeout=0)
        if not events and timeout and self.get_map():
            events = selectors.DefaultSelector.select(self, timeout=self.patience)  # real time
        if events:
            time.sleep(self.settle)  # whoever answers together is returned together
            events = selectors.DefaultSelector.select(self, timeout=0)
            return sorted(events, key=lambda ev: self._order.get(ev[0].fd, 0))
        if timeout:
            self.waits.append(timeout)
            self.clock.now += timeout
        return events


def virtual_loop(steady: bool = False):
    """An EventLoop on virtual time, and its clock (``steady``: with a :class:`SteadySelector`)."""
    from support.kernel.eventloop import EventLoop

    clock = VirtualClock()
    selector = SteadySelector(clock) if steady else VirtualSelector(clock)
    return EventLoop(clock=clock, selector=selector), clock
