"""Feedback-loop storm: complaints and bounces in a burst, while the platform sends.

One embedded platform (``postwave serve``) sends a tenant's mail to Postfix's smtp-sink at a
steady offered rate; two ``postwave feedback`` receivers (two MX hosts of the bounce domain,
as an ISP would see them) share its data directory. N messages another tenant sent
earlier are in the store; for each, an ISP sends back either an ARF complaint or an RFC 3464
hard bounce, over many SMTP connections per receiver, all at once. (The storm's own tenant
is paused by its circuit breaker, as it should be: the sending tenant is another one.)

Expected: every report answered 250 and turned into its event and suppression (none lost,
none twice); every message offered during the storm delivered. The delivered rate and the
acceptance latency before and during the storm are printed (``-s``), never asserted.
N is ``POSTWAVE_STORM_REPORTS``: 50,000 by default, the issue's size (CI runs it; about two
minutes on a quiet 2-core machine); set it lower for a quick local run.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiosmtplib
import pytest
from postwave import config as config_mod
from postwave.domains import masterkey
from postwave.feedback.verp import Verp
from postwave.store.base import AcceptedRequest, NewMessage
from postwave.store.embedded import EmbeddedStore
from postwave.store.sqlite import Database
from postwave.v1 import events_pb2, send_pb2

from tests.feedback import samples
from tests.feedback.conftest import _wait_listening
from tests.platform import SERVER_DIR, Platform, bearer, request
from tests.reliability.conftest import start_on_free_address
from tests.servers.addresses import free_port
from tests.servers.dns import DNSServer
from tests.servers.sink import SMTPSink

REPORTS = int(os.environ.get("POSTWAVE_STORM_REPORTS", "50000"))
RECEIVERS = 2
CONNECTIONS = 40  # per receiver: each group commit (one fsync) takes what arrived meanwhile
OFFERED_PER_S = 20.0
BASELINE_S = 3.0
RETURN_PATH_DOMAIN = "pw-bounces.shop.test"
FBL = "fbl@" + RETURN_PATH_DOMAIN
SYNCHRONOUS = os.environ.get("POSTWAVE_STORM_SYNCHRONOUS", "NORMAL")


def seed_sent(store: EmbeddedStore, tenant_id: str, count: int) -> list[tuple[str, str]]:
    """``count`` messages the tenant sent earlier (already delivered); [(message_id, recipient)]."""
    now = time.time()
    req = send_pb2.SendRequest(subject="s", text="t", personalizations=[send_pb2.Personalization(to=["x@isp.test"])])
    setattr(req, "from", "news@shop.test")
    ids = [f"{int(now * 1000):011x}{0xfeed:04x}{i:012x}" for i in range(count)]
    messages = tuple(NewMessage(mid, 0, f"storm{i}@isp.test", "delivered") for i, mid in enumerate(ids))
    store.accept([AcceptedRequest(
        request_id="storm-seed", tenant_id=tenant_id, send_id="", batch_id="", body_hash=b"h",
        payload=req.SerializeToString(), lane="bulk", send_at=now, created=now, expires=now + 3600,
        messages=messages, response=b"")], [], "2026-11-29")
    return [(m.message_id, m.recipient) for m in messages]


def reports(sent: list[tuple[str, str]], verp: Verp) -> list[tuple[str, bytes]]:
    """(RCPT TO, raw report): complaints for even messages, hard bounces for odd ones."""
    out = []
    for i, (mid, rcpt) in enumerate(sent):
        path = verp.address(mid, RETURN_PATH_DOMAIN)
        if i % 2 == 0:
            out.append((FBL, samples.arf(to=FBL, mail_from=path, rcpt=rcpt, returned="none")))
        else:
            out.append((path, samples.dsn(to=path, recipient=rcpt, returned="none")))
    return out


class Offer:
    """Sends one message every 1/OFFERED_PER_S seconds until stopped; records latencies."""

    def __init__(self, platform: Platform, key: str) -> None:
        self.platform, self.key = platform, key
        self.sent: list[tuple[float, float, str]] = []  # (monotonic start, latency s, message id)
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        stub = self.platform.send_stub()
        n = 0
        start = time.monotonic()
        while not self._stop.is_set():
            at = time.monotonic()
            try:
                resp = stub.Send(request(to=[f"live{n}@sink.test"]), metadata=bearer(self.key), timeout=30)
                self.sent.append((at, time.monotonic() - at, resp.messages[0].message_id))
            except Exception as exc:  # noqa: BLE001 - reported by the test
                self.errors.append(exc)
            n += 1
            self._stop.wait(max(0.0, start + n / OFFERED_PER_S - time.monotonic()))

    def latencies(self, since: float, until: float) -> list[float]:
        return [lat for at, lat, _ in self.sent if since <= at < until]


def start_receiver(data_dir: Path, log_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A ``postwave feedback`` process on the platform's data directory."""
    port = free_port()
    settings = {"data_dir": str(data_dir), "feedback_listen": f"127.0.0.1:{port}", "admin_listen": "",
                "helo_name": "postwave.test", "sqlite_synchronous": SYNCHRONOUS}
    env = {**os.environ, **{f"POSTWAVE_{k.upper()}": v for k, v in settings.items()}}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVER_DIR), env.get("PYTHONPATH", "")]))
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "postwave.cli", "feedback"], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    _wait_listening(port, proc, log_path)
    return proc, port


