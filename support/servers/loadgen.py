"""A load generator for notebook 09's servers, run in its own process.

    python -m support.servers.loadgen --port P --conns 100 --requests 2000 --path /wait/50

opens ``--conns`` concurrent connections (asyncio, 127.0.0.1 only), each a
worker that makes one HTTP/1.0 request per connection, again and again, until
``--requests`` requests have been made or ``--duration`` seconds have passed
(whichever comes first), and prints one JSON line: requests that succeeded
(an HTTP/1.x 200 whose body is as long as its ``Content-Length`` says),
failures counted by the course's reasons (:mod:`support.web.reasons`:
``connection refused``, ``timeout``, ``connection lost`` for a reset or an
answer cut short or never sent, ``HTTP 400`` and the like for another status,
``malformed response`` for an answer that is not HTTP), requests per second
and the latency percentiles in milliseconds. ``--background-path`` adds
``--background-conns`` workers that make another kind of request meanwhile
(the CPU-bound request of the convoy lesson); they are not counted in the main
figures but reported apart, their failures too (``background_failures``).

:func:`run` starts that process from Python and returns a :class:`LoadResult`.

Discussion: the client is a process of its own so that it does not share the
GIL (or the event loop) with the server it measures; a worker closes each
connection after its answer, as HTTP/1.0 does, so C workers hold at most C
connections. Every request has a time limit, so a server that falls over
yields counted ``timeout`` or ``refused`` failures, never a hang.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field

from support.crawlers.blocking import parse_response
from support.fmt import num
from support.osutil import raise_fd_limit
from support.web.report import ProtocolError, http_reason, label_es, reason_of

__all__ = ["percentile", "LoadResult", "generate", "run", "slow_read"]


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0 < q <= 100) by the nearest-rank method: the
    smallest value with at least q % of the values at or below it. NaN if empty."""
    if not 0 < q <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {q}")
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class LoadResult:
    """What one run of the load generator measured (latencies in milliseconds)."""

    conns: int
    ok: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    max_ms: float = math.nan
    background_ok: int = 0
    background_p50_ms: float = math.nan
    background_failures: dict[str, int] = field(default_factory=dict)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    @property
    def rps(self) -> float:
        """Successful requests per second of the run."""
        return self.ok / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        """One line for a Spanish notebook (numbers and failure reasons in Spanish)."""
        fails = ", ".join(f"{label_es(k)} {num(v)}" for k, v in sorted(self.failures.items())) or "ninguno"
        return (f"C={num(self.conns):>6}: {num(self.ok):>6} respuestas, {num(self.rps):>6} peticiones/s, "
                f"p50 {num(self.p50_ms, 1):>7} ms, p99 {num(self.p99_ms, 1):>7} ms; fallos: {fails}")


async def _one(port: int, payload: bytes, timeout: float) -> str | None:
    """One request on a new connection: None if it succeeded, else the failure's reason."""
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(payload)
            await writer.drain()
            data = await reader.read()
        status, _headers, _body = parse_response(data)  # IncompleteResponse if cut short or empty
    except (OSError, ProtocolError) as exc:  # TimeoutError included: the course's reasons, from the one place
        return reason_of(exc)
    finally:
        if writer is not None:
            writer.close()
    return None if status == 200 else http_reason(status)


