"""Numbers as a Spanish reader reads them: ``1.136`` is a thousand and more, ``0,20`` is a fifth.

Every figure a notebook or a checker prints for a student goes through these
few functions, so that the course writes numbers one way, prose and output
alike: thousands grouped with a dot, decimals after a comma (``1.136 bytes``,
``0,20 s``, ``1,1 KiB``). Code keeps Python's point (``latency=0.2``); only
what is *shown* changes.

Alignment stays with the caller's f-string: ``f"{num(x, 1):>8}"``.

Discussion: a figure with three decimals and a leading digit other than zero
(``1,136 s``) reads as thousands in English and as a decimal in Spanish;
prefer one or two decimals for anything that can reach 1 (``seg`` uses two).
"""

from __future__ import annotations

import math

__all__ = ["num", "seg", "kib", "mib", "gib", "pct", "medido", "ocupada"]

THOUSANDS = "."
DECIMAL = ","


def num(x: float, decimals: int = 0) -> str:
    """``x`` rounded to ``decimals``, thousands grouped with a dot, decimal comma.

    ``num(1136) == "1.136"``, ``num(0.2, 2) == "0,20"``, ``num(-12345.678, 1) == "-12.345,7"``.
    NaN and infinities are shown as ``"—"`` and ``"∞"``.
    """
    if decimals < 0:
        raise ValueError(f"decimals must be >= 0, got {decimals}")
    if isinstance(x, float) and math.isnan(x):
        return "—"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "-∞"
    # Python's own grouping (",") and point, then swapped: one rounding, no locale.
    english = f"{x:,.{decimals}f}"
    return english.translate(str.maketrans({",": THOUSANDS, ".": DECIMAL}))


def seg(seconds: float, decimals: int = 2) -> str:
    """Seconds with their unit: ``seg(0.2) == "0,20 s"``."""
    return f"{num(seconds, decimals)} s"


def kib(nbytes: float, decimals: int = 1) -> str:
    """Bytes in KiB: ``kib(1136, 2) == "1,11 KiB"``."""
    return f"{num(nbytes / 1024, decimals)} KiB"


def mib(nbytes: float, decimals: int = 1) -> str:
    """Bytes in MiB: ``mib(8 * 2**20) == "8,0 MiB"``."""
    return f"{num(nbytes / 2**20, decimals)} MiB"


def gib(nbytes: float, decimals: int = 1) -> str:
    """Bytes in GiB: ``gib(2**30) == "1,0 GiB"``."""
    return f"{num(nbytes / 2**30, decimals)} GiB"


def pct(fraction: float, decimals: int = 0) -> str:
    """A fraction as a percentage, with the space Spanish puts before ``%``: ``pct(0.33) == "33 %"``."""
    return f"{num(100 * fraction, decimals)} %"


#: What a timing assert tells the student when it fails: the figures are real, the machine may be busy.
OCUPADA = ("es una afirmación de tiempo: en una máquina ocupada (otros programas, u otros estudiantes "
           "en el mismo servidor) puede fallar por ruido. Vuelve a ejecutar la celda; si falla siempre, "
           "avisa a tu docente con este mensaje.")


def medido(**valores) -> str:
    """The message of a timing assert: the measured values, in Spanish format,
    and what to do when it fails on a busy machine (:data:`OCUPADA`).

    ``assert t_cb < t_sec / 2, medido(t_cb=t_cb, t_sec=t_sec)`` fails with
    ``AssertionError: medido: t_cb = 1,27, t_sec = 2,10; es una afirmación de tiempo: ...``.
    Floats of 1 or more get two decimals, smaller ones three significant
    digits (``0,250``, ``0,000512``); integers are grouped; anything else is
    shown as ``str`` does.
    """
    def shown(value) -> str:
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int):
            return num(value)
        if isinstance(value, float):
            if abs(value) >= 1 or value == 0 or not math.isfinite(value):
                return num(value, 2)
            return num(value, min(9, 2 - math.floor(math.log10(abs(value)))))
        return str(value)

    figures = ", ".join(f"{name} = {shown(value)}" for name, value in valores.items())
    return f"medido: {figures}; {OCUPADA}"


def ocupada(nucleos: float, porque: str) -> str:
    """What a cell prints instead of asserting a timing comparison when other
    programs kept ``nucleos`` cores busy meanwhile (see ``osutil.OtherPrograms``);
    ``porque`` says why that comparison needs a quiet machine."""
    return (f"(la máquina estaba ocupada: otros programas usaron {num(nucleos, 1)} núcleos mientras medíamos; "
            f"{porque}: no lo afirmamos. Vuelve a ejecutar la celda cuando la máquina esté tranquila)")
