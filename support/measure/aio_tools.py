"""Small helpers for notebook 05 (async/await y asyncio) that are not the lesson.

* :func:`cpu_bound` is CPU work that never waits on I/O. It lives in an
  importable module because a process pool sends the *name* of the function
  to its worker processes, which import it: a function defined in a notebook
  cell cannot be found by a worker started with ``spawn``.
* :func:`process_pool` builds that pool with the ``spawn`` start method, the
  default on macOS and Windows and the safe choice in a kernel that already
  runs threads (the local site's server thread): ``fork`` copies only the
  forking thread and can deadlock the child on a lock held by another.

Discussion: a ``spawn`` pool starts its worker processes *on demand*, one per
``submit`` that finds no idle worker, and each worker imports what it needs
only when its first task arrives. A measurement that starts right after a
warm-up ``map`` can therefore include a worker still booting or importing
(hundreds of milliseconds of CPU: that made notebook 08's CPU measurement
flaky). :func:`process_pool` returns only when every worker is running and has
imported ``imports``, and it knows their pids, so CPU time can be counted for
exactly the processes that do the work.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import multiprocessing
import os
from typing import Iterable

__all__ = ["cpu_bound", "process_pool", "ProcessPool"]

#: Seconds to wait for every worker of a new pool to start.
START_TIMEOUT = 60.0

_rendezvous = None  # in a worker process: the barrier every worker meets once, at start


def cpu_bound(n: int) -> int:
    """Sum of the squares of 0..n-1 in pure Python: about 50 ns of CPU per step.

    Pure Python holds the GIL the whole time, so in a thread it would not run
    in parallel with other Python code; in another process it does.
    """
    total = 0
    for i in range(n):
        total += i * i
    return total


class ProcessPool(concurrent.futures.ProcessPoolExecutor):
    """A ``ProcessPoolExecutor`` whose ``pids`` are its worker processes, all started."""

    pids: tuple[int, ...] = ()


def _start_worker(barrier, imports: tuple[str, ...]) -> None:
    global _rendezvous
    for name in imports:
        importlib.import_module(name)
    _rendezvous = barrier


def _meet() -> int:
    # Discussion: each worker blocks here until all have arrived, so the
    # ``workers`` meeting tasks necessarily run in ``workers`` different
    # processes: every worker has started, and we learn every pid.
    _rendezvous.wait(START_TIMEOUT)
    return os.getpid()


def process_pool(workers: int = 2, imports: Iterable[str] = ()) -> ProcessPool:
    """A pool of ``workers`` processes started with ``spawn``, all running and
    having imported the modules named in ``imports`` when it is returned."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPool(max_workers=workers, mp_context=context, initializer=_start_worker,
                       initargs=(context.Barrier(workers), tuple(imports)))
    try:
        meetings = [pool.submit(_meet) for _ in range(workers)]
        pool.pids = tuple(sorted(f.result(timeout=START_TIMEOUT + 5) for f in meetings))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return pool
