"""Design 1: a thread per connection, blocking sockets (notebook 01).

The accepting loop starts one thread per client; at stop, :class:`_Held` shuts
down every socket a handler is blocked on, so each thread ends and is joined.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from support.servers import protocol
from support.servers.running import Stop


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
    with socket.create_connection(backend, timeout=protocol.BACKEND_TIMEOUT) as up:
        held.add(up)
        try:
            up.sendall(protocol.ask_backend(value))
            protocol.backend_answered(up.recv(16))
        finally:
            held.discard(up)


def _handle_blocking(conn: socket.socket, backend, held: _Held) -> None:
    with conn:
        try:
            data = b""
            while not protocol.head_complete(data):
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            kind, value = protocol.parse_request(data)
            reply = None
            if kind == "wait":
                try:
                    _ask_blocking(backend, value, held)
                except OSError as exc:  # refused, reset, silent past BACKEND_TIMEOUT
                    reply = protocol.response(protocol.bad_gateway(exc), 502)
            conn.sendall(reply or protocol.response(protocol.answer(kind, value)))
        except ValueError as exc:
            with contextlib.suppress(OSError):
                conn.sendall(protocol.response(str(exc).encode(), 400))
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
        try:
            t.start()
        except RuntimeError:  # "can't start new thread" (a pids limit): this connection only
            held.discard(conn)
            conn.close()
            continue
        threads.append(t)
        if len(threads) > 2 * keep:  # forget ended threads: the list stays about the live ones
            threads = [t for t in threads if t.is_alive()]
            keep = max(64, len(threads))
    held.shut_down()
    for t in threads:
        t.join()
