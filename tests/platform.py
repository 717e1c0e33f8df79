"""A real ``postwave serve`` process for end-to-end tests, and gRPC clients of it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from postwave.v1 import admin_pb2, admin_pb2_grpc, events_pb2_grpc, send_pb2, send_pb2_grpc

SERVER_DIR = Path(__file__).resolve().parents[1] / "server"

# Fast retries and short leases so fault scenarios finish in seconds.
TEST_SETTINGS = {
    "workers": "2",
    "retry_base_seconds": "0.2",
    "retry_max_seconds": "1.0",
    "scheduler_interval": "0.1",
    "lease_seconds": "5",
    "helo_name": "postwave.test",
    "smtp_connect_timeout": "3",
    "smtp_command_timeout": "10",
    "log_level": "INFO",
    "admin_listen": "127.0.0.1:0",  # any free port: tests run many platforms
}


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Platform:
    """One ``postwave serve`` subprocess (API + workers) on its own data directory."""

    def __init__(self, data_dir: Path, *, dns_port: int | None = None, python: str | None = None,
                 **settings: Any) -> None:
        self.data_dir = data_dir
        self.python = python or sys.executable  # the interpreter that runs ``serve`` (benchmarks: --python)
        self.port = free_tcp_port()
        self.http_port = free_tcp_port()  # the REST gateway
        self.settings = {**TEST_SETTINGS, "data_dir": str(data_dir), "listen": f"127.0.0.1:{self.port}",
                         "http_listen": f"127.0.0.1:{self.http_port}"}
        if dns_port is not None:
            self.settings.update(dns_nameservers="127.0.0.1", dns_port=str(dns_port))
        self.settings.update({k: str(v) for k, v in settings.items()})
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "serve.log"
        self._channel: grpc.Channel | None = None
        self.operator_key = ""

    # process control

    def start(self, timeout: float = 60.0) -> Platform:
        """Start serving and wait until the health check answers SERVING."""
        env = {**os.environ, **{f"POSTWAVE_{k.upper()}": v for k, v in self.settings.items()}}
        # Run the code of this checkout, whatever copy pip last installed.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVER_DIR), env.get("PYTHONPATH", "")]))
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.python, "-m", "postwave.cli", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # one process group: a crash test kills API and workers together
        )
        log.close()
        self._wait_healthy(timeout)
        self.operator_key = (self.data_dir / "operator.key").read_text().strip()
        return self

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        stub = health_pb2_grpc.HealthStub(self.channel)
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"postwave serve exited with {self.proc.returncode}:\n{self.log()}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"postwave serve not healthy after {timeout}s:\n{self.log()}")

    def stop(self, timeout: float = 40.0) -> int | None:
        """Graceful stop (SIGTERM), then the whole process group is killed if still there."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        code = self.proc.returncode
        self._kill_group()
        return code

    def crash(self) -> None:
        """SIGKILL the API and every worker at once, as a power cut would."""
        if self.proc is not None:
            self._kill_group()

    def _kill_group(self) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        self.proc = None
        if self._channel is not None:
            self._channel.close()
            self._channel = None

    def log(self) -> str:
        """Everything the server printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # clients

    @property
    def channel(self) -> grpc.Channel:
        """A channel to the API (re-made after a restart)."""
        if self._channel is None:
            self._channel = grpc.insecure_channel(
                f"127.0.0.1:{self.port}", options=[("grpc.max_send_message_length", 64 << 20)]
            )
        return self._channel

    def send_stub(self) -> send_pb2_grpc.SendServiceStub:
        """SendService client."""
        return send_pb2_grpc.SendServiceStub(self.channel)

    def admin_stub(self) -> admin_pb2_grpc.AdminServiceStub:
        """AdminService client."""
        return admin_pb2_grpc.AdminServiceStub(self.channel)

    def events_stub(self) -> events_pb2_grpc.EventServiceStub:
        """EventService client."""
        return events_pb2_grpc.EventServiceStub(self.channel)

    def tenant(self, name: str, scopes: tuple[str, ...] = (), **limits: Any) -> tuple[str, str]:
        """Create a tenant through the API with the operator key; return (tenant_id, its key)."""
        admin = self.admin_stub()
        op = bearer(self.operator_key)
        tenant = admin.CreateTenant(admin_pb2.CreateTenantRequest(name=name, **limits), metadata=op, timeout=10)
        created = admin.CreateApiKey(
            admin_pb2.CreateApiKeyRequest(tenant_id=tenant.tenant_id, name="test", scopes=list(scopes)),
            metadata=op, timeout=10,
        )
        return tenant.tenant_id, created.secret

    def wait_state(self, key: str, message_id: str, states: set[str], timeout: float = 30.0,
                   events: tuple[str, ...] = ()) -> send_pb2.MessageStatus:
        """Poll GetStatus until the message reaches one of ``states``, and its event of that
        state (and any ``events`` named) is there too: in distributed mode the events stream's
        store writer stores the events a moment after the worker records the state, and may
        store an outcome's events in two batches (docs/distributed.md); after EVENT_GRACE
        seconds without them, the status is returned as it is."""
        stub = self.send_stub()
        deadline = time.monotonic() + timeout
        status = None
        reached = 0.0
        while time.monotonic() < deadline:
            status = stub.GetStatus(send_pb2.GetStatusRequest(message_id=message_id), metadata=bearer(key), timeout=10)
            if status.state in states:
                reached = reached or time.monotonic()
                shown = {e.type for e in status.events}
                if shown >= {status.state, *events} or time.monotonic() - reached > EVENT_GRACE:
                    return status
            time.sleep(0.1)
        raise AssertionError(f"message {message_id} still {status.state if status else '?'} after {timeout}s; "
                             f"events: {[(e.type, e.detail) for e in status.events] if status else []}\n{self.log()[-4000:]}")


    def wait_suppressed(self, key: str, address: str, timeout: float = 15.0) -> admin_pb2.Suppression:
        """Poll GetSuppression until the tenant's list has ``address``: in distributed mode the
        suppression a bounce carries is written by a consumer of the events stream, a moment
        after the bounce (docs/distributed.md)."""
        admin = self.admin_stub()
        deadline = time.monotonic() + timeout
        while True:
            try:
                return admin.GetSuppression(admin_pb2.GetSuppressionRequest(address=address), metadata=bearer(key),
                                            timeout=10)
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:
                    raise
            time.sleep(0.1)


EVENT_GRACE = 15.0  # seconds wait_state waits for a reached state's events


def bearer(key: str) -> list[tuple[str, str]]:
    """gRPC metadata carrying an API key."""
    return [("authorization", f"Bearer {key}")]


def request(*, to: list[str], sender: str = "Sender <sender@postwave.test>", **fields: Any) -> send_pb2.SendRequest:
    """A SendRequest with one personalization (``from`` is a Python keyword, hence ``sender``)."""
    fields.setdefault("subject", "Hello")
    fields.setdefault("text", "Hello there")
    req = send_pb2.SendRequest(personalizations=[send_pb2.Personalization(to=to)], **fields)
    setattr(req, "from", sender)
    return req
