"""What a crawl did with every URL it met, and the contract every crawler shares.

Every crawler of the course (notebooks 01-07, the benchmark) is called the
same way and answers the same way:

* it takes a root URL and one :class:`CrawlOptions` (concurrency, max pages,
  per-request timeout, total deadline, optional timeline, ...);
* it returns a :class:`CrawlReport`: every URL (or href) it met is
  :attr:`Outcome.CRAWLED`, :attr:`Outcome.SKIPPED` (why) or
  :attr:`Outcome.FAILED` (why);
* its reasons are the constants of :mod:`support.web.reasons` (re-exported
  here), or :func:`http_reason` of a status, or :func:`reason_of` of the
  exception that stopped a fetch, so that :meth:`CrawlReport.reasons` of two
  crawlers can be compared.

The registry of crawlers is :data:`support.crawlers.registry.CRAWLERS`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import numbers
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Collection

from support import fmt
from support.web.links import CRAWL_PARSER, PARSERS
from support.web.reasons import (
    CONNECTION_LOST,
    CONNECTION_REFUSED,
    DEADLINE,
    DISALLOWED_BY_ROBOTS,
    ERROR,
    HOST_NOT_FOUND,
    HTTP_STATUS,
    LABELS_ES,
    MALFORMED_RESPONSE,
    MALFORMED_RESPONSE_WHY,
    MALFORMED_URL,
    MAX_DEPTH,
    MAX_PAGES,
    NO_ATTEMPT,
    NOT_HTML,
    OUTCOMES_ES,
    PARSE_ERROR,
    REDIRECT,
    REDIRECT_LOOP,
    REDIRECT_WITHOUT_LOCATION,
    RETRY_AFTER_OVER_MAX,
    RETRY_AFTER_PAST_DEADLINE,
    STOPPED,
    TIMEOUT,
    TLS_ERROR,
    TOO_BIG,
    TOO_MANY_REDIRECTS,
    UNSUPPORTED_ENCODING,
    IncompleteResponse,
    Outcome,
    ProtocolError,
    http_reason,
    label_es,
    malformed_response,
    reason_of,
    reason_table_es,
)

if TYPE_CHECKING:  # the timeline is drawn a floor above; the report only carries it
    from support.timeline import Timeline

__all__ = ["Outcome", "CrawlReport", "CrawlResult", "CrawlOptions", "options_of", "reason_of", "http_reason",
           "listed_key", "LISTED_CHARS",
           "malformed_response",
           "ProtocolError", "IncompleteResponse",
           "MAX_PAGES", "MAX_DEPTH", "DEADLINE", "STOPPED", "TIMEOUT", "TOO_BIG", "REDIRECT",
           "TOO_MANY_REDIRECTS", "REDIRECT_WITHOUT_LOCATION", "REDIRECT_LOOP", "MAX_BYTES", "REQUEST_TIMEOUT",
           "MALFORMED_RESPONSE_WHY",
           "RETRY_AFTER_OVER_MAX", "RETRY_AFTER_PAST_DEADLINE", "CONNECTION_REFUSED", "CONNECTION_LOST",
           "TLS_ERROR", "HOST_NOT_FOUND", "MALFORMED_URL", "MALFORMED_RESPONSE", "PARSE_ERROR",
           "HTTP_STATUS", "NOT_HTML", "NO_ATTEMPT", "ERROR", "DISALLOWED_BY_ROBOTS", "UNSUPPORTED_ENCODING",
           "LABELS_ES", "label_es", "OUTCOMES_ES", "reason_table_es"]


# --------------------------------------------------------------------------
# The options every crawler takes
# --------------------------------------------------------------------------

#: Default ``max_bytes``: 1.5x the biggest page of the Python documentation
#: (``contents.html``, 2.6 MB; ``genindex-all.html`` is 1.7 MB), so real pages
#: fit, while a crawl of C requests holds at most C times this. (The labsite's
#: "huge" pages, 5 MB, stay over it.)
MAX_BYTES = 4_000_000
#: Default ``request_timeout``, seconds: one for every crawler and every fetch helper.
REQUEST_TIMEOUT = 10.0


@dataclass(frozen=True)
class CrawlOptions:
    """How to crawl: one object for every crawler of the course.

    A crawler that cannot honour an option says so in its docstring (the
    sequential crawler ignores ``concurrency``, the blocking ones ignore
    ``retries``...). Defaults are the asyncio crawler's.

    concurrency: C, requests in flight at most (workers, threads, connections).
    max_pages: most URLs fetched; later ones are skipped with :data:`MAX_PAGES`.
    request_timeout: seconds for one request, connect to last byte.
    deadline: seconds for the whole crawl; then URLs in flight fail and queued
        ones are skipped, both with :data:`DEADLINE`. None: no deadline.
    timeline: a :class:`support.timeline.Timeline` to record each fetch's phases.
    max_depth: most links from the root (deeper URLs skipped: :data:`MAX_DEPTH`).
    retries, backoff: transient errors (timeouts, resets, 429, 5xx) are tried
        again up to ``retries`` times, after ``backoff``, ``2*backoff``... s.
    max_redirects: redirects followed in a row from one URL.
    max_bytes: bodies larger than this are not read (skipped: :data:`TOO_BIG`);
        the asyncio crawler counts them decoded (after gzip...). The default,
        :data:`MAX_BYTES`, fits real pages.
    allowed_hosts: hosts (``"host"`` or ``"host:port"``) to follow besides the root's.
    parser: a name of :data:`support.web.parsing.PARSERS` (``"lxml-tokens"``,
        ``"html.parser"``, ``"lxml"``, ``"selectolax"``); the default is
        :data:`support.web.links.CRAWL_PARSER`, a tokenizer that builds no tree.
    progress: called with the report so far each time a URL gets its outcome
        (once for a page and the hrefs it skipped), and once at the end.
    obey_robots: read each host's ``/robots.txt`` once and skip the URLs it
        disallows (:data:`DISALLOWED_BY_ROBOTS`). Only the asyncio crawler
        (notebook 07) obeys it; the blocking, callbacks and trampoline
        crawlers are lessons about concurrency run against the local site,
        and ignore it.

    Counts are integers and durations finite numbers of seconds (None where
    it says "no limit"): any other value is a ``ValueError`` here, not a
    crash in the middle of a crawl.
    """

    concurrency: int = 10
    max_pages: int | None = None
    request_timeout: float = REQUEST_TIMEOUT
    deadline: float | None = None
    timeline: Timeline | None = field(default=None, compare=False)
    max_depth: int | None = None
    retries: int = 2
    backoff: float = 0.05
    max_redirects: int = 5
    max_bytes: int = MAX_BYTES
    allowed_hosts: Collection[str] | None = None
    parser: str = CRAWL_PARSER
    progress: Callable[[Any], None] | None = field(default=None, compare=False)
    obey_robots: bool = True

    def __post_init__(self):
        _count("concurrency", self.concurrency, least=1)
        _count("max_pages", self.max_pages, least=1, none=True)
        _count("max_depth", self.max_depth, least=0, none=True)
        _count("retries", self.retries, least=0)
        _count("max_redirects", self.max_redirects, least=0)
        _count("max_bytes", self.max_bytes, least=1)
        _seconds("request_timeout", self.request_timeout, positive=True)
        _seconds("deadline", self.deadline, positive=False, none=True)
        _seconds("backoff", self.backoff, positive=False)
        _check(isinstance(self.obey_robots, bool), "obey_robots must be True or False", self.obey_robots)
        _check(self.parser in PARSERS, f"parser must be one of {PARSERS}", self.parser)
        if self.allowed_hosts is not None:  # frozen: a set given by the caller cannot change under us
            if isinstance(self.allowed_hosts, str):
                raise ValueError(f"allowed_hosts must be a collection of hosts, not the string {self.allowed_hosts!r}")
            object.__setattr__(self, "allowed_hosts", frozenset(self.allowed_hosts))


def _check(ok: bool, message: str, value: object) -> None:
    if not ok:
        raise ValueError(f"{message}, got {value!r}")


def _count(name: str, value: object, *, least: int, none: bool = False) -> None:
    """A count is a whole number (not a bool, not a float: ``range()`` and the
    connector need an int) of at least ``least``; None only where it means "no limit"."""
    if value is None and none:
        return
    whole = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    _check(whole and value >= least, f"{name} must be an integer >= {least}" + (" or None" if none else ""), value)


def _seconds(name: str, value: object, *, positive: bool, none: bool = False) -> None:
    """A duration is a finite number of seconds (infinity and NaN crash the clock
    arithmetic midway); None only where it means "no limit"."""
    if value is None and none:
        return
    real = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    ok = real and (value > 0 if positive else value >= 0)
    bound = "> 0" if positive else ">= 0"
    _check(ok, f"{name} must be a finite number of seconds {bound}" + (" or None (no limit)" if none else ""), value)


_OPTION_NAMES = tuple(f.name for f in dataclasses.fields(CrawlOptions))


def options_of(options: CrawlOptions | None = None, **knobs: Any) -> CrawlOptions:
    """``options`` (default: ``CrawlOptions()``) with ``knobs`` replaced.

    Every crawler reads its arguments through this, so that
    ``crawl(url, CrawlOptions(concurrency=20))`` and ``crawl(url, concurrency=20)``
    mean the same thing; an unknown knob is an error that lists the known ones.
    """
    if options is None:
        options = CrawlOptions()
    elif not isinstance(options, CrawlOptions):
        raise TypeError(f"options must be a CrawlOptions, got {type(options).__name__}")
    unknown = sorted(set(knobs) - set(_OPTION_NAMES))
    if unknown:
        raise TypeError(f"unknown crawl option(s) {', '.join(unknown)}; the options are: {', '.join(_OPTION_NAMES)}")
    return dataclasses.replace(options, **knobs) if knobs else options


# --------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------

#: Most characters of an href listed in a report; a longer one is listed cut, with a marker.
LISTED_CHARS = 2_000


def listed_key(url: str) -> str:
    """``url`` as a report lists it: itself (the same object), or its first
    :data:`LISTED_CHARS` characters and ``"… (N characters not kept, #digest)"``:
    the digest of the whole href keeps two hrefs that differ only at the end
    two keys, and one href met twice one key."""
    if len(url) <= LISTED_CHARS:
        return url
    digest = hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
    return f"{url[:LISTED_CHARS]}… ({len(url) - LISTED_CHARS:,} characters not kept, #{digest})"


@dataclass
class CrawlReport:
    """Outcome of every URL (or href) a crawl met.

    ``crawled``: url -> HTTP status of the page that was fetched and parsed.
    ``skipped``: url or href -> why it was not fetched (other host, mailto:,
    over max_pages, ...). ``failed``: url -> why fetching it failed.
    ``seconds``: wall time of the crawl. Safe to fill from several threads.

    Bounded: ``skipped`` lists at most ``sample`` URLs (the Python docs skip
    16,000 hrefs) and ``sample_chars`` characters; past that, a skipped URL
    is only counted in ``unlisted`` (reason -> count): a trap (pages that
    each link 100,000 new URLs) cannot fill the memory. A listed href over
    :data:`LISTED_CHARS` keeps its start and a marker saying how much it
    lost (``truncated`` counts them). Every URL is still accounted for:
    :meth:`reasons` adds both, and :meth:`summary` says how many were counted
    but not listed, and how many cut. (An unlisted URL met twice is counted
    twice: remembering it would cost the memory the bound saves.)
    """

    crawled: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    unlisted: Counter = field(default_factory=Counter)
    sample: int = 100_000
    sample_chars: int = 16_000_000
    listed_chars: int = 0        # characters of the keys of ``skipped``
    truncated: int = 0           # listed hrefs cut to LISTED_CHARS
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def ok(self, url: str, status: int = 200) -> None:
        with self._lock:
            self.crawled[url] = status

    def skip(self, url: str, reason: str) -> None:
        key = listed_key(url)
        with self._lock:
            if key in self.skipped:
                return
            if not self.listing():
                self.unlisted[reason] += 1
                return
            self.skipped[key] = reason
            self.listed_chars += len(key)
            self.truncated += key is not url

    def skip_counted(self, reason: str, count: int) -> None:
        """``count`` hrefs skipped for ``reason``, counted and not listed (not even read)."""
        with self._lock:
            self.unlisted[reason] += count

    def listing(self) -> bool:
        """True while skipped URLs are still listed (the sample is not full, in entries or characters)."""
        return len(self.skipped) < self.sample and self.listed_chars < self.sample_chars

    def unskip(self, url: str, reason: str) -> None:
        """Take back ``skip(url, reason)``: the URL gets another outcome after all."""
        key = listed_key(url)
        with self._lock:
            if self.skipped.get(key) == reason:
                del self.skipped[key]
                self.listed_chars -= len(key)
                self.truncated -= key is not url
            elif self.unlisted[reason]:
                self.unlisted[reason] -= 1

    def fail(self, url: str, reason: str) -> None:
        with self._lock:
            self.failed[url] = reason

    def outcome(self, url: str) -> Outcome | None:
        """:class:`Outcome` of ``url``, or None if the crawl never met it (or
        skipped it without listing it: see ``unlisted``)."""
        if url in self.crawled:
            return Outcome.CRAWLED
        if url in self.failed:
            return Outcome.FAILED
        if listed_key(url) in self.skipped:
            return Outcome.SKIPPED
        return None

    def reasons(self) -> Counter:
        """How many URLs were skipped or failed for each reason (listed or only counted)."""
        return Counter(list(self.skipped.values()) + list(self.failed.values())) + self.unlisted

    def summary(self) -> str:
        unlisted = sum(self.unlisted.values())
        notes = ([f"+{unlisted} counted, not listed"] if unlisted else []) + (
            [f"{self.truncated} truncated to {LISTED_CHARS} characters"] if self.truncated else [])
        more = f" ({'; '.join(notes)})" if notes else ""
        return (f"{len(self.crawled)} crawled, {len(self.skipped)} skipped{more}, "
                f"{len(self.failed)} failed in {self.seconds:.2f} s")

    def summary_es(self) -> str:
        """:meth:`summary` for a Spanish notebook: ``"20 rastreadas, 5 omitidas, 0 fallidas en 4,07 s"``."""
        counts = {Outcome.CRAWLED: len(self.crawled), Outcome.FAILED: len(self.failed),
                  Outcome.SKIPPED: len(self.skipped) + sum(self.unlisted.values())}  # listed or only counted
        return (", ".join(f"{fmt.num(counts[o])} {OUTCOMES_ES[o][counts[o] != 1]}" for o in Outcome)
                + f" en {fmt.seg(self.seconds)}")

    def __repr__(self) -> str:
        # Short on purpose: the dataclass repr of a big crawl is megabytes of
        # URLs, and Python formats it more often than one would think (a task's
        # repr shows its result: asyncio.run repr()s it as it restores SIGINT).
        return f"<{type(self).__name__}: {self.summary()}>"


@dataclass(repr=False)  # CrawlReport's short repr, not one listing every URL
class CrawlResult(CrawlReport):
    """A :class:`~support.web.report.CrawlReport` plus what the asyncio crawl measured.

    ``depth``: url -> link distance from the root, for every URL fetched.
    ``redirects``: url -> the Location it answered. ``finish_times``: seconds
    since the start at which each page was crawled (for plots). ``retries``:
    requests sent again after a transient error; ``attempts``: url -> how
    many requests a URL that failed took (only those that took more than
    one). ``max_in_flight``: most requests the crawler had open at once
    (never more than ``concurrency``). ``paused``: host -> seconds every
    request to it waited because it answered 429/503 with ``Retry-After``
    (:mod:`support.crawlers.politeness`); :attr:`waited` is their sum.
    ``robots``: host -> what its ``/robots.txt`` said (``"read"``,
    ``"none (HTTP 404)"``, ``"unreachable (timeout)"``...).
    """

    concurrency: int = 0
    parser: str = CRAWL_PARSER
    depth: dict[str, int] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    finish_times: list[float] = field(default_factory=list)
    retries: int = 0
    attempts: dict[str, int] = field(default_factory=dict)
    max_in_flight: int = 0
    discovered: int = 0          # URLs admitted to the queue (the progress bar's max)
    done: int = 0                # admitted URLs with their outcome, whatever it is (the bar's value;
    #                              == discovered at the end): crawled, failed, or fetched and skipped
    #                              (not HTML, too big, a redirect), or queued at the deadline
    bytes: int = 0               # body bytes read
    deadline_reached: bool = False
    paused: dict[str, float] = field(default_factory=dict)
    robots: dict[str, str] = field(default_factory=dict)

    @property
    def waited(self) -> float:
        """Seconds the crawl held back its requests because hosts asked it to (429/503 + Retry-After)."""
        return sum(self.paused.values())

    @property
    def pages_per_second(self) -> float:
        return len(self.crawled) / self.seconds if self.seconds else 0.0

    def by_reason(self) -> dict[tuple[str, str], int]:
        """``(outcome, reason) -> count``, crawled pages counted as ``("crawled", "HTTP 200")``."""
        counts: dict[tuple[str, str], int] = {}
        for status in self.crawled.values():
            key = ("crawled", http_reason(status))
            counts[key] = counts.get(key, 0) + 1
        for outcome, table in (("skipped", self.skipped), ("failed", self.failed)):
            for reason in table.values():
                counts[(outcome, reason)] = counts.get((outcome, reason), 0) + 1
        for reason, n in self.unlisted.items():  # skipped, counted but not listed
            if n:
                counts[("skipped", reason)] = counts.get(("skipped", reason), 0) + n
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
