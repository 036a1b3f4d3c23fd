"""support.osutil: the OS readings, each checked against something the test controls."""

from __future__ import annotations

import collections
import json
import os
import shlex
import subprocess
import sys
import threading
import time

import pytest

from support import osutil
from support.measure import memory
from support.measure.memory import KIB, MIB
from support.osutil import cpu, switch


def run_module(module: str, *args: str, env: dict | None = None) -> dict:
    out = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                         timeout=60, check=True, env={**os.environ, **(env or {})}).stdout
    return json.loads(out)


def test_a_childs_peak_rss_is_its_own_not_the_parents():
    """ru_maxrss survives fork+exec on Linux; peak_rss reads VmHWM instead."""
    ballast = bytearray(300 * MIB)  # the parent holds 300 MB when it forks
    ballast[::4096] = b"x" * len(ballast[::4096])
    child = run_module("support.osutil")
    assert 5 * MIB < child["peak_rss"] < 100 * MIB
    assert child["rss"] <= child["peak_rss"] and child["vms"] > child["rss"]
    del ballast


def test_rss_and_its_peak_follow_an_allocation():
    before = osutil.rss()
    block = bytearray(64 * MIB)
    block[::4096] = b"x" * len(block[::4096])  # touch every page: now resident
    assert osutil.rss() - before > 60 * MIB
    assert osutil.peak_rss() >= osutil.rss()
    del block


def test_reaped_children_cpu_is_counted_once_they_end():
    before = osutil.reaped_children_cpu_seconds()
    run_module("support.measure.memory", "200")  # a child that starts 200 threads: some CPU
    assert osutil.reaped_children_cpu_seconds() > before


def test_affinity_and_pinning():
    cpus = osutil.affinity()
    if cpus is None:
        pytest.skip("this system cannot pin a process to processors")
    assert cpus and len(cpus) == osutil.cpu_count()
    try:
        assert osutil.pin({min(cpus)}) is True
        assert osutil.affinity() == {min(cpus)} and osutil.cpu_count() == 1
    finally:
        assert osutil.pin(cpus)
    assert osutil.affinity() == cpus


def test_soft_limits_and_machine_facts():
    assert osutil.soft_limit("NOFILE") is None or osutil.soft_limit("NOFILE") > 0
    assert osutil.soft_limit("NO_SUCH_LIMIT") is None
    assert osutil.memory_total() > osutil.rss() > 0
    assert len(osutil.load_average()) == 3 and osutil.cpu_model()


def test_without_proc_the_stack_figures_are_none_and_the_rest_measured(monkeypatch):
    monkeypatch.setattr(switch, "HAS_PROC", False)
    m = memory.thread_memory(20, isolated=False)
    assert m["stack_reserved"] is None and m["stack_resident_per_thread"] is None
    assert m["rss_per_thread"] > 0 and m["vms_per_thread"] > 0
    limits = memory.os_thread_limits()
    assert limits["threads_max"] is None and limits["pid_max"] is None and limits["ram"] > 0
    assert memory.shown(None) == "no medible aquí"
    assert memory.shown(1536, KIB, ".1f") == "1,5 KiB"   # Spanish decimal comma (support.fmt)


def test_the_isolated_measurement_honours_the_no_proc_switch(monkeypatch):
    monkeypatch.setenv("CORRUTINAS_SIN_PROC", "1")  # the child process reads it at import
    m = memory.thread_memory(20)
    assert m["stacks_found"] is None and m["rss_per_thread"] > 0


