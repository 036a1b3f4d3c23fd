"""The capstone crawler (support.crawlers.asyncio_crawler) against every fault mode of the labsite.

For each mode: the crawl finishes within its total deadline, its memory stays
bounded, and every URL it met ends as crawled, skipped or failed with a
reason; nothing is lost (every link of every crawled page has an outcome) and
nothing hangs (each crawl runs under a hard time limit of its own).
"""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from dataclasses import dataclass

import pytest
import requests
from realtime import within

from support.crawlers import asyncio_crawler as crawler
from support.labsite import FAULT_MODES, LabSite
from support.web.links import LinkFilter, extract_links
from support.web.report import CONNECTION_LOST, TIMEOUT, listed_key

MEMORY = 25 * 2**20  # a crawl of a few hundred small pages never needs more Python memory than this


@dataclass
class Run:
    result: object
    seconds: float   # wall time, measured here
    peak: int        # bytes, tracemalloc's peak during the crawl
    deadline: float  # the crawl's total deadline


def run_crawl(site: LabSite, **kwargs) -> Run:
    """Crawl ``site`` with a deadline (default 15 s), under a hard limit of deadline + 10 s."""
    kwargs.setdefault("deadline", 15.0)
    kwargs.setdefault("concurrency", 10)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result = asyncio.run(asyncio.wait_for(crawler.crawl(site.url, **kwargs), kwargs["deadline"] + 10))
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return Run(result, seconds, peak, kwargs["deadline"])


def assert_sound(site: LabSite, run: Run, parser: str = "html.parser", sample: int = 100) -> None:
    """The invariants every crawl must keep, whatever the site did.

    The "nothing lost" check fetches crawled pages again: all of them, or the
    first ``sample`` in URL order when a trap made the crawl large."""
    r = run.result
    within(run.seconds, run.deadline, f"a crawl with a deadline of {run.deadline} s")
    assert run.peak < MEMORY, f"peak Python memory {run.peak / 2**20:.1f} MiB"
    crawled, skipped, failed = set(r.crawled), set(r.skipped), set(r.failed)
    assert not (crawled & skipped) and not (crawled & failed) and not (skipped & failed), "a URL with two outcomes"
    assert all(status == 200 for status in r.crawled.values()), r.crawled
    assert all(isinstance(why, str) and why for why in [*r.skipped.values(), *r.failed.values()])
    assert r.outcome(site.url) == "crawled"
    # Every report can be written as JSON in UTF-8: no lone surrogate in any key or value (issue 19, point 7).
    json.dumps({"crawled": r.crawled, "skipped": r.skipped, "failed": r.failed, "unlisted": r.unlisted,
                "redirects": r.redirects, "depth": r.depth, "attempts": r.attempts}, ensure_ascii=False).encode()
    # Nothing lost: every link of every crawled page has an outcome (its URL, or the href itself if skipped).
    links = LinkFilter(site.url)
    session = requests.Session()
    for url in sorted(r.crawled)[:sample]:
        html = session.get(url, timeout=5).text
        for href in extract_links(html, parser if parser != "selectolax" else "html.parser"):
            decision = links(href, url)
            if decision.url is None:  # listed under the href as decided, cut if very long
                assert listed_key(decision.href) in r.skipped, (url, href, decision.reason)
            else:
                assert r.outcome(decision.url) is not None, (url, href, decision.url)


def crawl_and_check(site: LabSite, parser: str = "html.parser", **kwargs) -> Run:
    run = run_crawl(site, parser=parser, **kwargs)
    assert_sound(site, run, parser)
    return run


def outcome(r, site: LabSite, page: int) -> tuple[str | None, object]:
    url = site.url_of(page)
    kind = r.outcome(url)
    return kind, (r.crawled.get(url) if kind == "crawled" else r.skipped.get(url) or r.failed.get(url))


# --------------------------------------------------------------------------
# One test per mode
# --------------------------------------------------------------------------


def test_drip_pages_fail_by_request_timeout(make_site):
    site = make_site(pages=30, faults={"drip": 0.2}, fault_options={"drip_seconds": 60})
    run = crawl_and_check(site, request_timeout=0.3, retries=1, deadline=15)
    for page in site.faulty_pages("drip"):
        kind, why = outcome(run.result, site, page)
        assert kind == "failed" and why == TIMEOUT, (page, kind, why)
        assert run.result.attempts[site.url_of(page)] == 2  # one retry, then no more


