"""Small purpose-built servers for the crawler's hostile-web tests (issue 15).

The labsite serves a course-shaped web; these serve the web nobody here
wrote: decompression bombs, comment bombs, link traps, ``Retry-After``, odd
encodings, redirect loops, and (:class:`RawServer`) answers that break HTTP
itself. Each runs on its own event loop in a background thread, on a free
port of 127.0.0.1 (or ``::1``), counts the requests it gets, and is stopped
by the test that started it (the fixtures ``make_hostile`` and ``make_raw`` in
``tests/conftest.py``). Plus two helpers of those tests: :func:`links` (a page
body) and :func:`accounted` (URLs with an outcome).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from typing import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def html(text: str | bytes, status: int = 200, content_type: str = "text/html; charset=utf-8",
         **headers: str) -> Handler:
    """A handler that answers ``text`` (str is sent as UTF-8) with these headers.
    (aiohttp always sends a Content-Type: a body without one needs :class:`RawServer`.)"""
    body = text.encode() if isinstance(text, str) else text

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, status=status, headers={"Content-Type": content_type, **headers})
    return handler


def raw_page(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    """An HTTP/1.1 answer for :class:`RawServer`: exactly these header lines, then ``body``."""
    head = "".join(f"{h}\r\n" for h in (*headers, f"Content-Length: {len(body)}", "Connection: close"))
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode("latin-1") + body


class _Loop:
    """One event loop in a daemon thread, started and stopped by its owner."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="hostile-server")
        self.thread.start()

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=10)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


class HostileSite:
    """An aiohttp site whose pages are handlers a test registers by path.

    ``site.pages["/"] = html('<a href="/a">a</a>')``; a key ending in ``*`` serves
    every path that starts with what precedes it; an unknown path is a 404.
    ``hits`` counts requests by raw path (with the query, as sent) and
    ``times`` keeps each request's arrival (``time.monotonic()``) by path.
    """

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.pages: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        self.times: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.raw_path
        with self._lock:
            self.hits[path] += 1
            self.times.setdefault(path, []).append(time.monotonic())
        handler = self.pages.get(path) or self.pages.get(request.path) or next(
            (h for key, h in self.pages.items() if key.endswith("*") and request.path.startswith(key[:-1])), None)
        if handler is None:
            return web.Response(status=404, text="not found")
        return await handler(request)

    def start(self) -> "HostileSite":
        self._loop = _Loop()
        self.port = self._loop.run(self._start())
        bracketed = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{bracketed}:{self.port}/"
        return self

    async def _start(self) -> int:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        return site._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        self._loop.run(self._runner.cleanup())
        self._loop.close()


class RawServer:
    """A TCP server on 127.0.0.1 that answers each path with raw bytes, then closes.

    For answers aiohttp's server would never send: a bad chunk size, an
    HTTP/0.9 reply, 10,000 headers, two Content-Lengths, broken brotli.
    ``hits`` counts the requests per path (so a test can see retries).
    """

    def __init__(self, answers: dict[str, bytes]):
        self.answers = answers
        self.hits: Counter[str] = Counter()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            path = head.split(b" ", 2)[1].decode("latin-1")
            self.hits[path] += 1
            writer.write(self.answers.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, IndexError):
            pass
        finally:
            writer.close()

    def start(self) -> "RawServer":
        self._loop = _Loop()
        self._server = self._loop.run(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        return self

    def stop(self) -> None:
        async def close():
            self._server.close()
            await self._server.wait_closed()
        self._loop.run(close())
        self._loop.close()


def ipv6_loopback_available() -> bool:
    """True when this machine can bind ``::1`` (tests on IPv6 skip otherwise)."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def links(*hrefs: str, extra: str = "") -> str:
    return "<html><body>" + extra + "".join(f'<a href="{h}">{h}</a>\n' for h in hrefs) + "</body></html>"


def accounted(result) -> int:
    """URLs with an outcome, counted: crawled + failed + skipped (listed or only counted)."""
    return len(result.crawled) + sum(result.reasons().values())