async def _connection(port: int, items: list[tuple[str, bytes]], answers: list[str]) -> None:
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=120, start_tls=False) as client:
        for rcpt, raw in items:
            _, reply = await client.sendmail("", [rcpt], raw)  # raises on anything but 250
            answers.append(reply)


async def _storm(ports: list[int], items: list[tuple[str, bytes]]) -> list[str]:
    answers: list[str] = []
    lanes = len(ports) * CONNECTIONS
    await asyncio.gather(*(_connection(ports[i % len(ports)], items[i::lanes], answers) for i in range(lanes)))
    return answers


@pytest.fixture
def receivers(tmp_path: Path) -> Iterator[list[tuple[subprocess.Popen[bytes], int]]]:
    started: list[tuple[subprocess.Popen[bytes], int]] = []
    yield started
    for proc, _ in started:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _events(platform: Platform, key: str, types: list[str]) -> list[send_pb2.Event]:
    stub = platform.events_stub()
    return list(stub.StreamEvents(events_pb2.StreamEventsRequest(types=types, no_follow=True), metadata=bearer(key),
                                  timeout=120))


def _message_ids(store: EmbeddedStore, tenant_id: str, kind: str) -> list[str]:
    """The message id of every ``kind`` event of the tenant, repeats kept, sorted."""
    seen: list[str] = []
    cursor = 0
    while page := store.list_events(tenant_id, cursor, [kind], "", 5000):
        seen.extend(e.message_id for e in page)
        cursor = page[-1].id
    return sorted(seen)


@pytest.mark.timeout(1200)
def test_a_burst_of_complaints_and_bounces_while_sending(tmp_path: Path,
                                                         receivers: list[tuple[subprocess.Popen[bytes], int]]) -> None:
    sink: SMTPSink = start_on_free_address(lambda a: SMTPSink(a, backlog=256))
    dns = DNSServer(mx={"sink.test": [(10, "mx.sink.test")]}, a={"mx.sink.test": sink.address})
    dns.start()
    data = tmp_path / "data"
    data.mkdir()
    platform = Platform(data, dns_port=dns.port, smtp_starttls="false", admin_listen="")
    store: EmbeddedStore | None = None
    offer: Offer | None = None
    try:
        platform.start()
        tenant_id, _ = platform.tenant("shop")  # the storm is about its earlier mail
        _, key = platform.tenant("live")  # sends meanwhile (the shop's circuit breaker may pause the shop)
        config = config_mod.load({"data_dir": str(data)}, environ={})
        store = EmbeddedStore(Database(config.db_path))
        sent = seed_sent(store, tenant_id, REPORTS)
        items = reports(sent, Verp(masterkey.load(config)))
        for i in range(RECEIVERS):
            receivers.append(start_receiver(data, tmp_path / f"feedback{i}.log"))

        offer = Offer(platform, key)
        offer.start()
        time.sleep(BASELINE_S)
        storm_start = time.monotonic()
        answers = asyncio.run(_storm([port for _, port in receivers], items))
        storm_end = time.monotonic()
        time.sleep(1.0)
        offer.stop()

        assert not offer.errors, offer.errors[:3]
        assert len(answers) == REPORTS
        ids = [mid for mid, _ in sent]
        assert _message_ids(store, tenant_id, "complained") == sorted(ids[0::2])  # each once: none lost, none twice
        assert _message_ids(store, tenant_id, "bounced") == sorted(ids[1::2])
        suppressed = store.suppressed(tenant_id, [r for _, r in sent], time.time())
        assert len(suppressed) == REPORTS
        assert all(proc.poll() is None for proc, _ in receivers)

        offered = {mid for _, _, mid in offer.sent}
        deadline = time.monotonic() + 120
        while (done := {e.message_id for e in _events(platform, key, ["delivered"])} & offered) != offered:
            assert time.monotonic() < deadline, f"{len(offered - done)} offered messages not delivered"
            time.sleep(0.5)
        _print_figures(offer, platform, key, storm_start, storm_end)
    finally:
        if offer is not None:
            offer.stop()
        if store is not None:
            store.close()
        platform.stop()
        dns.stop()
        sink.stop()


def _print_figures(offer: Offer, platform: Platform, key: str, storm_start: float, storm_end: float) -> None:
    """Delivered/s and acceptance latency before and during the storm (platform event times)."""
    storm_s = storm_end - storm_start
    wall_offset = time.time() - time.monotonic()
    delivered = [e.time.ToNanoseconds() / 1e9 - wall_offset for e in _events(platform, key, ["delivered"])]
    during = sum(1 for t in delivered if storm_start <= t < storm_end) / storm_s
    before = sum(1 for t in delivered if storm_start - BASELINE_S <= t < storm_start) / BASELINE_S

    def p95(values: list[float]) -> str:
        return f"{statistics.quantiles(values, n=20)[18] * 1000:.0f} ms" if len(values) > 1 else "-"

    print(f"\nfeedback storm: {REPORTS} reports ({REPORTS // 2} ARF complaints, {REPORTS - REPORTS // 2} DSN bounces) "
          f"over {RECEIVERS} receivers x {CONNECTIONS} connections in {storm_s:.1f} s ({REPORTS / storm_s:.0f}/s); "
          f"sending offered {OFFERED_PER_S:.0f}/s: delivered {before:.1f}/s before, {during:.1f}/s during the storm; "
          f"acceptance p95 {p95(offer.latencies(storm_start - BASELINE_S, storm_start))} before, "
          f"{p95(offer.latencies(storm_start, storm_end))} during")
