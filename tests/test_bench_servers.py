"""tools/bench_servers.py: the targets are the relations the course teaches, checked on the rows."""

from __future__ import annotations

from tools import bench_servers


def _row(design: str, conns: int, *, rps=2500.0, p99=450.0, threads=2, fds=2000, kib_per_socket=6.5) -> dict:
    return {"design": design, "conns": conns, "ok": 5 * conns, "failures": {}, "rps": rps, "p50_ms": 300.0,
            "p99_ms": p99, "peak_rss": 40 * 2**20, "rss_per_socket": kib_per_socket * 1024,
            "cpu_ms_per_request": 0.3, "peak_threads": threads, "peak_fds": fds}


def _rows(**threads_row) -> list[dict]:
    # the C=1,000 row of 2026-12-07's run: 10.8 against 6.4 KiB per open socket (1.69x)
    threads = dict(threads=318, fds=632, kib_per_socket=10.8) | threads_row
    return [_row("threads", 1000, **threads), _row("callbacks", 1000), _row("generators", 1000),
            _row("asyncio", 1000, kib_per_socket=6.4), _row("aiohttp", 1000)]


def _failed(rows: list[dict]) -> list[str]:
    return [text for text, ok in bench_servers.targets(rows) if not ok]


def test_the_designs_behaving_as_the_notebook_says_pass():
    assert _failed(_rows()) == []


def test_a_thread_that_costs_no_more_than_a_coroutine_fails():
    (failed,) = _failed(_rows(kib_per_socket=7.0))  # 1.09x: no stack paid per connection
    assert "costs more as a thread" in failed


def test_a_threaded_server_without_a_thread_per_connection_fails():
    (failed,) = _failed(_rows(threads=20))
    assert "a thread per connection" in failed


def test_a_single_threaded_design_that_starts_threads_fails():
    rows = _rows()
    rows[3]["peak_threads"] = 40  # asyncio
    (failed,) = _failed(rows)
    assert "asyncio serves on one thread" in failed
