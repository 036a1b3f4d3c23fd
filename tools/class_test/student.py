"""A student: a server of the hub, a session per notebook, every code cell over the kernel's websocket."""

from __future__ import annotations

import asyncio
import datetime
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import nbformat

from tools.class_test.common import BUSY, CELL_TIMEOUT, MEANINGLESS, WARNING
from tools.class_test.hub import Hub
from tools.class_test.sampler import Sampler

PROBE = """\
import json, os
from support import osutil
from support.measure import classroom
print(json.dumps({"nofile": osutil.soft_limit("NOFILE"),
                  "pids_max": osutil.cgroup_pids_max(), "escala": classroom.scale(),
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
