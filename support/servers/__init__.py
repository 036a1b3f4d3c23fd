"""One tiny protocol served four ways (notebook 09), plus the pieces that are not the lesson.

The protocol is HTTP/1.0, one request per connection, three kinds of request:

* ``GET /`` answers ``hola`` at once;
* ``GET /wait/MS`` asks the *backend* (another process, :class:`Backend`) a
  question that takes MS milliseconds to answer, then answers ``ok``: the
  server waits on I/O, as a web server waits on its database;
* ``GET /cpu/N`` burns CPU (:func:`support.measure.aio_tools.cpu_bound` of N steps)
  and answers the number.

A *design* is a function ``serve(listener, stop, backend)`` that serves the
listening socket ``listener`` until ``stop`` rings (:class:`Stop`), asking
``backend`` (an address) for the waits. Each design ends with every
connection it opened closed and every thread it started joined. The four
designs are the notebook's lesson, written there visibly; these are their
reference copies (``tests/test_servers.py`` runs the notebook's and these
through the same load and compares), for the benchmark
(``tools/bench_servers.py``), which runs each in its own process:

    python -m support.servers threads       # prints {"port": ...}; stops when stdin closes
    python -m support.servers backend

Modules, each importing only from those above it: :mod:`.protocol` (requests,
answers, the backend question), :mod:`.running` (the listening socket, the
stop bell, :class:`ServerThread`), :mod:`.designs` (the designs and
``DESIGNS``; to add one, write ``serve_x`` there and register it),
:mod:`.process` (the backend and a design in their own process), :mod:`.plots`.

Discussion: the backend wait goes over a socket, not a timer: every design
then waits on the same thing, network I/O (a sleeping thread and a timer of
the toy loop would not be the same wait), so the comparison is fair, and it
is what real servers wait on anyway (a database, another service).
"""

from support.servers.designs import (
    DESIGNS,
    CallbackConnection,
    serve_aiohttp,
    serve_asyncio,
    serve_callbacks,
    serve_generators,
    serve_threads,
)
from support.servers.plots import plot_scaling
from support.servers.process import ServerProcess, ThreadPeak
from support.servers.protocol import (
    BACKEND_TIMEOUT,
    BACKLOG,
    END,
    MAX_DIGITS,
    MAX_HEAD,
    answer,
    ask_backend,
    backend_answered,
    bad_gateway,
    head_complete,
    parse_request,
    request,
    response,
)
from support.servers.running import ServerThread, Stop, listen, thread_limit

__all__ = [
    "request", "parse_request", "answer", "response", "Stop", "ServerThread",
    "listen", "ask_backend", "serve_threads", "serve_callbacks", "serve_generators",
    "serve_asyncio", "serve_aiohttp", "DESIGNS", "ServerProcess", "END", "BACKLOG",
    "BACKEND_TIMEOUT", "CallbackConnection", "ThreadPeak", "plot_scaling",
    "MAX_HEAD", "MAX_DIGITS", "head_complete", "bad_gateway", "backend_answered", "thread_limit",
]
