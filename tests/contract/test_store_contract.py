"""The Store contract: acceptance, idempotency, suppression, outcomes, scheduling, events."""

from __future__ import annotations

import os
import time

import pytest
from postwave.errors import AlreadyExistsError
from postwave.store.base import (
    AcceptedRequest,
    ApiKeyRecord,
    Attempt,
    EventRecord,
    NewMessage,
    Outcome,
    TemplateRecord,
    Tenant,
)


def _request(rid: str, send_id: str = "", state: str = "accepted", send_at: float | None = None,
             tenant: str = "t1", body: bytes = b"h") -> AcceptedRequest:
    now = time.time()
    return AcceptedRequest(
        request_id=rid, tenant_id=tenant, send_id=send_id, batch_id="b1", body_hash=body, payload=b"p",
        lane="transactional", send_at=send_at or now, created=now, expires=now + 3600,
        messages=(NewMessage(f"{rid}-m0", 0, "a@x.test", state),), response=b"resp-" + rid.encode(),
    )


def test_tenants_keys_and_templates(store) -> None:  # type: ignore[no-untyped-def]
    store.create_tenant(Tenant("t1", "acme", 5.0, 100, time.time()))
    with pytest.raises(AlreadyExistsError):
        store.create_tenant(Tenant("t2", "acme", 0, 0, time.time()))
    assert store.get_tenant("t1").rate_per_second == 5.0
    store.create_key(ApiKeyRecord("k1", "t1", "main", ("mail.send",), b"hash", time.time()))
    assert store.get_key("k1").scopes == ("mail.send",)
    assert store.revoke_key("t2", "k1") is None  # another tenant cannot revoke it
    assert store.revoke_key("t1", "k1").revoked
    first = store.create_template(TemplateRecord("t1", "tpl", 0, "n", "s", "x", "", time.time()))
    second = store.create_template(TemplateRecord("t1", "tpl", 0, "n", "s2", "x", "", time.time()))
    assert (first.version, second.version) == (1, 2)
    assert store.get_template("t1", "tpl").subject == "s2"
    assert store.get_template("t1", "tpl", 1).subject == "s"
    assert store.get_template("t2", "tpl") is None
    assert store.delete_template("t1", "tpl") == 2


def test_accept_writes_messages_events_usage_and_claims_send_id(store) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    event = EventRecord("t1", "r1-m0", "accepted", now, recipient="a@x.test")
    results = store.accept([_request("r1", send_id="s1")], [event], "2026-11-28")
    assert results[0].written
    assert store.get_message("r1-m0").state == "accepted"
    assert store.usage("t1", "2026-11-28") == 1
    assert store.get_idempotency("t1", "s1", now).response == b"resp-r1"
    assert store.get_idempotency("t2", "s1", now) is None
    # The same send_id again (a concurrent duplicate) is not written, nor are its events.
    dup = store.accept([_request("r2", send_id="s1")], [EventRecord("t1", "r2-m0", "accepted", now)], "2026-11-28")
    assert not dup[0].written and store.get_message("r2-m0") is None
    assert [e.message_id for e in store.list_events("t1", 0, (), "", 100)] == ["r1-m0"]
    # After 24 h the key is free again.
    assert store.get_idempotency("t1", "s1", now + 86401) is None


def test_outcomes_suppress_and_record_attempts(store) -> None:  # type: ignore[no-untyped-def]
    store.accept([_request("r1")], [], "d")
    now = time.time()
    store.record_outcomes([Outcome(
        "r1-m0", "t1", "bounced", Attempt("r1-m0", now, "mx.x.test", 550, "5.1.1 unknown", "bounced"),
        (EventRecord("t1", "r1-m0", "bounced", now),), ("a@x.test", "bounce: 5.1.1"),
    )])
    msg = store.get_message("r1-m0")
    assert (msg.state, msg.attempt_count) == ("bounced", 1)
    assert store.get_attempts("r1-m0")[0].smtp_code == 550
    assert store.suppressed("t1", ["a@x.test", "b@x.test"], now) == {"a@x.test": "bounce: 5.1.1"}
    assert store.suppressed("t2", ["a@x.test"], now) == {}
    store.add_suppression("t1", "soft@x.test", "soft bounces", now + 10)
    assert "soft@x.test" in store.suppressed("t1", ["soft@x.test"], now)
    assert store.suppressed("t1", ["soft@x.test"], now + 11) == {}


def test_scheduled_release_and_cancel(store) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    store.accept([_request("r1", send_id="s1", state="scheduled", send_at=now + 0.5),
                  _request("r2", state="scheduled", send_at=now + 100)], [], "d")
    assert store.due_scheduled(now, 10) == []
    assert [m.message_id for m in store.due_scheduled(now + 1, 10)] == ["r1-m0"]
    assert store.cancel_scheduled("t2", "s1", "", now) == []
    assert store.cancel_scheduled("t1", "s1", "", now) == ["r1-m0"]
    assert store.get_message("r1-m0").state == "cancelled"
    assert [m.message_id for m in store.messages_in_state("scheduled", "", 10)] == ["r2-m0"]


