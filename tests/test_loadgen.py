"""support.servers.loadgen's failure labels: the course's reasons, from the answer the client got."""

from __future__ import annotations

import threading

import pytest

from support import servers
from support.servers import loadgen


def _serve_fixed(reply: bytes, times: int):
    """A server that answers every one of ``times`` connections with ``reply`` and closes."""
    listener = servers.listen()
    listener.settimeout(40)  # safety nets, as the timeout below

    def serve():
        for _ in range(times):
            conn, _ = listener.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


@pytest.mark.parametrize("reply, ok, failures", [
    (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 2, {}),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 2, {}),  # HTTP/1.1 is HTTP too
    (b"HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\nab", 0, {"connection lost": 2}),  # cut short
    (b"", 0, {"connection lost": 2}),  # closed without an answer
    (b"HTTP/1.0 503 Busy\r\nContent-Length: 0\r\n\r\n", 0, {"HTTP 503": 2}),
    (b"hello there\r\n\r\n", 0, {"malformed response": 2}),  # not HTTP
])
def test_each_answer_gets_the_courses_reason(reply, ok, failures):
    listener, thread = _serve_fixed(reply, 2)
    try:
        # a safety net only (each answer comes at once): make test runs this pass at the lowest
        # priority, and a busy machine once held it past a timeout of 5 s
        result = loadgen.run(listener.getsockname()[1], conns=1, requests=2, timeout=30)
    finally:
        thread.join(45)
        listener.close()
    assert (result.ok, result.failures) == (ok, failures)


def test_background_failures_are_counted_apart():
    backend = servers.ServerProcess("backend")
    with backend, servers.ServerThread(servers.serve_asyncio, backend.address) as server:
        result = loadgen.run(server.port, conns=1, requests=5, path="/wait/50",
                             background_path="/nope", duration=5)
    assert result.ok == 5 and result.failures == {}
    assert result.background_ok == 0
    assert set(result.background_failures) == {"HTTP 400"} and result.background_failures["HTTP 400"] >= 1
