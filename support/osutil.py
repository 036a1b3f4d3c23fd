"""What the course asks the operating system: limits, memory, CPU time.

One module for every reading that is not the lesson, so that crawlers, the
local site, the measurements and the benchmark never reach into ``/proc`` or
``resource`` on their own, and so that there is one place to make portable.

Discussion:

* psutil (pinned) is used wherever it gives the number on every platform:
  resident memory, CPU times of a process and its children, the machine's
  busy time, established connections.
* Linux has a few readings psutil does not: the *peak* resident memory
  (``VmHWM``) and a way to reset it (``/proc/self/clear_refs``). Off Linux the
  peak comes from ``getrusage`` (macOS: bytes; Linux: KiB) or psutil's
  ``peak_wset`` (Windows), and it cannot be reset.
* ``resource`` does not exist on Windows: the file-descriptor limit is then
  what the C runtime allows, and :func:`raise_fd_limit` only reports it.
* The environment variable ``CORRUTINAS_SIN_PROC=1`` (the one switch, read
  only here) makes every process of the course behave as on macOS or Windows,
  so that the portable path is tested on Linux too (``make test`` runs the
  notebooks that measure memory once that way):

  - :data:`HAS_PROC` is false and ``resource`` is gone: ``import resource``
    raises ``ModuleNotFoundError``, as on Windows;
  - ``os.sched_getaffinity``/``sched_setaffinity`` are gone, as on macOS and
    Windows (no ``taskset``-style pinning);
  - opening anything under ``/proc/`` or ``/sys/`` from the course's own code
    (``support/``, ``tools/``, ``tests/``, a notebook cell, a ``-c`` child)
    raises ``FileNotFoundError``, as on a machine without them. psutil and
    other libraries keep reading them: they are the portable path.

  ``support/__init__.py`` imports this module, so the switch holds in every
  process that imports ``support`` (the kernel, ``python -m support.x``
  children, spawned pool workers).
"""

from __future__ import annotations

import errno
import json
import os
import platform
import sys
import sysconfig
import time
from pathlib import Path
from typing import Collection, Iterable

import psutil  # before the switch below: on Linux psutil itself imports resource

#: ``CORRUTINAS_SIN_PROC=1``: behave as on macOS/Windows (see the module's docstring).
SIN_PROC = os.environ.get("CORRUTINAS_SIN_PROC", "") not in ("", "0")

try:
    import resource as _rlimits  # the real module, kept under the switch too: the OS enforces its
except ImportError:  # Windows     # fd limit whatever we pretend, so raise_fd_limit still raises it
    _rlimits = None  # type: ignore[assignment]
if SIN_PROC:
    sys.modules["resource"] = None  # type: ignore[assignment]  # `import resource` now fails, as on Windows
resource = None if SIN_PROC else _rlimits  # what the course may use: None on Windows (or the switch)
#: The C runtime's default number of sockets on Windows (what fd_limit reports there).
WINDOWS_FDS = 8192
#: macOS refuses a soft limit above kern.maxfilesperproc (OPEN_MAX, 10,240 by default), even
#: when the hard limit says unlimited; raise_fd_limit falls back to it.
MACOS_OPEN_MAX = 10240

__all__ = ["HAS_PROC", "HAS_AFFINITY", "SIN_PROC", "raise_fd_limit", "fd_limit", "soft_limit", "rss", "vms",
           "peak_rss", "reset_peak_rss", "memory_total", "cpu_seconds", "reaped_children_cpu_seconds",
           "busy_seconds", "OtherPrograms", "cpu_count", "affinity", "pin", "cpu_model", "load_average",
           "established_connections", "open_fds", "read_int", "proc_status", "readings"]

#: True where ``/proc/self`` can be read (Linux), unless ``CORRUTINAS_SIN_PROC`` is set.
HAS_PROC = sys.platform.startswith("linux") and Path("/proc/self/status").exists() and not SIN_PROC

