"""One tiny protocol served four ways (notebook 09), plus the pieces that are not the lesson.

The protocol is HTTP/1.0, one request per connection, three kinds of request:

* ``GET /`` answers ``hola`` at once;
* ``GET /wait/MS`` asks the *backend* (another process, :class:`Backend`) a
  question that takes MS milliseconds to answer, then answers ``ok``: the
  server waits on I/O, as a web server waits on its database;
* ``GET /cpu/N`` burns CPU (:func:`support.aio_tools.cpu_bound` of N steps)
  and answers the number.

A *design* is a function ``serve(listener, stop, backend)`` that serves the
listening socket ``listener`` until ``stop`` rings (:class:`Stop`), asking
``backend`` (an address) for the waits. Each design ends with every
connection it opened closed and every thread it started joined. The four
designs are the notebook's lesson, written there visibly; these are their
reference copies (``tests/test_servers.py`` runs the notebook's and these
through the same load and compares), for the benchmark
(``tools/bench_servers.py``), which runs each in its own process:

    python -m support.servers threads       # prints {"port": ...}; stops when stdin closes
    python -m support.servers backend

Discussion: the backend wait goes over a socket, not a timer, because the
notebook-02 loop (:class:`support.eventloop.EventLoop`) has no timers yet;
every design asks the same backend, so the comparison is fair, and it is what
real servers wait on anyway (a database, another service).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from support.aio_tools import cpu_bound
from support.eventloop import EventLoop
from support.osutil import cpu_seconds, peak_rss, raise_fd_limit, reset_peak_rss, rss
from support.trampoline import Task, connect, send_all, wait_readable

__all__ = [
    "request", "parse_request", "answer", "response", "Stop", "Backend", "ServerThread",
    "listen", "ask_backend", "serve_threads", "serve_callbacks", "serve_generators",
    "serve_asyncio", "serve_aiohttp", "DESIGNS", "ServerProcess", "slow_callbacks", "END",
    "CallbackConnection", "ThreadPeak", "plot_scaling",
]

END = b"\r\n\r\n"          # end of an HTTP request's head
BACKLOG = 4096             # listen backlog: the kernel queues this many unaccepted connections
BACKEND_TIMEOUT = 30.0     # a design gives up on the backend after this long


# --------------------------------------------------------------------------
# The protocol
# --------------------------------------------------------------------------


def request(path: str) -> bytes:
    """The bytes of an HTTP/1.0 GET of ``path``."""
    return f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode("ascii")


def parse_request(data: bytes) -> tuple[str, float | int]:
    """``(kind, value)`` of a request's bytes: ``("hola", 0)``, ``("wait", seconds)``,
    ``("cpu", steps)``; ``ValueError`` with a clear message for anything else."""
    line = data.split(b"\r\n", 1)[0].decode("ascii", "replace")
    parts = line.split()
    if len(parts) != 3 or parts[0] != "GET" or not parts[2].startswith("HTTP/"):
        raise ValueError(f"not an HTTP GET request line: {line[:80]!r}")
    path = parts[1]
    if path == "/":
        return "hola", 0
    kind, _, number = path.strip("/").partition("/")
    if kind in ("wait", "cpu") and number.isdigit():
        return ("wait", int(number) / 1000) if kind == "wait" else ("cpu", int(number))
    raise ValueError(f"unknown path {path!r}: use /, /wait/MS or /cpu/STEPS")


def answer(kind: str, value: float | int) -> bytes:
    """The body for a request whose waiting (if any) is done; ``cpu`` computes here."""
    if kind == "cpu":
        return f"{cpu_bound(value)}\n".encode()
    return b"ok\n" if kind == "wait" else b"hola\n"


def response(body: bytes, status: int = 200) -> bytes:
    reason = {200: "OK", 400: "Bad Request", 502: "Bad Gateway"}.get(status, "Error")
    return (f"HTTP/1.0 {status} {reason}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode("ascii") + body


def ask_backend(seconds: float) -> bytes:
    """What a design sends the backend to wait ``seconds``: one line."""
    return f"{seconds:.6f}\n".encode("ascii")


# --------------------------------------------------------------------------
# Running a design: the listening socket, the stop bell, the thread
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# The backend: answers each line after the seconds it asks for
# --------------------------------------------------------------------------


async def _backend_main(listener: socket.socket) -> None:
    async def handle(reader, writer):
        try:
            line = await reader.readline()
            await asyncio.sleep(min(float(line or 0), 60.0))
            writer.write(b"ok\n")
            await writer.drain()
        except (ValueError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, sock=listener, backlog=BACKLOG)
    loop = asyncio.get_running_loop()
    closed = asyncio.Event()
    loop.add_reader(sys.stdin.fileno(), closed.set)  # stdin closed (or a line): stop
    await closed.wait()
    server.close()


# --------------------------------------------------------------------------
# A design (or the backend) in its own process
# --------------------------------------------------------------------------


@dataclass
class ServerProcess:
    """``python -m support.servers ROLE`` as a child process on a free port.

    ``stop()`` closes its stdin; a design then prints its statistics
    (``stats``: peak and idle RSS, CPU seconds, peak thread count), read here.
    """

    role: str
    backend: tuple[str, int] | None = None
    proc: subprocess.Popen = field(init=False, repr=False)
    port: int = field(init=False)
    stats: dict = field(init=False, default_factory=dict)

    def __post_init__(self):
        args = [sys.executable, "-m", "support.servers", self.role]
        if self.backend is not None:
            args += ["--backend-port", str(self.backend[1])]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            raise RuntimeError(f"python -m support.servers {self.role} did not start")
        self.port = json.loads(line)["port"]

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 30.0) -> dict:
        if self.proc.poll() is None:
            out, _ = self.proc.communicate(input="", timeout=timeout)
            lines = [line for line in out.splitlines() if line.strip()]
            self.stats = json.loads(lines[-1]) if lines else {}
        return self.stats

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.stop()
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


class ThreadPeak:
    """Samples ``threading.active_count()`` every 10 ms in a thread of its own."""

    def __init__(self):
        self.peak = threading.active_count()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, threading.active_count() - 1)

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m support.servers",
                                     description="Serve one design (or the backend) on 127.0.0.1 "
                                                 "until stdin closes.")
    parser.add_argument("role", choices=[*DESIGNS, "backend"])
    parser.add_argument("--backend-port", type=int, help="the backend's port (designs)")
    args = parser.parse_args(argv)
    listener = listen()
    print(json.dumps({"port": listener.getsockname()[1]}), flush=True)
    if args.role == "backend":
        asyncio.run(_backend_main(listener))
        return
    backend = ("127.0.0.1", args.backend_port) if args.backend_port else None
    reset_peak_rss()
    idle, cpu0, threads = rss(), cpu_seconds(), ThreadPeak()
    _run_until_stdin_closes(DESIGNS[args.role], listener, backend)
    print(json.dumps({"idle_rss": idle, "peak_rss": peak_rss(), "cpu_seconds": cpu_seconds() - cpu0,
                      "peak_threads": threads.stop()}), flush=True)


def _run_until_stdin_closes(serve: Callable, listener: socket.socket, backend) -> None:
    stop = Stop()
    thread = threading.Thread(target=serve, args=(listener, stop, backend), daemon=True)
    thread.start()
    sys.stdin.read()  # until the parent closes our stdin
    stop.ring()
    thread.join(30)
    listener.close()
    stop.close()


# --------------------------------------------------------------------------
# asyncio's slow-callback warnings, caught instead of printed
# --------------------------------------------------------------------------


@contextlib.contextmanager
def slow_callbacks():
    """Collect the messages of asyncio's debug mode ("Executing ... took 0.3
    seconds") logged inside the block, instead of printing them to stderr."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    logger = logging.getLogger("asyncio")
    handler, propagate, level = Collect(), logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.propagate, logger.level = propagate, level


if __name__ == "__main__":
    _main()


def plot_scaling(table: dict[str, dict[int, "object"]]):
    """Requests/s and p99 (ms) against the number of connections, one line per
    design; ``table[design][conns]`` is a :class:`support.loadgen.LoadResult`."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for design, row in table.items():
        conns = sorted(row)
        left.plot(conns, [row[c].rps for c in conns], marker="o", label=design)
        right.plot(conns, [row[c].p99_ms for c in conns], marker="o", label=design)
    for ax, title in ((left, "peticiones por segundo"), (right, "latencia p99 (ms)")):
        ax.set_xscale("log")
        ax.set_xlabel("conexiones concurrentes (C)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    right.set_yscale("log")
    left.legend()
    fig.tight_layout()
    return fig
