"""Control groups: the ``pids.max`` limit of this process, and pids cgroups made for others.

Linux only (cgroup v1's ``pids`` hierarchy or v2's unified one); elsewhere,
or without ``/proc``, every reading is None.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil

from support.osutil import switch
from support.osutil.procfs import read_int

__all__ = ["own_cgroup_dirs", "cgroup_pids_max", "cgroup_pids_headroom", "user_threads", "PidsCgroups"]

V1_PIDS, V2 = Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")


def own_cgroup_dirs() -> list[Path]:
    """The ``pids`` cgroup folders of this process, innermost first (v1 and v2)."""
    if not switch.HAS_PROC:
        return []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            base = V1_PIDS
        elif controllers == "":
            base = V2
        else:
            continue
        here = base / path.lstrip("/")
        while True:
            found.append(here)
            if here == base:
                break
            here = here.parent
    return found


def cgroup_pids_max() -> int | None:
    """The tightest ``pids.max`` along this process's cgroup path, or None (unlimited)."""
    limits = [read_int(str(folder / "pids.max")) for folder in own_cgroup_dirs()]
    limits = [x for x in limits if x is not None]
    return min(limits) if limits else None


def cgroup_pids_headroom() -> int | None:
    """How many more threads the cgroups of this process allow (``pids.max`` minus
    ``pids.current``, the tightest along the path), or None without a limit."""
    room = None
    for folder in own_cgroup_dirs():
        limit = read_int(str(folder / "pids.max"))  # "max" (unlimited) reads as None
        current = read_int(str(folder / "pids.current"))
        if limit is not None and current is not None:
            room = limit - current if room is None else min(room, limit - current)
    return room


def user_threads() -> int | None:
    """Threads of every process of this user now (what ``RLIMIT_NPROC`` counts), or None
    where the OS does not say."""
    if not hasattr(os, "geteuid"):
        return None
    uid = os.geteuid()
    try:
        return sum(p.info["num_threads"] or 0 for p in psutil.process_iter(["uids", "num_threads"])
                   if p.info["uids"] and p.info["uids"].real == uid)
    except psutil.Error:
        return None


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


class PidsCgroups:
    """Where pids cgroups for other processes go (the class test's students):
    cgroup v1's ``pids`` hierarchy or v2's unified one; needs root.

    ``make(name, pids_max)`` makes one with its limit, ``current(name)`` reads
    its task count, ``remove()`` removes every one made."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        if (V1_PIDS / "cgroup.procs").exists():
            self.root = V1_PIDS
        elif "pids" in _read(V2 / "cgroup.controllers").split():
            self.root = V2
            (V2 / "cgroup.subtree_control").write_text("+pids")
        else:
            raise RuntimeError("no pids cgroup controller here (cgroup v1 'pids' or v2 with 'pids')")
        self.made: list[Path] = []

    def make(self, name: str, pids_max: int) -> Path:
        path = self.root / f"{self.prefix}{name}"
        path.mkdir()
        (path / "pids.max").write_text(str(pids_max))
        self.made.append(path)
        return path

    def current(self, name: str) -> int:
        return int(_read(self.root / f"{self.prefix}{name}" / "pids.current") or 0)

    def remove(self) -> None:
        for path in self.made:
            for _ in range(50):  # empty once the processes have been reaped
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)
