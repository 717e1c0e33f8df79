"""The CQL store against a real Cassandra node: what the shared contract cannot show.

Races between processes (send_id claims, template versions, release against cancel), the
partitioning of events and schedules, chunked payloads, TTLs, and the cluster going away
and coming back (cut through a TCP proxy, so the node itself keeps running).
"""

from __future__ import annotations

import gc
import itertools
import select
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from postwave.errors import StoreUnavailableError
from postwave.store.base import (
    AcceptedRequest,
    Attempt,
    EventRecord,
    NewMessage,
    Outcome,
    TemplateRecord,
    WebhookEndpoint,
)
from postwave.store.cql import CqlStore
from postwave.store.cql_keys import (
    EVENT_SEQUENCE,
    SCHEDULE_BUCKET_SECONDS,
    SCHEDULE_SHARDS,
    schedule_bucket,
    shard,
)

from tests.contract.cassandra import CassandraNode, cassandra, cql_port

__all__ = ["cassandra"]  # the session's Cassandra node, a fixture


def _request(rid: str, *, n: int = 1, send_id: str = "", state: str = "accepted", send_at: float = 0.0,
             batch_id: str = "b1", payload: bytes = b"p", tenant: str = "t1") -> AcceptedRequest:
    now = time.time()
    return AcceptedRequest(
        request_id=rid, tenant_id=tenant, send_id=send_id, batch_id=batch_id, body_hash=b"h", payload=payload,
        lane="bulk", send_at=send_at or now, created=now, expires=now + 3600,
        messages=tuple(NewMessage(f"{rid}-m{i:03d}", i, f"u{i}@x.test", state) for i in range(n)),
        response=b"resp-" + rid.encode(),
    )


def _accepted_events(req: AcceptedRequest) -> list[EventRecord]:
    return [EventRecord(req.tenant_id, m.message_id, m.state, req.created) for m in req.messages]


def test_payloads_over_a_mebibyte_are_chunked_and_reassembled(store: CqlStore) -> None:
    payload = bytes(range(256)) * (14 * 1024)  # 3.5 MiB: four chunks
    store.accept([_request("big", payload=payload), _request("empty", payload=b"")], [], "d")
    assert store.get_payload("big") == payload
    assert store.get_payload("empty") == b""
    assert store.get_payload("missing") is None


@pytest.mark.parametrize("compression", [False, True])
def test_protocol_compression_is_what_the_option_says(cassandra: CassandraNode, compression: bool) -> None:
    # What the node was asked for at STARTUP, as it lists its clients (system_views.clients).
    from postwave.store.cql_session import connect

    cluster, session = connect(cassandra.config(cql_compression=compression))
    try:
        mine = [r["client_options"] for r in session.execute("SELECT client_options FROM system_views.clients")
                if r["client_options"].get("SESSION_ID") == str(cluster.session_id)]
    finally:
        cluster.shutdown()
    assert mine, "the node lists this session's connections"
    assert {o.get("COMPRESSION") for o in mine} == ({"lz4"} if compression else {None})


def test_concurrent_template_versions_are_distinct_and_consecutive(store: CqlStore) -> None:
    def create(i: int) -> int:
        return store.create_template(TemplateRecord("t1", "welcome", 0, "n", f"s{i}", "x", "", time.time())).version

    with ThreadPoolExecutor(6) as pool:
        versions = list(pool.map(create, range(6)))
    assert sorted(versions) == [1, 2, 3, 4, 5, 6]
    assert store.get_template("t1", "welcome").version == 6
    assert [t.version for t in store.list_templates("t1")] == [6]


def test_send_id_race_between_processes_has_one_winner_and_leaves_no_trace(
    store: CqlStore, cassandra: CassandraNode
) -> None:
    other = CqlStore(cassandra.config().replace(cql_keyspace=store.keyspace))
    try:
        reqs = [_request(f"r{i}", n=3, send_id="same") for i in range(6)]
        stores = itertools.cycle([store, other])
        with ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda r: next(stores).accept([r], _accepted_events(r), "d")[0], reqs))
    finally:
        other.close()
    winners = [r.request_id for r in results if r.written]
    assert len(winners) == 1
    losers = [r for r in reqs if r.request_id not in winners]
    assert store.get_messages([m.message_id for r in losers for m in r.messages]) == []
    events = store.list_events("t1", 0, (), "", 100)
    assert {e.message_id for e in events} == {f"{winners[0]}-m{i:03d}" for i in range(3)}
    assert store.usage("t1", "d") == 3
    assert store.get_idempotency("t1", "same", time.time()).response == b"resp-" + winners[0].encode()
    assert {m.message_id for m in store.messages_in_state("accepted", "", 100)} == {e.message_id for e in events}


