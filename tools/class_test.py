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
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import aiohttp
import nbformat
import psutil

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "class-test"
CONFIG = ROOT / "tools" / "class_hub" / "jupyterhub_config.py"
PROXY = ROOT / "build" / "js" / "node_modules" / ".bin" / "configurable-http-proxy"
HEAVIEST = ("01", "08", "09")
MEANINGLESS = "no es una medida"  # what support.measure.c10k.meaningful warns instead of asserting
BUSY = "la máquina estaba ocupada"  # what support.fmt.ocupada prints instead of asserting a timing comparison
CELL_TIMEOUT = 600.0
WARNING = re.compile(r"\w*Warning: .*")  # a warning's category and text, without the kernel's file name


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# Per-student pids cgroups
# --------------------------------------------------------------------------


class Cgroups:
    """Where students' pids cgroups go: cgroup v1's ``pids`` hierarchy or v2's unified one."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        v1, v2 = Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup")
        if (v1 / "cgroup.procs").exists():
            self.root = v1
        elif "pids" in _read(v2 / "cgroup.controllers").split():
            self.root = v2
            (v2 / "cgroup.subtree_control").write_text("+pids")
        else:
            raise SystemExit("class test: no pids cgroup controller here (cgroup v1 'pids' or v2 with "
                             "'pids'): a pids limit cannot be imposed, and without it the test proves nothing.")
        self.made: list[Path] = []

    def make(self, user: str, pids_max: int) -> Path:
        path = self.root / f"{self.prefix}{user}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(pids_max))
        except OSError as exc:
            raise SystemExit(f"class test: cannot make the cgroup {path} ({exc}); run it as root.") from exc
        self.made.append(path)
        return path

    def current(self, user: str) -> int:
        return int(_read(self.root / f"{self.prefix}{user}" / "pids.current") or 0)

    def remove(self) -> None:
        for path in self.made:
            for _ in range(50):  # empty once the processes have been reaped
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


# --------------------------------------------------------------------------
# The hub
# --------------------------------------------------------------------------


class Hub:
    """``jupyterhub -f tools/class_hub/jupyterhub_config.py`` in a process of its own."""

    def __init__(self, work: Path, escala: str, pids_max: int, nofile: int, cgroups: Cgroups):
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, CLASS_WORK=str(work), CLASS_PORT=str(self.port), CLASS_HUB_PORT=str(free_port()),
                   CLASS_PROXY_API_PORT=str(free_port()), CLASS_PROXY=str(PROXY), CLASS_TOKEN=self.token,
                   CLASS_ESCALA=escala, CLASS_PIDS_MAX=str(pids_max), CLASS_NOFILE=str(nofile),
                   CLASS_CGROUPS=str(cgroups.root), CLASS_CGROUP_PREFIX=cgroups.prefix,
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        self.log = open(work / "jupyterhub.log", "w")
        self._users: dict[int, str | None] = {}  # a child's student, read once from its environment
        self.proc = subprocess.Popen([str(Path(sys.executable).with_name("jupyterhub")), "-f", str(CONFIG)],
                                     cwd=work, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # JupyterHub stops the servers it started (cleanup_servers)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def processes(self) -> dict[str, psutil.Process]:
        """Each student's server process, by student name (the hub's children that have one)."""
        found = {}
        try:
            children = psutil.Process(self.proc.pid).children()
        except psutil.NoSuchProcess:
            return found
        for child in children:
            if child.pid not in self._users:
                try:
                    self._users[child.pid] = child.environ().get("JUPYTERHUB_USER")
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            if user := self._users[child.pid]:
                found[user] = child
        return found


# --------------------------------------------------------------------------
# What each student used, sampled
# --------------------------------------------------------------------------


@dataclass
class Usage:
    rss: int = 0
    threads: int = 0
    fds: int = 0
    pids: int = 0  # the cgroup's own count of tasks (threads and processes)
    processes: int = 0


USAGE_FIELDS = tuple(f.name for f in fields(Usage))


class Sampler:
    """Every ``every`` seconds, the sums over each student's process tree; keeps the peaks."""

    def __init__(self, hub: Hub, cgroups: Cgroups, users: list[str], every: float = 0.25):
        self.hub, self.cgroups, self.every = hub, cgroups, every
        self.peak = {user: Usage() for user in users}
        #: what each student is running now (set by :class:`Student`), and the peaks while it ran
        self.running: dict[str, str] = {}
        self.peak_by_notebook: dict[tuple[str, str], Usage] = {}
        self.samples = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(self.every):
            for user, root in self.hub.processes().items():
                if user in self.peak:
                    self._sample(user, root)
            self.samples += 1

    def _sample(self, user: str, root: psutil.Process) -> None:
        now = Usage(pids=self.cgroups.current(user))
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        for proc in tree:
            try:
                with proc.oneshot():
                    now.rss += proc.memory_info().rss
                    now.threads += proc.num_threads()
                    now.fds += proc.num_fds()
                    now.processes += 1
            except psutil.NoSuchProcess:
                continue
        peaks = [self.peak[user]]
        if user in self.running:
            peaks.append(self.peak_by_notebook.setdefault((user, self.running[user]), Usage()))
        for peak in peaks:
            for name in USAGE_FIELDS:
                setattr(peak, name, max(getattr(peak, name), getattr(now, name)))

    def stop(self) -> dict[str, Usage]:
        self._done.set()
        self._thread.join()
        return self.peak


