"""What a crawl did with every URL it met, and the contract every crawler shares.

Every crawler of the course (notebooks 01-07, the benchmark) is called the
same way and answers the same way:

* it takes a root URL and one :class:`CrawlOptions` (concurrency, max pages,
  per-request timeout, total deadline, optional timeline, ...);
* it returns a :class:`CrawlReport`: every URL (or href) it met is
  :attr:`Outcome.CRAWLED`, :attr:`Outcome.SKIPPED` (why) or
  :attr:`Outcome.FAILED` (why);
* its reasons are the constants below, or :func:`http_reason` of a status, or
  :func:`reason_of` of the exception that stopped a fetch, so that
  :meth:`CrawlReport.reasons` of two crawlers can be compared.

The registry of crawlers is :data:`support.crawlers.CRAWLERS`.
"""

from __future__ import annotations

import dataclasses
import enum
import errno
import re
import socket
import ssl
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Collection

from support import fmt, links
from support.links import CRAWL_PARSER, PARSERS

if TYPE_CHECKING:  # the timeline is drawn a floor above; the report only carries it
    from support.timeline import Timeline

__all__ = ["Outcome", "CrawlReport", "CrawlOptions", "options_of", "reason_of", "http_reason", "malformed_response",
           "ProtocolError", "IncompleteResponse",
           "MAX_PAGES", "MAX_DEPTH", "DEADLINE", "STOPPED", "TIMEOUT", "TOO_BIG", "REDIRECT",
           "TOO_MANY_REDIRECTS", "REDIRECT_WITHOUT_LOCATION", "REDIRECT_LOOP", "MAX_BYTES", "MALFORMED_RESPONSE_WHY",
           "RETRY_AFTER_OVER_MAX", "RETRY_AFTER_PAST_DEADLINE", "CONNECTION_REFUSED", "CONNECTION_LOST",
           "TLS_ERROR", "HOST_NOT_FOUND", "MALFORMED_URL", "MALFORMED_RESPONSE", "PARSE_ERROR",
           "HTTP_STATUS", "NOT_HTML", "NO_ATTEMPT", "ERROR", "LABELS_ES", "label_es", "OUTCOMES_ES", "reason_table_es"]


class Outcome(str, enum.Enum):
    """What became of one URL. A ``str`` enum: ``Outcome.CRAWLED == "crawled"``."""

    CRAWLED = "crawled"
    SKIPPED = "skipped"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


# --------------------------------------------------------------------------
# Reasons: defined once, shared by every crawler (fixed strings, so a report
# can be counted by reason and two crawlers' counts compared)
# --------------------------------------------------------------------------

MAX_PAGES = "max_pages reached"          # skipped: met after the crawl admitted max_pages URLs
MAX_DEPTH = "max_depth reached"          # skipped: more links from the root than max_depth
DEADLINE = "deadline"                    # in flight at the deadline (failed) or still queued (skipped)
STOPPED = "crawl stopped"                # pending when the crawl was cancelled or a bug stopped it
TIMEOUT = "timeout"                      # failed: one request took longer than request_timeout
TOO_BIG = "body over max_bytes"          # skipped: not read, too big
REDIRECT = "redirect"                    # skipped: the URL answered 3xx; its target is met next
TOO_MANY_REDIRECTS = "too many redirects"
REDIRECT_WITHOUT_LOCATION = "redirect without Location"
REDIRECT_LOOP = "redirect loop"          # skipped: the URL redirects back into its own chain
CONNECTION_REFUSED = "connection refused"
CONNECTION_LOST = "connection lost"      # reset, or closed before the whole response arrived
TLS_ERROR = "TLS error"
HOST_NOT_FOUND = "host not found"
MALFORMED_URL = "malformed URL"
MALFORMED_RESPONSE = "malformed response"  # the answer is not HTTP
MALFORMED_RESPONSE_WHY = "malformed response ({detail})"  # ... and aiohttp's parser said why
RETRY_AFTER_OVER_MAX = "HTTP {status} (Retry-After {seconds} s, over {max} s)"  # failed: not worth waiting
RETRY_AFTER_PAST_DEADLINE = "HTTP {status} (Retry-After {seconds} s, past the deadline)"
PARSE_ERROR = "parse error"              # failed: the parser gave up on the page
HTTP_STATUS = "HTTP {status}"            # failed: any status a crawler does not accept
NOT_HTML = "not HTML ({type})"           # skipped: a Content-Type that is not HTML
NO_ATTEMPT = "no attempt"                # failed before any request was sent (retries < 0 cannot happen)
ERROR = "error ({detail})"               # failed: an exception reason_of has no name for


