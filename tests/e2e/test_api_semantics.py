"""Idempotency, scheduling and cancellation, templates, limits, through the real API."""

from __future__ import annotations

import time

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.e2e.conftest import World
from tests.platform import bearer, request
from postwave.v1 import admin_pb2, send_pb2


def test_same_send_id_same_body_returns_same_ids_and_delivers_once(world: World) -> None:
    _, key = world.platform.tenant("acme")
    stub = world.platform.send_stub()
    first = stub.Send(request(to=["a@ok.test"], send_id="order-1"), metadata=bearer(key), timeout=10)
    second = stub.Send(request(to=["a@ok.test"], send_id="order-1"), metadata=bearer(key), timeout=10)
    assert [m.message_id for m in second.messages] == [m.message_id for m in first.messages]
    world.platform.wait_state(key, first.messages[0].message_id, {"delivered"})
    time.sleep(0.5)
    assert len(world.ok.received) == 1

    with pytest.raises(grpc.RpcError) as info:
        stub.Send(request(to=["a@ok.test"], send_id="order-1", subject="changed"), metadata=bearer(key), timeout=10)
    assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert "order-1" in info.value.details()


def test_send_id_is_per_tenant(world: World) -> None:
    _, key_a = world.platform.tenant("a")
    _, key_b = world.platform.tenant("b")
    stub = world.platform.send_stub()
    one = stub.Send(request(to=["a@ok.test"], send_id="x"), metadata=bearer(key_a), timeout=10)
    two = stub.Send(request(to=["a@ok.test"], send_id="x", subject="other"), metadata=bearer(key_b), timeout=10)
    assert one.messages[0].message_id != two.messages[0].message_id