# --------------------------------------------------------------------------
# A student: server, sessions, cells
# --------------------------------------------------------------------------

PROBE = """\
import json, os, resource
from support.measure import classroom
print(json.dumps({"nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
                  "pids_max": classroom.cgroup_pids_max(), "escala": classroom.scale(),
                  "escala_env": os.environ.get("CORRUTINAS_ESCALA")}))
"""


@dataclass
class NotebookRun:
    notebook: str
    cells: int = 0
    seconds: float = 0.0
    error: str = ""
    meaningless: int = 0  # "no es una medida" warnings
    busy: int = 0  # timing comparisons not asserted because other programs kept the CPU busy
    warnings: list[str] = field(default_factory=list)  # what the lessons warned (a lesson made smaller, and why)
    limits: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.error


class Student:
    def __init__(self, session: aiohttp.ClientSession, hub: Hub, name: str, sampler: Sampler):
        self.http, self.hub, self.name, self.sampler = session, hub, name, sampler
        self.base = f"{hub.url}/user/{name}"
        self.headers = {"Authorization": f"token {hub.token}"}
        self.spawn_seconds = 0.0

    async def api(self, method: str, url: str, **kwargs) -> dict:
        async with self.http.request(method, url, headers=self.headers, **kwargs) as resp:
            text = await resp.text()
            if resp.status >= 400:
                raise RuntimeError(f"{method} {url}: HTTP {resp.status} {text[:300]}")
            return json.loads(text) if text else {}

    async def start_server(self, timeout: float = 240.0) -> None:
        t0 = time.perf_counter()
        hub_api = f"{self.hub.url}/hub/api/users/{self.name}"
        await self.api("POST", hub_api)
        await self.api("POST", f"{hub_api}/server")
        async with asyncio.timeout(timeout):
            while not (await self.api("GET", hub_api)).get("servers", {}).get("", {}).get("ready"):
                await asyncio.sleep(0.5)
        self.spawn_seconds = time.perf_counter() - t0

    async def run_notebook(self, path: Path, relative: str) -> NotebookRun:
        run = NotebookRun(path.stem)
        self.sampler.running[self.name] = run.notebook
        nb = nbformat.read(path, as_version=4)
        session = await self.api("POST", f"{self.base}/api/sessions",
                                 json={"path": relative, "type": "notebook", "name": path.name,
                                       "kernel": {"name": "python3"}})
        kernel = session["kernel"]["id"]
        t0 = time.perf_counter()
        try:
            async with self.http.ws_connect(f"{self.base}/api/kernels/{kernel}/channels".replace("http", "ws", 1),
                                            headers=self.headers, max_msg_size=0, heartbeat=30) as ws:
                channel = Channel(ws, self.name)
                await channel.request("kernel_info_request", {}, timeout=120)
                probe = await channel.execute(PROBE)
                if probe.error:
                    run.error = f"probe: {probe.error}"
                    return run
                run.limits = json.loads(probe.stdout.strip().splitlines()[-1])
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type != "code":
                        continue
                    expect_error = "raises-exception" in cell.metadata.get("tags", [])
                    result = await channel.execute(cell.source, stop_on_error=not expect_error)
                    run.cells += 1
                    run.meaningless += result.stderr.count(MEANINGLESS)
                    run.busy += result.stdout.count(BUSY)
                    run.warnings += [f"cell {index}: {m.group(0).strip()}"
                                     for m in map(WARNING.search, result.stderr.splitlines()) if m]
                    if bool(result.error) != expect_error:
                        run.error = (f"cell {index}: " + (result.error or "was tagged raises-exception "
                                                                         "and raised nothing"))
                        break
        finally:
            run.seconds = time.perf_counter() - t0
            await self.api("DELETE", f"{self.base}/api/sessions/{session['id']}")
        return run


@dataclass
class Executed:
    stdout: str = ""
    stderr: str = ""
    error: str = ""


