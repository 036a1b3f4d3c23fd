"""Fault modes told by the status line: errors and redirects."""

from __future__ import annotations

import re
from collections import Counter

from support.labsite.toolkit import PAGE, Fault, Visit, html, int_option, redirect


class Error500(Fault):
    """Always ``500 Internal Server Error``."""

    mode = "error500"

    async def respond(self, visit: Visit):
        return html("<h1>500: error interno</h1>\n", status=500)


class Error503(Fault):
    """``503 Service Unavailable`` (``Retry-After: 1``) for the first
    ``error503_times`` requests of the page (2), then the page: a transient
    fault that retries cure. ``error503_times=None`` makes it permanent.
    ``reset_stats()`` restarts these counters."""

    mode = "error503"
    defaults = {"error503_times": 2}  # requests answered 503 before the page (None: always)

    def __init__(self, options: dict):
        super().__init__(options)
        self.sent: Counter = Counter()  # 503s already sent, per page

    @classmethod
    def check(cls, options: dict) -> None:
        times = options["error503_times"]
        if times is not None and (not isinstance(times, int) or times < 0):
            raise ValueError(f"error503_times must be an int >= 0 or None, got {times!r}")

    async def respond(self, visit: Visit):
        times = self.options["error503_times"]
        if times is not None and self.sent[visit.page] >= times:
            return PAGE  # cured: the page itself, not counted as a fault response
        self.sent[visit.page] += 1
        return html("<h1>503: vuelve a intentarlo</h1>\n", status=503, headers={"Retry-After": "1"})

    def reset(self) -> None:
        self.sent = Counter()


class RedirectLoop(Fault):
    """``/page/i`` redirects (302) to ``/bucle/i``, which redirects (301) back."""

    mode = "redirect_loop"
    invents = re.compile(r"^/bucle/([1-9][0-9]{0,5})$")

    async def respond(self, visit: Visit):
        return redirect(302, f"/bucle/{visit.page}")

    async def respond_invented(self, visit: Visit, match):
        return redirect(301, f"/page/{visit.page}")


class RedirectChain(Fault):
    """``/page/i`` -> ``/cadena/i/1`` -> ... -> ``/cadena/i/L`` (``chain_length``
    L = 8 redirects, more than a crawler's usual limit of 5); the last URL
    serves the page. Locations alternate between root-relative and absolute."""

    mode = "redirect_chain"
    defaults = {"chain_length": 8}  # redirects in a chain
    invents = re.compile(r"^/cadena/([1-9][0-9]{0,5})/([1-9][0-9]{0,2})$")

    @classmethod
    def check(cls, options: dict) -> None:
        int_option(options, "chain_length", 1, 999)

    async def respond(self, visit: Visit):
        return self._to(visit, 1)

    async def respond_invented(self, visit: Visit, match):
        k, length = int(match.group(2)), self.options["chain_length"]
        if k > length:
            return None
        # Discussion: the end of the chain is the page, not a fault response:
        # a chain of L counts L redirects in stats.by_fault.
        return PAGE if k == length else self._to(visit, k + 1)

    @staticmethod
    def _to(visit: Visit, k: int):
        path = f"/cadena/{visit.page}/{k}"
        return redirect(302, path if k % 2 else f"http://{visit.view.hostport}{path}")