def test_events_page_by_cursor_and_filter(store) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    store.accept([_request("r1")], [EventRecord("t1", "r1-m0", "accepted", now),
                                    EventRecord("t2", "zz", "accepted", now)], "d")
    store.set_state(["r1-m0"], "delivered", [EventRecord("t1", "r1-m0", "delivered", now)])
    events = store.list_events("t1", 0, (), "", 10)
    assert [e.type for e in events] == ["accepted", "delivered"]
    assert [e.type for e in store.list_events("t1", events[0].id, (), "", 10)] == ["delivered"]
    assert [e.type for e in store.list_events("t1", 0, ["delivered"], "", 10)] == ["delivered"]
    assert store.list_events("t1", 0, (), "other", 10) == []


# --- tracking: engagement events, webhooks, stats, erasure (owner: tracking helper) ---

from postwave.store.base import WebhookEndpoint  # noqa: E402
from postwave.store.tracking_erasure import address_hash  # noqa: E402
from postwave.v1 import send_pb2  # noqa: E402


def _endpoint(eid: str, tenant: str = "t1", created: float = 1.0) -> WebhookEndpoint:
    return WebhookEndpoint(eid, tenant, "https://hooks.example/x", ("delivered",), "whsec_a", "", 0.0, "active",
                           0, 0.0, created)


def test_webhook_endpoints_keep_settings_and_progress_apart(store) -> None:  # type: ignore[no-untyped-def]
    store.create_webhook(_endpoint("w1", created=1.0))
    store.create_webhook(_endpoint("w2", created=2.0))
    store.create_webhook(_endpoint("w3", tenant="t2", created=3.0))
    assert [e.endpoint_id for e in store.list_webhooks("t1")] == ["w1", "w2"]
    assert [e.endpoint_id for e in store.list_webhooks("")] == ["w1", "w2", "w3"]
    store.set_webhook_progress("w1", "disabled", 42, 5.0, "HTTP 500 for 24 h")
    rotated = WebhookEndpoint("w1", "t1", "https://hooks.example/y", (), "whsec_b", "whsec_a", 99.0, "active",
                              0, 0.0, 1.0)
    store.set_webhook_settings(rotated)  # must not reset the progress
    got = store.get_webhook("w1")
    assert (got.url, got.event_types, got.secret, got.previous_secret, got.previous_until) == (
        "https://hooks.example/y", (), "whsec_b", "whsec_a", 99.0)
    assert (got.state, got.cursor, got.failing_since, got.detail) == ("disabled", 42, 5.0, "HTTP 500 for 24 h")
    assert store.delete_webhook("t2", "w1") is False  # another tenant's
    assert store.delete_webhook("t1", "w1") is True
    assert store.get_webhook("w1") is None and [e.endpoint_id for e in store.list_webhooks("t1")] == ["w2"]


def test_webhook_batch_in_flight_is_kept_apart_from_progress_and_settings(store) -> None:  # type: ignore[no-untyped-def]
    store.create_webhook(_endpoint("w1"))
    assert store.get_webhook("w1").pending == 0
    store.set_webhook_pending("w1", 57)
    store.set_webhook_progress("w1", "active", 40, 3.0, "HTTP 503")  # a failed try: the batch stays
    store.set_webhook_settings(WebhookEndpoint("w1", "t1", "https://hooks.example/z", (), "whsec_c", "", 0.0,
                                               "active", 0, 0.0, 1.0))
    got = store.get_webhook("w1")
    assert (got.pending, got.cursor, got.failing_since, got.url) == (57, 40, 3.0, "https://hooks.example/z")
    assert [e.pending for e in store.list_webhooks("t1")] == [57]
    store.set_webhook_pending("w1", 0)
    assert store.get_webhook("w1").pending == 0
    store.create_webhook(WebhookEndpoint("w2", "t1", "https://hooks.example/x", (), "whsec_a", "", 0.0, "active",
                                         0, 0.0, 2.0, "", 9))
    assert store.get_webhook("w2").pending == 9


def test_engagement_events_and_unsubscribe_suppression(store) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    store.accept([_request("r1")], [EventRecord("t1", "r1-m0", "accepted", now - 5)], "d")
    store.record_engagement([EventRecord("t1", "r1-m0", "unsubscribed", now, '{"machine": false}', "a@x.test")],
                            [("t1", "a@x.test", "unsubscribe")])
    assert store.suppressed("t1", ["a@x.test"], now) == {"a@x.test": "unsubscribe"}
    assert store.suppressed("t2", ["a@x.test"], now) == {}
    events = store.events_since("t1", now - 1, 0, 10)
    assert [(e.type, e.detail) for e in events] == [("unsubscribed", '{"machine": false}')]
    assert [e.type for e in store.events_since("t1", now - 10, 0, 10)] == ["accepted", "unsubscribed"]


