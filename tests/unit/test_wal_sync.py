"""Delivery workers commit to the embedded file without an fsync; a thread makes their commits
durable within sqlite_worker_sync_seconds, and every other role fsyncs each commit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from postwave import config
from postwave.backends import open_backends
from postwave.errors import InvalidArgumentError
from postwave.store.sqlite import Database

SYNCHRONOUS = {1: "NORMAL", 2: "FULL"}  # PRAGMA synchronous answers a number


def _mode(store: object) -> str:
    db: Database = store.db  # type: ignore[attr-defined]
    return SYNCHRONOUS[db.connection().execute("PRAGMA synchronous").fetchone()[0]]


@pytest.mark.parametrize(("settings", "worker", "others"), [
    ({}, "NORMAL", "FULL"),
    ({"sqlite_worker_sync_seconds": "0"}, "FULL", "FULL"),
    ({"sqlite_synchronous": "NORMAL"}, "NORMAL", "NORMAL"),
])
def test_only_delivery_workers_skip_the_fsync(tmp_path: Path, settings: dict[str, str], worker: str,
                                              others: str) -> None:
    cfg = config.load({"data_dir": str(tmp_path), **settings}, {})
    for role, expected in [("worker", worker), ("api", others), ("feedback", others), ("postwave", others)]:
        store, _ = open_backends(cfg, role=role)
        try:
            assert _mode(store) == expected, role
        finally:
            store.close()


def _commit(db: Database, n: int) -> None:
    with db.transaction() as conn:
        conn.execute("INSERT INTO usage VALUES (?,?,?)", ("t1", f"2026-11-{n:02d}", n))


def _wait_for(predicate: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_a_commit_without_fsync_is_synced_soon_after_and_an_idle_file_never(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "p.db"), synchronous="NORMAL", sync_within=0.05)
    try:
        time.sleep(0.3)
        assert db.wal_syncs == 0  # nothing committed: nothing to sync
        _commit(db, 1)
        _commit(db, 2)
        assert _wait_for(lambda: db.wal_syncs >= 1)
        time.sleep(0.3)
        synced = db.wal_syncs
        assert synced <= 2  # two quick commits share a sync (at most one each)
        time.sleep(0.3)
        assert db.wal_syncs == synced  # idle: no more fsyncs
        _commit(db, 3)
        assert _wait_for(lambda: db.wal_syncs == synced + 1)
    finally:
        db.close()


def test_closing_syncs_the_last_commits_without_waiting_out_the_bound(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "p.db"), synchronous="NORMAL", sync_within=3600)
    _commit(db, 1)
    assert db.wal_syncs == 0
    db.close()  # would take an hour if it waited for the bound
    assert db.wal_syncs == 1
    _commit(db, 2)  # used again after close: synced at once, no thread left to wait for
    assert db.wal_syncs == 2
    db.close()


def test_full_commits_need_no_sync_thread(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "p.db"), sync_within=0.01)  # FULL: SQLite fsyncs each commit itself
    try:
        _commit(db, 1)
        time.sleep(0.2)
        assert db.wal_syncs == 0
    finally:
        db.close()


@pytest.mark.parametrize("value", ["-1", "nan", "inf"])
def test_the_bound_is_zero_or_a_finite_number_of_seconds(value: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        config.load({"sqlite_worker_sync_seconds": value}, {})
    assert info.value.field == "sqlite_worker_sync_seconds" and "0" in info.value.message
    assert config.load({}, {}).sqlite_worker_sync_seconds == 1.0
