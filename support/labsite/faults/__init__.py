"""The fault registry: one class per mode, which pages get which mode, and the modes' knobs.

Adding a mode = one ``Fault`` subclass (in ``status``, ``content`` or
``stream``, by what it breaks) + one line in ``FAULTS`` below.
"""

from __future__ import annotations

import random

from support.labsite.faults.content import Binary, Malformed, OddLinks, Trap, Truncated
from support.labsite.faults.status import Error500, Error503, RedirectChain, RedirectLoop
from support.labsite.faults.stream import Drip, Huge, Reset
from support.labsite.toolkit import Fault

__all__ = ["FAULTS", "FAULT_MODES", "FAULT_DEFAULTS", "assign_faults", "merge_options"]

#: Every fault mode: mode name -> its class.
#: Discussion: the order is part of the seed. Pages are handed out to the
#: modes in this order (``assign_faults``), so a new mode goes at the END, or
#: every existing site would get different faulted pages.
FAULTS: dict[str, type[Fault]] = {cls.mode: cls for cls in (
    Drip,
    Reset,
    Error500,
    Error503,
    RedirectLoop,
    RedirectChain,
    Huge,
    Binary,
    Malformed,
    Truncated,
    OddLinks,
    Trap,
)}

#: Every fault mode, in the order pages are handed out to them.
#: Discussion: the code reads FAULTS itself, never this copy, so that a mode
#: registered in FAULTS (even by a test) is a mode everywhere.
FAULT_MODES = tuple(FAULTS)

#: Knobs of the fault modes; override any of them with ``fault_options``.
FAULT_DEFAULTS = {key: value for cls in FAULTS.values() for key, value in cls.defaults.items()}


def merge_options(options) -> dict:
    """``FAULT_DEFAULTS`` with ``options`` merged in, checked by every mode."""
    merged = dict(FAULT_DEFAULTS)
    for key, value in dict(options or {}).items():
        if key not in FAULT_DEFAULTS:
            raise ValueError(f"unknown fault option {key!r}; known: {', '.join(FAULT_DEFAULTS)}")
        merged[key] = value
    for cls in FAULTS.values():
        cls.check(merged)
    return merged


def assign_faults(pages: int, seed: int, faults) -> dict[int, str]:
    """Page -> fault mode for a site of ``pages`` pages: seeded, deterministic.

    ``faults`` maps modes of ``FAULT_MODES`` to the fraction of pages 1..N-1
    that get them (rounded, at least one page when the fraction is > 0).
    Page 0 is never faulted; a page gets at most one mode.
    """
    if not faults:
        return {}
    if not isinstance(faults, dict):
        raise ValueError(f"faults must be a dict mode -> fraction, got {faults!r}")
    unknown = set(faults) - set(FAULTS)
    if unknown:
        raise ValueError(f"unknown fault modes {sorted(unknown)}; known: {', '.join(FAULTS)}")
    candidates = pages - 1
    counts = {}
    for mode in FAULTS:
        fraction = faults.get(mode, 0)
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
            raise ValueError(f"fault fraction of {mode!r} must be in [0, 1], got {fraction!r}")
        count = round(fraction * candidates)
        counts[mode] = max(count, 1) if fraction > 0 and candidates > 0 else count
    if sum(counts.values()) > candidates:
        raise ValueError(f"the faults ask for {sum(counts.values())} pages but the site has only "
                         f"{candidates} besides /")
    order = list(range(1, pages))
    random.Random(f"labsite-faults:{seed}").shuffle(order)
    chosen, it = {}, iter(order)
    for mode in FAULTS:
        for _ in range(counts[mode]):
            chosen[next(it)] = mode
    return dict(sorted(chosen.items()))
