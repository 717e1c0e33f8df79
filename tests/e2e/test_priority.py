"""The delivery workers `serve` forks run at a lower CPU priority than the API (worker_niceness),
and the API's threads ask for a short CPU slice (api_cpu_slice_us) that the workers do not keep."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from postwave import cpu
from tests.platform import Platform


def _forked_workers(parent: int) -> list[int]:
    """The worker processes (multiprocessing spawn children) of the `serve` process ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # gone while we looked
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def _has_open(pid: int, path: Path) -> bool:
    try:
        return any(os.readlink(fd) == str(path) for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


def _api_and_set_up_workers(platform: Platform) -> tuple[int, list[int]]:
    """The `serve` process and its two workers, once both have opened the database (past
    their priority and slice changes)."""
    api = platform.proc.pid
    workers = _forked_workers(api)
    assert len(workers) == 2, f"expected the 2 forked workers of {api}, found {workers}"
    database = (platform.data_dir / "postwave.db").resolve()
    deadline = time.monotonic() + 30
    while not all(_has_open(pid, database) for pid in workers):
        assert time.monotonic() < deadline, "the workers never opened the database"
        time.sleep(0.05)
    return api, workers


@pytest.mark.parametrize("niceness", [None, 0, 7])
def test_workers_run_below_the_api_priority(make_platform: Callable[..., Platform], niceness: Any) -> None:
    settings = {} if niceness is None else {"worker_niceness": str(niceness)}
    api, workers = _api_and_set_up_workers(make_platform(**settings))
    expected = 10 if niceness is None else niceness  # the default lowers them by 10
    for pid in workers:
        assert os.getpriority(os.PRIO_PROCESS, pid) - os.getpriority(os.PRIO_PROCESS, api) == expected


def _thread_slices(pid: int) -> set[int]:
    """The CPU slice (ns) of each thread of process ``pid``."""
    slices = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            slices.add(cpu.slice_ns(int(task.name)))
        except cpu.SliceUnsupported:  # the thread ended while we looked
            continue
    return slices


@pytest.mark.parametrize("micros", [None, 0, 2000])
def test_the_api_asks_for_a_short_cpu_slice_and_the_workers_do_not(
        make_platform: Callable[..., Platform], micros: Any) -> None:
    settings = {} if micros is None else {"api_cpu_slice_us": str(micros)}
    api, workers = _api_and_set_up_workers(make_platform(**settings))
    default = cpu.slice_ns()  # this test process runs with the kernel's default
    wanted = default if micros == 0 else 1000 * (100 if micros is None else micros)
    api_slices = _thread_slices(api)
    assert len(list(Path(f"/proc/{api}/task").iterdir())) > 3  # the gRPC server's threads too
    assert api_slices == {wanted}, f"API threads' slices {api_slices}, expected {wanted} ns"
    for pid in workers:
        assert _thread_slices(pid) == {default}, f"worker {pid} kept a slice other than the default {default} ns"
