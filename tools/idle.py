"""Run Python at the lowest ``nice`` priority: ``python tools/idle.py -m pytest ...``.

``make test`` runs the tests that assert on counters and virtual time this way, side by
side with the pass that reads the wall clock and runs the notebooks: that pass waits on
sockets and simulated latency about half its time, and this one fills the idle cores.
At ``nice`` 19 it gets about 1,5 % of a processor the other pass wants, so it barely
slows that pass, and it is never starved for long: its own tests wait on sockets with
timeouts of a few seconds. (SCHED_IDLE, which gives way entirely, starved one such test
past its 5 s timeout on a loaded machine.) Children inherit it (xdist's workers,
kernels, servers). Its CPU time is the machine's ``nice`` time, which
:class:`support.osutil.OtherPrograms` does not count as another program's.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    if hasattr(os, "nice"):
        os.nice(19 - os.nice(0))
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
