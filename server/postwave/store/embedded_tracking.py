"""SQLite side of the tracking feature's store methods (EmbeddedStore delegates here).

Tables (in the tracking block of the SCHEMA of store/sqlite.py): ``webhook_endpoints``.
Engagement events go to the shared ``events`` table.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from postwave.store import payloads
from postwave.store.base import EventRecord, WebhookEndpoint
from postwave.store.sqlite import Database
from postwave.store.tracking_erasure import scrub_payload, scrub_response, scrub_text

_EVENT_COLUMNS = "tenant_id, message_id, type, time, detail, recipient, send_id, batch_id, custom_args"
_WEBHOOK_COLUMNS = ("endpoint_id, tenant_id, url, event_types, secret, previous_secret, previous_until, state,"
                    " cursor, failing_since, created, detail, pending")


def _webhook(row: tuple[object, ...]) -> WebhookEndpoint:
    fields = list(row)
    fields[3] = tuple(t for t in str(fields[3]).split(" ") if t)
    return WebhookEndpoint(*fields)  # type: ignore[arg-type]


def record_engagement(db: Database, events: Sequence[EventRecord],
                      suppressions: Sequence[tuple[str, str, str]]) -> None:
    """Events and suppressions in one commit."""
    now = time.time()
    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO suppressions VALUES (?,?,?,?,NULL) ON CONFLICT (tenant_id, address) DO UPDATE"
            " SET reason=excluded.reason, created=excluded.created, expires=NULL",
            [(tenant, address, reason, now) for tenant, address, reason in suppressions],
        )
        conn.executemany(
            f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
            [(e.tenant_id, e.message_id, e.type, e.time, e.detail, e.recipient, e.send_id, e.batch_id,
              e.custom_args) for e in events],
        )


def create_webhook(db: Database, e: WebhookEndpoint) -> None:
    """Insert an endpoint."""
    with db.transaction() as conn:
        conn.execute(f"INSERT INTO webhook_endpoints ({_WEBHOOK_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", (
            e.endpoint_id, e.tenant_id, e.url, " ".join(e.event_types), e.secret, e.previous_secret,
            e.previous_until, e.state, e.cursor, e.failing_since, e.created, e.detail, e.pending))


def get_webhook(db: Database, endpoint_id: str) -> WebhookEndpoint | None:
    """One endpoint."""
    rows = db.query(f"SELECT {_WEBHOOK_COLUMNS} FROM webhook_endpoints WHERE endpoint_id=?", (endpoint_id,))
    return _webhook(rows[0]) if rows else None


def list_webhooks(db: Database, tenant_id: str) -> list[WebhookEndpoint]:
    """A tenant's endpoints ("" = all), oldest first."""
    if tenant_id:
        rows = db.query(f"SELECT {_WEBHOOK_COLUMNS} FROM webhook_endpoints WHERE tenant_id=? ORDER BY created",
                        (tenant_id,))
    else:
        rows = db.query(f"SELECT {_WEBHOOK_COLUMNS} FROM webhook_endpoints ORDER BY created")
    return [_webhook(r) for r in rows]


def delete_webhook(db: Database, tenant_id: str, endpoint_id: str) -> bool:
    """Delete a tenant's endpoint."""
    with db.transaction() as conn:
        cur = conn.execute("DELETE FROM webhook_endpoints WHERE endpoint_id=? AND tenant_id=?",
                           (endpoint_id, tenant_id))
    return cur.rowcount == 1


def set_webhook_settings(db: Database, e: WebhookEndpoint) -> None:
    """Write url, event types and secrets."""
    with db.transaction() as conn:
        conn.execute(
            "UPDATE webhook_endpoints SET url=?, event_types=?, secret=?, previous_secret=?, previous_until=?"
            " WHERE endpoint_id=?",
            (e.url, " ".join(e.event_types), e.secret, e.previous_secret, e.previous_until, e.endpoint_id))


