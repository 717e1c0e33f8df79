"""Distributed mode for tests: api, workers and schedulers as separate real processes.

:class:`Cluster` has the client side of :class:`tests.platform.Platform` (stubs, tenants,
``wait_state``) but starts one process per role, all on the CQL store and the NATS queue,
and can kill or restart any one of them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from postwave.domains.masterkey import new_master_key
from tests.platform import SERVER_DIR, Platform


class Cluster(Platform):
    """``postwave api`` + ``workers`` × ``postwave worker`` + ``schedulers`` × ``postwave scheduler``."""

    def __init__(self, data_dir: Path, *, workers: int = 2, schedulers: int = 1, dns_port: int | None = None,
                 **settings: Any) -> None:
        super().__init__(data_dir, dns_port=dns_port, **settings)
        self.settings["scheduler_lease_seconds"] = str(settings.get("scheduler_lease_seconds", 2))
        # Every role of a CQL deployment shares one master key (DKIM keys, webhook secrets).
        self.settings.setdefault("master_key", new_master_key())
        self.roles = ["api"] + [f"worker-{i}" for i in range(workers)] + [f"scheduler-{i}" for i in range(schedulers)]
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.exit_codes: dict[str, int] = {}  # of each role at its last stop(): 0 is a graceful exit

    def start(self, timeout: float = 180.0) -> Cluster:
        """Start the API (its start applies the CQL schema, as the bootstrap Job does in
        Kubernetes), wait for health, then the schedulers and workers, all at once."""
        self.start_role("api")
        self._wait_healthy(timeout)
        others = [name for name in self.roles if name != "api"]
        for name in others:
            self.start_role(name, wait=False)
        for name in others:
            self._wait_started(name, self.procs[name])
        self.operator_key = (self.data_dir / "operator.key").read_text().strip()
        return self

    def start_role(self, name: str, *, wait: bool = True) -> None:
        """(Re)start one role process by name: api, worker-N or scheduler-N (``wait``: until
        a worker or scheduler has printed its start-up line)."""
        env = {**os.environ, **{f"POSTWAVE_{k.upper()}": v for k, v in self.settings.items()}}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVER_DIR), env.get("PYTHONPATH", "")]))
        with open(self.data_dir / f"{name}.log", "ab") as log:
            log.write(f"\n--- start {time.strftime('%H:%M:%S')} ---\n".encode())
            log.flush()
            proc = subprocess.Popen([sys.executable, "-m", "postwave.cli", name.split("-")[0]], env=env,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        if name == "api":
            self.proc = proc
        elif wait:
            self._wait_started(name, proc)

    def _wait_started(self, name: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
        """Until the role prints its start-up line (its signal handlers are in place by then)."""
        banner = {"worker": "postwave worker running", "scheduler": "postwave scheduler standing by"}[name.split("-")[0]]
        deadline = time.monotonic() + timeout
        while banner not in self.role_log(name).split("\n--- ")[-1]:
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{self.role_log(name)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} did not start in {timeout}s:\n{self.role_log(name)}")
            time.sleep(0.1)

    def kill_role(self, name: str) -> None:
        """SIGKILL one role process, as a crash would."""
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait(10)
        if name == "api":
            self.proc = None
            if self._channel is not None:
                self._channel.close()
                self._channel = None

    def stop_role(self, name: str, timeout: float = 40.0) -> int | None:
        """SIGTERM one role and wait for it (graceful shutdown); SIGKILL if it hangs."""
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            return None

    def stop(self, timeout: float = 40.0) -> int | None:
        """Graceful stop of every role at once; returns the API's exit status (every role's is
        in ``exit_codes``; one killed after ``timeout`` has a negative one)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        codes = {}
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[name] = proc.wait(10)
        self.exit_codes.update(codes)
        self.procs.clear()
        self.proc = None
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        return codes.get("api")

    def crash(self) -> None:
        """SIGKILL every role at once."""
        for name in list(self.procs):
            self.kill_role(name)

    def log(self) -> str:
        """Every role's output, one after the other."""
        parts = []
        for name in self.roles:
            path = self.data_dir / f"{name}.log"
            if path.exists():
                parts.append(f"--- {name} ---\n{path.read_text(errors='replace')}")
        return "\n".join(parts)

    def role_log(self, name: str) -> str:
        """One role's output."""
        path = self.data_dir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""
