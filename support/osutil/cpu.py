"""CPU: time used by processes and by the machine, processors and pinning.

Discussion: psutil (pinned) gives these numbers on every platform; name the
processes that do the work when you can (see :func:`cpu_seconds`).
"""

from __future__ import annotations

import os
import time
from typing import Collection, Iterable

import psutil

from support.osutil import switch

__all__ = ["cpu_seconds", "process_cpu_seconds", "reaped_children_cpu_seconds", "busy_seconds",
           "competing_seconds", "OtherPrograms", "QueuedClock", "cpu_count", "affinity", "pin", "load_average"]


def cpu_seconds(pids: Iterable[int] | None = None) -> float:
    """CPU time (user + system) used so far by this process (all its threads)
    plus, if ``pids`` is given, exactly those processes (e.g. a process pool's
    workers), else every child process of this one.

    Discussion: name the processes that do the work when you can. "Every
    child" also counts whatever else this process started (a server, a worker
    still booting, multiprocessing's resource tracker), and a child that
    exits between two readings takes its CPU time with it.
    """
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    others = me.children(recursive=True) if pids is None else [_process(pid) for pid in pids]
    for proc in others:
        try:
            total += sum(proc.cpu_times()[:2])
        except (psutil.Error, AttributeError):  # it ended meanwhile (or never existed)
            pass
    return total


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` alone has used so far; NaN once it is gone."""
    try:
        return sum(psutil.Process(pid).cpu_times()[:2])
    except psutil.Error:
        return float("nan")


def reaped_children_cpu_seconds() -> float:
    """CPU time of this process's children that have ended and been waited for
    (what ``getrusage(RUSAGE_CHILDREN)`` counts; 0 where the OS does not say)."""
    times = psutil.Process().cpu_times()
    return getattr(times, "children_user", 0.0) + getattr(times, "children_system", 0.0)


#: The fields of ``psutil.cpu_times()`` that are a core at work (guest time is already inside user).
_BUSY = ("user", "nice", "system", "irq", "softirq", "steal")


def busy_seconds() -> float:
    """CPU seconds every core of the machine has spent busy so far (all processes)."""
    times = psutil.cpu_times()
    return sum(getattr(times, name, 0.0) for name in _BUSY)


def competing_seconds() -> float:
    """CPU seconds every core has spent on programs that compete with this one: those
    of :func:`busy_seconds` less the ``nice`` ones, programs at low priority that give
    way to ours (``make test`` runs a pass so, tools/idle.py); all of them when this
    process is itself at low priority."""
    times = psutil.cpu_times()
    ours_is_low = hasattr(os, "nice") and os.nice(0) > 0
    return sum(getattr(times, name, 0.0) for name in _BUSY if ours_is_low or name != "nice")


class OtherPrograms:
    """How many cores the rest of the machine kept busy during a ``with`` block.

    ``cores``: CPU seconds of every process of the machine that competes with this
    one (:func:`competing_seconds`: not those at low priority) minus those of this
    process and all its children, live or ended and waited
    for (a load generator, a backend, a pool), divided by the block's wall
    seconds. ``busy(threshold)`` says whether it reached ``threshold`` cores: a
    timing comparison made meanwhile measured the machine, not the lesson.

    Discussion: a child that ends without being waited for takes its CPU time
    with it and is counted as another program's: it can only make the block
    look busier, never quieter.
    """

    def __enter__(self) -> "OtherPrograms":
        self.cores = 0.0
        self._t0, self._all0, self._own0 = time.perf_counter(), competing_seconds(), self._own()
        return self

    @staticmethod
    def _own() -> float:
        return cpu_seconds() + reaped_children_cpu_seconds()

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._t0
        others = (competing_seconds() - self._all0) - (self._own() - self._own0)
        self.cores = max(0.0, others / self.seconds) if self.seconds > 0 else 0.0

    def busy(self, threshold: float = 0.3) -> bool:
        return self.cores >= threshold


def cpu_count() -> int:
    """Cores this process may use (the affinity mask where there is one, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def affinity() -> set[int] | None:
    """The processors this process may run on, or None where it cannot be pinned (macOS)."""
    try:
        return set(psutil.Process().cpu_affinity())
    except (AttributeError, psutil.Error, OSError):
        return None


def pin(cpus: Collection[int]) -> bool:
    """Run this process (and the threads and children it starts later) only on
    ``cpus``; False where that cannot be done."""
    try:
        psutil.Process().cpu_affinity(sorted(cpus))
    except (AttributeError, psutil.Error, OSError, ValueError):
        return False
    return True


def load_average() -> tuple[float, float, float]:
    """The machine's load average over 1, 5 and 15 minutes."""
    return psutil.getloadavg()


class QueuedClock:
    """Seconds a thread has stood in the run queue: ready to run while the machine ran
    something else (Linux's per-thread ``run_delay``, the second field of its
    ``schedstat``). ``QueuedClock()`` watches the thread that makes it;
    ``QueuedClock(thread.native_id)`` another thread of this process. It reads 0.0 for
    ever where there is no such file (macOS, Windows, ``CORRUTINAS_SIN_PROC=1``):
    whoever subtracts it from a wall clock then subtracts nothing; after the thread has
    ended, its last reading. :meth:`close` it when done.

    Discussion: a step that took 0.3 s by the wall clock either waited (a blocking
    call) or was not let run (a loaded machine); only this tells the two apart. A read
    costs about a microsecond (one ``pread`` on a file kept open)."""

    def __init__(self, native_id: int | None = None) -> None:
        self._fd: int | None = None
        self._last = 0.0
        if switch.HAS_PROC:
            path = "/proc/thread-self/schedstat" if native_id is None else f"/proc/self/task/{native_id}/schedstat"
            try:
                self._fd = os.open(path, os.O_RDONLY)
            except OSError:  # a kernel before 3.17, no schedstats, or the thread has ended
                self._fd = None

    def __call__(self) -> float:
        if self._fd is not None:
            try:
                self._last = int(os.pread(self._fd, 64, 0).split()[1]) / 1e9
            except (OSError, ValueError, IndexError):  # the thread has ended
                pass
        return self._last

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
