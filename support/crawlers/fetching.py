"""One page for the asyncio crawler (notebook 07): fetch it, and parse it off the loop.

* :func:`fetch`: GET one URL with retries (backoff, ``Retry-After``), a
  per-request timeout, redirects reported (not followed; a ``Refresh``
  header or ``<meta http-equiv="refresh">`` is one too, :mod:`support.web.refresh`),
  the content type checked and the body read within ``max_bytes`` counted
  after decompression (:mod:`support.web.response`); it answers a
  :class:`Fetched`;
* :func:`page_links` and :class:`ParseThread`: decode a page and extract its
  links, in one daemon thread for pages too big to parse on the event loop.

:mod:`support.crawlers.asyncio_crawler` is the crawl built on these; it re-exports
:func:`fetch`, :data:`TRANSIENT_STATUSES` and :data:`MAX_RETRY_AFTER`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from dataclasses import dataclass

import aiohttp

from support.web.links import PageLinks, extract_page_links
from support.web.refresh import refresh_target
from support.web.report import (
    MAX_BYTES,
    NO_ATTEMPT,
    NOT_HTML,
    RETRY_AFTER_OVER_MAX,
    RETRY_AFTER_PAST_DEADLINE,
    TOO_BIG,
    UNSUPPORTED_ENCODING,
    http_reason,
    malformed_response,
    reason_of,
)
from support.web.response import (
    HTML_TYPES,
    BodyTooBig,
    declared_type,
    decode_html,
    mime_type,
    parse_content_type,
    read_body,
    retry_after,
    unsupported_coding,
)

__all__ = ["fetch", "Fetched", "page_links", "ParseThread", "TRANSIENT_STATUSES", "MAX_RETRY_AFTER", "PARSE_ON_LOOP_BYTES"]

#: Answers worth asking again after a pause: the server may recover.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Answers whose ``Retry-After`` says how long to wait before asking again.
_RETRY_AFTER_STATUSES = frozenset({429, 503})
#: Longest ``Retry-After`` the crawler waits for; a server asking for more fails the URL at once.
MAX_RETRY_AFTER = 30.0
#: Pages up to this size are parsed on the loop (``html.parser``'s worst case at
#: this size is ~0.1 s); bigger ones in the crawl's parse thread, off the loop.
PARSE_ON_LOOP_BYTES = 16_384



# --------------------------------------------------------------------------
# One fetch: status, redirects, content type, size, retries
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fetched:
    """What :func:`fetch` made of one URL.

    ``kind`` is one of:

    * ``"page"``: an HTML page, ``status``, ``body`` (decoded bytes) and the
      header's ``charset`` label;
    * ``"redirect"``: ``status`` (3xx, or 200 for a refresh) and its
      ``location`` (None when a 3xx came without one);
    * ``"skip"``: not a page to parse, ``reason`` says why (not HTML, too big,
      an unsupported encoding);
    * ``"fail"``: ``reason`` says why, after ``attempts`` requests.
    """

    kind: str
    status: int | None = None
    body: bytes = b""
    charset: str | None = None
    location: str | None = None
    reason: str | None = None
    attempts: int = 0


def _fail(reason: str, attempts: int) -> Fetched:
    return Fetched("fail", reason=reason, attempts=attempts)


def _skip(reason: str) -> Fetched:
    return Fetched("skip", reason=reason)


async def fetch(session: aiohttp.ClientSession, url: str, *, timeout: aiohttp.ClientTimeout | None = None,
                retries: int = 2, backoff: float = 0.05, max_bytes: int = MAX_BYTES,
                on_retry=None, time_left=lambda: None, pacer=None) -> Fetched:
    """GET ``url`` once (plus up to ``retries`` retries after a transient error): a :class:`Fetched`.

    * Transient errors (timeouts, resets, 429/5xx) are retried after
      ``backoff``, ``2*backoff``, ``4*backoff``... seconds, or after the
      ``Retry-After`` of a 429/503 when it asks for longer. A ``Retry-After``
      over :data:`MAX_RETRY_AFTER`, or over ``time_left()`` (the seconds to
      the crawl's deadline, None without one), fails the URL at once.
    * ``pacer`` (a :class:`support.crawlers.politeness.HostPacer`, optional):
      every attempt awaits ``pacer.turn()`` first, and a ``Retry-After`` is
      given to ``pacer.pause()``, so that it holds back every request to the
      host, not only this URL's next attempt.
    * A ``Refresh`` header or ``<meta http-equiv="refresh">`` naming a URL
      makes an HTML page a ``"redirect"`` (status 200) to that URL.
    * A body coded in a way aiohttp does not undo (``Content-Encoding: gzip,
      gzip``, ``Transfer-Encoding: gzip, chunked``) is skipped,
      :data:`~support.web.reasons.UNSUPPORTED_ENCODING`, never parsed.
    * A malformed answer (bad status line, too many headers, two
      ``Content-Length``, a bad chunk size, a body that cannot be decoded)
      fails at once, named by :func:`~support.web.report.malformed_response`.
    * The body is read as decoded bytes, at most ``max_bytes`` of them
      (:func:`support.web.response.read_body`); one without ``Content-Type``, or
      typed "unknown" (``unknown/unknown``, ``*/*``), is read and sniffed.
      Redirects are *not* followed here: the crawler decides whether the
      target is worth a visit.
    """
    reason, wait = NO_ATTEMPT, 0.0
    for attempt in range(retries + 1):
        if attempt:
            if on_retry is not None:
                on_retry()
            await asyncio.sleep(max(wait, backoff * 2 ** (attempt - 1)))
        if pacer is not None:
            await pacer.turn()
        try:
            async with session.get(url, allow_redirects=False, timeout=timeout) as resp:
                status = resp.status
                if status in TRANSIENT_STATUSES:
                    reason, wait = http_reason(status), 0.0
                    asked = retry_after(resp.headers.get("Retry-After")) if status in _RETRY_AFTER_STATUSES else None
                    if asked is not None:
                        left = time_left()
                        if asked > MAX_RETRY_AFTER or (left is not None and asked > left):
                            why = RETRY_AFTER_OVER_MAX if asked > MAX_RETRY_AFTER else RETRY_AFTER_PAST_DEADLINE
                            return _fail(why.format(status=status, seconds=f"{asked:.0f}",
                                                    max=f"{MAX_RETRY_AFTER:g}"), attempt + 1)
                        if pacer is not None:
                            pacer.pause(asked, slow_down=status == 429)  # every worker's next turn() waits
                        else:
                            wait = asked
                    continue
                if status in _REDIRECT_STATUSES:
                    return Fetched("redirect", status, location=resp.headers.get("Location"))
                if not 200 <= status < 300:
                    return _fail(http_reason(status), attempt + 1)
                return await _read_page(resp, max_bytes)
        except BodyTooBig:
            return _skip(TOO_BIG)
        except (aiohttp.ClientSSLError, aiohttp.InvalidURL) as exc:  # asking again will not help
            return _fail(reason_of(exc), attempt + 1)
        except (aiohttp.ClientError, OSError) as exc:  # timeout, reset, refused, bad payload...
            reason = reason_of(exc)
            if malformed_response(exc) is not None:  # the same server would send the same bytes
                return _fail(reason, attempt + 1)
    return _fail(reason, retries + 1)


async def _read_page(resp: aiohttp.ClientResponse, max_bytes: int) -> Fetched:
    """A 2xx answer: its type checked, its body read (or not), its refresh followed."""
    header = resp.headers.get("Content-Type")
    declared = declared_type(header)  # None: the body's first bytes will say
    if declared is not None and declared not in HTML_TYPES:
        return _skip(NOT_HTML.format(type=declared))  # never read
    coding = unsupported_coding(resp.headers)
    if coding is not None:
        return _skip(UNSUPPORTED_ENCODING.format(encoding=coding))  # never read: it would be parsed still coded
    body = await read_body(resp, max_bytes)
    if declared is None and (ctype := mime_type(header, body)) not in HTML_TYPES:
        return _skip(NOT_HTML.format(type=ctype))
    content_type = parse_content_type(header)
    charset = content_type.charset if content_type else None
    target = refresh_target(resp.headers.get("Refresh"), body, charset)
    if target is not None:
        return Fetched("redirect", resp.status, location=target)
    return Fetched("page", resp.status, body, charset)



def page_links(body: bytes, charset: str | None, parser: str) -> PageLinks:
    """Decode a page (BOM, header charset, ``<meta>``, UTF-8) and extract its ``<base href>`` and its
    distinct hrefs, in order (a page often links the same href twice; deduplicated here, in the
    parse thread for a big page, not on the loop)."""
    links = extract_page_links(decode_html(body, charset), parser)
    return PageLinks(links.base, list(dict.fromkeys(links.hrefs)))


class ParseThread(concurrent.futures.Executor):
    """One daemon thread that parses big pages off the event loop, in order.

    Discussion: a parse cannot be interrupted (BeautifulSoup's ``html.parser``
    can take tens of seconds on a hostile page), so at the end of the crawl
    the pages still waiting are dropped and a parse already running is left
    to finish on its own: the thread is a daemon, and nobody waits for it. A
    process could be killed instead, but would cost a process per crawl and a
    copy of every page; with the default parser (a tokenizer, linear in the
    page's size) the thread is a guard, not a speed-up: the GIL lets one parse run
    at a time, and the loop keeps its turns.
    """

    def __init__(self):
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._work, daemon=True, name="crawl-parse").start()

    def submit(self, fn, /, *args, **kwargs) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._jobs.put((future, fn, args, kwargs))
        return future

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, fn, args, kwargs = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args, **kwargs))
                except BaseException as exc:  # handed to whoever awaits the future
                    future.set_exception(exc)

    def shutdown(self, wait: bool = False, *, cancel_futures: bool = True) -> None:
        """Drop the pages still waiting and let the thread end after its current parse."""
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job[0].cancel()
        self._jobs.put(None)


