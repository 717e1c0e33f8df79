"""The events stream (PW_EVENTS) against a real NATS node and the session's Cassandra node:
workers' publishes, the store writer's ids and watermark, the suppression consumer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from prometheus_client import REGISTRY
from postwave.queue.nats import NatsQueue
from postwave.queue.nats_events import (
    EVENTS_STREAM,
    EventPublisher,
    ReputationConsumer,
    StoreWriter,
    SuppressionConsumer,
)
from postwave.store.base import Attempt, BreakerTotals, EventRecord, MessageRecord, Outcome
from postwave.store.cql import CqlStore

from tests.contract.cassandra import CassandraNode
from tests.servers.nats import NatsCluster

TENANT = "t_events"


def _outcome(i: int, state: str = "delivered", *, updated: float = 1.0, bounce: bool = False,
             breaker: str = "") -> Outcome:
    message_id = f"m{i:05d}"
    now = 1_800_000_000.0 + i
    events = [EventRecord(TENANT, message_id, state, now, f"detail {i}", f"r{i}@ok.test")]
    if bounce:
        events.append(EventRecord(TENANT, message_id, "suppressed", now, "address suppressed after bounced",
                                  f"r{i}@ok.test"))
    previous = MessageRecord(message_id, TENANT, "req", 0, f"r{i}@ok.test", "accepted", "transactional", "", "",
                             now - 5, updated, now + 3600, 0)
    attempt = Attempt(message_id, now, "mx.ok.test", 550 if bounce else 250, "5.1.1 no such user" if bounce else "ok",
                      state)
    return Outcome(message_id, TENANT, state, attempt, tuple(events),
                   (f"r{i}@ok.test", "bounce: 5.1.1 no such user") if bounce else None, previous,
                   breaker_stream=breaker)


async def _until(what: str, check: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def _sample(name: str) -> float:
    """A metric of this process's registry (the writer runs in the test's process)."""
    value = REGISTRY.get_sample_value(name)
    assert value is not None, name
    return value


def _feed(store: CqlStore) -> list[EventRecord]:
    return store.list_events(TENANT, 0, (), "", 10_000)


@pytest.fixture
def streamed_store(cassandra: CassandraNode, nats_node: NatsCluster) -> CqlStore:
    store = CqlStore(cassandra.config(queue="nats", nats_url=nats_node.url))
    yield store
    store.close()


async def _run_writer(queue: NatsQueue, store: CqlStore, until_written: int) -> StoreWriter:
    writer = StoreWriter(queue, store, batch=7)  # small batches: several watermark steps
    task = asyncio.get_running_loop().create_task(writer.run())
    try:
        await _until(f"{until_written} events stored", lambda: asyncio.sleep(0, writer.written >= until_written))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return writer


async def test_events_reach_the_store_once_in_stream_order_and_a_resumed_writer_repeats_the_same_ids(
        nats_node: NatsCluster, streamed_store: CqlStore) -> None:
    queue = NatsQueue(servers=nats_node.urls)
    publisher = EventPublisher(queue)
    try:
        rest = await publisher.publish_outcomes([_outcome(i) for i in range(20)])
        # What the store still records: the state, counting the attempt the stream carries.
        assert [o.events for o in rest] == [()] * 20 and [o.attempt for o in rest] == [_outcome(i).attempt
                                                                                     for i in range(20)]
        assert all(o.attempt_elsewhere for o in rest)
        # A worker killed before recording publishes the same outcomes again: the stream keeps one copy.
        await publisher.publish_outcomes([_outcome(i) for i in range(20)])
        js = await queue.jetstream()
        info = await js.stream_info(EVENTS_STREAM, subjects_filter="events.>")
        assert info.state.messages == 20
        assert info.state.subjects == {f"events.{TENANT}.delivered": 20}
        # Nothing stored yet: readers stop at the watermark, which has not moved.
        assert _feed(streamed_store) == []

        first = await _run_writer(queue, streamed_store, 20)
        feed = _feed(streamed_store)
        assert [e.message_id for e in feed] == [f"m{i:05d}" for i in range(20)]
        ids = [e.id for e in feed]
        assert ids == sorted(set(ids)) and len(ids) == 20
        assert streamed_store.event_watermark() == (20, ids[-1])
        assert _sample("postwave_events_stored_total") >= 20
        assert feed[3].detail == "detail 3" and feed[3].recipient == "r3@ok.test"
        assert [e.type for e in streamed_store.list_events(TENANT, 0, (), "m00004", 10)] == ["delivered"]
        assert streamed_store.get_attempts("m00004") == [_outcome(4).attempt]  # written with the event

        # A writer that died after writing but before its watermark: the successor starts
        # from the older watermark, writes the same events under the same ids, no copies.
        streamed_store.set_event_watermark(6, ids[5])
        await publisher.publish_outcomes([_outcome(i) for i in range(20, 25)])
        second = await _run_writer(queue, streamed_store, 19)
        assert first.written == 20 and second.written == 19
        again = _feed(streamed_store)
        assert [e.id for e in again][:20] == ids
        assert [e.message_id for e in again] == [f"m{i:05d}" for i in range(25)]
        assert len({e.id for e in again}) == 25
        assert [len(streamed_store.get_attempts(f"m{i:05d}")) for i in range(25)] == [1] * 25
    finally:
        await queue.close()


async def test_an_idle_writer_moves_the_watermark_to_the_present(nats_node: NatsCluster,
                                                                  streamed_store: CqlStore) -> None:
    queue = NatsQueue(servers=nats_node.urls)
    writer = StoreWriter(queue, streamed_store, idle_wait=0.2)
    task = asyncio.get_running_loop().create_task(writer.run())
    try:
        before = time.time()
        await _until("the watermark to pass the start of the test",
                     lambda: asyncio.sleep(0, streamed_store.event_watermark()[1] > int(before * 1e6) * 1000))
        # An event another process writes directly (an acceptance) becomes visible with it.
        streamed_store.record_feedback([EventRecord(TENANT, "m-direct", "accepted", time.time())], [])
        await _until("the direct event to be readable",
                     lambda: asyncio.sleep(0, [e.message_id for e in _feed(streamed_store)] == ["m-direct"]))
        # The next streamed event gets an id above the watermark the idle writer set.
        mark = streamed_store.event_watermark()[1]
        await EventPublisher(queue).publish_outcomes([_outcome(1)])
        await _until("the streamed event", lambda: asyncio.sleep(0, len(_feed(streamed_store)) == 2))
        assert _feed(streamed_store)[-1].id > mark
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await queue.close()


async def test_bounces_suppress_their_addresses_through_the_suppression_consumer(
        nats_node: NatsCluster, streamed_store: CqlStore) -> None:
    queue = NatsQueue(servers=nats_node.urls)
    consumer = SuppressionConsumer(queue, streamed_store)
    task = asyncio.get_running_loop().create_task(consumer.run())
    try:
        rest = await EventPublisher(queue).publish_outcomes([_outcome(1, "bounced", bounce=True), _outcome(2)])
        assert [o.suppress for o in rest] == [None, None]  # the stream carries the suppression now
        await _until("the suppression", lambda: asyncio.sleep(0, consumer.written == 1))
        now = time.time()
        assert streamed_store.suppressed(TENANT, ["r1@ok.test", "r2@ok.test"], now) == {
            "r1@ok.test": "bounce: 5.1.1 no such user"}
        entry = streamed_store.get_suppression(TENANT, "r1@ok.test", now)
        assert entry is not None and entry.source == "bounced" and entry.message_id == "m00001"
        assert int(entry.source_event_id) > 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await queue.close()


async def test_outcomes_count_toward_their_tenant_breaker_through_the_reputation_consumer(
        nats_node: NatsCluster, streamed_store: CqlStore) -> None:
    queue = NatsQueue(servers=nats_node.urls)
    since = time.time()
    outcomes = ([_outcome(i, breaker="transactional") for i in range(6)]
                + [_outcome(i, "bounced", breaker="transactional") for i in range(6, 9)]
                + [_outcome(i, "bounced", breaker="bulk") for i in range(9, 11)]
                + [_outcome(i, "bounced") for i in range(11, 15)])  # a refusal of our IP: not the tenant's
    # Published before the consumer first runs: a new consumer counts the stream from its start.
    rest = await EventPublisher(queue).publish_outcomes(outcomes)
    assert {o.breaker_stream for o in rest} == {""}  # the store does not count them again
    consumer = ReputationConsumer(queue, streamed_store.add_breaker_samples, every=0.2, writer="reputation:test")
    task = asyncio.get_running_loop().create_task(consumer.run())
    try:
        await _until("the counts", lambda: asyncio.sleep(0, consumer.counted == 11))
        until = time.time() + 1
        assert streamed_store.breaker_totals(TENANT, "transactional", since, until) == BreakerTotals(6, 3, 0)
        assert streamed_store.breaker_totals(TENANT, "bulk", since, until) == BreakerTotals(0, 2, 0)
        # Acknowledged once written: a consumer started again counts nothing twice.
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        again = ReputationConsumer(queue, streamed_store.add_breaker_samples, every=0.2, writer="reputation:test2")
        task = asyncio.get_running_loop().create_task(again.run())
        await EventPublisher(queue).publish_outcomes([_outcome(20, breaker="bulk")])
        await _until("the new count", lambda: asyncio.sleep(0, again.counted == 1))
        assert streamed_store.breaker_totals(TENANT, "bulk", since, time.time() + 1) == BreakerTotals(1, 2, 0)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await queue.close()
