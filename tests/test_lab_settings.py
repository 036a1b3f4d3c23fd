"""JupyterLab as `make lab` starts it carries the course's settings
(jupyterlab/corrutinas.json, copied by `make install` into the virtualenv's
overrides.d; Binder's postBuild does the same): no news pop-up on the first
launch, widget state saved with the notebook. Asked from a real JupyterLab
server's settings API, with the user's folders empty."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest
from browser_util import jupyterlab

ROOT = Path(__file__).resolve().parents[1]


def _defaults(base: str, token: str, plugin: str) -> dict:
    """The defaults JupyterLab will use for ``plugin`` (overrides change the schema's defaults)."""
    with urllib.request.urlopen(f"{base}/lab/api/settings/{plugin}?token={token}", timeout=30) as r:
        answer = json.load(r)
    assert answer["settings"] == {}, "the user's settings are not empty: this test would prove nothing"
    return {name: prop.get("default") for name, prop in answer["schema"]["properties"].items()}


def test_jupyterlab_starts_with_the_course_settings(tmp_path):
    installed = Path(sys.prefix, "share/jupyter/lab/settings/overrides.d/corrutinas.json")
    if not installed.exists() and not os.environ.get("CI"):  # the README's route without make
        pytest.skip("the course's JupyterLab settings are not installed in this environment (make install copies "
                    "jupyterlab/corrutinas.json to <venv>/share/jupyter/lab/settings/overrides.d/)")
    assert installed.exists(), "the course's JupyterLab settings are not installed: run `make install`"
    assert json.loads(installed.read_text()) == json.loads((ROOT / "jupyterlab/corrutinas.json").read_text()), (
        "installed settings are stale: run `make install`")
    root = tmp_path / "notebooks"
    root.mkdir()
    with jupyterlab(root, tmp_path / "home", user_settings=False) as (base, token):
        news = _defaults(base, token, "@jupyterlab/apputils-extension:notification")
        widgets = _defaults(base, token, "@jupyter-widgets/jupyterlab-manager:plugin")
    assert news["fetchNews"] == "false" and news["checkForUpdates"] is False
    assert widgets["saveState"] is True
