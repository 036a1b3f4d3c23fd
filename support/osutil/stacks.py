"""Where a thread's stack lies and how much of it is in RAM (Linux), for :mod:`support.measure.memory`.

Discussion: counting the new 8 MiB mappings of ``/proc/self/smaps`` finds the
thread stacks only while each stack is a mapping of its own: older glibc
(2.36, Debian 12) separates neighbours with a guard page mapped ``PROT_NONE``,
2 new mappings a thread. A newer glibc on a newer kernel (measured: glibc 2.43,
Debian unstable, on Linux 6.18) marks the guard inside the stack's own
mapping with ``madvise(MADV_GUARD_INSTALL)`` (Linux 6.13+), so neighbouring
stacks merge: 300 stacks showed as 15 mappings, 0.14 new mappings a thread.
So each thread asks its own C library where its stack is
(``pthread_getattr_np``: glibc and musl), and the kernel says which of those
pages are in RAM (``/proc/self/pagemap``, bit 63, readable by the process
itself): both hold however the mappings merge.

:func:`mapping_count` lets a measurement say which case this system is: how
many mappings each new thread adds (2 with a separate guard, about 0 when
stacks merge), which decides whether ``vm.max_map_count`` limits threads.

Off Linux, or with ``CORRUTINAS_SIN_PROC=1`` (see :mod:`.switch`), the three
functions return None: the per-stack figures are not measured there.
"""

from __future__ import annotations

import ctypes
import os
from array import array
from functools import cache

from support.osutil import switch

__all__ = ["own_stack", "resident_bytes", "mapping_count"]

PAGEMAP_PRESENT = 1 << 63


@cache
def _pthread():
    """The C library's pthread functions with their C signatures, or None where they are missing."""
    try:
        libc = ctypes.CDLL(None)
        getattr_np = libc.pthread_getattr_np
    except (OSError, AttributeError):
        return None
    libc.pthread_self.restype = ctypes.c_ulong
    getattr_np.argtypes = [ctypes.c_ulong, ctypes.c_void_p]
    libc.pthread_attr_getstack.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p),
                                           ctypes.POINTER(ctypes.c_size_t)]
    libc.pthread_attr_destroy.argtypes = [ctypes.c_void_p]
    return libc


def own_stack() -> tuple[int, int] | None:
    """(lowest address, size in bytes) of the calling thread's stack, as its C library reserved it;
    None off Linux or where the C library cannot say."""
    libc = _pthread() if switch.HAS_PROC else None
    if libc is None:
        return None
    attr = ctypes.create_string_buffer(256)  # pthread_attr_t is 56 bytes on x86-64, 64 on arm64
    if libc.pthread_getattr_np(libc.pthread_self(), attr) != 0:
        return None
    try:
        address, size = ctypes.c_void_p(), ctypes.c_size_t()
        if libc.pthread_attr_getstack(attr, ctypes.byref(address), ctypes.byref(size)) != 0:
            return None
        return address.value, size.value
    finally:
        libc.pthread_attr_destroy(attr)


def resident_bytes(ranges: list[tuple[int, int]]) -> list[int] | None:
    """For each (start, size), the bytes of it in RAM now (``/proc/self/pagemap``); None off Linux."""
    if not switch.HAS_PROC:
        return None
    page = os.sysconf("SC_PAGE_SIZE")
    out = []
    with open("/proc/self/pagemap", "rb") as pagemap:
        for start, size in ranges:
            first, pages = start // page, -(-size // page)
            pagemap.seek(first * 8)
            entries = array("Q", pagemap.read(pages * 8))
            out.append(page * sum(1 for entry in entries if entry & PAGEMAP_PRESENT))
    return out


def mapping_count() -> int | None:
    """How many memory mappings this process has now (lines of ``/proc/self/maps``); None off Linux."""
    if not switch.HAS_PROC:
        return None
    with open("/proc/self/maps", "rb") as maps:
        return sum(1 for _line in maps)
