"""The suite has one real-time allowance (tests/realtime.py), and this test holds it.

A test that reads the wall clock bounds it with ``within``/``takes_about``
(one named factor, ``realtime.SLACK``), never with a slack of its own nor a bare
``elapsed < 2``. Counters and virtual time need no slack at all. A bound that is
the claim itself, exact and not a slack (a verdict *before* a limit), says so in
a ``# realtime-ok: why`` comment on its line.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
OWN = {"realtime.py", Path(__file__).name}

#: Defining a slack of one's own.
SLACK_DEF = re.compile(r"^\s*(\w*_)?SLACK\w*\s*(:\s*\w+\s*)?=", re.M)
#: An upper bound on a wall-clock duration written by hand: `assert elapsed < 2`,
#: `assert report.seconds <= ...`, `assert time.perf_counter() - start < ...`.
BARE_BOUND = re.compile(
    r"^\s*assert\b[^#\n]*?(\b\w*elapsed\w*|\.seconds|\bseconds|\b(perf_counter|monotonic)\(\)\s*-\s*\w+)\s*<")


def offences(text: str) -> list[str]:
    found = [f"defines its own slack: {m.group(0).strip()}" for m in SLACK_DEF.finditer(text)]
    for line in text.splitlines():
        code = re.sub(r"\"[^\"]*\"|'[^']*'", '""', line)  # what string literals hold is not a bound
        if BARE_BOUND.search(code) and "realtime-ok:" not in line:
            found.append(f"bounds the wall clock by hand: {line.strip()}")
    return found


def test_no_test_has_a_slack_of_its_own_nor_a_bare_wall_clock_bound():
    bad = {p.name: offences(p.read_text()) for p in sorted(TESTS.glob("*.py")) if p.name not in OWN}
    bad = {name: found for name, found in bad.items() if found}
    assert not bad, "use tests/realtime.py (within, takes_about) or a counter/virtual clock:\n" + "\n".join(
        f"  {name}: {line}" for name, found in bad.items() for line in found)


def test_the_rule_catches_what_it_should():
    assert offences("SLACK = 1.0\n") and offences("    MY_SLACK: float = 3\n")
    assert offences("    assert elapsed < 2\n") and offences("    assert report.seconds <= 2.5 * k\n")
    assert offences("    assert time.perf_counter() - start < 0.5\n")
    assert not offences("    within(elapsed, 1.0)\n") and not offences("    assert seq.seconds >= 1.2\n")
    assert not offences("    assert seconds < LIMIT  # realtime-ok: before the limit\n")