def test_drip_cannot_outlive_the_total_deadline(make_site):
    site = make_site(pages=30, faults={"drip": 0.2}, fault_options={"drip_seconds": 60})
    run = crawl_and_check(site, request_timeout=30, deadline=1.0)  # the request timeout alone would wait 30 s
    r = run.result
    assert r.deadline_reached
    within(run.seconds, 1.0, "the crawl")
    for page in site.faulty_pages("drip"):
        kind, why = outcome(r, site, page)
        assert kind is None or (kind in ("failed", "skipped") and why == "deadline"), (page, kind, why)
    assert any(outcome(r, site, p)[1] == "deadline" for p in site.faulty_pages("drip"))


def test_resets_fail_after_retries(make_site):
    site = make_site(pages=30, faults={"reset": 0.2})
    run = crawl_and_check(site, retries=2)
    pages = site.faulty_pages("reset")
    met = [p for p in pages if run.result.outcome(site.url_of(p))]
    assert met
    for page in met:
        kind, why = outcome(run.result, site, page)
        assert kind == "failed" and why == CONNECTION_LOST, (page, kind, why)
        assert run.result.attempts[site.url_of(page)] == 3
        assert site.stats.by_path[site.graph.path_of(page)] == 3  # retried, and no more
    assert site.stats.by_fault["reset"] == 3 * len(met)


def test_500_fails_with_its_status(make_site):
    site = make_site(pages=30, faults={"error500": 0.2})
    run = crawl_and_check(site, retries=1)
    for page in site.faulty_pages("error500"):
        kind, why = outcome(run.result, site, page)
        assert kind in ("failed", None) and (kind is None or "500" in why), (page, kind, why)
    assert site.stats.by_status[500] >= 1


def test_transient_503_is_cured_by_retries(make_site):
    site = make_site(pages=30, faults={"error503": 0.2})  # each answers 503 twice, then the page
    run = crawl_and_check(site, retries=2)
    met = [p for p in site.faulty_pages("error503") if run.result.outcome(site.url_of(p))]
    assert met
    for page in met:
        assert outcome(run.result, site, page) == ("crawled", 200), page
    assert run.result.retries >= 2 * len(met)


def test_permanent_503_fails_after_bounded_retries(make_site):
    site = make_site(pages=30, faults={"error503": 0.2}, fault_options={"error503_times": None})
    run = crawl_and_check(site, retries=2)
    met = [p for p in site.faulty_pages("error503") if run.result.outcome(site.url_of(p))]
    assert met
    for page in met:
        kind, why = outcome(run.result, site, page)
        assert kind == "failed" and why == "HTTP 503" and run.result.attempts[site.url_of(page)] == 3
        assert site.stats.by_path[site.graph.path_of(page)] == 3


def test_redirect_loop_ends_and_is_accounted(make_site):
    site = make_site(pages=30, faults={"redirect_loop": 0.2})
    run = crawl_and_check(site, max_redirects=5)
    for page in site.faulty_pages("redirect_loop"):
        kind, why = outcome(run.result, site, page)
        if kind is None:
            continue
        assert kind == "skipped" and why in ("redirect", "too many redirects"), (page, kind, why)
        loop_url = f"{site.url}bucle/{page}"
        assert run.result.outcome(loop_url) in ("skipped", "failed")
        assert site.stats.by_path[f"/page/{page}"] + site.stats.by_path[f"/bucle/{page}"] <= 5 + 1


@pytest.mark.parametrize("max_redirects", [5, 10])
def test_redirect_chain_is_cut_or_followed(make_site, max_redirects):
    site = make_site(pages=30, faults={"redirect_chain": 0.2})  # chains of 8 redirects
    run = crawl_and_check(site, max_redirects=max_redirects)
    r = run.result
    met = [p for p in site.faulty_pages("redirect_chain") if r.outcome(site.url_of(p))]
    assert met
    for page in met:
        end = f"{site.url}cadena/{page}/8"
        if max_redirects >= 8:
            assert r.outcome(end) == "crawled", page
        else:
            assert r.outcome(end) is None and r.outcome(f"{site.url}cadena/{page}/{max_redirects + 1}") == "skipped"
            assert r.skipped[f"{site.url}cadena/{page}/{max_redirects + 1}"] == "too many redirects"


def test_huge_bodies_are_refused_without_holding_them(make_site):
    site = make_site(pages=30, faults={"huge": 0.3})  # 5 MB each, half of them without Content-Length
    run = crawl_and_check(site, max_bytes=100_000)
    met = [p for p in site.faulty_pages("huge") if run.result.outcome(site.url_of(p))]
    assert any(p % 2 for p in met) and any(not p % 2 for p in met)
    for page in met:
        kind, why = outcome(run.result, site, page)
        assert kind == "skipped" and "max_bytes" in why, (page, kind, why)
    assert run.peak < 12 * 2**20, f"peak {run.peak / 2**20:.1f} MiB: huge bodies were held in memory"


