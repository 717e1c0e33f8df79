"""The embedded store and queue share a SQLite file: acceptance writes both in one transaction.

One write lock and one fsync per group commit instead of two, and no moment at which a
request is stored but not yet queued.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from postwave import config as config_mod
from postwave.app import bootstrap
from postwave.backends import open_backends
from postwave.pipeline.accept import Acceptor
from postwave.render.templates import TemplateEngine
from postwave.store.sqlite import Database, WriteLockBusy

from tests.integration.test_accept_lookups import _request


async def test_a_group_commit_stores_and_queues_in_one_transaction(tmp_path: Path) -> None:
    config = config_mod.load({"data_dir": str(tmp_path), "admin_listen": ""}, environ={})
    store, queue = open_backends(config)
    assert bootstrap(store, config)
    tenant_id = store.list_tenants()[0].tenant_id
    db: Database = store.db  # type: ignore[attr-defined]
    begins: list[int] = []
    plain_begin = db._begin

    def counting_begin(conn: sqlite3.Connection, wait: bool = True) -> None:
        begins.append(1)
        plain_begin(conn, wait)

    acceptor = Acceptor(store=store, queue=queue, config=config, engine=TemplateEngine())
    acceptor.start()
    try:
        await acceptor.send(tenant_id, _request(0))  # lookups cached; the tenant's usage row made
        db._begin = counting_begin  # type: ignore[method-assign]
        response = await acceptor.send(tenant_id, _request(1))
        assert len(begins) == 1, f"{len(begins)} write transactions for one request"
        message_id = response.messages[0].message_id
        assert [m.message_id for m in store.get_messages([message_id])] == [message_id]
        queued = db.query("SELECT message_id FROM queue WHERE message_id=?", (message_id,))
        assert queued == [(message_id,)]
    finally:
        await acceptor.stop()
        await queue.close()
        store.close()


def test_a_transaction_opened_inside_another_joins_it(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "nested.db"))
    try:
        db.connection().execute("CREATE TABLE t (v INTEGER)")
        with db.transaction() as outer:
            outer.execute("INSERT INTO t VALUES (1)")
            with db.transaction() as inner:
                assert inner is outer
                inner.execute("INSERT INTO t VALUES (2)")
            assert outer.in_transaction  # the inner one did not commit
        assert db.query("SELECT v FROM t ORDER BY v") == [(1,), (2,)]

        with pytest.raises(RuntimeError):
            with db.transaction() as outer:
                outer.execute("INSERT INTO t VALUES (3)")
                with db.transaction() as inner:
                    inner.execute("INSERT INTO t VALUES (4)")
                    raise RuntimeError("fails inside")
        assert db.query("SELECT v FROM t ORDER BY v") == [(1,), (2,)]  # both rolled back

        with db.transaction() as again:  # a new top-level transaction after the failure
            again.execute("INSERT INTO t VALUES (5)")
        assert db.query("SELECT count(*) FROM t") == [(3,)]
    finally:
        db.close()


@asynccontextmanager
async def _acceptor(tmp_path: Path, linger_ms: float, **options: Any) -> AsyncIterator[tuple[Acceptor, Database, str]]:
    """A started Acceptor on a fresh embedded directory, its store's database and tenant; stopped after."""
    config = config_mod.load({"data_dir": str(tmp_path), "admin_listen": "", "accept_linger_ms": linger_ms,
                              **options}, environ={})
    store, queue = open_backends(config)
    assert bootstrap(store, config)
    acceptor = Acceptor(store=store, queue=queue, config=config, engine=TemplateEngine())
    acceptor.start()
    try:
        yield acceptor, store.db, store.list_tenants()[0].tenant_id  # type: ignore[attr-defined]
    finally:
        await acceptor.stop()
        await queue.close()
        store.close()


@pytest.mark.parametrize("linger_ms", [0.0, 1000.0])
async def test_with_a_linger_requests_arriving_together_share_a_commit(tmp_path: Path, linger_ms: float) -> None:
    async with _acceptor(tmp_path, linger_ms) as (acceptor, db, tenant_id):
        begins: list[int] = []
        plain_begin = db._begin

        def counting_begin(conn: sqlite3.Connection, wait: bool = True) -> None:
            begins.append(1)
            plain_begin(conn, wait)

        # Three at once: a commit with company, after which small commits wait for more.
        await asyncio.gather(*(acceptor.send(tenant_id, _request(i)) for i in range(3)))
        db._begin = counting_begin  # type: ignore[method-assign]

        async def later(i: int) -> Any:
            await asyncio.sleep(0.1 * (i - 3))
            return await acceptor.send(tenant_id, _request(i))

        responses = await asyncio.gather(*(later(i) for i in range(3, 6)))  # 100 ms apart
        assert all(len(r.messages) == 1 for r in responses)
        # Without a linger each goes alone; with one they wait for each other.
        assert len(begins) == (1 if linger_ms else 3), f"{len(begins)} commits for 3 requests"


