"""tools.bench: its arithmetic on made-up rows, the worker on a real site, one quick real run."""

from __future__ import annotations

import importlib.util
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from support.crawlers import isolated
from support.crawlers.registry import CRAWLERS, CrawlerSpec
from support.labsite import SiteGraph
from support.measure.simulate import ideal_time
from tools.bench import report, runner, targets

ROOT = Path(__file__).resolve().parent.parent
HAS_SCRAPY = importlib.util.find_spec("scrapy") is not None
ENTRIES = {e.name: e for e in runner.entries()}


def make_row(name, regime="latency", wall=5.0, ideal=4.4, pages=None, rss=50.0, cpu=2.0,
             concurrency=100, **kw):
    regime = runner.REGIMES[regime]
    expected = regime.pages
    row = runner.Row(ENTRIES[name], regime, concurrency, ideal, expected, **kw)
    row.pages = expected if pages is None else pages
    row.failed, row.wall, row.cpu, row.rss_mb, row.server_cpu = 0, wall, cpu, rss, 0.5
    return row


def by_regime(**rows):
    return {runner.REGIMES[key]: value for key, value in rows.items()}


def test_efficiency_pages_per_second_and_cpu_per_page():
    row = make_row("asyncio", wall=5.5, ideal=4.4, cpu=3.0)
    assert row.efficiency == pytest.approx(0.8)
    assert row.pages_per_s == pytest.approx(2000 / 5.5)
    assert row.cpu_per_page == pytest.approx(3.0 / 2000)
    assert make_row("asyncio", regime="cpu", ideal=0.0).efficiency is None


def test_every_registry_crawler_is_an_entry_then_the_presets_then_scrapy():
    names = list(ENTRIES)
    assert names[:len(CRAWLERS)] == list(CRAWLERS)
    assert names[len(CRAWLERS):] == list(runner.PRESETS) + ["scrapy"]
    selectolax = ENTRIES["asyncio-selectolax"]
    assert selectolax.crawler == "asyncio" and selectolax.arguments() == [
        "--crawler", "asyncio", "--option", "obey_robots=false", "--option", "parser=selectolax"]
    # The same work for every row: Scrapy's worker does not read robots.txt, so neither does the course's.
    assert ENTRIES["asyncio"].arguments() == ["--crawler", "asyncio", "--option", "obey_robots=false"]
    assert not ENTRIES["callbacks"].options  # it cannot read robots.txt: nothing to turn off
    assert ENTRIES["sequential"].concurrency(runner.REGIMES["latency"]) == 1
    assert ENTRIES["trampoline"].concurrency(runner.REGIMES["latency"]) is None  # one task per URL
    assert ENTRIES["callbacks"].concurrency(runner.REGIMES["latency"]) == 100    # honours C
    assert ENTRIES["asyncio"].concurrency(runner.REGIMES["concurrency"]) == 1000
    assert ENTRIES["scrapy"].module == "tools.bench.scrapy_worker" and not ENTRIES["scrapy"].arguments()


def test_a_crawler_added_to_the_registry_is_benchmarked_with_its_docstring_and_spec(monkeypatch):
    def crawl_new(root_url, opts):
        """A new crawler. It honours every option.

        More text that the tables do not show.
        """
    monkeypatch.setitem(CRAWLERS, "new", CrawlerSpec(crawl_new))
    monkeypatch.setitem(CRAWLERS, "newer", CrawlerSpec(crawl_new, threaded=True, in_flight=None))
    new, newer = (next(e for e in runner.entries() if e.name == name) for name in ("new", "newer"))
    assert new.note == "A new crawler" and new.crawler == "new" and new.pinned
    assert new.concurrency(runner.REGIMES["cpu"]) == 100  # it honours C unless its spec says not
    assert not newer.pinned and newer.concurrency(runner.REGIMES["cpu"]) is None  # the spec, read by the bench


