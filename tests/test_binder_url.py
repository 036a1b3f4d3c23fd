"""The Binder links have one source, the git remote (tools/binder_url.py):
the README's badge and notebook 00's link say the same, and once the
repository has a public address they point at it, not at a placeholder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools import binder_url

ROOT = Path(__file__).resolve().parent.parent

OPEN = "?urlpath=lab/tree/notebooks/00_bienvenida.ipynb"


@pytest.mark.parametrize("remote, spec", [
    ("https://github.com/ana/corrutinas", "gh/ana/corrutinas"),
    ("https://github.com/ana/corrutinas.git", "gh/ana/corrutinas"),
    ("git@github.com:ana/corrutinas.git", "gh/ana/corrutinas"),
    ("ssh://git@github.com/ana/corrutinas.git", "gh/ana/corrutinas"),
    ("https://GitHub.com/ana/corrutinas/", "gh/ana/corrutinas"),
    ("https://gitlab.com/curso/2026/corrutinas.git", "gl/curso%2F2026%2Fcorrutinas"),
])
def test_binder_url_from_a_known_host(remote, spec):
    assert binder_url.binder_url(remote) == f"https://mybinder.org/v2/{spec}/HEAD{OPEN}"


@pytest.mark.parametrize("remote", [None, "", "/work/main", "../corrutinas.git", "https://example.org/a/b",
                                    "https://github.com/ana", "https://github.com/ana/b/c"])
def test_no_binder_url_without_a_known_address(remote):
    assert binder_url.binder_url(remote) is None


def test_the_committed_links_agree_and_follow_the_remote():
    links = {path.name: set(binder_url.links_in(path.read_text(encoding="utf-8"))) for path in binder_url.FILES}
    assert all(len(found) == 1 for found in links.values()), f"one Binder URL per file: {links}"
    readme, notebook = (found.pop() for found in links.values())
    assert readme == notebook, "README's badge and notebook 00's link differ: run `make binder`"
    assert f"[![Binder](https://mybinder.org/badge_logo.svg)]({readme})" in (ROOT / "README.md").read_text()
    expected = binder_url.binder_url(binder_url.git_remote())
    if expected is not None:  # a clone of a published repository
        assert readme != binder_url.PLACEHOLDER, "the Binder badge is still a placeholder: run `make binder`"
        assert readme == expected, "the Binder badge does not launch this repository: run `make binder`"


def test_the_tool_rewrites_every_link(tmp_path, monkeypatch):
    copies = []
    for path in binder_url.FILES:
        copy = tmp_path / path.name
        shutil.copy(path, copy)
        copies.append(copy)
    monkeypatch.setattr(binder_url, "FILES", copies)
    monkeypatch.setattr(binder_url, "git_remote", lambda name="origin": "git@github.com:ana/corrutinas.git")
    assert binder_url.main(["--check"]) == (0 if binder_url.links_in(copies[0].read_text()) ==
                                            [binder_url.binder_url("git@github.com:ana/corrutinas.git")] else 1)
    assert binder_url.main([]) == 0  # from the (fake) remote
    assert binder_url.main(["--check"]) == 0
    url = binder_url.binder_url("https://github.com/ana/corrutinas")
    for copy in copies:
        assert binder_url.links_in(copy.read_text(encoding="utf-8")) == [url]
    assert binder_url.main(["--check", "git@github.com:ana/corrutinas.git"]) == 0
    assert binder_url.main(["--check", "https://github.com/otra/corrutinas"]) == 1
    assert binder_url.main(["https://example.org/ana/corrutinas"]) == 2
