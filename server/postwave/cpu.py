"""The API's CPU time slice (Linux, api_cpu_slice_us).

Linux's fair scheduler (EEVDF, from 6.6; a task's own slice is honoured from 6.12) runs
the runnable task with the earliest virtual deadline, a slice after it became eligible. A
thread that asks for a short slice gets an early deadline each time it wakes: it preempts
a thread that runs a long computation (a worker signing a message) at once, instead of
waiting out that thread's slice. The API wakes for each request and runs a fraction of a
millisecond, which is what a short slice is for; its share of the CPU does not grow.

The slice is a per-thread attribute that new threads and forked processes inherit:
``set_process_slice`` sets it on every thread of the process, and the threads it starts
later take it from theirs. The workers ``serve`` forks put back the kernel's default.

Only ``sched_setattr(2)`` sets it; Python's ``os`` module has no wrapper, so this calls
the system call by number through ctypes. Elsewhere (another OS or architecture, a kernel
or a seccomp profile that refuses) nothing changes and the caller logs why.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import sys

# sched_setattr / sched_getattr system call numbers.
SYSCALLS = {"x86_64": (314, 315), "aarch64": (274, 275)}
SLICE_MIN_US = 100  # the kernel clamps a requested slice to 0.1-100 ms
SLICE_MAX_US = 100_000


class SliceUnsupported(OSError):
    """This system cannot set a thread's slice (not Linux, an unknown architecture, or the
    kernel refused the call)."""


class _SchedAttr(ctypes.Structure):
    # struct sched_attr, first version (SCHED_ATTR_SIZE_VER0, 48 bytes): every kernel
    # with sched_setattr (3.14+) takes it.
    _fields_ = [
        ("size", ctypes.c_uint32),
        ("sched_policy", ctypes.c_uint32),
        ("sched_flags", ctypes.c_uint64),
        ("sched_nice", ctypes.c_int32),
        ("sched_priority", ctypes.c_uint32),
        ("sched_runtime", ctypes.c_uint64),  # for SCHED_OTHER/BATCH: the slice, ns (0 = default)
        ("sched_deadline", ctypes.c_uint64),
        ("sched_period", ctypes.c_uint64),
    ]


def _syscall(number: int, *args: object) -> None:
    if not sys.platform.startswith("linux"):
        raise SliceUnsupported("a thread's CPU slice can only be set on Linux")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(number, *args) != 0:
        code = ctypes.get_errno()
        raise SliceUnsupported(code, os.strerror(code))


def _numbers() -> tuple[int, int]:
    machine = platform.machine()
    if machine not in SYSCALLS:
        raise SliceUnsupported(f"no sched_setattr system call number known for {machine}")
    return SYSCALLS[machine]


def _get(tid: int) -> _SchedAttr:
    attr = _SchedAttr()
    _syscall(_numbers()[1], tid, ctypes.byref(attr), ctypes.sizeof(attr), 0)
    return attr


def slice_ns(tid: int = 0) -> int:
    """The slice thread ``tid`` (0: the calling thread) runs with, in nanoseconds."""
    return int(_get(tid).sched_runtime)


def set_slice(ns: int, tid: int = 0) -> None:
    """Ask for a slice of ``ns`` nanoseconds for thread ``tid`` (0: the calling thread; the
    kernel clamps it to 0.1-100 ms), or the kernel's default with 0. Its policy, nice value
    and priority stay as they are. Only the time-sharing policies have a slice to set."""
    attr = _get(tid)
    if attr.sched_policy not in (os.SCHED_OTHER, os.SCHED_BATCH):
        return  # real-time or idle: set by an operator on purpose, and without a slice
    attr.size = ctypes.sizeof(attr)
    attr.sched_flags = 0
    attr.sched_runtime = ns
    _syscall(_numbers()[0], tid, ctypes.byref(attr), 0)


def set_process_slice(ns: int) -> int:
    """``set_slice(ns)`` on every thread of this process; returns how many it set. Threads
    that end meanwhile are passed over."""
    done = 0
    for name in os.listdir("/proc/self/task"):
        try:
            set_slice(ns, int(name))
        except SliceUnsupported as exc:
            if exc.errno != errno.ESRCH:  # not just a thread that ended
                raise
        else:
            done += 1
    return done
