"""osutil: the readings, and the switch CORRUTINAS_SIN_PROC=1.

``make test`` runs this file twice: once as is, once with the switch on (with
the notebooks that measure memory), so both branches below are exercised on
Linux. Elsewhere the portable branch is the only one.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import psutil
import pytest

from support import osutil
from support.osutil import switch

LINUX = sys.platform.startswith("linux")
PORTABLE = osutil.PRETEND_NO_PROC or not LINUX


def test_readings_that_work_everywhere():
    r = osutil.readings()
    assert r["rss"] > 1024 * 1024 and r["peak_rss"] >= r["rss"] * 0.9
    assert r["fd_limit"] >= 256 and r["cpu_count"] >= 1
    assert r["cpu_seconds"] > 0 and r["busy_seconds"] > 0


@pytest.mark.skipif(PORTABLE, reason="Linux with /proc (the switch is off)")
def test_linux_reads_proc_and_resource():
    r = osutil.readings()
    assert r["has_proc"] and r["resource_importable"] and r["proc_file"] == "read"
    assert r["pid_max"] and r["pid_max"] > 100 and r["peak_resettable"]
    assert "VmHWM" in osutil.proc_status() and r["has_affinity"]


@pytest.mark.skipif(not PORTABLE, reason="only without /proc (CORRUTINAS_SIN_PROC=1, macOS, Windows)")
def test_without_proc_the_portable_path_answers():
    r = osutil.readings()
    assert not r["has_proc"] and not r["has_affinity"] and r["proc_file"] == "absent"
    assert r["pid_max"] is None and osutil.proc_status() == {} and not r["peak_resettable"]
    assert not hasattr(os, "sched_setaffinity")
    with pytest.raises(ImportError):
        __import__("resource")  # as on Windows
    assert psutil.Process().memory_info().rss > 0  # libraries keep their own way in


@pytest.mark.skipif(not (osutil.PRETEND_NO_PROC and LINUX), reason="the switch is off")
def test_the_switch_refuses_the_course_s_own_reads():
    with pytest.raises(FileNotFoundError, match="CORRUTINAS_SIN_PROC"):
        Path("/proc/self/status").read_text()  # this file is the course's own code
    with pytest.raises(FileNotFoundError):
        open("/sys/fs/cgroup/pids.max").close()


def test_the_guard_tells_whose_read_it_is():
    assert switch._is_course_file(switch.__file__)
    assert switch._is_course_file(__file__)
    assert switch._is_course_file("<string>")  # python -c in a child
    assert switch._is_course_file(os.path.join(os.sep, "tmp", "ipykernel_4242", "123456.py"))  # a notebook cell
    assert not switch._is_course_file(psutil.__file__)
    assert not switch._is_course_file("<frozen runpy>")
    assert switch._is_stdlib_file(os.__file__) and not switch._is_stdlib_file(psutil.__file__)


def test_the_guard_lets_other_files_and_events_through():
    switch._refuse_linux_files("open", ("/etc/hostname", "r", 0))
    switch._refuse_linux_files("socket.connect", (None, ("127.0.0.1", 80)))
    switch._refuse_linux_files("open", (3, "r", 0))  # an already open descriptor
    with pytest.raises(FileNotFoundError):
        switch._refuse_linux_files("open", (Path("/proc/self/smaps"), "r", 0))


def test_soft_limit():
    if osutil.resource is None:
        assert osutil.soft_limit("NOFILE") is None
    else:
        assert osutil.soft_limit("NOFILE") == osutil.resource.getrlimit(osutil.resource.RLIMIT_NOFILE)[0]
    assert osutil.soft_limit("NO_SUCH_LIMIT") is None
