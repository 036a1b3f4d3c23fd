"""The benchmark's report: a table and ratios per regime, notes, targets, the machine.

Plain text (Markdown code blocks): ``make bench`` prints it and
``python -m tools.bench --markdown docs/bench.md`` also writes it as a page.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import platform

from support import osutil
from tools.bench.runner import ALL_CPUS, FOLLOWS_C, Regime, Row, cpu_split, cpus_text, entries
from tools.bench.targets import Verdict

#: The rows every other row is compared with, in the ratios table.
REFERENCES = ("scrapy", "pool")
#: Versions shown under "Machine" (distribution names).
PACKAGES = ("aiohttp", "beautifulsoup4", "lxml", "selectolax", "scrapy")


def _fmt(value, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def _cell(text: str, width: int, right: bool) -> str:
    return text.rjust(width) if right else text.ljust(width)


def table(rows: list[Row]) -> str:
    head = ["crawler", "N", "L (s)", "C", "pages", "runs", "wall (s)", "wall range (s)", "ideal (s)",
            "pages/s", "efficiency", "peak RSS (MB)", "CPU s/page", "ideal+CPU (s)", "server CPU (s)",
            "others (cores)"]
    body = []
    for r in rows:
        c = "none" if r.concurrency is None else str(r.concurrency)
        if not r.ok:
            body.append([r.name, str(r.regime.pages), f"{r.regime.latency:g}", c, r.skipped or r.error])
            continue
        pages = f"{r.pages}" + ("" if r.complete else " !")
        body.append([r.name, str(r.regime.pages), f"{r.regime.latency:g}", c, pages,
                     str(len(r.walls)), f"{r.wall:.2f}", r.wall_range, f"{r.ideal:.2f}",
                     f"{r.pages_per_s:.0f}",
                     _fmt(r.efficiency, ".3f", "n/a (L=0)"), f"{r.rss_mb:.0f}",
                     f"{r.cpu_per_page:.5f}", _fmt(r.ideal_cpu, ".2f"), _fmt(r.server_cpu, ".1f"),
                     _fmt(r.others, ".2f")])
    full = [b for b in body if len(b) == len(head)]
    widths = [max(len(x[i]) for x in [head] + full) for i in range(len(head))]

    def line(cells):
        if len(cells) < len(head):  # a skipped row: the message spans the measured columns
            return "  ".join(_cell(x, widths[i], i > 0) for i, x in enumerate(cells[:4])) \
                + "  " + cells[4]
        return "  ".join(_cell(x, widths[i], i > 0) for i, x in enumerate(cells))

    out = [line(head), "  ".join("-" * w for w in widths)] + [line(b) for b in body]
    return "\n".join(x.rstrip() for x in out)


def ratios(rows: list[Row]) -> str:
    by = {r.name: r for r in rows if r.ok}
    head = ["crawler"]
    for ref in REFERENCES:
        head += [f"pages/s / {ref}", f"RSS / {ref}", f"CPU per page / {ref}"]
    body = []
    for r in rows:
        if not r.ok:
            continue
        cells = [r.name]
        for ref_name in REFERENCES:
            ref = by.get(ref_name)
            if ref is None:
                cells += ["-", "-", "-"]
                continue
            cells += [f"{r.pages_per_s / ref.pages_per_s:.2f}x", f"{r.rss_mb / ref.rss_mb:.2f}x",
                      f"{r.cpu_per_page / ref.cpu_per_page:.2f}x"]
        body.append(cells)
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    out = ["  ".join(_cell(x, widths[i], i > 0) for i, x in enumerate(cells)) for cells in [head] + body]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(x.rstrip() for x in out)


def notes(rows: list[Row]) -> str:
    seen, out = set(), []
    for r in rows:
        if r.name not in seen:
            seen.add(r.name)
            in_flight = r.entry.in_flight
            if in_flight is None:
                limit = " No concurrency limit: a socket per URL discovered."
            elif in_flight == FOLLOWS_C:
                limit = ""
            else:
                limit = f" At most {in_flight} in flight, whatever C."
            free = ("" if r.entry.pinned or cpu_split()[0] is None else
                    " Not pinned: it may use every processor, the site's included (its threads "
                    "fight for the GIL; on one processor their timed waits starve the holder).")
            out.append(f"- {r.name}: {r.entry.note}.{limit}{free}")
        for n in r.notes:
            out.append(f"- {r.name}: {n}")
    out.append("- ideal+CPU: the same simulation as the ideal, but each page also costs the crawler's "
               "measured CPU s/page on one processor; wall minus ideal+CPU is time lost elsewhere "
               "(the server, connection set-up, scheduling, other processes).")
    out.append("- server CPU: CPU seconds the site's process used during that crawl.")
    out.append("- others: cores' worth of CPU used by the rest of the machine (other users' "
               "processes) while that crawler ran; well above 0 means the crawl shared the CPU.")
    return "\n".join(out)


def machine() -> dict[str, str]:
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": str(osutil.cpu_count()),
        "cpu": osutil.cpu_model(),
        "memory": f"{osutil.memory_total() / 2**30:.0f} GB",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.release()}",
        "packages": ", ".join(versions),
        "pinning": pinning(),
    }


def pinning() -> str:
    site, crawlers = cpu_split()
    if site is None:
        return "none (one processor, or no way to pin): site and crawlers share the processors"
    free = ", ".join(e.name for e in entries() if not e.pinned)
    return (f"site on CPU {cpus_text(site)}, each crawler on CPU {cpus_text(crawlers)} "
            f"(except {free}: on CPU {cpus_text(ALL_CPUS)}, see the notes)")


def load() -> str:
    return " ".join(f"{x:.2f}" for x in osutil.load_average())


def report(results: dict[Regime, list[Row]], info: dict[str, str], verdicts: list[Verdict],
           seconds: float, loads: tuple[str, str]) -> str:
    parts = []
    for regime, rows in results.items():
        parts.append(f"### {regime.title}: N={regime.pages}, L={regime.latency:g} s, "
                     f"C={regime.concurrency}\n")
        parts.append("```\n" + table(rows) + "\n```\n")
        parts.append("Ratios in the same run (pages/s: higher is better; RSS and CPU per page: "
                     "lower is better):\n")
        parts.append("```\n" + ratios(rows) + "\n```\n")
    all_rows = [r for rows in results.values() for r in rows]
    parts.append("Notes (`!` after the page count: the crawler missed pages or some failed):\n\n"
                 + notes(all_rows) + "\n")
    parts.append("### Targets\n\n```\n" + "\n".join(str(v) for v in verdicts) + "\n```\n")
    mach = "\n".join(f"- {k}: {v}" for k, v in info.items())
    others = [r.others for r in all_rows if r.others is not None]
    busy = max(others, default=0.0)
    mean = sum(others) / len(others) if others else 0.0
    parts.append(f"### Machine\n\n{mach}\n- load average (1, 5, 15 min) before / after: "
                 f"{loads[0]} / {loads[1]}\n- CPU used by other processes during the crawls: "
                 f"{mean:.2f} cores on average, {busy:.2f} at most\n- whole run: {seconds:.0f} s\n")
    if busy > 0.5:
        parts.append(f"WARNING: other processes used up to {busy:.1f} of the {osutil.cpu_count()} "
                     "cores during this run; the crawls they overlapped are slower than on a quiet "
                     "machine.\n")
    return "\n".join(parts)


def markdown_page(text: str) -> str:
    return ("# Benchmark: the course's crawlers and Scrapy on the same local site\n\n"
            "Written by `python -m tools.bench --markdown docs/bench.md` (`make bench` prints the "
            "same report). Each crawler runs in a fresh process of its own against one site served "
            "by another process; efficiency = ideal / wall, where the ideal is the discrete-event "
            "simulation of the same crawl with zero CPU (`support/measure/simulate.py`): each fetch takes "
            "exactly L, at most C in flight, links known when a page arrives. A crawler's ideal "
            "is computed at its own concurrency. CPU s/page counts the crawler's process only; "
            "peak RSS is the crawler process's maximum resident set.\n\n" + text)
