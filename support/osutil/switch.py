"""The one switch, ``CORRUTINAS_SIN_PROC=1``: behave as on macOS or Windows.

Read only here, at import (``support/__init__.py`` imports :mod:`support.osutil`
first, so it holds in every process of the course). With the switch on:

- :data:`HAS_PROC` is false and ``resource`` is gone: ``import resource``
  raises ``ModuleNotFoundError``, as on Windows;
- ``os.sched_getaffinity``/``sched_setaffinity`` are gone, as on macOS and
  Windows (no ``taskset``-style pinning);
- opening anything under ``/proc/`` or ``/sys/`` from the course's own code
  (``support/``, ``tools/``, ``tests/``, a notebook cell, a ``-c`` child)
  raises ``FileNotFoundError``, as on a machine without them. psutil and
  other libraries keep reading them: they are the portable path.
"""

from __future__ import annotations

import errno
import os
import sys
import sysconfig
from pathlib import Path

import psutil  # noqa: F401  # before the switch below: on Linux psutil itself imports resource

__all__ = ["PRETEND_NO_PROC", "HAS_PROC", "HAS_AFFINITY", "resource"]

#: ``CORRUTINAS_SIN_PROC=1``: pretend there is no ``/proc`` (behave as on macOS/Windows).
PRETEND_NO_PROC = os.environ.get("CORRUTINAS_SIN_PROC", "") not in ("", "0")

try:
    import resource as _rlimits  # the real module, kept under the switch too: the OS enforces its
except ImportError:  # Windows     # fd limit whatever we pretend, so raise_fd_limit still raises it
    _rlimits = None  # type: ignore[assignment]
if PRETEND_NO_PROC:
    sys.modules["resource"] = None  # type: ignore[assignment]  # `import resource` now fails, as on Windows
resource = None if PRETEND_NO_PROC else _rlimits  # what the course may use: None on Windows (or the switch)

#: True where ``/proc/self`` can be read (Linux), unless the switch is on.
HAS_PROC = sys.platform.startswith("linux") and Path("/proc/self/status").exists() and not PRETEND_NO_PROC

_LINUX_ONLY_DIRS = ("/proc/", "/sys/")
_ROOT = Path(__file__).resolve().parents[2]  # the course's checkout
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


if PRETEND_NO_PROC:
    for _name in ("sched_getaffinity", "sched_setaffinity"):
        if hasattr(os, _name):
            delattr(os, _name)
    sys.addaudithook(_refuse_linux_files)

#: True where this process can be pinned to processors (``os.sched_setaffinity``: Linux).
HAS_AFFINITY = hasattr(os, "sched_setaffinity")
