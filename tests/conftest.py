"""Shared fixtures: a local site on a free 127.0.0.1 port, stopped after use; virtual time for it; the
hostile servers of ``tests/hostile_server.py`` (``make_hostile``, ``make_raw``), stopped after use too.

And the ``realtime`` mark, put on every test that reads a wall clock (see
``tests/realtime.py``) and on every notebook cell: ``make test`` runs those on
their own, and the rest in parallel (pytest-xdist).
"""

from __future__ import annotations

import asyncio
import inspect
import re

import pytest
from hostile_server import HostileSite, RawServer

from support.labsite import LabSite


@pytest.fixture
def make_site():
    """Factory: ``make_site(pages=20, latency=0.1)`` -> a running LabSite, stopped at teardown."""
    started: list[LabSite] = []

    def make(**params) -> LabSite:
        site = LabSite(**params).start()
        started.append(site)
        return site

    yield make
    for site in started:
        site.stop()


@pytest.fixture
def site(make_site):
    """A small site with no latency."""
    return make_site(pages=30)


class VirtualSleep:
    """A sleep to inject into ``LabSite(sleep=...)``: returns at once and records what it was asked."""

    def __init__(self):
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)

    @property
    def total(self) -> float:
        return sum(self.calls)


@pytest.fixture
def virtual_sleep() -> VirtualSleep:
    return VirtualSleep()


#: What a test that depends on the wall clock calls (in its own body).
_WALL_CLOCK = re.compile(r"\b(perf_counter|monotonic|time\.time|within|takes_about)\(")


def _reads_wall_clock(item: pytest.Item) -> bool:
    if not isinstance(item, pytest.Function):
        return True  # nbval's cells: the notebooks measure time and assert on it
    try:
        return bool(_WALL_CLOCK.search(inspect.getsource(item.function)))
    except (OSError, TypeError):
        return False


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _reads_wall_clock(item) and "realtime" not in item.keywords:
            item.add_marker(pytest.mark.realtime)


@pytest.fixture
def make_hostile():
    """Factory: ``make_hostile()`` -> a started :class:`HostileSite`, stopped at teardown."""
    started = []

    def make(**kwargs) -> HostileSite:
        started.append(HostileSite(**kwargs).start())
        return started[-1]
    yield make
    for server in started:
        server.stop()


@pytest.fixture
def make_raw():
    started = []

    def make(answers: dict[str, bytes]) -> RawServer:
        started.append(RawServer(answers).start())
        return started[-1]
    yield make
    for server in started:
        server.stop()
