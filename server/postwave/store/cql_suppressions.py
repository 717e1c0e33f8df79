"""Suppression management in CQL: entries with why, paged listing, soft-bounce counting.

``suppressions`` is partitioned by (tenant_id, shard 0-15) and clustered by address: a
point look-up reads one row, a tenant's listing walks the 16 partitions in address order
(keyset paging: the token is the shard and the last address), and a million suppressions
of one tenant make partitions of ~62,500 small rows. A temporary suppression carries a
TTL, so it disappears by itself; readers also compare ``expires`` (TTLs count whole seconds).

Why an entry exists (source, event id, message id) is in the same row, stamped with the
``created`` of the entry it explains (``source_of``): a writer that replaces an entry
without naming a source leaves the old source cells, and readers ignore a stale stamp.

``soft_bounces`` is partitioned by (tenant_id, address), one row per soft bounce with a TTL
of the counting window: a partition holds at most the soft bounces of one window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from postwave.store import page_tokens
from postwave.store.base import Suppression
from postwave.store.cql_keys import SUPPRESSION_SHARDS, shard
from postwave.store.cql_session import CallList, Runner
from postwave.store.cql_statements import Statements

SCHEMA_2: tuple[str, ...] = (
    "ALTER TABLE {ks}.suppressions ADD source text",
    "ALTER TABLE {ks}.suppressions ADD source_event_id text",
    "ALTER TABLE {ks}.suppressions ADD message_id text",
    "ALTER TABLE {ks}.suppressions ADD source_of double",
    """CREATE TABLE IF NOT EXISTS {ks}.soft_bounces (
         tenant_id text, address text, time double, event_id text,
         PRIMARY KEY ((tenant_id, address), time, event_id))""",
)


def ttl_until(expires: float | None, now: float) -> int:
    """A CQL TTL that keeps a row until ``expires`` (0 = for ever).

    Cassandra counts TTLs in whole seconds from the write's second: one second more keeps
    the row until ``expires``; readers compare ``expires`` anyway.
    """
    return 0 if expires is None else max(1, math.ceil(expires - now) + 1)


def _entry(row: dict[str, Any]) -> Suppression:
    current = row["source_of"] is not None and row["source_of"] == row["created"]
    return Suppression(
        row["tenant_id"], row["address"], row["reason"] or "", row["expires"],
        source=(row["source"] or "") if current else "",
        source_event_id=(row["source_event_id"] or "") if current else "",
        message_id=(row["message_id"] or "") if current else "", created=row["created"] or 0.0,
    )


def _live(row: dict[str, Any], now: float) -> bool:
    return row["expires"] is None or row["expires"] > now


class SuppressionTables:
    """Reads and writes of suppression entries and soft bounces."""

    def __init__(self, runner: Runner, statements: Statements) -> None:
        self.run = runner
        self.sql = statements

    def write(self, calls: CallList, entry: Suppression, now: float) -> None:
        """Add the write of one entry (insert or replace) to ``calls``."""
        created = entry.created or now
        calls.add(self.sql["suppress"], (
            entry.tenant_id, shard(entry.address, SUPPRESSION_SHARDS), entry.address, entry.reason, created,
            entry.expires, entry.source, entry.source_event_id, entry.message_id, created,
            ttl_until(entry.expires, now),
        ))

    def put(self, entries: Sequence[Suppression], now: float) -> None:
        """Insert or replace entries, concurrently."""
        calls = CallList(self.run)
        for entry in entries:
            self.write(calls, entry, now)
        calls.run("suppressing addresses")

    def get(self, tenant_id: str, address: str, now: float) -> Suppression | None:
        """The live entry of an address, or None."""
        row = self.run.one("reading a suppression", self.sql["suppression_read"],
                           (tenant_id, shard(address, SUPPRESSION_SHARDS), address))
        return _entry(row) if row is not None and _live(row, now) else None

    def page(self, tenant_id: str, token: str, limit: int, now: float) -> tuple[list[Suppression], str]:
        """Live entries shard by shard, in address order within each; the next page's token."""
        key = page_tokens.decode(token, int, str)
        part, after = (int(key[0]), str(key[1])) if key else (0, "")
        if not 0 <= part < SUPPRESSION_SHARDS:
            part = SUPPRESSION_SHARDS  # a forged shard number: nothing more to list
        found: list[Suppression] = []
        while part < SUPPRESSION_SHARDS:
            want = limit - len(found)
            rows = list(self.run.rows("listing suppressions", self.sql["suppression_page"],
                                      (tenant_id, part, after, want)))
            found.extend(_entry(r) for r in rows if _live(r, now))
            if len(rows) == want:  # the page is full; the shard may hold more after its last row
                return found, page_tokens.encode(part, rows[-1]["address"])
            part, after = part + 1, ""
        return found, ""

    def remove(self, tenant_id: str, address: str) -> bool:
        """Delete an entry; whether there was one."""
        key = (tenant_id, shard(address, SUPPRESSION_SHARDS), address)
        row = self.run.one("reading a suppression", self.sql["suppression_read"], key)
        if row is None:
            return False
        self.run.all("lifting a suppression", [(self.sql["suppression_remove"], key)])
        return True

    def count_soft_bounce(self, tenant_id: str, address: str, event_id: str, now: float, window: float) -> int:
        """Record one soft bounce (kept for the window by its TTL); how many fall in the window."""
        self.run.all("recording a soft bounce", [(self.sql["soft_bounce_add"], (
            tenant_id, address, now, event_id, ttl_until(now + window, now),
        ))])
        rows = self.run.rows("counting soft bounces", self.sql["soft_bounces_since"],
                             (tenant_id, address, now - window))
        return sum(1 for _ in rows)

    def clear_soft_bounces(self, tenant_id: str, address: str) -> None:
        """Forget every soft bounce of an address (one partition delete)."""
        self.run.all("forgetting soft bounces", [(self.sql["soft_bounces_clear"], (tenant_id, address))])
