"""What a thread costs on this machine, and where threads run out (notebooks 01 and 08).

The lecture says a Python thread takes "about 50 KB" and that tens of
thousands of them cause failures. This module measures both claims instead of
repeating them, always at a bounded scale:

* :func:`thread_memory` starts ``n`` threads that park on a
  ``threading.Event`` and reports, per thread, the growth of the process's
  **resident** memory (RSS: pages really in RAM) and of its **virtual** memory
  (VMS: address space reserved, most of it never touched), plus how much of
  each thread's stack reservation is actually resident: each thread asks its
  C library where its stack is and ``/proc/self/pagemap`` says which pages
  are in RAM (:mod:`support.osutil.stacks`; counting mappings in ``/proc/self/smaps``
  stops working where a newer glibc merges neighbouring stacks).
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

Measurements run by default in a fresh Python process (``isolated=True``,
``python -m support.measure.memory N STACK WORK``): the numbers do not depend on what
the notebook has imported, glibc's cache of old stacks does not hide new ones,
and whatever happens there cannot take the notebook's kernel down. Every run is
bounded by ``MAX_THREADS`` (``MAX_TASKS``); an isolated one also by a timeout
(``isolated=False`` runs in this process, with no timeout).

Portability: resident and virtual memory come from :mod:`support.osutil`
(psutil) everywhere. The per-thread stack figures (``stack_reserved``,
``stacks_found``, ``stack_resident_per_thread``) come from :mod:`support.osutil.stacks`
and exist only where :data:`support.osutil.HAS_PROC` is
true (Linux); elsewhere they are None.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter

from support import osutil
from support.fmt import num

__all__ = ["thread_memory", "task_memory", "os_thread_limits", "extrapolate", "thread_caps", "shown",
           "MAX_THREADS", "KIB", "MIB", "GIB"]

KIB, MIB, GIB = 1024, 1024 ** 2, 1024 ** 3

#: Upper bound on the threads any measurement here will start.
MAX_THREADS = 20_000
#: Upper bound on the asyncio tasks :func:`task_memory` will create.
MAX_TASKS = 1_000_000

def _stacks(found: list, parked_resident: list[int] | None) -> dict:
    """Per-thread stack figures from what each thread's C library said (see :mod:`support.osutil.stacks`)."""
    known = [s for s in found if s is not None]
    if not known or parked_resident is None:
        return {"stack_reserved": None, "stacks_found": None, "stack_resident_per_thread": None}
    sizes = Counter(size for _start, size in known)
    return {"stack_reserved": sizes.most_common(1)[0][0], "stacks_found": len(set(known)),
            "stack_resident_per_thread": sum(parked_resident) / len(parked_resident)}


def _workload(name: str):
    """What each thread does before parking: nothing, or parse a page's links."""
    if name == "idle":
        return lambda: None
    if name == "parse":
        from support.labsite import SiteGraph
        from support.web.links import extract_links

        html = SiteGraph(pages=50).render(7, "http://127.0.0.1:8000/")
        return lambda: extract_links(html)
    raise ValueError(f"unknown workload {name!r}: use 'idle' or 'parse'")


def _measure_here(n: int, stack_size: int, work: str) -> dict:
    """Start ``n`` threads in this process, measure, release them. See thread_memory."""
    task = _workload(work)
    task()  # warm up imports and caches in the main thread: measure threads, not imports
    old_stack = threading.stack_size(stack_size) if stack_size else None
    park, started = threading.Event(), threading.Semaphore(0)
    found: list[tuple[int, int] | None] = []

    def body() -> None:
        task()
        found.append(osutil.own_stack())
        started.release()
        park.wait()

    gc.collect()
    rss0, vms0, maps0 = osutil.rss(), osutil.vms(), osutil.mapping_count()
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
        rss1, vms1, maps1 = osutil.rss(), osutil.vms(), osutil.mapping_count()
        resident = osutil.resident_bytes([s for s in found if s is not None])
    finally:
        park.set()
        for t in threads:
            t.join()
        if old_stack is not None:
            threading.stack_size(old_stack)
    return {
        "n": n,
        "work": work,
        "stack_size_requested": stack_size,
        **_stacks(found, resident),
        "maps_per_thread": None if maps0 is None or maps1 is None else (maps1 - maps0) / n,
        "rss_per_thread": (rss1 - rss0) / n,
        "vms_per_thread": (vms1 - vms0) / n,
        "rss_before": rss0,
        "rss_after": rss1,
        "vms_before": vms0,
        "vms_after": vms1,
        "start_seconds": start_seconds,
    }


