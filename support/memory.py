"""What a thread costs on this machine, and where threads run out (notebooks 01 and 08).

The lecture says a Python thread takes "about 50 KB" and that tens of
thousands of them cause failures. This module measures both claims instead of
repeating them, always at a bounded scale:

* :func:`thread_memory` starts ``n`` threads that park on a
  ``threading.Event`` and reports, per thread, the growth of the process's
  **resident** memory (RSS: pages really in RAM) and of its **virtual** memory
  (VMS: address space reserved, most of it never touched), plus how much of
  each thread's stack reservation is actually resident, read from
  ``/proc/self/smaps``.
* :func:`os_thread_limits` reads the limits the operating system puts on the
  number of threads (``threads-max``, ``pid_max``, ``RLIMIT_NPROC``,
  ``vm.max_map_count``, the cgroup's ``pids.max``) and the default stack size.
* :func:`extrapolate` turns a measurement into what 10,000 or 100,000 threads
  would need, and says which limit of this machine is hit first.

Discussion: on Linux each thread gets a stack *reserved* with ``mmap``: by
default as large as ``ulimit -s`` (8 MiB), plus a guard page. Reserving
address space costs almost nothing; the kernel backs a page with RAM only when
it is first touched, and a thread parked in ``Event.wait`` touches a few
kilobytes of it. So "memory per thread" is two very different numbers: the
virtual reservation (megabytes) and the resident cost (kilobytes).

Measurements run by default in a fresh Python subprocess (``isolated=True``):
the numbers do not depend on what the notebook has imported, glibc's cache of
old stacks does not hide new ones, and whatever happens there cannot take the
notebook's kernel down. Every run is bounded by ``MAX_THREADS`` and a timeout.
"""

from __future__ import annotations

import gc
import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

__all__ = ["thread_memory", "os_thread_limits", "extrapolate", "thread_caps", "MAX_THREADS", "KIB", "MIB", "GIB"]

KIB, MIB, GIB = 1024, 1024 ** 2, 1024 ** 3

#: Upper bound on the threads any measurement here will start.
MAX_THREADS = 20_000

_MAPPING = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+)")


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.lstrip("-").isdigit() else None


def _mappings() -> dict[tuple[int, int, str], int]:
    """Every mapping of this process: (start, end, permissions) -> resident bytes."""
    out: dict[tuple[int, int, str], int] = {}
    key = None
    with open("/proc/self/smaps") as f:
        for line in f:
            m = _MAPPING.match(line)
            if m:
                key = (int(m.group(1), 16), int(m.group(2), 16), m.group(3))
                out[key] = 0
            elif line.startswith("Rss:") and key is not None:
                out[key] = int(line.split()[1]) * KIB
    return out


def _status() -> dict[str, int]:
    """VmRSS and VmSize of this process, in bytes (from /proc/self/status)."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmSize"):
                out[name] = int(value.split()[0]) * KIB
    return out


def _workload(name: str):
    """What each thread does before parking: nothing, or parse a page's links."""
    if name == "idle":
        return lambda: None
    if name == "parse":
        from support.labsite import SiteGraph
        from support.links import extract_links

        html = SiteGraph(pages=50).render(7, "http://127.0.0.1:8000/")
        return lambda: extract_links(html)
    raise ValueError(f"unknown workload {name!r}: use 'idle' or 'parse'")


def _measure_here(n: int, stack_size: int, work: str) -> dict:
    """Start ``n`` threads in this process, measure, release them. See thread_memory."""
    task = _workload(work)
    task()  # warm up imports and caches in the main thread: measure threads, not imports
    old_stack = threading.stack_size(stack_size) if stack_size else None
    park, started = threading.Event(), threading.Semaphore(0)

    def body() -> None:
        task()
        started.release()
        park.wait()

    gc.collect()
    maps0, status0 = _mappings(), _status()
    threads: list[threading.Thread] = []
    t0 = time.perf_counter()
    try:
        for _ in range(n):
            t = threading.Thread(target=body, daemon=True)
            t.start()
            threads.append(t)
        for _ in threads:  # every thread has run its task and is parked
            started.acquire()
        start_seconds = time.perf_counter() - t0
        status1, maps1 = _status(), _mappings()
    finally:
        park.set()
        for t in threads:
            t.join()
        if old_stack is not None:
            threading.stack_size(old_stack)
    new = {k: rss for k, rss in maps1.items() if k not in maps0}
    # Thread stacks: the new read-write mappings of the most common size.
    sizes = Counter(end - start for (start, end, perm) in new if perm.startswith("rw"))
    expected = stack_size or resource.getrlimit(resource.RLIMIT_STACK)[0]
    if sizes[expected]:
        stack_bytes, count = expected, sizes[expected]
    else:  # unlimited ulimit -s, or a size the C library rounded: the most common one
        stack_bytes, count = sizes.most_common(1)[0] if sizes else (0, 0)
    stacks = [rss for (start, end, perm), rss in new.items()
              if perm.startswith("rw") and end - start == stack_bytes]
    return {
        "n": n,
        "work": work,
        "stack_size_requested": stack_size,
        "stack_reserved": stack_bytes,
        "stacks_found": count,
        "stack_resident_per_thread": sum(stacks) / max(len(stacks), 1),
        "rss_per_thread": (status1["VmRSS"] - status0["VmRSS"]) / n,
        "vms_per_thread": (status1["VmSize"] - status0["VmSize"]) / n,
        "rss_before": status0["VmRSS"],
        "rss_after": status1["VmRSS"],
        "vms_before": status0["VmSize"],
        "vms_after": status1["VmSize"],
        "start_seconds": start_seconds,
    }