async def generate(port: int, conns: int, requests: int, path: str = "/", duration: float = 10.0,
                   timeout: float = 10.0, background_path: str | None = None,
                   background_conns: int = 1) -> LoadResult:
    """Run the load on this process's running loop (``run`` does it in a child process)."""
    if conns < 1 or requests < 1:
        raise ValueError("conns and requests must be at least 1")
    payload = f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode("ascii")
    latencies: list[float] = []
    failures: Counter = Counter()
    tickets = iter(range(requests))
    start = time.perf_counter()
    deadline = start + duration
    stopping = asyncio.Event()
    background: list[float] = []
    background_failures: Counter = Counter()

    async def timed(request: bytes, into: list[float], failed: Counter) -> None:
        """One request: its latency into ``into``, or its failure counted in ``failed``."""
        t0 = time.perf_counter()
        failure = await _one(port, request, timeout)
        if failure is None:
            into.append(time.perf_counter() - t0)
        else:
            failed[failure] += 1

    async def worker():
        for _ in tickets:  # the shared iterator hands out exactly `requests` tickets
            if time.perf_counter() >= deadline:
                return
            await timed(payload, latencies, failures)

    async def background_worker():
        slow = f"GET {background_path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode("ascii")
        while not stopping.is_set() and time.perf_counter() < deadline:
            await timed(slow, background, background_failures)

    extra = [asyncio.create_task(background_worker())
             for _ in range(background_conns if background_path else 0)]
    if extra:
        await asyncio.sleep(0.05)  # the background request is running before the measured ones start
        start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conns)))
    seconds = time.perf_counter() - start
    stopping.set()
    await asyncio.gather(*extra)
    ms = [x * 1000 for x in latencies]
    return LoadResult(conns=conns, ok=len(ms), failures=dict(failures), seconds=seconds,
                      p50_ms=percentile(ms, 50), p99_ms=percentile(ms, 99),
                      max_ms=max(ms) if ms else math.nan, background_ok=len(background),
                      background_p50_ms=percentile([x * 1000 for x in background], 50),
                      background_failures=dict(background_failures))


async def slow_read(port: int, path: str = "/", chunk: int = 65536, pause: float = 0.002,
                    timeout: float = 30.0) -> int:
    """A client that reads slowly: one request, then the answer ``chunk`` bytes at a
    time with ``pause`` seconds between reads. Returns the bytes read."""
    async with asyncio.timeout(timeout):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode("ascii"))
            total = 0
            while data := await reader.read(chunk):
                total += len(data)
                await asyncio.sleep(pause)
            return total
        finally:
            writer.close()


def _args(port, conns, requests, path, duration, timeout, background_path, background_conns) -> list[str]:
    args = ["--port", str(port), "--conns", str(conns), "--requests", str(requests), "--path", path,
            "--duration", str(duration), "--timeout", str(timeout)]
    if background_path:
        args += ["--background-path", background_path, "--background-conns", str(background_conns)]
    return args


def run(port: int, conns: int, requests: int, path: str = "/", duration: float = 10.0,
        timeout: float = 10.0, background_path: str | None = None, background_conns: int = 1) -> LoadResult:
    """Run the load generator in a child process (``python -m support.servers.loadgen``) and
    return what it measured. Blocks for at most ``duration + timeout`` s plus start-up."""
    args = _args(port, conns, requests, path, duration, timeout, background_path, background_conns)
    done = subprocess.run([sys.executable, "-m", "support.servers.loadgen", *args], capture_output=True,
                          text=True, timeout=duration + 2 * timeout + 60)
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed: {done.stderr.strip()[-500:]}")
    return LoadResult(**json.loads(done.stdout.strip().splitlines()[-1]))


def _main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m support.servers.loadgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="server port on 127.0.0.1")
    parser.add_argument("--conns", type=int, default=10, help="concurrent connections (workers)")
    parser.add_argument("--requests", type=int, default=1000, help="requests in all (at most)")
    parser.add_argument("--path", default="/", help="path of every request")
    parser.add_argument("--duration", type=float, default=10.0, help="no new request after this many s")
    parser.add_argument("--timeout", type=float, default=10.0, help="time limit of each request, s")
    parser.add_argument("--background-path", help="path requested meanwhile by background workers")
    parser.add_argument("--background-conns", type=int, default=1)
    a = parser.parse_args(argv)
    raise_fd_limit()
    result = asyncio.run(generate(a.port, a.conns, a.requests, a.path, a.duration, a.timeout,
                                  a.background_path, a.background_conns))
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    _main()
