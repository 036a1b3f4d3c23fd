"""The benchmark's targets (issue 4), judged on the measured rows.

Each regime has its goals (:data:`GOALS`); each goal is judged for each row of
:data:`JUDGED` and says PASS, FAIL or N/A (not measured), in a sentence built
from the regime and the goal's own numbers. Every regime measured also checks
that every crawler crawled every page. The benchmark's exit code does not
depend on them: it is a measurement, not a test.
"""

from __future__ import annotations

import dataclasses
from fractions import Fraction

from tools.bench.runner import Regime, Row

#: The rows the issue's targets are about: the asyncio crawler, with each parser.
JUDGED = ("asyncio", "asyncio-selectolax")


@dataclasses.dataclass
class Verdict:
    passed: bool | None  # None: could not be judged
    text: str

    def __str__(self) -> str:
        tag = {True: "PASS", False: "FAIL", None: "N/A "}[self.passed]
        return f"{tag}  {self.text}"


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _find(rows: list[Row], name: str) -> Row | None:
    return next((r for r in rows if r.name == name and r.ok), None)


@dataclasses.dataclass(frozen=True)
class Efficiency:
    """A complete crawl with efficiency (ideal / wall) at least ``minimum``."""

    minimum: float

    def judge(self, regime: Regime, rows: list[Row], name: str) -> Verdict:
        row = _find(rows, name)
        text = f"{regime}: {name} efficiency {_fmt(row and row.efficiency, '.3f')} >= {self.minimum:g}"
        if row is None or row.efficiency is None:
            return Verdict(None, text + " (not measured)")
        return Verdict(row.complete and row.efficiency >= self.minimum, text)


@dataclasses.dataclass(frozen=True)
class PeakRss:
    """Peak RSS at most ``fraction`` of the ``other`` row's (strictly below it if ``fraction`` is 1)."""

    other: str
    fraction: Fraction = Fraction(1)

    def judge(self, regime: Regime, rows: list[Row], name: str) -> Verdict:
        row, ref = _find(rows, name), _find(rows, self.other)
        relation = "<" if self.fraction == 1 else f"<= {self.fraction} of"
        text = (f"{regime}: {name} peak RSS {_fmt(row and row.rss_mb, '.0f')} MB {relation} "
                f"{self.other}'s {_fmt(ref and ref.rss_mb, '.0f')} MB")
        if row is None or ref is None:
            return Verdict(None, text + " (not measured)")
        if self.fraction == 1:
            return Verdict(row.rss_mb < ref.rss_mb, text)
        return Verdict(row.rss_mb <= ref.rss_mb * self.fraction, text)


@dataclasses.dataclass(frozen=True)
class Speedup:
    """A complete crawl with at least ``factor`` times the ``other`` row's pages/s."""

    other: str
    factor: float

    def judge(self, regime: Regime, rows: list[Row], name: str) -> Verdict:
        row, ref = _find(rows, name), _find(rows, self.other)
        ratio = row.pages_per_s / ref.pages_per_s if row and ref else None
        text = (f"{regime}: {name} {_fmt(row and row.pages_per_s, '.0f')} pages/s = "
                f"{_fmt(ratio, '.1f')}x {self.other}'s {_fmt(ref and ref.pages_per_s, '.0f')} "
                f"(>= {self.factor:g}x)")
        if ratio is None:
            return Verdict(None, text + " (not measured)")
        return Verdict(row.complete and ratio >= self.factor, text)


#: Regime key -> the goals judged there.
GOALS = {
    "latency": (Efficiency(0.97),),
    "concurrency": (Efficiency(0.95), PeakRss("scrapy", Fraction(1, 3)), PeakRss("pool")),
    "cpu": (Speedup("scrapy", 5),),
}


def every_page(regime: Regime, rows: list[Row]) -> Verdict | None:
    """Did every crawler measured crawl every page? None if nothing ran."""
    measured = [r for r in rows if r.ok]
    missing = [f"{r.name} ({r.pages}/{r.expected}, {r.failed} failed)"
               for r in measured if not r.complete]
    errors = [f"{r.name} (error)" for r in rows if r.error]
    if not measured and not errors:
        return None
    text = f"{regime}: every crawler measured crawled all {rows[0].expected} pages"
    if missing or errors:
        text += ": NOT " + ", ".join(missing + errors)
    return Verdict(not missing and not errors, text)


def targets(results: dict[Regime, list[Row]]) -> list[Verdict]:
    """Every goal of every regime measured, for each judged row; then the page counts."""
    out = [goal.judge(regime, rows, name)
           for name in JUDGED for regime, rows in results.items()
           for goal in GOALS.get(regime.key, ())]
    out += [v for regime, rows in results.items() if (v := every_page(regime, rows))]
    return out
