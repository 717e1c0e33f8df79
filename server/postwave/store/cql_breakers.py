"""CQL tables and statements of tenant circuit breakers (owner: reputation helper).

The schema is CQL migration 50 (breakers own 50-59). docs/storage.md explains the keys.

- ``breaker_samples``: partition (tenant_id, stream, hour), rows (time, writer): the
  outcomes one writer (a worker, the feedback receiver) counted for a tenant's stream over
  about a second. A window's totals read the hours it spans (at most 25 partitions for the
  longest, 24 h window). One partition holds an hour of flushes: at most 3,600 x writers
  rows, in practice far fewer (a writer flushes only when it counted something). TTL two
  days; no counters, so that rows can expire.
- ``breaker_state``: (tenant_id) -> level, since, reason, counting_from, version; changed
  only by compare-and-set on ``version`` (LWT), so of two workers that see the same spike
  one trips the breaker and the other adopts its state.
- ``breaker_audit``: partition (tenant_id), rows (time DESC, actor): every transition, kept
  a year. Transitions need a resume in between, so a tenant has few.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from cassandra.cluster import Session

from postwave.store.base import (
    BREAKER_SAMPLE_TTL,
    BreakerAudit,
    BreakerSample,
    BreakerState,
    BreakerTotals,
)
from postwave.store.cql_prepared import PreparedCache
from postwave.store.cql_session import CallList, Runner

AUDIT_TTL = 365 * 86400

SCHEMA_50: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS {ks}.breaker_samples (
         tenant_id text, stream text, hour bigint, time double, writer text, delivered int, bounced int,
         complained int, PRIMARY KEY ((tenant_id, stream, hour), time, writer))
       WITH default_time_to_live = """ + str(int(BREAKER_SAMPLE_TTL)),
    """CREATE TABLE IF NOT EXISTS {ks}.breaker_state (
         tenant_id text PRIMARY KEY, level text, since double, reason text, counting_from double, version bigint)""",
    """CREATE TABLE IF NOT EXISTS {ks}.breaker_audit (
         tenant_id text, time double, actor text, from_level text, to_level text, reason text,
         PRIMARY KEY ((tenant_id), time, actor)) WITH CLUSTERING ORDER BY (time DESC, actor ASC)
       AND default_time_to_live = """ + str(AUDIT_TTL),
)

_STATEMENTS: dict[str, tuple[str, bool]] = {
    "sample": ("INSERT INTO {ks}.breaker_samples (tenant_id, stream, hour, time, writer, delivered, bounced,"
               " complained) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", True),
    "samples": ("SELECT delivered, bounced, complained FROM {ks}.breaker_samples"
                " WHERE tenant_id = ? AND stream = ? AND hour = ? AND time >= ? AND time <= ?", True),
    "state": ("SELECT level, since, reason, counting_from, version FROM {ks}.breaker_state WHERE tenant_id = ?", True),
    "state_insert": ("INSERT INTO {ks}.breaker_state (tenant_id, level, since, reason, counting_from, version)"
                     " VALUES (?, ?, ?, ?, ?, 1) IF NOT EXISTS", False),
    "state_update": ("UPDATE {ks}.breaker_state SET level = ?, since = ?, reason = ?, counting_from = ?, version = ?"
                     " WHERE tenant_id = ? IF version = ?", False),
    "audit": ("INSERT INTO {ks}.breaker_audit (tenant_id, time, actor, from_level, to_level, reason)"
              " VALUES (?, ?, ?, ?, ?, ?)", True),
    "history": ("SELECT time, actor, from_level, to_level, reason FROM {ks}.breaker_audit WHERE tenant_id = ?"
                " LIMIT ?", True),
}


class BreakerTables(PreparedCache):
    """The breakers part of the CQL store (CqlStore delegates to it)."""

    def __init__(self, session: Session, keyspace: str, run: Runner) -> None:
        self.run = run
        super().__init__(session, keyspace, _STATEMENTS)

    def add_samples(self, samples: Sequence[BreakerSample]) -> None:
        """Append samples (rows of one partition batched together)."""
        calls = CallList(self.run)
        for s in samples:
            hour = int(s.time // 3600)
            calls.group(self["sample"], (s.tenant_id, s.stream, hour),
                        (s.tenant_id, s.stream, hour, s.time, s.writer, s.delivered, s.bounced, s.complained))
        calls.run("writing circuit breaker samples")

    def totals(self, tenant_id: str, stream: str, since: float, until: float) -> BreakerTotals:
        """Sums over the hours the window spans, read concurrently."""
        hours = range(int(since // 3600), int(until // 3600) + 1)
        calls = [(self["samples"], (tenant_id, stream, hour, since, until)) for hour in hours]
        rows = [r for result in self.run.all("reading circuit breaker samples", calls) for r in result]
        return BreakerTotals(sum(r["delivered"] or 0 for r in rows), sum(r["bounced"] or 0 for r in rows),
                             sum(r["complained"] or 0 for r in rows))

    def get(self, tenant_id: str) -> BreakerState | None:
        """The state, read at LOCAL_SERIAL (sees every finished compare-and-set)."""
        row = self.run.one("reading a circuit breaker", self["state"], (tenant_id,), serial=True)
        if row is None:
            return None
        return BreakerState(tenant_id, row["level"], row["since"], row["reason"] or "", row["counting_from"] or 0.0,
                            row["version"])

    def set(self, state: BreakerState, expected_version: int) -> bool:
        """Compare-and-set on version."""
        values = (state.level, state.since, state.reason, state.counting_from)
        if expected_version == 0:
            applied, _ = self.run.applied("tripping a circuit breaker", self["state_insert"],
                                          (state.tenant_id, *values))
        else:
            applied, _ = self.run.applied("changing a circuit breaker", self["state_update"],
                                          (*values, expected_version + 1, state.tenant_id, expected_version))
        return applied

    def audit_calls(self, calls: CallList, audit: BreakerAudit) -> None:
        """Add the audit record's write to ``calls``."""
        calls.add(self["audit"], dataclasses.astuple(audit)[:2] + (audit.actor, audit.from_level, audit.to_level,
                                                                    audit.reason))

    def history(self, tenant_id: str, limit: int) -> list[BreakerAudit]:
        """Newest first."""
        rows = self.run.rows("reading circuit breaker history", self["history"], (tenant_id, limit))
        return [BreakerAudit(tenant_id, r["time"], r["from_level"], r["to_level"], r["actor"], r["reason"] or "")
                for r in rows]
