"""A real ``postwave feedback`` process on loopback, over a store seeded with sent messages."""

from __future__ import annotations

import dataclasses
import json
import os
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from postwave import config as config_mod
from postwave.config import Config
from postwave.domains import masterkey
from postwave.feedback.verp import Verp
from postwave.store.base import AcceptedRequest, EventRecord, NewMessage, Tenant
from postwave.store.embedded import EmbeddedStore
from postwave.store.sqlite import Database
from postwave.v1 import send_pb2

from tests.servers.addresses import free_port

SERVER_DIR = Path(__file__).resolve().parents[2] / "server"
RETURN_PATH_DOMAIN = "pw-bounces.acme.test"


@dataclasses.dataclass
class Sent:
    """A message the platform sent: its id, recipient and VERP return path."""

    message_id: str
    recipient: str
    return_path: str


@dataclasses.dataclass
class FeedbackWorld:
    """The receiver process, its store (read by the test) and the VERP signer it shares."""

    config: Config
    store: EmbeddedStore
    verp: Verp
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    tenant_id: str = "t_acme"
    _counter: int = 0

    def sent(self, count: int, *, prefix: str = "user", recipient: str = "") -> list[Sent]:
        """Write ``count`` accepted messages (one request, custom args set) and return them."""
        now = time.time()
        self._counter += 1
        request_id = f"req{self._counter:04d}"
        req = send_pb2.SendRequest(subject="s", text="t", personalizations=[
            send_pb2.Personalization(to=["x@isp.test"], custom_args={"campaign": "autumn"})])
        setattr(req, "from", "news@acme.test")
        ids = [f"{int(now * 1000):011x}{self._counter:04x}{i:012x}" for i in range(count)]
        messages = tuple(NewMessage(mid, 0, recipient or f"{prefix}{i}@isp.test", "accepted")
                         for i, mid in enumerate(ids))
        self.store.accept([AcceptedRequest(
            request_id=request_id, tenant_id=self.tenant_id, send_id="", batch_id="", body_hash=b"h",
            payload=req.SerializeToString(), lane="transactional", send_at=now, created=now, expires=now + 3600,
            messages=messages, response=b"",
        )], [], "2026-11-29")
        return [Sent(m.message_id, m.recipient, self.verp.address(m.message_id, RETURN_PATH_DOMAIN))
                for m in messages]

    def deliver(self, raw: bytes, rcpt: str, *, mail_from: str = "") -> tuple[int, str]:
        """One SMTP transaction to the receiver; returns the DATA reply (or the refusal)."""
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
            client.ehlo("mx.isp.test")
            client.mail(mail_from)
            code, text = client.rcpt(rcpt)
            if code != 250:
                return code, text.decode()
            code, text = client.data(raw)
            return code, text.decode()

    def events(self, message_id: str) -> list[EventRecord]:
        """The message's events."""
        return self.store.list_events(self.tenant_id, 0, [], message_id, 100)

    def suppressed(self, address: str) -> str | None:
        """The suppression reason of an address, or None."""
        return self.store.suppressed(self.tenant_id, [address], time.time()).get(address)

    def log(self) -> str:
        """What the receiver printed."""
        return self.log_path.read_text(errors="replace")


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"postwave feedback exited:\n{log_path.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"postwave feedback not listening:\n{log_path.read_text()}")


@pytest.fixture
def feedback(tmp_path: Path) -> Iterator[FeedbackWorld]:
    """A started receiver over an embedded store with tenant t_acme."""
    port = free_port()
    settings = {"data_dir": str(tmp_path), "feedback_listen": f"127.0.0.1:{port}", "admin_listen": "127.0.0.1:0",
                "helo_name": "postwave.test", "sqlite_synchronous": "NORMAL"}
    config = config_mod.load(settings, environ={})
    store = EmbeddedStore(Database(config.db_path, synchronous="NORMAL"))
    store.create_tenant(Tenant("t_acme", "acme", 0, 0, time.time()))
    verp = Verp(masterkey.load(config))  # creates master.key, which the receiver then reads
    env = {**os.environ, **{f"POSTWAVE_{k.upper()}": v for k, v in settings.items()}}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVER_DIR), env.get("PYTHONPATH", "")]))
    log_path = tmp_path / "feedback.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "postwave.cli", "feedback"], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    world = FeedbackWorld(config, store, verp, port, proc, log_path)
    try:
        _wait_listening(port, proc, log_path)
        yield world
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        store.close()


def custom_args(event: EventRecord) -> dict[str, str]:
    """The custom args an event carries."""
    return json.loads(event.custom_args) if event.custom_args else {}
