"""Other processes' trees, as the class test samples them (psutil)."""

from __future__ import annotations

from dataclasses import dataclass

import psutil

__all__ = ["TreeUsage", "tree_usage", "children_by_env"]


@dataclass
class TreeUsage:
    """What a process and all its descendants use now, summed."""

    rss: int = 0
    threads: int = 0
    fds: int = 0
    processes: int = 0


def tree_usage(pid: int) -> TreeUsage | None:
    """The sums over process ``pid`` and its descendants now; None once it is gone."""
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return None
    now = TreeUsage()
    for proc in tree:
        try:
            with proc.oneshot():
                now.rss += proc.memory_info().rss
                now.threads += proc.num_threads()
                now.fds += proc.num_fds()
                now.processes += 1
        except psutil.NoSuchProcess:
            continue
    return now


def children_by_env(pid: int, variable: str, seen: dict[int, str | None]) -> dict[str, int]:
    """The children of process ``pid`` whose environment sets ``variable``: value -> child pid.

    ``seen`` caches each child's value (pid -> value), so that a child's
    environment is read once, not at every call."""
    found: dict[str, int] = {}
    try:
        children = psutil.Process(pid).children()
    except psutil.NoSuchProcess:
        return found
    for child in children:
        if child.pid not in seen:
            try:
                seen[child.pid] = child.environ().get(variable)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        if value := seen[child.pid]:
            found[value] = child.pid
    return found
