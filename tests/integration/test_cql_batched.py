"""The CQL store's cheaper statements (benchmarks/bench_cql.py --cpu): multi-partition reads,
statements joined per partition key, one report per window of statements.

Each test shows that the cheaper form gives the same answers and writes as before, including
where it pages, groups or fails.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cassandra import InvalidRequest
from cassandra.query import BatchStatement
from postwave.store import cql_messages
from postwave.store.base import (
    AcceptedRequest,
    Attempt,
    EventRecord,
    NewMessage,
    Outcome,
)
from postwave.store.cql import CqlStore
from postwave.store.cql_session import BATCH_ROWS, CallList, colocated, run_plan
from postwave.store.embedded import EmbeddedStore
from postwave.store.sqlite import Database
from postwave.v1 import send_pb2

from tests.contract.cassandra import ROOT, CassandraNode, cassandra

__all__ = ["cassandra"]  # the session's Cassandra node, a fixture

NODE_LOG = Path(os.environ.get("POSTWAVE_CASSANDRA_DIR", ROOT / "var" / "cassandra")) / "logs" / "system.log"


@pytest.fixture(scope="module")
def store(cassandra: CassandraNode) -> Iterator[CqlStore]:
    """A CQL store on an empty keyspace, one for the module (each test uses ids of its own)."""
    owner = cassandra.hold(__name__)
    cql = CqlStore(cassandra.config(owner=owner))
    yield cql
    cql.close()
    cassandra.release(owner)


def _request(rid: str, payload: bytes, n: int = 1) -> AcceptedRequest:
    now = time.time()
    return AcceptedRequest(
        request_id=rid, tenant_id="t1", send_id="", batch_id="", body_hash=b"h", payload=payload,
        lane="bulk", send_at=now, created=now, expires=now + 3600,
        messages=tuple(NewMessage(f"{rid}-m{i}", i, f"u{i}@x.test", "accepted") for i in range(n)),
        response=b"r",
    )


def _html_payload(i: int) -> bytes:
    """A ~21 KB SendRequest: an HTML newsletter with its text alternative."""
    rows = "".join(f"<tr><td class='item'>Item {n} of order {i}</td><td>{n * 7 % 13}.99 EUR</td></tr>"
                   for n in range(210))
    html = f"<html><body><h1>Your order {i}</h1><table>{rows}</table></body></html>"
    text = "\n".join(f"Item {n} of order {i}: {n * 7 % 13}.99 EUR" for n in range(210))
    return send_pb2.SendRequest(subject=f"Order {i}", html=html, text=text,
                                personalizations=[send_pb2.Personalization(to=[f"u{i}@x.test"])]).SerializeToString()


def test_payloads_of_many_requests_in_few_reads_pages_and_all(store: CqlStore, tmp_path,  # type: ignore[no-untyped-def]
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    big = bytes(range(256)) * (10 * 1024)  # 2.5 MiB: three chunks, read over two pages below
    reqs = [_request("big", big), _request("empty", b""), *(_request(f"r{i}", f"p{i}".encode()) for i in range(5))]
    store.accept(reqs, [], "d")
    db = Database(str(tmp_path / "e.db"), synchronous="NORMAL")
    embedded = EmbeddedStore(db)
    embedded.accept(reqs, [], "d")
    monkeypatch.setattr(cql_messages, "PAYLOAD_READ_GROUP", 3)  # three reads for seven requests
    monkeypatch.setattr(cql_messages, "PAYLOAD_PAGE_ROWS", 2)  # and the big one's chunks over pages
    asked = ["missing", *(r.request_id for r in reqs), "big"]
    expected = {r.request_id: r.payload for r in reqs}
    assert store.get_payloads(asked) == expected
    assert embedded.get_payloads(asked) == expected
    db.close()
    assert store.get_payloads([]) == {}


async def test_payloads_on_the_asyncio_face(store: CqlStore) -> None:
    store.accept([_request("fa", b"pa"), _request("fb", b"pb")], [], "d")
    assert await store.get_payloads_async(["fa", "fb", "fc"]) == {"fa": b"pa", "fb": b"pb"}


def test_messages_are_read_in_groups_with_the_same_answers(store: CqlStore,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    store.accept([_request("g", b"p", n=7)], [], "d")
    monkeypatch.setattr(cql_messages, "READ_GROUP", 2)  # four reads for seven messages
    ids = [f"g-m{i}" for i in (6, 0, 3, 5, 1, 2, 4)]
    got = store.get_messages(["nope", *ids, "g-m0"])
    assert [m.message_id for m in got] == ids  # in the order asked, missing ones left out, once each
    assert [m.index for m in got] == [6, 0, 3, 5, 1, 2, 4]


def test_outcomes_joined_per_message_write_attempts_events_and_state(store: CqlStore) -> None:
    reqs = [_request(f"o{i}", b"p") for i in range(3)]
    store.accept(reqs, [EventRecord("t1", r.messages[0].message_id, "accepted", time.time()) for r in reqs], "d")
    now = time.time()
    outcomes = [Outcome(m, "t1", "delivered", Attempt(m, now, "mx.x.test", 250, "ok", "delivered"),
                        (EventRecord("t1", m, "delivered", now), EventRecord("t1", m, "opened", now)))
                for m in (r.messages[0].message_id for r in reqs)]
    store.record_outcomes(outcomes)
    for r in reqs:
        m = r.messages[0].message_id
        assert store.get_message(m).state == "delivered" and store.get_message(m).attempt_count == 1
        assert [a.smtp_code for a in store.get_attempts(m)] == [250]
        assert [e.type for e in store.list_events("t1", 0, (), m, 10)] == ["accepted", "delivered", "opened"]
    delivered = {e.message_id for e in store.list_events("t1", 0, ("delivered",), "", 100)}
    assert delivered >= {o.message_id for o in outcomes}
    still = {m.message_id for m in store.messages_in_state("accepted", "", 100)}
    assert not still & {o.message_id for o in outcomes}  # the state index followed


def test_outcomes_take_the_previous_state_from_the_worker_instead_of_reading_it(store: CqlStore,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker passes the message as it read it: no second read, and the index moves from
    that state. A message passed without it (or scheduled) is read as before."""
    reqs = [_request(f"pv{i}", b"p") for i in range(3)]
    store.accept(reqs, [], "d")
    ids = [r.messages[0].message_id for r in reqs]
    read_back = {m.message_id: m for m in store.get_messages(ids)}
    deferred = dataclasses.replace(read_back[ids[0]], attempt_count=4)  # as a worker read it after 4 attempts
    asked: list[list[str]] = []
    real_read = store.messages.read_plan

    def counting_read(message_ids):  # type: ignore[no-untyped-def]
        ids_asked = list(message_ids)
        asked.append(ids_asked)
        return real_read(ids_asked)

    monkeypatch.setattr(store.messages, "read_plan", counting_read)
    now = time.time()
    store.record_outcomes([
        Outcome(ids[0], "t1", "deferred", Attempt(ids[0], now, "mx.x.test", 451, "later", "deferred"), (),
                previous=deferred),
        Outcome(ids[1], "t1", "delivered", Attempt(ids[1], now, "mx.x.test", 250, "ok", "delivered"), (),
                previous=read_back[ids[1]]),
        Outcome(ids[2], "t1", "delivered", Attempt(ids[2], now, "mx.x.test", 250, "ok", "delivered"), ()),
    ])
    assert asked == [[ids[2]]]  # only the outcome without its previous record was read
    assert store.get_message(ids[0]).attempt_count == 5  # counted on from what the worker saw
    assert [store.get_message(m).state for m in ids] == ["deferred", "delivered", "delivered"]
    assert store.get_message(ids[2]).attempt_count == 1
    assert ids[0] in store.messages.page_by_state("deferred", "", 1000)
    assert not set(store.messages.page_by_state("accepted", "", 1000)) & set(ids)  # each left the index it was in


