"""Every statement the CQL store runs, prepared once per session on first use.

Each entry is (CQL, idempotent). Idempotent statements may be retried or sent speculatively
by the driver; lightweight transactions and counter updates never are (a retried
``IF NOT EXISTS`` could report its own earlier success as a conflict, and a retried counter
increment counts twice).
"""

from __future__ import annotations

import threading

from cassandra.cluster import Session
from cassandra.query import PreparedStatement

from postwave.store.cql_session import unavailable

_MESSAGE_COLUMNS = ("message_id, tenant_id, request_id, idx, recipient, state, lane, send_id, batch_id,"
                    " send_at, created, updated, expires, attempt_count")
_EVENT_COLUMNS = "type, time, detail, recipient, send_id, batch_id, custom_args"

STATEMENTS: dict[str, tuple[str, bool]] = {
    # tenants and keys
    "tenant_name_claim": (("INSERT INTO {ks}.tenant_names (name, tenant_id, claimed) VALUES (?, ?, ?)"
                           " IF NOT EXISTS"), False),
    "tenant_name_take_over": ("UPDATE {ks}.tenant_names SET tenant_id = ? WHERE name = ? IF tenant_id = ?", False),
    "tenant_insert": (("INSERT INTO {ks}.tenants (tenant_id, name, rate_per_second, daily_quota, created, operator)"
                       " VALUES (?, ?, ?, ?, ?, ?)"), True),
    "tenant_get": ("SELECT * FROM {ks}.tenants WHERE tenant_id = ?", True),
    "tenant_all": ("SELECT * FROM {ks}.tenants", True),
    "key_insert": (("INSERT INTO {ks}.api_keys (key_id, tenant_id, name, scopes, secret_hash, created, revoked)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)"), True),
    "key_by_tenant_insert": ("INSERT INTO {ks}.api_keys_by_tenant (tenant_id, created, key_id) VALUES (?, ?, ?)", True),
    "key_get": ("SELECT * FROM {ks}.api_keys WHERE key_id = ?", True),
    "keys_of_tenant": ("SELECT key_id FROM {ks}.api_keys_by_tenant WHERE tenant_id = ?", True),
    "key_revoke": ("UPDATE {ks}.api_keys SET revoked = true WHERE key_id = ? IF tenant_id = ?", False),
    # templates
    "template_latest": ("SELECT * FROM {ks}.templates WHERE tenant_id = ? AND template_id = ? LIMIT 1", True),
    "template_version": ("SELECT * FROM {ks}.templates WHERE tenant_id = ? AND template_id = ? AND version = ?", True),
    "template_versions": ("SELECT version FROM {ks}.templates WHERE tenant_id = ? AND template_id = ?", True),
    "template_insert": (("INSERT INTO {ks}.templates (tenant_id, template_id, version, name, subject, text, html,"
                         " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS"), False),
    "template_delete": ("DELETE FROM {ks}.templates WHERE tenant_id = ? AND template_id = ?", True),
    "template_mark": ("INSERT INTO {ks}.templates_by_tenant (tenant_id, template_id) VALUES (?, ?)", True),
    "template_unmark": ("DELETE FROM {ks}.templates_by_tenant WHERE tenant_id = ? AND template_id = ?", True),
    "template_ids": ("SELECT template_id FROM {ks}.templates_by_tenant WHERE tenant_id = ?", True),
    # acceptance
    "idem_get": (("SELECT request_id, body_hash, response, expires FROM {ks}.idempotency"
                  " WHERE tenant_id = ? AND send_id = ?"), True),
    "idem_claim": (("INSERT INTO {ks}.idempotency (tenant_id, send_id, request_id, body_hash, response, expires)"
                    " VALUES (?, ?, ?, ?, ?, ?) IF NOT EXISTS USING TTL 86400"), False),
    "idem_take_over": (("UPDATE {ks}.idempotency USING TTL 86400 SET request_id = ?, body_hash = ?, response = ?,"
                        " expires = ? WHERE tenant_id = ? AND send_id = ? IF request_id = ?"), False),
    "suppressed": (("SELECT address, reason, expires FROM {ks}.suppressions"
                    " WHERE tenant_id = ? AND shard = ? AND address IN ?"), True),
    "suppress": (("INSERT INTO {ks}.suppressions (tenant_id, shard, address, reason, created, expires, source,"
                  " source_event_id, message_id, source_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?"), True),
    "usage_get": ("SELECT accepted FROM {ks}.usage WHERE tenant_id = ? AND day = ?", True),
    "usage_add": ("UPDATE {ks}.usage SET accepted = accepted + ? WHERE tenant_id = ? AND day = ?", False),
    "request_chunk": (("INSERT INTO {ks}.requests (request_id, chunk, tenant_id, created, chunks, data)"
                       " VALUES (?, ?, ?, ?, ?, ?)"), True),
    "request_get": ("SELECT chunk, chunks, data FROM {ks}.requests WHERE request_id = ?", True),
    "request_delete": ("DELETE FROM {ks}.requests WHERE request_id = ?", True),
    # messages
    "message_insert": ((f"INSERT INTO {{ks}}.messages ({_MESSAGE_COLUMNS})"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"), True),
    "message_get": (f"SELECT {_MESSAGE_COLUMNS} FROM {{ks}}.messages WHERE message_id = ?", True),
    "message_delete": ("DELETE FROM {ks}.messages WHERE message_id = ?", True),
    "message_update": ("UPDATE {ks}.messages SET state = ?, updated = ?, attempt_count = ? WHERE message_id = ?",
                       True),
    "message_leave_scheduled": (("UPDATE {ks}.messages SET state = ?, updated = ? WHERE message_id = ?"
                                 " IF state = 'scheduled'"), False),
    "state_add": ("INSERT INTO {ks}.messages_by_state (state, shard, message_id, tenant_id) VALUES (?, ?, ?, ?)",
                  True),
    "state_remove": ("DELETE FROM {ks}.messages_by_state WHERE state = ? AND shard = ? AND message_id = ?", True),
    "state_page": (("SELECT message_id FROM {ks}.messages_by_state WHERE state = ? AND shard = ? AND message_id > ?"
                    " LIMIT ?"), True),
    "attempt_insert": (("INSERT INTO {ks}.attempts (message_id, time, mx_host, smtp_code, smtp_reply, outcome)"
                        " VALUES (?, ?, ?, ?, ?, ?)"), True),
    "attempts_get": ("SELECT * FROM {ks}.attempts WHERE message_id = ?", True),
    # scheduling
    "scheduled_add": (("INSERT INTO {ks}.scheduled (bucket, shard, send_at, message_id, tenant_id)"
                       " VALUES (?, ?, ?, ?, ?)"), True),
    # Every shard of a minute in one request (the scheduler polls twice a second, mostly
    # finding nothing): each shard still gives up to the limit, as eight reads did.
    "scheduled_due": (("SELECT send_at, message_id FROM {ks}.scheduled WHERE bucket = ? AND shard IN ?"
                       " AND send_at <= ? PER PARTITION LIMIT ?"), True),
    "scheduled_remove": (("DELETE FROM {ks}.scheduled WHERE bucket = ? AND shard = ? AND send_at = ?"
                          " AND message_id = ?"), True),
    "ref_add": ("INSERT INTO {ks}.scheduled_by_ref (tenant_id, kind, ref, message_id) VALUES (?, ?, ?, ?)", True),
    "ref_get": ("SELECT message_id FROM {ks}.scheduled_by_ref WHERE tenant_id = ? AND kind = ? AND ref = ?", True),
    "ref_remove": (("DELETE FROM {ks}.scheduled_by_ref WHERE tenant_id = ? AND kind = ? AND ref = ?"
                    " AND message_id = ?"), True),
    "watermark_get": ("SELECT bucket FROM {ks}.scheduler_state WHERE name = 'scheduled'", True),
    "watermark_set": ("UPDATE {ks}.scheduler_state SET bucket = ? WHERE name = 'scheduled'", True),
    "events_watermark_get": ("SELECT seq, id FROM {ks}.event_watermark WHERE name = 'events'", True),
    "events_watermark_set": ("UPDATE {ks}.event_watermark SET seq = ?, id = ?, updated = ? WHERE name = 'events'", True),
    # events
    "event_insert": ((f"INSERT INTO {{ks}}.events_by_tenant (tenant_id, day, bucket, id, message_id, {_EVENT_COLUMNS})"
                      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"), True),
    "event_by_message_insert": ((f"INSERT INTO {{ks}}.events_by_message (message_id, id, tenant_id, {_EVENT_COLUMNS})"
                                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"), True),
    "event_delete": (("DELETE FROM {ks}.events_by_tenant WHERE tenant_id = ? AND day = ? AND bucket = ? AND id = ?"
                      " AND message_id = ?"), True),
    "events_of_message_delete": ("DELETE FROM {ks}.events_by_message WHERE message_id = ?", True),
    "event_bucket_mark": ("INSERT INTO {ks}.event_buckets (tenant_id, day, bucket) VALUES (?, ?, ?)", True),
    "event_buckets_from": (("SELECT day, bucket FROM {ks}.event_buckets WHERE tenant_id = ?"
                            " AND (day, bucket) >= (?, ?)"), True),
    "events_in_bucket": (("SELECT * FROM {ks}.events_by_tenant WHERE tenant_id = ? AND day = ? AND bucket = ?"
                          " AND id > ? AND id <= ?"), True),
    "events_of_message": ("SELECT * FROM {ks}.events_by_message WHERE message_id = ? AND id > ?", True),
    # suppression management (cql_suppressions.py)
    "suppression_read": ("SELECT * FROM {ks}.suppressions WHERE tenant_id = ? AND shard = ? AND address = ?", True),
    "suppression_page": (("SELECT * FROM {ks}.suppressions WHERE tenant_id = ? AND shard = ? AND address > ?"
                          " LIMIT ?"), True),
    "suppression_remove": ("DELETE FROM {ks}.suppressions WHERE tenant_id = ? AND shard = ? AND address = ?", True),
    "soft_bounce_add": (("INSERT INTO {ks}.soft_bounces (tenant_id, address, time, event_id) VALUES (?, ?, ?, ?)"
                         " USING TTL ?"), True),
    "soft_bounces_since": ("SELECT time FROM {ks}.soft_bounces WHERE tenant_id = ? AND address = ? AND time > ?",
                           True),
    "soft_bounces_clear": ("DELETE FROM {ks}.soft_bounces WHERE tenant_id = ? AND address = ?", True),
}


class Statements:
    """Prepared statements of one keyspace (after a restart of the cluster the driver
    re-prepares them by itself)."""

    def __init__(self, session: Session, keyspace: str) -> None:
        self.session = session
        self.keyspace = keyspace
        self._prepared: dict[str, PreparedStatement] = {}
        self._lock = threading.Lock()

    def prepare_all(self) -> None:
        """Prepare every statement now, so that no request pays for it."""
        for name in STATEMENTS:
            self[name]

    def __getitem__(self, name: str) -> PreparedStatement:
        found = self._prepared.get(name)
        if found is None:
            with self._lock:
                found = self._prepared.get(name)
                if found is None:
                    text, idempotent = STATEMENTS[name]
                    with unavailable(f"preparing {name}"):
                        found = self.session.prepare(text.format(ks=self.keyspace))
                    found.is_idempotent = idempotent
                    self._prepared[name] = found
        return found