def test_erasure_removes_the_address_and_keeps_a_hashed_suppression(store) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    html = "<p>Hello {{ name }}</p>" * 400  # stored compressed: scrubbing decompresses, rewrites, compresses
    payload = send_pb2.SendRequest(subject="s", html=html, personalizations=[
        send_pb2.Personalization(to=["Ann <Ann@X.test>"], custom_args={"crm": "42"}),
        send_pb2.Personalization(to=["bob@x.test"])]).SerializeToString()
    response = send_pb2.SendResponse(messages=[send_pb2.MessageRef(message_id="r1-m0", recipient="ann@x.test")])
    req = AcceptedRequest("r1", "t1", "s1", "", b"h", payload, "bulk", now, now, now + 3600, (
        NewMessage("r1-m0", 0, "ann@x.test", "accepted"), NewMessage("r1-m1", 1, "bob@x.test", "accepted")),
        response.SerializeToString())
    store.accept([req], [EventRecord("t1", "r1-m0", "accepted", now, "", "ann@x.test"),
                         EventRecord("t1", "r1-m1", "accepted", now, "", "bob@x.test")], "d")
    store.record_outcomes([Outcome("r1-m0", "t1", "bounced", Attempt("r1-m0", now, "mx", 550, "550 ann@x.test unknown",
                                                                     "bounced"),
                                   (EventRecord("t1", "r1-m0", "bounced", now, "550 <ann@x.test> unknown", "ann@x.test"),),
                                   ("ann@x.test", "bounce"))])
    gone = address_hash("ann@x.test")
    assert store.erase_recipient("t1", "ANN@x.test", gone) == 1
    assert store.get_message("r1-m0").recipient == gone and store.get_message("r1-m1").recipient == "bob@x.test"
    kept = send_pb2.SendRequest.FromString(store.get_payload("r1"))
    assert list(kept.personalizations[0].to) == [gone] and not kept.personalizations[0].custom_args
    assert list(kept.personalizations[1].to) == ["bob@x.test"] and kept.html == html
    assert b"ann@x.test" not in _stored_payload(store, "r1").lower()
    assert "ann@x.test" not in store.get_attempts("r1-m0")[0].smtp_reply
    events = store.list_events("t1", 0, (), "", 10)
    assert all("ann@x.test" not in (e.recipient + e.detail).lower() for e in events)
    assert {e.recipient for e in events} == {gone, "bob@x.test"}
    assert store.suppressed("t1", [gone], now) == {gone: "bounce"}  # the row is kept under the hash ...
    assert store.suppressed("t1", ["Ann@x.test".lower()], now) == {"ann@x.test": "bounce"}  # ... and still matches
    assert store.suppressed("t2", ["ann@x.test"], now) == {}


def _stored_payload(store, request_id: str) -> bytes:  # type: ignore[no-untyped-def]
    """A payload as the store holds it (its stored form, see postwave/store/payloads.py)."""
    if hasattr(store, "session"):
        rows = store.session.execute(f"SELECT chunk, data FROM {store.keyspace}.requests WHERE request_id = %s",
                                     (request_id,))
        return b"".join(r["data"] for r in sorted(rows, key=lambda r: r["chunk"]))
    return bytes(store.db.query("SELECT payload FROM requests WHERE request_id=?", (request_id,))[0][0])


def _store_legacy_payload(store, request_id: str, payload: bytes) -> None:  # type: ignore[no-untyped-def]
    """Replace a payload's row with the form stored before payloads were compressed: as it is."""
    if hasattr(store, "session"):
        store.session.execute(f"UPDATE {store.keyspace}.requests SET data = %s WHERE request_id = %s AND chunk = 0",
                              (payload, request_id))
        return
    with store.db.transaction() as conn:
        conn.execute("UPDATE requests SET payload=? WHERE request_id=?", (payload, request_id))


def test_payloads_are_stored_compressed_and_read_back_whole_in_every_form(store) -> None:  # type: ignore[no-untyped-def]
    newsletter = send_pb2.SendRequest(subject="Spring", html="<tr><td>An offer</td></tr>" * 800,
                                      personalizations=[send_pb2.Personalization(to=["a@x.test"])]).SerializeToString()
    forms = {"compressible": newsletter, "random": os.urandom(1500),
             "empty": b"", "legacy": newsletter}
    store.accept([dataclasses.replace(_request(rid), payload=p) for rid, p in forms.items()], [], "d")
    assert len(_stored_payload(store, "compressible")) < len(newsletter) // 10
    _store_legacy_payload(store, "legacy", newsletter)
    assert _stored_payload(store, "legacy") == newsletter
    for rid, payload in forms.items():
        assert store.get_payload(rid) == payload, rid
    assert store.get_payloads([*forms, "missing"]) == forms


def _ann_request(rid: str, tenant: str, to: str, now: float) -> AcceptedRequest:
    payload = send_pb2.SendRequest(subject="s", personalizations=[send_pb2.Personalization(to=[to])]).SerializeToString()
    return AcceptedRequest(rid, tenant, f"send-{rid}", "", b"h", payload, "bulk", now, now, now + 3600,
                           (NewMessage(f"{rid}-m0", 0, to, "accepted"),), b"")


def _statements_run(store, action) -> list[str]:  # type: ignore[no-untyped-def]
    """The statements ``action()`` sends to the store's database, as text."""
    from postwave.store.cql import CqlStore

    seen: list[str] = []
    if isinstance(store, CqlStore):
        def listen(future) -> None:  # type: ignore[no-untyped-def]
            query = getattr(future.query, "prepared_statement", future.query)
            seen.append(getattr(query, "query_string", str(query)))

        store.session.add_request_init_listener(listen)
        try:
            action()
        finally:
            store.session.remove_request_init_listener(listen)
        return seen
    conn = store.db.connection()
    conn.set_trace_callback(seen.append)
    try:
        action()
    finally:
        conn.set_trace_callback(None)
    return seen


