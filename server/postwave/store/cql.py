"""The CQL Store: ScyllaDB in production, any CQL cluster (Cassandra 5 in tests).

Same contract as the embedded SQLite store (tests/contract runs against both), different
means: there are no multi-partition transactions, so each operation is ordered so that a
failure half-way leaves nothing a client was told about missing:

- ``accept`` first writes payloads, messages, their index rows, first events and usage
  (concurrently), then claims the send_ids with ``INSERT ... IF NOT EXISTS USING TTL``.
  A request that lost its send_id race has its rows deleted and its usage counted back.
  A failure before the claims leaves only rows no client knows of (at worst their
  messages are found by the start-up sweep and delivered: at-least-once, never lost).
- Unique names, template versions, key revocation and leaving the scheduled state are
  lightweight transactions (LOCAL_SERIAL).

Methods block; the pipeline calls them from worker threads (asyncio.to_thread), so no
event loop waits on the cluster. Any failure to reach the cluster raises
StoreUnavailableError; the driver reconnects by itself when the cluster returns.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import threading
import time
from collections.abc import Sequence

from postwave.config import Config
from postwave.errors import (
    AlreadyExistsError,
    InvalidArgumentError,
    StoreUnavailableError,
)
from postwave.store import cql_schema
from postwave.store.base import (
    AcceptedRequest,
    AcceptResult,
    ApiKeyRecord,
    Attempt,
    EventRecord,
    IdempotencyHit,
    MessageRecord,
    Outcome,
    TemplateRecord,
    Tenant,
)
from postwave.store.cql_dialect import detect, replication_map
from postwave.store.cql_events import EventLog, StoredEvent
from postwave.store.cql_keys import OPEN_STATES, SUPPRESSION_SHARDS, shard
from postwave.store.cql_messages import Messages, Row, message_record
from postwave.store.cql_schedule import Schedule
from postwave.store.cql_session import (
    CallList,
    Runner,
    UncertainWriteError,
    connect,
    release_event_loop,
    unavailable,
)
from postwave.store.cql_statements import Statements

log = logging.getLogger(__name__)

IDEMPOTENCY_SECONDS = 24 * 3600.0
TEMPLATE_VERSION_TRIES = 20
NAME_CLAIM_SECONDS = 60.0  # a tenant creation finishes well within this
SUPPRESSION_LOOKUP_CHUNK = 100


def ttls_of(config: Config) -> cql_schema.TTLs:
    """Table TTLs from configuration: messages live at least as long as they can be unfinished."""
    lifetime = int(config.max_schedule_ahead_hours * 3600 + config.message_expiry_seconds) + 86400
    events = int(config.events_retention_days) * 86400
    return cql_schema.TTLs(events=events, messages=max(events, lifetime), index=lifetime)


class CqlStore:
    """Store on a CQL cluster; one instance per process (it owns a driver Cluster)."""

    def __init__(self, config: Config) -> None:
        self.keyspace = config.cql_keyspace
        self.cluster, self.session = connect(config)
        self.run = Runner(self.session)
        self.sql = Statements(self.session, self.keyspace)
        try:
            self._prepare_schema(config)
            self.sql.prepare_all()
        except BaseException:
            self.cluster.shutdown()
            raise
        self.messages = Messages(self.run, self.sql)
        self.events = EventLog(self.run, self.sql, settle_seconds=config.cql_events_settle_seconds)
        self.schedule = Schedule(self.run, self.sql, self.messages)
        _close_at_exit(self)

    def _prepare_schema(self, config: Config) -> None:
        with unavailable("applying the schema"):
            system = self.cluster.metadata.keyspaces.get("system")
            self.dialect = detect(config.cql_dialect, frozenset(system.tables) if system else frozenset())
            applied = cql_schema.apply(
                self.session, self.keyspace, dialect=self.dialect,
                replication=replication_map(config.cql_replication), ttls=ttls_of(config),
            )
        log.info("CQL store on %s:%d keyspace %s (%s dialect; migrations applied now: %s)",
                 config.cql_contact_points, config.cql_port, self.keyspace, self.dialect.name, applied or "none")

    def close(self) -> None:
        """Close every connection to the cluster (again: a no-op)."""
        _OPEN.discard(self)
        self.cluster.shutdown()
        release_event_loop()

    # tenants and keys

    def create_tenant(self, tenant: Tenant) -> None:
        """Add a tenant; AlreadyExistsError if the name is taken (the name is claimed with LWT)."""
        if not self._claim_name(tenant):
            raise AlreadyExistsError(f"a tenant named {tenant.name!r} already exists")
        self.run.all("creating a tenant", [(self.sql["tenant_insert"], (
            tenant.tenant_id, tenant.name, tenant.rate_per_second, tenant.daily_quota, tenant.created, tenant.operator,
        ))])

    def _claim_name(self, tenant: Tenant) -> bool:
        """Claim the tenant's name; a name claimed over a minute ago by a creation that died
        before writing its tenant row may be taken over."""
        applied, found = self.run.applied("claiming a tenant name", self.sql["tenant_name_claim"],
                                          (tenant.name, tenant.tenant_id, time.time()))
        if applied or found["tenant_id"] == tenant.tenant_id:
            return True
        owner = found["tenant_id"]
        if (found["claimed"] or 0) > time.time() - NAME_CLAIM_SECONDS or self.get_tenant(owner) is not None:
            return False
        taken, _ = self.run.applied("claiming a tenant name", self.sql["tenant_name_take_over"],
                                    (tenant.tenant_id, tenant.name, owner))
        return taken

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        """One tenant, or None."""
        row = self.run.one("reading a tenant", self.sql["tenant_get"], (tenant_id,))
        return _tenant(row) if row else None

    def list_tenants(self) -> list[Tenant]:
        """Every tenant, oldest first (a paged scan: tenants are few)."""
        rows = self.run.rows("listing tenants", self.sql["tenant_all"], fetch_size=1000)
        return sorted((_tenant(r) for r in rows), key=lambda t: t.created)

    def create_key(self, key: ApiKeyRecord) -> None:
        """Store a new key, and its place in the tenant's list."""
        self.run.all("creating a key", [
            (self.sql["key_insert"], (key.key_id, key.tenant_id, key.name, list(key.scopes), key.secret_hash,
                                      key.created, key.revoked)),
            (self.sql["key_by_tenant_insert"], (key.tenant_id, key.created, key.key_id)),
        ])

    def get_key(self, key_id: str) -> ApiKeyRecord | None:
        """One key by id, revoked or not."""
        row = self.run.one("reading a key", self.sql["key_get"], (key_id,))
        return _key(row) if row else None

    def list_keys(self, tenant_id: str) -> list[ApiKeyRecord]:
        """A tenant's keys, oldest first."""
        ids = [r["key_id"] for r in self.run.rows("listing keys", self.sql["keys_of_tenant"], (tenant_id,))]
        results = self.run.all("reading keys", [(self.sql["key_get"], (k,)) for k in ids])
        return [_key(rows[0]) for rows in results if rows and rows[0]["tenant_id"] == tenant_id]

    def revoke_key(self, tenant_id: str, key_id: str) -> ApiKeyRecord | None:
        """Mark a key revoked (LWT: only if it belongs to the tenant); None if it does not."""
        applied, _ = self.run.applied("revoking a key", self.sql["key_revoke"], (key_id, tenant_id))
        return self.get_key(key_id) if applied else None

    # templates

    def create_template(self, template: TemplateRecord) -> TemplateRecord:
        """Store the next version: read the newest, insert newest+1 IF NOT EXISTS, retry on a race.

        Versions are a lightweight transaction rather than a counter: a counter cannot be
        read and incremented atomically, so two writers could take the same number.
        """
        key = (template.tenant_id, template.template_id)
        for attempt in range(TEMPLATE_VERSION_TRIES):
            latest = self.run.one("reading a template", self.sql["template_latest"], key, serial=attempt > 0)
            stored = dataclasses.replace(template, version=(latest["version"] if latest else 0) + 1)
            if self._insert_version(stored):
                self.run.all("listing a template", [(self.sql["template_mark"], key)])
                return stored
            time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))  # contention: let the other writer finish
        raise StoreUnavailableError(f"template {template.template_id!r} is being changed concurrently; try again")

    def _insert_version(self, stored: TemplateRecord) -> bool:
        """Insert one version IF NOT EXISTS; after a timeout, look whether it got in."""
        key = (stored.tenant_id, stored.template_id)
        try:
            applied, _ = self.run.applied("storing a template version", self.sql["template_insert"], (
                *key, stored.version, stored.name, stored.subject, stored.text, stored.html, stored.created,
            ))
            return applied
        except UncertainWriteError:
            found = self.run.one("reading a template", self.sql["template_version"], (*key, stored.version), serial=True)
            return found is not None and _template(found) == stored

    def get_template(self, tenant_id: str, template_id: str, version: int = 0) -> TemplateRecord | None:
        """A version (0 = newest), or None."""
        if version:
            row = self.run.one("reading a template", self.sql["template_version"], (tenant_id, template_id, version))
        else:
            row = self.run.one("reading a template", self.sql["template_latest"], (tenant_id, template_id))
        return _template(row) if row else None

    def list_templates(self, tenant_id: str) -> list[TemplateRecord]:
        """The newest version of each template, oldest first."""
        ids = [r["template_id"] for r in self.run.rows("listing templates", self.sql["template_ids"], (tenant_id,))]
        results = self.run.all("reading templates", [(self.sql["template_latest"], (tenant_id, t)) for t in ids])
        return sorted((_template(rows[0]) for rows in results if rows), key=lambda t: t.created)

    def delete_template(self, tenant_id: str, template_id: str) -> int:
        """Delete every version; returns how many."""
        key = (tenant_id, template_id)
        count = sum(1 for _ in self.run.rows("reading template versions", self.sql["template_versions"], key))
        if count:
            self.run.all("deleting a template", [(self.sql["template_delete"], key), (self.sql["template_unmark"], key)])
        return count

    # acceptance

    def get_idempotency(self, tenant_id: str, send_id: str, now: float) -> IdempotencyHit | None:
        """A live (< 24 h) earlier request with this send_id."""
        row = self.run.one("reading an idempotency key", self.sql["idem_get"], (tenant_id, send_id))
        if row is None or row["expires"] <= now:
            return None
        return IdempotencyHit(row["body_hash"], row["response"])

    def suppressed(self, tenant_id: str, addresses: Sequence[str], now: float) -> dict[str, str]:
        """The subset of addresses suppressed for the tenant, with the reason."""
        by_shard: dict[int, list[str]] = {}
        for address in dict.fromkeys(addresses):
            by_shard.setdefault(shard(address, SUPPRESSION_SHARDS), []).append(address)
        calls = [
            (self.sql["suppressed"], (tenant_id, part, chunk[i:i + SUPPRESSION_LOOKUP_CHUNK]))
            for part, chunk in by_shard.items() for i in range(0, len(chunk), SUPPRESSION_LOOKUP_CHUNK)
        ]
        results = self.run.all("checking suppressions", calls)
        return {
            r["address"]: r["reason"] for rows in results for r in rows if r["expires"] is None or r["expires"] > now
        }

    def add_suppression(self, tenant_id: str, address: str, reason: str, expires: float | None) -> None:
        """Suppress an address (expires None = permanently; else the row also carries a TTL)."""
        calls = CallList(self.run)
        self._suppress(calls, tenant_id, address, reason, time.time(), expires)
        calls.run("suppressing an address")

    def _suppress(self, calls: CallList, tenant_id: str, address: str, reason: str, now: float,
                  expires: float | None) -> None:
        # TTL 0: never expires. Cassandra counts TTLs in whole seconds from the write's second,
        # so one second more keeps the row until `expires`; readers compare `expires` anyway.
        ttl = 0 if expires is None else max(1, math.ceil(expires - now) + 1)
        calls.add(self.sql["suppress"], (tenant_id, shard(address, SUPPRESSION_SHARDS), address, reason, now,
                                         expires, ttl))

    def usage(self, tenant_id: str, day: str) -> int:
        """Messages accepted for the tenant on a UTC day (a CQL counter)."""
        row = self.run.one("reading usage", self.sql["usage_get"], (tenant_id, day))
        return int(row["accepted"]) if row and row["accepted"] is not None else 0

    def accept(self, requests: Sequence[AcceptedRequest], events: Sequence[EventRecord], day: str) -> list[AcceptResult]:
        """Write requests, messages, first events and usage; then claim send_ids (see the module doc).

        Usage is counted with the writes, one round trip earlier than after the claims; a
        request that loses its send_id race is counted back down.
        """
        if not requests:
            return []
        stamped = self.events.stamp(events)
        self.events.mark_buckets(stamped)
        calls = CallList(self.run)
        for req in requests:
            self.messages.insert(calls, req)
        calls.extend(self.events.writes(stamped))
        self._count_usage(calls, requests, day, 1)
        calls.run("accepting messages")
        won = self._claim_send_ids(requests)
        lost = [r for r in requests if r.request_id not in won]
        if lost:
            self._take_back(lost, stamped, day)
        return [AcceptResult(r.request_id, r.request_id in won) for r in requests]

    def _count_usage(self, calls: CallList, requests: Sequence[AcceptedRequest], day: str, sign: int) -> None:
        counts: dict[str, int] = {}
        for req in requests:
            counts[req.tenant_id] = counts.get(req.tenant_id, 0) + len(req.messages)
        for tenant_id, count in counts.items():
            calls.add(self.sql["usage_add"], (sign * count, tenant_id, day))

    def _claim_send_ids(self, requests: Sequence[AcceptedRequest]) -> set[str]:
        claiming = [r for r in requests if r.send_id]
        results = self.run.all("claiming send_ids", [
            (self.sql["idem_claim"], (r.tenant_id, r.send_id, r.request_id, r.body_hash, r.response,
                                      r.created + IDEMPOTENCY_SECONDS))
            for r in claiming
        ])
        won = {r.request_id for r in requests if not r.send_id}
        for req, rows in zip(claiming, results):
            found = rows[0]
            # A claim that reports our own request id was applied by an earlier try of this statement.
            if found["[applied]"] or found["request_id"] == req.request_id or self._take_over(req, found):
                won.add(req.request_id)
        return won

    def _take_over(self, req: AcceptedRequest, found: Row) -> bool:
        """Reuse a send_id whose 24 h have passed but whose row has not expired yet."""
        if found["expires"] is None or found["expires"] > req.created:
            return False
        applied, _ = self.run.applied("claiming an expired send_id", self.sql["idem_take_over"], (
            req.request_id, req.body_hash, req.response, req.created + IDEMPOTENCY_SECONDS,
            req.tenant_id, req.send_id, found["request_id"],
        ))
        return applied

    def _take_back(self, lost: Sequence[AcceptedRequest], stamped: list[StoredEvent], day: str) -> None:
        """Remove what requests that lost their send_id race wrote, and uncount them."""
        calls = CallList(self.run)
        lost_messages: set[str] = set()
        for req in lost:
            self.messages.remove(calls, req)
            lost_messages.update(m.message_id for m in req.messages)
        calls.extend(self.events.deletes([s for s in stamped if s.event.message_id in lost_messages]))
        self._count_usage(calls, lost, day, -1)
        calls.run("withdrawing requests that lost their send_id")

    # messages

    def get_message(self, message_id: str) -> MessageRecord | None:
        """One message, any tenant (callers check the tenant)."""
        row = self.messages.read([message_id]).get(message_id)
        return message_record(row) if row else None

    def get_messages(self, message_ids: Sequence[str]) -> list[MessageRecord]:
        """Several messages at once (missing ids are left out), in the order asked."""
        rows = self.messages.read(message_ids)
        return [message_record(rows[m]) for m in dict.fromkeys(message_ids) if m in rows]

    def get_payload(self, request_id: str) -> bytes | None:
        """The serialized SendRequest of a request."""
        return self.messages.payload(request_id)

    def get_attempts(self, message_id: str) -> list[Attempt]:
        """Delivery attempts, oldest first."""
        rows = self.run.rows("reading attempts", self.sql["attempts_get"], (message_id,))
        return [Attempt(r["message_id"], r["time"], r["mx_host"], r["smtp_code"], r["smtp_reply"], r["outcome"])
                for r in rows]

    def record_outcomes(self, outcomes: Sequence[Outcome]) -> None:
        """Apply delivery results: attempts, suppressions and events first, then the states.

        The new state is written last, so a reader that sees it (GetStatus) also sees the
        attempt and the events that led to it.
        """
        if not outcomes:
            return
        olds = self.messages.read(o.message_id for o in outcomes)
        history, states = CallList(self.run), CallList(self.run)
        events: list[EventRecord] = []
        for o in outcomes:
            now = o.attempt.time if o.attempt else (o.events[0].time if o.events else 0.0)
            if o.attempt:
                a = o.attempt
                history.add(self.sql["attempt_insert"], (a.message_id, a.time, a.mx_host, a.smtp_code, a.smtp_reply,
                                                         a.outcome))
            if o.suppress:
                self._suppress(history, o.tenant_id, o.suppress[0], o.suppress[1], now, None)
            events.extend(o.events)
            old = olds.get(o.message_id)
            if old is not None:  # an update of a missing row would create a partial one
                count = (old["attempt_count"] or 0) + (1 if o.attempt else 0)
                states.add(self.sql["message_update"], (o.state, now, count, o.message_id))
                self.messages.move(states, old, o.state)
        self._write_events(history, events)
        history.run("recording delivery attempts")
        states.run("recording delivery outcomes")

    def set_state(self, message_ids: Sequence[str], state: str, events: Sequence[EventRecord]) -> None:
        """Change the state of messages and add their events.

        A message already in a final state keeps it (a release that read a message just
        before it was cancelled must not bring it back), and leaving ``scheduled`` is a
        lightweight transaction, so a cancellation racing it wins or loses as a whole. The
        events of messages left alone are dropped.
        """
        if not message_ids:
            return
        now = events[0].time if events else 0.0
        found = self.messages.read(message_ids)
        olds = {m: r for m, r in found.items() if r["state"] in OPEN_STATES}
        scheduled = [r for r in olds.values() if r["state"] == "scheduled" and state != "scheduled"]
        moved = self.messages.leave_scheduled(scheduled, state, now) if scheduled else set()
        lost = ({r["message_id"] for r in scheduled} - moved) | (found.keys() - olds.keys())
        calls = CallList(self.run)
        for old in olds.values():
            if old["message_id"] in lost:
                continue
            if old["message_id"] not in moved:
                calls.add(self.sql["message_update"], (state, now, old["attempt_count"] or 0, old["message_id"]))
            self.messages.move(calls, old, state)
        self._write_events(calls, [e for e in events if e.message_id not in lost])
        calls.run("changing message states")

    def messages_in_state(self, state: str, after_id: str, limit: int) -> list[MessageRecord]:
        """Messages in a non-final state, by message id after ``after_id`` (the sweeper pages with it).

        Final states are not indexed (their index would grow for ever): asking for one is an error.
        """
        if state not in OPEN_STATES:
            raise InvalidArgumentError("state", f"the CQL store lists only messages in {sorted(OPEN_STATES)}")
        while True:
            ids = self.messages.page_by_state(state, after_id, limit)
            if not ids:
                return []
            rows = self.messages.read(ids)
            found = [message_record(rows[m]) for m in ids if m in rows and rows[m]["state"] == state]
            if found:
                return found
            after_id = ids[-1]  # a page of stale index rows only: look further

    # scheduling

    def due_scheduled(self, now: float, limit: int) -> list[MessageRecord]:
        """Scheduled messages whose send_at has come."""
        return self.schedule.due(now, limit)

    def cancel_scheduled(self, tenant_id: str, send_id: str, batch_id: str, now: float) -> list[str]:
        """Cancel a tenant's still-scheduled messages by send_id or batch_id."""
        cancelled, events = self.schedule.cancel(tenant_id, send_id, batch_id, now)
        calls = CallList(self.run)
        self._write_events(calls, events)
        calls.run("recording cancellations")
        return [r["message_id"] for r in cancelled]

    # events

    def list_events(
        self, tenant_id: str, after_id: int, types: Sequence[str], message_id: str, limit: int
    ) -> list[EventRecord]:
        """A tenant's events with id > after_id, oldest first."""
        return self.events.read(tenant_id, after_id, types, message_id, limit)

    def _write_events(self, calls: CallList, events: Sequence[EventRecord]) -> None:
        stamped = self.events.stamp(events)
        self.events.mark_buckets(stamped)
        calls.extend(self.events.writes(stamped))


