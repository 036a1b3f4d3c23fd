"""Sockets as the OS counts them: a free port, the connections established to a port."""

from __future__ import annotations

import socket

import psutil

__all__ = ["free_port", "established_connections"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on at ``host`` right now (the OS picks it).

    Discussion: the port is free when this returns, not reserved: a server
    started with it later may, rarely, find it taken. Where that matters, bind
    to port 0 and read the port from the socket instead."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def established_connections(port: int) -> int:
    """How many TCP connections of this process to ``port`` are ESTABLISHED (asks the OS)."""
    return sum(1 for c in psutil.Process().net_connections(kind="tcp")
               if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED)
