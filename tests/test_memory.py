"""support.measure.memory: per-thread memory measured for real, limits read, extrapolation."""

from __future__ import annotations

import threading

import pytest

from support import osutil
from support.measure import memory
from support.measure.memory import KIB, MAX_THREADS, MIB, extrapolate, os_thread_limits, thread_caps, thread_memory

needs_proc = pytest.mark.skipif(not osutil.HAS_PROC, reason="per-thread stack figures come from "
                                "pthread_getattr_np and /proc/self/pagemap (Linux); elsewhere they are None")


@pytest.fixture(scope="module")
def default_200():
    return thread_memory(200)


@needs_proc
def test_parked_threads_reserve_megabytes_but_keep_kilobytes_resident(default_200):
    m = default_200
    soft_stack = osutil.soft_limit("STACK")
    if soft_stack is not None:
        assert m["stack_reserved"] == soft_stack
    assert m["stacks_found"] == 200
    # Virtual: at least the whole stack reservation per thread.
    assert m["vms_per_thread"] >= m["stack_reserved"] > 1 * MIB
    # Resident: a few pages of stack, and some kilobytes of interpreter state, not megabytes.
    assert 4 * KIB <= m["stack_resident_per_thread"] <= 64 * KIB
    assert 4 * KIB <= m["rss_per_thread"] <= 256 * KIB
    assert m["rss_after"] > m["rss_before"] and m["start_seconds"] > 0


@needs_proc
def test_stacks_are_found_whether_or_not_neighbouring_stacks_merge(default_200):
    """glibc 2.43 on Linux 6.18 marks the guard page inside the stack's mapping, so neighbouring
    stacks merge (about 0 new mappings a thread); glibc 2.36 adds two (stack + guard). Both find 200."""
    m = default_200
    assert m["stacks_found"] == 200
    assert m["maps_per_thread"] < 0.5 or 1.5 <= m["maps_per_thread"] <= 3, m["maps_per_thread"]


def test_max_map_count_limits_threads_only_where_each_stack_adds_mappings():
    limits = {"max_map_count": 65530}
    assert thread_caps(limits)["max_map_count"] == 32765            # no measurement: stack + guard
    assert thread_caps(limits, maps_per_thread=2.1)["max_map_count"] == 31204
    assert "max_map_count" not in thread_caps(limits, maps_per_thread=0.14)   # merged stacks


@needs_proc
def test_a_smaller_stack_shrinks_the_reservation_not_the_resident_cost(default_200):
    small = thread_memory(200, stack_size=256 * KIB)
    assert small["stack_reserved"] == 256 * KIB
    # Same number of threads, same malloc arenas: the virtual difference is the stacks.
    saved = default_200["vms_per_thread"] - small["vms_per_thread"]
    assert saved >= 0.9 * (default_200["stack_reserved"] - 256 * KIB)
    assert small["stack_resident_per_thread"] <= 64 * KIB


def test_in_process_measurement_cleans_up():
    before_threads, before_stack = threading.active_count(), threading.stack_size()
    m = thread_memory(50, stack_size=128 * KIB, isolated=False)
    assert m["n"] == 50 and m["rss_per_thread"] > 0
    assert (m["stack_reserved"] is None) == (not osutil.HAS_PROC)
    assert threading.active_count() == before_threads
    assert threading.stack_size() == before_stack


@pytest.mark.parametrize("n", [0, -1, MAX_THREADS + 1])
def test_thread_count_is_bounded(n):
    with pytest.raises(ValueError):
        thread_memory(n)


def test_unknown_workload_is_rejected():
    with pytest.raises(ValueError):
        thread_memory(5, work="nothing", isolated=False)


def test_os_limits_are_read():
    limits = os_thread_limits()
    assert limits["ram"] > 0
    for name in ("threads_max", "pid_max", "max_map_count"):
        assert limits[name] is None or limits[name] > 0


def test_caps_per_limit():
    limits = {"threads_max": 1000, "pid_max": 500, "rlimit_nproc": 300, "max_map_count": 800,
              "cgroup_pids_max": None, "root": False}
    assert thread_caps(limits) == {"threads_max": 1000, "pid_max": 500, "rlimit_nproc": 300,
                                   "max_map_count": 400}
    assert "rlimit_nproc" not in thread_caps({**limits, "root": True})


def test_extrapolation_is_linear_and_names_the_limits_exceeded():
    measured = {"n": 1000, "rss_per_thread": 16 * KIB, "vms_per_thread": 8 * MIB, "start_seconds": 0.5}
    limits = {"threads_max": 50_000, "pid_max": 32768, "max_map_count": 65530, "ram": 16 * 1024 * MIB,
              "root": True}
    small, big = extrapolate(measured, (10_000, 100_000), limits)
    assert small["rss"] == 10_000 * 16 * KIB and small["vms"] == 10_000 * 8 * MIB
    assert small["start_seconds"] == pytest.approx(5.0) and small["blocked_by"] == []
    assert big["blocked_by"] == ["max_map_count", "pid_max", "threads_max"]
    assert big["rss_fraction_of_ram"] == pytest.approx(100_000 * 16 / (16 * 1024 * 1024))


def test_task_memory_same_meter_as_threads():
    """A suspended Task and a parked thread, both as RSS growth in a fresh process."""
    tasks = memory.task_memory(5_000)
    threads = memory.thread_memory(500)
    assert tasks["n"] == 5_000
    assert 100 < tasks["rss_per_task"] < 16 * memory.KIB, tasks
    assert threads["rss_per_thread"] > 3 * tasks["rss_per_task"], (threads, tasks)


def test_task_memory_rejects_bad_counts():
    with pytest.raises(ValueError):
        memory.task_memory(0)
