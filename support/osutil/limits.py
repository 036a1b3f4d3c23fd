"""Limits of this process: open files, other ``RLIMIT_*``, local ports.

Discussion: ``resource`` does not exist on Windows: the file-descriptor limit
is then what the C runtime allows, and :func:`raise_fd_limit` only reports it.
"""

from __future__ import annotations

from pathlib import Path

import psutil

from support.osutil import switch

__all__ = ["WINDOWS_FDS", "MACOS_OPEN_MAX", "raise_fd_limit", "fd_limit", "soft_limit", "open_fds",
           "local_port_range"]

#: The C runtime's default number of sockets on Windows (what fd_limit reports there).
WINDOWS_FDS = 8192
#: macOS refuses a soft limit above kern.maxfilesperproc (OPEN_MAX, 10,240 by default), even
#: when the hard limit says unlimited; raise_fd_limit falls back to it.
MACOS_OPEN_MAX = 10240


def raise_fd_limit(wanted: int = 65536) -> int:
    """Raise this process's soft limit of open files towards ``wanted``.

    Thousands of concurrent connections need thousands of file descriptors
    (two per connection when client and server share a process). Returns the
    soft limit in force afterwards (on Windows, where ``resource`` does not
    exist, the C runtime's default of :data:`WINDOWS_FDS` sockets is reported
    unchanged; under ``CORRUTINAS_SIN_PROC=1`` the real limit is raised and the
    smaller of the two reported, so that no budget promises sockets that fail).
    """
    rlimits = switch._rlimits
    if rlimits is None:
        return WINDOWS_FDS
    soft, hard = rlimits.getrlimit(rlimits.RLIMIT_NOFILE)
    target = wanted if hard == rlimits.RLIM_INFINITY else min(wanted, hard)
    if soft != rlimits.RLIM_INFINITY and soft < target:
        for value in dict.fromkeys((target, min(target, MACOS_OPEN_MAX))):
            if value <= soft:
                break
            try:
                rlimits.setrlimit(rlimits.RLIMIT_NOFILE, (value, hard))
                soft = value
                break
            except (ValueError, OSError):  # macOS: above kern.maxfilesperproc; try OPEN_MAX
                continue
    return min(soft, WINDOWS_FDS) if switch.resource is None else soft


def fd_limit() -> int:
    """This process's limit of open files (``ulimit -n``), raised first as far as allowed."""
    return raise_fd_limit()


def soft_limit(name: str) -> int | None:
    """The soft limit ``RLIMIT_<name>`` of this process (``"NOFILE"``,
    ``"STACK"``, ``"NPROC"``...), or None where it is unlimited or where there
    is no ``resource`` module (Windows) or no such limit on this platform."""
    resource = switch.resource
    which = getattr(resource, f"RLIMIT_{name.upper()}", None) if resource is not None else None
    if which is None:
        return None
    soft, _hard = resource.getrlimit(which)
    return None if soft == resource.RLIM_INFINITY else soft


def open_fds() -> int:
    """How many file descriptors (handles on Windows) this process has open now."""
    proc = psutil.Process()
    return proc.num_fds() if hasattr(proc, "num_fds") else proc.num_handles()


def local_port_range() -> int | None:
    """How many local ports the OS hands out to outgoing connections, or None."""
    text = None
    if switch.HAS_PROC:
        try:
            text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        except OSError:
            text = None
    return int(text[1]) - int(text[0]) + 1 if text and len(text) == 2 else None
