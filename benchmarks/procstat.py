"""CPU seconds and peak memory of a group of processes, read from /proc (Linux).

A benchmark measures the processes of the system under test only (the platform's API and
workers; Postfix's daemons and OpenDKIM), not the load client that shares the machine.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable

TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode()
    except OSError:
        return None
    # the command name is in parentheses and may hold spaces: split after the last ')'
    return raw[raw.rindex(")") + 2:].split()


def pids() -> list[int]:
    """Every process id now."""
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def group(pgid: int) -> list[int]:
    """Processes of one process group (``postwave serve`` started with start_new_session)."""
    found = []
    for pid in pids():
        fields = _stat_fields(pid)
        if fields is not None and int(fields[2]) == pgid:
            found.append(pid)
    return found


def is_forked_worker(pid: int) -> bool:
    """Whether ``pid`` is a process that multiprocessing spawned (the workers of ``postwave
    serve``), not its resource tracker or another helper."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"spawn_main" in f.read()
    except OSError:
        return False


def with_environ(name: str, value: str) -> list[int]:
    """Processes whose environment has ``name=value`` (Postfix daemons: MAIL_CONFIG=<dir>)."""
    wanted = f"{name}={value}".encode()
    found = []
    for pid in pids():
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if wanted in f.read().split(b"\0"):
                    found.append(pid)
        except OSError:
            continue
    return found


def cpu_ticks(pid_list: Iterable[int]) -> dict[int, int]:
    """User + system clock ticks used so far, per live process."""
    out = {}
    for pid in pid_list:
        fields = _stat_fields(pid)
        if fields is not None:
            out[pid] = int(fields[11]) + int(fields[12])  # utime, stime
    return out


def pss_bytes(pid_list: Iterable[int]) -> int:
    """Sum of the proportional set sizes now: shared pages split among their sharers, so it adds up."""
    total = 0
    for pid in pid_list:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


class CpuMeter:
    """CPU seconds used by a changing set of processes between ``start()`` and ``stop()``.

    ``find`` lists the processes; it is called at both ends and processes that appear in
    between count from zero (a process that exits in between is lost: these daemons don't).
    """

    def __init__(self, find: Callable[[], list[int]], sample_every: float = 0.5) -> None:
        self.find = find
        self.sample_every = sample_every
        self._before: dict[int, int] = {}
        self.per_pid: dict[int, float] = {}  # CPU seconds of each process, after stop()
        self._peak = 0
        self._done = threading.Event()
        self._sampler: threading.Thread | None = None

    def start(self) -> None:
        """Take the first reading; sample memory (PSS) in the background until stop()."""
        self._before = cpu_ticks(self.find())
        self._peak = 0
        self._done.clear()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while True:
            self._peak = max(self._peak, pss_bytes(self.find()))
            if self._done.wait(self.sample_every):
                return

    def stop(self) -> tuple[float, int]:
        """CPU seconds since start, and the highest PSS sum sampled meanwhile (bytes)."""
        self._done.set()
        if self._sampler is not None:
            self._sampler.join()
        now = self.find()
        after = cpu_ticks(now)
        self.per_pid = {pid: (t - self._before.get(pid, 0)) / TICKS for pid, t in after.items()}
        return sum(self.per_pid.values()), max(self._peak, pss_bytes(now))
