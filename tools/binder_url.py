"""Write the Binder links of the course from the repository's address.

    python3 tools/binder_url.py             # the address of `git remote get-url origin`
    python3 tools/binder_url.py URL         # or a given one (https://github.com/USER/REPO)
    python3 tools/binder_url.py --check     # exit 1 if the files say something else

The repository's address has one source, its git remote: this tool derives the
mybinder.org launch URL from it and writes it into every file that links to
Binder (the README's badge and notebook 00's link), replacing whatever Binder
URL was there. Run it once after publishing or forking (``make binder``).
Standard library only, so it runs before any virtualenv exists.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
FILES = [ROOT / "README.md", ROOT / "notebooks" / "00_bienvenida.ipynb"]
OPEN = "?urlpath=lab/tree/notebooks/00_bienvenida.ipynb"  # Binder opens the course on notebook 00
PLACEHOLDER = f"https://mybinder.org/v2/gh/ORG/REPO/HEAD{OPEN}"
BINDER_URL = re.compile(r"https://mybinder\.org/v2/[^\s)\"'\]\\]+")

# host -> how mybinder.org names a repository there
_PROVIDERS = {
    "github.com": lambda path: "gh/" + path,
    "gitlab.com": lambda path: "gl/" + quote(path, safe=""),
}
_REMOTE = re.compile(r"^(?:(?:https?|ssh|git)://(?:[^@/]+@)?(?P<host1>[^/:]+)(?::\d+)?/"
                     r"|[^@/]+@(?P<host2>[^:/]+):)(?P<path>.+?)(?:\.git)?/?$")


def binder_url(remote: str | None) -> str | None:
    """The mybinder.org URL that launches the course from ``remote`` (a git
    remote URL, https or ssh), or None where the host is not one Binder knows
    by name (a local path, a private server...)."""
    m = _REMOTE.match((remote or "").strip())
    if not m:
        return None
    host = (m.group("host1") or m.group("host2")).lower()
    path = m.group("path")
    if host not in _PROVIDERS or path.count("/") < 1:
        return None
    if host == "github.com" and path.count("/") != 1:
        return None
    return f"https://mybinder.org/v2/{_PROVIDERS[host](path)}/HEAD{OPEN}"


def git_remote(name: str = "origin") -> str | None:
    """``git remote get-url NAME`` of this checkout, or None (no git, no such remote)."""
    try:
        out = subprocess.run(["git", "remote", "get-url", name], cwd=ROOT, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def links_in(text: str) -> list[str]:
    return BINDER_URL.findall(text)


def rewrite(text: str, url: str) -> str:
    return BINDER_URL.sub(url, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("remote", nargs="?", help="the repository's URL (default: git remote origin)")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    args = parser.parse_args(argv)
    remote = args.remote or git_remote()
    url = binder_url(remote)
    if url is None:
        if args.remote:
            print(f"No sé armar un enlace de Binder para {args.remote!r}: se necesita una dirección "
                  f"de github.com o gitlab.com (https://github.com/USUARIO/REPO).", file=sys.stderr)
            return 2
        print(f"Sin dirección pública conocida (git remote origin: {remote or 'ninguno'}); "
              f"los enlaces quedan como marcador: {PLACEHOLDER}")
        url = PLACEHOLDER
    stale = []
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        if not links_in(text):
            print(f"{_name(path)}: no tiene ningún enlace de Binder", file=sys.stderr)
            return 1
        if rewrite(text, url) != text:
            stale.append(path)
            if not args.check:
                path.write_text(rewrite(text, url), encoding="utf-8")
    verb = "difieren de" if args.check else "actualizados con"
    for path in stale:
        print(f"{_name(path)}: {verb} {url}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
