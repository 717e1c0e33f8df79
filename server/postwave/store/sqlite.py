"""The embedded SQLite database file shared by the embedded store and queue.

One file under ``data_dir`` in WAL mode: readers never block the writer, and several
processes (the API and the workers) share it. Each thread gets its own connection.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from postwave.errors import StoreUnavailableError

log = logging.getLogger(__name__)

BUSY_SECONDS = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (
  tenant_id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, rate_per_second REAL NOT NULL,
  daily_quota INTEGER NOT NULL, created REAL NOT NULL, operator INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS api_keys (
  key_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, name TEXT NOT NULL, scopes TEXT NOT NULL,
  secret_hash BLOB NOT NULL, created REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS api_keys_tenant ON api_keys (tenant_id);
CREATE TABLE IF NOT EXISTS templates (
  tenant_id TEXT NOT NULL, template_id TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,
  subject TEXT NOT NULL, text TEXT NOT NULL, html TEXT NOT NULL, created REAL NOT NULL,
  PRIMARY KEY (tenant_id, template_id, version));
CREATE TABLE IF NOT EXISTS idempotency (
  tenant_id TEXT NOT NULL, send_id TEXT NOT NULL, body_hash BLOB NOT NULL, response BLOB NOT NULL,
  expires REAL NOT NULL, PRIMARY KEY (tenant_id, send_id));
CREATE TABLE IF NOT EXISTS requests (
  request_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, payload BLOB NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
  message_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, request_id TEXT NOT NULL, idx INTEGER NOT NULL,
  recipient TEXT NOT NULL, state TEXT NOT NULL, lane TEXT NOT NULL, send_id TEXT NOT NULL,
  batch_id TEXT NOT NULL, send_at REAL NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
  expires REAL NOT NULL, attempt_count INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS messages_state ON messages (state, send_at);
CREATE INDEX IF NOT EXISTS messages_state_id ON messages (state, message_id);
CREATE INDEX IF NOT EXISTS messages_send_id ON messages (tenant_id, send_id);
CREATE INDEX IF NOT EXISTS messages_batch_id ON messages (tenant_id, batch_id);
CREATE TABLE IF NOT EXISTS attempts (
  message_id TEXT NOT NULL, time REAL NOT NULL, mx_host TEXT NOT NULL, smtp_code INTEGER NOT NULL,
  smtp_reply TEXT NOT NULL, outcome TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS attempts_message ON attempts (message_id);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id TEXT NOT NULL, message_id TEXT NOT NULL,
  type TEXT NOT NULL, time REAL NOT NULL, detail TEXT NOT NULL, recipient TEXT NOT NULL,
  send_id TEXT NOT NULL, batch_id TEXT NOT NULL, custom_args TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_tenant ON events (tenant_id, id);
CREATE INDEX IF NOT EXISTS events_message ON events (message_id);
CREATE TABLE IF NOT EXISTS suppressions (
  tenant_id TEXT NOT NULL, address TEXT NOT NULL, reason TEXT NOT NULL, created REAL NOT NULL,
  expires REAL, PRIMARY KEY (tenant_id, address));
CREATE TABLE IF NOT EXISTS usage (
  tenant_id TEXT NOT NULL, day TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (tenant_id, day));
CREATE TABLE IF NOT EXISTS queue (
  message_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, lane TEXT NOT NULL,
  available_at REAL NOT NULL, deliveries INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS queue_ready ON queue (lane, tenant_id, available_at);
-- suppression management: why each suppression exists, soft bounces (owner: storage helper)
CREATE TABLE IF NOT EXISTS suppression_sources (
  tenant_id TEXT NOT NULL, address TEXT NOT NULL, created REAL NOT NULL, source TEXT NOT NULL,
  source_event_id TEXT NOT NULL, message_id TEXT NOT NULL, PRIMARY KEY (tenant_id, address));
CREATE TABLE IF NOT EXISTS soft_bounces (
  tenant_id TEXT NOT NULL, address TEXT NOT NULL, time REAL NOT NULL, event_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS soft_bounces_address ON soft_bounces (tenant_id, address, time);
-- deliverability: sending domains, DKIM selectors, kept feedback reports (owner: deliverability helper)
CREATE TABLE IF NOT EXISTS sending_domains (
  domain TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, state TEXT NOT NULL, return_path TEXT NOT NULL,
  tracking_host TEXT NOT NULL, created REAL NOT NULL, verified REAL NOT NULL, checked REAL NOT NULL,
  report TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sending_domains_tenant ON sending_domains (tenant_id);
CREATE TABLE IF NOT EXISTS dkim_selectors (
  domain TEXT NOT NULL, selector TEXT NOT NULL, algorithm TEXT NOT NULL, public_key TEXT NOT NULL,
  private_key BLOB NOT NULL, state TEXT NOT NULL, created REAL NOT NULL, changed REAL NOT NULL,
  retire_after REAL NOT NULL, PRIMARY KEY (domain, selector));
CREATE TABLE IF NOT EXISTS feedback_reports (
  report_id TEXT PRIMARY KEY, received REAL NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL,
  mail_from TEXT NOT NULL, rcpt_to TEXT NOT NULL, raw BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_reports_received ON feedback_reports (received);
-- tracking: webhook endpoints (owner: tracking helper)
CREATE TABLE IF NOT EXISTS webhook_endpoints (
  endpoint_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, url TEXT NOT NULL, event_types TEXT NOT NULL,
  secret TEXT NOT NULL, previous_secret TEXT NOT NULL, previous_until REAL NOT NULL, state TEXT NOT NULL,
  cursor INTEGER NOT NULL, failing_since REAL NOT NULL, created REAL NOT NULL, detail TEXT NOT NULL,
  pending INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS webhook_endpoints_tenant ON webhook_endpoints (tenant_id, created);
-- tracking: erasure finds an address's messages without a scan (built over existing rows on open)
CREATE INDEX IF NOT EXISTS messages_recipient ON messages (tenant_id, lower(recipient));
-- shaping: IP warm-up counts per hour ('h') and UTC day ('d'), warm-up starts (owner: shaping helper)
CREATE TABLE IF NOT EXISTS shaping_ip_usage (
  ip TEXT NOT NULL, kind TEXT NOT NULL, period INTEGER NOT NULL, sent INTEGER NOT NULL,
  PRIMARY KEY (ip, kind, period));
CREATE TABLE IF NOT EXISTS shaping_ips (ip TEXT PRIMARY KEY, warmup_start REAL NOT NULL);
-- reputation: learned (source IP, site) lane state; tenant circuit breakers (owner: reputation helper)
CREATE TABLE IF NOT EXISTS reputation_lanes (
  ip TEXT NOT NULL, site TEXT NOT NULL, rate_per_minute REAL NOT NULL, paused_until REAL NOT NULL,
  pause_reason TEXT NOT NULL, window_start REAL NOT NULL, delivered INTEGER NOT NULL, deferred INTEGER NOT NULL,
  bounced INTEGER NOT NULL, throttled INTEGER NOT NULL, blocked INTEGER NOT NULL, updated REAL NOT NULL,
  version INTEGER NOT NULL, PRIMARY KEY (ip, site));
CREATE TABLE IF NOT EXISTS breaker_samples (
  tenant_id TEXT NOT NULL, stream TEXT NOT NULL, time REAL NOT NULL, delivered INTEGER NOT NULL,
  bounced INTEGER NOT NULL, complained INTEGER NOT NULL, writer TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS breaker_samples_tenant ON breaker_samples (tenant_id, stream, time);
CREATE INDEX IF NOT EXISTS breaker_samples_time ON breaker_samples (time);
CREATE TABLE IF NOT EXISTS breaker_state (
  tenant_id TEXT PRIMARY KEY, level TEXT NOT NULL, since REAL NOT NULL, reason TEXT NOT NULL,
  counting_from REAL NOT NULL, version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS breaker_audit (
  tenant_id TEXT NOT NULL, time REAL NOT NULL, from_level TEXT NOT NULL, to_level TEXT NOT NULL,
  actor TEXT NOT NULL, reason TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS breaker_audit_tenant ON breaker_audit (tenant_id, time);
"""

