"""Run Python at the machine's lowest priority: ``python tools/idle.py -m pytest ...``.

``make test`` runs the tests that assert on counters and virtual time this way, side by
side with the pass that reads the wall clock and runs the notebooks: that pass waits on
sockets and simulated latency about half its time, and this one fills the idle cores
without taking a processor the other wants. On Linux the policy is SCHED_IDLE: the
scheduler runs it only where nothing else is ready, and a task of normal priority that
wakes up takes the processor at once; elsewhere, ``nice`` 19. Children inherit it
(xdist's workers, kernels, servers). Its CPU time is the machine's ``nice`` time, which
:class:`support.osutil.OtherPrograms` does not count as another program's.
"""

from __future__ import annotations

import os
import sys


def lowest_priority() -> str:
    """Put this process at the lowest priority the OS has; say which."""
    os.nice(19 - os.nice(0))  # the CPU time then counts as "nice", also under SCHED_IDLE
    if hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            return "SCHED_IDLE"
        except OSError:
            pass
    return "nice 19"


if __name__ == "__main__":
    lowest_priority()
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
