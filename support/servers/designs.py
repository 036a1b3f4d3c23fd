"""The four designs of notebook 09 (reference copies), plus aiohttp.web for the benchmark.

Each is ``serve(listener, stop, backend)``: serve until ``stop`` rings, then leave
no connection open and no thread running (see :mod:`support.servers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Callable

from support.eventloop import EventLoop
from support.servers.protocol import (
    BACKEND_TIMEOUT,
    BACKLOG,
    END,
    answer,
    ask_backend,
    parse_request,
    request,
    response,
)
from support.servers.running import Stop
from support.trampoline import Task, connect, send_all, wait_readable

# --------------------------------------------------------------------------
# Design 1: a thread per connection (blocking sockets, notebook 01)
# --------------------------------------------------------------------------


def _handle_blocking(conn: socket.socket, backend) -> None:
    with conn:
        data = b""
        while END not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        try:
            kind, value = parse_request(data)
        except ValueError as exc:
            conn.sendall(response(str(exc).encode(), 400))
            return
        if kind == "wait":
            with socket.create_connection(backend, timeout=BACKEND_TIMEOUT) as up:
                up.sendall(ask_backend(value))
                up.recv(16)
        conn.sendall(response(answer(kind, value)))


def serve_threads(listener: socket.socket, stop: Stop, backend) -> None:
    """Accept in a loop; one thread per connection runs the blocking handler."""
    listener.settimeout(0.1)  # wake up now and then to look at the bell
    threads: list[tuple[threading.Thread, socket.socket]] = []
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            threads = [(t, c) for t, c in threads if t.is_alive()]
            continue
        conn.settimeout(None)
        t = threading.Thread(target=_handle_blocking, args=(conn, backend), daemon=True)
        t.start()
        threads.append((t, conn))
    for t, conn in threads:
        with contextlib.suppress(OSError):  # already closed by its handler
            conn.shutdown(socket.SHUT_RDWR)  # a handler blocked in recv gets b"" and ends
        t.join()



# --------------------------------------------------------------------------
# Design 2: callbacks on the hand-written selector loop (notebook 02)
# --------------------------------------------------------------------------


class CallbackConnection:
    """One connection's state between callbacks: read, ask the backend, reply."""

    def __init__(self, loop: EventLoop, conn: socket.socket, backend, open_set: set):
        self.loop, self.conn, self.backend, self.open = loop, conn, backend, open_set
        self.data, self.up, self.out = b"", None, b""
        open_set.add(self)
        loop.add_reader(conn, self.on_request)

    def on_request(self) -> None:
        chunk = self.conn.recv(4096)
        self.data += chunk
        if not chunk:
            return self.close()
        if END not in self.data:
            return
        self.loop.remove(self.conn)
        try:
            self.kind, self.value = parse_request(self.data)
        except ValueError as exc:
            return self.reply(response(str(exc).encode(), 400))
        if self.kind != "wait":
            return self.reply(response(answer(self.kind, self.value)))
        self.up = socket.socket()
        self.up.setblocking(False)
        try:
            self.up.connect(self.backend)
        except BlockingIOError:
            pass
        self.loop.add_writer(self.up, self.on_backend_connected)

    def on_backend_connected(self) -> None:
        self.up.send(ask_backend(self.value))  # one short line: it fits in the buffer
        self.loop.add_reader(self.up, self.on_backend_answer)

    def on_backend_answer(self) -> None:
        self.up.recv(16)
        self.loop.remove(self.up)
        self.up.close()
        self.up = None
        self.reply(response(answer(self.kind, self.value)))

    def reply(self, data: bytes) -> None:
        self.out = data
        self.loop.add_writer(self.conn, self.on_writable)

    def on_writable(self) -> None:
        sent = self.conn.send(self.out)
        self.out = self.out[sent:]
        if not self.out:
            self.close()

    def close(self) -> None:
        for sock in (self.conn, self.up):
            if sock is not None:
                if sock in self.loop.watched():
                    self.loop.remove(sock)
                sock.close()
        self.open.discard(self)