def test_the_table_shows_skipped_and_incomplete_rows():
    skipped = runner.run_one(ENTRIES["sequential"], runner.REGIMES["latency"], site=None,
                             ideal=400.0, expected=2000, concurrency=1, budget=120)
    assert skipped.skipped == "skipped: its ideal time 400 s > budget 120 s"
    short = make_row("callbacks", pages=1990, concurrency=None)
    lines = report.table([skipped, short, make_row("asyncio", wall=4.4 / 0.9)]).splitlines()
    assert lines[0].split()[:2] == ["crawler", "N"]
    assert "skipped: its ideal time 400 s" in lines[2]
    assert re.search(r"callbacks\s+2000\s+0\.2\s+none\s+1990 !", lines[3])
    assert re.search(r"asyncio\s.*\s0\.900\s", lines[4])


def test_ratios_against_scrapy_and_the_pool():
    rows = [make_row("pool", wall=8.0, rss=90, cpu=4.0),
            make_row("asyncio", wall=4.0, rss=45, cpu=1.0),
            make_row("scrapy", wall=16.0, rss=180, cpu=10.0)]
    line = next(ln for ln in report.ratios(rows).splitlines() if ln.startswith("asyncio"))
    # pages/s, RSS, CPU per page: vs Scrapy, then vs the pool.
    assert line.split()[1:] == ["4.00x", "0.25x", "0.10x", "2.00x", "0.50x", "0.25x"]


def test_notes_say_which_crawlers_ignore_c():
    text = report.notes([make_row("sequential"), make_row("trampoline", concurrency=None),
                         make_row("asyncio")])
    assert "- sequential: " in text and "At most 1 in flight, whatever C." in text
    assert re.search(r"- trampoline: .*No concurrency limit", text)
    assert not re.search(r"- asyncio: .*(No concurrency limit|whatever C)", text)


def good_and_bad():
    good = by_regime(
        latency=[make_row("asyncio", wall=4.4 / 0.98)],
        concurrency=[make_row("asyncio", "concurrency", wall=16 / 0.96, ideal=16, rss=60),
                     make_row("pool", "concurrency", rss=90),
                     make_row("scrapy", "concurrency", rss=200)],
        cpu=[make_row("asyncio", "cpu", wall=1.0, ideal=0.0),
             make_row("scrapy", "cpu", wall=5.5, ideal=0.0)])
    bad = by_regime(
        latency=[make_row("asyncio", wall=4.4 / 0.96)],
        concurrency=[make_row("asyncio", "concurrency", wall=16 / 0.94, ideal=16, rss=70),
                     make_row("pool", "concurrency", rss=65),
                     make_row("scrapy", "concurrency", rss=200)],
        cpu=[make_row("asyncio", "cpu", wall=1.0, ideal=0.0),
             make_row("scrapy", "cpu", wall=4.5, ideal=0.0)])
    return good, bad


def test_targets_pass_and_fail_on_the_measured_values():
    good, bad = good_and_bad()
    verdicts = [v for v in targets.targets(good) if "asyncio-selectolax" not in v.text]
    assert [v.passed for v in verdicts] == [True] * 8, [str(v) for v in verdicts]
    assert "every crawler measured crawled all 5000 pages" in verdicts[-2].text
    verdicts = [v for v in targets.targets(bad) if "asyncio-selectolax" not in v.text
                and "every crawler" not in v.text]
    assert [v.passed for v in verdicts] == [False] * 5, [str(v) for v in verdicts]
    # A crawler that missed pages fails its efficiency target however fast it was.
    missed = by_regime(latency=[make_row("asyncio", wall=4.4, pages=1500)])
    assert targets.targets(missed)[0].passed is False
    assert str(targets.targets(missed)[-1]) == (
        "FAIL  latency-bound (N=2000, L=0.2, C=100): every crawler measured crawled all 2000 "
        "pages: NOT asyncio (1500/2000, 0 failed)")
    # Nothing measured: not judged.
    assert targets.targets(by_regime(cpu=[]))[0].passed is None


