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

from support.crawlers.trampoline import Task, connect, send_all, wait_readable, with_timeout
from support.kernel.eventloop import EventLoop
from support.servers.protocol import (
    BACKEND_TIMEOUT,
    BACKLOG,
    END,
    MAX_HEAD,
    answer,
    ask_backend,
    backend_answered,
    bad_gateway,
    head_complete,
    parse_request,
    request,
    response,
)
from support.servers.running import Stop

# Discussion: what every design does with a client or a backend that fails.
# A request head past MAX_HEAD bytes, or one that is not ours, is answered 400;
# a backend that refuses, resets or stays silent past BACKEND_TIMEOUT, 502; a
# client that resets costs its own connection only, never the server.

# --------------------------------------------------------------------------
# Design 1: a thread per connection (blocking sockets, notebook 01)
# --------------------------------------------------------------------------


class _Held:
    """The sockets the handler threads hold right now; ``shut_down()`` (at stop)
    shuts down each of them, and any added later, so that no handler stays
    blocked in ``recv``, on its client or on the backend."""

    def __init__(self):
        self._lock = threading.Lock()
        self._socks: set[socket.socket] = set()
        self._down = False

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.add(sock)
            if self._down:
                self._shut(sock)

    def discard(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.discard(sock)

    def shut_down(self) -> None:
        with self._lock:
            self._down = True
            for sock in self._socks:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # already closed by its handler
            sock.shutdown(socket.SHUT_RDWR)  # a handler blocked in recv gets b"" and ends


def _ask_blocking(backend, value: float, held: _Held) -> None:
    with socket.create_connection(backend, timeout=BACKEND_TIMEOUT) as up:
        held.add(up)
        try:
            up.sendall(ask_backend(value))
            backend_answered(up.recv(16))
        finally:
            held.discard(up)


def _handle_blocking(conn: socket.socket, backend, held: _Held) -> None:
    with conn:
        try:
            data = b""
            while not head_complete(data):
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            kind, value = parse_request(data)
            reply = None
            if kind == "wait":
                try:
                    _ask_blocking(backend, value, held)
                except OSError as exc:  # refused, reset, silent past BACKEND_TIMEOUT
                    reply = response(bad_gateway(exc), 502)
            conn.sendall(reply or response(answer(kind, value)))
        except ValueError as exc:
            with contextlib.suppress(OSError):
                conn.sendall(response(str(exc).encode(), 400))
        except OSError:  # the client reset or went away: only this connection ends
            pass
        finally:
            held.discard(conn)


def serve_threads(listener: socket.socket, stop: Stop, backend) -> None:
    """Accept in a loop; one thread per connection runs the blocking handler."""
    listener.settimeout(0.1)  # wake up now and then to look at the bell
    held, threads, keep = _Held(), [], 64
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        conn.settimeout(None)
        held.add(conn)
        t = threading.Thread(target=_handle_blocking, args=(conn, backend, held), daemon=True)
        t.start()
        threads.append(t)
        if len(threads) > 2 * keep:  # forget ended threads: the list stays about the live ones
            threads = [t for t in threads if t.is_alive()]
            keep = max(64, len(threads))
    held.shut_down()
    for t in threads:
        t.join()



# --------------------------------------------------------------------------
# Design 2: callbacks on the hand-written selector loop (notebook 02)
# --------------------------------------------------------------------------


class CallbackConnection:
    """One connection's state between callbacks: read, ask the backend, reply.

    A socket error costs this connection only: each callback that touches a
    socket catches ``OSError`` (the backend's becomes a 502, the client's
    closes the connection), so nothing escapes into the loop."""

    def __init__(self, loop: EventLoop, conn: socket.socket, backend, open_set: set):
        self.loop, self.conn, self.backend, self.open = loop, conn, backend, open_set
        self.data, self.up, self.out, self.timer = b"", None, b"", None
        open_set.add(self)
        loop.add_reader(conn, self.on_request)

    def on_request(self) -> None:
        try:
            chunk = self.conn.recv(4096)
        except OSError:  # the client reset
            return self.close()
        self.data += chunk
        if not chunk:
            return self.close()
        try:
            if not head_complete(self.data):
                return
            self.kind, self.value = parse_request(self.data)
        except ValueError as exc:
            return self.reply(response(str(exc).encode(), 400))
        self.loop.remove(self.conn)
        if self.kind != "wait":
            return self.reply(response(answer(self.kind, self.value)))
        self.up = socket.socket()
        self.up.setblocking(False)
        try:
            self.up.connect(self.backend)
        except BlockingIOError:
            pass
        except OSError as exc:
            return self.backend_failed(exc)
        self.timer = self.loop.call_later(BACKEND_TIMEOUT, self.backend_failed,
                                          TimeoutError(f"no answer in {BACKEND_TIMEOUT} s"))
        self.loop.add_writer(self.up, self.on_backend_connected)

    def on_backend_connected(self) -> None:
        try:
            self.up.send(ask_backend(self.value))  # one short line: it fits in the buffer
        except OSError as exc:  # refused
            return self.backend_failed(exc)
        self.loop.add_reader(self.up, self.on_backend_answer)

    def on_backend_answer(self) -> None:
        try:
            backend_answered(self.up.recv(16))
        except OSError as exc:
            return self.backend_failed(exc)
        self.drop_backend()
        self.reply(response(answer(self.kind, self.value)))

    def backend_failed(self, exc: OSError) -> None:
        self.drop_backend()
        self.reply(response(bad_gateway(exc), 502))

    def drop_backend(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.up is not None:
            if self.loop.watching(self.up):
                self.loop.remove(self.up)
            self.up.close()
            self.up = None

    def reply(self, data: bytes) -> None:
        self.out = data
        self.loop.add_writer(self.conn, self.on_writable)

    def on_writable(self) -> None:
        try:
            sent = self.conn.send(self.out)
        except OSError:  # the client went away
            return self.close()
        self.out = self.out[sent:]
        if not self.out:
            self.close()

    def close(self) -> None:
        self.drop_backend()
        if self.loop.watching(self.conn):
            self.loop.remove(self.conn)
        self.conn.close()
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
    while not head_complete(data):
        yield from wait_readable(loop, conn)
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
    return data


def _ask_generator(loop: EventLoop, backend, value: float):
    with socket.socket() as up:
        yield from connect(loop, up, backend)
        yield from send_all(loop, up, ask_backend(value))
        yield from wait_readable(loop, up)
        backend_answered(up.recv(16))


def _handle_generator(loop: EventLoop, conn: socket.socket, backend):
    with conn:
        try:
            data = yield from _read_request(loop, conn)
            if data is None:
                return
            kind, value = parse_request(data)
        except ValueError as exc:
            yield from send_all(loop, conn, response(str(exc).encode(), 400))
            return
        if kind == "wait":
            try:
                yield from with_timeout(loop, _ask_generator(loop, backend, value), BACKEND_TIMEOUT)
            except OSError as exc:  # refused, reset, TimeoutError
                yield from send_all(loop, conn, response(bad_gateway(exc), 502))
                return
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
        # CancelledError at each task's yield, passed on to a backend question it
        # waits for (with_timeout's task): their `with` blocks close the sockets
        for task in list(tasks) + [acceptor]:
            task.cancel()
        for sock in loop.watched():  # the bell's socket
            loop.remove(sock)

    acceptor = Task(accept_forever())
    loop.add_reader(stop.wakeup, on_stop)
    try:
        loop.run(timeout=24 * 3600)
    finally:
        loop.close()



# --------------------------------------------------------------------------
# Design 4: asyncio streams (notebook 05)
# --------------------------------------------------------------------------


async def _ask_asyncio(backend, value: float) -> None:
    """Ask the backend to wait ``value`` s; ``OSError`` (``TimeoutError`` past
    :data:`BACKEND_TIMEOUT`) if it fails. The connection is closed on every way out."""
    async with asyncio.timeout(BACKEND_TIMEOUT):
        up_reader, up_writer = await asyncio.open_connection(*backend)
        try:
            up_writer.write(ask_backend(value))
            backend_answered(await up_reader.read(16))
        finally:
            up_writer.close()


async def _handle_asyncio(reader, writer, backend) -> None:
    try:
        try:
            data = await reader.readuntil(END)  # the stream's limit is MAX_HEAD (start_server)
            kind, value = parse_request(data)
        except asyncio.LimitOverrunError:
            writer.write(response(f"request head longer than {MAX_HEAD} bytes".encode(), 400))
            return
        except ValueError as exc:
            writer.write(response(str(exc).encode(), 400))
            return
        reply = None
        if kind == "wait":
            try:
                await _ask_asyncio(backend, value)
            except OSError as exc:  # refused, reset, TimeoutError
                reply = response(bad_gateway(exc), 502)
        writer.write(reply or response(answer(kind, value)))
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

    server = await asyncio.start_server(tracked, sock=listener, backlog=BACKLOG, limit=MAX_HEAD)
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
            try:
                await _ask_asyncio(backend, value)
            except OSError as exc:  # refused, reset, TimeoutError
                return web.Response(status=502, body=bad_gateway(exc))
        return web.Response(body=answer(kind, value))

    async def main():
        app = web.Application()
        app.router.add_get("/{tail:.*}", handle)
        # a handler still waiting on the backend at stop is cancelled after 1 s
        # (aiohttp's default waits 60 s for it)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
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
