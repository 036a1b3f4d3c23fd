"""Run Python at the machine's lowest priority: ``python tools/idle.py -m pytest ...``.

``make test`` runs the tests that assert on counters and virtual time this way, side by
side with the pass that reads the wall clock and runs the notebooks: that pass waits on
sockets and simulated latency about half its time, and this one fills the idle cores.
On Linux the policy is SCHED_IDLE: a task of normal priority that wakes up takes the
processor from it at once. ``nice`` 19 alone is not enough: the scheduler lets a nice
task finish its slice (milliseconds) before a waking task runs, and the notebooks wake
thousands of times (measured: the realtime pass took 212-237 s beside a nice 19 pass,
193-194 s beside a SCHED_IDLE one, 166 s alone). The price: while the realtime pass
keeps both cores busy this pass barely runs, so its tests' timeouts are safety nets of
tens of seconds, never a few. Elsewhere (macOS), ``nice`` 19. Children inherit it
(xdist's workers, servers). Its CPU time is the machine's ``nice`` time, which
:class:`support.osutil.OtherPrograms` does not count as another program's.
"""

from __future__ import annotations

import os
import sys


def lowest_priority() -> None:
    """Put this process at the lowest priority the OS has."""
    os.nice(19 - os.nice(0))  # its CPU time then counts as "nice", under SCHED_IDLE too
    if hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError:  # not allowed here: nice 19 stays
            pass


if __name__ == "__main__":
    lowest_priority()
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