class Channel:
    """The kernel's websocket (Jupyter's JSON protocol): send a request, collect its answer."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, user: str):
        self.ws, self.user, self.session = ws, user, uuid.uuid4().hex

    def _message(self, msg_type: str, content: dict) -> dict:
        return {"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": self.user,
                           "session": self.session, "version": "5.3",
                           "date": datetime.datetime.now(datetime.timezone.utc).isoformat()},
                "parent_header": {}, "metadata": {}, "content": content, "channel": "shell", "buffers": []}

    async def request(self, msg_type: str, content: dict, timeout: float = CELL_TIMEOUT,
                      on_iopub=None) -> dict:
        """Send on shell; return the reply's content once the kernel is idle again."""
        msg = self._message(msg_type, content)
        msg_id = msg["header"]["msg_id"]
        await self.ws.send_str(json.dumps(msg))
        reply, idle = None, False
        async with asyncio.timeout(timeout):
            while reply is None or not idle:
                frame = await self.ws.receive()
                if frame.type != aiohttp.WSMsgType.TEXT:
                    raise RuntimeError(f"kernel websocket closed ({frame.type.name}) while waiting for {msg_type}")
                answer = json.loads(frame.data)
                if answer.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if answer["channel"] == "shell":
                    reply = answer["content"]
                elif answer["channel"] == "iopub":
                    if answer["msg_type"] == "status" and answer["content"]["execution_state"] == "idle":
                        idle = True
                    elif on_iopub is not None:
                        on_iopub(answer)
        return reply

    async def execute(self, code: str, stop_on_error: bool = True) -> Executed:
        out = Executed()

        def collect(answer: dict) -> None:
            content = answer["content"]
            if answer["msg_type"] == "stream":
                if content["name"] == "stderr":
                    out.stderr += content["text"]
                else:
                    out.stdout += content["text"]
            elif answer["msg_type"] == "error":
                out.error = f"{content['ename']}: {content['evalue']}"

        reply = await self.request("execute_request",
                                   {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                                    "allow_stdin": False, "stop_on_error": stop_on_error}, on_iopub=collect)
        if reply.get("status") == "error" and not out.error:
            out.error = f"{reply.get('ename')}: {reply.get('evalue')}"
        return out


# --------------------------------------------------------------------------
# The class
# --------------------------------------------------------------------------


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


def report(results: dict[str, list[NotebookRun]], sampler: Sampler, args) -> list[tuple[str, bool]]:
    """Print a row per student and notebook (peaks while it ran) and a row per student (its
    peaks over the whole class), then the lessons' warnings; return the checks."""
    head = (f"{'student':<10} {'notebook':<30} {'ok':>3} {'cells':>5} {'seconds':>7} {'peak RSS':>9} "
            f"{'threads':>7} {'pids':>5} {'fds':>5} {'procs':>5} {'busy':>4}")
    print(head)
    print("-" * len(head))

    def row(user: str, what: str, ok: str, cells: int, seconds: float, peak: Usage, busy: int) -> None:
        print(f"{user:<10} {what:<30} {ok:>3} {cells:>5} {seconds:>7.0f} {peak.rss / 2**20:>6.0f} MB "
              f"{peak.threads:>7} {peak.pids:>5} {peak.fds:>5} {peak.processes:>5} {busy:>4}")

    for user, runs in results.items():
        for run in runs:
            row(user, run.notebook, "yes" if run.passed else "NO", run.cells, run.seconds,
                sampler.peak_by_notebook.get((user, run.notebook), Usage()), run.busy)
        row(user, "(all, at once)", f"{sum(r.passed for r in runs)}/{len(runs)}", sum(r.cells for r in runs),
            sum(r.seconds for r in runs), sampler.peak[user], sum(r.busy for r in runs))
    warned = sorted({f"{run.notebook} {line}" for runs in results.values() for run in runs for line in run.warnings})
    if warned:
        print("What the lessons warned (the same line from several students is shown once):")
        for line in warned:
            print(f"  {line[:300]}")
    runs = [run for user_runs in results.values() for run in user_runs]
    expected = {"nofile": args.nofile, "pids_max": args.pids, "escala": float(args.escala)}
    off = [f"{run.notebook}: {run.limits}" for run in runs
           if any(run.limits.get(key) != value for key, value in expected.items())]
    failed = [f"{user} {run.notebook}: {run.error}" for user, rs in results.items() for run in rs if not run.passed]
    meaningless = sum(run.meaningless for run in runs)
    busy = sum(run.busy for run in runs)
    print(f"busy: {busy} timing comparisons printed '{BUSY}' instead of asserting (other programs, "
          "the other students among them, kept the CPU busy); every other timing claim was asserted")
    return [
        (f"every kernel ran under the limits imposed ({expected})" + (f"; not: {off}" if off else ""), not off),
        (f"{len(runs) - len(failed)} of {len(runs)} notebook runs passed" + (f"; failed: {failed}" if failed else ""),
         not failed),
        (f"{meaningless} measurements too small to mean anything ('{MEANINGLESS}')", meaningless == 0),
    ]


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
    cgroups = Cgroups(prefix=f"corrutinas-{os.getpid()}-")
    print(f"class test: {args.students} students, notebooks {' '.join(p.stem for p in notebooks)}, "
          f"CORRUTINAS_ESCALA={args.escala}, pids.max {args.pids} ({cgroups.root}), RLIMIT_NOFILE {args.nofile}; "
          f"{psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GB", flush=True)
    t0 = time.perf_counter()
    hub = None
    try:
        for user in users:
            cgroups.make(user, args.pids)
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


if __name__ == "__main__":
    sys.exit(main())
