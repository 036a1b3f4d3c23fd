"""tools/sid_chroot.py: the Debian mirror is read from apt's sources, never written in the repository."""

from __future__ import annotations

import pytest

from tools import sid_chroot


def test_the_mirror_comes_from_a_deb822_source_not_the_security_one(tmp_path):
    (tmp_path / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n")
    (tmp_path / "other.sources").write_text("Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\n")
    assert sid_chroot.debian_mirror([tmp_path]) == "http://mirror.example/debian"


def test_the_mirror_comes_from_a_one_line_list(tmp_path):
    listing = tmp_path / "sources.list"
    listing.write_text("# a comment\ndeb [arch=amd64] http://mirror.example/debian/ bookworm main\n")
    assert sid_chroot.debian_mirror([listing]) == "http://mirror.example/debian/"


def test_no_debian_source_is_said_clearly(tmp_path):
    (tmp_path / "x.list").write_text("deb https://packages.cloud.google.com/apt cloud-sdk main\n")
    with pytest.raises(sid_chroot.Unavailable, match="no Debian archive"):
        sid_chroot.debian_mirror([tmp_path])


def test_the_repository_does_not_name_a_mirror():
    text = (sid_chroot.Path(sid_chroot.__file__)).read_text()
    assert "deb.debian.org" not in text and "http://" not in text.split('"""', 2)[2]
