"""support.measure.c10k: the plumbing of notebook 08 (a site in another process, OS-read counters, the heartbeat)."""

from __future__ import annotations

import asyncio
import socket
import time

import psutil

from support.measure.c10k import ExternalSite, Heartbeat, connections_to, count_links, sample_pages, usable_connections


def test_external_site_serves_from_another_process_and_stops():
    with ExternalSite(pages=5, latency=0.0) as site:
        child = psutil.Process(site.process.pid)
        assert child.pid != psutil.Process().pid and site.running
        with socket.create_connection((site.host, site.port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert sock.recv(64).startswith(b"HTTP/1.0 200")
    assert not site.running and not psutil.pid_exists(child.pid)  # stopped and reaped


def test_connections_are_counted_by_the_os():
    with ExternalSite(pages=5, latency=30.0) as site:
        socks = [socket.create_connection((site.host, site.port), timeout=5) for _ in range(7)]
        try:
            assert connections_to(site.port) == 7
        finally:
            for s in socks:
                s.close()


def test_heartbeat_sees_a_blocked_loop():
    async def scenario():
        async with Heartbeat(interval=0.005) as free:
            await asyncio.sleep(0.2)
        async with Heartbeat(interval=0.005) as blocked:
            time.sleep(0.2)  # blocks the loop on purpose
        return free, blocked

    free, blocked = asyncio.run(scenario())
    assert blocked.max_gap >= 0.2
    assert free.max_gap < blocked.max_gap / 2 and free.ticks > 10


def test_usable_connections_respects_the_open_file_limit():
    assert usable_connections(10, limit=1024) == 10
    assert usable_connections(5000, limit=1024) == 1024 - 500
    assert usable_connections(5000, reserve=24, limit=1024) == 1000
    assert usable_connections(5000, limit=100) == 1  # never less than one connection


def test_sample_pages_are_big_and_count_links_counts_them():
    pages = sample_pages(count=3)
    assert len(pages) == 3 and all(len(p) > 5000 for p in pages)
    assert count_links(pages[0]) == pages[0].count("<a href=")


def test_a_heartbeat_cancelled_while_closing_stops_ticking():
    async def main():
        hb = Heartbeat(interval=10)  # __aexit__ then sleeps 20 s: the cancel lands there
        worked = asyncio.Event()

        async def observed():
            async with hb:
                worked.set()

        outer = asyncio.create_task(observed())
        await worked.wait()
        for _ in range(3):  # let `outer` leave the body and reach __aexit__'s sleep
            await asyncio.sleep(0)
        outer.cancel()
        await asyncio.gather(outer, return_exceptions=True)
        return outer.cancelled(), hb._task.done()

    assert asyncio.run(main()) == (True, True)  # the heartbeat's task used to go on ticking
