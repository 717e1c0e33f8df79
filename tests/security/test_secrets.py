"""Secrets: encrypted at rest, never logged, shown once.

One flow over the shared platform (JSON logs): API keys made, a sending domain with its DKIM
keys, a webhook whose secret signs real POSTs to a receiver, a rotation, a delivered message.
Then the raw SQLite rows and the database files are searched for every secret's bytes, the
logs for their text, and every later read of a key, webhook or domain for the secret.
"""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from postwave.api import keys
from postwave.domains.masterkey import KEY_FILE, MasterKey, decode
from postwave.store.embedded import _selector  # the row format of dkim_selectors
from postwave.v1 import admin_pb2, send_pb2
from postwave.webhooks import signing
from tests.events.test_events_e2e import Role
from tests.platform import request
from tests.security.conftest import Site
from tests.webhooks.receiver import verify


class Receiver(http.server.ThreadingHTTPServer):
    """Webhook POSTs: (headers, body) in arrival order."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def wait(self, predicate: object, timeout: float = 60.0) -> tuple[dict[str, str], bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for post in list(self.posts):
                if predicate(post):  # type: ignore[operator]
                    return post
            time.sleep(0.1)
        raise AssertionError(f"no matching webhook POST among {len(self.posts)}")


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.posts.append(({k.lower(): v for k, v in self.headers.items()}, body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def webhooks_role(site: Site) -> Iterator[Role]:
    """A `postwave webhooks` process on the shared platform's data, logging JSON."""
    role = Role("webhooks", dict(site.platform.settings), site.platform.data_dir / "webhooks.log")
    yield role
    role.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.shutdown()
    server.server_close()