def test_a_failing_statement_is_raised_after_every_other_one_ran(store: CqlStore) -> None:
    """A statement error (a bug, not an outage) is raised as it is, once the whole window ended."""
    ks = store.keyspace
    write = store.session.prepare(f"INSERT INTO {ks}.scheduler_state (name, bucket) VALUES (?, ?) USING TTL ?")
    calls = CallList(store.run)
    calls.add(write, ("first", 1, 0))
    calls.add(write, ("bad", 2, -1))  # a negative TTL: refused by the node
    calls.add(write, ("last", 3, 0))
    with pytest.raises(InvalidRequest):
        calls.run("writing")
    read = store.session.prepare(f"SELECT name, bucket FROM {ks}.scheduler_state WHERE name IN ?")
    [rows] = store.run.all("reading", [(read, (["first", "bad", "last"],))])
    assert sorted((r["name"], r["bucket"]) for r in rows) == [("first", 1), ("last", 3)]
    assert store.run.all("nothing", []) == []


async def test_the_async_runner_raises_a_statement_error_the_same_way(store: CqlStore) -> None:
    ks = store.keyspace
    write = store.session.prepare(f"INSERT INTO {ks}.scheduler_state (name, bucket) VALUES (?, ?) USING TTL ?")
    with pytest.raises(InvalidRequest):
        await store.arun.all("writing", [(write, ("async-a", 1, 0)), (write, ("async-b", 2, -1))])
    assert run_plan(store.run, _read_plan(store, "async-a")) == 1


