"""Memory of this process and of the machine.

Discussion: Linux has a reading psutil does not: the *peak* resident memory
(``VmHWM``) and a way to reset it (``/proc/self/clear_refs``). Off Linux the
peak comes from ``getrusage`` (macOS: bytes; Linux: KiB) or psutil's
``peak_wset`` (Windows), and it cannot be reset.
"""

from __future__ import annotations

import sys
from pathlib import Path

import psutil

from support.osutil import switch
from support.osutil.procfs import proc_status

__all__ = ["rss", "vms", "memory_total", "peak_rss", "reset_peak_rss"]


def rss() -> int:
    """Resident memory of this process now, in bytes."""
    return psutil.Process().memory_info().rss


def vms() -> int:
    """Virtual memory of this process now (address space reserved), in bytes."""
    return psutil.Process().memory_info().vms


def memory_total() -> int:
    """RAM of the machine, in bytes."""
    return psutil.virtual_memory().total


def peak_rss() -> int:
    """Peak resident memory of this process, in bytes.

    On Linux ``VmHWM`` (this process's own high-water mark, which
    :func:`reset_peak_rss` can lower). Not ``ru_maxrss`` there: on Linux it
    keeps the peak of the *parent* at the time of the fork (it survives
    ``exec``), so every child of a big parent would report the parent's size.

    Discussion: the kernel updates ``VmHWM`` lazily (its RSS counters are
    cached per thread), so right after a reset it can read a little below the
    current RSS. A peak is never below the present, so the answer is the
    larger of the two.
    """
    return max(_recorded_peak(), rss())


def _recorded_peak() -> int:
    status = proc_status()
    if "VmHWM" in status:
        return status["VmHWM"]
    if sys.platform == "win32":
        return psutil.Process().memory_info().peak_wset
    resource = switch.resource
    if resource is not None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024
    return 0


def reset_peak_rss() -> bool:
    """Make the peak equal to the current resident memory (Linux); False where it cannot."""
    if not switch.HAS_PROC:
        return False
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True