def set_webhook_progress(db: Database, endpoint_id: str, state: str, cursor: int, failing_since: float,
                         detail: str) -> None:
    """Write the delivery progress."""
    with db.transaction() as conn:
        conn.execute("UPDATE webhook_endpoints SET state=?, cursor=?, failing_since=?, detail=? WHERE endpoint_id=?",
                     (state, cursor, failing_since, detail, endpoint_id))


def set_webhook_pending(db: Database, endpoint_id: str, pending: int) -> None:
    """Write the batch in flight."""
    with db.transaction() as conn:
        conn.execute("UPDATE webhook_endpoints SET pending=? WHERE endpoint_id=?", (pending, endpoint_id))


def events_since(db: Database, tenant_id: str, since: float, after_id: int, limit: int) -> list[EventRecord]:
    """Events by id after after_id, from time ``since`` on."""
    rows = db.query(f"SELECT {_EVENT_COLUMNS}, id FROM events WHERE tenant_id=? AND id>? AND time>=?"
                    " ORDER BY id LIMIT ?", (tenant_id, after_id, since, limit))
    return [EventRecord(*r[:9], id=r[9]) for r in rows]  # type: ignore[arg-type, misc]


def erase_recipient(db: Database, tenant_id: str, address: str, replacement: str) -> int:
    """See Store.erase_recipient: every table in one commit."""
    wanted = address.strip().lower()
    with db.transaction() as conn:
        # The index messages_recipient (tenant_id, lower(recipient)) answers this without a scan.
        found = conn.execute("SELECT message_id, request_id, send_id FROM messages"
                             " WHERE tenant_id=? AND lower(recipient)=?", (tenant_id, wanted)).fetchall()
        ids = [str(m) for m, _, _ in found]
        conn.executemany("UPDATE messages SET recipient=? WHERE message_id=?", [(replacement, m) for m in ids])
        _scrub_payloads(conn, {str(r) for _, r, _ in found}, address, replacement)
        _scrub_rows(conn, ids, address, replacement)
        for send_id in sorted({str(s) for _, _, s in found if s}):  # the stored replies of its requests
            for (response,) in conn.execute("SELECT response FROM idempotency WHERE tenant_id=? AND send_id=?",
                                            (tenant_id, send_id)).fetchall():
                scrubbed, changed = scrub_response(bytes(response), address, replacement)
                if changed:
                    conn.execute("UPDATE idempotency SET response=? WHERE tenant_id=? AND send_id=?",
                                 (scrubbed, tenant_id, send_id))
        conn.execute("INSERT OR REPLACE INTO suppressions SELECT tenant_id, ?, reason, created, expires"
                     " FROM suppressions WHERE tenant_id=? AND address=?", (replacement, tenant_id, wanted))
        conn.execute("DELETE FROM suppressions WHERE tenant_id=? AND address=?", (tenant_id, wanted))
    return len(ids)


def _scrub_payloads(conn: sqlite3.Connection, request_ids: set[str], address: str, replacement: str) -> None:
    for request_id in request_ids:
        row = conn.execute("SELECT payload FROM requests WHERE request_id=?", (request_id,)).fetchone()
        if row is None:
            continue
        payload = payloads.unpack(bytes(row[0]), request_id)
        if payload is None:
            continue
        scrubbed, changed = scrub_payload(payload, address, replacement)
        if changed:
            conn.execute("UPDATE requests SET payload=? WHERE request_id=?", (payloads.pack(scrubbed), request_id))


def _scrub_rows(conn: sqlite3.Connection, message_ids: list[str], address: str, replacement: str) -> None:
    """Events and attempts of the erased messages: details and replies may quote the address."""
    for mid in message_ids:
        for event_id, detail in conn.execute("SELECT id, detail FROM events WHERE message_id=?", (mid,)).fetchall():
            conn.execute("UPDATE events SET recipient=?, detail=?, custom_args='' WHERE id=?",
                         (replacement, scrub_text(str(detail), address, replacement), event_id))
        for rowid, reply in conn.execute("SELECT rowid, smtp_reply FROM attempts WHERE message_id=?", (mid,)).fetchall():
            conn.execute("UPDATE attempts SET smtp_reply=? WHERE rowid=?",
                         (scrub_text(str(reply), address, replacement), rowid))
