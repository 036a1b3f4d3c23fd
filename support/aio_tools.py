"""Small helpers for notebook 05 (async/await y asyncio) that are not the lesson.

* :func:`cpu_bound` is CPU work that never waits on I/O. It lives in an
  importable module because a process pool sends the *name* of the function
  to its worker processes, which import it: a function defined in a notebook
  cell cannot be found by a worker started with ``spawn``.
* :func:`process_pool` builds that pool with the ``spawn`` start method, the
  default on macOS and Windows and the safe choice in a kernel that already
  runs threads (the local site's server thread): ``fork`` copies only the
  forking thread and can deadlock the child on a lock held by another.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing

__all__ = ["cpu_bound", "process_pool"]


def cpu_bound(n: int) -> int:
    """Sum of the squares of 0..n-1 in pure Python: about 50 ns of CPU per step.

    Pure Python holds the GIL the whole time, so in a thread it would not run
    in parallel with other Python code; in another process it does.
    """
    total = 0
    for i in range(n):
        total += i * i
    return total


def process_pool(workers: int = 2) -> concurrent.futures.ProcessPoolExecutor:
    """A pool of ``workers`` processes started with ``spawn``."""
    return concurrent.futures.ProcessPoolExecutor(max_workers=workers,
                                                  mp_context=multiprocessing.get_context("spawn"))
