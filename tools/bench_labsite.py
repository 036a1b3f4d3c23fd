"""How many slow requests can the local site hold at once?

    python tools/bench_labsite.py                 # 5,000 connections, latency 1 s
    python tools/bench_labsite.py -n 10000 -l 2

Opens N connections to the site (asyncio streams), then sends a raw HTTP/1.0
GET on all of them at once, each to a page whose response takes ``latency``
seconds, and prints a table: how many got a 200, how many were refused or
failed, the time for all responses against one latency, and the most
requests the server had in flight at once. The site runs as in a notebook: a background thread of this
process, with its own event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter

from support.labsite import LabSite
from support.osutil import raise_fd_limit, rss


async def connect(port: int, timeout: float):
    try:
        return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    except ConnectionRefusedError:
        return "refused"
    except (OSError, asyncio.TimeoutError) as exc:
        return f"connect error: {type(exc).__name__}"


async def request(conn, path: str, timeout: float) -> str:
    reader, writer = conn
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
        data = await asyncio.wait_for(reader.read(), timeout)
        return data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "no response"
    except (OSError, asyncio.TimeoutError) as exc:
        return f"read error: {type(exc).__name__}"
    finally:
        writer.close()


async def hammer(site: LabSite, n: int, timeout: float) -> tuple[Counter, float, float]:
    """Open ``n`` connections first, then send all ``n`` requests at once.

    Discussion: opening thousands of sockets costs the *client* a few hundred
    microseconds each, so a client that connects and sends in one go staggers
    its requests over seconds and the server never sees them all at once.
    Connecting first makes every request arrive within a fraction of the
    latency, so the server really holds ``n`` slow requests together.
    """
    start = time.perf_counter()
    conns = await asyncio.gather(*(connect(site.port, timeout) for _ in range(n)))
    connected = time.perf_counter()
    failed = Counter(c for c in conns if isinstance(c, str))
    open_conns = [c for c in conns if not isinstance(c, str)]
    paths = [site.graph.path_of(i % site.pages) for i in range(len(open_conns))]
    results = await asyncio.gather(*(request(c, p, timeout) for c, p in zip(open_conns, paths)))
    return failed + Counter(results), connected - start, time.perf_counter() - connected


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--connections", type=int, default=5000)
    parser.add_argument("-l", "--latency", type=float, default=1.0)
    parser.add_argument("--pages", type=int, default=100)
    args = parser.parse_args(argv)
    limit = raise_fd_limit()
    if limit < 2 * args.connections + 100:
        print(f"warning: open-file limit {limit} is low for {args.connections} connections in one process")
    with LabSite(pages=args.pages, latency=args.latency) as site:
        counts, t_connect, t_requests = asyncio.run(hammer(site, args.connections, timeout=args.latency + 60))
        stats = site.stats
    ok = counts.get("200", 0)
    rss_mb = rss() / 2**20
    rows = [
        ("connections opened at once", f"{args.connections}"),
        ("latency per response", f"{args.latency:.2f} s"),
        ("answered 200", f"{ok}"),
        ("refused / failed", f"{counts.get('refused', 0)} / {args.connections - ok - counts.get('refused', 0)}"),
        ("time to open them", f"{t_connect:.2f} s"),
        ("time for all responses", f"{t_requests:.2f} s (one latency: {args.latency:.2f} s)"),
        ("server max in flight", f"{stats.max_in_flight}"),
        ("process RSS after", f"{rss_mb:.0f} MB"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"labsite under load ({args.connections} concurrent slow requests)")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    if ok != args.connections:
        print("  other outcomes:", dict(c for c in counts.items() if c[0] != "200"))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
