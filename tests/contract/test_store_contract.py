"""The Store contract: acceptance, idempotency, suppression, outcomes, scheduling, events."""

from __future__ import annotations

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
