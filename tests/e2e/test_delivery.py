"""Through gRPC to real SMTP servers found by real MX records: delivered, bounced, deferred."""

from __future__ import annotations

import email
import email.policy
from typing import Any

from google.protobuf import struct_pb2

from tests.e2e.conftest import World
from tests.platform import bearer, request
from postwave.v1 import events_pb2, send_pb2

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n" + bytes(range(255, -1, -1)) * 8


def _message_id_of(received: Any) -> str:
    parsed = email.message_from_bytes(received.data, policy=email.policy.default)
    return str(parsed["Message-ID"]).strip("<>").split("@")[0]


def test_delivered_message_has_headers_parts_and_attachments(world: World) -> None:
    _, key = world.platform.tenant("acme")
    subs = struct_pb2.Struct()
    subs.update({"name": "Zoë"})
    req = request(
        to=["Ann Smith <ann@ok.test>"], subject="Grüße, {{ name }}", text="Hi {{ name }}\n.\nbye",
        html='<p>Hi {{ name }}</p><img src="cid:logo">', reply_to="help@postwave.test",
        headers={"X-Campaign": "autumn"},
        attachments=[
            send_pb2.Attachment(filename="report.pdf", content_type="application/pdf", content=PDF),
            send_pb2.Attachment(filename="logo.png", content_type="image/png", content=PNG, content_id="logo"),
        ],
    )
    req.personalizations[0].substitutions.CopyFrom(subs)
    resp = world.platform.send_stub().Send(req, metadata=bearer(key), timeout=10)
    (ref,) = resp.messages
    assert ref.state == "accepted" and ref.recipient == "ann@ok.test"

    status = world.platform.wait_state(key, ref.message_id, {"delivered"})
    assert [e.type for e in status.events] == ["accepted", "delivered"]
    assert status.attempts[0].smtp_code == 250 and status.attempts[0].mx_host == "mx.ok.test"

    (got,) = world.ok.wait_for(1)
    assert got.rcpt_tos == ["ann@ok.test"] and got.mail_from == "sender@postwave.test"
    msg = email.message_from_bytes(got.data, policy=email.policy.default)
    assert msg["Subject"] == "Grüße, Zoë"
    assert msg["To"] == "Ann Smith <ann@ok.test>"
    assert msg["From"] == "Sender <sender@postwave.test>"
    assert msg["Reply-To"] == "help@postwave.test"
    assert msg["X-Campaign"] == "autumn"
    assert msg["Message-ID"] == f"<{ref.message_id}@postwave.test>"
    assert msg["Date"] is not None and msg["List-Unsubscribe"] is None  # transactional stream
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n").rstrip("\n") == "Hi Zoë\n.\nbye"
    assert "<p>Hi Zoë</p>" in msg.get_body(("html",)).get_content()
    parts = {p.get_filename(): p for p in msg.walk() if p.get_filename()}
    assert parts["report.pdf"].get_content() == PDF
    assert parts["logo.png"].get_content() == PNG
    assert parts["logo.png"]["Content-ID"] == "<logo>"
    assert b"\n" not in got.data.replace(b"\r\n", b"")  # no bare LF on the wire


def test_bounce_suppresses_and_greylist_retries(world: World) -> None:
    _, key = world.platform.tenant("acme")
    stub = world.platform.send_stub()
    bounced = stub.Send(request(to=["nobody@bounce.test"]), metadata=bearer(key), timeout=10).messages[0]
    flaky = stub.Send(request(to=["late@flaky.test"]), metadata=bearer(key), timeout=10).messages[0]

    status = world.platform.wait_state(key, bounced.message_id, {"bounced"}, events=("suppressed",))
    assert status.attempts[0].smtp_code == 550
    assert "5.1.1" in status.attempts[0].smtp_reply
    assert [e.type for e in status.events] == ["accepted", "bounced", "suppressed"]
    assert world.bounce.received == []
    assert world.platform.wait_suppressed(key, "nobody@bounce.test").reason.startswith("bounce")

    again = stub.Send(request(to=["nobody@bounce.test"]), metadata=bearer(key), timeout=10).messages[0]
    assert again.state == "dropped" and "suppressed" in again.detail
    assert world.bounce.attempts["RCPT"] == 1  # the second send never reached the server

    status = world.platform.wait_state(key, flaky.message_id, {"delivered"})
    assert [e.type for e in status.events] == ["accepted", "deferred", "deferred", "delivered"]
    assert [a.smtp_code for a in status.attempts] == [451, 451, 250]
    assert len(world.flaky.wait_for(1)) == 1


def test_stream_events_follows_and_resumes(world: World) -> None:
    _, key = world.platform.tenant("acme")
    stub = world.platform.send_stub()
    ids = [stub.Send(request(to=[f"u{i}@ok.test"]), metadata=bearer(key), timeout=10).messages[0].message_id
           for i in range(3)]
    for mid in ids:
        world.platform.wait_state(key, mid, {"delivered"})
    events = world.platform.events_stub()
    delivered = list(events.StreamEvents(
        events_pb2.StreamEventsRequest(types=["delivered"], no_follow=True), metadata=bearer(key), timeout=10))
    assert sorted(e.message_id for e in delivered) == sorted(ids)
    everything = list(events.StreamEvents(
        events_pb2.StreamEventsRequest(no_follow=True), metadata=bearer(key), timeout=10))
    assert len(everything) == 6
    resumed = list(events.StreamEvents(
        events_pb2.StreamEventsRequest(cursor=everything[2].id, no_follow=True), metadata=bearer(key), timeout=10))
    assert [e.id for e in resumed] == [e.id for e in everything[3:]]

    # Following: a live stream sees an event written after it started.
    live = events.StreamEvents(events_pb2.StreamEventsRequest(cursor=everything[-1].id, message_id=""),
                               metadata=bearer(key), timeout=15)
    new_id = stub.Send(request(to=["late@ok.test"]), metadata=bearer(key), timeout=10).messages[0].message_id
    first = next(iter(live))
    assert first.message_id == new_id and first.type == "accepted"
    live.cancel()
