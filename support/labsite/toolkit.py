"""What a fault is, what it is given, and what it answers with.

This floor sits below both the fault modes and the server, so that neither
imports the other: a fault sees a :class:`SiteView` (to render) or a
:class:`Visit` (to answer) and builds its response with the helpers here; the
server builds those two objects and looks the mode up in the registry.
"""

from __future__ import annotations

import dataclasses
import socket
import struct
from typing import Awaitable, Callable, ClassVar

from aiohttp import web

from support.labsite.graph import Link, SiteGraph

__all__ = ["Fault", "StreamedFault", "SiteView", "Visit", "PAGE", "html", "redirect", "abort", "reset",
           "append_items", "int_option"]


# --------------------------------------------------------------------------
# What a fault is given
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SiteView:
    """What rendering a page needs: the graph and where the site listens."""

    graph: SiteGraph
    url: str       # the site's root URL, "http://127.0.0.1:PORT/"
    hostport: str  # "127.0.0.1:PORT"


@dataclasses.dataclass(slots=True)
class Visit:
    """One request for a faulted page (or for a URL its fault invented)."""

    request: web.BaseRequest
    page: int
    view: SiteView
    body: bytes  # what the site serves as this page's HTML (its faulted HTML, if the fault renders one)
    pause: Callable[[float], Awaitable[bool]]  # sleep; True at once if the site is stopping
    stopping: Callable[[], bool]  # is the site stopping?
    cut: Callable[[], None]  # abandon the response because the site stops (closes and counts it)


class _Page:
    def __repr__(self) -> str:
        return "PAGE"


#: What ``respond`` returns to mean "send the page as a healthy page would be
#: sent" (a 503 that is over, the end of a redirect chain).
#: Discussion: the server counts every other answer in ``stats.by_fault``;
#: this one is not a fault response, so it is not counted.
PAGE = _Page()


# --------------------------------------------------------------------------
# What a fault is
# --------------------------------------------------------------------------


class Fault:
    """One fault mode: how it renders, which links it adds, how it responds.

    A site makes one object per mode it uses (``Fault(options)``), so state
    such as a 503 counter belongs to that site. Override only what differs
    from a healthy page; the defaults below are a healthy page's behaviour,
    except that ``respond`` counts as a fault response.
    """

    mode: ClassVar[str]
    #: The knobs of this mode with their defaults (merged into ``FAULT_DEFAULTS``).
    defaults: ClassVar[dict] = {}
    #: URLs this mode invents besides ``/page/N``: a pattern whose group 1 is
    #: the page N. The server hands a match to ``respond_invented`` only if
    #: page N has this mode.
    invents: ClassVar = None

    def __init__(self, options: dict):
        self.options = options

    @classmethod
    def check(cls, options: dict) -> None:
        """Raise ValueError if this mode's knobs in ``options`` are invalid."""

    def render(self, page: int, view: SiteView) -> str | None:
        """The faulted HTML of ``page``, or None to keep the page's own."""
        return None

    def links(self, page: int, view: SiteView, links: list[Link]) -> list[Link]:
        """The links a parser reads from the HTML this mode serves, given the page's own."""
        return links

    async def respond(self, visit: Visit) -> web.StreamResponse | _Page:
        """The answer to ``GET /page/N`` (``/`` is never faulted)."""
        return html(visit.body)

    async def respond_invented(self, visit: Visit, match) -> web.StreamResponse | _Page | None:
        """The answer to an invented URL (``invents`` matched); None: 404."""
        return None

    def reset(self) -> None:
        """Forget per-page state (``LabSite.reset_stats``)."""


class StreamedFault(Fault):
    """A mode that writes its body over time: a 200 ``text/html`` head, then ``stream``."""

    async def respond(self, visit: Visit) -> web.StreamResponse:
        if visit.request.method == "HEAD":  # headers only: nothing to stream
            return web.Response(status=200, content_type="text/html", charset="utf-8")
        response = web.StreamResponse(status=200)
        response.content_type, response.charset = "text/html", "utf-8"
        try:
            await self.stream(visit, response)
        except ConnectionError:  # the client went away: nothing more to send
            pass
        return response

    async def stream(self, visit: Visit, response: web.StreamResponse) -> None:
        raise NotImplementedError


# --------------------------------------------------------------------------
# What a fault answers with
# --------------------------------------------------------------------------


def html(body: bytes | str, status: int = 200, headers: dict | None = None) -> web.Response:
    """A ``text/html; charset=utf-8`` response."""
    data = body.encode() if isinstance(body, str) else body
    return web.Response(status=status, body=data, content_type="text/html", charset="utf-8", headers=headers)


def redirect(status: int, location: str) -> web.Response:
    """A redirect whose body is just its status code."""
    return web.Response(status=status, text=f"{status}\n", headers={"Location": location})


def abort(request: web.BaseRequest) -> None:
    """Close the request's connection at once, without a word."""
    if request.transport is not None:
        request.transport.abort()


def reset(request: web.BaseRequest) -> None:
    """Close the connection with a TCP reset (RST): linger 0, then close."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()


def append_items(page_html: str, item_lines: list[str]) -> str:
    """``page_html`` with more ``<li>`` lines at the end of its list of links."""
    return page_html.replace("\n  </ul>\n", "\n" + "\n".join(item_lines) + "\n  </ul>\n", 1)


def int_option(options: dict, key: str, low: int, high: int) -> None:
    """Raise ValueError unless ``options[key]`` is an int in ``low..high``."""
    if not isinstance(options[key], int) or not low <= options[key] <= high:
        raise ValueError(f"{key} must be an int in {low}..{high}, got {options[key]!r}")
