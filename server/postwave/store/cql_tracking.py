"""CQL tables and statements of the tracking feature: webhook endpoints, statistics reads, erasure.

Owned by the tracking feature; its schema is CQL migrations 20-22 (tracking owns 20-29).
Partition keys:

- ``webhook_endpoints``: the endpoint id -- one partition read per dispatcher step; the
  cursor, state and batch in flight (``pending``) are updated in place (last write wins: one
  dispatcher per endpoint).
- ``webhook_endpoints_by_tenant``: (tenant_id) -> endpoint ids; a tenant has a handful.
- ``recipient_messages``: (tenant_id, recipient hash) -> message and request ids, written
  with the messages at acceptance (one row per message, the messages' TTL), so erasure
  reads one partition instead of scanning ``messages``. It holds the address only as
  ``address_hash`` (the form an erased address keeps anyway). Messages accepted before
  the table existed get their rows from ``postwave erasure-index`` (one pass, once).

Engagement events go to the shared event tables; statistics read them by id range
(event ids are time-ordered, so ``CqlStore.events_since`` starts at the id of the first moment).
Every read of erasure names its partition: the lookup, then each message, its events,
attempts and request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from cassandra.cluster import Session

from postwave.store import payloads
from postwave.store.base import AcceptedRequest, EventRecord, WebhookEndpoint
from postwave.store.cql_keys import SUPPRESSION_SHARDS, event_partition, shard
from postwave.store.cql_messages import chunked
from postwave.store.cql_prepared import PreparedCache
from postwave.store.cql_session import CallList, Runner
from postwave.store.tracking_erasure import address_hash, scrub_payload, scrub_text

SCHEMA_20: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS {ks}.webhook_endpoints (
         endpoint_id text PRIMARY KEY, tenant_id text, url text, event_types list<text>, secret text,
         previous_secret text, previous_until double, state text, cursor bigint, failing_since double,
         created double, detail text)""",
    """CREATE TABLE IF NOT EXISTS {ks}.webhook_endpoints_by_tenant (
         tenant_id text, endpoint_id text, PRIMARY KEY ((tenant_id), endpoint_id))""",
)

