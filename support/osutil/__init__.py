"""What the course asks the operating system: limits, memory, CPU time, cgroups.

The one door to the OS: crawlers, the local site, the measurements, the
benchmark and the class test never reach into ``/proc``, ``/sys``, cgroups,
``resource`` or psutil on their own (``tests/test_architecture.py`` holds it),
so there is one place to make portable. Submodules, each importing only
:mod:`.switch` and the ones before it:

* :mod:`.switch`: ``CORRUTINAS_SIN_PROC=1`` (the one switch, read only there)
  makes every process of the course behave as on macOS or Windows, so that
  the portable path is tested on Linux too (``make test`` runs the notebooks
  that measure memory once that way); :data:`HAS_PROC`, :data:`HAS_AFFINITY`;
* :mod:`.procfs`: Linux's ``/proc`` files (one-number files, ``sysctl``,
  ``/proc/self/status``, the CPU's model);
* :mod:`.stacks`: where each thread's stack lies (``pthread_getattr_np``), how
  much of it is resident (``/proc/self/pagemap``) and how many mappings this
  process has: what holds on every glibc, where ``smaps`` mappings merge;
* :mod:`.limits`: open files, ``RLIMIT_*``, the local port range;
* :mod:`.memory`: resident, virtual and peak memory; :mod:`.cpu`: CPU
  seconds, busy cores, processors and pinning;
* :mod:`.cgroups`: ``pids.max`` along this process's cgroup path, and pids
  cgroups made for other processes; :mod:`.processes`: other process trees;
  :mod:`.net`: a free port, established connections.

Discussion: psutil (pinned) is used wherever it gives the number on every
platform: resident memory, CPU times of a process and its children, the
machine's busy time, established connections.

``support/__init__.py`` imports this package, so the switch holds in every
process that imports ``support`` (the kernel, ``python -m support.x``
children, spawned pool workers). ``python -m support.osutil`` prints
:func:`readings`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from support.osutil.cgroups import PidsCgroups, cgroup_pids_headroom, cgroup_pids_max, user_threads
from support.osutil.cpu import (
    OtherPrograms,
    QueuedClock,
    affinity,
    busy_seconds,
    competing_seconds,
    cpu_count,
    cpu_seconds,
    load_average,
    pin,
    process_cpu_seconds,
    reaped_children_cpu_seconds,
)
from support.osutil.limits import MACOS_OPEN_MAX, WINDOWS_FDS, fd_limit, local_port_range, open_fds, raise_fd_limit, soft_limit
from support.osutil.memory import memory_total, peak_rss, reset_peak_rss, rss, vms
from support.osutil.net import established_connections, free_port
from support.osutil.processes import TreeUsage, children_by_env, tree_usage
from support.osutil.procfs import cpu_model, proc_status, read_int, sysctl
from support.osutil.stacks import mapping_count, own_stack, resident_bytes
from support.osutil.switch import HAS_AFFINITY, HAS_PROC, PRETEND_NO_PROC, resource

__all__ = ["HAS_PROC", "HAS_AFFINITY", "PRETEND_NO_PROC", "resource", "raise_fd_limit", "fd_limit", "soft_limit",
           "rss", "vms", "peak_rss", "reset_peak_rss", "memory_total", "cpu_seconds", "process_cpu_seconds",
           "reaped_children_cpu_seconds", "busy_seconds", "competing_seconds", "OtherPrograms", "QueuedClock",
           "cpu_count", "affinity", "pin",
           "cpu_model", "load_average", "established_connections", "free_port", "open_fds", "read_int", "sysctl",
           "proc_status", "own_stack", "resident_bytes", "mapping_count", "local_port_range", "cgroup_pids_max",
           "cgroup_pids_headroom", "user_threads",
           "PidsCgroups", "TreeUsage", "tree_usage", "children_by_env", "WINDOWS_FDS", "MACOS_OPEN_MAX",
           "readings"]


def readings() -> dict:
    """What this package can read on this machine, and how: a check that the
    portable path works (``tests/test_osutil_portable.py`` checks it both ways)."""
    try:
        Path("/proc/self/status").read_text()
        proc_file = "read"
    except FileNotFoundError:
        proc_file = "absent"
    try:
        __import__("resource")
        resource_importable = True
    except ImportError:
        resource_importable = False
    return {
        "platform": sys.platform,
        "pretend_no_proc": PRETEND_NO_PROC,
        "has_proc": HAS_PROC,
        "has_affinity": HAS_AFFINITY,
        "resource_importable": resource_importable,
        "proc_file": proc_file,
        "fd_limit": fd_limit(),
        "stack_limit": soft_limit("STACK"),
        "rss": rss(),
        "vms": vms(),
        "peak_rss": peak_rss(),
        "peak_resettable": reset_peak_rss(),
        "cpu_seconds": cpu_seconds(),
        "busy_seconds": busy_seconds(),
        "cpu_count": cpu_count(),
        "memory_total": memory_total(),
        "pid_max": sysctl("kernel/pid_max"),
    }
