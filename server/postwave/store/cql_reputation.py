"""CQL table and statements of stored reputation: the learned (source IP, site) lane state.

Owned by the reputation helper; the schema is CQL migration 3 (storage numbers 2-19, this
session's reputation work may use 3-19). docs/storage.md explains the partition key.

- ``reputation_lanes``: partition (ip, shard), rows (site). ``shard`` is crc32(site) mod 8,
  so one source IP's sites spread over 8 partitions; rows expire REPUTATION_TTL after their
  last write, so a partition holds about (destination sites an IP sent to in a week) / 8
  rows of ~150 bytes. A merge is a compare-and-set on ``version`` (a lightweight
  transaction), retried against the row it found: workers on many hosts never lose a
  slow-down or a pause.
- The kernel's choice of source address (ip "") is stored as ``*``: CQL refuses empty
  partition key values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from cassandra.cluster import Session

from postwave.errors import StoreUnavailableError
from postwave.shaping.reputation_merge import merge
from postwave.store.base import REPUTATION_TTL, LaneReputation, ReputationChange
from postwave.store.cql_keys import shard
from postwave.store.cql_prepared import PreparedCache
from postwave.store.cql_session import Runner

SHARDS = 8
CAS_ATTEMPTS = 20
_DEFAULT_IP = "*"
_VALUES = [f.name for f in dataclasses.fields(LaneReputation) if f.name not in ("ip", "site")]

SCHEMA_3: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS {ks}.reputation_lanes (
         ip text, shard int, site text, rate_per_minute double, paused_until double, pause_reason text,
         window_start double, delivered bigint, deferred bigint, bounced bigint, throttled bigint, blocked bigint,
         updated double, version bigint, PRIMARY KEY ((ip, shard), site))
       WITH default_time_to_live = """ + str(int(REPUTATION_TTL)),
)

_STATEMENTS: dict[str, tuple[str, bool]] = {
    "lanes": ("SELECT site, " + ", ".join(_VALUES) + " FROM {ks}.reputation_lanes WHERE ip = ? AND shard = ?", True),
    "lane": ("SELECT " + ", ".join(_VALUES) + " FROM {ks}.reputation_lanes WHERE ip = ? AND shard = ? AND site = ?",
             True),
    "insert": ("INSERT INTO {ks}.reputation_lanes (ip, shard, site, " + ", ".join(_VALUES) + ") VALUES (?, ?, ?, "
               + ", ".join("?" * len(_VALUES)) + ") IF NOT EXISTS", False),
    "update": ("UPDATE {ks}.reputation_lanes SET " + ", ".join(f"{v} = ?" for v in _VALUES)
               + " WHERE ip = ? AND shard = ? AND site = ? IF version = ?", False),
}


def _stored_ip(ip: str) -> str:
    return ip or _DEFAULT_IP


def _lane(ip: str, site: str, row: dict[str, Any]) -> LaneReputation:
    return LaneReputation(ip, site, **{v: row[v] for v in _VALUES})


class ReputationTables(PreparedCache):
    """The reputation part of the CQL store (CqlStore delegates to it)."""

    def __init__(self, session: Session, keyspace: str, run: Runner) -> None:
        self.run = run
        super().__init__(session, keyspace, _STATEMENTS)

    def load(self, ips: Sequence[str], now: float) -> list[LaneReputation]:
        """Every live lane of ``ips`` (8 partitions each, read concurrently)."""
        calls = [(self["lanes"], (_stored_ip(ip), s)) for ip in ips for s in range(SHARDS)]
        results = self.run.all("reading source IP reputation", calls)
        found: list[LaneReputation] = []
        for (_, (ip, _s)), rows in zip(calls, results, strict=True):
            for row in rows:
                lane = _lane("" if ip == _DEFAULT_IP else ip, row["site"], row)
                if now - lane.updated <= REPUTATION_TTL:
                    found.append(lane)
        return found

    def merge(self, change: ReputationChange, now: float) -> LaneReputation:
        """Compare-and-set one lane (see reputation_merge.merge)."""
        key = (_stored_ip(change.ip), shard(change.site, SHARDS), change.site)
        row = self.run.one("reading a reputation lane", self["lane"], key, serial=True)
        for _ in range(CAS_ATTEMPTS):
            stored = _lane(change.ip, change.site, row) if row and row.get("version") is not None else None
            merged = merge(stored, change, now)
            values = [getattr(merged, v) for v in _VALUES]
            if stored is None:
                applied, _ = self.run.applied("writing a reputation lane", self["insert"], (*key, *values))
            else:
                applied, _ = self.run.applied("writing a reputation lane", self["update"],
                                              (*values, *key, stored.version))
            if applied:
                return merged
            # A failed UPDATE ... IF answers with the compared column only: read the whole row.
            row = self.run.one("reading a reputation lane", self["lane"], key, serial=True)
        raise StoreUnavailableError(f"reputation of {change.ip or 'the default address'} toward {change.site} kept "
                                    f"changing under {CAS_ATTEMPTS} attempts")