SCHEMA_21: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS {ks}.recipient_messages (
         tenant_id text, recipient_hash text, message_id text, request_id text,
         PRIMARY KEY ((tenant_id, recipient_hash), message_id))
       WITH default_time_to_live = {ttl_messages}""",
)

SCHEMA_22: tuple[str, ...] = (
    "ALTER TABLE {ks}.webhook_endpoints ADD pending bigint",
)

_WEBHOOK = ("endpoint_id, tenant_id, url, event_types, secret, previous_secret, previous_until, state, cursor,"
            " failing_since, created, detail, pending")

_STATEMENTS: dict[str, tuple[str, bool]] = {
    "webhook_put": (f"INSERT INTO {{ks}}.webhook_endpoints ({_WEBHOOK}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", True),
    "webhook_index_put": ("INSERT INTO {ks}.webhook_endpoints_by_tenant (tenant_id, endpoint_id) VALUES (?, ?)", True),
    "webhook_get": ("SELECT * FROM {ks}.webhook_endpoints WHERE endpoint_id = ?", True),
    "webhook_all": ("SELECT * FROM {ks}.webhook_endpoints", True),
    "webhooks_of_tenant": ("SELECT endpoint_id FROM {ks}.webhook_endpoints_by_tenant WHERE tenant_id = ?", True),
    "webhook_delete": ("DELETE FROM {ks}.webhook_endpoints WHERE endpoint_id = ?", True),
    "webhook_index_delete": (("DELETE FROM {ks}.webhook_endpoints_by_tenant WHERE tenant_id = ?"
                              " AND endpoint_id = ?"), True),
    "webhook_settings": (("UPDATE {ks}.webhook_endpoints SET url = ?, event_types = ?, secret = ?,"
                          " previous_secret = ?, previous_until = ? WHERE endpoint_id = ?"), True),
    "webhook_progress": (("UPDATE {ks}.webhook_endpoints SET state = ?, cursor = ?, failing_since = ?, detail = ?"
                          " WHERE endpoint_id = ?"), True),
    "webhook_pending": ("UPDATE {ks}.webhook_endpoints SET pending = ? WHERE endpoint_id = ?", True),
    "suppress_forever": (("INSERT INTO {ks}.suppressions (tenant_id, shard, address, reason, created, expires)"
                          " VALUES (?, ?, ?, ?, ?, null)"), True),
    "suppression_get": ("SELECT * FROM {ks}.suppressions WHERE tenant_id = ? AND shard = ? AND address = ?", True),
    "suppression_delete": ("DELETE FROM {ks}.suppressions WHERE tenant_id = ? AND shard = ? AND address = ?", True),
    "recipient_index_put": (("INSERT INTO {ks}.recipient_messages (tenant_id, recipient_hash, message_id, request_id)"
                             " VALUES (?, ?, ?, ?)"), True),
    "recipient_index_get": ("SELECT message_id FROM {ks}.recipient_messages WHERE tenant_id = ? AND recipient_hash = ?",
                            True),
    "recipient_index_drop": (("DELETE FROM {ks}.recipient_messages WHERE tenant_id = ? AND recipient_hash = ?"
                              " AND message_id = ?"), True),
    "messages_all": ("SELECT message_id, tenant_id, request_id, recipient FROM {ks}.messages", True),
    "message_read": ("SELECT message_id, tenant_id, request_id, recipient FROM {ks}.messages WHERE message_id = ?",
                     True),
    "message_recipient": ("UPDATE {ks}.messages SET recipient = ? WHERE message_id = ?", True),
    "request_read": ("SELECT chunk, chunks, data, tenant_id, created FROM {ks}.requests WHERE request_id = ?", True),
    "request_put": (("INSERT INTO {ks}.requests (request_id, chunk, tenant_id, created, chunks, data)"
                     " VALUES (?, ?, ?, ?, ?, ?)"), True),
    "events_of_message": ("SELECT * FROM {ks}.events_by_message WHERE message_id = ?", True),
    "event_scrub_by_message": (("UPDATE {ks}.events_by_message SET recipient = ?, detail = ?, custom_args = ''"
                                " WHERE message_id = ? AND id = ?"), True),
    "event_scrub_by_tenant": (("UPDATE {ks}.events_by_tenant SET recipient = ?, detail = ?, custom_args = ''"
                               " WHERE tenant_id = ? AND day = ? AND bucket = ? AND id = ? AND message_id = ?"), True),
    "attempts_of": ("SELECT time, mx_host, smtp_reply FROM {ks}.attempts WHERE message_id = ?", True),
    "attempt_scrub": (("UPDATE {ks}.attempts SET smtp_reply = ? WHERE message_id = ? AND time = ? AND mx_host = ?"),
                      True),
}


def _webhook(row: dict[str, Any]) -> WebhookEndpoint:
    return WebhookEndpoint(
        row["endpoint_id"], row["tenant_id"], row["url"] or "", tuple(row["event_types"] or ()), row["secret"] or "",
        row["previous_secret"] or "", row["previous_until"] or 0.0, row["state"] or "active", row["cursor"] or 0,
        row["failing_since"] or 0.0, row["created"] or 0.0, row["detail"] or "", row.get("pending") or 0,
    )


class TrackingTables(PreparedCache):
    """The tracking part of the CQL store (CqlStore delegates to it)."""

    def __init__(self, session: Session, keyspace: str, run: Runner,
                 write_events: Callable[[CallList, Sequence[EventRecord]], None]) -> None:
        self.run = run
        self.write_events = write_events  # the store's own event writer (ids, bucket markers)
        super().__init__(session, keyspace, _STATEMENTS)

    # engagement

    def record_engagement(self, events: Sequence[EventRecord], suppressions: Sequence[tuple[str, str, str]]) -> None:
        """Suppressions first, then the events: a reader that sees the event sees the suppression."""
        if suppressions:
            now = time.time()
            self.run.all("suppressing unsubscribed addresses", [
                (self["suppress_forever"], (t, shard(a, SUPPRESSION_SHARDS), a, r, now)) for t, a, r in suppressions])
        if events:
            calls = CallList(self.run)
            self.write_events(calls, events)
            calls.run("writing engagement events")

    # webhooks

    def create_webhook(self, e: WebhookEndpoint) -> None:
        """The endpoint row, then its place in the tenant's list."""
        self.run.all("storing a webhook endpoint", [(self["webhook_put"], (
            e.endpoint_id, e.tenant_id, e.url, list(e.event_types), e.secret, e.previous_secret, e.previous_until,
            e.state, e.cursor, e.failing_since, e.created, e.detail, e.pending))])
        self.run.all("listing a webhook endpoint", [(self["webhook_index_put"], (e.tenant_id, e.endpoint_id))])

    def get_webhook(self, endpoint_id: str) -> WebhookEndpoint | None:
        """One endpoint."""
        row = self.run.one("reading a webhook endpoint", self["webhook_get"], (endpoint_id,))
        return _webhook(row) if row and row["tenant_id"] else None

    def list_webhooks(self, tenant_id: str) -> list[WebhookEndpoint]:
        """A tenant's endpoints ("" = all), oldest first."""
        if tenant_id:
            ids = [r["endpoint_id"] for r in self.run.rows("listing webhook endpoints", self["webhooks_of_tenant"],
                                                            (tenant_id,))]
            found = self.run.all("reading webhook endpoints", [(self["webhook_get"], (i,)) for i in ids])
            rows = [rows[0] for rows in found if rows and rows[0]["tenant_id"] == tenant_id]
        else:
            rows = [r for r in self.run.rows("listing webhook endpoints", self["webhook_all"]) if r["tenant_id"]]
        return sorted((_webhook(r) for r in rows), key=lambda e: e.created)

    def delete_webhook(self, tenant_id: str, endpoint_id: str) -> bool:
        """Delete a tenant's endpoint."""
        found = self.get_webhook(endpoint_id)
        if found is None or found.tenant_id != tenant_id:
            return False
        self.run.all("deleting a webhook endpoint", [(self["webhook_delete"], (endpoint_id,)),
                                                     (self["webhook_index_delete"], (tenant_id, endpoint_id))])
        return True

    def set_webhook_settings(self, e: WebhookEndpoint) -> None:
        """Write url, event types and secrets."""
        self.run.all("updating a webhook endpoint", [(self["webhook_settings"], (
            e.url, list(e.event_types), e.secret, e.previous_secret, e.previous_until, e.endpoint_id))])

    def set_webhook_progress(self, endpoint_id: str, state: str, cursor: int, failing_since: float,
                             detail: str) -> None:
        """Write delivery progress."""
        self.run.all("recording webhook progress", [(self["webhook_progress"], (
            state, cursor, failing_since, detail, endpoint_id))])

    def set_webhook_pending(self, endpoint_id: str, pending: int) -> None:
        """Write the batch in flight."""
        self.run.all("recording the webhook batch in flight", [(self["webhook_pending"], (pending, endpoint_id))])

    # erasure

    def prepare_accept(self) -> None:
        """Prepare the statement acceptance runs (at start-up, not on an API request)."""
        self["recipient_index_put"]

    def index_recipients(self, calls: CallList, req: AcceptedRequest) -> None:
        """The lookup rows of a new request's messages (written with the messages)."""
        for m in req.messages:
            digest = address_hash(m.recipient)
            calls.group(self["recipient_index_put"], (req.tenant_id, digest),
                        (req.tenant_id, digest, m.message_id, req.request_id))

    def backfill_recipient_index(self, page: int = 1000) -> int:
        """Write the lookup rows of every stored message (``postwave erasure-index``): one pass
        over ``messages`` for those accepted before migration 21; rewriting a row is harmless."""
        written = 0
        calls = CallList(self.run)
        for row in self.run.rows("reading every message", self["messages_all"], fetch_size=page):
            if row["tenant_id"] is None or row["recipient"] is None:
                continue  # a row whose cells expired
            calls.add(self["recipient_index_put"], (row["tenant_id"], address_hash(row["recipient"]),
                                                    row["message_id"], row["request_id"]))
            written += 1
            if len(calls.single) >= page:
                calls.run("writing erasure lookup rows")
                calls = CallList(self.run)
        calls.run("writing erasure lookup rows")
        return written

    def erase_recipient(self, tenant_id: str, address: str, replacement: str) -> int:
        """Find the address's messages through the lookup, rewrite each one's rows, re-key its
        suppression, then drop the lookup rows it followed."""
        wanted = address.strip().lower()
        key = address_hash(wanted)
        pointers = [r["message_id"] for r in self.run.rows("looking up an address's messages",
                                                            self["recipient_index_get"], (tenant_id, key))]
        rows = self.run.all("reading an address's messages", [(self["message_read"], (m,)) for m in pointers])
        found = [r[0] for r in rows if r and r[0]["tenant_id"] == tenant_id
                 and (r[0]["recipient"] or "").strip().lower() == wanted]
        calls = CallList(self.run)
        for row in found:
            calls.add(self["message_recipient"], (replacement, row["message_id"]))
            self._scrub_events(calls, row["message_id"], address, replacement)
            self._scrub_attempts(calls, row["message_id"], address, replacement)
        for request_id in {r["request_id"] for r in found}:
            self._scrub_payload(calls, request_id, address, replacement)
        calls.run("erasing a recipient")
        self._rekey_suppression(tenant_id, wanted, replacement)
        # Only the rows read above: a message accepted meanwhile keeps its pointer.
        existing = {r[0]["message_id"] for r in rows if r and r[0]["recipient"] is not None}
        stale = [m for m in pointers if m not in existing] + [r["message_id"] for r in found]
        self.run.all("dropping erased lookup rows", [(self["recipient_index_drop"], (tenant_id, key, m))
                                                     for m in stale])
        return len(found)

    def _scrub_events(self, calls: CallList, message_id: str, address: str, replacement: str) -> None:
        for e in self.run.rows("reading a message's events", self["events_of_message"], (message_id,)):
            detail = scrub_text(e["detail"] or "", address, replacement)
            day, bucket = event_partition(e["id"])
            calls.add(self["event_scrub_by_message"], (replacement, detail, message_id, e["id"]))
            calls.add(self["event_scrub_by_tenant"], (replacement, detail, e["tenant_id"], day, bucket, e["id"],
                                                      message_id))

    def _scrub_attempts(self, calls: CallList, message_id: str, address: str, replacement: str) -> None:
        for a in self.run.rows("reading attempts", self["attempts_of"], (message_id,)):
            calls.add(self["attempt_scrub"], (scrub_text(a["smtp_reply"] or "", address, replacement), message_id,
                                              a["time"], a["mx_host"]))

    def _scrub_payload(self, calls: CallList, request_id: str, address: str, replacement: str) -> None:
        rows = sorted(self.run.rows("reading a payload", self["request_read"], (request_id,)), key=lambda r: r["chunk"])
        if not rows or rows[0]["chunks"] != len(rows):
            return
        payload = payloads.unpack(b"".join(r["data"] or b"" for r in rows), request_id)
        if payload is None:
            return
        scrubbed, changed = scrub_payload(payload, address, replacement)
        if not changed:
            return
        # Rewrite every chunk row with the new count (readers check it); a shorter payload keeps
        # its rows as empty tail chunks, so no stale chunk is left behind.
        chunks = chunked(scrubbed)
        chunks += [b""] * (len(rows) - len(chunks))
        for number, data in enumerate(chunks):
            calls.add(self["request_put"], (request_id, number, rows[0]["tenant_id"], rows[0]["created"],
                                            len(chunks), data))

    def _rekey_suppression(self, tenant_id: str, address: str, replacement: str) -> None:
        part = shard(address, SUPPRESSION_SHARDS)
        row = self.run.one("reading a suppression", self["suppression_get"], (tenant_id, part, address))
        if row is None:
            return
        self.run.all("keeping a suppression as a hash", [(self["suppress_forever"], (
            tenant_id, shard(replacement, SUPPRESSION_SHARDS), replacement, row["reason"], row["created"]))])
        self.run.all("removing an erased address", [(self["suppression_delete"], (tenant_id, part, address))])