def thread_memory(n: int = 1000, stack_size: int = 0, work: str = "idle",
                  isolated: bool = True, timeout: float = 60.0) -> dict:
    """Memory per thread for ``n`` threads parked on an Event (bytes).

    ``stack_size``: 0 keeps the default (``ulimit -s``), otherwise passed to
    ``threading.stack_size`` (at least 32 KiB). ``work``: ``"idle"`` parks at
    once; ``"parse"`` first extracts the links of a page with BeautifulSoup,
    as a crawler thread would, so its stack has been used more deeply.

    Returns a dict with ``rss_per_thread`` (resident growth / n),
    ``vms_per_thread`` (virtual growth / n), ``stack_reserved`` (size of each
    thread's stack mapping), ``stack_resident_per_thread`` (how much of it is
    in RAM), ``start_seconds`` (time to start all n and see them parked) and
    the raw before/after figures.
    """
    if not 1 <= n <= MAX_THREADS:
        raise ValueError(f"n must be between 1 and {MAX_THREADS}, got {n!r}")
    if not isolated:
        return _measure_here(n, stack_size, work)
    code = ("import json, sys; from support.memory import _measure_here; "
            "print(json.dumps(_measure_here(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])))")
    proc = subprocess.run([sys.executable, "-c", code, str(n), str(stack_size), work],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"measuring {n} threads failed: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout)


def os_thread_limits() -> dict:
    """The limits this machine puts on threads, and what each thread reserves.

    ``None`` means the limit could not be read (not Linux, no such cgroup) or
    is unlimited.
    """
    def rlimit(which: int) -> int | None:
        soft, _hard = resource.getrlimit(which)
        return None if soft == resource.RLIM_INFINITY else soft

    pids_max = None
    for path in ("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max"):
        pids_max = _read_int(path)
        if pids_max is not None:
            break
    try:
        import psutil

        ram = psutil.virtual_memory().total
    except ImportError:  # psutil is pinned; this only keeps the module importable
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "threads_max": _read_int("/proc/sys/kernel/threads-max"),
        "pid_max": _read_int("/proc/sys/kernel/pid_max"),
        "rlimit_nproc": rlimit(resource.RLIMIT_NPROC),
        "max_map_count": _read_int("/proc/sys/vm/max_map_count"),
        "cgroup_pids_max": pids_max,
        "rlimit_stack": rlimit(resource.RLIMIT_STACK),
        "python_stack_size": threading.stack_size(),  # 0: the platform default
        "overcommit_memory": _read_int("/proc/sys/vm/overcommit_memory"),
        "ram": ram,
        "root": hasattr(os, "geteuid") and os.geteuid() == 0,
    }


def thread_caps(limits: dict) -> dict[str, int]:
    """How many threads each limit allows, roughly (one process, nothing else running).

    * ``threads-max``, ``pid_max`` and the cgroup's ``pids.max`` count every
      thread (each thread takes a kernel task and an id);
    * ``RLIMIT_NPROC`` counts the user's threads (not enforced for root);
    * ``vm.max_map_count``: each thread stack is two mappings (stack + guard page).
    """
    caps = {}
    for name in ("threads_max", "pid_max", "cgroup_pids_max"):
        if limits.get(name):
            caps[name] = limits[name]
    if limits.get("rlimit_nproc") and not limits.get("root"):
        caps["rlimit_nproc"] = limits["rlimit_nproc"]
    if limits.get("max_map_count"):
        caps["max_map_count"] = limits["max_map_count"] // 2
    return caps


def extrapolate(measured: dict, counts=(10_000, 100_000), limits: dict | None = None) -> list[dict]:
    """What ``counts`` threads would need, scaled linearly from one measurement.

    Each row: ``threads``, ``rss`` and ``vms`` (bytes), ``start_seconds``,
    ``rss_fraction_of_ram``, and ``blocked_by``: the limits of this machine
    that the count exceeds (empty if none).
    """
    limits = limits or os_thread_limits()
    caps = thread_caps(limits)
    rows = []
    for count in counts:
        rows.append({
            "threads": count,
            "rss": measured["rss_per_thread"] * count,
            "vms": measured["vms_per_thread"] * count,
            "start_seconds": measured["start_seconds"] / measured["n"] * count,
            "rss_fraction_of_ram": measured["rss_per_thread"] * count / limits["ram"],
            "blocked_by": sorted(name for name, cap in caps.items() if count > cap),
        })
    return rows
