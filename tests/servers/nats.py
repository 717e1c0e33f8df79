"""Real NATS JetStream servers for tests: one node or a 3-node cluster on loopback.

    with NatsCluster(tmp_path, nodes=3) as cluster:
        queue = NatsQueue(servers=cluster.urls, replicas=3)
        cluster.stop_node(1); ...; cluster.start_node(1)

The binary is the one ``scripts/nats install`` builds (cached per machine). Each node
listens on free ports, keeps its JetStream data under the given directory (so a stopped
node restarts with its streams) and fsyncs every write (``sync_interval: always``).
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from tests.servers.addresses import free_port

__all__ = ["NatsCluster", "nats_server_binary"]

ROOT = Path(__file__).resolve().parents[2]
_READY_TIMEOUT = 30.0


def nats_server_binary() -> str:
    """The nats-server path (built once by scripts/nats install)."""
    out = subprocess.run(["bash", str(ROOT / "scripts" / "nats"), "path"], capture_output=True, text=True,
                         check=True, timeout=600)
    return out.stdout.strip()


class NatsCluster:
    """``nodes`` JetStream servers (1 = standalone, 3 = a cluster with routes)."""

    def __init__(self, directory: Path, nodes: int = 1) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.binary = nats_server_binary()
        self.ports = [free_port("127.0.0.1") for _ in range(nodes)]
        self.monitor_ports = [free_port("127.0.0.1") for _ in range(nodes)]
        self.route_ports = [free_port("127.0.0.1") for _ in range(nodes)] if nodes > 1 else []
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * nodes

    @property
    def urls(self) -> list[str]:
        """Client URLs of every node."""
        return [f"nats://127.0.0.1:{p}" for p in self.ports]

    @property
    def url(self) -> str:
        """The comma-separated form postwave's nats_url option takes."""
        return ",".join(self.urls)

    def _config(self, i: int) -> Path:
        node = self.directory / f"nats{i}"
        (node / "data").mkdir(parents=True, exist_ok=True)
        lines = [
            f"server_name: test-node{i}",
            f"listen: 127.0.0.1:{self.ports[i]}",
            f"http: 127.0.0.1:{self.monitor_ports[i]}",
            f'jetstream {{ store_dir: "{node / "data"}", sync_interval: always, max_memory_store: 64MB }}',
            "max_payload: 8MB",
        ]
        if self.route_ports:
            routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in self.route_ports)
            lines.append(f"cluster {{ name: test, listen: 127.0.0.1:{self.route_ports[i]}, routes: [ {routes} ] }}")
        path = node / "nats.conf"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start_node(self, i: int) -> None:
        """Start (or restart) node ``i``; returns when it answers."""
        log = open(self.directory / f"nats{i}.log", "ab")  # noqa: SIM115 - closed with the process
        self.procs[i] = subprocess.Popen([self.binary, "-c", str(self._config(i))], stdout=log, stderr=log)
        log.close()
        self._wait_port(self.ports[i])

    def stop_node(self, i: int, *, kill: bool = False) -> None:
        """Stop node ``i`` (SIGTERM, or SIGKILL with ``kill``)."""
        proc = self.procs[i]
        if proc is None:
            return
        if kill:
            proc.kill()
        else:
            proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        self.procs[i] = None

    def start(self) -> NatsCluster:
        """Start every node and wait until JetStream is healthy on each."""
        for i in range(len(self.ports)):
            self.start_node(i)
        self.wait_healthy()
        return self

    def wait_healthy(self, timeout: float = _READY_TIMEOUT) -> None:
        """Until every running node's /healthz?js-enabled-only=true answers 200."""
        deadline = time.monotonic() + timeout
        for i, port in enumerate(self.monitor_ports):
            if self.procs[i] is None:
                continue
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz?js-enabled-only=true", timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"NATS node {i} not healthy; see {self.directory}/nats{i}.log") from None
                    time.sleep(0.1)

    def _wait_port(self, port: int) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"nats-server did not listen on 127.0.0.1:{port}")

    def stop(self) -> None:
        """Stop every node."""
        for i in range(len(self.procs)):
            self.stop_node(i)

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
