"""Running a design: the listening socket, the stop bell, the background thread."""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Callable, Iterator

from support.osutil import raise_fd_limit
from support.servers.protocol import BACKLOG


def listen(backlog: int = BACKLOG) -> socket.socket:
    """A listening socket on 127.0.0.1 and a free port."""
    raise_fd_limit()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(backlog)
    return sock


class Stop:
    """The stop bell: a ``threading.Event`` plus a socket that becomes readable
    when it rings (the self-pipe trick of notebook 02), so a selector loop can
    wait for it like any other socket."""

    def __init__(self):
        self.event = threading.Event()
        self.wakeup, self._bell = socket.socketpair()
        self.wakeup.setblocking(False)

    def is_set(self) -> bool:
        return self.event.is_set()

    def ring(self) -> None:
        if not self.event.is_set():
            self.event.set()
            self._bell.send(b"!")

    def close(self) -> None:
        self.wakeup.close()
        self._bell.close()


class ServerThread:
    """Run ``serve(listener, stop, backend)`` in a background thread; ``stop()``
    rings the bell and waits for it to end (``RuntimeError`` if it does not).

    A context manager. ``port`` is the listening port; ``error`` the exception
    the design raised, if any (``stop()`` re-raises it).
    """

    def __init__(self, serve: Callable, backend: tuple[str, int] | None = None, name: str = ""):
        self.serve, self.backend = serve, backend
        self.name = name or getattr(serve, "__name__", "server")
        self.listener = listen()
        self.port = self.listener.getsockname()[1]
        self.stop_bell = Stop()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"server-{self.name}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.serve(self.listener, self.stop_bell, self.backend)
        except BaseException as exc:  # reported by stop()
            self.error = exc

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def stop(self, timeout: float = 15.0) -> None:
        self.stop_bell.ring()
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise RuntimeError(f"server {self.name} did not stop within {timeout} s")
        self.listener.close()
        self.stop_bell.close()
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def __enter__(self) -> "ServerThread":
        return self

    def __exit__(self, *exc) -> None:
        if self.running or not self.listener._closed:
            self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ServerThread {self.name} 127.0.0.1:{self.port} {state}>"


@contextlib.contextmanager
def thread_limit(more: int) -> Iterator[list[str]]:
    """Within the block, ``Thread.start`` fails once ``more`` threads beyond those
    alive at entry are running in this process, the way it fails under a
    cgroup ``pids.max`` or ``RLIMIT_NPROC`` (``RuntimeError: can't start new
    thread``), on any machine and for root too (the kernel does not apply
    ``RLIMIT_NPROC`` to root). Yields the list of the names of the threads
    refused, for counting.

    Discussion: a real ``pids.max`` counts every thread of the cgroup (the
    kernel's, a sibling notebook's) and needs a cgroup to set; this cap counts
    this process's Python threads only, so a lesson can say "n more threads"
    and get the same failure at the same place on every machine.
    """
    limit = threading.active_count() + more
    original = threading.Thread.start
    refused: list[str] = []

    def start(self: threading.Thread) -> None:
        if threading.active_count() >= limit:
            refused.append(self.name)
            raise RuntimeError("can't start new thread")
        original(self)

    threading.Thread.start = start
    try:
        yield refused
    finally:
        threading.Thread.start = original
