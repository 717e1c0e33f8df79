"""Suppression management on the embedded SQLite store: entries with why, paging, soft bounces.

``suppressions`` holds the entry itself (tenant, address, reason, created, expires). Why it
was made (source, event id, message id) lives in ``suppression_sources`` beside it, keyed
the same and stamped with the ``created`` of the entry it explains: a writer that replaces
the entry without a source (older code paths) leaves a stale source row behind, and a
reader shows a source only when its stamp matches the entry.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from postwave.store import page_tokens
from postwave.store.base import Suppression
from postwave.store.sqlite import Database

# The tables are in sqlite.SCHEMA (suppression management block).
_SELECT = (
    "SELECT s.tenant_id, s.address, s.reason, s.expires, s.created, src.created, src.source,"
    " src.source_event_id, src.message_id FROM suppressions s LEFT JOIN suppression_sources src"
    " ON src.tenant_id = s.tenant_id AND src.address = s.address"
)
_LIVE = "(s.expires IS NULL OR s.expires > ?)"


def put(conn: sqlite3.Connection, entry: Suppression, now: float) -> None:
    """Insert or replace one entry and its source (inside the caller's transaction)."""
    created = entry.created or now
    conn.execute(
        "INSERT INTO suppressions (tenant_id, address, reason, created, expires) VALUES (?,?,?,?,?)"
        " ON CONFLICT (tenant_id, address) DO UPDATE"
        " SET reason=excluded.reason, created=excluded.created, expires=excluded.expires",
        (entry.tenant_id, entry.address, entry.reason, created, entry.expires),
    )
    conn.execute(
        "INSERT OR REPLACE INTO suppression_sources VALUES (?,?,?,?,?,?)",
        (entry.tenant_id, entry.address, created, entry.source, entry.source_event_id, entry.message_id),
    )


def _entry(row: tuple[object, ...]) -> Suppression:
    tenant_id, address, reason, expires, created, source_created, source, event_id, message_id = row
    current = source_created == created  # a source row written for an earlier entry says nothing
    return Suppression(
        str(tenant_id), str(address), str(reason), None if expires is None else float(expires),  # type: ignore[arg-type]
        source=str(source) if current else "", source_event_id=str(event_id) if current else "",
        message_id=str(message_id) if current else "", created=float(created),  # type: ignore[arg-type]
    )


def get(db: Database, tenant_id: str, address: str, now: float) -> Suppression | None:
    """The live entry of an address, or None."""
    rows = db.query(f"{_SELECT} WHERE s.tenant_id=? AND s.address=? AND {_LIVE}", (tenant_id, address, now))
    return _entry(rows[0]) if rows else None


def page(db: Database, tenant_id: str, token: str, limit: int, now: float) -> tuple[list[Suppression], str]:
    """Live entries in address order after the token's address; the next token ("" at the end)."""
    after = page_tokens.decode(token, str)
    rows = db.query(
        f"{_SELECT} WHERE s.tenant_id=? AND s.address>? AND {_LIVE} ORDER BY s.address LIMIT ?",
        (tenant_id, after[0] if after else "", now, limit + 1),
    )
    entries = [_entry(r) for r in rows[:limit]]
    return entries, page_tokens.encode(entries[-1].address) if len(rows) > limit else ""


def remove(db: Database, tenant_id: str, address: str) -> bool:
    """Delete an entry and its source; whether there was an entry."""
    with db.transaction() as conn:
        cur = conn.execute("DELETE FROM suppressions WHERE tenant_id=? AND address=?", (tenant_id, address))
        conn.execute("DELETE FROM suppression_sources WHERE tenant_id=? AND address=?", (tenant_id, address))
    return cur.rowcount > 0


def count_soft_bounce(db: Database, tenant_id: str, address: str, event_id: str, now: float, window: float) -> int:
    """Record one soft bounce, forget those older than the window; how many remain."""
    with db.transaction() as conn:
        conn.execute("DELETE FROM soft_bounces WHERE tenant_id=? AND address=? AND time<=?",
                     (tenant_id, address, now - window))
        conn.execute("INSERT INTO soft_bounces VALUES (?,?,?,?)", (tenant_id, address, now, event_id))
        (count,) = conn.execute("SELECT COUNT(*) FROM soft_bounces WHERE tenant_id=? AND address=?",
                                (tenant_id, address)).fetchone()
    return int(count)


def clear_soft_bounces(db: Database, tenant_id: str, address: str) -> None:
    """Forget every soft bounce of an address."""
    with db.transaction() as conn:
        conn.execute("DELETE FROM soft_bounces WHERE tenant_id=? AND address=?", (tenant_id, address))


def put_many(db: Database, entries: Sequence[Suppression], now: float) -> None:
    """Insert or replace entries in one transaction."""
    with db.transaction() as conn:
        for entry in entries:
            put(conn, entry, now)
