"""The suite's one real-time allowance.

Most tests assert on counters or on virtual time (``tests/virtual_time.py`` for
the toy loop, ``looptime`` for asyncio). A few must read the wall clock because
the time *is* the claim: a deadline holds, a verdict comes back within its
limit, the site's latency is really waited. They say so with :func:`within` or
:func:`takes_about` (in the spirit of trio's ``check_takes_about``), which share
one named factor, :data:`SLACK`.

Such tests carry the ``realtime`` mark (``conftest.py`` adds it to every test
whose source reads a wall clock or calls these helpers): ``make test`` runs them
on their own, never beside other xdist workers, so a neighbour's CPU does not
eat their slack.
"""

from __future__ import annotations

#: How many times its ideal a wall-clock duration may take on a loaded 2-core
#: machine before it counts as wrong. The one slack factor of the suite.
SLACK = 2.0


def within(seconds: float, ideal: float, what: str = "it") -> None:
    """Assert that a measured duration is at most :data:`SLACK` times ``ideal``.

    ``ideal`` is what the claim promises on an idle machine (a deadline plus the
    one request timeout it may overrun by, a time limit plus the guard's grace).
    """
    bound = ideal * SLACK
    assert seconds <= bound, (
        f"{what} took {seconds:.2f} s; the claim is {ideal:.2f} s (x{SLACK:g} for a loaded machine: {bound:.2f} s)")


def takes_about(seconds: float, ideal: float, what: str = "it") -> None:
    """:func:`within`, and no less than ``ideal``: the wait really happened."""
    assert seconds >= ideal, f"{what} took {seconds:.2f} s, less than the {ideal:.2f} s it must wait"
    within(seconds, ideal, what)
