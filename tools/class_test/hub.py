"""The hub: ``jupyterhub -f tools/class_hub/jupyterhub_config.py`` in a process of its own."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from support import osutil
from tools.class_test.common import CONFIG, PROXY


class Hub:
    """``jupyterhub -f tools/class_hub/jupyterhub_config.py`` in a process of its own."""

    def __init__(self, work: Path, escala: str, pids_max: int, nofile: int, cgroups: osutil.PidsCgroups):
        self.token = secrets.token_hex(16)
        self.port = osutil.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, CLASS_WORK=str(work), CLASS_PORT=str(self.port), CLASS_HUB_PORT=str(osutil.free_port()),
                   CLASS_PROXY_API_PORT=str(osutil.free_port()), CLASS_PROXY=str(PROXY), CLASS_TOKEN=self.token,
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

    def processes(self) -> dict[str, int]:
        """Each student's server process id, by student name (the hub's children that have one)."""
        return osutil.children_by_env(self.proc.pid, "JUPYTERHUB_USER", self._users)
