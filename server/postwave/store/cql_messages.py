"""Messages in CQL: the rows, their payloads, and the indexes that follow their state.

A message row is keyed by its id alone (random, so rows spread evenly). Two indexes follow
the state and must change with it, which is why every state change here reads the row
first:

- ``messages_by_state`` holds messages in a non-final state (accepted, scheduled,
  deferred), in 16 shards per state, ordered by message id, for the start-up sweep;
- ``scheduled`` and ``scheduled_by_ref`` hold scheduled messages by due minute and by
  send_id / batch_id, for the release and for cancellation.

Leaving ``scheduled`` is a lightweight transaction (``IF state = 'scheduled'``): a release
and a cancellation racing for one message cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from postwave.store import payloads
from postwave.store.base import AcceptedRequest, MessageRecord
from postwave.store.cql_keys import (
    OPEN_STATES,
    SCHEDULE_SHARDS,
    STATE_SHARDS,
    schedule_bucket,
    shard,
)
from postwave.store.cql_prepared import PreparedCache
from postwave.store.cql_session import Batch, CallList, Plan, Runner, in_reads, run_plan
from postwave.store.cql_statements import _MESSAGE_COLUMNS, Statements

PAYLOAD_CHUNK = 1 << 20  # bytes per row of `requests`: 25 MB requests stay far below mutation limits
READ_GROUP = 64  # message ids per multi-partition read

# Reads of many partitions in one statement: for the client about a tenth of the CPU of a
# statement per partition (benchmarks/bench_cql.py --cpu), and one request for the node.
READS: dict[str, tuple[str, bool]] = {
    "messages_get": (f"SELECT {_MESSAGE_COLUMNS} FROM {{ks}}.messages WHERE message_id IN ?", True),
    "requests_get": ("SELECT request_id, chunk, chunks, data FROM {ks}.requests WHERE request_id IN ?", True),
}
PAYLOAD_READ_GROUP = 32  # request ids per multi-partition read of payloads
PAYLOAD_PAGE_ROWS = 16  # payload chunks per page of such a read: at most 16 MB a response

Row = dict[str, Any]


def message_record(row: Row) -> MessageRecord:
    """A MessageRecord from a ``messages`` row."""
    return MessageRecord(
        row["message_id"], row["tenant_id"], row["request_id"], row["idx"], row["recipient"], row["state"],
        row["lane"], row["send_id"] or "", row["batch_id"] or "", row["created"], row["updated"], row["expires"],
        row["attempt_count"] or 0,
    )


def previous_row(msg: MessageRecord) -> Row:
    """The fields of a ``messages`` row an outcome's index moves need, from the record the
    worker read (not for a ``scheduled`` message: that needs ``send_at``, so read the row)."""
    return {"message_id": msg.message_id, "tenant_id": msg.tenant_id, "state": msg.state,
            "attempt_count": msg.attempt_count, "send_id": msg.send_id, "batch_id": msg.batch_id, "send_at": None}


def _assemble(rows: list[Row], request_id: str) -> bytes | None:
    """A payload from the rows of its chunks; None if there are none, some are missing, or
    its compressed form is damaged (payloads.unpack)."""
    if not rows or rows[0]["chunks"] != len(rows):
        return None
    return payloads.unpack(b"".join(r["data"] or b"" for r in sorted(rows, key=lambda r: r["chunk"])),
                           request_id)


def chunked(payload: bytes) -> list[bytes]:
    """The stored form of a payload (payloads.pack) cut into the rows of ``requests``."""
    stored = payloads.pack(payload)
    return [stored[i:i + PAYLOAD_CHUNK] for i in range(0, len(stored), PAYLOAD_CHUNK)]


class Messages:
    """Message rows and their indexes."""

    def __init__(self, runner: Runner, statements: Statements) -> None:
        self.run = runner
        self.sql = statements
        self.reads = PreparedCache(statements.session, statements.keyspace, READS)
        self.reads.prepare_all()

    # reading

    def read(self, message_ids: Iterable[str]) -> dict[str, Row]:
        """Rows of the messages that exist, by id (see :meth:`read_plan`)."""
        return run_plan(self.run, self.read_plan(message_ids))

    def read_plan(self, message_ids: Iterable[str]) -> Plan[dict[str, Row]]:
        """Rows of the messages that exist, by id (a row whose cells partly expired is left out)."""
        ids = list(dict.fromkeys(message_ids))
        if not ids:
            return {}
        results = yield Batch("reading messages", in_reads(self.run.session, self.sql.keyspace,
                                                           self.reads["messages_get"], ids, READ_GROUP))
        return {r["message_id"]: r for rows in results for r in rows if r["recipient"] is not None}

    def payload_plan(self, request_id: str) -> Plan[bytes | None]:
        """The request payload, reassembled from its chunks; None if missing or incomplete."""
        [rows] = yield Batch("reading a request", [(self.sql["request_get"], (request_id,))])
        return _assemble(rows, request_id)

    def payloads_plan(self, request_ids: Iterable[str]) -> Plan[dict[str, bytes]]:
        """Payloads of several requests by id (missing or incomplete ones left out)."""
        ids = list(dict.fromkeys(request_ids))
        if not ids:
            return {}
        results = yield Batch("reading requests", in_reads(self.run.session, self.sql.keyspace,
                                                           self.reads["requests_get"], ids, PAYLOAD_READ_GROUP,
                                                           fetch_size=PAYLOAD_PAGE_ROWS))
        chunks: dict[str, list[Row]] = {}
        for rows in results:
            for r in rows:
                chunks.setdefault(r["request_id"], []).append(r)
        found = {request_id: _assemble(rows, request_id) for request_id, rows in chunks.items()}
        return {request_id: payload for request_id, payload in found.items() if payload is not None}

    def page_by_state(self, state: str, after_id: str, limit: int) -> list[str]:
        """Ids in the state index after ``after_id``, in id order (merged over the shards)."""
        results = self.run.all("listing messages by state", [
            (self.sql["state_page"], (state, s, after_id, limit)) for s in range(STATE_SHARDS)
        ])
        return sorted({r["message_id"] for rows in results for r in rows})[:limit]

    # writing

    def insert(self, calls: CallList, req: AcceptedRequest) -> None:
        """Add a new request: payload chunks, message rows, and their index rows."""
        chunks = chunked(req.payload)
        if len(chunks) == 1:  # may share a batch with other rows (CallList.join); large ones go alone
            calls.join(req.request_id, self.sql["request_chunk"], (req.request_id, 0, req.tenant_id, req.created, 1,
                                                                    chunks[0]))
        else:
            for number, data in enumerate(chunks):
                calls.add(self.sql["request_chunk"], (req.request_id, number, req.tenant_id, req.created,
                                                      len(chunks), data))
        for m in req.messages:  # in one batch with the message's first events (see CallList.join)
            calls.join(m.message_id, self.sql["message_insert"], (
                m.message_id, req.tenant_id, req.request_id, m.index, m.recipient, m.state, req.lane,
                req.send_id, req.batch_id, req.send_at, req.created, req.created, req.expires,
            ))
            self._enter(calls, m.message_id, req.tenant_id, m.state)
            if m.state == "scheduled":
                self._schedule(calls, m.message_id, req)

    def remove(self, calls: CallList, req: AcceptedRequest) -> None:
        """Take back what :meth:`insert` wrote (a request that lost its send_id race)."""
        calls.add(self.sql["request_delete"], (req.request_id,))
        for m in req.messages:
            calls.add(self.sql["message_delete"], (m.message_id,))
            self._leave(calls, {
                "message_id": m.message_id, "tenant_id": req.tenant_id, "state": m.state, "send_at": req.send_at,
                "send_id": req.send_id, "batch_id": req.batch_id,
            })

    def move(self, calls: CallList, old: Row, state: str) -> None:
        """Index changes of a message going from its current state to ``state``."""
        if old["state"] == state:
            return
        self._leave(calls, old)
        self._enter(calls, old["message_id"], old["tenant_id"], state)

    def index_ahead(self, olds: Sequence[Row], state: str) -> None:
        """Index messages under the state they are about to enter, before the change: a crash
        between the change and the rest of its index moves then leaves a message findable
        (the sweeper lists ``accepted`` by this index). An entry whose change does not happen
        is stale, and readers of the index check the message's real state."""
        calls = CallList(self.run)
        for old in olds:
            self._enter(calls, old["message_id"], old["tenant_id"], state)
        calls.run("indexing messages ahead of their state change")

    def leave_scheduled(self, olds: Sequence[Row], state: str, now: float) -> set[str]:
        """Move scheduled messages to ``state`` with a lightweight transaction each; the ids that moved."""
        results = self.run.all("changing scheduled messages", [
            (self.sql["message_leave_scheduled"], (state, now, old["message_id"])) for old in olds
        ])
        return {old["message_id"] for old, rows in zip(olds, results) if rows and rows[0]["[applied]"]}

    def forget_schedule(self, calls: CallList, message_id: str, send_at: float) -> None:
        """Remove a stale ``scheduled`` row (its message was released or cancelled)."""
        calls.add(self.sql["scheduled_remove"], (
            schedule_bucket(send_at), shard(message_id, SCHEDULE_SHARDS), send_at, message_id,
        ))

    def _enter(self, calls: CallList, message_id: str, tenant_id: str, state: str) -> None:
        if state in OPEN_STATES:
            part = shard(message_id, STATE_SHARDS)
            calls.group(self.sql["state_add"], (state, part), (state, part, message_id, tenant_id))

    def _leave(self, calls: CallList, old: Row) -> None:
        message_id = old["message_id"]
        if old["state"] in OPEN_STATES:
            part = shard(message_id, STATE_SHARDS)
            calls.group(self.sql["state_remove"], (old["state"], part), (old["state"], part, message_id))
        if old["state"] == "scheduled":
            self.forget_schedule(calls, message_id, old["send_at"])
            for kind, ref in (("send", old["send_id"]), ("batch", old["batch_id"])):
                if ref:
                    calls.add(self.sql["ref_remove"], (old["tenant_id"], kind, ref, message_id))

    def _schedule(self, calls: CallList, message_id: str, req: AcceptedRequest) -> None:
        bucket, part = schedule_bucket(req.send_at), shard(message_id, SCHEDULE_SHARDS)
        calls.group(self.sql["scheduled_add"], (bucket, part), (bucket, part, req.send_at, message_id, req.tenant_id))
        for kind, ref in (("send", req.send_id), ("batch", req.batch_id)):
            if ref:
                calls.group(self.sql["ref_add"], (req.tenant_id, kind, ref), (req.tenant_id, kind, ref, message_id))
