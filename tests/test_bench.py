"""tools/bench.py: its arithmetic on made-up rows, and one quick real run on a tiny site."""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from support.labsite import SiteGraph
from support.simulate import ideal_time

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "tools" / "bench.py"
HAS_SCRAPY = importlib.util.find_spec("scrapy") is not None


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench", None)


def make_row(bench, name, regime="latency", wall=5.0, ideal=4.4, pages=None, rss=50.0, cpu=2.0,
             concurrency=100, **kw):
    regime = bench.REGIMES[regime]
    expected = regime.pages
    row = bench.Row(bench.BY_NAME[name], regime, concurrency, ideal, expected, **kw)
    row.pages = expected if pages is None else pages
    row.failed, row.wall, row.cpu, row.rss_mb, row.server_cpu = 0, wall, cpu, rss, 0.5
    return row


def test_efficiency_pages_per_second_and_cpu_per_page(bench):
    row = make_row(bench, "asyncio", wall=5.5, ideal=4.4, cpu=3.0)
    assert row.efficiency == pytest.approx(0.8)
    assert row.pages_per_s == pytest.approx(2000 / 5.5)
    assert row.cpu_per_page == pytest.approx(3.0 / 2000)
    assert make_row(bench, "asyncio", regime="cpu", ideal=0.0).efficiency is None


def test_table_shows_skipped_and_incomplete_rows(bench):
    skipped = bench.run_one(bench.BY_NAME["sequential"], bench.REGIMES["latency"], site=None,
                            ideal=400.0, expected=2000, concurrency=1, budget=120)
    assert skipped.skipped == "skipped: projected N x L = 400 s > budget 120 s"
    short = make_row(bench, "callbacks", pages=1990, concurrency=None)
    text = bench.table([skipped, short, make_row(bench, "asyncio", wall=4.4 / 0.9)])
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["crawler", "N"]
    assert "skipped: projected N x L = 400 s" in lines[2]
    assert re.search(r"callbacks\s+2000\s+0\.2\s+none\s+1990 !", lines[3])
    assert re.search(r"asyncio\s.*\s0\.900\s", lines[4])


def test_ratios_against_scrapy_and_the_pool(bench):
    rows = [make_row(bench, "pool", wall=8.0, rss=90, cpu=4.0),
            make_row(bench, "asyncio", wall=4.0, rss=45, cpu=1.0),
            make_row(bench, "scrapy", wall=16.0, rss=180, cpu=10.0)]
    line = next(ln for ln in bench.ratios(rows).splitlines() if ln.startswith("asyncio"))
    # pages/s, RSS, CPU per page: vs Scrapy, then vs the pool.
    assert line.split()[1:] == ["4.00x", "0.25x", "0.10x", "2.00x", "0.50x", "0.25x"]


def test_targets_pass_and_fail_on_the_measured_values(bench):
    good = {
        "latency": [make_row(bench, "asyncio", wall=4.4 / 0.98)],
        "concurrency": [make_row(bench, "asyncio", "concurrency", wall=16 / 0.96, ideal=16, rss=60),
                        make_row(bench, "pool", "concurrency", rss=90),
                        make_row(bench, "scrapy", "concurrency", rss=200)],
        "cpu": [make_row(bench, "asyncio", "cpu", wall=1.0, ideal=0.0),
                make_row(bench, "scrapy", "cpu", wall=5.5, ideal=0.0)],
    }
    verdicts = [v for v in bench.targets(good) if "asyncio+" not in v.text]
    assert [v.passed for v in verdicts] == [True] * 8, [str(v) for v in verdicts]
    assert "every crawler measured crawled all 5000 pages" in verdicts[-2].text
    bad = {
        "latency": [make_row(bench, "asyncio", wall=4.4 / 0.96)],
        "concurrency": [make_row(bench, "asyncio", "concurrency", wall=16 / 0.94, ideal=16, rss=70),
                        make_row(bench, "pool", "concurrency", rss=65),
                        make_row(bench, "scrapy", "concurrency", rss=200)],
        "cpu": [make_row(bench, "asyncio", "cpu", wall=1.0, ideal=0.0),
                make_row(bench, "scrapy", "cpu", wall=4.5, ideal=0.0)],
    }
    verdicts = [v for v in bench.targets(bad) if "asyncio+" not in v.text
                and "every crawler" not in v.text]
    assert [v.passed for v in verdicts] == [False] * 5, [str(v) for v in verdicts]
    assert str(verdicts[0]).startswith("FAIL  latency-bound")
    # A crawler that missed pages fails its efficiency target however fast it was.
    missed = {"latency": [make_row(bench, "asyncio", wall=4.4, pages=1500)]}
    assert bench.targets(missed)[0].passed is False
    assert str(bench.targets(missed)[-1]) == ("FAIL  latency-bound: every crawler measured crawled all "
                                              "2000 pages: NOT asyncio (1500/2000, 0 failed)")
    # Nothing measured: not judged.
    assert bench.targets({"cpu": []})[0].passed is None