_OPEN: set[CqlStore] = set()  # strong references: a worker drops its store before exiting
_exit_hook_registered = False


def _close_at_exit(store: CqlStore) -> None:
    """Close stores their owner did not close (the API and worker processes exit without).

    It must run before the driver's own exit hook stops the cluster's executors, which
    would leave connections half closed and the exit waiting on the driver's event loop:
    so it is a threading exit callback, registered after the driver's and so run before it
    (the hook the driver itself uses for that).
    """
    global _exit_hook_registered
    if not _exit_hook_registered:
        threading._register_atexit(_close_open_stores)  # type: ignore[attr-defined]
        _exit_hook_registered = True
    _OPEN.add(store)


def _close_open_stores() -> None:
    for store in list(_OPEN):
        store.close()


def _tenant(row: Row) -> Tenant:
    return Tenant(row["tenant_id"], row["name"], row["rate_per_second"], row["daily_quota"], row["created"],
                  bool(row["operator"]))


def _key(row: Row) -> ApiKeyRecord:
    return ApiKeyRecord(row["key_id"], row["tenant_id"], row["name"], tuple(row["scopes"] or ()),
                        row["secret_hash"], row["created"], bool(row["revoked"]))


def _template(row: Row) -> TemplateRecord:
    return TemplateRecord(row["tenant_id"], row["template_id"], row["version"], row["name"], row["subject"],
                          row["text"] or "", row["html"] or "", row["created"])