# -- the switch: what "no /proc" means for the rest of the process -------------

_LINUX_ONLY_DIRS = ("/proc/", "/sys/")
_ROOT = Path(__file__).resolve().parent.parent  # the course's checkout
_OWN_ROOTS = (str(_ROOT) + os.sep,)
_NOT_OURS = (str(_ROOT / ".venv") + os.sep, "site-packages", "dist-packages")
_STDLIB = tuple({sysconfig.get_paths()[k] + os.sep for k in ("stdlib", "platstdlib")})


def _is_course_file(filename: str) -> bool:
    """Whether code compiled from ``filename`` is the course's own: a file of
    this checkout (not its virtualenv), a notebook cell (ipykernel names them
    ``.../ipykernel_PID/HASH.py``), or code without a file (``python -c``)."""
    if filename.startswith("<"):
        return not filename.startswith("<frozen")
    if any(part in filename for part in _NOT_OURS):
        return False
    return filename.startswith(_OWN_ROOTS) or f"{os.sep}ipykernel_" in filename


def _is_stdlib_file(filename: str) -> bool:
    return filename.startswith("<frozen") or (filename.startswith(_STDLIB) and "-packages" not in filename)


def _refuse_linux_files(event: str, args: tuple) -> None:
    """Audit hook of the switch: the course's code finds no ``/proc`` or ``/sys``.

    Discussion: the caller is the first frame outside the standard library
    (``Path.read_text`` opens the file from ``pathlib``, but the one who asked
    is the frame above). A library's read (psutil's) is the portable path and
    goes through; the course's own read is what a Mac would refuse.
    """
    if event != "open":
        return
    path = args[0]
    if isinstance(path, (bytes, os.PathLike)):
        path = os.fsdecode(path)
    if not isinstance(path, str) or not path.startswith(_LINUX_ONLY_DIRS):
        return
    frame = sys._getframe(1)
    while frame is not None and _is_stdlib_file(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is not None and _is_course_file(frame.f_code.co_filename):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory (CORRUTINAS_SIN_PROC=1: "
                                              "as on macOS/Windows)", path)


if SIN_PROC:
    for _name in ("sched_getaffinity", "sched_setaffinity"):
        if hasattr(os, _name):
            delattr(os, _name)
    sys.addaudithook(_refuse_linux_files)

#: True where this process can be pinned to processors (``os.sched_setaffinity``: Linux).
HAS_AFFINITY = hasattr(os, "sched_setaffinity")


def read_int(path: str) -> int | None:
    """The integer in a one-number file such as ``/proc/sys/kernel/pid_max``,
    or None where it cannot be read (not Linux, no such file, not a number)."""
    if not HAS_PROC and path.startswith("/proc/"):
        return None
    try:
        text = Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.lstrip("-").isdigit() else None


def proc_status() -> dict[str, int]:
    """The ``kB`` fields of ``/proc/self/status`` in bytes (``VmRSS``, ``VmHWM``,
    ``VmSize``...); empty where there is no ``/proc``."""
    if not HAS_PROC:
        return {}
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB":
            out[name] = int(parts[0]) * 1024
    return out


def raise_fd_limit(wanted: int = 65536) -> int:
    """Raise this process's soft limit of open files towards ``wanted``.

    Thousands of concurrent connections need thousands of file descriptors
    (two per connection when client and server share a process). Returns the
    soft limit in force afterwards (on Windows, where ``resource`` does not
    exist, the C runtime's default of :data:`WINDOWS_FDS` sockets is reported
    unchanged; under ``CORRUTINAS_SIN_PROC=1`` the real limit is raised and the
    smaller of the two reported, so that no budget promises sockets that fail).
    """
    if _rlimits is None:
        return WINDOWS_FDS
    soft, hard = _rlimits.getrlimit(_rlimits.RLIMIT_NOFILE)
    target = wanted if hard == _rlimits.RLIM_INFINITY else min(wanted, hard)
    if soft != _rlimits.RLIM_INFINITY and soft < target:
        for value in dict.fromkeys((target, min(target, MACOS_OPEN_MAX))):
            if value <= soft:
                break
            try:
                _rlimits.setrlimit(_rlimits.RLIMIT_NOFILE, (value, hard))
                soft = value
                break
            except (ValueError, OSError):  # macOS: above kern.maxfilesperproc; try OPEN_MAX
                continue
    return min(soft, WINDOWS_FDS) if resource is None else soft


def fd_limit() -> int:
    """This process's limit of open files (``ulimit -n``), raised first as far as allowed."""
    return raise_fd_limit()


def open_fds() -> int:
    """How many file descriptors (handles on Windows) this process has open now."""
    proc = psutil.Process()
    return proc.num_fds() if hasattr(proc, "num_fds") else proc.num_handles()


def rss() -> int:
    """Resident memory of this process now, in bytes."""
    return psutil.Process().memory_info().rss


def vms() -> int:
    """Virtual memory of this process now (address space reserved), in bytes."""
    return psutil.Process().memory_info().vms


def memory_total() -> int:
    """RAM of the machine, in bytes."""
    return psutil.virtual_memory().total


def peak_rss() -> int:
    """Peak resident memory of this process, in bytes.

    On Linux ``VmHWM`` (this process's own high-water mark, which
    :func:`reset_peak_rss` can lower). Not ``ru_maxrss`` there: on Linux it
    keeps the peak of the *parent* at the time of the fork (it survives
    ``exec``), so every child of a big parent would report the parent's size.

    Discussion: the kernel updates ``VmHWM`` lazily (its RSS counters are
    cached per thread), so right after a reset it can read a little below the
    current RSS. A peak is never below the present, so the answer is the
    larger of the two.
    """
    return max(_recorded_peak(), rss())


def _recorded_peak() -> int:
    status = proc_status()
    if "VmHWM" in status:
        return status["VmHWM"]
    if sys.platform == "win32":
        return psutil.Process().memory_info().peak_wset
    if resource is not None:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024
    return 0


def reset_peak_rss() -> bool:
    """Make the peak equal to the current resident memory (Linux); False where it cannot."""
    if not HAS_PROC:
        return False
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def cpu_seconds(pids: Iterable[int] | None = None) -> float:
    """CPU time (user + system) used so far by this process (all its threads)
    plus, if ``pids`` is given, exactly those processes (e.g. a process pool's
    workers), else every child process of this one.

    Discussion: name the processes that do the work when you can. "Every
    child" also counts whatever else this process started (a server, a worker
    still booting, multiprocessing's resource tracker), and a child that
    exits between two readings takes its CPU time with it.
    """
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    others = me.children(recursive=True) if pids is None else [_process(pid) for pid in pids]
    for proc in others:
        try:
            total += sum(proc.cpu_times()[:2])
        except (psutil.Error, AttributeError):  # it ended meanwhile (or never existed)
            pass
    return total


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def reaped_children_cpu_seconds() -> float:
    """CPU time of this process's children that have ended and been waited for
    (what ``getrusage(RUSAGE_CHILDREN)`` counts; 0 where the OS does not say)."""
    times = psutil.Process().cpu_times()
    return getattr(times, "children_user", 0.0) + getattr(times, "children_system", 0.0)


def busy_seconds() -> float:
    """CPU seconds every core of the machine has spent busy so far (all processes)."""
    times = psutil.cpu_times()
    busy = ("user", "nice", "system", "irq", "softirq", "steal")  # guest time is already inside user
    return sum(getattr(times, name, 0.0) for name in busy)


class OtherPrograms:
    """How many cores the rest of the machine kept busy during a ``with`` block.

    ``cores``: CPU seconds of every process of the machine (:func:`busy_seconds`)
    minus those of this process and all its children, live or ended and waited
    for (a load generator, a backend, a pool), divided by the block's wall
    seconds. ``busy(threshold)`` says whether it reached ``threshold`` cores: a
    timing comparison made meanwhile measured the machine, not the lesson.

    Discussion: a child that ends without being waited for takes its CPU time
    with it and is counted as another program's: it can only make the block
    look busier, never quieter.
    """

    def __enter__(self) -> "OtherPrograms":
        self.cores = 0.0
        self._t0, self._all0, self._own0 = time.perf_counter(), busy_seconds(), self._own()
        return self

    @staticmethod
    def _own() -> float:
        return cpu_seconds() + reaped_children_cpu_seconds()

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self._t0
        others = (busy_seconds() - self._all0) - (self._own() - self._own0)
        self.cores = max(0.0, others / self.seconds) if self.seconds > 0 else 0.0

    def busy(self, threshold: float = 0.3) -> bool:
        return self.cores >= threshold


def cpu_count() -> int:
    """Cores this process may use (the affinity mask where there is one, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def affinity() -> set[int] | None:
    """The processors this process may run on, or None where it cannot be pinned (macOS)."""
    try:
        return set(psutil.Process().cpu_affinity())
    except (AttributeError, psutil.Error, OSError):
        return None


def pin(cpus: Collection[int]) -> bool:
    """Run this process (and the threads and children it starts later) only on
    ``cpus``; False where that cannot be done."""
    try:
        psutil.Process().cpu_affinity(sorted(cpus))
    except (AttributeError, psutil.Error, OSError, ValueError):
        return False
    return True


def cpu_model() -> str:
    """The processor's model name, or "unknown"."""
    if HAS_PROC:
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
    return platform.processor() or "unknown"


def load_average() -> tuple[float, float, float]:
    """The machine's load average over 1, 5 and 15 minutes."""
    return psutil.getloadavg()


def established_connections(port: int) -> int:
    """How many TCP connections of this process to ``port`` are ESTABLISHED (asks the OS)."""
    return sum(1 for c in psutil.Process().net_connections(kind="tcp")
               if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED)


def soft_limit(name: str) -> int | None:
    """The soft limit ``RLIMIT_<name>`` of this process (``"NOFILE"``,
    ``"STACK"``, ``"NPROC"``...), or None where it is unlimited or where there
    is no ``resource`` module (Windows) or no such limit on this platform."""
    which = getattr(resource, f"RLIMIT_{name.upper()}", None) if resource is not None else None
    if which is None:
        return None
    soft, _hard = resource.getrlimit(which)
    return None if soft == resource.RLIM_INFINITY else soft


def readings() -> dict:
    """What this module can read on this machine, and how: a check that the
    portable path works (``tests/test_osutil.py`` checks it both ways)."""
    try:
        Path("/proc/self/status").read_text()
        proc_file = "read"
    except FileNotFoundError:
        proc_file = "absent"
    try:
        __import__("resource")
        resource_importable = True
    except ImportError:
        resource_importable = False
    return {
        "platform": sys.platform,
        "sin_proc": SIN_PROC,
        "has_proc": HAS_PROC,
        "has_affinity": HAS_AFFINITY,
        "resource_importable": resource_importable,
        "proc_file": proc_file,
        "fd_limit": fd_limit(),
        "stack_limit": soft_limit("STACK"),
        "rss": rss(),
        "vms": vms(),
        "peak_rss": peak_rss(),
        "peak_resettable": reset_peak_rss(),
        "cpu_seconds": cpu_seconds(),
        "busy_seconds": busy_seconds(),
        "cpu_count": cpu_count(),
        "memory_total": memory_total(),
        "pid_max": read_int("/proc/sys/kernel/pid_max"),
    }


if __name__ == "__main__":  # python -m support.osutil: what a fresh process reads
    print(json.dumps(readings()))
