"""A worker on the embedded store and queue keeps its write transactions few.

Every write transaction on the shared SQLite file takes the write lock the API's acceptance
commits need, and costs an fsync and two thread hand-offs. So a flush writes its results and
settles their queue items in one transaction, and a claim that emptied the lanes is followed
by a short pause, so mail trickling in is claimed a few messages at a time. The flush runs on
the worker's event loop when the lock is free at once (worker_commit_on_loop), and waits for a
taken lock on a thread.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import traceback
from pathlib import Path
from typing import Any

import pytest

from postwave import config as config_mod
from postwave.app import bootstrap
from postwave.backends import open_backends
from postwave.pipeline import worker as worker_mod
from postwave.pipeline.accept import Acceptor
from postwave.pipeline.worker import build_worker
from postwave.queue.base import Lease
from postwave.render.templates import TemplateEngine
from postwave.store.sqlite import Database

from tests.integration.test_accept_lookups import _request


async def _run(tmp_path: Path, make_smtp_peer: Any, offer: Any, watch: Any, **options: Any) -> list[str]:
    """Accept what ``offer(send)`` sends while a worker delivers to a real SMTP peer;
    ``watch(worker, db)`` instruments the worker first. The ids, once all are delivered."""
    peer = make_smtp_peer()
    config = config_mod.load({
        "data_dir": str(tmp_path), "admin_listen": "", "route_all_to": f"{peer.address}:25",
        "helo_name": "postwave.test", "smtp_starttls": False, "worker_concurrency": 64, **options,
    }, environ={})
    store, queue = open_backends(config)
    assert bootstrap(store, config)
    tenant_id = store.list_tenants()[0].tenant_id
    acceptor = Acceptor(store=store, queue=queue, config=config, engine=TemplateEngine())
    acceptor.start()
    wstore, wqueue = open_backends(config)
    worker, pool = build_worker(config, wstore, wqueue)
    watch(worker, wstore.db)  # type: ignore[attr-defined]
    task = asyncio.get_running_loop().create_task(worker.run())
    try:
        ids = await offer(lambda i: acceptor.send(tenant_id, _request(i)))
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            states = {m.state for m in await asyncio.to_thread(store.get_messages, ids)}
            if states == {"delivered"}:
                break
            assert asyncio.get_running_loop().time() < deadline, f"not delivered in 60 s: {states}"
            await asyncio.sleep(0.05)
        while await asyncio.to_thread(store.db.query, "SELECT 1 FROM queue LIMIT 1"):  # type: ignore[attr-defined]
            assert asyncio.get_running_loop().time() < deadline, "queue items never acknowledged"
            await asyncio.sleep(0.05)
        return ids
    finally:
        worker.stop()
        await task
        await pool.close()
        await acceptor.stop()
        for q, s in ((wqueue, wstore), (queue, store)):
            await q.close()
            s.close()


async def test_a_flush_writes_results_and_settles_the_queue_in_one_transaction(
        tmp_path: Path, make_smtp_peer: Any) -> None:
    begun: list[str] = []  # what each write transaction of the worker's file was for

    def watch(worker: Any, db: Database) -> None:
        plain = db._begin

        def counting_begin(conn: sqlite3.Connection, wait: bool = True) -> None:
            names = {frame.name for frame in traceback.extract_stack()}
            results = {"record_outcomes", "_settle_together"} & names
            begun.append("results" if results else "ack" if "_ack" in names else "other")
            plain(conn, wait)

        db._begin = counting_begin  # type: ignore[method-assign]

    async def offer(send: Any) -> list[str]:
        responses = await asyncio.gather(*(send(i) for i in range(20)))
        return [r.messages[0].message_id for r in responses]

    ids = await _run(tmp_path, make_smtp_peer, offer, watch)
    assert len(ids) == 20
    assert "results" in begun, begun
    assert "ack" not in begun, f"acknowledgements took transactions of their own: {begun}"


async def test_a_claim_that_empties_the_lanes_is_followed_by_a_pause(
        tmp_path: Path, make_smtp_peer: Any) -> None:
    claims: list[tuple[float, int, int]] = []  # loop time, asked, got (both lanes)

    def watch(worker: Any, db: Database) -> None:
        plain = worker.queue.claim_lanes

        async def recording_claim(limit: int, bulk_room: int,
                                  lease_seconds: float) -> tuple[list[Lease], list[Lease]]:
            started = asyncio.get_running_loop().time()
            transactional, bulk = await plain(limit, bulk_room, lease_seconds)
            claims.append((started, limit, len(transactional) + len(bulk)))
            return transactional, bulk

        worker.queue.claim_lanes = recording_claim

    async def offer(send: Any) -> list[str]:
        ids = []
        for i in range(30):  # a trickle: one request every 3 ms
            ids.append((await send(i)).messages[0].message_id)
            await asyncio.sleep(0.003)
        return ids

    await _run(tmp_path, make_smtp_peer, offer, watch)
    gaps = [later[0] - earlier[0] for earlier, later in zip(claims, claims[1:]) if 0 < earlier[2] < earlier[1]]
    assert gaps, f"no claim took some but not all it asked for: {claims}"
    # The pause is a sleep: never shorter (less a timer's rounding), however loaded the machine.
    assert min(gaps) >= worker_mod.CLAIM_PAUSE * 0.8, f"claims {min(gaps) * 1000:.1f} ms apart after emptying the lanes"
    assert sum(got for _, _, got in claims) >= 30



async def _results_begins(tmp_path: Path, make_smtp_peer: Any, *, hold_first: float = 0.0,
                          **options: Any) -> tuple[list[tuple[bool, bool]], Any]:
    """Deliver 20 messages; for each write transaction of the worker's results: (on the event
    loop's thread, waiting for the lock allowed). ``hold_first``: another connection takes the
    write lock just before the first of them and keeps it that many seconds."""
    begun: list[tuple[bool, bool]] = []
    workers: list[Any] = []
    loop_thread = threading.get_ident()

    def watch(worker: Any, db: Database) -> None:
        workers.append(worker)
        plain = db._begin

        def noting_begin(conn: sqlite3.Connection, wait: bool = True) -> None:
            if "_settle_together" in {frame.name for frame in traceback.extract_stack()}:
                if hold_first and not begun:
                    other = sqlite3.connect(db.path, isolation_level=None, check_same_thread=False)
                    other.execute("BEGIN IMMEDIATE")
                    threading.Timer(hold_first, lambda: (other.execute("COMMIT"), other.close())).start()
                begun.append((threading.get_ident() == loop_thread, wait))
            plain(conn, wait)

        db._begin = noting_begin  # type: ignore[method-assign]

    async def offer(send: Any) -> list[str]:
        responses = await asyncio.gather(*(send(i) for i in range(20)))
        return [r.messages[0].message_id for r in responses]

    ids = await _run(tmp_path, make_smtp_peer, offer, watch, **options)
    assert len(ids) == 20  # every one delivered and acknowledged (_run waits for both)
    return begun, workers[0]


@pytest.mark.parametrize("on_loop", [True, False])
async def test_results_are_written_on_the_loop_when_the_write_lock_is_free(
        tmp_path: Path, make_smtp_peer: Any, on_loop: bool) -> None:
    begun, worker = await _results_begins(tmp_path, make_smtp_peer, worker_commit_on_loop=on_loop)
    assert begun
    if on_loop:
        # The acceptor commits on the same loop, never at the same time: the lock is free.
        assert set(begun) == {(True, False)}
        assert (worker.commits_on_loop, worker.commits_on_thread) == (len(begun), 0)
    else:
        assert set(begun) == {(False, True)}
        assert (worker.commits_on_loop, worker.commits_on_thread) == (0, 0)


async def test_results_wait_for_a_taken_write_lock_on_a_thread_not_on_the_loop(
        tmp_path: Path, make_smtp_peer: Any) -> None:
    begun, worker = await _results_begins(tmp_path, make_smtp_peer, hold_first=0.3)
    # The first flush tried the loop without waiting, found the lock taken and, nothing
    # written, waited for it on a thread; the flushes after it found the lock free again.
    assert begun[:2] == [(True, False), (False, True)]
    assert set(begun[2:]) <= {(True, False)}
    assert worker.commits_on_thread == 1 and worker.commits_on_loop == len(begun) - 2
