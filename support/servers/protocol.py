"""The protocol of notebook 09: HTTP/1.0, one request per connection (see :mod:`support.servers`)."""

from __future__ import annotations

from support.measure.aio_tools import cpu_bound
from support.web.reasons import reason_of

END = b"\r\n\r\n"          # end of an HTTP request's head
BACKLOG = 4096             # listen backlog: the kernel queues this many unaccepted connections
BACKEND_TIMEOUT = 30.0     # a design gives up on the backend after this long (and answers 502)
MAX_HEAD = 8192            # a request head longer than this is answered 400
MAX_DIGITS = 9             # /wait/MS and /cpu/STEPS: at most this many digits


def request(path: str) -> bytes:
    """The bytes of an HTTP/1.0 GET of ``path``."""
    return f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode("ascii")


def head_complete(data: bytes) -> bool:
    """True once ``data`` holds a whole request head; ``ValueError`` when it has
    grown past :data:`MAX_HEAD` bytes without one (a design answers 400)."""
    if END in data:
        return True
    if len(data) > MAX_HEAD:
        raise ValueError(f"request head longer than {MAX_HEAD} bytes")
    return False


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
    if kind in ("wait", "cpu") and number.isdigit() and len(number) <= MAX_DIGITS:
        return ("wait", int(number) / 1000) if kind == "wait" else ("cpu", int(number))
    raise ValueError(f"unknown path {path[:80]!r}: use /, /wait/MS or /cpu/STEPS "
                     f"(at most {MAX_DIGITS} digits)")


def answer(kind: str, value: float | int) -> bytes:
    """The body for a request whose waiting (if any) is done; ``cpu`` computes here."""
    if kind == "cpu":
        return f"{cpu_bound(value)}\n".encode()
    return b"ok\n" if kind == "wait" else b"hola\n"


def response(body: bytes, status: int = 200) -> bytes:
    reason = {200: "OK", 400: "Bad Request", 502: "Bad Gateway"}.get(status, "Error")
    return (f"HTTP/1.0 {status} {reason}\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode("ascii") + body


def bad_gateway(exc: BaseException) -> bytes:
    """The body of the 502 a design sends when the backend failed (refused, reset,
    silent past :data:`BACKEND_TIMEOUT`): the course's reason, from :func:`support.web.reasons.reason_of`."""
    return f"backend: {reason_of(exc)}\n".encode()


def backend_answered(reply: bytes) -> None:
    """Check the backend's reply: ``ConnectionResetError`` if it closed without answering."""
    if not reply:
        raise ConnectionResetError("the backend closed the connection without answering")


def ask_backend(seconds: float) -> bytes:
    """What a design sends the backend to wait ``seconds``: one line."""
    return f"{seconds:.6f}\n".encode("ascii")