def _measure_tasks_here(n: int) -> dict:
    """Create ``n`` asyncio tasks parked on an Event in this process, measure
    the growth of resident memory, release them. See :func:`task_memory`."""
    import asyncio

    async def measure() -> tuple[int, int]:
        event = asyncio.Event()

        async def park() -> None:
            await event.wait()

        first = asyncio.create_task(park())  # asyncio's own first-use costs, before the clock
        await asyncio.sleep(0)
        gc.collect()
        rss0 = osutil.rss()
        tasks = [asyncio.create_task(park()) for _ in range(n)]
        await asyncio.sleep(0)  # one turn of the loop: every task reaches its await
        rss1 = osutil.rss()
        event.set()
        await asyncio.gather(first, *tasks)
        return rss0, rss1

    rss0, rss1 = asyncio.run(measure())
    return {"n": n, "rss_per_task": (rss1 - rss0) / n, "rss_before": rss0, "rss_after": rss1}


def task_memory(n: int = 10_000, timeout: float = 60.0) -> dict:
    """Resident memory per suspended asyncio Task (bytes), for ``n`` tasks
    parked on an Event in a fresh Python process: the same meter and the same
    conditions as :func:`thread_memory`, so the two can be compared."""
    if not 1 <= n <= MAX_TASKS:
        raise ValueError(f"n must be between 1 and {MAX_TASKS}, got {n!r}")
    return _isolated(["--tasks", str(n)], timeout, f"measuring {n} tasks")


def _isolated(args: list[str], timeout: float, what: str) -> dict:
    proc = subprocess.run([sys.executable, "-m", "support.measure.memory", *args],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout)


def thread_memory(n: int = 1000, stack_size: int = 0, work: str = "idle",
                  isolated: bool = True, timeout: float = 60.0) -> dict:
    """Memory per thread for ``n`` threads parked on an Event (bytes).

    ``stack_size``: 0 keeps the default (``ulimit -s``), otherwise passed to
    ``threading.stack_size`` (at least 32 KiB). ``work``: ``"idle"`` parks at
    once; ``"parse"`` first extracts the links of a page with BeautifulSoup,
    as a crawler thread would, so its stack has been used more deeply.

    Returns a dict with ``rss_per_thread`` (resident growth / n),
    ``vms_per_thread`` (virtual growth / n), ``stack_reserved`` (each thread's
    stack as its C library reserved it), ``stacks_found``, ``stack_resident_per_thread``
    (how much of a stack is in RAM), ``maps_per_thread`` (memory mappings each thread
    added: 2 with a separate guard page, about 0 where stacks merge; these four are
    None where there is no ``/proc``), ``start_seconds`` (time to start all n and see them parked) and
    the raw before/after figures. ``timeout`` bounds an isolated run only.
    """
    if not 1 <= n <= MAX_THREADS:
        raise ValueError(f"n must be between 1 and {MAX_THREADS}, got {n!r}")
    if not isolated:
        return _measure_here(n, stack_size, work)
    return _isolated([str(n), str(stack_size), work], timeout, f"measuring {n} threads")