def http_reason(status: int) -> str:
    """The reason of a failure by HTTP status: ``"HTTP 404"``."""
    return HTTP_STATUS.format(status=status)


class ProtocolError(ValueError):
    """An answer that is not a well-formed HTTP response (no blank line, bad status line)."""


class IncompleteResponse(ProtocolError):
    """The connection ended before the response did (fewer bytes than ``Content-Length``)."""


_LOST_ERRNOS = {errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED}


def reason_of(exc: BaseException) -> str:
    """The failure reason for the exception that stopped one fetch.

    The one place where exceptions become reasons, for every crawler: a
    blocking socket's ``ConnectionRefusedError`` and aiohttp's
    ``ClientConnectorError`` wrapping it are both ``"connection refused"``;
    timeouts of any origin are ``"timeout"``; a reset, a ``BrokenPipeError``,
    aiohttp's ``ServerDisconnectedError`` or ``ClientPayloadError`` and a body
    shorter than its ``Content-Length`` are ``"connection lost"``. Anything
    else is ``"error (TypeName: message)"``.
    """
    if isinstance(exc, TimeoutError):  # socket.timeout, asyncio's, aiohttp's ServerTimeoutError
        return TIMEOUT
    aiohttp = sys.modules.get("aiohttp")  # an aiohttp error implies aiohttp is imported: no import cost here
    if aiohttp is not None and isinstance(exc, aiohttp.ClientError):
        return _aiohttp_reason(exc, aiohttp)
    if isinstance(exc, ssl.SSLError):
        return TLS_ERROR
    if isinstance(exc, IncompleteResponse):
        return CONNECTION_LOST
    if isinstance(exc, ProtocolError):
        return MALFORMED_RESPONSE
    if isinstance(exc, OSError):
        return _os_reason(exc)
    return ERROR.format(detail=f"{type(exc).__name__}: {exc}")


def malformed_response(exc: BaseException) -> str | None:
    """``"malformed response (what is wrong)"`` when aiohttp could not read the
    answer as HTTP, else None.

    aiohttp reports a bad status line (an HTTP/0.9 reply), too many headers,
    two ``Content-Length``, a bad chunk size or a body it cannot decode (bad
    gzip or brotli) as a ``ClientResponseError`` or ``ClientPayloadError``
    caused by its parser's ``HttpProcessingError``: the same server would send
    the same bytes again, so such a failure is named and not retried.
    """
    cause = exc.__cause__
    aiohttp = sys.modules.get("aiohttp")
    if aiohttp is None or cause is None:
        return None
    from aiohttp.http_exceptions import HttpProcessingError
    if not isinstance(cause, HttpProcessingError):
        return None
    if isinstance(exc, aiohttp.ClientPayloadError) and not _undecodable(cause):
        return None  # cut short mid-body: a connection lost, maybe not next time
    lines = [line.strip() for line in str(cause.message).splitlines() if line.strip()]
    detail = lines[0].rstrip(":").split(". ")[0] if lines else type(cause).__name__
    return MALFORMED_RESPONSE_WHY.format(detail=detail)


def _undecodable(cause: BaseException) -> bool:
    from aiohttp.http_exceptions import ContentEncodingError, TransferEncodingError
    return isinstance(cause, (ContentEncodingError, TransferEncodingError))


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError) or exc.errno == errno.ECONNREFUSED:
        return CONNECTION_REFUSED
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)) \
            or exc.errno in _LOST_ERRNOS:
        return CONNECTION_LOST
    if exc.errno == errno.ETIMEDOUT:
        return TIMEOUT
    if isinstance(exc, socket.gaierror):
        return HOST_NOT_FOUND
    return ERROR.format(detail=f"{type(exc).__name__}: {exc.strerror or exc}")


