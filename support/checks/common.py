"""Pieces shared by the checkers of the async notebooks (05, 06); the guards
themselves (time limits, ``require_async``) are in :mod:`support.exercises`.

* :class:`Probe`: a fake coroutine function (``obtener``, ``fn``, ``descargar``)
  that sleeps, may fail, and records what happened to its calls: how many,
  which, how many at once, which were cancelled, which are still running.
"""

from __future__ import annotations

import asyncio
import itertools

from support.exercises import Incorrect, draw, short

__all__ = ["Probe", "expect_results"]

_PROBES = itertools.count()


class Probe:
    """``await probe(x)`` sleeps ``delays[x]`` s, raises ``errors[x]`` if given,
    and returns :meth:`value` ``(x)``: ``x.upper()`` and a mark drawn for this probe,
    so that no answer can return the right values without awaiting the calls."""

    def __init__(self, delays: dict[str, float], errors: dict[str, BaseException] | None = None):
        self.delays, self.errors = delays, errors or {}
        self.mark = draw(f"probe-{next(_PROBES)}").randrange(100, 1000)
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
        return self.value(item)

    def value(self, item: str) -> str:
        """What ``await probe(item)`` returns."""
        return f"{item.upper()}#{self.mark}"


def expect_results(result, expected: list, what: str, order_hint: str) -> None:
    """Fail unless ``result`` is ``expected`` in order: naming values that are not the
    ones the calls returned apart from values in the wrong order."""
    got = list(result) if isinstance(result, (list, tuple)) else None
    if got == expected:
        return
    if got is not None and sorted(map(repr, got)) == sorted(map(repr, expected)):
        raise Incorrect(f"los resultados no están en el orden de {what}: {short(result)}", order_hint)
    raise Incorrect(f"los resultados no son los que devolvieron las llamadas: devolviste {short(result)}, "
                    f"y las llamadas devolvieron {short(expected)}.",
                    "Devuelve lo que devuelve cada `await`, tal cual, en una lista.")
