"""The scheduler: releases mail whose send_at has come, and sweeps after a crash.

Releasing writes the state change first and publishes second; a crash between the two
leaves messages in ``accepted`` without a queue item, which :func:`sweep` republishes at
start-up (publishing is idempotent per message id).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection

from postwave.errors import PostwaveError
from postwave.queue.base import LANES, Queue, QueueItem
from postwave.store.base import EventRecord, MessageRecord, Store
from postwave.v1 import send_pb2

log = logging.getLogger(__name__)

RELEASE_BATCH = 1000
SWEEP_GRACE = 60.0  # seconds: the sweeps leave younger messages alone (their acceptance may be under way)


class Scheduler:
    """Periodic release of due scheduled messages."""

    def __init__(self, *, store: Store, queue: Queue, interval: float) -> None:
        self.store = store
        self.queue = queue
        self.interval = interval
        self.released = 0

    async def run(self) -> None:
        """Release due messages every ``interval`` seconds, for ever."""
        failing = False
        while True:
            try:
                while await self.release_due() == RELEASE_BATCH:
                    pass
                if failing:
                    log.info("releasing scheduled messages works again")
                failing = False
            except PostwaveError as exc:
                # An outage fails every pass: say so once, not ten times a second.
                if not failing:
                    log.warning("releasing scheduled messages failed (%s); retrying every %gs", exc.message,
                                self.interval)
                failing = True
            except Exception:  # noqa: BLE001 - a bug: log it in full, the next pass tries again
                log.exception("releasing scheduled messages failed")
            await asyncio.sleep(self.interval)

    async def release_due(self) -> int:
        """Move one batch of due messages to their lanes; returns how many."""
        now = time.time()
        due = await asyncio.to_thread(self.store.due_scheduled, now, RELEASE_BATCH)
        if not due:
            return 0
        events = [
            EventRecord(m.tenant_id, m.message_id, "released", now, "send_at reached", m.recipient, m.send_id, m.batch_id)
            for m in due
        ]
        await asyncio.to_thread(self.store.set_state, [m.message_id for m in due], "accepted", events)
        await self.queue.publish([QueueItem(m.message_id, m.tenant_id, m.lane, now) for m in due])
        self.released += len(due)
        return len(due)


async def sweep(store: Store, queue: Queue, page: int = 5000, *, since: float = 0.0,
                until: float = float("inf"), lanes: Collection[str] = LANES) -> int:
    """Republish the messages in ``accepted`` (accepted between ``since`` and ``until``, Unix
    seconds; message ids are time-ordered, so the window is a range of ids); returns how
    many were republished."""
    after, seen = (_id_at(since) if since > 0 else ""), 0
    while True:
        batch = await asyncio.to_thread(store.messages_in_state, "accepted", after, page)
        inside = [m for m in batch if m.created <= until]
        keep = await asyncio.to_thread(_drop_superseded, store, [m for m in inside if m.lane in lanes])
        if keep:
            await queue.publish([QueueItem(m.message_id, m.tenant_id, m.lane, m.created) for m in keep])
            seen += len(keep)
        if len(inside) < len(batch) or not batch:
            return seen
        after = batch[-1].message_id


def _drop_superseded(store: Store, messages: list[MessageRecord]) -> list[MessageRecord]:
    """The messages to queue; cancels those whose request lost its send_id to another.

    Acceptance writes the messages, then claims the send_id. An API process killed in
    between leaves messages nobody was told about; the client, unanswered, sends again with
    the same send_id, and that second request's messages are the ones answered and sent.
    The first ones must not go out too: their send_id's record names other message ids."""
    now = time.time()
    answers: dict[tuple[str, str], set[str] | None] = {}
    keep: list[MessageRecord] = []
    superseded: list[MessageRecord] = []
    for m in messages:
        if not m.send_id:
            keep.append(m)
            continue
        key = (m.tenant_id, m.send_id)
        if key not in answers:
            hit = store.get_idempotency(m.tenant_id, m.send_id, now)
            answers[key] = None if hit is None else {
                x.message_id for x in send_pb2.SendResponse.FromString(hit.response).messages}
        ids = answers[key]
        (keep if ids is None or m.message_id in ids else superseded).append(m)
    if superseded:
        log.warning("cancelling %d messages whose request was superseded by a retry with the same send_id "
                    "(the API that stored them died before answering)", len(superseded))
        store.set_state([m.message_id for m in superseded], "cancelled", [
            EventRecord(m.tenant_id, m.message_id, "cancelled", now,
                        "superseded: a retry with the same send_id was accepted instead", m.recipient, m.send_id,
                        m.batch_id) for m in superseded])
    return keep


def _id_at(t: float) -> str:
    """The smallest message id made at or after ``t`` (see accept.new_message_id), minus one."""
    return f"{int(t * 1000):011x}"


async def sweep_forever(store: Store, queue: Queue, *, every: float = 60.0, grace: float = SWEEP_GRACE,
                        first: float | None = None) -> None:
    """Republish, ``first`` seconds after the start (default ``every``) and then every
    ``every`` seconds, the messages still in ``accepted`` (older than
    ``grace``) of each lane whose queue is empty: a message an API process stored and then
    died before publishing waits until its lane is idle, not until the next scheduler start
    (a client that retries with its send_id gets it republished at once, see accept.py).

    Only idle lanes: with a backlog, a message in ``accepted`` may be queued or being
    delivered, and after a NATS restart (which forgets the ids of consumed messages)
    republishing it could hand it to a second worker. An empty lane holds nothing, so
    whatever is still ``accepted`` there was never queued."""
    failing = False
    wait = every if first is None else first
    while True:
        await asyncio.sleep(wait)
        wait = every
        try:
            idle = {lane for lane in LANES if (await queue.stats(lane)).depth == 0}
            found = await sweep(store, queue, until=time.time() - grace, lanes=idle) if idle else 0
            if found:
                log.info("periodic sweep republished %d messages accepted but never queued", found)
            failing = False
        except Exception as exc:  # noqa: BLE001 - an outage: try again next round, say so once
            if not failing:
                log.warning("periodic sweep failed (%s); retrying every %gs", exc, every)
            failing = True