def _wait_for(path: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_other_programs_counts_a_process_that_is_not_ours(tmp_path):
    # a CPU-bound process that is not a child of this one (its shell parent exits at once, so it
    # is re-parented); it says when it starts and when it ends. While it burns, the rest of the
    # machine keeps at least half a core busy.
    started, ended = tmp_path / "started", tmp_path / "ended"
    burn = (f"import time; open({str(started)!r}, 'w'); t = time.time()\n"
            f"while time.time() - t < 1.5: pass\nopen({str(ended)!r}, 'w')")
    subprocess.run(["sh", "-c", f"{shlex.quote(sys.executable)} -c {shlex.quote(burn)} > /dev/null 2>&1 &"],
                   check=True)
    _wait_for(str(started))
    with osutil.OtherPrograms() as others:
        threading.Event().wait(0.8)  # the window measured, not a wait for something to happen
    assert others.cores >= 0.5 and others.busy(), others.cores
    _wait_for(str(ended))  # no test after this one shares the CPU with it


def test_other_programs_leaves_out_this_process_and_its_children(monkeypatch):
    clock = {"all": 100.0, "own": 10.0, "reaped": 1.0}
    monkeypatch.setattr(cpu, "competing_seconds", lambda: clock["all"])
    monkeypatch.setattr(cpu, "cpu_seconds", lambda pids=None: clock["own"])
    monkeypatch.setattr(cpu, "reaped_children_cpu_seconds", lambda: clock["reaped"])
    with osutil.OtherPrograms() as others:
        clock.update(all=103.0, own=12.0, reaped=2.0)  # 3 s of CPU on the machine, all of it ours
    assert others.cores == 0 and not others.busy()
    with osutil.OtherPrograms() as others:
        clock.update(all=clock["all"] + 5.0)  # 5 s more on the machine, none of it ours
    assert others.cores > 0 and others.busy()


def test_a_program_at_low_priority_does_not_compete(monkeypatch):
    """``make test`` runs a pass at the lowest priority (tools/idle.py) beside the notebooks:
    its CPU is the machine's ``nice`` time, and it gives way to them."""
    times = collections.namedtuple("scputimes", "user nice system idle irq softirq steal")
    machine = {"t": times(100.0, 50.0, 10.0, 0, 1.0, 1.0, 0.0)}
    monkeypatch.setattr(cpu.psutil, "cpu_times", lambda: machine["t"])
    monkeypatch.setattr(cpu.os, "nice", lambda inc: 0)  # this process at normal priority, as the notebooks run
    before = cpu.competing_seconds()
    machine["t"] = machine["t"]._replace(nice=80.0)
    assert cpu.competing_seconds() == before and cpu.busy_seconds() == 192.0
    machine["t"] = machine["t"]._replace(user=103.0)
    assert cpu.competing_seconds() == before + 3.0
    monkeypatch.setattr(cpu.os, "nice", lambda inc: 19)  # this process is at low priority itself:
    assert cpu.competing_seconds() == cpu.busy_seconds()  # then nothing gives way to it


class _FakeRlimits:
    """A stand-in for ``resource``: RLIMIT_NOFILE only, with macOS's refusal above ``cap``."""

    RLIMIT_NOFILE, RLIM_INFINITY = 7, -1

    def __init__(self, soft: int, hard: int, cap: int | None = None):
        self.soft, self.hard, self.cap = soft, hard, cap

    def getrlimit(self, which):
        return self.soft, self.hard

    def setrlimit(self, which, limits):
        soft, hard = limits
        if self.cap is not None and soft > self.cap:
            raise ValueError("not allowed to raise maximum limit")  # what macOS says
        self.soft = soft


def test_the_switch_reports_no_more_than_the_real_fd_limit(monkeypatch):
    # CORRUTINAS_SIN_PROC=1 on Linux: `resource` is hidden from the course, but the
    # kernel still enforces its limit: a hard limit of 1,024 is what a budget can use
    real = _FakeRlimits(soft=256, hard=1024)
    monkeypatch.setattr(switch, "_rlimits", real)
    monkeypatch.setattr(switch, "resource", None)
    assert osutil.fd_limit() == 1024 and real.soft == 1024  # raised, and not 8,192
    roomy = _FakeRlimits(soft=256, hard=real.RLIM_INFINITY)
    monkeypatch.setattr(switch, "_rlimits", roomy)
    assert osutil.fd_limit() == osutil.WINDOWS_FDS and roomy.soft == 65536


def test_on_macos_an_unlimited_hard_limit_falls_back_to_open_max(monkeypatch):
    mac = _FakeRlimits(soft=256, hard=_FakeRlimits.RLIM_INFINITY, cap=osutil.MACOS_OPEN_MAX)
    monkeypatch.setattr(switch, "_rlimits", mac)
    monkeypatch.setattr(switch, "resource", mac)
    assert osutil.raise_fd_limit() == 10240 and mac.soft == 10240  # it stayed at 256
    assert osutil.raise_fd_limit(wanted=2000) == 10240  # never lowered