def test_peak_rss_is_the_childs_own_not_the_parents(bench):
    """ru_maxrss survives fork+exec on Linux; the bench reads VmHWM instead."""
    ballast = bytearray(300 * 2**20)  # the parent holds 300 MB when it forks
    ballast[::4096] = b"x" * len(ballast[::4096])
    code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('b', sys.argv[1]); "
            "m = sys.modules['b'] = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
            "print(m.peak_rss_mb())")
    out = subprocess.run([sys.executable, "-c", code, str(BENCH)], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert 5 < float(out) < 100
    del ballast


def bench_cpu_split():
    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    return {cpus[-1]}, set(cpus[:-1])


def test_cpu_split_keeps_the_site_off_the_crawlers_processors(bench):
    assert bench.cpu_split() == bench_cpu_split()
    site, crawlers = bench.cpu_split()
    if site is not None:
        assert site and crawlers and not site & crawlers
        assert site | crawlers == os.sched_getaffinity(0)


def fake_runs(bench, monkeypatch, walls, pages=None):
    """Make run_one's single runs return rows with these wall times, in order."""
    queue = list(walls)
    calls = []

    def once(crawler, regime, site, ideal, expected, concurrency, projected):
        calls.append(1)
        return make_row(bench, crawler.name, wall=queue.pop(0),
                        pages=(pages or {}).get(len(calls)), cpu=float(len(calls)))
    monkeypatch.setattr(bench, "_run_once", once)
    return calls


def test_a_short_crawl_is_repeated_and_the_median_run_reported(bench, monkeypatch):
    calls = fake_runs(bench, monkeypatch, [4.6, 4.5, 4.8])
    row = bench.run_one(bench.BY_NAME["asyncio"], bench.REGIMES["latency"], None, 4.4, 2000, 100, 120, 3)
    assert len(calls) == 3
    assert row.wall == 4.6 and row.cpu == 1.0  # every field from that one run
    assert row.walls == [4.5, 4.6, 4.8]
    assert "3" in bench.table([row]).splitlines()[2].split() and "4.50-4.80" in bench.table([row])


def test_a_long_crawl_runs_once(bench, monkeypatch):
    calls = fake_runs(bench, monkeypatch, [bench.REPEAT_BELOW + 1, 1.0, 1.0])
    row = bench.run_one(bench.BY_NAME["pool"], bench.REGIMES["concurrency"], None, 16, 5000, 1000, 120, 3)
    assert len(calls) == 1 and row.walls == [bench.REPEAT_BELOW + 1]


def test_a_run_that_misses_pages_is_not_hidden_by_the_median(bench, monkeypatch):
    calls = fake_runs(bench, monkeypatch, [4.6, 4.5, 4.8], pages={2: 1999})
    row = bench.run_one(bench.BY_NAME["asyncio"], bench.REGIMES["latency"], None, 4.4, 2000, 100, 120, 3)
    assert len(calls) == 2  # it stops at the incomplete run and reports it
    assert row.pages == 1999 and not row.complete


def test_quick_run_prints_the_table_ratios_and_cleans_up(bench):
    crawlers = ["pool", "asyncio"] + (["scrapy"] if HAS_SCRAPY else [])
    cmd = [sys.executable, str(BENCH), "--quick"] + [f"--crawler={c}" for c in crawlers]
    if not HAS_SCRAPY:
        cmd.append("--no-scrapy")
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "crawler" in out and "efficiency" in out and "peak RSS (MB)" in out
    assert "ideal+CPU (s)" in out and "others (cores)" in out and "CPU used by other processes" in out
    ideal = ideal_time(SiteGraph(30), 10, 0.05)
    for name in ("thread pool", "asyncio") + (("scrapy",) if HAS_SCRAPY else ()):
        row = re.search(rf"^{name}\s+30\s+0\.05\s+10\s+30\s+(\d+)\s+([\d.]+)\s+([\d.]+)-([\d.]+)\s+"
                        r"([\d.]+)\s+\d+\s+([\d.]+)\s+(\d+)\s+([\d.]+)", out, re.M)
        assert row, f"no complete row for {name} in:\n{out}"
        runs, wall, low, high, shown_ideal, eff, rss, cpu = (float(x) for x in row.groups())
        assert runs == 3 and low <= wall <= high  # a short crawl: three runs, the median shown
        assert shown_ideal == pytest.approx(ideal, abs=0.005)
        assert eff == pytest.approx(ideal / wall, abs=0.02)  # wall is rounded to 0.01 s
        assert 0 < eff <= 1.05 and 10 < rss < 1000 and cpu > 0
    assert "pages/s / thread pool" in out
    assert "PASS  quick (tiny site): every crawler measured crawled all 30 pages" in out
    if HAS_SCRAPY:
        assert re.search(r"^asyncio\s+\d+\.\d\dx", out.split("Ratios")[1], re.M)
    assert "- cores: " in out and "- python: CPython" in out
    site_cpus, _ = bench_cpu_split()
    if site_cpus:
        assert f"- pinning: site on CPU {max(site_cpus)}, each crawler on CPU" in out
        assert "- thread pool: ThreadPoolExecutor(max_workers=C), notebook 01. Not pinned" in out
    # The site process is gone: its port refuses connections.
    port = int(re.search(r"site http://127\.0\.0\.1:(\d+)/", done.stderr).group(1))
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
