"""Requests an API stored on the CQL store but died before claiming their send_id.

Acceptance on Cassandra writes a request's messages first and claims its send_id second
(a lightweight transaction). An API killed -9 between the two leaves "orphans": messages
nobody was told about. The client, unanswered, retries with the same send_id and is
answered with new messages; the orphans must then never go out as well. These tests make
orphans with the store's own first half of ``accept`` and run the real scheduler over them.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from postwave.pipeline.schedule import SWEEP_GRACE, Scheduler
from postwave.queue.embedded import EmbeddedQueue
from postwave.store.base import AcceptedRequest, EventRecord, NewMessage
from postwave.store.cql import CqlStore
from postwave.store.cql_session import run_plan
from postwave.store.sqlite import Database
from postwave.v1 import send_pb2



@pytest.fixture
def queue(tmp_path: Path) -> EmbeddedQueue:
    return EmbeddedQueue(Database(str(tmp_path / "queue.db"), synchronous="NORMAL"))


def _scheduled(rid: str, send_id: str, *, age: float = 0.0, n: int = 2) -> AcceptedRequest:
    """A request of ``n`` messages due a second ago, accepted ``age`` seconds ago."""
    now = time.time()
    messages = tuple(NewMessage(f"{rid}-m{i}", i, f"u{i}@x.test", "scheduled") for i in range(n))
    response = send_pb2.SendResponse(send_id=send_id)
    for m in messages:
        response.messages.add(message_id=m.message_id, recipient=m.recipient, state="scheduled")
    return AcceptedRequest(
        request_id=rid, tenant_id="t1", send_id=send_id, batch_id="", body_hash=b"h", payload=b"p", lane="bulk",
        send_at=now - 1, created=now - age, expires=now + 3600, messages=messages,
        response=response.SerializeToString())


def _store_without_claiming(store: CqlStore, req: AcceptedRequest) -> None:
    """What an API killed -9 between the two halves of ``accept`` leaves behind."""
    events = [EventRecord(req.tenant_id, m.message_id, "scheduled", req.created) for m in req.messages]
    run_plan(store.run, store._write_plan([req], events, "d"))  # noqa: SLF001 - the crash window itself


def _states(store: CqlStore, *reqs: AcceptedRequest) -> dict[str, str]:
    return {m.message_id: m.state for m in store.get_messages([m.message_id for r in reqs for m in r.messages])}


async def test_scheduled_orphans_wait_for_the_retry_then_are_cancelled(store: CqlStore, queue: EmbeddedQueue) -> None:
    scheduler = Scheduler(store=store, queue=queue, interval=1.0)
    orphan = _scheduled("orphan", "retried")
    stale = _scheduled("stale", "never-retried", age=SWEEP_GRACE + 5)
    claimed = _scheduled("claimed", "answered")
    _store_without_claiming(store, orphan)
    _store_without_claiming(store, stale)
    assert [r.written for r in store.accept([claimed], [], "d")] == [True]

    # The orphan's client may still retry: held. One whose client had a minute and did not
    # retry goes out (it was stored; nothing else will send it), and so does a claimed one.
    assert await scheduler.release_due() == 4
    states = _states(store, orphan, stale, claimed)
    assert states == {"orphan-m0": "scheduled", "orphan-m1": "scheduled", "stale-m0": "accepted",
                      "stale-m1": "accepted", "claimed-m0": "accepted", "claimed-m1": "accepted"}
    assert (await queue.stats("bulk")).depth == 4

    # The client retries with the same send_id and is answered with new messages.
    retry = _scheduled("retry", "retried")
    assert [r.written for r in store.accept([retry], [], "d")] == [True]
    hit = store.get_idempotency("t1", "retried", time.time())
    assert hit is not None and hit.response == retry.response

    await scheduler.release_due()
    states = _states(store, orphan, retry)
    assert states == {"orphan-m0": "cancelled", "orphan-m1": "cancelled", "retry-m0": "accepted",
                      "retry-m1": "accepted"}
    assert (await queue.stats("bulk")).depth == 6  # the retry's two, never the orphan's
    details = [e.detail for e in store.list_events("t1", 0, ("cancelled",), "orphan-m0", 10)]
    assert details == ["superseded: a retry with the same send_id was accepted instead"]
    assert store.due_scheduled(time.time(), 100) == []


async def test_a_full_batch_of_held_orphans_does_not_spin_the_release(store: CqlStore, queue: EmbeddedQueue,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("postwave.pipeline.schedule.RELEASE_BATCH", 3)
    orphans = [_scheduled(f"o{i}", f"s{i}", n=1) for i in range(3)]
    for req in orphans:
        _store_without_claiming(store, req)
    scheduler = Scheduler(store=store, queue=queue, interval=1.0)
    assert await scheduler.release_due() == 0  # all held: the run loop waits for its next pass
    assert set(_states(store, *orphans).values()) == {"scheduled"}
    assert [r.written for r in store.accept([_scheduled("o0-retry", "s0", n=1)], [], "d")] == [True]
    await scheduler.release_due()
    assert _states(store, *orphans) == {"o0-m0": "cancelled", "o1-m0": "scheduled", "o2-m0": "scheduled"}
