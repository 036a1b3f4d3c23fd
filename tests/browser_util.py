"""Run a notebook in a real JupyterLab, in headless Chromium, through Playwright.

Used by ``tests/test_browser.py``. The recipe (see TOOLING.md in the course
workspace): JupyterLab on 127.0.0.1 with a random token, every Jupyter folder
(``HOME``, config, data, runtime, settings, workspaces) in a temporary folder
so nothing touches the user's ``$HOME``; the news toast switched off and the
notebook rendered without windowing (every cell in the page); Debian's
Chromium driven by Playwright's Python package (``playwright install`` is
never needed); wait until the status bar reads "Python 3 (ipykernel) | Idle";
Run > Run All Cells from the menu; save; stop the server with SIGTERM.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from support.osutil import free_port

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-dev-shm-usage"]
KERNEL_IDLE = "Python 3 (ipykernel) | Idle"


def find_chromium() -> str | None:
    for path in CHROMIUM_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("chromium")


def why_no_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can: Debian's
    Chromium and Playwright's Python package (``playwright install`` is never used)."""
    if find_chromium() is None:
        return "no Chromium installed (Debian: apt-get install chromium; .ci/run installs it)"
    if importlib.util.find_spec("playwright") is None:
        return "Playwright's Python package is not installed (pip install -r requirements-ci.txt)"
    return None


def _write_settings(settings: Path) -> None:
    files = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                          "checkForUpdates": False},
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    }
    for name, value in files.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


@contextmanager
def jupyterlab(root: Path, home: Path, start_timeout: float = 60.0, user_settings: bool = True):
    """A JupyterLab server serving ``root``; yields ``(base_url, token)``.
    ``user_settings=False`` leaves the user's settings empty, so that only the
    installed defaults (the course's overrides) apply."""
    for name in ("config", "data", "runtime", "ipython", "settings", "workspaces"):
        (home / name).mkdir(parents=True, exist_ok=True)
    if user_settings:
        _write_settings(home / "settings")
    env = dict(os.environ, HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"),
               JUPYTER_DATA_DIR=str(home / "data"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               IPYTHONDIR=str(home / "ipython"), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    token, port = secrets.token_hex(16), free_port()
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--ServerApp.port_retries=0", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(home / "jupyterlab.log", "wb")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {server.returncode}: "
                                   f"{(home / 'jupyterlab.log').read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not answer within {start_timeout:.0f} s")
            time.sleep(0.25)
        yield base, token
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)  # kernels shut down cleanly
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(5)
        log.close()


PROMPTS_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
                   .map(p => p.textContent.trim())"""


#: Seconds the kernel shows idle, with cells left unrun, before Run All counts as stopped at an
#: error. Between two cells it shows idle for a moment; 3 s once cut a run of notebook 07 short
#: on a loaded machine (20 code cells "never ran", no error). Only a failing run waits this long.
STOPPED_AFTER = 20.0


def run_all_cells(page, base: str, token: str, notebook: str, run_timeout: float = 150.0) -> float:
    """Open ``notebook``, wait for its kernel, Run All Cells, wait until every
    code cell has run (or the run has stopped: the kernel idle for :data:`STOPPED_AFTER`
    seconds with cells left unrun), then save. Returns the seconds Run All took."""
    page.goto(f"{base}/lab/tree/{notebook}?token={token}&reset", wait_until="domcontentloaded")
    idle = page.get_by_text(KERNEL_IDLE).first
    idle.wait_for(timeout=90_000)
    page.locator("#jp-MainMenu").get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    start = time.monotonic()
    # A code cell shows "[n]:" once it has run. Queued cells may show "[*]:" or
    # an empty "[ ]:", so the kernel's status tells a stopped run from a slow one.
    idle_since = None
    while time.monotonic() - start < run_timeout:
        prompts = page.evaluate(PROMPTS_JS)
        if prompts and all(re.search(r"\[\d+\]", p) for p in prompts):
            break
        if idle.is_visible():
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > STOPPED_AFTER:
                break  # Run All stopped at an error: the caller reports which cells did not run
        else:
            idle_since = None
        time.sleep(0.3)
    else:
        raise TimeoutError(f"{notebook}: Run All did not finish in {run_timeout:.0f} s")
    elapsed = time.monotonic() - start
    idle.wait_for(timeout=30_000)
    page.keyboard.press("Control+s")
    page.get_by_text("Saving completed").first.wait_for(timeout=15_000, state="attached")
    return elapsed
