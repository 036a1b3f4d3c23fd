"""Design 4: asyncio streams (notebook 05), and aiohttp.web serving the same
protocol (the benchmark's industrial reference); both ask the backend with
:func:`_ask_asyncio`, under ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import socket

from support.servers import protocol
from support.servers.running import Stop


async def _ask_asyncio(backend, value: float) -> None:
    """Ask the backend to wait ``value`` s; ``OSError`` (``TimeoutError`` past
    :data:`~support.servers.protocol.BACKEND_TIMEOUT`) if it fails. The connection is closed on every way out."""
    async with asyncio.timeout(protocol.BACKEND_TIMEOUT):
        up_reader, up_writer = await asyncio.open_connection(*backend)
        try:
            up_writer.write(protocol.ask_backend(value))
            protocol.backend_answered(await up_reader.read(16))
        finally:
            up_writer.close()


async def _handle_asyncio(reader, writer, backend) -> None:
    try:
        try:
            data = await reader.readuntil(protocol.END)  # the stream's limit is MAX_HEAD (start_server)
            kind, value = protocol.parse_request(data)
        except asyncio.LimitOverrunError:
            writer.write(protocol.response(f"request head longer than {protocol.MAX_HEAD} bytes".encode(), 400))
            return
        except ValueError as exc:
            writer.write(protocol.response(str(exc).encode(), 400))
            return
        reply = None
        if kind == "wait":
            try:
                await _ask_asyncio(backend, value)
            except OSError as exc:  # refused, reset, TimeoutError
                reply = protocol.response(protocol.bad_gateway(exc), 502)
        writer.write(reply or protocol.response(protocol.answer(kind, value)))
        await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _until_rung(stop: Stop) -> None:
    """Wait (on the running loop) until the bell rings."""
    rung = asyncio.Event()
    asyncio.get_running_loop().add_reader(stop.wakeup, rung.set)
    try:
        await rung.wait()
    finally:
        asyncio.get_running_loop().remove_reader(stop.wakeup)


async def _serve_streams(listener, stop: Stop, handler) -> None:
    handlers: set[asyncio.Task] = set()

    async def tracked(reader, writer):
        handlers.add(asyncio.current_task())
        try:
            await handler(reader, writer)
        except asyncio.CancelledError:  # cancelled at stop: the normal end of a handler
            pass
        finally:
            handlers.discard(asyncio.current_task())

    server = await asyncio.start_server(tracked, sock=listener, backlog=protocol.BACKLOG, limit=protocol.MAX_HEAD)
    await _until_rung(stop)
    server.close()
    # A handler task created in the last turn has not run its first step yet: cancelled now, its
    # `except CancelledError` never runs, and 3.11/3.12 log the error (gh-113538). One turn first.
    await asyncio.sleep(0)
    for task in list(handlers):
        task.cancel()
    await asyncio.gather(*handlers, return_exceptions=True)


def serve_asyncio(listener: socket.socket, stop: Stop, backend, debug: bool = False) -> None:
    """``asyncio.start_server`` on a loop of its own; the bell closes the server."""
    async def handler(reader, writer):
        await _handle_asyncio(reader, writer, backend)

    asyncio.run(_serve_streams(listener, stop, handler), debug=debug)


def serve_aiohttp(listener: socket.socket, stop: Stop, backend) -> None:
    """The industrial reference: aiohttp.web serving the same protocol."""
    from aiohttp import web

    async def handle(req: web.Request) -> web.Response:
        try:
            kind, value = protocol.parse_request(protocol.request(req.path))
        except ValueError as exc:
            return web.Response(status=400, body=str(exc).encode())
        if kind == "wait":
            try:
                await _ask_asyncio(backend, value)
            except OSError as exc:  # refused, reset, TimeoutError
                return web.Response(status=502, body=protocol.bad_gateway(exc))
        return web.Response(body=protocol.answer(kind, value))

    async def main():
        app = web.Application()
        app.router.add_get("/{tail:.*}", handle)
        # a handler still waiting on the backend at stop is cancelled after 1 s
        # (aiohttp's default waits 60 s for it)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.SockSite(runner, listener, backlog=protocol.BACKLOG).start()
        await _until_rung(stop)
        await runner.cleanup()

    asyncio.run(main())