def serve_callbacks(listener: socket.socket, stop: Stop, backend) -> None:
    """The notebook-02 loop: the listening socket's callback accepts, each
    connection is a chain of callbacks; the bell's callback closes everything."""
    loop, connections = EventLoop(), set()
    listener.setblocking(False)

    def on_accept() -> None:
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            return
        conn.setblocking(False)
        CallbackConnection(loop, conn, backend, connections)

    def on_stop() -> None:
        for sock in loop.watched():
            loop.remove(sock)
        for c in list(connections):
            c.close()

    loop.add_reader(listener, on_accept)
    loop.add_reader(stop.wakeup, on_stop)
    try:
        loop.run(timeout=24 * 3600)
    finally:
        loop.close()



# --------------------------------------------------------------------------
# Design 3: generator coroutines on the trampoline (notebook 04)
# --------------------------------------------------------------------------


def _read_request(loop: EventLoop, conn: socket.socket):
    data = b""
    while END not in data:
        yield from wait_readable(loop, conn)
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
    return data


def _handle_generator(loop: EventLoop, conn: socket.socket, backend):
    with conn:
        data = yield from _read_request(loop, conn)
        if data is None:
            return
        try:
            kind, value = parse_request(data)
        except ValueError as exc:
            yield from send_all(loop, conn, response(str(exc).encode(), 400))
            return
        if kind == "wait":
            with socket.socket() as up:
                yield from connect(loop, up, backend)
                yield from send_all(loop, up, ask_backend(value))
                yield from wait_readable(loop, up)
                up.recv(16)
        yield from send_all(loop, conn, response(answer(kind, value)))


def serve_generators(listener: socket.socket, stop: Stop, backend) -> None:
    """One Task per connection on the notebook-04 trampoline; the bell closes them all."""
    loop, tasks = EventLoop(), set()
    listener.setblocking(False)

    def accept_forever():
        while True:
            yield from wait_readable(loop, listener)
            try:
                conn, _ = listener.accept()
            except BlockingIOError:
                continue
            conn.setblocking(False)
            task = Task(_handle_generator(loop, conn, backend))
            if not task.done():
                tasks.add(task)
                task.add_done_callback(tasks.discard)

    def on_stop() -> None:
        for sock in loop.watched():
            loop.remove(sock)
        for task in list(tasks) + [acceptor]:
            task.coro.close()  # GeneratorExit at its yield: its `with` blocks close the sockets

    acceptor = Task(accept_forever())
    loop.add_reader(stop.wakeup, on_stop)
    try:
        loop.run(timeout=24 * 3600)
    finally:
        loop.close()



# --------------------------------------------------------------------------
# Design 4: asyncio streams (notebook 05)
# --------------------------------------------------------------------------


async def _handle_asyncio(reader, writer, backend) -> None:
    try:
        data = await reader.readuntil(END)
        try:
            kind, value = parse_request(data)
        except ValueError as exc:
            writer.write(response(str(exc).encode(), 400))
            return
        if kind == "wait":
            up_reader, up_writer = await asyncio.open_connection(*backend)
            up_writer.write(ask_backend(value))
            await up_reader.read(16)
            up_writer.close()
        writer.write(response(answer(kind, value)))
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
        finally:
            handlers.discard(asyncio.current_task())

    server = await asyncio.start_server(tracked, sock=listener, backlog=BACKLOG)
    await _until_rung(stop)
    server.close()
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
            kind, value = parse_request(request(req.path))
        except ValueError as exc:
            return web.Response(status=400, body=str(exc).encode())
        if kind == "wait":
            up_reader, up_writer = await asyncio.open_connection(*backend)
            up_writer.write(ask_backend(value))
            await up_reader.read(16)
            up_writer.close()
        return web.Response(body=answer(kind, value))

    async def main():
        app = web.Application()
        app.router.add_get("/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.SockSite(runner, listener, backlog=BACKLOG).start()
        await _until_rung(stop)
        await runner.cleanup()

    asyncio.run(main())


DESIGNS: dict[str, Callable] = {
    "threads": serve_threads,
    "callbacks": serve_callbacks,
    "generators": serve_generators,
    "asyncio": serve_asyncio,
    "aiohttp": serve_aiohttp,
}