def _full_scans(store, statements: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """The statements that read a table without naming the rows: a SELECT without a partition
    key (CQL), or a statement whose SQLite query plan scans a table or all of a tenant's rows."""
    from postwave.store.cql import CqlStore

    if isinstance(store, CqlStore):
        return [s for s in statements if s.lstrip().upper().startswith("SELECT") and " WHERE " not in s.upper()]
    conn = store.db.connection()
    scans = []
    for sql in statements:
        if sql.lstrip().split(" ", 1)[0].upper() not in ("SELECT", "UPDATE", "DELETE", "INSERT"):
            continue
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
        scans += [f"{sql} -> {step}" for step in plan if step.startswith("SCAN") or step.endswith("(tenant_id=?)")]
    return scans


async def test_erasure_follows_a_lookup_of_the_address_not_a_scan(store) -> None:  # type: ignore[no-untyped-def]
    from postwave.store.base import as_async
    from postwave.store.cql import CqlStore

    now = time.time()
    store.accept([_ann_request("r1", "t1", "ann@x.test", now), _ann_request("r2", "t1", "bob@x.test", now),
                  _ann_request("r3", "t2", "ann@x.test", now)], [], "d")
    await as_async(store).accept_async([_ann_request("r4", "t1", "Ann@X.test", now)], [], "d")  # both accept paths
    store.accept([_ann_request(f"o{i}", "t1", f"other{i}@x.test", now) for i in range(30)], [], "d")  # not to be read
    gone = address_hash("ann@x.test")

    erased: list[int] = []
    statements = _statements_run(store, lambda: erased.append(store.erase_recipient("t1", "ann@X.TEST", gone)))
    assert erased == [2] and statements and _full_scans(store, statements) == []
    assert {m.message_id: m.recipient for m in store.get_messages(["r1-m0", "r2-m0", "r3-m0", "r4-m0"])} == {
        "r1-m0": gone, "r2-m0": "bob@x.test", "r3-m0": "ann@x.test", "r4-m0": gone}  # t2's message is t2's
    assert store.erase_recipient("t1", "ann@x.test", gone) == 0  # nothing of it left to find
    assert store.erase_recipient("t2", "ANN@x.test", gone) == 1
    assert len(_full_scans(store, _statements_run(store, lambda: _scan(store)))) == 2  # the detector does detect

    if isinstance(store, CqlStore):  # a message from before the CQL lookup existed (migration 21) ...
        store.accept([_ann_request("r5", "t1", "cy@x.test", now)], [], "d")
        store.session.execute(f"DELETE FROM {store.keyspace}.recipient_messages WHERE tenant_id = 't1'"
                              f" AND recipient_hash = '{address_hash('cy@x.test')}'")
        assert store.erase_recipient("t1", "cy@x.test", address_hash("cy@x.test")) == 0
        assert store.backfill_recipient_index() == 35  # ... found after `postwave erasure-index` (this call)
        assert store.erase_recipient("t1", "cy@x.test", address_hash("cy@x.test")) == 1


def _scan(store) -> None:  # type: ignore[no-untyped-def]
    """Two reads of many messages: in CQL two SELECTs without a partition key; in SQLite a scan of
    the table and a search of one tenant's messages (what erasure used to do)."""
    from postwave.store.cql import CqlStore

    if isinstance(store, CqlStore):
        list(store.session.execute(f"SELECT message_id FROM {store.keyspace}.messages"))
        list(store.session.execute(f"SELECT message_id FROM {store.keyspace}.messages LIMIT 1"))
        return
    conn = store.db.connection()
    conn.execute("SELECT message_id FROM messages WHERE lower(recipient) = 'a@x.test'").fetchall()
    conn.execute("SELECT message_id FROM messages WHERE tenant_id = 't1' AND recipient = 'a@x.test'").fetchall()


# --- the asyncio face (AsyncStore): the same answers as the blocking calls ---


async def test_async_face_gives_the_blocking_answers(store) -> None:  # type: ignore[no-untyped-def]
    from postwave.store.base import as_async, native_async
    from postwave.store.cql import CqlStore

    assert native_async(store) == isinstance(store, CqlStore)  # the CQL store is asynchronous itself
    face = as_async(store)
    now = time.time()
    req = _request("r1", send_id="s1")
    written = await face.accept_async([req], [EventRecord("t1", "r1-m0", "accepted", now, recipient="a@x.test")], "d")
    assert [(r.request_id, r.written) for r in written] == [("r1", True)]
    assert (await face.get_idempotency_async("t1", "s1", now)).response == b"resp-r1"
    assert await face.get_idempotency_async("t1", "nope", now) is None
    assert [m.message_id for m in await face.get_messages_async(["r1-m0", "missing"])] == ["r1-m0"]
    assert await face.get_payload_async("r1") == b"p"
    await face.record_outcomes_async([Outcome(
        "r1-m0", "t1", "bounced", Attempt("r1-m0", now, "mx.x.test", 550, "5.1.1 unknown", "bounced"),
        (EventRecord("t1", "r1-m0", "bounced", now),), ("a@x.test", "bounce: 5.1.1"),
    )])
    assert store.get_message("r1-m0").state == "bounced"
    assert await face.suppressed_async("t1", ["a@x.test", "b@x.test"], now) == {"a@x.test": "bounce: 5.1.1"}
    assert [e.type for e in await face.list_events_async("t1", 0, (), "", 10)] == ["accepted", "bounced"]
    assert [e.type for e in await face.list_events_async("t1", 0, (), "r1-m0", 10)] == ["accepted", "bounced"]
    # A send_id already claimed: not written again, on either face.
    again = await face.accept_async([_request("r2", send_id="s1")], [], "d")
    assert not again[0].written and store.get_message("r2-m0") is None


async def test_async_event_listing_pages_past_filtered_rows(store) -> None:  # type: ignore[no-untyped-def]
    from postwave.store.base import as_async

    now = time.time()
    kinds = ["opened", "delivered"] * 150  # every other event matches the filter
    store.accept([_request("r1")], [EventRecord("t1", f"m{i:03d}", k, now) for i, k in enumerate(kinds)], "d")
    blocking = store.list_events("t1", 0, ["delivered"], "", 120)
    found = await as_async(store).list_events_async("t1", 0, ["delivered"], "", 120)
    assert len(found) == 120 and found == blocking
    assert {e.type for e in found} == {"delivered"}
    assert [e.message_id for e in found] == [f"m{i:03d}" for i in range(1, 240, 2)]


# --- suppression management ---


def test_suppression_entries_answer_why_and_stay_per_tenant(store) -> None:  # type: ignore[no-untyped-def]
    from postwave.store.base import Suppression

    now = time.time()
    store.put_suppressions([
        Suppression("t1", "a@x.test", "complaint", None, source="complained", source_event_id="42", message_id="m1"),
        Suppression("t1", "b@x.test", "mailbox full", now + 60, source="soft_bounces", source_event_id="7"),
    ])
    a = store.get_suppression("t1", "a@x.test", now)
    assert (a.reason, a.source, a.source_event_id, a.message_id, a.expires) == ("complaint", "complained", "42", "m1",
                                                                                   None)
    assert now - 5 < a.created <= time.time()
    b = store.get_suppression("t1", "b@x.test", now)
    assert b.expires == pytest.approx(now + 60) and b.source == "soft_bounces"
    assert store.get_suppression("t1", "b@x.test", now + 61) is None  # temporary: expired
    assert store.get_suppression("t2", "a@x.test", now) is None  # another tenant's list
    assert store.suppressed("t1", ["a@x.test", "b@x.test"], now) == {"a@x.test": "complaint", "b@x.test": "mailbox full"}
    # Replacing an entry replaces its why; one without a source says so.
    store.add_suppression("t1", "a@x.test", "manual", None)
    assert store.get_suppression("t1", "a@x.test", now).source == ""
    assert store.remove_suppression("t1", "a@x.test")
    assert not store.remove_suppression("t1", "a@x.test")
    assert store.get_suppression("t1", "a@x.test", now) is None and store.suppressed("t1", ["a@x.test"], now) == {}


def test_suppression_listing_pages_through_every_live_entry(store) -> None:  # type: ignore[no-untyped-def]
    from postwave.errors import InvalidArgumentError
    from postwave.store.base import Suppression

    now = time.time()
    live = {f"u{i:02d}@x.test" for i in range(40)}
    store.put_suppressions([Suppression("t1", a, "r", None) for a in live]
                           + [Suppression("t1", f"gone{i}@x.test", "r", now - 1) for i in range(3)]
                           + [Suppression("t2", "other@x.test", "r", None)])
    seen: list[str] = []
    token, pages = "", 0
    while True:
        entries, token = store.list_suppressions("t1", token, 7, now)
        assert len(entries) <= 7
        seen.extend(e.address for e in entries)
        pages += 1
        if not token:
            break
        assert pages < 40
    assert sorted(seen) == sorted(live) and pages >= 6  # each once, expired and other tenants' left out
    # A token keeps working while entries come and go.
    first, token = store.list_suppressions("t1", "", 5, now)
    store.remove_suppression("t1", first[-1].address)
    rest, _ = store.list_suppressions("t1", token, 100, now)
    assert not {e.address for e in first} & {e.address for e in rest}
    with pytest.raises(InvalidArgumentError) as bad:
        store.list_suppressions("t1", "not-a-token", 5, now)
    assert bad.value.field == "page_token"


def test_soft_bounces_count_within_their_window(store) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    assert store.count_soft_bounce("t1", "a@x.test", "e1", now - 100, 60) == 1
    assert store.count_soft_bounce("t1", "a@x.test", "e2", now - 10, 60) == 1  # the first fell out of the window
    assert store.count_soft_bounce("t1", "a@x.test", "e3", now, 60) == 2
    assert store.count_soft_bounce("t2", "a@x.test", "e4", now, 60) == 1  # per tenant
    store.clear_soft_bounces("t1", "a@x.test")
    assert store.count_soft_bounce("t1", "a@x.test", "e5", now, 60) == 1


def test_bounce_suppression_names_its_event_and_message(store) -> None:  # type: ignore[no-untyped-def]
    store.accept([_request("r1")], [], "d")
    now = time.time()
    store.record_outcomes([Outcome(
        "r1-m0", "t1", "bounced", Attempt("r1-m0", now, "mx.x.test", 550, "5.1.1 unknown", "bounced"),
        (EventRecord("t1", "r1-m0", "bounced", now, "550 5.1.1 unknown"),), ("a@x.test", "bounce: 5.1.1"),
    )])
    entry = store.get_suppression("t1", "a@x.test", now)
    [event] = store.list_events("t1", 0, ["bounced"], "", 10)
    assert (entry.reason, entry.source, entry.message_id) == ("bounce: 5.1.1", "bounced", "r1-m0")
    assert entry.source_event_id == str(event.id) and entry.expires is None


def test_results_with_and_without_suppressions_in_one_write(store) -> None:  # type: ignore[no-untyped-def]
    # Deliveries and bounces mixed, as a worker's flush writes them: every message gets its
    # state, attempt and events, and each suppression names its own bounce's event.
    store.accept([_request(f"r{n}") for n in range(6)], [], "d")
    now = time.time()

    def outcome(n: int) -> Outcome:
        mid = f"r{n}-m0"
        if n % 3 == 1:
            return Outcome(mid, "t1", "bounced", Attempt(mid, now + n, "mx.x.test", 550, f"5.1.1 gone {n}", "bounced"),
                           (EventRecord("t1", mid, "bounced", now + n, f"550 {n}"),), (f"u{n}@x.test", f"bounce {n}"))
        return Outcome(mid, "t1", "delivered", Attempt(mid, now + n, "mx.x.test", 250, "2.0.0 ok", "delivered"),
                       (EventRecord("t1", mid, "processed", now + n, ""),
                        EventRecord("t1", mid, "delivered", now + n, "250 ok")), None)

    store.record_outcomes([outcome(n) for n in range(6)])
    bounced = {e.message_id: e for e in store.list_events("t1", 0, ["bounced"], "", 10)}
    assert sorted(bounced) == ["r1-m0", "r4-m0"]
    for n in (1, 4):
        entry = store.get_suppression("t1", f"u{n}@x.test", now)
        assert (entry.reason, entry.message_id) == (f"bounce {n}", f"r{n}-m0")
        assert entry.source_event_id == str(bounced[f"r{n}-m0"].id)
    delivered = store.list_events("t1", 0, ["delivered"], "", 10)
    assert sorted(e.message_id for e in delivered) == [f"r{n}-m0" for n in (0, 2, 3, 5)]
    for n in range(6):
        [attempt] = store.get_attempts(f"r{n}-m0")
        assert attempt.smtp_code == (550 if n % 3 == 1 else 250)
        assert store.get_message(f"r{n}-m0").state == ("bounced" if n % 3 == 1 else "delivered")


# --- shaping: IP warm-up counts (owner: shaping helper) ---


def test_ip_send_reservations_stop_at_the_hourly_and_daily_caps(store) -> None:  # type: ignore[no-untyped-def]
    hour = 24 * 20000 + 5  # some hour of UTC day 20000
    assert store.ip_sends("127.0.0.10", hour) == (0, 0)
    assert store.reserve_ip_sends("127.0.0.10", hour, 3, 5, 8) == 3
    assert store.reserve_ip_sends("127.0.0.10", hour, 3, 5, 8) == 2  # the hour's cap
    assert store.reserve_ip_sends("127.0.0.10", hour, 1, 5, 8) == 0
    assert store.ip_sends("127.0.0.10", hour) == (5, 5)
    assert store.reserve_ip_sends("127.0.0.10", hour + 1, 9, 5, 8) == 3  # a new hour, the day's cap
    assert store.ip_sends("127.0.0.10", hour + 1) == (3, 8)
    assert store.reserve_ip_sends("127.0.0.11", hour, 4, 5, 8) == 4  # IPs are counted apart
    assert store.reserve_ip_sends("127.0.0.10", hour + 24, 2, 5, 8) == 2  # the next day starts afresh
    assert store.ip_sends("127.0.0.10", hour + 24) == (2, 2)


def test_concurrent_reservations_never_pass_a_cap(store) -> None:  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    hour = 24 * 20001
    with ThreadPoolExecutor(max_workers=4) as pool:
        grants = list(pool.map(lambda _: store.reserve_ip_sends("127.0.0.12", hour, 3, 20, 1000), range(12)))
    assert sum(grants) == 20 and store.ip_sends("127.0.0.12", hour) == (20, 20)


def test_ip_warmup_start_is_kept_from_the_first_call(store) -> None:  # type: ignore[no-untyped-def]
    assert store.ip_warmup_start("127.0.0.13", 1000.0) == 1000.0
    assert store.ip_warmup_start("127.0.0.13", 5000.0) == 1000.0
    assert store.ip_warmup_start("127.0.0.14", 5000.0) == 5000.0


# --- deliverability: sending domains, DKIM selectors, feedback (owner: deliverability helper) ---

import dataclasses  # noqa: E402

from postwave.store.base import (  # noqa: E402
    DkimSelectorRecord,
    FeedbackReport,
    ReputationChange,
    SendingDomain,
    Suppression,
)


def _domain(name: str, tenant: str, state: str = "pending") -> SendingDomain:
    return SendingDomain(tenant, name, state, f"pw-bounces.{name}", f"links.{name}", time.time())


def _selector(domain: str, selector: str, state: str = "pending", created: float = 0.0) -> DkimSelectorRecord:
    return DkimSelectorRecord(domain, selector, "rsa-sha256", "cHVi", b"\x01sealed\x00\xff", state,
                              created or time.time())


def test_sending_domains_are_unique_across_tenants(store) -> None:  # type: ignore[no-untyped-def]
    store.create_domain(_domain("acme.test", "t1"), [_selector("acme.test", "s1", created=1.0),
                                                      _selector("acme.test", "s2", created=2.0)])
    with pytest.raises(AlreadyExistsError):
        store.create_domain(_domain("acme.test", "t2"), [_selector("acme.test", "s9")])
    store.create_domain(_domain("beta.test", "t1"), [])
    store.create_domain(_domain("gamma.test", "t2"), [])
    assert [d.domain for d in store.list_domains("t1")] == ["acme.test", "beta.test"]
    assert [d.domain for d in store.list_domains("")] == ["acme.test", "beta.test", "gamma.test"]
    assert store.list_domains("t3") == []
    assert store.get_domain("nope.test") is None
    got = store.get_domain("acme.test")
    assert (got.tenant_id, got.state, got.return_path, got.report) == ("t1", "pending", "pw-bounces.acme.test", "")
    # The losing registration wrote no selector over the owner's.
    assert [(s.selector, s.private_key) for s in store.list_selectors("acme.test")] == [
        ("s1", b"\x01sealed\x00\xff"), ("s2", b"\x01sealed\x00\xff")]


def test_domain_updates_and_selector_states(store) -> None:  # type: ignore[no-untyped-def]
    store.create_domain(_domain("acme.test", "t1"), [_selector("acme.test", "s1", created=1.0)])
    checked = dataclasses.replace(store.get_domain("acme.test"), state="verified", verified=5.0, checked=6.0,
                                  report='[{"name": "x"}]')
    store.update_domain(checked)
    assert store.get_domain("acme.test") == checked
    store.put_selectors([_selector("acme.test", "s1", "active", created=1.0),
                         dataclasses.replace(_selector("acme.test", "s2", created=2.0), retire_after=9.5)])
    assert [(s.selector, s.state, s.retire_after) for s in store.list_selectors("acme.test")] == [
        ("s1", "active", 0.0), ("s2", "pending", 9.5)]


def test_feedback_events_suppressions_and_kept_reports(store) -> None:  # type: ignore[no-untyped-def]
    store.accept([_request("r1")], [], "2026-11-29")
    now = time.time()
    events = [EventRecord("t1", "r1-m0", "bounced", now, "hard bounce 5.1.1: x", "a@x.test"),
              EventRecord("t1", "r1-m0", "suppressed", now, "address suppressed after bounced", "a@x.test")]
    store.record_feedback(events, [Suppression("t1", "a@x.test", "bounce: 5.1.1", None, source="bounced",
                                               message_id="r1-m0")])
    assert [e.type for e in store.list_events("t1", 0, [], "r1-m0", 10)] == ["bounced", "suppressed"]
    assert store.get_message("r1-m0").state == "accepted"  # feedback never changes the message state
    assert store.suppressed("t1", ["a@x.test"], now) == {"a@x.test": "bounce: 5.1.1"}
    assert store.suppressed("t2", ["a@x.test"], now) == {}
    why = store.get_suppression("t1", "a@x.test", now)
    assert (why.source, why.message_id) == ("bounced", "r1-m0")
    store.record_feedback([], [])
    for i, status in enumerate(("unparsed", "unmatched")):
        store.keep_feedback_report(FeedbackReport(f"k{i}", now + i, status, "why", "", "b@x.test", b"\x00raw"))
    kept = store.list_feedback_reports(10)
    assert [(k.report_id, k.status, k.raw) for k in kept] == [("k1", "unmatched", b"\x00raw"),
                                                              ("k0", "unparsed", b"\x00raw")]
    assert len(store.list_feedback_reports(1)) == 1


# --- reputation and tenant circuit breakers (owner: reputation helper) ---


def _lane_change(site: str, rate: float, *, lowered: bool = False, raised: float = 0.0, ip: str = "127.0.0.10",
                 **counts: float) -> ReputationChange:
    return ReputationChange(ip, site, rate, lowered, raised, **counts)  # type: ignore[arg-type]


def test_reputation_lanes_merge_keeping_slow_downs_pauses_and_counts_of_every_worker(store) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    [first] = store.merge_reputation([_lane_change("google", 300.0, lowered=True, throttled=2, deferred=2)], now)
    assert (first.rate_per_minute, first.version, first.throttled) == (300.0, 1, 2)
    # A second worker that never saw the 421s (still at the configured 1200/min) cannot undo them...
    [second] = store.merge_reputation([_lane_change("google", 1200.0, delivered=5)], now + 1)
    assert (second.rate_per_minute, second.version, second.delivered, second.throttled) == (300.0, 2, 5, 2)
    # ... what its success windows added counts, on top of the stored rate, at most up to its own rate.
    [third] = store.merge_reputation([_lane_change("google", 1200.0, raised=120.0)], now + 2)
    assert third.rate_per_minute == 420.0
    assert store.merge_reputation([_lane_change("google", 450.0, raised=120.0)], now + 2)[0].rate_per_minute == 450.0
    # A lowering always wins, and a pause keeps the later end.
    [fourth] = store.merge_reputation([_lane_change("google", 900.0, lowered=True,
                                                    paused_until=now + 600, pause_reason="550 5.7.1 blocked",
                                                    blocked=1)], now + 3)
    assert (fourth.rate_per_minute, fourth.paused_until, fourth.pause_reason) == (450.0, now + 600, "550 5.7.1 blocked")
    assert store.merge_reputation([_lane_change("google", 450.0, paused_until=now + 60, pause_reason="421")],
                                  now + 3)[0].paused_until == now + 600
    # Other IPs, the default address ("") and other sites are separate lanes.
    store.merge_reputation([_lane_change("yahoo", 60.0, ip=""), _lane_change("google", 50.0, ip="127.0.0.11")], now)
    loaded = {(r.ip, r.site): r for r in store.load_reputation(["127.0.0.10", ""], now + 4)}
    assert set(loaded) == {("127.0.0.10", "google"), ("", "yahoo")}
    assert loaded[("127.0.0.10", "google")].version == fourth.version + 1
    assert loaded[("", "yahoo")].rate_per_minute == 60.0
    # A week without writes forgets a lane; an ended pause is cleared at the next merge.
    assert store.load_reputation(["127.0.0.10"], now + 8 * 86400) == []
    [later] = store.merge_reputation([_lane_change("google", 450.0)], now + 700)
    assert (later.paused_until, later.pause_reason, later.rate_per_minute) == (0.0, "", 450.0)
    # Concurrent merges (workers of one host, or many hosts) lose no counts and no lowering.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: store.merge_reputation([_lane_change("ms", 100.0 - i, lowered=True, delivered=1)],
                                                       now), range(8)))
    [lane] = [r for r in store.load_reputation(["127.0.0.10"], now) if r.site == "ms"]
    assert (lane.delivered, lane.version, lane.rate_per_minute) == (8, 8, 93.0)


