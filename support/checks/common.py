"""Pieces shared by the checkers of the async notebooks (05, 06); the guards
themselves (time limits, ``require_async``) are in :mod:`support.exercises`.

* :class:`Probe`: a fake coroutine function (``obtener``, ``fn``, ``descargar``)
  that sleeps, may fail, and records what happened to its calls: how many,
  which, how many at once, which were cancelled, which are still running.
"""

from __future__ import annotations

import asyncio

__all__ = ["Probe"]


class Probe:
    """``await probe(x)`` sleeps ``delays[x]`` s, raises ``errors[x]`` if given,
    and returns ``x.upper()``."""

    def __init__(self, delays: dict[str, float], errors: dict[str, BaseException] | None = None):
        self.delays, self.errors = delays, errors or {}
        self.calls = self.in_flight = self.max_in_flight = 0
        self.called: list[str] = []     # in order of call
        self.running: set[str] = set()  # started and not finished
        self.cancelled: list[str] = []
        self.finished: list[str] = []   # in order of completion, failures excluded

    async def __call__(self, item: str) -> str:
        self.calls += 1
        self.called.append(item)
        self.in_flight += 1
        self.running.add(item)
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delays[item])
            if item in self.errors:
                raise self.errors[item]
        except asyncio.CancelledError:
            self.cancelled.append(item)
            raise
        finally:
            self.in_flight -= 1
            self.running.discard(item)
        self.finished.append(item)
        return item.upper()
