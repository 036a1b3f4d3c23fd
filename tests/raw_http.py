"""One raw HTTP/1.0 request to a LabSite, bytes exactly as given (the labsite's tests)."""

from __future__ import annotations

import socket

from support.labsite import LabSite


def raw_request(site: LabSite, target: bytes, timeout: float = 5.0) -> tuple[int, dict, bytes]:
    """Send one HTTP/1.0 request exactly as given, read to EOF: (status, headers, body)."""
    with socket.create_connection((site.host, site.port), timeout=timeout) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body
