"""support.crawlers.asyncio_crawler: the HTTP behaviours the labsite does not
produce on its own (503 then 200, 404, redirect chains and loops, JSON, a PDF,
huge bodies), each from a tiny aiohttp server defined here that counts the
requests it gets; and the progress callback hearing of every outcome.
"""

from __future__ import annotations

import time

import pytest
from aiohttp import web

from support.crawlers.asyncio_crawler import crawl_sync
from support.labsite.background import BackgroundServer
from support.web.report import REDIRECT, REDIRECT_LOOP, TOO_BIG, TOO_MANY_REDIRECTS

# --------------------------------------------------------------------------
# A tiny server for what the labsite does not do
# --------------------------------------------------------------------------


class TinyServer(BackgroundServer):
    """aiohttp app on 127.0.0.1 in a background thread; ``url(path)`` gives full URLs."""

    def __init__(self, app: web.Application):
        super().__init__(app, name="tiny-server")
        self.hits: dict[str, int] = {}
        app.middlewares.append(self._count)
        self.start()

    @web.middleware
    async def _count(self, request, handler):
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        return await handler(request)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def html(*hrefs: str) -> web.Response:
    links = "".join(f'<a href="{h}">x</a>' for h in hrefs)
    return web.Response(text=f"<html><body>{links}</body></html>", content_type="text/html")


def page(*hrefs: str):
    """A handler answering an HTML page with these links."""
    async def handler(request):
        return html(*hrefs)
    return handler


def redirect(location: str, cls=web.HTTPFound):
    async def handler(request):
        raise cls(location)
    return handler


@pytest.fixture
def tiny():
    servers = []

    def make(routes: dict) -> TinyServer:
        app = web.Application()
        for path, handler in routes.items():
            app.router.add_get(path, handler)
        servers.append(TinyServer(app))
        return servers[-1]

    yield make
    for s in servers:
        s.stop()


# --------------------------------------------------------------------------
# HTTP behaviours, with the tiny server
# --------------------------------------------------------------------------


def test_retries_with_backoff_after_transient_errors(tiny):
    calls = {"n": 0}

    async def flaky(request):
        calls["n"] += 1
        return html() if calls["n"] > 2 else web.Response(status=503)

    server = tiny({"/": flaky})
    start = time.perf_counter()
    result = crawl_sync(server.url(), retries=2, backoff=0.1)
    assert result.crawled == {server.url(): 200} and result.retries == 2
    assert time.perf_counter() - start >= 0.1 + 0.2  # backoff, then twice the backoff
    calls["n"] = 0
    result = crawl_sync(server.url(), retries=1, backoff=0.01)
    assert result.failed == {server.url(): "HTTP 503"} and result.attempts == {server.url(): 2}


def test_client_errors_are_not_retried(tiny):
    server = tiny({"/": page("/nada")})
    result = crawl_sync(server.url(), retries=3)
    assert result.failed == {server.url("/nada"): "HTTP 404"}
    assert server.hits.get("/nada") == 1 and result.retries == 0


def test_redirects_are_followed_up_to_the_limit(tiny):
    async def hop(request):
        n = int(request.match_info["n"])
        if n == 0:
            return html()
        raise web.HTTPFound(f"/r/{n - 1}")

    server = tiny({"/r/{n}": hop, "/": page("/r/3")})
    result = crawl_sync(server.url(), max_redirects=5)
    assert server.url("/r/0") in result.crawled
    assert [result.skipped[server.url(f"/r/{n}")] for n in (3, 2, 1)] == [REDIRECT] * 3
    assert result.redirects[server.url("/r/3")] == "/r/2"

    result = crawl_sync(server.url(), max_redirects=2)
    assert result.skipped[server.url("/r/0")] == TOO_MANY_REDIRECTS
    assert not any("/r/" in u for u in result.crawled)


def test_redirect_loops_and_other_hosts_end(tiny):
    server = tiny({"/": page("/a", "/fuera"), "/a": redirect("/b"), "/b": redirect("/a"),
                   "/fuera": redirect("http://example.org/", web.HTTPMovedPermanently)})
    result = crawl_sync(server.url(), deadline=5)
    assert not result.deadline_reached
    assert result.skipped[server.url("/a")] == REDIRECT
    assert result.skipped[server.url("/b")] == REDIRECT_LOOP  # /b leads back into its own chain
    assert result.skipped["http://example.org/"] == "other host (example.org)"
    assert server.hits["/a"] == server.hits["/b"] == 1


def test_only_html_is_parsed(tiny):
    async def data(request):
        return web.json_response({"href": "/no-seguir"})

    server = tiny({"/": page("/datos.json"), "/datos.json": data})
    result = crawl_sync(server.url())
    assert result.skipped[server.url("/datos.json")] == "not HTML (application/json)"
    assert "/no-seguir" not in server.hits


def test_bodies_over_max_bytes_are_not_read(tiny):
    big = b"<html>" + b"x" * 200_000 + b"<a href='/oculto'>x</a></html>"

    async def with_length(request):
        return web.Response(body=big, content_type="text/html")

    async def chunked(request):
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for i in range(0, len(big), 10_000):
            await response.write(big[i:i + 10_000])
        await response.write_eof()
        return response

    server = tiny({"/": page("/grande", "/chorro"), "/grande": with_length,
                   "/chorro": chunked})
    result = crawl_sync(server.url(), max_bytes=50_000)
    assert result.skipped[server.url("/grande")] == TOO_BIG
    assert result.skipped[server.url("/chorro")] == TOO_BIG
    assert "/oculto" not in server.hits
    result = crawl_sync(server.url(), max_bytes=1_000_000)
    assert server.url("/oculto") in result.failed  # read, parsed, followed (and 404)


def test_progress_hears_of_every_outcome_and_the_bar_fills(tiny):
    async def pdf(request):
        return web.Response(body=b"%PDF-1.4", content_type="application/pdf")

    server = tiny({"/": page("/r", "/doc.pdf", "mailto:x@y.z"), "/r": redirect("/ok"), "/doc.pdf": pdf,
                   "/ok": page()})
    seen = []
    result = crawl_sync(server.url(), concurrency=1, progress=lambda r: seen.append((r.done, len(r.skipped))))
    # admitted: /, /r (then skipped: a redirect), /doc.pdf (fetched, then skipped: not HTML), /ok
    assert result.discovered == result.done == 4 and seen[-1] == (4, 3)
    dones = [done for done, _ in seen]
    assert dones == sorted(dones) and set(dones) == {1, 2, 3, 4}  # a call for each admitted URL's outcome
    assert (1, 1) in seen  # the root's call already counts the mailto: it skipped
