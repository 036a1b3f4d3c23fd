"""A design, or the backend, in its own process (``python -m support.servers ROLE``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field

from support.osutil import cpu_seconds, open_fds, peak_rss, reset_peak_rss, rss
from support.servers.designs import DESIGNS
from support.servers.protocol import BACKLOG
from support.servers.running import ServerThread, listen

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
        except (ValueError, ConnectionError, asyncio.CancelledError):  # cancelled: the backend stops
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
    ``RuntimeError`` if the child does not start within ``start_timeout`` s, or
    (from ``stop()``) if it ended badly: the design raised or did not stop (the
    child's stderr, kept in a file, is quoted).
    """

    role: str
    backend: tuple[str, int] | None = None
    start_timeout: float = 30.0
    proc: subprocess.Popen = field(init=False, repr=False)
    port: int = field(init=False)
    stats: dict = field(init=False, default_factory=dict)

    def __post_init__(self):
        args = [sys.executable, "-m", "support.servers", self.role]
        if self.backend is not None:
            args += ["--backend-port", str(self.backend[1])]
        self._stderr = tempfile.TemporaryFile(mode="w+")  # a file: a chatty child never blocks on it
        self._checked = False
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True)
        first: list[str] = []
        reader = threading.Thread(target=lambda: first.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.start_timeout)
        try:
            self.port = json.loads(first[0])["port"]
        except (IndexError, ValueError, KeyError, TypeError):
            self.proc.kill()
            self.proc.wait()
            why = "did not start" if first and first[0] else f"did not start within {self.start_timeout} s"
            raise RuntimeError(f"python -m support.servers {self.role} {why}"
                               f"{self._stderr_tail()}") from None

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _stderr_tail(self) -> str:
        self._stderr.seek(0)
        tail = self._stderr.read().strip()[-1000:]
        return f"; its stderr:\n{tail}" if tail else ""

    def stop(self, timeout: float = 30.0) -> dict:
        if self.proc.poll() is None:
            out, _ = self.proc.communicate(input="", timeout=timeout)
            lines = [line for line in out.splitlines() if line.strip()]
            with contextlib.suppress(ValueError):
                self.stats = json.loads(lines[-1]) if lines else {}
        if self.proc.returncode != 0 and not self._checked:
            self._checked = True  # said once
            raise RuntimeError(f"python -m support.servers {self.role} ended with exit code "
                               f"{self.proc.returncode}{self._stderr_tail()}")
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
            self._stderr.close()


class ThreadPeak:
    """Samples ``threading.active_count()`` every 10 ms in a thread of its own;
    with ``fds=True`` also the open file descriptors (``fds``, beyond those open
    at the start: a connection being served holds one socket, two while it waits
    for the backend). Counting them lists the process's descriptors (about 1 ms
    with 2,000 open), so only a caller that reads ``fds`` pays for it."""

    def __init__(self, fds: bool = False):
        self.peak = threading.active_count()
        self._fds0 = open_fds() if fds else None
        self.fds = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, threading.active_count() - 1)
            if self._fds0 is not None:
                self.fds = max(self.fds, open_fds() - self._fds0)

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.peak


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m support.servers",
                                     description="Serve one design (or the backend) on 127.0.0.1 "
                                                 "until stdin closes.")
    parser.add_argument("role", choices=[*DESIGNS, "backend"])
    parser.add_argument("--backend-port", type=int, help="the backend's port (designs)")
    args = parser.parse_args(argv)
    if args.role == "backend":
        listener = listen()
        print(json.dumps({"port": listener.getsockname()[1]}), flush=True)
        asyncio.run(_backend_main(listener))
        return
    backend = ("127.0.0.1", args.backend_port) if args.backend_port else None
    server = ServerThread(DESIGNS[args.role], backend, name=args.role)
    print(json.dumps({"port": server.port}), flush=True)
    reset_peak_rss()
    idle, cpu0, threads = rss(), cpu_seconds(), ThreadPeak(fds=True)
    sys.stdin.read()  # until the parent closes our stdin
    # Discussion: ServerThread.stop() raises what the design raised, or RuntimeError
    # if it did not stop: the traceback goes to stderr and the exit code is 1,
    # which ServerProcess.stop() reports (a dead design is never a normal run)
    server.stop(timeout=30)
    peak_threads = threads.stop()
    print(json.dumps({"idle_rss": idle, "peak_rss": peak_rss(), "cpu_seconds": cpu_seconds() - cpu0,
                      "peak_threads": peak_threads, "peak_fds": threads.fds}), flush=True)
