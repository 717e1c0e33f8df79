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

The blocking methods serve worker threads and the CLI; the hot ones also have an asyncio
face (``*_async``, the AsyncStore protocol) that runs the same plan on the event loop with
the driver's ``execute_async`` (cql_async.py), so the API's group commit and the worker's
prefetch and flush need no thread per call. Any failure to reach the cluster raises
StoreUnavailableError; the driver reconnects by itself when the cluster returns.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import random
import threading
import time
import weakref
from collections.abc import Sequence

from postwave.config import Config, streams_events
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
from postwave.store.cql_async import AsyncRunner, run_plan_async
from postwave.store.cql_breakers import BreakerTables
from postwave.store.cql_deliverability import DeliverabilityTables
from postwave.store.cql_dialect import detect, replication_map
from postwave.store.cql_events import MAX_EVENT_ID, EventLog, StoredEvent
from postwave.store.cql_keys import OPEN_STATES, SUPPRESSION_SHARDS, event_id_at, event_partition, shard
from postwave.store.cql_messages import Messages, Row, message_record, previous_row
from postwave.store.cql_reputation import ReputationTables
from postwave.store.cql_schedule import Schedule
from postwave.store.cql_session import (
    Batch,
    CallList,
    Plan,
    Runner,
    UncertainWriteError,
    connect,
    release_event_loop,
    run_plan,
    unavailable,
)
from postwave.store.cql_shaping import ShapingTables
from postwave.store.cql_statements import Statements
from postwave.store.cql_suppressions import SuppressionTables
from postwave.store.cql_tracking import TrackingTables
from postwave.store.tracking_erasure import erased_forms, with_erased

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
        self.arun = AsyncRunner(self.session)
        self._write_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary())
        self.sql = Statements(self.session, self.keyspace)
        try:
            self._prepare_schema(config)
            self.sql.prepare_all()
            self._tracking.prepare_accept()  # the erasure lookup written by accept (tracking helper)
        except BaseException:
            self.cluster.shutdown()
            raise
        self.messages = Messages(self.run, self.sql)
        self.events = EventLog(self.sql, settle_seconds=config.cql_events_settle_seconds)
        # queue=nats with events_stream: the store writer feeds the event tables; readers stop at its watermark
        self.streamed_events = streams_events(config)
        self.schedule = Schedule(self.run, self.sql, self.messages)
        self.suppressions = SuppressionTables(self.run, self.sql)
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
        return run_plan(self.run, self._idempotency_plan(tenant_id, send_id, now))

    def _idempotency_plan(self, tenant_id: str, send_id: str, now: float) -> Plan[IdempotencyHit | None]:
        [rows] = yield Batch("reading an idempotency key", [(self.sql["idem_get"], (tenant_id, send_id))])
        if not rows or rows[0]["expires"] <= now:
            return None
        return IdempotencyHit(rows[0]["body_hash"], rows[0]["response"])

    def suppressed(self, tenant_id: str, addresses: Sequence[str], now: float) -> dict[str, str]:
        """The subset of addresses suppressed for the tenant, with the reason."""
        return run_plan(self.run, self._suppressed_plan(tenant_id, addresses, now))

    def _suppressed_plan(self, tenant_id: str, addresses: Sequence[str], now: float) -> Plan[dict[str, str]]:
        by_shard: dict[int, list[str]] = {}
        hashed = erased_forms(addresses)  # an erased address is suppressed under its hash (tracking helper)
        for address in dict.fromkeys([*addresses, *hashed]):
            by_shard.setdefault(shard(address, SUPPRESSION_SHARDS), []).append(address)
        calls = [
            (self.sql["suppressed"], (tenant_id, part, chunk[i:i + SUPPRESSION_LOOKUP_CHUNK]))
            for part, chunk in by_shard.items() for i in range(0, len(chunk), SUPPRESSION_LOOKUP_CHUNK)
        ]
        results = yield Batch("checking suppressions", calls)
        return with_erased({
            r["address"]: r["reason"] for rows in results for r in rows if r["expires"] is None or r["expires"] > now
        }, hashed)

    def add_suppression(self, tenant_id: str, address: str, reason: str, expires: float | None) -> None:
        """Suppress an address (expires None = permanently; else the row also carries a TTL)."""
        calls = CallList(self.run)
        self._suppress(calls, tenant_id, address, reason, time.time(), expires)
        calls.run("suppressing an address")

    def _suppress(self, calls: CallList, tenant_id: str, address: str, reason: str, now: float,
                  expires: float | None) -> None:
        self.suppressions.write(calls, Suppression(tenant_id, address, reason, expires), now)

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
        stamped = run_plan(self.run, self._write_plan(requests, events, day))
        return run_plan(self.run, self._claim_plan_of(requests, stamped, day))

    def _write_plan(self, requests: Sequence[AcceptedRequest], events: Sequence[EventRecord],
                    day: str) -> Plan[list[StoredEvent]]:
        """The first half of accept: stamp the events, write everything; the stamped events."""
        stamped = self.events.stamp(events)
        yield from self.events.mark_plan(stamped)
        calls = CallList(self.run)
        for req in requests:
            self.messages.insert(calls, req)
            self._tracking.index_recipients(calls, req)  # address -> messages, for erasure (tracking helper)
        self.events.add_writes(calls, stamped)
        self._count_usage(calls, requests, day, 1)
        yield calls.step("accepting messages")
        return stamped

    def _claim_plan_of(self, requests: Sequence[AcceptedRequest], stamped: list[StoredEvent],
                       day: str) -> Plan[list[AcceptResult]]:
        """The second half: claim the send_ids, take back what lost its race."""
        won = yield from self._claim_plan(requests)
        lost = [r for r in requests if r.request_id not in won]
        if lost:
            yield self._take_back_step(lost, stamped, day)
        return [AcceptResult(r.request_id, r.request_id in won) for r in requests]

    def _count_usage(self, calls: CallList, requests: Sequence[AcceptedRequest], day: str, sign: int) -> None:
        counts: dict[str, int] = {}
        for req in requests:
            counts[req.tenant_id] = counts.get(req.tenant_id, 0) + len(req.messages)
        for tenant_id, count in counts.items():
            calls.add(self.sql["usage_add"], (sign * count, tenant_id, day))

    def _claim_plan(self, requests: Sequence[AcceptedRequest]) -> Plan[set[str]]:
        claiming = [r for r in requests if r.send_id]
        results = yield Batch("claiming send_ids", [
            (self.sql["idem_claim"], (r.tenant_id, r.send_id, r.request_id, r.body_hash, r.response,
                                      r.created + IDEMPOTENCY_SECONDS))
            for r in claiming
        ])
        won = {r.request_id for r in requests if not r.send_id}
        for req, rows in zip(claiming, results):
            found = rows[0]
            # A claim that reports our own request id was applied by an earlier try of this statement.
            if found["[applied]"] or found["request_id"] == req.request_id or (yield from self._take_over(req, found)):
                won.add(req.request_id)
        return won

    def _take_over(self, req: AcceptedRequest, found: Row) -> Plan[bool]:
        """Reuse a send_id whose 24 h have passed but whose row has not expired yet."""
        if found["expires"] is None or found["expires"] > req.created:
            return False
        [rows] = yield Batch("claiming an expired send_id", [(self.sql["idem_take_over"], (
            req.request_id, req.body_hash, req.response, req.created + IDEMPOTENCY_SECONDS,
            req.tenant_id, req.send_id, found["request_id"],
        ))])
        return bool(rows and rows[0]["[applied]"])

    def _take_back_step(self, lost: Sequence[AcceptedRequest], stamped: list[StoredEvent], day: str) -> Batch:
        """Remove what requests that lost their send_id race wrote, and uncount them."""
        calls = CallList(self.run)
        lost_messages: set[str] = set()
        for req in lost:
            self.messages.remove(calls, req)
            lost_messages.update(m.message_id for m in req.messages)
        calls.extend(self.events.deletes([s for s in stamped if s.event.message_id in lost_messages]))
        self._count_usage(calls, lost, day, -1)
        return calls.step("withdrawing requests that lost their send_id")

    # messages

    def get_message(self, message_id: str) -> MessageRecord | None:
        """One message, any tenant (callers check the tenant)."""
        row = self.messages.read([message_id]).get(message_id)
        return message_record(row) if row else None

    def get_messages(self, message_ids: Sequence[str]) -> list[MessageRecord]:
        """Several messages at once (missing ids are left out), in the order asked."""
        return run_plan(self.run, self._messages_plan(message_ids))

    def _messages_plan(self, message_ids: Sequence[str]) -> Plan[list[MessageRecord]]:
        rows = yield from self.messages.read_plan(message_ids)
        return [message_record(rows[m]) for m in dict.fromkeys(message_ids) if m in rows]

    def get_payload(self, request_id: str) -> bytes | None:
        """The serialized SendRequest of a request."""
        return run_plan(self.run, self.messages.payload_plan(request_id))

    def get_attempts(self, message_id: str) -> list[Attempt]:
        """Delivery attempts, oldest first."""
        rows = self.run.rows("reading attempts", self.sql["attempts_get"], (message_id,))
        return [Attempt(r["message_id"], r["time"], r["mx_host"], r["smtp_code"], r["smtp_reply"], r["outcome"])
                for r in rows]

    def record_outcomes(self, outcomes: Sequence[Outcome]) -> None:
        """Apply delivery results (see :meth:`_outcomes_plan`)."""
        run_plan(self.run, self._outcomes_plan(outcomes))

    def _outcomes_plan(self, outcomes: Sequence[Outcome]) -> Plan[None]:
        """Apply delivery results: attempts, suppressions and events first, then the states.

        The new state is written last, so a reader that sees it (GetStatus) also sees the
        attempt and the events that led to it.
        """
        if not outcomes:
            return
        known = {o.message_id: previous_row(o.previous) for o in outcomes
                 if o.previous is not None and o.previous.state != "scheduled"}
        olds = yield from self.messages.read_plan(o.message_id for o in outcomes if o.message_id not in known)
        olds.update(known)
        history, states = CallList(self.run), CallList(self.run)
        events: list[EventRecord] = []
        for o in outcomes:
            now = o.attempt.time if o.attempt else (o.events[0].time if o.events else 0.0)
            if o.attempt and not o.attempt_elsewhere:  # in one batch with the message's events (CallList.join)
                a = o.attempt
                history.join(a.message_id, self.sql["attempt_insert"], (a.message_id, a.time, a.mx_host, a.smtp_code,
                                                                        a.smtp_reply, a.outcome))
            events.extend(o.events)
            old = olds.get(o.message_id)
            if old is not None:  # an update of a missing row would create a partial one
                count = (old["attempt_count"] or 0) + (1 if o.attempt else 0)
                states.join(o.message_id, self.sql["message_update"], (o.state, now, count, o.message_id))
                self.messages.move(states, old, o.state)
        stamped = yield from self._events_plan(history, events)
        first_event: dict[str, StoredEvent] = {}
        for s in stamped:
            first_event.setdefault(s.event.message_id, s)
        for o in outcomes:
            if o.suppress:  # the outcome's first event caused it (a bounce)
                cause = first_event.get(o.message_id)
                self.suppressions.write(history, Suppression(
                    o.tenant_id, o.suppress[0], o.suppress[1], None, source=cause.event.type if cause else "bounced",
                    source_event_id=str(cause.id) if cause else "", message_id=o.message_id,
                ), cause.event.time if cause else time.time())
        yield history.step("recording delivery attempts")
        yield states.step("recording delivery outcomes")

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
        if scheduled:
            self.messages.index_ahead(scheduled, state)
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
        """A tenant's events with id > after_id, oldest first (up to the events stream's
        watermark when the stream feeds the store: nothing a cursor passes is still to come)."""
        return run_plan(self.run, self._list_plan(tenant_id, after_id, types, message_id, limit))

    def _list_plan(self, tenant_id: str, after_id: int, types: Sequence[str], message_id: str,
                   limit: int) -> Plan[list[EventRecord]]:
        ceiling = MAX_EVENT_ID
        if self.streamed_events and not message_id:
            [rows] = yield Batch("reading the events watermark", [(self.sql["events_watermark_get"], ())])
            ceiling = int(rows[0]["id"] or 0) if rows else 0
        return (yield from self.events.read_plan(tenant_id, after_id, types, message_id, limit, ceiling))

    # the events stream's feed (queue/nats_events.py: one store writer, in stream order)

    def event_watermark(self) -> tuple[int, int]:
        """(stream sequence, event id) of the last event the store writer stored; (0, 0) at first."""
        row = self.run.one("reading the events watermark", self.sql["events_watermark_get"])
        return (int(row["seq"] or 0), int(row["id"] or 0)) if row else (0, 0)

    def store_stream_events(self, events: Sequence[EventRecord], seq: int, last_id: int,
                            attempts: Sequence[Attempt] = ()) -> None:
        """Write events with the ids the writer gave them, and the attempts they carry (a
        repeat writes the same rows), then move the watermark to (seq, last_id)."""
        stamped = [StoredEvent(e, e.id, *event_partition(e.id)) for e in events]
        run_plan(self.run, self._stored_events_plan(stamped, attempts))
        self.set_event_watermark(seq, last_id)

    def _stored_events_plan(self, stamped: Sequence[StoredEvent], attempts: Sequence[Attempt]) -> Plan[None]:
        yield from self.events.mark_plan(stamped)
        calls = CallList(self.run)
        for a in attempts:  # in one batch with the message's events (CallList.join)
            calls.join(a.message_id, self.sql["attempt_insert"], (a.message_id, a.time, a.mx_host, a.smtp_code,
                                                                   a.smtp_reply, a.outcome))
        self.events.add_writes(calls, stamped)
        yield calls.step("storing streamed events")

    def set_event_watermark(self, seq: int, last_id: int) -> None:
        """Record the store writer's position."""
        self.run.one("moving the events watermark", self.sql["events_watermark_set"], (seq, last_id, time.time()))

    def _write_events(self, calls: CallList, events: Sequence[EventRecord]) -> None:
        """Add the writes of these events to ``calls`` (their bucket markers are written now)."""
        run_plan(self.run, self._events_plan(calls, events))

    def _events_plan(self, calls: CallList, events: Sequence[EventRecord]) -> Plan[list[StoredEvent]]:
        stamped = self.events.stamp(events)
        yield from self.events.mark_plan(stamped)
        self.events.add_writes(calls, stamped)
        return stamped

    # the asyncio face (AsyncStore): the plans above, run on the event loop

    async def accept_async(self, requests: Sequence[AcceptedRequest], events: Sequence[EventRecord],
                           day: str) -> list[AcceptResult]:
        """:meth:`accept` without blocking the event loop; several may overlap.

        Their writes do not: event ids must land in the order they were given, or a reader
        whose cursor passed a later id could skip an earlier event still in flight. So the
        stamping and the writes run one commit at a time; the look-ups before and the
        send_id claims after (lightweight transactions, the slowest step) overlap.
        """
        if not requests:
            return []
        async with self._write_order():
            stamped = await run_plan_async(self.arun, self._write_plan(requests, events, day))
        return await run_plan_async(self.arun, self._claim_plan_of(requests, stamped, day))

    def _write_order(self) -> asyncio.Lock:
        """The running loop's lock on accept's writes (a lock belongs to one loop)."""
        loop = asyncio.get_running_loop()
        lock = self._write_locks.get(loop)
        if lock is None:
            lock = self._write_locks[loop] = asyncio.Lock()
        return lock

    async def get_idempotency_async(self, tenant_id: str, send_id: str, now: float) -> IdempotencyHit | None:
        """:meth:`get_idempotency` without blocking the event loop."""
        return await run_plan_async(self.arun, self._idempotency_plan(tenant_id, send_id, now))

    async def suppressed_async(self, tenant_id: str, addresses: Sequence[str], now: float) -> dict[str, str]:
        """:meth:`suppressed` without blocking the event loop."""
        return await run_plan_async(self.arun, self._suppressed_plan(tenant_id, addresses, now))

    async def get_messages_async(self, message_ids: Sequence[str]) -> list[MessageRecord]:
        """:meth:`get_messages` without blocking the event loop."""
        return await run_plan_async(self.arun, self._messages_plan(message_ids))

    async def get_payload_async(self, request_id: str) -> bytes | None:
        """:meth:`get_payload` without blocking the event loop."""
        return await run_plan_async(self.arun, self.messages.payload_plan(request_id))

    async def record_outcomes_async(self, outcomes: Sequence[Outcome]) -> None:
        """:meth:`record_outcomes` without blocking the event loop."""
        await run_plan_async(self.arun, self._outcomes_plan(outcomes))

    async def list_events_async(self, tenant_id: str, after_id: int, types: Sequence[str], message_id: str,
                                limit: int) -> list[EventRecord]:
        """:meth:`list_events` without blocking the event loop."""
        return await run_plan_async(self.arun, self._list_plan(tenant_id, after_id, types, message_id, limit))

    # --- deliverability: sending domains, DKIM selectors, feedback (owner: deliverability helper) ---
    # The CQL of this block lives in store/cql_deliverability.py.

    @functools.cached_property
    def _deliverability(self) -> DeliverabilityTables:
        return DeliverabilityTables(self.session, self.keyspace, self.run)

    def create_domain(self, domain: SendingDomain, selectors: Sequence[DkimSelectorRecord]) -> None:
        """Register a sending domain with its first selectors; AlreadyExistsError if any tenant has it."""
        self._deliverability.create_domain(domain, selectors)

    def get_domain(self, domain: str) -> SendingDomain | None:
        """One sending domain, or None."""
        return self._deliverability.get_domain(domain)

    def list_domains(self, tenant_id: str) -> list[SendingDomain]:
        """A tenant's sending domains ("" = every tenant's)."""
        return self._deliverability.list_domains(tenant_id)

    def update_domain(self, domain: SendingDomain) -> None:
        """Replace a registered domain's row."""
        self._deliverability.update_domain(domain)

    def list_selectors(self, domain: str) -> list[DkimSelectorRecord]:
        """Every DKIM selector of a domain, oldest first."""
        return self._deliverability.list_selectors(domain)

    def put_selectors(self, selectors: Sequence[DkimSelectorRecord]) -> None:
        """Insert or replace selectors."""
        self._deliverability.put_selectors(selectors)

    def record_feedback(self, events: Sequence[EventRecord], suppressions: Sequence[Suppression]) -> None:
        """Append feedback events and suppressions (written concurrently; each is idempotent)."""
        if not events and not suppressions:
            return
        calls = CallList(self.run)
        self._write_events(calls, events)
        now = time.time()
        for s in suppressions:
            self.suppressions.write(calls, s, now)  # with its source (why), storage's format
        calls.run("writing feedback events and suppressions")

    def keep_feedback_report(self, report: FeedbackReport) -> None:
        """Keep an unusable feedback report for inspection."""
        self._deliverability.keep_report(report)

    def list_feedback_reports(self, limit: int) -> list[FeedbackReport]:
        """Kept reports, newest first."""
        return self._deliverability.list_reports(limit)

    # --- suppression management (owner: storage helper) ---
    # The CQL of this block lives in store/cql_suppressions.py.

    def put_suppressions(self, entries: Sequence[Suppression]) -> None:
        """Insert or replace suppressions, with why (written concurrently)."""
        self.suppressions.put(entries, time.time())

    def get_suppression(self, tenant_id: str, address: str, now: float) -> Suppression | None:
        """An address's live suppression, with why."""
        return self.suppressions.get(tenant_id, address, now)

    def list_suppressions(self, tenant_id: str, page_token: str, limit: int,
                          now: float) -> tuple[list[Suppression], str]:
        """A page of live suppressions (shard by shard, address order within), and the next token."""
        return self.suppressions.page(tenant_id, page_token, limit, now)

    def remove_suppression(self, tenant_id: str, address: str) -> bool:
        """Lift a suppression; False if there was none."""
        return self.suppressions.remove(tenant_id, address)

    def count_soft_bounce(self, tenant_id: str, address: str, event_id: str, now: float, window: float) -> int:
        """Record a soft bounce; the count in the window, this one included."""
        return self.suppressions.count_soft_bounce(tenant_id, address, event_id, now, window)

    def clear_soft_bounces(self, tenant_id: str, address: str) -> None:
        """Forget an address's soft bounces."""
        self.suppressions.clear_soft_bounces(tenant_id, address)

    # --- tracking: engagement events, webhooks, stats, erasure (owner: tracking helper) ---
    # The CQL of this block lives in store/cql_tracking.py.

    @functools.cached_property
    def _tracking(self) -> TrackingTables:
        return TrackingTables(self.session, self.keyspace, self.run, self._write_events)

    def record_engagement(self, events: Sequence[EventRecord], suppressions: Sequence[tuple[str, str, str]]) -> None:
        """Tracker events and suppressions (suppressions written first)."""
        self._tracking.record_engagement(events, suppressions)

    def create_webhook(self, endpoint: WebhookEndpoint) -> None:
        """Store a new webhook endpoint."""
        self._tracking.create_webhook(endpoint)

    def get_webhook(self, endpoint_id: str) -> WebhookEndpoint | None:
        """One endpoint, or None."""
        return self._tracking.get_webhook(endpoint_id)

    def list_webhooks(self, tenant_id: str) -> list[WebhookEndpoint]:
        """A tenant's endpoints ("" = all), oldest first."""
        return self._tracking.list_webhooks(tenant_id)

    def delete_webhook(self, tenant_id: str, endpoint_id: str) -> bool:
        """Delete a tenant's endpoint."""
        return self._tracking.delete_webhook(tenant_id, endpoint_id)

    def set_webhook_settings(self, endpoint: WebhookEndpoint) -> None:
        """Write url, event types and secrets."""
        self._tracking.set_webhook_settings(endpoint)

    def set_webhook_progress(self, endpoint_id: str, state: str, cursor: int, failing_since: float,
                             detail: str) -> None:
        """Write delivery progress."""
        self._tracking.set_webhook_progress(endpoint_id, state, cursor, failing_since, detail)

    def set_webhook_pending(self, endpoint_id: str, pending: int) -> None:
        """Write the batch in flight."""
        self._tracking.set_webhook_pending(endpoint_id, pending)

    def events_since(self, tenant_id: str, since: float, after_id: int, limit: int) -> list[EventRecord]:
        """Events after after_id from time ``since`` on (an empty page is the end): event ids are
        time-ordered, so the scan starts at the first id of ``since``; an event stamped later than
        its own time is filtered here."""
        cursor = max(after_id, event_id_at(since) - 1)
        while True:
            page = self.list_events(tenant_id, cursor, (), "", limit)
            kept = [e for e in page if e.time >= since]
            if kept or len(page) < limit:
                return kept
            cursor = page[-1].id

    def erase_recipient(self, tenant_id: str, address: str, replacement: str) -> int:
        """Remove an address's personal data, keep its suppressions under ``replacement``."""
        return self._tracking.erase_recipient(tenant_id, address, replacement)

    def backfill_recipient_index(self) -> int:
        """Erasure's lookup rows for messages accepted before CQL migration 21 (``postwave
        erasure-index``; not in the Store protocol: the embedded index builds itself)."""
        return self._tracking.backfill_recipient_index()

    # --- shaping: IP warm-up counts shared by every worker (owner: shaping helper) ---
    # The CQL of this block lives in store/cql_shaping.py.

    @functools.cached_property
    def _shaping(self) -> ShapingTables:
        return ShapingTables(self.session, self.keyspace, self.run)

    def reserve_ip_sends(self, ip: str, hour: int, want: int, hourly_cap: int, daily_cap: int) -> int:
        """Count up to ``want`` sends of ``ip`` under its hourly and daily caps (compare-and-set)."""
        return self._shaping.reserve(ip, hour, want, hourly_cap, daily_cap)

    def ip_sends(self, ip: str, hour: int) -> tuple[int, int]:
        """(hour's, day's) counted sends of ``ip``."""
        in_hour, in_day = self._shaping.ip_sends(ip, hour)
        return in_hour or 0, in_day or 0

    def ip_warmup_start(self, ip: str, now: float) -> float:
        """When ``ip`` began warming up (claimed by the first caller)."""
        return self._shaping.warmup_start(ip, now)

    # --- reputation (owner: reputation helper) ---
    # The CQL of this block lives in store/cql_reputation.py.

    @functools.cached_property
    def _reputation(self) -> ReputationTables:
        return ReputationTables(self.session, self.keyspace, self.run)

    def load_reputation(self, ips: Sequence[str], now: float) -> list[LaneReputation]:
        """Live (source IP, site) lanes of ``ips``."""
        return self._reputation.load(ips, now)

    def merge_reputation(self, changes: Sequence[ReputationChange], now: float) -> list[LaneReputation]:
        """Merge workers' lane changes (a compare-and-set per lane); the merged rows."""
        return [self._reputation.merge(change, now) for change in changes]

    # --- breakers: tenant circuit breakers (owner: reputation helper) ---
    # The CQL of this block lives in store/cql_breakers.py.

    @functools.cached_property
    def _breakers(self) -> BreakerTables:
        return BreakerTables(self.session, self.keyspace, self.run)

    def add_breaker_samples(self, samples: Sequence[BreakerSample]) -> None:
        """Append counted outcomes."""
        if samples:
            self._breakers.add_samples(samples)

    def breaker_totals(self, tenant_id: str, stream: str, since: float, until: float) -> BreakerTotals:
        """Summed samples of a window."""
        return self._breakers.totals(tenant_id, stream, since, until)

    def get_breaker(self, tenant_id: str) -> BreakerState | None:
        """A tenant's breaker state, or None."""
        return self._breakers.get(tenant_id)

    def set_breaker(self, state: BreakerState, expected_version: int, audit: BreakerAudit,
                    events: Sequence[EventRecord]) -> bool:
        """Compare-and-set the state (LWT); then its audit record and events."""
        if not self._breakers.set(state, expected_version):
            return False
        calls = CallList(self.run)
        self._breakers.audit_calls(calls, audit)
        self._write_events(calls, events)
        calls.run("recording a circuit breaker transition")
        return True

    def breaker_history(self, tenant_id: str, limit: int) -> list[BreakerAudit]:
        """Audit records, newest first."""
        return self._breakers.history(tenant_id, limit)

    # --- batched reads for the worker (owner: CQL performance helper) ---
    # The CQL of this block lives in store/cql_messages.py.

    def get_payloads(self, request_ids: Sequence[str]) -> dict[str, bytes]:
        """Payloads of several requests by id, a multi-partition read per group of them."""
        return run_plan(self.run, self.messages.payloads_plan(request_ids))

    async def get_payloads_async(self, request_ids: Sequence[str]) -> dict[str, bytes]:
        """:meth:`get_payloads` without blocking the event loop."""
        return await run_plan_async(self.arun, self.messages.payloads_plan(request_ids))


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
