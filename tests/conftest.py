"""Shared fixtures: a local site on a free 127.0.0.1 port, stopped after use; virtual time for it; the
hostile servers of ``tests/hostile_server.py`` (``make_hostile``, ``make_raw``), stopped after use too.

And the ``realtime`` mark, put on every test that reads a wall clock (see
``tests/realtime.py``) and on every notebook cell: ``make test`` runs those on
their own, and the rest in parallel (pytest-xdist). Two more rules for the
session, in :class:`Schedule`: a notebook runs once (nbval, or Run All in
JupyterLab when ``tests/test_browser.py`` does that), and the long test files go
first.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from pathlib import Path

import pytest
from browser_util import why_no_browser
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


#: What a test that depends on the wall clock calls (in its own body): a clock, the helpers of
#: tests/realtime.py, an exercise's checker (``run_check``), which times the answer it runs
#: (its limits, "11 downloads at once take little more than 0,1 s") and is as load-sensitive,
#: or the guards that run code under a time limit (a starved run of 0,2 s once read "no
#: terminó" where it spun: its verdict rests on when the loop last ran).
_WALL_CLOCK = re.compile(r"\b(perf_counter|monotonic|time\.time|within|takes_about|run_check|run_async"
                         r"|call_with_limit|_timed)\(")


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


#: The test that runs a whole notebook in JupyterLab (its ``notebook`` parameter is the path).
RUN_ALL = "test_notebook_runs_in_jupyterlab_and_widgets_render"
#: The files that take longest, longest first (about 90, 30, 40, 30, 20, 15 and 12 s of a worker's
#: time). ``make test``'s realtime pass hands whole files to its two workers in this order
#: (``--no-loadscope-reorder``), so that no long file starts last while the other worker idles;
#: its first pass (``--dist worksteal``) starts the long tests first for the same reason.
#: Only the order depends on this list: a stale entry costs seconds, never a result.
LONG_FIRST = ("tests/test_browser.py", "tests/test_nb09_devmode.py", "notebooks/09_", "notebooks/05_",
              "notebooks/01_", "notebooks/06_", "notebooks/02_")


class Schedule:
    """Runs after ``-m``/``-k`` have deselected (``trylast``), on the items that are left."""

    in_browser: list[str] = []

    def pytest_report_collectionfinish(self, config, start_path, items):
        if self.in_browser:
            return f"run whole in JupyterLab (tests/test_browser.py), so not again by nbval: {', '.join(self.in_browser)}"

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items):
        in_browser = {Path(item.callspec.params["notebook"]).resolve() for item in items
                      if getattr(item, "originalname", None) == RUN_ALL} if why_no_browser() is None else set()
        twice = [item for item in items if not isinstance(item, pytest.Function)
                 and Path(item.path).resolve() in in_browser]
        if twice:  # nbval's cells of a notebook that JupyterLab runs whole, in this same session
            config.hook.pytest_deselected(items=twice)
            drop = set(twice)
            items[:] = [item for item in items if item not in drop]
            self.in_browser = sorted(path.name for path in in_browser)

        def rank(item) -> int:
            return next((i for i, prefix in enumerate(LONG_FIRST) if item.nodeid.startswith(prefix)),
                        len(LONG_FIRST))
        items.sort(key=rank)  # stable: each file keeps its own order


def pytest_configure(config):
    config.pluginmanager.register(Schedule(), "corrutinas-schedule")


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
