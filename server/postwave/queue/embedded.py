"""The embedded Queue: rows of the SQLite file, claimed by pushing ``available_at`` ahead.

Claiming an item sets its ``available_at`` to the end of the lease, so a worker that dies
simply lets the lease run out and another worker claims the item again. Acknowledging
deletes the row; a NAK moves ``available_at`` to the retry time.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence

from postwave.queue.base import Lease, QueueItem, QueueStats, bulk_room_left
from postwave.store.sqlite import Database

MAX_TENANTS_PER_CLAIM = 1000


class EmbeddedQueue:
    """Queue on the embedded SQLite database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def publish(self, items: Sequence[QueueItem]) -> None:
        """Add items durably; an id already queued is not added twice."""
        if items:
            await asyncio.to_thread(self.publish_sync, items)

    def publish_sync(self, items: Sequence[QueueItem]) -> None:
        """``publish`` for callers already on a worker thread."""
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO queue (message_id, tenant_id, lane, available_at) VALUES (?,?,?,?)",
                [(i.message_id, i.tenant_id, i.lane, i.available_at) for i in items],
            )

    async def claim(self, lane: str, limit: int, lease_seconds: float) -> list[Lease]:
        """Take up to ``limit`` ready items, served fairly across tenants."""
        return await asyncio.to_thread(self._claim, lane, limit, lease_seconds)

    async def claim_lanes(self, limit: int, bulk_room: int, lease_seconds: float) -> tuple[list[Lease], list[Lease]]:
        """Transactional first, then bulk into the room left (Queue.claim_lanes), in one write
        transaction on one thread: a worker takes the write lock the API's commits wait for
        once per claim instead of once per lane."""
        return await asyncio.to_thread(self._claim_lanes, limit, bulk_room, lease_seconds)

    def _claim_lanes(self, limit: int, bulk_room: int, lease_seconds: float) -> tuple[list[Lease], list[Lease]]:
        with self.db.transaction():
            first = self._claim("transactional", limit, lease_seconds)
            room = bulk_room_left(limit, len(first), bulk_room)
            return first, self._claim("bulk", room, lease_seconds) if room else []

    def _claim(self, lane: str, limit: int, lease_seconds: float) -> list[Lease]:
        now = time.time()
        with self.db.transaction() as conn:
            ids = self._pick_fairly(conn, lane, limit, now)
            if not ids:
                return []
            marks = ",".join("?" * len(ids))
            rows = conn.execute(
                f"UPDATE queue SET available_at=?, deliveries=deliveries+1 WHERE message_id IN ({marks})"
                " RETURNING message_id, tenant_id, deliveries",
                [now + lease_seconds, *ids],
            ).fetchall()
        return [Lease(str(m), str(t), lane, int(d)) for m, t, d in rows]

    @staticmethod
    def _tenants(conn: sqlite3.Connection, lane: str) -> list[str]:
        # A skip-scan over the (lane, tenant_id, available_at) index: one probe per tenant,
        # however many rows a tenant has queued.
        tenants: list[str] = []
        last = ""
        while len(tenants) < MAX_TENANTS_PER_CLAIM:
            row = conn.execute(
                "SELECT tenant_id FROM queue WHERE lane=? AND tenant_id>? ORDER BY tenant_id LIMIT 1",
                (lane, last),
            ).fetchone()
            if row is None:
                break
            last = str(row[0])
            tenants.append(last)
        return tenants

    def _pick_fairly(self, conn: sqlite3.Connection, lane: str, limit: int, now: float) -> list[str]:
        """Round-robin over tenants: each gets an equal share, unused shares go to the rest,
        so one tenant's million-message batch cannot starve another's ten messages."""
        tenants = self._tenants(conn, lane)
        picked: list[str] = []
        taken: dict[str, int] = {}
        while tenants and len(picked) < limit:
            share = max(1, (limit - len(picked)) // len(tenants))
            still_full: list[str] = []
            for tenant in tenants:
                want = min(share, limit - len(picked))
                if want <= 0:
                    break
                rows = conn.execute(
                    "SELECT message_id FROM queue WHERE lane=? AND tenant_id=? AND available_at<=?"
                    " ORDER BY available_at LIMIT ? OFFSET ?",
                    (lane, tenant, now, want, taken.get(tenant, 0)),
                ).fetchall()
                picked.extend(str(r[0]) for r in rows)
                taken[tenant] = taken.get(tenant, 0) + len(rows)
                if len(rows) == want:
                    still_full.append(tenant)
            tenants = still_full
        return picked

    async def ack(self, leases: Sequence[Lease]) -> None:
        """Remove finished items."""
        if leases:
            await asyncio.to_thread(self._ack, [(lease.message_id,) for lease in leases])

    def _ack(self, ids: list[tuple[str]]) -> None:
        with self.db.transaction() as conn:
            conn.executemany("DELETE FROM queue WHERE message_id=?", ids)

    def settle_sync(self, done: Sequence[Lease], again: Sequence[tuple[Lease, float]]) -> None:
        """``ack(done)`` and ``nak(again)`` in one transaction, for callers already on a worker
        thread; inside a transaction of the same database (the worker's results) it joins it."""
        now = time.time()
        with self.db.transaction():
            if done:
                self._ack([(lease.message_id,) for lease in done])
            if again:
                self._nak([(now + delay, lease.message_id) for lease, delay in again])

    async def nak(self, leases: Sequence[tuple[Lease, float]]) -> None:
        """Give items back, each claimable again after its delay in seconds."""
        if leases:
            now = time.time()
            await asyncio.to_thread(self._nak, [(now + delay, lease.message_id) for lease, delay in leases])

    def _nak(self, rows: list[tuple[float, str]]) -> None:
        with self.db.transaction() as conn:
            conn.executemany("UPDATE queue SET available_at=? WHERE message_id=?", rows)

    async def touch(self, leases: Sequence[Lease], lease_seconds: float) -> None:
        """Extend the leases of items still being worked on to ``lease_seconds`` from now."""
        if leases:
            until = time.time() + lease_seconds
            await asyncio.to_thread(self._nak, [(until, lease.message_id) for lease in leases])

    async def depth(self, lane: str) -> int:
        """Items in a lane, ready or not."""
        return (await self.stats(lane)).depth

    async def stats(self, lane: str) -> QueueStats:
        """Depth, and how long the longest-waiting ready item has been ready."""
        now = time.time()
        rows = await asyncio.to_thread(
            self.db.query, "SELECT COUNT(*), MIN(CASE WHEN available_at<=? THEN available_at END) FROM queue "
            "WHERE lane=?", (now, lane))
        count, oldest = rows[0]
        return QueueStats(int(count), max(0.0, now - float(oldest)) if oldest is not None else 0.0)  # type: ignore[arg-type]

    async def ping(self) -> bool:
        """Whether the database file answers."""
        try:
            await asyncio.to_thread(self.db.query, "SELECT 1")
            return True
        except sqlite3.Error:
            return False

    async def close(self) -> None:
        """Close the database connections."""
        self.db.close()