def _aiohttp_reason(exc: BaseException, aiohttp: Any) -> str:
    if isinstance(exc, aiohttp.ClientSSLError):
        return TLS_ERROR
    if isinstance(exc, aiohttp.ClientConnectorError):  # connecting failed: the OS said why
        return reason_of(exc.os_error)
    broken = malformed_response(exc)
    if broken is not None:
        return broken
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        return CONNECTION_LOST
    if isinstance(exc, aiohttp.InvalidURL):
        return MALFORMED_URL
    if isinstance(exc, aiohttp.ClientResponseError):  # raise_for_status
        return http_reason(exc.status)
    if isinstance(exc, OSError):  # ClientOSError: an errno from the socket
        return _os_reason(exc)
    return ERROR.format(detail=f"{type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------
# What a student reads: the reasons in Spanish (one table for every notebook)
# --------------------------------------------------------------------------

#: English reason (or template) -> what a Spanish notebook shows. Every reason
#: a crawler, :func:`support.links.classify` or the load generator gives is
#: here (``tests/test_fmt.py`` checks it); a template's ``{field}`` carries
#: its detail (a host, a status, a content type) over unchanged.
LABELS_ES: dict[str, str] = {
    links.EMPTY_HREF: "href vacío",
    links.FRAGMENT_ONLY: "solo un fragmento (la misma página)",
    links.NOT_HTTP: "el esquema {scheme}: no es http",
    links.BAD_URL: "URL mal formada ({detail})",
    links.OTHER_HOST: "otro host ({host})",
    links.OTHER_SCHEME: "otro esquema ({origin})",
    MAX_PAGES: "se alcanzó max_pages",
    MAX_DEPTH: "se alcanzó max_depth",
    DEADLINE: "plazo total vencido",
    STOPPED: "recorrido detenido",
    TIMEOUT: "tiempo límite",
    TOO_BIG: "cuerpo mayor que max_bytes",
    REDIRECT: "redirección",
    TOO_MANY_REDIRECTS: "demasiadas redirecciones",
    REDIRECT_WITHOUT_LOCATION: "redirección sin Location",
    REDIRECT_LOOP: "bucle de redirecciones",
    CONNECTION_REFUSED: "conexión rechazada",
    CONNECTION_LOST: "conexión perdida",
    TLS_ERROR: "error de TLS",
    HOST_NOT_FOUND: "host desconocido",
    MALFORMED_URL: "URL mal formada",
    MALFORMED_RESPONSE: "respuesta mal formada",
    MALFORMED_RESPONSE_WHY: "respuesta mal formada ({detail})",
    # before HTTP_STATUS: "HTTP {status}" would match these too, and the first template that matches wins
    RETRY_AFTER_OVER_MAX: "HTTP {status} (Retry-After de {seconds} s, más de {max} s)",
    RETRY_AFTER_PAST_DEADLINE: "HTTP {status} (Retry-After de {seconds} s, más allá del plazo total)",
    PARSE_ERROR: "error al analizar el HTML",
    HTTP_STATUS: "HTTP {status}",
    NOT_HTML: "no es HTML ({type})",
    NO_ATTEMPT: "ningún intento",
    ERROR: "error ({detail})",
}

#: :class:`Outcome` in Spanish, as the notebooks' prose names them (singular, plural).
OUTCOMES_ES = {Outcome.CRAWLED: ("rastreada", "rastreadas"), Outcome.SKIPPED: ("omitida", "omitidas"),
               Outcome.FAILED: ("fallida", "fallidas")}


def _template_pattern(template: str) -> "re.Pattern[str]":
    parts = re.split(r"\{(\w+)\}", template)  # text, field, text, field, ..., text
    return re.compile("".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.*)" for i, p in enumerate(parts)) + "$",
                      re.DOTALL)


_TEMPLATES = [(_template_pattern(en), es) for en, es in LABELS_ES.items() if "{" in en]


def reason_table_es(counts: dict[tuple[str, str], int], width: int = 70) -> str:
    """The rows ``n  resultado  motivo`` of a ``by_reason()`` count, in Spanish
    (outcome and reason through :data:`OUTCOMES_ES` and :func:`label_es`)."""
    rows = [f"{'n':>5}  {'resultado':9} motivo"]
    for (outcome, reason), n in counts.items():
        rows.append(f"{fmt.num(n):>5}  {OUTCOMES_ES[Outcome(outcome)][0]:9} {label_es(reason)[:width]}")
    return "\n".join(rows)


def label_es(reason: str) -> str:
    """The Spanish label of a reason: ``label_es("other host (example.com)") == "otro host (example.com)"``.

    A reason this table does not know is shown as it is (English, but not lost).
    """
    if reason in LABELS_ES:
        return LABELS_ES[reason]
    for pattern, spanish in _TEMPLATES:
        m = pattern.match(reason)
        if m:
            return spanish.format(**m.groupdict())
    return reason


# --------------------------------------------------------------------------
# The options every crawler takes
# --------------------------------------------------------------------------

