"""Binder builds the course from binder/: check it with repo2docker's own detection.

`jupyter-repo2docker --no-build --debug` prints the Dockerfile it would build,
without a Docker engine, so the launch button cannot silently rot.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"


def pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line, following `-r` includes."""
    found: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found.update(pins((path.parent / line[3:].strip()).resolve()))
        elif "==" in line:
            name, version = line.split("==")
            found[name.strip().lower()] = version.strip()
    return found


@pytest.fixture(scope="module")
def dockerfile() -> str:
    exe = Path(sys.executable).with_name("jupyter-repo2docker")
    if not exe.exists():
        exe = shutil.which("jupyter-repo2docker")
    assert exe, "jupyter-repo2docker is not installed (it is pinned in requirements-ci.txt)"
    result = subprocess.run([str(exe), "--no-build", "--debug", str(ROOT)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout + result.stderr


def test_binder_reuses_the_top_level_pins_and_nothing_else():
    assert pins(BINDER / "requirements.txt") == pins(ROOT / "requirements.txt")
    own = [line for line in (BINDER / "requirements.txt").read_text().splitlines()
           if line.strip() and not line.startswith("#")]
    assert own == ["-r ../requirements.txt"], "binder/ must not keep a second list of versions"


REQUIREMENTS = ("requirements.txt", "requirements-nox.txt", "requirements-ci.txt", "requirements-bench.txt",
                "requirements-teacher.txt", "requirements-uv.txt")


def included(path: Path) -> dict[str, str]:
    """The pins a requirements file takes from the files it includes with `-r`."""
    found: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found.update(pins((path.parent / line[3:].strip()).resolve()))
    return found


def test_every_requirement_is_pinned():
    for name in REQUIREMENTS:
        for raw in (ROOT / name).read_text().splitlines():
            line = raw.split("#", 1)[0].strip()
            if line and not line.startswith("-r "):
                assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][\w.]*", line), f"{name}: unpinned {line!r}"


def test_repo2docker_installs_the_pins_on_the_pinned_python(dockerfile):
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.1[1-9]", runtime)
    assert f"python={runtime.split('-')[1]}" in dockerfile
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    # binder/ exists, so the root's requirements.txt is NOT read directly by repo2docker.
    assert '-r "requirements.txt"' not in dockerfile


def test_postbuild_makes_support_importable(dockerfile):
    assert "./binder/postBuild" in dockerfile
    script = (BINDER / "postBuild").read_text()
    assert "pip install" in script and "-e ." in script
    assert (BINDER / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"


def test_binder_and_make_lab_install_the_same_jupyterlab_settings(dockerfile):
    """One settings file (jupyterlab/corrutinas.json), copied where JupyterLab
    reads packaged overrides: the venv for `make install`, the image's Python
    environment (NB_PYTHON_PREFIX, which runs JupyterLab) for Binder."""
    settings = json.loads((ROOT / "jupyterlab" / "corrutinas.json").read_text())
    assert settings["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert settings["@jupyter-widgets/jupyterlab-manager:plugin"]["saveState"] is True
    target = "share/jupyter/lab/settings/overrides.d"
    assert "ENV NB_PYTHON_PREFIX=" in dockerfile
    postbuild = (BINDER / "postBuild").read_text()
    assert f'"${{NB_PYTHON_PREFIX}}/{target}"' in postbuild and "cp jupyterlab/corrutinas.json" in postbuild
    makefile = (ROOT / "Makefile").read_text()
    assert f"$(VENV)/{target}" in makefile and "cp jupyterlab/corrutinas.json" in makefile
    # stored widgets are drawn only in trusted notebooks (tests/test_browser.py shows it)
    assert "jupyter trust notebooks/*.ipynb" in postbuild and "jupyter trust notebooks/*.ipynb" in makefile


def test_one_source_of_versions_and_no_test_tools_for_students():
    course = pins(ROOT / "requirements.txt")
    seen: dict[str, str] = {}
    for name in REQUIREMENTS:
        inherited = included(ROOT / name)
        own = {n: v for n, v in pins(ROOT / name).items() if n not in inherited}
        for package in own:
            assert package not in seen, f"{package} is pinned in {seen[package]} and {name}"
            seen[package] = name
    for tool in ("pytest", "nbval", "jupyter-repo2docker", "playwright", "scrapy", "nbgrader", "jupyterhub",
                 "jupyterlab-rise", "nox"):
        assert tool not in course, f"{tool} is a tool of the tests or the benchmark: not for Binder"
    for needed in ("jupyterlab", "ipykernel", "ipywidgets", "aiohttp", "psutil"):
        assert needed in course
