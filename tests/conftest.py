"""Shared fixtures: a local site on a free 127.0.0.1 port, stopped after use."""

from __future__ import annotations

import pytest

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
