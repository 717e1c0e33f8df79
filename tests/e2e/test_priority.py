"""The delivery workers `serve` forks run at a lower CPU priority than the API (worker_niceness)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

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


@pytest.mark.parametrize("niceness", [None, 0, 7])
def test_workers_run_below_the_api_priority(make_platform: Callable[..., Platform], niceness: Any) -> None:
    settings = {} if niceness is None else {"worker_niceness": str(niceness)}
    platform = make_platform(**settings)
    api = platform.proc.pid
    workers = _forked_workers(api)
    assert len(workers) == 2, f"expected the 2 forked workers of {api}, found {workers}"
    database = (platform.data_dir / "postwave.db").resolve()
    deadline = time.monotonic() + 30
    while not all(_has_open(pid, database) for pid in workers):  # set up: past the priority change
        assert time.monotonic() < deadline, "the workers never opened the database"
        time.sleep(0.05)
    expected = 10 if niceness is None else niceness  # the default lowers them by 10
    for pid in workers:
        assert os.getpriority(os.PRIO_PROCESS, pid) - os.getpriority(os.PRIO_PROCESS, api) == expected
