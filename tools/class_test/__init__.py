"""The class test: several students on one real JupyterHub, at once, under per-student limits.

    python -m tools.class_test [--students 4] [--notebooks 01 08 09] [--escala 0.1]
                               [--pids 1024] [--nofile 4096] [--json out.json]

``make class-test`` runs it with the defaults. It starts JupyterHub 6 (pinned in
requirements-teacher.txt) and its proxy (configurable-http-proxy, npm pin in
tools/js) on 127.0.0.1 with ``tools/class_hub/jupyterhub_config.py``, creates
the students, starts each one's server in its own pids cgroup with ``pids.max``
and ``RLIMIT_NOFILE`` imposed and ``CORRUTINAS_ESCALA`` set, then has every
student run the heaviest notebooks at the same time, the way a student does:
a session per notebook (the kernel starts in the notebook's folder), every code
cell in order over the kernel's websocket. A cell tagged ``raises-exception``
must raise (as in nbval); any other error fails that notebook.

While they run, a sampler adds up each student's process tree (server,
kernels and what the kernels start) every 0.25 s: resident memory, threads,
open files, and the cgroup's own task count. It prints a table and checks:

* every student's kernels ran under the limits imposed (read from inside the
  kernel: ``RLIMIT_NOFILE``, the cgroup's ``pids.max`` as the course reads it,
  ``CORRUTINAS_ESCALA``);
* every notebook of every student passed;
* every measurement meant something: no "no es una medida" warning from the
  course (``support.measure.c10k.meaningful``), which is what a scale too small for a
  measurement prints instead of asserting.

It also counts, per notebook, the timing comparisons a lesson printed as not
asserted because other programs (the other students) kept the CPU busy
(``support.fmt.ocupada``): a figure for the teacher, not a failure.

Needs Linux and root for the cgroup (v1 ``pids`` hierarchy or v2 with the
``pids`` controller); where it cannot impose the pids limit it says so and
fails, because an unlimited class test proves nothing about a class server.

Modules: :mod:`.common` (paths, marks), :mod:`.hub`, :mod:`.sampler` (the peaks),
:mod:`.student` (a student's cells over the kernel's websocket), :mod:`.report`
(the table and the checks); the cgroups and the process trees are read through
:mod:`support.osutil` (``PidsCgroups``, ``tree_usage``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import aiohttp

from support import osutil
from tools.class_test.common import BUSY, HEAVIEST, MEANINGLESS, PROXY, ROOT, WARNING, WORK
from tools.class_test.hub import Hub
from tools.class_test.report import report
from tools.class_test.sampler import Sampler, Usage
from tools.class_test.student import NotebookRun, Student

__all__ = ["main", "report", "notebook_paths", "run_class", "Hub", "Sampler", "Usage", "NotebookRun", "Student",
           "HEAVIEST", "WARNING", "BUSY", "MEANINGLESS"]


def notebook_paths(prefixes: list[str]) -> list[Path]:
    paths = []
    for prefix in prefixes:
        found = sorted((ROOT / "notebooks").glob(f"{prefix}_*.ipynb"))
        if not found:
            raise SystemExit(f"class test: no notebook starts with {prefix}_ in notebooks/")
        paths.append(found[0])
    return paths


async def wait_for_hub(hub: Hub, timeout: float = 120.0) -> None:
    async with aiohttp.ClientSession() as http, asyncio.timeout(timeout):
        while True:
            if hub.proc.poll() is not None:
                raise SystemExit(f"class test: JupyterHub exited (code {hub.proc.returncode}); "
                                 f"see {WORK / 'jupyterhub.log'}")
            try:
                async with http.get(f"{hub.url}/hub/api/") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.5)


async def run_class(hub: Hub, sampler: Sampler, users: list[str],
                    notebooks: list[Path]) -> dict[str, list[NotebookRun]]:
    await wait_for_hub(hub)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=60)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        students = [Student(http, hub, user, sampler) for user in users]
        await asyncio.gather(*(s.start_server() for s in students))
        print("  servers ready: " + ", ".join(f"{s.name} {s.spawn_seconds:.1f} s" for s in students), flush=True)

        async def one(student: Student) -> list[NotebookRun]:
            runs = []
            for path in notebooks:
                run = await student.run_notebook(WORK / "home" / student.name / "notebooks" / path.name,
                                                 f"notebooks/{path.name}")
                print(f"  {student.name} {run.notebook}: {'ok' if run.passed else 'FAILED ' + run.error} "
                      f"({run.cells} cells, {run.seconds:.0f} s)", flush=True)
                runs.append(run)
            return runs

        results = await asyncio.gather(*(one(s) for s in students))
    return dict(zip(users, results, strict=True))


def prepare_homes(users: list[str], notebooks: list[Path]) -> None:
    for user in users:
        folder = WORK / "home" / user / "notebooks"
        folder.mkdir(parents=True)
        for path in notebooks:
            shutil.copy2(path, folder / path.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.class_test", description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--notebooks", nargs="+", default=list(HEAVIEST), help="notebook number prefixes")
    parser.add_argument("--escala", default="0.1", help="CORRUTINAS_ESCALA for every student")
    parser.add_argument("--pids", type=int, default=1024, help="pids.max per student (threads count)")
    parser.add_argument("--nofile", type=int, default=4096, help="RLIMIT_NOFILE per process")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if not PROXY.exists():
        raise SystemExit(f"class test: {PROXY} is missing: make build/js/.installed (make class-test does it)")
    notebooks = notebook_paths(args.notebooks)
    users = [f"alumno{i + 1}" for i in range(args.students)]
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    prepare_homes(users, notebooks)
    try:
        cgroups = osutil.PidsCgroups(prefix=f"corrutinas-{os.getpid()}-")
    except (RuntimeError, OSError) as exc:
        raise SystemExit(f"class test: {exc}: a pids limit cannot be imposed, and without it the test "
                         "proves nothing.") from exc
    print(f"class test: {args.students} students, notebooks {' '.join(p.stem for p in notebooks)}, "
          f"CORRUTINAS_ESCALA={args.escala}, pids.max {args.pids} ({cgroups.root}), RLIMIT_NOFILE {args.nofile}; "
          f"{osutil.cpu_count()} cores, {osutil.memory_total() / 2**30:.0f} GB", flush=True)
    t0 = time.perf_counter()
    hub = None
    try:
        for user in users:
            try:
                cgroups.make(user, args.pids)
            except OSError as exc:
                raise SystemExit(f"class test: cannot make a cgroup under {cgroups.root} ({exc}); "
                                 "run it as root.") from exc
        hub = Hub(WORK, args.escala, args.pids, args.nofile, cgroups)
        sampler = Sampler(hub, cgroups, users)
        try:
            results = asyncio.run(run_class(hub, sampler, users, notebooks))
        finally:
            peaks = sampler.stop()
    finally:
        if hub is not None:
            hub.stop()
        cgroups.remove()
    print(f"wall time {time.perf_counter() - t0:.0f} s, {sampler.samples} samples")
    checks = report(results, sampler, args)
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "args": vars(args), "peaks": {u: asdict(p) for u, p in peaks.items()},
            "peaks_by_notebook": {f"{u} {nb}": asdict(p) for (u, nb), p in sampler.peak_by_notebook.items()},
            "runs": {u: [asdict(r) for r in rs] for u, rs in results.items()}}, indent=1))
    return 0 if all(ok for _, ok in checks) else 1
