"""CQL tables and statements of the shaping feature: IP warm-up counts and start days.

Owned by the shaping feature; the schema is CQL migration 40 (shaping owns 40-49).

- ``shaping_ip_usage``: partition (ip), rows (kind, period): the sends counted in an hour
  (``'h'``, epoch hours) and in a UTC day (``'d'``, epoch days). A reservation is a
  conditional batch on that one partition -- both rows' counts must still be what was
  read -- so workers on many hosts never grant the same last slot of a cap (a compare-and-
  set loop; counters cannot be compared). Rows expire after a few days.
- ``shaping_ips``: (ip) -> the start of its warm-up, claimed with ``IF NOT EXISTS``.
"""

from __future__ import annotations

from typing import Any

from cassandra.cluster import Session

from postwave.errors import StoreUnavailableError
from postwave.store.cql_prepared import PreparedCache
from postwave.store.cql_session import Runner, unavailable

USAGE_TTL = 4 * 86400
# Attempts of the compare-and-set loop before giving up (only under heavy contention).
CAS_ATTEMPTS = 20

SCHEMA_40: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS {ks}.shaping_ip_usage (
         ip text, kind text, period bigint, sent bigint, PRIMARY KEY ((ip), kind, period))
       WITH default_time_to_live = """ + str(USAGE_TTL),
    "CREATE TABLE IF NOT EXISTS {ks}.shaping_ips (ip text PRIMARY KEY, warmup_start double)",
)

_STATEMENTS: dict[str, tuple[str, bool]] = {
    "usage_get": ("SELECT kind, period, sent FROM {ks}.shaping_ip_usage WHERE ip = ? AND kind IN ('h', 'd')"
                  " AND period IN (?, ?)", True),
    "usage_cas": ("BEGIN BATCH"
                  " UPDATE {ks}.shaping_ip_usage SET sent = ? WHERE ip = ? AND kind = 'h' AND period = ? IF sent = ?"
                  " UPDATE {ks}.shaping_ip_usage SET sent = ? WHERE ip = ? AND kind = 'd' AND period = ? IF sent = ?"
                  " APPLY BATCH", False),
    "start_claim": ("INSERT INTO {ks}.shaping_ips (ip, warmup_start) VALUES (?, ?) IF NOT EXISTS", False),
    "start_get": ("SELECT warmup_start FROM {ks}.shaping_ips WHERE ip = ?", True),
}


class ShapingTables(PreparedCache):
    """The shaping part of the CQL store (CqlStore delegates to it)."""

    def __init__(self, session: Session, keyspace: str, run: Runner) -> None:
        self.run = run
        super().__init__(session, keyspace, _STATEMENTS)

    def ip_sends(self, ip: str, hour: int) -> tuple[int | None, int | None]:
        """(hour's, day's) counts; None for a row not written yet."""
        wanted = {("h", hour), ("d", hour // 24)}
        rows = self.run.rows("reading IP warm-up counts", self["usage_get"], (ip, hour, hour // 24))
        # "kind IN" x "period IN" would also match an hour numbered like the day: keep the two rows.
        found = {r["kind"]: r["sent"] for r in rows if (r["kind"], r["period"]) in wanted}
        return found.get("h"), found.get("d")

    def reserve(self, ip: str, hour: int, want: int, hourly_cap: int, daily_cap: int) -> int:
        """Compare-and-set both counts; see Store.reserve_ip_sends."""
        in_hour, in_day = self.ip_sends(ip, hour)
        for _ in range(CAS_ATTEMPTS):
            granted = max(0, min(want, hourly_cap - (in_hour or 0), daily_cap - (in_day or 0)))
            if not granted:
                return 0
            applied, rows = self._cas(ip, hour, in_hour, in_day, granted)
            if applied:
                return granted
            in_hour, in_day = rows.get("h"), rows.get("d")
        raise StoreUnavailableError(f"IP warm-up counts of {ip} kept changing under {CAS_ATTEMPTS} attempts")

    def _cas(self, ip: str, hour: int, in_hour: int | None, in_day: int | None,
             granted: int) -> tuple[bool, dict[str, int]]:
        params = ((in_hour or 0) + granted, ip, hour, in_hour, (in_day or 0) + granted, ip, hour // 24, in_day)
        with unavailable("reserving IP warm-up sends"):
            result = self._session.execute(self["usage_cas"], params)
            rows: list[Any] = list(result)
        applied = bool(rows and rows[0]["[applied]"])
        return applied, {r["kind"]: r["sent"] for r in rows if not applied and r.get("kind")}

    def warmup_start(self, ip: str, now: float) -> float:
        """The claimed start (the first claimer's ``now``)."""
        applied, row = self.run.applied("claiming an IP's warm-up start", self["start_claim"], (ip, now))
        if applied:
            return now
        if row.get("warmup_start") is not None:
            return float(row["warmup_start"])
        found = self.run.one("reading an IP's warm-up start", self["start_get"], (ip,), serial=True)
        return float(found["warmup_start"]) if found else now
