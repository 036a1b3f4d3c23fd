"""Design 2: callbacks on the hand-written selector loop (notebook 02).

Each connection is a :class:`CallbackConnection`, a chain of callbacks that
reads, asks the backend (with a ``call_later`` timer for its silence) and
replies; the stop bell's own callback closes them all.
"""

from __future__ import annotations

import socket

from support.kernel.eventloop import EventLoop
from support.servers import protocol
from support.servers.running import Stop


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
            if not protocol.head_complete(self.data):
                return
            self.kind, self.value = protocol.parse_request(self.data)
        except ValueError as exc:
            return self.reply(protocol.response(str(exc).encode(), 400))
        self.loop.remove(self.conn)
        if self.kind != "wait":
            return self.reply(protocol.response(protocol.answer(self.kind, self.value)))
        self.up = socket.socket()
        self.up.setblocking(False)
        try:
            self.up.connect(self.backend)
        except BlockingIOError:
            pass
        except OSError as exc:
            return self.backend_failed(exc)
        self.timer = self.loop.call_later(protocol.BACKEND_TIMEOUT, self.backend_failed,
                                          TimeoutError(f"no answer in {protocol.BACKEND_TIMEOUT} s"))
        self.loop.add_writer(self.up, self.on_backend_connected)

    def on_backend_connected(self) -> None:
        try:
            self.up.send(protocol.ask_backend(self.value))  # one short line: it fits in the buffer
        except OSError as exc:  # refused
            return self.backend_failed(exc)
        self.loop.add_reader(self.up, self.on_backend_answer)

    def on_backend_answer(self) -> None:
        try:
            protocol.backend_answered(self.up.recv(16))
        except OSError as exc:
            return self.backend_failed(exc)
        self.drop_backend()
        self.reply(protocol.response(protocol.answer(self.kind, self.value)))

    def backend_failed(self, exc: OSError) -> None:
        self.drop_backend()
        self.reply(protocol.response(protocol.bad_gateway(exc), 502))

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