#: Default ``max_bytes``: 1.5x the biggest page of the Python documentation
#: (``contents.html``, 2.6 MB; ``genindex-all.html`` is 1.7 MB), so real pages
#: fit, while a crawl of C requests holds at most C times this. (The labsite's
#: "huge" pages, 5 MB, stay over it.)
MAX_BYTES = 4_000_000


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
    parser: ``"html.parser"``, ``"lxml"`` or ``"selectolax"`` (see :mod:`support.links`);
        the default is :data:`support.links.CRAWL_PARSER`.
    progress: called with the report so far each time a URL gets its outcome.
    """

    concurrency: int = 10
    max_pages: int | None = None
    request_timeout: float = 10.0
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

    def __post_init__(self):
        _check(isinstance(self.concurrency, int) and self.concurrency >= 1, "concurrency must be >= 1",
               self.concurrency)
        _check(self.max_pages is None or self.max_pages >= 1, "max_pages must be >= 1 or None", self.max_pages)
        _check(self.max_depth is None or self.max_depth >= 0, "max_depth must be >= 0 or None", self.max_depth)
        _check(self.request_timeout > 0, "request_timeout must be > 0", self.request_timeout)
        _check(self.deadline is None or self.deadline >= 0, "deadline must be >= 0 or None", self.deadline)
        _check(self.retries >= 0 and self.backoff >= 0, "retries and backoff must be >= 0",
               (self.retries, self.backoff))
        _check(self.max_redirects >= 0 and self.max_bytes >= 1, "max_redirects must be >= 0, max_bytes >= 1",
               (self.max_redirects, self.max_bytes))
        _check(self.parser in PARSERS, f"parser must be one of {PARSERS}", self.parser)
        if self.allowed_hosts is not None:  # frozen: a set given by the caller cannot change under us
            if isinstance(self.allowed_hosts, str):
                raise ValueError(f"allowed_hosts must be a collection of hosts, not the string {self.allowed_hosts!r}")
            object.__setattr__(self, "allowed_hosts", frozenset(self.allowed_hosts))


def _check(ok: bool, message: str, value: object) -> None:
    if not ok:
        raise ValueError(f"{message}, got {value!r}")


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


@dataclass
class CrawlReport:
    """Outcome of every URL (or href) a crawl met.

    ``crawled``: url -> HTTP status of the page that was fetched and parsed.
    ``skipped``: url or href -> why it was not fetched (other host, mailto:,
    over max_pages, ...). ``failed``: url -> why fetching it failed.
    ``seconds``: wall time of the crawl. Safe to fill from several threads.

    Bounded: ``skipped`` lists at most ``sample`` URLs (a real site stays far
    below: the Python docs skip 16,000 hrefs); past that, a skipped URL is
    only counted in ``unlisted`` (reason -> count), so that a trap (pages that
    each link 100,000 new URLs) cannot fill the memory with URLs that will
    never be fetched. Every URL is still accounted for, as a count:
    :meth:`reasons` adds both, and :meth:`summary` says how many were counted
    but not listed. (An unlisted URL met twice is counted twice: remembering
    it would cost the memory the bound saves.)
    """

    crawled: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    unlisted: Counter = field(default_factory=Counter)
    sample: int = 100_000
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def ok(self, url: str, status: int = 200) -> None:
        with self._lock:
            self.crawled[url] = status

    def skip(self, url: str, reason: str) -> None:
        with self._lock:
            if url in self.skipped:
                return
            if len(self.skipped) >= self.sample:
                self.unlisted[reason] += 1
                return
            self.skipped[url] = reason

    def listing(self) -> bool:
        """True while skipped URLs are still listed (the sample is not full)."""
        return len(self.skipped) < self.sample

    def unskip(self, url: str, reason: str) -> None:
        """Take back ``skip(url, reason)``: the URL gets another outcome after all."""
        with self._lock:
            if self.skipped.get(url) == reason:
                del self.skipped[url]
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
        if url in self.skipped:
            return Outcome.SKIPPED
        return None

    def reasons(self) -> Counter:
        """How many URLs were skipped or failed for each reason (listed or only counted)."""
        return Counter(list(self.skipped.values()) + list(self.failed.values())) + self.unlisted

    def summary(self) -> str:
        unlisted = sum(self.unlisted.values())
        more = f" (+{unlisted} counted, not listed)" if unlisted else ""
        return (f"{len(self.crawled)} crawled, {len(self.skipped)} skipped{more}, "
                f"{len(self.failed)} failed in {self.seconds:.2f} s")

    def summary_es(self) -> str:
        """:meth:`summary` for a Spanish notebook: ``"20 rastreadas, 5 omitidas, 0 fallidas en 4,07 s"``."""
        counts = {Outcome.CRAWLED: self.crawled, Outcome.SKIPPED: self.skipped, Outcome.FAILED: self.failed}
        return (", ".join(f"{fmt.num(len(urls))} {OUTCOMES_ES[o][len(urls) != 1]}" for o, urls in counts.items())
                + f" en {fmt.seg(self.seconds)}")

    def __repr__(self) -> str:
        # Short on purpose: the dataclass repr of a big crawl is megabytes of
        # URLs, and Python formats it more often than one would think (a task's
        # repr shows its result: asyncio.run repr()s it as it restores SIGINT).
        return f"<{type(self).__name__}: {self.summary()}>"
