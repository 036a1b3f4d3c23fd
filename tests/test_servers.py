"""support.servers, support.servers.loadgen and notebook 09's own servers.

The four designs of notebook 09 are written in the notebook; these tests exec()
its cells and put its servers and the reference copies in support.servers
under the same load (counts must be exact), and prove that every server a test
starts stops with no thread and no listening port left behind.
"""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import math
import os
import socket
import struct
import sys
import threading

import psutil
import pytest
from notebook_cells import exec_cells

from support import osutil, servers
from support.kernel.eventloop import EventLoop
from support.servers import loadgen, process, protocol


@pytest.fixture(scope="module")
def backend():
    with servers.ServerProcess("backend") as proc:
        yield proc


@pytest.fixture(scope="module")
def notebook():
    """Notebook 09's designs, defined by exec() of its own cells."""
    ns: dict = {}
    exec("import asyncio, functools, socket, threading\nfrom support import servers\n"
         "from support.kernel.eventloop import EventLoop\n"
         "from support.kernel.tasks import Task, connect, send_all, wait_readable\n", ns)
    exec_cells("09", "def atender_bloqueante(", "def servir_hilos(", "class LeerYPreguntar", "class ConexionCallbacks",
               "def servir_callbacks(", "def leer_peticion(", "def servir_generadores(",
               "async def atender_async(", "async def servir_streams(", namespace=ns, prefix=True)
    return {"threads": ns["servir_hilos"], "callbacks": ns["servir_callbacks"],
            "generators": ns["servir_generadores"], "asyncio": ns["servir_asyncio"]}


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


@pytest.mark.parametrize("design", ["threads", "callbacks", "generators", "asyncio"])
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


def test_thread_limit_fails_thread_start_as_a_pids_limit_does_and_restores_it():
    with servers.thread_limit(2) as refused:
        started = [threading.Thread(target=threading.Event().wait, args=(0.5,), name=f"t{i}") for i in range(3)]
        started[0].start()
        started[1].start()
        with pytest.raises(RuntimeError, match="can't start new thread"):
            started[2].start()
    assert refused == ["t2"]
    started[2].start()  # outside the block, Thread.start is itself again
    for t in started:
        t.join()


@pytest.mark.parametrize("source", ["notebook", "support"])
def test_under_a_thread_limit_the_threaded_server_loses_one_request_per_refused_thread(source, notebook, backend):
    # 250 connections waiting 50 ms on the backend want more than 50 threads at once:
    # each thread that cannot start is one connection closed unanswered, and the
    # server goes on with the threads it has (it does not fall over whole)
    serve = notebook["threads"] if source == "notebook" else servers.serve_threads
    with servers.thread_limit(50) as refused:
        with servers.ServerThread(serve, backend.address) as server:
            result = loadgen.run(server.port, conns=250, requests=500, path="/wait/50", timeout=10)
    assert refused and result.failures == {"connection lost": len(refused)}, (len(refused), result.failures)
    assert result.ok + result.failed == 500


@pytest.mark.parametrize("source", ["notebook", "support"])
def test_under_the_same_thread_limit_the_single_threaded_servers_lose_nothing(source, notebook, backend):
    serve = notebook["asyncio"] if source == "notebook" else servers.serve_asyncio
    with servers.thread_limit(50) as refused:
        with servers.ServerThread(serve, backend.address) as server:
            result = loadgen.run(server.port, conns=250, requests=500, path="/wait/50", timeout=10)
    assert (refused, result.ok, result.failures) == ([], 500, {})


def test_under_a_real_pids_limit_the_threaded_server_fails_as_thread_limit_says(backend):
    """What servers.thread_limit stands for, on the real limit where this machine lets us set one
    (root and a pids cgroup, as the class test's hub does): the threaded design in its own
    process, moved into a cgroup with room for 20 more threads, loses requests and keeps serving."""
    try:
        cgroups = osutil.PidsCgroups("corrutinas-test-")
        path = cgroups.make(str(os.getpid()), 10_000)
    except (RuntimeError, OSError) as exc:  # no pids controller, or not root
        pytest.skip(f"no pids cgroup can be made here: {exc}")
    try:
        with servers.ServerProcess("threads", backend.address) as proc:
            (path / "cgroup.procs").write_text(str(proc.pid))
            (path / "pids.max").write_text(str(cgroups.current(str(os.getpid())) + 20))
            result = loadgen.run(proc.port, conns=250, requests=500, path="/wait/50", timeout=10)
            proc.stop()  # raises if the design fell over (its exit code and stderr)
    finally:
        cgroups.remove()
    assert set(result.failures) == {"connection lost"} and result.ok > 0, result
    assert result.ok + result.failed == 500


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


# -- a bad client, a bad backend, a stop mid-request (the maintainers' review) ---


