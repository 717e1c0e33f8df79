"""SQLite statements of the shaping feature: IP warm-up counts and warm-up start days.

Owned by the shaping feature (tables ``shaping_ip_usage`` and ``shaping_ips`` in
store/sqlite.py). Every worker process of one machine shares the file, so a reservation
is one write transaction: read the hour's and the day's counts, grant what fits under both
caps, write both back -- no two workers can grant the same last slot.
"""

from __future__ import annotations

from postwave.store.sqlite import Database

# Hour rows older than this many hours are deleted when an IP starts a new hour.
KEEP_HOURS = 48
KEEP_DAYS = 3


def reserve_ip_sends(db: Database, ip: str, hour: int, want: int, hourly_cap: int, daily_cap: int) -> int:
    """Grant up to ``want`` sends under both caps; see Store.reserve_ip_sends."""
    day = hour // 24
    with db.transaction() as conn:
        counts = dict(conn.execute(
            "SELECT kind, sent FROM shaping_ip_usage WHERE ip=? AND ((kind='h' AND period=?) OR (kind='d' AND period=?))",
            (ip, hour, day)).fetchall())
        in_hour, in_day = int(counts.get("h", 0)), int(counts.get("d", 0))
        granted = max(0, min(want, hourly_cap - in_hour, daily_cap - in_day))
        if granted:
            conn.executemany(
                "INSERT INTO shaping_ip_usage (ip, kind, period, sent) VALUES (?,?,?,?)"
                " ON CONFLICT (ip, kind, period) DO UPDATE SET sent = sent + excluded.sent",
                [(ip, "h", hour, granted), (ip, "d", day, granted)])
        if not in_hour:  # a new hour: drop what no cap looks at any more
            conn.execute("DELETE FROM shaping_ip_usage WHERE ip=? AND ((kind='h' AND period<?) OR (kind='d' AND period<?))",
                         (ip, hour - KEEP_HOURS, day - KEEP_DAYS))
    return granted


def ip_sends(db: Database, ip: str, hour: int) -> tuple[int, int]:
    """(hour's, day's) counted sends of ``ip``."""
    rows = db.query(
        "SELECT kind, sent FROM shaping_ip_usage WHERE ip=? AND ((kind='h' AND period=?) OR (kind='d' AND period=?))",
        (ip, hour, hour // 24))
    counts = {str(kind): int(sent) for kind, sent in rows}  # type: ignore[call-overload]
    return counts.get("h", 0), counts.get("d", 0)


def ip_warmup_start(db: Database, ip: str, now: float) -> float:
    """The kept start of ``ip``'s warm-up, recording ``now`` if there is none."""
    with db.transaction() as conn:
        conn.execute("INSERT OR IGNORE INTO shaping_ips (ip, warmup_start) VALUES (?, ?)", (ip, now))
        row = conn.execute("SELECT warmup_start FROM shaping_ips WHERE ip=?", (ip,)).fetchone()
    return float(row[0])
