"""SQLite statements of stored reputation and tenant circuit breakers (owner: reputation helper).

Tables ``reputation_lanes``, ``breaker_samples``, ``breaker_state`` and ``breaker_audit``
in store/sqlite.py. Every worker process of one machine shares the file: a lane merge and
a breaker compare-and-set are each one write transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from postwave.shaping.reputation_merge import merge
from postwave.store.base import (
    BREAKER_SAMPLE_TTL,
    REPUTATION_TTL,
    BreakerAudit,
    BreakerSample,
    BreakerState,
    BreakerTotals,
    EventRecord,
    LaneReputation,
    ReputationChange,
)
from postwave.store.sqlite import Database

_LANE_COLUMNS = ", ".join(f.name for f in dataclasses.fields(LaneReputation))
_LANE_MARKS = ",".join("?" * len(dataclasses.fields(LaneReputation)))


def _lane(row: tuple[object, ...]) -> LaneReputation:
    return LaneReputation(*row)  # type: ignore[arg-type]


def load_reputation(db: Database, ips: Sequence[str], now: float) -> list[LaneReputation]:
    """Live lanes of ``ips``."""
    if not ips:
        return []
    marks = ",".join("?" * len(ips))
    rows = db.query(f"SELECT {_LANE_COLUMNS} FROM reputation_lanes WHERE ip IN ({marks}) AND updated >= ?",
                    [*ips, now - REPUTATION_TTL])
    return [_lane(r) for r in rows]


def merge_reputation(db: Database, changes: Sequence[ReputationChange], now: float) -> list[LaneReputation]:
    """Merge each change into its row, all in one transaction."""
    merged: list[LaneReputation] = []
    with db.transaction() as conn:
        for change in changes:
            row = conn.execute(f"SELECT {_LANE_COLUMNS} FROM reputation_lanes WHERE ip=? AND site=?",
                               (change.ip, change.site)).fetchone()
            lane = merge(_lane(row) if row else None, change, now)
            conn.execute(f"INSERT OR REPLACE INTO reputation_lanes ({_LANE_COLUMNS}) VALUES ({_LANE_MARKS})",
                         dataclasses.astuple(lane))
            merged.append(lane)
        conn.execute("DELETE FROM reputation_lanes WHERE updated < ?", (now - REPUTATION_TTL,))
    return merged


def add_breaker_samples(db: Database, samples: Sequence[BreakerSample]) -> None:
    """Append samples; drop those past BREAKER_SAMPLE_TTL."""
    if not samples:
        return
    with db.transaction() as conn:
        conn.executemany(
            "INSERT INTO breaker_samples (tenant_id, stream, time, delivered, bounced, complained, writer)"
            " VALUES (?,?,?,?,?,?,?)",
            [(s.tenant_id, s.stream, s.time, s.delivered, s.bounced, s.complained, s.writer) for s in samples])
        conn.execute("DELETE FROM breaker_samples WHERE time < ?", (max(s.time for s in samples) - BREAKER_SAMPLE_TTL,))


def breaker_totals(db: Database, tenant_id: str, stream: str, since: float, until: float) -> BreakerTotals:
    """Sums over [since, until]."""
    [row] = db.query(
        "SELECT COALESCE(SUM(delivered), 0), COALESCE(SUM(bounced), 0), COALESCE(SUM(complained), 0)"
        " FROM breaker_samples WHERE tenant_id=? AND stream=? AND time >= ? AND time <= ?",
        (tenant_id, stream, since, until))
    return BreakerTotals(*(int(v) for v in row))  # type: ignore[call-overload]


_STATE_COLUMNS = "tenant_id, level, since, reason, counting_from, version"
_AUDIT_COLUMNS = "tenant_id, time, from_level, to_level, actor, reason"


def get_breaker(db: Database, tenant_id: str) -> BreakerState | None:
    """The stored state, or None."""
    rows = db.query(f"SELECT {_STATE_COLUMNS} FROM breaker_state WHERE tenant_id=?", (tenant_id,))
    return BreakerState(*rows[0]) if rows else None  # type: ignore[arg-type]


def set_breaker(db: Database, state: BreakerState, expected_version: int, audit: BreakerAudit,
                events: Sequence[EventRecord], insert_events: object) -> bool:
    """Compare-and-set the state; its audit record and events in the same transaction."""
    with db.transaction() as conn:
        row = conn.execute("SELECT version FROM breaker_state WHERE tenant_id=?", (state.tenant_id,)).fetchone()
        if (int(row[0]) if row else 0) != expected_version:
            return False
        stored = dataclasses.replace(state, version=expected_version + 1)
        conn.execute(f"INSERT OR REPLACE INTO breaker_state ({_STATE_COLUMNS}) VALUES (?,?,?,?,?,?)",
                     dataclasses.astuple(stored))
        conn.execute(f"INSERT INTO breaker_audit ({_AUDIT_COLUMNS}) VALUES (?,?,?,?,?,?)", dataclasses.astuple(audit))
        insert_events(conn, events)  # type: ignore[operator]
    return True


def breaker_history(db: Database, tenant_id: str, limit: int) -> list[BreakerAudit]:
    """Newest first."""
    rows = db.query(f"SELECT {_AUDIT_COLUMNS} FROM breaker_audit WHERE tenant_id=? ORDER BY time DESC, rowid DESC"
                    " LIMIT ?", (tenant_id, limit))
    return [BreakerAudit(*r) for r in rows]  # type: ignore[arg-type]
