"""The four designs of notebook 09 (reference copies), plus aiohttp.web for the benchmark.

Each is ``serve(listener, stop, backend)``: serve until ``stop`` rings, then leave
no connection open and no thread running (see :mod:`support.servers`). One
module per design, in the order of the course: :mod:`.threads` (01),
:mod:`.callbacks` (02), :mod:`.generators` (04), :mod:`.streams` (05: asyncio
streams, and aiohttp.web). To add a design, write its module and register it
in :data:`DESIGNS`.

Discussion: what every design does with a client or a backend that fails.
A request head past MAX_HEAD bytes, or one that is not ours, is answered 400;
a backend that refuses, resets or stays silent past BACKEND_TIMEOUT, 502; a
client that resets costs its own connection only, never the server.
"""

from __future__ import annotations

from typing import Callable

from support.servers.designs.callbacks import CallbackConnection, serve_callbacks
from support.servers.designs.generators import serve_generators
from support.servers.designs.streams import serve_aiohttp, serve_asyncio
from support.servers.designs.threads import serve_threads

__all__ = ["DESIGNS", "CallbackConnection", "serve_threads", "serve_callbacks", "serve_generators",
           "serve_asyncio", "serve_aiohttp"]

DESIGNS: dict[str, Callable] = {
    "threads": serve_threads,
    "callbacks": serve_callbacks,
    "generators": serve_generators,
    "asyncio": serve_asyncio,
    "aiohttp": serve_aiohttp,
}