def test_the_targets_text_comes_from_the_regime_and_the_goal(monkeypatch):
    good, _ = good_and_bad()
    lines = [str(v) for v in targets.targets(good) if "asyncio-selectolax" not in v.text]
    assert lines[:5] == [
        "PASS  latency-bound (N=2000, L=0.2, C=100): asyncio efficiency 0.980 >= 0.97",
        "PASS  high concurrency (N=5000, L=2, C=1000): asyncio efficiency 0.960 >= 0.95",
        "PASS  high concurrency (N=5000, L=2, C=1000): asyncio peak RSS 60 MB <= 1/3 of scrapy's 200 MB",
        "PASS  high concurrency (N=5000, L=2, C=1000): asyncio peak RSS 60 MB < pool's 90 MB",
        "PASS  CPU-bound (N=2000, L=0, C=100): asyncio 2000 pages/s = 5.5x scrapy's 364 (>= 5x)",
    ]
    # Another regime or another threshold changes the sentence and the verdict with it.
    harder = dict(targets.GOALS, latency=(targets.Efficiency(0.99),))
    monkeypatch.setattr(targets, "GOALS", harder)
    first = targets.targets(good)[0]
    assert str(first) == "FAIL  latency-bound (N=2000, L=0.2, C=100): asyncio efficiency 0.980 >= 0.99"


def test_cpu_split_keeps_the_site_on_the_last_processor():
    assert runner.cpu_split({0, 1}) == ({1}, {0})
    assert runner.cpu_split({0, 2, 5}) == ({5}, {0, 2})
    assert runner.cpu_split({3}) == (None, None)  # one processor: nothing to split
    assert runner.cpu_split(None) == (None, None)  # no way to pin


def fake_runs(monkeypatch, walls, pages=None):
    """Make run_one's single runs return rows with these wall times, in order."""
    queue = list(walls)
    calls = []

    def once(entry, regime, site, ideal, expected, concurrency):
        calls.append(1)
        return make_row(entry.name, wall=queue.pop(0), pages=(pages or {}).get(len(calls)),
                        cpu=float(len(calls)))
    monkeypatch.setattr(runner, "run_once", once)
    return calls


def test_a_short_crawl_is_repeated_and_the_median_run_reported(monkeypatch):
    calls = fake_runs(monkeypatch, [4.6, 4.5, 4.8])
    row = runner.run_one(ENTRIES["asyncio"], runner.REGIMES["latency"], None, 4.4, 2000, 100, 120, 3)
    assert len(calls) == 3
    assert row.wall == 4.6 and row.cpu == 1.0  # every field from that one run
    assert row.walls == [4.5, 4.6, 4.8]
    assert "3" in report.table([row]).splitlines()[2].split() and "4.50-4.80" in report.table([row])


def test_a_long_crawl_runs_once(monkeypatch):
    calls = fake_runs(monkeypatch, [runner.REPEAT_BELOW + 1, 1.0, 1.0])
    row = runner.run_one(ENTRIES["pool"], runner.REGIMES["concurrency"], None, 16, 5000, 1000, 120, 3)
    assert len(calls) == 1 and row.walls == [runner.REPEAT_BELOW + 1]


def test_a_run_that_misses_pages_is_not_hidden_by_the_median(monkeypatch):
    calls = fake_runs(monkeypatch, [4.6, 4.5, 4.8], pages={2: 1999})
    row = runner.run_one(ENTRIES["asyncio"], runner.REGIMES["latency"], None, 4.4, 2000, 100, 120, 3)
    assert len(calls) == 2  # it stops at the incomplete run and reports it
    assert row.pages == 1999 and not row.complete


