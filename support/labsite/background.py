"""Serve an aiohttp application (or a bare handler) on 127.0.0.1 from a background thread.

Every in-process server of the course goes through :class:`BackgroundServer`:
the labsite, and the small servers tests write for what the labsite does not do.

Discussion: the server gets a thread with its own event loop because a server
on the notebook kernel's loop deadlocks every blocking client (a plain socket,
``requests``, a thread pool): the cell that waits for the answer blocks the
loop that would send it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Awaitable, Callable

from aiohttp import web

__all__ = ["BackgroundServer", "HOST"]

HOST = "127.0.0.1"

# The server's own logger: silent, so a malformed request never prints to stderr.
_QUIET = logging.getLogger("support.labsite.server")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


class BackgroundServer:
    """``target`` (a ``web.Application`` or a request handler) served on ``HOST``.

    ``start()`` returns once the socket listens (or raises RuntimeError);
    ``stop()`` stops the loop, closes the connections and joins the thread.
    ``port=0`` picks a free port; ``backlog`` is the listen queue.
    """

    def __init__(self, target: web.Application | Handler, port: int = 0, backlog: int = 128,
                 name: str = "labsite-server"):
        self.target, self.requested_port, self.backlog, self.name = target, port, backlog, name
        self.port: int | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.BaseRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def addresses(self) -> list[tuple]:
        """The (host, port) of every listening socket."""
        return list(self._runner.addresses) if self._runner is not None else []

    def start(self) -> "BackgroundServer":
        if self.running:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = self.loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:  # reported to the caller of start()
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                # Discussion: cleanup runs the loop again, so handlers still in
                # flight (a drip told to stop) finish their last steps here.
                loop.run_until_complete(self._runner.cleanup())
                loop.close()

        self._thread = threading.Thread(target=run, name=f"{self.name}-{id(self):x}", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"{self.name} could not start: {failure[0]!r}") from failure[0]
        return self

    def stop(self, first: Callable[[], object] | None = None, timeout: float = 10.0) -> None:
        """Stop serving and join the thread; ``first`` runs on the loop before it stops. Safe twice."""
        thread, loop = self._thread, self.loop
        if thread is None:
            return
        if thread.is_alive() and loop is not None:
            try:
                if first is not None:
                    loop.call_soon_threadsafe(first)
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:  # the loop closed meanwhile
                pass
        thread.join(timeout=timeout)
        self._thread = None

    async def _listen(self) -> None:
        if isinstance(self.target, web.Application):
            self._runner = web.AppRunner(self.target, access_log=None, handle_signals=False)
        else:
            server = web.Server(self.target, access_log=None, logger=_QUIET)
            self._runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=5.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, self.requested_port, backlog=self.backlog, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]
