"""Every write transaction on the embedded file reports how long it waited for the write lock
and how long it held it: the one lock the API's group commits and the workers' result writes
share (postwave_store_write_lock_wait_seconds, postwave_store_write_lock_held_seconds)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from postwave import config
from postwave.backends import open_backends
from postwave.store.sqlite import Database

HOLD = 0.3  # seconds the first writer keeps the lock


def _count(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_a_writer_behind_another_reports_the_wait_and_the_first_the_hold(tmp_path: Path) -> None:
    seen: list[tuple[str, float, float]] = []
    path = str(tmp_path / "postwave.db")
    first = Database(path, on_write_lock=lambda w, h: seen.append(("first", w, h)))
    second = Database(path, on_write_lock=lambda w, h: seen.append(("second", w, h)))
    for db in (first, second):
        db.connection().execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
    seen.clear()
    taken = threading.Event()

    def hold() -> None:
        with first.transaction() as conn:
            conn.execute("INSERT INTO t VALUES (1)")
            taken.set()
            time.sleep(HOLD)

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(10)
    with second.transaction() as conn:  # waits for the holder's COMMIT
        conn.execute("INSERT INTO t VALUES (2)")
    holder.join()
    assert [who for who, _, _ in seen] == ["first", "second"]
    (_, first_wait, first_held), (_, second_wait, second_held) = seen
    assert first_wait < HOLD and first_held >= HOLD
    assert second_wait >= HOLD / 2  # it asked after the first had the lock, got it after the COMMIT
    assert second_held < second_wait
    assert second.query("SELECT n FROM t ORDER BY n") == [(1,), (2,)]


def test_a_rolled_back_transaction_reports_its_hold_too(tmp_path: Path) -> None:
    seen: list[tuple[float, float]] = []
    db = Database(str(tmp_path / "postwave.db"), on_write_lock=lambda w, h: seen.append((w, h)))
    db.connection().execute("CREATE TABLE t (n INTEGER)")
    with pytest.raises(RuntimeError), db.transaction() as conn:
        conn.execute("INSERT INTO t VALUES (1)")
        time.sleep(0.05)
        raise RuntimeError("the caller failed halfway")
    assert len(seen) == 1 and seen[0][1] >= 0.05
    assert db.query("SELECT count(*) FROM t") == [(0,)]
    with db.transaction(), db.transaction():  # a nested one joins the outer: one report
        pass
    assert len(seen) == 2


def test_every_role_reports_to_the_metrics(tmp_path: Path) -> None:
    cfg = config.load({"data_dir": str(tmp_path)}, {})
    for role in ("api", "worker", "postwave"):
        store, _ = open_backends(cfg, role=role)
        try:
            waits = _count("postwave_store_write_lock_wait_seconds_count")
            helds = _count("postwave_store_write_lock_held_seconds_count")
            total = _count("postwave_store_write_lock_held_seconds_sum")
            with store.db.transaction() as conn:  # type: ignore[attr-defined]
                conn.execute("SELECT 1")
                time.sleep(0.02)
            assert _count("postwave_store_write_lock_wait_seconds_count") == waits + 1, role
            assert _count("postwave_store_write_lock_held_seconds_count") == helds + 1, role
            assert _count("postwave_store_write_lock_held_seconds_sum") >= total + 0.02, role
        finally:
            store.close()