def test_worker_options_and_result_protocol():
    assert isolated.option("parser=selectolax") == ("parser", "selectolax")
    assert isolated.option("retries=2") == ("retries", 2) and isolated.option("deadline=null") == ("deadline", None)
    with pytest.raises(Exception, match="NAME=VALUE"):
        isolated.option("parser")
    out = "noise\nBENCH-RESULT {\"pages\": 3}\nmore noise\nBENCH-RESULT {\"pages\": 4}\n"
    assert isolated.read_result(out) == {"pages": 4} and isolated.read_result("nothing") is None


def run_worker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "support.crawlers.isolated", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("crawler, options", [("sequential", []), ("asyncio", ["--option", "parser=selectolax"])])
def test_the_worker_crawls_a_local_site_and_reports_one_result_line(make_site, crawler, options):
    site = make_site(pages=12)
    done = run_worker("--crawler", crawler, "--url", site.url, "--concurrency", "4", "--pages", "12",
                      "--timeout", "30", *options)
    assert done.returncode == 0, done.stderr
    result = isolated.read_result(done.stdout)
    assert result["crawler"] == crawler and result["pages"] == 12 and result["failed"] == 0
    assert 0 < result["cpu"] and 0 < result["wall"] < 30 and 5 < result["rss_mb"] < 1000


def test_the_worker_rejects_an_unknown_crawler_with_the_known_names():
    done = run_worker("--crawler", "nope", "--url", "http://127.0.0.1:9/", "--concurrency", "1",
                      "--pages", "1")
    assert done.returncode == 2 and "unknown crawler 'nope'" in done.stderr and "asyncio" in done.stderr


def test_quick_run_prints_the_table_ratios_and_cleans_up():
    crawlers = ["pool", "asyncio"] + (["scrapy"] if HAS_SCRAPY else [])
    cmd = [sys.executable, "-m", "tools.bench", "--quick"] + [f"--crawler={c}" for c in crawlers]
    if not HAS_SCRAPY:
        cmd.append("--no-scrapy")
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "crawler" in out and "efficiency" in out and "peak RSS (MB)" in out
    assert "ideal+CPU (s)" in out and "others (cores)" in out and "CPU used by other processes" in out
    ideal = ideal_time(SiteGraph(30), 10, 0.05)
    for name in crawlers:
        row = re.search(rf"^{name}\s+30\s+0\.05\s+10\s+30\s+(\d+)\s+([\d.]+)\s+([\d.]+)-([\d.]+)\s+"
                        r"([\d.]+)\s+\d+\s+([\d.]+)\s+(\d+)\s+([\d.]+)", out, re.M)
        assert row, f"no complete row for {name} in:\n{out}"
        runs, wall, low, high, shown_ideal, eff, rss, cpu = (float(x) for x in row.groups())
        assert runs == 3 and low <= wall <= high  # a short crawl: three runs, the median shown
        assert shown_ideal == pytest.approx(ideal, abs=0.005)
        # wall is shown rounded to 0.01 s and eff to 0.001: eff lies within what that rounding allows
        assert ideal / (wall + 0.005) - 0.0005 <= eff <= ideal / (wall - 0.005) + 0.0005, (eff, ideal, wall)
        assert 0 < eff <= 1.05 and 10 < rss < 1000 and cpu > 0
    assert "pages/s / pool" in out
    assert "PASS  quick (N=30, L=0.05, C=10): every crawler measured crawled all 30 pages" in out
    if HAS_SCRAPY:
        assert re.search(r"^asyncio\s+\d+\.\d\dx", out.split("Ratios")[1], re.M)
    assert "- cores: " in out and "- python: CPython" in out
    site_cpus, _ = runner.cpu_split()
    if site_cpus:
        assert f"- pinning: site on CPU {max(site_cpus)}, each crawler on CPU" in out
        assert re.search(r"^- pool: .*Not pinned", out, re.M)
    # The site process is gone: its port refuses connections.
    port = int(re.search(r"site http://127\.0\.0\.1:(\d+)/", done.stderr).group(1))
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
