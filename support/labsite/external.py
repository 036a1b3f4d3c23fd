"""The site in a process of its own: ``ExternalSite`` and the command line ``python -m support.labsite``."""

from __future__ import annotations

import argparse
import os
import selectors
import subprocess
import sys
import time
from typing import Iterable

from support import osutil
from support.labsite.faults import FAULT_DEFAULTS, FAULTS
from support.labsite.server import LabSite

__all__ = ["ExternalSite", "main"]


class ExternalSite:
    """The local site served by a child process (``python -m support.labsite``).

    For measurements where the server must not share the measuring process:
    its own CPU (the benchmark) or file descriptors and memory (notebook 08).
    A context manager; :meth:`stop` terminates the process (SIGTERM, then
    SIGKILL after 5 s). ``cpus``: run the site only on these processors
    (Linux), so that it never competes with a measured process pinned to the
    others.
    """

    def __init__(self, pages: int = 10, latency: float = 30.0, start_timeout: float = 30.0,
                 cpus: Iterable[int] | None = None):
        self.pages, self.latency = pages, latency
        self.cpus = sorted(cpus) if cpus is not None else None
        cmd = [sys.executable, "-m", "support.labsite", "--pages", str(pages), "--latency", str(latency)]
        if self.cpus is not None:
            cmd += ["--cpus", ",".join(map(str, self.cpus))]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        stdin=subprocess.DEVNULL, text=True)
        with selectors.DefaultSelector() as sel:  # read the URL it prints, with a time limit
            sel.register(self.process.stdout, selectors.EVENT_READ)
            ready = sel.select(start_timeout)
        line = self.process.stdout.readline().strip() if ready else ""
        if not line.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"the site process did not start (it printed {line!r})")
        self.url = line
        self.host = "127.0.0.1"
        self.port = int(line.rsplit(":", 1)[1].strip("/"))

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def cpu_seconds(self) -> float:
        """CPU seconds the site's process has used so far (user + system)."""
        return osutil.process_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        """Terminate the child process (SIGTERM, then SIGKILL after 5 s). Safe twice."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process.stdout and not self.process.stdout.closed:
            self.process.stdout.close()

    def __enter__(self) -> "ExternalSite":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.process.pid}" if self.running else "stopped"
        return f"<ExternalSite {self.url} pages={self.pages} latency={self.latency} ({state})>"


def _cpu_list(text: str) -> set[int]:
    """``"0,1"`` -> ``{0, 1}``, for ``--cpus``."""
    try:
        cpus = {int(x) for x in text.split(",") if x.strip()}
    except ValueError:
        raise argparse.ArgumentTypeError(f"processor numbers separated by commas, not {text!r}") from None
    if not cpus:
        raise argparse.ArgumentTypeError("at least one processor number")
    if not hasattr(os, "sched_setaffinity"):
        raise argparse.ArgumentTypeError("pinning to processors needs Linux (os.sched_setaffinity)")
    return cpus


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m support.labsite",
                                     description="Serve the course's local web site on 127.0.0.1.")
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--links", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each response")
    parser.add_argument("--latency-max", type=float, default=None,
                        help="if given, latency is drawn per page in [--latency, --latency-max]")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cpus", type=_cpu_list, default=None, metavar="0,1",
                        help="run only on these processors (Linux), e.g. to keep a benchmark's "
                             "client and server on different cores")
    parser.add_argument("--fault", action="append", default=[], metavar="MODE=FRACTION",
                        help=f"fault mode and share of pages, repeatable; modes: {', '.join(FAULTS)}")
    parser.add_argument("--fault-option", action="append", default=[], metavar="KEY=VALUE",
                        help=f"override a fault knob: {', '.join(FAULT_DEFAULTS)}")
    return parser


def main(argv: Iterable[str] | None = None) -> None:
    """``python -m support.labsite``: serve a site until interrupted."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.cpus is not None:  # before the server's thread starts: threads inherit it
        os.sched_setaffinity(0, args.cpus)
    latency = args.latency if args.latency_max is None else (args.latency, args.latency_max)
    try:
        faults = {mode: float(fraction) for mode, _, fraction in (f.partition("=") for f in args.fault)}
        options = {key: _option_value(value) for key, _, value in (o.partition("=") for o in args.fault_option)}
        site = LabSite(args.pages, args.seed, args.links, latency, args.port,
                       faults=faults or None, fault_options=options or None)
    except ValueError as exc:  # a clear one-line error, exit status 2, no traceback
        parser.error(str(exc))
    site.start()
    print(site.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()


def _option_value(text: str):
    """``--fault-option`` values: ``None``, an int, or a float if it has a point."""
    return None if text == "None" else (float(text) if "." in text else int(text))
