"""The site's `abandoned` counter: responses whose client hung up first."""

from __future__ import annotations

import asyncio

import aiohttp


def test_a_cancelled_request_is_counted_abandoned_and_a_finished_one_is_not(make_site):
    site = make_site(pages=5, latency=0.3)

    async def main():
        async with aiohttp.ClientSession() as session:
            async def get(url):
                async with session.get(url) as response:
                    return await response.text()
            cancelled = asyncio.create_task(get(site.url_of(1)))
            finished = asyncio.create_task(get(site.url_of(2)))
            await asyncio.sleep(0.1)
            cancelled.cancel()
            await asyncio.wait([cancelled, finished])
            for _ in range(100):  # the server finishes the cancelled one on its own time
                if site.stats.in_flight == 0:
                    break
                await asyncio.sleep(0.05)
            return finished.result()

    assert "Pagina 2" in asyncio.run(main())
    assert site.stats.requests == 2 and site.stats.in_flight == 0
    assert site.stats.abandoned == 1
    site.reset_stats()
    assert site.stats.abandoned == 0


def test_get_by_path_counts_gets_and_not_heads(make_site):
    site = make_site(pages=3)

    async def main():
        async with aiohttp.ClientSession() as session:
            for method in ("HEAD", "GET", "GET", "HEAD"):
                async with session.request(method, site.url_of(1)) as response:
                    await response.read()

    asyncio.run(main())
    path = site.url_of(1)[len(site.url) - 1:]
    assert site.stats.by_path[path] == 4 and site.stats.get_by_path[path] == 2
