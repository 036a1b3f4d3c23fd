"""The course on every CPython a student installs, 3.11 to 3.14 (``nox -l`` lists the sessions).

    nox                      # every version this machine has (a clear message for the others)
    nox -s tests-3.13        # one version
    nox -s tests-3.12 -- -k memory   # extra pytest arguments

Each session makes a virtualenv with that Python, installs requirements-ci.txt and
the course (as ``make test`` does), then runs the unit tests (the browser test
aside) and every notebook cell (nbval-lax, as pyproject.toml says). A Python is
found on PATH (``python3.12``), else among pyenv's builds (``$(pyenv root)/versions/3.12.*``).
3.14, when missing here, runs in a Debian unstable chroot (``tools/sid_chroot.py``,
root only); where that cannot be made, the session says why and is skipped.

``NOX_UNIT=fast`` (what ``.ci/run`` uses beside ``make test``) runs the notebooks and
only the unit tests of FAST_UNIT: the version-sensitive parts (the event loop,
asyncio servers, memory and OS readings) in about a minute, not the whole suite.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nox

VERSIONS = ("3.11", "3.12", "3.13", "3.14")
nox.options.default_venv_backend = "venv"
nox.options.download_python = "never"  # the matrix tests the Pythons a machine has; it never downloads one
nox.options.error_on_missing_interpreters = False

#: Fast subset for the non-default Pythons in CI: what depends on the interpreter's asyncio,
#: its threads and its OS readings, plus the notebook checks. The full suite runs with NOX_UNIT=all.
FAST_UNIT = (
    "tests/test_eventloop.py", "tests/test_trampoline.py", "tests/test_callbacks.py",
    "tests/test_osutil.py", "tests/test_memory.py", "tests/test_servers.py", "tests/test_timers.py",
    "tests/test_response.py", "tests/test_links.py", "tests/test_notebook_versions.py",
)
UNAVAILABLE = 3  # tools/sid_chroot.py: "cannot be made here"
IN_CHROOT = os.environ.get("CORRUTINAS_IN_SID_CHROOT") == "1"


def _version_key(path: str) -> tuple[int, ...]:
    found = re.search(r"versions/([0-9.]+)/", path)
    return tuple(int(p) for p in found.group(1).split(".")) if found else ()


def pyenv_root() -> str | None:
    if os.environ.get("PYENV_ROOT"):
        return os.environ["PYENV_ROOT"]
    if shutil.which("pyenv"):
        done = subprocess.run(["pyenv", "root"], capture_output=True, text=True)
        if done.returncode == 0:
            return done.stdout.strip()
    home = os.path.expanduser("~/.pyenv")
    return home if os.path.isdir(home) else None


def _runs(exe: str) -> bool:
    return subprocess.run([exe, "-c", ""], capture_output=True).returncode == 0


def find_python(version: str) -> str | None:
    """``pythonX.Y`` on PATH, else the newest pyenv build of X.Y; None when this machine has neither."""
    on_path = shutil.which(f"python{version}")
    if on_path and _runs(on_path):  # pyenv's shims are on PATH but fail for versions not selected
        return on_path
    root = pyenv_root()
    builds = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python3"), key=_version_key) if root else []
    builds = [b for b in builds if re.search(rf"versions/{re.escape(version)}\.\d+/", b)]
    return builds[-1] if builds else None


def run_suite(session: nox.Session) -> None:
    session.install("-r", "requirements-ci.txt")
    session.install("-e", ".")
    # The course's JupyterLab defaults, where `make install` puts them (tests/test_lab_settings.py).
    overrides = Path(session.virtualenv.location) / "share/jupyter/lab/settings/overrides.d"
    overrides.mkdir(parents=True, exist_ok=True)
    shutil.copyfile("jupyterlab/corrutinas.json", overrides / "corrutinas.json")
    session.run("python", "--version")
    unit = list(FAST_UNIT) if os.environ.get("NOX_UNIT") == "fast" else ["tests"]
    # As `make test`: what asserts on counters or virtual time on xdist workers (two here: fewer tests), then alone
    # what reads the wall clock (conftest marks it `realtime`) and every notebook cell.
    session.run("python", "-m", "pytest", "-q", "-n", "2", "-m", "not realtime and not browser", *unit, *session.posargs)
    session.run("python", "-m", "pytest", "-q", "-m", "realtime and not browser", *unit, "notebooks", *session.posargs)


def _chroot_session(version: str):
    def session(session: nox.Session) -> None:
        if IN_CHROOT:
            session.skip(f"Python {version} not found inside the chroot")
        argv = [sys.executable, "-m", "tools.sid_chroot", "nox", "--", "-s", f"tests-{version}"]
        if session.posargs:
            argv += ["--", *session.posargs]
        session.log(" ".join(argv))
        status = subprocess.run(argv).returncode
        if status == UNAVAILABLE:
            session.skip(f"Python {version}: no python{version} here and the Debian unstable chroot "
                         "cannot be made (the sid_chroot message above says why)")
        if status != 0:
            session.error(f"Python {version} in the Debian unstable chroot: the suite failed (status {status})")
    return session


def _missing_session(version: str):
    def session(session: nox.Session) -> None:
        session.skip(f"Python {version} not found: neither python{version} on PATH nor "
                     f"$(pyenv root)/versions/{version}.* (install it, e.g. `pyenv install {version}`)")
    return session


for _version in VERSIONS:
    _python = find_python(_version)
    _name = f"tests-{_version}"
    if _python:
        nox.session(name=_name, python=_python)(run_suite)
    elif _version == "3.14":
        nox.session(name=_name, python=False)(_chroot_session(_version))
    else:
        nox.session(name=_name, python=False)(_missing_session(_version))
