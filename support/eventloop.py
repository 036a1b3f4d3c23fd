"""The hand-written event loop of notebook 02, reused by notebook 04.

This is the reference copy of the loop a student builds in notebook 02: one
``selectors.DefaultSelector``, callbacks stored as the ``data`` of each
registration, and a loop that asks the selector which sockets are ready and
calls their callbacks. Notebook 04 drives its generator-based coroutines on
this same loop (``tests/test_eventloop.py`` proves notebook 02's definition
and this one behave the same).

Discussion: unlike the lecture's ``while True``, this loop *ends* when nothing
is left to wait for (no registered socket and no pending callback), so a
notebook cell that runs it returns; and it gives up after ``timeout`` seconds,
so a lost callback cannot hang a cell forever.
"""

from __future__ import annotations

import selectors
import time
from collections import deque
from typing import Callable

__all__ = ["EventLoop"]


class EventLoop:
    """A selector, a queue of ready callbacks, and the loop that runs them."""

    def __init__(self):
        self.selector = selectors.DefaultSelector()
        self.ready: deque[tuple[Callable, tuple]] = deque()
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
        self.ready.append((callback, args))

    def _watch(self, sock, events: int, callback: Callable[[], None]) -> None:
        try:
            self.selector.modify(sock, events, callback)
        except KeyError:  # not registered yet
            self.selector.register(sock, events, callback)

    # -- the loop ----------------------------------------------------------

    def watched(self) -> list:
        """The sockets being watched right now (e.g. to close them after a timeout)."""
        return [key.fileobj for key in self.selector.get_map().values()]

    def pending(self) -> int:
        """Sockets being watched plus callbacks waiting to run."""
        return len(self.selector.get_map()) + len(self.ready)

    def run(self, timeout: float = 60.0) -> None:
        """Run until nothing is pending; raise ``TimeoutError`` after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while self.pending():
            while self.ready:
                callback, args = self.ready.popleft()
                callback(*args)
            if not self.selector.get_map():
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"event loop still waiting on {self.pending()} item(s) after {timeout} s")
            events = self.selector.select(timeout=min(remaining, 1.0))
            self.turns += 1
            if self.on_turn is not None:
                self.on_turn(self, events)
            for key, _mask in events:
                key.data()  # the callback registered with this socket

    def close(self) -> None:
        self.selector.close()