def os_thread_limits() -> dict:
    """The limits this machine puts on threads, and what each thread reserves.

    ``None`` means the limit could not be read (not Linux, no such cgroup) or
    is unlimited.
    """
    pids_max = osutil.cgroup_pids_max()  # along this process's own cgroup path (v1 or v2)
    return {
        "threads_max": osutil.sysctl("kernel/threads-max"),
        "pid_max": osutil.sysctl("kernel/pid_max"),
        "rlimit_nproc": osutil.soft_limit("NPROC"),
        "max_map_count": osutil.sysctl("vm/max_map_count"),
        "cgroup_pids_max": pids_max,
        "rlimit_stack": osutil.soft_limit("STACK"),
        "python_stack_size": threading.stack_size(),  # 0: the platform default
        "overcommit_memory": osutil.sysctl("vm/overcommit_memory"),
        "ram": osutil.memory_total(),
        "root": hasattr(os, "geteuid") and os.geteuid() == 0,
    }


def thread_caps(limits: dict, maps_per_thread: float | None = None) -> dict[str, int]:
    """How many threads each limit allows, roughly (one process, nothing else running).

    * ``threads-max``, ``pid_max`` and the cgroup's ``pids.max`` count every
      thread (each thread takes a kernel task and an id);
    * ``RLIMIT_NPROC`` counts the user's threads (not enforced for root);
    * ``vm.max_map_count``: each thread stack is two mappings (stack + guard page) with
      glibc 2.36; ``maps_per_thread`` (measured by :func:`thread_memory`) replaces that 2.
      Where stacks merge (glibc 2.43 on Linux 6.18: 0.14 a thread) this limit does not apply.
    """
    caps = {}
    for name in ("threads_max", "pid_max", "cgroup_pids_max"):
        if limits.get(name):
            caps[name] = limits[name]
    if limits.get("rlimit_nproc") and not limits.get("root"):
        caps["rlimit_nproc"] = limits["rlimit_nproc"]
    per_thread = 2 if maps_per_thread is None else maps_per_thread
    if limits.get("max_map_count") and per_thread >= 0.5:
        caps["max_map_count"] = int(limits["max_map_count"] // per_thread)
    return caps


def extrapolate(measured: dict, counts=(10_000, 100_000), limits: dict | None = None) -> list[dict]:
    """What ``counts`` threads would need, scaled linearly from one measurement.

    Each row: ``threads``, ``rss`` and ``vms`` (bytes), ``start_seconds``,
    ``rss_fraction_of_ram``, and ``blocked_by``: the limits of this machine
    that the count exceeds (empty if none).
    """
    limits = limits or os_thread_limits()
    caps = thread_caps(limits, measured.get("maps_per_thread"))
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


def shown(value: float | None, unit: int = KIB, spec: str = "6.1f") -> str:
    """``value`` bytes in ``unit`` (KIB, MIB or GIB) for a notebook's print, in
    Spanish format (``spec`` gives width and decimals: ``"6.1f"``); "no medible
    aquí" when the figure could not be measured on this system (None)."""
    if value is None:
        return "no medible aquí"
    name = {KIB: "KiB", MIB: "MiB", GIB: "GiB"}[unit]
    m = re.fullmatch(r"(\d*)\.(\d+)f", spec)
    if m is None:
        raise ValueError(f"spec must look like '6.1f', got {spec!r}")
    return f"{num(value / unit, int(m.group(2))):>{m.group(1) or 0}} {name}"


def main(argv=None) -> None:
    """``python -m support.measure.memory N [STACK_SIZE] [WORK]`` or ``--tasks N``: one
    isolated measurement (what :func:`thread_memory` or :func:`task_memory`
    runs), printed as JSON."""
    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=1000)
    parser.add_argument("stack_size", type=int, nargs="?", default=0)
    parser.add_argument("work", nargs="?", default="idle")
    parser.add_argument("--tasks", type=int, metavar="N", help="measure N suspended asyncio tasks instead")
    args = parser.parse_args(argv)
    if args.tasks is not None:
        if not 1 <= args.tasks <= MAX_TASKS:
            parser.error(f"--tasks must be between 1 and {MAX_TASKS}")
        print(json.dumps(_measure_tasks_here(args.tasks)))
        return
    if not 1 <= args.n <= MAX_THREADS:
        parser.error(f"n must be between 1 and {MAX_THREADS}")
    print(json.dumps(_measure_here(args.n, args.stack_size, args.work)))


if __name__ == "__main__":
    main()