# Columns added to a table after its first release: (table, column, declaration). CREATE TABLE
# above already has them; a file made before gets them when it is opened (see add_columns).
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("webhook_endpoints", "pending", "INTEGER NOT NULL DEFAULT 0"),  # tracking: the batch in flight
)


class WriteLockBusy(Exception):
    """``Database.transaction(wait=False)``: another connection holds the file's write lock."""


def _busy(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite refused because another connection holds a lock (try again)."""
    return "locked" in str(exc) or "busy" in str(exc)


def _enter_wal(conn: sqlite3.Connection) -> None:
    """Put the file in WAL mode (once per file; then a no-op). Converting a file made by an
    older release, or a new one, takes an exclusive lock, and SQLite answers "database is
    locked" at once, without waiting in its busy handler, when another connection converts or
    reads it at that moment: the API and the workers of `postwave serve` open it together.
    So it is tried again, every 5 ms, for up to BUSY_SECONDS."""
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or time.monotonic() > deadline:
                raise
        time.sleep(0.005)


class _WalSync:
    """Makes commits made without an fsync (synchronous=NORMAL) durable within ``within``
    seconds: a thread fsyncs the WAL file that long after the first commit it has not
    covered yet. The WAL is one file written in order, so one fsync covers every commit
    before it, from any connection; an idle file costs nothing."""

    def __init__(self, path: str, within: float) -> None:
        self.wal = f"{path}-wal"
        self.within = within
        self.syncs = 0  # fsyncs done (read by tests)
        self._changed = threading.Condition()
        self._pending = False  # a commit has returned that no fsync has covered yet
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="postwave-wal-sync", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """A commit returned: it is on disk within ``within`` seconds."""
        if self._pending and not self._stopping:
            return  # the thread has yet to take the flag: its fsync will cover this commit
        with self._changed:
            if not self._stopping:
                self._pending = True
                self._changed.notify()
                return
        self._fsync()  # used after close(): no thread left to wait for

    def close(self) -> None:
        """Sync what is left at once, then stop the thread."""
        with self._changed:
            self._stopping = True
            self._changed.notify()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending or self._stopping)
                if not self._stopping:
                    self._changed.wait_for(lambda: self._stopping, timeout=self.within)
                # Taken before the fsync: a commit returning from here on sets it again and
                # gets the next round (or its own fsync, once stopping); those that returned
                # before are covered by this one.
                pending, stopping, self._pending = self._pending, self._stopping, False
            if pending:
                self._fsync()
            if stopping:
                return

    def _fsync(self) -> None:
        try:
            # Opened each time: SQLite deletes the WAL when the last connection closes, and a
            # new one is a new file.
            fd = os.open(self.wal, os.O_RDONLY)
        except FileNotFoundError:
            return  # checkpointed and removed: nothing left to sync
        except OSError as exc:
            log.error("cannot open %s to make the last commits durable: %s", self.wal, exc)
            return
        try:
            os.fsync(fd)
            self.syncs += 1
        except OSError as exc:
            log.error("fsync of %s failed: the last commits may not survive a power cut: %s", self.wal, exc)
        finally:
            os.close(fd)


#: Told, after each write transaction, the seconds it waited for the file's write lock and the
#: seconds it held it (BEGIN IMMEDIATE to COMMIT or ROLLBACK).
WriteLockObserver = Callable[[float, float], None]


class Database:
    """Per-thread connections to one SQLite file in WAL mode.

    ``synchronous``: FULL fsyncs the WAL before each commit returns; NORMAL does not (a
    crash of the process loses nothing, a power cut may lose the last commits). With NORMAL,
    ``sync_within`` > 0 bounds that loss: every commit is fsynced within that many seconds
    (see _WalSync). A FULL commit on the same file, from any process, makes the NORMAL
    commits before it durable too.

    ``on_write_lock``: called after every write transaction with the seconds it waited for the
    write lock and held it (open_database passes ``metrics.observe_write_lock``).
    """

    def __init__(self, path: str, *, synchronous: str = "FULL", sync_within: float = 0.0,
                 on_write_lock: WriteLockObserver | None = None) -> None:
        self.path = path
        self.synchronous = synchronous.upper()
        self.on_write_lock = on_write_lock
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._wal_sync = _WalSync(path, sync_within) if sync_within > 0 and self.synchronous == "NORMAL" else None
        directory = os.path.dirname(os.path.abspath(path))
        try:
            os.makedirs(directory, exist_ok=True)
            self.connection().executescript(SCHEMA)
            self.add_columns()
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailableError(f"cannot open the database {path}: {exc}") from exc

    def add_columns(self) -> None:
        """Add the ADDED_COLUMNS a file made by an older release lacks, in one write
        transaction (two processes opening the file at once add each column once)."""
        conn = self.connection()
        missing = [(t, c, d) for t, c, d in ADDED_COLUMNS
                   if c not in {row[1] for row in conn.execute(f"PRAGMA table_info({t})")}]
        if not missing:
            return
        with self.transaction() as conn:
            for table, column, declaration in missing:
                if column not in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
            _enter_wal(conn)
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA foreign_keys=OFF")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self, wait: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction: BEGIN IMMEDIATE takes the write lock up front, so two
        processes never deadlock upgrading a read lock.

        With ``wait=False`` it does not wait for another connection to give the lock up: it
        raises WriteLockBusy at once, nothing written, for a caller that would rather wait
        somewhere else (the API's group commit waits on a thread, not on its event loop).

        Opened inside another on the same thread, it joins that one: its writes commit (or
        roll back) with the outer transaction, so callers can make the store's and the
        queue's writes one commit (see Acceptor._write)."""
        conn = self.connection()
        if getattr(self._local, "depth", 0):
            self._local.depth += 1
            try:
                yield conn
            finally:
                self._local.depth -= 1
            return
        asked = time.monotonic()
        self._begin(conn, wait)
        taken = time.monotonic()
        self._local.depth = 1
        try:
            yield conn
            self._local.depth = 0
            conn.execute("COMMIT")
            if self._wal_sync is not None:
                self._wal_sync.committed()
        except BaseException as exc:
            self._local.depth = 0
            if conn.in_transaction:  # SQLite may have rolled back already (a full disk does)
                conn.execute("ROLLBACK")
            if _disk_full(exc):  # reliability: a full disk is an outage, not a bug (owner: fault helper)
                raise StoreUnavailableError(f"database disk is full ({self.path}): free space to accept "
                                            "mail again; nothing already accepted is lost") from exc
            raise
        finally:
            if self.on_write_lock is not None:
                self.on_write_lock(taken - asked, time.monotonic() - taken)

    @staticmethod
    def _begin(conn: sqlite3.Connection, wait: bool = True) -> None:
        # SQLite's own busy handler sleeps 1, 2, 5, 10 ... ms between tries, which puts
        # those sleeps straight into the acceptance latency when a worker holds the
        # write lock for a millisecond. Polling every 100-500 us hands the lock over
        # about as soon as it is free.
        deadline = time.monotonic() + BUSY_SECONDS
        pause = 0.0001
        conn.execute("PRAGMA busy_timeout=0")
        try:
            while True:
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if not _busy(exc):
                        raise StoreUnavailableError(f"database unavailable: {exc}") from exc
                    if not wait:
                        raise WriteLockBusy(str(exc)) from exc
                    if time.monotonic() > deadline:
                        raise StoreUnavailableError(f"database busy for {BUSY_SECONDS:g} s: {exc}") from exc
                time.sleep(pause)
                pause = min(pause * 1.5, 0.0005)
        finally:
            conn.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")

    def query(self, sql: str, params: tuple[object, ...] | list[object] = ()) -> list[tuple[object, ...]]:
        """Run a read and return every row."""
        try:
            return self.connection().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailableError(f"database read failed: {exc}") from exc

    @property
    def wal_syncs(self) -> int:
        """fsyncs made for commits made without one (sync_within); 0 without it."""
        return self._wal_sync.syncs if self._wal_sync is not None else 0

    def close(self) -> None:
        """Close every connection opened by any thread (after syncing the last commits)."""
        if self._wal_sync is not None:
            self._wal_sync.close()
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


def _disk_full(exc: BaseException) -> bool:
    """Whether SQLite failed for want of disk space (SQLITE_FULL)."""
    return isinstance(exc, sqlite3.OperationalError) and getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