def test_an_expired_send_id_is_taken_over_before_its_row_expires(store: CqlStore) -> None:
    first = _request("r1", send_id="s")
    assert store.accept([first], [], "d")[0].written
    later = _request("r2", send_id="s")
    later = AcceptedRequest(**{**{f: getattr(later, f) for f in AcceptedRequest.__slots__},  # type: ignore[attr-defined]
                               "created": first.created + 86401})
    assert store.accept([later], [], "d")[0].written
    assert store.get_idempotency("t1", "s", later.created).response == b"resp-r2"


def test_events_resume_across_minutes_and_days_and_filter_by_type(store: CqlStore) -> None:
    # Ids one after another, spread over three minute buckets across a day boundary.
    midnight = (int(time.time()) // 86400) * 86400
    starts = [midnight - 61, midnight - 1, midnight + 5]
    ids = iter([int((s + i * 0.01) * 1_000_000) * EVENT_SEQUENCE for s in starts for i in range(40)])
    store.events.ids.next = lambda: next(ids)  # type: ignore[method-assign]
    store.accept([_request("r1")], [
        EventRecord("t1", f"m{i}", "delivered" if i % 3 else "bounced", time.time()) for i in range(120)
    ], "d")
    seen: list[EventRecord] = []
    cursor = 0
    while page := store.list_events("t1", cursor, (), "", 7):
        seen.extend(page)
        cursor = page[-1].id
    assert [e.message_id for e in seen] == [f"m{i}" for i in range(120)]
    assert [e.id for e in seen] == sorted({e.id for e in seen})
    bounced = store.list_events("t1", seen[50].id, ["bounced"], "", 100)
    assert [e.message_id for e in bounced] == [f"m{i}" for i in range(51, 120) if i % 3 == 0]
    assert store.list_events("t2", 0, (), "", 10) == []


def test_settle_window_holds_back_only_recent_events(cassandra: CassandraNode) -> None:
    settled = CqlStore(cassandra.config(cql_events_settle_seconds=2.0))
    try:
        settled.accept([_request("r1")], [EventRecord("t1", "r1-m000", "accepted", time.time())], "d")
        assert settled.list_events("t1", 0, (), "", 10) == []
        assert len(settled.list_events("t1", 0, (), "r1-m000", 10)) == 1  # status look-ups are not held back
        time.sleep(2.1)
        assert len(settled.list_events("t1", 0, (), "", 10)) == 1
    finally:
        settled.close()


def test_messages_in_state_pages_in_id_order_and_skips_stale_rows(store: CqlStore) -> None:
    reqs = [_request(f"r{i:02d}", n=4) for i in range(10)]
    store.accept(reqs, [], "d")
    ids = sorted(m.message_id for r in reqs for m in r.messages)
    done = ids[::5]
    store.record_outcomes([Outcome(m, "t1", "delivered", None, ()) for m in done])
    # A stale index row (its removal lost) is checked against the message and skipped.
    store.session.execute(store.sql["state_add"], ("accepted", 0, "r00-m000", "t1"))
    paged: list[str] = []
    after = ""
    while page := store.messages_in_state("accepted", after, 7):
        paged.extend(m.message_id for m in page)
        after = page[-1].message_id
    assert paged == [m for m in ids if m not in done]
    with pytest.raises(ValueError):
        store.messages_in_state("delivered", "", 10)


def test_release_and_cancel_racing_never_both_win(store: CqlStore) -> None:
    now = time.time()
    reqs = [_request(f"r{i:02d}", n=2, state="scheduled", send_at=now + 1.5, batch_id="promo") for i in range(15)]
    store.accept(reqs, [], "d")
    time.sleep(1.6)

    def release() -> list[str]:
        due = store.due_scheduled(time.time(), 1000)
        store.set_state([m.message_id for m in due], "accepted",
                        [EventRecord("t1", m.message_id, "released", time.time()) for m in due])
        return [m.message_id for m in due]

    with ThreadPoolExecutor(2) as pool:
        released = pool.submit(release)
        cancelled = pool.submit(store.cancel_scheduled, "t1", "", "promo", time.time())
        cancelled_ids = set(cancelled.result())
        released.result()
    states = {m.message_id: m.state for m in store.get_messages([m.message_id for r in reqs for m in r.messages])}
    assert set(states.values()) <= {"accepted", "cancelled"} and len(states) == 30
    assert cancelled_ids == {m for m, s in states.items() if s == "cancelled"}
    for message_id, state in states.items():
        types = [e.type for e in store.list_events("t1", 0, (), message_id, 10)]
        assert types == (["cancelled"] if state == "cancelled" else ["released"]), (message_id, types)
    assert store.due_scheduled(time.time(), 1000) == []
    assert store.cancel_scheduled("t1", "", "promo", time.time()) == []


def test_a_release_pass_takes_the_soonest_due_messages_over_every_shard(store: CqlStore) -> None:
    """One read covers the minute's shards, each up to the limit: the pass still gets the
    soonest due messages of the whole minute, whichever shards they hashed to."""
    minute = (schedule_bucket(time.time()) + 2) * SCHEDULE_BUCKET_SECONDS  # a minute of its own, ahead
    reqs = [_request(f"soon{i:02d}", state="scheduled", send_at=minute + 1 + i) for i in range(24)]
    store.accept(reqs, [], "d")
    shards = {shard(r.messages[0].message_id, SCHEDULE_SHARDS) for r in reqs}
    assert len(shards) > 3  # spread, so a read of one shard could not have found them
    due = store.due_scheduled(minute + 30, 5)
    assert [m.message_id for m in due] == [f"soon{i:02d}-m000" for i in range(5)]
    everything = store.due_scheduled(minute + 59, 1000)
    assert sorted(m.message_id for m in everything) == sorted(r.messages[0].message_id for r in reqs)


def test_the_release_scans_due_minutes_only_and_moves_its_watermark(store: CqlStore) -> None:
    now = time.time()
    store.accept([_request("later", state="scheduled", send_at=now + 3 * 3600)], [], "d")
    mark = store.run.one("", store.sql["watermark_get"])["bucket"]
    assert store.due_scheduled(now + 3600, 10) == []  # an hour of empty minutes, skipped in one pass
    moved = store.run.one("", store.sql["watermark_get"])["bucket"]
    assert moved == schedule_bucket(now + 3600) - 1 and moved > mark
    passes = [store.due_scheduled(now + 3 * 3600 + SCHEDULE_BUCKET_SECONDS, 10) for _ in range(3)]
    assert [[m.message_id for m in due] for due in passes] == [[], ["later-m000"], ["later-m000"]]


def test_temporary_suppression_expires_in_cassandra_too(store: CqlStore) -> None:
    now = time.time()
    store.add_suppression("t1", "soft@x.test", "soft bounces", now + 1)
    store.add_suppression("t1", "hard@x.test", "bounce", None)
    assert set(store.suppressed("t1", ["soft@x.test", "hard@x.test"], now)) == {"soft@x.test", "hard@x.test"}
    time.sleep(3.2)
    # Asked as of the past: the row itself is gone (TTL), not only filtered out.
    assert store.suppressed("t1", ["soft@x.test", "hard@x.test"], now) == {"hard@x.test": "bounce"}


def test_a_changed_retention_alters_the_table_ttls(store: CqlStore, cassandra: CassandraNode) -> None:
    reopened = CqlStore(cassandra.config().replace(cql_keyspace=store.keyspace, events_retention_days=45))
    try:
        tables = reopened.cluster.metadata.keyspaces[store.keyspace].tables
        assert tables["events_by_tenant"].options["default_time_to_live"] == 45 * 86400
        assert tables["messages"].options["default_time_to_live"] == 45 * 86400
    finally:
        reopened.close()


def test_a_keyspace_from_before_migration_22_gets_the_webhook_pending_column(
        store: CqlStore, cassandra: CassandraNode) -> None:
    ks = store.keyspace
    store.create_webhook(WebhookEndpoint("w1", "t1", "https://hooks.example/x", (), "whsec_a", "", 0.0, "active",
                                         41, 0.0, 1.0))
    store.session.execute(f"ALTER TABLE {ks}.webhook_endpoints DROP pending")  # as an older release left it
    store.session.execute(f"DELETE FROM {ks}.schema_migrations WHERE version = 22")
    store.close()
    reopened = CqlStore(cassandra.config().replace(cql_keyspace=ks))
    try:
        assert "pending" in reopened.cluster.metadata.keyspaces[ks].tables["webhook_endpoints"].columns
        assert [r["version"] for r in reopened.session.execute(
            f"SELECT version FROM {ks}.schema_migrations WHERE version = 22")] == [22]
        old = reopened.get_webhook("w1")
        assert (old.cursor, old.pending) == (41, 0)  # the row from before reads with no batch in flight
        reopened.set_webhook_pending("w1", 45)
        assert reopened.get_webhook("w1").pending == 45
    finally:
        reopened.close()


def test_no_cluster_at_all_is_unavailable_quickly(cassandra: CassandraNode) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens here
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError):
        CqlStore(cassandra.config(cql_port=port, cql_connect_timeout=2.0))
    assert time.monotonic() - started < 10


