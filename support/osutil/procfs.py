"""Linux's ``/proc`` files, read in one place; every reading is None or empty where there is none."""

from __future__ import annotations

import platform
from pathlib import Path

from support.osutil import switch

__all__ = ["read_int", "sysctl", "proc_status", "cpu_model"]


def read_int(path: str) -> int | None:
    """The integer in a one-number file such as ``/proc/sys/kernel/pid_max``,
    or None where it cannot be read (not Linux, no such file, not a number)."""
    if not switch.HAS_PROC and path.startswith("/proc/"):
        return None
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.lstrip("-").isdigit() else None


def sysctl(name: str) -> int | None:
    """The kernel setting ``name`` (``"kernel/pid_max"``, ``"vm/max_map_count"``:
    the file under ``/proc/sys/``), or None where it cannot be read."""
    return read_int(f"/proc/sys/{name}")


def proc_status() -> dict[str, int]:
    """The ``kB`` fields of ``/proc/self/status`` in bytes (``VmRSS``, ``VmHWM``,
    ``VmSize``...); empty where there is no ``/proc``."""
    if not switch.HAS_PROC:
        return {}
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB":
            out[name] = int(parts[0]) * 1024
    return out


def cpu_model() -> str:
    """The processor's model name, or "unknown"."""
    if switch.HAS_PROC:
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
    return platform.processor() or "unknown"
