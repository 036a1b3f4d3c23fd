"""What each student used, sampled: the sums over each student's process tree, and the peaks."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, fields

from support import osutil
from tools.class_test.hub import Hub


@dataclass
class Usage:
    rss: int = 0
    threads: int = 0
    fds: int = 0
    pids: int = 0  # the cgroup's own count of tasks (threads and processes)
    processes: int = 0


USAGE_FIELDS = tuple(f.name for f in fields(Usage))


class Sampler:
    """Every ``every`` seconds, the sums over each student's process tree; keeps the peaks."""

    def __init__(self, hub: Hub, cgroups: osutil.PidsCgroups, users: list[str], every: float = 0.25):
        self.hub, self.cgroups, self.every = hub, cgroups, every
        self.peak = {user: Usage() for user in users}
        #: what each student is running now (set by :class:`Student`), and the peaks while it ran
        self.running: dict[str, str] = {}
        self.peak_by_notebook: dict[tuple[str, str], Usage] = {}
        self.samples = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(self.every):
            for user, pid in self.hub.processes().items():
                if user in self.peak:
                    self._sample(user, pid)
            self.samples += 1

    def _sample(self, user: str, pid: int) -> None:
        tree = osutil.tree_usage(pid)
        if tree is None:  # the server ended meanwhile
            return
        now = Usage(pids=self.cgroups.current(user), **asdict(tree))
        peaks = [self.peak[user]]
        if user in self.running:
            peaks.append(self.peak_by_notebook.setdefault((user, self.running[user]), Usage()))
        for peak in peaks:
            for name in USAGE_FIELDS:
                setattr(peak, name, max(getattr(peak, name), getattr(now, name)))

    def stop(self) -> dict[str, Usage]:
        self._done.set()
        self._thread.join()
        return self.peak
