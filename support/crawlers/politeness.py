"""A polite crawler (notebook 07): robots.txt, a host-wide back-off, a name.

Three courtesies of the asyncio crawler towards the sites it visits:

* :data:`USER_AGENT`: every request says which program sends it, and where
  to read about it, so a site's owner can tell it apart and block it or
  write a rule for it in ``robots.txt``.
* :class:`HostPacer`: when a host answers 429 or 503 with ``Retry-After``,
  *every* request to that host waits (not only the URL that got the answer:
  the server is saying "you, all of you, wait"). After a 429 ("Too Many
  Requests": too fast, says the server) requests to it are also spaced: at
  first at half the rate that provoked it, twice as far apart at each new
  one, for the rest of the crawl. A 503 ("unavailable for that long") only
  pauses: it says nothing about the rate. The seconds each
  host was paused go to the report (``CrawlResult.paused``, ``.waited``).
* :class:`Robots`: each host's ``/robots.txt`` is read once (through the
  same session, timeout, pacer and a byte cap), parsed by the standard
  library's :mod:`urllib.robotparser`, and a URL it disallows is skipped
  with :data:`~support.web.reasons.DISALLOWED_BY_ROBOTS`.

Discussion: RFC 9309 asks a crawler that cannot reach ``robots.txt``
(a 5xx, a timeout) to assume everything is disallowed. This crawler, which
crawls once and reports every URL's outcome, lets each page's own fetch say
what is wrong instead (a failure named "timeout" or "HTTP 503" tells more
than a thousand URLs "disallowed"); ``CrawlResult.robots`` says, per host,
what ``robots.txt`` answered. A 4xx (no ``robots.txt``) allows everything, as
the RFC says. All times come from the event loop, so tests run it in
virtual time.
"""

from __future__ import annotations

import asyncio
import io
from collections import deque
from typing import Callable
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import aiohttp

from support.web.reasons import http_reason, reason_of

__all__ = ["USER_AGENT", "ROBOTS_AGENT", "ROBOTS_MAX_BYTES", "HostPacer", "Hosts", "Robots", "origin_of"]

#: The crawler's product token: what a ``User-agent:`` line of robots.txt names.
ROBOTS_AGENT = "corrutinas-crawler"
#: Sent with every request: who is asking, and where to read about it.
USER_AGENT = f"{ROBOTS_AGENT}/1.0 (crawler educativo del curso Corrutinas, notebook 07; aiohttp)"
#: Most bytes of a robots.txt read (RFC 9309 asks crawlers to parse at least 500 KiB).
ROBOTS_MAX_BYTES = 512 * 1024


#: Waits shorter than this are no wait: a virtual clock (looptime) rounds to the microsecond,
#: and a sleep of 1e-15 s would not move it.
_TICK = 1e-6


def origin_of(url: str) -> str:
    """``"http://host:port"``: what robots.txt and the pacer are kept per."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class HostPacer:
    """When requests to one host may start: paused after a 429/503 + ``Retry-After``, then spaced.

    ``turn()`` is awaited before each request (it returns at once while the
    host asked for nothing); ``pause(seconds)`` is called when the host asks
    to wait. ``waited`` adds up the seconds the host was paused (overlapping
    pauses counted once).
    """

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self.paused_until = float("-inf")
        self.interval = 0.0              # least seconds between the starts of two requests
        self.next_start = float("-inf")
        self.recent: deque[float] = deque()  # starts in the last second
        self.waited = 0.0
        self.pauses = 0

    async def turn(self) -> None:
        while True:
            now = self.clock()
            start = max(self.paused_until, self.next_start)
            if start - now < _TICK:
                break
            await asyncio.sleep(start - now)  # a pause may grow meanwhile: look again
        self.next_start = now + self.interval
        self.recent.append(now)
        while self.recent[0] <= now - 1.0:
            self.recent.popleft()

    def pause(self, seconds: float, slow_down: bool = False) -> None:
        """The host asked for ``seconds`` without requests (from now); with
        ``slow_down`` (a 429), the requests after the pause are spaced too."""
        now = self.clock()
        until = now + seconds
        if until <= self.paused_until:
            return
        if self.paused_until <= now:  # a new pause, not the echo of one going on
            self.pauses += 1
            if slow_down:
                rate = sum(1 for t in self.recent if t > now - 1.0)
                self.interval = min(max(2 * self.interval, 2.0 / max(rate, 1)), max(seconds, 1.0))
            self.waited += seconds
        else:
            self.waited += until - self.paused_until
        self.paused_until = until


class Hosts:
    """One :class:`HostPacer` per origin, made on first use."""

    def __init__(self, clock: Callable[[], float]):
        self.clock = clock
        self.pacers: dict[str, HostPacer] = {}

    def of(self, url: str) -> HostPacer:
        origin = origin_of(url)
        pacer = self.pacers.get(origin)
        if pacer is None:
            pacer = self.pacers[origin] = HostPacer(self.clock)
        return pacer

    def paused(self) -> dict[str, float]:
        """Origin -> seconds paused, for the hosts that asked for a pause."""
        return {origin: p.waited for origin, p in self.pacers.items() if p.pauses}


class Robots:
    """Each host's ``/robots.txt``, read once and asked for every URL.

    ``await robots.allows(url)``: the first call for a host reads its
    robots.txt (the other workers asking about that host meanwhile wait for
    that one read); later calls are a dictionary lookup and a
    :meth:`~urllib.robotparser.RobotFileParser.can_fetch`. ``status`` keeps
    what each host answered, for the report.
    """

    def __init__(self, session: aiohttp.ClientSession, hosts: Hosts, timeout: aiohttp.ClientTimeout | None,
                 max_bytes: int = ROBOTS_MAX_BYTES):
        self.session, self.hosts, self.timeout, self.max_bytes = session, hosts, timeout, max_bytes
        self.rules: dict[str, RobotFileParser | None] = {}  # None: no rules (everything allowed)
        self.status: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def allows(self, url: str) -> bool:
        origin = origin_of(url)
        if origin not in self.rules:
            lock = self._locks.setdefault(origin, asyncio.Lock())
            async with lock:  # one read per host; a read cancelled half-way is done by the next caller
                if origin not in self.rules:
                    self.rules[origin] = await self._read(origin)
        rules = self.rules[origin]
        return rules is None or rules.can_fetch(ROBOTS_AGENT, url)

    async def _read(self, origin: str) -> RobotFileParser | None:
        await self.hosts.of(origin).turn()
        try:
            async with self.session.get(origin + "/robots.txt", timeout=self.timeout, max_redirects=5) as resp:
                if not 200 <= resp.status < 300:
                    kind = "none" if 400 <= resp.status < 500 else "unreachable"
                    self.status[origin] = f"{kind} ({http_reason(resp.status)})"
                    return None
                text = await self._text(resp)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            self.status[origin] = f"unreachable ({reason_of(exc)})"
            return None
        rules = RobotFileParser()
        rules.parse(text.splitlines())
        rules.modified()  # "read": can_fetch refuses everything from a parser never marked so
        self.status[origin] = "read"
        return rules

    async def _text(self, resp: aiohttp.ClientResponse) -> str:
        """The first ``max_bytes`` of the body as UTF-8 (RFC 9309), the rest not read."""
        body = io.BytesIO()
        async for chunk in resp.content.iter_any():
            body.write(chunk[:self.max_bytes - body.tell()])
            if body.tell() >= self.max_bytes:
                break
        return body.getvalue().decode("utf-8", "replace")
