"""support.fmt writes numbers as a Spanish reader reads them; support.web.report
shows every reason in Spanish through one table."""

from __future__ import annotations

import math

import pytest

from support import fmt
from support.measure.memory import KIB, MIB, shown
from support.web import links, report
from support.web.links import classify
from support.web.report import CrawlReport, label_es


@pytest.mark.parametrize("x, decimals, expected", [
    (0, 0, "0"), (999, 0, "999"), (1000, 0, "1.000"), (1136, 0, "1.136"), (32765, 0, "32.765"),
    (10_000_000, 0, "10.000.000"), (0.2, 2, "0,20"), (1.11, 2, "1,11"), (1234.5, 1, "1.234,5"),
    (-12345.678, 1, "-12.345,7"), (0.0005, 3, "0,001"), (2.5, 0, "2"), (3.5, 0, "4"),
])
def test_num(x, decimals, expected):
    assert fmt.num(x, decimals) == expected


def test_num_of_what_is_not_a_number():
    assert fmt.num(math.nan, 1) == "—" and fmt.num(math.inf) == "∞" and fmt.num(-math.inf) == "-∞"
    with pytest.raises(ValueError):
        fmt.num(1.0, -1)


def test_units():
    assert fmt.seg(0.2) == "0,20 s" and fmt.seg(4.0712, 1) == "4,1 s"
    assert fmt.kib(1136, 2) == "1,11 KiB" and fmt.mib(8 * 2**20) == "8,0 MiB" and fmt.gib(2**30) == "1,0 GiB"
    assert fmt.pct(0.33) == "33 %" and fmt.pct(0.0654, 1) == "6,5 %"


def test_memory_shown_keeps_its_width_in_spanish():
    assert shown(8 * 2**20, MIB, "6.2f") == "  8,00 MiB"
    assert shown(16486) == "  16,1 KiB" and shown(16486, KIB, ".0f") == "16 KiB"
    assert shown(None) == "no medible aquí"
    with pytest.raises(ValueError):
        shown(1.0, KIB, "6d")


def _every_reason_constant() -> list[str]:
    found = [getattr(links, n) for n in links.__all__ if n.isupper() and isinstance(getattr(links, n), str)
             and n not in ("DEFAULT_PARSER", "CRAWL_PARSER")]
    found += [getattr(report, n) for n in report.__all__ if n.isupper() and isinstance(getattr(report, n), str)]
    return found


def test_every_reason_has_a_spanish_label():
    reasons = _every_reason_constant()
    assert len(reasons) >= 20
    missing = [r for r in reasons if r not in report.LABELS_ES]
    assert not missing, f"add a Spanish label to support.web.report.LABELS_ES for {missing}"
    # "HTTP ..." and "error ..." read the same in Spanish
    untranslated = [r for r, es in report.LABELS_ES.items() if es == r and not r.startswith(("HTTP", "error"))]
    assert not untranslated, untranslated


@pytest.mark.parametrize("reason, expected", [
    ("max_pages reached", "se alcanzó max_pages"),
    ("other host (example.com)", "otro host (example.com)"),
    ("scheme mailto: is not http", "el esquema mailto: no es http"),
    ("malformed URL (Port out of range 0-65535)", "URL mal formada (Port out of range 0-65535)"),
    ("HTTP 404", "HTTP 404"),
    ("not HTML (image/png)", "no es HTML (image/png)"),
    ("error (OSError: boom)", "error (OSError: boom)"),
    ("something no table knows", "something no table knows"),  # shown as it is, never lost
])
def test_label_es(reason, expected):
    assert label_es(reason) == expected


def test_classify_reasons_come_from_the_table():
    base = "http://127.0.0.1:8000/"
    for href, spanish in [("mailto:a@b.c", "el esquema mailto: no es http"), ("#top", "solo un fragmento (la misma página)"),
                          ("http://example.com/", "otro host (example.com)"), ("", "href vacío"),
                          ("http://[::1", "URL mal formada (Invalid IPv6 URL)")]:
        decision = classify(href, base)
        assert decision.url is None and label_es(decision.reason) == spanish, (href, decision)


def test_summary_es():
    r = CrawlReport()
    for i in range(20):
        r.ok(f"u{i}")
    r.skip("x", report.MAX_PAGES)
    r.seconds = 4.0712
    assert r.summary() == "20 crawled, 1 skipped, 0 failed in 4.07 s"  # the stable English form stays
    assert r.summary_es() == "20 rastreadas, 1 omitida, 0 fallidas en 4,07 s"


def test_summary_es_counts_the_skipped_urls_past_the_sample_too():
    r = CrawlReport(sample=2)
    for i in range(5):
        r.skip(f"http://h/{i}", report.MAX_PAGES)  # two listed, three only counted
    assert r.summary().startswith("0 crawled, 2 skipped (+3 counted, not listed)")
    assert r.summary_es() == "0 rastreadas, 5 omitidas, 0 fallidas en 0,00 s"


def test_a_timing_message_shows_the_figures_and_what_to_do():
    message = fmt.medido(t_cb=1.2712, t_sec=0.5, pages=1136, ok=True, fila="LoadResult(...)")
    assert message.startswith("medido: t_cb = 1,27, t_sec = 0,500, pages = 1.136, ok = True, fila = LoadResult(...); ")
    assert message.endswith(fmt.OCUPADA) and "Vuelve a ejecutar la celda" in message
    assert fmt.medido(a=0.000512, b=0.05, c=0.0, d=float("nan")).startswith("medido: a = 0,000512, b = 0,0500, c = 0,00, d = —;")


def test_a_timing_assert_fails_with_that_message():
    t = 0.25
    with pytest.raises(AssertionError, match=r"^medido: t = 0,250; es una afirmación de tiempo"):
        assert t < 0.2, fmt.medido(t=t)


def test_what_a_cell_prints_when_the_machine_was_busy():
    assert fmt.ocupada(1.46, "con la CPU repartida, no") == (
        "(la máquina estaba ocupada: otros programas usaron 1,5 núcleos mientras medíamos; "
        "con la CPU repartida, no: no lo afirmamos. Vuelve a ejecutar la celda cuando la máquina esté tranquila)")
