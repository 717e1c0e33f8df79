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
from postwave.store.base import EventRecord, IdempotencyHit, MessageRecord, Store, as_async
from postwave.v1 import send_pb2

log = logging.getLogger(__name__)

RELEASE_BATCH = 1000
LOOKUPS_IN_FLIGHT = 256  # send_id look-ups of a release or sweep page sent at once
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
        """Move one batch of due messages to their lanes; returns how many were looked at
        (a full batch means more may be due now)."""
        now = time.time()
        due = await asyncio.to_thread(self.store.due_scheduled, now, RELEASE_BATCH)
        if not due:
            return 0
        # A request whose API died between storing it and claiming its send_id has messages
        # nobody was told about: released now, they would go out beside the retry's own.
        # They wait until the client's time to retry has passed (SWEEP_GRACE after their
        # acceptance), and are cancelled once a retry names other messages.
        ready = await _drop_superseded(self.store, due, hold_unclaimed_after=now - SWEEP_GRACE)
        if ready:
            events = [EventRecord(m.tenant_id, m.message_id, "released", now, "send_at reached", m.recipient,
                                  m.send_id, m.batch_id) for m in ready]
            await asyncio.to_thread(self.store.set_state, [m.message_id for m in ready], "accepted", events)
            await self.queue.publish([QueueItem(m.message_id, m.tenant_id, m.lane, now) for m in ready])
            self.released += len(ready)
        # Held messages stay due: counting them would repeat the same batch at once.
        return len(due) if len(ready) == len(due) else len(ready)


async def sweep(store: Store, queue: Queue, page: int = 5000, *, since: float = 0.0,
                until: float = float("inf"), lanes: Collection[str] = LANES) -> int:
    """Republish the messages in ``accepted`` (accepted between ``since`` and ``until``, Unix
    seconds; message ids are time-ordered, so the window is a range of ids); returns how
    many were republished."""
    after, seen = (_id_at(since) if since > 0 else ""), 0
    while True:
        batch = await asyncio.to_thread(store.messages_in_state, "accepted", after, page)
        inside = [m for m in batch if m.created <= until]
        keep = await _drop_superseded(store, [m for m in inside if m.lane in lanes])
        if keep:
            await queue.publish([QueueItem(m.message_id, m.tenant_id, m.lane, m.created) for m in keep])
            seen += len(keep)
        if len(inside) < len(batch) or not batch:
            return seen
        after = batch[-1].message_id


async def _drop_superseded(store: Store, messages: list[MessageRecord], *,
                           hold_unclaimed_after: float = float("inf")) -> list[MessageRecord]:
    """The messages to queue; cancels those whose request lost its send_id to another, and
    holds back (returns neither queued nor cancelled) those whose send_id nobody has claimed
    yet if they were accepted after ``hold_unclaimed_after``.

    Acceptance writes the messages, then claims the send_id. An API process killed in
    between leaves messages nobody was told about; the client, unanswered, sends again with
    the same send_id, and that second request's messages are the ones answered and sent.
    The first ones must not go out too: their send_id's record names other message ids.
    Until the client has had its time to retry, an unclaimed send_id may still be claimed
    by that retry, so the messages that would hold it are not sent yet."""
    now = time.time()
    keys = list(dict.fromkeys((m.tenant_id, m.send_id) for m in messages if m.send_id))
    reader = as_async(store)
    found: list[IdempotencyHit | None] = []
    for i in range(0, len(keys), LOOKUPS_IN_FLIGHT):
        found += await asyncio.gather(*(reader.get_idempotency_async(t, s, now)
                                        for t, s in keys[i:i + LOOKUPS_IN_FLIGHT]))
    answers: dict[tuple[str, str], set[str] | None] = {
        key: None if hit is None else {x.message_id for x in send_pb2.SendResponse.FromString(hit.response).messages}
        for key, hit in zip(keys, found)}
    keep: list[MessageRecord] = []
    superseded: list[MessageRecord] = []
    held = 0
    for m in messages:
        ids = answers.get((m.tenant_id, m.send_id)) if m.send_id else None
        if ids is None and m.send_id and m.created > hold_unclaimed_after:
            held += 1
        else:
            (keep if ids is None or m.message_id in ids else superseded).append(m)
    if held:
        log.debug("holding %d messages whose send_id is not claimed yet (their API may have died before "
                  "answering; a retry may still replace them)", held)
    if superseded:
        log.warning("cancelling %d messages whose request was superseded by a retry with the same send_id "
                    "(the API that stored them died before answering)", len(superseded))
        await asyncio.to_thread(store.set_state, [m.message_id for m in superseded], "cancelled", [
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