# scylla-driver 3.29 leaves the socket of a failed connection attempt to the garbage
# collector (a ResourceWarning): collected here, inside this test, where it is expected.
@pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")
def test_cluster_cut_off_then_back_without_reopening_the_store(cassandra: CassandraNode) -> None:
    with _Proxy(cql_port()) as proxy:
        cut_store = CqlStore(cassandra.config(cql_port=proxy.port, cql_request_timeout=2.0))
        try:
            cut_store.accept([_request("r1")], [], "d")
            proxy.cut()
            for call in (lambda: cut_store.get_message("r1-m000"), lambda: cut_store.accept([_request("r2")], [], "d"),
                         lambda: cut_store.list_events("t1", 0, (), "", 10)):
                started = time.monotonic()
                with pytest.raises(StoreUnavailableError):
                    call()
                assert time.monotonic() - started < 5
            proxy.resume()
            deadline = time.monotonic() + 30
            while True:
                try:
                    assert cut_store.get_message("r1-m000") is not None
                    break
                except StoreUnavailableError:
                    assert time.monotonic() < deadline, "the store did not recover"
                    time.sleep(0.2)
            assert cut_store.accept([_request("r3")], [], "d")[0].written
        finally:
            cut_store.close()
    gc.collect()


# --- the asyncio face: execute_async bridged to the event loop ---


