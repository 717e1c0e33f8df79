"""The scheduler: releases mail whose send_at has come, and sweeps after a crash.

Releasing writes the state change first and publishes second; a crash between the two
leaves messages in ``accepted`` without a queue item, which :func:`sweep` republishes at
start-up (publishing is idempotent per message id).
"""

from __future__ import annotations

import asyncio
import logging
import time

from postwave.errors import PostwaveError
from postwave.queue.base import Queue, QueueItem
from postwave.store.base import EventRecord, Store

log = logging.getLogger(__name__)

RELEASE_BATCH = 1000


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


async def sweep(store: Store, queue: Queue, page: int = 5000) -> int:
    """Republish every message in ``accepted``; returns how many were looked at."""
    after, seen = "", 0
    while True:
        batch = await asyncio.to_thread(store.messages_in_state, "accepted", after, page)
        if not batch:
            return seen
        await queue.publish([QueueItem(m.message_id, m.tenant_id, m.lane, m.created) for m in batch])
        seen += len(batch)
        after = batch[-1].message_id
