"""support.servers, support.loadgen and notebook 09's own servers.

The four designs of notebook 09 are written in the notebook; these tests exec()
its cells and put its servers and the reference copies in support.servers
under the same load (counts must be exact), and prove that every server a test
starts stops with no thread and no listening port left behind.
"""

from __future__ import annotations

import asyncio
import math
import socket
import threading

import psutil
import pytest
from notebook_cells import exec_cells

from support import loadgen, servers


@pytest.fixture(scope="module")
def backend():
    with servers.ServerProcess("backend") as proc:
        yield proc


@pytest.fixture(scope="module")
def notebook():
    """Notebook 09's designs, defined by exec() of its own cells."""
    ns: dict = {}
    exec("import asyncio, functools, socket, threading\nfrom support import servers\n"
         "from support.eventloop import EventLoop\n"
         "from support.trampoline import Task, connect, send_all, wait_readable\n", ns)
    exec_cells("09", "def atender_bloqueante(", "def servir_hilos(", "def leer_peticion(",
               "def servir_generadores(", "async def atender_async(", "async def servir_streams(",
               namespace=ns, prefix=True)
    return {"threads": ns["servir_hilos"], "generators": ns["servir_generadores"],
            "asyncio": ns["servir_asyncio"]}


def _listening(port: int) -> bool:
    return any(c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
               for c in psutil.Process().net_connections(kind="tcp"))


# -- the protocol -------------------------------------------------------------


def test_parse_request_kinds_and_clear_errors():
    assert servers.parse_request(servers.request("/")) == ("hola", 0)
    assert servers.parse_request(servers.request("/wait/50")) == ("wait", 0.05)
    assert servers.parse_request(servers.request("/cpu/10")) == ("cpu", 10)
    assert servers.answer("cpu", 10) == f"{sum(i * i for i in range(10))}\n".encode()
    with pytest.raises(ValueError, match="unknown path"):
        servers.parse_request(servers.request("/wait/abc"))
    with pytest.raises(ValueError, match="not an HTTP GET"):
        servers.parse_request(b"POST / HTTP/1.0\r\n\r\n")


# -- the load generator -------------------------------------------------------


def test_percentile_on_a_known_distribution():
    values = list(range(100, 0, -1))  # 1..100, unsorted
    assert loadgen.percentile(values, 50) == 50
    assert loadgen.percentile(values, 99) == 99
    assert loadgen.percentile(values, 100) == 100
    assert loadgen.percentile([7.0], 99) == 7.0
    assert math.isnan(loadgen.percentile([], 50))
    with pytest.raises(ValueError):
        loadgen.percentile(values, 0)


def test_counts_are_exact_and_failures_counted(backend):
    with servers.ServerThread(servers.serve_asyncio, backend.address) as server:
        result = loadgen.run(server.port, conns=7, requests=23, path="/wait/10")
        bad = loadgen.run(server.port, conns=2, requests=5, path="/nope")
    assert result.ok == 23 and result.failures == {} and result.conns == 7
    assert 10 <= result.p50_ms <= result.p99_ms <= result.max_ms
    assert bad.ok == 0 and bad.failures == {"HTTP 400": 5}
    free = servers.listen()
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    refused = loadgen.run(port, conns=3, requests=6)
    assert refused.failures == {"connection refused": 6} and refused.rps == 0
    assert refused.summary().endswith("fallos: conexión rechazada 6")


def test_a_stuck_server_gives_counted_timeouts():
    listener = servers.listen()  # accepts (the kernel queues) but never answers
    try:
        result = loadgen.run(listener.getsockname()[1], conns=2, requests=2, timeout=0.3)
    finally:
        listener.close()
    assert result.failures == {"timeout": 2} and result.ok == 0


def test_duration_bounds_the_run(backend):
    with servers.ServerThread(servers.serve_asyncio, backend.address) as server:
        result = loadgen.run(server.port, conns=2, requests=10_000, path="/wait/100", duration=0.5)
    assert 2 <= result.ok < 30, result  # about 2 workers x 0.5 s / 0.1 s, far from 10,000


