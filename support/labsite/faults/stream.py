"""Fault modes told by the connection: too slow, cut short, too long."""

from __future__ import annotations

import math

from aiohttp import web

from support.labsite.toolkit import StreamedFault, Visit, int_option, reset


class Drip(StreamedFault):
    """Slow drip: 200, a ``Content-Length`` for the whole page, then one byte
    every ``drip_interval`` s (0.5) for ``drip_seconds`` (120) before the rest.
    Bytes keep arriving, so only a *total* timeout stops it, never a read timeout."""

    mode = "drip"
    defaults = {
        "drip_seconds": 120.0,  # how long a drip page takes to arrive
        "drip_interval": 0.5,   # seconds between two bytes of a drip page
    }

    @classmethod
    def check(cls, options: dict) -> None:
        for key in ("drip_seconds", "drip_interval"):
            if not isinstance(options[key], (int, float)) or options[key] < 0:
                raise ValueError(f"{key} must be seconds >= 0, got {options[key]!r}")
        if options["drip_interval"] <= 0:
            raise ValueError("drip_interval must be > 0")

    async def stream(self, visit: Visit, response: web.StreamResponse) -> None:
        body, seconds, interval = visit.body, self.options["drip_seconds"], self.options["drip_interval"]
        response.content_length = len(body)
        await response.prepare(visit.request)
        # Discussion: the drip is counted in pauses, not read off a clock, so
        # it lasts the sum of its pauses: drip_seconds in real time, or at
        # once with the virtual sleep a test injects into the site.
        steps = math.ceil(seconds / interval - 1e-9) if seconds > 0 else 0
        sent = 0
        for step in range(steps):
            if await visit.pause(min(interval, seconds - step * interval)):
                visit.cut()
                return
            if sent < len(body) - 1:
                await response.write(body[sent:sent + 1])
                sent += 1
        await response.write(body[sent:])


class Reset(StreamedFault):
    """The connection dies mid-body: 200 with the full ``Content-Length``, half
    the body, then a TCP reset (RST, odd pages) or an early clean close (FIN,
    even pages)."""

    mode = "reset"

    async def stream(self, visit: Visit, response: web.StreamResponse) -> None:
        body = visit.body
        response.content_length = len(body)
        await response.prepare(visit.request)
        await response.write(body[: len(body) // 2])
        if visit.page % 2:
            reset(visit.request)
        elif visit.request.transport is not None:  # FIN before the promised length
            visit.request.transport.close()


class Huge(StreamedFault):
    """A 200 ``text/html`` page of ``huge_bytes`` (5 MB, bigger than a crawler's
    ``max_bytes`` of 1 MB): its links first, then padding. Even pages declare
    ``Content-Length``; odd pages are chunked, so the size is only known while
    reading. Streamed: the server never holds the body in memory."""

    mode = "huge"
    defaults = {"huge_bytes": 5_000_000}  # size of a huge page

    @classmethod
    def check(cls, options: dict) -> None:
        int_option(options, "huge_bytes", 1, 10**9)

    async def stream(self, visit: Visit, response: web.StreamResponse) -> None:
        full, size = visit.body, self.options["huge_bytes"]
        tail = b"</pre>\n</body>\n</html>\n"
        head = full[: full.rindex(b"</body>")] + b"<pre>\n"
        filler = max(0, size - len(head) - len(tail))
        if visit.page % 2 == 0:
            response.content_length = len(head) + filler + len(tail)
        else:
            response.enable_chunked_encoding()
        await response.prepare(visit.request)
        await response.write(head)
        block = (b"relleno " * 8191 + b"\n")[:65536]
        while filler > 0:
            if visit.stopping():
                visit.cut()
                return
            piece = block[:filler]
            await response.write(piece)
            filler -= len(piece)
        await response.write(tail)