def test_non_html_is_skipped_and_its_decoys_never_followed(make_site):
    site = make_site(pages=60, faults={"binary": 0.3})
    run = crawl_and_check(site)
    met = [p for p in site.faulty_pages("binary") if run.result.outcome(site.url_of(p))]
    assert met
    for page in met:
        kind, why = outcome(run.result, site, page)
        assert kind == "skipped" and why.startswith("not HTML"), (page, kind, why)
        decoy = f"/page/{site.pages + page}"
        assert site.stats.by_path[decoy] == 0 and run.result.outcome(site.url + decoy[1:]) is None


@pytest.mark.parametrize("parser", ["html.parser", "lxml", "lxml-tokens", "selectolax"])
def test_malformed_html_is_crawled_and_its_links_followed(make_site, parser):
    site = make_site(pages=40, faults={"malformed": 0.3})
    run = crawl_and_check(site, parser=parser)
    for page in site.faulty_pages("malformed"):
        if run.result.outcome(site.url_of(page)):
            assert outcome(run.result, site, page) == ("crawled", 200)
            for link in site.links_of(page):
                if link.target is not None:
                    assert run.result.outcome(site.url_of(link.target)) is not None, (page, link)


def test_truncated_html_is_crawled_with_the_links_it_has(make_site):
    site = make_site(pages=40, faults={"truncated": 0.3})
    run = crawl_and_check(site)
    for page in site.faulty_pages("truncated"):
        if run.result.outcome(site.url_of(page)):
            assert outcome(run.result, site, page) == ("crawled", 200)


def test_odd_links_are_each_accounted_and_never_crash(make_site):
    site = make_site(pages=30, faults={"odd_links": 0.2})
    run = crawl_and_check(site, request_timeout=3)
    r = run.result
    met = [p for p in site.faulty_pages("odd_links") if r.outcome(site.url_of(p))]
    assert met
    reasons = " ".join(r.reasons())
    assert "malformed URL" in reasons  # http://[::1 and the port 99999 are reported, not fatal
    for page in met:
        assert outcome(r, site, page) == ("crawled", 200)
        for link in site.links_of(page):
            if link.kind == "odd-entity":
                assert r.outcome(site.url_of(link.target)) is not None


def test_trap_is_bounded_by_max_pages(make_site):
    site = make_site(pages=20, faults={"trap": 0.2})
    run = crawl_and_check(site, max_pages=80)
    r = run.result
    trap = [u for u in r.crawled if "/trampa/" in u]
    assert trap and len(r.crawled) <= 80
    assert any(why == "max_pages reached" for why in r.skipped.values())


def test_trap_is_bounded_by_max_depth(make_site):
    site = make_site(pages=20, faults={"trap": 0.2})
    run = crawl_and_check(site, max_depth=6)
    r = run.result
    assert max(r.depth.values()) <= 6
    assert any("/trampa/" in u for u in r.crawled)
    assert any(why == "max_depth reached" for why in r.skipped.values())


def test_trap_is_bounded_by_the_deadline_alone(make_site):
    site = make_site(pages=20, faults={"trap": 0.2})
    run = crawl_and_check(site, deadline=1.0)
    r = run.result
    assert r.deadline_reached
    within(run.seconds, 1.0, "the crawl")
    assert sum("/trampa/" in u for u in r.crawled) > 5  # deep into the trap: hundreds on an idle machine


def test_every_mode_at_once(make_site):
    site = make_site(pages=80, faults={m: 0.04 for m in FAULT_MODES}, fault_options={"drip_seconds": 60})
    run = crawl_and_check(site, request_timeout=0.5, retries=2, max_pages=250, deadline=20)
    r = run.result
    counts = {}
    for mode in FAULT_MODES:
        for page in site.faulty_pages(mode):
            kind = r.outcome(site.url_of(page))
            counts.setdefault(mode, {}).setdefault(kind, 0)
            counts[mode][kind] += 1
    print("\noutcomes of the faulted pages, per mode:", counts)
    print(r.summary())
    assert counts["drip"].get("crawled", 0) == 0 and counts["huge"].get("crawled", 0) == 0
    assert counts["error500"].get("crawled", 0) == 0 and counts["binary"].get("crawled", 0) == 0