async def test_a_lone_client_never_waits_for_a_linger(tmp_path: Path) -> None:
    async with _acceptor(tmp_path, 5000.0) as (acceptor, db, tenant_id):
        loop = asyncio.get_running_loop()
        started = loop.time()
        for i in range(3):  # one at a time, each answered before the next is sent
            response = await acceptor.send(tenant_id, _request(i))
            assert len(response.messages) == 1
        # Each commit had no company, so none waited the 5 s: a broken gate takes 10 s or more.
        assert loop.time() - started < 5.0


async def test_requests_further_apart_than_the_linger_never_wait_for_it(tmp_path: Path) -> None:
    # Commits on a thread: the second request arrives while the first one's commit runs (a
    # commit on the loop would hold its arrival back until the commit ended).
    async with _acceptor(tmp_path, 1000.0, accept_commit_on_loop=False) as (acceptor, db, tenant_id):
        plain_begin = db._begin
        slow = [0.3]

        def slow_begin(conn: sqlite3.Connection, wait: bool = True) -> None:
            time.sleep(slow.pop() if slow else 0)  # the first commit takes 0.3 s: the next request waits for it
            plain_begin(conn, wait)

        loop = asyncio.get_running_loop()
        await acceptor.send(tenant_id, _request(0))
        await asyncio.sleep(2.5)  # requests so far come 2.5 s apart: slower than one a linger
        db._begin = slow_begin  # type: ignore[method-assign]

        async def timed(i: int, after: float) -> float:
            await asyncio.sleep(after)
            started = loop.time()
            await acceptor.send(tenant_id, _request(i))
            return loop.time() - started

        # The second arrives while the first one's commit runs, so that commit has company,
        # which alone would make the second one's commit linger its 1 s; at this arrival rate
        # (three requests in 2.6 s: a mean gap of 1.3 s, longer than the linger) it must not.
        first, second = await asyncio.gather(timed(1, 0), timed(2, 0.1))
        assert second < 1.0, f"the second request took {second:.2f} s"


@pytest.mark.parametrize("on_loop", [True, False])
async def test_a_commit_runs_on_the_loop_unless_another_process_holds_the_write_lock(
        tmp_path: Path, on_loop: bool) -> None:
    async with _acceptor(tmp_path, 0.0, accept_commit_on_loop=on_loop) as (acceptor, db, tenant_id):
        plain_begin = db._begin
        threads: list[int] = []

        def noting_begin(conn: sqlite3.Connection, wait: bool = True) -> None:
            threads.append(threading.get_ident())
            plain_begin(conn, wait)

        db._begin = noting_begin  # type: ignore[method-assign]
        loop_thread = threading.get_ident()
        await acceptor.send(tenant_id, _request(0))
        if on_loop:
            assert threads == [loop_thread]
        else:
            assert len(threads) == 1 and threads[0] != loop_thread
        assert (acceptor.commits_on_loop, acceptor.commits_on_thread) == ((1, 0) if on_loop else (0, 0))

        # Another process (a worker writing its results) holds the write lock for a while.
        reads: list[int] = []
        plain_suppressed = acceptor.store.suppressed

        def noting_suppressed(*args: object, **kwargs: object) -> object:
            reads.append(threading.get_ident())
            return plain_suppressed(*args, **kwargs)

        acceptor.store.suppressed = noting_suppressed  # type: ignore[method-assign]
        other = sqlite3.connect(db.path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            threads.clear()
            sending = asyncio.ensure_future(acceptor.send(tenant_id, _request(1)))
            ticks = 0
            for _ in range(20):  # the loop keeps running while the commit waits for the lock
                await asyncio.sleep(0.01)
                ticks += 1
            assert not sending.done() and ticks == 20
            other.execute("COMMIT")
        finally:
            other.close()
        response = await asyncio.wait_for(sending, 30)
        message_id = response.messages[0].message_id
        assert db.query("SELECT message_id FROM queue WHERE message_id=?", (message_id,)) == [(message_id,)]
        assert threads and loop_thread != threads[-1]  # it committed on a thread
        if on_loop:
            assert threads[0] == loop_thread  # after trying the loop first, without waiting there
            assert (acceptor.commits_on_loop, acceptor.commits_on_thread) == (1, 1)
            assert reads == [loop_thread]  # the thread reused the loop's reads, not made them again
        else:
            assert len(reads) == 1 and reads[0] != loop_thread


def test_a_transaction_that_must_not_wait_raises_at_once_and_writes_nothing(tmp_path: Path) -> None:
    db = Database(str(tmp_path / "busy.db"))
    other = sqlite3.connect(str(tmp_path / "busy.db"), isolation_level=None)
    try:
        db.connection().execute("CREATE TABLE t (v INTEGER)")
        other.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(WriteLockBusy):
            with db.transaction(wait=False) as conn:
                conn.execute("INSERT INTO t VALUES (1)")
        assert time.monotonic() - started < 5  # it did not wait out the 30 s busy timeout
        other.execute("COMMIT")
        assert db.query("SELECT count(*) FROM t") == [(0,)]
        with db.transaction(wait=False) as conn:  # free now
            conn.execute("INSERT INTO t VALUES (2)")
        assert db.query("SELECT v FROM t") == [(2,)]
    finally:
        other.close()
        db.close()
