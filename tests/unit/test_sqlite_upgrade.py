"""A database file made by an earlier release gets the columns added since, and keeps its rows."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from postwave.store.embedded import EmbeddedStore
from postwave.store.sqlite import ADDED_COLUMNS, Database

# webhook_endpoints as the first release made it, before ``pending``.
OLD_WEBHOOKS = """
CREATE TABLE webhook_endpoints (
  endpoint_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, url TEXT NOT NULL, event_types TEXT NOT NULL,
  secret TEXT NOT NULL, previous_secret TEXT NOT NULL, previous_until REAL NOT NULL, state TEXT NOT NULL,
  cursor INTEGER NOT NULL, failing_since REAL NOT NULL, created REAL NOT NULL, detail TEXT NOT NULL);
INSERT INTO webhook_endpoints VALUES ('w1', 't1', 'https://hooks.example/x', 'delivered', 'whsec_a', '', 0.0,
  'active', 41, 0.0, 1.0, '');
"""


def _columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def test_an_older_file_gets_the_new_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_WEBHOOKS)
    assert "pending" not in _columns(path, "webhook_endpoints")
    db = Database(str(path))
    try:
        store = EmbeddedStore(db)
        old = store.get_webhook("w1")
        assert (old.cursor, old.pending, old.event_types) == (41, 0, ("delivered",))
        store.set_webhook_pending("w1", 45)
        assert store.get_webhook("w1").pending == 45
    finally:
        db.close()
    for table, column, _ in ADDED_COLUMNS:
        assert column in _columns(path, table), (table, column)
    Database(str(path)).close()  # opening it again adds nothing twice


@pytest.mark.parametrize("attempt", range(60))
def test_processes_opening_an_older_file_at_once_add_each_column_once(tmp_path: Path, attempt: int) -> None:
    # Four openers race to put the old file in WAL mode and add its columns; SQLite refuses
    # the conversion at once (no busy wait) to whichever loses, so a single race passes by
    # luck most of the time: it is run 60 times.
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_WEBHOOKS)
    errors: list[BaseException] = []
    opened: list[Database] = []
    start = threading.Barrier(4)

    def open_it() -> None:
        start.wait()
        try:
            opened.append(Database(str(path)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for db in opened:
        db.close()
    assert errors == [] and len(opened) == 4
    assert _columns(path, "webhook_endpoints").count("pending") == 1
