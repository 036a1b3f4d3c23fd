"""Shared fixtures: a local site on a free 127.0.0.1 port, stopped after use; virtual time for it."""

from __future__ import annotations

import asyncio

import pytest

from support.labsite import LabSite

#: Real-time smoke tests: how many times slower than ideal a loaded 2-core
#: machine may be before a timing counts as wrong. The one slack factor of
#: the suite; everything else asserts on counters, lower bounds or virtual time.
SLACK = 3.0


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


@pytest.fixture
def slack() -> float:
    return SLACK


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
