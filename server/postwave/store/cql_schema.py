"""The CQL schema as versioned migrations, applied idempotently at start-up.

Each migration is a list of statements that may run more than once (``IF NOT EXISTS``);
the versions applied are recorded in ``schema_migrations``, so a process only runs what
is new. The API process applies them before it forks its workers. docs/storage.md explains
each table's partition key.

Table TTLs follow configuration: they are written into CREATE TABLE and, when
``events_retention_days`` changes later, corrected with ALTER TABLE at the next start.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time

from cassandra.cluster import Session

from postwave.store import (
    cql_breakers,
    cql_deliverability,
    cql_reputation,
    cql_shaping,
    cql_suppressions,
    cql_tracking,
)
from postwave.store.cql_dialect import Dialect
from postwave.store.cql_keys import schedule_bucket

log = logging.getLogger(__name__)

_TWCS = "{'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'DAYS', 'compaction_window_size': 1}"
# Index tables churn (a row per message and state, deleted when the state changes): small
# gc_grace so tombstones are purged soon. A tombstone resurrected by a replica that missed
# it only brings back a stale index row, and readers check every row against `messages`.
_CHURN = ("gc_grace_seconds = 600 AND compaction = {'class': 'LeveledCompactionStrategy',"
          " 'unchecked_tombstone_compaction': 'true', 'tombstone_threshold': '0.1'}")


@dataclasses.dataclass(frozen=True, slots=True)
class Migration:
    """One schema version."""

    version: int
    description: str
    statements: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class TTLs:
    """Default TTLs (seconds) of the three kinds of table."""

    events: int  # events and their bucket index: the retention
    messages: int  # messages, payloads, attempts: retention, but never less than a message lives
    index: int  # state and schedule indexes: as long as a message can stay unfinished


TTL_KIND = {
    "events_by_tenant": "events", "events_by_message": "events", "event_buckets": "events",
    "messages": "messages", "requests": "messages", "attempts": "messages",
    "messages_by_state": "index", "scheduled": "index", "scheduled_by_ref": "index",
    "recipient_messages": "messages",  # tracking: erasure's lookup lives as long as the messages
}

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", (
        """CREATE TABLE IF NOT EXISTS {ks}.tenants (
             tenant_id text PRIMARY KEY, name text, rate_per_second double, daily_quota bigint,
             created double, operator boolean)""",
        "CREATE TABLE IF NOT EXISTS {ks}.tenant_names (name text PRIMARY KEY, tenant_id text, claimed double)",
        """CREATE TABLE IF NOT EXISTS {ks}.api_keys (
             key_id text PRIMARY KEY, tenant_id text, name text, scopes list<text>, secret_hash blob,
             created double, revoked boolean)""",
        """CREATE TABLE IF NOT EXISTS {ks}.api_keys_by_tenant (
             tenant_id text, created double, key_id text, PRIMARY KEY ((tenant_id), created, key_id))""",
        """CREATE TABLE IF NOT EXISTS {ks}.templates (
             tenant_id text, template_id text, version int, name text, subject text, text text, html text,
             created double, PRIMARY KEY ((tenant_id, template_id), version))
           WITH CLUSTERING ORDER BY (version DESC)""",
        """CREATE TABLE IF NOT EXISTS {ks}.templates_by_tenant (
             tenant_id text, template_id text, PRIMARY KEY ((tenant_id), template_id))""",
        """CREATE TABLE IF NOT EXISTS {ks}.idempotency (
             tenant_id text, send_id text, request_id text, body_hash blob, response blob, expires double,
             PRIMARY KEY ((tenant_id, send_id)))
           WITH default_time_to_live = 86400""",
        """CREATE TABLE IF NOT EXISTS {ks}.requests (
             request_id text, chunk int, tenant_id text static, created double static, chunks int static,
             data blob, PRIMARY KEY ((request_id), chunk))
           WITH default_time_to_live = {ttl_messages}""",
        """CREATE TABLE IF NOT EXISTS {ks}.messages (
             message_id text PRIMARY KEY, tenant_id text, request_id text, idx int, recipient text,
             state text, lane text, send_id text, batch_id text, send_at double, created double,
             updated double, expires double, attempt_count int)
           WITH default_time_to_live = {ttl_messages}""",
        """CREATE TABLE IF NOT EXISTS {ks}.messages_by_state (
             state text, shard int, message_id text, tenant_id text,
             PRIMARY KEY ((state, shard), message_id))
           WITH default_time_to_live = {ttl_index} AND """ + _CHURN,
        """CREATE TABLE IF NOT EXISTS {ks}.attempts (
             message_id text, time double, mx_host text, smtp_code int, smtp_reply text, outcome text,
             PRIMARY KEY ((message_id), time, mx_host))
           WITH default_time_to_live = {ttl_messages}""",
        """CREATE TABLE IF NOT EXISTS {ks}.scheduled (
             bucket bigint, shard int, send_at double, message_id text, tenant_id text,
             PRIMARY KEY ((bucket, shard), send_at, message_id))
           WITH default_time_to_live = {ttl_index} AND gc_grace_seconds = 600""",
        """CREATE TABLE IF NOT EXISTS {ks}.scheduled_by_ref (
             tenant_id text, kind text, ref text, message_id text,
             PRIMARY KEY ((tenant_id, kind, ref), message_id))
           WITH default_time_to_live = {ttl_index} AND gc_grace_seconds = 600""",
        "CREATE TABLE IF NOT EXISTS {ks}.scheduler_state (name text PRIMARY KEY, bucket bigint)",
        """CREATE TABLE IF NOT EXISTS {ks}.events_by_tenant (
             tenant_id text, day int, bucket int, id bigint, message_id text, type text, time double,
             detail text, recipient text, send_id text, batch_id text, custom_args text,
             PRIMARY KEY ((tenant_id, day, bucket), id, message_id))
           WITH default_time_to_live = {ttl_events} AND compaction = """ + _TWCS,
        """CREATE TABLE IF NOT EXISTS {ks}.event_buckets (
             tenant_id text, day int, bucket int, PRIMARY KEY ((tenant_id), day, bucket))
           WITH default_time_to_live = {ttl_events}""",
        """CREATE TABLE IF NOT EXISTS {ks}.events_by_message (
             message_id text, id bigint, tenant_id text, type text, time double, detail text,
             recipient text, send_id text, batch_id text, custom_args text,
             PRIMARY KEY ((message_id), id))
           WITH default_time_to_live = {ttl_events} AND compaction = """ + _TWCS,
        """CREATE TABLE IF NOT EXISTS {ks}.suppressions (
             tenant_id text, shard int, address text, reason text, created double, expires double,
             PRIMARY KEY ((tenant_id, shard), address))""",
        """CREATE TABLE IF NOT EXISTS {ks}.usage (
             tenant_id text, day text, accepted counter, PRIMARY KEY ((tenant_id), day))""",
        # Shaping state of later issues, here so that the first schema has every table.
        """CREATE TABLE IF NOT EXISTS {ks}.ip_warmup (
             source_ip text, day text, sent counter, PRIMARY KEY ((source_ip), day))""",
        """CREATE TABLE IF NOT EXISTS {ks}.ip_reputation (
             source_ip text, site text, state text, paused_until double, detail text, updated double,
             PRIMARY KEY ((source_ip), site))""",
    )),
    # --- storage (owner: storage helper; versions 2-19) ---
    Migration(2, "suppression sources, soft bounces", cql_suppressions.SCHEMA_2),
    Migration(4, "the events stream's store watermark", (
        """CREATE TABLE IF NOT EXISTS {ks}.event_watermark (
             name text PRIMARY KEY, seq bigint, id bigint, updated double)""",
    )),
    # --- reputation (owner: reputation helper; versions 3-19 this session) ---
    Migration(3, "learned (source IP, site) reputation lanes", cql_reputation.SCHEMA_3),
    # --- tracking (owner: tracking helper; versions 20-29) ---
    Migration(20, "webhook endpoints", cql_tracking.SCHEMA_20),
    Migration(21, "recipient lookup for erasure", cql_tracking.SCHEMA_21),
    Migration(22, "the webhook batch in flight", cql_tracking.SCHEMA_22),
    # --- deliverability (owner: deliverability helper; versions 30-39) ---
    Migration(30, "sending domains, DKIM selectors, kept feedback reports", cql_deliverability.SCHEMA_30),
    # --- shaping (owner: shaping helper; versions 40-49) ---
    Migration(40, "IP warm-up counts and start days", cql_shaping.SCHEMA_40),
    # --- breakers (owner: reputation helper; versions 50-59) ---
    Migration(50, "tenant circuit breakers: samples, state, audit", cql_breakers.SCHEMA_50),
)


DDL_TIMEOUT = 60.0  # schema changes wait for schema agreement: far slower than a request


def apply(session: Session, keyspace: str, *, dialect: Dialect, replication: str, ttls: TTLs) -> list[int]:
    """Create the keyspace and every missing table; returns the versions applied now."""
    session = _SlowSession(session)  # type: ignore[assignment]
    _create_keyspace(session, keyspace, dialect, replication)
    session.execute(
        f"CREATE TABLE IF NOT EXISTS {keyspace}.schema_migrations"
        " (version int PRIMARY KEY, description text, applied timestamp)"
    )
    done = {row["version"] for row in session.execute(f"SELECT version FROM {keyspace}.schema_migrations")}
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        for statement in migration.statements:
            if _column_exists(session, keyspace, statement):
                continue
            session.execute(_render(statement, ks=keyspace, ttl_events=ttls.events, ttl_messages=ttls.messages,
                                    ttl_index=ttls.index))
        record = session.prepare(
            f"INSERT INTO {keyspace}.schema_migrations (version, description, applied) VALUES (?, ?, ?)")
        session.execute(record, (migration.version, migration.description, int(time.time() * 1000)))
        log.info("applied CQL schema migration %d (%s) to keyspace %s", migration.version,
                 migration.description, keyspace)
        applied.append(migration.version)
    _align_ttls(session, keyspace, ttls)
    watermark = session.prepare(
        f"INSERT INTO {keyspace}.scheduler_state (name, bucket) VALUES ('scheduled', ?) IF NOT EXISTS")
    session.execute(watermark, (schedule_bucket(time.time()) - 1,))
    return applied


_ADD_COLUMN = re.compile(r"ALTER TABLE \{ks\}\.(\w+) ADD (\w+) ")


def _column_exists(session: Session, keyspace: str, statement: str) -> bool:
    """Whether an ``ALTER TABLE ... ADD column`` was applied already (CQL has no ADD IF NOT
    EXISTS that both ScyllaDB and Cassandra accept, and a migration may run again after a
    crash before its version was recorded)."""
    found = _ADD_COLUMN.match(statement)
    if found is None:
        return False
    session.cluster.refresh_table_metadata(keyspace, found.group(1))
    table = session.cluster.metadata.keyspaces[keyspace].tables.get(found.group(1))
    return table is not None and found.group(2) in table.columns


def _render(statement: str, **values: object) -> str:
    """Fill ``{name}`` placeholders (not str.format: the statements hold CQL maps in braces)."""
    for name, value in values.items():
        statement = statement.replace("{" + name + "}", str(value))
    return statement


def _create_keyspace(session: Session, keyspace: str, dialect: Dialect, replication: str) -> None:
    if keyspace in session.cluster.metadata.keyspaces:
        return
    session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = {replication}"
        f" AND durable_writes = true{dialect.keyspace_options()}"
    )
    log.info("created keyspace %s (%s, %s)", keyspace, replication, dialect.name)


def _align_ttls(session: Session, keyspace: str, ttls: TTLs) -> None:
    """ALTER the default TTL of tables whose configured retention changed."""
    tables = session.cluster.metadata.keyspaces[keyspace].tables
    for table, kind in TTL_KIND.items():
        want = getattr(ttls, kind)
        have = int(tables[table].options.get("default_time_to_live", 0)) if table in tables else want
        if have != want:
            session.execute(f"ALTER TABLE {keyspace}.{table} WITH default_time_to_live = {want}")
            log.info("default TTL of %s.%s changed from %d to %d s", keyspace, table, have, want)


class _SlowSession:
    """The session with ``DDL_TIMEOUT`` on every statement (start-up schema work only)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.cluster = session.cluster

    def execute(self, statement: object, parameters: object = None) -> object:
        return self._session.execute(statement, parameters, timeout=DDL_TIMEOUT)

    def prepare(self, query: str) -> object:
        return self._session.prepare(query)