def test_breaker_samples_windows_and_state_by_compare_and_set_with_audit_and_event(store) -> None:  # type: ignore[no-untyped-def]
    from postwave.store.base import BreakerAudit, BreakerSample, BreakerState, BreakerTotals

    now = 1_800_000_000.0  # two hours of samples across an hour boundary
    store.add_breaker_samples([
        BreakerSample("t1", "bulk", now - 4000, delivered=10, bounced=1, writer="w1"),
        BreakerSample("t1", "bulk", now - 100, delivered=20, bounced=5, writer="w1"),
        BreakerSample("t1", "bulk", now - 100, delivered=1, complained=2, writer="w2"),
        BreakerSample("t1", "transactional", now - 50, delivered=7, writer="w1"),
        BreakerSample("t2", "bulk", now - 50, bounced=9, writer="w1"),
    ])
    assert store.breaker_totals("t1", "bulk", now - 3600, now) == BreakerTotals(21, 5, 2)
    assert store.breaker_totals("t1", "bulk", now - 7200, now) == BreakerTotals(31, 6, 2)
    assert store.breaker_totals("t1", "transactional", now - 3600, now) == BreakerTotals(7, 0, 0)
    assert store.breaker_totals("t1", "bulk", now - 50, now) == BreakerTotals()
    assert store.breaker_totals("t3", "bulk", now - 3600, now) == BreakerTotals()

    # The state: compare-and-set, with its audit record and event.
    now = time.time()
    assert store.get_breaker("t1") is None
    slowed = BreakerState("t1", "slowed", now, "bounce rate 12% of 50 (bulk)")
    event = EventRecord("t1", "", "breaker.slowed", now, '{"level": "slowed"}')
    assert store.set_breaker(slowed, 0, BreakerAudit("t1", now, "closed", "slowed", "breaker", slowed.reason), [event])
    # A second worker that saw the same spike loses the race and writes nothing.
    assert not store.set_breaker(slowed, 0, BreakerAudit("t1", now, "closed", "slowed", "breaker", "dup"), [event])
    got = store.get_breaker("t1")
    assert (got.level, got.version, got.reason) == ("slowed", 1, slowed.reason)
    resumed = BreakerState("t1", "closed", now + 5, "resumed by operator", counting_from=now + 5)
    assert store.set_breaker(resumed, 1, BreakerAudit("t1", now + 5, "slowed", "closed", "api:k1", "resumed"), [])
    assert not store.set_breaker(resumed, 1, BreakerAudit("t1", now + 6, "slowed", "closed", "api:k2", "again"), [])
    assert (store.get_breaker("t1").level, store.get_breaker("t1").counting_from) == ("closed", now + 5)
    history = store.breaker_history("t1", 10)
    assert [(a.to_level, a.actor) for a in history] == [("closed", "api:k1"), ("slowed", "breaker")]
    assert store.breaker_history("t1", 1)[0].to_level == "closed"
    assert store.breaker_history("t2", 10) == [] and store.get_breaker("t2") is None
    assert [(e.type, e.message_id) for e in store.list_events("t1", 0, (), "", 10)] == [("breaker.slowed", "")]