def _rows(db: Path) -> bytes:
    """Every value of every row of every table, as bytes."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        out = []
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                out += [v if isinstance(v, bytes) else str(v).encode() for v in row]
        return b"\x1e".join(out)
    finally:
        conn.close()


def _dkim_material(db: Path, data_dir: Path, domain: str) -> list[bytes]:
    """The plaintext private keys of ``domain``: DER, its base64 (PEM body) and its tail."""
    box = MasterKey(decode((data_dir / KEY_FILE).read_text(), source="test"))
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT * FROM dkim_selectors WHERE domain=?", (domain,)).fetchall()
    finally:
        conn.close()
    found = []
    for row in rows:
        record = _selector(row)
        der = box.decrypt(record.private_key, context=f"{record.domain}/{record.selector}")
        found += [der, base64.b64encode(der)[:64], der[-32:]]
    assert len(rows) == 2 and found
    return found


def test_secrets_are_encrypted_at_rest_never_logged_and_shown_once(site: Site, receiver: Receiver,
                                                                    webhooks_role: Role) -> None:
    p = site.platform
    admin = p.admin_stub()
    tenant = site.tenant("secrets")
    extra = site.key(tenant, ["mail.send"])
    hook = admin.CreateWebhook(admin_pb2.CreateWebhookRequest(url=f"http://127.0.0.1:{receiver.server_port}/hook"),
                               metadata=tenant.auth, timeout=10)
    first = hook.secret
    assert admin.TestWebhook(admin_pb2.TestWebhookRequest(endpoint_id=hook.endpoint_id), metadata=tenant.auth,
                             timeout=20).http_status == 200
    headers, body = receiver.wait(lambda post: post[0]["webhook-id"].startswith("msg_test_"))
    assert verify([first], headers, body, time.time())  # the stored secret signs, once opened
    second = admin.RotateWebhookSecret(admin_pb2.RotateWebhookSecretRequest(endpoint_id=hook.endpoint_id),
                                       metadata=tenant.auth, timeout=10).secret
    sent = p.send_stub().Send(request(to=["secret-flow@wire.test"]), metadata=tenant.auth, timeout=30)
    message_id = sent.messages[0].message_id
    p.wait_state(tenant.key, message_id, {"delivered"}, timeout=60)
    # The dispatcher signs the events with both secrets during the overlap, each opened from the store.
    headers, body = receiver.wait(lambda post: post[0]["webhook-id"].startswith("msg_wh_")
                                  and message_id.encode() in post[1])
    assert verify([second], headers, body, time.time()) and verify([first], headers, body, time.time())
    # Last, as a tenant with a sending domain must send from it (and this one is not verified).
    domain = f"s{secrets.token_hex(4)}.example"
    admin.AddSendingDomain(admin_pb2.AddSendingDomainRequest(domain=domain), metadata=tenant.auth, timeout=30)

    db = p.data_dir / "postwave.db"
    needles = {
        "api key": tenant.key.encode(), "api key secret": keys.split_key(tenant.key)[1].encode(),
        "second api key": extra.secret.encode(), "second api key secret": keys.split_key(extra.secret)[1].encode(),
        "webhook secret": first.encode(), "rotated webhook secret": second.encode(),
        "webhook key bytes": signing.secret_key(first), "rotated webhook key bytes": signing.secret_key(second),
        "operator key": p.operator_key.encode(),
    }
    needles.update({f"dkim private key {i}": m for i, m in enumerate(_dkim_material(db, p.data_dir, domain))})

    # At rest: not in any row, nor anywhere in the database files (free pages and WAL included).
    rows = _rows(db)
    files = b"".join(f.read_bytes() for f in p.data_dir.glob("postwave.db*"))
    leaked = [name for name, needle in needles.items() if needle in rows or needle in files]
    assert leaked == []
    stored = sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute(
        "SELECT secret, previous_secret FROM webhook_endpoints WHERE endpoint_id=?", (hook.endpoint_id,)).fetchone()
    assert all(s.startswith(signing.SEALED_PREFIX) for s in stored)

    # Never logged: the JSON log of the whole flow holds none of them (and does hold the flow).
    log = p.log() + webhooks_role.log.read_text()
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert len(records) >= 5 and {r["role"] for r in records} >= {"api", "webhooks"}
    texts = {name: n.decode("latin-1") for name, n in needles.items() if not name.startswith(("dkim", "webhook key"))}
    texts.update({f"{name} (base64)": base64.b64encode(n).decode() for name, n in needles.items()
                  if name.startswith(("dkim", "webhook key"))})
    assert [name for name, text in texts.items() if text in log] == []

    # Shown once: no later read of a key, a webhook or a domain carries a secret.
    reads = [
        admin.ListApiKeys(admin_pb2.ListApiKeysRequest(), metadata=tenant.auth, timeout=10),
        admin.ListWebhooks(admin_pb2.ListWebhooksRequest(), metadata=tenant.auth, timeout=10),
        admin.RedriveWebhook(admin_pb2.RedriveWebhookRequest(endpoint_id=hook.endpoint_id), metadata=tenant.auth,
                             timeout=10),
        admin.GetSendingDomain(admin_pb2.GetSendingDomainRequest(domain=domain), metadata=tenant.auth, timeout=10),
        admin.ListSendingDomains(admin_pb2.ListSendingDomainsRequest(), metadata=tenant.auth, timeout=10),
        p.send_stub().GetStatus(send_pb2.GetStatusRequest(message_id=message_id), metadata=tenant.auth, timeout=10),
    ]
    blob = b"".join(r.SerializeToString() for r in reads) + b"".join(_rest(site, tenant.key, path) for path in (
        "/v1/keys", "/v1/webhooks", f"/v1/domains/{domain}"))
    assert [name for name, needle in needles.items() if needle in blob or base64.b64encode(needle) in blob] == []
    assert {k.key_id for k in reads[0].keys} >= {extra.key.key_id} and reads[1].webhooks[0].secret == ""


def _rest(site: Site, key: str, path: str) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", site.platform.http_port, timeout=20)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {key}"})
        reply = conn.getresponse()
        body = reply.read()
        assert reply.status == 200, body
        return body
    finally:
        conn.close()
