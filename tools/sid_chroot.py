"""CPython 3.14 for the test matrix: a minimal Debian unstable (sid) chroot.

    python -m tools.sid_chroot build            # make the chroot, or reuse it
    python -m tools.sid_chroot run -- CMD ...   # run CMD inside it, in this repository
    python -m tools.sid_chroot nox -- ARGS ...  # nox (pinned in requirements-nox.txt) inside it

Debian 12 has no ``python3.14``; Debian unstable packages it (with a newer glibc,
which is what a student on a 2026 distribution has). Root only: debootstrap,
chroot and mount. The mirror is read from this machine's apt sources (never
written in the repository); the CA bundle that ``PIP_CERT`` names, and
``resolv.conf``, are copied in so pip works there as here. ``run`` mounts
``proc``, binds ``/sys`` and ``/dev`` (notebooks read ``/proc`` and use
``/dev/shm``) and this repository on ``/src``, and unmounts all on exit.

The chroot lives in ``$CORRUTINAS_SID_ROOT`` (default ``/var/tmp/corrutinas-sid``),
outside the repository; a failed build leaves nothing that a later run would
reuse. Exit status 3 means "cannot be made here" (not root, no debootstrap, no
Debian mirror, or the build failed), with the reason on stderr.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(os.environ.get("CORRUTINAS_SID_ROOT", "/var/tmp/corrutinas-sid"))
PYTHON = "python3.14"
PACKAGES = ["python3.14", "python3.14-venv", "ca-certificates", "git", "make", "procps"]
REPO_INSIDE = "/src"
UNAVAILABLE = 3
#: The environment a command inside gets: these pass through when set, the rest is dropped.
PASS_ENV = ("PIP_CERT", "PIP_DEFAULT_TIMEOUT", "PIP_DISABLE_PIP_VERSION_CHECK", "PIP_INDEX_URL",
            "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "CI",
            "NOX_UNIT", "CORRUTINAS_ESCALA")  # noxfile.py's subset switch and the course's class-size setting
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))


class Unavailable(RuntimeError):
    """The chroot cannot be made on this machine (the message says why)."""


def debian_mirror(sources=APT_SOURCES) -> str:
    """The first Debian archive URI of this machine's apt sources (deb822 ``.sources`` or one-line ``.list``)."""
    files: list[Path] = []
    for place in sources:
        if place.is_dir():
            files += sorted(p for p in place.iterdir() if p.suffix in (".sources", ".list"))
        elif place.is_file():
            files.append(place)
    for path in files:
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
                suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
                if uris and suites and _debian_archive(uris.group(1), suites.group(1).split()):
                    return uris.group(1)
        else:
            for line in text.splitlines():
                m = re.match(r"\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", line)
                if m and _debian_archive(m.group(1), [m.group(2)]):
                    return m.group(1)
    raise Unavailable("no Debian archive in this machine's apt sources (/etc/apt/sources.list*)")


def _debian_archive(uri: str, suites: list[str]) -> bool:
    return uri.rstrip("/").endswith("/debian") and not any(s.endswith("-security") for s in suites)


def _need_root() -> None:
    if os.geteuid() != 0:
        raise Unavailable("needs root (debootstrap, chroot, mount)")


def build(root: Path = ROOT) -> Path:
    """Make the chroot unless a complete one is there; return its path."""
    _need_root()
    if (root / "usr/bin" / PYTHON).exists():
        return root
    if not shutil.which("debootstrap"):
        if shutil.which("apt-get"):
            print("sid_chroot: installing debootstrap", file=sys.stderr)
            subprocess.run(["apt-get", "install", "-y", "-qq", "debootstrap"], check=False,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)
        if not shutil.which("debootstrap"):
            raise Unavailable("debootstrap is not installed and apt-get could not install it")
    mirror = debian_mirror()
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    print(f"sid_chroot: debootstrap sid into {root} (about a minute, 370 MB)", file=sys.stderr)
    done = subprocess.run(["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES),
                           "sid", str(partial), mirror], stdout=subprocess.DEVNULL)
    if done.returncode != 0 or not (partial / "usr/bin" / PYTHON).exists():
        log = partial / "debootstrap/debootstrap.log"
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise Unavailable(f"debootstrap failed (status {done.returncode}); the end of its log:\n{tail}")
    for deb in (partial / "var/cache/apt/archives").glob("*.deb"):  # the downloaded packages, once installed
        deb.unlink()
    partial.rename(root)
    return root


