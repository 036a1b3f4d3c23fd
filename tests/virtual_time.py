"""Virtual time for the toy loop: a clock that only moves when the loop waits.

``EventLoop(clock=clock, selector=VirtualSelector(clock))``: whenever the loop
would block in ``select(timeout)`` with nothing ready, the selector advances
the clock by ``timeout`` instead of sleeping (trio's ``MockClock`` with
autojump, in a dozen lines). Sockets still work: the real selector is polled
without blocking first.
"""

from __future__ import annotations

import selectors


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


def virtual_loop():
    """An EventLoop on virtual time, and its clock."""
    from support.kernel.eventloop import EventLoop

    clock = VirtualClock()
    return EventLoop(clock=clock, selector=VirtualSelector(clock)), clock
