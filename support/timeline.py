"""Record what each request did and when, and draw it as a timeline.

Notebooks 01, 02 and 04 record the phases of every fetch (connect, send,
receive) and draw them one row per request, so that a student *sees* whether
requests overlap (threads, callbacks, coroutines) or follow one another
(the sequential crawler).

    rec = Timeline()
    with rec.span("/page/3", "connect"):
        sock.connect(...)
    plot_timelines({"secuencial": rec_a, "hilos": rec_b})
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass

from support.fmt import seg

__all__ = ["Timeline", "Span", "plot_timelines", "PHASE_COLORS"]

PHASE_COLORS = {"connect": "#4C72B0", "send": "#DD8452", "receive": "#55A868", "parse": "#C44E52"}

# Sizes of a timeline plot. Notebooks show figures at 100 dpi, one figure pixel
# per screen pixel at JupyterLab's default zoom: a 9-point label is 12.5 px,
# about the size of JupyterLab's own text (13 px), and each row leaves room for
# it. (Labels of 6 points were 8 px, with 5 px tall letters.)
LABEL_POINTS = 9
TITLE_POINTS = 11
ROW_INCHES = 0.19
WIDTH_INCHES = 10


@dataclass(frozen=True)
class Span:
    key: str      # what the row is about, e.g. a URL path
    phase: str    # "connect", "send", "receive", "parse"...
    start: float  # seconds since the timeline began
    end: float
    thread: str   # name of the thread that did it


class Timeline:
    """A thread-safe list of spans, with times relative to its creation."""

    def __init__(self, clock=time.perf_counter):
        self._clock = clock
        self.t0 = clock()
        self.spans: list[Span] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._clock() - self.t0

    def add(self, key: str, phase: str, start: float, end: float) -> None:
        span = Span(key, phase, start, end, threading.current_thread().name)
        with self._lock:
            self.spans.append(span)

    @contextlib.contextmanager
    def span(self, key: str, phase: str):
        start = self.now()
        try:
            yield
        finally:
            self.add(key, phase, start, self.now())

    # -- measurements ----------------------------------------------------

    def keys(self) -> list[str]:
        """Row keys in order of first start."""
        return list(dict.fromkeys(s.key for s in sorted(self.spans, key=lambda s: s.start)))

    def duration(self) -> float:
        return max((s.end for s in self.spans), default=0.0) - min((s.start for s in self.spans), default=0.0)

    def threads(self) -> set[str]:
        return {s.thread for s in self.spans}

    def max_overlap(self) -> int:
        """Largest number of keys (requests) in progress at the same instant."""
        bounds: dict[str, list[float]] = {}
        for s in self.spans:
            b = bounds.setdefault(s.key, [s.start, s.end])
            b[0], b[1] = min(b[0], s.start), max(b[1], s.end)
        events = sorted([(a, 1) for a, _ in bounds.values()] + [(b, -1) for _, b in bounds.values()],
                        key=lambda e: (e[0], e[1]))
        best = cur = 0
        for _, delta in events:
            cur += delta
            best = max(best, cur)
        return best


def plot_timelines(timelines: dict[str, Timeline], max_rows: int = 40, title: str | None = None):
    """Draw each timeline in its own panel, one row per request, a colour per phase.

    All panels share the time axis, so a sequential crawl and a concurrent one
    can be compared at a glance. Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    n = len(timelines)
    rows = [min(len(t.keys()), max_rows) for t in timelines.values()]
    fig, axes = plt.subplots(n, 1, figsize=(WIDTH_INCHES, 1.2 + ROW_INCHES * sum(rows) + 0.7 * n), sharex=True,
                             squeeze=False, gridspec_kw={"height_ratios": [max(r, 1) for r in rows]})
    for ax, (name, tl) in zip(axes[:, 0], timelines.items()):
        keys = tl.keys()[:max_rows]
        row = {k: i for i, k in enumerate(keys)}
        t_start = min((s.start for s in tl.spans), default=0.0)
        for s in tl.spans:
            if s.key in row:
                ax.barh(row[s.key], s.end - s.start, left=s.start - t_start, height=0.8,
                        color=PHASE_COLORS.get(s.phase, "#8172B3"))
        ax.set_yticks(range(len(keys)))
        ax.set_yticklabels(keys, fontsize=LABEL_POINTS)
        ax.tick_params(axis="x", labelsize=LABEL_POINTS)
        ax.invert_yaxis()
        ax.set_title(f"{name}: {seg(tl.duration())}, {len(tl.threads())} hilo(s)", fontsize=TITLE_POINTS,
                     loc="left")
    axes[-1, 0].set_xlabel("tiempo (s)", fontsize=LABEL_POINTS + 1)
    handles = [Patch(color=c, label=p) for p, c in PHASE_COLORS.items()
               if any(s.phase == p for t in timelines.values() for s in t.spans)]
    fig.legend(handles=handles, loc="upper right", fontsize=LABEL_POINTS)
    if title:
        fig.suptitle(title, fontsize=TITLE_POINTS + 1)
    fig.tight_layout()
    return fig