def _read_plan(store: CqlStore, name: str):  # type: ignore[no-untyped-def]
    from postwave.store.cql_session import Batch

    read = store.session.prepare(f"SELECT bucket FROM {store.keyspace}.scheduler_state WHERE name = ?")
    [rows] = yield Batch("reading", [(read, (name,))])
    return rows[0]["bucket"]


def test_rows_of_many_partitions_share_batches_on_a_single_node(store: CqlStore) -> None:
    # One node holds every partition: the rows of 60 one-recipient requests (their ~20 KB
    # payloads, compressed, their message rows, events and index rows) travel in batches
    # across partitions, each small enough that the node does not warn about it, and every
    # row arrives.
    assert colocated(store.session, store.keyspace)
    reqs = [_request(f"pk{i}", _html_payload(i)) for i in range(60)]
    assert all(len(r.payload) > 20_000 for r in reqs)
    calls = CallList(store.run)
    for r in reqs:
        store.messages.insert(calls, r)
    singles = len(calls.single)
    units = len(calls._joined) + sum(len(by_partition) for by_partition in calls._grouped.values())
    built = calls.calls()
    assert singles == 0 and units >= 120  # each request: its payload row and its message's rows
    # each payload (~1.2 KB compressed) takes under half a batch's 4 KiB: two or more partitions a batch
    assert len(built) <= units // 2, "two or more partitions per batch on average"
    assert all(len(batch) <= BATCH_ROWS for batch, _ in built if isinstance(batch, BatchStatement))

    log = NODE_LOG.read_text(errors="replace") if NODE_LOG.exists() else ""
    store.accept(reqs, [EventRecord("t1", r.messages[0].message_id, "accepted", time.time()) for r in reqs], "d")
    ids = [r.messages[0].message_id for r in reqs]
    assert sorted(m.message_id for m in store.get_messages(ids)) == sorted(ids)
    assert all([e.type for e in store.list_events("t1", 0, (), m, 10)] == ["accepted"] for m in ids)
    assert {m.message_id for m in store.messages_in_state("accepted", "", 1000)} >= set(ids)
    assert store.get_payloads([r.request_id for r in reqs]) == {r.request_id: r.payload for r in reqs}
    new_lines = NODE_LOG.read_text(errors="replace")[len(log):] if NODE_LOG.exists() else ""
    warned = [line for line in new_lines.splitlines() if store.keyspace in line and "atch" in line]
    assert warned == [], warned[:3]
