"""Scheduled sends in CQL: minute buckets released from a watermark.

``scheduled`` is partitioned by (minute of send_at, shard): a burst scheduled for 09:00
spreads over 8 partitions, and no partition outlives its minute. The scheduler keeps a
watermark, the oldest minute that may still hold due messages; each pass reads only the
buckets from the watermark to now, and moves the watermark past buckets it found empty.

The watermark never passes the minute before the current one: acceptance schedules only
send times more than a second ahead, so with clocks within a minute of each other no
process adds a row to a bucket the watermark has left behind.
"""

from __future__ import annotations

from postwave.store.base import EventRecord, MessageRecord
from postwave.store.cql_keys import SCHEDULE_SHARDS, schedule_bucket
from postwave.store.cql_messages import Messages, Row, message_record
from postwave.store.cql_session import CallList, Runner
from postwave.store.cql_statements import Statements

MAX_BUCKETS_PER_PASS = 120  # a scheduler that was down for hours catches up over several passes


class Schedule:
    """Release and cancellation of scheduled messages."""

    def __init__(self, runner: Runner, statements: Statements, messages: Messages) -> None:
        self.run = runner
        self.sql = statements
        self.messages = messages

    def due(self, now: float, limit: int) -> list[MessageRecord]:
        """Scheduled messages whose send_at has come, soonest first."""
        entries = self._due_entries(now, limit)
        rows = self.messages.read(message_id for _, message_id in entries)
        calls = CallList(self.run)
        due: list[MessageRecord] = []
        for send_at, message_id in entries:
            row = rows.get(message_id)
            if row is not None and row["state"] == "scheduled":
                due.append(message_record(row))
            elif row is None and now - _made_at(message_id) < UNSEEN_GRACE:
                # The acceptance writes the message row and this index row at once, and this
                # one can land first: keep it, the next pass finds the message.
                continue
            else:  # released or cancelled, but the index row outlived that: drop it now
                self.messages.forget_schedule(calls, message_id, send_at)
        calls.run("cleaning the schedule")
        return due

    def _due_entries(self, now: float, limit: int) -> list[tuple[float, str]]:
        row = self.run.one("reading the schedule watermark", self.sql["watermark_get"])
        last = schedule_bucket(now)
        mark = row["bucket"] if row else last - 1
        bucket, new_mark = mark, mark
        entries: list[tuple[float, str]] = []
        while bucket <= last and len(entries) < limit and bucket - mark < MAX_BUCKETS_PER_PASS:
            found = self._bucket(bucket, now, limit)
            if not found and bucket == new_mark and bucket < last - 1:
                new_mark = bucket + 1
            entries.extend(found)
            bucket += 1
        if new_mark > mark:
            self.run.all("moving the schedule watermark", [(self.sql["watermark_set"], (new_mark,))])
        return sorted(entries)[:limit]

    def _bucket(self, bucket: int, now: float, limit: int) -> list[tuple[float, str]]:
        rows = self.run.rows("reading due messages", self.sql["scheduled_due"],
                             (bucket, list(range(SCHEDULE_SHARDS)), now, limit))
        return [(r["send_at"], r["message_id"]) for r in rows]

    def cancel(self, tenant_id: str, send_id: str, batch_id: str, now: float) -> tuple[list[Row], list[EventRecord]]:
        """Cancel a tenant's scheduled messages by send_id or batch_id: (rows cancelled, their events)."""
        kind, ref = ("send", send_id) if send_id else ("batch", batch_id)
        ids = [r["message_id"] for r in self.run.rows("reading scheduled references", self.sql["ref_get"],
                                                       (tenant_id, kind, ref))]
        olds = [r for r in self.messages.read(ids).values() if r["tenant_id"] == tenant_id and r["state"] == "scheduled"]
        moved = self.messages.leave_scheduled(olds, "cancelled", now) if olds else set()
        cancelled = [r for r in olds if r["message_id"] in moved]
        calls = CallList(self.run)
        for old in cancelled:
            self.messages.move(calls, old, "cancelled")
        calls.run("cancelling scheduled messages")
        events = [
            EventRecord(tenant_id, r["message_id"], "cancelled", now, "cancelled by request", r["recipient"],
                        r["send_id"] or "", r["batch_id"] or "", "")
            for r in cancelled
        ]
        return cancelled, events


UNSEEN_GRACE = 300.0  # seconds an index row may wait for its message row to become readable


def _made_at(message_id: str) -> float:
    """When a message id was made (its first 11 hex digits are Unix milliseconds); 0 if not one of ours."""
    try:
        return int(message_id[:11], 16) / 1000
    except ValueError:
        return 0.0