def test_slow_read_reads_everything(backend):
    with servers.ServerThread(servers.serve_asyncio, backend.address) as server:
        total = asyncio.run(loadgen.slow_read(server.port, "/", chunk=4, pause=0))
    assert total == len(servers.response(b"hola\n"))


# -- every design: same answers, nothing left behind -------------------------


@pytest.mark.parametrize("design", list(servers.DESIGNS))
def test_reference_designs_serve_and_stop_clean(design, backend):
    threads_before = threading.active_count()
    with servers.ServerThread(servers.DESIGNS[design], backend.address, name=design) as server:
        waits = loadgen.run(server.port, conns=20, requests=60, path="/wait/20")
        cpu = loadgen.run(server.port, conns=2, requests=4, path="/cpu/1000")
        port = server.port
        assert _listening(port)
    assert (waits.ok, waits.failures, cpu.ok, cpu.failures) == (60, {}, 4, {})
    assert waits.p50_ms >= 20
    assert not server.running and threading.active_count() == threads_before
    assert not _listening(port)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


@pytest.mark.parametrize("design", ["threads", "generators", "asyncio"])
def test_the_notebooks_designs_behave_like_the_reference(design, notebook, backend):
    threads_before = threading.active_count()
    results = {}
    for name, serve in (("notebook", notebook[design]), ("support", servers.DESIGNS[design])):
        with servers.ServerThread(serve, backend.address) as server:
            results[name] = loadgen.run(server.port, conns=30, requests=90, path="/wait/20")
            body = asyncio.run(loadgen.slow_read(server.port, "/cpu/100", pause=0))
        assert body == len(servers.response(servers.answer("cpu", 100)))
    assert results["notebook"].ok == results["support"].ok == 90
    assert results["notebook"].failures == results["support"].failures == {}
    assert threading.active_count() == threads_before


def test_threads_design_holds_a_thread_per_connection(backend):
    counter = servers.ThreadPeak()
    with servers.ServerThread(servers.serve_threads, backend.address) as server:
        loadgen.run(server.port, conns=50, requests=50, path="/wait/300")
    assert counter.stop() >= 40  # about one handler thread per connection in flight


def _accepted(port: int) -> int:
    """Connections this process accepted on ``port`` (not those still in the backlog)."""
    return sum(1 for c in psutil.Process().net_connections(kind="tcp")
               if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED)


@pytest.mark.parametrize("design", list(servers.DESIGNS))
def test_a_server_stopped_with_a_silent_client_does_not_hang(design, backend):
    server = servers.ServerThread(servers.DESIGNS[design], backend.address)
    silent = socket.create_connection(("127.0.0.1", server.port))
    silent.sendall(b"GET / HTTP/1.0\r\n")  # half a request: its handler waits for the rest
    deadline = threading.Event()
    for _ in range(100):  # until the server has accepted it (at most 5 s)
        if _accepted(server.port) or deadline.wait(0.05):
            break
    assert _accepted(server.port) == 1
    server.stop(timeout=10)  # raises if the design does not end
    assert silent.recv(1) == b""  # the server closed it
    silent.close()


def test_server_process_reports_stats(backend):
    with servers.ServerProcess("asyncio", backend.address) as proc:
        # enough requests for some CPU time above the OS's 10 ms accounting tick
        assert loadgen.run(proc.port, conns=10, requests=300, path="/wait/1").ok == 300
        stats = proc.stop()
    assert stats["peak_rss"] >= stats["idle_rss"] > 0 and stats["cpu_seconds"] > 0
    assert stats["peak_threads"] >= 2


def test_server_process_counts_the_sockets_it_holds(backend):
    # 40 connections in flight, each holding its client socket and, while the
    # backend waits 300 ms, a socket to the backend: about 80 open sockets
    with servers.ServerProcess("asyncio", backend.address) as proc:
        assert loadgen.run(proc.port, conns=40, requests=40, path="/wait/300").ok == 40
        stats = proc.stop()
    assert 60 <= stats["peak_fds"] <= 90, stats