async def test_async_runner_follows_every_page_without_blocking_the_loop(store: CqlStore) -> None:
    import asyncio

    from postwave.store.cql_session import Page

    now = time.time()
    store.record_outcomes([Outcome("m1", "t1", "deferred", Attempt("m1", now + i, "mx", 451, "later", "deferred"), ())
                           for i in range(10)])
    bound = store.sql["attempts_get"].bind(("m1",))
    bound.fetch_size = 3  # four pages
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0)
            ticks += 1

    beat = asyncio.get_running_loop().create_task(ticker())
    try:
        [rows] = await store.arun.all("reading attempts", [(bound, None)])
    finally:
        beat.cancel()
    assert [r["time"] for r in rows] == [now + i for i in range(10)]
    assert ticks > 0  # the loop ran other tasks while the pages were fetched
    # Page by page, with the paging state handed back each time.
    state, pages, seen = None, 0, []
    while True:
        page, state = await store.arun.page(Page("reading attempts", store.sql["attempts_get"], ("m1",), 4, state))
        seen += [r["time"] for r in page]
        pages += 1
        if state is None:
            break
    assert seen == [now + i for i in range(10)] and pages == 3


@pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")
async def test_async_calls_during_a_cut_are_unavailable_and_recover(cassandra: CassandraNode) -> None:
    import asyncio

    with _Proxy(cql_port()) as proxy:
        cut_store = CqlStore(cassandra.config(cql_port=proxy.port, cql_request_timeout=2.0))
        try:
            assert (await cut_store.accept_async([_request("r1")], [], "d"))[0].written
            proxy.cut()
            for call in (lambda: cut_store.get_messages_async(["r1-m000"]),
                         lambda: cut_store.accept_async([_request("r2", send_id="s2")], [], "d"),
                         lambda: cut_store.list_events_async("t1", 0, (), "", 10)):
                with pytest.raises(StoreUnavailableError):
                    await call()
            proxy.resume()
            deadline = time.monotonic() + 30
            while True:
                try:
                    assert [m.message_id for m in await cut_store.get_messages_async(["r1-m000"])] == ["r1-m000"]
                    break
                except StoreUnavailableError:
                    assert time.monotonic() < deadline, "the store did not recover"
                    await asyncio.sleep(0.2)
            assert (await cut_store.accept_async([_request("r3")], [], "d"))[0].written
        finally:
            cut_store.close()
    gc.collect()


class _Proxy:
    """A TCP proxy on 127.0.0.1 to the CQL port that can drop every connection and refuse new ones."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._done = threading.Event()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> _Proxy:  # noqa: PYI034 - a private test helper, never subclassed
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self.cut()
        self._thread.join(5)
        self.listener.close()

    def cut(self) -> None:
        """Close every proxied connection; refuse new ones until resume()."""
        self._open.clear()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for s in pair:
                s.close()

    def resume(self) -> None:
        """Accept and forward connections again."""
        self._open.set()

    def _serve(self) -> None:
        self.listener.settimeout(0.1)
        while not self._done.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            if not self._open.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 0.5)
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    peers[s].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            a.close()
            b.close()
