"""What a crawl did with every URL it met: crawled, skipped (why) or failed (why).

Every crawler of the course returns a :class:`CrawlReport`, so that nothing a
crawler meets is dropped silently and crawlers can be compared on equal terms
(notebooks 01-07 and ``tools/bench.py``).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["CrawlReport"]


@dataclass
class CrawlReport:
    """Outcome of every URL (or href) a crawl met.

    ``crawled``: url -> HTTP status of the page that was fetched and parsed.
    ``skipped``: url or href -> why it was not fetched (other host, mailto:,
    over max_pages, ...). ``failed``: url -> why fetching it failed.
    ``seconds``: wall time of the crawl. Safe to fill from several threads.
    """

    crawled: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def ok(self, url: str, status: int = 200) -> None:
        with self._lock:
            self.crawled[url] = status

    def skip(self, url: str, reason: str) -> None:
        with self._lock:
            self.skipped.setdefault(url, reason)

    def fail(self, url: str, reason: str) -> None:
        with self._lock:
            self.failed[url] = reason

    def outcome(self, url: str) -> str | None:
        """"crawled", "skipped", "failed" or None if the crawl never met ``url``."""
        for name in ("crawled", "failed", "skipped"):
            if url in getattr(self, name):
                return name
        return None

    def reasons(self) -> Counter:
        """How many URLs were skipped or failed for each reason."""
        return Counter(list(self.skipped.values()) + list(self.failed.values()))

    def summary(self) -> str:
        return (f"{len(self.crawled)} crawled, {len(self.skipped)} skipped, "
                f"{len(self.failed)} failed in {self.seconds:.2f} s")

    def __repr__(self) -> str:
        # Short on purpose: the dataclass repr of a big crawl is megabytes of
        # URLs, and Python formats it more often than one would think (a task's
        # repr shows its result: asyncio.run repr()s it as it restores SIGINT).
        return f"<{type(self).__name__}: {self.summary()}>"
