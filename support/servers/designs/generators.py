"""Design 3: generator coroutines on the trampoline (notebook 04).

One :class:`~support.kernel.tasks.Task` per connection, straight-line code
with ``yield from``; the bell cancels every task, and their ``with`` blocks
close the sockets.
"""

from __future__ import annotations

import socket

from support.kernel.eventloop import EventLoop
from support.kernel.tasks import Task, connect, send_all, wait_readable, with_timeout
from support.servers import protocol
from support.servers.running import Stop


def _read_request(loop: EventLoop, conn: socket.socket):
    data = b""
    while not protocol.head_complete(data):
        yield from wait_readable(loop, conn)
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
    return data


def _ask_generator(loop: EventLoop, backend, value: float):
    with socket.socket() as up:
        yield from connect(loop, up, backend)
        yield from send_all(loop, up, protocol.ask_backend(value))
        yield from wait_readable(loop, up)
        protocol.backend_answered(up.recv(16))


def _handle_generator(loop: EventLoop, conn: socket.socket, backend):
    with conn:
        try:
            data = yield from _read_request(loop, conn)
            if data is None:
                return
            kind, value = protocol.parse_request(data)
        except ValueError as exc:
            yield from send_all(loop, conn, protocol.response(str(exc).encode(), 400))
            return
        if kind == "wait":
            try:
                yield from with_timeout(loop, _ask_generator(loop, backend, value), protocol.BACKEND_TIMEOUT)
            except OSError as exc:  # refused, reset, TimeoutError
                yield from send_all(loop, conn, protocol.response(protocol.bad_gateway(exc), 502))
                return
        yield from send_all(loop, conn, protocol.response(protocol.answer(kind, value)))


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
