"""Why a URL was skipped or failed: the reasons every crawler of the course
gives, built one way, and what a Spanish notebook shows for each.

* :class:`Outcome`: crawled, skipped or failed;
* the reason constants (``MAX_PAGES``, ``DEADLINE``, ``TIMEOUT``...) and
  :func:`http_reason`, defined once;
* :func:`reason_of`: the one place an exception becomes a reason (socket
  errors, timeouts, aiohttp's errors, malformed answers);
* :data:`LABELS_ES`, :func:`label_es`, :data:`OUTCOMES_ES` and
  :func:`reason_table_es`: the same reasons in Spanish, from one table.

Stable English codes stay the keys (reports compare across crawlers and
runs); Spanish is only how a notebook shows them. :mod:`support.web.report`
re-exports every name here.
"""

from __future__ import annotations

import enum
import errno
import re
import socket
import ssl
import sys
from typing import Any

from support import fmt
from support.web import links

__all__ = ["Outcome", "reason_of", "http_reason", "malformed_response", "ProtocolError", "IncompleteResponse",
           "MAX_PAGES", "MAX_DEPTH", "DEADLINE", "STOPPED", "TIMEOUT", "TOO_BIG", "REDIRECT",
           "TOO_MANY_REDIRECTS", "REDIRECT_WITHOUT_LOCATION", "REDIRECT_LOOP", "MALFORMED_RESPONSE_WHY",
           "RETRY_AFTER_OVER_MAX", "RETRY_AFTER_PAST_DEADLINE", "CONNECTION_REFUSED", "CONNECTION_LOST",
           "TLS_ERROR", "HOST_NOT_FOUND", "MALFORMED_URL", "MALFORMED_RESPONSE", "PARSE_ERROR", "HTTP_STATUS",
           "NOT_HTML", "NO_ATTEMPT", "ERROR", "DISALLOWED_BY_ROBOTS", "UNSUPPORTED_ENCODING",
           "LABELS_ES", "label_es", "OUTCOMES_ES", "reason_table_es"]


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
DISALLOWED_BY_ROBOTS = "disallowed by robots.txt"  # skipped: the host's robots.txt asks crawlers not to fetch it
UNSUPPORTED_ENCODING = "unsupported encoding ({encoding})"  # skipped: a body coded in a way not decoded here


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
    shorter than its ``Content-Length`` (or its chunks) are ``"connection
    lost"``; a name that does not resolve is ``"host not found"``. Anything
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
    """False only for a body the connection cut short; anything else aiohttp's
    parser refused mid-body (bad gzip, a bad chunk size, too many trailers:
    the pure-Python parser's ``BadHttpMessage``) is in the bytes themselves."""
    from aiohttp.http_exceptions import ContentLengthError
    if isinstance(cause, ContentLengthError) or str(cause.message).startswith(_CUT_SHORT):
        return False  # a chunked body the connection cut short, as a Content-Length one: lost, not malformed
    return True


# What both of aiohttp's parsers (C and Python) say when the connection ends before
# the body does: "... content length header" (ContentLengthError) or "... transfer
# length header" (TransferEncodingError, a chunked body). Only the message tells the
# second from a malformed chunk, which is the same exception class.
_CUT_SHORT = "Not enough data to satisfy"


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
    if isinstance(exc, aiohttp.ClientConnectorDNSError):  # whatever the resolver (aiodns: a bare OSError)
        return HOST_NOT_FOUND
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
#: a crawler, :func:`support.web.links.classify` or the load generator gives is
#: here (``tests/test_fmt.py`` checks it); a template's ``{field}`` carries
#: its detail (a host, a status, a content type) over unchanged.
LABELS_ES: dict[str, str] = {
    links.EMPTY_HREF: "href vacío",
    links.FRAGMENT_ONLY: "solo un fragmento (la misma página)",
    links.NOT_HTTP: "el esquema {scheme}: no es http",
    links.BAD_URL: "URL mal formada ({detail})",
    links.OTHER_HOST: "otro host ({host})",
    links.OTHER_SCHEME: "otro esquema ({origin})",
    links.HREF_TOO_LONG: "href de más de {max} caracteres",
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
    DISALLOWED_BY_ROBOTS: "prohibida por robots.txt",
    UNSUPPORTED_ENCODING: "codificación no soportada ({encoding})",
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