def _ask(port: int, data: bytes, shut: bool = False) -> bytes:
    """Send ``data`` to a design and read its whole answer (the socket's 10 s
    timeout only turns a hang into a failure)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(data)
        if shut:
            c.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := c.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("design", list(servers.DESIGNS))
def test_a_client_that_resets_costs_only_its_own_connection(design, backend):
    with servers.ServerThread(servers.DESIGNS[design], backend.address) as server:
        c = socket.create_connection(("127.0.0.1", server.port))
        c.sendall(b"GET / HTTP/1.0\r\n")  # half a request, then a reset (RST)
        for _ in range(100):  # until the server has accepted it (at most 5 s)
            if _accepted(server.port) or threading.Event().wait(0.05):
                break
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        after = loadgen.run(server.port, conns=2, requests=4, timeout=5)
        assert server.running
    assert (after.ok, after.failures) == (4, {})


def test_numbers_too_long_for_the_protocol_are_a_value_error():
    for path in ("/wait/" + "9" * 400, "/cpu/" + "9" * 10):
        with pytest.raises(ValueError, match="at most 9 digits"):  # not OverflowError
            servers.parse_request(servers.request(path))
    assert servers.parse_request(servers.request("/wait/999999999")) == ("wait", 999999.999)


@pytest.mark.parametrize("design", list(servers.DESIGNS))
def test_bad_requests_are_answered_400(design, backend):
    huge_number = servers.request("/wait/" + "9" * 400)
    endless_head = b"GET / HTTP/1.0\r\nX: " + b"a" * (servers.MAX_HEAD + 800)  # no blank line
    with servers.ServerThread(servers.DESIGNS[design], backend.address) as server:
        assert _ask(server.port, huge_number).startswith(b"HTTP/1.0 400 ")
        if design != "aiohttp":  # aiohttp has its own limits (8190-byte lines, its own 400)
            assert _ask(server.port, endless_head).startswith(b"HTTP/1.0 400 ")
        assert loadgen.run(server.port, conns=2, requests=4).ok == 4


@pytest.mark.parametrize("design", list(servers.DESIGNS))
def test_a_backend_that_fails_is_answered_502(design, monkeypatch):
    monkeypatch.setattr(protocol, "BACKEND_TIMEOUT", 0.3)  # every design reads it there, when it asks
    silent = servers.listen()  # accepts (the kernel queues) but never answers
    closed = servers.listen()
    closed_address = closed.getsockname()
    closed.close()  # nothing listens there: refused
    try:
        for address, reason in ((silent.getsockname(), b"timeout"), (closed_address, b"connection refused")):
            with servers.ServerThread(servers.DESIGNS[design], address) as server:
                answer = _ask(server.port, servers.request("/wait/10"))
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.") and b" 502 " in head.split(b"\r\n")[0], answer
            assert body == b"backend: " + reason + b"\n"
    finally:
        silent.close()


@pytest.mark.parametrize("design", list(servers.DESIGNS))
def test_a_design_stopped_mid_request_stops_and_leaves_no_socket(design, backend, caplog):
    threads_before, fds_before = threading.active_count(), osutil.open_fds()
    server = servers.ServerThread(servers.DESIGNS[design], backend.address)
    with socket.create_connection(("127.0.0.1", server.port)) as c:
        c.sendall(servers.request("/wait/20000"))  # the backend answers in 20 s
        for _ in range(100):  # until the design holds its backend socket (at most 5 s)
            if osutil.open_fds() >= fds_before + 5 or threading.Event().wait(0.05):
                break
        assert osutil.open_fds() >= fds_before + 5  # listener, bell (2), client, backend
        server.stop(timeout=5)  # raises if the design waits for the backend's 20 s
    gc.collect()
    assert osutil.open_fds() == fds_before and threading.active_count() == threads_before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_the_threads_design_forgets_the_threads_that_ended(backend):
    def threads_held() -> int:
        return sum(isinstance(o, threading.Thread) for o in gc.get_objects())

    before = threads_held()
    with servers.ServerThread(servers.serve_threads, backend.address) as server:
        assert loadgen.run(server.port, conns=5, requests=1000).ok == 1000
        held = threads_held() - before
    assert held <= 200, held  # the live ones and a batch of ended ones, not one per request


def test_closing_a_callback_connection_looks_up_its_sockets_not_scans_them():
    loop = EventLoop()
    a, b = socket.socketpair()
    with b:
        conn = servers.CallbackConnection(loop, a, None, set())
        assert loop.watching(a) and not loop.watching(b)
        loop.watched = None  # a scan of every watched socket would fail here
        conn.close()
        assert not loop.watching(a) and a.fileno() == -1
    loop.close()


def test_a_design_that_dies_in_its_process_is_reported(monkeypatch, capsys):
    def dies(listener, stop, backend):
        raise RuntimeError("the design fell over")

    monkeypatch.setitem(process.DESIGNS, "dies", dies)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # stdin closed at once: stop
    with pytest.raises(RuntimeError, match="fell over"):  # python -m exits 1 with it
        process.main(["dies"])
    assert "idle_rss" not in capsys.readouterr().out  # no stats: not a normal run


def test_server_process_stop_raises_when_the_child_ended_badly(backend):
    proc = servers.ServerProcess("threads", backend.address)
    with pytest.raises(RuntimeError, match="exit code -9"):
        with proc:
            proc.proc.kill()
            proc.proc.wait()
    assert proc.proc.returncode == -9
