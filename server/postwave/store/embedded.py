"""The embedded Store: SQLite in WAL mode, one file shared with the embedded queue."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from postwave.errors import AlreadyExistsError
from postwave.store import embedded_reputation, embedded_shaping, embedded_suppressions, embedded_tracking, payloads
from postwave.store.base import (
    AcceptedRequest,
    AcceptResult,
    ApiKeyRecord,
    Attempt,
    BreakerAudit,
    BreakerSample,
    BreakerState,
    BreakerTotals,
    DkimSelectorRecord,
    EventRecord,
    FeedbackReport,
    IdempotencyHit,
    LaneReputation,
    MessageRecord,
    Outcome,
    ReputationChange,
    SendingDomain,
    Suppression,
    TemplateRecord,
    Tenant,
    WebhookEndpoint,
)
from postwave.store.sqlite import Database
from postwave.store.tracking_erasure import erased_forms, with_erased

IDEMPOTENCY_SECONDS = 24 * 3600.0
FINAL_STATES = ("delivered", "bounced", "failed", "dropped", "cancelled", "sandboxed")

_MESSAGE_COLUMNS = (
    "message_id, tenant_id, request_id, idx, recipient, state, lane, send_id, batch_id,"
    " created, updated, expires, attempt_count"
)
_EVENT_COLUMNS = "tenant_id, message_id, type, time, detail, recipient, send_id, batch_id, custom_args"


def _message(row: tuple[object, ...]) -> MessageRecord:
    return MessageRecord(*row)  # type: ignore[arg-type]


def _event(row: tuple[object, ...]) -> EventRecord:
    *fields, event_id = row
    return EventRecord(*fields, id=event_id)  # type: ignore[arg-type, misc]


def _insert_events(conn: sqlite3.Connection, events: Sequence[EventRecord]) -> None:
    conn.executemany(
        f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
        [
            (e.tenant_id, e.message_id, e.type, e.time, e.detail, e.recipient, e.send_id, e.batch_id, e.custom_args)
            for e in events
        ],
    )


class EmbeddedStore:
    """Store on the embedded SQLite database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def close(self) -> None:
        """Close the database connections."""
        self.db.close()

    # tenants and keys

    def create_tenant(self, tenant: Tenant) -> None:
        """Add a tenant; AlreadyExistsError if the name is taken."""
        try:
            with self.db.transaction() as conn:
                conn.execute(
                    "INSERT INTO tenants VALUES (?,?,?,?,?,?)",
                    (tenant.tenant_id, tenant.name, tenant.rate_per_second, tenant.daily_quota,
                     tenant.created, int(tenant.operator)),
                )
        except sqlite3.IntegrityError:
            raise AlreadyExistsError(f"a tenant named {tenant.name!r} already exists") from None

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        """One tenant, or None."""
        rows = self.db.query("SELECT * FROM tenants WHERE tenant_id=?", (tenant_id,))
        return Tenant(*rows[0][:5], operator=bool(rows[0][5])) if rows else None  # type: ignore[arg-type]

    def list_tenants(self) -> list[Tenant]:
        """Every tenant, oldest first."""
        rows = self.db.query("SELECT * FROM tenants ORDER BY created")
        return [Tenant(*r[:5], operator=bool(r[5])) for r in rows]  # type: ignore[arg-type]

    def create_key(self, key: ApiKeyRecord) -> None:
        """Store a new key."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO api_keys VALUES (?,?,?,?,?,?,?)",
                (key.key_id, key.tenant_id, key.name, " ".join(key.scopes), key.secret_hash,
                 key.created, int(key.revoked)),
            )

    @staticmethod
    def _key(row: tuple[object, ...]) -> ApiKeyRecord:
        key_id, tenant_id, name, scopes, secret_hash, created, revoked = row
        return ApiKeyRecord(
            str(key_id), str(tenant_id), str(name), tuple(str(scopes).split()),
            bytes(secret_hash), float(created), bool(revoked),  # type: ignore[arg-type]
        )

    def get_key(self, key_id: str) -> ApiKeyRecord | None:
        """One key by id, revoked or not."""
        rows = self.db.query("SELECT * FROM api_keys WHERE key_id=?", (key_id,))
        return self._key(rows[0]) if rows else None

    def list_keys(self, tenant_id: str) -> list[ApiKeyRecord]:
        """A tenant's keys, oldest first."""
        rows = self.db.query("SELECT * FROM api_keys WHERE tenant_id=? ORDER BY created", (tenant_id,))
        return [self._key(r) for r in rows]

    def revoke_key(self, tenant_id: str, key_id: str) -> ApiKeyRecord | None:
        """Mark a key revoked; None if the tenant has no such key."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "UPDATE api_keys SET revoked=1 WHERE key_id=? AND tenant_id=?", (key_id, tenant_id)
            )
        return self.get_key(key_id) if cur.rowcount else None

    # templates

    def create_template(self, template: TemplateRecord) -> TemplateRecord:
        """Store the next version of a template."""
        with self.db.transaction() as conn:
            (latest,) = conn.execute(
                "SELECT COALESCE(MAX(version), 0) FROM templates WHERE tenant_id=? AND template_id=?",
                (template.tenant_id, template.template_id),
            ).fetchone()
            stored = TemplateRecord(
                template.tenant_id, template.template_id, int(latest) + 1, template.name,
                template.subject, template.text, template.html, template.created,
            )
            conn.execute("INSERT INTO templates VALUES (?,?,?,?,?,?,?,?)", tuple(
                getattr(stored, f) for f in TemplateRecord.__slots__  # type: ignore[attr-defined]
            ))
        return stored

    def get_template(self, tenant_id: str, template_id: str, version: int = 0) -> TemplateRecord | None:
        """A version (0 = newest), or None."""
        if version:
            rows = self.db.query(
                "SELECT * FROM templates WHERE tenant_id=? AND template_id=? AND version=?",
                (tenant_id, template_id, version),
            )
        else:
            rows = self.db.query(
                "SELECT * FROM templates WHERE tenant_id=? AND template_id=? ORDER BY version DESC LIMIT 1",
                (tenant_id, template_id),
            )
        return TemplateRecord(*rows[0]) if rows else None  # type: ignore[arg-type]

    def list_templates(self, tenant_id: str) -> list[TemplateRecord]:
        """The newest version of each template."""
        rows = self.db.query(
            "SELECT t.* FROM templates t WHERE tenant_id=? AND version = (SELECT MAX(version) FROM templates"
            " WHERE tenant_id=t.tenant_id AND template_id=t.template_id) ORDER BY created",
            (tenant_id,),
        )
        return [TemplateRecord(*r) for r in rows]  # type: ignore[arg-type]

    def delete_template(self, tenant_id: str, template_id: str) -> int:
        """Delete every version; returns how many."""
        with self.db.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM templates WHERE tenant_id=? AND template_id=?", (tenant_id, template_id)
            )
        return cur.rowcount

    # acceptance

    def get_idempotency(self, tenant_id: str, send_id: str, now: float) -> IdempotencyHit | None:
        """A live (< 24 h) earlier request with this send_id."""
        rows = self.db.query(
            "SELECT body_hash, response FROM idempotency WHERE tenant_id=? AND send_id=? AND expires>?",
            (tenant_id, send_id, now),
        )
        return IdempotencyHit(bytes(rows[0][0]), bytes(rows[0][1])) if rows else None  # type: ignore[arg-type]

    def suppressed(self, tenant_id: str, addresses: Sequence[str], now: float) -> dict[str, str]:
        """The subset of addresses suppressed for the tenant, with the reason."""
        found: dict[str, str] = {}
        hashed = erased_forms(addresses)  # an erased address is suppressed under its hash (tracking helper)
        unique = list(dict.fromkeys([*addresses, *hashed]))
        for start in range(0, len(unique), 500):
            chunk = unique[start:start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.query(
                f"SELECT address, reason FROM suppressions WHERE tenant_id=? AND address IN ({marks})"
                " AND (expires IS NULL OR expires>?)",
                [tenant_id, *chunk, now],
            )
            found.update((str(a), str(r)) for a, r in rows)
        return with_erased(found, hashed)

    def add_suppression(self, tenant_id: str, address: str, reason: str, expires: float | None) -> None:
        """Suppress an address (expires None = permanently)."""
        with self.db.transaction() as conn:
            self._suppress(conn, tenant_id, address, reason, time.time(), expires)

    @staticmethod
    def _suppress(
        conn: sqlite3.Connection, tenant_id: str, address: str, reason: str, now: float, expires: float | None
    ) -> None:
        embedded_suppressions.put(conn, Suppression(tenant_id, address, reason, expires), now)

    def usage(self, tenant_id: str, day: str) -> int:
        """Messages accepted for the tenant on a UTC day."""
        rows = self.db.query("SELECT count FROM usage WHERE tenant_id=? AND day=?", (tenant_id, day))
        return int(rows[0][0]) if rows else 0  # type: ignore[call-overload]

    def accept(
        self, requests: Sequence[AcceptedRequest], events: Sequence[EventRecord], day: str
    ) -> list[AcceptResult]:
        """Write requests, messages, first events and usage in one durable commit.

        A request whose send_id is already taken (a concurrent duplicate) is skipped and
        reported as not written; its events are dropped with it.
        """
        results: list[AcceptResult] = []
        skipped: set[str] = set()
        stored = [payloads.pack(req.payload) for req in requests]  # compressed before the write lock is taken
        with self.db.transaction() as conn:
            for req, payload in zip(requests, stored):
                written = self._claim_send_id(conn, req)
                results.append(AcceptResult(req.request_id, written))
                if not written:
                    skipped.update(m.message_id for m in req.messages)
                    continue
                self._insert_request(conn, req, payload)
            counts: dict[str, int] = {}
            for req, res in zip(requests, results):
                if res.written:
                    counts[req.tenant_id] = counts.get(req.tenant_id, 0) + len(req.messages)
            conn.executemany(
                "INSERT INTO usage VALUES (?,?,?) ON CONFLICT (tenant_id, day) DO UPDATE SET count=count+excluded.count",
                [(t, day, n) for t, n in counts.items()],
            )
            _insert_events(conn, [e for e in events if e.message_id not in skipped])
        return results

    @staticmethod
    def _claim_send_id(conn: sqlite3.Connection, req: AcceptedRequest) -> bool:
        if not req.send_id:
            return True
        conn.execute(
            "DELETE FROM idempotency WHERE tenant_id=? AND send_id=? AND expires<=?",
            (req.tenant_id, req.send_id, req.created),
        )
        cur = conn.execute(
            "INSERT OR IGNORE INTO idempotency VALUES (?,?,?,?,?)",
            (req.tenant_id, req.send_id, req.body_hash, req.response, req.created + IDEMPOTENCY_SECONDS),
        )
        return cur.rowcount == 1

    @staticmethod
    def _insert_request(conn: sqlite3.Connection, req: AcceptedRequest, payload: bytes) -> None:
        """The request's rows; ``payload`` is its stored form (payloads.pack)."""
        conn.execute("INSERT INTO requests VALUES (?,?,?,?)", (req.request_id, req.tenant_id, payload, req.created))
        conn.executemany(
            f"INSERT INTO messages ({_MESSAGE_COLUMNS}, send_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (m.message_id, req.tenant_id, req.request_id, m.index, m.recipient, m.state, req.lane,
                 req.send_id, req.batch_id, req.created, req.created, req.expires, 0, req.send_at)
                for m in req.messages
            ],
        )

    # messages

    def get_message(self, message_id: str) -> MessageRecord | None:
        """One message, any tenant (callers check the tenant)."""
        rows = self.db.query(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE message_id=?", (message_id,))
        return _message(rows[0]) if rows else None

    def get_messages(self, message_ids: Sequence[str]) -> list[MessageRecord]:
        """Several messages at once (missing ids are left out)."""
        found: list[MessageRecord] = []
        for start in range(0, len(message_ids), 500):
            chunk = list(message_ids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self.db.query(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE message_id IN ({marks})", chunk)
            found.extend(_message(r) for r in rows)
        return found

    def get_payload(self, request_id: str) -> bytes | None:
        """The serialized SendRequest of a request."""
        rows = self.db.query("SELECT payload FROM requests WHERE request_id=?", (request_id,))
        return payloads.unpack(bytes(rows[0][0]), request_id) if rows else None  # type: ignore[arg-type]

    def get_attempts(self, message_id: str) -> list[Attempt]:
        """Delivery attempts, oldest first."""
        rows = self.db.query("SELECT * FROM attempts WHERE message_id=? ORDER BY time", (message_id,))
        return [Attempt(*r) for r in rows]  # type: ignore[arg-type]

    def record_outcomes(self, outcomes: Sequence[Outcome]) -> None:
        """Apply delivery results in one commit."""
        if not outcomes:
            return
        with self.db.transaction() as conn:
            for o in outcomes:
                now = o.attempt.time if o.attempt else (o.events[0].time if o.events else 0.0)
                conn.execute(
                    "UPDATE messages SET state=?, updated=?, attempt_count=attempt_count+? WHERE message_id=?",
                    (o.state, now, 1 if o.attempt else 0, o.message_id),
                )
                if o.attempt:
                    a = o.attempt
                    conn.execute(
                        "INSERT INTO attempts VALUES (?,?,?,?,?,?)",
                        (a.message_id, a.time, a.mx_host, a.smtp_code, a.smtp_reply, a.outcome),
                    )
                _insert_events(conn, o.events)
                if o.suppress:
                    # Ids are consecutive within the transaction: the first of this outcome's events caused it.
                    (last,) = conn.execute("SELECT last_insert_rowid()").fetchone()
                    embedded_suppressions.put(conn, Suppression(
                        o.tenant_id, o.suppress[0], o.suppress[1], None,
                        source=o.events[0].type if o.events else "bounced",
                        source_event_id=str(last - len(o.events) + 1) if o.events else "", message_id=o.message_id,
                    ), now)

    def set_state(self, message_ids: Sequence[str], state: str, events: Sequence[EventRecord]) -> None:
        """Change the state of messages and add their events, in one commit.

        A message already in a final state keeps it: a release that read a message just
        before it was cancelled must not bring it back. Events of messages left alone are
        dropped with them.
        """
        if not message_ids:
            return
        final = ",".join(f"'{s}'" for s in FINAL_STATES)
        with self.db.transaction() as conn:
            now = events[0].time if events else 0.0
            changed: set[str] = set()
            for mid in message_ids:
                row = conn.execute(
                    f"UPDATE messages SET state=?, updated=? WHERE message_id=? AND state NOT IN ({final})"
                    " RETURNING message_id",
                    (state, now, mid),
                ).fetchone()
                if row is not None:
                    changed.add(mid)
            _insert_events(conn, [e for e in events if e.message_id in changed])

    def messages_in_state(self, state: str, after_id: str, limit: int) -> list[MessageRecord]:
        """Messages in a state, by message id after ``after_id`` (the sweeper pages with it)."""
        rows = self.db.query(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages INDEXED BY messages_state_id"
            " WHERE state=? AND message_id>? ORDER BY message_id LIMIT ?",
            (state, after_id, limit),
        )
        return [_message(r) for r in rows]

    # scheduling

    def due_scheduled(self, now: float, limit: int) -> list[MessageRecord]:
        """Scheduled messages whose send_at has come."""
        rows = self.db.query(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE state='scheduled' AND send_at<=? LIMIT ?",
            (now, limit),
        )
        return [_message(r) for r in rows]

    def cancel_scheduled(self, tenant_id: str, send_id: str, batch_id: str, now: float) -> list[str]:
        """Cancel a tenant's still-scheduled messages by send_id or batch_id."""
        column, value = ("send_id", send_id) if send_id else ("batch_id", batch_id)
        with self.db.transaction() as conn:
            rows = conn.execute(
                f"UPDATE messages SET state='cancelled', updated=? WHERE tenant_id=? AND {column}=?"
                " AND state='scheduled' RETURNING message_id, recipient, send_id, batch_id",
                (now, tenant_id, value),
            ).fetchall()
            _insert_events(conn, [
                EventRecord(tenant_id, str(m), "cancelled", now, "cancelled by request", str(r), str(s), str(b), "")
                for m, r, s, b in rows
            ])
        return [str(r[0]) for r in rows]

    # events

    def list_events(
        self, tenant_id: str, after_id: int, types: Sequence[str], message_id: str, limit: int
    ) -> list[EventRecord]:
        """A tenant's events with id > after_id, oldest first."""
        sql = f"SELECT {_EVENT_COLUMNS}, id FROM events WHERE tenant_id=? AND id>?"
        params: list[object] = [tenant_id, after_id]
        if message_id:
            sql += " AND message_id=?"
            params.append(message_id)
        if types:
            sql += f" AND type IN ({','.join('?' * len(types))})"
            params.extend(types)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [_event(r) for r in self.db.query(sql, params)]

    # --- deliverability: sending domains, DKIM selectors, feedback (owner: deliverability helper) ---

    def create_domain(self, domain: SendingDomain, selectors: Sequence[DkimSelectorRecord]) -> None:
        """Register a sending domain with its first selectors; AlreadyExistsError if any tenant has it."""
        try:
            with self.db.transaction() as conn:
                conn.execute("INSERT INTO sending_domains VALUES (?,?,?,?,?,?,?,?,?)", _domain_row(domain))
                _put_selectors(conn, selectors)
        except sqlite3.IntegrityError:
            raise AlreadyExistsError(f"the sending domain {domain.domain!r} is already registered") from None

    def get_domain(self, domain: str) -> SendingDomain | None:
        """One sending domain, or None."""
        rows = self.db.query(f"SELECT {_DOMAIN_COLUMNS} FROM sending_domains WHERE domain=?", (domain,))
        return SendingDomain(*rows[0]) if rows else None  # type: ignore[arg-type]

    def list_domains(self, tenant_id: str) -> list[SendingDomain]:
        """A tenant's sending domains ("" = every tenant's), by name."""
        where, params = ("WHERE tenant_id=?", (tenant_id,)) if tenant_id else ("", ())
        rows = self.db.query(f"SELECT {_DOMAIN_COLUMNS} FROM sending_domains {where} ORDER BY domain", params)
        return [SendingDomain(*r) for r in rows]  # type: ignore[arg-type]

    def update_domain(self, domain: SendingDomain) -> None:
        """Replace a registered domain's row."""
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO sending_domains VALUES (?,?,?,?,?,?,?,?,?)", _domain_row(domain))

    def list_selectors(self, domain: str) -> list[DkimSelectorRecord]:
        """Every DKIM selector of a domain, oldest first."""
        rows = self.db.query(
            f"SELECT {_SELECTOR_COLUMNS} FROM dkim_selectors WHERE domain=? ORDER BY created, selector", (domain,)
        )
        return [_selector(r) for r in rows]

    def put_selectors(self, selectors: Sequence[DkimSelectorRecord]) -> None:
        """Insert or replace selectors."""
        with self.db.transaction() as conn:
            _put_selectors(conn, selectors)

    def record_feedback(self, events: Sequence[EventRecord], suppressions: Sequence[Suppression]) -> None:
        """Append feedback events and suppressions in one commit."""
        if not events and not suppressions:
            return
        now = time.time()
        with self.db.transaction() as conn:
            _insert_events(conn, events)
            for s in suppressions:
                embedded_suppressions.put(conn, s, now)  # with its source (why), storage's format

    def keep_feedback_report(self, report: FeedbackReport) -> None:
        """Keep an unusable feedback report for inspection."""
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO feedback_reports VALUES (?,?,?,?,?,?,?)", (
                report.report_id, report.received, report.status, report.reason, report.mail_from,
                report.rcpt_to, report.raw,
            ))

    def list_feedback_reports(self, limit: int) -> list[FeedbackReport]:
        """Kept reports, newest first."""
        rows = self.db.query("SELECT * FROM feedback_reports ORDER BY received DESC LIMIT ?", (limit,))
        return [FeedbackReport(*r[:6], raw=bytes(r[6])) for r in rows]  # type: ignore[arg-type, misc]

    # --- suppression management (owner: storage helper) ---
    # The SQL of this block lives in store/embedded_suppressions.py.

    def put_suppressions(self, entries: Sequence[Suppression]) -> None:
        """Insert or replace suppressions, with why, in one commit."""
        embedded_suppressions.put_many(self.db, entries, time.time())

    def get_suppression(self, tenant_id: str, address: str, now: float) -> Suppression | None:
        """An address's live suppression, with why."""
        return embedded_suppressions.get(self.db, tenant_id, address, now)

    def list_suppressions(self, tenant_id: str, page_token: str, limit: int,
                          now: float) -> tuple[list[Suppression], str]:
        """A page of live suppressions in address order, and the next page's token."""
        return embedded_suppressions.page(self.db, tenant_id, page_token, limit, now)

    def remove_suppression(self, tenant_id: str, address: str) -> bool:
        """Lift a suppression; False if there was none."""
        return embedded_suppressions.remove(self.db, tenant_id, address)

    def count_soft_bounce(self, tenant_id: str, address: str, event_id: str, now: float, window: float) -> int:
        """Record a soft bounce; the count in the window, this one included."""
        return embedded_suppressions.count_soft_bounce(self.db, tenant_id, address, event_id, now, window)

    def clear_soft_bounces(self, tenant_id: str, address: str) -> None:
        """Forget an address's soft bounces."""
        embedded_suppressions.clear_soft_bounces(self.db, tenant_id, address)

    # --- tracking: engagement events, webhooks, stats, erasure (owner: tracking helper) ---
    # The SQL of this block lives in store/embedded_tracking.py.

    def record_engagement(self, events: Sequence[EventRecord], suppressions: Sequence[tuple[str, str, str]]) -> None:
        """Tracker events and suppressions, in one commit."""
        embedded_tracking.record_engagement(self.db, events, suppressions)

    def create_webhook(self, endpoint: WebhookEndpoint) -> None:
        """Store a new webhook endpoint."""
        embedded_tracking.create_webhook(self.db, endpoint)

    def get_webhook(self, endpoint_id: str) -> WebhookEndpoint | None:
        """One endpoint, or None."""
        return embedded_tracking.get_webhook(self.db, endpoint_id)

    def list_webhooks(self, tenant_id: str) -> list[WebhookEndpoint]:
        """A tenant's endpoints ("" = all), oldest first."""
        return embedded_tracking.list_webhooks(self.db, tenant_id)

    def delete_webhook(self, tenant_id: str, endpoint_id: str) -> bool:
        """Delete a tenant's endpoint."""
        return embedded_tracking.delete_webhook(self.db, tenant_id, endpoint_id)

    def set_webhook_settings(self, endpoint: WebhookEndpoint) -> None:
        """Write url, event types and secrets."""
        embedded_tracking.set_webhook_settings(self.db, endpoint)

    def set_webhook_progress(self, endpoint_id: str, state: str, cursor: int, failing_since: float,
                             detail: str) -> None:
        """Write delivery progress."""
        embedded_tracking.set_webhook_progress(self.db, endpoint_id, state, cursor, failing_since, detail)

    def set_webhook_pending(self, endpoint_id: str, pending: int) -> None:
        """Write the batch in flight."""
        embedded_tracking.set_webhook_pending(self.db, endpoint_id, pending)

    def events_since(self, tenant_id: str, since: float, after_id: int, limit: int) -> list[EventRecord]:
        """Events after after_id from time ``since`` on."""
        return embedded_tracking.events_since(self.db, tenant_id, since, after_id, limit)

    def erase_recipient(self, tenant_id: str, address: str, replacement: str) -> int:
        """Remove an address's personal data, keep its suppressions under ``replacement``."""
        return embedded_tracking.erase_recipient(self.db, tenant_id, address, replacement)

    # --- shaping: IP warm-up counts shared by every worker (owner: shaping helper) ---
    # The SQL of this block lives in store/embedded_shaping.py.

    def reserve_ip_sends(self, ip: str, hour: int, want: int, hourly_cap: int, daily_cap: int) -> int:
        """Count up to ``want`` sends of ``ip`` under its hourly and daily caps; how many were granted."""
        return embedded_shaping.reserve_ip_sends(self.db, ip, hour, want, hourly_cap, daily_cap)

    def ip_sends(self, ip: str, hour: int) -> tuple[int, int]:
        """(hour's, day's) counted sends of ``ip``."""
        return embedded_shaping.ip_sends(self.db, ip, hour)

    def ip_warmup_start(self, ip: str, now: float) -> float:
        """When ``ip`` began warming up (recorded as ``now`` by the first caller)."""
        return embedded_shaping.ip_warmup_start(self.db, ip, now)

    # --- reputation (owner: reputation helper) ---
    # The SQL of this block and the next lives in store/embedded_reputation.py.

    def load_reputation(self, ips: Sequence[str], now: float) -> list[LaneReputation]:
        """Live (source IP, site) lanes of ``ips``."""
        return embedded_reputation.load_reputation(self.db, ips, now)

    def merge_reputation(self, changes: Sequence[ReputationChange], now: float) -> list[LaneReputation]:
        """Merge workers' lane changes (one transaction); the merged rows."""
        return embedded_reputation.merge_reputation(self.db, changes, now)

    # --- breakers: tenant circuit breakers (owner: reputation helper) ---

    def add_breaker_samples(self, samples: Sequence[BreakerSample]) -> None:
        """Append counted outcomes."""
        embedded_reputation.add_breaker_samples(self.db, samples)

    def breaker_totals(self, tenant_id: str, stream: str, since: float, until: float) -> BreakerTotals:
        """Summed samples of a window."""
        return embedded_reputation.breaker_totals(self.db, tenant_id, stream, since, until)

    def get_breaker(self, tenant_id: str) -> BreakerState | None:
        """A tenant's breaker state, or None."""
        return embedded_reputation.get_breaker(self.db, tenant_id)

    def set_breaker(self, state: BreakerState, expected_version: int, audit: BreakerAudit,
                    events: Sequence[EventRecord]) -> bool:
        """Compare-and-set the state, with its audit record and events (one transaction)."""
        return embedded_reputation.set_breaker(self.db, state, expected_version, audit, events, _insert_events)

    def breaker_history(self, tenant_id: str, limit: int) -> list[BreakerAudit]:
        """Audit records, newest first."""
        return embedded_reputation.breaker_history(self.db, tenant_id, limit)

    # --- batched reads for the worker (owner: CQL performance helper) ---

    def get_payloads(self, request_ids: Sequence[str]) -> dict[str, bytes]:
        """Payloads of several requests by id (missing ones left out)."""
        ids = list(dict.fromkeys(request_ids))
        found: dict[str, bytes] = {}
        for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit, with room
            chunk: list[object] = list(ids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            for request_id, payload in self.db.query(
                    f"SELECT request_id, payload FROM requests WHERE request_id IN ({marks})", chunk):
                unpacked = payloads.unpack(bytes(payload), str(request_id))  # type: ignore[call-overload]
                if unpacked is not None:
                    found[str(request_id)] = unpacked
        return found


_DOMAIN_COLUMNS = "tenant_id, domain, state, return_path, tracking_host, created, verified, checked, report"
_SELECTOR_COLUMNS = "domain, selector, algorithm, public_key, private_key, state, created, changed, retire_after"


def _domain_row(d: SendingDomain) -> tuple[object, ...]:
    return (d.domain, d.tenant_id, d.state, d.return_path, d.tracking_host, d.created, d.verified, d.checked,
            d.report)


def _selector(row: tuple[object, ...]) -> DkimSelectorRecord:
    fields = list(row)
    fields[4] = bytes(fields[4])  # type: ignore[arg-type]
    return DkimSelectorRecord(*fields)  # type: ignore[arg-type]


def _put_selectors(conn: sqlite3.Connection, selectors: Sequence[DkimSelectorRecord]) -> None:
    conn.executemany(
        f"INSERT OR REPLACE INTO dkim_selectors ({_SELECTOR_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
        [(s.domain, s.selector, s.algorithm, s.public_key, s.private_key, s.state, s.created, s.changed,
          s.retire_after) for s in selectors],
    )
