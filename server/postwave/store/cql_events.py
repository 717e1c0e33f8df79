"""Events in CQL: time-partitioned per tenant, and by message for status look-ups.

``events_by_tenant`` is partitioned by (tenant, day, minute of the day), ordered by event id
inside; ``event_buckets`` lists a tenant's non-empty partitions, so a reader resuming from a
cursor finds the next partitions with one query instead of probing every minute. A bucket's
marker is written before the first event in it, so a reader never sees an event whose
partition it could not have found.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from typing import Any

from postwave.store.base import EventRecord
from postwave.store.cql_keys import (
    EVENT_BUCKET_SECONDS,
    SECONDS_PER_DAY,
    EventIds,
    event_id_at,
    event_partition,
)
from postwave.store.cql_session import Batch, Call, CallList, Page, Plan
from postwave.store.cql_statements import Statements

MAX_EVENT_ID = 2**63 - 1
MARK_CACHE = 100_000
BUCKET_PAGE = 200  # bucket markers per page: a cursor near now needs one or two


@dataclasses.dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event with the id and partition it is written under."""

    event: EventRecord
    id: int
    day: int
    bucket: int


def event_from_row(row: dict[str, Any]) -> EventRecord:
    """An EventRecord from a row of either events table."""
    return EventRecord(
        row["tenant_id"], row["message_id"], row["type"], row["time"], row["detail"] or "",
        row["recipient"] or "", row["send_id"] or "", row["batch_id"] or "", row["custom_args"] or "",
        id=row["id"],
    )


class EventLog:
    """Writes and reads events; ids come from :class:`EventIds`."""

    def __init__(self, statements: Statements, *, settle_seconds: float) -> None:
        self.sql = statements
        self.settle_seconds = settle_seconds
        self.ids = EventIds()
        self._marked: set[tuple[str, int, int]] = set()
        self._lock = threading.Lock()

    # writing

    def stamp(self, events: Sequence[EventRecord]) -> list[StoredEvent]:
        """Give each event its id, in the order given."""
        stamped = []
        for event in events:
            event_id = self.ids.next()
            day, bucket = event_partition(event_id)
            stamped.append(StoredEvent(event, event_id, day, bucket))
        return stamped

    def mark_plan(self, stamped: Sequence[StoredEvent]) -> Plan[None]:
        """Write the bucket markers these events need (each once per process)."""
        keys = {(s.event.tenant_id, s.day, s.bucket) for s in stamped}
        with self._lock:
            new = keys - self._marked
        if not new:
            return
        yield Batch("marking event buckets", [(self.sql["event_bucket_mark"], key) for key in new])
        with self._lock:
            if len(self._marked) > MARK_CACHE:
                self._marked.clear()
            self._marked |= new

    def add_writes(self, calls: CallList, stamped: Sequence[StoredEvent]) -> None:
        """Add the statements writing the events to both tables (run mark_plan first): by
        tenant, in one batch per minute partition; by message, joined with the other writes
        on the message's partition key (see CallList.join)."""
        by_tenant, by_message = self.sql["event_insert"], self.sql["event_by_message_insert"]
        for s in stamped:
            e = s.event
            fields = (e.type, e.time, e.detail, e.recipient, e.send_id, e.batch_id, e.custom_args)
            partition = (e.tenant_id, s.day, s.bucket)
            calls.group(by_tenant, partition, (*partition, s.id, e.message_id, *fields))
            if e.message_id:  # a tenant-level event (breaker.*, webhook.disabled) has no message to index by
                calls.join(e.message_id, by_message, (e.message_id, s.id, e.tenant_id, *fields))

    def deletes(self, stamped: Sequence[StoredEvent]) -> list[Call]:
        """Statements removing these events again (a request that lost its send_id race)."""
        calls: list[Call] = [
            (self.sql["event_delete"], (s.event.tenant_id, s.day, s.bucket, s.id, s.event.message_id))
            for s in stamped
        ]
        for message_id in {s.event.message_id for s in stamped}:
            calls.append((self.sql["events_of_message_delete"], (message_id,)))
        return calls

    # reading

    def read_plan(self, tenant_id: str, after_id: int, types: Sequence[str], message_id: str,
                  limit: int, ceiling: int = MAX_EVENT_ID) -> Plan[list[EventRecord]]:
        """A tenant's events with after_id < id <= ceiling, oldest first, optionally of one
        message or some types (``ceiling``: the events stream's watermark, when it feeds the store)."""
        wanted = frozenset(types)
        if message_id:
            [rows] = yield Batch("reading a message's events", [(self.sql["events_of_message"], (message_id, after_id))])
            events = [event_from_row(r) for r in rows]
            return [e for e in events if e.tenant_id == tenant_id and (not wanted or e.type in wanted)][:limit]
        upper = event_id_at(time.time() - self.settle_seconds) if self.settle_seconds > 0 else MAX_EVENT_ID
        upper = min(upper, ceiling)
        found: list[EventRecord] = []
        day, bucket = event_partition(after_id)
        state: bytes | None = None
        while True:  # the tenant's non-empty minutes from the cursor's on, a page at a time
            buckets, state = yield Page("listing event buckets", self.sql["event_buckets_from"],
                                        (tenant_id, day, bucket), BUCKET_PAGE, state)
            for b in buckets:
                if event_id_at(b["day"] * SECONDS_PER_DAY + b["bucket"] * EVENT_BUCKET_SECONDS) > upper:
                    return found
                if (yield from self._bucket_plan(tenant_id, b, after_id, upper, wanted, limit, found)):
                    return found
            if state is None:
                return found

    def _bucket_plan(self, tenant_id: str, b: dict[str, Any], after_id: int, upper: int, wanted: frozenset[str],
                     limit: int, found: list[EventRecord]) -> Plan[bool]:
        """Add one minute's events to ``found``, page by page; True once ``limit`` is reached."""
        state: bytes | None = None
        while True:
            rows, state = yield Page("reading events", self.sql["events_in_bucket"],
                                     (tenant_id, b["day"], b["bucket"], after_id, upper), max(limit, 100), state)
            for row in rows:
                event = event_from_row(row)
                if not wanted or event.type in wanted:
                    found.append(event)
                    if len(found) >= limit:
                        return True
            if state is None:
                return False
