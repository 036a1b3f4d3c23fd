"""Instruments for notebook 06: see what asyncio reports, without the noise.

Not the lesson, only the glass it is seen through:

* :func:`asyncio_log` collects what the ``asyncio`` logger says (e.g. debug
  mode's "Executing <Task ...> took 0.101 seconds") instead of letting it reach
  the notebook's stderr;
* :func:`loop_exceptions` collects what the running loop's exception handler
  would log (e.g. "Task was destroyed but it is pending!");
* :func:`getaddrinfo_calls` records every ``socket.getaddrinfo`` call (host,
  thread name, seconds): where name resolution really happens.

All three are context managers that restore what they changed on exit.
:func:`debug_in_child` says whether ``asyncio.run`` starts in debug mode in a
fresh Python run with the given options and environment (``-X dev``,
``PYTHONASYNCIODEBUG=1``): ``python -m support.measure.aio_watch`` is that child.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

__all__ = ["asyncio_log", "loop_exceptions", "getaddrinfo_calls", "Resolution", "debug_in_child"]


class _Collect(logging.Handler):
    def __init__(self, into: list[str]):
        super().__init__(logging.DEBUG)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage())


@contextlib.contextmanager
def asyncio_log(level: int = logging.WARNING):
    """``with asyncio_log() as messages:`` the asyncio logger's messages, as a list."""
    logger, messages = logging.getLogger("asyncio"), []
    handler = _Collect(messages)
    handler.setLevel(level)
    old = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(min(level, logger.level or level))
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old[0])
        logger.propagate = old[1]


@contextlib.contextmanager
def loop_exceptions():
    """``with loop_exceptions() as messages:`` what the running loop's exception
    handler receives (the ``message`` of each context), instead of logging it."""
    loop, messages = asyncio.get_running_loop(), []
    old = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: messages.append(context["message"]))
    try:
        yield messages
    finally:
        loop.set_exception_handler(old)


@dataclass
class Resolution:
    host: str
    thread: str
    seconds: float


@contextlib.contextmanager
def getaddrinfo_calls():
    """``with getaddrinfo_calls() as calls:`` each ``socket.getaddrinfo`` made
    meanwhile, from any thread, as a :class:`Resolution`."""
    real, calls = socket.getaddrinfo, []

    def recording(host, *args, **kwargs):
        start = time.perf_counter()
        try:
            return real(host, *args, **kwargs)
        finally:
            calls.append(Resolution(str(host), threading.current_thread().name, time.perf_counter() - start))

    socket.getaddrinfo = recording
    try:
        yield calls
    finally:
        socket.getaddrinfo = real


def debug_in_child(*options: str, **environment: str) -> bool:
    """Whether ``asyncio.run``'s loop is in debug mode in ``python OPTIONS -m support.measure.aio_watch``,
    run with this environment plus ``environment`` (and without an inherited ``PYTHONASYNCIODEBUG``/``PYTHONDEVMODE``)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONASYNCIODEBUG", "PYTHONDEVMODE")}
    done = subprocess.run([sys.executable, *options, "-m", "support.measure.aio_watch"], env={**env, **environment},
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout.splitlines()[-1])["debug"]


async def _loop_debug() -> bool:
    return asyncio.get_running_loop().get_debug()


if __name__ == "__main__":  # the child of debug_in_child
    print(json.dumps({"debug": asyncio.run(_loop_debug()), "dev_mode": sys.flags.dev_mode}))