def test_scheduled_mail_waits_then_goes_and_cancel_stops_it(world: World) -> None:
    _, key = world.platform.tenant("acme")
    stub = world.platform.send_stub()
    soon = request(to=["soon@ok.test"], batch_id="b-soon")
    soon.send_at.FromNanoseconds(int((time.time() + 2.0) * 1e9))
    later = request(to=["later@ok.test"], send_id="later-1")
    later.send_at.FromNanoseconds(int((time.time() + 3600) * 1e9))
    soon_ref = stub.Send(soon, metadata=bearer(key), timeout=10).messages[0]
    later_ref = stub.Send(later, metadata=bearer(key), timeout=10).messages[0]
    assert soon_ref.state == later_ref.state == "scheduled"
    assert world.ok.received == []

    cancelled = stub.CancelScheduled(send_pb2.CancelScheduledRequest(send_id="later-1"), metadata=bearer(key), timeout=10)
    assert list(cancelled.message_ids) == [later_ref.message_id]
    status = world.platform.wait_state(key, soon_ref.message_id, {"delivered"})
    assert [e.type for e in status.events] == ["scheduled", "released", "delivered"]
    assert status.events[-1].time.ToNanoseconds() >= status.events[0].time.ToNanoseconds() + 1.5e9
    assert world.platform.wait_state(key, later_ref.message_id, {"cancelled"}).events[-1].type == "cancelled"
    # Cancelling again finds nothing still scheduled; too far ahead is refused.
    again = stub.CancelScheduled(send_pb2.CancelScheduledRequest(batch_id="b-soon"), metadata=bearer(key), timeout=10)
    assert again.cancelled == 0
    too_far = request(to=["x@ok.test"])
    too_far.send_at.FromNanoseconds(int((time.time() + 73 * 3600) * 1e9))
    with pytest.raises(grpc.RpcError) as info:
        stub.Send(too_far, metadata=bearer(key), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "send_at" in info.value.details()
    assert [r.rcpt_tos for r in world.ok.received] == [["soon@ok.test"]]


def test_a_suppression_added_while_a_message_waits_stops_it_at_delivery(world: World) -> None:
    # The worker checks suppressions again when it delivers (in distributed mode on the CQL
    # store's asyncio face, read together with the message's request).
    _, key = world.platform.tenant("acme")
    stub = world.platform.send_stub()
    refs = {}
    for address in ("gone@ok.test", "stays@ok.test"):
        req = request(to=[address])
        req.send_at.FromNanoseconds(int((time.time() + 2.0) * 1e9))
        refs[address] = stub.Send(req, metadata=bearer(key), timeout=10).messages[0]
        assert refs[address].state == "scheduled"
    world.platform.admin_stub().AddSuppressions(admin_pb2.AddSuppressionsRequest(
        suppressions=[admin_pb2.NewSuppression(address="gone@ok.test", reason="asked by phone")]),
        metadata=bearer(key), timeout=10)

    gone = world.platform.wait_state(key, refs["gone@ok.test"].message_id, {"dropped", "delivered"})
    assert gone.state == "dropped"
    assert [e.type for e in gone.events] == ["scheduled", "released", "dropped"]
    assert "suppressed" in gone.events[-1].detail and "asked by phone" in gone.events[-1].detail
    assert list(gone.attempts) == []
    stays = world.platform.wait_state(key, refs["stays@ok.test"].message_id, {"delivered"})
    assert [e.type for e in stays.events] == ["scheduled", "released", "delivered"]
    assert [r.rcpt_tos for r in world.ok.received] == [["stays@ok.test"]]


def test_stored_template_versions_render_and_send(world: World) -> None:
    _, key = world.platform.tenant("acme")
    admin = world.platform.admin_stub()
    v1 = admin.CreateTemplate(admin_pb2.CreateTemplateRequest(
        name="welcome", subject="Welcome {{ name }}", text="Hello {{ name }}, v1"), metadata=bearer(key), timeout=10)
    v2 = admin.CreateTemplate(admin_pb2.CreateTemplateRequest(
        template_id=v1.template_id, name="welcome", subject="Welcome {{ name }}", text="Hello {{ name }}, v2",
        html="<b>{{ name }}</b>"), metadata=bearer(key), timeout=10)
    assert (v1.version, v2.version) == (1, 2)
    assert admin.GetTemplate(admin_pb2.GetTemplateRequest(template_id=v1.template_id, version=1),
                             metadata=bearer(key), timeout=10).text.endswith("v1")
    listed = admin.ListTemplates(admin_pb2.ListTemplatesRequest(), metadata=bearer(key), timeout=10)
    assert [(t.template_id, t.version) for t in listed.templates] == [(v1.template_id, 2)]
    preview_req = admin_pb2.RenderTemplateRequest(template_id=v1.template_id, version=1)
    preview_req.substitutions.update({"name": "Ann"})
    preview = admin.RenderTemplate(preview_req, metadata=bearer(key), timeout=10)
    assert (preview.subject, preview.text) == ("Welcome Ann", "Hello Ann, v1")

    req = request(to=["t@ok.test"], subject="", text="", template_id=v1.template_id)
    req.personalizations[0].substitutions.update({"name": "<Bo>"})
    ref = world.platform.send_stub().Send(req, metadata=bearer(key), timeout=10).messages[0]
    world.platform.wait_state(key, ref.message_id, {"delivered"})
    data = world.ok.wait_for(1)[0].data
    assert b"Welcome <Bo>" in data and b"Hello <Bo>, v2" in data
    assert b"&lt;Bo&gt;" in data  # html is autoescaped

    with pytest.raises(grpc.RpcError) as info:
        world.platform.send_stub().Send(request(to=["t@ok.test"], template_id="tpl_missing"),
                                        metadata=bearer(key), timeout=10)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
    deleted = admin.DeleteTemplate(admin_pb2.DeleteTemplateRequest(template_id=v1.template_id),
                                   metadata=bearer(key), timeout=10)
    assert deleted.versions_deleted == 2


def test_rate_limit_and_daily_quota_answer_resource_exhausted(world: World) -> None:
    _, slow_key = world.platform.tenant("slow", rate_per_second=1.0)
    _, quota_key = world.platform.tenant("small", daily_quota=2)
    stub = world.platform.send_stub()
    stub.Send(request(to=["a@ok.test"]), metadata=bearer(slow_key), timeout=10)
    with pytest.raises(grpc.RpcError) as info:
        stub.Send(request(to=["a@ok.test"]), metadata=bearer(slow_key), timeout=10)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    status = rpc_status.from_call(info.value)
    retry = error_details_pb2.RetryInfo()
    assert status is not None and status.details[0].Unpack(retry)
    assert 0 < retry.retry_delay.ToMilliseconds() <= 1000

    stub.Send(request(to=["a@ok.test", "b@ok.test"]), metadata=bearer(quota_key), timeout=10)
    with pytest.raises(grpc.RpcError) as info:
        stub.Send(request(to=["c@ok.test"]), metadata=bearer(quota_key), timeout=10)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "daily quota" in info.value.details()


def test_send_batch_reports_each_item(world: World) -> None:
    _, key = world.platform.tenant("acme")
    good = request(to=["one@ok.test"])
    bad = request(to=["not-an-address"])
    resp = world.platform.send_stub().SendBatch(send_pb2.SendBatchRequest(requests=[good, bad]),
                                                metadata=bearer(key), timeout=10)
    assert resp.responses[0].code == 0 and resp.responses[0].messages[0].state == "accepted"
    assert resp.responses[1].code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert resp.responses[1].field == "personalizations[0].to[0]"
    world.platform.wait_state(key, resp.responses[0].messages[0].message_id, {"delivered"})


def test_a_substitution_json_cannot_hold_fails_its_item_not_the_stream(world: World) -> None:
    _, key = world.platform.tenant("acme")
    bad = request(to=["two@ok.test"])
    bad.personalizations[0].substitutions.update({"name": "Ada", "order": {"total": [1.5, float("nan")]}})
    reqs = [request(to=["one@ok.test"]), bad, request(to=["three@ok.test"])]
    answers = list(world.platform.send_stub().BatchSend(iter(reqs), metadata=bearer(key), timeout=30))
    assert [a.code for a in answers] == [0, grpc.StatusCode.INVALID_ARGUMENT.value[0], 0]
    assert answers[1].field == "personalizations[0].substitutions"
    assert "nan" in answers[1].error and "string" in answers[1].error
    for answer in (answers[0], answers[2]):
        world.platform.wait_state(key, answer.messages[0].message_id, {"delivered"})
