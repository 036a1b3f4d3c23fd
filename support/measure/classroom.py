"""The class-size setting and the per-student limits of a shared server.

A student on a laptop runs the lessons at full size (10,000 connections,
5,000 threads). Forty students on one JupyterHub server cannot: each one gets a
share of the CPU, a cgroup ``pids.max`` (threads count as pids), a limit of
open files (``RLIMIT_NOFILE``) and, as a non-root user, ``RLIMIT_NPROC``.

* ``CORRUTINAS_ESCALA`` (read only here, by :func:`scale`) is the one setting:
  a factor in (0, 1] that the heavy lessons multiply their sizes by (threads,
  connections, pages, CPU seconds). Unset means 1: the full course. A teacher
  sets it for the whole server (see docs/guia_docente.md), e.g. 0.1.
* :func:`thread_budget` and :func:`connection_budget` are what this process may
  still start or open under the limits in force (cgroup v1 or v2 ``pids.max``
  along the process's own cgroup path, ``RLIMIT_NPROC``, ``RLIMIT_NOFILE``,
  and the local port range: every connection to one server needs its own
  local port).
* :func:`threads` and :func:`connections` combine both: the size a lesson
  asked for, scaled, then capped by the budget; when the size shrinks they
  warn (in Spanish: the student reads it) and say why.

Discussion: the caps are read when a lesson asks, not once at import: a
sibling notebook of the same student may be holding threads right now.
"""

from __future__ import annotations

import os
import threading
import warnings

from support import osutil
from support.fmt import num

__all__ = ["ENV", "scale", "scaled", "thread_budget", "connection_budget", "threads", "connections",
           "slider", "ClassroomWarning"]

#: The environment variable of the class-size setting.
ENV = "CORRUTINAS_ESCALA"

#: Threads (pids) kept free for the kernel, its helpers and a sibling notebook.
THREAD_RESERVE = 64
#: File descriptors kept free for the kernel's own (ZMQ sockets, files, the site).
FD_RESERVE = 200


class ClassroomWarning(UserWarning):
    """A lesson runs smaller than asked: the class-size setting or a limit."""


def scale() -> float:
    """The class-size factor from ``CORRUTINAS_ESCALA`` (1 when unset)."""
    raw = os.environ.get(ENV, "").strip().replace(",", ".")
    if not raw:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{ENV}={raw!r}: debe ser un número entre 0 y 1 (por ejemplo 0.1)") from None
    if not 0 < value <= 1:
        raise ValueError(f"{ENV}={raw!r}: debe ser un número mayor que 0 y como mucho 1 (por ejemplo 0.1)")
    return value


def scaled(n: int, minimum: int = 1) -> int:
    """``n`` times :func:`scale`, rounded, never below ``minimum`` (nor above ``n``)."""
    return max(min(n, minimum), round(n * scale()))


def _nproc_headroom() -> int | None:
    """``RLIMIT_NPROC`` minus this user's threads now (not enforced for root)."""
    limit = osutil.soft_limit("NPROC")
    if not limit or (hasattr(os, "geteuid") and os.geteuid() == 0):
        return None
    used = osutil.user_threads()
    return limit - (threading.active_count() if used is None else used)


def thread_budget(reserve: int = THREAD_RESERVE) -> int | None:
    """Threads this process may still start (None: no limit known)."""
    rooms = [r for r in (osutil.cgroup_pids_headroom(), _nproc_headroom()) if r is not None]
    return max(0, min(rooms) - reserve) if rooms else None


def connection_budget(reserve: int = FD_RESERVE) -> int:
    """Connections this process may still open to one server: the limit of open
    files (raised first as far as allowed) minus those open and ``reserve``,
    and at most the local port range."""
    room = osutil.fd_limit() - osutil.open_fds() - reserve
    ports = osutil.local_port_range()
    if ports is not None:
        room = min(room, ports - reserve)
    return max(0, room)


def _capped(what: str, wanted: int, budget: int | None, why_budget: str, minimum: int) -> int:
    size = scaled(wanted, minimum)
    reasons = []
    if size < wanted:
        reasons.append(f"{ENV}={scale():g}")
    if budget is not None and budget < size:
        size = max(1, budget)  # never 0: a lesson that starts nothing shows nothing
        reasons.append(why_budget)
        if size < minimum:  # the OS allows fewer than the lesson needs: say so, do not pretend
            reasons.append(f"por debajo del mínimo de la lección, {num(minimum)}: sus cifras no significarán "
                           "lo que dice el texto")
    if reasons:
        shown = f"{num(size)} en lugar de {num(wanted)}"
        warnings.warn(f"{what}: {shown} ({'; '.join(reasons)})",
                      ClassroomWarning, stacklevel=3)
    return size


def threads(wanted: int, minimum: int = 1, reserve: int = THREAD_RESERVE) -> int:
    """How many of ``wanted`` threads a lesson should start here: scaled by the
    class-size setting, capped by the pids/NPROC budget (warns when smaller)."""
    return _capped("hilos", wanted, thread_budget(reserve), "límite de hilos de este servidor (pids.max / ulimit -u)",
                   minimum)


def connections(wanted: int, minimum: int = 1, reserve: int = FD_RESERVE) -> int:
    """How many of ``wanted`` connections a lesson should open here: scaled by
    the class-size setting, capped by the fd limit and the local port range."""
    return _capped("conexiones", wanted, connection_budget(reserve),
                   "límite de archivos abiertos (ulimit -n) o de puertos locales", minimum)


def slider(value: int, low: int, high: int, step: int, kind: str = "connections") -> dict:
    """``value``/``min``/``max``/``step`` for an ``IntSlider`` of a lesson size:
    the range scaled by the class-size setting and capped by this server's
    budget (``kind``: "connections" or "threads"), ``value`` kept inside it."""
    budget = connection_budget() if kind == "connections" else thread_budget()
    if kind not in ("connections", "threads"):
        raise ValueError(f"kind must be 'connections' or 'threads', got {kind!r}")
    top = scaled(high)
    if budget is not None:
        top = max(1, min(top, budget))
    bottom = min(scaled(low), top)
    step = max(1, min(scaled(step), max(1, top - bottom)))
    return {"value": max(bottom, min(value, top)), "min": bottom, "max": top, "step": step}