def _copy_host_files(root: Path) -> None:
    """resolv.conf and the CA bundle pip uses here, at the same paths inside."""
    wanted = [Path("/etc/resolv.conf")]
    if os.environ.get("PIP_CERT"):
        wanted.append(Path(os.environ["PIP_CERT"]))
    for src in wanted:
        if src.is_file():
            dest = root / src.relative_to("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.is_symlink():
                dest.unlink()
            shutil.copyfile(src, dest)


@contextlib.contextmanager
def mounted(root: Path, repo: Path):
    """proc, /sys, /dev and the repository mounted inside ``root``; unmounted (in reverse) on exit."""
    done: list[Path] = []

    def mount(args: list[str], target: Path, rslave: bool = False) -> None:
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", *args, str(target)], check=True)
        done.append(target)
        if rslave:  # unmounting the copy must not propagate back to the host's /dev or /sys
            subprocess.run(["mount", "--make-rslave", str(target)], check=True)

    try:
        mount(["-t", "proc", "proc"], root / "proc")
        mount(["--rbind", "/sys"], root / "sys", rslave=True)
        mount(["--rbind", "/dev"], root / "dev", rslave=True)
        mount(["--bind", str(repo)], root / REPO_INSIDE.lstrip("/"))
        yield root
    finally:
        for target in reversed(done):
            subprocess.run(["umount", "-R", "--lazy", str(target)], check=False)


@contextlib.contextmanager
def _locked(root: Path):
    """One user of the chroot at a time (a second run waits): mounts are not shared."""
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.with_name(root.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def run(commands: list[list[str]], repo: Path, root: Path = ROOT) -> int:
    """Run each command, while they succeed, in ``/src`` (this repository) inside the chroot; the last status."""
    _need_root()
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
           "LANG": "C.UTF-8", "CORRUTINAS_IN_SID_CHROOT": "1"}
    env.update({k: os.environ[k] for k in PASS_ENV if k in os.environ})
    with _locked(root):
        build(root)
        _copy_host_files(root)
        with mounted(root, repo):
            for command in commands:
                status = _inside(root, command, env)
                if status != 0:
                    return status
            return 0


def _inside(root: Path, argv: list[str], env: dict[str, str]) -> int:
    child = subprocess.Popen(["chroot", str(root), "sh", "-c", 'cd "$0" && exec "$@"', REPO_INSIDE, *argv], env=env)
    # SIGTERM (CI's timeout) unmounts as Ctrl-C does: the child is stopped, then `finally` runs.
    previous = signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.terminate()
        return child.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_nox(args: list[str], repo: Path, root: Path = ROOT) -> int:
    """nox inside the chroot, from a virtualenv of its own (``/opt/nox``) with requirements-nox.txt's pin."""
    nox = "/opt/nox/bin/nox"
    setup = [] if (root / nox.lstrip("/")).exists() else [
        [PYTHON, "-m", "venv", "/opt/nox"],
        ["/opt/nox/bin/pip", "install", "--quiet", "-r", "requirements-nox.txt"],
    ]
    return run([*setup, [nox, *args]], repo, root)


def main(args: list[str]) -> int:
    repo = Path(__file__).resolve().parent.parent
    try:
        if args[:1] == ["build"]:
            print(build())
            return 0
        if args[:1] == ["run"]:
            command = args[2:] if args[1:2] == ["--"] else args[1:]
            return run([command or [PYTHON, "--version"]], repo)
        if args[:1] == ["nox"]:
            return run_nox(args[2:] if args[1:2] == ["--"] else args[1:], repo)
    except Unavailable as why:
        print(f"sid_chroot: Python 3.14 unavailable here: {why}", file=sys.stderr)
        return UNAVAILABLE
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
