"""The protocol of notebook 09: HTTP/1.0, one request per connection (see :mod:`support.servers`)."""

from __future__ import annotations

from support.aio_tools import cpu_bound

END = b"\r\n\r\n"          # end of an HTTP request's head
BACKLOG = 4096             # listen backlog: the kernel queues this many unaccepted connections
BACKEND_TIMEOUT = 30.0     # a design gives up on the backend after this long


def request(path: str) -> bytes:
    """The bytes of an HTTP/1.0 GET of ``path``."""
    return f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode("ascii")


def parse_request(data: bytes) -> tuple[str, float | int]:
    """``(kind, value)`` of a request's bytes: ``("hola", 0)``, ``("wait", seconds)``,
    ``("cpu", steps)``; ``ValueError`` with a clear message for anything else."""
    line = data.split(b"\r\n", 1)[0].decode("ascii", "replace")
    parts = line.split()
    if len(parts) != 3 or parts[0] != "GET" or not parts[2].startswith("HTTP/"):
        raise ValueError(f"not an HTTP GET request line: {line[:80]!r}")
    path = parts[1]
    if path == "/":
        return "hola", 0
    kind, _, number = path.strip("/").partition("/")
    if kind in ("wait", "cpu") and number.isdigit():
        return ("wait", int(number) / 1000) if kind == "wait" else ("cpu", int(number))
    raise ValueError(f"unknown path {path!r}: use /, /wait/MS or /cpu/STEPS")


def answer(kind: str, value: float | int) -> bytes:
    """The body for a request whose waiting (if any) is done; ``cpu`` computes here."""
    if kind == "cpu":
        return f"{cpu_bound(value)}\n".encode()
    return b"ok\n" if kind == "wait" else b"hola\n"


def response(body: bytes, status: int = 200) -> bytes:
    reason = {200: "OK", 400: "Bad Request", 502: "Bad Gateway"}.get(status, "Error")
    return (f"HTTP/1.0 {status} {reason}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode("ascii") + body


def ask_backend(seconds: float) -> bytes:
    """What a design sends the backend to wait ``seconds``: one line."""
    return f"{seconds:.6f}\n".encode("ascii")
